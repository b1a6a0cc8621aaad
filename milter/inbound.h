/*
 * NAME
 *	inbound.h - the checks of one inbound message: DKIM, SPF, DMARC, and their verdict
 * SYNOPSIS
 *	#include "milter/inbound.h"
 * DESCRIPTION
 *	An inbound check follows one message from MAIL FROM to end of message.  It feeds the
 *	DKIM verifier as header fields and body arrive, and at the end runs SPF on
 *	MAIL FROM and HELO, DMARC on the From domain, and writes one Authentication-Results
 *	value.  It decides the action (accept, quarantine, reject, tempfail) as the
 *	configuration asks, and knows nothing of libmilter.
 *
 *	Verdicts for a broken From (documented in signet(8)): no From field, several From
 *	fields, a mailbox without a usable domain, or more than FROM_DOMAINS_MAX distinct
 *	domains give dmarc=permerror; with DMARCEnforce the message is rejected (550 5.7.1),
 *	since no policy can vouch for it.  A From whose mailboxes name several domains gets
 *	one dmarc result per domain, and the strictest policy among those that fail applies.
 *
 *	ARC (RFC 8617): the chain is validated beside DKIM (arcflow.h) and reported as
 *	arc=; a domain that fails DMARC is not enforced when a trusted sealer
 *	(ARCTrustedSealers) vouches for it on a chain that passes, and the dmarc= comment
 *	says so; with ARCSeal inbound or both, an accepted or quarantined message gets our
 *	ARC set, its AAR our Authentication-Results, its cv= the validation's result.
 */
#ifndef SIGNET_INBOUND_H
#define SIGNET_INBOUND_H

#include <stddef.h>

#include "milter/arcseal.h"
#include "milter/msgheaders.h"
#include "milter/runtime.h"

enum inbound_action {
	INBOUND_ACCEPT,
	INBOUND_QUARANTINE,
	INBOUND_REJECT,
	INBOUND_TEMPFAIL,
};

/* inbound_outcome_free() frees what inbound_finish() filled in. */
struct inbound_outcome {
	char   *authres;		/* value to insert at the top */
	enum inbound_action action;
	int	internal_limit;		/* a tempfail for our own limit, not for DNS */
	int	arc_override;		/* DMARC not enforced: a trusted ARC sealer vouched */
	int	sealed;			/* ARCSeal inbound: seal holds our ARC set, to insert
					 * above authres (arcseal.h says in which order) */
	struct arcseal_set seal;
	char	reply[512];		/* text of a reject or tempfail */
	char	reason[384];		/* quarantine reason */
	char	summary[1024];		/* for the one log line of the message */
};

struct inbound;

struct inbound *inbound_begin(struct runtime *rt, const char *queue_id,
	    const char *client_ip, const char *helo, const char *mail_from);
/* One envelope recipient, as the MTA gave it (for DMARC aggregate reports). */
void	inbound_rcpt(struct inbound *in, const char *rcpt);
void	inbound_header(struct inbound *in, const char *name, const char *value);
void	inbound_end_of_headers(struct inbound *in);
void	inbound_body(struct inbound *in, const unsigned char *data, size_t len);
/* 0 on an internal error (OnInternalError then decides).  forged: how many forged
 * Authentication-Results fields the session removes, for the log line. */
int	inbound_finish(struct inbound *in, const struct msgheaders *headers, int headers_overflow,
	    size_t forged, struct inbound_outcome *out);
void	inbound_outcome_free(struct inbound_outcome *out);
void	inbound_free(struct inbound *in);

#endif
