/*
 * NAME
 *	callbacks.c - turn libmilter callbacks into calls on a session
 * DESCRIPTION
 *	No policy lives here: each callback fetches what libmilter knows (addresses, macros,
 *	header fields, body chunks), passes it to the session, and turns the session's
 *	verdict into a milter reply.
 *
 *	Negotiation asks for SMFIP_HDR_LEADSPC, so header values arrive exactly as they
 *	stand after the colon (simple canonicalization needs the exact bytes).  Steps Signet
 *	never uses (RCPT, DATA, unknown commands) are skipped.
 *
 *	Signet deliberately does NOT ask for "no reply" to header and body steps
 *	(SMFIP_NR_HDR, SMFIP_NR_BODY): then the MTA writes several small commands in a row
 *	with nothing coming back, and an MTA socket without TCP_NODELAY holds each one until
 *	our delayed ACK, measured at 135 ms a message against 0.6 ms with replies.  A reply
 *	per step keeps the exchange strictly ping-pong, so ACKs ride on the replies.
 *
 *	An internal error tempfails or accepts the message as OnInternalError says; it is
 *	never discarded.  Every message that is accepted first loses the forged
 *	Authentication-Results fields the session recorded (remove_forged()).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <libmilter/mfapi.h>

#include "lib/printable.h"
#include "milter/callbacks.h"
#include "lib/log.h"
#include "milter/metrics.h"
#include "milter/session.h"

static struct session *session_of(SMFICTX *ctx)
{
	return (struct session *)smfi_getpriv(ctx);
}

static sfsistat on_error(SMFICTX *ctx, struct session *s)
{
	if (s == NULL || session_tempfail_on_error(s)) {
		smfi_setreply(ctx, "451", "4.3.0", "Signet: temporary internal error, try again later");
		return SMFIS_TEMPFAIL;
	}
	return SMFIS_ACCEPT;
}

static sfsistat cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0, unsigned long *pf1,
    unsigned long *pf2, unsigned long *pf3)
{
	unsigned long wanted_steps = SMFIP_HDR_LEADSPC | SMFIP_NORCPT | SMFIP_NODATA |
	    SMFIP_NOUNKNOWN;
	struct session *s;

	(void)f1;
	(void)f3;
	if ((f0 & SMFIF_ADDHDRS) == 0) {
		log_msg(LOG_LEVEL_ERROR, "the MTA does not allow adding header fields; refusing "
		    "the connection");
		return SMFIS_REJECT;
	}
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE);
	*pf1 = f1 & wanted_steps;
	*pf2 = 0;
	*pf3 = 0;
	if ((s = session_new()) == NULL)
		return SMFIS_TEMPFAIL;
	s->leading_space = (*pf1 & SMFIP_HDR_LEADSPC) != 0;
	smfi_setpriv(ctx, s);
	(void)f2;
	return SMFIS_CONTINUE;
}

static sfsistat cb_connect(SMFICTX *ctx, char *hostname, struct sockaddr *addr)
{
	struct session *s = session_of(ctx);

	if (s == NULL) {
		/* An MTA that does not negotiate (old protocol): make the session now. */
		if ((s = session_new()) == NULL)
			return SMFIS_TEMPFAIL;
		smfi_setpriv(ctx, s);
	}
	session_connect(s, addr, hostname);
	return SMFIS_CONTINUE;
}

static sfsistat cb_helo(SMFICTX *ctx, char *helo)
{
	struct session *s = session_of(ctx);

	if (s != NULL)
		session_helo(s, helo);
	return SMFIS_CONTINUE;
}

static sfsistat cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct session *s = session_of(ctx);

	if (session_stopping()) {
		smfi_setreply(ctx, "451", "4.3.2", "Signet is restarting, try again shortly");
		return SMFIS_TEMPFAIL;
	}
	if (s == NULL || !session_message_begin(s, smfi_getsymval(ctx, "i"),
	    smfi_getsymval(ctx, "{auth_authen}"), argv != NULL ? argv[0] : NULL))
		return on_error(ctx, s);
	return SMFIS_CONTINUE;
}

static sfsistat cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct session *s = session_of(ctx);

	if (s != NULL)
		session_header(s, name, value);
	return SMFIS_CONTINUE;
}

static sfsistat cb_eoh(SMFICTX *ctx)
{
	struct session *s = session_of(ctx);

	if (s == NULL)
		return on_error(ctx, s);
	session_set_queue_id(s, smfi_getsymval(ctx, "i"));
	switch (session_end_of_headers(s)) {
	case VERDICT_CONTINUE:
		return SMFIS_CONTINUE;
	case VERDICT_PASS:
		metrics_message(s->outbound ? METRICS_OUTBOUND : METRICS_INBOUND,
		    s->outbound ? METRICS_VERDICT_UNSIGNED : METRICS_VERDICT_ACCEPT);
		metrics_latency(session_elapsed(s));
		session_message_end(s);
		return SMFIS_ACCEPT;
	case VERDICT_ERROR:
		break;
	}
	/* Decided at end of message, where forged Authentication-Results fields can still
	 * be removed if OnInternalError accepts the message. */
	log_msg(LOG_LEVEL_ERROR, "%s: internal error at end of headers", s->queue_id);
	return SMFIS_CONTINUE;
}

