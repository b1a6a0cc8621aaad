/*
 * NAME
 *	ratestore-redis.c - rate-limit counters in Redis, shared by a fleet
 * DESCRIPTION
 *	RateLimitStore redis://HOST[:PORT][/DB] or unix:/PATH.  Every daemon of a fleet
 *	counts in the same keys, so a user's limits hold whichever MTA it submits through.
 *
 *	Keys.  signet:rate:USER is a hash with four fields per slot (bN: its current bucket,
 *	pN and cN: the counts of the previous and current bucket, wN: the bucket in which a
 *	refusal was last reported), expiring twice the longest window after its last use.
 *	signet:net:USER is a sorted set of client networks scored by when each was last
 *	used, trimmed to the window and to NETWORKS_MAX members, expiring after the window.
 *
 *	Atomicity.  Each question is one Lua script, which Redis runs alone: CHECK_LUA rolls,
 *	checks and adds every window of a check at once, with slidewin.c's arithmetic
 *	written again in Lua (the tests run the same cases through this store and the
 *	memory one); SEEN_LUA looks a network up and records it.  A script is sent as
 *	EVALSHA of its SHA-1 and, when Redis answers NOSCRIPT (a restart, SCRIPT FLUSH, a
 *	failover), as EVAL, which caches it again.  The caller's clock is passed in, so the
 *	fleet's clocks must agree (NTP).
 *
 *	Connections and threads.  A small pool (options.connections, default 4) guarded by
 *	one mutex: a call takes a free connection, or waits for one at most the timeout,
 *	then talks to Redis without any lock held; so at most that many commands are in
 *	flight and a burst of threads queues briefly instead of opening a connection each.
 *	A connection is made when first needed, with the timeout for the connect and for
 *	every command after it (SO_RCVTIMEO/SO_SNDTIMEO through hiredis).
 *
 *	Failure.  A failed connect, a timeout or a broken connection closes that connection
 *	and makes every call fail at once for retry_ms, so that while Redis is away one call
 *	per interval waits out the timeout and the others do not wait at all; after it, the
 *	next call connects again.  A pooled connection that the server closed (Redis
 *	restarted) is retried once on a new connection within the same call.  The caller
 *	turns a failure into RateLimitStoreDown.  A call waits at most about three times the
 *	timeout (a free connection, the connect, the command).  The URL, the connect and
 *	a command's errors are lib/redisconn.c's: HOST is best an address, and the process
 *	must ignore SIGPIPE (main.c does).
 * SEE ALSO
 *	ratestore.h, slidewin.h, ratestore-memory.c, lib/redisconn.h
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include "lib/alloc.h"
#include "lib/monotonic.h"
#include "lib/redisconn.h"
#include "milter/mailuser.h"
#include "milter/ratestore.h"

#define DEFAULT_TIMEOUT_MS	200
#define DEFAULT_RETRY_MS	1000
#define DEFAULT_CONNECTIONS	4
#define CONNECTIONS_MAX		64
#define NETWORKS_MAX		64	/* client networks kept per user */
#define KEY_RATE		"signet:rate:"
#define KEY_NET			"signet:net:"
#define KEY_MAX			(sizeof(KEY_RATE) + MAILUSER_MAX)
#define ARGS_MAX		(4 + 3 + 3 * RATESTORE_SLOTS)	/* of the check script */

/* ARGV: now, amount, n, then slot, seconds, limit for each of n windows.  Returns
 * added, then prev, cur, over, first_over for each window.  See slidewin.h. */
