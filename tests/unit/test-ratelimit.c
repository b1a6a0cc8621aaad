/*
 * NAME
 *	test-ratelimit - RateLimits: the sliding windows, the file, the policy, the memory store
 * DESCRIPTION
 *	The clock is always injected.  slidewin's wait is checked exhaustively against
 *	rolling the counter forward; its accuracy is measured on two traffic shapes and
 *	printed.  The file's errors are the exact "FILE:LINE: message" of "signet -n".  The
 *	policy cases of ratecases.h run on the memory store (test-ratestore-redis runs them
 *	on Redis); a million users show that the store stays within its cap and frees idle
 *	users, and give the bytes it keeps per user.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "milter/ratelimit.h"
#include "milter/ratestore.h"
#include "milter/slidewin.h"
#include "tests/unit/tap.h"
#include "tests/unit/ratecases.h"
#include "tests/unit/torture.h"

/* ---- slidewin ---------------------------------------------------------------------- */

/* Whether amount fits at later, the counter left alone from now on. */
static int fits_later(struct slidewin w, uint32_t seconds, time_t later, uint32_t amount,
    uint32_t limit)
{
	slidewin_roll(&w, seconds, later);
	return slidewin_fits(w.prev, w.cur, seconds, later, amount, limit);
}

static void slidewin_arithmetic(void)
{
	struct slidewin w = {0};
	unsigned long cases = 0, wrong = 0;

	slidewin_roll(&w, 60, T0 + 5);
	w.cur = 7;
	TAP_OK(slidewin_roll(&w, 60, T0 + 65) && w.prev == 7 && w.cur == 0, "the next bucket "
	    "takes cur as prev");
	w.cur = 3;
	TAP_OK(slidewin_roll(&w, 60, T0 + 185) && w.prev == 0 && w.cur == 0, "after an empty "
	    "bucket both are 0");
	w.cur = 2;
	TAP_OK(!slidewin_roll(&w, 60, T0 + 10) && w.cur == 2, "a clock stepping back keeps the "
	    "latest bucket and its counts");
	TAP_INT_EQ(slidewin_count(30, 5, 60, T0 + 20), 25, "30 * 40/60 + 5 = 25");
	TAP_INT_EQ(slidewin_count(1, 0, 60, T0 + 59), 1, "a count is rounded up");
	/* every wait is the first second at which amount fits */
	for (uint32_t seconds = 60; seconds <= 3600; seconds *= 60)
		for (uint32_t limit = 0; limit <= 6; limit++)
			for (uint32_t prev = 0; prev <= 8; prev++)
				for (uint32_t cur = 0; cur <= 8; cur++)
					for (uint32_t e = 0; e < seconds; e += seconds / 12 + 1)
						for (uint32_t amount = 1; amount <= 2; amount++) {
		struct slidewin s = {prev, cur, (uint32_t)(T0 / seconds)};
		time_t	now = T0 + e;
		uint32_t wait = slidewin_wait(prev, cur, seconds, now, amount, limit);
		int	right;

		if (amount > limit)
			right = wait == seconds && !fits_later(s, seconds, now + 3 * seconds,
			    amount, limit);
		else
			right = fits_later(s, seconds, now + wait, amount, limit) &&
			    (wait == 0 || !fits_later(s, seconds, now + wait - 1, amount, limit));
		cases++;
		if (!right && wrong++ < 5)
			printf("#   W %u L %u prev %u cur %u e %u amount %u: wait %u\n", seconds,
			    limit, prev, cur, e, amount, wait);
	}
	TAP_OK(wrong == 0, "slidewin_wait is the first second that fits, in %lu cases (%lu "
	    "wrong)", cases, wrong);
}

/* A sender that tries every second and is accepted when it fits; returns the most
 * accepted in any window of W seconds and the rate over the last windows. */
static void simulate(uint32_t limit, uint32_t seconds, int burst_first, uint32_t *most,
    double *steady)
{
	enum { WINDOWS = 40 };
	static unsigned accepted_at[WINDOWS * 3600];
	struct slidewin w = {0};
	size_t	n = 0;

	for (time_t t = T0; t < T0 + (time_t)(WINDOWS * seconds); t++) {
		slidewin_roll(&w, seconds, t);
		/* burst_first: the sender is quiet until the last second of the first bucket,
		 * then sends a full limit at once, then keeps trying */
		if (burst_first && t < T0 + (time_t)seconds - 1)
			continue;
		while (slidewin_fits(w.prev, w.cur, seconds, t, 1, limit)) {
			w.cur++;
			accepted_at[n++] = (unsigned)(t - T0);
		}
	}
	*most = 0;
	for (size_t i = 0, j = 0; i < n; i++) {
		while (accepted_at[i] - accepted_at[j] >= seconds)
			j++;
		if (i - j + 1 > *most)
			*most = (uint32_t)(i - j + 1);
	}
	size_t	late = 0;
	for (size_t i = 0; i < n; i++)
		late += accepted_at[i] >= (WINDOWS - 10) * seconds;
	*steady = late / 10.0;
}

