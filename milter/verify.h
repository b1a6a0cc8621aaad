/*
 * NAME
 *	verify.h - DKIM verification of inbound mail (RFC 6376, RFC 8301, RFC 8463)
 * SYNOPSIS
 *	#include "milter/verify.h"
 * DESCRIPTION
 *	A verifier looks keys up through Signet's resolver (dns.h) and its cache; make one
 *	per loaded configuration (verify.c says how a message is checked).  A verify_message
 *	follows one message: header fields, end of headers, body chunks, then
 *	verify_finish() gives one result per DKIM-Signature header field, in the order the
 *	fields appear, including malformed ones (permerror), for the first
 *	MaximumSignatures fields; the fields past that are not looked up and share one
 *	last result (policy, no domain).  A result's domain and selector are those whose
 *	key was used: only a pass with a domain may count for DMARC.
 *
 *	Results follow RFC 8601: pass, fail (the signature or body hash does not match),
 *	neutral, policy (valid but refused here: rsa-sha1 or an RSA key under 1024 bits per
 *	RFC 8301, or too many signatures; also a key not looked up because the message's
 *	DNS budget was spent), temperror (the key could not be fetched: DNS timeout,
 *	SERVFAIL), permerror (malformed signature, no key, bad or revoked key, expired).
 */
#ifndef SIGNET_VERIFY_H
#define SIGNET_VERIFY_H

#include <stddef.h>

#include "lib/dns.h"

enum verify_result {
	VERIFY_NONE,		/* message has no signature */
	VERIFY_PASS,
	VERIFY_FAIL,
	VERIFY_NEUTRAL,
	VERIFY_POLICY,
	VERIFY_TEMPERROR,
	VERIFY_PERMERROR,
};

struct verify_signature {
	enum verify_result result;
	char	domain[254];		/* d= as the field has it, "" when too long or
					 * absent; unsafe bytes as '?' */
	char	selector[254];		/* s=, likewise (a selector may have several labels) */
	char	algorithm[32];		/* a= */
	char	b[9];			/* first 8 characters of b= */
	char	reason[128];		/* why, for an A-R comment; "" for pass */
};

struct verifier;
struct verify_message;

/* timeout_seconds is not used: key lookups wait as long as the resolver's own timeout
 * (DNSTimeout) and the message's budget allow. */
struct verifier *verifier_new(struct dns_resolver *dns, long timeout_seconds, char *err,
	    size_t errlen);
void	verifier_free(struct verifier *verifier);

/*
 * Test seam (tests/fuzz): key lookups answered by lookup() instead of the resolver.
 * lookup() writes a wire-format DNS reply for (name, type) into buf, at most buflen
 * bytes, sets *len and returns 1; or returns 0 for no reply, which is reported as a
 * failed lookup (temperror).  Set it before the first message; with it set, dns may be
 * NULL in verifier_new(), as it is never queried.  The daemon never sets it.
 */
typedef int verify_key_lookup(void *ctx, const char *name, int type, unsigned char *buf,
	    size_t buflen, size_t *len);
void	verifier_set_key_lookup(struct verifier *verifier, verify_key_lookup *lookup,
	    void *ctx);

/* Where this verifier's keys come from (its resolver, key cache and test seam), for the
 * ARC validator (arcverify.h), which looks its keys up the same way: source is filled
 * in, budget and queue_id are the message's and must outlive it. */
struct dkimkey_source;
void	verifier_key_source(struct verifier *verifier, struct dns_budget *budget,
	    const char *queue_id, struct dkimkey_source *source);

/* budget is charged for key lookups; it must outlive the message. */
struct verify_message *verify_begin(struct verifier *verifier, struct dns_budget *budget,
	    const char *queue_id, size_t max_signatures);
/* value exactly as received after the colon (leading space included if any). */
void	verify_header(struct verify_message *msg, const char *name, const char *value);
void	verify_end_of_headers(struct verify_message *msg);
void	verify_body(struct verify_message *msg, const unsigned char *data, size_t len);
/* The results, owned by msg; *count 0 means no signature (dkim=none).  0 on an internal
 * error (out of memory). */
int	verify_finish(struct verify_message *msg, const struct verify_signature **results,
	    size_t *count);
void	verify_free(struct verify_message *msg);

const char *verify_result_name(enum verify_result result);

/* For tests: how many body hashes the message computes (signatures with the same body
 * canonicalization and l= share one); final once the header has ended. */
size_t	verify_body_hashes(const struct verify_message *msg);

#endif
