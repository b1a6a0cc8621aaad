/*
 * NAME
 *	report-send.c - signet-reports send: mail every ended report to each of its
 *	authorized rua destinations, once
 * SYNOPSIS
 *	signet-reports [-c FILE] send [--now TIME] [--sendmail COMMAND | --smtp HOST:PORT]
 *	    [--dry-run]
 * DESCRIPTION
 *	For every report whose UTC day has ended by --now and that is not done, the
 *	report is built (reportbuild.h) and each URI of the policy's rua= (in the order
 *	published, at most REPORTDEST_MAX; reportdest.h) is a destination with its own
 *	delivery state in the store, keyed by the URI as published:
 *
 *	    NONE, SENDING	try now (SENDING: a previous run stopped while sending
 *			it; it is sent again, the only case of a report sent twice)
 *	    TEMPFAIL		try when next_try has come
 *	    SENT, SKIPPED	final: never looked at again
 *
 *	A try: the URI must be a usable mailto: (else SKIPPED, with the reason); the
 *	destination must be authorized (RFC 9990 section 4: refused -> SKIPPED; a DNS
 *	temporary failure -> TEMPFAIL); the mail (reportmail.h) must not be larger than
 *	ReportMaxSize nor the URI's "!size" (else SKIPPED, saying both sizes).  Then the
 *	state becomes SENDING (written before anything is sent: a crash between the two
 *	leaves SENDING, and at most that one is sent again), the mail goes out, and the
 *	state becomes SENT, SKIPPED (refused for good: a 5xx, or sendmail's permanent
 *	status) or TEMPFAIL with next_try = now + 1h, 2h, 4h, ... at most 12h.  A
 *	temporary failure more than GIVE_UP_AFTER (3 days) after the day ended is given
 *	up: SKIPPED.  When every destination is SENT or SKIPPED the report is done (a
 *	report without any rua URI is done at once).
 *
 *	Delivery: --smtp HOST:PORT (smtpclient.h), else the command of --sendmail or
 *	ReportSendmail (sendmailpipe.h: the recipient is given on the command line).
 *	From is ReportEmail, which must be set and be one plain address: without it
 *	nothing is sent.  With --dry-run, what would be sent or skipped is printed on
 *	standard output and nothing is sent or written to the store (the DNS checks are
 *	still made).
 *
 *	Each outcome is one line on standard error (the journal under systemd):
 *	    signet-reports: DOMAIN DAY URI: sent|skipped|tempfail: DETAIL
 *	(a give-up is "skipped: given up after ..."), and a summary line at the end.
 *	With --dry-run the same lines go to standard output as "dry run: DOMAIN DAY URI:
 *	would be sent|skipped|tempfail: DETAIL".
 * DIAGNOSTICS
 *	Exit status 1 when ReportEmail is missing or bad, the store fails, a report
 *	cannot be built or its state written; delivery failures are outcomes, not errors
 *	(exit status 0).
 * SEE ALSO
 *	signet-reports(8), reportdest.h, reportmail.h, smtpclient.h, sendmailpipe.h
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dmarc.h"
#include "lib/dns.h"
#include "lib/printable.h"
#include "lib/reportdest.h"
#include "reports/reportmail.h"
#include "reports/reporttool.h"
#include "reports/sendmailpipe.h"
#include "reports/smtpclient.h"

#define GIVE_UP_AFTER	(3 * 86400LL)	/* after the day ended */
#define RETRY_FIRST	3600LL
#define RETRY_MAX	(12 * 3600LL)
#define SMTP_TIMEOUT_S	60

struct sender {
	struct reporttool *rt;
	char	from[REPORTDEST_ADDRESS_MAX];
	const char *receiver;
	const char *sendmail;		/* used unless rt->smtp */
	struct dns_resolver *resolver;
	struct dmarc_psl *psl;
	unsigned long sent, skipped, waiting, errors;
};

