/*
 * NAME
 *	test-reportcollect - DMARC aggregate-report counting: the table, one message's row,
 *	and the collector with its flusher against a store that fails on demand
 * DESCRIPTION
 *	reporttable: counts per row, the latest policy, the FULL answer, a merge that adds
 *	up rows both tables have and keeps the newer policy, and every allocation of an add
 *	made to fail in turn (torture.h).
 *
 *	reportmsg: the row of a verdict for each case reportmsg.h names -- pass, fail under
 *	DMARCEnforce yes and no, t=y, temperror, another Author Domain's reject, the null
 *	sender -- and each reason not to count (no rua=, none, a recipient in
 *	ReportSkipRecipients, ReportEmail, or the record's own rua= or ruf=).
 *
 *	reportcollect: through the test seam, a fake store whose add and open can be made
 *	to fail, or to block until released.  Counts add up per row exactly; a failed flush
 *	keeps them and a later one writes them once; the ReportMemoryRows bound drops
 *	messages needing new rows only (metric); counting goes on while the flusher is
 *	stuck in the store; a reload that changes ReportStore flushes into the old one
 *	first; the metrics show it all; stop writes the rest.  Finally the same against
 *	a real SQLite store (reportstore.h), read back with reportstore_read().
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/reportstore.h"
#include "milter/reportcollect.h"
#include "milter/reportmsg.h"
#include "milter/reporttable.h"
#include "tests/unit/tap.h"
#include "tests/unit/torture.h"

#define DAY 86400LL
#define T0 (20000 * DAY + 3600)		/* 2024-10-04 01:00:00 UTC */

/* ---- reporttable ------------------------------------------------------------------------ */

static unsigned long count_of(const struct reporttable *t, long long begin, const char *domain,
    const char *row, const char **policy)
{
	size_t	n;
	struct reportstore_count *c = reporttable_counts(t, &n);
	unsigned long found = 0;

	for (size_t i = 0; i < n; i++)
		if (c[i].begin == begin && strcmp(c[i].domain, domain) == 0 &&
		    strcmp(c[i].row, row) == 0) {
			found = c[i].count;
			if (policy != NULL)
				*policy = c[i].policy;
		}
	free(c);
	return found;
}

static void table_counts_and_merges(void)
{
	struct reporttable *a = reporttable_new(), *b = reporttable_new();
	const char *policy = NULL;

	TAP_OK(a != NULL && b != NULL, "reporttable_new");
	TAP_INT_EQ(reporttable_add(a, T0, "a.example", "P1", "row1", 1, 1), REPORTTABLE_NEW_ROW,
	    "a first row is new");
	TAP_INT_EQ(reporttable_add(a, T0, "a.example", "P2", "row1", 1, 0), REPORTTABLE_COUNTED,
	    "the same row is counted even when no new row may be added");
	TAP_INT_EQ(reporttable_add(a, T0, "a.example", "P2", "row2", 1, 0), REPORTTABLE_FULL,
	    "a new row is refused when none may be added");
	TAP_INT_EQ(reporttable_add(a, T0 + DAY, "a.example", "P2", "row1", 1, 1),
	    REPORTTABLE_NEW_ROW, "the same row text in another period is another row");
	TAP_INT_EQ(reporttable_add(a, T0, "b.example", "Q", "row1", 5, 1), REPORTTABLE_NEW_ROW,
	    "the same row text for another domain is another row");
	TAP_INT_EQ(reporttable_rows(a), 3, "three rows");
	TAP_INT_EQ(reporttable_messages(a), 8, "eight messages");
	TAP_INT_EQ(count_of(a, T0, "a.example", "row1", &policy), 2, "row1 counted twice");
	TAP_STR_EQ(policy, "P2", "the latest policy replaces the first");

	/* many rows: the slots grow, every count stays where it belongs */
	for (int i = 0; i < 5000; i++) {
		char	row[32];

		snprintf(row, sizeof(row), "r%d", i);
		reporttable_add(b, T0, "a.example", "P3", row, (unsigned long)i + 1, 1);
	}
	reporttable_add(b, T0, "c.example", "R", "row9", 4, 1);
	TAP_INT_EQ(count_of(b, T0, "a.example", "r4321", NULL), 4322, "a row among 5000 keeps "
	    "its count as the table grows");
	reporttable_merge(a, b);
	TAP_INT_EQ(reporttable_rows(b), 0, "merge empties from");
	TAP_INT_EQ(reporttable_rows(a), 3 + 5000 + 1, "merge moves every row over");
	TAP_INT_EQ(reporttable_messages(a), 8 + 5000 * 5001 / 2 + 4, "merge keeps every message");
	TAP_INT_EQ(count_of(a, T0, "a.example", "row1", &policy), 2, "a row only into had");
	TAP_STR_EQ(policy, "P3", "the merged-in (newer) policy wins for a report both have");
	TAP_INT_EQ(count_of(a, T0, "c.example", "row9", &policy), 4, "a row only from had");
	reporttable_add(b, T0, "a.example", "P4", "row1", 10, 1);
	reporttable_merge(a, b);
	TAP_INT_EQ(count_of(a, T0, "a.example", "row1", NULL), 12, "a row both have is added up");
	reporttable_clear(a);
	TAP_INT_EQ(reporttable_rows(a) + reporttable_messages(a), 0, "clear empties");
	reporttable_free(a);
	reporttable_free(b);
}

