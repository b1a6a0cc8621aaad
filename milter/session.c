/*
 * NAME
 *	session.c - per-connection and per-message state, and the policy of each step
 * DESCRIPTION
 *	A message is outbound when the client address is in InternalHosts or the client
 *	authenticated (the MTA's {auth_authen} macro is set).  Outbound mail is signed when
 *	Mode includes s, its From names exactly one domain, and that domain has active keys
 *	of at least MinimumKeyBits; one signature per such key, so a domain with an RSA and an
 *	Ed25519 key gets both (RFC 8463 dual signing).  Whatever stops a message from being
 *	signed is logged and the message passes unchanged: it is never rejected for that.
 *	Inbound mail (Mode includes v) is handed to inbound.c, which verifies DKIM, checks
 *	SPF and DMARC and decides what to do; outbound mail is never verified and inbound
 *	mail never signed.
 *
 *	The body is canonicalized and hashed as it arrives, only for messages to be signed.
 *
 *	Authentication-Results fields that carry our authserv-id are removed from every
 *	message, outbound included (arfields.h): they are recorded before anything else a
 *	header field goes through, so no other error can leave one unrecorded.  A message
 *	whose forged fields cannot all be removed -- their record is incomplete, or the MTA
 *	refuses a removal -- is tempfailed whatever else was decided: a forgery of our
 *	verdict must never pass.
 *
 *	An internal error tempfails or accepts the message as OnInternalError says (an
 *	accepted one still loses its forged fields); it is never discarded or rejected.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "keys/keystore.h"
#include "lib/alloc.h"
#include "lib/log.h"
#include "milter/arcflow.h"
#include "milter/arfields.h"
#include "milter/authres.h"
#include "milter/canon.h"
#include "milter/flight.h"
#include "milter/inbound.h"
#include "milter/msgheaders.h"
#include "milter/runtime.h"
#include "milter/session.h"
#include "milter/sign.h"
#include "milter/submission.h"

#define AR_FIELD	"Authentication-Results"
#define INTERNAL_ERROR_TEXT "Signet: temporary internal error, try again later"

/* From MAIL FROM to the end of the message. */
struct message {
	struct runtime *rt;
	struct timespec started;	/* CLOCK_MONOTONIC at MAIL FROM, for the latency metric */
	char	queue_id[64];
	int	authenticated;
	int	outbound;
	int	overflow;		/* too many or too large header fields */
	int	failed;			/* an internal error happened; reported at the end */
	struct msgheaders headers;
	struct arfields arfields;	/* Authentication-Results fields: which are forged */
	int	pass_through;		/* nothing to sign or check: only forged fields to
					 * remove at end of message */
	int	checking_inbound;	/* an inbound message under Mode v (even if inbound
					 * failed to start: its errors are handled at EOM) */
	struct inbound *inbound;	/* inbound checks, when verifying this message */
	struct arcflow *arc;		/* ARCSeal outbound: mail from InternalHosts */
	char	from_domain[KEYSTORE_DOMAIN_MAX + 1];
	const struct keystore_key *keys[SESSION_MAX_KEYS];
	size_t	key_count;
	struct body_canon *body;
	int	submission;		/* authenticated under a signing runtime: the
					 * submission policy applies (submission.h) */
	struct submission sub;
};

struct session {
	struct sockaddr_storage client;
	int	client_known;
	char	client_text[64];	/* for logs: the address, or the MTA's name for it */
	char   *helo;			/* as sent, whole; NULL before HELO */
	struct session_auth auth;	/* the MTA's macros for the next MAIL FROM */
	int	warned_no_tls;		/* AUTH without TLS logged for this connection */
	int	helo_lost;		/* memory ran out keeping it */
	struct message *msg;		/* NULL between messages */
	int	refusal_held;		/* counted in flight: session_refusal_held() */
};

struct session *session_new(void)
{
	return mem_calloc(1, sizeof(struct session));
}

static void message_end(struct session *s)
{
	struct message *m = s->msg;

	if (m == NULL)
		return;
	if (m->submission)
		submission_end(&m->sub, m->rt, m->queue_id);
	msgheaders_clear(&m->headers);
	arfields_free(&m->arfields);
	inbound_free(m->inbound);
	arcflow_free(m->arc);
	body_canon_free(m->body);
	runtime_release(m->rt);
	flight_end();
	free(m);
	s->msg = NULL;
}

