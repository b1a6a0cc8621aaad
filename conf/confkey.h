/*
 * NAME
 *	confkey.h - what conf.c's table says of a key, and how a value is stored
 * DESCRIPTION
 *	Internal to conf/: conf.c declares every key in its table (conf_table[]) with one
 *	of these types; confvalue.c parses a value of each type and stores it in struct
 *	conf where the key's entry says, and frees it again.
 * SEE ALSO
 *	conf.c, confvalue.c, conf.h
 */
#ifndef SIGNET_CONF_CONFKEY_H
#define SIGNET_CONF_CONFKEY_H

#include <stddef.h>

#include "conf/conf.h"

enum conf_type {
	T_STRING,	/* any non-empty text */
	T_SOCKET,	/* inet:PORT@HOST, inet6:PORT@HOST, unix:PATH */
	T_MODE,		/* s, v, sv */
	T_ADDRLIST,	/* addresses and CIDR blocks */
	T_NAMESERVERS,	/* IP[@PORT], ... */
	T_NAMES,	/* header field names, comma separated */
	T_ADDRESSES,	/* mail addresses, comma separated */
	T_CANON,	/* simple|relaxed[/simple|relaxed] */
	T_LOGLEVEL,
	T_INTEGER,
	T_ON_ERROR,	/* tempfail | accept */
	T_OPTIONAL,	/* text that may be empty */
	T_BOOL,		/* yes | no */
	T_OCTAL,	/* file mode, e.g. 0660 */
	T_DURATION,	/* NUMBER[s|m|h|d|w], bare number = seconds */
	T_HOSTPORT,	/* PORT, HOST:PORT or [IPV6]:PORT; may be empty */
	T_MISMATCH,	/* nosign | reject */
	T_STORE,	/* memory | redis://HOST[:PORT][/DB] | unix:/PATH */
	T_REPORTSTORE,	/* sqlite:PATH | redis://HOST[:PORT][/DB] | unix:/PATH */
	T_ARCSEAL,	/* none | inbound | outbound | both */
	T_ARCALG,	/* rsa-sha256 | ed25519-sha256 */
	T_DOMAINS,	/* domain names, comma separated (stored lower case) */
};

struct conf_key {
	const char *name;
	enum conf_type type;
	const char *default_value;
	long	min, max;		/* T_INTEGER, T_DURATION, T_OCTAL */
	struct {
		size_t	offset;		/* into struct conf: where the value is stored */
		size_t	offset2;	/* the second field of a two-part value: the body of
					 * T_CANON, the count of T_NAMESERVERS */
	} at;
	const char *help;
};

/* Stores value into conf where key's entry says, through its type's parser; 1, or 0
 * with err filled on a bad value (the old value is kept). */
int	conf_set_value(struct conf *conf, const struct conf_key *key, const char *value,
    char *err, size_t errlen);

/* Frees what conf_set_value() allocated for key. */
void	conf_free_value(struct conf *conf, const struct conf_key *key);

#endif
