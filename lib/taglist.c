/*
 * NAME
 *	taglist.c - RFC 6376 section 3.2 tag lists, parsed in place over a span
 * DESCRIPTION
 *	See taglist.h for the grammar.  One pass over the bytes, each tag-spec cut at the
 *	next ';' (VALCHAR excludes ';', so a value never contains one), then checked: a
 *	name, optional white space, '=', and a value whose bytes are VALCHAR or white space.
 *	Errors quote at most a short excerpt of the text, with unsafe bytes shown as '?'.
 */
#include <stdio.h>
#include <string.h>

#include "lib/taglist.h"

#define EXCERPT_MAX 40

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_valchar(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != ';';
}

static struct span trim(struct span s)
{
	while (s.len > 0 && is_space((unsigned char)s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && is_space((unsigned char)s.p[s.len - 1]))
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

static int value_valid(struct span s)
{
	for (size_t i = 0; i < s.len; i++)
		if (!is_valchar((unsigned char)s.p[i]) && !is_space((unsigned char)s.p[i]))
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

int	taglist_parse(const char *text, size_t len, enum taglist_mode mode, struct tag *tags,
    size_t max, size_t *count, char *err, size_t errlen)
{
	size_t	at = 0;

	*count = 0;
	while (at <= len) {
		size_t	end = at;

		while (end < len && text[end] != ';')
			end++;
		struct span raw = span_of(text + at, end - at);
		struct span spec = trim(raw);
		int	last = end >= len;

		at = end + 1;
		if (spec.len == 0) {
			/* Only the optional ';' at the very end may be followed by nothing. */
			if (last && *count > 0)
				break;
			if (mode == TAGLIST_SKIP_EMPTY)
				continue;
			return refuse(err, errlen, *count == 0 ? "empty tag list" :
			    "empty tag between two ';'", raw);
		}
		const char *eq = memchr(spec.p, '=', spec.len);
		if (eq == NULL)
			return refuse(err, errlen, "not tag=value", spec);
		struct tag t = {
			.name = trim(span_of(spec.p, (size_t)(eq - spec.p))),
			.value = trim(span_of(eq + 1, spec.len - (size_t)(eq + 1 - spec.p))),
		};
		if (!name_valid(t.name))
			return refuse(err, errlen, "invalid tag name", spec);
		if (!value_valid(t.value))
			return refuse(err, errlen, "invalid character in tag value", spec);
		for (size_t i = 0; i < *count; i++)
			if (names_equal(tags[i].name, t.name))
				return refuse(err, errlen, "tag appears twice", spec);
		if (*count == max)
			return refuse(err, errlen, "too many tags", spec);
		tags[(*count)++] = t;
		if (last)
			break;
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

int	taglist_value_compact(struct span value, char *out, size_t size)
{
	size_t	n = 0;

	for (size_t i = 0; i < value.len; i++) {
		if (is_space((unsigned char)value.p[i]))
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
