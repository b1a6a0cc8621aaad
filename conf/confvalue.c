/*
 * NAME
 *	confvalue.c - configuration values: one parser per type of key, and where each goes
 * DESCRIPTION
 *	conf_set_value() checks a value as its key's type wants (socket, duration, names,
 *	nameservers, stores...) and stores it in struct conf at the offset conf.c's table
 *	gives; no key is stored anywhere else.  Errors are written to err, for conf_load()
 *	to report with file and line.
 * SEE ALSO
 *	confkey.h, conf.c, signet.conf(5)
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include "conf/confkey.h"
#include "conf/listitem.h"
#include "lib/alloc.h"
#include "lib/domain.h"
#include "lib/grow.h"

/* Each parser returns 1, or 0 with err filled. */

/* Replaces the string in *slot with a copy of value. */
static int set_string(char **slot, const char *value, char *err, size_t errlen)
{
	char   *copy = mem_strdup(value);

	if (copy == NULL) {
		snprintf(err, errlen, "out of memory");
		return 0;
	}
	free(*slot);
	*slot = copy;
	return 1;
}

static int parse_socket(const char *value, char *err, size_t errlen)
{
	const char *rest;

	if (strncmp(value, "unix:", 5) == 0 || strncmp(value, "local:", 6) == 0) {
		rest = strchr(value, ':') + 1;
		if (*rest != '/') {
			snprintf(err, errlen, "socket path \"%s\" must be absolute", rest);
			return 0;
		}
		return 1;
	}
	if (strncmp(value, "inet:", 5) == 0 || strncmp(value, "inet6:", 6) == 0) {
		char	*end;
		long	port;

		rest = strchr(value, ':') + 1;
		errno = 0;
		port = strtol(rest, &end, 10);
		if (end == rest || errno != 0 || port < 1 || port > 65535 || (*end != '@' && *end)) {
			snprintf(err, errlen, "bad port in \"%s\" (want inet:PORT@HOST)", value);
			return 0;
		}
		if (*end == '@' && end[1] == '\0') {
			snprintf(err, errlen, "empty host in \"%s\" (want inet:PORT@HOST)", value);
			return 0;
		}
		return 1;
	}
	snprintf(err, errlen, "\"%s\" is not a socket: want inet:PORT@HOST, inet6:PORT@HOST "
	    "or unix:PATH", value);
	return 0;
}

static int parse_mode(const char *value, unsigned *mode, char *err, size_t errlen)
{
	if (strcmp(value, "s") == 0)
		*mode = CONF_MODE_SIGN;
	else if (strcmp(value, "v") == 0)
		*mode = CONF_MODE_VERIFY;
	else if (strcmp(value, "sv") == 0 || strcmp(value, "vs") == 0)
		*mode = CONF_MODE_SIGN | CONF_MODE_VERIFY;
	else {
		snprintf(err, errlen, "Mode \"%s\": want s, v or sv", value);
		return 0;
	}
	return 1;
}

static int parse_canon_word(const char *word, size_t len, enum canon_kind *out)
{
	if (len == 6 && strncasecmp(word, "simple", 6) == 0)
		*out = CANON_SIMPLE;
	else if (len == 7 && strncasecmp(word, "relaxed", 7) == 0)
		*out = CANON_RELAXED;
	else
		return 0;
	return 1;
}

/* "relaxed/simple"; one word alone sets the header and leaves the body simple
 * (RFC 6376 section 3.5, c= tag). */
static int parse_canon(const char *value, enum canon_kind *header, enum canon_kind *body,
    char *err, size_t errlen)
{
	const char *slash = strchr(value, '/');
	size_t	head_len = slash ? (size_t)(slash - value) : strlen(value);

	*body = CANON_SIMPLE;
	if (!parse_canon_word(value, head_len, header) ||
	    (slash && !parse_canon_word(slash + 1, strlen(slash + 1), body))) {
		snprintf(err, errlen, "Canonicalization \"%s\": want simple or relaxed, "
		    "e.g. relaxed/relaxed", value);
		return 0;
	}
	return 1;
}

