/*
 * NAME
 *	transaction.c - one message through the chain of milters, as Postfix's smtpd and
 *	cleanup send it, and what it counts
 *
 * DESCRIPTION
 *	Envelope events go to each milter in turn (smtpd); after DATA the content goes
 *	through the first milter up to its end-of-message reply, its header edits are
 *	applied, and the edited message goes to the next (cleanup).  A reject, tempfail
 *	or discard stops the chain.  The latency runs from the start of MAIL to the last
 *	milter's end-of-message reply.
 */
#include "milterload.h"

#include <stdlib.h>
#include <string.h>

/*
 * One envelope event to every milter in turn, as Postfix's milter_mail_event() etc.:
 * stops at the first milter whose reply decides the message.  Returns 1 then, 0 when
 * the message goes on, -1 on error.
 */
static int envelope_event(struct worker *w, const struct event *ev, enum verdict *verdict)
{
	for (size_t i = 0; i < w->cfg->nendpoints; i++) {
		struct conn *c = &w->conns[i];
		int	r;

		if (c->state == CS_REJECT_CON) {
			*verdict = c->rejected;
			return 1;
		}
		if (c->state != CS_ENVELOPE)
			continue;
		if ((r = event_send(c, ev, &w->mc, w->payload.data, w->payload.len, NULL)) < 0) {
			report(w, c);
			return -1;
		}
		if (message_reply(c, r, verdict))
			return 1;
	}
	return 0;
}

static int set_payload_addr(struct worker *w, const char *addr)
{
	struct buf *b = &w->payload;

	b->len = 0;
	return buf_add(b, "<", 1) < 0 || buf_add(b, addr, strlen(addr)) < 0
	    || buf_add(b, ">", 2) < 0 ? -1 : 0;
}

/* MAIL, RCPT..., DATA; 1 when a milter decided the message. */
static int message_envelope(struct worker *w, enum verdict *verdict)
{
	const struct config *cfg = w->cfg;
	size_t	accepted = 0;
	enum verdict refused = V_REJECT;
	int	r;

	w->mc.mail_addr = cfg->from;
	if (set_payload_addr(w, cfg->from) < 0)
		return -1;
	if ((r = envelope_event(w, &EV_MAIL, verdict)) != 0)
		return r;
	for (size_t i = 0; i < cfg->nrcpts; i++) {
		w->mc.rcpt_addr = cfg->rcpts[i];
		if (set_payload_addr(w, cfg->rcpts[i]) < 0)
			return -1;
		if ((r = envelope_event(w, &EV_RCPT, &refused)) < 0)
			return -1;
		if (r == 1 && refused == V_DISCARD) {
			*verdict = V_DISCARD;
			return 1;
		}
		if (r == 1)
			continue;	/* that recipient is refused, the others go on */
		accepted++;
		/* smtpd opens the queue file after the first good recipient: {i} from now */
		w->mc.queue_id = w->mc.queue_id_buf;
	}
	if (accepted == 0) {
		*verdict = refused;
		return 1;
	}
	w->payload.len = 0;
	return envelope_event(w, &EV_DATA, verdict);
}

static int header_payload(struct worker *w, const struct conn *c, const struct header *h)
{
	struct buf *b = &w->payload;
	const char *value = h->value;
	size_t	len = h->value_len;

	/* Postfix (like Sendmail) eats one space, not a tab, after the colon. */
	if (!(c->protocol & SMFIP_HDR_LEADSPC) && len > 0 && value[0] == ' ') {
		value++;
		len--;
	}
	b->len = 0;
	return buf_add(b, h->name, h->name_len) < 0 || buf_add(b, "", 1) < 0
	    || buf_add(b, value, len) < 0 || buf_add(b, "", 1) < 0 ? -1 : 0;
}

static int decides(int r)
{
	return r != R_NONE && r != R_CONTINUE && r != R_SKIP;
}

/* Headers, end of headers, body, end of message to one milter (Postfix's cleanup). */
static int content_one(struct worker *w, struct conn *c, struct edit_sink *sink)
{
	const struct message *m = &w->cfg->msg;
	int	r;

	if (!(c->protocol & SMFIP_NOHDRS)) {
		for (size_t i = 0; i < w->headers.n; i++) {
			if (w->headers.v[i].deleted || w->headers.v[i].hidden)
				continue;
			if (header_payload(w, c, &w->headers.v[i]) < 0)
				return conn_fail(c, "out of memory");
			r = event_send(c, &EV_HEADER, &w->mc, w->payload.data, w->payload.len,
			    NULL);
			if (r < 0 || decides(r))
				return r;
		}
	}
	if (!(c->protocol & SMFIP_NOEOH)) {
		r = event_send(c, &EV_EOH, &w->mc, NULL, 0, NULL);
		if (r < 0 || decides(r))
			return r;
	}
	if (!(c->protocol & SMFIP_NOBODY)) {
		for (size_t off = 0; off < m->body_len; off += CHUNK_SIZE) {
			size_t	len = m->body_len - off < CHUNK_SIZE ? m->body_len - off
			    : CHUNK_SIZE;

			r = event_send(c, &EV_BODY, &w->mc, m->body + off, len, NULL);
			if (r < 0 || decides(r))
				return r;
			if (r == R_SKIP)
				break;
		}
	}
	return event_send(c, &EV_EOB, &w->mc, NULL, 0, sink);
}

/* Stands for the Received: header Postfix's smtpd prepends and hides from milters. */
static const struct header postfix_received = { "Received", 8, "", 0, 0, 1 };

