/*
 * NAME
 *	reportstore-redis.c - the report store in Redis, shared by a fleet (ReportStore
 *	redis://HOST[:PORT][/DB] or unix:/PATH)
 * DESCRIPTION
 *	Keys, for a report of day BEGIN (reportstore.h's begin, in decimal) and policy
 *	domain DOMAIN, all under signet:dmarc: so that the Redis may hold other things:
 *	    signet:dmarc:reports		sorted set, member "BEGIN:DOMAIN", score BEGIN:
 *					the index of every report
 *	    signet:dmarc:r:BEGIN:DOMAIN	hash, row text -> count (HINCRBY)
 *	    signet:dmarc:p:BEGIN:DOMAIN	string, the policy text last flushed (SET)
 *	    signet:dmarc:m:BEGIN:DOMAIN	hash, fields done and made (seconds)
 *	    signet:dmarc:d:BEGIN:DOMAIN	hash, destination -> "STATE TAB ATTEMPTS TAB
 *					NEXT_TRY TAB WHEN TAB DETAIL"
 *	The members of the index sort by score, then bytewise: oldest day first, then by
 *	domain, as reportstore_list() promises.
 *
 *	Atomicity.  A batch is one MULTI ... EXEC, sent as one pipeline: for each count an
 *	HINCRBY, a SET of the policy and a ZADD to the index.  Redis runs it alone and
 *	whole; a command it refuses while queueing (out of memory, say) aborts the EXEC and
 *	nothing is applied; a connection lost before EXEC applies nothing.  What MULTI
 *	cannot undo is a command failing as it runs (a key of another type under
 *	signet:dmarc:, a counter past 2^63): the call then fails and says so, but the other
 *	commands stay; only someone else's data under our prefix can do that.  An EXEC
 *	whose answer is lost (a timeout after Redis ran it) fails the call though the batch
 *	was added: the daemon's next flush counts it again.  Marking a report done or made
 *	is one small script (it must exist: EXISTS then HSET, alone); expiry is a MULTI of
 *	the DELs and the ZREMs of the reports it found done.
 *
 *	Connection.  One, made at the first call rather than at open, so that a daemon
 *	starts while Redis is away (its counts wait in memory); closed when it breaks, made
 *	again at the next call.  A connection the server closed while it was idle (a
 *	restart) is retried at once on a new one: the command was not read.  Timeout
 *	TIMEOUT_MS for the connect and each reply.  One thread at a time (reportstore.h).
 * SEE ALSO
 *	reportstore.h, reportstore-backend.h, lib/redisconn.h, milter/ratestore-redis.c
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "lib/alloc.h"
#include "lib/grow.h"
#include "lib/redisconn.h"
#include "lib/reportrow.h"
#include "lib/reportstore-backend.h"

#define TIMEOUT_MS	5000
#define PREFIX		"signet:dmarc:"
#define KEY_INDEX	PREFIX "reports"
#define KEY_MAX		(sizeof(PREFIX) + 2 + 21 + REPORT_DOMAIN_MAX)
#define WHY_MAX		400

/* EXISTS the policy key, then HSET the meta key's field; 0 when there is no report. */
static const char mark_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])\n"
    "return 1\n";

struct redis_reports {
	struct reportstore base;
	struct redis_target target;
	char	where[REDIS_WHERE_MAX];
	redisContext *ctx;		/* NULL: not connected */
};

/* ---- commands ---------------------------------------------------------------------- */

#define ARGS_MAX	8	/* EVAL's: EVAL SCRIPT 2 KEY KEY FIELD WHEN */

struct args {
	int	argc;
	const char *argv[ARGS_MAX];
	size_t	lens[ARGS_MAX];
	char	number[ARGS_MAX][24];
};

static void arg_text(struct args *a, const char *text, size_t len)
{
	a->argv[a->argc] = text;
	a->lens[a->argc++] = len;
}

static void arg(struct args *a, const char *text)
{
	arg_text(a, text, strlen(text));
}

static void arg_number(struct args *a, long long v)
{
	char   *n = a->number[a->argc];

	arg_text(a, n, (size_t)snprintf(n, sizeof(a->number[0]), "%lld", v));
}

