/*
 * NAME
 *	msgheaders.h - a message's header fields as the MTA handed them over, and its From
 * SYNOPSIS
 *	#include "milter/msgheaders.h"
 * DESCRIPTION
 *	msgheaders_add() keeps each field's name and value (the value exactly as received:
 *	leading blank included when SMFIP_HDR_LEADSPC was negotiated, folds as LF or CRLF).
 *	Fields are counted in arrival order, which is the index space the MTA uses for
 *	header changes.  msgheaders_from_domain() finds the one author domain of the message.
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
};

/* On FROM_OK writes the lower-cased domain, without a trailing dot, into domain. */
enum from_status msgheaders_from_domain(const struct msgheaders *h, char *domain, size_t size);
const char *from_status_text(enum from_status status);

/* The same, also counting the mailboxes that have a domain (DMARC wants exactly one). */
enum from_status msgheaders_from(const struct msgheaders *h, char *domain, size_t size,
	    size_t *mailboxes);

/* The domain of an RFC 5322 address-list value; exported for the unit tests. */
enum from_status from_value_domain(const char *value, char *domain, size_t size);
enum from_status from_value_parse(const char *value, char *domain, size_t size,
	    size_t *mailboxes);

#endif
