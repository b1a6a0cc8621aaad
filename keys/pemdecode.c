/*
 * NAME
 *	pemdecode.c - decode many PEM private keys quickly (see pemdecode.h)
 */
#include <openssl/err.h>
#include <openssl/pem.h>

#include "keys/keystore.h"
#include "keys/pemdecode.h"

/* The context for type, made on first use; NULL if OpenSSL cannot make one. */
static OSSL_DECODER_CTX *decoder_for(struct pem_decoders *dec, int type, EVP_PKEY ***out)
{
	OSSL_DECODER_CTX **ctx = type == EVP_PKEY_ED25519 ? &dec->ed25519 : &dec->rsa;

	*out = type == EVP_PKEY_ED25519 ? &dec->ed25519_out : &dec->rsa_out;
	if (*ctx == NULL)
		*ctx = OSSL_DECODER_CTX_new_for_pkey(*out, "PEM", "PrivateKeyInfo",
		    type == EVP_PKEY_ED25519 ? "ED25519" : "RSA", OSSL_KEYMGMT_SELECT_KEYPAIR,
		    NULL, NULL);
	return *ctx;
}

static EVP_PKEY *decode_any(const char *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pkey = NULL;

	if (bio != NULL)
		pkey = PEM_read_bio_PrivateKey(bio, NULL, keystore_no_passphrase, NULL);
	BIO_free(bio);
	return pkey;
}

EVP_PKEY *pem_decode_private(struct pem_decoders *dec, const char *pem, size_t len,
    int type)
{
	const unsigned char *data = (const unsigned char *)pem;
	size_t	left = len;
	OSSL_DECODER_CTX *ctx;
	EVP_PKEY **out, *pkey;

	if (dec == NULL || (ctx = decoder_for(dec, type, &out)) == NULL)
		return decode_any(pem, len);
	*out = NULL;
	if (OSSL_DECODER_from_data(ctx, &data, &left) == 1 && *out != NULL) {
		pkey = *out;
		*out = NULL;
		return pkey;
	}
	EVP_PKEY_free(*out);
	*out = NULL;
	ERR_clear_error();
	return decode_any(pem, len);
}

void	pem_decoders_free(struct pem_decoders *dec)
{
	OSSL_DECODER_CTX_free(dec->rsa);
	OSSL_DECODER_CTX_free(dec->ed25519);
	EVP_PKEY_free(dec->rsa_out);
	EVP_PKEY_free(dec->ed25519_out);
	*dec = (struct pem_decoders)PEM_DECODERS_INIT;
}
