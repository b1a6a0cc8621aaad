/*
 * NAME
 *	opendkim.h - read an OpenDKIM KeyTable, SigningTable and opendkim.conf, for
 *	"signet-keys import-opendkim"
 * SYNOPSIS
 *	#include "keys/opendkim.h"
 * DESCRIPTION
 *	The KeyTable maps a key name to "DOMAIN:SELECTOR:KEYFILE" (DOMAIN "%" means the
 *	domain the SigningTable matched); the SigningTable maps a pattern to a key name,
 *	plain ("example.com", "user@example.com") or, with "refile:", glob patterns
 *	("*@example.com").  opendkim.conf names both tables (plain path, "file:" or
 *	"refile:"), or a single key with Domain, Selector and KeyFile.
 *
 *	odkim_plan() turns the tables into the list of (domain, selector, key file) to
 *	import, and the entries it cannot import with the reason.  Signet signs per author
 *	domain with one key per family, so patterns that name one address or many domains
 *	are reported, not guessed at.
 * DIAGNOSTICS
 *	Reading functions return -1 with err naming the file and line.
 */
#ifndef SIGNET_OPENDKIM_H
#define SIGNET_OPENDKIM_H

#include <limits.h>
#include <stddef.h>

#include "keys/keystore.h"

#define ODKIM_NAME_MAX	255

struct odkim_key {		/* one KeyTable line */
	char	name[ODKIM_NAME_MAX + 1];
	char	domain[KEYSTORE_DOMAIN_MAX + 1];	/* or "%" */
	char	selector[KEYSTORE_SELECTOR_MAX + 1];
	char	path[PATH_MAX];
	unsigned line;
};

struct odkim_sign {		/* one SigningTable line */
	char	pattern[ODKIM_NAME_MAX + 1];
	char	keyname[ODKIM_NAME_MAX + 1];
	unsigned line;
};

struct odkim_config {		/* what opendkim.conf says */
	char	key_table[PATH_MAX];		/* "" when absent */
	char	signing_table[PATH_MAX];
	int	signing_refile;
	char	domain[1024];			/* single-key mode: Domain, Selector, KeyFile */
	char	selector[KEYSTORE_SELECTOR_MAX + 1];
	char	key_file[PATH_MAX];
};

struct odkim_item {		/* one thing to import, or one entry skipped */
	char	domain[KEYSTORE_DOMAIN_MAX + 1];
	char	selector[KEYSTORE_SELECTOR_MAX + 1];
	char	path[PATH_MAX];
	char	where[PATH_MAX + 64];		/* "FILE:LINE" of the entry */
	char	why[1280];			/* skipped: the reason; "" to import */
};

struct odkim_plan {
	struct odkim_item *items;
	size_t	count;
};

int	odkim_read_config(const char *path, struct odkim_config *out, char *err, size_t errlen);

/* Strips "file:" or "refile:" from a table name into path[size]; *refile set for
 * "refile:".  -1 for other data set types (db:, ldap:, csl: ...). */
int	odkim_table_path(const char *value, char *path, size_t size, int *refile);

int	odkim_read_keytable(const char *path, struct odkim_key **out, size_t *count, char *err,
	    size_t errlen);
int	odkim_read_signingtable(const char *path, struct odkim_sign **out, size_t *count,
	    char *err, size_t errlen);

/* The domain a SigningTable pattern stands for, into out[size]; 0 when it is one whole
 * domain, else -1 with why[] saying what it is instead. */
int	odkim_pattern_domain(const char *pattern, int refile, char *out, size_t size,
	    char *why, size_t whylen);

/* Builds the plan from the tables; sign_path is for messages.  -1 only when out of
 * memory, and then *out holds nothing (odkim_plan_single() too). */
int	odkim_plan(const struct odkim_key *keys, size_t nkeys, const struct odkim_sign *signs,
	    size_t nsigns, int refile, const char *key_path, const char *sign_path,
	    struct odkim_plan *out);
/* The plan of opendkim.conf's single-key mode (Domain, Selector, KeyFile). */
int	odkim_plan_single(const struct odkim_config *conf, const char *conf_path,
	    struct odkim_plan *out);
void	odkim_plan_free(struct odkim_plan *plan);

#endif
