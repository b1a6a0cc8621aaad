/*
 * NAME
 *	msgfeed.h - a whole message handed over as an MTA's milter client would, for tests
 * SYNOPSIS
 *	#include "tests/unit/msgfeed.h"
 *
 *	struct msgfeed feed = {on_header, on_end_of_headers, on_body, context};
 *	msgfeed(&feed, data, len);
 * DESCRIPTION
 *	The header fields one by one, up to the blank line or a line that is not a field
 *	(which begins the body): the name before the colon, the value after it with its
 *	folded lines as they are and without the final line end, each as a C string (a NUL
 *	byte ends it, as through libmilter); then the end of the header; then the rest, the
 *	body, in two chunks split mid-way, its line ends as they are (LF or CRLF: canon.c
 *	takes both).  tests/fuzz/fuzz-verify.c and tests/conformance/arc-query.c use it.
 */
#ifndef SIGNET_TESTS_MSGFEED_H
#define SIGNET_TESTS_MSGFEED_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct msgfeed {
	void	(*header)(void *context, const char *name, const char *value);
	void	(*end_of_headers)(void *context);
	void	(*body)(void *context, const unsigned char *data, size_t len);
	void   *context;
};

/* The length of the line at p, its LF included. */
static inline size_t msgfeed_line_length(const uint8_t *p, size_t left)
{
	const uint8_t *lf = memchr(p, '\n', left);

	return lf != NULL ? (size_t)(lf - p) + 1 : left;
}

/* The length without the line end (LF, CRLF). */
static inline size_t msgfeed_without_eol(const uint8_t *p, size_t len)
{
	if (len > 0 && p[len - 1] == '\n')
		len--;
	if (len > 0 && p[len - 1] == '\r')
		len--;
	return len;
}

static inline char *msgfeed_copy(const uint8_t *p, size_t len)
{
	char   *s = strndup((const char *)p, len);

	if (s == NULL)
		abort();
	return s;
}

static inline void msgfeed(const struct msgfeed *f, const uint8_t *data, size_t len)
{
	size_t	pos = 0, half;

	while (pos < len) {
		size_t	n = msgfeed_line_length(data + pos, len - pos), end = pos + n;
		const uint8_t *colon = memchr(data + pos, ':', n);
		char   *name, *value;

		if (msgfeed_without_eol(data + pos, n) == 0) {
			pos = end;	/* the blank line */
			break;
		}
		if (colon == NULL)
			break;		/* not a field: the body begins */
		while (end < len && (data[end] == ' ' || data[end] == '\t'))
			end += msgfeed_line_length(data + end, len - end);
		name = msgfeed_copy(data + pos, (size_t)(colon - (data + pos)));
		value = msgfeed_copy(colon + 1, msgfeed_without_eol(colon + 1,
		    (size_t)(data + end - colon - 1)));
		f->header(f->context, name, value);
		free(name);
		free(value);
		pos = end;
	}
	f->end_of_headers(f->context);
	half = (len - pos) / 2;
	if (half > 0)
		f->body(f->context, data + pos, half);
	if (len - pos - half > 0)
		f->body(f->context, data + pos + half, len - pos - half);
}

#endif
