/*
 * NAME
 *	keystore.c - read and validate Signet's DKIM key store
 * SYNOPSIS
 *	#include "keys/keystore.h"
 *
 *	struct keystore *keystore_load(const char *dir, unsigned flags,
 *	    struct keystore_error *err);
 *	size_t keystore_find_active(const struct keystore *store, const char *domain,
 *	    const struct keystore_key **out, size_t max);
 * DESCRIPTION
 *	keystore_load() walks KEYSTORE/DOMAIN/SELECTOR.meta once.  Every .meta must parse
 *	cleanly and have its .key next to it (a token key, whose .meta has a uri line,
 *	must have none), except that a retired key whose private key has been destroyed is
 *	skipped: removing the .key is how a key reaches the end of its life.  A .key without a .meta is ignored (signet-keys writes the .key first, so a
 *	load that races a "generate" must not fail).  Names starting with a dot are the
 *	writers' temporary files and are ignored too.
 *
 *	Private keys are refused unless they are regular files (not symbolic links) whose
 *	mode grants nothing to others and no write to the group.  The check reads the mode
 *	from the open descriptor rather than relying on access(2), because the daemon loads
 *	the store as root, which would be allowed to read anything.
 *
 *	Keys are sorted by domain, then selector, so keystore_find_active() is a binary
 *	search; domains are stored in lower case.
 * DIAGNOSTICS
 *	Every failure fills a struct keystore_error with one sentence naming the file, and
 *	for .meta files the line, e.g. "/k/example.com/s1.meta:3: unknown algorithm "rsa-1024"".
 * SEE ALSO
 *	keystore-meta.c (the .meta parser), keystore-names.c, keystore-write.c,
 *	signet-keys(8)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "keys/keystore.h"
#include "lib/alloc.h"
#include "lib/grow.h"
#include "keys/keystore-meta.h"
#include "keys/pemdecode.h"

#define META_FILE_MAX	65536	/* bytes in a .meta file */
#define KEY_FILE_MAX	65536	/* bytes in a .key file; a 4096-bit PEM is about 3300 */

struct keystore {
	struct keystore_key *keys;
	size_t	count;
	size_t	alloc;
	void	(*release)(void *);	/* keystore_set_release(): the token, once */
	void   *release_arg;
};

/* ---- files ------------------------------------------------------------------------- */

/* Reads at most max bytes from fd into a NUL-terminated buffer the caller frees (with
 * OPENSSL_clear_free when it held a key); -1 with errno set, EFBIG when too long. */
static int
read_bounded(int fd, size_t max, char **out, size_t *len)
{
	char *buf = mem_malloc(max + 1);
	size_t have = 0;
	ssize_t n;

	if (buf == NULL)
		return -1;
	for (;;) {
		n = read(fd, buf + have, max + 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			OPENSSL_clear_free(buf, max + 1);
			return -1;
		}
		if (n == 0)
			break;
		have += (size_t)n;
		if (have > max) {
			OPENSSL_clear_free(buf, max + 1);
			errno = EFBIG;
			return -1;
		}
	}
	buf[have] = '\0';
	*out = buf;
	*len = have;
	return 0;
}

/* Opens name in dirfd without following a final symbolic link and without blocking on
 * a FIFO; path is only for messages. */
static int
open_file(int dirfd, const char *name, const char *path, struct stat *st,
    struct keystore_error *err)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ELOOP)
			keystore_error_set(err, "%s is a symbolic link; key files must be "
			    "regular files", path);
		else if (errno == ENOENT)
			keystore_error_set(err, "%s does not exist", path);
		else
			keystore_error_set(err, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		keystore_error_set(err, "%s is not a regular file", path);
		close(fd);
		return -1;
	}
	return fd;
}

static int
check_key_mode(const struct stat *st, const char *path, struct keystore_error *err)
{
	if (!S_ISREG(st->st_mode)) {
		keystore_error_set(err, "%s is not a regular file", path);
		return -1;
	}
	if ((st->st_mode & 0027) != 0) {
		keystore_error_set(err, "%s is mode %04o; private keys must be 0600 (or 0640)",
		    path, (unsigned)(st->st_mode & 07777));
		return -1;
	}
	return 0;
}

