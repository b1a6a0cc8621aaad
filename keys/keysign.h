/*
 * NAME
 *	keysign.h - sign a SHA-256 digest with a loaded private key (the signer's one job)
 * SYNOPSIS
 *	#include "keys/keysign.h"
 * DESCRIPTION
 *	A DKIM signature (RFC 6376 section 3.7) is computed over the SHA-256 digest of the
 *	canonicalized header data: rsa-sha256 is PKCS#1 v1.5 over that digest (RFC 8301),
 *	ed25519-sha256 is PureEdDSA over the 32 digest bytes (RFC 8463 section 3).  So the
 *	process that hashes the message needs only hand over the digest, and the one that
 *	holds the key needs no more than this.
 *	keysign_digest() writes the raw signature (not base64) into sig[KEYSIGN_MAX] and
 *	its length into *sig_len; 0 with err filled (naming the key, never its material).
 */
#ifndef SIGNET_KEYSIGN_H
#define SIGNET_KEYSIGN_H

#include <stddef.h>

#include "keys/keystore.h"

#define KEYSIGN_DIGEST_LEN	32	/* SHA-256 */
#define KEYSIGN_MAX		512	/* bytes of an RSA-4096 signature */

int	keysign_digest(const struct keystore_key *key,
	    const unsigned char digest[KEYSIGN_DIGEST_LEN], unsigned char sig[KEYSIGN_MAX],
	    size_t *sig_len, char *err, size_t errlen);

#endif