static int parse_integer(const char *value, const struct conf_key *key, long *out,
    char *err, size_t errlen)
{
	char	*end;
	long	n;

	errno = 0;
	n = strtol(value, &end, 10);
	if (end == value || *end != '\0' || errno != 0) {
		snprintf(err, errlen, "%s \"%s\" is not a whole number", key->name, value);
		return 0;
	}
	if (n < key->min || n > key->max) {
		snprintf(err, errlen, "%s %ld is out of range %ld..%ld", key->name, n, key->min,
		    key->max);
		return 0;
	}
	*out = n;
	return 1;
}

/* NUMBER with an optional unit: s, m, h, d or w. */
static int parse_duration(const char *value, const struct conf_key *key, long *out, char *err,
    size_t errlen)
{
	static const struct {
		char	unit;
		long	seconds;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}};
	char   *end;
	long	n, scale = 1;

	errno = 0;
	n = strtol(value, &end, 10);
	if (end == value || errno != 0 || n < 0) {
		snprintf(err, errlen, "%s \"%s\": want a duration such as 90d or 12h", key->name,
		    value);
		return 0;
	}
	if (*end != '\0') {
		size_t	i;

		for (i = 0; i < sizeof(units) / sizeof(units[0]) && units[i].unit != *end; i++)
			;
		if (i == sizeof(units) / sizeof(units[0]) || end[1] != '\0') {
			snprintf(err, errlen, "%s \"%s\": unit must be s, m, h, d or w", key->name,
			    value);
			return 0;
		}
		scale = units[i].seconds;
	}
	if (n > key->max / scale || n * scale < key->min) {
		snprintf(err, errlen, "%s \"%s\" is out of range %lds..%lds", key->name, value,
		    key->min, key->max);
		return 0;
	}
	*out = n * scale;
	return 1;
}

/* PORT alone (the metrics server then binds 127.0.0.1), HOST:PORT with a numeric IPv4
 * host or a host name, or [IPv6]:PORT. */
static int parse_hostport(const char *value, char *err, size_t errlen)
{
	const char *colon = strrchr(value, ':');
	const char *digits = colon != NULL ? colon + 1 : value;
	char   *end;
	long	port;

	if (colon == NULL && strspn(value, "0123456789") != strlen(value)) {
		snprintf(err, errlen, "\"%s\": want PORT, HOST:PORT or [IPV6]:PORT, e.g. 9795 "
		    "(127.0.0.1 alone) or 192.0.2.1:9795", value);
		return 0;
	}
	if (colon == value || (value[0] == '[' && (colon == NULL || colon[-1] != ']'))) {
		snprintf(err, errlen, "\"%s\": want PORT, HOST:PORT or [IPV6]:PORT", value);
		return 0;
	}
	errno = 0;
	port = strtol(digits, &end, 10);
	if (end == digits || *end != '\0' || *digits == '-' || *digits == '+' || errno != 0 ||
	    port < 1 || port > 65535) {
		snprintf(err, errlen, "\"%s\": bad port", value);
		return 0;
	}
	return 1;
}

static int parse_log_level(const char *value, enum log_level *out, char *err, size_t errlen)
{
	for (int level = LOG_LEVEL_ERROR; level <= LOG_LEVEL_DEBUG; level++) {
		if (strcasecmp(value, log_level_name((enum log_level)level)) == 0) {
			*out = (enum log_level)level;
			return 1;
		}
	}
	snprintf(err, errlen, "LogLevel \"%s\": want error, warning, notice, info or debug", value);
	return 0;
}

static int valid_header_name(const char *name)
{
	if (*name == '\0')
		return 0;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p <= 32 || *p >= 127 || *p == ':')
			return 0;
	return 1;
}

