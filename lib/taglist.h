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
 *
 *	struct taglist_cursor c;
 *	struct tag t;
 *	struct span spec;
 *	enum taglist_item item;
 *	taglist_start(&c, txt, len, TAGLIST_WSP);
 *	while ((item = taglist_next(&c, &t, &spec)) != TAGLIST_END)
 *		... one tag-spec, judged on its own ...
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
 *	only white space) is a syntax error.  This is what a verifier must use (a field that
 *	is not a tag list is a permerror, whatever a laxer reader would make of it, issue
 *	13).  TAGLIST_SKIP_EMPTY lets ";;" pass, for tools that explain a published record
 *	rather than judge a signature.
 *
 *	taglist_parse() is built on a cursor that the caller may use itself when one bad
 *	tag-spec must not spoil the others, as in a DMARC record (RFC 9989 section 4.8:
 *	malformed tags are ignored one by one).  taglist_next() cuts the next tag-spec and
 *	says what it is; it checks no duplicates and keeps no count (that is the caller's
 *	business), and allocates nothing.  A final empty tag-spec (the optional ';' at the
 *	end, or a list that is only white space) is TAGLIST_END; any other empty one is
 *	TAGLIST_EMPTY.  With TAGLIST_BAD_VALUE the name and value are still set, so that
 *	the caller can say which tag was bad.  spec is the tag-spec without the white
 *	space around it (for TAGLIST_EMPTY, as it was), for an error message.
 *
 *	What counts as white space is the one legitimate difference between the users:
 *	TAGLIST_FWS (what taglist_parse() uses) takes SP, HTAB, CR and LF, as a header
 *	field folds; TAGLIST_WSP takes only SP and HTAB, for a DNS TXT record such as
 *	DMARC's (RFC 9989: dmarc-sep = *WSP ";" *WSP), which has no folding, so a CR or
 *	LF in it is a byte like any other and is not valid in a value.
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

enum taglist_space {
	TAGLIST_FWS,		/* SP, HTAB, CR, LF: a header field and its folding */
	TAGLIST_WSP,		/* SP and HTAB only: a DNS TXT record */
};

enum taglist_item {
	TAGLIST_END,		/* no more tag-specs */
	TAGLIST_TAG,		/* a valid tag-spec: name and value are set */
	TAGLIST_EMPTY,		/* nothing (or only white space) between two ';' */
	TAGLIST_NOT_TAG,	/* no '=' */
	TAGLIST_BAD_NAME,	/* the name is not ALPHA *ALNUMPUNC */
	TAGLIST_BAD_VALUE,	/* a byte that is neither VALCHAR nor white space */
};

struct taglist_cursor {
	const char *text;
	size_t	len;
	size_t	at;		/* where the next tag-spec begins */
	int	done;		/* the last tag-spec was returned */
	enum taglist_space space;
};

/* 1 when text is a valid tag list of at most max tags; else 0 with err saying where, and
 * tags[0..*count) the valid tag-specs before the error (what a reader that stops at the
 * first error has read). */
int	taglist_parse(const char *text, size_t len, enum taglist_mode mode, struct tag *tags,
	    size_t max, size_t *count, char *err, size_t errlen);

void	taglist_start(struct taglist_cursor *c, const char *text, size_t len,
	    enum taglist_space space);
enum taglist_item taglist_next(struct taglist_cursor *c, struct tag *tag, struct span *spec);

/* The tag of that name, or NULL. */
const struct tag *taglist_find(const struct tag *tags, size_t count, const char *name);

/*
 * Colon-separated lists inside a tag value (DKIM's h=, q=, and a key record's h=, s=,
 * t=).  taglist_list_next() gives the next item of *list with the white space around it
 * trimmed (an empty item is an empty span) and advances *list; 0 once every item was
 * given.  taglist_list_has() says whether an item equals word, ignoring ASCII case (RFC
 * 5234 strings are case-insensitive).
 */
int	taglist_list_next(struct span *list, struct span *item);
int	taglist_list_has(struct span list, const char *word);

/* Copies value into out without any white space (how DKIM compares b=, bh= and p=);
 * 0 when it does not fit (out then holds ""). */
int	taglist_value_compact(struct span value, char *out, size_t size);

#endif
