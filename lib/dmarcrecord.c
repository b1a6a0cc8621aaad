/*
 * NAME
 *	dmarcrecord.c - parse one DMARC Policy Record (RFC 9989 sections 4.7 and 4.8)
 * DESCRIPTION
 *	The record is a tag-list (section 4.7 reuses DKIM's, RFC 6376 section 3.2), read
 *	with the cursor of lib/taglist.c over [txt, txt + len) with white space being WSP
 *	only (a TXT record does not fold): the version first, then one tag-spec at a
 *	time.  A tag is handled on its own, so one bad tag never spoils the others: that
 *	is what section 4.8 asks for.  Only the values are DMARC's own grammar: printable
 *	ASCII and spaces (no HTAB inside a value), and the keywords and URIs of each tag.
 *	Everything is ASCII and locale-free; no copy of the record is made.
 * SEE ALSO
 *	dmarcrecord.h
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/span.h"
#include "lib/taglist.h"
#include "lib/dmarcrecord.h"

enum tag_id {
	TAG_P, TAG_SP, TAG_NP, TAG_PSD, TAG_T, TAG_ADKIM, TAG_ASPF, TAG_RUA, TAG_RUF, TAG_FO,
	TAG_COUNT, TAG_UNKNOWN = TAG_COUNT
};

static const char *const tag_names[TAG_COUNT] = {
	"p", "sp", "np", "psd", "t", "adkim", "aspf", "rua", "ruf", "fo",
};

static int is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static struct span trim_wsp(struct span v)
{
	while (v.len > 0 && is_wsp((unsigned char)v.p[0])) {
		v.p++;
		v.len--;
	}
	while (v.len > 0 && is_wsp((unsigned char)v.p[v.len - 1]))
		v.len--;
	return v;
}

__attribute__((format(printf, 3, 4)))
static void note(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL || errlen == 0 || err[0] != '\0')
		return;			/* keep the first problem only */
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int parse_request(struct span v, enum dmarc_policy *out)
{
	if (span_is_nocase(v, "none"))
		*out = DMARC_POLICY_NONE;
	else if (span_is_nocase(v, "quarantine"))
		*out = DMARC_POLICY_QUARANTINE;
	else if (span_is_nocase(v, "reject"))
		*out = DMARC_POLICY_REJECT;
	else
		return 0;
	return 1;
}

static int uri_char(unsigned char c)
{
	/* RFC 3986 unreserved, gen-delims and sub-delims, less "," and "!" which DMARC
	 * wants percent-encoded ("; " cannot occur: it ends the tag). */
	return c != '\0' && (is_alpha(c) || is_digit(c) ||
	    strchr("-._~:/?#[]@$&'()*+;=", c) != NULL);
}

/* The obsolete size suffix: "!" 1*DIGIT [ "k" / "m" / "g" / "t" ]. */
static int size_suffix_valid(struct span v)
{
	size_t	i = 0;

	if (v.len > 0 && v.p[v.len - 1] != '\0' && strchr("kmgtKMGT", v.p[v.len - 1]) != NULL)
		v.len--;
	if (v.len == 0)
		return 0;
	for (i = 0; i < v.len; i++)
		if (!is_digit((unsigned char)v.p[i]))
			return 0;
	return 1;
}

/* scheme ":" 1*(URI characters or %HH), optionally followed by the obsolete size. */
static int uri_valid(struct span v)
{
	const char *bang = v.len ? memchr(v.p, '!', v.len) : NULL;
	size_t	i = 0;

	if (bang != NULL) {
		struct span size = { bang + 1, v.len - (size_t)(bang + 1 - v.p) };

		if (!size_suffix_valid(size))
			return 0;
		v.len = (size_t)(bang - v.p);
	}
	if (v.len == 0 || !is_alpha((unsigned char)v.p[0]))
		return 0;
	for (i = 1; i < v.len && v.p[i] != ':'; i++) {
		unsigned char c = (unsigned char)v.p[i];

		if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.')
			return 0;
	}
	if (i + 1 >= v.len)
		return 0;		/* no ":" or nothing after it */
	for (i++; i < v.len; i++) {
		if (v.p[i] == '%') {
			if (i + 2 >= v.len || !is_hex((unsigned char)v.p[i + 1]) ||
			    !is_hex((unsigned char)v.p[i + 2]))
				return 0;
			i += 2;
		} else if (!uri_char((unsigned char)v.p[i])) {
			return 0;
		}
	}
	return 1;
}

/* A comma-separated list of URIs.  Returns the number of valid ones; *all_valid says
 * whether the list as a whole was well formed. */
