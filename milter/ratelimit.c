/*
 * NAME
 *	ratelimit.c - RateLimits: the file, and the policy over a counter store
 * DESCRIPTION
 *	The five limits are a table (name, kind, window), so the parser, the store's slots
 *	and the messages all walk one list.  A user's line is kept as RATE_LIMITS values
 *	in which INHERIT stands for "not named here, take the default's"; users are found
 *	by binary search (usertable.h).
 *
 *	A check hands the store every limited window of the kind at once, so that adding
 *	to one window and refusing at another cannot happen: a refused message or
 *	recipient is counted nowhere.
 * SEE ALSO
 *	ratelimit.h, ratestore.h, slidewin.h
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/alloc.h"
#include "lib/grow.h"
#include "milter/mailuser.h"
#include "milter/ratelimit.h"
#include "milter/slidewin.h"
#include "milter/usertable.h"

#define INHERIT		(UINT32_MAX - 1)

_Static_assert(RATE_LIMITS <= RATESTORE_SLOTS, "a store keeps a counter for each limit");

static const struct {
	const char *name;
	enum rate_kind kind;
	uint32_t seconds;
} limit_table[RATE_LIMITS] = {
	[RATE_MSG_MIN] = {"msg/min", RATE_MSG, 60},
	[RATE_MSG_HOUR] = {"msg/hour", RATE_MSG, 3600},
	[RATE_MSG_DAY] = {"msg/day", RATE_MSG, 86400},
	[RATE_RCPT_HOUR] = {"rcpt/hour", RATE_RCPT, 3600},
	[RATE_RCPT_DAY] = {"rcpt/day", RATE_RCPT, 86400},
};

struct user_limits {
	uint32_t value[RATE_LIMITS];
};

struct ratelimits {
	struct usertable users;
	struct user_limits *lines;	/* usertable values index this */
	size_t	count, cap;
	struct user_limits defaults;
	unsigned default_line;		/* 0: no "*" line */
};

const char *ratelimit_name(enum rate_limit limit)
{
	return limit < RATE_LIMITS ? limit_table[limit].name : "?";
}

uint32_t ratelimit_window(enum rate_limit limit)
{
	return limit < RATE_LIMITS ? limit_table[limit].seconds : 0;
}

/* ---- the file ---------------------------------------------------------------------- */

/* "0" .. "1000000000" or "off"; 1, or 0. */
static int parse_value(const char *text, uint32_t *out)
{
	char   *end;
	unsigned long n;

	if (strcmp(text, "off") == 0) {
		*out = RATE_OFF;
		return 1;
	}
	if (*text < '0' || *text > '9' || strlen(text) > 10)
		return 0;
	errno = 0;
	n = strtoul(text, &end, 10);
	if (*end != '\0' || errno != 0 || n > RATE_VALUE_MAX)
		return 0;
	*out = (uint32_t)n;
	return 1;
}

/* One "NAME=VALUE" into limits; 1, or 0 with err. */
static int parse_setting(const struct linefile *lf, char *word, struct user_limits *limits,
    char *err, size_t errlen)
{
	char   *eq = strchr(word, '=');
	size_t	i;

	if (eq == NULL) {
		linefile_fail(lf, err, errlen, "\"%.80s\": want NAME=VALUE, e.g. msg/hour=300",
		    word);
		return 0;
	}
	*eq = '\0';
	for (i = 0; i < RATE_LIMITS && strcmp(word, limit_table[i].name) != 0; i++)
		;
	if (i == RATE_LIMITS) {
		linefile_fail(lf, err, errlen, "unknown limit \"%.80s\" (want msg/min, msg/hour, "
		    "msg/day, rcpt/hour or rcpt/day)", word);
		return 0;
	}
	if (limits->value[i] != INHERIT) {
		linefile_fail(lf, err, errlen, "%s set twice", limit_table[i].name);
		return 0;
	}
	if (!parse_value(eq + 1, &limits->value[i])) {
		linefile_fail(lf, err, errlen, "%s=%.80s: want a whole number from 0 to %u, or off",
		    limit_table[i].name, eq + 1, RATE_VALUE_MAX);
		return 0;
	}
	return 1;
}

