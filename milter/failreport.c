/*
 * NAME
 *	failreport.c - DMARC failure reports: the decision, the queue and its thread
 *	(see failreport.h)
 * DESCRIPTION
 *	Ownership.  failreport_message() composes the report into a job it allocates; the
 *	job belongs to the queue once enqueued (or is freed at once when the queue is
 *	full), and to the thread from the moment the thread takes it off the queue until it
 *	frees it.  Jobs copy what they need (addresses, ReportSendmail, the rate): a reload
 *	changes nothing for a job already queued.  The rate table and the DNS a job uses
 *	belong to the thread alone; the lock guards the queue, the thread's state and the
 *	redaction secret, and is never held across DNS or sendmail.
 *
 *	The thread starts with the first report and stops at failreport_stop(): after the
 *	job in hand, whose sendmail may take up to FAILREPORT_SEND_TIMEOUT seconds.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* strcasestr */
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "config.h"
#include "lib/alloc.h"
#include "lib/log.h"
#include "lib/reportdest.h"
#include "milter/failcompose.h"
#include "milter/failrate.h"
#include "milter/failreport.h"
#include "milter/failsend.h"
#include "milter/metrics.h"

#define QUEUE_FULL_LOG_INTERVAL	60	/* seconds between log lines of a full queue */

struct job {
	char	queue_id[64];
	char	author_domain[DMARC_DOMAIN_MAX];
	char	policy_domain[DMARC_DOMAIN_MAX];
	struct reportdest dest[REPORTDEST_MAX];
	size_t	dest_count;
	char   *from;			/* ReportEmail, without angle brackets */
	char   *sendmail;		/* ReportSendmail */
	long	rate;			/* FailureReportRate */
	struct buffer report;		/* all but To: */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct job *queue[FAILREPORT_QUEUE_MAX];
	size_t	head, count;
	int	started, stopping;
	pthread_t thread;
	unsigned char secret[FAILCOMPOSE_SECRET_LEN];
	int	have_secret;
	time_t	full_logged;
} F = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
};

/* ---- the decision -------------------------------------------------------------------- */

unsigned failreport_fo_options(const char *fo)
{
	unsigned options = 0;

	for (const char *p = fo != NULL ? fo : ""; *p != '\0';) {
		size_t	len = strcspn(p, ":");
		const char *s = p, *e = p + len;

		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e - s == 1) {
			switch (*s) {
			case '0': options |= FAILREPORT_FO_ALL; break;
			case '1': options |= FAILREPORT_FO_ANY; break;
			case 'd': case 'D': options |= FAILREPORT_FO_DKIM; break;
			case 's': case 'S': options |= FAILREPORT_FO_SPF; break;
			}
		}
		p += len;
		if (*p == ':')
			p++;
	}
	return options != 0 ? options : FAILREPORT_FO_ALL;
}

static int dkim_signature_failed(const struct verify_signature *sigs, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (sigs[i].result == VERIFY_FAIL || sigs[i].result == VERIFY_PERMERROR)
			return 1;
	return 0;
}

int	failreport_wanted(const char *fo, const struct dmarc_verdict *v,
    const struct verify_signature *sigs, size_t sig_count, enum spfcheck_result spf_result)
{
	unsigned o = failreport_fo_options(fo);

	if (v->result != DMARC_RESULT_PASS && v->result != DMARC_RESULT_FAIL)
		return 0;
	return ((o & FAILREPORT_FO_ALL) && !v->dkim_aligned && !v->spf_aligned) ||
	    ((o & FAILREPORT_FO_ANY) && (!v->dkim_aligned || !v->spf_aligned)) ||
	    ((o & FAILREPORT_FO_DKIM) && dkim_signature_failed(sigs, sig_count)) ||
	    ((o & FAILREPORT_FO_SPF) && spf_result == SPFCHECK_FAIL);
}

/* Is one of the kept recipients an address of list (a rua= or ruf= value)? */
static int list_names_a_recipient(const char *list, const struct reportmsg_rcpts *r)
{
	struct reportdest dest[REPORTDEST_MAX];
	size_t	n = reportdest_parse(list, dest, REPORTDEST_MAX);

	for (size_t d = 0; d < n; d++)
		for (size_t i = 0; dest[d].usable && i < r->kept_count; i++)
			if (strcasecmp(dest[d].address, r->kept[i]) == 0)
				return 1;
	return 0;
}

/* Content-Type: multipart/report; report-type=feedback-report (any case, any spacing;
 * the parameter found as text, which a hostile value can only make us skip). */
