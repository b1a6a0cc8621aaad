/*
 * NAME
 *	session.c - an SMTP session as milterload plays it: one connection to each
 *	milter, CONNECT and HELO, and how replies decide a message or the session
 *
 * DESCRIPTION
 *	A session lasts -m messages, or until a milter refuses it or an error; then its
 *	connections close and the next message opens new ones.
 */
#include "milterload.h"

#include <stdio.h>
#include <string.h>

#define MAX_SHOWN	10		/* error lines on stderr */

/* How a reply at MAIL .. end of message changes one milter; 1: it decides the message. */
int message_reply(struct conn *c, int reply, enum verdict *verdict)
{
	switch (reply) {
	case R_ACCEPT:
		c->state = CS_ACCEPT_MSG;	/* no more events for this message */
		return 0;
	case R_REJECT:
		*verdict = V_REJECT;
		return 1;
	case R_TEMPFAIL:
		*verdict = V_TEMPFAIL;
		return 1;
	case R_DISCARD:
		c->state = CS_ACCEPT_MSG;
		*verdict = V_DISCARD;
		return 1;
	case R_SHUTDOWN:
		conn_close(c, 0);
		c->state = CS_REJECT_CON;
		c->rejected = V_TEMPFAIL;
		*verdict = V_TEMPFAIL;
		return 1;
	default:
		return 0;
	}
}

/* The same at CONNECT and HELO: accept or refuse the whole SMTP connection. */
static int connect_reply(struct conn *c, int reply, enum verdict *verdict)
{
	switch (reply) {
	case R_ACCEPT:
		conn_close(c, 0);
		c->state = CS_ACCEPT_CON;
		return 0;
	case R_REJECT:
	case R_TEMPFAIL:
	case R_SHUTDOWN:
		conn_close(c, 0);
		c->state = CS_REJECT_CON;
		c->rejected = *verdict = reply == R_REJECT ? V_REJECT : V_TEMPFAIL;
		return 1;
	default:			/* discard is not allowed here: Postfix ignores it */
		return 0;
	}
}

void report(const struct worker *w, const struct conn *c)
{
	static atomic_uint shown;
	unsigned n;

	if (w->cfg->quiet)
		return;
	n = atomic_fetch_add(&shown, 1);
	if (n < MAX_SHOWN)
		fprintf(stderr, "milterload: worker %u: %s: %s\n", w->id, c->ep->spec, c->err);
	else if (n == MAX_SHOWN)
		fprintf(stderr, "milterload: further errors not shown\n");
}

void session_close(struct worker *w, int say_quit)
{
	for (size_t i = 0; i < w->cfg->nendpoints; i++) {
		conn_close(&w->conns[i], say_quit);
		w->conns[i].state = CS_CLOSED;
	}
	w->session_open = 0;
}

/* CONNECT then HELO, each to every milter in turn (Postfix's milter_conn_event()). */
static int session_greet(struct worker *w)
{
	const struct config *cfg = w->cfg;
	const struct event *events[2] = { &EV_CONNECT, &EV_HELO };
	struct buf *b = &w->payload;
	unsigned char port[2];
	unsigned p = 1024 + (unsigned)((w->id * 7919 + w->sessions) % 64000);

	snprintf(w->mc.client_port, sizeof(w->mc.client_port), "%u", p);
	port[0] = (unsigned char)(p >> 8);
	port[1] = (unsigned char)p;
	for (int e = 0; e < 2; e++) {
		b->len = 0;
		if ((e == 0 && (buf_add(b, cfg->connect_name, strlen(cfg->connect_name) + 1) < 0
		    || buf_add(b, &cfg->client_family, 1) < 0 || buf_add(b, port, 2) < 0
		    || buf_add(b, cfg->client, strlen(cfg->client) + 1) < 0))
		    || (e == 1 && buf_add(b, cfg->helo, strlen(cfg->helo) + 1) < 0))
			return -1;
		for (size_t i = 0; i < cfg->nendpoints; i++) {
			struct conn *c = &w->conns[i];
			int	r;

			if (c->state != CS_READY && c->state != CS_ENVELOPE)
				continue;
			c->state = CS_ENVELOPE;
			if ((r = event_send(c, events[e], &w->mc, b->data, b->len, NULL)) < 0) {
				report(w, c);
				return -1;
			}
			if (connect_reply(c, r, &w->session_verdict))
				return 0;
		}
	}
	return 0;
}

int session_start(struct worker *w)
{
	w->sessions++;
	w->session_messages = 0;
	w->session_verdict = V_CONTINUE;
	w->mc.queue_id = w->mc.mail_addr = w->mc.rcpt_addr = NULL;
	for (size_t i = 0; i < w->cfg->nendpoints; i++) {
		if (conn_open(&w->conns[i], &w->cfg->endpoints[i], w->cfg) < 0) {
			report(w, &w->conns[i]);
			session_close(w, 0);
			return -1;
		}
	}
	w->session_open = 1;
	if (session_greet(w) < 0) {
		session_close(w, 0);
		return -1;
	}
	return 0;
}
