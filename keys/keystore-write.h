/*
 * NAME
 *	keystore-write.h - create keys in Signet's key store and change their states
 * SYNOPSIS
 *	#include "keys/keystore.h"
 *	#include "keys/keystore-write.h"
 * DESCRIPTION
 *	What signet-keys(8), and later automatic rotation, use to change the key store that
 *	keystore_load() reads.  Every file is replaced atomically (a temporary file in the
 *	same directory, fsync, rename, fsync of the directory), so a daemon reloading at
 *	the same moment sees either the old file or the new one.  Private keys are written
 *	mode 0600, .meta files 0640, directories 0750, whatever the umask.
 *
 *	Times are written as UTC ISO 8601, "2026-11-27T07:21:00Z".
 * DIAGNOSTICS
 *	Functions return 0 (or a non-NULL pointer) on success; on failure -1 (or NULL) with
 *	err holding one sentence that names the file at fault.
 */
#ifndef SIGNET_KEYSTORE_WRITE_H
#define SIGNET_KEYSTORE_WRITE_H

#include <stddef.h>
#include <time.h>
#include <openssl/evp.h>

#include "keys/keystore.h"

/* A new private key of the algorithm; the caller frees it with EVP_PKEY_free(). */
EVP_PKEY *keystore_generate(enum key_algorithm algorithm, struct keystore_error *err);

/* The first of sYYYYMMa .. sYYYYMMz, sYYYYMMaa, sYYYYMMab ... (YYYYMM of now, in UTC)
 * that no key of the domain uses, in any letter case, into out[size]. */
int	keystore_default_selector(const char *dir, const char *domain, time_t now,
	    char *out, size_t size, struct keystore_error *err);

/* Writes DIR/DOMAIN/SELECTOR.key and .meta for a new key in state pending, creating DIR
 * (and its parents) and DIR/DOMAIN as needed.  Fails, changing nothing, if the selector
 * exists in the domain in any letter case. */
int	keystore_create(const char *dir, const char *domain, const char *selector,
	    enum key_algorithm algorithm, EVP_PKEY *pkey, time_t now,
	    struct keystore_error *err);

/* The same for a key on a PKCS#11 token: only DIR/DOMAIN/SELECTOR.meta, with "uri URI". */
int	keystore_create_token(const char *dir, const char *domain, const char *selector,
	    enum key_algorithm algorithm, const char *uri, time_t now,
	    struct keystore_error *err);

/* Rewrites the key's .meta with the new state and one more transition line; fails if
 * the key is in that state already. */
int	keystore_set_state(const char *dir, const char *domain, const char *selector,
	    enum key_state state, time_t now, struct keystore_error *err);

/* Rewrites the key's .meta with "dns-match WHEN" (when 0: without a dns-match line). */
int	keystore_set_dns_match(const char *dir, const char *domain, const char *selector,
	    time_t when, struct keystore_error *err);

/* Takes an exclusive flock(2) on DIR/.lock, creating DIR and the file as needed, and
 * returns its descriptor (closing it releases the lock).  With nonblock, a lock held
 * elsewhere fails at once with errno EWOULDBLOCK. */
int	keystore_lock(const char *dir, int nonblock, struct keystore_error *err);

/* The DNS TXT record data for the public half of pkey: "v=DKIM1; k=rsa; p=..." with the
 * base64 DER SubjectPublicKeyInfo, or "v=DKIM1; k=ed25519; p=..." with the base64 raw
 * 32-byte key (RFC 8463).  The caller frees the string. */
char	*keystore_dns_txt(EVP_PKEY *pkey, enum key_algorithm algorithm,
	    struct keystore_error *err);

/* "2026-11-27T07:21:00Z" into out[size]; -1 if it does not fit. */
int	keystore_format_time(time_t t, char *out, size_t size);

#endif
