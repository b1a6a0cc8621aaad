/*
 * NAME
 *	domain.h - the one check of a domain name's syntax
 * SYNOPSIS
 *	#include "lib/domain.h"
 *
 *	char name[DOMAIN_TEXT_MAX + 1];
 *	int labels = domain_check(text, len, DOMAIN_UNDERSCORE, name, sizeof(name));
 * DESCRIPTION
 *	A domain name in text form (RFC 1035 section 2.3.4, RFC 2181 section 11): labels of
 *	1 to 63 octets separated by single dots, at most 253 octets without a final dot.
 *	By default a label holds letters, digits and hyphens (the LDH rule of RFC 1035
 *	section 2.3.1, which A-labels follow, RFC 5890 section 2.3.2.1); a byte outside
 *	printable ASCII is never accepted unless DOMAIN_ANY_BYTE says the caller checked the
 *	bytes itself.  Where a caller legitimately differs it says so with a flag:
 *
 *	DOMAIN_UNDERSCORE	'_' in labels: DKIM selectors and keys (RFC 6376 3.6.2.1),
 *				_dmarc (RFC 9989), attribute leaves (RFC 8552), and the
 *				names found in mail that DKIM and DMARC look up
 *	DOMAIN_OCTETS		any octet but control characters, blanks, DEL and '\\' (8-bit
 *				octets included, RFC 2181 section 11): what the resolver may be
 *				asked, e.g. an SPF macro expansion ('\\' would be read as an
 *				escape by libunbound and ask another name)
 *	DOMAIN_ANY_BYTE		no test of the bytes: only labels and lengths (the SPF
 *				grammar checks the characters of a domain-spec itself)
 *	DOMAIN_FINAL_DOT	one final dot (the absolute form) is accepted and dropped
 *
 *	domain_check() returns the number of labels, 0 when the name is not valid; with out
 *	it also writes the name lower-cased (ASCII only), without the final dot.
 */
#ifndef SIGNET_DOMAIN_H
#define SIGNET_DOMAIN_H

#include <stddef.h>

#define DOMAIN_TEXT_MAX		253
#define DOMAIN_LABEL_MAX	63

#define DOMAIN_UNDERSCORE	0x01
#define DOMAIN_OCTETS		0x02
#define DOMAIN_ANY_BYTE		0x04
#define DOMAIN_FINAL_DOT	0x08

int	domain_check(const char *name, size_t len, unsigned flags, char *out, size_t outsize);

#endif
