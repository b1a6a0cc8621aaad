/*
 * NAME
 *	domain.c - domain name syntax, written down once (see domain.h)
 */
#include "lib/domain.h"

static int byte_ok(unsigned char c, unsigned flags)
{
	if (flags & DOMAIN_ANY_BYTE)
		return 1;
	if (flags & DOMAIN_OCTETS)
		return c > ' ' && c != 0x7f && c != '\\';
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '-' || (c == '_' && (flags & DOMAIN_UNDERSCORE));
}

int	domain_check(const char *name, size_t len, unsigned flags, char *out, size_t outsize)
{
	size_t	label = 0;
	int	labels = 0;

	if (name == NULL)
		return 0;
	if ((flags & DOMAIN_FINAL_DOT) && len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > DOMAIN_TEXT_MAX || (out != NULL && len >= outsize))
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			if (label == 0)
				return 0;	/* an empty label */
			label = 0;
		} else {
			if (!byte_ok(c, flags) || ++label > DOMAIN_LABEL_MAX)
				return 0;
			if (label == 1)
				labels++;
		}
		if (out != NULL)
			out[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	if (label == 0)
		return 0;
	if (out != NULL)
		out[len] = '\0';
	return labels;
}