void	session_refusal_held(struct session *s)
{
	if (!s->refusal_held) {
		flight_hold();
		s->refusal_held = 1;
	}
}

static void refusal_said(struct session *s)
{
	if (s->refusal_held) {
		flight_end();
		s->refusal_held = 0;
	}
}

void	session_free(struct session *s)
{
	if (s == NULL)
		return;
	message_end(s);
	refusal_said(s);
	free(s->helo);
	free(s);
}

unsigned session_quiet_steps(void)
{
	struct runtime *rt = runtime_acquire();
	unsigned quiet = 0;

	if (rt == NULL)
		return 0;
	if (rt->limits == NULL)
		quiet |= SESSION_QUIET_RCPT;
	if ((rt->conf->mode & (CONF_MODE_SIGN | CONF_MODE_VERIFY)) ==
	    (CONF_MODE_SIGN | CONF_MODE_VERIFY))
		quiet |= SESSION_QUIET_EOH;
	runtime_release(rt);
	return quiet;
}

void	session_connect(struct session *s, const struct sockaddr *client, const char *hostname)
{
	s->client_known = 0;
	snprintf(s->client_text, sizeof(s->client_text), "%s", hostname ? hostname : "unknown");
	if (client == NULL)
		return;
	if (client->sa_family == AF_INET) {
		memcpy(&s->client, client, sizeof(struct sockaddr_in));
		inet_ntop(AF_INET, &((const struct sockaddr_in *)client)->sin_addr,
		    s->client_text, sizeof(s->client_text));
		s->client_known = 1;
	} else if (client->sa_family == AF_INET6) {
		memcpy(&s->client, client, sizeof(struct sockaddr_in6));
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)client)->sin6_addr,
		    s->client_text, sizeof(s->client_text));
		s->client_known = 1;
	}
}

/* The HELO name is kept whole, however long: SPF checks it or says why it cannot, and
 * Authentication-Results shows it or leaves it out, but never a cut name. */
void	session_helo(struct session *s, const char *helo)
{
	free(s->helo);
	s->helo = mem_strdup(helo ? helo : "");
	s->helo_lost = s->helo == NULL;
}

static void set_queue_id(struct message *m, const char *queue_id)
{
	if (queue_id != NULL && *queue_id != '\0')
		snprintf(m->queue_id, sizeof(m->queue_id), "%s", queue_id);
	else if (m->queue_id[0] == '\0')
		snprintf(m->queue_id, sizeof(m->queue_id), "NOQUEUE");
}

static void tempfail_internal(struct step_result *r)
{
	step_reply(r, REPLY_TEMPFAIL, "451", "4.3.0", INTERNAL_ERROR_TEXT);
}

static int tempfails_on_error(const struct message *m)
{
	return m == NULL || m->rt->conf->on_internal_error == ON_ERROR_TEMPFAIL;
}

/* An internal error: OnInternalError decides between tempfail and accept. */
static void internal_error_reply(const struct message *m, struct step_result *r)
{
	if (tempfails_on_error(m))
		tempfail_internal(r);
	else
		r->reply = REPLY_ACCEPT;
}

