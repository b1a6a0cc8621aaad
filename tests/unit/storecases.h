/*
 * NAME
 *	storecases.h - report store cases that every backend (SQLite, Redis) must pass alike
 * SYNOPSIS
 *	#include "tests/unit/tap.h"
 *	#include "tests/unit/storecases.h"
 *
 *	storecases_run("sqlite:/tmp/x/reports.db", empty_the_store);
 * DESCRIPTION
 *	test-reportstore runs these on SQLite and test-reportstore-redis on Redis.  Each
 *	case begins by calling reset() (which empties what the spec names) and opening the
 *	spec, and checks everything reportstore.h promises: sums, the last policy, the
 *	order of the list, deliveries, done and made, stats, expiry of done reports only,
 *	refusals that leave nothing, and two processes (fork) adding at once summing
 *	exactly.  Rows and policies are real texts of reportrow.c.
 */
#ifndef SIGNET_STORECASES_H
#define SIGNET_STORECASES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "lib/reportrow.h"
#include "lib/reportstore.h"

#define DAY1	1778716800LL	/* 2026-05-14T00:00:00Z */
#define DAY2	(DAY1 + 86400)
#define DAY3	(DAY1 + 2 * 86400)

typedef void (*storecases_reset_fn)(void);

struct storecases_texts {
	char	row[4][REPORT_ROW_TEXT_MAX];
	char	policy[3][REPORT_ROW_TEXT_MAX];
};

/* A row from source_ip with one DKIM pass by selector, and a hostile envelope_to. */
static void storecases_row_named(char *out, const char *source_ip, const char *selector)
{
	struct report_row row;

	memset(&row, 0, sizeof(row));
	snprintf(row.source_ip, sizeof(row.source_ip), "%s", source_ip);
	snprintf(row.disposition, sizeof(row.disposition), "%s", "none");
	snprintf(row.dkim_aligned, sizeof(row.dkim_aligned), "%s", "pass");
	snprintf(row.spf_aligned, sizeof(row.spf_aligned), "%s", "fail");
	snprintf(row.header_from, sizeof(row.header_from), "%s", "example.com");
	snprintf(row.envelope_to, sizeof(row.envelope_to), "%s", "a\tb\nc %\xff");
	row.dkim_count = 1;
	snprintf(row.dkim[0].domain, sizeof(row.dkim[0].domain), "%s", "example.com");
	snprintf(row.dkim[0].selector, sizeof(row.dkim[0].selector), "%s", selector);
	snprintf(row.dkim[0].result, sizeof(row.dkim[0].result), "%s", "pass");
	if (report_row_encode(&row, out, REPORT_ROW_TEXT_MAX) == 0)
		abort();
}

/* Row i: from 192.0.2.i, DKIM selector "s<i>". */
static void storecases_row(char *out, unsigned i)
{
	char	ip[REPORT_IP_MAX], selector[24];

	snprintf(ip, sizeof(ip), "192.0.2.%u", i);
	snprintf(selector, sizeof(selector), "s%u", i);
	storecases_row_named(out, ip, selector);
}

static void storecases_policy(char *out, const char *domain, const char *p)
{
	struct report_policy policy;

	memset(&policy, 0, sizeof(policy));
	snprintf(policy.domain, sizeof(policy.domain), "%s", domain);
	snprintf(policy.discovery_method, sizeof(policy.discovery_method), "%s", "treewalk");
	snprintf(policy.p, sizeof(policy.p), "%s", p);
	snprintf(policy.adkim, sizeof(policy.adkim), "%s", "r");
	snprintf(policy.aspf, sizeof(policy.aspf), "%s", "r");
	snprintf(policy.testing, sizeof(policy.testing), "%s", "n");
	snprintf(policy.rua, sizeof(policy.rua), "mailto:dmarc@%s", domain);
	if (report_policy_encode(&policy, out, REPORT_ROW_TEXT_MAX) == 0)
		abort();
}

static struct storecases_texts *storecases_texts(void)
{
	static struct storecases_texts t;

	for (unsigned i = 0; i < 4; i++)
		storecases_row(t.row[i], i + 1);
	storecases_policy(t.policy[0], "example.com", "none");
	storecases_policy(t.policy[1], "example.com", "reject");
	storecases_policy(t.policy[2], "example.org", "quarantine");
	return &t;
}

/* The store, emptied first unless reset is NULL. */
static struct reportstore *storecases_open(const char *spec, storecases_reset_fn reset)
{
	char	err[512];
	struct reportstore *st;

