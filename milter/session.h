/*
 * NAME
 *	session.h - one MTA connection and the message in progress on it
 * SYNOPSIS
 *	#include "milter/session.h"
 * DESCRIPTION
 *	The milter callbacks turn into calls on a session; the session holds the policy:
 *	is this message outbound, can it be signed, with which keys.  It knows nothing of
 *	libmilter.  A message takes a runtime reference at session_message_begin() and
 *	drops it at session_message_end(), so it is signed with the keys it started with.
 */
#ifndef SIGNET_SESSION_H
#define SIGNET_SESSION_H

#include <stddef.h>
#include <time.h>
#include <sys/socket.h>

#include "keys/keystore.h"
#include "milter/arfields.h"
#include "milter/canon.h"
#include "milter/inbound.h"
#include "milter/msgheaders.h"
#include "milter/runtime.h"

#define SESSION_MAX_KEYS 8	/* active keys used per domain */

enum session_verdict {
	VERDICT_CONTINUE,	/* go on with the message */
	VERDICT_PASS,		/* nothing to do: accept it unchanged */
	VERDICT_ERROR,		/* internal failure: OnInternalError decides */
};

struct session {
	/* connection */
	struct sockaddr_storage client;
	int	client_known;
	char	client_text[64];	/* for logs: the address, or the MTA's name for it */
	int	client_internal;
	char   *helo;			/* as sent, whole; NULL before HELO */
	int	helo_lost;		/* memory ran out keeping it */
	int	leading_space;		/* SMFIP_HDR_LEADSPC negotiated */

	/* message */
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
	char	from_domain[KEYSTORE_DOMAIN_MAX + 1];
	const struct keystore_key *keys[SESSION_MAX_KEYS];
	size_t	key_count;
	struct body_canon *body;
};

struct session *session_new(void);
void	session_free(struct session *s);

void	session_connect(struct session *s, const struct sockaddr *client, const char *hostname);
void	session_helo(struct session *s, const char *helo);
int	session_message_begin(struct session *s, const char *queue_id, const char *auth_authen,
	    const char *mail_from);
void	session_set_queue_id(struct session *s, const char *queue_id);
void	session_header(struct session *s, const char *name, const char *value);
enum session_verdict session_end_of_headers(struct session *s);
void	session_body(struct session *s, const unsigned char *data, size_t len);

/* Inbound: the verdict and header changes; the caller frees out->authres. */
enum session_verdict session_inbound_finish(struct session *s, struct inbound_outcome *out);

/* The forged Authentication-Results fields to remove, highest first: the highest below
 * n (SIZE_MAX to start), 0 when none is left.  Whatever else happened to the message,
 * and whether it goes out signed, checked or neither, these are removed before it is
 * accepted; when their record is incomplete (memory) it must not be accepted. */
size_t	session_forged_before(const struct session *s, size_t n);
int	session_forged_complete(const struct session *s);

/* Makes the signatures: values[i] for key i, count in *count; caller frees each value. */
enum session_verdict session_sign(struct session *s, char **values, size_t *count);
void	session_message_end(struct session *s);

/* Seconds since the message started. */
double	session_elapsed(const struct session *s);

/* Shutdown: no new message starts (they are tempfailed), and the caller waits up to
 * seconds for those in flight; returns how many are still running. */
void	session_stop_accepting(void);
int	session_stopping(void);
unsigned session_wait_idle(unsigned seconds);

/* The action for an internal error under the message's configuration. */
int	session_tempfail_on_error(const struct session *s);

#endif