/* 0 when the message cannot start (shutdown, or no runtime or memory). */
static int message_begin(struct session *s, const char *queue_id, const char *auth_authen,
    const char *mail_from)
{
	struct message *m;

	if (!flight_begin())
		return 0;
	if ((m = mem_calloc(1, sizeof(*m))) == NULL) {
		flight_end();
		return 0;
	}
	if ((m->rt = runtime_acquire()) == NULL) {
		free(m);
		flight_end();
		return 0;
	}
	s->msg = m;
	clock_gettime(CLOCK_MONOTONIC, &m->started);
	set_queue_id(m, queue_id);
	log_msg(LOG_LEVEL_DEBUG, "%s: message from %s begun", m->queue_id, s->client_text);
	m->authenticated = auth_authen != NULL && *auth_authen != '\0';
	int	internal = s->client_known &&
	    addrlist_contains(m->rt->conf->internal_hosts, (const struct sockaddr *)&s->client);
	enum arc_seal_mode arc_seal = m->rt->conf->arc_seal;

	m->outbound = m->authenticated || internal;
	/* Only an internal host's mail is sealed outbound: the AAR repeats the results of
	 * our Authentication-Results in it, which an authenticated user could have forged
	 * (a stolen password must not buy our seal on a forgery). */
	if (internal && (arc_seal == ARC_SEAL_OUTBOUND || arc_seal == ARC_SEAL_BOTH) &&
	    (m->rt->conf->mode & CONF_MODE_SIGN) &&
	    (m->arc = arcflow_begin(m->rt, NULL, m->queue_id, 0, 1)) == NULL)
		m->failed = 1;
	if (!m->outbound && (m->rt->conf->mode & CONF_MODE_VERIFY)) {
		m->checking_inbound = 1;
		if (!s->helo_lost)
			m->inbound = inbound_begin(m->rt, m->queue_id,
			    s->client_known ? s->client_text : "", s->helo ? s->helo : "", mail_from);
		if (m->inbound == NULL)
			m->failed = 1;
	}
	if (m->authenticated && m->rt->store != NULL && (m->rt->conf->mode & CONF_MODE_SIGN)) {
		struct submission_client who = {
			.user = auth_authen,
			.auth_type = s->auth.auth_type,
			.tls_version = s->auth.tls_version,
			.cipher = s->auth.cipher,
			.address = s->client_known ? (const struct sockaddr *)&s->client : NULL,
			.address_text = s->client_text,
			.warned_no_tls = &s->warned_no_tls,
		};

		if (!submission_begin(&m->sub, m->rt, &who, m->queue_id)) {
			free(m->sub.user);
			m->sub.user = NULL;
			m->failed = 1;
		} else {
			m->submission = 1;
		}
	}
	return 1;
}

void	session_auth(struct session *s, const char *auth_type, const char *tls_version,
    const char *cipher)
{
	s->auth.auth_type = auth_type;
	s->auth.tls_version = tls_version;
	s->auth.cipher = cipher;
}

void	session_rcpt(struct session *s, const char *rcpt, struct step_result *r)
{
	struct message *m = s->msg;

	step_init(r);
	r->recipient_only = 1;
	if (m != NULL && m->inbound != NULL)
		inbound_rcpt(m->inbound, rcpt);
	if (m != NULL && m->submission && !m->failed)
		submission_rcpt(&m->sub, m->rt, m->queue_id, r);
}

void	session_mail_from(struct session *s, const char *queue_id, const char *auth_authen,
    const char *mail_from, struct step_result *r)
{
	step_init(r);
	message_end(s);
	if (flight_stopping())
		step_reply(r, REPLY_TEMPFAIL, "451", "4.3.2",
		    "Signet is restarting, try again shortly");
	else if (!message_begin(s, queue_id, auth_authen, mail_from))
		tempfail_internal(r);
	memset(&s->auth, 0, sizeof(s->auth));	/* borrowed for this call only */
}

void	session_header(struct session *s, const char *name, const char *value)
{
	struct message *m = s->msg;

	if (m == NULL)
		return;
	/* Before anything that can fail: every field must be counted and judged, or a
	 * forged one could stay in place after an unrelated error (issue 13). */
	if (strcasecmp(name, AR_FIELD) == 0)
		arfields_add(&m->arfields, value, m->rt->authserv_id);
	if (m->failed)
		return;
	if (m->inbound != NULL)
		inbound_header(m->inbound, name, value);
	if (m->arc != NULL)
		arcflow_header(m->arc, name, value);
	if (m->overflow)
		return;
	switch (msgheaders_add(&m->headers, name, value)) {
	case MSGHEADERS_OK:
		break;
	case MSGHEADERS_TOO_MANY:
		m->overflow = 1;
		break;
	case MSGHEADERS_NOMEM:
		m->failed = 1;
		break;
	}
}

void	session_header_lost(struct session *s, const char *name)
{
	if (s->msg == NULL)
		return;
	if (strcasecmp(name, AR_FIELD) == 0)
		s->msg->arfields.incomplete = 1;
	s->msg->failed = 1;
}

