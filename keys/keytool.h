/*
 * NAME
 *	keytool.h - what the commands of signet-keys(8) share: the parsed command line,
 *	the configuration, the lock, DNS checks and the daemon reload
 * SYNOPSIS
 *	#include "keys/keytool.h"
 * DESCRIPTION
 *	signet-keys.c parses the command line into a struct keytool, loads the configuration
 *	and calls one keytool_cmd_*() function; each command lives in a keytool-*.c file.
 *	The helpers here print their own errors ("signet-keys: ..." on stderr), so a
 *	command returns the exit status they give it.
 *
 *	Exit statuses: KEYTOOL_OK (0), KEYTOOL_FAIL (1), KEYTOOL_USAGE (2), and
 *	KEYTOOL_LATER (3): nothing is wrong yet, but DNS could not confirm it now (a failed
 *	lookup, or a record still propagating); run again later.
 * DIAGNOSTICS
 *	"signet-keys: message" on stderr, naming the file or DNS name at fault.
 */
#ifndef SIGNET_KEYTOOL_H
#define SIGNET_KEYTOOL_H

#include <stddef.h>
#include <time.h>

#include "conf/conf.h"
#include "keys/keycheck.h"
#include "keys/keystore.h"

#define KEYTOOL_OK	0
#define KEYTOOL_FAIL	1
#define KEYTOOL_USAGE	2
#define KEYTOOL_LATER	3

#define KEYTOOL_POS_MAX	3	/* the command and at most two arguments */

struct keytool {
	/* command line */
	const char *keystore;		/* -k, else the configuration's Keystore */
	const char *conf_path;		/* -c, else SYSCONF_DIR/signet.conf */
	const char *pos[KEYTOOL_POS_MAX];
	size_t	npos;
	const char *selector;		/* -s */
	const char *algorithm;		/* -a */
	const char *nameserver;		/* --nameserver */
	const char *key_table;		/* --key-table */
	const char *signing_table;	/* --signing-table */
	const char *opendkim_conf;	/* --conf */
	int	force, automatic, long_format, help;
	int	on_token;		/* --token */
	unsigned given;			/* KEYTOOL_OPT_* bits seen */

	/* set up by main() and the helpers */
	struct conf *conf;		/* never NULL once loaded: defaults at least */
	time_t	now;
	int	lock_fd;		/* -1 until keytool_lock() */
	struct keycheck *checker;	/* made on first use */
	struct token *token;		/* opened on first use (keytool_token) */
};

#define KEYTOOL_OPT_S		0x001
#define KEYTOOL_OPT_A		0x002
#define KEYTOOL_OPT_FORCE	0x004
#define KEYTOOL_OPT_NAMESERVER	0x008
#define KEYTOOL_OPT_AUTO	0x010
#define KEYTOOL_OPT_LONG	0x020
#define KEYTOOL_OPT_IMPORT	0x040	/* --key-table, --signing-table, --conf */
#define KEYTOOL_OPT_TOKEN	0x080
#define KEYTOOL_OPT_LAST	KEYTOOL_OPT_TOKEN

int	keytool_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	keytool_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Normalises a domain argument into norm[KEYSTORE_DOMAIN_MAX + 1]; reports if invalid. */
int	keytool_domain(const char *arg, char *norm);

/* Takes the keystore lock for a command that writes (waiting, with a note, when another
 * signet-keys holds it); KEYTOOL_OK or KEYTOOL_FAIL. */
int	keytool_lock(struct keytool *kt);

/* For check: the lock when it can be had (1), else 0 after a note, e.g. for a user
 * who may read the keystore but not write it. */
int	keytool_lock_optional(struct keytool *kt);

/* Loads the keystore (no private keys); NULL after reporting. */
struct keystore *keytool_load(struct keytool *kt);

/* The record "v=DKIM1; k=...; p=..." of a key, read from its private key; the caller
 * frees it.  NULL after reporting. */
char	*keytool_record(struct keytool *kt, const char *domain, const char *selector,
	    enum key_algorithm algorithm);

/* The PKCS#11 token of the configuration, opened on first use; NULL after reporting. */
struct token *keytool_token(struct keytool *kt);

/* Makes a new pending key, in a file or (on_token) on the token, and records it. */
int	keytool_make_key(struct keytool *kt, const char *domain, const char *selector,
	    enum key_algorithm algorithm, int on_token);

/* Checks that the private key of a key can be had (its file, or its object on the
 * token), as the daemon will need it; KEYTOOL_OK or KEYTOOL_FAIL after reporting. */
int	keytool_check_private(struct keytool *kt, const struct keystore_key *key);

/* The DNS checker: --nameserver, else Nameservers, else /etc/resolv.conf; made on
 * first use.  NULL after reporting. */
struct keycheck *keytool_checker(struct keytool *kt);

/* Checks a key's record in DNS with the propagation rule; when record is set (the lock
 * is held), the first match is written to the key's .meta as dns-match, and a record
 * seen wrong or missing clears it.  KEYTOOL_FAIL only when the check could not run. */
int	keytool_check_key(struct keytool *kt, const struct keystore_key *key, int record,
	    struct keycheck_result *out);

/* Exit status for a verdict: KEYTOOL_OK, KEYTOOL_LATER or KEYTOOL_FAIL. */
int	keytool_verdict_status(enum dkimrecord_verdict verdict);

/* Tells the daemon to reload (SIGHUP to the signet process named by PidFile), or says
 * why it cannot; never an error. */
void	keytool_reload(struct keytool *kt);

/* "2026-11-27T07:21:00Z", or "-" for 0, in a static buffer of its own per slot 0..3. */
const char *keytool_time(time_t t, int slot);

/* The keys of one domain in a loaded keystore: first index and count. */
size_t	keytool_domain_keys(const struct keystore *store, const char *domain, size_t *first);

/* RSA keys and Ed25519 keys are separate families: a domain may sign with one of each. */
int	keytool_same_family(enum key_algorithm a, enum key_algorithm b);

/* The commands. */
int	keytool_cmd_check(struct keytool *kt);
int	keytool_cmd_status(struct keytool *kt);
int	keytool_cmd_activate(struct keytool *kt);
int	keytool_cmd_retire(struct keytool *kt);
int	keytool_cmd_rotate(struct keytool *kt);
int	keytool_cmd_publish(struct keytool *kt);
int	keytool_cmd_import(struct keytool *kt);

/* For rotate --auto: activate (moving the family's other active keys to retiring),
 * without any DNS check; the lock must be held.  Prints what it did. */
int	keytool_activate_key(struct keytool *kt, const char *domain, const char *selector);
/* Publishes one key with RFC 2136 to UpdateServer; KEYTOOL_OK or KEYTOOL_FAIL. */
int	keytool_publish_key(struct keytool *kt, const char *domain, const char *selector,
	    enum key_algorithm algorithm);

#endif
