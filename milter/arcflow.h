/*
 * NAME
 *	arcflow.h - ARC for one message in the daemon: validate the chain, report it, let a
 *	trusted sealer vouch, and add our own set
 * SYNOPSIS
 *	#include "milter/arcflow.h"
 *
 *	struct arcflow *arc = arcflow_begin(rt, budget, queue_id, validate, seal);
 *	arcflow_header(arc, name, value);  arcflow_end_of_headers(arc);
 *	arcflow_body(arc, data, len);
 *	arcflow_validate(arc, &outcome);	   inbound: the chain's result
 *	arcflow_seal(arc, headers, cv, results, &set);
 *	arcflow_free(arc);
 * DESCRIPTION
 *	The glue between the session (inbound.c, session.c) and ARC's parts: arcverify.h
 *	validates (RFC 8617 section 5.2), arctrust.h judges trusted sealers (section 7.2),
 *	arcseal.h makes a set (section 5.1).
 *
 *	validate: the chain is checked with keys through Signet's resolver, charged to
 *	budget.  Without it (outbound sealing) the fields are only read for their shape,
 *	with no DNS, so that the next seal can hash them.
 *
 *	seal: the body is hashed relaxed for an ARC-Message-Signature, and
 *	arcflow_seal() makes set N+1 with ARCSealDomain's active key of ARCSealAlgorithm.
 *	It returns 1 with the set, or 0 when no set is added, which is never an error for
 *	the message: it passes unsealed and the log says why (no key, a chain already
 *	ended by cv=fail, 50 sets, an overflowing header, the signer's failure).  A chain
 *	whose structure failed is sealed cv=fail as the set after the highest instance its
 *	fields name (RFC 8617 section 5.1), whatever cv the caller gave.
 *
 *	arcflow_add_result() writes "arc=RESULT (reason) smtp.remote-ip=IP
 *	header.oldest-pass=N" (RFC 8617 section 10.1; oldest-pass on a pass only).
 */
#ifndef SIGNET_ARCFLOW_H
#define SIGNET_ARCFLOW_H

#include <stddef.h>

#include "milter/arcseal.h"
#include "milter/arcverify.h"
#include "milter/authres.h"
#include "milter/msgheaders.h"
#include "milter/runtime.h"

struct arcflow;

/* NULL when memory runs out.  budget may be NULL without validate. */
struct arcflow *arcflow_begin(struct runtime *rt, struct dns_budget *budget,
	    const char *queue_id, int validate, int seal);
void	arcflow_header(struct arcflow *arc, const char *name, const char *value);
void	arcflow_end_of_headers(struct arcflow *arc);
void	arcflow_body(struct arcflow *arc, const unsigned char *data, size_t len);
void	arcflow_free(struct arcflow *arc);

/* 0 on an internal error (memory). */
int	arcflow_validate(struct arcflow *arc, const struct arc_outcome **outcome);
void	arcflow_add_result(struct authres *ar, const struct arc_outcome *outcome,
	    const char *client_ip);

/* Only after a pass: the instance of the trusted sealer that vouches for author_domain
 * (0: none) and why; the DMARC report comment of RFC 8617 section 7.2.2.  Only a set
 * whose ARC-Message-Signature still validates (header.oldest-pass and newer) may vouch:
 * an older one vouched for content that a later hop has changed. */
unsigned arcflow_vouch(struct arcflow *arc, const char *author_domain, char *why,
	    size_t size);
void	arcflow_report_comment(struct arcflow *arc, char *out, size_t size);

/* Whether the message has any ARC field at all. */
int	arcflow_has_fields(const struct arcflow *arc);
/* After arcflow_seal() said 1: the instance of our set and the cv= it carries. */
unsigned arcflow_sealed(const struct arcflow *arc, enum arcseal_cv *cv);

/* headers: the message as it leaves, our DKIM-Signature fields included.  results: the
 * A-R payload after our authserv-id (NULL: "none"). */
int	arcflow_seal(struct arcflow *arc, const struct msgheaders *headers, enum arcseal_cv cv,
	    const char *results, struct arcseal_set *out);

/* The result text of "arc=" in an Authentication-Results value of ours, e.g. "pass";
 * "" when it has none. */
void	arcflow_result_in(const char *authres_value, char *out, size_t size);

/* The results of our A-R value (what follows "authserv-id;"), for an AAR. */
const char *arcflow_results_of(const char *authres_value);

#endif