/* KIND 'r', 'p', 'm' or 'd': PREFIX KIND:BEGIN:DOMAIN; KIND 0: the index's member. */
static void report_key(char *out, char kind, long long begin, const char *domain)
{
	if (kind == 0)
		snprintf(out, KEY_MAX, "%lld:%s", begin, domain);
	else
		snprintf(out, KEY_MAX, PREFIX "%c:%lld:%s", kind, begin, domain);
}

static enum redisconn_outcome one(struct redis_reports *r, struct args *a, redisReply **reply,
    char *why, size_t whylen)
{
	return redisconn_command(r->ctx, r->where, TIMEOUT_MS, a->argc, a->argv, a->lens, reply,
	    why, whylen);
}

static int append(struct redis_reports *r, struct args *a)
{
	return redisAppendCommandArgv(r->ctx, a->argc, a->argv, a->lens) == REDIS_OK;
}

static void free_replies(redisReply **replies, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (replies[i] != NULL)
			freeReplyObject(replies[i]);
	free(replies);
}

/* The n replies of what was appended; NULL and BROKEN when the connection failed. */
static enum redisconn_outcome replies_of(struct redis_reports *r, size_t n,
    redisReply ***out, char *why, size_t whylen)
{
	redisReply **replies = mem_calloc(n ? n : 1, sizeof(*replies));
	void   *reply;

	*out = NULL;
	if (replies == NULL) {
		snprintf(why, whylen, "out of memory");
		return REDISCONN_BROKEN;	/* the replies are still to come: start again */
	}
	for (size_t i = 0; i < n; i++) {
		if (redisGetReply(r->ctx, &reply) != REDIS_OK) {
			redisconn_broken(r->ctx, r->where, TIMEOUT_MS, why, whylen);
			free_replies(replies, n);
			return REDISCONN_BROKEN;
		}
		replies[i] = reply;
	}
	*out = replies;
	return REDISCONN_DONE;
}

/* An error reply into why; 1 when reply is one. */
static int is_error(struct redis_reports *r, const redisReply *reply, char *why, size_t whylen)
{
	if (reply->type != REDIS_REPLY_ERROR)
		return 0;
	snprintf(why, whylen, "redis %s: %.*s", r->where, (int)(reply->len < 160 ? reply->len :
	    160), reply->str);
	return 1;
}

static enum redisconn_outcome unexpected(struct redis_reports *r, const char *what, char *why,
    size_t whylen)
{
	snprintf(why, whylen, "redis %s: unexpected answer to %s", r->where, what);
	return REDISCONN_REFUSED;
}

/* A decimal integer reply or bulk string (HGET, HVALS); 0 when it is neither. */
static int reply_number(const redisReply *reply, long long *out)
{
	char   *end;

	if (reply->type == REDIS_REPLY_INTEGER) {
		*out = reply->integer;
		return 1;
	}
	if (reply->type != REDIS_REPLY_STRING || reply->len == 0 || reply->len > 20)
		return 0;
	*out = strtoll(reply->str, &end, 10);
	return end == reply->str + reply->len;
}

/* ---- the connection ---------------------------------------------------------------- */

typedef enum redisconn_outcome (*redis_op)(struct redis_reports *r, void *arg, char *why,
    size_t whylen);

static void disconnect(struct redis_reports *r)
{
	if (r->ctx != NULL)
		redisFree(r->ctx);
	r->ctx = NULL;
}

/* op on the connection, made when needed; once more on a new one when the server had
 * closed it.  Failures are reported with the spec in front. */
static int with_redis(struct redis_reports *r, redis_op op, void *arg, char *err,
    size_t errlen)
{
	char	why[WHY_MAX] = "";
	enum redisconn_outcome o = REDISCONN_BROKEN;
	int	fresh = 0;

	if (r->ctx == NULL && !(fresh = (r->ctx = redisconn_open(&r->target, r->where,
	    TIMEOUT_MS, why, sizeof(why))) != NULL))
		return reportstore_fail(&r->base, err, errlen, "%s", why);
	o = op(r, arg, why, sizeof(why));
	if (o == REDISCONN_BROKEN && !fresh && redisconn_stale(r->ctx)) {
		disconnect(r);
		if ((r->ctx = redisconn_open(&r->target, r->where, TIMEOUT_MS, why,
		    sizeof(why))) != NULL)
			o = op(r, arg, why, sizeof(why));
	}
	if (o == REDISCONN_BROKEN)
		disconnect(r);
	if (o != REDISCONN_DONE)
		return reportstore_fail(&r->base, err, errlen, "%s", why);
	return 1;
}