static size_t uri_list(struct span v, int *all_valid)
{
	size_t	valid = 0;

	*all_valid = 1;
	while (v.len > 0) {
		const char *comma = memchr(v.p, ',', v.len);
		size_t	n = comma ? (size_t)(comma - v.p) : v.len;
		struct span one = trim_wsp((struct span){ v.p, n });

		if (uri_valid(one))
			valid++;
		else
			*all_valid = 0;
		if (comma == NULL)
			break;
		v.p = comma + 1;
		v.len -= n + 1;
		if (v.len == 0)
			*all_valid = 0;		/* a trailing comma */
	}
	return valid;
}

/* Colon-separated "0", "1", "d", "s"; each at most once; "0" and "1" exclusive. */
static int fo_valid(struct span v)
{
	unsigned seen = 0;
	size_t	i = 0;

	for (i = 0; i < v.len; i += 2) {
		unsigned bit = 0;

		switch (span_ascii_lower((unsigned char)v.p[i])) {
		case '0': bit = 1; break;
		case '1': bit = 2; break;
		case 'd': bit = 4; break;
		case 's': bit = 8; break;
		default: return 0;
		}
		if ((seen & bit) || (i + 1 < v.len && v.p[i + 1] != ':') || i + 1 == v.len - 1)
			return 0;
		seen |= bit;
	}
	return seen != 0 && (seen & 3) != 3;
}

static int parse_yn(struct span v, int *out)
{
	if (span_is_nocase(v, "y"))
		*out = 1;
	else if (span_is_nocase(v, "n"))
		*out = 0;
	else
		return 0;
	return 1;
}

static int parse_rs(struct span v, int *strict)
{
	if (span_is_nocase(v, "s"))
		*strict = 1;
	else if (span_is_nocase(v, "r"))
		*strict = 0;
	else
		return 0;
	return 1;
}

static int parse_psd(struct span v, enum dmarc_psd *out)
{
	if (span_is_nocase(v, "y"))
		*out = DMARC_PSD_Y;
	else if (span_is_nocase(v, "n"))
		*out = DMARC_PSD_N;
	else if (span_is_nocase(v, "u"))
		*out = DMARC_PSD_U;
	else
		return 0;
	return 1;
}

static int set_policy(enum dmarc_policy *value, enum dmarc_tag_state *state, struct span v)
{
	*state = parse_request(v, value) ? DMARC_TAG_VALID : DMARC_TAG_INVALID;
	return *state == DMARC_TAG_VALID;
}

/* Copies a value (printable ASCII, checked by the caller) when it fits whole: a list cut
 * short could name another destination than the one published. */
static void keep_value(char *out, size_t size, struct span v)
{
	if (v.len < size) {
		memcpy(out, v.p, v.len);
		out[v.len] = '\0';
	}
}

/* Stores the value of a known tag; 0 when the value is not valid for it (the field then
 * holds its default, or the INVALID state for p, sp and np). */
static int set_tag(struct dmarc_record *rec, enum tag_id id, struct span v)
{
	int	ok = 0, all = 0;

	switch (id) {
	case TAG_P:
		return set_policy(&rec->p, &rec->p_state, v);
	case TAG_SP:
		return set_policy(&rec->sp, &rec->sp_state, v);
	case TAG_NP:
		return set_policy(&rec->np, &rec->np_state, v);
	case TAG_PSD:
		if (!(ok = parse_psd(v, &rec->psd)))
			rec->psd = DMARC_PSD_U;
		return ok;
	case TAG_T:
		if (!(ok = parse_yn(v, &rec->testing)))
			rec->testing = 0;
		return ok;
	case TAG_ADKIM:
		if (!(ok = parse_rs(v, &rec->adkim_strict)))
			rec->adkim_strict = 0;
		return ok;
	case TAG_ASPF:
		if (!(ok = parse_rs(v, &rec->aspf_strict)))
			rec->aspf_strict = 0;
		return ok;
	case TAG_RUA:
		rec->has_rua = uri_list(v, &all) > 0;
		if (rec->has_rua)
			keep_value(rec->rua, sizeof(rec->rua), v);
		return all;
	case TAG_RUF:
		if (uri_list(v, &all) > 0)
			keep_value(rec->ruf, sizeof(rec->ruf), v);
		return rec->ruf[0] != '\0' && all;
	case TAG_FO:
		if (!fo_valid(v))
			return 0;
		keep_value(rec->fo, sizeof(rec->fo), v);
		return 1;
	case TAG_UNKNOWN:
		break;
	}
	return 0;
}

