/*
 * NAME
 *	failrate.c - the per-destination limit of DMARC failure reports (see failrate.h)
 * DESCRIPTION
 *	A plain array searched linearly: a few thousand destinations at most, one lookup per
 *	report sent, on a thread that then waits for sendmail anyway.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/alloc.h"
#include "milter/failrate.h"

struct failrate_slot {
	char   *destination;		/* NULL: free */
	time_t	window_start;
	long	count;
};

struct failrate {
	struct failrate_slot *slots;
	size_t	size;
};

struct failrate *failrate_new(size_t slots)
{
	struct failrate *r = mem_calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	if ((r->slots = mem_calloc(slots, sizeof(*r->slots))) == NULL) {
		free(r);
		return NULL;
	}
	r->size = slots;
	return r;
}

static int window_over(const struct failrate_slot *s, time_t now)
{
	return now - s->window_start >= FAILRATE_WINDOW || now < s->window_start;
}

/* The slot of destination, or a free (or expired, then emptied) one; NULL when full. */
static struct failrate_slot *find_slot(struct failrate *r, const char *destination,
    time_t now)
{
	struct failrate_slot *free_slot = NULL;

	for (size_t i = 0; i < r->size; i++) {
		struct failrate_slot *s = &r->slots[i];

		if (s->destination != NULL && strcasecmp(s->destination, destination) == 0)
			return s;
		if (free_slot == NULL && (s->destination == NULL || window_over(s, now)))
			free_slot = s;
	}
	if (free_slot != NULL) {
		free(free_slot->destination);
		free_slot->destination = NULL;
	}
	return free_slot;
}

int	failrate_take(struct failrate *r, const char *destination, long per_hour, time_t now)
{
	struct failrate_slot *s = find_slot(r, destination, now);

	if (s == NULL)
		return 0;
	if (s->destination == NULL) {
		if ((s->destination = mem_strdup(destination)) == NULL)
			return 0;
		s->window_start = now;
		s->count = 0;
	} else if (window_over(s, now)) {
		s->window_start = now;
		s->count = 0;
	}
	if (s->count >= per_hour)
		return 0;
	s->count++;
	return 1;
}

void	failrate_free(struct failrate *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->size; i++)
		free(r->slots[i].destination);
	free(r->slots);
	free(r);
}