static void name_list_free(struct name_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->names[i]);
	free(list->names);
	list->names = NULL;
	list->count = 0;
}

/* A mail address as ReportSkipRecipients lists it: local@domain, printable, no blanks. */
static int valid_address(const char *name)
{
	const char *at = strrchr(name, '@');

	if (at == NULL || at == name || at[1] == '\0')
		return 0;
	for (; *name != '\0'; name++)
		if ((unsigned char)*name <= 0x20 || (unsigned char)*name >= 0x7f)
			return 0;
	return 1;
}

static int parse_names(const char *value, struct name_list *out, int addresses, char *err,
    size_t errlen)
{
	struct name_list list = {NULL, 0};
	const char *p = value;
	size_t	cap = 0;

	char	item[256];
	int	status;

	while ((status = list_next_item(&p, item, sizeof(item))) != 0) {
		char  **grown = array_grow(list.names, &cap, list.count + 1, sizeof(*grown));
		char   *name = mem_strdup(item);

		if (grown)
			list.names = grown;
		if (grown == NULL || name == NULL) {
			free(name);
			snprintf(err, errlen, "out of memory");
			name_list_free(&list);
			return 0;
		}
		list.names[list.count++] = name;
		if (status < 0 || !(addresses ? valid_address(name) : valid_header_name(name))) {
			snprintf(err, errlen, "\"%s\" is not %s", name,
			    addresses ? "a mail address (local@domain)" : "a header field name");
			name_list_free(&list);
			return 0;
		}
	}
	name_list_free(out);
	*out = list;
	return 1;
}

static int parse_nameservers(const char *value, struct nameserver **slot, size_t *slot_count,
    char *err, size_t errlen)
{
	struct nameserver *list = NULL;
	size_t	count = 0, cap = 0;
	const char *p = value;

	char	entry[96];
	int	status;

	while ((status = list_next_item(&p, entry, sizeof(entry))) != 0) {
		if (status < 0) {
			snprintf(err, errlen, "nameserver \"%.40s...\" is too long", entry);
			goto fail;
		}
		struct nameserver ns = {.port = 53};
		char   *at = strchr(entry, '@');
		unsigned char probe[16];

		if (at) {
			char   *end;
			long	port;

			*at = '\0';
			errno = 0;
			port = strtol(at + 1, &end, 10);
			if (end == at + 1 || *end || errno || port < 1 || port > 65535) {
				snprintf(err, errlen, "nameserver \"%s@%s\": bad port", entry, at + 1);
				goto fail;
			}
			ns.port = (unsigned)port;
		}
		if (inet_pton(AF_INET, entry, probe) != 1 && inet_pton(AF_INET6, entry, probe) != 1) {
			snprintf(err, errlen, "nameserver \"%s\" is not an IP address", entry);
			goto fail;
		}
		memcpy(ns.address, entry, strlen(entry) + 1);	/* fits: it parsed as an address */
		struct nameserver *grown = array_grow(list, &cap, count + 1, sizeof(*grown));
		if (grown == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		list = grown;
		list[count++] = ns;
	}
	free(*slot);
	*slot = list;
	*slot_count = count;
	return 1;
fail:
	free(list);
	return 0;
}

static int parse_bool(const char *value, const struct conf_key *key, int *out, char *err,
    size_t errlen)
{
	if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "true") == 0)
		*out = 1;
	else if (strcasecmp(value, "no") == 0 || strcasecmp(value, "false") == 0)
		*out = 0;
	else {
		snprintf(err, errlen, "%s \"%s\": want yes or no", key->name, value);
		return 0;
	}
	return 1;
}

static int parse_octal(const char *value, const struct conf_key *key, long *out, char *err,
    size_t errlen)
{
	char   *end;
	long	mode;

	errno = 0;
	mode = strtol(value, &end, 8);
	if (end == value || *end != '\0' || errno != 0 || mode < key->min || mode > key->max) {
		snprintf(err, errlen, "%s \"%s\": want an octal mode such as 0660", key->name,
		    value);
		return 0;
	}
	*out = mode;
	return 1;
}