/* Each milter in turn sees the message with the previous milters' header edits. */
static int message_content(struct worker *w, enum verdict *verdict, uint64_t *found)
{
	const struct config *cfg = w->cfg;
	struct edit_sink sink = { &w->headers, &w->arena, cfg, 0 };
	int	r;

	w->headers.n = 0;
	if (header_list_insert(&w->headers, 0, &postfix_received) < 0)
		return -1;
	for (size_t i = 0; i < cfg->msg.nheaders; i++)
		if (header_list_insert(&w->headers, w->headers.n, &cfg->msg.headers[i]) < 0)
			return -1;
	*verdict = V_CONTINUE;
	for (size_t i = 0; i < cfg->nendpoints; i++) {
		struct conn *c = &w->conns[i];

		if (c->state == CS_REJECT_CON) {
			*verdict = c->rejected;
			break;
		}
		if (c->state != CS_ENVELOPE) {	/* it accepted the message or the session */
			*verdict = V_ACCEPT;
			continue;
		}
		sink.headers = i + 1 < cfg->nendpoints ? &w->headers : NULL;
		if ((r = content_one(w, c, &sink)) < 0) {
			report(w, c);
			return -1;
		}
		*verdict = r == R_ACCEPT ? V_ACCEPT : V_CONTINUE;
		if (message_reply(c, r, verdict))
			break;
	}
	*found = sink.found;
	return 0;
}

/* Postfix's smtpd ends every transaction with SMFIC_ABORT; it leaves with the next write. */
static int message_abort(struct worker *w)
{
	for (size_t i = 0; i < w->cfg->nendpoints; i++) {
		struct conn *c = &w->conns[i];

		if (c->state != CS_ENVELOPE && c->state != CS_ACCEPT_MSG)
			continue;
		c->state = CS_ENVELOPE;
		if (packet_put(c, SMFIC_ABORT, NULL, 0) < 0) {
			report(w, c);
			return -1;
		}
	}
	return 0;
}

static int flush_all(struct worker *w)
{
	for (size_t i = 0; i < w->cfg->nendpoints; i++) {
		struct conn *c = &w->conns[i];

		if (c->fd >= 0 && c->out_len > 0 && out_flush(c) < 0) {
			report(w, c);
			return -1;
		}
	}
	return 0;
}

static int verdict_expected(const struct config *cfg, enum verdict v)
{
	if (cfg->expect_reply == V_DEFAULT)
		return v == V_CONTINUE || v == V_ACCEPT;
	return (int)v == cfg->expect_reply;
}

static int headers_missing(const struct config *cfg, uint64_t found)
{
	uint64_t all = cfg->nexpect == 64 ? ~(uint64_t)0 : ((uint64_t)1 << cfg->nexpect) - 1;

	return (found & all) != all;
}

static void latency_add(struct worker *w, double ms)
{
	if (w->nlatencies == w->latencies_cap) {
		size_t	cap = w->latencies_cap ? w->latencies_cap * 2 : 1024;
		double *v = realloc(w->latencies, cap * sizeof(*v));

		if (v == NULL)
			return;		/* the figure is lost, not the run */
		w->latencies = v;
		w->latencies_cap = cap;
	}
	w->latencies[w->nlatencies++] = ms;
}

/* MAIL .. end of message through every milter; 0, or -1 after an I/O or protocol error. */
static int message_transaction(struct worker *w, enum verdict *verdict, uint64_t *found,
    double *latency)
{
	double	start = now_ms();
	int	r;

	*verdict = V_CONTINUE;
	*found = 0;
	if (w->session_verdict != V_CONTINUE) {
		*verdict = w->session_verdict;	/* a milter refused the SMTP session */
		*latency = now_ms() - start;
		return 0;
	}
	r = message_envelope(w, verdict);
	/* After DATA smtpd flushes and hands the connection over to cleanup. */
	if (r == 0)
		r = flush_all(w);
	if (r == 0)
		r = message_content(w, verdict, found);
	*latency = now_ms() - start;
	if (r < 0 || message_abort(w) < 0)
		return -1;
	return 0;
}

/* A milter refused the SMTP session (at connect, or with SMFIR_SHUTDOWN): smtpd hangs up. */
static int session_refused(const struct worker *w)
{
	for (size_t i = 0; i < w->cfg->nendpoints; i++)
		if (w->conns[i].state == CS_REJECT_CON)
			return 1;
	return 0;
}

void message_one(struct worker *w, int timed)
{
	const struct config *cfg = w->cfg;
	enum verdict verdict;
	uint64_t found;
	double	latency;
	int	failed;

	if (!w->session_open && session_start(w) < 0) {
		failed = 1;
		sleep_ms(10);		/* a milter that went away: do not spin */
	} else {
		queue_id_next(w);
		arena_reset(&w->arena);
		failed = message_transaction(w, &verdict, &found, &latency) < 0;
		w->mc.queue_id = w->mc.mail_addr = w->mc.rcpt_addr = NULL;
		if (failed)
			session_close(w, 0);
		else if (++w->session_messages >= cfg->per_conn || session_refused(w))
			session_close(w, 1);
	}
	if (!timed) {
		w->warmup_errors += (unsigned long)failed;
		return;
	}
	w->messages++;
	if (failed) {
		w->errors++;
		return;
	}
	latency_add(w, latency);
	if (!verdict_expected(cfg, verdict))
		w->errors++;
	/* Only mail that would be delivered can lack a header; a refusal is an error. */
	if ((verdict == V_CONTINUE || verdict == V_ACCEPT) && headers_missing(cfg, found))
		w->missing++;
}