static int is_feedback_report(const struct msgheaders *h)
{
	for (size_t i = 0; i < h->count; i++) {
		const char *v = h->fields[i].value;

		if (strcasecmp(h->fields[i].name, "Content-Type") != 0)
			continue;
		while (*v == ' ' || *v == '\t')
			v++;
		if (strncasecmp(v, "multipart/report", 16) == 0 &&
		    strcasestr(v, "feedback-report") != NULL)
			return 1;
	}
	return 0;
}

static int loops_back(const struct failreport_message *msg, const struct dmarc_record *rec)
{
	return msg->rcpts->skip || msg->rcpts->lost ||
	    list_names_a_recipient(rec->rua, msg->rcpts) ||
	    list_names_a_recipient(rec->ruf, msg->rcpts) || is_feedback_report(msg->headers);
}

/* The usable destinations of ruf=, each address once; how many. */
static size_t destinations(const char *ruf, struct reportdest *out)
{
	struct reportdest all[REPORTDEST_MAX];
	size_t	n = reportdest_parse(ruf, all, REPORTDEST_MAX), kept = 0;

	for (size_t i = 0; i < n; i++) {
		int	seen = !all[i].usable;

		for (size_t k = 0; k < kept && !seen; k++)
			seen = strcasecmp(out[k].address, all[i].address) == 0;
		if (!seen)
			out[kept++] = all[i];
	}
	return kept;
}

/* ---- the body ------------------------------------------------------------------------ */

void	failreport_body_add(struct failreport_body *body, const struct conf *conf,
    const unsigned char *data, size_t len)
{
	unsigned char *grown;

	if (!conf->dmarc_failure_reports || !conf->failure_report_body || body->truncated)
		return;
	if (len > FAILREPORT_BODY_MAX - body->len) {
		failreport_body_free(body);
		body->truncated = 1;	/* left out whole: a cut body is another body */
		return;
	}
	if ((grown = mem_realloc(body->data, body->len + len)) == NULL) {
		failreport_body_free(body);
		body->truncated = 1;
		return;
	}
	memcpy(grown + body->len, data, len);
	body->data = grown;
	body->len += len;
}

void	failreport_body_free(struct failreport_body *body)
{
	free(body->data);
	body->data = NULL;
	body->len = 0;
}

/* ---- the queue ----------------------------------------------------------------------- */

static void job_free(struct job *job)
{
	if (job == NULL)
		return;
	free(job->from);
	free(job->sendmail);
	buffer_free(&job->report);
	free(job);
}

static void *thread_main(void *arg);

/* Takes job; 0 when it was dropped (full queue, or the thread cannot start). */
static int enqueue(struct job *job)
{
	int	queued = 0;
	time_t	now = time(NULL);

	pthread_mutex_lock(&F.lock);
	if (!F.started && !F.stopping) {
		if (pthread_create(&F.thread, NULL, thread_main, NULL) == 0)
			F.started = 1;
		else
			log_msg(LOG_LEVEL_ERROR, "failure reports: cannot start their thread");
	}
	if (F.started && !F.stopping && F.count < FAILREPORT_QUEUE_MAX) {
		F.queue[(F.head + F.count++) % FAILREPORT_QUEUE_MAX] = job;
		pthread_cond_signal(&F.wake);
		queued = 1;
	} else if (F.started && now - F.full_logged >= QUEUE_FULL_LOG_INTERVAL) {
		F.full_logged = now;
		log_msg(LOG_LEVEL_WARNING, "%s: DMARC failure report dropped: %d reports already "
		    "wait to be sent", job->queue_id, FAILREPORT_QUEUE_MAX);
	}
	pthread_mutex_unlock(&F.lock);
	if (!queued) {
		metrics_failreport(METRICS_FAILREPORT_QUEUE_FULL);
		job_free(job);
	}
	return queued;
}

/* The redaction key, drawn once per process. */
static const unsigned char *secret(void)
{
	const unsigned char *s = NULL;

	pthread_mutex_lock(&F.lock);
	if (!F.have_secret)
		F.have_secret = getrandom(F.secret, sizeof(F.secret), 0) ==
		    (ssize_t)sizeof(F.secret);
	if (F.have_secret)
		s = F.secret;
	pthread_mutex_unlock(&F.lock);
	return s;
}

/* ---- on the message's thread --------------------------------------------------------- */