static sfsistat cb_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
	struct session *s = session_of(ctx);

	if (s != NULL)
		session_body(s, data, len);
	return SMFIS_CONTINUE;
}

static void log_signed(const struct session *s)
{
	char	line[512];
	size_t	used = 0;

	for (size_t i = 0; i < s->key_count && used < sizeof(line); i++) {
		int	n = snprintf(line + used, sizeof(line) - used, "%s%s (%s)", i ? ", " : "",
		    s->keys[i]->selector, keystore_dkim_algorithm(s->keys[i]->algorithm));
		if (n < 0)
			break;
		used += (size_t)n;
	}
	log_msg(LOG_LEVEL_INFO, "%s: outbound from %s%s: signed d=%s s=%s", s->queue_id,
	    s->client_text, s->authenticated ? " (authenticated)" : "", s->from_domain,
	    used ? line : "");
}

static sfsistat tempfail_internal(SMFICTX *ctx)
{
	smfi_setreply(ctx, "451", "4.3.0", "Signet: temporary internal error, try again later");
	return SMFIS_TEMPFAIL;
}

/*
 * Removes the forged Authentication-Results fields, highest occurrence first.  A message
 * whose forged fields cannot all be removed -- their record is incomplete, or the MTA
 * refuses a change -- is tempfailed whatever else was decided: a forgery of our verdict
 * must never pass.  SMFIS_CONTINUE when all went.
 */
static sfsistat remove_forged(SMFICTX *ctx, struct session *s)
{
	if (!session_forged_complete(s)) {
		log_msg(LOG_LEVEL_ERROR, "%s: out of memory while recording forged "
		    "Authentication-Results fields", s->queue_id);
		return tempfail_internal(ctx);
	}
	for (size_t n = session_forged_before(s, SIZE_MAX); n != 0;
	    n = session_forged_before(s, n))
		if (smfi_chgheader(ctx, "Authentication-Results", (int)n, NULL) != MI_SUCCESS) {
			log_msg(LOG_LEVEL_ERROR, "%s: the MTA refused to remove a forged "
			    "Authentication-Results header", s->queue_id);
			metrics_error(METRICS_ERROR_MTA);
			return tempfail_internal(ctx);
		}
	return SMFIS_CONTINUE;
}

/* An internal error at end of message: OnInternalError decides, and a message it
 * accepts still loses its forged fields. */
static sfsistat on_message_error(SMFICTX *ctx, struct session *s)
{
	sfsistat status = on_error(ctx, s);

	if (status != SMFIS_ACCEPT)
		return status;
	status = remove_forged(ctx, s);
	return status == SMFIS_CONTINUE ? SMFIS_ACCEPT : status;
}

/* smfi_setreply() text: printable ASCII, and no '%' (libmilter would drop the text). */
static void reply_text(char *out, size_t size, const char *text)
{
	(void)printable_copy(out, size, text, "%");
}

/* Applies the inbound verdict: forged A-R removed (highest occurrence first), ours on top,
 * then the action. */
static sfsistat finish_inbound(SMFICTX *ctx, struct session *s)
{
	struct inbound_outcome out;
	char	text[sizeof(out.reply)];
	sfsistat status = SMFIS_ACCEPT;

	if (session_inbound_finish(s, &out) != VERDICT_CONTINUE) {
		metrics_error(METRICS_ERROR_INTERNAL);
		metrics_message(METRICS_INBOUND, METRICS_VERDICT_ERROR);
		return on_message_error(ctx, s);
	}
	if ((status = remove_forged(ctx, s)) == SMFIS_CONTINUE) {
		status = SMFIS_ACCEPT;
		char   *value = out.authres;
		char   *spaced = NULL;

		if (s->leading_space && (spaced = malloc(strlen(value) + 2)) != NULL) {
			spaced[0] = ' ';
			memcpy(spaced + 1, value, strlen(value) + 1);
			value = spaced;
		}
		if ((s->leading_space && spaced == NULL) ||
		    smfi_insheader(ctx, 0, "Authentication-Results", value) != MI_SUCCESS) {
			log_msg(LOG_LEVEL_ERROR, "%s: could not add Authentication-Results",
			    s->queue_id);
			metrics_error(METRICS_ERROR_MTA);
			status = on_error(ctx, s);
		}
		free(spaced);
	}
	inbound_outcome_free(&out);
	metrics_latency(session_elapsed(s));
	if (status != SMFIS_ACCEPT) {
		metrics_message(METRICS_INBOUND, METRICS_VERDICT_ERROR);
		return status;
	}
	switch (out.action) {
	case INBOUND_ACCEPT:
		break;
	case INBOUND_QUARANTINE:
		reply_text(text, sizeof(text), out.reason);
		if (smfi_quarantine(ctx, text) != MI_SUCCESS) {
			log_msg(LOG_LEVEL_WARNING, "%s: the MTA refused to quarantine the message",
			    s->queue_id);
			metrics_error(METRICS_ERROR_MTA);
		}
		metrics_message(METRICS_INBOUND, METRICS_VERDICT_QUARANTINE);
		return SMFIS_ACCEPT;
	case INBOUND_REJECT:
		reply_text(text, sizeof(text), out.reply);
		smfi_setreply(ctx, "550", "5.7.1", text);
		metrics_message(METRICS_INBOUND, METRICS_VERDICT_REJECT);
		return SMFIS_REJECT;
	case INBOUND_TEMPFAIL:
		reply_text(text, sizeof(text), out.reply);
		smfi_setreply(ctx, "451", "4.7.1", text);
		metrics_error(METRICS_ERROR_DNS);
		metrics_message(METRICS_INBOUND, METRICS_VERDICT_TEMPFAIL);
		return SMFIS_TEMPFAIL;
	}
	metrics_message(METRICS_INBOUND, METRICS_VERDICT_ACCEPT);
	return SMFIS_ACCEPT;
}