/* Reads and parses name (a .meta file) in dirfd; path is for messages. */
static int
meta_read_at(int dirfd, const char *name, const char *path, struct keystore_key *key,
    char **textp, size_t *lenp, struct keystore_error *err)
{
	struct stat st;
	char *text;
	size_t len;
	int fd, rc;

	if ((fd = open_file(dirfd, name, path, &st, err)) < 0)
		return -1;
	rc = read_bounded(fd, META_FILE_MAX, &text, &len);
	close(fd);
	if (rc < 0) {
		keystore_error_set(err, "cannot read %s: %s", path, errno == EFBIG ?
		    "larger than 64 KiB" : strerror(errno));
		return -1;
	}
	if (memchr(text, '\0', len) != NULL) {
		keystore_error_set(err, "%s: contains a NUL byte", path);
		free(text);
		return -1;
	}
	rc = keystore_meta_parse(path, text, len, key, err);
	if (rc == 0 && textp != NULL) {
		*textp = text;
		*lenp = len;
	} else {
		free(text);
	}
	return rc;
}

/* ---- private keys ------------------------------------------------------------------ */

/* Never prompts: an encrypted key is an error, the daemon has no terminal. */
int
keystore_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static int
check_key_type(EVP_PKEY *pkey, enum key_algorithm algorithm, const char *path,
    struct keystore_error *err)
{
	int id = EVP_PKEY_get_base_id(pkey), bits = EVP_PKEY_get_bits(pkey);

	if (algorithm == KEY_ALG_ED25519) {
		if (id == EVP_PKEY_ED25519)
			return 0;
		keystore_error_set(err, "%s: not an Ed25519 key, but the .meta says ed25519",
		    path);
		return -1;
	}
	if (id != EVP_PKEY_RSA) {
		keystore_error_set(err, "%s: not an RSA key, but the .meta says %s", path,
		    keystore_algorithm_name(algorithm));
		return -1;
	}
	if (bits != keystore_algorithm_bits(algorithm)) {
		keystore_error_set(err, "%s: RSA key of %d bits, but the .meta says %s", path,
		    bits, keystore_algorithm_name(algorithm));
		return -1;
	}
	return 0;
}

static EVP_PKEY *
pem_parse(struct pem_decoders *dec, const char *pem, size_t len, enum key_algorithm algorithm,
    const char *path, struct keystore_error *err)
{
	EVP_PKEY *pkey = pem_decode_private(dec, pem, len,
	    algorithm == KEY_ALG_ED25519 ? EVP_PKEY_ED25519 : EVP_PKEY_RSA);
	char why[256];

	if (pkey == NULL) {
		ERR_error_string_n(ERR_peek_last_error(), why, sizeof(why));
		keystore_error_set(err, "%s: not an unencrypted PEM private key (%s)", path, why);
	}
	ERR_clear_error();
	return pkey;
}

/* dec: the load's decoders, or NULL for a single key. */
static EVP_PKEY *
key_read_at(struct pem_decoders *dec, int dirfd, const char *name, const char *path,
    enum key_algorithm algorithm, struct keystore_error *err)
{
	struct stat st;
	EVP_PKEY *pkey;
	char *pem;
	size_t len;
	int fd, rc;

	if ((fd = open_file(dirfd, name, path, &st, err)) < 0)
		return NULL;
	if (check_key_mode(&st, path, err) < 0) {
		close(fd);
		return NULL;
	}
	rc = read_bounded(fd, KEY_FILE_MAX, &pem, &len);
	close(fd);
	if (rc < 0) {
		keystore_error_set(err, "cannot read %s: %s", path, errno == EFBIG ?
		    "larger than 64 KiB" : strerror(errno));
		return NULL;
	}
	pkey = pem_parse(dec, pem, len, algorithm, path, err);
	OPENSSL_clear_free(pem, KEY_FILE_MAX + 1);
	if (pkey != NULL && check_key_type(pkey, algorithm, path, err) < 0) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	return pkey;
}

/* ---- single keys, by name ---------------------------------------------------------- */

