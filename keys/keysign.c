/*
 * NAME
 *	keysign.c - sign a SHA-256 digest with a key of the keystore
 * DESCRIPTION
 *	RSA: EVP_PKEY_sign with PKCS#1 v1.5 padding and SHA-256 as the signature digest,
 *	which wraps the digest in its DigestInfo as EVP_DigestSign over the data would.
 *	Ed25519: EVP_DigestSign (one-shot, no pre-hash) over the 32 digest bytes.
 *	A key on a PKCS#11 token signs there (token.c): CKM_RSA_PKCS over the DER
 *	DigestInfo of SHA-256 (RFC 8017 section 9.2, note 1) followed by the digest, which
 *	is the same PKCS#1 v1.5 signature (CKM_SHA256_RSA_PKCS would hash the digest
 *	again); CKM_EDDSA over the 32 digest bytes.
 */
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "keys/keysign.h"
#include "keys/token.h"

/* DER of DigestInfo { AlgorithmIdentifier { id-sha256, NULL }, OCTET STRING (32) }. */
static const unsigned char sha256_prefix[] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
	0x01, 0x05, 0x00, 0x04, 0x20,
};

static int
sign_token(const struct keystore_key *key, const unsigned char *digest,
    unsigned char *sig, size_t *sig_len, char *err, size_t errlen)
{
	unsigned char in[sizeof(sha256_prefix) + KEYSIGN_DIGEST_LEN];
	char why[256];
	size_t inlen = 0;

	if (key->algorithm != KEY_ALG_ED25519) {
		memcpy(in, sha256_prefix, sizeof(sha256_prefix));
		inlen = sizeof(sha256_prefix);
	}
	memcpy(in + inlen, digest, KEYSIGN_DIGEST_LEN);
	inlen += KEYSIGN_DIGEST_LEN;
	*sig_len = KEYSIGN_MAX;
	if (token_sign(key->token, key->token_object, key->algorithm, in, inlen, sig, sig_len,
	    why, sizeof(why)))
		return 1;
	snprintf(err, errlen, "signing with %s/%s: %s", key->domain, key->selector, why);
	return 0;
}

static int sign_rsa(EVP_PKEY *pkey, const unsigned char *digest, unsigned char *sig,
    size_t *sig_len)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	size_t	len = KEYSIGN_MAX;
	int	ok = ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
	    EVP_PKEY_sign(ctx, NULL, &len, digest, KEYSIGN_DIGEST_LEN) == 1 &&
	    len <= KEYSIGN_MAX &&
	    EVP_PKEY_sign(ctx, sig, &len, digest, KEYSIGN_DIGEST_LEN) == 1;

	EVP_PKEY_CTX_free(ctx);
	*sig_len = len;
	return ok;
}

static int sign_ed25519(EVP_PKEY *pkey, const unsigned char *digest, unsigned char *sig,
    size_t *sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t	len = KEYSIGN_MAX;
	int	ok = ctx != NULL && EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
	    EVP_DigestSign(ctx, NULL, &len, digest, KEYSIGN_DIGEST_LEN) == 1 &&
	    len <= KEYSIGN_MAX &&
	    EVP_DigestSign(ctx, sig, &len, digest, KEYSIGN_DIGEST_LEN) == 1;

	EVP_MD_CTX_free(ctx);
	*sig_len = len;
	return ok;
}

int	keysign_digest(const struct keystore_key *key,
    const unsigned char digest[KEYSIGN_DIGEST_LEN], unsigned char sig[KEYSIGN_MAX],
    size_t *sig_len, char *err, size_t errlen)
{
	int	ok;

	if (key->token != NULL)
		return sign_token(key, digest, sig, sig_len, err, errlen);
	if (key->pkey == NULL) {
		snprintf(err, errlen, "key %s/%s has no private key loaded", key->domain,
		    key->selector);
		return 0;
	}
	ok = key->algorithm == KEY_ALG_ED25519 ? sign_ed25519(key->pkey, digest, sig, sig_len) :
	    sign_rsa(key->pkey, digest, sig, sig_len);
	if (!ok)
		snprintf(err, errlen, "signing with %s/%s failed (OpenSSL)", key->domain,
		    key->selector);
	return ok;
}