/* ---- adding ------------------------------------------------------------------------ */

struct add_arg {
	const struct reportstore_count *counts;
	size_t	n;
};

static int append_count(struct redis_reports *r, const struct reportstore_count *c)
{
	char	rows[KEY_MAX], policy[KEY_MAX], member[KEY_MAX];
	struct args hincrby = {0}, set = {0}, zadd = {0};

	report_key(rows, 'r', c->begin, c->domain);
	report_key(policy, 'p', c->begin, c->domain);
	report_key(member, 0, c->begin, c->domain);
	arg(&hincrby, "HINCRBY");
	arg(&hincrby, rows);
	arg(&hincrby, c->row);
	arg_number(&hincrby, (long long)c->count);
	arg(&set, "SET");
	arg(&set, policy);
	arg(&set, c->policy);
	arg(&zadd, "ZADD");
	arg(&zadd, KEY_INDEX);
	arg_number(&zadd, c->begin);
	arg(&zadd, member);
	return append(r, &hincrby) && append(r, &set) && append(r, &zadd);
}

/* MULTI, 3 commands a count, EXEC: every reply read, then EXEC's looked at. */
static enum redisconn_outcome op_add(struct redis_reports *r, void *p, char *why, size_t whylen)
{
	struct add_arg *a = p;
	struct args multi = {0}, exec = {0};
	size_t	n = 2 + 3 * a->n;
	redisReply **replies, *result;
	enum redisconn_outcome o;
	int	ok;

	arg(&multi, "MULTI");
	arg(&exec, "EXEC");
	ok = append(r, &multi);
	for (size_t i = 0; ok && i < a->n; i++)
		ok = append_count(r, &a->counts[i]);
	if (!ok || !append(r, &exec)) {
		snprintf(why, whylen, "redis %s: out of memory", r->where);
		return REDISCONN_BROKEN;	/* half a pipeline may be buffered: drop it */
	}
	if ((o = replies_of(r, n, &replies, why, whylen)) != REDISCONN_DONE)
		return o;
	result = replies[n - 1];
	o = REDISCONN_DONE;
	for (size_t i = 1; o == REDISCONN_DONE && i < n - 1; i++)
		if (is_error(r, replies[i], why, whylen))
			o = REDISCONN_REFUSED;	/* not queued: EXEC aborts, nothing applied */
	if (o != REDISCONN_DONE || is_error(r, result, why, whylen))
		o = REDISCONN_REFUSED;
	else if (result->type != REDIS_REPLY_ARRAY || result->elements != n - 2)
		o = unexpected(r, "EXEC", why, whylen);
	for (size_t i = 0; o == REDISCONN_DONE && i < n - 2; i++)
		if (is_error(r, result->element[i], why, whylen))
			o = REDISCONN_REFUSED;	/* the others were applied: see the top */
	free_replies(replies, n);
	return o;
}

static int redis_add(struct reportstore *store, const struct reportstore_count *counts,
    size_t n, char *err, size_t errlen)
{
	struct add_arg a = {counts, n};

	return with_redis((struct redis_reports *)store, op_add, &a, err, errlen);
}

/* ---- deliveries ------------------------------------------------------------------- */

/* "STATE TAB ATTEMPTS TAB NEXT_TRY TAB WHEN TAB DETAIL" into out; 0 when it is not. */
static int parse_delivery(const redisReply *reply, struct reportstore_delivery *out)
{
	long long number[4];
	const char *p, *end;
	char   *stop;

	memset(out, 0, sizeof(*out));
	if (reply->type != REDIS_REPLY_STRING)
		return 0;
	p = reply->str;
	end = reply->str + reply->len;
	for (int i = 0; i < 4; i++) {
		const char *tab = memchr(p, '\t', (size_t)(end - p));

		if (tab == NULL || tab == p || tab - p > 20)
			return 0;
		number[i] = strtoll(p, &stop, 10);
		if (stop != tab)
			return 0;
		p = tab + 1;
	}
	if (number[0] < DELIVERY_NONE || number[0] > DELIVERY_SKIPPED || number[1] < 0 ||
	    number[1] > (long long)UINT_MAX || memchr(p, '\0', (size_t)(end - p)) != NULL)
		return 0;
	out->state = (enum reportstore_delivery_state)number[0];
	out->attempts = (unsigned)number[1];
	out->next_try = number[2];
	out->when = number[3];
	snprintf(out->detail, sizeof(out->detail), "%.*s", (int)(end - p), p);
	return 1;
}