/* Opens DIR/DOMAIN after checking both names, so that neither can climb out of DIR. */
static int
open_domain_dir(const char *dir, const char *domain, const char *selector,
    char *norm, struct keystore_error *err)
{
	char path[PATH_MAX];
	int fd;

	if (keystore_domain_normalize(domain, norm, KEYSTORE_DOMAIN_MAX + 1) < 0) {
		keystore_error_set(err, "invalid domain name \"%s\"", domain);
		return -1;
	}
	if (!keystore_selector_valid(selector)) {
		keystore_error_set(err, "invalid selector \"%s\"", selector);
		return -1;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, norm) >= sizeof(path)) {
		keystore_error_set(err, "%s/%s: path too long", dir, norm);
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		keystore_error_set(err, "cannot open %s: %s", path, strerror(errno));
	return fd;
}

int
keystore_read_meta(const char *dir, const char *domain, const char *selector,
    struct keystore_key *key, char **text, size_t *len, struct keystore_error *err)
{
	char norm[KEYSTORE_DOMAIN_MAX + 1], name[KEYSTORE_SELECTOR_MAX + 8], path[PATH_MAX];
	int dfd, rc;

	if ((dfd = open_domain_dir(dir, domain, selector, norm, err)) < 0)
		return -1;
	snprintf(name, sizeof(name), "%s.meta", selector);
	snprintf(path, sizeof(path), "%s/%s/%s", dir, norm, name);
	memset(key, 0, sizeof(*key));
	memcpy(key->domain, norm, sizeof(key->domain));
	snprintf(key->selector, sizeof(key->selector), "%s", selector);
	rc = meta_read_at(dfd, name, path, key, text, len, err);
	close(dfd);
	return rc;
}

EVP_PKEY *
keystore_read_private(const char *dir, const char *domain, const char *selector,
    enum key_algorithm algorithm, struct keystore_error *err)
{
	char norm[KEYSTORE_DOMAIN_MAX + 1], name[KEYSTORE_SELECTOR_MAX + 8], path[PATH_MAX];
	EVP_PKEY *pkey;
	int dfd;

	if ((dfd = open_domain_dir(dir, domain, selector, norm, err)) < 0)
		return NULL;
	snprintf(name, sizeof(name), "%s.key", selector);
	snprintf(path, sizeof(path), "%s/%s/%s", dir, norm, name);
	pkey = key_read_at(NULL, dfd, name, path, algorithm, err);
	close(dfd);
	return pkey;
}

/* ---- loading the whole store ------------------------------------------------------- */

struct scan {
	struct keystore *store;
	const char *root;
	const char *domain;
	int	dirfd;
	unsigned flags;
	struct keystore_error *err;
	struct pem_decoders decoders;	/* reused for every key of the load */
};

static int
store_add(struct keystore *store, const struct keystore_key *key)
{
	struct keystore_key *grown = array_grow(store->keys, &store->alloc, store->count + 1,
	    sizeof(*grown));

	if (grown == NULL)
		return -1;
	store->keys = grown;
	store->keys[store->count++] = *key;
	return 0;
}

/* Checks the .key next to a .meta; 1 when a retired key's .key is gone (skip it).  A
 * token key has no .key: keyload_private() finds its private half on the token. */
