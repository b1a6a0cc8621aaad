/*
 * NAME
 *	adapter.c - milter callbacks in, session steps out: the only file that knows the milter API
 * DESCRIPTION
 *	This file speaks libmilter's API (smfi_*).  configure --with-milter-engine says who
 *	serves it: Signet's own engine (milter/engine.c, engine-mfapi.h; the default) or
 *	libmilter itself.  What is said below of the protocol, of TCP and of the MTAs holds
 *	for both; where the two engines differ it is said.
 *
 *	Each callback fetches what the engine knows (addresses, macros, header fields, body
 *	chunks), hands it to the session, and applies the session's step result as it
 *	stands: header edits in order, then a quarantine, then the reply.  When the MTA
 *	refuses an edit, the session says what follows (session_edit_refused()).  No policy
 *	lives here.
 *
 *	Negotiation asks for SMFIP_HDR_LEADSPC, so header values arrive exactly as they
 *	stand after the colon (simple canonicalization needs the exact bytes), and inserted
 *	values are written verbatim.  An MTA that cannot do that drops the one space after
 *	the colon on the way in and adds one on the way out (DEPENDENCIES.md): this file
 *	puts it back and takes it off, so the rest of Signet sees one form only.
 *
 *	Signet takes the RCPT and DATA steps (issue 17); at RCPT the rate limits of an
 *	authenticated user may refuse a recipient (issue 18), at DATA it answers
 *	"continue".  Skipping them (SMFIP_NORCPT, SMFIP_NODATA) does not stop the MTA from
 *	sending their macros: Postfix and Sendmail send an event's
 *	SMFIC_MACRO frame even when the event itself is skipped, and that frame gets no
 *	reply.  Postfix's smtpd flushes it alone when it hands the milter connection to
 *	cleanup for the headers; Sendmail writes it alone.  The MTA's next write (the first
 *	header) then waits, under Nagle's algorithm on the MTA's socket, for the TCP ACK of
 *	that frame, which our kernel delays (~40 ms): through Postfix 3.7 over TCP, 74
 *	messages/s instead of 123 (contrib/bench/RESULTS.md).  TCP_NODELAY on our side
 *	cannot help; the held write is the MTA's.  With the steps taken, each macro frame
 *	travels with its command and the reply carries the ACK.  Asking for an empty macro
 *	list for those steps (smfi_setsymlist) is not enough on its own: Postfix treats an
 *	empty list as "use main.cf's list" and sends the frame anyway; Sendmail honours it
 *	and then sends no RCPT or DATA macro frame at all, one write less per message, so
 *	Signet asks for that too.  Unknown commands stay skipped: Postfix sends no macros
 *	for them by default, and a client sending them is rare.
 *
 *	Signet asks for no reply to the steps where it never says anything but "continue"
 *	(connect, HELO, DATA, each header, each body chunk): the MTA then writes a message's
 *	header fields without waiting for us after each (issue 17: through Postfix that halves
 *	the milter's round trips).  MAIL gets no reply either, nor, where the configuration in
 *	force allows, RCPT (no RateLimits) and end of headers (Mode sv), so that through
 *	Postfix a message waits for us once, at its end, instead of four times: a milter
 *	doing nothing then ran 1.17x as fast over TCP (contrib/bench/RESULTS.md).  At end of
 *	headers Mode s and Mode v answer "accept" for a message they leave alone, which
 *	spares the MTA sending its body; in Mode sv only outbound mail without a key is
 *	such, and it is accepted at end of message instead.  A refusal at a step without
 *	reply (MAIL: a restart's "try again", an internal error; RCPT: a recipient over a
 *	limit that a reload set while this MTA connection lasts) is held and said at the
 *	next step answered, for the whole message, and until then the message counts as in
 *	flight, so a shutdown's drain waits for it.
 *	A unix socket has no Nagle and no ACKs, so both engines do this there.
 *	Over TCP only Signet's engine does: with nothing coming back, the MTA writes several
 *	small commands in a row, and an MTA socket without TCP_NODELAY holds each one until
 *	our ACK, which the kernel delays ~40 ms (measured: 135 ms a message against 0.6 ms
 *	with replies).  The engine sends that ACK at once (TCP_QUICKACK, engine.c); libmilter
 *	cannot, so with libmilter every step over TCP is answered and the ACKs ride on the
 *	replies.  Through Postfix over TCP, no reply took Postfix from 202 to 217 messages/s
 *	and Sendmail from 327 to 504 (contrib/bench/RESULTS.md).
 *
 *	At end of message Signet answers with several small writes (one per header change,
 *	then the reply).  With Nagle's algorithm on, the second write waits for the MTA to
 *	ACK the first, and the MTA, having nothing to send, delays that ACK (~40 ms on
 *	Linux).  libmilter never sets TCP_NODELAY and does not expose its sockets; but on
 *	Linux a connection returned by accept() inherits TCP_NODELAY from the listening
 *	socket, so once smfi_opensocket() has opened it we find it among our descriptors --
 *	the only TCP socket with SO_ACCEPTCONN set, since nothing else listens yet -- and
 *	set the option there.  Signet's engine is served the same way (its listener is found
 *	like libmilter's), and gathers the replies of one step into one write besides.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#ifdef SIGNET_MILTER_ENGINE_OWN
#include "milter/engine-mfapi.h"
#else
#include <libmilter/mfapi.h>
#endif

#include "lib/buffer.h"
#include "lib/log.h"
#include "lib/printable.h"
#include "milter/adapter.h"
#include "milter/session.h"

/* A refusal the session made at a step the MTA does not wait for (MAIL; RCPT after a
 * reload set RateLimits; top of this file), said at the next step it waits for: RCPT,
 * end of headers or end of message.  Until then the session counts the message in
 * flight, so that a shutdown waits for the refusal to be said. */
