/*
 * NAME
 *	reportrow.h - one row of a DMARC aggregate report, and the published policy, as
 *	text that the daemon counts and signet-reports reads back
 * SYNOPSIS
 *	#include "lib/reportrow.h"
 *
 *	struct report_row row;
 *	char	key[REPORT_ROW_TEXT_MAX];
 *
 *	report_row_encode(&row, key, sizeof(key));	(daemon: the counter's key)
 *	report_row_decode(key, strlen(key), &row);	(signet-reports: a <record>)
 * DESCRIPTION
 *	The daemon counts messages per (period, policy domain, row text); the store keeps
 *	that text as it is and the tool turns it back into a struct to write one <record>
 *	(RFC 9990 section 3.1.1.6) with its <count>.  Two messages that would give the
 *	same <record> give the same text, so they are one counter.
 *
 *	Text format, version 1: fields separated by one TAB, in this order, each
 *	percent-encoded (every byte below 0x21 or above 0x7e, and '%', written as %XX
 *	with upper-case hex), so no field holds a TAB or a newline:
 *	    "1" source_ip disposition dkim_aligned spf_aligned
 *	    reason_count {reason_type reason_comment}...
 *	    header_from has_envelope_from envelope_from envelope_to
 *	    dkim_count {dkim_domain dkim_selector dkim_result}...
 *	    spf_domain spf_result
 *	Counts are decimal.  An empty field is an empty string between two TABs.
 *	report_policy has its own text of the same form:
 *	    "1" domain discovery_method p sp np adkim aspf testing fo rua ruf
 *
 *	The values are what RFC 9990's schema allows (lower case): disposition none,
 *	quarantine or reject; dkim_aligned and spf_aligned pass or fail; reason_type one
 *	of the PolicyOverrideType values; DKIM results from RFC 8601 section 2.7.1, SPF
 *	results from section 2.7.2; discovery_method psl or treewalk; p/sp/np none,
 *	quarantine or reject ("" for absent sp or np); adkim/aspf r or s; testing y or n.
 *	Domains are stored as the daemon read them (lower case A-labels where it could).
 *
 *	Hostile input.  header_from, envelope_from/to, the DKIM domain and selector come
 *	from the message and the network: the encoding keeps any byte, and the decoder
 *	refuses a field that does not fit its array, a count over its maximum, a bad %XX,
 *	an unknown version or a missing or extra field.  The XML writer escapes again.
 * DIAGNOSTICS
 *	report_*_encode() return the length written, or 0 when it does not fit (nothing
 *	usable is left in out).  report_*_decode() return 1, or 0 for text not made by
 *	the encoder of a version it knows.
 * SEE ALSO
 *	reportstore.h, RFC 9990 (draft-ietf-dmarc-aggregate-reporting-32)
 */
#ifndef SIGNET_REPORTROW_H
#define SIGNET_REPORTROW_H

#include <stddef.h>

#define REPORT_DOMAIN_MAX	254	/* 253 and the NUL */
#define REPORT_SELECTOR_MAX	254
#define REPORT_IP_MAX		46	/* INET6_ADDRSTRLEN */
#define REPORT_WORD_MAX		24	/* results, dispositions, reason types */
#define REPORT_COMMENT_MAX	160
#define REPORT_DKIM_MAX		8	/* DKIM results kept per row (section 3.1.3) */
#define REPORT_REASON_MAX	2
#define REPORT_URIS_MAX		1024	/* a rua= or ruf= value, with its NUL */
/* Room for any encoded row or policy: a row with every field full of bytes that are
 * escaped takes 17,280 bytes with its NUL (test-reportrow checks it fits). */
#define REPORT_ROW_TEXT_MAX	17408

struct report_reason {
	char	type[REPORT_WORD_MAX];		/* e.g. "local_policy", "policy_test_mode" */
	char	comment[REPORT_COMMENT_MAX];	/* printable ASCII; may be "" */
};

struct report_dkim {
	char	domain[REPORT_DOMAIN_MAX];
	char	selector[REPORT_SELECTOR_MAX];
	char	result[REPORT_WORD_MAX];	/* pass, fail, neutral, temperror, ... */
};

struct report_row {
	char	source_ip[REPORT_IP_MAX];
	char	disposition[REPORT_WORD_MAX];	/* none, quarantine, reject */
	char	dkim_aligned[REPORT_WORD_MAX];	/* pass, fail */
	char	spf_aligned[REPORT_WORD_MAX];	/* pass, fail */
	struct report_reason reason[REPORT_REASON_MAX];
	size_t	reason_count;
	char	header_from[REPORT_DOMAIN_MAX];
	int	has_envelope_from;		/* 0: no <envelope_from> element */
	char	envelope_from[REPORT_DOMAIN_MAX];	/* "" with has_envelope_from:
							 * the null reverse-path */
	char	envelope_to[REPORT_DOMAIN_MAX];	/* "": no <envelope_to> */
	struct report_dkim dkim[REPORT_DKIM_MAX];
	size_t	dkim_count;
	char	spf_domain[REPORT_DOMAIN_MAX];	/* "": no <spf> (no MAIL FROM identity) */
	char	spf_result[REPORT_WORD_MAX];	/* scope is always "mfrom" */
};

struct report_policy {
	char	domain[REPORT_DOMAIN_MAX];	/* the DMARC Policy Domain */
	char	discovery_method[REPORT_WORD_MAX];	/* psl, treewalk */
	char	p[REPORT_WORD_MAX];
	char	sp[REPORT_WORD_MAX];		/* "": not published */
	char	np[REPORT_WORD_MAX];		/* "": not published */
	char	adkim[2];			/* "r" or "s" */
	char	aspf[2];
	char	testing[2];			/* "y" or "n" */
	char	fo[16];				/* "": not published */
	char	rua[REPORT_URIS_MAX];		/* as published */
	char	ruf[REPORT_URIS_MAX];
};

size_t	report_row_encode(const struct report_row *row, char *out, size_t size);
int	report_row_decode(const char *text, size_t len, struct report_row *out);
size_t	report_policy_encode(const struct report_policy *policy, char *out, size_t size);
int	report_policy_decode(const char *text, size_t len, struct report_policy *out);

/* The UTC day holding t: its first second (reporting periods are UTC days). */
long long report_period_begin(long long t);

#endif
