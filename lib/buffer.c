/*
 * NAME
 *	buffer.c - the one growable byte string (see buffer.h)
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/alloc.h"
#include "lib/buffer.h"

/* Makes room for len more bytes and a NUL. */
static int reserve(struct buffer *buf, size_t len)
{
	size_t	cap = buf->cap ? buf->cap : 256;
	char   *grown;

	if (buf->data != NULL && len < buf->cap - buf->len)
		return 1;
	if (len > SIZE_MAX / 2 - buf->len)
		return 0;
	while (cap - buf->len < len + 1)
		cap *= 2;
	if ((grown = mem_realloc(buf->data, cap)) == NULL)
		return 0;
	buf->data = grown;
	buf->cap = cap;
	return 1;
}

int	buffer_append(struct buffer *buf, const void *data, size_t len)
{
	if (!reserve(buf, len))
		return 0;
	if (len > 0)
		memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
	return 1;
}

int	buffer_append_str(struct buffer *buf, const char *s)
{
	return buffer_append(buf, s, strlen(s));
}

int	buffer_printf(struct buffer *buf, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !reserve(buf, (size_t)n))
		return 0;
	va_start(ap, fmt);
	(void)vsnprintf(buf->data + buf->len, buf->cap - buf->len, fmt, ap);
	va_end(ap);
	buf->len += (size_t)n;
	return 1;
}

void	buffer_free(struct buffer *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->len = buf->cap = 0;
}
