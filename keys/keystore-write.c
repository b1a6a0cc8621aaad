/*
 * NAME
 *	keystore-write.c - create keys in Signet's key store and change their states
 * SYNOPSIS
 *	#include "keys/keystore-write.h"
 * DESCRIPTION
 *	The writing half of the key store; keystore.c is the reading half and its parser
 *	validates what is written here.
 *
 *	A file is replaced by writing a temporary ".NAME.XXXXXX" in the same directory
 *	(mkostemp: O_CREAT|O_EXCL, mode 0600), fsync, then rename over NAME and fsync the
 *	directory.  keystore_load() skips names starting with a dot, so it never sees a
 *	half-written file.  A new .key is put in place with link(2) instead of rename(2):
 *	link fails when the name exists, so two "generate" runs racing for one selector
 *	cannot overwrite each other's key.  The .key is written before the .meta, because
 *	the loader ignores a .key without a .meta but would refuse a .meta without a .key.
 *
 *	Modes are set with fchmod/chmod after creation so that the result does not depend on
 *	the umask: signet-keys runs with umask 077, which would otherwise leave the domain
 *	directories 0700 and unreadable to the daemon's group.
 * DIAGNOSTICS
 *	One sentence in struct keystore_error, naming the file.
 * SEE ALSO
 *	keystore.c, signet-keys(8)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* mkostemp(3) */
#endif
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "keys/keystore.h"
#include "keys/keystore-write.h"

#define MODE_KEY	0600
#define MODE_META	0640
#define MODE_DIR	0750
#define MODE_PARENT	0755	/* directories above the keystore root that we create */

#define SUFFIX_COUNT	(26 + 26 * 26)	/* a..z, aa..zz */

/* ---- helpers ----------------------------------------------------------------------- */

static void
openssl_error(struct keystore_error *err, const char *what)
{
	char why[256];

	ERR_error_string_n(ERR_peek_last_error(), why, sizeof(why));
	ERR_clear_error();
	keystore_error_set(err, "%s: %s", what, why);
}

int
keystore_format_time(time_t t, char *out, size_t size)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return -1;
	return 0;
}

/* DIR/DOMAIN/NAME, or -1 with err set if it does not fit. */
static int
file_path(char *out, size_t size, const char *dir, const char *domain, const char *name,
    struct keystore_error *err)
{
	if ((size_t)snprintf(out, size, "%s/%s/%s", dir, domain, name) >= size) {
		keystore_error_set(err, "%s/%s/%s: path too long", dir, domain, name);
		return -1;
	}
	return 0;
}

/* Validates both names; writes the normalised domain into norm. */
static int
check_names(const char *domain, const char *selector, char *norm, struct keystore_error *err)
{
	if (keystore_domain_normalize(domain, norm, KEYSTORE_DOMAIN_MAX + 1) < 0) {
		keystore_error_set(err, "invalid domain name \"%s\"", domain);
		return -1;
	}
	if (selector != NULL && !keystore_selector_valid(selector)) {
		keystore_error_set(err, "invalid selector \"%s\" (dot-separated labels of "
		    "letters, digits, '-' and '_', at most %d bytes)", selector,
		    KEYSTORE_SELECTOR_MAX);
		return -1;
	}
	return 0;
}

/* ---- directories ------------------------------------------------------------------- */

