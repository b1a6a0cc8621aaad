/*
 * NAME
 *	grow.h - make room in a growing array
 * SYNOPSIS
 *	#include "lib/grow.h"
 *
 *	struct item *grown = array_grow(list->items, &list->cap, list->count + 1,
 *	    sizeof(*grown));
 *	if (grown == NULL)
 *		... out of memory: list->items and list->cap are unchanged ...
 *	list->items = grown;
 *	list->items[list->count++] = item;
 * DESCRIPTION
 *	array_grow() returns array with room for at least need elements of size bytes,
 *	doubling the capacity (from 8) so that n additions cost O(n), the multiplication
 *	checked for overflow; *cap is updated only on success.  NULL when memory ran out
 *	or the size overflows.
 */
#ifndef SIGNET_GROW_H
#define SIGNET_GROW_H

#include <stddef.h>

void   *array_grow(void *array, size_t *cap, size_t need, size_t size);

#endif