/* Chooses the keys; 0 when the message is not to be signed (already logged). */
static int choose_keys(struct message *m)
{
	const struct conf *conf = m->rt->conf;
	const struct keystore_key *found[SESSION_MAX_KEYS];
	enum from_status from;
	size_t	n;

	if (m->overflow) {
		log_msg(LOG_LEVEL_NOTICE, "%s: not signed: over %d header fields or %d bytes of "
		    "header", m->queue_id, MSGHEADERS_MAX_FIELDS, MSGHEADERS_MAX_BYTES);
		return 0;
	}
	from = msgheaders_from_domain(&m->headers, m->from_domain, sizeof(m->from_domain));
	if (from == FROM_NOMEM) {	/* not the message's fault: OnInternalError decides */
		log_msg(LOG_LEVEL_ERROR, "%s: out of memory reading From", m->queue_id);
		m->failed = 1;
		return 0;
	}
	if (from != FROM_OK) {
		log_msg(LOG_LEVEL_NOTICE, "%s: not signed: %s", m->queue_id, from_status_text(from));
		return 0;
	}
	n = keystore_find_active(m->rt->keys, m->from_domain, found, SESSION_MAX_KEYS);
	if (n > SESSION_MAX_KEYS)
		n = SESSION_MAX_KEYS;
	m->key_count = 0;
	for (size_t i = 0; i < n; i++) {
		if (found[i]->algorithm != KEY_ALG_ED25519 && found[i]->bits < conf->minimum_key_bits)
			continue;	/* reported once at load, not per message */
		m->keys[m->key_count++] = found[i];
	}
	if (m->key_count == 0) {
		log_msg(LOG_LEVEL_INFO, "%s: not signed: no active key for %s", m->queue_id,
		    m->from_domain);
		return 0;
	}
	return 1;
}

/* The message ends with this step; it counts under verdict. */
static void count_message(const struct message *m, struct step_result *r,
    enum metrics_verdict verdict)
{
	r->report.message_done = 1;
	r->report.direction = m->outbound ? METRICS_OUTBOUND : METRICS_INBOUND;
	r->report.verdict = verdict;
}

static enum metrics_verdict unchanged_verdict(const struct message *m)
{
	return m->outbound ? METRICS_VERDICT_UNSIGNED : METRICS_VERDICT_ACCEPT;
}

/* A message with nothing to sign or check is accepted at once, unless forged
 * Authentication-Results fields must first be removed at end of message. */
static void pass_unchanged(struct message *m, struct step_result *r)
{
	if (m->arfields.forged_count == 0 && arfields_complete(&m->arfields) &&
	    !m->submission && m->arc == NULL) {
		r->reply = REPLY_ACCEPT;
		count_message(m, r, unchanged_verdict(m));
		r->report.count_latency = 1;
		return;
	}
	m->pass_through = 1;
}

void	session_end_of_headers(struct session *s, const char *queue_id, struct step_result *r)
{
	struct message *m = s->msg;

	step_init(r);
	if (m != NULL)
		set_queue_id(m, queue_id);
	if (m == NULL || m->failed) {
		/* Decided at end of message, where forged Authentication-Results fields can
		 * still be removed if OnInternalError accepts the message. */
		log_msg(LOG_LEVEL_ERROR, "%s: internal error at end of headers",
		    m != NULL ? m->queue_id : "NOQUEUE");
		return;
	}
	if (m->inbound != NULL) {
		inbound_end_of_headers(m->inbound);
		return;
	}
	if (m->arc != NULL)
		arcflow_end_of_headers(m->arc);
	if (!(m->rt->conf->mode & CONF_MODE_SIGN) || !m->outbound) {
		log_msg(LOG_LEVEL_DEBUG, "%s: inbound from %s: passed unchanged", m->queue_id,
		    s->client_text);
		pass_unchanged(m, r);
		return;
	}
	if (!choose_keys(m)) {
		if (!m->failed)
			pass_unchanged(m, r);
		return;
	}
	if ((m->body = body_canon_new(m->rt->conf->canon_body)) == NULL) {
		m->failed = 1;
		log_msg(LOG_LEVEL_ERROR, "%s: internal error at end of headers", m->queue_id);
	}
}

