/*
 * NAME
 *	arctrust.h - trusted ARC sealers: may one vouch for a message that fails DMARC?
 * SYNOPSIS
 *	#include "milter/arctrust.h"
 *
 *	unsigned i = arctrust_vouch(&conf->arc_trusted_sealers, sets, n, "example.org",
 *	    why, sizeof(why));
 *	arctrust_report_comment(sets, n, comment, sizeof(comment));
 * DESCRIPTION
 *	RFC 8617 section 7.2 lets a receiver whose DMARC check fails look at the
 *	ARC-Authentication-Results of the sealers it trusts.  arctrust_vouch() is called only
 *	for a chain that passed validation; it looks at the sets from the newest down and
 *	returns the instance of the first one that was sealed (AS d=) by a domain of
 *	ARCTrustedSealers and whose AAR shows, for the Author Domain, one of:
 *	    dmarc=pass with header.from the Author Domain;
 *	    dkim=pass with header.d the Author Domain (or header.i @ it);
 *	    spf=pass with smtp.mailfrom (or the draft-era smtp.mfrom) @ the Author Domain.
 *	Domains compare whole, ASCII case aside: strict alignment, since a relaxed one would
 *	need the sealer's view of organizational domains.  0 when none vouches; why then
 *	names the sealer and what it saw ("lists.example.net i=2 saw dmarc=pass").
 *
 *	The AAR is read with the grammar of RFC 8601 section 2.2 as far as this needs:
 *	comments (nested, with quoted pairs) are skipped, values may be quoted, and
 *	anything it cannot read ends the reading without a vouch.  Every byte comes from
 *	a stranger: the sealer's own seal is what makes it trusted, not what it writes.
 *
 *	arctrust_report_comment() is the comment of the DMARC report's local_policy reason
 *	as RFC 8617 section 7.2.2 shows it: "arc=pass as[2].d=D2 as[2].s=S2 as[1].d=D1
 *	as[1].s=S1 remote-ip[1]=IP", newest first, the remote-ip of each AAR that names
 *	one; tokens that do not fit in size are left off whole.
 */
#ifndef SIGNET_ARCTRUST_H
#define SIGNET_ARCTRUST_H

#include <stddef.h>

#include "conf/conf.h"

/* One ARC set as the validator read it; strings may be "" but never NULL. */
struct arctrust_set {
	unsigned instance;		/* i= */
	const char *seal_domain;	/* the ARC-Seal's d= */
	const char *seal_selector;	/* its s= */
	const char *aar;		/* the AAR's value after "i=N;": authserv-id; results */
};

unsigned arctrust_vouch(const struct name_list *trusted, const struct arctrust_set *sets,
	    size_t count, const char *author_domain, char *why, size_t why_size);

/* The result of the first method of that name in an Authentication-Results value
 * ("authserv-id; method=result ..."), read as above; "" when there is none. */
void	arctrust_result_of(const char *authres, const char *method, char *out, size_t size);

void	arctrust_report_comment(const struct arctrust_set *sets, size_t count, char *out,
	    size_t size);

#endif