struct held_reply {
	sfsistat status;		/* SMFIS_REJECT or SMFIS_TEMPFAIL; 0: none */
	char	smtp_code[4];		/* "" for the MTA's own reply */
	char	status_code[16];
	char	text[512];
};

/* libmilter's private pointer: one per MTA connection. */
struct connection {
	struct session *session;
	int	leading_space;		/* SMFIP_HDR_LEADSPC negotiated */
	unsigned long no_reply;		/* the SMFIP_NR_* steps negotiated */
	struct buffer spaced;		/* a header value with its space put back */
	struct held_reply held;
};

/* Steps answered with "no reply": on a unix socket, and over TCP with Signet's engine,
 * which ACKs an unanswered frame at once (top of this file). */
#ifdef SIGNET_MILTER_ENGINE_OWN
#define NO_REPLY_OVER_TCP 1
#else
#define NO_REPLY_OVER_TCP 0
#endif
#define NO_REPLY_STEPS	(SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_DATA | SMFIP_NR_HDR | \
	SMFIP_NR_BODY)
/* Added to those: MAIL, and where the configuration allows (session_quiet_steps()),
 * RCPT and end of headers. */
#define QUIET_STEPS	(SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_EOH)

/* The MAIL FROM macros Signet reads: the queue id, and AUTH and TLS (issue 18). */
#define MAIL_MACROS "i {auth_type} {auth_authen} {tls_version} {cipher}"

static int listening_on_unix_socket;	/* set by adapter_open_socket() */

/* What the milter connection this thread serves negotiated.  An MTA may begin another
 * SMTP connection on the same milter connection (QUIT_NC) without negotiating again,
 * after xxfi_close freed the connection below.  Both engines serve a milter connection
 * on one thread from its negotiation, which comes first, to its end (engine.c,
 * DEPENDENCIES.md), so each negotiation sets this for what follows it on the thread. */
static _Thread_local struct negotiated {
	int	leading_space;
	unsigned long no_reply;
} negotiated;

static struct connection *connection_of(SMFICTX *ctx)
{
	return (struct connection *)smfi_getpriv(ctx);
}

/* "Continue" after a step that never says more, or nothing when the MTA agreed to
 * expect nothing there. */
static sfsistat carry_on(const struct connection *c, unsigned long no_reply_flag)
{
	return c != NULL && (c->no_reply & no_reply_flag) != 0 ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* The connection for ctx, made at the first callback with what this thread's milter
 * connection negotiated; NULL when memory ran out. */
static struct connection *connection_open(SMFICTX *ctx)
{
	struct connection *c = connection_of(ctx);

	if (c != NULL)
		return c;
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->session = session_new()) == NULL) {
		free(c);
		log_msg(LOG_LEVEL_ERROR, "out of memory for a new MTA connection");
		return NULL;
	}
	c->leading_space = negotiated.leading_space;
	c->no_reply = negotiated.no_reply;
	smfi_setpriv(ctx, c);
	return c;
}