	if (reset != NULL)
		reset();
	if ((st = reportstore_open(spec, err, sizeof(err))) == NULL) {
		printf("Bail out! %s\n", err);
		exit(1);
	}
	return st;
}

/* ---- reading back ------------------------------------------------------------------ */

struct storecases_listed {
	struct reportstore_report r[16];
	size_t	n, stop_after;
};

static int storecases_list_cb(void *ctx, const struct reportstore_report *report)
{
	struct storecases_listed *l = ctx;

	if (l->n < 16)
		l->r[l->n++] = *report;
	return l->stop_after == 0 || l->n < l->stop_after;
}

static size_t storecases_list(struct reportstore *st, struct storecases_listed *l)
{
	char	err[512] = "";

	memset(l, 0, sizeof(*l));
	if (!reportstore_list(st, storecases_list_cb, l, err, sizeof(err)))
		printf("#   list: %s\n", err);
	return l->n;
}

struct storecases_rows {
	char	text[8][REPORT_ROW_TEXT_MAX];
	unsigned long count[8];
	size_t	n, stop_after;
};

static int storecases_row_cb(void *ctx, const char *row, unsigned long count)
{
	struct storecases_rows *r = ctx;

	if (r->n < 8) {
		snprintf(r->text[r->n], sizeof(r->text[0]), "%s", row);
		r->count[r->n++] = count;
	}
	return r->stop_after == 0 || r->n < r->stop_after;
}

struct storecases_find {
	const char *row;
	long long count;
};

static int storecases_find_cb(void *ctx, const char *row, unsigned long count)
{
	struct storecases_find *f = ctx;

	if (strcmp(row, f->row) == 0)
		f->count = (long long)count;
	return 1;
}

/* The count of row in a report, 0 when absent, -1 when the report cannot be read. */
static long long storecases_count_of(struct reportstore *st, long long begin,
    const char *domain, const char *row)
{
	struct storecases_find f = {row, 0};
	char	policy[REPORT_ROW_TEXT_MAX], err[512];

	if (!reportstore_read(st, begin, domain, policy, sizeof(policy), storecases_find_cb, &f,
	    err, sizeof(err)))
		return -1;
	return f.count;
}

static int storecases_same_delivery(const struct reportstore_delivery *a,
    const struct reportstore_delivery *b)
{
	return a->state == b->state && a->attempts == b->attempts &&
	    a->next_try == b->next_try && a->when == b->when && strcmp(a->detail, b->detail) == 0;
}

/* ---- the cases --------------------------------------------------------------------- */

