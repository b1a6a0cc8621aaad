/*
 * NAME
 *	keyrecord.c - the tags of a DKIM key record, read once (see keyrecord.h)
 * SEE ALSO
 *	RFC 6376 section 3.6.1, RFC 8463 (k=ed25519), lib/taglist.c
 */
#include <stdio.h>

#include "lib/keyrecord.h"

static struct span tag_value(const struct tag *tags, size_t count, const char *name)
{
	const struct tag *t = taglist_find(tags, count, name);

	return t != NULL ? t->value : span_of(NULL, 0);
}

enum keyrecord_status keyrecord_parse(const char *text, size_t len, enum taglist_mode mode,
    struct keyrecord *rec, char *err, size_t errlen)
{
	struct tag tags[TAGLIST_MAX];
	size_t	count;

	if (!taglist_parse(text, len, mode, tags, TAGLIST_MAX, &count, err, errlen))
		return KEYRECORD_SYNTAX;
	rec->v = tag_value(tags, count, "v");
	rec->h = tag_value(tags, count, "h");
	rec->k = tag_value(tags, count, "k");
	rec->n = tag_value(tags, count, "n");
	rec->p = tag_value(tags, count, "p");
	rec->s = tag_value(tags, count, "s");
	rec->t = tag_value(tags, count, "t");
	if (rec->v.p != NULL && (!span_is(tags[0].name, "v") || !span_is(rec->v, "DKIM1"))) {
		snprintf(err, errlen, "v= must come first and be DKIM1 (RFC 6376 3.6.1)");
		return KEYRECORD_VERSION;
	}
	if (rec->p.p == NULL) {
		snprintf(err, errlen, "the record has no p= tag");
		return KEYRECORD_NO_KEY;
	}
	if (rec->p.len == 0) {
		snprintf(err, errlen, "p= is empty: the record says the key is revoked");
		return KEYRECORD_REVOKED;
	}
	return KEYRECORD_OK;
}

int	keyrecord_allows_hash(const struct keyrecord *rec, const char *hash)
{
	return rec->h.p == NULL || taglist_list_has(rec->h, hash);
}

int	keyrecord_for_email(const struct keyrecord *rec)
{
	return rec->s.p == NULL || taglist_list_has(rec->s, "*") ||
	    taglist_list_has(rec->s, "email");
}

int	keyrecord_has_flag(const struct keyrecord *rec, const char *flag)
{
	return rec->t.p != NULL && taglist_list_has(rec->t, flag);
}
