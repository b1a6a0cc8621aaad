/*
 * NAME
 *	arfields.c - which Authentication-Results fields of a message carry our id
 * DESCRIPTION
 *	See arfields.h.  A bitmap indexed by occurrence, grown by doubling; recognising a
 *	field as ours is authres_is_ours()'s job.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/alloc.h"
#include "milter/arfields.h"
#include "milter/authres.h"

/* Makes room for bit index; 0 when memory ran out. */
static int reserve(struct arfields *ar, size_t index)
{
	size_t	need = index / 8 + 1, bytes;
	unsigned char *grown;

	if (need <= ar->bytes)
		return 1;
	for (bytes = ar->bytes ? ar->bytes : 16; bytes < need; bytes *= 2)
		;
	if ((grown = mem_realloc(ar->forged, bytes)) == NULL)
		return 0;
	memset(grown + ar->bytes, 0, bytes - ar->bytes);
	ar->forged = grown;
	ar->bytes = bytes;
	return 1;
}

void	arfields_add(struct arfields *ar, const char *value, const char *authserv_id)
{
	size_t	index = ar->seen++;

	if (!authres_is_ours(value, authserv_id))
		return;
	if (!reserve(ar, index)) {
		ar->incomplete = 1;
		return;
	}
	ar->forged[index / 8] |= (unsigned char)(1u << (index % 8));
	ar->forged_count++;
}

size_t	arfields_forged_before(const struct arfields *ar, size_t n)
{
	size_t	index = n > ar->bytes * 8 ? ar->bytes * 8 : n - 1;	/* below n, 0-based */

	if (n == 0)
		return 0;
	while (index-- > 0)
		if (ar->forged[index / 8] & (1u << (index % 8)))
			return index + 1;
	return 0;
}

int	arfields_complete(const struct arfields *ar)
{
	return !ar->incomplete;
}

void	arfields_free(struct arfields *ar)
{
	free(ar->forged);
	memset(ar, 0, sizeof(*ar));
}
