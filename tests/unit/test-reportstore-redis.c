/*
 * NAME
 *	test-reportstore-redis - the Redis report store against a private redis-server: the
 *	cases every backend passes (storecases.h) over a unix socket and over TCP, two
 *	stores (two daemons) adding into one Redis, the keys, a batch Redis refuses leaving
 *	nothing, a Redis that is away and one that restarts
 * DESCRIPTION
 *	The server is redisserver.h's (a missing redis-server is a failure, not a skip).
 */
#define _GNU_SOURCE		/* pipe2(2), in redisserver.h */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "lib/reportstore.h"
#include "tests/unit/tap.h"
#include "tests/unit/redisserver.h"
#include "tests/unit/storecases.h"

/* A command on a raw connection; its reply's integer, or -1, or the string in text. */
static long long raw(const char *command, char *text, size_t size)
{
	redisContext *c = raw_connect();
	redisReply *r = c != NULL ? redisCommand(c, command) : NULL;
	long long v = -1;

	if (text != NULL)
		text[0] = '\0';
	if (r != NULL && r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	else if (r != NULL && text != NULL && (r->type == REDIS_REPLY_STATUS ||
	    r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_ERROR))
		snprintf(text, size, "%s", r->str);
	if (r != NULL)
		freeReplyObject(r);
	if (c != NULL)
		redisFree(c);
	return v;
}

static void flush_all(void)
{
	raw("FLUSHALL", NULL, 0);
}

static void specs(void)
{
	char	err[512] = "", spec[160];
	struct reportstore *st;

	st = reportstore_open("redis://host:0", err, sizeof(err));
	TAP_OK(st == NULL && strstr(err, "port") != NULL, "a bad port is refused (%s)", err);
	st = reportstore_open("unix:relative.sock", err, sizeof(err));
	TAP_OK(st == NULL, "a relative socket path is refused (%s)", err);
	st = reportstore_open("redis://user:pw@host", err, sizeof(err));
	TAP_OK(st == NULL, "a password is refused rather than ignored (%s)", err);
	snprintf(spec, sizeof(spec), "unix:%s/nobody.sock", dir);
	st = reportstore_open(spec, err, sizeof(err));
	TAP_OK(st != NULL, "a store opens while its Redis is away (the daemon starts)");
	TAP_OK(st != NULL && !reportstore_list(st, storecases_list_cb,
	    &(struct storecases_listed){0}, err, sizeof(err)) && strstr(err, spec) != NULL,
	    "... and its calls fail, naming the store (%s)", err);
	reportstore_close(st);
}

/* The layout reportstore-redis.c documents. */
static void keys(const char *spec)
{
	struct storecases_texts *t = storecases_texts();
	struct reportstore_count c = {DAY1, "example.com", t->policy[0], t->row[0], 3};
	struct reportstore *st = storecases_open(spec, flush_all);
	char	err[512] = "", text[256], command[300];

	TAP_OK(reportstore_add(st, &c, 1, err, sizeof(err)), "add (%s)", err);
	raw("TYPE signet:dmarc:reports", text, sizeof(text));
	TAP_STR_EQ(text, "zset", "the index is a sorted set under signet:dmarc:");
	raw("ZSCORE signet:dmarc:reports 1778716800:example.com", text, sizeof(text));
	TAP_STR_EQ(text, "1778716800", "its member BEGIN:DOMAIN is scored BEGIN");
	snprintf(command, sizeof(command), "HLEN signet:dmarc:r:%lld:example.com", DAY1);
	TAP_INT_EQ(raw(command, NULL, 0), 1, "the counters are a hash signet:dmarc:r:BEGIN:DOMAIN");
	TAP_INT_EQ(raw("DBSIZE", NULL, 0), 3, "three keys: index, counters, policy");
	reportstore_close(st);
}

/* Redis refuses the commands as they are queued (no memory): EXECABORT, nothing added. */
static void refused_batch(const char *spec)
{
	struct storecases_texts *t = storecases_texts();
	struct reportstore_count batch[] = {
		{DAY1, "example.com", t->policy[0], t->row[0], 1},
		{DAY1, "example.org", t->policy[2], t->row[1], 1},
	};
	struct reportstore *st = storecases_open(spec, flush_all);
	struct storecases_listed l;
	char	err[512] = "", text[256];

	TAP_OK(reportstore_add(st, batch, 1, err, sizeof(err)), "a first batch (%s)", err);
	raw("CONFIG SET maxmemory 1", text, sizeof(text));
	batch[0].count = 5;
	TAP_OK(!reportstore_add(st, batch, 2, err, sizeof(err)) && strstr(err, spec) != NULL,
	    "a batch Redis refuses while queueing fails (%s)", err);
	raw("CONFIG SET maxmemory 0", text, sizeof(text));
	err[0] = '\0';
	TAP_INT_EQ(storecases_count_of(st, DAY1, "example.com", t->row[0]), 1,
	    "... and adds nothing to an existing row");
	TAP_OK(storecases_list(st, &l) == 1, "... nor a new report");
	TAP_OK(reportstore_add(st, batch, 2, err, sizeof(err)) &&
	    storecases_count_of(st, DAY1, "example.com", t->row[0]) == 6,
	    "the same batch adds once Redis takes it (%s)", err);
	reportstore_close(st);
}

/* Two stores in one process, one per connection kind, as two daemons of a fleet. */
static void two_daemons(const char *spec_a, const char *spec_b)
{
	struct storecases_texts *t = storecases_texts();
	struct reportstore *a = storecases_open(spec_a, flush_all), *b = storecases_open(spec_b,
	    NULL);
	struct reportstore_count c[] = {
		{DAY1, "example.com", t->policy[0], t->row[0], 1},
		{DAY1, "example.com", t->policy[1], t->row[1], 2},
	};
	char	err[512] = "", policy[REPORT_ROW_TEXT_MAX];
	int	ok = 1;

	for (int i = 0; ok && i < 50; i++)
		ok = reportstore_add(i % 2 ? a : b, c, 2, err, sizeof(err));
	TAP_OK(ok, "two daemons add 50 batches in turn (%s)", err);
	TAP_INT_EQ(storecases_count_of(a, DAY1, "example.com", t->row[0]), 50,
	    "daemon A reads the sum of both");
	TAP_INT_EQ(storecases_count_of(b, DAY1, "example.com", t->row[1]), 100,
	    "daemon B too");
	TAP_OK(reportstore_read(a, DAY1, "example.com", policy, sizeof(policy), storecases_row_cb,
	    &(struct storecases_rows){0}, err, sizeof(err)) && strcmp(policy, t->policy[1]) == 0,
	    "the policy is the last flushed by either");
	reportstore_close(a);
	reportstore_close(b);
}

/* Redis restarts: the store's idle connection is closed; the next call works on a new
 * one.  Redis stopped: calls fail at once, saying so. */
static void restart(const char *spec)
{
	struct storecases_texts *t = storecases_texts();
	struct reportstore_count c = {DAY1, "example.com", t->policy[0], t->row[0], 1};
	struct reportstore *st = storecases_open(spec, flush_all);
	char	err[512] = "", why[512];

	TAP_OK(reportstore_add(st, &c, 1, err, sizeof(err)), "add (%s)", err);
	redis_stop();
	TAP_OK(!reportstore_add(st, &c, 1, err, sizeof(err)) && strstr(err, spec) != NULL,
	    "with Redis stopped, add fails naming the store (%s)", err);
	if (!TAP_OK(redis_start(why, sizeof(why)), "redis-server starts again"))
		printf("#   %s\n", why);
	err[0] = '\0';
	TAP_OK(reportstore_add(st, &c, 1, err, sizeof(err)), "add again (%s)", err);
	TAP_OK(reportstore_add(st, &c, 1, err, sizeof(err)), "and on (%s)", err);
	redis_stop();
	if (!TAP_OK(redis_start(why, sizeof(why)), "redis-server restarts"))
		printf("#   %s\n", why);
	TAP_OK(reportstore_add(st, &c, 1, err, sizeof(err)),
	    "after a restart, the idle connection is replaced within the call (%s)", err);
	TAP_INT_EQ(storecases_count_of(st, DAY1, "example.com", t->row[0]), 1,
	    "the count is there once (Redis without persistence began empty)");
	reportstore_close(st);
}

int	main(void)
{
	char	unix_spec[200], tcp_spec[200];

	if (!redisserver_begin())
		return tap_done();
	snprintf(unix_spec, sizeof(unix_spec), "unix:%s", sock_path);
	snprintf(tcp_spec, sizeof(tcp_spec), "redis://127.0.0.1:%u/0", port);
	specs();
	storecases_run(unix_spec, flush_all);
	storecases_run(tcp_spec, flush_all);
	keys(tcp_spec);
	refused_batch(unix_spec);
	two_daemons(unix_spec, tcp_spec);
	restart(tcp_spec);
	return tap_done();
}
