/*
 * NAME
 *	buffer.h - the one growable byte string
 * SYNOPSIS
 *	#include "lib/buffer.h"
 *
 *	struct buffer b = {0};
 *	if (!buffer_append(&b, data, len) || !buffer_printf(&b, "%d", n)) ... out of memory
 *	... b.data, b.len (always NUL-terminated once anything was appended) ...
 *	buffer_free(&b);
 * DESCRIPTION
 *	The owner of a buffer frees it once with buffer_free(); growth doubles, so
 *	appending n bytes costs O(n) in all.  Every function returns 0 when memory ran out
 *	(the buffer then keeps what it held).
 */
#ifndef SIGNET_BUFFER_H
#define SIGNET_BUFFER_H

#include <stddef.h>

struct buffer {
	char   *data;
	size_t	len;
	size_t	cap;
};

int	buffer_append(struct buffer *buf, const void *data, size_t len);
int	buffer_append_str(struct buffer *buf, const char *s);
int	buffer_printf(struct buffer *buf, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	buffer_free(struct buffer *buf);

#endif
