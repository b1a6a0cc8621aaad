/*
 * NAME
 *	reportdest.h - where a DMARC record asks reports to go (rua=, ruf=), and whether an
 *	external destination agreed to receive them (RFC 9990 section 4)
 * SYNOPSIS
 *	#include "lib/reportdest.h"
 *
 *	struct reportdest dest[REPORTDEST_MAX];
 *	size_t	n = reportdest_parse(policy.rua, dest, REPORTDEST_MAX);
 *
 *	for (i = 0; i < n; i++) {
 *		if (!dest[i].usable)
 *			... log dest[i].uri and dest[i].reason: never sent ...
 *		switch (reportdest_authorize(&dns, policy.domain, &dest[i])) ...
 *	}
 * DESCRIPTION
 *	reportdest_parse() splits a rua= or ruf= value as published (dmarcrecord.h) at its
 *	commas, trims blanks around each URI and fills one struct per URI, in the order
 *	given, at most max of them (the receiver's limit on supported URIs, RFC 9990
 *	section 3.4; the rest are not looked at).  Empty items (",,") are skipped.  Each
 *	entry is usable or not, with the reason when not:
 *	    - only "mailto:" (RFC 6068, scheme case-insensitive) is supported; another
 *	      scheme is kept with the reason "unsupported URI scheme";
 *	    - the optional size suffix "!" 1*DIGIT [k|m|g|t] becomes max_size in bytes
 *	      (powers of 1024; a value that does not fit is the largest one); 0 is no limit;
 *	    - the rest of the URI is percent-decoded and must be exactly one addr-spec
 *	      whose local part is a dot-atom (RFC 5322 section 3.4.1, at most 64 octets)
 *	      and whose domain is a host name (letters, digits, hyphens; lower-cased into
 *	      host).  A query ("?subject=", "?cc=", "?body="), a second address, a quoted
 *	      local part, a domain literal, a control character or a blank makes the
 *	      destination unusable: a record is hostile input and must not add header
 *	      fields or recipients to report mail.
 *	uri is the URI as published (trimmed, printable ASCII, shortened if very long):
 *	the key under which signet-reports keeps the delivery state, and what logs show.
 *	address is the decoded addr-spec, safe on an SMTP RCPT line and as one sendmail
 *	argument (no blank, no "<>", no control character).
 *
 *	reportdest_authorize() runs the check of RFC 9990 section 4 for one usable
 *	destination of the record found at policy_domain (the DMARC Policy Domain, an
 *	A-label name):
 *	    - when the Organizational Domains (dmarc_org_domain(), the DNS Tree Walk or the
 *	      PSL as dns says) of policy_domain and of the destination host are the same,
 *	      the destination is internal: AUTHORIZED, no further query;
 *	    - else TXT <policy_domain>._report._dmarc.<host> is asked.  A name over DNS's
 *	      limits cannot be asked: REFUSED.  A temporary failure (timeout, SERVFAIL, the
 *	      budget) is TEMPFAIL, for the caller to try again later; any other failure, no
 *	      record, or no record that begins with v=DMARC1 (the dmarcrecord.h rule) is
 *	      REFUSED.  A wildcard "*._report._dmarc.<host>" answers through DNS itself;
 *	    - the first confirming record that has a rua= overrides the destination (step
 *	      9): every URI of that rua whose host can be read must name the same
 *	      destination host, or neither the original nor the override gets a report
 *	      (REFUSED); the first usable mailto: URI of it replaces address and max_size
 *	      (uri stays as published in the policy record, so the delivery state keeps
 *	      its key); overridden says so.  A rua with no usable mailto: URI on the same
 *	      host leaves the destination as it was.
 *	The reason (printable ASCII) says what was decided, for the log and the store.
 *	Both ends of the external check are lower-cased A-labels; policy_domain is checked
 *	as a domain name (underscores allowed: it came from a _dmarc lookup).
 * DIAGNOSTICS
 *	reportdest_parse() returns the number of entries filled.  reportdest_authorize()
 *	returns AUTHORIZED, REFUSED or TEMPFAIL and fills dest->reason; an unusable
 *	destination or bad arguments give REFUSED.  Nothing is logged here.
 * SEE ALSO
 *	dmarc.h, dmarcrecord.h, RFC 9990 sections 3.4 and 4, RFC 9991, RFC 6068
 */
#ifndef SIGNET_REPORTDEST_H
#define SIGNET_REPORTDEST_H

#include <stddef.h>

#include "lib/dmarc.h"

#define REPORTDEST_MAX		8	/* URIs looked at per rua= or ruf= */
#define REPORTDEST_URI_MAX	256	/* a URI as published, shortened to fit, with NUL */
#define REPORTDEST_LOCAL_MAX	64	/* RFC 5321 section 4.5.3.1.1 */
#define REPORTDEST_ADDRESS_MAX	(REPORTDEST_LOCAL_MAX + 1 + DMARC_DOMAIN_MAX)

struct reportdest {
	char	uri[REPORTDEST_URI_MAX];	/* as published, printable */
	int	usable;				/* a mailto: with one plain address */
	char	address[REPORTDEST_ADDRESS_MAX];	/* local@host, decoded */
	char	host[DMARC_DOMAIN_MAX];		/* lower case */
	unsigned long long max_size;		/* bytes; 0: no limit */
	int	overridden;			/* address and max_size from the
						 * destination's own record (step 9) */
	char	reason[200];			/* printable ASCII */
};

enum reportdest_auth {
	REPORTDEST_AUTHORIZED,
	REPORTDEST_REFUSED,
	REPORTDEST_TEMPFAIL,
};

size_t	reportdest_parse(const char *uris, struct reportdest *out, size_t max);

enum reportdest_auth reportdest_authorize(const struct dmarc_dns *dns,
	    const char *policy_domain, struct reportdest *dest);

const char *reportdest_auth_name(enum reportdest_auth auth);

#endif
