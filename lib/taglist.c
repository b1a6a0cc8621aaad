/*
 * NAME
 *	taglist.c - RFC 6376 section 3.2 tag lists, parsed in place over a span
 * DESCRIPTION
 *	See taglist.h for the grammar.  One pass over the bytes: the cursor cuts each
 *	tag-spec at the next ';' (VALCHAR excludes ';', so a value never contains one) and
 *	checks it: a name, optional white space, '=', and a value whose bytes are VALCHAR
 *	or white space.  taglist_parse() turns the first bad tag-spec into an error and
 *	checks duplicates and the count.  Errors quote at most a short excerpt of the
 *	text, with unsafe bytes shown as '?'.
 */
#include <stdio.h>
#include <string.h>

#include "lib/taglist.h"

#define EXCERPT_MAX 40

static int is_space(unsigned char c, enum taglist_space space)
{
	return c == ' ' || c == '\t' || (space == TAGLIST_FWS && (c == '\r' || c == '\n'));
}

static int is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_valchar(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != ';';
}

static struct span trim(struct span s, enum taglist_space space)
{
	while (s.len > 0 && is_space((unsigned char)s.p[0], space)) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && is_space((unsigned char)s.p[s.len - 1], space))
		s.len--;
	return s;
}

static int name_valid(struct span s)
{
	if (s.len == 0 || !is_alpha((unsigned char)s.p[0]))
		return 0;
	for (size_t i = 1; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];

		if (!is_alpha(c) && !(c >= '0' && c <= '9') && c != '_')
			return 0;
	}
	return 1;
}

static int value_valid(struct span s, enum taglist_space space)
{
	for (size_t i = 0; i < s.len; i++)
		if (!is_valchar((unsigned char)s.p[i]) && !is_space((unsigned char)s.p[i], space))
			return 0;
	return 1;
}

static int names_equal(struct span a, struct span b)
{
	return a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

/* Reports a problem with a printable excerpt of the offending tag-spec. */
static int refuse(char *err, size_t errlen, const char *what, struct span spec)
{
	char	excerpt[EXCERPT_MAX + 1];
	size_t	n = spec.len < EXCERPT_MAX ? spec.len : EXCERPT_MAX;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)spec.p[i];

		excerpt[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	excerpt[n] = '\0';
	snprintf(err, errlen, "%s: \"%s%s\"", what, excerpt, spec.len > n ? "..." : "");
	return 0;
}

void	taglist_start(struct taglist_cursor *c, const char *text, size_t len,
    enum taglist_space space)
{
	c->text = text;
	c->len = len;
	c->at = 0;
	c->done = 0;
	c->space = space;
}

enum taglist_item taglist_next(struct taglist_cursor *c, struct tag *tag, struct span *spec)
{
	size_t	end = c->at;

	if (c->done)
		return TAGLIST_END;
	while (end < c->len && c->text[end] != ';')
		end++;
	struct span raw = span_of(c->text + c->at, end - c->at);

	c->done = end >= c->len;
	c->at = end + 1;
	*spec = trim(raw, c->space);
	if (spec->len == 0) {
		/* Only the optional ';' at the very end may be followed by nothing. */
		if (c->done)
			return TAGLIST_END;
		*spec = raw;
		return TAGLIST_EMPTY;
	}
	const char *eq = memchr(spec->p, '=', spec->len);
	if (eq == NULL)
		return TAGLIST_NOT_TAG;
	tag->name = trim(span_of(spec->p, (size_t)(eq - spec->p)), c->space);
	tag->value = trim(span_of(eq + 1, spec->len - (size_t)(eq + 1 - spec->p)), c->space);
	if (!name_valid(tag->name))
		return TAGLIST_BAD_NAME;
	if (!value_valid(tag->value, c->space))
		return TAGLIST_BAD_VALUE;
	return TAGLIST_TAG;
}

int	taglist_parse(const char *text, size_t len, enum taglist_mode mode, struct tag *tags,
    size_t max, size_t *count, char *err, size_t errlen)
{
	struct taglist_cursor c;
	enum taglist_item item;
	struct span spec;
	struct tag t;

	*count = 0;
	taglist_start(&c, text, len, TAGLIST_FWS);
	while ((item = taglist_next(&c, &t, &spec)) != TAGLIST_END) {
		if (item == TAGLIST_EMPTY && mode == TAGLIST_SKIP_EMPTY)
			continue;
		if (item == TAGLIST_EMPTY)
			return refuse(err, errlen, *count == 0 ? "empty tag list" :
			    "empty tag between two ';'", spec);
		if (item == TAGLIST_NOT_TAG)
			return refuse(err, errlen, "not tag=value", spec);
		if (item == TAGLIST_BAD_NAME)
			return refuse(err, errlen, "invalid tag name", spec);
		if (item == TAGLIST_BAD_VALUE)
			return refuse(err, errlen, "invalid character in tag value", spec);
		for (size_t i = 0; i < *count; i++)
			if (names_equal(tags[i].name, t.name))
				return refuse(err, errlen, "tag appears twice", spec);
		if (*count == max)
			return refuse(err, errlen, "too many tags", spec);
		tags[(*count)++] = t;
	}
	if (*count == 0)
		return refuse(err, errlen, "empty tag list", span_of(text, len));
	return 1;
}

const struct tag *taglist_find(const struct tag *tags, size_t count, const char *name)
{
	for (size_t i = 0; i < count; i++)
		if (span_is(tags[i].name, name))
			return &tags[i];
	return NULL;
}

int	taglist_list_next(struct span *list, struct span *item)
{
	size_t	end = 0;

	if (list->p == NULL)
		return 0;
	while (end < list->len && list->p[end] != ':')
		end++;
	*item = trim(span_of(list->p, end), TAGLIST_FWS);
	if (end < list->len) {
		list->p += end + 1;
		list->len -= end + 1;
	} else {
		*list = span_of(NULL, 0);
	}
	return 1;
}

int	taglist_list_has(struct span list, const char *word)
{
	struct span item;

	while (taglist_list_next(&list, &item))
		if (span_is_nocase(item, word))
			return 1;
	return 0;
}

int	taglist_value_compact(struct span value, char *out, size_t size)
{
	size_t	n = 0;

	for (size_t i = 0; i < value.len; i++) {
		if (is_space((unsigned char)value.p[i], TAGLIST_FWS))
			continue;
		if (n + 1 >= size) {
			if (size > 0)
				out[0] = '\0';
			return 0;
		}
		out[n++] = value.p[i];
	}
	if (size > 0)
		out[n] = '\0';
	return size > 0;
}