static const char check_lua[] =
    "local key, now, amount, n = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), "
    "tonumber(ARGV[3])\n"
    "local fits, longest, w = 1, 0, {}\n"
    "for i = 1, n do\n"
    "  local slot, seconds, limit = ARGV[1 + 3 * i], tonumber(ARGV[2 + 3 * i]), "
    "tonumber(ARGV[3 + 3 * i])\n"
    "  local f = redis.call('HMGET', key, 'b' .. slot, 'p' .. slot, 'c' .. slot, 'w' .. slot)\n"
    "  local bucket, b = math.floor(now / seconds), tonumber(f[1])\n"
    "  local p, c, warned = tonumber(f[2]) or 0, tonumber(f[3]) or 0, tonumber(f[4]) or -1\n"
    "  if b == nil or bucket > b then\n"
    "    if b ~= nil and bucket == b + 1 then p = c else p = 0 end\n"
    "    c = 0\n"
    "  else\n"
    "    bucket = b\n"
    "  end\n"
    "  local over = 0\n"
    "  if p * (seconds - now % seconds) + (c + amount) * seconds > limit * seconds then\n"
    "    over = 1; fits = 0\n"
    "  end\n"
    "  w[i] = {slot, bucket, p, c, warned, over}\n"
    "  if seconds > longest then longest = seconds end\n"
    "end\n"
    "local out = {fits}\n"
    "for i = 1, n do\n"
    "  local x, first = w[i], 0\n"
    "  if fits == 1 then x[4] = x[4] + amount end\n"
    "  if x[6] == 1 and x[5] ~= x[2] then first = 1; x[5] = x[2] end\n"
    "  redis.call('HSET', key, 'b' .. x[1], x[2], 'p' .. x[1], x[3], 'c' .. x[1], x[4], "
    "'w' .. x[1], x[5])\n"
    "  out[#out + 1] = x[3]; out[#out + 1] = x[4]; out[#out + 1] = x[6]; "
    "out[#out + 1] = first\n"
    "end\n"
    "redis.call('EXPIRE', key, 2 * longest)\n"
    "return out\n";

/* ARGV: now, window, network, most kept.  Returns 1 when network was used within the
 * window, 0 when not; either way it is recorded as used now. */
static const char seen_lua[] =
    "local key, now, window, net, most = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), "
    "ARGV[3], tonumber(ARGV[4])\n"
    "redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)\n"
    "local seen = redis.call('ZSCORE', key, net) and 1 or 0\n"
    "redis.call('ZADD', key, now, net)\n"
    "local n = redis.call('ZCARD', key)\n"
    "if n > most then redis.call('ZREMRANGEBYRANK', key, 0, n - most - 1) end\n"
    "redis.call('EXPIRE', key, window)\n"
    "return seen\n";

enum script_id { SCRIPT_CHECK, SCRIPT_SEEN, SCRIPTS };

static const char *const script_text[SCRIPTS] = {check_lua, seen_lua};

struct conn {
	redisContext *ctx;	/* NULL: not connected */
	int	busy;		/* taken by a call */
};

struct redis_store {
	struct ratestore base;
	struct redis_target target;
	char	where[REDIS_WHERE_MAX];	/* for messages: "127.0.0.1:6379", the path */
	unsigned timeout_ms, retry_ms;
	char	sha[SCRIPTS][41];
	pthread_mutex_t lock;		/* guards conns[].busy and down_until */
	pthread_cond_t freed;		/* a connection was given back (CLOCK_MONOTONIC) */
	struct timespec down_until;	/* fail at once until then */
	char	failure[192];		/* why, for the calls that fail at once */
	size_t	count;
	struct conn conns[];
};

/* ---- the pool ---------------------------------------------------------------------- */

/* A free connection, marked busy; NULL with err while Redis is marked down or when
 * none came free within the timeout. */
static struct conn *conn_take(struct redis_store *r, char *err, size_t errlen)
{
	struct timespec deadline = timespec_add_ms(now_monotonic(), r->timeout_ms);
	struct conn *c = NULL;
	int	timed_out = 0;

	pthread_mutex_lock(&r->lock);
	if (timespec_before(now_monotonic(), r->down_until)) {
		snprintf(err, errlen, "not retried yet after: %s", r->failure);
		pthread_mutex_unlock(&r->lock);
		return NULL;
	}
	while (c == NULL && !timed_out) {
		for (size_t i = 0; i < r->count && c == NULL; i++)
			if (!r->conns[i].busy)
				c = &r->conns[i];
		if (c == NULL)
			timed_out = pthread_cond_timedwait(&r->freed, &r->lock, &deadline) != 0;
	}
	if (c != NULL)
		c->busy = 1;
	pthread_mutex_unlock(&r->lock);
	if (c == NULL)
		snprintf(err, errlen, "redis %s: all %zu connections busy for %u ms", r->where,
		    r->count, r->timeout_ms);
	return c;
}

/* Gives c back; a failure (why) marks Redis down for retry_ms. */
static void conn_give(struct redis_store *r, struct conn *c, const char *why)
{
	pthread_mutex_lock(&r->lock);
	c->busy = 0;
	if (why != NULL) {
		r->down_until = timespec_add_ms(now_monotonic(), r->retry_ms);
		snprintf(r->failure, sizeof(r->failure), "%s", why);
	}
	pthread_cond_signal(&r->freed);
	pthread_mutex_unlock(&r->lock);
}