struct delivery_arg {
	long long begin;
	const char *domain, *destination;
	struct reportstore_delivery *get;
	const struct reportstore_delivery *set;
};

static enum redisconn_outcome op_delivery(struct redis_reports *r, void *p, char *why,
    size_t whylen)
{
	struct delivery_arg *d = p;
	char	key[KEY_MAX], value[sizeof(d->set->detail) + 100];
	struct args a = {0};
	redisReply *reply;
	enum redisconn_outcome o;

	report_key(key, 'd', d->begin, d->domain);
	arg(&a, d->set != NULL ? "HSET" : "HGET");
	arg(&a, key);
	arg(&a, d->destination);
	if (d->set != NULL)
		arg_text(&a, value, (size_t)snprintf(value, sizeof(value), "%d\t%u\t%lld\t%lld\t%s",
		    (int)d->set->state, d->set->attempts, d->set->next_try, d->set->when,
		    d->set->detail));
	if ((o = one(r, &a, &reply, why, whylen)) != REDISCONN_DONE)
		return o;
	if (d->get != NULL && reply->type != REDIS_REPLY_NIL && !parse_delivery(reply, d->get))
		o = unexpected(r, "HGET of a delivery", why, whylen);
	freeReplyObject(reply);
	return o;
}

static int redis_delivery_get(struct reportstore *store, long long begin, const char *domain,
    const char *destination, struct reportstore_delivery *out, char *err, size_t errlen)
{
	struct delivery_arg d = {begin, domain, destination, out, NULL};

	return with_redis((struct redis_reports *)store, op_delivery, &d, err, errlen);
}

static int redis_delivery_set(struct reportstore *store, long long begin, const char *domain,
    const char *destination, const struct reportstore_delivery *state, char *err,
    size_t errlen)
{
	struct delivery_arg d = {begin, domain, destination, NULL, state};

	return with_redis((struct redis_reports *)store, op_delivery, &d, err, errlen);
}

/* ---- listing ----------------------------------------------------------------------- */

/* "BEGIN:DOMAIN" into a report; 0 when it is not one. */
static int parse_member(const redisReply *m, struct reportstore_report *out)
{
	const char *colon;
	char   *end;

	if (m->type != REDIS_REPLY_STRING ||
	    (colon = memchr(m->str, ':', m->len)) == NULL || colon == m->str)
		return 0;
	memset(out, 0, sizeof(*out));
	out->begin = strtoll(m->str, &end, 10);
	if (end != colon || m->len - (size_t)(colon + 1 - m->str) >= sizeof(out->domain) ||
	    m->len == (size_t)(colon + 1 - m->str))
		return 0;
	memcpy(out->domain, colon + 1, m->len - (size_t)(colon + 1 - m->str));
	return 1;
}

struct list_arg {
	struct reportstore_report *reports;
	size_t	count;
	struct reportstore_stats *stats;	/* NULL, or counted too (redis_stats) */
};

/* The index, then for each report HVALS of its rows, HMGET done made, HVALS of its
 * deliveries, in one pipeline. */
