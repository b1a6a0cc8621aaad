/*
 * NAME
 *	ratelimit.h - RateLimits: messages and recipients per authenticated user
 * SYNOPSIS
 *	#include "milter/ratelimit.h"
 *
 *	struct ratelimits *rules = ratelimit_load("/etc/signet/ratelimits", err, sizeof(err));
 *
 *	struct rate_decision d;
 *	switch (ratelimit_check(rules, store, auth_authen, RATE_RCPT, 1, time(NULL), &d)) {
 *	case RATE_PASS:	...
 *	case RATE_OVER:	ratelimit_describe(&d, text, sizeof(text));	"451 4.7.1 <text>"
 *			if (d.warn) log it
 *	case RATE_ERROR: RateLimitStoreDown says; log d.err
 *	}
 * DESCRIPTION
 *	The RateLimits file has one line per user, "USER NAME=VALUE...", and "*" for the
 *	default of every user:
 *
 *	    *                  msg/min=30 msg/hour=300 msg/day=1000 rcpt/hour=500 rcpt/day=2000
 *	    alice@example.com  msg/min=3
 *	    lists@example.com  rcpt/hour=off rcpt/day=20000
 *
 *	NAME is one of the five limits below, VALUE a whole number from 0 (nothing at all)
 *	to 1000000000, or "off" (no limit).  A user's line sets only what it names; the rest
 *	comes from "*", and a limit that neither names is off.  Users compare as mailuser.h
 *	says; a user on two lines, "*" twice, a name twice on a line, an unknown name or a
 *	bad number is an error, reported as "PATH:LINE: message".  '#' starts a comment.
 *
 *	    msg/min  msg/hour  msg/day	messages, counted at end of message
 *	    rcpt/hour  rcpt/day		recipients, counted at each RCPT
 *
 *	Each is counted in its own sliding window (slidewin.h: two buckets per window,
 *	accuracy discussed there) in a store (ratestore.h) that outlives the configuration.
 *
 *	ratelimit_check() counts amount (1 per message or per recipient) for user at now,
 *	the caller's clock in seconds.  RATE_PASS: counted.  RATE_OVER: not counted, since
 *	at least one limit of that kind has no room; d names the one that frees last (the
 *	one the sender must wait for), its value, its count and the seconds until amount
 *	fits again; d.warn is set on the first refusal under that limit in its current
 *	window (one warning per user per window, for a whole fleet when the store is Redis).
 *	RATE_ERROR: the store did not answer, or the user name is unusable (empty, over 320
 *	bytes, control characters), with d.err saying which; nothing was counted.  With no
 *	rules (NULL) or no limit of that kind for the user, everything passes uncounted.
 *	Rules are immutable once loaded, so any number of threads may use them.
 * DIAGNOSTICS
 *	ratelimit_load() returns NULL with the first error in err.
 */
#ifndef SIGNET_RATELIMIT_H
#define SIGNET_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "milter/ratestore.h"

enum rate_limit {
	RATE_MSG_MIN,
	RATE_MSG_HOUR,
	RATE_MSG_DAY,
	RATE_RCPT_HOUR,
	RATE_RCPT_DAY,
	RATE_LIMITS
};

enum rate_kind {
	RATE_MSG,
	RATE_RCPT,
};

#define RATE_OFF	UINT32_MAX		/* no limit */
#define RATE_VALUE_MAX	1000000000u

enum rate_verdict {
	RATE_PASS,
	RATE_OVER,
	RATE_ERROR,
};

struct rate_decision {
	enum rate_verdict verdict;
	enum rate_limit limit;		/* RATE_OVER: the limit that frees last */
	uint32_t max;			/* its value */
	uint32_t count;			/* its sliding count now (an estimate, slidewin.h) */
	uint32_t retry_after;		/* seconds until amount fits under every limit */
	int	warn;			/* first refusal under limit in its window */
	char	err[192];		/* RATE_ERROR: why */
};

struct ratelimits;

struct ratelimits *ratelimit_load(const char *path, char *err, size_t errlen);
void	ratelimit_free(struct ratelimits *rules);

/* The limits that apply to user (RATE_OFF for none); user as authenticated. */
void	ratelimit_user_limits(const struct ratelimits *rules, const char *user,
	    uint32_t limits[RATE_LIMITS]);

enum rate_verdict ratelimit_check(const struct ratelimits *rules, struct ratestore *store,
	    const char *user, enum rate_kind kind, uint32_t amount, time_t now,
	    struct rate_decision *d);

/* "msg/hour", "rcpt/day", ... */
const char *ratelimit_name(enum rate_limit limit);
uint32_t ratelimit_window(enum rate_limit limit);
/* For RATE_OVER, the reply and log text: "rate limit msg/hour (300) reached: try again in
 * 754 seconds"; printable ASCII, nothing from the peer. */
void	ratelimit_describe(const struct rate_decision *d, char *out, size_t size);

#endif
