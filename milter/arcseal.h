/*
 * NAME
 *	arcseal.h - add one ARC Set (RFC 8617 sections 4.1 and 5.1) to a message: its
 *	ARC-Authentication-Results, ARC-Message-Signature and ARC-Seal, instance N+1
 * SYNOPSIS
 *	#include "milter/arcseal.h"
 *
 *	struct arcseal_request req = {.headers = ..., .chain = fields, .chain_count = 3 * n,
 *	    .instances = n, .cv = ARCSEAL_CV_PASS, ...};
 *	struct arcseal_set set;
 *	if (arcseal_make(&req, key, &set, err, sizeof(err)) == ARCSEAL_OK) {
 *		... insert at the top, in this order from the top:
 *		    "ARC-Seal:" set.seal, "ARC-Message-Signature:" set.signature,
 *		    "ARC-Authentication-Results:" set.results ...
 *		arcseal_set_free(&set);
 *	}
 * DESCRIPTION
 *	The caller has validated the chain already on the message (its instances 1..N) and
 *	says what it found in cv; it hands over the header fields of that chain in sealing
 *	order, AAR 1, AMS 1, AS 1, AAR 2, ... AS N (as the validator took them from the
 *	message), the relaxed body hash of the message (canon.h), its Authentication-Results
 *	payload (what follows the authserv-id in our Authentication-Results field, e.g.
 *	"spf=pass smtp.mailfrom=a.example;\n\tdkim=pass header.d=a.example") and the time.
 *	Every modification of the message, our own DKIM-Signature included, must be made
 *	before sealing (RFC 8617 section 5.1), and headers must hold it.
 *
 *	The three values come back as sign_message() writes a DKIM-Signature: each begins
 *	with one space and folds with LF (the MTA turns LF into CRLF).  They go at the top
 *	of the header so that, reading down, the message has ARC-Seal, then
 *	ARC-Message-Signature, then ARC-Authentication-Results, above the older sets (what
 *	dkimpy, Mail::DKIM and Gmail write; verifiers find the fields by i=, not by place).
 *
 *	The ARC-Message-Signature signs, relaxed/relaxed, the fields sign_headers and
 *	oversign_headers name (as a DKIM-Signature does), never an ARC field nor an
 *	Authentication-Results field (RFC 8617 section 4.1.2: downstream ADMDs delete
 *	those), and every DKIM-Signature field of the message (section 4.1.2 says SHOULD:
 *	the DKIM signatures as they left this hop stay verifiable).
 *	The ARC-Seal signs, relaxed, the ARC Sets 1..N+1 in instance order, AAR, AMS, AS
 *	within a set (section 5.1.1), its own field last with an empty b= and no CRLF.
 *	With cv fail it signs only the new Set, as if it were the only one (section 5.1.2):
 *	the chain may then be anything, and only its ARC-Seal fields are read.
 *
 *	The signature is made as sign_message() makes it (sigfield.c): by req->sign_digest
 *	(the signer process) or, when that is NULL, here with the key's EVP_PKEY.  The key
 *	says the algorithm (rsa-sha256 or ed25519-sha256), d= and s=.
 * DIAGNOSTICS
 *	arcseal_make() says why no Set was made; err holds a sentence for the log:
 *	ARCSEAL_TOO_MANY	N >= 50: instance 51 is out of range (section 4.2.1);
 *	ARCSEAL_CHAIN_ENDED	an ARC-Seal of the chain says cv=fail: a chain once broken
 *				cannot be continued (section 5.1.3), so nothing is added;
 *	ARCSEAL_BAD_REQUEST	the request contradicts itself (cv none with a chain, pass
 *				without one, a chain that is not N sets of AAR, AMS, AS, no
 *				authserv-id);
 *	ARCSEAL_ERROR		memory, or the signature (the signer's sentence).
 */
#ifndef SIGNET_ARCSEAL_H
#define SIGNET_ARCSEAL_H

#include <stddef.h>
#include <time.h>

#include "conf/conf.h"
#include "keys/keystore.h"
#include "milter/msgheaders.h"
#include "milter/sigfield.h"

#define ARCSEAL_MAX_INSTANCE	50	/* RFC 8617 section 4.2.1 */

enum arcseal_cv {
	ARCSEAL_CV_NONE,	/* no chain (N == 0) */
	ARCSEAL_CV_PASS,
	ARCSEAL_CV_FAIL,
};

struct arcseal_field {
	const char *name;
	const char *value;	/* after the colon, as the MTA passed it */
};

struct arcseal_request {
	const struct msgheaders *headers;
	const struct name_list *sign_headers;
	const struct name_list *oversign_headers;
	const unsigned char *body_hash;		/* CANON_HASH_LEN bytes, relaxed */
	const struct arcseal_field *chain;	/* AAR 1, AMS 1, AS 1, ... AS N */
	size_t	chain_count;
	size_t	instances;			/* N */
	enum arcseal_cv cv;
	const char *authserv_id;
	const char *results;			/* NULL or "": "none" (RFC 8601) */
	time_t	timestamp;			/* t= of the AMS and the AS */
	sign_digest_fn *sign_digest;		/* NULL: keysign_digest() here */
	void   *sign_context;
};

struct arcseal_set {
	char   *seal;		/* ARC-Seal */
	char   *signature;	/* ARC-Message-Signature */
	char   *results;	/* ARC-Authentication-Results */
};

enum arcseal_status {
	ARCSEAL_OK,
	ARCSEAL_TOO_MANY,
	ARCSEAL_CHAIN_ENDED,
	ARCSEAL_BAD_REQUEST,
	ARCSEAL_ERROR,
};

/* On ARCSEAL_OK the caller frees out with arcseal_set_free(); otherwise out is empty. */
enum arcseal_status arcseal_make(const struct arcseal_request *req,
	    const struct keystore_key *key, struct arcseal_set *out, char *err, size_t errlen);
void	arcseal_set_free(struct arcseal_set *set);

const char *arcseal_cv_name(enum arcseal_cv cv);

#endif