void	session_body(struct session *s, const unsigned char *data, size_t len)
{
	struct message *m = s->msg;

	if (m == NULL || m->failed)
		return;
	if (m->inbound != NULL)
		inbound_body(m->inbound, data, len);
	else if (m->body != NULL && !body_canon_update(m->body, data, len))
		m->failed = 1;
	if (m->arc != NULL)
		arcflow_body(m->arc, data, len);
}

/* Adds the removal of every forged Authentication-Results field, highest occurrence
 * first (removing one never renumbers the next); 0 after making r a tempfail when they
 * cannot all be removed. */
static int remove_forged(const struct message *m, struct step_result *r)
{
	if (!arfields_complete(&m->arfields)) {
		log_msg(LOG_LEVEL_ERROR, "%s: out of memory while recording forged "
		    "Authentication-Results fields", m->queue_id);
		tempfail_internal(r);
		return 0;
	}
	for (size_t n = arfields_forged_before(&m->arfields, SIZE_MAX); n != 0;
	    n = arfields_forged_before(&m->arfields, n))
		if (!step_remove(r, AR_FIELD, n)) {
			log_msg(LOG_LEVEL_ERROR, "%s: out of memory listing forged "
			    "Authentication-Results fields", m->queue_id);
			tempfail_internal(r);
			return 0;
		}
	return 1;
}

/* An internal error at end of message: OnInternalError decides, and a message it
 * accepts still loses its forged fields. */
static void message_error(const struct message *m, struct step_result *r)
{
	r->report.internal_errors++;
	r->report.verdict = METRICS_VERDICT_ERROR;
	internal_error_reply(m, r);
	if (r->reply == REPLY_ACCEPT)
		(void)remove_forged(m, r);
}

/* Our ARC set above everything we added: from the top ARC-Seal,
 * ARC-Message-Signature, ARC-Authentication-Results.  Each insert goes to the very top,
 * so the AAR goes first.  The values pass to r; 0 when memory ran out (logged). */
static int insert_seal(const struct message *m, struct step_result *r,
    struct arcseal_set *set)
{
	static const char *const names[] = {"ARC-Authentication-Results",
	    "ARC-Message-Signature", "ARC-Seal"};
	char  **values[] = {&set->results, &set->signature, &set->seal};
	int	ok = 1;

	/* step_insert() takes each value, or frees it when it fails */
	for (size_t i = 0; i < 3 && ok; i++) {
		ok = step_insert(r, names[i], *values[i]);
		*values[i] = NULL;
	}
	arcseal_set_free(set);
	if (!ok)
		log_msg(LOG_LEVEL_ERROR, "%s: out of memory adding the ARC set", m->queue_id);
	return ok;
}

/* The message as it leaves: our new DKIM-Signature fields on top (the last one made
 * topmost, as they are inserted), then the fields as they came; 0 when it cannot be
 * had (logged). */
static int leaving_header(const struct message *m, char *const *signatures, size_t count,
    struct msgheaders *out)
{
	enum msgheaders_status status = MSGHEADERS_OK;

	for (size_t i = count; i-- > 0 && status == MSGHEADERS_OK;)
		status = msgheaders_add(out, "DKIM-Signature", signatures[i]);
	for (size_t i = 0; i < m->headers.count && status == MSGHEADERS_OK; i++)
		status = msgheaders_add(out, m->headers.fields[i].name, m->headers.fields[i].value);
	if (status == MSGHEADERS_OK)
		return 1;
	log_msg(LOG_LEVEL_NOTICE, "%s: not ARC-sealed: %s", m->queue_id,
	    status == MSGHEADERS_NOMEM ? "out of memory" : "header too large");
	msgheaders_clear(out);
	return 0;
}

/* ARCSeal outbound (a mailing list re-sending what came in): our set over the message as
 * it leaves.  cv= and the AAR come from our own Authentication-Results, written when
 * the message came in (forged ones never get that far): arc=pass there is cv=pass, any
 * other verdict on a chain cv=fail, no chain at all cv=none.  A message that cannot be
 * sealed leaves unsealed (logged): never an error for the message. */