/* What one report is being sent as. */
struct job {
	struct sender *s;
	const struct reportstore_report *r;
	const struct report_build *b;
	char	day[16];
};

static void outcome_line(const struct job *j, const struct reportdest *d, const char *what,
	    const char *detail)
{
	char	text[256];

	printable_copy(text, sizeof(text), detail, NULL);
	if (j->s->rt->dry_run)
		printf("dry run: %s %s %s: %s: %s\n", j->r->domain, j->day, d->uri, what, text);
	else
		reporttool_note("%s %s %s: %s: %s", j->r->domain, j->day, d->uri, what, text);
}

/* Writes a delivery state; 0 (reported) when the store failed. */
static int put_state(struct job *j, const struct reportdest *d,
	    enum reportstore_delivery_state state, unsigned attempts, long long next_try,
	    const char *detail)
{
	struct reportstore_delivery st = { .state = state, .attempts = attempts,
		.next_try = next_try, .when = j->s->rt->now };
	char	err[512];

	if (j->s->rt->dry_run)
		return 1;
	printable_copy(st.detail, sizeof(st.detail), detail, NULL);
	if (reportstore_delivery_set(j->s->rt->store, j->r->begin, j->r->domain, d->uri, &st,
	    err, sizeof(err)))
		return 1;
	reporttool_fail("%s", err);
	j->s->errors++;
	return 0;
}

/* Final: not sent, never will be. */
static int skip(struct job *j, const struct reportdest *d, unsigned attempts,
	    const char *why)
{
	outcome_line(j, d, "skipped", why);
	j->s->skipped++;
	return put_state(j, d, DELIVERY_SKIPPED, attempts, 0, why);
}

static long long retry_delay(unsigned attempts)
{
	long long delay = RETRY_FIRST;

	while (attempts-- > 1 && delay < RETRY_MAX)
		delay *= 2;
	return delay < RETRY_MAX ? delay : RETRY_MAX;
}

/* A temporary failure: try again later, or give up when the day is long over.
 * Returns 1 when the destination is now final. */
static int temporary(struct job *j, const struct reportdest *d, unsigned attempts,
	    const char *why)
{
	char	text[300];
	long long next = j->s->rt->now + retry_delay(attempts);

	if (j->s->rt->now - j->b->end > GIVE_UP_AFTER) {
		snprintf(text, sizeof(text), "given up after %u attempts, %lld days after the "
		    "day ended: %s", attempts, GIVE_UP_AFTER / 86400, why);
		skip(j, d, attempts, text);
		return 1;
	}
	snprintf(text, sizeof(text), "%s (try again in %lld min)", why,
	    (next - j->s->rt->now) / 60);
	outcome_line(j, d, "tempfail", text);
	j->s->waiting++;
	put_state(j, d, DELIVERY_TEMPFAIL, attempts, next, why);
	return 0;
}

static enum mail_outcome deliver(struct job *j, const struct reportdest *d,
	    const struct buffer *mail, char *detail, size_t size)
{
	const struct sender *s = j->s;

	if (s->rt->smtp != NULL)
		return smtp_send(s->rt->smtp, s->receiver, s->from, d->address, mail->data,
		    mail->len, SMTP_TIMEOUT_S, detail, size);
	return sendmail_send(s->sendmail, s->from, d->address, mail->data, mail->len, detail,
	    size);
}

/* Checks, composes and sends one report to one authorized destination.  Returns 1
 * when the destination is final. */
