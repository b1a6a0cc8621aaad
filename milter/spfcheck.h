/*
 * NAME
 *	spfcheck.h - SPF (RFC 7208) checks of inbound mail: MAIL FROM and HELO identities
 * SYNOPSIS
 *	#include "milter/spfcheck.h"
 *
 *	struct spfcheck_outcome out;
 *	if (!spfcheck_mailfrom(dns, &budget, "192.0.2.1", helo, mail_from, &out))
 *		... out of memory
 *	... spfcheck_result_name(out.result), out.domain, out.reason
 * DESCRIPTION
 *	spfcheck_mailfrom() runs check_host() (RFC 7208 section 4) for the MAIL FROM
 *	identity: the domain after the last "@" of mail_from (angle brackets allowed).  A
 *	null sender ("" or "<>") is checked as postmaster@HELO (section 2.4); a sender
 *	without a local-part gets "postmaster" (section 4.3).  spfcheck_helo() checks the
 *	HELO identity (section 2.3).  An identity is checked whole or not at all: a
 *	local-part over 64 octets or a domain (or HELO name) over 255 gives "none" with a
 *	reason that says so, never a check of a cut name.
 *
 *	client_ip is the SMTP client's address, numeric IPv4 or IPv6; an IPv4-mapped IPv6
 *	address (::ffff:a.b.c.d) is checked as the IPv4 address.  All DNS goes through
 *	dns, charged to budget (NULL: no limit); a spent budget or a timeout gives
 *	temperror.  Every record is checked by spfrecord_check() before libspf2 sees it.
 *
 *	The outcome carries the result, the domain checked (cut to fit, never used to make
 *	decisions) and a reason: short printable ASCII without parentheses or backslashes,
 *	fit for an Authentication-Results comment.
 *
 *	Thread-safe: each call builds and frees its own libspf2 server and request.
 * DIAGNOSTICS
 *	Return 1 when out holds the outcome (whatever the result), 0 only when memory ran
 *	out (out then says temperror).  Nothing is logged here; the caller logs once.
 * BUGS
 *	Explanations (exp=) are not fetched: Signet never uses them.
 * SEE ALSO
 *	spfrecord.h, dns.h, RFC 7208
 */
#ifndef SIGNET_SPFCHECK_H
#define SIGNET_SPFCHECK_H

#include "lib/dns.h"

enum spfcheck_result {
	SPFCHECK_NONE,
	SPFCHECK_NEUTRAL,
	SPFCHECK_PASS,
	SPFCHECK_FAIL,
	SPFCHECK_SOFTFAIL,
	SPFCHECK_TEMPERROR,
	SPFCHECK_PERMERROR,
};

struct spfcheck_outcome {
	enum spfcheck_result result;
	int	too_long;	/* none: the identity is over RFC 5321's limits */
	char	domain[254];	/* domain checked */
	char	reason[384];	/* short text for an Authentication-Results comment; room
				 * for the longest: 60 + 36 + a 253-octet domain */
};

int	spfcheck_mailfrom(struct dns_resolver *dns, struct dns_budget *budget,
	    const char *client_ip, const char *helo, const char *mail_from,
	    struct spfcheck_outcome *out);
int	spfcheck_helo(struct dns_resolver *dns, struct dns_budget *budget,
	    const char *client_ip, const char *helo, struct spfcheck_outcome *out);
const char *spfcheck_result_name(enum spfcheck_result r);

#endif
