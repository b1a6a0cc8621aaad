/*
 * NAME
 *	arcverify.h - ARC chain validation of inbound mail (RFC 8617 section 5.2)
 * SYNOPSIS
 *	#include "milter/arcverify.h"
 *
 *	struct arcverify_message *m = arcverify_begin(verifier, budget, queue_id);
 *	arcverify_header(m, name, value);	... each field, as for verify_header()
 *	arcverify_end_of_headers(m);
 *	arcverify_body(m, data, len);		... each chunk
 *	const struct arc_outcome *out;
 *	if (arcverify_finish(m, &out))
 *		... out->result, out->reason, out->oldest_pass ...
 *	arcverify_free(m);
 * DESCRIPTION
 *	The validator follows one message alongside the DKIM verifier (verify.h) and looks
 *	its keys up the same way, through the DKIM verifier given (its resolver, DNS budget,
 *	key cache and test seam).  Keys are DKIM keys (RFC 8617 section 4.1.2, 4.1.3), judged
 *	as for DKIM: rsa-sha1 and RSA keys under 1024 bits fail (RFC 8301); rsa-sha256 and
 *	ed25519-sha256 are checked.
 *
 *	Result.  ARC_NONE: the message has no ARC field.  ARC_PASS: the structure holds
 *	(arcset.h), the newest ARC-Message-Signature verifies (header and body) and every
 *	ARC-Seal does.  ARC_FAIL: anything else, with a short reason for an A-R comment.
 *	These are the three values RFC 8617 section 10.1 registers for "arc".
 *
 *	Temporary failures.  RFC 8617 section 5.2.1: all failures, DNS ones included, are
 *	permanent, and the chain fails.  So a key lookup that timed out is ARC_FAIL too,
 *	but temporary is then set: a caller that would rather have the MTA try later
 *	(tempfail) than record arc=fail may do so.  A spent DNS budget is a plain fail.
 *
 *	oldest-pass (RFC 8617 section 5.2 step 5 and 6.): on a pass, every older AMS is
 *	checked too, from N-1 down; oldest_pass is 0 when all of them verify, else M+1
 *	for the first (newest) M that does not.  It means nothing unless result is
 *	ARC_PASS.  Older AMS fields are checked last, so that a spent DNS budget costs
 *	this optional figure before it costs the verdict; an AMS whose body hash would be
 *	a fifth one to compute (ARCVERIFY_MAX_BODY_HASHES, against a stranger's 50 c=/l=
 *	variants) counts as not verifying.
 *
 *	After the header (arcverify_end_of_headers), when the structure held:
 *	arcverify_sets() is N, arcverify_set(m, i) describes instance i (1..N): the
 *	ARC-Seal's d= and s= (trusted sealers, RFC 8617 section 7.2), the AMS's, and the
 *	AAR's authres-payload; arcverify_field() gives the 3N ARC fields in sealing order
 *	(AAR, AMS, AS of instance 1, then 2, ...), name and value as the MTA passed them,
 *	which a sealer hashes for the next seal (archash.h).  Pointers stay valid until
 *	arcverify_free().
 */
#ifndef SIGNET_ARCVERIFY_H
#define SIGNET_ARCVERIFY_H

#include <stddef.h>

#include "lib/dns.h"
#include "milter/verify.h"

#define ARCVERIFY_MAX_BODY_HASHES 4

enum arc_result {
	ARC_NONE,
	ARC_PASS,
	ARC_FAIL,
};

struct arc_outcome {
	enum arc_result result;
	int	temporary;		/* failed because a key lookup failed for now */
	unsigned sets;			/* N; 0 when none, or the structure did not hold */
	unsigned oldest_pass;		/* for a pass: 0, or the oldest AMS that verifies */
	char	reason[128];		/* "" for pass and none; no '(', ')' or '\\' */
};

struct arc_set_info {
	char	seal_domain[254];	/* the ARC-Seal's d= and s=, unsafe bytes as '?' */
	char	seal_selector[254];
	char	signature_domain[254];	/* the AMS's d= and s=, "" when it did not read */
	char	signature_selector[254];
	const char *payload;		/* the AAR after "i=N;", not NUL-terminated */
	size_t	payload_len;
};

struct arcverify_message;

/* budget is charged for key lookups; it and verifier must outlive the message. */
struct arcverify_message *arcverify_begin(struct verifier *verifier,
	    struct dns_budget *budget, const char *queue_id);
void	arcverify_header(struct arcverify_message *msg, const char *name, const char *value);
void	arcverify_end_of_headers(struct arcverify_message *msg);
void	arcverify_body(struct arcverify_message *msg, const unsigned char *data, size_t len);
/* *outcome owned by msg; 0 on an internal error (out of memory). */
int	arcverify_finish(struct arcverify_message *msg, const struct arc_outcome **outcome);
void	arcverify_free(struct arcverify_message *msg);

unsigned arcverify_sets(const struct arcverify_message *msg);
const struct arc_set_info *arcverify_set(const struct arcverify_message *msg,
	    unsigned instance);
/* index 0 .. 3N-1; 0 when out of range. */
int	arcverify_field(const struct arcverify_message *msg, size_t index, const char **name,
	    const char **value);

const char *arc_result_name(enum arc_result result);

#endif