static int read_user(void *context, const struct linefile *lf, const char *user, char *rest,
    size_t *value, char *err, size_t errlen)
{
	struct ratelimits *rules = context;
	struct user_limits limits;
	char   *word;
	int	named = 0;

	for (size_t i = 0; i < RATE_LIMITS; i++)
		limits.value[i] = INHERIT;
	while ((word = usertable_word(&rest)) != NULL) {
		if (!parse_setting(lf, word, &limits, err, errlen))
			return -1;
		named++;
	}
	if (named == 0) {
		linefile_fail(lf, err, errlen, "\"%.80s\" names no limit", user);
		return -1;
	}
	if (strcmp(user, "*") == 0) {
		if (rules->default_line != 0) {
			linefile_fail(lf, err, errlen, "default line \"*\" again (first on line %u)",
			    rules->default_line);
			return -1;
		}
		rules->default_line = lf->line;
		for (size_t i = 0; i < RATE_LIMITS; i++)
			rules->defaults.value[i] = limits.value[i] == INHERIT ? RATE_OFF :
			    limits.value[i];
		return 0;
	}
	struct user_limits *grown = array_grow(rules->lines, &rules->cap, rules->count + 1,
	    sizeof(*grown));
	if (grown == NULL) {
		linefile_fail(lf, err, errlen, "out of memory");
		return -1;
	}
	rules->lines = grown;
	rules->lines[rules->count] = limits;
	*value = rules->count++;
	return 1;
}

struct ratelimits *ratelimit_load(const char *path, char *err, size_t errlen)
{
	struct ratelimits *rules = mem_calloc(1, sizeof(*rules));

	if (rules == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	for (size_t i = 0; i < RATE_LIMITS; i++)
		rules->defaults.value[i] = RATE_OFF;
	if (!usertable_load(&rules->users, path, read_user, rules, err, errlen)) {
		ratelimit_free(rules);
		return NULL;
	}
	return rules;
}

void	ratelimit_free(struct ratelimits *rules)
{
	if (rules == NULL)
		return;
	usertable_free(&rules->users);
	free(rules->lines);
	free(rules);
}

/* ---- the policy -------------------------------------------------------------------- */

/* key is a user in normal form. */
static void limits_of(const struct ratelimits *rules, const char *key,
    uint32_t limits[RATE_LIMITS])
{
	const struct usertable_entry *e = rules ? usertable_find(&rules->users, key) : NULL;

	for (size_t i = 0; i < RATE_LIMITS; i++) {
		uint32_t own = e != NULL ? rules->lines[e->value].value[i] : INHERIT;

		limits[i] = own != INHERIT ? own : rules ? rules->defaults.value[i] : RATE_OFF;
	}
}

void	ratelimit_user_limits(const struct ratelimits *rules, const char *user,
    uint32_t limits[RATE_LIMITS])
{
	char	key[MAILUSER_MAX + 1];

	if (mailuser_key(user, key, sizeof(key)))
		limits_of(rules, key, limits);
	else
		limits_of(NULL, "", limits);
}

/* Among the windows over their limit, the one that frees last. */
static void report_over(const struct ratestore_check *c, struct rate_decision *d)
{
	d->verdict = RATE_OVER;
	d->retry_after = 0;
	for (size_t i = 0; i < c->count; i++) {
		const struct ratestore_window *w = &c->windows[i];
		uint32_t wait;

		if (!w->over)
			continue;
		wait = slidewin_wait(w->prev, w->cur, w->seconds, c->now, c->amount, w->limit);
		if (wait >= d->retry_after) {
			d->retry_after = wait;
			d->limit = (enum rate_limit)w->slot;
			d->max = w->limit;
			d->count = slidewin_count(w->prev, w->cur, w->seconds, c->now);
			d->warn = w->first_over;
		}
	}
}

enum rate_verdict ratelimit_check(const struct ratelimits *rules, struct ratestore *store,
    const char *user, enum rate_kind kind, uint32_t amount, time_t now,
    struct rate_decision *d)
{
	char	key[MAILUSER_MAX + 1];
	uint32_t limits[RATE_LIMITS];
	struct ratestore_check c = {.user = key, .amount = amount, .now = now};

	memset(d, 0, sizeof(*d));
	d->verdict = RATE_PASS;
	if (rules == NULL)
		return d->verdict;
	if (!mailuser_key(user, key, sizeof(key))) {
		snprintf(d->err, sizeof(d->err), "user name unusable for rate limits");
		return d->verdict = RATE_ERROR;
	}
	limits_of(rules, key, limits);
	for (size_t i = 0; i < RATE_LIMITS; i++)
		if (limit_table[i].kind == kind && limits[i] != RATE_OFF) {
			c.windows[c.count].slot = (unsigned)i;
			c.windows[c.count].seconds = limit_table[i].seconds;
			c.windows[c.count++].limit = limits[i];
		}
	if (c.count == 0)
		return d->verdict;
	if (!ratestore_check_add(store, &c, d->err, sizeof(d->err)))
		return d->verdict = RATE_ERROR;
	if (!c.added)
		report_over(&c, d);
	return d->verdict;
}

void	ratelimit_describe(const struct rate_decision *d, char *out, size_t size)
{
	snprintf(out, size, "rate limit %s (%u) reached: try again in %u seconds",
	    ratelimit_name(d->limit), d->max, d->retry_after);
}