static sfsistat cb_eom(SMFICTX *ctx)
{
	struct session *s = session_of(ctx);
	char   *values[SESSION_MAX_KEYS];
	size_t	count = 0;
	sfsistat status = SMFIS_ACCEPT;

	if (s == NULL)
		return on_error(ctx, s);
	session_set_queue_id(s, smfi_getsymval(ctx, "i"));
	if (s->rt == NULL)		/* nothing was started: pass */
		return SMFIS_ACCEPT;
	if (s->checking_inbound) {
		status = finish_inbound(ctx, s);
		session_message_end(s);
		return status;
	}
	if (s->pass_through && !s->failed) {
		status = remove_forged(ctx, s);
		metrics_message(s->outbound ? METRICS_OUTBOUND : METRICS_INBOUND,
		    status != SMFIS_CONTINUE ? METRICS_VERDICT_ERROR : s->outbound ?
		    METRICS_VERDICT_UNSIGNED : METRICS_VERDICT_ACCEPT);
		metrics_latency(session_elapsed(s));
		session_message_end(s);
		return status == SMFIS_CONTINUE ? SMFIS_ACCEPT : status;
	}
	if (session_sign(s, values, &count) != VERDICT_CONTINUE) {
		metrics_error(METRICS_ERROR_INTERNAL);
		metrics_message(s->outbound ? METRICS_OUTBOUND : METRICS_INBOUND,
		    METRICS_VERDICT_ERROR);
		status = on_message_error(ctx, s);
		session_message_end(s);
		return status;
	}
	if ((status = remove_forged(ctx, s)) == SMFIS_CONTINUE)
		status = SMFIS_ACCEPT;
	/* Inserted at the top, each above the last: the order of the list is kept reversed,
	 * which does not matter to verifiers. */
	for (size_t i = 0; i < count; i++) {
		if (status == SMFIS_ACCEPT &&
		    smfi_insheader(ctx, 0, "DKIM-Signature", values[i]) != MI_SUCCESS) {
			log_msg(LOG_LEVEL_ERROR, "%s: the MTA refused the DKIM-Signature header",
			    s->queue_id);
			metrics_error(METRICS_ERROR_MTA);
			status = on_error(ctx, s);
		}
		free(values[i]);
	}
	metrics_latency(session_elapsed(s));
	if (status == SMFIS_ACCEPT) {
		log_signed(s);
		metrics_message(METRICS_OUTBOUND, METRICS_VERDICT_SIGNED);
		for (size_t i = 0; i < count; i++)
			metrics_signature(s->keys[i]->algorithm == KEY_ALG_ED25519 ?
			    METRICS_ALG_ED25519_SHA256 : METRICS_ALG_RSA_SHA256);
	} else {
		metrics_message(METRICS_OUTBOUND, METRICS_VERDICT_ERROR);
	}
	session_message_end(s);
	return status;
}

static sfsistat cb_abort(SMFICTX *ctx)
{
	struct session *s = session_of(ctx);

	if (s != NULL)
		session_message_end(s);
	return SMFIS_CONTINUE;
}

static sfsistat cb_close(SMFICTX *ctx)
{
	session_free(session_of(ctx));
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

int	callbacks_register(void)
{
	static struct smfiDesc desc = {
		.xxfi_name = "signet",
		.xxfi_version = SMFI_VERSION,
		.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE,
		.xxfi_connect = cb_connect,
		.xxfi_helo = cb_helo,
		.xxfi_envfrom = cb_envfrom,
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
