/*
 * NAME
 *	keycache.h - DKIM public keys already decoded, shared by the messages of a verifier
 * SYNOPSIS
 *	#include "milter/keycache.h"
 *
 *	EVP_PKEY *pkey = keycache_get(cache, EVP_PKEY_RSA, p.p, p.len);
 *	if (pkey == NULL && (pkey = decode(p)) != NULL)
 *		keycache_put(cache, EVP_PKEY_RSA, p.p, p.len, pkey);
 *	... use pkey ...
 *	EVP_PKEY_free(pkey);
 * DESCRIPTION
 *	Decoding a key record's p= costs more than checking a signature with it (OpenSSL 3:
 *	about 100 us for an RSA-2048 SubjectPublicKeyInfo, 20 us for the RSA check), and DNS
 *	answers are cached anyway, so a verifier keeps the keys it decoded, keyed by their
 *	type and the p= text exactly as published: a key published anew is another entry,
 *	never a stale one.  At most KEYCACHE_SIZE keys; when full, the one used least
 *	recently goes.  keycache_get() returns a new reference (the caller frees it) or
 *	NULL; keycache_put() takes its own reference.  A failed allocation only means the
 *	key is not kept.  One mutex, held for a lookup or an insert; any thread may use it.
 */
#ifndef SIGNET_KEYCACHE_H
#define SIGNET_KEYCACHE_H

#include <stddef.h>
#include <openssl/evp.h>

#define KEYCACHE_SIZE	64

struct keycache;

struct keycache *keycache_new(void);
void	keycache_free(struct keycache *cache);

EVP_PKEY *keycache_get(struct keycache *cache, int type, const char *text, size_t len);
void	keycache_put(struct keycache *cache, int type, const char *text, size_t len,
	    EVP_PKEY *pkey);

#endif
