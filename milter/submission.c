/*
 * NAME
 *	submission.c - sender authorization, rate limits, client networks and the audit line
 *	of authenticated submissions
 * DESCRIPTION
 *	See submission.h.  Everything here reads the runtime the message started with: its
 *	SenderMap, RateLimits and AuditLog, and the rate store every runtime shares.  Time
 *	comes from rt->now (runtime.h), which tests replace.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/alloc.h"
#include "lib/log.h"
#include "lib/printable.h"
#include "milter/audit.h"
#include "milter/clientnet.h"
#include "milter/ratelimit.h"
#include "milter/sendermap.h"
#include "milter/submission.h"

#define STORE_DOWN_TEXT	"Signet: rate limit store unavailable, try again later"
#define STORE_LOG_INTERVAL 60	/* seconds between two "store down" log lines */

static void copy_macro(char *out, size_t size, const char *value, const char *none)
{
	(void)printable_copy(out, size, value != NULL && *value != '\0' ? value : none, " \"");
}

/* A store that did not answer: logged at most once a STORE_LOG_INTERVAL (in an outage
 * every call fails), counted always. */
static void store_error(const char *queue_id, const char *what, const char *why)
{
	static atomic_llong last_logged;
	long long now = (long long)time(NULL), last = atomic_load(&last_logged);

	metrics_event(METRICS_EVENT_RATE_STORE_ERROR);
	if (now - last >= STORE_LOG_INTERVAL &&
	    atomic_compare_exchange_strong(&last_logged, &last, now))
		log_msg(LOG_LEVEL_WARNING, "%s: rate limit store: %s: %s (further errors not "
		    "logged for %d s)", queue_id, what, why, STORE_LOG_INTERVAL);
}

static void check_network(const struct submission *sub, const struct runtime *rt,
    const struct submission_client *who, const char *queue_id)
{
	char	err[256], net[RATESTORE_NETWORK_MAX];
	int	is_new = 0;

	if (who->address == NULL || !clientnet_of(who->address, net, sizeof(net)))
		return;
	if (!clientnet_check(rt->store, sub->user, who->address,
	    (uint32_t)rt->conf->new_client_window, rt->now(), &is_new, err, sizeof(err))) {
		store_error(queue_id, "client network", err);
		return;
	}
	if (is_new) {
		char	user[256];

		(void)printable_copy(user, sizeof(user), sub->user, NULL);
		metrics_event(METRICS_EVENT_NEW_CLIENT_NETWORK);
		log_msg(LOG_LEVEL_WARNING, "%s: user %s submits from %s, a network not seen for "
		    "it in %ld s (client %s)", queue_id, user, net, rt->conf->new_client_window,
		    sub->client);
	}
}

int	submission_begin(struct submission *sub, const struct runtime *rt,
    const struct submission_client *who, const char *queue_id)
{
	memset(sub, 0, sizeof(*sub));
	if ((sub->user = mem_strdup(who->user)) == NULL)
		return 0;
	copy_macro(sub->auth_type, sizeof(sub->auth_type), who->auth_type, "unknown");
	copy_macro(sub->tls_version, sizeof(sub->tls_version), who->tls_version, "none");
	copy_macro(sub->cipher, sizeof(sub->cipher), who->cipher, "none");
	snprintf(sub->client, sizeof(sub->client), "%s", who->address_text);
	if ((who->tls_version == NULL || *who->tls_version == '\0') && !*who->warned_no_tls) {
		char	user[256];

		*who->warned_no_tls = 1;
		(void)printable_copy(user, sizeof(user), sub->user, NULL);
		metrics_event(METRICS_EVENT_AUTH_WITHOUT_TLS);
		log_msg(LOG_LEVEL_WARNING, "%s: user %s authenticated (%s) without TLS from %s",
		    queue_id, user, sub->auth_type, sub->client);
	}
	check_network(sub, rt, who, queue_id);
	return 1;
}

/* A refusal over a limit: the reply, the metric, and the user's one warning a window. */
static void over_limit(const struct submission *sub, const struct rate_decision *d,
    const char *queue_id, struct step_result *r)
{
	char	text[256];

	ratelimit_describe(d, text, sizeof(text));
	step_reply(r, REPLY_TEMPFAIL, "451", "4.7.1", text);
	metrics_rate_trip((unsigned)d->limit);
	if (d->warn) {
		char	user[256];

		(void)printable_copy(user, sizeof(user), sub->user, NULL);
		log_msg(LOG_LEVEL_WARNING, "%s: user %s over %s: %u of %u, frees in %u s",
		    queue_id, user, ratelimit_name(d->limit), d->count, d->max, d->retry_after);
	}
}

/* RateLimitStoreDown: 1 to go on, 0 after making r a 451 4.3.0. */
static int store_down(const struct runtime *rt, const struct rate_decision *d,
    const char *queue_id, struct step_result *r)
{
	store_error(queue_id, rt->conf->rate_limit_store_down == ON_ERROR_TEMPFAIL ?
	    "tempfailing (RateLimitStoreDown tempfail)" : "not limited (RateLimitStoreDown "
	    "accept)", d->err);
	if (rt->conf->rate_limit_store_down != ON_ERROR_TEMPFAIL)
		return 1;
	step_reply(r, REPLY_TEMPFAIL, "451", "4.3.0", STORE_DOWN_TEXT);
	return 0;
}

void	submission_rcpt(struct submission *sub, const struct runtime *rt, const char *queue_id,
    struct step_result *r)
{
	struct rate_decision d;

