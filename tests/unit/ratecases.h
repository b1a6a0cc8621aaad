/*
 * NAME
 *	ratecases.h - rate-limit cases that any counter store must pass alike
 * SYNOPSIS
 *	#include "tests/unit/tap.h"
 *	#include "tests/unit/ratecases.h"
 *
 *	ratecases_run(store, "memory", "m1");
 *	ratecases_race(stores, 2, "redis, two daemons", "r1");
 * DESCRIPTION
 *	test-ratelimit runs these on the memory store and test-ratestore-redis on Redis: the
 *	same exact expectations (counts, which limit trips, seconds until it frees, one
 *	warning per window) hold for both, which is what shows that the Lua script of
 *	ratestore-redis.c and slidewin.c compute the same thing.  The clock is injected:
 *	T0 is midnight UTC, so minute, hour and day buckets all begin there.  User names
 *	carry a tag, so that runs sharing one Redis never count for each other.
 */
#ifndef SIGNET_RATECASES_H
#define SIGNET_RATECASES_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "milter/clientnet.h"
#include "milter/ratelimit.h"
#include "milter/ratestore.h"

#define T0	((time_t)1699920000)	/* 2023-11-14 00:00:00 UTC */

/* Rules from text, through a file as an operator would write them; exits on an error. */
static struct ratelimits *ratecases_load(const char *text)
{
	char	path[] = "/tmp/signet-ratecases-XXXXXX", err[512];
	int	fd = mkstemp(path);
	size_t	len = strlen(text);
	struct ratelimits *rules;

	if (fd < 0 || write(fd, text, len) != (ssize_t)len || close(fd) != 0) {
		perror(path);
		exit(1);
	}
	rules = ratelimit_load(path, err, sizeof(err));
	unlink(path);
	if (rules == NULL) {
		printf("Bail out! rules: %s\n", err);
		exit(1);
	}
	return rules;
}

/* Rules in which each user has one limit that trips first. */
static struct ratelimits *ratecases_rules(const char *tag)
{
	char	text[1024];

	snprintf(text, sizeof(text),
	    "*  msg/min=30 msg/hour=300 msg/day=1000 rcpt/hour=500 rcpt/day=2000\n"
	    "min-%s@x.example   msg/min=2\n"
	    "hour-%s@x.example  msg/min=off msg/hour=3\n"
	    "day-%s@x.example   msg/min=off msg/hour=off msg/day=4\n"
	    "rh-%s@x.example    rcpt/hour=3\n"
	    "rd-%s@x.example    rcpt/hour=off rcpt/day=4\n"
	    "zero-%s@x.example  msg/min=0\n", tag, tag, tag, tag, tag, tag);
	return ratecases_load(text);
}

static enum rate_verdict ratecases_one(const struct ratelimits *rules, struct ratestore *store,
    const char *user, enum rate_kind kind, time_t now, struct rate_decision *d)
{
	enum rate_verdict v = ratelimit_check(rules, store, user, kind, 1, now, d);

	if (v == RATE_ERROR)
		printf("#   store error: %s\n", d->err);
	return v;
}

/* A user whose one limit trips: n pass at T0 + 10, the next is over with limit, warned
 * once, the wait is exactly wait, then it passes again (a limit of 0 never does: its
 * wait is the window, as good an answer as any to "when"). */
static void ratecases_limit(const struct ratelimits *rules, struct ratestore *store,
    const char *store_name, const char *who, const char *tag, enum rate_kind kind,
    enum rate_limit limit, uint32_t n, uint32_t wait)
{
	char	user[128], text[160];
	struct rate_decision d;
	time_t	t = T0 + 10;
	uint32_t passed = 0;
	enum rate_kind other = kind == RATE_MSG ? RATE_RCPT : RATE_MSG;

