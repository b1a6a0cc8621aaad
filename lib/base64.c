/*
 * NAME
 *	base64.c - decode DKIM's base64string (see base64.h)
 * DESCRIPTION
 *	One pass: white space is skipped, every other character must be in the alphabet
 *	until padding starts, after which only padding and white space may follow.  Groups
 *	of four characters become three bytes, the last group fewer when padded.
 */
#include "lib/base64.h"

static int value_of(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int	base64_decode(const char *text, size_t len, unsigned char *out, size_t size,
    size_t *outlen)
{
	unsigned long group = 0;
	size_t	chars = 0, pad = 0, n = 0;

	*outlen = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		int	v;

		if (is_space(c))
			continue;
		if (c == '=') {
			if (++pad > 2)
				return 0;
			v = 0;
		} else if (pad > 0 || (v = value_of(c)) < 0) {
			return 0;
		}
		group = group << 6 | (unsigned long)v;
		if (++chars % 4 != 0)
			continue;
		/* A whole group: three bytes, less the padding. */
		for (size_t k = 0; k < 3 - pad; k++) {
			if (out != NULL) {
				if (n >= size)
					return 0;
				out[n] = (unsigned char)(group >> (16 - 8 * k));
			}
			n++;
		}
		group = 0;
	}
	if (chars == 0 || chars % 4 != 0)
		return 0;
	*outlen = n;
	return 1;
}
