/*
 * NAME
 *	reportstore-redis.c - the report store in Redis (not written yet)
 */
#include <stdio.h>

#include "lib/reportstore-backend.h"

struct reportstore *reportstore_redis_open(const char *spec, char *err, size_t errlen)
{
	snprintf(err, errlen, "report store %.120s: Redis is not supported yet", spec);
	return NULL;
}
