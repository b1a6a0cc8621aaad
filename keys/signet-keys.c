/*
 * NAME
 *	signet-keys - manage the DKIM keys in Signet's key store
 * SYNOPSIS
 *	signet-keys [-k DIR] generate DOMAIN [-s SELECTOR] [-a ALGORITHM]
 *	signet-keys [-k DIR] dns DOMAIN [SELECTOR]
 *	signet-keys [-k DIR] activate DOMAIN SELECTOR --force
 *	signet-keys [-k DIR] list
 * DESCRIPTION
 *	The operators' tool; see signet-keys(8).  Options may appear anywhere on the
 *	command line, before or after the command and its arguments ("--" ends them), so
 *	this parses argv itself rather than depend on GNU getopt's argument permutation,
 *	which POSIXLY_CORRECT turns off.
 *
 *	Output on stdout is meant for scripts: a selector, zone-file lines, or one line per
 *	key.  Private key material is never printed.
 * DIAGNOSTICS
 *	"signet-keys: message" on stderr.  Exit status 0 on success, 1 on an error, 2 on a
 *	usage error (the usage is printed on stderr).
 * SEE ALSO
 *	signet-keys(8), keystore.c, keystore-write.c
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "keys/keystore.h"
#include "keys/keystore-write.h"

#ifndef KEYSTORE_DIR
#define KEYSTORE_DIR "/var/lib/signet/keys"
#endif

#define EXIT_USAGE	2
#define TXT_CHUNK	255	/* bytes in one DNS character-string */
#define POS_MAX		3	/* the command and at most two arguments */

struct args {
	const char *keystore;
	const char *pos[POS_MAX];
	size_t	npos;
	const char *selector;	/* -s */
	const char *algorithm;	/* -a */
	int	force;
	int	help;
};

static const char usage_text[] =
    "usage: signet-keys [-k DIR] generate DOMAIN [-s SELECTOR] [-a ALGORITHM]\n"
    "       signet-keys [-k DIR] dns DOMAIN [SELECTOR]\n"
    "       signet-keys [-k DIR] activate DOMAIN SELECTOR --force\n"
    "       signet-keys [-k DIR] list\n"
    "       signet-keys -h | --help\n"
    "\n"
    "  generate  create a key in state pending and print its selector\n"
    "  dns       print the zone-file TXT record of the key, or of every pending,\n"
    "            active and retiring key of the domain\n"
    "  activate  make the key active (sign with it) once its record is in DNS\n"
    "  list      print DOMAIN SELECTOR ALGORITHM STATE for every key\n"
    "\n"
    "  -k DIR        keystore directory (default " KEYSTORE_DIR ")\n"
    "  -s SELECTOR   selector of the new key (default sYYYYMM plus a letter)\n"
    "  -a ALGORITHM  rsa-2048 (default), rsa-3072, rsa-4096 or ed25519\n"
    "  --force       activate without checking DNS\n";

__attribute__((format(printf, 1, 2)))
static int
fail(const char *fmt, ...)
{
	va_list ap;

	fputs("signet-keys: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAILURE;
}

static int
fail_usage(const char *what, const char *arg)
{
	fprintf(stderr, "signet-keys: %s%s%s\n%s", what, arg ? " " : "", arg ? arg : "",
	    usage_text);
	return EXIT_USAGE;
}

/* ---- command line ------------------------------------------------------------------ */

/* The value of option argv[*i] ("-kDIR" or "-k DIR"), or NULL if there is none. */
static const char *
option_value(int argc, char **argv, int *i)
{
	if (argv[*i][2] != '\0')
		return argv[*i] + 2;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

/* Returns 0, or the exit status of a usage error it has reported. */
static int
parse_args(int argc, char **argv, struct args *a)
{
	const char **slot;
	int i, options = 1;

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!options || arg[0] != '-' || arg[1] == '\0') {
			if (a->npos == POS_MAX)
				return fail_usage("too many arguments:", arg);
			a->pos[a->npos++] = arg;
		} else if (strcmp(arg, "--") == 0) {
			options = 0;
		} else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			a->help = 1;
		} else if (strcmp(arg, "--force") == 0) {
			a->force = 1;
		} else if (arg[1] == 'k' || arg[1] == 's' || arg[1] == 'a') {
			slot = arg[1] == 'k' ? &a->keystore : arg[1] == 's' ? &a->selector
			    : &a->algorithm;
			if ((*slot = option_value(argc, argv, &i)) == NULL)
				return fail_usage("missing value for option", arg);
		} else {
			return fail_usage("unknown option", arg);
		}
	}
	return 0;
}