static void slidewin_accuracy(void)
{
	uint32_t most;
	double	steady;

	simulate(30, 60, 0, &most, &steady);
	printf("# msg/min=30, a sender trying every second: at most %u in any 60 s, %.1f a "
	    "minute in the long run\n", most, steady);
	TAP_OK(most <= 30 && steady >= 28 && steady <= 30, "a steady sender gets 28 to 30 a "
	    "minute under a limit of 30 (%.1f), never more than 30 in any minute (%u)", steady,
	    most);
	simulate(30, 60, 1, &most, &steady);
	printf("# msg/min=30, 30 in the last second of a minute then trying every second: at "
	    "most %u in some 60 s\n", most);
	TAP_OK(most > 30 && most <= 60, "the worst case, a burst at the end of a bucket, lets "
	    "through at most twice the limit in a sliding minute (%u)", most);
	simulate(300, 3600, 0, &most, &steady);
	TAP_OK(most <= 300 && steady >= 295, "msg/hour=300, a steady sender: %.1f an hour, at "
	    "most %u in any hour", steady, most);
}

/* ---- the file ---------------------------------------------------------------------- */

static char rules_path[] = "/tmp/signet-test-ratelimit-XXXXXX";

static void write_rules(const char *text, size_t len)
{
	FILE   *fp = fopen(rules_path, "w");

	if (fp == NULL || fwrite(text, 1, len, fp) != len || fclose(fp) != 0) {
		perror(rules_path);
		exit(1);
	}
}

static const char example_rules[] =
    "# who               limits\n"
    "*                   msg/min=30 msg/hour=300 msg/day=1000 rcpt/hour=500 rcpt/day=2000\n"
    "alice@example.com   msg/min=3      # tight\n"
    "lists@Example.COM   rcpt/hour=off rcpt/day=20000\n"
    "blocked             msg/day=0\n";

static void check_limits(const struct ratelimits *rules, const char *user, const char *what,
    uint32_t m1, uint32_t m2, uint32_t m3, uint32_t r1, uint32_t r2)
{
	uint32_t got[RATE_LIMITS], want[RATE_LIMITS] = {m1, m2, m3, r1, r2};

	ratelimit_user_limits(rules, user, got);
	if (!TAP_OK(memcmp(got, want, sizeof(got)) == 0, "%s: %s", user, what))
		printf("#   got %u %u %u %u %u\n", got[0], got[1], got[2], got[3], got[4]);
}

static void rules_file(void)
{
	char	err[512];
	struct ratelimits *rules;

	write_rules(example_rules, strlen(example_rules));
	rules = ratelimit_load(rules_path, err, sizeof(err));
	if (!TAP_OK(rules != NULL, "the example rules load")) {
		printf("#   %s\n", err);
		return;
	}
	check_limits(rules, "bob@example.com", "no line: the default", 30, 300, 1000, 500, 2000);
	check_limits(rules, "alice@example.com", "its line overrides only msg/min", 3, 300, 1000,
	    500, 2000);
	check_limits(rules, "alice@EXAMPLE.com", "domains fold", 3, 300, 1000, 500, 2000);
	check_limits(rules, "Alice@example.com", "local parts do not", 30, 300, 1000, 500, 2000);
	check_limits(rules, "lists@example.com", "off lifts a default", 30, 300, 1000, RATE_OFF,
	    20000);
	check_limits(rules, "blocked", "0 is a limit too", 30, 300, 0, 500, 2000);
	check_limits(NULL, "anyone", "no rules: no limits", RATE_OFF, RATE_OFF, RATE_OFF,
	    RATE_OFF, RATE_OFF);
	ratelimit_free(rules);
	write_rules("carol msg/hour=5\n", 17);
	rules = ratelimit_load(rules_path, err, sizeof(err));
	check_limits(rules, "carol", "without a \"*\" line, what a line does not name is off",
	    RATE_OFF, 5, RATE_OFF, RATE_OFF, RATE_OFF);
	check_limits(rules, "dave", "and a user without a line has none", RATE_OFF, RATE_OFF,
	    RATE_OFF, RATE_OFF, RATE_OFF);
	ratelimit_free(rules);
}