static enum redisconn_outcome op_list(struct redis_reports *r, void *p, char *why,
    size_t whylen)
{
	struct list_arg *l = p;
	struct args range = {0};
	redisReply *index, **replies = NULL;
	enum redisconn_outcome o;
	size_t	n = 0, cap = 0;
	int	ok = 1;

	arg(&range, "ZRANGE");
	arg(&range, KEY_INDEX);
	arg(&range, "0");
	arg(&range, "-1");
	if ((o = one(r, &range, &index, why, whylen)) != REDISCONN_DONE)
		return o;
	if (index->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(index);
		return unexpected(r, "ZRANGE", why, whylen);
	}
	free(l->reports);
	l->reports = NULL;
	l->count = 0;
	if (l->stats != NULL)
		memset(l->stats, 0, sizeof(*l->stats));
	for (size_t i = 0; ok && i < index->elements; i++) {
		struct reportstore_report *grown = array_grow(l->reports, &cap, n + 1,
		    sizeof(*grown));
		char	key[KEY_MAX];
		struct args hvals = {0}, hmget = {0}, dvals = {0};

		if (grown == NULL) {
			snprintf(why, whylen, "out of memory");
			ok = 0;
			break;
		}
		l->reports = grown;
		if (!parse_member(index->element[i], &l->reports[n]))
			continue;	/* not ours to list */
		report_key(key, 'r', l->reports[n].begin, l->reports[n].domain);
		arg(&hvals, "HVALS");
		arg(&hvals, key);
		ok = append(r, &hvals);
		report_key(key, 'm', l->reports[n].begin, l->reports[n].domain);
		arg(&hmget, "HMGET");
		arg(&hmget, key);
		arg(&hmget, "done");
		arg(&hmget, "made");
		ok = ok && append(r, &hmget);
		report_key(key, 'd', l->reports[n].begin, l->reports[n].domain);
		arg(&dvals, "HVALS");
		arg(&dvals, key);
		ok = ok && append(r, &dvals);
		n++;
	}
	freeReplyObject(index);
	if (!ok) {
		if (why[0] == '\0')
			snprintf(why, whylen, "redis %s: out of memory", r->where);
		return REDISCONN_BROKEN;
	}
	if ((o = replies_of(r, 3 * n, &replies, why, whylen)) != REDISCONN_DONE)
		return o;
	for (size_t i = 0; o == REDISCONN_DONE && i < n; i++) {
		struct reportstore_report *rep = &l->reports[i];
		redisReply *rows = replies[3 * i], *meta = replies[3 * i + 1];
		redisReply *deliveries = replies[3 * i + 2];
		struct reportstore_delivery d;
		long long v;

		if (rows->type != REDIS_REPLY_ARRAY || meta->type != REDIS_REPLY_ARRAY ||
		    meta->elements != 2 || deliveries->type != REDIS_REPLY_ARRAY) {
			o = unexpected(r, "HVALS or HMGET", why, whylen);
			break;
		}
		for (size_t j = 0; j < rows->elements; j++)
			if (reply_number(rows->element[j], &v) && v > 0)
				rep->messages += (unsigned long)v;
		rep->rows = rows->elements;
		if (reply_number(meta->element[0], &v))
			rep->done = v;
		if (l->stats == NULL)
			continue;
		l->stats->reports_pending += rep->done == 0;
		l->stats->reports_made += reply_number(meta->element[1], &v) && v > 0;
		for (size_t j = 0; j < deliveries->elements; j++)
			if (parse_delivery(deliveries->element[j], &d))
				l->stats->deliveries[d.state]++;
	}
	free_replies(replies, 3 * n);
	l->count = n;
	return o;
}

static int redis_list(struct reportstore *store, struct reportstore_report **reports,
    size_t *count, char *err, size_t errlen)
{
	struct list_arg l = {NULL, 0, NULL};

	if (!with_redis((struct redis_reports *)store, op_list, &l, err, errlen)) {
		free(l.reports);
		return 0;
	}
	*reports = l.reports;
	*count = l.count;
	return 1;
}

static int redis_stats(struct reportstore *store, struct reportstore_stats *out, char *err,
    size_t errlen)
{
	struct list_arg l = {NULL, 0, out};
	int	ok = with_redis((struct redis_reports *)store, op_list, &l, err, errlen);

	free(l.reports);
	return ok;
}

/* ---- reading ----------------------------------------------------------------------- */

struct read_arg {
	long long begin;
	const char *domain;
	char   *policy;
	size_t	size;
	reportstore_row_fn fn;
	void   *ctx;
};

struct field_value {
	const redisReply *field, *value;
};

static int by_field(const void *a, const void *b)
{
	const redisReply *x = ((const struct field_value *)a)->field;
	const redisReply *y = ((const struct field_value *)b)->field;
	int	c = memcmp(x->str, y->str, x->len < y->len ? x->len : y->len);

	return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* HGETALL's field-value pairs, sorted by field (bytewise, as SQLite's ORDER BY), to the
 * callback. */