/* Checks the argument count and that only the command's own options were given. */
static int
check_args(const struct args *a, size_t min, size_t max, int keygen, int force)
{
	if (a->npos - 1 < min)
		return fail_usage("missing arguments for", a->pos[0]);
	if (a->npos - 1 > max)
		return fail_usage("too many arguments for", a->pos[0]);
	if (!keygen && (a->selector != NULL || a->algorithm != NULL))
		return fail_usage("-s and -a belong to generate, not", a->pos[0]);
	if (!force && a->force)
		return fail_usage("--force belongs to activate, not", a->pos[0]);
	return 0;
}

/* ---- output ------------------------------------------------------------------------ */

/* SEL._domainkey.DOMAIN. IN TXT "..." "...", the data cut into 255-byte strings.  The
 * data is base64 and "v=DKIM1; k=...; p=", so nothing in it needs escaping. */
static void
print_txt(const char *domain, const char *selector, const char *txt)
{
	size_t len = strlen(txt), at, n;

	printf("%s._domainkey.%s. IN TXT", selector, domain);
	for (at = 0; at < len; at += n) {
		n = len - at < TXT_CHUNK ? len - at : TXT_CHUNK;
		printf(" \"%.*s\"", (int)n, txt + at);
	}
	putchar('\n');
}

/* Reads the key's private half and prints its record. */
static int
print_key_record(const char *dir, const char *domain, const char *selector,
    enum key_algorithm algorithm)
{
	struct keystore_error err;
	EVP_PKEY *pkey;
	char *txt;

	if ((pkey = keystore_read_private(dir, domain, selector, algorithm, &err)) == NULL)
		return fail("%s", err.text);
	txt = keystore_dns_txt(pkey, algorithm, &err);
	EVP_PKEY_free(pkey);
	if (txt == NULL)
		return fail("%s", err.text);
	print_txt(domain, selector, txt);
	free(txt);
	return EXIT_SUCCESS;
}

/* ---- commands ---------------------------------------------------------------------- */

static int
normalize_domain(const char *arg, char *norm)
{
	if (keystore_domain_normalize(arg, norm, KEYSTORE_DOMAIN_MAX + 1) < 0)
		return fail("invalid domain name \"%s\"", arg);
	return 0;
}

/* Saves generating a big key only to find that the selector is taken; keystore_create()
 * checks again, in any letter case, and atomically. */
static int
selector_exists(const char *dir, const char *domain, const char *selector)
{
	static const char *const ext[] = { "key", "meta" };
	char path[PATH_MAX];
	struct stat st;
	size_t i;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s/%s.%s", dir, domain, selector, ext[i]);
		if (lstat(path, &st) == 0)
			return 1;
	}
	return 0;
}

static int
cmd_generate(const struct args *a)
{
	char domain[KEYSTORE_DOMAIN_MAX + 1], selector[KEYSTORE_SELECTOR_MAX + 1];
	enum key_algorithm algorithm = KEY_ALG_RSA_2048;
	struct keystore_error err;
	time_t now = time(NULL);
	EVP_PKEY *pkey;
	int rc;

	if (a->algorithm != NULL && keystore_algorithm_parse(a->algorithm, &algorithm) < 0)
		return fail_usage("unknown algorithm", a->algorithm);
	if (normalize_domain(a->pos[1], domain) != 0)
		return EXIT_FAILURE;
	if (a->selector == NULL) {
		if (keystore_default_selector(a->keystore, domain, now, selector,
		    sizeof(selector), &err) < 0)
			return fail("%s", err.text);
	} else if (!keystore_selector_valid(a->selector)) {
		return fail("invalid selector \"%s\" (dot-separated labels of letters, digits, "
		    "'-' and '_', at most %d bytes)", a->selector, KEYSTORE_SELECTOR_MAX);
	} else {
		snprintf(selector, sizeof(selector), "%s", a->selector);
	}
	if (selector_exists(a->keystore, domain, selector))
		return fail("selector %s exists already in %s/%s", selector, a->keystore, domain);
	if ((pkey = keystore_generate(algorithm, &err)) == NULL)
		return fail("%s", err.text);
	rc = keystore_create(a->keystore, domain, selector, algorithm, pkey, now, &err);
	EVP_PKEY_free(pkey);
	if (rc < 0)
		return fail("%s", err.text);
	printf("%s\n", selector);
	return EXIT_SUCCESS;
}

static int
publishable(enum key_state state)
{
	return state == KEY_STATE_PENDING || state == KEY_STATE_ACTIVE
	    || state == KEY_STATE_RETIRING;
}