static int send_mail(struct job *j, const struct reportdest *d, unsigned attempts)
{
	unsigned long long limit = (unsigned long long)j->s->rt->conf->report_max_size;
	struct buffer mail = {0};
	char	detail[1024];
	enum mail_outcome o;

	if (!report_mail(j->b, j->s->from, d->address, j->s->rt->now, &mail)) {
		reporttool_fail("%s %s %s: cannot compose the mail (out of memory)",
		    j->r->domain, j->day, d->uri);
		j->s->errors++;
		return 0;
	}
	if (d->max_size > 0 && d->max_size < limit)
		limit = d->max_size;
	if (mail.len > limit) {
		snprintf(detail, sizeof(detail), "the mail of %zu bytes is over the limit of "
		    "%llu bytes (%s)", mail.len, limit, limit == d->max_size ?
		    "the destination's !size" : "ReportMaxSize");
		buffer_free(&mail);
		return skip(j, d, attempts, detail);
	}
	if (j->s->rt->dry_run) {
		snprintf(detail, sizeof(detail), "to %s, %zu bytes, %s%s", d->address, mail.len,
		    j->b->filename, d->overridden ? " (address from the destination's record)" :
		    "");
		outcome_line(j, d, "would be sent", detail);
		j->s->sent++;
		buffer_free(&mail);
		return 0;
	}
	if (!put_state(j, d, DELIVERY_SENDING, attempts + 1, 0, "being sent")) {
		buffer_free(&mail);
		return 0;
	}
	o = deliver(j, d, &mail, detail, sizeof(detail));
	buffer_free(&mail);
	switch (o) {
	case MAIL_SENT:
		outcome_line(j, d, "sent", detail);
		j->s->sent++;
		return put_state(j, d, DELIVERY_SENT, attempts + 1, 0, detail);
	case MAIL_PERMFAIL:
		return skip(j, d, attempts + 1, detail);
	case MAIL_TEMPFAIL:
		break;
	}
	return temporary(j, d, attempts + 1, detail);
}

/* One destination of one report.  Returns 1 when it is final (SENT or SKIPPED). */
static int send_to(struct job *j, struct reportdest *d)
{
	struct reportstore_delivery st;
	struct dmarc_dns dns;
	struct dns_budget budget;
	const struct conf *conf = j->s->rt->conf;
	char	err[512];

	if (!reportstore_delivery_get(j->s->rt->store, j->r->begin, j->r->domain, d->uri, &st,
	    err, sizeof(err))) {
		reporttool_fail("%s", err);
		j->s->errors++;
		return 0;
	}
	if (st.state == DELIVERY_SENT || st.state == DELIVERY_SKIPPED)
		return 1;
	if (st.state == DELIVERY_TEMPFAIL && st.next_try > j->s->rt->now) {
		j->s->waiting++;
		return 0;
	}
	if (st.state == DELIVERY_SENDING)
		reporttool_note("%s %s %s: was being sent when a run stopped: sending again",
		    j->r->domain, j->day, d->uri);
	if (!d->usable)
		return skip(j, d, st.attempts, d->reason);
	dmarc_dns_from_resolver(&dns, j->s->resolver, &budget);
	dns.psl = j->s->psl;
	dns_budget_init(&budget, (unsigned)conf->dns_message_queries,
	    (unsigned)conf->dns_message_time * 1000);
	switch (reportdest_authorize(&dns, j->r->domain, d)) {
	case REPORTDEST_REFUSED:
		return skip(j, d, st.attempts, d->reason);
	case REPORTDEST_TEMPFAIL:
		return temporary(j, d, st.attempts + 1, d->reason);
	case REPORTDEST_AUTHORIZED:
		break;
	}
	return send_mail(j, d, st.attempts);
}

static void mark_done(struct sender *s, const struct reportstore_report *r)
{
	char	err[512];

	if (s->rt->dry_run)
		return;
	if (!reportstore_done(s->rt->store, r->begin, r->domain, s->rt->now, err, sizeof(err))) {
		reporttool_fail("%s", err);
		s->errors++;
	}
}