static enum redisconn_outcome give_rows(struct redis_reports *r, struct read_arg *a,
    const redisReply *all, char *why, size_t whylen)
{
	size_t	n = all->elements / 2;
	struct field_value *pairs = mem_calloc(n ? n : 1, sizeof(*pairs));
	long long v;

	if (pairs == NULL) {
		snprintf(why, whylen, "redis %s: out of memory", r->where);
		return REDISCONN_REFUSED;
	}
	for (size_t i = 0; i < n; i++) {
		pairs[i].field = all->element[2 * i];
		pairs[i].value = all->element[2 * i + 1];
		if (pairs[i].field->type != REDIS_REPLY_STRING) {
			free(pairs);
			return unexpected(r, "HGETALL", why, whylen);
		}
	}
	qsort(pairs, n, sizeof(*pairs), by_field);
	for (size_t i = 0; i < n; i++) {
		if (!reply_number(pairs[i].value, &v) || v < 0)
			v = 0;
		if (!a->fn(a->ctx, pairs[i].field->str, (unsigned long)v))
			break;
	}
	free(pairs);
	return REDISCONN_DONE;
}

static enum redisconn_outcome op_read(struct redis_reports *r, void *p, char *why,
    size_t whylen)
{
	struct read_arg *a = p;
	char	policy_key[KEY_MAX], rows_key[KEY_MAX];
	struct args get = {0}, all = {0};
	redisReply **replies, *policy, *rows;
	enum redisconn_outcome o;

	report_key(policy_key, 'p', a->begin, a->domain);
	report_key(rows_key, 'r', a->begin, a->domain);
	arg(&get, "GET");
	arg(&get, policy_key);
	arg(&all, "HGETALL");
	arg(&all, rows_key);
	if (!append(r, &get) || !append(r, &all)) {
		snprintf(why, whylen, "redis %s: out of memory", r->where);
		return REDISCONN_BROKEN;
	}
	if ((o = replies_of(r, 2, &replies, why, whylen)) != REDISCONN_DONE)
		return o;
	policy = replies[0];
	rows = replies[1];
	if (policy->type == REDIS_REPLY_NIL) {
		snprintf(why, whylen, "no report for %s of %lld", a->domain, a->begin);
		o = REDISCONN_REFUSED;
	} else if (policy->type != REDIS_REPLY_STRING || rows->type != REDIS_REPLY_ARRAY ||
	    rows->elements % 2 != 0) {
		o = unexpected(r, "GET or HGETALL", why, whylen);
	} else if (policy->len >= a->size || memchr(policy->str, '\0', policy->len) != NULL) {
		snprintf(why, whylen, "the policy of %s does not fit in %zu bytes", a->domain,
		    a->size);
		o = REDISCONN_REFUSED;
	} else {
		memcpy(a->policy, policy->str, policy->len + 1);
		o = give_rows(r, a, rows, why, whylen);
	}
	free_replies(replies, 2);
	return o;
}

static int redis_read(struct reportstore *store, long long begin, const char *domain,
    char *policy, size_t size, reportstore_row_fn fn, void *ctx, char *err, size_t errlen)
{
	struct read_arg a = {begin, domain, policy, size, fn, ctx};

	return with_redis((struct redis_reports *)store, op_read, &a, err, errlen);
}

/* ---- marks and expiry -------------------------------------------------------------- */

struct mark_arg {
	long long begin, when;
	const char *domain, *field;
};

static enum redisconn_outcome op_mark(struct redis_reports *r, void *p, char *why,
    size_t whylen)
{
	struct mark_arg *m = p;
	char	policy[KEY_MAX], meta[KEY_MAX];
	struct args a = {0};
	redisReply *reply;
	enum redisconn_outcome o;

	report_key(policy, 'p', m->begin, m->domain);
	report_key(meta, 'm', m->begin, m->domain);
	arg(&a, "EVAL");
	arg(&a, mark_lua);
	arg(&a, "2");
	arg(&a, policy);
	arg(&a, meta);
	arg(&a, m->field);
	arg_number(&a, m->when);
	if ((o = one(r, &a, &reply, why, whylen)) != REDISCONN_DONE)
		return o;
	if (reply->type != REDIS_REPLY_INTEGER)
		o = unexpected(r, "the mark script", why, whylen);
	else if (reply->integer == 0) {
		snprintf(why, whylen, "no report for %s of %lld", m->domain, m->begin);
		o = REDISCONN_REFUSED;
	}
	freeReplyObject(reply);
	return o;
}

