/*
 * NAME
 *	waitzero.h - wait, up to a deadline, for a counter under a lock to reach zero
 * SYNOPSIS
 *	#include "lib/waitzero.h"
 *
 *	unsigned left = wait_for_zero(&cond, &lock, &count, seconds);
 * DESCRIPTION
 *	Takes lock, waits on cond (signalled, under lock, when count drops to zero) until
 *	count is zero or SECONDS have passed on CLOCK_REALTIME (the clock of a condition
 *	variable made with PTHREAD_COND_INITIALIZER), and returns what count was then.  The
 *	drain of messages in flight (flight.c) and the end of the milter engine's
 *	connections (engine.c) wait this way.
 */
#ifndef SIGNET_WAITZERO_H
#define SIGNET_WAITZERO_H

#include <pthread.h>
#include <time.h>

static inline unsigned wait_for_zero(pthread_cond_t *cond, pthread_mutex_t *lock,
    const unsigned *count, unsigned seconds)
{
	struct timespec deadline;
	unsigned left;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += seconds;
	pthread_mutex_lock(lock);
	while (*count > 0 && pthread_cond_timedwait(cond, lock, &deadline) == 0)
		;
	left = *count;
	pthread_mutex_unlock(lock);
	return left;
}

#endif
