/*
 * NAME
 *	spfrecord.h - Signet's own strict reading of SPF records (RFC 7208) before libspf2
 * SYNOPSIS
 *	#include "milter/spfrecord.h"
 *
 *	if (!spfrecord_check(txt, len, why, sizeof(why)))	... permerror, why says where
 *	switch (spfrecord_select(txts, lens, n, &idx))	... none / one / several
 *	if (!spfrecord_domain_ok(domain))	... RFC 7208 section 4.3: result "none"
 * DESCRIPTION
 *	spfrecord_check() checks one record, given with its length (it came off the wire
 *	and may hold a NUL), against the ABNF of RFC 7208 section 12 and the rules of
 *	sections 4.6, 5, 6 and 7: version tag, qualifiers, the eight mechanisms with their
 *	arguments, CIDR lengths (no leading zeros, in range), modifiers (at most one
 *	redirect= and one exp=, unknown ones allowed when well formed), macro strings
 *	(letters, transformers, delimiters; c, r and t only in explanation text) and
 *	domain-spec endings (a top label holding a letter, or a macro).  Only printable
 *	ASCII and spaces are allowed.  A record that passes is safe to hand to libspf2.
 *
 *	spfrecord_rewrite() makes, from a record that passed spfrecord_check(), the record
 *	libspf2 is given for a client of the given family: the same decisions in a form
 *	libspf2 evaluates as RFC 7208 says.  Unknown modifiers and exp= are left out (they
 *	change nothing that Signet uses); redirect= goes last, and is left out when the
 *	record has an "all" (section 6.1); a CIDR length of 0, which libspf2 cannot
 *	express, becomes two /1 networks for ip4 and ip6, and for a and mx a target name
 *	ending in SPFRECORD_ANY_ADDRESS (see spfeval.c, which answers such a name with the
 *	client's own address whenever the real name has any); a and mx keep only the
 *	CIDR length of the client's family.
 *
 *	spfrecord_is_spf() says whether a TXT string is an SPF record at all: "v=spf1"
 *	(any case) followed by a space or the end (section 4.5).
 *
 *	spfrecord_select() applies section 4.5 to the TXT strings of one name.
 *
 *	spfrecord_domain_ok() is the section 4.3 test of a domain to check: at least two
 *	labels, none empty (a final dot is allowed), none over 63 octets, 253 in all,
 *	printable ASCII, not an address literal.
 * DIAGNOSTICS
 *	spfrecord_check() returns 1 when the record is valid, 0 otherwise with a short
 *	reason (printable ASCII) in why.
 * SEE ALSO
 *	spfcheck.h, RFC 7208 sections 4.5, 4.6, 5, 6, 7 and 12
 */
#ifndef SIGNET_SPFRECORD_H
#define SIGNET_SPFRECORD_H

#include <stddef.h>
#include <stdlib.h>

enum spfrecord_selection {
	SPFRECORD_NONE,		/* no SPF record: result "none" */
	SPFRECORD_ONE,		/* exactly one: its index is set */
	SPFRECORD_MANY,		/* more than one: result "permerror" */
};

int	spfrecord_is_spf(const char *txt, size_t len);
enum spfrecord_selection spfrecord_select(const char *const *txts, const size_t *lens,
	    size_t count, size_t *index);
int	spfrecord_check(const char *txt, size_t len, char *why, size_t whylen);
int	spfrecord_domain_ok(const char *domain);

/* Appended to a and mx targets whose CIDR length is 0 for the client's family. */
#define SPFRECORD_ANY_ADDRESS ".any-address.signet.invalid"

char   *spfrecord_rewrite(const char *txt, size_t len, int client_is_ipv6);	/* free() it */

#endif