	switch (ratelimit_check(rt->limits, rt->store, sub->user, RATE_RCPT, 1, rt->now(), &d)) {
	case RATE_PASS:
		sub->recipients++;
		break;
	case RATE_OVER:
		sub->refused++;
		sub->refused_at = rt->now();
		over_limit(sub, &d, queue_id, r);
		break;
	case RATE_ERROR:
		if (store_down(rt, &d, queue_id, r)) {
			sub->recipients++;
		} else {
			sub->refused++;
			sub->refused_at = rt->now();
		}
		break;
	}
}

/* The From check: 1 when every mailbox of the one From field is the user's.  A message
 * without From impersonates nobody (and is not signed anyway). */
static int from_allowed(struct submission *sub, const struct runtime *rt,
    const struct msgheaders *headers, const char *queue_id)
{
	size_t	count;
	enum from_status status = msgheaders_from_addresses(headers, sub->from,
	    sizeof(sub->from), &count);
	enum sender_verdict verdict = SENDER_BAD_ADDRESS;
	char	user[256], from[SUBMISSION_FROM_MAX];

	if (status == FROM_MISSING || rt->senders == NULL)
		return 1;	/* no SenderMap: no sender authorization (signet.conf(5)) */
	if (status == FROM_OK) {
		char	one[SUBMISSION_FROM_MAX];
		const char *p = sub->from;

		for (verdict = SENDER_LISTED; *p != '\0' && sender_verdict_allowed(verdict);) {
			size_t	len = strcspn(p, ",");

			snprintf(one, sizeof(one), "%.*s", (int)len, p);
			verdict = sendermap_allows(rt->senders, sub->user, one);
			p += len;
			p += strspn(p, ", ");
		}
		if (sender_verdict_allowed(verdict))
			return 1;
	}
	(void)printable_copy(user, sizeof(user), sub->user, NULL);
	(void)printable_copy(from, sizeof(from), sub->from, NULL);
	metrics_event(METRICS_EVENT_UNAUTHORIZED_FROM);
	log_msg(LOG_LEVEL_WARNING, "%s: From <%s> is not authorized for user %s (%s)%s",
	    queue_id, from, user, status == FROM_OK ? sender_verdict_text(verdict) :
	    from_status_text(status), rt->conf->sender_mismatch == MISMATCH_REJECT ?
	    ": rejected" : ": not signed");
	return 0;
}

int	submission_check(struct submission *sub, const struct runtime *rt,
    const struct msgheaders *headers, const char *queue_id, struct step_result *r)
{
	struct rate_decision d;
	char	text[SUBMISSION_FROM_MAX + 64];

	if (!from_allowed(sub, rt, headers, queue_id)) {
		sub->unauthorized = 1;
		if (rt->conf->sender_mismatch == MISMATCH_REJECT) {
			snprintf(text, sizeof(text), "From <%s> is not authorized for this sender",
			    sub->from);
			step_reply(r, REPLY_REJECT, "550", "5.7.1", text);
			submission_audit(sub, rt, headers, queue_id, "rejected: unauthorized From",
			    METRICS_SUBMISSION_REJECTED);
			return 0;
		}
	}
	switch (ratelimit_check(rt->limits, rt->store, sub->user, RATE_MSG, 1, rt->now(), &d)) {
	case RATE_PASS:
		return 1;
	case RATE_OVER:
		over_limit(sub, &d, queue_id, r);
		submission_audit(sub, rt, headers, queue_id, "rate-limited",
		    METRICS_SUBMISSION_RATE_LIMITED);
		return 0;
	case RATE_ERROR:
		if (store_down(rt, &d, queue_id, r))
			return 1;
		submission_audit(sub, rt, headers, queue_id, "tempfailed: rate limit store down",
		    METRICS_SUBMISSION_TEMPFAILED);
		return 0;
	}
	return 1;
}

/* The first Message-ID field's value, blanks trimmed, into out. */
static void message_id(const struct msgheaders *headers, char *out, size_t size)
{
	out[0] = '\0';
	for (size_t i = 0; i < headers->count; i++) {
		if (strcasecmp(headers->fields[i].name, "Message-ID") != 0)
			continue;
		const char *v = headers->fields[i].value;
		size_t	len;

		v += strspn(v, " \t\r\n");
		len = strlen(v);
		while (len > 0 && strchr(" \t\r\n", v[len - 1]) != NULL)
			len--;
		snprintf(out, size, "%.*s", (int)len, v);
		return;
	}
}

void	submission_audit(struct submission *sub, const struct runtime *rt,
    const struct msgheaders *headers, const char *queue_id, const char *verdict,
    enum metrics_submission metric)
{
	char	msgid[512];

	if (sub->audited)
		return;
	sub->audited = 1;
	if (headers != NULL)
		message_id(headers, msgid, sizeof(msgid));
	else
		msgid[0] = '\0';
	struct audit_record rec = {
		.time = headers == NULL && sub->refused_at != 0 ? sub->refused_at : rt->now(),
		.user = sub->user,
		.mechanism = sub->auth_type,
		.client = sub->client,
		.tls_version = sub->tls_version,
		.cipher = sub->cipher,
		.from = sub->from,
		.recipients = sub->recipients,
		.message_id = msgid,
		.queue_id = queue_id,
		.verdict = verdict,
	};
	audit_write(rt->audit, &rec);
	metrics_submission(metric);
}

void	submission_end(struct submission *sub, const struct runtime *rt, const char *queue_id)
{
	if (sub->user != NULL && !sub->audited && sub->refused > 0)
		submission_audit(sub, rt, NULL, queue_id, "rate-limited",
		    METRICS_SUBMISSION_RATE_LIMITED);
	free(sub->user);
	sub->user = NULL;
}