	snprintf(user, sizeof(user), "%s-%s@x.example", who, tag);
	while (passed < n + 1 && ratecases_one(rules, store, user, kind, t, &d) == RATE_PASS)
		passed++;
	TAP_INT_EQ(passed, n, "%s: %s passes %u times at once", store_name, ratelimit_name(limit),
	    n);
	if (!TAP_OK(d.verdict == RATE_OVER && d.limit == limit && d.max == n && d.warn,
	    "%s: then %s trips, with a warning", store_name, ratelimit_name(limit)))
		printf("#   verdict %d limit %s max %u warn %d\n", d.verdict,
		    ratelimit_name(d.limit), d.max, d.warn);
	TAP_INT_EQ(d.retry_after, wait, "%s: %s frees in %u s", store_name, ratelimit_name(limit),
	    wait);
	ratelimit_describe(&d, text, sizeof(text));
	printf("#   %s\n", text);
	if (n == 0) {
		TAP_OK(ratecases_one(rules, store, user, kind, t + 86400, &d) == RATE_OVER,
		    "%s: %s=0 never frees", store_name, ratelimit_name(limit));
		return;
	}
	TAP_OK(ratecases_one(rules, store, user, kind, t + 1, &d) == RATE_OVER && !d.warn &&
	    d.retry_after == wait - 1, "%s: %s: a second refusal in the window is not warned "
	    "again", store_name, ratelimit_name(limit));
	TAP_OK(ratecases_one(rules, store, user, other, t + 1, &d) == RATE_PASS, "%s: %s does not "
	    "hold back %s", store_name, ratelimit_name(limit), other == RATE_MSG ? "messages" :
	    "recipients");
	if (wait > 1)
		TAP_OK(ratecases_one(rules, store, user, kind, t + wait - 1, &d) == RATE_OVER,
		    "%s: %s: one second before it frees, still over", store_name,
		    ratelimit_name(limit));
	TAP_OK(ratecases_one(rules, store, user, kind, t + wait, &d) == RATE_PASS,
	    "%s: %s: when it frees, the next passes", store_name, ratelimit_name(limit));
}

/* Each limit kind trips on its own; then the windows slide and expire. */
static void ratecases_run(struct ratestore *store, const char *store_name, const char *tag)
{
	struct ratelimits *rules = ratecases_rules(tag);
	struct rate_decision d;
	char	user[128];
	int	warned = 0, passed = 0;

	/* cur + 1 over the limit: W - e in this bucket, then until the weight of the full
	 * bucket leaves room, e.g. msg/min=2 at 10 s: 50 + 60 - 1 * 60 / 2 = 80 */
	ratecases_limit(rules, store, store_name, "min", tag, RATE_MSG, RATE_MSG_MIN, 2, 80);
	ratecases_limit(rules, store, store_name, "hour", tag, RATE_MSG, RATE_MSG_HOUR, 3, 4790);
	ratecases_limit(rules, store, store_name, "day", tag, RATE_MSG, RATE_MSG_DAY, 4, 107990);
	ratecases_limit(rules, store, store_name, "rh", tag, RATE_RCPT, RATE_RCPT_HOUR, 3, 4790);
	ratecases_limit(rules, store, store_name, "rd", tag, RATE_RCPT, RATE_RCPT_DAY, 4, 107990);
	ratecases_limit(rules, store, store_name, "zero", tag, RATE_MSG, RATE_MSG_MIN, 0, 60);

	/* one warning per window: at one try every 5 s through minutes 3, 4 and 5, each
	 * minute's first refusal is warned; 2 pass in minute 3 (minute 2 was empty), then
	 * 1 a minute, since the previous minute's weight leaves room for one (slidewin.h) */
	snprintf(user, sizeof(user), "min-%s@x.example", tag);
	for (time_t t = T0 + 180; t < T0 + 360; t += 5)
		if (ratecases_one(rules, store, user, RATE_MSG, t, &d) == RATE_OVER)
			warned += d.warn;
		else
			passed++;
	TAP_INT_EQ(warned, 3, "%s: msg/min=2 tried every 5 s for 3 minutes: one warning a "
	    "minute", store_name);
	TAP_INT_EQ(passed, 4, "%s: and 2 + 1 + 1 pass", store_name);
	/* two days later nothing is left of the day's counts */
	snprintf(user, sizeof(user), "day-%s@x.example", tag);
	passed = 0;
	for (int i = 0; i < 5; i++)
		passed += ratecases_one(rules, store, user, RATE_MSG, T0 + 3 * 86400, &d) == RATE_PASS;
	TAP_INT_EQ(passed, 4, "%s: msg/day=4 two days later: 4 pass again", store_name);
	ratelimit_free(rules);
}