static sfsistat cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0, unsigned long *pf1,
    unsigned long *pf2, unsigned long *pf3)
{
	/* Not SMFIP_NORCPT or SMFIP_NODATA: see the top of this file. */
	unsigned long wanted_steps = SMFIP_HDR_LEADSPC | SMFIP_NOUNKNOWN;
	struct connection *c;

	if (listening_on_unix_socket || NO_REPLY_OVER_TCP) {
		unsigned quiet = session_quiet_steps();

		wanted_steps |= NO_REPLY_STEPS | SMFIP_NR_MAIL |
		    ((quiet & SESSION_QUIET_RCPT) ? SMFIP_NR_RCPT : 0) |
		    ((quiet & SESSION_QUIET_EOH) ? SMFIP_NR_EOH : 0);
	}

	(void)f2;
	(void)f3;
	if ((f0 & SMFIF_ADDHDRS) == 0) {
		log_msg(LOG_LEVEL_ERROR, "the MTA does not allow adding header fields; refusing "
		    "the connection");
		return SMFIS_REJECT;
	}
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE);
	/* No macros for RCPT and DATA, where Signet reads none: an MTA that honours the
	 * empty list (Sendmail) then writes each of those commands in one piece.  At MAIL
	 * FROM, what the submission policy reads (session.h); Postfix and Sendmail send
	 * {tls_version} and {cipher} with HELO by default, and asking for them at MAIL too
	 * covers an MTA configured otherwise. */
	if ((f0 & SMFIF_SETSYMLIST) != 0 &&
	    smfi_setsymlist(ctx, SMFIM_ENVFROM, MAIL_MACROS) == MI_SUCCESS &&
	    smfi_setsymlist(ctx, SMFIM_ENVRCPT, "") == MI_SUCCESS &&
	    smfi_setsymlist(ctx, SMFIM_DATA, "") == MI_SUCCESS)
		*pf0 |= SMFIF_SETSYMLIST;
	*pf1 = f1 & wanted_steps;
	*pf2 = 0;
	*pf3 = 0;
	negotiated.leading_space = (*pf1 & SMFIP_HDR_LEADSPC) != 0;
	negotiated.no_reply = *pf1 & (NO_REPLY_STEPS | QUIET_STEPS);
	if ((c = connection_open(ctx)) == NULL)
		return SMFIS_TEMPFAIL;
	c->leading_space = negotiated.leading_space;	/* an OPTNEG again: its answer holds */
	c->no_reply = negotiated.no_reply;
	return SMFIS_CONTINUE;
}

static sfsistat cb_connect(SMFICTX *ctx, char *hostname, struct sockaddr *addr)
{
	/* After QUIT_NC, a new connection with what was negotiated before it. */
	struct connection *c = connection_open(ctx);

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	session_connect(c->session, addr, hostname);
	return carry_on(c, SMFIP_NR_CONN);
}

static sfsistat cb_helo(SMFICTX *ctx, char *helo)
{
	struct connection *c = connection_of(ctx);

	if (c != NULL)
		session_helo(c->session, helo);
	return carry_on(c, SMFIP_NR_HELO);
}

/* smfi_setreply() and smfi_quarantine() text: printable ASCII, and no '%' (libmilter
 * would drop the text). */
static void reply_text(char *out, size_t size, const char *text)
{
	(void)printable_copy(out, size, text, "%");
}

static int apply_edit(SMFICTX *ctx, const struct connection *c, const struct header_edit *e)
{
	const char *value;

	if (e->kind == EDIT_REMOVE)
		return smfi_chgheader(ctx, (char *)e->name, (int)e->occurrence, NULL) ==
		    MI_SUCCESS;
	value = e->value;
	/* Without SMFIP_HDR_LEADSPC the MTA writes "Name: " itself. */
	if (!c->leading_space && value[0] == ' ')
		value++;
	return smfi_insheader(ctx, 0, (char *)e->name, (char *)value) == MI_SUCCESS;
}

/* Keeps a refusal for the next step the MTA waits for. */
static void hold(struct connection *c, sfsistat status, const struct step_result *r)
{
	struct held_reply *h = &c->held;

	session_refusal_held(c->session);
	h->status = status;
	h->smtp_code[0] = h->status_code[0] = h->text[0] = '\0';
	if (r->smtp_code != NULL && strlen(r->smtp_code) < sizeof(h->smtp_code)) {
		memcpy(h->smtp_code, r->smtp_code, strlen(r->smtp_code) + 1);
		if (r->status_code != NULL)
			snprintf(h->status_code, sizeof(h->status_code), "%s", r->status_code);
		reply_text(h->text, sizeof(h->text), r->text);
	}
}