static void conn_close(struct conn *c)
{
	if (c->ctx != NULL)
		redisFree(c->ctx);
	c->ctx = NULL;
}

static int conn_open(struct redis_store *r, struct conn *c, char *err, size_t errlen)
{
	c->ctx = redisconn_open(&r->target, r->where, r->timeout_ms, err, errlen);
	return c->ctx != NULL;
}

/* A script's command line, EVALSHA SHA 1 KEY ARG..., built in place. */
struct script_args {
	int	argc;
	const char *argv[ARGS_MAX];
	size_t	lens[ARGS_MAX];
	char	key[KEY_MAX + 1];
	char	number[ARGS_MAX][24];
};

/* Begins with one key, PREFIX USER; 0 with err for an empty or too long user. */
static int args_start(struct script_args *a, const char *prefix, const char *user, char *err,
    size_t errlen)
{
	size_t	n = strlen(user), p = strlen(prefix);

	if (n == 0 || n > MAILUSER_MAX) {
		snprintf(err, errlen, "user name of %zu bytes", n);
		return 0;
	}
	memcpy(a->key, prefix, p);
	memcpy(a->key + p, user, n + 1);
	a->argv[2] = "1";
	a->lens[2] = 1;
	a->argv[3] = a->key;
	a->lens[3] = p + n;
	a->argc = 4;
	return 1;
}

static void args_text(struct script_args *a, const char *text, size_t len)
{
	a->argv[a->argc] = text;
	a->lens[a->argc++] = len;
}

static void args_number(struct script_args *a, long long v)
{
	char   *n = a->number[a->argc];

	args_text(a, n, (size_t)snprintf(n, sizeof(a->number[0]), "%lld", v));
}

/* EVALSHA, then EVAL if Redis does not know the script (NOSCRIPT). */
static enum redisconn_outcome run_script(struct redis_store *r, redisContext *ctx,
    enum script_id id, struct script_args *a, redisReply **reply, char *err, size_t errlen)
{
	enum redisconn_outcome o;

	a->argv[0] = "EVALSHA";
	a->lens[0] = 7;
	a->argv[1] = r->sha[id];
	a->lens[1] = 40;
	o = redisconn_command(ctx, r->where, r->timeout_ms, a->argc, a->argv, a->lens, reply,
	    err, errlen);
	if (o != REDISCONN_REFUSED || strstr(err, "NOSCRIPT") == NULL)
		return o;
	a->argv[0] = "EVAL";
	a->lens[0] = 4;
	a->argv[1] = script_text[id];
	a->lens[1] = strlen(script_text[id]);
	return redisconn_command(ctx, r->where, r->timeout_ms, a->argc, a->argv, a->lens,
	    reply, err, errlen);
}

/* One script on a pooled connection, connecting when needed. */
static int call(struct redis_store *r, enum script_id id, struct script_args *a,
    redisReply **reply, char *err, size_t errlen)
{
	struct conn *c = conn_take(r, err, errlen);
	enum redisconn_outcome o = REDISCONN_BROKEN;
	int	fresh = 0;

	*reply = NULL;
	if (c == NULL)
		return 0;
	if (c->ctx == NULL && (fresh = conn_open(r, c, err, errlen)) == 0) {
		conn_give(r, c, err);
		return 0;
	}
	o = run_script(r, c->ctx, id, a, reply, err, errlen);
	if (o == REDISCONN_BROKEN && !fresh && redisconn_stale(c->ctx)) {
		conn_close(c);
		if (conn_open(r, c, err, errlen))
			o = run_script(r, c->ctx, id, a, reply, err, errlen);
	}
	if (o == REDISCONN_BROKEN)
		conn_close(c);
	conn_give(r, c, o == REDISCONN_BROKEN ? err : NULL);
	return o == REDISCONN_DONE;
}

/* ---- the two questions ------------------------------------------------------------- */

static int check_reply(const redisReply *reply, struct ratestore_check *c)
{
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 1 + 4 * c->count)
		return 0;
	for (size_t i = 0; i < reply->elements; i++)
		if (reply->element[i]->type != REDIS_REPLY_INTEGER ||
		    reply->element[i]->integer < 0 || reply->element[i]->integer > UINT32_MAX)
			return 0;
	c->added = reply->element[0]->integer != 0;
	for (size_t i = 0; i < c->count; i++) {
		redisReply *const *e = reply->element + 1 + 4 * i;

		c->windows[i].prev = (uint32_t)e[0]->integer;
		c->windows[i].cur = (uint32_t)e[1]->integer;
		c->windows[i].over = e[2]->integer != 0;
		c->windows[i].first_over = e[3]->integer != 0;
	}
	return 1;
}