static void check_error_len(const char *what, const char *text, size_t len, const char *want)
{
	char	err[512], full[512];
	struct ratelimits *rules;

	write_rules(text, len);
	rules = ratelimit_load(rules_path, err, sizeof(err));
	snprintf(full, sizeof(full), "%s:%s", rules_path, want);
	TAP_OK(rules == NULL, "%s: refused", what);
	TAP_STR_EQ(err, full, "%s: the error names the file and line", what);
	ratelimit_free(rules);
}

#define check_error(what, text, want) check_error_len(what, text, sizeof(text) - 1, want)

static void rules_errors(void)
{
	check_error("an unknown limit", "*  msg/min=30\nbob  msg/week=3\n",
	    "2: unknown limit \"msg/week\" (want msg/min, msg/hour, msg/day, rcpt/hour or "
	    "rcpt/day)");
	check_error("a negative number", "bob  msg/min=-1\n",
	    "1: msg/min=-1: want a whole number from 0 to 1000000000, or off");
	check_error("a number with a unit", "bob  msg/min=3k\n",
	    "1: msg/min=3k: want a whole number from 0 to 1000000000, or off");
	check_error("a number too large", "bob  rcpt/day=1000000001\n",
	    "1: rcpt/day=1000000001: want a whole number from 0 to 1000000000, or off");
	check_error("a number far too large", "bob  rcpt/day=99999999999999999999\n",
	    "1: rcpt/day=99999999999999999999: want a whole number from 0 to 1000000000, or off");
	check_error("an empty value", "\n\nbob  msg/day=\n",
	    "3: msg/day=: want a whole number from 0 to 1000000000, or off");
	check_error("a leading plus", "bob  msg/day=+5\n",
	    "1: msg/day=+5: want a whole number from 0 to 1000000000, or off");
	check_error("no '='", "bob  msg/day\n", "1: \"msg/day\": want NAME=VALUE, e.g. "
	    "msg/hour=300");
	check_error("a limit set twice", "bob  msg/day=5 msg/min=1 msg/day=6\n",
	    "1: msg/day set twice");
	check_error("a line naming no limit", "bob\n", "1: \"bob\" names no limit");
	check_error("two default lines", "*  msg/min=1\n# again\n*  msg/day=3\n",
	    "3: default line \"*\" again (first on line 1)");
	check_error("a user on two lines", "bob@example.com  msg/min=1\nal msg/min=2\n"
	    "bob@EXAMPLE.com  msg/day=3\n",
	    "3: user \"bob@example.com\" listed again (first on line 1)");
	check_error("a user name with a DEL", "b\x7fob  msg/min=1\n", "1: DEL or control "
	    "character in line");
	check_error("a user name of 321 bytes", "*  msg/min=1\n"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.example msg/min=2\n",
	    "2: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" "
	    "is not a user name");
	check_error("a NUL", "bob  msg/min=1\n\0\n", "2: DEL or control character in line");
}

static enum torture_outcome load_example(void *context)
{
	char	err[512] = "";
	struct ratelimits *rules;
	uint32_t limits[RATE_LIMITS];

	(void)context;
	write_rules(example_rules, strlen(example_rules));
	if ((rules = ratelimit_load(rules_path, err, sizeof(err))) == NULL) {
		if (strstr(err, "out of memory") != NULL)
			return TORTURE_ERROR;
		printf("#   err: \"%s\"\n", err);
		return TORTURE_WRONG;
	}
	ratelimit_user_limits(rules, "lists@example.com", limits);
	ratelimit_free(rules);
	return limits[RATE_RCPT_DAY] == 20000 ? TORTURE_DONE : TORTURE_WRONG;
}

/* ---- the policy on the memory store -------------------------------------------------- */

static void policy_edges(struct ratestore *store)
{
	struct rate_decision d;
	char	text[160];
	struct ratelimits *rules;
	char	err[512];

	TAP_OK(ratelimit_check(NULL, store, "bob", RATE_MSG, 1, T0, &d) == RATE_PASS,
	    "no rules: everything passes");
	write_rules("* msg/min=1\nfree rcpt/hour=off\n", 31);
	rules = ratelimit_load(rules_path, err, sizeof(err));
	/* no store at all: a kind without a limit never asks one */
	TAP_OK(ratelimit_check(rules, NULL, "free", RATE_RCPT, 1, T0, &d) == RATE_PASS,
	    "a user without a limit of that kind passes without asking the store");
	TAP_OK(ratelimit_check(rules, store, "bad user", RATE_MSG, 1, T0, &d) == RATE_ERROR &&
	    strstr(d.err, "unusable") != NULL, "a user name with a blank is an error: %s", d.err);
	TAP_OK(ratelimit_check(rules, store, "", RATE_MSG, 1, T0, &d) == RATE_ERROR,
	    "an empty user name is an error");
	ratelimit_check(rules, store, "edge@x", RATE_MSG, 1, T0 + 30, &d);
	ratelimit_check(rules, store, "edge@x", RATE_MSG, 1, T0 + 30, &d);
	ratelimit_describe(&d, text, sizeof(text));
	TAP_STR_EQ(text, "rate limit msg/min (1) reached: try again in 90 seconds",
	    "the reply text names the limit and when it frees");
	TAP_INT_EQ(d.count, 1, "and the decision has the count");
	ratelimit_free(rules);
}