static enum torture_outcome add_once(void *context)
{
	struct reporttable *t = context;
	size_t	rows = reporttable_rows(t);
	unsigned long messages = reporttable_messages(t);
	enum reporttable_added r = reporttable_add(t, T0, "new.example", "P", "a new row", 1, 1);

	if (r == REPORTTABLE_NOMEM)
		return reporttable_rows(t) == rows && reporttable_messages(t) == messages ?
		    TORTURE_ERROR : TORTURE_WRONG;
	if (r != REPORTTABLE_NEW_ROW || reporttable_rows(t) != rows + 1 ||
	    reporttable_messages(t) != messages + 1)
		return TORTURE_WRONG;
	reporttable_clear(t);
	return TORTURE_DONE;
}

static void table_torture(void)
{
	struct reporttable *t = reporttable_new();

	torture("reporttable_add of a new report", add_once, t, TORTURE_NO_RECOVERY);
	reporttable_free(t);
}

/* ---- reportmsg ------------------------------------------------------------------------- */

static char *skip_names[] = {"dmarc-in@ours.example"};

static struct conf test_conf(void)
{
	struct conf c;

	memset(&c, 0, sizeof(c));
	c.dmarc_reports = 1;
	c.dmarc_enforce = 1;
	c.report_store = "fake:one";
	c.report_flush_interval = 3600;
	c.report_memory_rows = 100;
	c.report_email = "Reports <noreply@ours.example>";
	c.report_skip_recipients.names = skip_names;
	c.report_skip_recipients.count = 1;
	return c;
}

static struct dmarc_verdict verdict(enum dmarc_result result, enum dmarc_policy p, int testing)
{
	struct dmarc_verdict v;

	memset(&v, 0, sizeof(v));
	v.result = result;
	v.policy = p;
	snprintf(v.policy_tag, sizeof(v.policy_tag), "p");
	v.testing = testing;
	snprintf(v.policy_domain, sizeof(v.policy_domain), "Example.COM");
	v.record.p = p;
	v.record.p_state = DMARC_TAG_VALID;
	v.record.np = DMARC_POLICY_REJECT;
	v.record.np_state = DMARC_TAG_VALID;
	v.record.testing = testing;
	v.record.adkim_strict = 1;
	v.record.has_rua = 1;
	snprintf(v.record.rua, sizeof(v.record.rua), "mailto:agg@example.com!10m, "
	    "mailto:d%%40x@third.example");
	snprintf(v.record.ruf, sizeof(v.record.ruf), "mailto:FORENSIC@example.com");
	v.dkim_aligned = result == DMARC_RESULT_PASS;
	return v;
}

static struct verify_signature sigs[2] = {
	{.result = VERIFY_PASS, .domain = "Mail.Example.COM", .selector = "s1"},
	{.result = VERIFY_TEMPERROR, .domain = "other.example", .selector = "sel.two"},
};

static struct reportmsg message(const struct reportmsg_rcpts *rcpts, enum dmarc_policy applied,
    int enforce)
{
	struct reportmsg m = {
		.client_ip = "192.0.2.7",
		.mail_from = "bounce@Lists.Example.ORG",
		.rcpts = rcpts,
		.sigs = sigs,
		.sig_count = 2,
		.spf_domain = "lists.example.org",
		.spf_result = "softfail",
		.applied = applied,
		.enforce = enforce,
	};

	return m;
}