static void ratecases_address(const char *text, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &((struct sockaddr_in *)ss)->sin_addr) == 1)
		ss->ss_family = AF_INET;
	else if (inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1)
		ss->ss_family = AF_INET6;
}

/* NewClientWindow: a network is new once per window, per /24 or /64. */
static void ratecases_networks(struct ratestore *store, const char *store_name, const char *tag)
{
	static const struct {
		const char *client;
		time_t	at;
		int	is_new;
		const char *why;
	} cases[] = {
		{"192.0.2.7", T0, 1, "a first client is new"},
		{"192.0.2.99", T0 + 100, 0, "the same /24 is not"},
		{"198.51.100.1", T0 + 200, 1, "another /24 is"},
		{"2001:db8:1:2::5", T0 + 300, 1, "an IPv6 client is"},
		{"2001:db8:1:2:ffff::1", T0 + 400, 0, "the same /64 is not"},
		{"2001:db8:1:3::1", T0 + 500, 1, "the next /64 is"},
		{"::ffff:192.0.2.1", T0 + 600, 0, "IPv4-mapped IPv6 counts as IPv4"},
		{"192.0.2.7", T0 + 600 + 86399, 0, "within the window, still known"},
		{"198.51.100.9", T0 + 200 + 86400, 1, "a window after its last use, new again"},
	};
	struct sockaddr_storage ss;
	char	user[128], err[256];
	int	is_new;

	snprintf(user, sizeof(user), "net-%s@x.example", tag);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ratecases_address(cases[i].client, &ss);
		if (!TAP_OK(clientnet_check(store, user, (struct sockaddr *)&ss, 86400,
		    cases[i].at, &is_new, err, sizeof(err)) && is_new == cases[i].is_new,
		    "%s: %s (%s)", store_name, cases[i].why, cases[i].client))
			printf("#   is_new %d, err \"%s\"\n", is_new, err);
	}
}

struct ratecases_racer {
	struct ratestore *store;
	const char *user;
	int	tries;
	int	added;
	int	errors;
};

static void *ratecases_racer_run(void *arg)
{
	struct ratecases_racer *r = arg;
	char	err[256];

	for (int i = 0; i < r->tries; i++) {
		struct ratestore_check c = {.user = r->user, .amount = 1, .now = T0 + 30,
		    .count = 1, .windows = {{.slot = RATE_RCPT_HOUR, .seconds = 3600, .limit = 100}}};

		if (!ratestore_check_add(r->store, &c, err, sizeof(err)))
			r->errors++;
		else
			r->added += c.added;
	}
	return NULL;
}

/* Eight threads over the stores try 400 recipients against a limit of 100: exactly 100
 * are counted, whatever the interleaving. */
static void ratecases_race(struct ratestore **stores, size_t nstores, const char *store_name,
    const char *tag)
{
	struct ratecases_racer racer[8];
	pthread_t thread[8];
	char	user[128];
	int	added = 0, errors = 0;

	snprintf(user, sizeof(user), "race-%s@x.example", tag);
	for (int i = 0; i < 8; i++) {
		racer[i] = (struct ratecases_racer){stores[(size_t)i % nstores], user, 50, 0, 0};
		pthread_create(&thread[i], NULL, ratecases_racer_run, &racer[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(thread[i], NULL);
		added += racer[i].added;
		errors += racer[i].errors;
	}
	TAP_OK(added == 100 && errors == 0, "%s: 8 threads, 400 tries against a limit of 100: "
	    "%d counted, %d errors", store_name, added, errors);
}

#endif
