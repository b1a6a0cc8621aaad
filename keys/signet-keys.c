/*
 * NAME
 *	signet-keys - manage the DKIM keys in Signet's key store
 * SYNOPSIS
 *	signet-keys [-c FILE] [-k DIR] generate DOMAIN [-s SELECTOR] [-a ALGORITHM] [--token]
 *	signet-keys [-c FILE] [-k DIR] dns DOMAIN [SELECTOR]
 *	signet-keys [-c FILE] [-k DIR] check DOMAIN [SELECTOR] [--nameserver IP[@PORT]]
 *	signet-keys [-c FILE] [-k DIR] activate DOMAIN SELECTOR [--force]
 *	signet-keys [-c FILE] [-k DIR] rotate DOMAIN [-a ALGORITHM] [--token] | rotate --auto
 *	signet-keys [-c FILE] [-k DIR] retire DOMAIN SELECTOR [--force]
 *	signet-keys [-c FILE] [-k DIR] publish DOMAIN [SELECTOR]
 *	signet-keys [-c FILE] [-k DIR] list [-l] | status [DOMAIN]
 *	signet-keys [-c FILE] [-k DIR] import-opendkim [--key-table F] [--signing-table F]
 *	    [--conf opendkim.conf]
 * DESCRIPTION
 *	The operators' tool; see signet-keys(8).  This file parses the command line, loads
 *	the configuration and runs one command; generate, dns and list are here, the
 *	lifecycle commands in keytool-*.c.  Options may appear anywhere on the command
 *	line, before or after the command and its arguments ("--" ends them): the table
 *	options[] is parsed by lib/cmdline.c.
 *
 *	Output on stdout is meant for scripts: a selector, zone-file lines, or one line per
 *	key.  Private key material is never printed.
 * DIAGNOSTICS
 *	"signet-keys: message" on stderr.  Exit status 0 on success, 1 on an error, 2 on a
 *	usage error (the usage is printed on stderr), 3 when DNS could not confirm a record
 *	yet (lookup failure, or still propagating).
 * SEE ALSO
 *	signet-keys(8), keytool.h, keystore.c, keystore-write.c
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf/toolconf.h"
#include "keys/keystore.h"
#include "keys/keystore-write.h"
#include "keys/keytool.h"
#include "keys/token.h"
#include "lib/cmdline.h"

#ifndef KEYSTORE_DIR
#define KEYSTORE_DIR "/var/lib/signet/keys"
#endif
#ifndef SYSCONF_DIR
#define SYSCONF_DIR "/etc"
#endif
#define DEFAULT_CONF	SYSCONF_DIR "/signet.conf"

#define TXT_CHUNK	255	/* bytes in one DNS character-string */

static const char usage_text[] =
    "usage: signet-keys [-c FILE] [-k DIR] generate DOMAIN [-s SELECTOR] [-a ALGORITHM]\n"
    "           [--token]\n"
    "       signet-keys [-c FILE] [-k DIR] dns DOMAIN [SELECTOR]\n"
    "       signet-keys [-c FILE] [-k DIR] check DOMAIN [SELECTOR] [--nameserver IP[@PORT]]\n"
    "       signet-keys [-c FILE] [-k DIR] activate DOMAIN SELECTOR [--force]\n"
    "       signet-keys [-c FILE] [-k DIR] rotate DOMAIN [-a ALGORITHM] [--token]\n"
    "       signet-keys [-c FILE] [-k DIR] rotate --auto\n"
    "       signet-keys [-c FILE] [-k DIR] retire DOMAIN SELECTOR [--force]\n"
    "       signet-keys [-c FILE] [-k DIR] publish DOMAIN [SELECTOR]\n"
    "       signet-keys [-c FILE] [-k DIR] list [-l]\n"
    "       signet-keys [-c FILE] [-k DIR] status [DOMAIN]\n"
    "       signet-keys [-c FILE] [-k DIR] import-opendkim [--key-table FILE]\n"
    "           [--signing-table FILE] [--conf OPENDKIM.CONF]\n"
    "       signet-keys -h | --help\n"
    "\n"
    "  generate  create a key in state pending and print its selector\n"
    "  dns       print the zone-file TXT record of the key, or of every pending,\n"
    "            active and retiring key of the domain (retired ones as comments)\n"
    "  check     compare the key's record in DNS with the key (all keys of the domain\n"
    "            that are pending, active or retiring without SELECTOR)\n"
    "  activate  make the key active once check passes; the domain's other active key\n"
    "            of the same family (RSA or Ed25519) becomes retiring\n"
    "  rotate    create the next pending key beside the active one; print its selector\n"
    "            (--auto: every step that is due, for every domain)\n"
    "  retire    stop publishing: active or retiring -> retired\n"
    "  publish   send the key's record to UpdateServer (RFC 2136 with TSIG)\n"
    "  list      print DOMAIN SELECTOR ALGORITHM STATE for every key (-l: and when)\n"
    "  status    per domain, the next step and when\n"
    "  import-opendkim  take over the keys of an OpenDKIM KeyTable and SigningTable\n"
    "\n"
    "  -c FILE       configuration (default " DEFAULT_CONF ")\n"
    "  -k DIR        keystore directory (default: Keystore of the configuration, "
    KEYSTORE_DIR ")\n"
    "  -s SELECTOR   selector of the new key (default sYYYYMM plus a letter)\n"
    "  -a ALGORITHM  rsa-2048 (default), rsa-3072, rsa-4096 or ed25519\n"
    "  --token       make the key on the PKCS#11 token of PKCS11Module and PKCS11Token\n"
    "                (rotate does so anyway when the active key is there)\n"
    "  --force       activate without a passing DNS check; retire the last active key\n"
    "  --nameserver IP[@PORT]  DNS server to ask (default: Nameservers, resolv.conf)\n";

