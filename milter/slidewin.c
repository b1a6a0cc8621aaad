/*
 * NAME
 *	slidewin.c - two-bucket sliding-window counters (see slidewin.h for the design)
 * DESCRIPTION
 *	All products are taken in 64 bits: counts stay under 2^32 and windows at most two
 *	days (ratestore_check_valid()), so no product nears 2^63.
 */
#include "milter/slidewin.h"

/* Seconds since the start of now's bucket (the same when the clock stepped back into an
 * earlier bucket than the one kept: only the weight of prev is then approximate). */
static uint64_t elapsed(uint32_t seconds, time_t now)
{
	uint64_t t = now > 0 ? (uint64_t)now : 0;

	return t % seconds;
}

int	slidewin_roll(struct slidewin *w, uint32_t seconds, time_t now)
{
	uint64_t bucket = (now > 0 ? (uint64_t)now : 0) / seconds;

	if (bucket <= w->bucket)
		return 0;
	w->prev = bucket == (uint64_t)w->bucket + 1 ? w->cur : 0;
	w->cur = 0;
	w->bucket = (uint32_t)bucket;
	return 1;
}

/* Whether amount fits e seconds into the bucket. */
static int fits_at(uint64_t prev, uint64_t cur, uint64_t seconds, uint64_t e,
    uint64_t amount, uint64_t limit)
{
	return prev * (seconds - e) + (cur + amount) * seconds <= limit * seconds;
}

int	slidewin_fits(uint32_t prev, uint32_t cur, uint32_t seconds, time_t now,
    uint32_t amount, uint32_t limit)
{
	return fits_at(prev, cur, seconds, elapsed(seconds, now), amount, limit);
}

/*
 * Within this bucket, waiting d seconds leaves prev * (W - e - d) of weight: amount
 * fits once d >= W - e - floor((limit - cur - amount) * W / prev).  When cur + amount
 * is over the limit already, only the next bucket helps: there cur becomes prev, and
 * d' seconds into it amount fits once d' >= W - floor((limit - amount) * W / cur).
 */
uint32_t slidewin_wait(uint32_t prev, uint32_t cur, uint32_t seconds, time_t now,
    uint32_t amount, uint32_t limit)
{
	uint64_t e = elapsed(seconds, now), w = seconds, room, keep;

	if (amount > limit)
		return seconds;
	if (fits_at(prev, cur, w, e, amount, limit))
		return 0;
	if ((uint64_t)cur + amount <= limit) {
		room = ((uint64_t)limit - cur - amount) * w / prev;	/* prev > 0 here */
		return (uint32_t)(w - e - room);
	}
	keep = ((uint64_t)limit - amount) * w / cur;			/* cur > 0 here */
	return (uint32_t)(w - e + w - keep);
}

uint32_t slidewin_count(uint32_t prev, uint32_t cur, uint32_t seconds, time_t now)
{
	uint64_t e = elapsed(seconds, now);
	uint64_t weighted = ((uint64_t)prev * (seconds - e) + seconds - 1) / seconds;
	uint64_t sum = weighted + cur;

	return sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
}