static int parse_on_error(const char *value, const struct conf_key *key,
    enum internal_error_action *out, char *err, size_t errlen)
{
	if (strcasecmp(value, "tempfail") == 0)
		*out = ON_ERROR_TEMPFAIL;
	else if (strcasecmp(value, "accept") == 0)
		*out = ON_ERROR_ACCEPT;
	else {
		snprintf(err, errlen, "%s \"%s\": want tempfail or accept", key->name, value);
		return 0;
	}
	return 1;
}

static int parse_mismatch(const char *value, enum sender_mismatch *out, char *err,
    size_t errlen)
{
	if (strcasecmp(value, "nosign") == 0)
		*out = MISMATCH_NOSIGN;
	else if (strcasecmp(value, "reject") == 0)
		*out = MISMATCH_REJECT;
	else {
		snprintf(err, errlen, "SenderMismatch \"%s\": want nosign or reject", value);
		return 0;
	}
	return 1;
}

/* The form only: the Redis URL itself is parsed where the store is made (runtime.c), and
 * "signet -n" builds that too. */
static int parse_store(const char *value, char *err, size_t errlen)
{
	if (strcasecmp(value, "memory") == 0 || strncmp(value, "redis://", 8) == 0 ||
	    strncmp(value, "unix:/", 6) == 0)
		return 1;
	snprintf(err, errlen, "RateLimitStore \"%s\": want memory, redis://HOST:PORT/DB or "
	    "unix:/PATH", value);
	return 0;
}

/* The form only, as for RateLimitStore: reportstore.c parses the rest when it opens. */
static int parse_report_store(const char *value, char *err, size_t errlen)
{
	if ((strncmp(value, "sqlite:", 7) == 0 && value[7] != '\0') ||
	    strncmp(value, "redis://", 8) == 0 || strncmp(value, "unix:/", 6) == 0)
		return 1;
	snprintf(err, errlen, "ReportStore \"%s\": want sqlite:PATH, redis://HOST:PORT/DB or "
	    "unix:/PATH", value);
	return 0;
}

/* The index of value among names (any case), or -1. */
static int choice_index(const char *value, const char *const *names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (strcasecmp(value, names[i]) == 0)
			return (int)i;
	return -1;
}

static int parse_arc_seal(const char *value, enum arc_seal_mode *out, char *err, size_t errlen)
{
	static const char *const names[] = {"none", "inbound", "outbound", "both"};
	int	i = choice_index(value, names, sizeof(names) / sizeof(names[0]));

	if (i < 0) {
		snprintf(err, errlen, "ARCSeal \"%s\": want none, inbound, outbound or both",
		    value);
		return 0;
	}
	*out = (enum arc_seal_mode)i;
	return 1;
}

static int parse_arc_algorithm(const char *value, enum arc_seal_algorithm *out, char *err,
    size_t errlen)
{
	static const char *const names[] = {"rsa-sha256", "ed25519-sha256"};
	int	i = choice_index(value, names, sizeof(names) / sizeof(names[0]));

	if (i < 0) {
		snprintf(err, errlen, "ARCSealAlgorithm \"%s\": want rsa-sha256 or "
		    "ed25519-sha256", value);
		return 0;
	}
	*out = (enum arc_seal_algorithm)i;
	return 1;
}

/* Domain names, each checked and kept lower case. */
static int parse_domains(const char *value, struct name_list *out, char *err, size_t errlen)
{
	if (!parse_names(value, out, 0, err, errlen))
		return 0;
	for (size_t i = 0; i < out->count; i++) {
		char   *name = out->names[i];

		if (domain_check(name, strlen(name), DOMAIN_FINAL_DOT, name, strlen(name) + 1) == 0) {
			snprintf(err, errlen, "\"%s\" is not a domain name", name);
			name_list_free(out);
			return 0;
		}
	}
	return 1;
}