static void rows_of_messages(void)
{
	struct conf conf = test_conf();
	struct reportmsg_rcpts rcpts = {0};
	struct report_row row;
	struct report_policy pol;
	struct dmarc_verdict v = verdict(DMARC_RESULT_PASS, DMARC_POLICY_REJECT, 0);
	struct reportmsg m;

	reportmsg_rcpt(&rcpts, &conf, "<Bob@Example.NET>");
	reportmsg_rcpt(&rcpts, &conf, "<carol@elsewhere.example>");
	m = message(&rcpts, DMARC_POLICY_NONE, 1);
	TAP_OK(reportmsg_row(&m, "example.com", &v, &row, &pol), "a pass is counted");
	TAP_STR_EQ(row.source_ip, "192.0.2.7", "source_ip");
	TAP_STR_EQ(row.disposition, "none", "pass: disposition none");
	TAP_STR_EQ(row.dkim_aligned, "pass", "pass: dkim aligned");
	TAP_STR_EQ(row.spf_aligned, "fail", "pass: spf not aligned");
	TAP_INT_EQ(row.reason_count, 0, "pass: no reason");
	TAP_STR_EQ(row.header_from, "example.com", "header_from");
	TAP_OK(row.has_envelope_from && strcmp(row.envelope_from, "lists.example.org") == 0,
	    "envelope_from is the MAIL FROM domain, lower case");
	TAP_STR_EQ(row.envelope_to, "example.net", "envelope_to is the first recipient's domain");
	TAP_INT_EQ(row.dkim_count, 2, "every DKIM result");
	TAP_OK(strcmp(row.dkim[0].domain, "mail.example.com") == 0 &&
	    strcmp(row.dkim[0].selector, "s1") == 0 && strcmp(row.dkim[0].result, "pass") == 0 &&
	    strcmp(row.dkim[1].result, "temperror") == 0, "DKIM domain, selector, RFC 8601 result");
	TAP_OK(strcmp(row.spf_domain, "lists.example.org") == 0 &&
	    strcmp(row.spf_result, "softfail") == 0, "SPF domain and result");
	TAP_OK(strcmp(pol.domain, "example.com") == 0 && strcmp(pol.p, "reject") == 0 &&
	    strcmp(pol.sp, "") == 0 && strcmp(pol.np, "reject") == 0 &&
	    strcmp(pol.adkim, "s") == 0 && strcmp(pol.aspf, "r") == 0 &&
	    strcmp(pol.testing, "n") == 0 && strcmp(pol.discovery_method, "treewalk") == 0 &&
	    strncmp(pol.rua, "mailto:agg@", 11) == 0 && strcmp(pol.ruf,
	    "mailto:FORENSIC@example.com") == 0, "the policy as published");

	v = verdict(DMARC_RESULT_FAIL, DMARC_POLICY_REJECT, 0);
	m = message(&rcpts, DMARC_POLICY_REJECT, 1);
	TAP_OK(reportmsg_row(&m, "example.com", &v, &row, &pol) &&
	    strcmp(row.disposition, "reject") == 0 && row.reason_count == 0 &&
	    strcmp(row.dkim_aligned, "fail") == 0, "p=reject enforced: reject, no reason");
	m = message(&rcpts, DMARC_POLICY_NONE, 0);
	TAP_OK(reportmsg_row(&m, "example.com", &v, &row, &pol) &&
	    strcmp(row.disposition, "none") == 0 && row.reason_count == 1 &&
	    strcmp(row.reason[0].type, "local_policy") == 0 &&
	    strcmp(row.reason[0].comment, "DMARCEnforce no") == 0,
	    "p=reject under DMARCEnforce no: none, local_policy");
	m = message(&rcpts, DMARC_POLICY_NONE, 1);
	m.arc_override = "arc=pass as[2].d=lists.example as[2].s=s2 as[1].d=fw.example "
	    "as[1].s=s1 remote-ip[1]=192.0.2.1";
	TAP_OK(reportmsg_row(&m, "example.com", &v, &row, &pol) &&
	    strcmp(row.disposition, "none") == 0 && row.reason_count == 1 &&
	    strcmp(row.reason[0].type, "local_policy") == 0 &&
	    strcmp(row.reason[0].comment, m.arc_override) == 0,
	    "p=reject not enforced for a trusted ARC sealer: local_policy with RFC 8617 7.2.2's "
	    "comment");
	v = verdict(DMARC_RESULT_FAIL, DMARC_POLICY_REJECT, 1);
	m = message(&rcpts, DMARC_POLICY_QUARANTINE, 1);
	TAP_OK(reportmsg_row(&m, "example.com", &v, &row, &pol) &&
	    strcmp(row.disposition, "quarantine") == 0 && row.reason_count == 1 &&
	    strcmp(row.reason[0].type, "policy_test_mode") == 0 && strcmp(pol.testing, "y") == 0,
	    "p=reject t=y: quarantine, policy_test_mode");
	m = message(&rcpts, DMARC_POLICY_NONE, 0);
	TAP_OK(reportmsg_row(&m, "example.com", &v, &row, &pol) && row.reason_count == 2 &&
	    strcmp(row.reason[0].type, "policy_test_mode") == 0 &&
	    strcmp(row.reason[1].type, "local_policy") == 0,
	    "p=reject t=y under DMARCEnforce no: both reasons");
	v = verdict(DMARC_RESULT_TEMPERROR, DMARC_POLICY_REJECT, 0);
	m = message(&rcpts, DMARC_POLICY_NONE, 1);
	TAP_OK(reportmsg_row(&m, "example.com", &v, &row, &pol) &&
	    strcmp(row.disposition, "none") == 0 && row.reason_count == 1 &&
	    strcmp(row.reason[0].type, "other") == 0, "temperror accepted: none, reason other");
	v = verdict(DMARC_RESULT_PASS, DMARC_POLICY_NONE, 0);
	m = message(&rcpts, DMARC_POLICY_REJECT, 1);
	TAP_OK(reportmsg_row(&m, "example.com", &v, &row, &pol) &&
	    strcmp(row.disposition, "reject") == 0 && row.reason_count == 1 &&
	    strcmp(row.reason[0].type, "other") == 0,
	    "rejected for another Author Domain: reject, reason other");
	m = message(&rcpts, DMARC_POLICY_NONE, 1);
	m.mail_from = "";
	m.spf_domain = "helo.example";
	TAP_OK(reportmsg_row(&m, "example.com", &v, &row, &pol) && row.has_envelope_from &&
	    row.envelope_from[0] == '\0' && strcmp(row.spf_domain, "helo.example") == 0,
	    "null sender: envelope_from present and empty, SPF of HELO");
	m.client_ip = "";
	TAP_OK(!reportmsg_row(&m, "example.com", &v, &row, &pol), "unknown client: not counted");

	m = message(&rcpts, DMARC_POLICY_NONE, 1);
	v.record.has_rua = 0;
	TAP_OK(!reportmsg_row(&m, "example.com", &v, &row, &pol), "no rua=: not counted");
	v = verdict(DMARC_RESULT_NONE, DMARC_POLICY_NONE, 0);
	TAP_OK(!reportmsg_row(&m, "example.com", &v, &row, &pol), "dmarc=none: not counted");
	reportmsg_rcpts_free(&rcpts);

	static const struct {
		const char *rcpt, *why;
	} loops[] = {
		{"<DMARC-in@ours.example>", "a recipient in ReportSkipRecipients"},
		{"<noreply@ours.example>", "a recipient that is ReportEmail"},
		{"<agg@EXAMPLE.com>", "a recipient in the record's rua="},
		{"<d@x@third.example>", "a recipient in rua=, %-escaped there"},
		{"<forensic@example.com>", "a recipient in the record's ruf="},
	};
	for (size_t i = 0; i < sizeof(loops) / sizeof(loops[0]); i++) {
		reportmsg_rcpt(&rcpts, &conf, "<first@example.net>");
		reportmsg_rcpt(&rcpts, &conf, loops[i].rcpt);
		m = message(&rcpts, DMARC_POLICY_NONE, 1);
		v = verdict(DMARC_RESULT_PASS, DMARC_POLICY_NONE, 0);
		TAP_OK(!reportmsg_row(&m, "example.com", &v, &row, &pol), "not counted: %s",
		    loops[i].why);
		reportmsg_rcpts_free(&rcpts);
	}
	for (int i = 0; i < REPORTMSG_RCPT_KEEP + 50; i++)
		reportmsg_rcpt(&rcpts, &conf, "<many@example.net>");
	TAP_OK(rcpts.count == REPORTMSG_RCPT_KEEP + 50 && rcpts.kept_count == REPORTMSG_RCPT_KEEP,
	    "recipients kept are bounded (%zu of %zu)", rcpts.kept_count, rcpts.count);
	reportmsg_rcpts_free(&rcpts);
}

