/*
 * NAME
 *	sign.h - make one DKIM-Signature (RFC 6376, RSA-SHA256 per RFC 8301, Ed25519-SHA256
 *	per RFC 8463) for a message whose headers and body hash are known
 * SYNOPSIS
 *	#include "milter/sign.h"
 * DESCRIPTION
 *	sign_message() returns the value of a DKIM-Signature header field, folded with LF
 *	(the MTA turns LF into CRLF), as it stands after the colon: beginning with one space
 *	(the libmilter adapter drops it for an MTA that adds its own).
 *	The header data is hashed here; the digest is signed by req->sign_digest (the
 *	signer process, in the daemon: signerclient.c) or, when that is NULL, in this
 *	process with the key's EVP_PKEY (keysign.c; the unit tests and signet-keys).
 *	No libmilter types here.
 */
#ifndef SIGNET_SIGN_H
#define SIGNET_SIGN_H

#include <stddef.h>
#include <time.h>

#include "conf/conf.h"
#include "keys/keystore.h"
#include "milter/canon.h"
#include "milter/msgheaders.h"
#include "milter/sigfield.h"		/* sign_digest_fn */

struct sign_request {
	const struct msgheaders *headers;
	const struct name_list *sign_headers;
	const struct name_list *oversign_headers;
	enum canon_kind canon_header;
	enum canon_kind canon_body;
	const unsigned char *body_hash;		/* CANON_HASH_LEN bytes, canon_body applied */
	time_t	timestamp;			/* t= */
	sign_digest_fn *sign_digest;		/* NULL: keysign_digest() here */
	void   *sign_context;
};

/* The caller frees the result; NULL with err filled on failure. */
char   *sign_message(const struct sign_request *req, const struct keystore_key *key,
	    char *err, size_t errlen);

#endif
