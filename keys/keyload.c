/*
 * NAME
 *	keyload.c - the keystore with private keys, as the signer process needs it
 */
#include "keys/keyload.h"

struct keystore *keyload_private(const struct conf *conf, struct keystore_error *err)
{
	return keystore_load(conf->keystore, KEYSTORE_LOAD_PRIVATE, err);
}