static int parse_addrlist(const char *value, struct addrlist **slot, char *err, size_t errlen)
{
	struct addrlist *list = addrlist_parse(value, err, errlen);

	if (list == NULL)
		return 0;
	addrlist_free(*slot);
	*slot = list;
	return 1;
}

/* No key is stored anywhere else: a new key is a line in conf.c's table. */
int	conf_set_value(struct conf *conf, const struct conf_key *key, const char *value,
    char *err, size_t errlen)
{
	void   *slot = (char *)conf + key->at.offset;
	void   *slot2 = (char *)conf + key->at.offset2;

	switch (key->type) {
	case T_STRING:
		if (*value == '\0') {
			snprintf(err, errlen, "%s needs a value", key->name);
			return 0;
		}
		return set_string(slot, value, err, errlen);
	case T_OPTIONAL:
		return set_string(slot, value, err, errlen);
	case T_SOCKET:
		return parse_socket(value, err, errlen) && set_string(slot, value, err, errlen);
	case T_HOSTPORT:
		return (*value == '\0' || parse_hostport(value, err, errlen)) &&
		    set_string(slot, value, err, errlen);
	case T_MODE:
		return parse_mode(value, slot, err, errlen);
	case T_ADDRLIST:
		return parse_addrlist(value, slot, err, errlen);
	case T_NAMESERVERS:
		return parse_nameservers(value, slot, slot2, err, errlen);
	case T_NAMES:
	case T_ADDRESSES:
		return parse_names(value, slot, key->type == T_ADDRESSES, err, errlen);
	case T_CANON:
		return parse_canon(value, slot, slot2, err, errlen);
	case T_LOGLEVEL:
		return parse_log_level(value, slot, err, errlen);
	case T_INTEGER:
		return parse_integer(value, key, slot, err, errlen);
	case T_BOOL:
		return parse_bool(value, key, slot, err, errlen);
	case T_OCTAL:
		return parse_octal(value, key, slot, err, errlen);
	case T_DURATION:
		return parse_duration(value, key, slot, err, errlen);
	case T_ON_ERROR:
		return parse_on_error(value, key, slot, err, errlen);
	case T_MISMATCH:
		return parse_mismatch(value, slot, err, errlen);
	case T_STORE:
		return parse_store(value, err, errlen) && set_string(slot, value, err, errlen);
	case T_REPORTSTORE:
		return parse_report_store(value, err, errlen) &&
		    set_string(slot, value, err, errlen);
	case T_ARCSEAL:
		return parse_arc_seal(value, slot, err, errlen);
	case T_ARCALG:
		return parse_arc_algorithm(value, slot, err, errlen);
	case T_DOMAINS:
		return parse_domains(value, slot, err, errlen);
	}
	snprintf(err, errlen, "internal error: key %s has no parser", key->name);
	return 0;
}

/* Frees what conf_set_value() allocated for key. */
void	conf_free_value(struct conf *conf, const struct conf_key *key)
{
	void   *slot = (char *)conf + key->at.offset;

	switch (key->type) {
	case T_STRING:
	case T_OPTIONAL:
	case T_SOCKET:
	case T_HOSTPORT:
	case T_STORE:
	case T_REPORTSTORE:
		free(*(char **)slot);
		break;
	case T_ADDRLIST:
		addrlist_free(*(struct addrlist **)slot);
		break;
	case T_NAMESERVERS:
		free(*(struct nameserver **)slot);
		break;
	case T_NAMES:
	case T_ADDRESSES:
	case T_DOMAINS:
		name_list_free(slot);
		break;
	case T_MODE:
	case T_CANON:
	case T_LOGLEVEL:
	case T_INTEGER:
	case T_BOOL:
	case T_OCTAL:
	case T_DURATION:
	case T_ON_ERROR:
	case T_MISMATCH:
	case T_ARCSEAL:
	case T_ARCALG:
		break;
	}
}