/* At a step the MTA waits for: the refusal held since an earlier one, if any. */
static int say_held(SMFICTX *ctx, struct connection *c, sfsistat *status)
{
	struct held_reply *h = &c->held;

	if (h->status == 0)
		return 0;
	if (h->smtp_code[0] != '\0')
		(void)smfi_setreply(ctx, h->smtp_code, h->status_code[0] != '\0' ?
		    h->status_code : NULL, h->text[0] != '\0' ? h->text : NULL);
	*status = h->status;
	return 1;
}

/* The message ends (refused as held, aborted, or followed by another): so does its held
 * refusal, and with it its count in flight. */
static void end_message(struct connection *c)
{
	c->held.status = 0;
	session_abort(c->session);
}

/* Applies the session's result of one step and hands it back; at a step the MTA does
 * not wait for (no_reply_flag negotiated) a refusal is held instead. */
static sfsistat apply(SMFICTX *ctx, struct connection *c, struct step_result *r,
    unsigned long no_reply_flag)
{
	char	text[sizeof(r->text) > sizeof(r->quarantine_reason) ? sizeof(r->text) :
	    sizeof(r->quarantine_reason)];
	sfsistat status = SMFIS_CONTINUE;

	for (size_t i = 0; i < r->edit_count; i++)
		if (!apply_edit(ctx, c, &r->edits[i]) && !session_edit_refused(c->session, r, i))
			break;
	if (r->quarantine && r->reply == REPLY_ACCEPT) {
		reply_text(text, sizeof(text), r->quarantine_reason);
		if (smfi_quarantine(ctx, text) != MI_SUCCESS)
			session_quarantine_refused(c->session, r);
	}
	switch (r->reply) {
	case REPLY_CONTINUE:
		status = SMFIS_CONTINUE;
		break;
	case REPLY_ACCEPT:
		status = SMFIS_ACCEPT;
		break;
	case REPLY_REJECT:
	case REPLY_TEMPFAIL:
		status = r->reply == REPLY_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
		if ((c->no_reply & no_reply_flag) != 0) {
			if (c->held.status == 0)
				hold(c, status, r);
			break;
		}
		if (r->smtp_code == NULL)
			break;
		reply_text(text, sizeof(text), r->text);
		(void)smfi_setreply(ctx, (char *)r->smtp_code, (char *)r->status_code,
		    text[0] != '\0' ? text : NULL);
		break;
	}
	session_step_done(c->session, r);
	return (c->no_reply & no_reply_flag) != 0 ? SMFIS_NOREPLY : status;
}

static sfsistat cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct connection *c = connection_of(ctx);
	struct step_result r;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	if (c->held.status != 0)	/* a new transaction: the last one's refusal goes */
		end_message(c);
	session_auth(c->session, smfi_getsymval(ctx, "{auth_type}"),
	    smfi_getsymval(ctx, "{tls_version}"), smfi_getsymval(ctx, "{cipher}"));
	session_mail_from(c->session, smfi_getsymval(ctx, "i"),
	    smfi_getsymval(ctx, "{auth_authen}"), argv != NULL ? argv[0] : NULL, &r);
	return apply(ctx, c, &r, SMFIP_NR_MAIL);
}

/* RCPT is taken (top of this file); it is answered when rate limits of authenticated
 * users, which count recipients, are set. */
static sfsistat cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct connection *c = connection_of(ctx);
	struct step_result r;
	sfsistat status;

	if (c == NULL)
		return SMFIS_CONTINUE;
	if (c->held.status != 0)	/* the message is refused: each recipient too */
		return (c->no_reply & SMFIP_NR_RCPT) != 0 ? SMFIS_NOREPLY :
		    say_held(ctx, c, &status) ? status : SMFIS_TEMPFAIL;
	session_rcpt(c->session, argv != NULL ? argv[0] : NULL, &r);
	return apply(ctx, c, &r, SMFIP_NR_RCPT);
}

static sfsistat cb_data(SMFICTX *ctx)
{
	return carry_on(connection_of(ctx), SMFIP_NR_DATA);
}

