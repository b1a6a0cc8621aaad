/*
 * NAME
 *	span.h - a length-counted view of bytes that someone else owns
 * SYNOPSIS
 *	#include "lib/span.h"
 * DESCRIPTION
 *	A span points into a buffer it does not own (a header value, a DNS answer) and is
 *	never assumed to be NUL-terminated: every parser that reads bytes from the network
 *	walks spans by their length.
 *
 *	span_is() compares with a word byte for byte; span_is_nocase() ignores ASCII case
 *	only (RFC 5234 string literals: tag names and keywords of SPF and DMARC records),
 *	whatever the locale; span_equal_nocase() compares two spans so (domain names).
 */
#ifndef SIGNET_SPAN_H
#define SIGNET_SPAN_H

#include <stddef.h>
#include <string.h>

struct span {
	const char *p;
	size_t	len;
};

static inline struct span span_of(const char *p, size_t len)
{
	struct span s = {p, len};

	return s;
}

/* 1 when the span holds exactly word (case-sensitive). */
static inline int span_is(struct span s, const char *word)
{
	return s.len == strlen(word) && memcmp(s.p, word, s.len) == 0;
}

static inline unsigned char span_ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* 1 when the spans hold the same bytes, ignoring ASCII case. */
static inline int span_equal_nocase(struct span a, struct span b)
{
	if (a.len != b.len)
		return 0;
	for (size_t i = 0; i < a.len; i++)
		if (span_ascii_lower((unsigned char)a.p[i]) != span_ascii_lower((unsigned char)b.p[i]))
			return 0;
	return 1;
}

/* 1 when the span holds exactly word, ignoring ASCII case. */
static inline int span_is_nocase(struct span s, const char *word)
{
	if (s.len != strlen(word))
		return 0;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char a = (unsigned char)s.p[i], b = (unsigned char)word[i];

		if (span_ascii_lower(a) != span_ascii_lower(b))
			return 0;
	}
	return 1;
}

#endif