static void seal_outbound(const struct session *s, struct message *m,
    struct step_result *r, char *const *signatures, size_t count)
{
	struct msgheaders leaving = {0};
	struct arcseal_set set;
	const char *ours = NULL;
	char	result[16];
	enum arcseal_cv cv = ARCSEAL_CV_NONE;

	if (m->arc == NULL)
		return;
	if (m->overflow || m->failed) {
		log_msg(LOG_LEVEL_NOTICE, "%s: not ARC-sealed: %s", m->queue_id, m->failed ?
		    "an internal error earlier in the message" : "header over the limits");
		return;
	}
	for (size_t i = 0; i < m->headers.count && ours == NULL; i++)
		if (strcasecmp(m->headers.fields[i].name, AR_FIELD) == 0 &&
		    authres_is_ours(m->headers.fields[i].value, m->rt->authserv_id))
			ours = m->headers.fields[i].value;
	arcflow_result_in(ours != NULL ? ours : "", result, sizeof(result));
	if (arcflow_has_fields(m->arc))
		cv = strcasecmp(result, "pass") == 0 ? ARCSEAL_CV_PASS : ARCSEAL_CV_FAIL;
	if (!leaving_header(m, signatures, count, &leaving))
		return;
	if (arcflow_seal(m->arc, &leaving, cv, ours != NULL ? arcflow_results_of(ours) : NULL,
	    &set)) {
		unsigned instance = arcflow_sealed(m->arc, &cv);

		if (insert_seal(m, r, &set))
			log_msg(LOG_LEVEL_INFO, "%s: outbound from %s: ARC-sealed i=%u cv=%s d=%s",
			    m->queue_id, s->client_text, instance, arcseal_cv_name(cv),
			    m->rt->conf->arc_seal_domain);
	}
	msgheaders_clear(&leaving);
}

/* Inbound: forged A-R fields removed, ours on top, then the action. */
static void finish_inbound(struct message *m, struct step_result *r)
{
	struct inbound_outcome out;

	count_message(m, r, METRICS_VERDICT_ERROR);
	if (m->failed || m->inbound == NULL ||
	    !inbound_finish(m->inbound, &m->headers, m->overflow, m->arfields.forged_count, &out)) {
		log_msg(LOG_LEVEL_ERROR, "%s: internal error in the inbound checks", m->queue_id);
		message_error(m, r);
		return;
	}
	log_msg(LOG_LEVEL_INFO, "%s: %s", m->queue_id, out.summary);
	r->report.count_latency = 1;
	if (!remove_forged(m, r)) {
		inbound_outcome_free(&out);
		return;
	}
	int	added = step_insert(r, AR_FIELD, out.authres);

	out.authres = NULL;
	if (added && out.sealed)
		added = insert_seal(m, r, &out.seal);
	if (!added) {
		log_msg(LOG_LEVEL_ERROR, "%s: out of memory adding Authentication-Results",
		    m->queue_id);
		r->report.internal_errors++;
		if (tempfails_on_error(m)) {
			tempfail_internal(r);
			inbound_outcome_free(&out);
			return;
		}
	}
	r->reply = REPLY_ACCEPT;
	switch (out.action) {
	case INBOUND_ACCEPT:
		r->report.verdict = METRICS_VERDICT_ACCEPT;
		break;
	case INBOUND_QUARANTINE:
		r->quarantine = 1;
		snprintf(r->quarantine_reason, sizeof(r->quarantine_reason), "%s", out.reason);
		r->report.verdict = METRICS_VERDICT_QUARANTINE;
		break;
	case INBOUND_REJECT:
		step_reply(r, REPLY_REJECT, "550", "5.7.1", out.reply);
		r->report.verdict = METRICS_VERDICT_REJECT;
		break;
	case INBOUND_TEMPFAIL:
		step_reply(r, REPLY_TEMPFAIL, "451", out.internal_limit ? "4.3.0" : "4.7.1",
		    out.reply);
		if (out.internal_limit)
			r->report.internal_errors++;
		else
			r->report.dns_errors++;
		r->report.verdict = METRICS_VERDICT_TEMPFAIL;
		break;
	}
	inbound_outcome_free(&out);
}

