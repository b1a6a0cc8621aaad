/*
 * NAME
 *	spfeval.h - check_host() by libspf2, over Signet's resolver, with RFC 7208 limits
 * SYNOPSIS
 *	#include "milter/spfeval.h"
 *
 *	struct spfeval_client client = { .family = AF_INET, .v4 = addr };
 *	enum spfcheck_result result;
 *	char why[200];
 *
 *	if (!spfeval_run(dns, budget, &client, helo, "postmaster@example.com", &result,
 *	    why, sizeof(why)))
 *		... out of memory
 * DESCRIPTION
 *	spfeval_run() evaluates the SPF record of the domain of sender (the part after its
 *	last "@") for client, as RFC 7208 section 4 says, with libspf2; helo (NULL or ""
 *	when there is none) is for the "h" macro.  The caller has already decided that
 *	the identity and its domain can be checked.  All DNS goes through dns, charged to
 *	budget (NULL: no limit), and every record is checked by spfrecord_check() before
 *	libspf2 sees it.  Section 4.6.4's limits are enforced across include and redirect:
 *	an eleventh DNS-querying term, a third void lookup or an MX answer of more than 10
 *	names gives permerror; PTR answers are cut to 10 names.  A failed lookup gives
 *	temperror.
 *
 *	why gets a short reason when there is one to give (limits, DNS failures, no or
 *	several or invalid records), else "".  It is not yet cleaned for a header.
 *
 *	This header includes none of libspf2's: only spfeval.c knows that library.
 *	Thread-safe: each call builds and frees its own libspf2 server and request.
 * DIAGNOSTICS
 *	Return 1 when result and why are set, 0 only when memory ran out.
 * SEE ALSO
 *	spfeval.c, spfcheck.h, spfrecord.h, dns.h
 */
#ifndef SIGNET_SPFEVAL_H
#define SIGNET_SPFEVAL_H

#include <sys/types.h>
#include <netinet/in.h>
#include <stddef.h>

#include "lib/dns.h"
#include "milter/spfcheck.h"

struct spfeval_client {
	int	family;		/* AF_INET uses v4, AF_INET6 uses v6 */
	struct in_addr v4;
	struct in6_addr v6;
};

int	spfeval_run(struct dns_resolver *dns, struct dns_budget *budget,
	    const struct spfeval_client *client, const char *helo, const char *sender,
	    enum spfcheck_result *result, char *why, size_t whylen);

#endif
