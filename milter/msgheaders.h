/*
 * NAME
 *	msgheaders.h - a message's header fields as the MTA handed them over, and its From
 * SYNOPSIS
 *	#include "milter/msgheaders.h"
 * DESCRIPTION
 *	msgheaders_add() keeps each field's name and value (the value exactly as received:
 *	leading blank included when SMFIP_HDR_LEADSPC was negotiated, folds as LF or CRLF).
 *	Fields are counted in arrival order, which is the index space the MTA uses for
 *	header changes.  msgheaders_from_domain() finds the one author domain of the message
 *	(for signing); msgheaders_from_domains() its distinct author domains, at most
 *	FROM_DOMAINS_MAX (for DMARC, which evaluates each).
 */
#ifndef SIGNET_MSGHEADERS_H
#define SIGNET_MSGHEADERS_H

#include <stddef.h>

struct msgheader {
	char   *name;
	char   *value;
};

struct msgheaders {
	struct msgheader *fields;
	size_t	count;
	size_t	cap;
	size_t	total_bytes;
};

#define MSGHEADERS_MAX_FIELDS	1000		/* a message with more is not signed */
#define MSGHEADERS_MAX_BYTES	(1024 * 1024)

enum msgheaders_status {
	MSGHEADERS_OK,
	MSGHEADERS_NOMEM,
	MSGHEADERS_TOO_MANY,	/* over the limits above; the field was not kept */
};

enum msgheaders_status msgheaders_add(struct msgheaders *h, const char *name, const char *value);
void	msgheaders_clear(struct msgheaders *h);
size_t	msgheaders_count_named(const struct msgheaders *h, const char *name);

enum from_status {
	FROM_OK,
	FROM_MISSING,		/* no From field */
	FROM_SEVERAL,		/* more than one From field */
	FROM_NO_DOMAIN,		/* no mailbox with a usable domain */
	FROM_MIXED_DOMAINS,	/* several mailboxes in different domains */
	FROM_TOO_MANY_DOMAINS,	/* more than FROM_DOMAINS_MAX distinct domains */
	FROM_NOMEM,		/* out of memory: nothing is known of From */
};

#define FROM_DOMAINS_MAX	8	/* distinct author domains kept (and evaluated) */
#define FROM_DOMAIN_SIZE	256	/* a domain in A-label form and its NUL */

/* The distinct domains of the mailboxes of From, lower case, A-labels, in order of first
 * appearance; the ones past FROM_DOMAINS_MAX are not kept, only noted in over. */
struct from_domains {
	char	domain[FROM_DOMAINS_MAX][FROM_DOMAIN_SIZE];
	size_t	count;
	size_t	mailboxes;		/* mailboxes with a usable domain */
	int	over;			/* a domain past FROM_DOMAINS_MAX was seen */
};

/* On FROM_OK writes the lower-cased domain, without a trailing dot, into domain. */
enum from_status msgheaders_from_domain(const struct msgheaders *h, char *domain, size_t size);
const char *from_status_text(enum from_status status);

/* FROM_OK with at least one domain in *out; FROM_TOO_MANY_DOMAINS with the first
 * FROM_DOMAINS_MAX; FROM_MISSING, FROM_SEVERAL, FROM_NO_DOMAIN or FROM_NOMEM with none. */
enum from_status msgheaders_from_domains(const struct msgheaders *h, struct from_domains *out);

/* The addr-spec (LOCAL@DOMAIN, comments removed, a quoted local part written as '"') of
 * each mailbox of the one From field, joined by ", " into out, their number in *count:
 * for SenderMap.  FROM_NO_DOMAIN when a mailbox has no '@', there is none, or out is too
 * small (out then holds those that fit). */
enum from_status msgheaders_from_addresses(const struct msgheaders *h, char *out, size_t size,
	    size_t *count);

/* The same on an RFC 5322 address-list value; exported for the unit tests.
 * from_value_parse() wants one domain: several are FROM_MIXED_DOMAINS. */
enum from_status from_value_domain(const char *value, char *domain, size_t size);
enum from_status from_value_parse(const char *value, char *domain, size_t size,
	    size_t *mailboxes);
enum from_status from_value_domains(const char *value, struct from_domains *out);

#endif
