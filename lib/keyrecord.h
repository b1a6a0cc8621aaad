/*
 * NAME
 *	keyrecord.h - the tags of a DKIM key record (RFC 6376 section 3.6.1)
 * SYNOPSIS
 *	#include "lib/keyrecord.h"
 *
 *	struct keyrecord rec;
 *	char err[128];
 *	if (keyrecord_parse(txt, len, TAGLIST_STRICT, &rec, err, sizeof(err)) == KEYRECORD_OK
 *	    && keyrecord_allows_hash(&rec, "sha256"))
 *		... rec.p holds the base64 key, rec.k its type (absent: rsa) ...
 * DESCRIPTION
 *	One reading of a key record for the two that need it: the verifier (milter/dkimkey.c),
 *	which judges a published key, and "signet-keys check" (keys/dkimrecord.c), which
 *	explains one.  A record is a tag list (lib/taglist.c; mode says whether ";;" is
 *	refused, as a verifier must, or let through); v=, if present, must be the first tag
 *	and be "DKIM1"; p= must be present; an empty p= means the key was revoked.  Each
 *	outcome but KEYRECORD_OK comes with one sentence in err.  The tags are spans into
 *	text (absent: p NULL); unknown tags are allowed, as the RFC requires.
 *
 *	h= (hashes), s= (service types) and t= (flags) are colon-separated lists, read
 *	with taglist_list_has().  An absent h= allows every hash and an absent s= every
 *	service ("*").
 */
#ifndef SIGNET_KEYRECORD_H
#define SIGNET_KEYRECORD_H

#include <stddef.h>

#include "lib/span.h"
#include "lib/taglist.h"

struct keyrecord {
	struct span v, h, k, n, p, s, t;	/* values; .p NULL when the tag is absent */
};

enum keyrecord_status {
	KEYRECORD_OK,
	KEYRECORD_SYNTAX,	/* not a tag list */
	KEYRECORD_VERSION,	/* v= not first, or not DKIM1 */
	KEYRECORD_NO_KEY,	/* no p= tag */
	KEYRECORD_REVOKED,	/* p= empty */
};

enum keyrecord_status keyrecord_parse(const char *text, size_t len, enum taglist_mode mode,
	    struct keyrecord *rec, char *err, size_t errlen);

/* h= absent or naming hash ("sha256", "sha1"). */
int	keyrecord_allows_hash(const struct keyrecord *rec, const char *hash);
/* s= absent, "*" or "email" among its types. */
int	keyrecord_for_email(const struct keyrecord *rec);
/* t= holds flag ("y": testing, "s": no subdomains in i=). */
int	keyrecord_has_flag(const struct keyrecord *rec, const char *flag);

#endif
