/*
 * NAME
 *	listitem.h - walk a configuration list ("a, b c,d": commas and/or blanks)
 * SYNOPSIS
 *	const char *cursor = value; char item[128]; int r;
 *	while ((r = list_next_item(&cursor, item, sizeof(item))) > 0) ...
 * DESCRIPTION
 *	Returns 1 with the next item copied into out, 0 at the end of the list, or -1 when
 *	the item does not fit (out then holds its beginning, for the error message).
 */
#ifndef SIGNET_LISTITEM_H
#define SIGNET_LISTITEM_H

#include <stddef.h>

int	list_next_item(const char **cursor, char *out, size_t size);

#endif
