/*
 * NAME
 *	pemdecode.h - decode many PEM private keys quickly, one OpenSSL decoder reused per
 *	key type
 * SYNOPSIS
 *	#include "keys/pemdecode.h"
 *
 *	struct pem_decoders dec = PEM_DECODERS_INIT;
 *	EVP_PKEY *pkey = pem_decode_private(&dec, pem, len, EVP_PKEY_ED25519);
 *	...
 *	pem_decoders_free(&dec);
 * DESCRIPTION
 *	PEM_read_bio_PrivateKey() builds a new OpenSSL 3 decoder chain for every key, trying
 *	every format and key type: about 340 us a key, so a keystore of 10,000 domains took
 *	8.6 s to reload (contrib/bench/keystore-scale.py, issue 17 item 4).  Knowing the
 *	type from the key's .meta, one decoder context per type ("PEM", PKCS#8
 *	"PrivateKeyInfo", RSA or ED25519) is built once per load and reused: 13-31 us a
 *	key.  What that decoder does not take (another PEM form, such as a PKCS#1 "RSA
 *	PRIVATE KEY" an operator put in place by hand) is decoded the general way, so
 *	nothing that loaded before is refused now.
 *
 *	A struct pem_decoders belongs to one thread (one keystore load).
 * DIAGNOSTICS
 *	pem_decode_private() returns NULL when neither way decodes the text; the OpenSSL
 *	error queue then says why (the caller reports it).
 */
#ifndef SIGNET_PEMDECODE_H
#define SIGNET_PEMDECODE_H

#include <stddef.h>

#include <openssl/decoder.h>
#include <openssl/evp.h>

struct pem_decoders {
	OSSL_DECODER_CTX *rsa, *ed25519;
	EVP_PKEY *rsa_out, *ed25519_out;	/* where each context puts its key */
};

#define PEM_DECODERS_INIT { NULL, NULL, NULL, NULL }

/* type: EVP_PKEY_RSA or EVP_PKEY_ED25519, what the key should be; dec may be NULL. */
EVP_PKEY *pem_decode_private(struct pem_decoders *dec, const char *pem, size_t len,
	    int type);
void	pem_decoders_free(struct pem_decoders *dec);

#endif
