/*
 * NAME
 *	slidewin.h - a sliding-window counter in two buckets, and its arithmetic
 * SYNOPSIS
 *	#include "milter/slidewin.h"
 *
 *	struct slidewin w = {0};
 *	slidewin_roll(&w, 3600, now);
 *	if (slidewin_fits(w.prev, w.cur, 3600, now, 1, limit)) w.cur += 1;
 *	else wait = slidewin_wait(w.prev, w.cur, 3600, now, 1, limit);
 * DESCRIPTION
 *	Rate limits count in windows of W seconds (a minute, an hour, a day) that slide
 *	with the clock.  Keeping every event's time would cost memory per message; this
 *	keeps two counts per window instead, whatever the traffic: cur, the events of the
 *	current fixed bucket [kW, (k+1)W), and prev, those of the bucket before.  At e
 *	seconds into the current bucket the count of the last W seconds is estimated as
 *
 *	    prev * (W - e) / W + cur
 *
 *	as if the previous bucket's events had been spread evenly over it.  amount more
 *	fits when the estimate plus amount is at most the limit, computed exactly in
 *	integers: prev * (W - e) + (cur + amount) * W <= limit * W.
 *
 *	Accuracy.  Never more than the limit is accepted inside one bucket, since the
 *	estimate is at least cur.  Over an arbitrary W-second interval the count can exceed
 *	the limit only when the previous bucket's events were bunched at its end: the worst
 *	case, a full limit sent in the last second of a bucket and then steady sending,
 *	lets through nearly twice the limit in the W seconds that straddle the boundary
 *	(tests/unit/test-ratelimit measures 59 for msg/min=30).  Otherwise it errs on the
 *	strict side: the previous bucket weighs until the very end of the current one, so a
 *	sender that tries without pause settles a little under the limit (29 a minute under
 *	msg/min=30, 299 an hour under msg/hour=300), and for a tiny limit the rounding shows
 *	(msg/min=2 tried every 5 s lets 2, then 1 a minute through).  With ordinary traffic
 *	the estimate is within a few percent (Cloudflare reported 0.003% of requests wrongly
 *	allowed or refused over 400 million).  slidewin_wait() is exact for the estimate: at
 *	now + wait the same amount fits, one second earlier it does not.
 *
 *	Time is whatever the caller passes (seconds; tests inject it), never read here.  A
 *	clock that steps back is taken as still in the latest bucket seen (its counts are
 *	kept, not lost).  This file is the
 *	C side; ratestore-redis.c holds the same arithmetic in Lua, and the tests run both
 *	through the same cases.
 */
#ifndef SIGNET_SLIDEWIN_H
#define SIGNET_SLIDEWIN_H

#include <stdint.h>
#include <time.h>

struct slidewin {
	uint32_t prev;		/* events in the bucket before the current one */
	uint32_t cur;		/* events in the current bucket */
	uint32_t bucket;	/* now / W of the current bucket */
};

/* Moves w to the bucket of now (cur to prev, or both to 0 after a longer gap); 1 when
 * the bucket changed, so that per-bucket flags can be cleared. */
int	slidewin_roll(struct slidewin *w, uint32_t seconds, time_t now);
/* 1 when amount more fits under limit at now; prev and cur as rolled to now. */
int	slidewin_fits(uint32_t prev, uint32_t cur, uint32_t seconds, time_t now,
	    uint32_t amount, uint32_t limit);
/* Seconds from now until amount fits (0: it fits now); amount over limit never fits,
 * and then the answer is W. */
uint32_t slidewin_wait(uint32_t prev, uint32_t cur, uint32_t seconds, time_t now,
	    uint32_t amount, uint32_t limit);
/* The estimate at now, rounded up: for log lines. */
uint32_t slidewin_count(uint32_t prev, uint32_t cur, uint32_t seconds, time_t now);

#endif