/* mkdir(2) that tolerates an existing directory and sets mode on one it creates. */
static int
make_dir(const char *path, mode_t mode, struct keystore_error *err)
{
	struct stat st;

	if (mkdir(path, mode) == 0) {
		if (chmod(path, mode) < 0) {
			keystore_error_set(err, "cannot chmod %s: %s", path, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	keystore_error_set(err, "cannot create directory %s: %s", path,
	    errno == EEXIST ? "a file of that name exists" : strerror(errno));
	return -1;
}

/* mkdir -p for the keystore root: parents 0755, the root itself 0750. */
static int
make_root(const char *dir, struct keystore_error *err)
{
	char path[PATH_MAX];
	size_t len = strlen(dir), i;

	while (len > 1 && dir[len - 1] == '/')
		len--;
	if (len == 0 || len >= sizeof(path)) {
		keystore_error_set(err, "invalid keystore directory \"%s\"", dir);
		return -1;
	}
	memcpy(path, dir, len);
	path[len] = '\0';
	for (i = 1; i < len; i++) {
		if (path[i] != '/' || path[i - 1] == '/')
			continue;
		path[i] = '\0';
		if (make_dir(path, MODE_PARENT, err) < 0)
			return -1;
		path[i] = '/';
	}
	return make_dir(path, MODE_DIR, err);
}

static int
sync_dir(const char *path, struct keystore_error *err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0) {
		keystore_error_set(err, "cannot sync directory %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* ---- atomic file replacement ------------------------------------------------------- */

struct content {
	const char *text;	/* bytes to write, or NULL to write pkey as PEM */
	size_t	len;
	EVP_PKEY *pkey;
};

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes the private key as PKCS#8 PEM straight to fd, so that no copy of it is left
 * in a memory buffer. */
static int
write_pem(int fd, EVP_PKEY *pkey, const char *path, struct keystore_error *err)
{
	BIO *bio = BIO_new_fd(fd, BIO_NOCLOSE);
	int ok;

	ok = bio != NULL && PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1
	    && BIO_flush(bio) == 1;
	BIO_free(bio);
	if (!ok) {
		openssl_error(err, path);
		return -1;
	}
	return 0;
}

static int
write_temp(int fd, const char *tmp, const struct content *c, mode_t mode,
    struct keystore_error *err)
{
	if (fchmod(fd, mode) < 0) {
		keystore_error_set(err, "cannot chmod %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (c->text == NULL ? write_pem(fd, c->pkey, tmp, err) < 0
	    : write_all(fd, c->text, c->len) < 0) {
		if (c->text != NULL)
			keystore_error_set(err, "cannot write %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (fsync(fd) < 0) {
		keystore_error_set(err, "cannot sync %s: %s", tmp, strerror(errno));
		return -1;
	}
	return 0;
}

/* Puts the temporary file in place as path: with link(2) when noreplace (fails if
 * path exists), else with rename(2). */
static int
install(const char *tmp, const char *path, int noreplace, struct keystore_error *err)
{
	if (noreplace) {
		if (link(tmp, path) < 0) {
			if (errno == EEXIST)
				keystore_error_set(err, "%s exists already", path);
			else
				keystore_error_set(err, "cannot create %s: %s", path,
				    strerror(errno));
			return -1;
		}
		unlink(tmp);
		return 0;
	}
	if (rename(tmp, path) < 0) {
		keystore_error_set(err, "cannot rename %s to %s: %s", tmp, path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Atomically writes DIR/DOMAIN/NAME. */
static int
write_atomic(const char *dir, const char *domain, const char *name,
    const struct content *c, mode_t mode, int noreplace, struct keystore_error *err)
{
	char path[PATH_MAX], tmp[PATH_MAX], tmpname[NAME_MAX + 1], ddir[PATH_MAX];
	int fd, rc;

	if ((size_t)snprintf(tmpname, sizeof(tmpname), ".%s.XXXXXX", name) >= sizeof(tmpname)
	    || file_path(path, sizeof(path), dir, domain, name, err) < 0
	    || file_path(tmp, sizeof(tmp), dir, domain, tmpname, err) < 0) {
		keystore_error_set(err, "%s/%s/%s: name too long", dir, domain, name);
		return -1;
	}
	snprintf(ddir, sizeof(ddir), "%s/%s", dir, domain);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		keystore_error_set(err, "cannot create a temporary file in %s: %s", ddir,
		    strerror(errno));
		return -1;
	}
	rc = write_temp(fd, tmp, c, mode, err);
	if (close(fd) < 0 && rc == 0) {
		keystore_error_set(err, "cannot write %s: %s", tmp, strerror(errno));
		rc = -1;
	}
	if (rc == 0)
		rc = install(tmp, path, noreplace, err);
	if (rc < 0) {
		unlink(tmp);
		return -1;
	}
	return sync_dir(ddir, err);
}

/* ---- key generation ---------------------------------------------------------------- */

EVP_PKEY *
keystore_generate(enum key_algorithm algorithm, struct keystore_error *err)
{
	EVP_PKEY *pkey;
	char what[64];

	switch (algorithm) {
	case KEY_ALG_RSA_2048:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	case KEY_ALG_RSA_3072:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
		break;
	case KEY_ALG_RSA_4096:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
		break;
	case KEY_ALG_ED25519:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	default:
		keystore_error_set(err, "unknown key algorithm %d", (int)algorithm);
		return NULL;
	}
	if (pkey == NULL) {
		snprintf(what, sizeof(what), "cannot generate a %s key",
		    keystore_algorithm_name(algorithm));
		openssl_error(err, what);
	}
	return pkey;
}

/* ---- selectors --------------------------------------------------------------------- */

/* The index of a default-selector suffix ("a" = 0, "z" = 25, "aa" = 26 ...), or -1. */
static int
suffix_index(const char *s, size_t len)
{
	int a, b;

	if (len == 1 && isalpha((unsigned char)s[0]) && (unsigned char)s[0] < 0x80)
		return tolower((unsigned char)s[0]) - 'a';
	if (len != 2 || !isalpha((unsigned char)s[0]) || !isalpha((unsigned char)s[1])
	    || (unsigned char)s[0] >= 0x80 || (unsigned char)s[1] >= 0x80)
		return -1;
	a = tolower((unsigned char)s[0]) - 'a';
	b = tolower((unsigned char)s[1]) - 'a';
	return 26 + a * 26 + b;
}

static void
suffix_name(int index, char *out)
{
	if (index < 26) {
		out[0] = (char)('a' + index);
		out[1] = '\0';
	} else {
		out[0] = (char)('a' + (index - 26) / 26);
		out[1] = (char)('a' + (index - 26) % 26);
		out[2] = '\0';
	}
}

/* The length of entry without ".key" or ".meta", or 0 if it has neither. */
static size_t
key_file_stem(const char *entry)
{
	size_t len = strlen(entry);

	if (len > 4 && strcmp(entry + len - 4, ".key") == 0)
		return len - 4;
	if (len > 5 && strcmp(entry + len - 5, ".meta") == 0)
		return len - 5;
	return 0;
}

/* Marks used[] for every sYYYYMM<suffix> selector present in the domain directory. */
static int
mark_used(const char *ddir, const char *prefix, unsigned char *used,
    struct keystore_error *err)
{
	size_t plen = strlen(prefix), stem;
	struct dirent *de;
	DIR *d;
	int i;

	if ((d = opendir(ddir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		keystore_error_set(err, "cannot open %s: %s", ddir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		stem = key_file_stem(de->d_name);
		if (de->d_name[0] == '.' || stem <= plen
		    || strncasecmp(de->d_name, prefix, plen) != 0)
			continue;
		if ((i = suffix_index(de->d_name + plen, stem - plen)) >= 0)
			used[i] = 1;
	}
	closedir(d);
	return 0;
}

int
keystore_default_selector(const char *dir, const char *domain, time_t now, char *out,
    size_t size, struct keystore_error *err)
{
	char norm[KEYSTORE_DOMAIN_MAX + 1], ddir[PATH_MAX], prefix[16], suffix[3];
	unsigned char used[SUFFIX_COUNT] = { 0 };
	struct tm tm;
	int i;

	if (check_names(domain, NULL, norm, err) < 0)
		return -1;
	if (gmtime_r(&now, &tm) == NULL || strftime(prefix, sizeof(prefix), "s%Y%m", &tm) == 0) {
		keystore_error_set(err, "cannot format the time %lld", (long long)now);
		return -1;
	}
	snprintf(ddir, sizeof(ddir), "%s/%s", dir, norm);
	if (mark_used(ddir, prefix, used, err) < 0)
		return -1;
	for (i = 0; i < SUFFIX_COUNT && used[i]; i++)
		continue;
	if (i == SUFFIX_COUNT) {
		keystore_error_set(err, "%s: every selector %sa .. %szz is taken; choose one "
		    "with -s", ddir, prefix, prefix);
		return -1;
	}
	suffix_name(i, suffix);
	if ((size_t)snprintf(out, size, "%s%s", prefix, suffix) >= size) {
		keystore_error_set(err, "selector buffer too small");
		return -1;
	}
	return 0;
}

/* 1 if the domain directory holds SELECTOR.key or SELECTOR.meta in any letter case. */
static int
selector_taken(const char *ddir, const char *selector, struct keystore_error *err)
{
	size_t len = strlen(selector);
	struct dirent *de;
	DIR *d;
	int taken = 0;

	if ((d = opendir(ddir)) == NULL) {
		keystore_error_set(err, "cannot open %s: %s", ddir, strerror(errno));
		return -1;
	}
	while (!taken && (de = readdir(d)) != NULL)
		taken = de->d_name[0] != '.' && key_file_stem(de->d_name) == len
		    && strncasecmp(de->d_name, selector, len) == 0;
	closedir(d);
	return taken;
}

/* ---- creating keys and changing states --------------------------------------------- */

/* The .key (pkey) or none (a token key, uri), then the .meta. */
static int
create_files(const char *dir, const char *domain, const char *selector,
    enum key_algorithm algorithm, EVP_PKEY *pkey, const char *uri, time_t now,
    struct keystore_error *err)
{
	struct content key = { .pkey = pkey }, meta = { 0 };
	char name[KEYSTORE_SELECTOR_MAX + 8], text[KEYSTORE_URI_MAX + 256], when[32];
	char path[PATH_MAX];

	if (keystore_format_time(now, when, sizeof(when)) < 0) {
		keystore_error_set(err, "cannot format the time %lld", (long long)now);
		return -1;
	}
	snprintf(name, sizeof(name), "%s.key", selector);
	if (uri == NULL && write_atomic(dir, domain, name, &key, MODE_KEY, 1, err) < 0)
		return -1;
	meta.len = (size_t)snprintf(text, sizeof(text), "algorithm %s\n%s%s%sstate %s\n"
	    "transition %s %s\n", keystore_algorithm_name(algorithm), uri ? "uri " : "",
	    uri ? uri : "", uri ? "\n" : "", keystore_state_name(KEY_STATE_PENDING),
	    keystore_state_name(KEY_STATE_PENDING), when);
	meta.text = text;
	snprintf(name, sizeof(name), "%s.meta", selector);
	/* A token key's .meta is its only file: link, so as not to replace another's. */
	if (write_atomic(dir, domain, name, &meta, MODE_META, uri != NULL, err) < 0) {
		snprintf(name, sizeof(name), "%s.key", selector);
		if (uri == NULL && file_path(path, sizeof(path), dir, domain, name, NULL) == 0)
			unlink(path);
		return -1;
	}
	return 0;
}

static int
create_key(const char *dir, const char *domain, const char *selector,
    enum key_algorithm algorithm, EVP_PKEY *pkey, const char *uri, time_t now,
    struct keystore_error *err)
{
	char norm[KEYSTORE_DOMAIN_MAX + 1], ddir[PATH_MAX];
	int taken;

	if (check_names(domain, selector, norm, err) < 0 || make_root(dir, err) < 0)
		return -1;
	if ((size_t)snprintf(ddir, sizeof(ddir), "%s/%s", dir, norm) >= sizeof(ddir)) {
		keystore_error_set(err, "%s/%s: path too long", dir, norm);
		return -1;
	}
	if (make_dir(ddir, MODE_DIR, err) < 0 || (taken = selector_taken(ddir, selector, err)) < 0)
		return -1;
	if (taken) {
		keystore_error_set(err, "selector %s exists already in %s", selector, ddir);
		return -1;
	}
	return create_files(dir, norm, selector, algorithm, pkey, uri, now, err);
}

int
keystore_create(const char *dir, const char *domain, const char *selector,
    enum key_algorithm algorithm, EVP_PKEY *pkey, time_t now, struct keystore_error *err)
{
	return create_key(dir, domain, selector, algorithm, pkey, NULL, now, err);
}

int
keystore_create_token(const char *dir, const char *domain, const char *selector,
    enum key_algorithm algorithm, const char *uri, time_t now, struct keystore_error *err)
{
	if (strlen(uri) > KEYSTORE_URI_MAX || strncmp(uri, "pkcs11:", 7) != 0
	    || strpbrk(uri, " \t\n") != NULL) {
		keystore_error_set(err, "%s/%s: not a PKCS#11 URI of at most %d bytes without "
		    "blanks", domain, selector, KEYSTORE_URI_MAX);
		return -1;
	}
	return create_key(dir, domain, selector, algorithm, NULL, uri, now, err);
}

/* Copies the .meta text into out with its state line replaced by "state NEW"; out must
 * hold len + 64 bytes (every line gains at most its newline, a state line at most 8). */
static size_t
copy_with_state(const char *text, size_t len, char *out, size_t size, enum key_state state)
{
	size_t at = 0, o = 0, end;
	const char *p;

	while (at < len) {
		for (end = at; end < len && text[end] != '\n'; end++)
			continue;
		for (p = text + at; *p == ' ' || *p == '\t'; p++)
			continue;
		if (strncmp(p, "state", 5) == 0 && (p[5] == ' ' || p[5] == '\t')) {
			o += (size_t)snprintf(out + o, size - o, "state %s\n",
			    keystore_state_name(state));
		} else {
			memcpy(out + o, text + at, end - at);
			o += end - at;
			out[o++] = '\n';
		}
		at = end + 1;
	}
	return o;
}

int
keystore_set_state(const char *dir, const char *domain, const char *selector,
    enum key_state state, time_t now, struct keystore_error *err)
{
	struct keystore_key key;
	struct content meta = { 0 };
	char name[KEYSTORE_SELECTOR_MAX + 8], when[32], *text, *out;
	size_t len, size;
	int rc;

	if (keystore_read_meta(dir, domain, selector, &key, &text, &len, err) < 0)
		return -1;
	if (key.state == state) {
		keystore_error_set(err, "%s/%s/%s.meta: the key is %s already", dir, key.domain,
		    selector, keystore_state_name(state));
		free(text);
		return -1;
	}
	if (keystore_format_time(now, when, sizeof(when)) < 0
	    || (out = malloc(size = len + 128)) == NULL) {
		keystore_error_set(err, "%s/%s/%s.meta: out of memory", dir, key.domain, selector);
		free(text);
		return -1;
	}
	meta.len = copy_with_state(text, len, out, size, state);
	meta.len += (size_t)snprintf(out + meta.len, size - meta.len, "transition %s %s\n",
	    keystore_state_name(state), when);
	meta.text = out;
	snprintf(name, sizeof(name), "%s.meta", selector);
	rc = write_atomic(dir, key.domain, name, &meta, MODE_META, 0, err);
	free(out);
	free(text);
	return rc;
}

/* 1 if the line at text (up to end) starts with the word name and a blank. */
static int
line_is(const char *text, size_t len, const char *name)
{
	size_t n = strlen(name);

	while (len > 0 && (*text == ' ' || *text == '\t')) {
		text++;
		len--;
	}
	return len > n && strncmp(text, name, n) == 0 && (text[n] == ' ' || text[n] == '\t');
}

int
keystore_set_dns_match(const char *dir, const char *domain, const char *selector,
    time_t when, struct keystore_error *err)
{
	struct keystore_key key;
	struct content meta = { 0 };
	char name[KEYSTORE_SELECTOR_MAX + 8], stamp[32], *text, *out;
	size_t len, at, end, o = 0;
	int rc;

	if (keystore_read_meta(dir, domain, selector, &key, &text, &len, err) < 0)
		return -1;
	if (keystore_format_time(when, stamp, sizeof(stamp)) < 0
	    || (out = malloc(len + 64)) == NULL) {
		keystore_error_set(err, "%s/%s/%s.meta: out of memory", dir, key.domain, selector);
		free(text);
		return -1;
	}
	for (at = 0; at < len; at = end + 1) {
		for (end = at; end < len && text[end] != '\n'; end++)
			continue;
		if (line_is(text + at, end - at, "dns-match"))
			continue;
		memcpy(out + o, text + at, end - at);
		o += end - at;
		out[o++] = '\n';
	}
	if (when != 0)
		o += (size_t)snprintf(out + o, 64, "dns-match %s\n", stamp);
	meta.text = out;
	meta.len = o;
	snprintf(name, sizeof(name), "%s.meta", selector);
	rc = write_atomic(dir, key.domain, name, &meta, MODE_META, 0, err);
	free(out);
	free(text);
	return rc;
}

int
keystore_lock(const char *dir, int nonblock, struct keystore_error *err)
{
	char path[PATH_MAX];
	int fd;

	if (make_root(dir, err) < 0)
		return -1;
	if ((size_t)snprintf(path, sizeof(path), "%s/.lock", dir) >= sizeof(path)) {
		keystore_error_set(err, "%s/.lock: path too long", dir);
		return -1;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		keystore_error_set(err, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX | (nonblock ? LOCK_NB : 0)) < 0) {
		int saved = errno;

		if (saved == EINTR)
			continue;
		if (saved == EWOULDBLOCK)
			keystore_error_set(err, "%s is locked by another signet-keys", path);
		else
			keystore_error_set(err, "cannot lock %s: %s", path, strerror(saved));
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* ---- DNS --------------------------------------------------------------------------- */

static char *
txt_record(const char *type, const unsigned char *key, size_t len,
    struct keystore_error *err)
{
	size_t b64len = 4 * ((len + 2) / 3), size;
	char *out;
	int n;

	size = b64len + strlen(type) + 32;
	if ((out = malloc(size)) == NULL) {
		keystore_error_set(err, "out of memory formatting a DNS record");
		return NULL;
	}
	n = snprintf(out, size, "v=DKIM1; k=%s; p=", type);
	EVP_EncodeBlock((unsigned char *)out + n, key, (int)len);
	return out;
}

char *
keystore_dns_txt(EVP_PKEY *pkey, enum key_algorithm algorithm, struct keystore_error *err)
{
	unsigned char raw[32], *der = NULL;
	size_t rawlen = sizeof(raw);
	char *txt;
	int len;

	if (algorithm == KEY_ALG_ED25519) {
		if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519
		    || EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen) != 1 || rawlen != 32) {
			openssl_error(err, "cannot get the Ed25519 public key");
			return NULL;
		}
		return txt_record("ed25519", raw, rawlen, err);
	}
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA || (len = i2d_PUBKEY(pkey, &der)) <= 0) {
		openssl_error(err, "cannot encode the RSA public key");
		return NULL;
	}
	txt = txt_record("rsa", der, (size_t)len, err);
	OPENSSL_free(der);
	return txt;
}
