/*
 * NAME
 *	monotonic.h - deadlines on CLOCK_MONOTONIC, in milliseconds
 * SYNOPSIS
 *	#include "lib/monotonic.h"
 *
 *	struct timespec deadline = timespec_add_ms(now_monotonic(), timeout_ms);
 *	while (timespec_before(now_monotonic(), deadline)) ...
 * DESCRIPTION
 *	Timeouts (the resolver's, a store's) are measured on the monotonic clock, which
 *	neither NTP nor an operator can step; a struct timespec on it also serves
 *	pthread_cond_timedwait() with a condition variable set to CLOCK_MONOTONIC.
 */
#ifndef SIGNET_MONOTONIC_H
#define SIGNET_MONOTONIC_H

#include <time.h>

static inline struct timespec now_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

static inline struct timespec timespec_add_ms(struct timespec ts, unsigned ms)
{
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static inline int timespec_before(struct timespec a, struct timespec b)
{
	return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

#endif