/* Nothing to sign or check: only the forged fields go (and our ARC set comes, for an
 * internal host's mail under ARCSeal outbound). */
static void finish_pass_through(const struct session *s, struct message *m,
    struct step_result *r)
{
	count_message(m, r, METRICS_VERDICT_ERROR);
	r->report.count_latency = 1;
	if (remove_forged(m, r)) {
		seal_outbound(s, m, r, NULL, 0);
		r->reply = REPLY_ACCEPT;
		r->report.verdict = unchanged_verdict(m);
	}
}

/* The one log line of a signed message, logged if it goes out signed. */
static void signed_line(const struct session *s, const struct message *m,
    struct step_report *rep)
{
	char	keys[384];
	size_t	used = 0;

	keys[0] = '\0';
	for (size_t i = 0; i < m->key_count && used < sizeof(keys); i++) {
		int	n = snprintf(keys + used, sizeof(keys) - used, "%s%s (%s)", i ? ", " : "",
		    m->keys[i]->selector, keystore_dkim_algorithm(m->keys[i]->algorithm));
		if (n < 0)
			break;
		used += (size_t)n;
	}
	snprintf(rep->log_line, sizeof(rep->log_line), "%s: outbound from %s%s: signed d=%s s=%s",
	    m->queue_id, s->client_text, m->authenticated ? " (authenticated)" : "",
	    m->from_domain, keys);
	rep->log_level = LOG_LEVEL_INFO;
	rep->log_verdict = METRICS_VERDICT_SIGNED;
}

/* Makes the signatures: values[i] for key i; 0 after logging an error. */
static int make_signatures(struct message *m, char **values)
{
	unsigned char body_hash[CANON_HASH_LEN];
	const struct conf *conf = m->rt->conf;
	char	err[256];

	if (m->failed) {
		log_msg(LOG_LEVEL_ERROR, "%s: not signed: an internal error earlier in the "
		    "message", m->queue_id);
		return 0;
	}
	if (m->body == NULL || !body_canon_final(m->body, body_hash)) {
		log_msg(LOG_LEVEL_ERROR, "%s: internal error while hashing the body", m->queue_id);
		return 0;
	}
	struct sign_request req = {
		.headers = &m->headers,
		.sign_headers = &conf->sign_headers,
		.oversign_headers = &conf->oversign_headers,
		.canon_header = conf->canon_header,
		.canon_body = conf->canon_body,
		.body_hash = body_hash,
		.timestamp = time(NULL),
		.sign_digest = m->rt->signer.client != NULL ? signer_sign_digest : NULL,
		.sign_context = &m->rt->signer,
	};
	for (size_t i = 0; i < m->key_count; i++) {
		if ((values[i] = sign_message(&req, m->keys[i], err, sizeof(err))) == NULL) {
			log_msg(LOG_LEVEL_ERROR, "%s: %s", m->queue_id, err);
			while (i-- > 0)
				free(values[i]);
			return 0;
		}
	}
	return 1;
}

/* Outbound: forged fields removed, then one DKIM-Signature per key, each inserted at
 * the top (above the last: the order of the list is kept reversed, which does not
 * matter to verifiers). */
static void finish_signing(struct session *s, struct message *m, struct step_result *r)
{
	char   *values[SESSION_MAX_KEYS];
	size_t	i;

	count_message(m, r, METRICS_VERDICT_ERROR);
	if (!make_signatures(m, values)) {
		message_error(m, r);
		return;
	}
	r->report.count_latency = 1;
	if (!remove_forged(m, r)) {
		for (i = 0; i < m->key_count; i++)
			free(values[i]);
		return;
	}
	for (i = 0; i < m->key_count; i++)
		if (!step_insert(r, "DKIM-Signature", values[i]))
			break;
	if (i < m->key_count) {
		while (++i < m->key_count)
			free(values[i]);
		log_msg(LOG_LEVEL_ERROR, "%s: out of memory adding DKIM-Signature", m->queue_id);
		message_error(m, r);
		return;
	}
	seal_outbound(s, m, r, values, m->key_count);
	r->reply = REPLY_ACCEPT;
	r->report.verdict = METRICS_VERDICT_SIGNED;
	for (i = 0; i < m->key_count && i < sizeof(r->report.signatures) /
	    sizeof(r->report.signatures[0]); i++)
		r->report.signatures[r->report.signature_count++] =
		    m->keys[i]->algorithm == KEY_ALG_ED25519 ? METRICS_ALG_ED25519_SHA256 :
		    METRICS_ALG_RSA_SHA256;
	signed_line(s, m, &r->report);
}

