/*
 * NAME
 *	grow.c - geometric growth of an array, overflow-checked (see grow.h)
 */
#include <stdint.h>

#include "lib/alloc.h"
#include "lib/grow.h"

void   *array_grow(void *array, size_t *cap, size_t need, size_t size)
{
	size_t	n = *cap ? *cap : 8;
	void   *grown;

	if (need <= *cap && array != NULL)
		return array;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return NULL;
		n *= 2;
	}
	if (size == 0 || n > SIZE_MAX / size || (grown = mem_realloc(array, n * size)) == NULL)
		return NULL;
	*cap = n;
	return grown;
}
