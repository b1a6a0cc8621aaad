/*
 * NAME
 *	taglist.h - the tag=value lists of DKIM signatures and keys, DMARC records and ARC
 * SYNOPSIS
 *	#include "lib/taglist.h"
 *
 *	struct tag tags[TAGLIST_MAX];
 *	size_t n;
 *	if (taglist_parse(value, len, TAGLIST_STRICT, tags, TAGLIST_MAX, &n, err, sizeof(err)))
 *		...
 * DESCRIPTION
 *	One parser for RFC 6376 section 3.2 (which DMARC, RFC 9989 section 4.7, and ARC,
 *	RFC 8617 section 4.1, reuse):
 *
 *	    tag-list  =  tag-spec *( ";" tag-spec ) [ ";" ]
 *	    tag-spec  =  [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
 *	    tag-name  =  ALPHA *ALNUMPUNC
 *	    tag-value =  [ tval *( 1*(WSP / FWS) tval ) ]
 *	    tval      =  1*VALCHAR          VALCHAR = %x21-3A / %x3C-7E
 *
 *	Folding may arrive as CRLF or a bare LF (as the MTAs pass it); both count as white
 *	space.  A tag name that appears twice makes the whole list invalid (section 3.2).
 *	The tags are returned as spans into text, names and values without the white space
 *	around them (a value keeps white space inside it).  Nothing is allocated.
 *
 *	TAGLIST_STRICT follows the grammar: an empty tag-spec (";;", or a list that is
 *	only white space) is a syntax error.  This is what a verifier must use: libopendkim
 *	stops reading a DKIM-Signature at such an error, so any laxer reading here would
 *	disagree with it about which tags the field holds.  TAGLIST_SKIP_EMPTY lets ";;"
 *	pass, for tools that explain a published record rather than judge a signature.
 */
#ifndef SIGNET_TAGLIST_H
#define SIGNET_TAGLIST_H

#include <stddef.h>

#include "lib/span.h"

#define TAGLIST_MAX	64	/* tags in one list; more is refused (a DKIM signature has 14) */

enum taglist_mode {
	TAGLIST_STRICT,
	TAGLIST_SKIP_EMPTY,
};

struct tag {
	struct span name;
	struct span value;
};

/* 1 when text is a valid tag list of at most max tags; else 0 with err saying where. */
int	taglist_parse(const char *text, size_t len, enum taglist_mode mode, struct tag *tags,
	    size_t max, size_t *count, char *err, size_t errlen);

/* The tag of that name, or NULL. */
const struct tag *taglist_find(const struct tag *tags, size_t count, const char *name);

/* Copies value into out without any white space (how DKIM compares b=, bh= and p=);
 * 0 when it does not fit (out then holds ""). */
int	taglist_value_compact(struct span value, char *out, size_t size);

#endif