static int
fail_usage(const char *what, const char *arg)
{
	fprintf(stderr, "signet-keys: %s%s%s\n%s", what, arg ? " " : "", arg ? arg : "",
	    usage_text);
	return KEYTOOL_USAGE;
}

/* ---- command line ------------------------------------------------------------------ */

#define AT(field)	offsetof(struct keytool, field)

static const struct cmdline_option options[] = {
	{ "-k", 1, 0, AT(keystore) },
	{ "-c", 1, 0, AT(conf_path) },
	{ "-s", 1, KEYTOOL_OPT_S, AT(selector) },
	{ "-a", 1, KEYTOOL_OPT_A, AT(algorithm) },
	{ "--nameserver", 1, KEYTOOL_OPT_NAMESERVER, AT(nameserver) },
	{ "--key-table", 1, KEYTOOL_OPT_IMPORT, AT(key_table) },
	{ "--signing-table", 1, KEYTOOL_OPT_IMPORT, AT(signing_table) },
	{ "--conf", 1, KEYTOOL_OPT_IMPORT, AT(opendkim_conf) },
	{ "-h", 0, 0, AT(help) },
	{ "--help", 0, 0, AT(help) },
	{ "--force", 0, KEYTOOL_OPT_FORCE, AT(force) },
	{ "--auto", 0, KEYTOOL_OPT_AUTO, AT(automatic) },
	{ "-l", 0, KEYTOOL_OPT_LONG, AT(long_format) },
	{ "--long", 0, KEYTOOL_OPT_LONG, AT(long_format) },
	{ "--token", 0, KEYTOOL_OPT_TOKEN, AT(on_token) },
};
#define NOPTIONS	(sizeof(options) / sizeof(options[0]))

/* ---- configuration ----------------------------------------------------------------- */