/* An authenticated submission: its From and message limits first (submission.h), then
 * signed or passed unsigned, then its audit line. */
static void finish_submission(struct session *s, struct message *m, struct step_result *r)
{
	if (!submission_check(&m->sub, m->rt, &m->headers, m->queue_id, r)) {
		count_message(m, r, r->reply == REPLY_REJECT ? METRICS_VERDICT_REJECT :
		    METRICS_VERDICT_TEMPFAIL);
		return;
	}
	if (m->sub.unauthorized || m->pass_through) {
		finish_pass_through(s, m, r);
		submission_audit(&m->sub, m->rt, &m->headers, m->queue_id, m->sub.unauthorized ?
		    "not signed: unauthorized From" : "not signed", m->sub.unauthorized ?
		    METRICS_SUBMISSION_UNAUTHORIZED : METRICS_SUBMISSION_UNSIGNED);
		return;
	}
	finish_signing(s, m, r);
	if (r->reply == REPLY_ACCEPT && r->report.verdict == METRICS_VERDICT_SIGNED)
		submission_audit(&m->sub, m->rt, &m->headers, m->queue_id, "signed",
		    METRICS_SUBMISSION_SIGNED);
	else
		submission_audit(&m->sub, m->rt, &m->headers, m->queue_id, r->reply ==
		    REPLY_ACCEPT ? "not signed" : "tempfailed", r->reply == REPLY_ACCEPT ?
		    METRICS_SUBMISSION_UNSIGNED : METRICS_SUBMISSION_TEMPFAILED);
}

void	session_end_of_message(struct session *s, const char *queue_id, struct step_result *r)
{
	struct message *m = s->msg;

	step_init(r);
	if (m == NULL) {		/* nothing was started: pass */
		r->reply = REPLY_ACCEPT;
		return;
	}
	set_queue_id(m, queue_id);
	if (m->checking_inbound)
		finish_inbound(m, r);
	else if (m->submission && !m->failed)
		finish_submission(s, m, r);
	else if (m->pass_through && !m->failed)
		finish_pass_through(s, m, r);
	else
		finish_signing(s, m, r);
}

int	session_edit_refused(struct session *s, struct step_result *r, size_t i)
{
	const struct header_edit *e = &r->edits[i];
	const char *queue_id = s->msg != NULL ? s->msg->queue_id : "NOQUEUE";

	r->report.mta_errors++;
	if (e->kind == EDIT_REMOVE) {
		log_msg(LOG_LEVEL_ERROR, "%s: the MTA refused to remove a forged %s header",
		    queue_id, e->name);
		tempfail_internal(r);
	} else {
		log_msg(LOG_LEVEL_ERROR, "%s: the MTA refused to add the %s header", queue_id,
		    e->name);
		if (!tempfails_on_error(s->msg))
			return 1;	/* the reply and the other edits stand */
		tempfail_internal(r);
	}
	r->quarantine = 0;
	r->report.verdict = METRICS_VERDICT_ERROR;
	return 0;
}

void	session_quarantine_refused(struct session *s, struct step_result *r)
{
	log_msg(LOG_LEVEL_WARNING, "%s: the MTA refused to quarantine the message",
	    s->msg != NULL ? s->msg->queue_id : "NOQUEUE");
	r->report.mta_errors++;
}

void	session_step_done(struct session *s, struct step_result *r)
{
	if (r->report.count_latency && s->msg != NULL) {
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		r->report.latency = (double)(now.tv_sec - s->msg->started.tv_sec) +
		    (double)(now.tv_nsec - s->msg->started.tv_nsec) / 1e9;
	}
	step_report(r);
	step_free(r);
	if (r->reply != REPLY_CONTINUE && !r->recipient_only)
		message_end(s);
}

void	session_abort(struct session *s)
{
	message_end(s);
	refusal_said(s);
}