static int
dns_domain(const char *dir, const char *domain)
{
	struct keystore_error err;
	struct keystore *store;
	const struct keystore_key *k;
	size_t i, printed = 0;
	int rc = EXIT_SUCCESS;

	if ((store = keystore_load(dir, 0, &err)) == NULL)
		return fail("%s", err.text);
	for (i = 0; rc == EXIT_SUCCESS && i < keystore_count(store); i++) {
		k = keystore_key_at(store, i);
		if (strcmp(k->domain, domain) != 0 || !publishable(k->state))
			continue;
		rc = print_key_record(dir, domain, k->selector, k->algorithm);
		printed++;
	}
	keystore_free(store);
	if (rc == EXIT_SUCCESS && printed == 0)
		rc = fail("%s has no key that is pending, active or retiring in %s", domain, dir);
	return rc;
}

static int
cmd_dns(const struct args *a)
{
	char domain[KEYSTORE_DOMAIN_MAX + 1];
	struct keystore_error err;
	struct keystore_key key;

	if (normalize_domain(a->pos[1], domain) != 0)
		return EXIT_FAILURE;
	if (a->npos == 2)
		return dns_domain(a->keystore, domain);
	if (keystore_read_meta(a->keystore, domain, a->pos[2], &key, NULL, NULL, &err) < 0)
		return fail("%s", err.text);
	return print_key_record(a->keystore, domain, key.selector, key.algorithm);
}

static int
cmd_activate(const struct args *a)
{
	char domain[KEYSTORE_DOMAIN_MAX + 1];
	const char *selector = a->pos[2];
	struct keystore_error err;
	struct keystore_key key;
	EVP_PKEY *pkey;

	if (normalize_domain(a->pos[1], domain) != 0)
		return EXIT_FAILURE;
	if (keystore_read_meta(a->keystore, domain, selector, &key, NULL, NULL, &err) < 0)
		return fail("%s", err.text);
	if (key.state == KEY_STATE_ACTIVE)
		return fail("%s._domainkey.%s is active already", selector, domain);
	if (!a->force)
		return fail("cannot check that the DNS record of %s._domainkey.%s is published: "
		    "the DNS check is not available yet.  Publish the record (signet-keys dns "
		    "%s %s), then run again with --force", selector, domain, domain, selector);
	/* The daemon refuses a whole keystore with one unreadable active key: check first. */
	if ((pkey = keystore_read_private(a->keystore, domain, selector, key.algorithm,
	    &err)) == NULL)
		return fail("%s", err.text);
	EVP_PKEY_free(pkey);
	fprintf(stderr, "signet-keys: warning: activating %s._domainkey.%s without checking "
	    "that its DNS record is published (--force)\n", selector, domain);
	if (keystore_set_state(a->keystore, domain, selector, KEY_STATE_ACTIVE, time(NULL),
	    &err) < 0)
		return fail("%s", err.text);
	return EXIT_SUCCESS;
}

static int
cmd_list(const struct args *a)
{
	struct keystore_error err;
	struct keystore *store;
	const struct keystore_key *k;
	size_t i;

	if ((store = keystore_load(a->keystore, 0, &err)) == NULL)
		return fail("%s", err.text);
	for (i = 0; i < keystore_count(store); i++) {
		k = keystore_key_at(store, i);
		printf("%s %s %s %s\n", k->domain, k->selector,
		    keystore_algorithm_name(k->algorithm), keystore_state_name(k->state));
	}
	keystore_free(store);
	return EXIT_SUCCESS;
}

static int
run(const struct args *a)
{
	const char *cmd = a->pos[0];
	int rc;

	if (strcmp(cmd, "generate") == 0)
		return (rc = check_args(a, 1, 1, 1, 0)) != 0 ? rc : cmd_generate(a);
	if (strcmp(cmd, "dns") == 0)
		return (rc = check_args(a, 1, 2, 0, 0)) != 0 ? rc : cmd_dns(a);
	if (strcmp(cmd, "activate") == 0)
		return (rc = check_args(a, 2, 2, 0, 1)) != 0 ? rc : cmd_activate(a);
	if (strcmp(cmd, "list") == 0)
		return (rc = check_args(a, 0, 0, 0, 0)) != 0 ? rc : cmd_list(a);
	return fail_usage("unknown command", cmd);
}

int
main(int argc, char **argv)
{
	struct args a = { .keystore = KEYSTORE_DIR };
	int rc;

	umask(077);
	if ((rc = parse_args(argc, argv, &a)) != 0)
		return rc;
	if (a.help) {
		fputs(usage_text, stdout);
		return EXIT_SUCCESS;
	}
	if (a.npos == 0)
		return fail_usage("no command given", NULL);
	if (a.keystore[0] == '\0')
		return fail_usage("empty keystore directory", NULL);
	rc = run(&a);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fail("cannot write to standard output: %s", strerror(errno));
		return EXIT_FAILURE;
	}
	return rc;
}