static void storecases_add_and_read(const char *spec, storecases_reset_fn reset)
{
	struct storecases_texts *t = storecases_texts();
	struct reportstore *st = storecases_open(spec, reset);
	struct reportstore_count batch[] = {
		{DAY2, "example.org", t->policy[2], t->row[0], 5},
		{DAY1, "example.com", t->policy[0], t->row[1], 2},
		{DAY1, "example.com", t->policy[0], t->row[0], 3},
		{DAY1, "example.org", t->policy[2], t->row[0], 1},
		{DAY1, "example.com", t->policy[1], t->row[1], 4},	/* same row: sums */
	};
	static struct storecases_rows rows;
	struct storecases_listed l;
	char	err[512] = "", policy[REPORT_ROW_TEXT_MAX], small[8];

	TAP_OK(reportstore_add(st, batch, 5, err, sizeof(err)), "%s: add a batch (%s)", spec,
	    err);
	TAP_OK(reportstore_add(st, batch + 1, 1, err, sizeof(err)), "%s: add again (%s)", spec,
	    err);
	TAP_OK(reportstore_add(st, NULL, 0, err, sizeof(err)), "%s: add of nothing", spec);
	TAP_INT_EQ(storecases_list(st, &l), 3, "%s: three reports listed", spec);
	TAP_OK(l.r[0].begin == DAY1 && strcmp(l.r[0].domain, "example.com") == 0 &&
	    l.r[1].begin == DAY1 && strcmp(l.r[1].domain, "example.org") == 0 &&
	    l.r[2].begin == DAY2 && strcmp(l.r[2].domain, "example.org") == 0,
	    "%s: listed oldest period first, then by domain", spec);
	TAP_OK(l.r[0].messages == 2 + 3 + 4 + 2 && l.r[0].rows == 2 && l.r[0].done == 0,
	    "%s: a report's messages are the sum of its counters (%lu in %zu rows)", spec,
	    l.r[0].messages, l.r[0].rows);
	TAP_OK(l.r[2].messages == 5 && l.r[2].rows == 1, "%s: the other period apart", spec);

	memset(&rows, 0, sizeof(rows));
	TAP_OK(reportstore_read(st, DAY1, "example.com", policy, sizeof(policy),
	    storecases_row_cb, &rows, err, sizeof(err)), "%s: read (%s)", spec, err);
	TAP_STR_EQ(policy, t->policy[0], "%s: the policy last flushed wins (across batches)",
	    spec);
	TAP_INT_EQ(rows.n, 2, "%s: two rows read", spec);
	TAP_INT_EQ(storecases_count_of(st, DAY1, "example.com", t->row[1]), 2 + 4 + 2,
	    "%s: the same row in one batch and the next sums", spec);
	TAP_INT_EQ(storecases_count_of(st, DAY1, "example.com", t->row[0]), 3,
	    "%s: the other row", spec);
	TAP_OK(rows.n == 2 && strcmp(rows.text[0], rows.text[1]) < 0,
	    "%s: rows come in the order of their text", spec);

	batch[0].policy = t->policy[1];
	batch[0].begin = DAY1;
	batch[0].domain = "example.com";
	batch[1].policy = t->policy[0];
	TAP_OK(reportstore_add(st, batch, 2, err, sizeof(err)), "%s: add a batch with two "
	    "policies for one report", spec);
	memset(&rows, 0, sizeof(rows));
	TAP_OK(reportstore_read(st, DAY1, "example.com", policy, sizeof(policy),
	    storecases_row_cb, &rows, err, sizeof(err)) && strcmp(policy, t->policy[0]) == 0,
	    "%s: within a batch, the last policy wins", spec);

	memset(&rows, 0, sizeof(rows));
	rows.stop_after = 1;
	TAP_OK(reportstore_read(st, DAY1, "example.com", policy, sizeof(policy),
	    storecases_row_cb, &rows, err, sizeof(err)) && rows.n == 1,
	    "%s: a row callback returning 0 stops the walk, read still succeeds", spec);
	memset(&l, 0, sizeof(l));
	l.stop_after = 2;
	TAP_OK(reportstore_list(st, storecases_list_cb, &l, err, sizeof(err)) && l.n == 2,
	    "%s: a list callback returning 0 stops the walk", spec);
	TAP_OK(!reportstore_read(st, DAY3, "example.com", policy, sizeof(policy),
	    storecases_row_cb, &rows, err, sizeof(err)) && strstr(err, spec) != NULL,
	    "%s: reading a report that is not there fails, naming the store (%s)", spec, err);
	TAP_OK(!reportstore_read(st, DAY1, "example.com", small, sizeof(small),
	    storecases_row_cb, &rows, err, sizeof(err)),
	    "%s: a policy that does not fit fails (%s)", spec, err);
	reportstore_close(st);
}

