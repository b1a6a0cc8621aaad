/*
 * NAME
 *	dmarcrecord.h - parse one DMARC Policy Record (RFC 9989 sections 4.7 and 4.8)
 * SYNOPSIS
 *	#include "lib/dmarcrecord.h"
 *
 *	struct dmarc_record rec;
 *	char	err[128];
 *
 *	if (dmarc_record_parse(txt, len, &rec, err, sizeof(err)))
 *		... a DMARC record; err may still name a tag that was ignored ...
 * DESCRIPTION
 *	dmarc_record_parse() reads the TXT string txt of len bytes (the character-strings
 *	of the record already joined; txt need not be NUL-terminated and may hold NUL
 *	bytes) and fills *out.
 *
 *	The record is a DMARC record only when it begins with the "v" tag whose value is
 *	exactly "DMARC1" (case-sensitive), followed by a separator or the end.  Otherwise
 *	the function returns 0 and the caller discards the record, as RFC 9989 section
 *	4.10 steps 2 and 6 require.
 *
 *	After the version, RFC 9989 section 4.8 says that syntax errors are "discarded in
 *	favor of default values (if any) or ignored outright", so nothing after "v=DMARC1"
 *	makes the record invalid: unknown tags, malformed tags and bad values are ignored
 *	one by one.  What the parser records so that dmarc.c can apply section 4.10.1:
 *
 *	p, sp, np	each has a state: absent, valid, or invalid (bad value, or the tag
 *			given more than once).  An invalid policy tag is not replaced by a
 *			default: the record is then usable only when it has a valid rua
 *			(see has_rua), and then as "p=none".
 *	psd, t, adkim, aspf	an invalid or repeated value falls back to the default
 *			(psd=u, t=n, r, r).
 *	rua		has_rua is 1 when the tag holds at least one syntactically valid
 *			URI (RFC 3986 scheme ":" rest, with the obsolete "!size" suffix
 *			allowed).  rua[] then holds the value as published (trailing
 *			blanks removed) when it fits whole in DMARC_URI_LIST_MAX - 1
 *			bytes, else "": the list is for aggregate reports (reportrow.h),
 *			whose sender parses it again and skips URIs that are not valid.
 *	ruf		the same into ruf[] when at least one URI is valid.
 *	fo		fo[] holds a valid value as published; "" when absent or invalid
 *			(the default "0").
 *	pct, rf, ri	removed by RFC 9989 (appendix A.6): ignored like any unknown tag.
 *
 *	The tag-list syntax is DKIM's (RFC 6376 section 3.2, read by lib/taglist.c): a tag
 *	name is ALPHA *(ALPHA / DIGIT / "_"), anything else before "=" is a malformed tag.
 *	Tag names and the keyword values (none, quarantine, reject, y, n, u, r, s) compare
 *	case-insensitively, as RFC 5234 string literals do; only "DMARC1" is
 *	case-sensitive (RFC 9989 marks it %s).  Spaces and tabs (not CR or LF: a TXT
 *	record does not fold) may surround "=" and ";"; trailing blanks of a value are not
 *	part of it.
 * DIAGNOSTICS
 *	Returns 1 for a DMARC record, 0 for anything else (err says why).  When it returns
 *	1, err is empty, or names the first tag that was ignored or found invalid, for logs.
 *	Never reads past txt + len.
 * SEE ALSO
 *	dmarc.h, RFC 9989 sections 4.7, 4.8, 4.10.1
 */
#ifndef SIGNET_DMARCRECORD_H
#define SIGNET_DMARCRECORD_H

#include <stddef.h>

#define DMARC_URI_LIST_MAX 1024	/* a rua= or ruf= value kept whole, with its NUL */

enum dmarc_policy {
	DMARC_POLICY_NONE,
	DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT,
};

enum dmarc_psd {
	DMARC_PSD_U,		/* default: use the tree walk */
	DMARC_PSD_Y,		/* a Public Suffix Domain */
	DMARC_PSD_N,		/* an Organizational Domain for itself and below */
};

enum dmarc_tag_state {
	DMARC_TAG_ABSENT,
	DMARC_TAG_VALID,
	DMARC_TAG_INVALID,
};

struct dmarc_record {
	enum dmarc_policy p, sp, np;	/* meaningful only when the state is VALID */
	enum dmarc_tag_state p_state, sp_state, np_state;
	enum dmarc_psd psd;
	int	testing;		/* t=y */
	int	adkim_strict;		/* adkim=s */
	int	aspf_strict;		/* aspf=s */
	int	has_rua;		/* rua= with at least one valid URI */
	char	rua[DMARC_URI_LIST_MAX];	/* printable ASCII; "" see above */
	char	ruf[DMARC_URI_LIST_MAX];
	char	fo[16];
	unsigned ignored;		/* tags ignored: unknown, malformed or bad values */
};

int	dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *out, char *err,
	    size_t errlen);

const char *dmarc_policy_name(enum dmarc_policy policy);

#endif
