/*
 * NAME
 *	submission.h - the policy of authenticated submissions: who may send as which From,
 *	how much, from where, and the audit line of each
 * SYNOPSIS
 *	#include "milter/submission.h"
 *
 *	MAIL FROM:	submission_begin(&sub, rt, &who, queue_id)
 *	each RCPT:	submission_rcpt(&sub, rt, queue_id, r)	(r: continue, or 451 this one)
 *	end of message:	if (!submission_check(&sub, rt, headers, queue_id, r)) r is final;
 *			else sign unless sub.unauthorized; then submission_audit(...)
 *	message end:	submission_end(&sub, rt, queue_id)
 * DESCRIPTION
 *	Only for messages whose client authenticated ({auth_authen}) under a runtime that
 *	signs (rt->store set); session.c calls none of this otherwise.
 *
 *	At MAIL FROM the client network is looked up in the rate store (clientnet.h): a
 *	network not seen for the user within NewClientWindow is logged as a warning; AUTH
 *	without TLS is warned about once per connection (the caller keeps the flag).
 *
 *	Each RCPT is counted against the recipient limits (ratelimit.h): over one, that
 *	recipient alone gets 451 4.7.1 naming the limit and when it frees; the message goes
 *	on with the others.  At end of message, in this order: the From (every mailbox of
 *	the one From field, when a SenderMap is set) -- not allowed: the message is not signed, or with
 *	SenderMismatch reject refused 550 5.7.1 naming the From, and then not counted; the
 *	message limits -- over: 451 4.7.1.  A store that does not answer is
 *	RateLimitStoreDown's case: accept (logged, at most once a minute) or 451 4.3.0.
 *
 *	One warning is logged per user and limit window (the store says which refusal is
 *	the first); every refusal is counted in the metrics, by limit, never by user.
 */
#ifndef SIGNET_SUBMISSION_H
#define SIGNET_SUBMISSION_H

#include <stddef.h>
#include <time.h>
#include <sys/socket.h>

#include "milter/msgheaders.h"
#include "milter/runtime.h"
#include "milter/step.h"

#define SUBMISSION_FROM_MAX	1024

/* What the MTA told of the client, for one message. */
struct submission_client {
	const char *user;		/* {auth_authen} */
	const char *auth_type;		/* {auth_type}, NULL when not sent */
	const char *tls_version;	/* {tls_version}, NULL without TLS */
	const char *cipher;		/* {cipher} */
	const struct sockaddr *address;	/* NULL when unknown */
	const char *address_text;
	int    *warned_no_tls;		/* per connection: AUTH without TLS already logged */
};

struct submission {
	char   *user;
	char	auth_type[64];
	char	tls_version[64];
	char	cipher[128];
	char	client[64];
	char	from[SUBMISSION_FROM_MAX];	/* the From addresses, for logs and the audit */
	unsigned recipients;		/* accepted at RCPT */
	unsigned refused;		/* refused over a recipient limit */
	time_t	refused_at;		/* when the last was: the time of an audit line
					 * written only when the message ends */
	int	unauthorized;		/* the From is not the user's: not to be signed */
	int	audited;
};

/* 0 when memory ran out (the caller's internal error). */
int	submission_begin(struct submission *sub, const struct runtime *rt,
	    const struct submission_client *who, const char *queue_id);
void	submission_rcpt(struct submission *sub, const struct runtime *rt, const char *queue_id,
	    struct step_result *r);
/* 1: go on (signing unless sub->unauthorized); 0: r holds the final reply. */
int	submission_check(struct submission *sub, const struct runtime *rt,
	    const struct msgheaders *headers, const char *queue_id, struct step_result *r);
/* The audit line, once per message: verdict as in audit.h, metric with it. */
void	submission_audit(struct submission *sub, const struct runtime *rt,
	    const struct msgheaders *headers, const char *queue_id, const char *verdict,
	    enum metrics_submission metric);
/* The message ended: audits one that never reached its end with recipients refused. */
void	submission_end(struct submission *sub, const struct runtime *rt, const char *queue_id);

#endif