/* Each refused batch is refused at its third count: nothing of the first two stays. */
static void storecases_refusals(const char *spec, storecases_reset_fn reset)
{
	struct storecases_texts *t = storecases_texts();
	struct reportstore *st = storecases_open(spec, reset);
	struct reportstore_count batch[3] = {
		{DAY1, "example.com", t->policy[0], t->row[0], 1},
		{DAY1, "example.org", t->policy[2], t->row[1], 1},
		{DAY1, "example.com", t->policy[0], t->row[2], 1},
	};
	struct {
		const char *name;
		struct reportstore_count bad;
	} cases[] = {
		{"a begin that is not midnight UTC", {DAY1 + 1, "example.com", t->policy[0],
		    t->row[2], 1}},
		{"an empty domain", {DAY1, "", t->policy[0], t->row[2], 1}},
		{"a NULL domain", {DAY1, NULL, t->policy[0], t->row[2], 1}},
		{"a row that is not a row text", {DAY1, "example.com", t->policy[0],
		    "1\tx", 1}},
		{"a NULL row", {DAY1, "example.com", t->policy[0], NULL, 1}},
		{"a policy that is not a policy text", {DAY1, "example.com", t->row[0],
		    t->row[2], 1}},
		{"another domain's policy", {DAY1, "example.com", t->policy[2], t->row[2], 1}},
		{"a count over 2^63 - 1", {DAY1, "example.com", t->policy[0], t->row[2],
		    (unsigned long)-1}},
	};
	struct storecases_listed l;
	struct reportstore_delivery d = {DELIVERY_SENT, 1, 0, DAY2, "250 ok"};
	char	err[512], longest[REPORT_DOMAIN_MAX + 1];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		batch[2] = cases[i].bad;
		err[0] = '\0';
		TAP_OK(!reportstore_add(st, batch, 3, err, sizeof(err)) && err[0] != '\0',
		    "%s: a batch with %s is refused (%s)", spec, cases[i].name, err);
		TAP_INT_EQ(storecases_list(st, &l), 0, "%s: ... and leaves nothing", spec);
	}
	memset(longest, 'a', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	TAP_OK(!reportstore_done(st, DAY1, longest, DAY2, err, sizeof(err)),
	    "%s: a domain of 254 bytes is refused (%s)", spec, err);
	TAP_OK(!reportstore_done(st, DAY1, "example.com", DAY2, err, sizeof(err)),
	    "%s: marking a report that is not there done fails (%s)", spec, err);
	TAP_OK(!reportstore_made(st, DAY1, "example.com", DAY2, err, sizeof(err)),
	    "%s: ... and made (%s)", spec, err);
	TAP_OK(!reportstore_done(st, DAY1, "example.com", 0, err, sizeof(err)),
	    "%s: done at time 0 is refused (%s)", spec, err);
	d.state = (enum reportstore_delivery_state)(DELIVERY_SKIPPED + 1);
	TAP_OK(!reportstore_delivery_set(st, DAY1, "example.com", "mailto:a@b", &d, err,
	    sizeof(err)), "%s: an unknown delivery state is refused (%s)", spec, err);
	d.state = DELIVERY_SENT;
	memset(d.detail, 'x', sizeof(d.detail));
	TAP_OK(!reportstore_delivery_set(st, DAY1, "example.com", "mailto:a@b", &d, err,
	    sizeof(err)), "%s: a detail without its NUL is refused (%s)", spec, err);
	d.detail[0] = '\0';
	TAP_OK(!reportstore_delivery_set(st, DAY1, "example.com", "", &d, err, sizeof(err)),
	    "%s: an empty destination is refused (%s)", spec, err);
	reportstore_close(st);
}

