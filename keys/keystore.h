/*
 * NAME
 *	keystore.h - Signet's DKIM key store: key files and their lifecycle states
 * SYNOPSIS
 *	#include "keys/keystore.h"
 * DESCRIPTION
 *	The keystore is a directory tree that signet-keys(8) writes and the daemon reads:
 *
 *	    KEYSTORE/DOMAIN/SELECTOR.key   private key, PEM (PKCS#8), mode 0600 (0640 at most)
 *	    KEYSTORE/DOMAIN/SELECTOR.meta  "name value" lines: algorithm, state, transitions
 *
 *	DOMAIN is lower case, without a trailing dot.  A .meta file looks like:
 *
 *	    algorithm rsa-2048
 *	    state active
 *	    transition pending 2026-11-27T07:21:00Z
 *	    transition active 2026-11-27T08:02:13Z
 *	    dns-match 2026-11-27T07:40:02Z
 *
 *	A key made on a PKCS#11 token (signet-keys generate --token) has no .key file; its
 *	.meta names it by its PKCS#11 URI (RFC 7512) in a line
 *
 *	    uri pkcs11:token=signet;id=example.com%2Fs1;object=example.com%2Fs1;type=private
 *
 *	keystore_load() never opens the token: keyload_private() (keyload.c) resolves the
 *	active token keys of a loaded store to their objects on the token.
 *
 *	keystore_load() reads the whole tree once; with KEYSTORE_LOAD_PRIVATE it also parses
 *	the private key of every active key into an EVP_PKEY, so that signing never parses
 *	key material per message.  A loaded keystore is immutable: the daemon builds a new one
 *	on reload and swaps a pointer.
 * DIAGNOSTICS
 *	Functions that can fail take a struct keystore_error and fill it with one sentence
 *	that names the file at fault; the caller reports it once.
 */
#ifndef SIGNET_KEYSTORE_H
#define SIGNET_KEYSTORE_H

#include <stddef.h>
#include <time.h>
#include <openssl/evp.h>

enum key_algorithm {
	KEY_ALG_RSA_2048,
	KEY_ALG_RSA_3072,
	KEY_ALG_RSA_4096,
	KEY_ALG_ED25519,
};

enum key_state {
	KEY_STATE_PENDING,	/* generated, not yet in DNS */
	KEY_STATE_ACTIVE,	/* signs */
	KEY_STATE_RETIRING,	/* no longer signs, still published */
	KEY_STATE_RETIRED,	/* may be removed from DNS */
};

#define KEY_STATE_COUNT	4

#define KEYSTORE_DOMAIN_MAX	253
#define KEYSTORE_SELECTOR_MAX	63
#define KEYSTORE_URI_MAX	1000	/* bytes of a token key's PKCS#11 URI */

struct token;

struct keystore_key {
	char	domain[KEYSTORE_DOMAIN_MAX + 1];
	char	selector[KEYSTORE_SELECTOR_MAX + 1];
	enum key_algorithm algorithm;
	enum key_state state;
	int	bits;		/* RSA modulus size, 256 for Ed25519; 0 until the key is read */
	time_t	created;	/* time of the "pending" transition */
	time_t	since[KEY_STATE_COUNT];	/* last transition to each state; 0: none */
	time_t	dns_match;	/* first seen matching in DNS by signet-keys check; 0: not */
	EVP_PKEY *pkey;		/* parsed private key: active keys, KEYSTORE_LOAD_PRIVATE only */
	char	uri[KEYSTORE_URI_MAX + 1];	/* PKCS#11 URI of a token key; "": a file key */
	struct token *token;	/* token keys, once keyload_private() found them: */
	unsigned long token_object;	/* ... the private key's object handle there */
};

struct keystore_error {
	char	text[512];
};

struct keystore;

#define KEYSTORE_LOAD_PRIVATE	0x01	/* parse private keys of active keys */

/* Reads the whole keystore; NULL and err filled on failure.  A missing directory is an
 * error; an empty one is a keystore with no keys. */
