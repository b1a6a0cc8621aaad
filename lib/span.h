/*
 * NAME
 *	span.h - a length-counted view of bytes that someone else owns
 * SYNOPSIS
 *	#include "lib/span.h"
 * DESCRIPTION
 *	A span points into a buffer it does not own (a header value, a DNS answer) and is
 *	never assumed to be NUL-terminated: every parser that reads bytes from the network
 *	walks spans by their length.
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

#endif