static int redis_mark(struct reportstore *store, long long begin, const char *domain,
    int field, long long when, char *err, size_t errlen)
{
	struct mark_arg m = {begin, when, domain,
	    field == REPORTSTORE_MARK_DONE ? "done" : "made"};

	return with_redis((struct redis_reports *)store, op_mark, &m, err, errlen);
}

struct expire_arg {
	long long before;
	size_t	dropped;
};

/* MULTI, for each report to drop DEL of its four keys and ZREM of its member, EXEC. */
static enum redisconn_outcome drop_reports(struct redis_reports *r,
    const struct reportstore_report *drop, size_t n, char *why, size_t whylen)
{
	struct args multi = {0}, exec = {0};
	redisReply **replies;
	enum redisconn_outcome o;
	int	ok;

	arg(&multi, "MULTI");
	arg(&exec, "EXEC");
	ok = append(r, &multi);
	for (size_t i = 0; ok && i < n; i++) {
		char	keys[4][KEY_MAX], member[KEY_MAX];
		struct args del = {0}, zrem = {0};

		arg(&del, "DEL");
		for (int k = 0; k < 4; k++) {
			report_key(keys[k], "rpmd"[k], drop[i].begin, drop[i].domain);
			arg(&del, keys[k]);
		}
		report_key(member, 0, drop[i].begin, drop[i].domain);
		arg(&zrem, "ZREM");
		arg(&zrem, KEY_INDEX);
		arg(&zrem, member);
		ok = append(r, &del) && append(r, &zrem);
	}
	if (!ok || !append(r, &exec)) {
		snprintf(why, whylen, "redis %s: out of memory", r->where);
		return REDISCONN_BROKEN;
	}
	if ((o = replies_of(r, 2 + 2 * n, &replies, why, whylen)) != REDISCONN_DONE)
		return o;
	if (is_error(r, replies[1 + 2 * n], why, whylen))
		o = REDISCONN_REFUSED;
	else if (replies[1 + 2 * n]->type != REDIS_REPLY_ARRAY)
		o = unexpected(r, "EXEC", why, whylen);
	free_replies(replies, 2 + 2 * n);
	return o;
}

static enum redisconn_outcome op_expire(struct redis_reports *r, void *p, char *why,
    size_t whylen)
{
	struct expire_arg *e = p;
	struct list_arg l = {NULL, 0, NULL};
	enum redisconn_outcome o = op_list(r, &l, why, whylen);
	size_t	n = 0;

	e->dropped = 0;
	for (size_t i = 0; o == REDISCONN_DONE && i < l.count; i++)
		if (l.reports[i].done > 0 && l.reports[i].begin < e->before)
			l.reports[n++] = l.reports[i];
	if (o == REDISCONN_DONE && n > 0 && (o = drop_reports(r, l.reports, n, why,
	    whylen)) == REDISCONN_DONE)
		e->dropped = n;
	free(l.reports);
	return o;
}

static int redis_expire(struct reportstore *store, long long before, size_t *dropped,
    char *err, size_t errlen)
{
	struct expire_arg e = {before, 0};
	int	ok = with_redis((struct redis_reports *)store, op_expire, &e, err, errlen);

	*dropped = e.dropped;
	return ok;
}

/* ---- life -------------------------------------------------------------------------- */

static void redis_close(struct reportstore *store)
{
	struct redis_reports *r = (struct redis_reports *)store;

	disconnect(r);
	free(r);
}

static const struct reportstore_ops redis_ops = {
	redis_add, redis_list, redis_read, redis_delivery_get, redis_delivery_set,
	redis_mark, redis_stats, redis_expire, redis_close,
};

struct reportstore *reportstore_redis_open(const char *spec, char *err, size_t errlen)
{
	struct redis_reports *r;
	char	why[WHY_MAX];
	struct redis_target target;

	if (!redis_target_parse(spec, &target, why, sizeof(why))) {
		snprintf(err, errlen, "report store %s", why);
		return NULL;
	}
	if ((r = mem_calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "report store %.120s: out of memory", spec);
		return NULL;
	}
	r->base.ops = &redis_ops;
	snprintf(r->base.spec, sizeof(r->base.spec), "%s", spec);
	r->target = target;
	redis_target_where(&target, r->where, sizeof(r->where));
	return &r->base;
}
