/*
 * NAME
 *	spfdns.h - libspf2's DNS, answered by Signet's resolver, with RFC 7208 limits
 * SYNOPSIS
 *	#include "milter/spfdns.h"
 *
 *	struct spfdns *layer = spfdns_new(dns, budget);
 *	SPF_server_t *server = SPF_server_new_dns(spfdns_server(layer), 0);
 *	... evaluate ...
 *	if (spfdns_forced(layer, &result)) ... the layer decided the result
 *	spfdns_reason(layer)
 *	SPF_server_free(server); spfdns_free(layer);
 * DESCRIPTION
 *	One layer per check (it counts that check's lookups).  Its SPF_dns_server_t gives
 *	libspf2 every answer from dns_query(), so libspf2 never uses a resolver of its own.
 *	It also fetches SPF records itself (libspf2's get_spf hook): TXT only, selected per
 *	RFC 7208 section 4.5 and checked by spfrecord_check() before libspf2 compiles them.
 *	Explanations are not fetched.  libspf2 compiles spfrecord_rewrite()'s form of the
 *	record; a name ending in SPFRECORD_ANY_ADDRESS is looked up without that suffix
 *	and, when it has any address, answered with the client's own (a CIDR length of 0).
 *
 *	Section 4.6.4 is enforced here, across include and redirect: an eleventh
 *	DNS-querying term, a third void lookup or an MX answer of more than 10 names forces
 *	permerror; PTR answers are cut to 10 names.  A failed lookup forces temperror.
 *	Once a result is forced, every later lookup answers TRY_AGAIN so that libspf2
 *	stops at once; the caller then takes the forced result instead of libspf2's.
 * SEE ALSO
 *	spfcheck.h, spfrecord.h, dns.h, spf2/spf_dns.h
 */
#ifndef SIGNET_SPFDNS_H
#define SIGNET_SPFDNS_H

#include <sys/types.h>
#include <netinet/in.h>
#include <spf2/spf.h>

#include "lib/dns.h"
#include "milter/spfcheck.h"

struct spfdns;

/* client: the address being checked (AF_INET uses v4, AF_INET6 uses v6). */
struct spfdns *spfdns_new(struct dns_resolver *dns, struct dns_budget *budget, int family,
	    const struct in_addr *v4, const struct in6_addr *v6);
SPF_dns_server_t *spfdns_server(struct spfdns *layer);
int	spfdns_forced(const struct spfdns *layer, enum spfcheck_result *result);
const char *spfdns_reason(const struct spfdns *layer);	/* "" when nothing to say */
void	spfdns_free(struct spfdns *layer);

#endif