/* The configuration: -c FILE must exist; the default file may be missing. */
static int
load_conf(struct keytool *kt)
{
	if ((kt->conf = toolconf_load(kt->conf_path, DEFAULT_CONF, "signet-keys")) == NULL)
		return KEYTOOL_FAIL;
	if (kt->keystore == NULL)
		kt->keystore = kt->conf->keystore;
	if (kt->keystore == NULL || kt->keystore[0] == '\0')
		return fail_usage("empty keystore directory", NULL);
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

/* Zone-file comments for a retired key, so that zone-file consumers ignore them. */
static void
print_retired(const char *domain, const char *selector, enum key_algorithm algorithm)
{
	printf("; %s._domainkey.%s: retired, its record may be deleted; or replaced by the "
	    "revoked form:\n", selector, domain);
	printf("; %s._domainkey.%s. IN TXT \"v=DKIM1; k=%s; p=\"\n", selector, domain,
	    keystore_dns_key_type(algorithm));
}

/* Reads the key's private half and prints its record. */
static int
print_key_record(struct keytool *kt, const char *domain, const char *selector,
    enum key_algorithm algorithm)
{
	char *txt;

	if ((txt = keytool_record(kt, domain, selector, algorithm)) == NULL)
		return KEYTOOL_FAIL;
	print_txt(domain, selector, txt);
	free(txt);
	return KEYTOOL_OK;
}

/* ---- generate, dns, list ----------------------------------------------------------- */

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
cmd_generate(struct keytool *kt)
{
	char domain[KEYSTORE_DOMAIN_MAX + 1], selector[KEYSTORE_SELECTOR_MAX + 1];
	enum key_algorithm algorithm = KEY_ALG_RSA_2048;
	struct keystore_error err;

	if (kt->algorithm != NULL && keystore_algorithm_parse(kt->algorithm, &algorithm) < 0)
		return fail_usage("unknown algorithm", kt->algorithm);
	if (keytool_domain(kt->pos[1], domain) != KEYTOOL_OK || keytool_lock(kt) != KEYTOOL_OK)
		return KEYTOOL_FAIL;
	if (kt->selector == NULL) {
		if (keystore_default_selector(kt->keystore, domain, kt->now, selector,
		    sizeof(selector), &err) < 0)
			return keytool_fail("%s", err.text);
	} else if (!keystore_selector_valid(kt->selector)) {
		return keytool_fail("invalid selector \"%s\" (dot-separated labels of letters, "
		    "digits, '-' and '_', at most %d bytes)", kt->selector, KEYSTORE_SELECTOR_MAX);
	} else {
		snprintf(selector, sizeof(selector), "%s", kt->selector);
	}
	if (selector_exists(kt->keystore, domain, selector))
		return keytool_fail("selector %s exists already in %s/%s", selector, kt->keystore,
		    domain);
	if (keytool_make_key(kt, domain, selector, algorithm, kt->on_token) != KEYTOOL_OK)
		return KEYTOOL_FAIL;
	printf("%s\n", selector);
	return KEYTOOL_OK;
}

static int
publishable(enum key_state state)
{
	return state == KEY_STATE_PENDING || state == KEY_STATE_ACTIVE
	    || state == KEY_STATE_RETIRING;
}

static int
dns_domain(struct keytool *kt, const char *domain)
{
	struct keystore *store;
	const struct keystore_key *k;
	size_t i, printed = 0;
	int rc = KEYTOOL_OK;

	if ((store = keytool_load(kt)) == NULL)
		return KEYTOOL_FAIL;
	for (i = 0; rc == KEYTOOL_OK && i < keystore_count(store); i++) {
		k = keystore_key_at(store, i);
		if (strcmp(k->domain, domain) != 0 || !publishable(k->state))
			continue;
		rc = print_key_record(kt, domain, k->selector, k->algorithm);
		printed++;
	}
	for (i = 0; rc == KEYTOOL_OK && i < keystore_count(store); i++) {
		k = keystore_key_at(store, i);
		if (strcmp(k->domain, domain) == 0 && k->state == KEY_STATE_RETIRED)
			print_retired(domain, k->selector, k->algorithm);
	}
	keystore_free(store);
	if (rc == KEYTOOL_OK && printed == 0)
		rc = keytool_fail("%s has no key that is pending, active or retiring in %s",
		    domain, kt->keystore);
	return rc;
}

/* A retired key whose .key is gone has no record left to print, only the comments; a
 * token key's record is read from the token. */
static int
dns_one(struct keytool *kt, const char *domain, const struct keystore_key *key)
{
	char path[PATH_MAX];
	struct stat st;
	int rc = KEYTOOL_OK;

	snprintf(path, sizeof(path), "%s/%s/%s.key", kt->keystore, domain, key->selector);
	if (key->state != KEY_STATE_RETIRED || key->uri[0] != '\0' || lstat(path, &st) == 0)
		rc = print_key_record(kt, domain, key->selector, key->algorithm);
	if (rc == KEYTOOL_OK && key->state == KEY_STATE_RETIRED)
		print_retired(domain, key->selector, key->algorithm);
	return rc;
}

static int
cmd_dns(struct keytool *kt)
{
	char domain[KEYSTORE_DOMAIN_MAX + 1];
	struct keystore_error err;
	struct keystore_key key;

	if (keytool_domain(kt->pos[1], domain) != KEYTOOL_OK)
		return KEYTOOL_FAIL;
	if (kt->npos == 2)
		return dns_domain(kt, domain);
	if (keystore_read_meta(kt->keystore, domain, kt->pos[2], &key, NULL, NULL, &err) < 0)
		return keytool_fail("%s", err.text);
	return dns_one(kt, domain, &key);
}

static int
cmd_list(struct keytool *kt)
{
	struct keystore *store;
	const struct keystore_key *k;
	size_t i;
	int s;

	if ((store = keytool_load(kt)) == NULL)
		return KEYTOOL_FAIL;
	for (i = 0; i < keystore_count(store); i++) {
		k = keystore_key_at(store, i);
		printf("%s %s %s %s", k->domain, k->selector,
		    keystore_algorithm_name(k->algorithm), keystore_state_name(k->state));
		for (s = 0; kt->long_format && s < KEY_STATE_COUNT; s++)
			if (k->since[s] != 0)
				printf(" %s=%s", keystore_state_name((enum key_state)s),
				    keytool_time(k->since[s], 0));
		if (kt->long_format && k->dns_match != 0)
			printf(" dns-match=%s", keytool_time(k->dns_match, 0));
		if (kt->long_format && k->uri[0] != '\0')
			printf(" token=%s", k->uri);
		putchar('\n');
	}
	keystore_free(store);
	return KEYTOOL_OK;
}

/* ---- dispatch ---------------------------------------------------------------------- */

struct command {
	struct cmdline_command_rule rule;	/* name, arguments, options it takes */
	int	(*run)(struct keytool *kt);
};

static const struct command commands[] = {
	{ { "generate", 1, 1, KEYTOOL_OPT_S | KEYTOOL_OPT_A | KEYTOOL_OPT_TOKEN, 0 },
	    cmd_generate },
	{ { "dns", 1, 2, 0, 0 }, cmd_dns },
	{ { "check", 1, 2, KEYTOOL_OPT_NAMESERVER, 0 }, keytool_cmd_check },
	{ { "activate", 2, 2, KEYTOOL_OPT_FORCE | KEYTOOL_OPT_NAMESERVER, 0 },
	    keytool_cmd_activate },
	{ { "rotate", 0, 1, KEYTOOL_OPT_A | KEYTOOL_OPT_AUTO | KEYTOOL_OPT_NAMESERVER |
	    KEYTOOL_OPT_TOKEN, 0 }, keytool_cmd_rotate },
	{ { "retire", 2, 2, KEYTOOL_OPT_FORCE, 0 }, keytool_cmd_retire },
	{ { "publish", 1, 2, KEYTOOL_OPT_NAMESERVER, 0 }, keytool_cmd_publish },
	{ { "list", 0, 0, KEYTOOL_OPT_LONG, 0 }, cmd_list },
	{ { "status", 0, 1, KEYTOOL_OPT_NAMESERVER, 0 }, keytool_cmd_status },
	{ { "import-opendkim", 0, 0, KEYTOOL_OPT_IMPORT, 0 }, keytool_cmd_import },
};

static int
run(struct keytool *kt)
{
	struct cmdline_error err;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(kt->pos[0], commands[i].rule.name) != 0)
			continue;
		if (!cmdline_check(&commands[i].rule, kt->npos - 1, kt->given, options, NOPTIONS,
		    &err))
			return fail_usage(err.text, NULL);
		if ((rc = load_conf(kt)) != 0)
			return rc;
		return commands[i].run(kt);
	}
	return fail_usage("unknown command", kt->pos[0]);
}

int
main(int argc, char **argv)
{
	struct keytool kt = { .lock_fd = -1 };
	struct cmdline_error err;
	int rc;

	umask(077);
	kt.now = time(NULL);
	if (!cmdline_parse(argc, argv, options, NOPTIONS, &kt, &kt.given, kt.pos,
	    KEYTOOL_POS_MAX, &kt.npos, &err))
		return fail_usage(err.text, NULL);
	if (kt.help) {
		fputs(usage_text, stdout);
		return KEYTOOL_OK;
	}
	if (kt.npos == 0)
		return fail_usage("no command given", NULL);
	if (kt.keystore != NULL && kt.keystore[0] == '\0')
		return fail_usage("empty keystore directory", NULL);
	rc = run(&kt);
	keycheck_free(kt.checker);
	token_close(kt.token);
	conf_free(kt.conf);
	if (kt.lock_fd >= 0)
		close(kt.lock_fd);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		keytool_fail("cannot write to standard output: %s", strerror(errno));
		return KEYTOOL_FAIL;
	}
	return rc;
}
