/*
 * NAME
 *	flight.c - count the messages in flight, so SIGTERM can let them finish
 * DESCRIPTION
 *	One counter and one flag under one lock: a drain that saw no message in flight can
 *	never be followed by one starting, since starting tests the flag under the same lock.
 */
#include <pthread.h>

#include "lib/waitzero.h"
#include "milter/flight.h"

static pthread_mutex_t flight_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t flight_done = PTHREAD_COND_INITIALIZER;
static unsigned messages_in_flight;
static int stopping;

int	flight_begin(void)
{
	int	ok;

	pthread_mutex_lock(&flight_lock);
	if ((ok = !stopping))
		messages_in_flight++;
	pthread_mutex_unlock(&flight_lock);
	return ok;
}

void	flight_hold(void)
{
	pthread_mutex_lock(&flight_lock);
	messages_in_flight++;
	pthread_mutex_unlock(&flight_lock);
}

void	flight_end(void)
{
	pthread_mutex_lock(&flight_lock);
	if (messages_in_flight > 0 && --messages_in_flight == 0)
		pthread_cond_broadcast(&flight_done);
	pthread_mutex_unlock(&flight_lock);
}

void	flight_stop_accepting(void)
{
	pthread_mutex_lock(&flight_lock);
	stopping = 1;
	pthread_mutex_unlock(&flight_lock);
}

int	flight_stopping(void)
{
	int	value;

	pthread_mutex_lock(&flight_lock);
	value = stopping;
	pthread_mutex_unlock(&flight_lock);
	return value;
}

unsigned flight_wait_idle(unsigned seconds)
{
	return wait_for_zero(&flight_done, &flight_lock, &messages_in_flight, seconds);
}
