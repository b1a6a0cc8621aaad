/*
 * NAME
 *	session.h - one MTA connection, the message in progress on it, and their policy
 * SYNOPSIS
 *	#include "milter/session.h"
 *
 *	struct step_result r;
 *	session_end_of_message(s, queue_id, &r);
 *	for each edit i of r: apply it, or if the MTA refuses:
 *		if (!session_edit_refused(s, &r, i)) break;
 *	quarantine and reply as r says;
 *	session_step_done(s, &r);
 * DESCRIPTION
 *	The libmilter adapter turns each milter step into a call on a session; the session
 *	decides -- is this message outbound, can it be signed and with which keys, what do
 *	the inbound checks say, what does an internal error do -- and answers each step with
 *	one struct step_result (step.h).  It knows nothing of libmilter.
 *
 *	Connection state (client, HELO) lives as long as the session; message state is
 *	allocated at MAIL FROM and freed once, when a step ends the message (any reply but
 *	REPLY_CONTINUE), at session_abort() or at session_free().  A message takes a runtime
 *	reference at MAIL FROM and drops it at its end, so it is signed with the keys it
 *	started with.  Header values are as they stand after the colon, leading space
 *	included.
 */
#ifndef SIGNET_SESSION_H
#define SIGNET_SESSION_H

#include <stddef.h>
#include <sys/socket.h>

#include "milter/step.h"

#define SESSION_MAX_KEYS 8	/* active keys used per domain */

struct session;

/* Macros of the MTA for authenticated submissions; NULL when not sent.  Borrowed: valid
 * until session_mail_from() returns. */
struct session_auth {
	const char *auth_type;		/* {auth_type} */
	const char *tls_version;	/* {tls_version} */
	const char *cipher;		/* {cipher} */
};

struct session *session_new(void);
void	session_free(struct session *s);

/* The steps whose answer, under the configuration in force, can only be "go on", so
 * that the MTA need not wait for it: RCPT when no RateLimits are set; end of headers in
 * Mode sv (there it can also be "accept unchanged", which end of message says as well,
 * with the body read for nothing).  A reload can change that while an MTA connection
 * lasts; a refusal at a step the MTA does not wait for is then held until the next one
 * it waits for (adapter.c). */
#define SESSION_QUIET_RCPT	0x01
#define SESSION_QUIET_EOH	0x02
unsigned session_quiet_steps(void);
/* The adapter holds a refusal until the next step the MTA waits for: until then the
 * message counts as in flight, so that a shutdown's drain waits for it to be said.
 * session_abort() (or session_free()) ends that. */
void	session_refusal_held(struct session *s);

void	session_connect(struct session *s, const struct sockaddr *client, const char *hostname);
void	session_helo(struct session *s, const char *helo);
/* Before session_mail_from(): what the MTA says of AUTH and TLS for that message. */
void	session_auth(struct session *s, const char *auth_type, const char *tls_version,
	    const char *cipher);
void	session_mail_from(struct session *s, const char *queue_id, const char *auth_authen,
	    const char *mail_from, struct step_result *r);
/* One RCPT: continue, or (over a recipient limit) a 4xx for this recipient alone. */
void	session_rcpt(struct session *s, const char *rcpt, struct step_result *r);
void	session_header(struct session *s, const char *name, const char *value);
/* The adapter could not hand a header field over (memory): the message has an internal
 * error, and if the field was an Authentication-Results one it cannot be accepted. */
void	session_header_lost(struct session *s, const char *name);
void	session_end_of_headers(struct session *s, const char *queue_id, struct step_result *r);
void	session_body(struct session *s, const unsigned char *data, size_t len);
void	session_end_of_message(struct session *s, const char *queue_id, struct step_result *r);

/* The MTA refused edit i of r, or the quarantine: r is amended (reply, report); returns
 * 1 when the remaining edits are still to be applied. */
int	session_edit_refused(struct session *s, struct step_result *r, size_t i);
void	session_quarantine_refused(struct session *s, struct step_result *r);
/* After r was applied: reports it, frees it, and ends the message if r did. */
void	session_step_done(struct session *s, struct step_result *r);
/* The MTA dropped the message (SMFIC_ABORT). */
void	session_abort(struct session *s);

#endif
