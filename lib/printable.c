/*
 * NAME
 *	printable.c - the one sanitizer for text taken from mail or DNS (see printable.h)
 */
#include <string.h>

#include "lib/printable.h"

static char safe(unsigned char c, const char *also)
{
	if (c < 0x20 || c > 0x7e || (also != NULL && strchr(also, c) != NULL))
		return '?';
	return (char)c;
}

int	printable_copy(char *out, size_t size, const char *text, const char *also)
{
	size_t	n = 0;

	if (size == 0)
		return 0;
	for (; text[n] != '\0'; n++) {
		if (n + 1 >= size) {
			out[n] = '\0';
			return 0;
		}
		out[n] = safe((unsigned char)text[n], also);
	}
	out[n] = '\0';
	return 1;
}

void	printable_in_place(char *text, const char *also)
{
	for (; *text != '\0'; text++)
		*text = safe((unsigned char)*text, also);
}
