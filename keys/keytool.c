/*
 * NAME
 *	keytool.c - helpers shared by the commands of signet-keys(8)
 * SYNOPSIS
 *	#include "keys/keytool.h"
 * DESCRIPTION
 *	Messages, the keystore lock, loading keys, DNS checks with the dns-match
 *	bookkeeping of the propagation rule (keycheck.h), and telling the daemon to reload.
 *
 *	Reload.  The daemon writes its pid to PidFile; a pid is signalled only when
 *	/proc/PID/comm says "signet", so a stale PidFile whose pid now belongs to another
 *	program is never sent SIGHUP (which would end most programs).
 * DIAGNOSTICS
 *	"signet-keys: message" on stderr.
 * SEE ALSO
 *	keytool.h, signet-keys.c, signet-keys(8)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys/keystore-write.h"
#include "keys/keytool.h"
#include "keys/token.h"

#define PIDFILE_MAX	32	/* bytes of a pid file worth reading */

int
keytool_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("signet-keys: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return KEYTOOL_FAIL;
}

void
keytool_note(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("signet-keys: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
keytool_domain(const char *arg, char *norm)
{
	if (keystore_domain_normalize(arg, norm, KEYSTORE_DOMAIN_MAX + 1) < 0)
		return keytool_fail("invalid domain name \"%s\"", arg);
	return KEYTOOL_OK;
}

const char *
keytool_time(time_t t, int slot)
{
	static char buf[4][32];

	slot &= 3;
	if (t == 0 || keystore_format_time(t, buf[slot], sizeof(buf[slot])) < 0)
		return "-";
	return buf[slot];
}

int
keytool_same_family(enum key_algorithm a, enum key_algorithm b)
{
	return (a == KEY_ALG_ED25519) == (b == KEY_ALG_ED25519);
}

int
keytool_lock(struct keytool *kt)
{
	struct keystore_error err;

	if (kt->lock_fd >= 0)
		return KEYTOOL_OK;
	if ((kt->lock_fd = keystore_lock(kt->keystore, 1, &err)) >= 0)
		return KEYTOOL_OK;
	if (errno != EWOULDBLOCK)
		return keytool_fail("%s", err.text);
	keytool_note("waiting: %s", err.text);
	if ((kt->lock_fd = keystore_lock(kt->keystore, 0, &err)) < 0)
		return keytool_fail("%s", err.text);
	return KEYTOOL_OK;
}

int
keytool_lock_optional(struct keytool *kt)
{
	struct keystore_error err;

	if (kt->lock_fd >= 0)
		return 1;
	if ((kt->lock_fd = keystore_lock(kt->keystore, 1, &err)) >= 0)
		return 1;
	if (errno == EWOULDBLOCK)
		return keytool_lock(kt) == KEYTOOL_OK;
	keytool_note("checking without recording the first match (%s)", err.text);
	return 0;
}

struct keystore *
keytool_load(struct keytool *kt)
{
	struct keystore_error err;
	struct keystore *store;

	if ((store = keystore_load(kt->keystore, 0, &err)) == NULL)
		keytool_fail("%s", err.text);
	return store;
}

size_t
keytool_domain_keys(const struct keystore *store, const char *domain, size_t *first)
{
	size_t i, n = 0;

	*first = 0;
	for (i = 0; i < keystore_count(store); i++) {
		if (strcmp(keystore_key_at(store, i)->domain, domain) != 0)
			continue;
		if (n++ == 0)
			*first = i;
	}
	return n;
}

/* ---- keys on a PKCS#11 token ------------------------------------------------------- */

struct token *
keytool_token(struct keytool *kt)
{
	char err[512];

	if (kt->token == NULL && (kt->token = token_open(kt->conf, err, sizeof(err))) == NULL)
		keytool_fail("%s", err);
	return kt->token;
}

int
keytool_make_key(struct keytool *kt, const char *domain, const char *selector,
    enum key_algorithm algorithm, int on_token)
{
	char uri[KEYSTORE_URI_MAX + 1], why[512];
	struct keystore_error err;
	EVP_PKEY *pkey;
	int rc;

	if (on_token) {
		if (keytool_token(kt) == NULL)
			return KEYTOOL_FAIL;
		if (token_generate(kt->token, algorithm, domain, selector, uri, sizeof(uri), why,
		    sizeof(why)) < 0)
			return keytool_fail("%s", why);
		rc = keystore_create_token(kt->keystore, domain, selector, algorithm, uri,
		    kt->now, &err);
	} else {
		if ((pkey = keystore_generate(algorithm, &err)) == NULL)
			return keytool_fail("%s", err.text);
		rc = keystore_create(kt->keystore, domain, selector, algorithm, pkey, kt->now,
		    &err);
		EVP_PKEY_free(pkey);
	}
	if (rc < 0)
		return keytool_fail("%s", err.text);
	return KEYTOOL_OK;
}

int
keytool_check_private(struct keytool *kt, const struct keystore_key *key)
{
	struct keystore_error err;
	unsigned long object;
	EVP_PKEY *pkey;
	char why[512];
	int bits;

	if (key->uri[0] != '\0') {
		if (keytool_token(kt) == NULL)
			return KEYTOOL_FAIL;
		if (token_find_private(kt->token, key->uri, key->algorithm, &object, &bits, why,
		    sizeof(why)) < 0)
			return keytool_fail("%s", why);
		return KEYTOOL_OK;
	}
	if ((pkey = keystore_read_private(kt->keystore, key->domain, key->selector,
	    key->algorithm, &err)) == NULL)
		return keytool_fail("%s", err.text);
	EVP_PKEY_free(pkey);
	return KEYTOOL_OK;
}

/* The public key: from the .key, or from the token for a key whose .meta has a uri. */
static EVP_PKEY *
public_key(struct keytool *kt, const char *domain, const char *selector,
    enum key_algorithm algorithm)
{
	struct keystore_error err;
	struct keystore_key key;
	EVP_PKEY *pkey;
	char why[512];

	if (keystore_read_meta(kt->keystore, domain, selector, &key, NULL, NULL, &err) < 0) {
		keytool_fail("%s", err.text);
		return NULL;
	}
	if (key.uri[0] != '\0') {
		if (keytool_token(kt) == NULL)
			return NULL;
		if ((pkey = token_public(kt->token, key.uri, algorithm, why, sizeof(why))) == NULL)
			keytool_fail("%s", why);
		return pkey;
	}
	if ((pkey = keystore_read_private(kt->keystore, domain, selector, algorithm,
	    &err)) == NULL)
		keytool_fail("%s", err.text);
	return pkey;
}

char *
keytool_record(struct keytool *kt, const char *domain, const char *selector,
    enum key_algorithm algorithm)
{
	struct keystore_error err;
	EVP_PKEY *pkey;
	char *txt;

	if ((pkey = public_key(kt, domain, selector, algorithm)) == NULL)
		return NULL;
	txt = keystore_dns_txt(pkey, algorithm, &err);
	EVP_PKEY_free(pkey);
	if (txt == NULL)
		keytool_fail("%s", err.text);
	return txt;
}

/* ---- DNS checks -------------------------------------------------------------------- */

struct keycheck *
keytool_checker(struct keytool *kt)
{
	struct nameserver one;
	const struct nameserver *servers = kt->conf->nameservers;
	size_t count = kt->conf->nameserver_count;
	char err[256];

	if (kt->checker != NULL)
		return kt->checker;
	if (kt->nameserver != NULL) {
		if (keycheck_parse_server(kt->nameserver, &one) < 0) {
			keytool_fail("--nameserver %s: want IP or IP@PORT", kt->nameserver);
			return NULL;
		}
		servers = &one;
		count = 1;
	}
	if ((kt->checker = keycheck_new(servers, count, err, sizeof(err))) == NULL)
		keytool_fail("%s", err);
	return kt->checker;
}

int
keytool_verdict_status(enum dkimrecord_verdict verdict)
{
	if (verdict == DKIMREC_OK)
		return KEYTOOL_OK;
	return dkimrecord_verdict_temporary(verdict) ? KEYTOOL_LATER : KEYTOOL_FAIL;
}

/* Keeps the .meta's dns-match in step with what DNS showed. */
static int
record_match(struct keytool *kt, const struct keystore_key *key,
    const struct keycheck_result *r)
{
	struct keystore_error err;
	time_t want = key->dns_match;

	if (r->verdict == DKIMREC_OK || r->verdict == DKIMREC_PROPAGATING) {
		if (want == 0)
			want = kt->now;
	} else if (r->verdict != DKIMREC_DNS_FAILURE) {
		want = 0;
	}
	if (want == key->dns_match)
		return KEYTOOL_OK;
	if (keystore_set_dns_match(kt->keystore, key->domain, key->selector, want, &err) < 0)
		return keytool_fail("%s", err.text);
	return KEYTOOL_OK;
}

int
keytool_check_key(struct keytool *kt, const struct keystore_key *key, int record,
    struct keycheck_result *out)
{
	struct keycheck *kc;
	char *txt;

	if ((kc = keytool_checker(kt)) == NULL)
		return KEYTOOL_FAIL;
	if ((txt = keytool_record(kt, key->domain, key->selector, key->algorithm)) == NULL)
		return KEYTOOL_FAIL;
	keycheck_record(kc, key->domain, key->selector, txt, out);
	free(txt);
	keycheck_propagation(out, key->dns_match, kt->now);
	if (record)
		return record_match(kt, key, out);
	return KEYTOOL_OK;
}

/* ---- daemon reload ----------------------------------------------------------------- */

/* Reads a decimal pid from path; 0 if the file is missing, -1 if it is not a pid. */
static long
read_pid(const char *path)
{
	char buf[PIDFILE_MAX + 1], *end;
	ssize_t n;
	long pid;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return errno == ENOENT ? 0 : -1;
	n = read(fd, buf, PIDFILE_MAX);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	errno = 0;
	pid = strtol(buf, &end, 10);
	if (end == buf || (*end != '\n' && *end != '\0') || errno != 0 || pid <= 1)
		return -1;
	return pid;
}

/* 1 if /proc/PID/comm is "signet". */
static int
is_signet(long pid)
{
	char path[64], comm[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	return strcmp(comm, "signet") == 0;
}

void
keytool_reload(struct keytool *kt)
{
	const char *path = kt->conf->pid_file;
	long pid;

	if (path == NULL || path[0] == '\0') {
		keytool_note("no PidFile in %s: reload signet yourself (SIGHUP) so that it "
		    "signs with the new keys", kt->conf->file != NULL ? kt->conf->file
		    : "the configuration");
		return;
	}
	if ((pid = read_pid(path)) == 0) {
		keytool_note("%s does not exist: signet is not running; it will sign with the "
		    "new keys when it starts", path);
		return;
	}
	if (pid < 0) {
		keytool_note("%s holds no pid: reload signet yourself (SIGHUP)", path);
		return;
	}
	if (!is_signet(pid)) {
		keytool_note("pid %ld from %s is not a running signet: it will sign with the "
		    "new keys when it starts", pid, path);
		return;
	}
	if (kill((pid_t)pid, SIGHUP) < 0) {
		keytool_note("cannot send SIGHUP to signet (pid %ld): %s; reload it yourself",
		    pid, strerror(errno));
		return;
	}
	keytool_note("told signet (pid %ld) to reload its keys", pid);
}
