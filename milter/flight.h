/*
 * NAME
 *	flight.h - messages in flight, for a shutdown that lets them finish
 * SYNOPSIS
 *	#include "milter/flight.h"
 * DESCRIPTION
 *	flight_begin() counts a message in unless shutdown has begun (0 then: the message is
 *	tempfailed); flight_end() counts it out.  flight_stop_accepting() starts the shutdown,
 *	flight_wait_idle() waits up to seconds for the messages in flight and returns how
 *	many are still running.  flight_hold() counts one in even after shutdown has begun:
 *	a message refused at a step the MTA did not wait for, whose refusal must still be
 *	said (flight_end() counts it out).  Thread-safe.
 */
#ifndef SIGNET_FLIGHT_H
#define SIGNET_FLIGHT_H

int	flight_begin(void);
void	flight_hold(void);
void	flight_end(void);
void	flight_stop_accepting(void);
int	flight_stopping(void);
unsigned flight_wait_idle(unsigned seconds);

#endif