static sfsistat cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct connection *c = connection_of(ctx);

	if (c == NULL)
		return SMFIS_CONTINUE;
	if (c->leading_space) {
		session_header(c->session, name, value);
		return carry_on(c, SMFIP_NR_HDR);
	}
	/* The MTA ate the one space after the colon: put it back. */
	c->spaced.len = 0;
	if (!buffer_append(&c->spaced, " ", 1) || !buffer_append_str(&c->spaced, value))
		session_header_lost(c->session, name);
	else
		session_header(c->session, name, c->spaced.data);
	return carry_on(c, SMFIP_NR_HDR);
}

static sfsistat cb_eoh(SMFICTX *ctx)
{
	struct connection *c = connection_of(ctx);
	struct step_result r;
	sfsistat status;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	if (c->held.status != 0 && (c->no_reply & SMFIP_NR_EOH) != 0)
		return SMFIS_NOREPLY;
	if (say_held(ctx, c, &status)) {
		end_message(c);
		return status;
	}
	session_end_of_headers(c->session, smfi_getsymval(ctx, "i"), &r);
	return apply(ctx, c, &r, SMFIP_NR_EOH);
}

static sfsistat cb_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
	struct connection *c = connection_of(ctx);

	if (c != NULL)
		session_body(c->session, data, len);
	return carry_on(c, SMFIP_NR_BODY);
}

static sfsistat cb_eom(SMFICTX *ctx)
{
	struct connection *c = connection_of(ctx);
	struct step_result r;
	sfsistat status;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	if (say_held(ctx, c, &status)) {
		end_message(c);
		return status;
	}
	session_end_of_message(c->session, smfi_getsymval(ctx, "i"), &r);
	return apply(ctx, c, &r, 0);
}

static sfsistat cb_abort(SMFICTX *ctx)
{
	struct connection *c = connection_of(ctx);

	if (c != NULL)
		end_message(c);
	return SMFIS_CONTINUE;
}

static sfsistat cb_close(SMFICTX *ctx)
{
	struct connection *c = connection_of(ctx);

	if (c != NULL) {
		session_free(c->session);
		buffer_free(&c->spaced);
		free(c);
	}
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

int	adapter_register(void)
{
	static struct smfiDesc desc = {
		.xxfi_name = "signet",
		.xxfi_version = SMFI_VERSION,
		.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE |
		    SMFIF_SETSYMLIST,
		.xxfi_connect = cb_connect,
		.xxfi_helo = cb_helo,
		.xxfi_envfrom = cb_envfrom,
		.xxfi_envrcpt = cb_envrcpt,
		.xxfi_data = cb_data,
		.xxfi_header = cb_header,
		.xxfi_eoh = cb_eoh,
		.xxfi_body = cb_body,
		.xxfi_eom = cb_eom,
		.xxfi_abort = cb_abort,
		.xxfi_close = cb_close,
		.xxfi_negotiate = cb_negotiate,
	};

	return smfi_register(desc) == MI_SUCCESS;
}

static int is_tcp_listener(int fd)
{
	int	value = 0, type = 0, domain = 0;
	socklen_t len = sizeof(value);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &len) != 0 || !value)
		return 0;
	len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM)
		return 0;
	len = sizeof(domain);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0)
		return 0;
	return domain == AF_INET || domain == AF_INET6;
}

int	adapter_set_nodelay(char *err, size_t errlen)
{
	struct rlimit lim;
	int	limit = 1024;

	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY &&
	    lim.rlim_cur < 65536)
		limit = (int)lim.rlim_cur;
	for (int fd = 0; fd < limit; fd++) {
		int	one = 1;

		if (is_tcp_listener(fd) &&
		    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
			snprintf(err, errlen, "setting TCP_NODELAY on the milter socket: %s",
			    strerror(errno));
			return 0;
		}
	}
	return 1;
}

int	adapter_open_socket(const char *spec, char *err, size_t errlen)
{
	/* libmilter's syntax: unix:PATH, local:PATH, or a bare path. */
	listening_on_unix_socket = strncmp(spec, "unix:", 5) == 0 ||
	    strncmp(spec, "local:", 6) == 0 || spec[0] == '/';
	if (smfi_setconn((char *)spec) != MI_SUCCESS || smfi_opensocket(1) != MI_SUCCESS) {
		snprintf(err, errlen, "cannot open milter socket %s (in use, or no permission?)",
		    spec);
		return 0;
	}
	return 1;
}

int	adapter_run(void)
{
	return smfi_main() == MI_SUCCESS;
}