static void storecases_deliveries(const char *spec, storecases_reset_fn reset)
{
	struct storecases_texts *t = storecases_texts();
	struct reportstore *st = storecases_open(spec, reset);
	struct reportstore_count batch[] = {
		{DAY1, "example.com", t->policy[0], t->row[0], 1},
		{DAY1, "example.org", t->policy[2], t->row[0], 1},
		{DAY2, "example.com", t->policy[0], t->row[0], 1},
	};
	struct reportstore_delivery d, got;
	struct reportstore_stats stats;
	struct storecases_listed l;
	char	err[512] = "";

	TAP_OK(reportstore_add(st, batch, 3, err, sizeof(err)), "%s: add (%s)", spec, err);
	memset(&got, 0x55, sizeof(got));
	TAP_OK(reportstore_delivery_get(st, DAY1, "example.com", "mailto:dmarc@example.com",
	    &got, err, sizeof(err)) && got.state == DELIVERY_NONE && got.attempts == 0 &&
	    got.when == 0 && got.detail[0] == '\0',
	    "%s: an unknown delivery is DELIVERY_NONE, all zero", spec);
	memset(&d, 0, sizeof(d));
	d.state = DELIVERY_TEMPFAIL;
	d.attempts = 2;
	d.next_try = DAY2 + 3600;
	d.when = DAY2 + 60;
	snprintf(d.detail, sizeof(d.detail), "%s", "451 4.3.0 try later");
	TAP_OK(reportstore_delivery_set(st, DAY1, "example.com", "mailto:dmarc@example.com",
	    &d, err, sizeof(err)), "%s: set a delivery (%s)", spec, err);
	TAP_OK(reportstore_delivery_get(st, DAY1, "example.com", "mailto:dmarc@example.com",
	    &got, err, sizeof(err)) && storecases_same_delivery(&got, &d),
	    "%s: the delivery reads back as set", spec);
	d.state = DELIVERY_SENT;
	d.attempts = 3;
	snprintf(d.detail, sizeof(d.detail), "%s", "250 2.0.0 queued");
	TAP_OK(reportstore_delivery_set(st, DAY1, "example.com", "mailto:dmarc@example.com",
	    &d, err, sizeof(err)) && reportstore_delivery_get(st, DAY1, "example.com",
	    "mailto:dmarc@example.com", &got, err, sizeof(err)) &&
	    storecases_same_delivery(&got, &d), "%s: a delivery set again replaces it", spec);
	d.state = DELIVERY_SKIPPED;
	snprintf(d.detail, sizeof(d.detail), "%s", "not authorized");
	TAP_OK(reportstore_delivery_set(st, DAY1, "example.com", "mailto:x@other.example", &d,
	    err, sizeof(err)), "%s: a second destination", spec);
	d.state = DELIVERY_SENDING;
	TAP_OK(reportstore_delivery_set(st, DAY1, "example.org", "mailto:dmarc@example.com",
	    &d, err, sizeof(err)), "%s: the same destination for another report", spec);
	TAP_OK(reportstore_delivery_get(st, DAY2, "example.com", "mailto:dmarc@example.com",
	    &got, err, sizeof(err)) && got.state == DELIVERY_NONE,
	    "%s: deliveries are per report", spec);

	TAP_OK(reportstore_made(st, DAY1, "example.com", DAY2 + 10, err, sizeof(err)) &&
	    reportstore_made(st, DAY1, "example.com", DAY2 + 20, err, sizeof(err)) &&
	    reportstore_made(st, DAY1, "example.org", DAY2 + 20, err, sizeof(err)),
	    "%s: made (%s)", spec, err);
	TAP_OK(reportstore_done(st, DAY1, "example.com", DAY2 + 30, err, sizeof(err)),
	    "%s: done (%s)", spec, err);
	storecases_list(st, &l);
	TAP_OK(l.n == 3 && l.r[0].done == DAY2 + 30 && l.r[1].done == 0 && l.r[2].done == 0,
	    "%s: the list shows when a report was done", spec);
	TAP_OK(reportstore_stats(st, &stats, err, sizeof(err)), "%s: stats (%s)", spec, err);
	TAP_INT_EQ(stats.reports_pending, 2, "%s: stats: reports pending", spec);
	TAP_INT_EQ(stats.reports_made, 2, "%s: stats: reports made (once each)", spec);
	TAP_OK(stats.deliveries[DELIVERY_NONE] == 0 && stats.deliveries[DELIVERY_SENDING] == 1 &&
	    stats.deliveries[DELIVERY_SENT] == 1 && stats.deliveries[DELIVERY_TEMPFAIL] == 0 &&
	    stats.deliveries[DELIVERY_SKIPPED] == 1, "%s: stats: deliveries by state "
	    "(%lu %lu %lu %lu %lu)", spec, stats.deliveries[0], stats.deliveries[1],
	    stats.deliveries[2], stats.deliveries[3], stats.deliveries[4]);
	reportstore_close(st);
}

static void storecases_expire(const char *spec, storecases_reset_fn reset)
{
	struct storecases_texts *t = storecases_texts();
	struct reportstore *st = storecases_open(spec, reset);
	struct reportstore_count batch[] = {
		{DAY1, "example.com", t->policy[0], t->row[0], 1},	/* done, old: goes */
		{DAY1, "example.org", t->policy[2], t->row[0], 1},	/* not done: stays */
		{DAY2, "example.com", t->policy[0], t->row[1], 1},	/* done, not old */
		{DAY1, "example.com", t->policy[0], t->row[2], 1},
	};
	struct reportstore_delivery d = {DELIVERY_SENT, 1, 0, DAY2, "250 ok"}, got;
	struct storecases_listed l;
	char	err[512] = "";
	size_t	dropped = 99;
	int	ok;

	TAP_OK(reportstore_add(st, batch, 4, err, sizeof(err)) &&
	    reportstore_done(st, DAY1, "example.com", DAY2, err, sizeof(err)) &&
	    reportstore_done(st, DAY2, "example.com", DAY3, err, sizeof(err)) &&
	    reportstore_delivery_set(st, DAY1, "example.com", "mailto:a@example.com", &d, err,
	    sizeof(err)) && reportstore_delivery_set(st, DAY1, "example.org",
	    "mailto:a@example.com", &d, err, sizeof(err)), "%s: set up (%s)", spec, err);
	ok = reportstore_expire(st, DAY1, &dropped, err, sizeof(err));
	TAP_OK(ok && dropped == 0, "%s: expire before the oldest period drops nothing (%zu)",
	    spec, dropped);
	ok = reportstore_expire(st, DAY2, &dropped, err, sizeof(err));
	TAP_OK(ok && dropped == 1, "%s: expire drops the one done report older than the cut "
	    "(%zu; %s)", spec, dropped, err);
	storecases_list(st, &l);
	TAP_OK(l.n == 2 && l.r[0].begin == DAY1 && strcmp(l.r[0].domain, "example.org") == 0 &&
	    l.r[1].begin == DAY2 && strcmp(l.r[1].domain, "example.com") == 0,
	    "%s: what is not done, or not older, stays", spec);
	TAP_INT_EQ(storecases_count_of(st, DAY1, "example.com", t->row[0]), -1,
	    "%s: the expired report's counters are gone", spec);
	TAP_OK(reportstore_delivery_get(st, DAY1, "example.com", "mailto:a@example.com", &got,
	    err, sizeof(err)) && got.state == DELIVERY_NONE,
	    "%s: ... and its deliveries", spec);
	TAP_OK(reportstore_delivery_get(st, DAY1, "example.org", "mailto:a@example.com", &got,
	    err, sizeof(err)) && got.state == DELIVERY_SENT,
	    "%s: the deliveries of a report kept stay", spec);
	TAP_INT_EQ(storecases_count_of(st, DAY1, "example.org", t->row[0]), 1,
	    "%s: the counters of a report kept stay", spec);
	reportstore_add(st, batch, 1, err, sizeof(err));
	TAP_INT_EQ(storecases_count_of(st, DAY1, "example.com", t->row[0]), 1,
	    "%s: a report expired and counted again starts from nothing", spec);
	storecases_list(st, &l);
	TAP_OK(l.n == 3 && l.r[0].done == 0, "%s: ... not done", spec);
	reportstore_close(st);
}

