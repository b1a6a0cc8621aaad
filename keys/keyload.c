/*
 * NAME
 *	keyload.c - the keystore with private keys, as the signer process needs it
 * SYNOPSIS
 *	#include "keys/keyload.h"
 *
 *	struct keystore *keyload_private(const struct conf *conf,
 *	    struct keystore_error *err);
 * DESCRIPTION
 *	Reads the keystore with its file keys parsed (keystore_load), then, when
 *	PKCS11Module is set, opens the token (token_open: module, label, PIN file) and finds
 *	the private key of every active token key on it.  The store holds one reference to
 *	the open token and drops it when it is freed, so a reload's new store and the
 *	running one share the login (token.c says why they must).
 *
 *	The token is opened even when no key is on it yet, so that a wrong PIN or a
 *	missing token shows at start-up, not at the first "activate".
 * DIAGNOSTICS
 *	NULL with err holding one sentence that names the setting or the key at fault; the
 *	caller keeps the keys it runs with.
 */
#include <stdio.h>

#include "keys/keyload.h"
#include "keys/token.h"

static void
release_token(void *tok)
{
	token_close(tok);
}

/* An active token key without PKCS11Module cannot sign. */
static int
check_no_token_keys(const struct keystore *store, struct keystore_error *err)
{
	const struct keystore_key *k;
	size_t i;

	for (i = 0; i < keystore_count(store); i++) {
		k = keystore_key_at(store, i);
		if (k->state == KEY_STATE_ACTIVE && k->uri[0] != '\0') {
			keystore_error_set(err, "key %s/%s is on a PKCS#11 token (%s), but "
			    "PKCS11Module is not set", k->domain, k->selector, k->uri);
			return -1;
		}
	}
	return 0;
}

static int
resolve(struct keystore *store, struct token *tok, struct keystore_error *err)
{
	struct keystore_key *k;
	char why[512];
	size_t i;

	for (i = 0; i < keystore_count(store); i++) {
		k = keystore_key_edit(store, i);
		if (k->state != KEY_STATE_ACTIVE || k->uri[0] == '\0')
			continue;
		if (token_find_private(tok, k->uri, k->algorithm, &k->token_object, &k->bits,
		    why, sizeof(why)) < 0) {
			keystore_error_set(err, "key %s/%s: %s", k->domain, k->selector, why);
			return -1;
		}
		k->token = tok;
	}
	return 0;
}

struct keystore *keyload_private(const struct conf *conf, struct keystore_error *err)
{
	struct keystore *store;
	struct token *tok;
	char why[512];

	if ((store = keystore_load(conf->keystore, KEYSTORE_LOAD_PRIVATE, err)) == NULL)
		return NULL;
	if (conf->pkcs11_module == NULL || conf->pkcs11_module[0] == '\0') {
		if (check_no_token_keys(store, err) == 0)
			return store;
		keystore_free(store);
		return NULL;
	}
	if ((tok = token_open(conf, why, sizeof(why))) == NULL) {
		keystore_error_set(err, "%s", why);
		keystore_free(store);
		return NULL;
	}
	keystore_set_release(store, release_token, tok);
	if (resolve(store, tok, err) < 0) {
		keystore_free(store);
		return NULL;
	}
	return store;
}