/* ---- reportcollect, against a fake store ---------------------------------------------- */

struct reportstore {
	char	spec[64];
};

static struct fake {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct reporttable *got[2];	/* what "fake:one" and "fake:two" took */
	int	fail_open, fail_add;
	int	block;			/* add waits while set */
	int	in_add;
	unsigned adds, opens;
} fake = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {NULL, NULL}, 0, 0, 0, 0, 0, 0};

static struct reportstore *fake_open(const char *spec, char *err, size_t errlen)
{
	struct reportstore *s;

	pthread_mutex_lock(&fake.lock);
	fake.opens++;
	if (fake.fail_open || (s = calloc(1, sizeof(*s))) == NULL) {
		pthread_mutex_unlock(&fake.lock);
		snprintf(err, errlen, "%s: cannot open (test)", spec);
		return NULL;
	}
	pthread_mutex_unlock(&fake.lock);
	snprintf(s->spec, sizeof(s->spec), "%s", spec);
	return s;
}

static void fake_close(struct reportstore *s)
{
	free(s);
}

static int fake_add(struct reportstore *s, const struct reportstore_count *c, size_t n,
    char *err, size_t errlen)
{
	struct reporttable *into = fake.got[strcmp(s->spec, "fake:two") == 0];

	pthread_mutex_lock(&fake.lock);
	fake.in_add = 1;
	pthread_cond_broadcast(&fake.cond);
	while (fake.block)
		pthread_cond_wait(&fake.cond, &fake.lock);
	fake.in_add = 0;
	fake.adds++;
	if (fake.fail_add) {
		pthread_mutex_unlock(&fake.lock);
		snprintf(err, errlen, "%s: connection refused (test)", s->spec);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		reporttable_add(into, c[i].begin, c[i].domain, c[i].policy, c[i].row, c[i].count, 1);
	pthread_mutex_unlock(&fake.lock);
	return 1;
}

static int fake_stats(struct reportstore *s, struct reportstore_stats *out, char *err,
    size_t errlen)
{
	(void)s;
	(void)err;
	(void)errlen;
	memset(out, 0, sizeof(*out));
	out->reports_pending = 3;
	out->reports_made = 2;
	out->deliveries[DELIVERY_SENT] = 7;
	return 1;
}

static const struct reportcollect_store_ops fake_ops = {
	fake_open, fake_close, fake_add, fake_stats,
};

static void set_fake(int *field, int value)
{
	pthread_mutex_lock(&fake.lock);
	*field = value;
	pthread_cond_broadcast(&fake.cond);
	pthread_mutex_unlock(&fake.lock);
}

/* A row and policy for domain, distinguished by n (the source address). */
static void count_n(const char *domain, int n, long long now)
{
	struct report_row row;
	struct report_policy pol;

	memset(&row, 0, sizeof(row));
	memset(&pol, 0, sizeof(pol));
	snprintf(row.source_ip, sizeof(row.source_ip), "198.51.100.%d", n % 256);
	if (n >= 256)
		snprintf(row.source_ip, sizeof(row.source_ip), "2001:db8::%x", n);
	snprintf(row.disposition, sizeof(row.disposition), "none");
	snprintf(row.dkim_aligned, sizeof(row.dkim_aligned), "pass");
	snprintf(row.spf_aligned, sizeof(row.spf_aligned), "fail");
	snprintf(row.header_from, sizeof(row.header_from), "%s", domain);
	snprintf(pol.domain, sizeof(pol.domain), "%s", domain);
	snprintf(pol.discovery_method, sizeof(pol.discovery_method), "treewalk");
	snprintf(pol.p, sizeof(pol.p), "none");
	snprintf(pol.adkim, sizeof(pol.adkim), "r");
	snprintf(pol.aspf, sizeof(pol.aspf), "r");
	snprintf(pol.testing, sizeof(pol.testing), "n");
	reportcollect_count(&row, &pol, now);
}

static unsigned long stored(int which)
{
	unsigned long n;

	pthread_mutex_lock(&fake.lock);
	n = reporttable_messages(fake.got[which]);
	pthread_mutex_unlock(&fake.lock);
	return n;
}

static size_t stored_rows(int which)
{
	size_t	n;

	pthread_mutex_lock(&fake.lock);
	n = reporttable_rows(fake.got[which]);
	pthread_mutex_unlock(&fake.lock);
	return n;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void collector_counts_and_retries(void)
{
	struct conf conf = test_conf();
	struct metrics_reports m;
	char	err[256] = "";

	fake.got[0] = reporttable_new();
	fake.got[1] = reporttable_new();
	reportcollect_set_store_ops(&fake_ops);
	TAP_OK(reportcollect_start(&conf, err, sizeof(err)), "reportcollect_start: %s", err);
	for (int i = 0; i < 30; i++)
		count_n(i % 3 ? "a.example" : "b.example", i % 5, T0);
	count_n("a.example", 1, T0 + DAY);	/* the next day: another report */
	TAP_OK(reportcollect_flush(), "a flush writes everything");
	TAP_INT_EQ(stored(0), 31, "the store took 31 messages");
	TAP_INT_EQ(stored_rows(0), 5 + 5 + 1, "in 11 distinct rows (per day, domain, row)");

	set_fake(&fake.fail_add, 1);
	for (int i = 0; i < 10; i++)
		count_n("a.example", i % 2, T0);
	TAP_OK(!reportcollect_flush(), "a flush to a failing store says so");
	reportcollect_metrics(&m);
	TAP_OK(m.store_errors >= 1 && m.rows_in_memory == 2 && !m.store_up,
	    "metrics: a store error, 2 rows waiting, store down (%lu, %lu, %d)",
	    m.store_errors, m.rows_in_memory, m.store_up);
	for (int i = 0; i < 5; i++)
		count_n("a.example", i % 3, T0);
	TAP_OK(!reportcollect_flush(), "still failing");
	TAP_INT_EQ(stored(0), 31, "nothing written while the store fails");
	set_fake(&fake.fail_add, 0);
	TAP_OK(reportcollect_flush(), "the store is back: the flush succeeds");
	TAP_INT_EQ(stored(0), 31 + 15, "the counts kept in memory are written once, none twice");
	TAP_OK(reportcollect_flush(), "an empty flush succeeds");
	TAP_INT_EQ(stored(0), 46, "and writes nothing more");

	/* the bound: 100 rows (ReportMemoryRows); the store fails so they stay */
	set_fake(&fake.fail_add, 1);
	reportcollect_metrics(&m);
	unsigned long dropped0 = m.dropped, counted0 = m.messages;

	for (int i = 0; i < 150; i++)
		count_n("c.example", i, T0);
	count_n("c.example", 3, T0);		/* an existing row still counts */
	reportcollect_metrics(&m);
	TAP_INT_EQ(m.dropped - dropped0, 50, "past ReportMemoryRows new rows are dropped");
	TAP_INT_EQ(m.messages - counted0, 101, "existing rows are still counted");
	TAP_OK(!reportcollect_flush(), "flush fails (store down)");
	for (int i = 150; i < 160; i++)
		count_n("c.example", i, T0);
	reportcollect_metrics(&m);
	TAP_INT_EQ(m.dropped - dropped0, 60, "rows held by the flusher count against the bound");
	set_fake(&fake.fail_add, 0);
	TAP_OK(reportcollect_flush(), "flush once the store is back");
	TAP_INT_EQ(stored(0), 46 + 101, "the 101 counted messages reach the store");
	count_n("c.example", 200, T0);
	reportcollect_metrics(&m);
	TAP_INT_EQ(m.dropped - dropped0, 60, "once flushed, new rows fit again");
	TAP_OK(m.flushes >= 3 && m.store_up && m.have_store_stats && m.reports_pending == 3 &&
	    m.deliveries[DELIVERY_SENT] == 7, "metrics: flushes, store up, the store's figures");
}

struct counter_arg {
	int	n;
	double	slowest;
};

static void *count_while_stuck(void *arg)
{
	struct counter_arg *a = arg;

	for (int i = 0; i < a->n; i++) {
		double	t = now_s();

		count_n("d.example", i % 7, T0);
		if (now_s() - t > a->slowest)
			a->slowest = now_s() - t;
	}
	return NULL;
}

static void *flush_thread(void *arg)
{
	*(int *)arg = reportcollect_flush();
	return NULL;
}

static void collector_never_waits_for_the_store(void)
{
	pthread_t flusher, counter;
	struct counter_arg a = {2000, 0};
	int	flushed = -1;
	unsigned long before;

	TAP_OK(reportcollect_flush(), "nothing left in memory before the hang");
	before = stored(0);
	count_n("d.example", 0, T0);
	set_fake(&fake.block, 1);
	pthread_create(&flusher, NULL, flush_thread, &flushed);
	pthread_mutex_lock(&fake.lock);
	while (!fake.in_add)
		pthread_cond_wait(&fake.cond, &fake.lock);
	pthread_mutex_unlock(&fake.lock);
	pthread_create(&counter, NULL, count_while_stuck, &a);
	pthread_join(counter, NULL);
	TAP_OK(a.slowest < 0.5, "2000 messages counted while the store hangs, slowest %.3f s",
	    a.slowest);
	set_fake(&fake.block, 0);
	pthread_join(flusher, NULL);
	TAP_OK(flushed == 1, "the stuck flush completes once the store answers");
	TAP_OK(reportcollect_flush(), "the next flush takes what was counted meanwhile");
	TAP_INT_EQ(stored(0) - before, 2001, "every message counted during the hang is written");
}

static void collector_reload_and_stop(void)
{
	struct conf two = test_conf();
	unsigned long one_before = stored(0);

	count_n("e.example", 1, T0);
	count_n("e.example", 2, T0);
	two.report_store = "fake:two";
	reportcollect_reload(&two);
	TAP_INT_EQ(stored(0) - one_before, 2, "a reload flushes into the old store");
	TAP_INT_EQ(stored(1), 0, "and nothing into the new one");
	count_n("e.example", 3, T0);
	count_n("e.example", 3, T0);
	TAP_OK(reportcollect_flush(), "after the reload, flushes go to the new store");
	TAP_INT_EQ(stored(1), 2, "the new store took the counts made after the reload");
	count_n("e.example", 4, T0);
	reportcollect_stop();
	TAP_INT_EQ(stored(1), 3, "stop writes what is left");
	count_n("e.example", 4, T0);		/* after stop: ignored, no crash */
	TAP_OK(!reportcollect_flush(), "no flush after stop");
	reportcollect_set_store_ops(NULL);
	reporttable_free(fake.got[0]);
	reporttable_free(fake.got[1]);
}

/* ---- against SQLite ---------------------------------------------------------------------- */

static int sum_rows(void *ctx, const char *row, unsigned long count)
{
	(void)row;
	*(unsigned long *)ctx += count;
	return 1;
}

static void collector_on_sqlite(void)
{
	char	dir[] = "/tmp/signet-reportcollect-XXXXXX", spec[128], err[256] = "", policy[8192];
	struct conf conf = test_conf();
	struct reportstore *st;
	unsigned long total = 0;

	if (!TAP_OK(mkdtemp(dir) != NULL, "temporary directory"))
		return;
	snprintf(spec, sizeof(spec), "sqlite:%s/reports.db", dir);
	conf.report_store = spec;
	reportcollect_set_store_ops(NULL);
	TAP_OK(reportcollect_start(&conf, err, sizeof(err)), "start on SQLite: %s", err);
	for (int i = 0; i < 25; i++)
		count_n("f.example", i % 4, T0);
	reportcollect_stop();
	if (!TAP_OK((st = reportstore_open(spec, err, sizeof(err))) != NULL, "open: %s", err))
		return;
	TAP_OK(reportstore_read(st, report_period_begin(T0), "f.example", policy, sizeof(policy),
	    sum_rows, &total, err, sizeof(err)), "read: %s", err);
	TAP_INT_EQ(total, 25, "SQLite holds the 25 messages after stop");
	TAP_OK(strstr(policy, "f.example") != NULL, "and the policy");
	reportstore_close(st);
	char	cmd[200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	TAP_OK(system(cmd) == 0, "clean up");
}

int	main(void)
{
	table_counts_and_merges();
	table_torture();
	rows_of_messages();
	collector_counts_and_retries();
	collector_never_waits_for_the_store();
	collector_reload_and_stop();
	collector_on_sqlite();
	return tap_done();
}
