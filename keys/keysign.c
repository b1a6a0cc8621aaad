/*
 * NAME
 *	keysign.c - sign a SHA-256 digest with a key of the keystore
 * DESCRIPTION
 *	RSA: EVP_PKEY_sign with PKCS#1 v1.5 padding and SHA-256 as the signature digest,
 *	which wraps the digest in its DigestInfo as EVP_DigestSign over the data would.
 *	Ed25519: EVP_DigestSign (one-shot, no pre-hash) over the 32 digest bytes.
 */
#include <stdio.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "keys/keysign.h"

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