void	failreport_configure(const struct conf *conf)
{
	if (conf->dmarc_failure_reports && conf->report_email[0] == '\0')
		log_msg(LOG_LEVEL_WARNING, "DMARCFailureReports yes, but ReportEmail is not set: "
		    "no failure report is sent");
}

static struct job *job_new(const struct runtime *rt, const struct failreport_message *msg,
    const char *author_domain, const struct dmarc_verdict *v)
{
	struct job *job = mem_calloc(1, sizeof(*job));
	const struct conf *conf = rt->conf;
	const char *from = conf->report_email;
	size_t	from_len = strlen(from);

	if (job == NULL)
		return NULL;
	if (from_len >= 2 && from[0] == '<' && from[from_len - 1] == '>') {
		from++;
		from_len -= 2;
	}
	snprintf(job->queue_id, sizeof(job->queue_id), "%s", msg->queue_id);
	snprintf(job->author_domain, sizeof(job->author_domain), "%s", author_domain);
	snprintf(job->policy_domain, sizeof(job->policy_domain), "%s", v->policy_domain);
	job->rate = conf->failure_report_rate;
	if ((job->from = mem_malloc(from_len + 1)) == NULL ||
	    (job->sendmail = mem_strdup(conf->report_sendmail)) == NULL) {
		job_free(job);
		return NULL;
	}
	memcpy(job->from, from, from_len);
	job->from[from_len] = '\0';
	return job;
}

static int compose(struct job *job, const struct runtime *rt,
    const struct failreport_message *msg, const struct dmarc_verdict *v)
{
	const unsigned char *key = secret();
	char	err[256];

	if (key == NULL) {
		log_msg(LOG_LEVEL_ERROR, "%s: no DMARC failure report: no random bytes",
		    msg->queue_id);
		return 0;
	}
	struct failcompose_input in = {
		.report_from = job->from,
		.id_domain = rt->conf->report_domain[0] ? rt->conf->report_domain :
		    rt->authserv_id,
		.user_agent = PACKAGE_NAME "/" PACKAGE_VERSION,
		.author_domain = job->author_domain,
		.client_ip = msg->client_ip,
		.mail_from = msg->mail_from,
		.arrival = rt->now(),
		.now = rt->now(),
		.authres = msg->authres,
		.dkim_aligned = v->dkim_aligned,
		.spf_aligned = v->spf_aligned,
		.adkim_strict = v->record.adkim_strict,
		.org_domain = v->org_domain,
		.sigs = msg->sigs,
		.sig_count = msg->sig_count,
		.delivery_result = msg->delivery_result,
		.headers = msg->headers,
		.body = rt->conf->failure_report_body && msg->body != NULL ?
		    (msg->body->data != NULL ? msg->body->data : (const unsigned char *)"") : NULL,
		.body_len = msg->body != NULL ? msg->body->len : 0,
		.body_truncated = msg->body != NULL && msg->body->truncated,
		.secret = key,
	};

	if (!failcompose(&in, &job->report, err, sizeof(err))) {
		log_msg(LOG_LEVEL_ERROR, "%s: %s", msg->queue_id, err);
		return 0;
	}
	return 1;
}

void	failreport_message(struct runtime *rt, const struct failreport_message *msg,
    const char *author_domain, const struct dmarc_verdict *v)
{
	const struct conf *conf = rt->conf;
	struct job *job;

	if (!conf->dmarc_failure_reports || conf->report_email[0] == '\0' ||
	    v->record.ruf[0] == '\0' || v->record.psd == DMARC_PSD_Y ||
	    !failreport_wanted(v->record.fo, v, msg->sigs, msg->sig_count, msg->spf_result) ||
	    loops_back(msg, &v->record))
		return;
	if ((job = job_new(rt, msg, author_domain, v)) == NULL) {
		log_msg(LOG_LEVEL_ERROR, "%s: no DMARC failure report: out of memory",
		    msg->queue_id);
		return;
	}
	if ((job->dest_count = destinations(v->record.ruf, job->dest)) == 0 ||
	    !compose(job, rt, msg, v)) {
		job_free(job);
		return;
	}
	(void)enqueue(job);
}

/* ---- on the failure-report thread ---------------------------------------------------- */

/* Whether dest may have the report: authorized, within the rate and its size. */
static int may_send(const struct job *job, struct reportdest *dest, struct runtime *rt,
    struct failrate *rate)
{
	struct dns_budget budget;
	struct dmarc_dns dns;
	enum reportdest_auth auth = REPORTDEST_REFUSED;

