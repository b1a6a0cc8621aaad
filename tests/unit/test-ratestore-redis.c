/*
 * NAME
 *	test-ratestore-redis - the Redis counter store against a private redis-server
 * DESCRIPTION
 *	Starts its own redis-server (REDIS_SERVER, default the one in PATH) in a mkdtemp(3)
 *	directory, listening on a unix socket there and on a free loopback TCP port, with no
 *	persistence.  A missing or failing redis-server is a failure, never a skip.
 *
 *	Two store objects stand for two daemons of a fleet, one over the unix socket, one
 *	over TCP: the cases of ratecases.h pass on each exactly as on the memory store, a
 *	user's limit and its one warning hold across both, threads on both never count past
 *	a limit.  Then Redis is frozen (SIGSTOP: the timeout), stopped (SIGTERM: refused
 *	connections) and started again: the store answers with an error within its timeout,
 *	fails at once while marked down, and reconnects by itself.
 */
#define _GNU_SOURCE		/* pipe2(2) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <hiredis/hiredis.h>

#include "milter/ratestore.h"
#include "tests/unit/tap.h"
#include "tests/unit/ratecases.h"
#include "tests/unit/redisserver.h"

#define TIMEOUT_MS	200
#define RETRY_MS	300


/* ---- the URL parser ---------------------------------------------------------------- */

static void check_url(const char *url, int ok, int is_unix, const char *host, unsigned p,
    unsigned db)
{
	struct redis_target t;
	char	err[256] = "";
	int	got = redis_target_parse(url, &t, err, sizeof(err));

	if (!ok) {
		TAP_OK(!got && err[0] != '\0', "\"%s\" is refused (%s)", url, err);
		return;
	}
	if (!TAP_OK(got && t.unix_socket == is_unix && strcmp(is_unix ? t.path : t.host, host)
	    == 0 && (is_unix || (t.port == p && t.db == db)), "\"%s\" parses", url))
		printf("#   err \"%s\" unix %d host \"%s\" path \"%s\" port %u db %u\n", err,
		    t.unix_socket, t.host, t.path, t.port, t.db);
}

static void urls(void)
{
	char	long_path[160];

	check_url("redis://127.0.0.1:6379/0", 1, 0, "127.0.0.1", 6379, 0);
	check_url("redis://10.0.0.5", 1, 0, "10.0.0.5", 6379, 0);
	check_url("redis://redis.example.com:7000", 1, 0, "redis.example.com", 7000, 0);
	check_url("redis://[2001:db8::1]:6380/15", 1, 0, "2001:db8::1", 6380, 15);
	check_url("redis://[::1]/2", 1, 0, "::1", 6379, 2);
	check_url("redis://localhost/65535", 1, 0, "localhost", 6379, 65535);
	check_url("unix:/run/redis/redis.sock", 1, 1, "/run/redis/redis.sock", 0, 0);
	check_url("redis://", 0, 0, NULL, 0, 0);
	check_url("redis://:6379", 0, 0, NULL, 0, 0);
	check_url("redis://host:", 0, 0, NULL, 0, 0);
	check_url("redis://host:0", 0, 0, NULL, 0, 0);
	check_url("redis://host:65536", 0, 0, NULL, 0, 0);
	check_url("redis://host:99999999999999999999", 0, 0, NULL, 0, 0);
	check_url("redis://host:-1", 0, 0, NULL, 0, 0);
	check_url("redis://host:+80", 0, 0, NULL, 0, 0);
	check_url("redis://host:80x", 0, 0, NULL, 0, 0);
	check_url("redis://host/", 0, 0, NULL, 0, 0);
	check_url("redis://host/65536", 0, 0, NULL, 0, 0);
	check_url("redis://host/1/2", 0, 0, NULL, 0, 0);
	check_url("redis://host/x", 0, 0, NULL, 0, 0);
	check_url("redis://user:secret@host", 0, 0, NULL, 0, 0);
	check_url("redis://host?db=1", 0, 0, NULL, 0, 0);
	check_url("redis://[2001:db8::1", 0, 0, NULL, 0, 0);
	check_url("redis://[not-v6]:1", 0, 0, NULL, 0, 0);
	check_url("redis://bad_host!:1", 0, 0, NULL, 0, 0);
	check_url("redis://2001:db8::1", 0, 0, NULL, 0, 0);
	check_url("rediss://host", 0, 0, NULL, 0, 0);
	check_url("http://host", 0, 0, NULL, 0, 0);
	check_url("unix:relative.sock", 0, 0, NULL, 0, 0);
	check_url("unix:", 0, 0, NULL, 0, 0);
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[sizeof(long_path) - 1] = '\0';
	memcpy(long_path, "unix:/", 6);
	check_url(long_path, 0, 0, NULL, 0, 0);
}