struct keystore *keystore_load(const char *dir, unsigned flags, struct keystore_error *err);
void	keystore_free(struct keystore *store);

/* All keys, sorted by domain then selector. */
size_t	keystore_count(const struct keystore *store);
const struct keystore_key *keystore_key_at(const struct keystore *store, size_t index);

/* For keyload.c only, before the store is shared: a key to complete with its token
 * object, and what keystore_free() must call to release the token (once). */
struct keystore_key *keystore_key_edit(struct keystore *store, size_t index);
void	keystore_set_release(struct keystore *store, void (*release)(void *), void *arg);

/* The active keys of a domain (case-insensitive, no trailing dot), at most max of them,
 * into out[]; returns how many there are in all.  The pointers live as long as store. */
size_t	keystore_find_active(const struct keystore *store, const char *domain,
	    const struct keystore_key **out, size_t max);

/* A keystore of the given keys' public facts (pkey NULL whatever the input holds): the
 * milter process's copy of the list the signer process sends it.  NULL, err filled, on
 * duplicates or memory. */
struct keystore *keystore_from_list(const struct keystore_key *keys, size_t count,
	    struct keystore_error *err);
/* The key DOMAIN/SELECTOR (exactly as stored: lower-case domain), or NULL. */
const struct keystore_key *keystore_find(const struct keystore *store, const char *domain,
	    const char *selector);

/* Names: "rsa-2048", "rsa-3072", "rsa-4096", "ed25519"; and "pending", "active", ... */
const char *keystore_algorithm_name(enum key_algorithm algorithm);
int	keystore_algorithm_parse(const char *name, enum key_algorithm *out);
/* The key size of an algorithm in bits: the RSA modulus, 256 for Ed25519. */
int	keystore_algorithm_bits(enum key_algorithm algorithm);
const char *keystore_state_name(enum key_state state);
int	keystore_state_parse(const char *name, enum key_state *out);

/* The DKIM a= value and the DNS k= value of an algorithm. */
const char *keystore_dkim_algorithm(enum key_algorithm algorithm);	/* rsa-sha256 ... */
const char *keystore_dns_key_type(enum key_algorithm algorithm);	/* rsa, ed25519 */

/* For signet-keys(8) and keystore-write.c; the daemon needs none of these. */

/* Fills err with one formatted sentence. */
void	keystore_error_set(struct keystore_error *err, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Writes the lower-case form of a domain name, without a trailing dot, into out[size];
 * 0 if it is a valid name (labels of [A-Za-z0-9-], at most KEYSTORE_DOMAIN_MAX), else -1. */
int	keystore_domain_normalize(const char *name, char *out, size_t size);
/* 1 if selector is dot-separated labels of [A-Za-z0-9_-], at most KEYSTORE_SELECTOR_MAX. */
int	keystore_selector_valid(const char *selector);

/* Parses exactly "YYYY-MM-DDTHH:MM:SSZ" (UTC); -1 if it is not that. */
int	keystore_parse_time(const char *s, time_t *out);

/* Reads and validates DIR/DOMAIN/SELECTOR.meta into key (bits 0, pkey NULL).  When text
 * is not NULL it receives the file's bytes (NUL-terminated, caller frees) and len their
 * number. */
int	keystore_read_meta(const char *dir, const char *domain, const char *selector,
	    struct keystore_key *key, char **text, size_t *len, struct keystore_error *err);
/* Reads DIR/DOMAIN/SELECTOR.key, refusing it unless it is a regular file of mode 0640 or
 * stricter that holds a key of the given algorithm.  NULL and err filled on failure. */
EVP_PKEY *keystore_read_private(const char *dir, const char *domain, const char *selector,
	    enum key_algorithm algorithm, struct keystore_error *err);

/* pem_password_cb that refuses: encrypted keys are errors, never a prompt. */
int	keystore_no_passphrase(char *buf, int size, int rwflag, void *u);

#endif