#define STORECASES_WRITERS	2
#define STORECASES_BATCHES	60

/* Two processes (two daemons) add into one store at once: every count sums exactly. */
static void storecases_two_writers(const char *spec, storecases_reset_fn reset)
{
	struct storecases_texts *t = storecases_texts();
	struct reportstore *st = storecases_open(spec, reset);
	pid_t	pids[STORECASES_WRITERS];
	struct storecases_listed l;
	int	failed = 0, status;

	reportstore_close(st);
	for (int w = 0; w < STORECASES_WRITERS; w++) {
		if ((pids[w] = fork()) == 0) {
			char	err[512];
			struct reportstore *mine = reportstore_open(spec, err, sizeof(err));
			struct reportstore_count batch[] = {
				{DAY1, "example.com", t->policy[0], t->row[0], 1},
				{DAY1, "example.com", t->policy[0], t->row[1], 2},
				{DAY1, "example.org", t->policy[2], t->row[w + 2], 3},
			};
			int	ok = mine != NULL;

			for (int i = 0; ok && i < STORECASES_BATCHES; i++)
				if (!(ok = reportstore_add(mine, batch, 3, err, sizeof(err))))
					printf("#   writer %d: %s\n", w, err);
			reportstore_close(mine);
			fflush(stdout);
			_exit(ok ? 0 : 1);
		}
	}
	for (int w = 0; w < STORECASES_WRITERS; w++)
		if (pids[w] < 0 || waitpid(pids[w], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			failed++;
	TAP_INT_EQ(failed, 0, "%s: %d processes each add %d batches at once", spec,
	    STORECASES_WRITERS, STORECASES_BATCHES);
	st = storecases_open(spec, NULL);
	TAP_INT_EQ(storecases_count_of(st, DAY1, "example.com", t->row[0]),
	    STORECASES_WRITERS * STORECASES_BATCHES, "%s: a shared row sums exactly", spec);
	TAP_INT_EQ(storecases_count_of(st, DAY1, "example.com", t->row[1]),
	    2 * STORECASES_WRITERS * STORECASES_BATCHES, "%s: ... and the other", spec);
	TAP_INT_EQ(storecases_count_of(st, DAY1, "example.org", t->row[2]),
	    3 * STORECASES_BATCHES, "%s: each writer's own row is its own", spec);
	storecases_list(st, &l);
	TAP_OK(l.n == 2 && l.r[0].messages == 3 * STORECASES_WRITERS * STORECASES_BATCHES &&
	    l.r[1].messages == 3 * STORECASES_WRITERS * STORECASES_BATCHES,
	    "%s: the listed sums agree", spec);
	reportstore_close(st);
}

static void storecases_run(const char *spec, storecases_reset_fn reset)
{
	storecases_add_and_read(spec, reset);
	storecases_refusals(spec, reset);
	storecases_deliveries(spec, reset);
	storecases_expire(spec, reset);
	storecases_two_writers(spec, reset);
}

#endif
