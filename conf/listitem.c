/*
 * NAME
 *	listitem.c - walk a configuration list, one bounded item at a time
 */
#include <string.h>

#include "conf/listitem.h"

#define LIST_SEPARATORS ", \t"

int	list_next_item(const char **cursor, char *out, size_t size)
{
	const char *p = *cursor + strspn(*cursor, LIST_SEPARATORS);
	size_t	len = strcspn(p, LIST_SEPARATORS);
	size_t	copy = len < size ? len : size - 1;

	*cursor = p + len;
	if (len == 0)
		return 0;
	memcpy(out, p, copy);
	out[copy] = '\0';
	return len < size ? 1 : -1;
}
