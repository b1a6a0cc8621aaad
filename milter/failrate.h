/*
 * NAME
 *	failrate.h - at most N DMARC failure reports per destination per hour, in memory
 * SYNOPSIS
 *	#include "milter/failrate.h"
 *
 *	struct failrate *r = failrate_new(FAILRATE_SLOTS);
 *	if (failrate_take(r, "dmarc-ruf@example.com", per_hour, now)) ... send ...
 *	failrate_free(r);
 * DESCRIPTION
 *	One counter per destination address (compared without regard to case), in fixed
 *	hour-long windows that start with the first report to it.  failrate_take() counts one
 *	report and says whether it is within the limit.  The table holds at most the number
 *	of destinations it was made for: when it is full, destinations whose window has
 *	ended are forgotten first; if none has, a report to a new destination is refused (a
 *	stranger who publishes many ruf= addresses cannot grow it, nor reset the counters of
 *	others).  Not thread-safe: one owner (the failure-report thread) uses it.
 * DIAGNOSTICS
 *	failrate_new() returns NULL when memory runs out.  failrate_take() returns 1 when the
 *	report may go, 0 when the limit (or the table) is full.
 * SEE ALSO
 *	failreport.h, RFC 9991 sections 2 and 7.1
 */
#ifndef SIGNET_FAILRATE_H
#define SIGNET_FAILRATE_H

#include <stddef.h>
#include <time.h>

#define FAILRATE_SLOTS		4096	/* destinations remembered at once */
#define FAILRATE_WINDOW		3600	/* seconds */

struct failrate;

struct failrate *failrate_new(size_t slots);
int	failrate_take(struct failrate *r, const char *destination, long per_hour, time_t now);
void	failrate_free(struct failrate *r);

#endif
