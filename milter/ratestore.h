/*
 * NAME
 *	ratestore.h - where rate-limit counters live: in this process, or in Redis
 * SYNOPSIS
 *	#include "milter/ratestore.h"
 *
 *	struct ratestore *store = ratestore_memory_new(1000000);	(at start)
 *	struct ratestore *store = ratestore_redis_new("redis://10.0.0.5:6379/0", &options,
 *	    err, sizeof(err));
 *
 *	struct ratestore_check c = {.user = key, .amount = 1, .now = now, .count = 2,
 *	    .windows = {{RATE_RCPT_HOUR, 3600, 500}, {RATE_RCPT_DAY, 86400, 2000}}};
 *	if (!ratestore_check_add(store, &c, err, sizeof(err))) ... the store is down ...
 *	ratestore_free(store);					(at exit)
 * DESCRIPTION
 *	The policy (ratelimit.h) asks a store two things, each one atomic at the store, so
 *	that every thread of a daemon and every daemon sharing a Redis sees one count:
 *
 *	ratestore_check_add(): for user, roll each window's two buckets to now
 *	(slidewin.h); if amount fits under the limit of every window, add it to all of them
 *	(c->added = 1), else add nothing (c->added = 0).  Either way each window reports its
 *	buckets after the call (prev, cur), whether amount was over its limit (over) and,
 *	when it was, whether this is the first refusal of that window's counter in its
 *	current bucket (first_over): the caller logs one warning per user per window, not
 *	one per message, and a fleet logs it once, not once per daemon.
 *
 *	ratestore_client_seen(): whether user submitted from client network within the
 *	last window seconds (s->seen), recording that it does now (NewClientWindow).
 *
 *	A window is named by its slot, one of RATESTORE_SLOTS counters a store keeps per
 *	user (ratelimit.h numbers them); a window that is not passed is not counted.  The
 *	clock is the caller's (now, in seconds): a store never reads one, so tests inject
 *	it and a fleet sharing Redis must keep its clocks in step (NTP), as it does for mail
 *	anyway.  user is the normal form of mailuser_key(), at most MAILUSER_MAX bytes;
 *	network is text such as "192.0.2.0/24", at most RATESTORE_NETWORK_MAX bytes.
 *
 *	Both calls return 1, or 0 with err set when the store could not answer (Redis
 *	unreachable or too slow, memory exhausted); the caller then applies
 *	RateLimitStoreDown (accept or tempfail).  A store is safe to use from any number of
 *	threads.
 *
 *	Lifetime.  A store holds counters, not configuration: the daemon makes one at start
 *	and keeps it across reloads, while the RateLimits table (limits per user) is part of
 *	each configuration generation and is passed to every call through the windows.  A
 *	reload that changes RateLimitStore itself makes a new store and frees the old one
 *	once no message uses it.
 * SEE ALSO
 *	ratestore-memory.c, ratestore-redis.c, ratelimit.h, slidewin.h
 */
#ifndef SIGNET_RATESTORE_H
#define SIGNET_RATESTORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/redisconn.h"

#define RATESTORE_SLOTS		5	/* counters per user: RATE_LIMITS in ratelimit.h */
#define RATESTORE_NETWORK_MAX	64	/* bytes of a client network's text */

struct ratestore_window {
	unsigned slot;		/* in: which counter, 0 .. RATESTORE_SLOTS - 1 */
	uint32_t seconds;	/* in: its window, 1 .. 2 days */
	uint32_t limit;		/* in: at most this many in a window */
	uint32_t prev;		/* out: the previous bucket's count */
	uint32_t cur;		/* out: the current bucket's, amount included if added */
	int	over;		/* out: amount did not fit under limit */
	int	first_over;	/* out: over, for the first time in this bucket */
};

struct ratestore_check {
	const char *user;
	uint32_t amount;
	time_t	now;
	size_t	count;		/* windows used, at most RATESTORE_SLOTS, each slot once */
	struct ratestore_window windows[RATESTORE_SLOTS];
	int	added;		/* out: amount was added to every window */
};

struct ratestore_seen {
	const char *user;
	const char *network;
	uint32_t window;	/* seconds */
	time_t	now;
	int	seen;		/* out: network was used within window */
};

struct ratestore;

struct ratestore_ops {
	const char *name;	/* "memory", "redis": for logs */
	int	(*check_add)(struct ratestore *store, struct ratestore_check *c, char *err,
		    size_t errlen);
	int	(*client_seen)(struct ratestore *store, struct ratestore_seen *s, char *err,
		    size_t errlen);
	void	(*free)(struct ratestore *store);
};

/* The first member of every store, so that a store is reached through its ops. */
struct ratestore {
	const struct ratestore_ops *ops;
};

static inline int ratestore_check_add(struct ratestore *store, struct ratestore_check *c,
    char *err, size_t errlen)
{
	return store->ops->check_add(store, c, err, errlen);
}

static inline int ratestore_client_seen(struct ratestore *store, struct ratestore_seen *s,
    char *err, size_t errlen)
{
	return store->ops->client_seen(store, s, err, errlen);
}

/* 1 when c asks what a store can answer: at most RATESTORE_SLOTS windows, each slot in
 * range and used once, no window of 0 seconds or over two days. */
static inline int ratestore_check_valid(const struct ratestore_check *c)
{
	unsigned used = 0;

	if (c->count > RATESTORE_SLOTS)
		return 0;
	for (size_t i = 0; i < c->count; i++) {
		const struct ratestore_window *w = &c->windows[i];

		if (w->slot >= RATESTORE_SLOTS || w->seconds == 0 || w->seconds > 2 * 86400 ||
		    (used & (1u << w->slot)))
			return 0;
		used |= 1u << w->slot;
	}
	return 1;
}

static inline void ratestore_free(struct ratestore *store)
{
	if (store != NULL)
		store->ops->free(store);
}

/* ---- ratestore-memory.c: in this process ------------------------------------------- */

/* At most max_users users (0: 1,000,000); NULL when out of memory. */
struct ratestore *ratestore_memory_new(size_t max_users);

struct ratestore_memory_stats {
	size_t	users;		/* entries now */
	size_t	bytes;		/* what the store asked malloc for: entries and tables */
	unsigned long expired;	/* entries freed because nothing in them mattered any more */
	unsigned long evicted;	/* entries dropped, least recently used first, at the cap */
};
/* 0 when store is not a memory store. */
int	ratestore_memory_stats(struct ratestore *store, struct ratestore_memory_stats *stats);

/* ---- ratestore-redis.c: shared by a fleet ------------------------------------------ */

struct ratestore_redis_options {
	unsigned timeout_ms;	/* connect and each command (0: 200) */
	unsigned retry_ms;	/* after a failure, fail at once this long (0: 1000) */
	unsigned connections;	/* pool size (0: 4) */
};

/* Parses url (redis://HOST[:PORT][/DB] or unix:/PATH) and connects lazily, so that a
 * daemon starts while Redis is down; NULL with err for a bad url or no memory. */
struct ratestore *ratestore_redis_new(const char *url, const struct ratestore_redis_options *o,
	    char *err, size_t errlen);

/* The URL: redis_target_parse() in lib/redisconn.h ("signet -n" and the tests). */

#endif