	if (rt != NULL && rt->dns != NULL) {
		dns_budget_init(&budget, (unsigned)rt->conf->dns_message_queries,
		    (unsigned)rt->conf->dns_message_time * 1000);
		dmarc_dns_from_resolver(&dns, rt->dns, &budget);
		dns.psl = rt->psl;
		auth = reportdest_authorize(&dns, job->policy_domain, dest);
	}
	if (auth != REPORTDEST_AUTHORIZED) {
		log_msg(LOG_LEVEL_NOTICE, "%s: DMARC failure report about %s not sent to %s: %s",
		    job->queue_id, job->author_domain, dest->address, dest->reason[0] ?
		    dest->reason : "no resolver");
		metrics_failreport(METRICS_FAILREPORT_UNAUTHORIZED);
		return 0;
	}
	if (!failrate_take(rate, dest->address, job->rate, rt->now())) {
		log_msg(LOG_LEVEL_NOTICE, "%s: DMARC failure report about %s not sent to %s: "
		    "FailureReportRate (%ld an hour) reached", job->queue_id, job->author_domain,
		    dest->address, job->rate);
		metrics_failreport(METRICS_FAILREPORT_RATE_LIMITED);
		return 0;
	}
	if (dest->max_size != 0 && job->report.len > dest->max_size) {
		log_msg(LOG_LEVEL_NOTICE, "%s: DMARC failure report about %s not sent to %s: "
		    "%zu bytes, over its limit of %llu", job->queue_id, job->author_domain,
		    dest->address, job->report.len, dest->max_size);
		metrics_failreport(METRICS_FAILREPORT_TOO_LARGE);
		return 0;
	}
	return 1;
}

static void send_job(struct job *job, struct failrate *rate)
{
	struct runtime *rt = runtime_acquire();
	char	err[512];

	for (size_t i = 0; i < job->dest_count; i++) {
		struct reportdest *dest = &job->dest[i];

		if (!may_send(job, dest, rt, rate))
			continue;
		if (failsend(job->sendmail, job->from, dest->address, job->report.data,
		    job->report.len, FAILREPORT_SEND_TIMEOUT, err, sizeof(err))) {
			log_msg(LOG_LEVEL_INFO, "%s: DMARC failure report about %s sent to %s",
			    job->queue_id, job->author_domain, dest->address);
			metrics_failreport(METRICS_FAILREPORT_SENT);
		} else {
			log_msg(LOG_LEVEL_WARNING, "%s: DMARC failure report about %s to %s not "
			    "sent: %s", job->queue_id, job->author_domain, dest->address, err);
			metrics_failreport(METRICS_FAILREPORT_SEND_ERROR);
		}
	}
	runtime_release(rt);
}

static void *thread_main(void *arg)
{
	struct failrate *rate = failrate_new(FAILRATE_SLOTS);

	(void)arg;
	if (rate == NULL)
		log_msg(LOG_LEVEL_ERROR, "failure reports: out of memory: none is sent");
	pthread_mutex_lock(&F.lock);
	for (;;) {
		while (F.count == 0 && !F.stopping)
			pthread_cond_wait(&F.wake, &F.lock);
		if (F.stopping)
			break;
		struct job *job = F.queue[F.head];

		F.head = (F.head + 1) % FAILREPORT_QUEUE_MAX;
		F.count--;
		pthread_mutex_unlock(&F.lock);
		if (rate != NULL)
			send_job(job, rate);
		else
			metrics_failreport(METRICS_FAILREPORT_SEND_ERROR);
		job_free(job);
		pthread_mutex_lock(&F.lock);
	}
	pthread_mutex_unlock(&F.lock);
	failrate_free(rate);
	return NULL;
}

void	failreport_stop(void)
{
	int	started;

	pthread_mutex_lock(&F.lock);
	F.stopping = 1;
	started = F.started;
	pthread_cond_signal(&F.wake);
	pthread_mutex_unlock(&F.lock);
	if (started)
		pthread_join(F.thread, NULL);
	pthread_mutex_lock(&F.lock);
	if (F.count > 0)
		log_msg(LOG_LEVEL_NOTICE, "failure reports: %zu not sent at exit", F.count);
	while (F.count > 0) {
		job_free(F.queue[F.head]);
		F.head = (F.head + 1) % FAILREPORT_QUEUE_MAX;
		F.count--;
		metrics_failreport(METRICS_FAILREPORT_QUEUE_FULL);
	}
	F.started = 0;
	pthread_mutex_unlock(&F.lock);
}