static void send_report(struct sender *s, const struct reportstore_report *r)
{
	struct reportdest dests[REPORTDEST_MAX];
	struct report_build b;
	struct job j = { .s = s, .r = r, .b = &b };
	char	err[768];
	size_t	n, i, final = 0;

	reporttool_day(r->begin, j.day, sizeof(j.day));
	if (!report_build(s->rt->store, s->rt->conf, s->receiver, r->begin, r->domain, &b,
	    err, sizeof(err))) {
		reporttool_fail("%s", err);
		s->errors++;
		if (s->rt->now - (r->begin + REPORT_PERIOD) > GIVE_UP_AFTER) {
			reporttool_note("%s %s: given up: it cannot be built", r->domain, j.day);
			mark_done(s, r);
		}
		return;
	}
	n = reportdest_parse(b.policy.rua, dests, REPORTDEST_MAX);
	if (n == 0)
		reporttool_note("%s %s: no rua= destination: nothing to send", r->domain, j.day);
	for (i = 0; i < n; i++)
		final += (size_t)send_to(&j, &dests[i]);
	if (final == n)
		mark_done(s, r);
	report_build_free(&b);
}

/* ReportEmail, the receiver, the resolver and the PSL: REPORTTOOL_OK or after a
 * message, REPORTTOOL_FAIL. */
static int setup(struct sender *s)
{
	const struct conf *conf = s->rt->conf;
	struct dns_options options = {
		.nameservers = conf->nameservers,
		.nameserver_count = conf->nameserver_count,
		.trust_anchor_file = conf->trust_anchor_file,
		.query_timeout_ms = (unsigned)conf->dns_timeout * 1000,
	};
	const char *why;
	char	err[512];

	if (conf->report_email == NULL || conf->report_email[0] == '\0')
		return reporttool_fail("ReportEmail is not set: report mail needs a From "
		    "address, nothing is sent");
	if (!reportdest_address(conf->report_email, s->from, sizeof(s->from), NULL, 0, &why))
		return reporttool_fail("ReportEmail \"%s\": %s", conf->report_email, why);
	if (s->rt->smtp != NULL && !smtp_hostport_valid(s->rt->smtp))
		return reporttool_fail("--smtp %s: want HOST:PORT or [IPV6]:PORT", s->rt->smtp);
	s->sendmail = s->rt->sendmail != NULL ? s->rt->sendmail : conf->report_sendmail;
	if ((s->receiver = reporttool_receiver(s->rt)) == NULL ||
	    reporttool_store(s->rt) == NULL)
		return REPORTTOOL_FAIL;
	if ((s->resolver = dns_resolver_new(&options, err, sizeof(err))) == NULL)
		return reporttool_fail("DNS resolver: %s", err);
	if (conf->dmarc_public_suffix_list != NULL && conf->dmarc_public_suffix_list[0] != '\0' &&
	    (s->psl = dmarc_psl_load(conf->dmarc_public_suffix_list, err, sizeof(err))) == NULL)
		return reporttool_fail("%s", err);
	return REPORTTOOL_OK;
}

int	reporttool_cmd_send(struct reporttool *rt)
{
	struct sender s = { .rt = rt };
	struct reportstore_report *reports = NULL;
	size_t	i, n = 0;
	int	rc;

	if (rt->smtp != NULL && rt->sendmail != NULL)
		return reporttool_fail("send takes --smtp or --sendmail, not both");
	signal(SIGPIPE, SIG_IGN);	/* a sendmail that exits early is an outcome */
	if ((rc = setup(&s)) == REPORTTOOL_OK &&
	    (rc = reporttool_ended(rt, &reports, &n)) == REPORTTOOL_OK) {
		for (i = 0; i < n; i++)
			if (reports[i].done == 0)
				send_report(&s, &reports[i]);
		reporttool_note("send%s: %lu sent, %lu skipped, %lu to try again later%s",
		    rt->dry_run ? " (dry run)" : "", s.sent, s.skipped, s.waiting,
		    s.errors ? ", with errors" : "");
		rc = s.errors == 0 ? REPORTTOOL_OK : REPORTTOOL_FAIL;
	}
	free(reports);
	if (s.resolver != NULL)
		dns_resolver_free(s.resolver);
	dmarc_psl_free(s.psl);
	return rc;
}