/* ---- the fleet --------------------------------------------------------------------- */

static struct ratestore *store_for(const char *url)
{
	struct ratestore_redis_options o = {.timeout_ms = TIMEOUT_MS, .retry_ms = RETRY_MS,
	    .connections = 4};
	char	err[256];
	struct ratestore *s = ratestore_redis_new(url, &o, err, sizeof(err));

	if (s == NULL) {
		printf("Bail out! %s: %s\n", url, err);
		exit(1);
	}
	return s;
}

static struct ratelimits *fleet_rules(void)
{
	return ratecases_load("*  msg/min=5 rcpt/hour=100\n");
}

/* One user through two daemons: the limit, the wait and the one warning are shared. */
static void fleet(struct ratestore *a, struct ratestore *b)
{
	struct ratelimits *rules = fleet_rules();
	struct rate_decision da, db;
	struct sockaddr_storage ss;
	char	err[256];
	int	passed = 0, is_new = -1;

	for (int i = 0; i < 8; i++)
		passed += ratelimit_check(rules, i % 2 ? b : a, "fleet@x.example", RATE_MSG, 1,
		    T0 + 10, &da) == RATE_PASS;
	TAP_INT_EQ(passed, 5, "two daemons, 8 messages alternately against msg/min=5: 5 pass");
	ratelimit_check(rules, a, "fleet@x.example", RATE_MSG, 1, T0 + 20, &da);
	ratelimit_check(rules, b, "fleet@x.example", RATE_MSG, 1, T0 + 20, &db);
	TAP_OK(da.verdict == RATE_OVER && db.verdict == RATE_OVER &&
	    da.retry_after == db.retry_after && da.retry_after > 0, "both daemons refuse, "
	    "freeing at the same time (%u s)", da.retry_after);
	TAP_OK(!da.warn && !db.warn, "the refusal was warned once for the fleet, not again by "
	    "either daemon");
	TAP_OK(ratelimit_check(rules, b, "fleet@x.example", RATE_MSG, 1, T0 + 20 + da.retry_after,
	    &db) == RATE_PASS, "when it frees, the other daemon lets the next through");
	ratecases_address("203.0.113.5", &ss);
	clientnet_check(a, "fleet@x.example", (struct sockaddr *)&ss, 86400, T0, &is_new, err,
	    sizeof(err));
	TAP_INT_EQ(is_new, 1, "a network new to daemon A is new");
	ratecases_address("203.0.113.77", &ss);
	clientnet_check(b, "fleet@x.example", (struct sockaddr *)&ss, 86400, T0 + 60, &is_new,
	    err, sizeof(err));
	TAP_INT_EQ(is_new, 0, "daemon B has seen it too");
	ratelimit_free(rules);
}

static long long raw_integer(redisContext *c, const char *command)
{
	redisReply *r = redisCommand(c, command);
	long long v = r != NULL && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

	if (r != NULL)
		freeReplyObject(r);
	return v;
}

static int count_now(struct ratestore *s, const char *user, int *added, char *err,
    size_t errlen)
{
	struct ratestore_check c = {.user = user, .amount = 1, .now = T0, .count = 1,
	    .windows = {{.slot = 0, .seconds = 60, .limit = 1000}}};
	int	ok = ratestore_check_add(s, &c, err, errlen);

	*added = c.added;
	return ok;
}

/* SCRIPT FLUSH: EVALSHA gets NOSCRIPT and EVAL runs it; the database number is used;
 * keys expire. */
static void script_and_keys(struct ratestore *a)
{
	redisContext *raw = raw_connect();
	char	err[256], url[64];
	int	added = 0;
	struct ratestore *db3;
	redisReply *r;

	if (!TAP_OK(raw != NULL, "a raw connection to the private redis"))
		return;
	r = redisCommand(raw, "SCRIPT FLUSH");
	freeReplyObject(r);
	if (!TAP_OK(count_now(a, "flush@x.example", &added, err, sizeof(err)) && added,
	    "after SCRIPT FLUSH the script is sent again (EVAL after NOSCRIPT)"))
		printf("#   %s\n", err);
	TAP_INT_EQ(raw_integer(raw, "TTL signet:rate:flush@x.example"), 120,
	    "the counters of a 60 s window expire after 120 s");
	snprintf(url, sizeof(url), "redis://127.0.0.1:%u/3", port);
	db3 = store_for(url);
	if (!TAP_OK(count_now(db3, "db3@x.example", &added, err, sizeof(err)) && added,
	    "a store on database 3 counts"))
		printf("#   %s\n", err);
	TAP_INT_EQ(raw_integer(raw, "EXISTS signet:rate:db3@x.example"), 0,
	    "not in database 0");
	freeReplyObject(redisCommand(raw, "SELECT 3"));
	TAP_INT_EQ(raw_integer(raw, "EXISTS signet:rate:db3@x.example"), 1, "but in database 3");
	ratestore_free(db3);
	redisFree(raw);
}