/* A tag given twice is a syntax error; neither value is trusted. */
static void invalidate_tag(struct dmarc_record *rec, enum tag_id id)
{
	switch (id) {
	case TAG_P: rec->p_state = DMARC_TAG_INVALID; break;
	case TAG_SP: rec->sp_state = DMARC_TAG_INVALID; break;
	case TAG_NP: rec->np_state = DMARC_TAG_INVALID; break;
	case TAG_PSD: rec->psd = DMARC_PSD_U; break;
	case TAG_T: rec->testing = 0; break;
	case TAG_ADKIM: rec->adkim_strict = 0; break;
	case TAG_ASPF: rec->aspf_strict = 0; break;
	case TAG_RUA: rec->has_rua = 0; rec->rua[0] = '\0'; break;
	case TAG_RUF: rec->ruf[0] = '\0'; break;
	case TAG_FO: rec->fo[0] = '\0'; break;
	default: break;
	}
}

static enum tag_id find_tag(struct span name)
{
	size_t	i;

	for (i = 0; i < TAG_COUNT; i++)
		if (span_is_nocase(name, tag_names[i]))
			return (enum tag_id)i;
	return TAG_UNKNOWN;
}

/* Section 4.7: every value byte must be a printing character or a space (%x20-3A /
 * %x3C-7E); unlike a DKIM tag-value, no HTAB inside. */
static int value_printable(struct span v)
{
	size_t	i;

	for (i = 0; i < v.len; i++)
		if ((unsigned char)v.p[i] < 0x20 || (unsigned char)v.p[i] > 0x7e)
			return 0;
	return 1;
}

/* One tag-spec after the version.  A TAGLIST_BAD_VALUE tag still has its name: an
 * unknown tag is ignored whatever its value, a known one gets its value judged here. */
static void take_tag(struct dmarc_record *rec, enum taglist_item item, const struct tag *tag,
	    unsigned *seen, unsigned *twice, char *err, size_t errlen)
{
	struct span name = tag->name, value = tag->value;
	enum tag_id id;

	if (item != TAGLIST_TAG && item != TAGLIST_BAD_VALUE) {
		rec->ignored++;
		note(err, errlen, "a malformed tag was ignored");
		return;
	}
	id = find_tag(name);
	if (id == TAG_UNKNOWN) {
		rec->ignored++;
		note(err, errlen, "unknown tag \"%.*s\" ignored", (int)(name.len > 16 ? 16 : name.len),
		    name.p);
		return;
	}
	if (*twice & (1u << id)) {
		rec->ignored++;
		return;
	}
	if (*seen & (1u << id)) {
		*twice |= 1u << id;
		invalidate_tag(rec, id);
		rec->ignored++;
		note(err, errlen, "tag \"%s\" given more than once", tag_names[id]);
		return;
	}
	*seen |= 1u << id;
	if (value.len == 0 || !value_printable(value)) {
		invalidate_tag(rec, id);
		rec->ignored++;
		note(err, errlen, "tag \"%s\" has an empty or unprintable value", tag_names[id]);
	} else if (!set_tag(rec, id, value)) {
		rec->ignored++;
		note(err, errlen, "tag \"%s\" has an invalid value", tag_names[id]);
	}
}

/* Section 4.7: "v=DMARC1" as the very first bytes ("v" in any case, "DMARC1" exactly,
 * WSP around "="), then a separator or the end. */
static int is_version(enum taglist_item item, const struct tag *tag, const char *txt)
{
	return item == TAGLIST_TAG && tag->name.p == txt && span_is_nocase(tag->name, "v") &&
	    span_is(tag->value, "DMARC1");
}

int	dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *out, char *err,
	    size_t errlen)
{
	struct taglist_cursor c;
	enum taglist_item item = TAGLIST_END;
	unsigned seen = 0, twice = 0;
	struct span spec;
	struct tag tag;

	memset(out, 0, sizeof(*out));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (txt != NULL) {
		taglist_start(&c, txt, len, TAGLIST_WSP);
		item = taglist_next(&c, &tag, &spec);
	}
	if (txt == NULL || !is_version(item, &tag, txt)) {
		note(err, errlen, "not a DMARC record (it must begin with v=DMARC1)");
		return 0;
	}
	while ((item = taglist_next(&c, &tag, &spec)) != TAGLIST_END)
		take_tag(out, item, &tag, &seen, &twice, err, errlen);
	return 1;
}

const char *dmarc_policy_name(enum dmarc_policy policy)
{
	switch (policy) {
	case DMARC_POLICY_NONE: return "none";
	case DMARC_POLICY_QUARANTINE: return "quarantine";
	case DMARC_POLICY_REJECT: return "reject";
	}
	return "none";
}