/* ---- the memory store's bounds ------------------------------------------------------- */

static int count_one(struct ratestore *store, const char *user, time_t now)
{
	char	err[128];
	struct ratestore_check c = {.user = user, .amount = 1, .now = now, .count = 2,
	    .windows = {{.slot = RATE_MSG_MIN, .seconds = 60, .limit = 30},
	    {.slot = RATE_MSG_DAY, .seconds = 86400, .limit = 1000}}};

	return ratestore_check_add(store, &c, err, sizeof(err)) && c.added;
}

static void million_users(void)
{
	const size_t cap = 1000000, users = 1200000;
	struct ratestore *store = ratestore_memory_new(cap);
	struct ratestore_memory_stats st;
	char	user[64];
	size_t	ok = 0;
#if !defined(__SANITIZE_ADDRESS__)
	struct mallinfo2 before = mallinfo2(), after;
#endif

	for (size_t i = 0; i < users; i++) {
		snprintf(user, sizeof(user), "user%zu@d%zu.example.com", i, i % 5000);
		ok += count_one(store, user, T0 + (time_t)(i / 1000));
	}
	ratestore_memory_stats(store, &st);
	TAP_INT_EQ(ok, users, "%zu distinct users counted", users);
	TAP_OK(st.users <= cap && st.evicted == users - st.users, "a cap of %zu keeps %zu "
	    "users; the %lu least recently used were dropped", cap, st.users, st.evicted);
	printf("# bytes asked of malloc per user (entry, name, hash chains): %.1f\n",
	    (double)st.bytes / (double)st.users);
	TAP_OK(st.bytes / st.users <= 256, "at most 256 bytes per user by the store's count "
	    "(%zu)", st.bytes / st.users);
#if !defined(__SANITIZE_ADDRESS__)
	after = mallinfo2();
	printf("# bytes per user as malloc sees them (allocator overhead included): %.1f\n",
	    (double)(after.uordblks - before.uordblks) / (double)st.users);
#else
	printf("# (malloc's own figure is measured in a build without AddressSanitizer)\n");
#endif
	/* three days on, each call frees up to 4 idle users of its stripe */
	for (size_t i = 0; i < 100000; i++) {
		snprintf(user, sizeof(user), "later%zu@example.com", i);
		count_one(store, user, T0 + 3 * 86400);
	}
	ratestore_memory_stats(store, &st);
	TAP_OK(st.expired >= 300000 && st.users <= 800000, "three days later, 100000 calls for "
	    "new users freed %lu idle ones (%zu left)", st.expired, st.users);
	ratestore_free(store);
}

static enum torture_outcome store_once(void *context)
{
	struct ratestore *store = ratestore_memory_new(10);
	char	err[128] = "";
	struct ratestore_check c = {.user = "t@x", .amount = 1, .now = T0, .count = 1,
	    .windows = {{.slot = RATE_MSG_MIN, .seconds = 60, .limit = 5}}};
	int	ok;

	(void)context;
	if (store == NULL)
		return TORTURE_ERROR;
	ok = ratestore_check_add(store, &c, err, sizeof(err));
	ratestore_free(store);
	if (!ok)
		return strcmp(err, "out of memory") == 0 ? TORTURE_ERROR : TORTURE_WRONG;
	return c.added && c.windows[0].cur == 1 ? TORTURE_DONE : TORTURE_WRONG;
}

int	main(void)
{
	int	fd = mkstemp(rules_path);
	struct ratestore *store;

	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(fd);
	slidewin_arithmetic();
	slidewin_accuracy();
	rules_file();
	rules_errors();
	torture("ratelimit_load of the example", load_example, NULL, TORTURE_NO_RECOVERY);
	store = ratestore_memory_new(0);
	ratecases_run(store, "memory", "m");
	ratecases_networks(store, "memory", "m");
	ratecases_race(&store, 1, "memory", "m");
	policy_edges(store);
	ratestore_free(store);
	torture("a memory store and one count", store_once, NULL, TORTURE_NO_RECOVERY);
	million_users();
	unlink(rules_path);
	return tap_done();
}