/* A rate check while Redis is away: RATE_ERROR, and how long it took. */
static enum rate_verdict check_timed(struct ratestore *s, double *ms, char *err, size_t errlen)
{
	static struct ratelimits *rules;
	struct rate_decision d;
	double	start = now_ms();
	enum rate_verdict v;

	if (rules == NULL)
		rules = fleet_rules();
	v = ratelimit_check(rules, s, "outage@x.example", RATE_RCPT, 1, T0, &d);
	*ms = now_ms() - start;
	snprintf(err, errlen, "%s", d.err);
	return v;
}

/* A check while Redis is away: want the verdict, within most ms. */
static void check_outage(struct ratestore *s, enum rate_verdict want, double most,
    const char *what)
{
	char	err[256];
	double	ms;
	enum rate_verdict got = check_timed(s, &ms, err, sizeof(err));

	if (!TAP_OK(got == want && ms < most, "%s: %s in %.1f ms (under %.0f)", what,
	    want == RATE_ERROR ? "an error" : "a pass", ms, most) || got == RATE_ERROR)
		printf("#   verdict %d: %s\n", got, err);
}

static void outage(struct ratestore *a, struct ratestore *b)
{
	char	err[256] = "", why[512];
	int	added = 0;

	/* frozen: the connection is made, the command never answered */
	check_outage(a, RATE_PASS, 1000, "before");
	kill(redis_pid, SIGSTOP);
	check_outage(a, RATE_ERROR, TIMEOUT_MS + 150, "Redis frozen (SIGSTOP), timeout 200 ms");
	check_outage(a, RATE_ERROR, 20, "marked down, the next check fails at once");
	check_outage(b, RATE_ERROR, TIMEOUT_MS + 150, "the other daemon times out on its own");
	kill(redis_pid, SIGCONT);
	usleep(RETRY_MS * 1000 + 50000);
	check_outage(a, RATE_PASS, 1000, "thawed, after the retry interval the store reconnects");

	/* stopped: connections refused */
	redis_stop();
	check_outage(b, RATE_ERROR, TIMEOUT_MS, "Redis stopped (SIGTERM)");
	check_outage(a, RATE_ERROR, TIMEOUT_MS, "Redis stopped, the other daemon");
	usleep(RETRY_MS * 1000 + 50000);
	check_outage(a, RATE_ERROR, TIMEOUT_MS, "still stopped after the retry interval");

	/* started again on the same socket and port */
	if (!TAP_OK(redis_start(why, sizeof(why)), "redis-server starts again")) {
		printf("#   %s\n", why);
		return;
	}
	usleep(RETRY_MS * 1000 + 50000);
	if (!TAP_OK(count_now(a, "back@x.example", &added, err, sizeof(err)) && added,
	    "restarted: daemon A reconnects by itself"))
		printf("#   %s\n", err);
	if (!TAP_OK(count_now(b, "back@x.example", &added, err, sizeof(err)) && added,
	    "and so does daemon B"))
		printf("#   %s\n", err);
}

int	main(void)
{
	char	url[160];
	struct ratestore *stores[2];

	urls();
	if (!redisserver_begin())
		return tap_done();
	snprintf(url, sizeof(url), "unix:%s", sock_path);
	stores[0] = store_for(url);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%u/0", port);
	stores[1] = store_for(url);
	ratecases_run(stores[0], "redis over unix", "u");
	ratecases_run(stores[1], "redis over tcp", "t");
	ratecases_networks(stores[0], "redis over unix", "u");
	ratecases_networks(stores[1], "redis over tcp", "t");
	ratecases_race(stores, 2, "redis, two daemons", "r");
	fleet(stores[0], stores[1]);
	script_and_keys(stores[0]);
	outage(stores[0], stores[1]);
	ratestore_free(stores[0]);
	ratestore_free(stores[1]);
	return tap_done();
}