static int
scan_key_file(struct scan *sc, struct keystore_key *key, const char *name,
    const char *path)
{
	struct stat st;

	if (key->uri[0] != '\0') {
		if (fstatat(sc->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			keystore_error_set(sc->err, "%s/%s/%s.meta names a key on a PKCS#11 "
			    "token, but %s exists too", sc->root, sc->domain, key->selector,
			    path);
			return -1;
		}
		return 0;
	}
	if (fstatat(sc->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT && key->state == KEY_STATE_RETIRED)
			return 1;
		keystore_error_set(sc->err, "%s/%s/%s.meta has no usable %s: %s", sc->root,
		    sc->domain, key->selector, name, strerror(errno));
		return -1;
	}
	if (S_ISLNK(st.st_mode)) {
		keystore_error_set(sc->err, "%s is a symbolic link; key files must be regular "
		    "files", path);
		return -1;
	}
	if (check_key_mode(&st, path, sc->err) < 0)
		return -1;
	if (key->state != KEY_STATE_ACTIVE || !(sc->flags & KEYSTORE_LOAD_PRIVATE))
		return 0;
	if ((key->pkey = key_read_at(&sc->decoders, sc->dirfd, name, path, key->algorithm,
	    sc->err)) == NULL)
		return -1;
	key->bits = EVP_PKEY_get_bits(key->pkey);
	return 0;
}

/* Loads SELECTOR.meta (entry) and its key; entries that are not .meta are ignored. */
static int
scan_entry(struct scan *sc, const char *entry)
{
	struct keystore_key key;
	char path[PATH_MAX], keyname[KEYSTORE_SELECTOR_MAX + 8];
	size_t len = strlen(entry);
	int rc;

	if (entry[0] == '.' || len <= 5 || strcmp(entry + len - 5, ".meta") != 0)
		return 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s/%s", sc->root, sc->domain, entry)
	    >= sizeof(path)) {
		keystore_error_set(sc->err, "%s/%s/%s: path too long", sc->root, sc->domain,
		    entry);
		return -1;
	}
	memset(&key, 0, sizeof(key));
	if (len - 5 > KEYSTORE_SELECTOR_MAX) {
		keystore_error_set(sc->err, "%s: selector longer than %d bytes", path,
		    KEYSTORE_SELECTOR_MAX);
		return -1;
	}
	memcpy(key.selector, entry, len - 5);
	if (!keystore_selector_valid(key.selector)) {
		keystore_error_set(sc->err, "%s: \"%s\" is not a valid selector", path,
		    key.selector);
		return -1;
	}
	snprintf(key.domain, sizeof(key.domain), "%s", sc->domain);
	if (meta_read_at(sc->dirfd, entry, path, &key, NULL, NULL, sc->err) < 0)
		return -1;
	snprintf(keyname, sizeof(keyname), "%s.key", key.selector);
	snprintf(path, sizeof(path), "%s/%s/%s", sc->root, sc->domain, keyname);
	if ((rc = scan_key_file(sc, &key, keyname, path)) != 0)
		return rc < 0 ? -1 : 0;
	if (store_add(sc->store, &key) < 0) {
		EVP_PKEY_free(key.pkey);
		keystore_error_set(sc->err, "out of memory loading %s", path);
		return -1;
	}
	return 0;
}

