/*
 * NAME
 *	token.h - DKIM keys in a PKCS#11 token: open it, make keys on it, sign with them
 * SYNOPSIS
 *	#include "keys/token.h"
 * DESCRIPTION
 *	token.c is the only file that knows PKCS#11.  A key on a token is named in the
 *	keystore by its PKCS#11 URI (RFC 7512), "pkcs11:token=LABEL;id=...;object=...;
 *	type=private"; its private half never leaves the token.
 *
 *	token_open() loads PKCS11Module, finds the token labelled PKCS11Token and logs in
 *	with the PIN in PKCS11PinFile.  Within one process a token is opened once and
 *	shared, counted by references: PKCS#11 keeps one login per token per process, so a
 *	reload that opens it again while the running keys still use it gets the same open
 *	token back (its PIN is checked against the one that logged in).  token_close()
 *	drops a reference; the last one logs out and unloads the module.
 *
 *	token_sign() may be called from many threads at once on one token.
 * DIAGNOSTICS
 *	Failures fill err with one sentence naming the setting or the URI at fault.
 */
#ifndef SIGNET_TOKEN_H
#define SIGNET_TOKEN_H

#include <stddef.h>
#include <openssl/evp.h>

#include "conf/conf.h"
#include "keys/keystore.h"

struct token;

/* Opens the token that conf's PKCS11Module, PKCS11Token and PKCS11PinFile name. */
struct token *token_open(const struct conf *conf, char *err, size_t errlen);
void	token_close(struct token *tok);

/* Makes a key pair on the token: the private half sensitive and not extractable.
 * Writes its URI into uri[size]. */
int	token_generate(struct token *tok, enum key_algorithm algorithm, const char *domain,
	    const char *selector, char *uri, size_t size, char *err, size_t errlen);

/* Finds the private key that uri names, checking that it is of the algorithm (and
 * size); its object handle into *object, its size in bits into *bits. */
int	token_find_private(struct token *tok, const char *uri, enum key_algorithm algorithm,
	    unsigned long *object, int *bits, char *err, size_t errlen);

/* The public half of the key that uri names, as an EVP_PKEY without a private key. */
EVP_PKEY *token_public(struct token *tok, const char *uri, enum key_algorithm algorithm,
	    char *err, size_t errlen);

/* 1 if the token says the private key is sensitive and not extractable and refuses to
 * give out its value; 0 with err saying which of these does not hold. */
int	token_key_protected(struct token *tok, unsigned long object, char *err,
	    size_t errlen);

/* Signs in[inlen] with the private key object: CKM_RSA_PKCS (in is DigestInfo||digest)
 * or CKM_EDDSA (in is the message); the signature into sig[*sig_len], *sig_len set to
 * its length. */
int	token_sign(struct token *tok, unsigned long object, enum key_algorithm algorithm,
	    const unsigned char *in, size_t inlen, unsigned char *sig, size_t *sig_len,
	    char *err, size_t errlen);

/* The label of the token, for messages. */
const char *token_label(const struct token *tok);

#endif