static int redis_check_add(struct ratestore *store, struct ratestore_check *c, char *err,
    size_t errlen)
{
	struct redis_store *r = (struct redis_store *)store;
	struct script_args a;
	redisReply *reply;
	int	ok;

	if (!ratestore_check_valid(c)) {
		snprintf(err, errlen, "internal error: bad rate-limit windows");
		return 0;
	}
	if (!args_start(&a, KEY_RATE, c->user, err, errlen))
		return 0;
	args_number(&a, (long long)c->now);
	args_number(&a, c->amount);
	args_number(&a, (long long)c->count);
	for (size_t i = 0; i < c->count; i++) {
		args_number(&a, c->windows[i].slot);
		args_number(&a, c->windows[i].seconds);
		args_number(&a, c->windows[i].limit);
	}
	if (!call(r, SCRIPT_CHECK, &a, &reply, err, errlen))
		return 0;
	if (!(ok = check_reply(reply, c)))
		snprintf(err, errlen, "redis %s: unexpected answer to the rate-limit script",
		    r->where);
	freeReplyObject(reply);
	return ok;
}

static int redis_client_seen(struct ratestore *store, struct ratestore_seen *s, char *err,
    size_t errlen)
{
	struct redis_store *r = (struct redis_store *)store;
	struct script_args a;
	redisReply *reply;
	int	ok;

	if (!args_start(&a, KEY_NET, s->user, err, errlen))
		return 0;
	args_number(&a, (long long)s->now);
	args_number(&a, s->window);
	args_text(&a, s->network, strnlen(s->network, RATESTORE_NETWORK_MAX));
	args_number(&a, NETWORKS_MAX);
	if (!call(r, SCRIPT_SEEN, &a, &reply, err, errlen))
		return 0;
	if ((ok = reply->type == REDIS_REPLY_INTEGER))
		s->seen = reply->integer != 0;
	else
		snprintf(err, errlen, "redis %s: unexpected answer to the client script", r->where);
	freeReplyObject(reply);
	return ok;
}

/* ---- life ------------------------------------------------------------------------- */

static void redis_free(struct ratestore *store)
{
	struct redis_store *r = (struct redis_store *)store;

	for (size_t i = 0; i < r->count; i++)
		conn_close(&r->conns[i]);
	pthread_cond_destroy(&r->freed);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static const struct ratestore_ops redis_ops = {
	"redis", redis_check_add, redis_client_seen, redis_free,
};

static int script_sha(const char *text, char hex[41])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	if (EVP_Digest(text, strlen(text), md, &len, EVP_sha1(), NULL) != 1 || len != 20)
		return 0;
	for (unsigned i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 1;
}

static int make_sync(struct redis_store *r)
{
	pthread_condattr_t attr;
	int	ok;

	if (pthread_condattr_init(&attr) != 0)
		return 0;
	ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
	    pthread_cond_init(&r->freed, &attr) == 0;
	pthread_condattr_destroy(&attr);
	if (ok && pthread_mutex_init(&r->lock, NULL) != 0) {
		pthread_cond_destroy(&r->freed);
		ok = 0;
	}
	return ok;
}

struct ratestore *ratestore_redis_new(const char *url, const struct ratestore_redis_options *o,
    char *err, size_t errlen)
{
	struct redis_target target;
	struct redis_store *r;
	unsigned n = o != NULL && o->connections ? o->connections : DEFAULT_CONNECTIONS;

	if (!redis_target_parse(url, &target, err, errlen))
		return NULL;
	if (n > CONNECTIONS_MAX)
		n = CONNECTIONS_MAX;
	if ((r = mem_calloc(1, sizeof(*r) + n * sizeof(r->conns[0]))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->base.ops = &redis_ops;
	r->target = target;
	r->count = n;
	r->timeout_ms = o != NULL && o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	r->retry_ms = o != NULL && o->retry_ms ? o->retry_ms : DEFAULT_RETRY_MS;
	redis_target_where(&target, r->where, sizeof(r->where));
	if (!script_sha(check_lua, r->sha[SCRIPT_CHECK]) ||
	    !script_sha(seen_lua, r->sha[SCRIPT_SEEN]) || !make_sync(r)) {
		snprintf(err, errlen, "cannot set up the redis store (SHA-1 or threads)");
		free(r);
		return NULL;
	}
	return &r->base;
}