static int
scan_domain(struct scan *sc, int rootfd, const char *name)
{
	char norm[KEYSTORE_DOMAIN_MAX + 1];
	struct dirent *de;
	DIR *dir;
	int rc = 0;

	if (keystore_domain_normalize(name, norm, sizeof(norm)) < 0
	    || strcmp(norm, name) != 0) {
		keystore_error_set(sc->err, "%s/%s: directory name is not a domain name in "
		    "lower case without a trailing dot", sc->root, name);
		return -1;
	}
	sc->domain = name;
	if ((sc->dirfd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0
	    || (dir = fdopendir(sc->dirfd)) == NULL) {
		keystore_error_set(sc->err, "cannot open %s/%s: %s", sc->root, name,
		    strerror(errno));
		if (sc->dirfd >= 0)
			close(sc->dirfd);
		return -1;
	}
	while (rc == 0 && (errno = 0, de = readdir(dir)) != NULL)
		rc = scan_entry(sc, de->d_name);
	if (rc == 0 && errno != 0) {
		keystore_error_set(sc->err, "cannot read %s/%s: %s", sc->root, name,
		    strerror(errno));
		rc = -1;
	}
	closedir(dir);
	return rc;
}

static int
scan_root(struct scan *sc, DIR *dir)
{
	struct dirent *de;
	struct stat st;
	int rootfd = dirfd(dir);

	while ((errno = 0, de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		/* Follows symbolic links: an alias domain may share another's keys. */
		if (fstatat(rootfd, de->d_name, &st, 0) < 0) {
			keystore_error_set(sc->err, "cannot stat %s/%s: %s", sc->root,
			    de->d_name, strerror(errno));
			return -1;
		}
		if (S_ISDIR(st.st_mode) && scan_domain(sc, rootfd, de->d_name) < 0)
			return -1;
	}
	if (errno != 0) {
		keystore_error_set(sc->err, "cannot read %s: %s", sc->root, strerror(errno));
		return -1;
	}
	return 0;
}

static int
key_compare(const void *a, const void *b)
{
	const struct keystore_key *x = a, *y = b;
	int c;

	if ((c = strcmp(x->domain, y->domain)) != 0)
		return c;
	if ((c = strcasecmp(x->selector, y->selector)) != 0)
		return c;
	return strcmp(x->selector, y->selector);
}

/* Selectors are case-insensitive in DNS: two that differ only in case are one record. */
static int
check_duplicates(const struct keystore *store, const char *root, struct keystore_error *err)
{
	size_t i;

	for (i = 1; i < store->count; i++) {
		const struct keystore_key *a = &store->keys[i - 1], *b = &store->keys[i];

		if (strcmp(a->domain, b->domain) == 0
		    && strcasecmp(a->selector, b->selector) == 0) {
			keystore_error_set(err, "%s/%s: selectors \"%s\" and \"%s\" differ only "
			    "in case", root, a->domain, a->selector, b->selector);
			return -1;
		}
	}
	return 0;
}

struct keystore *
keystore_load(const char *dir, unsigned flags, struct keystore_error *err)
{
	struct keystore *store = mem_calloc(1, sizeof(*store));
	struct scan sc = { .store = store, .root = dir, .flags = flags, .err = err,
	    .decoders = PEM_DECODERS_INIT };
	DIR *d;
	int rc;

	if (store == NULL) {
		keystore_error_set(err, "out of memory loading %s", dir);
		return NULL;
	}
	if ((d = opendir(dir)) == NULL) {
		keystore_error_set(err, "cannot open keystore %s: %s", dir, strerror(errno));
		free(store);
		return NULL;
	}
	rc = scan_root(&sc, d);
	closedir(d);
	pem_decoders_free(&sc.decoders);
	if (rc == 0 && store->count > 1) {
		qsort(store->keys, store->count, sizeof(store->keys[0]), key_compare);
		rc = check_duplicates(store, dir, err);
	}
	if (rc < 0) {
		keystore_free(store);
		return NULL;
	}
	return store;
}

void
keystore_free(struct keystore *store)
{
	size_t i;

	if (store == NULL)
		return;
	for (i = 0; i < store->count; i++)
		EVP_PKEY_free(store->keys[i].pkey);
	if (store->release != NULL)
		store->release(store->release_arg);
	free(store->keys);
	free(store);
}

size_t
keystore_count(const struct keystore *store)
{
	return store->count;
}

const struct keystore_key *
keystore_key_at(const struct keystore *store, size_t index)
{
	return index < store->count ? &store->keys[index] : NULL;
}

struct keystore_key *
keystore_key_edit(struct keystore *store, size_t index)
{
	return index < store->count ? &store->keys[index] : NULL;
}

void
keystore_set_release(struct keystore *store, void (*release)(void *), void *arg)
{
	store->release = release;
	store->release_arg = arg;
}

size_t
keystore_find_active(const struct keystore *store, const char *domain,
    const struct keystore_key **out, size_t max)
{
	char norm[KEYSTORE_DOMAIN_MAX + 1];
	size_t lo = 0, hi = store->count, mid, found = 0;

	if (keystore_domain_normalize(domain, norm, sizeof(norm)) < 0)
		return 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(store->keys[mid].domain, norm) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < store->count && strcmp(store->keys[lo].domain, norm) == 0; lo++) {
		if (store->keys[lo].state != KEY_STATE_ACTIVE)
			continue;
		if (found < max)
			out[found] = &store->keys[lo];
		found++;
	}
	return found;
}

struct keystore *
keystore_from_list(const struct keystore_key *keys, size_t count, struct keystore_error *err)
{
	struct keystore *store = mem_calloc(1, sizeof(*store));
	size_t i;

	if (store == NULL)
		goto nomem;
	for (i = 0; i < count; i++) {
		struct keystore_key copy = keys[i];

		copy.pkey = NULL;	/* facts only: never key material */
		if (store_add(store, &copy) < 0)
			goto nomem;
	}
	if (store->count > 1) {
		qsort(store->keys, store->count, sizeof(store->keys[0]), key_compare);
		if (check_duplicates(store, "key list", err) < 0) {
			keystore_free(store);
			return NULL;
		}
	}
	return store;
nomem:
	keystore_free(store);
	keystore_error_set(err, "out of memory copying a key list");
	return NULL;
}

const struct keystore_key *
keystore_find(const struct keystore *store, const char *domain, const char *selector)
{
	size_t lo = 0, hi = store->count, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(store->keys[mid].domain, domain) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < store->count && strcmp(store->keys[lo].domain, domain) == 0; lo++)
		if (strcmp(store->keys[lo].selector, selector) == 0)
			return &store->keys[lo];
	return NULL;
}
