/*
 * NAME
 *	keyload.h - load the keystore with its private keys, for the signer process only
 * SYNOPSIS
 *	#include "keys/keyload.h"
 * DESCRIPTION
 *	keyload_private() reads conf->keystore with every active key ready for
 *	keysign_digest(): file keys parsed into an EVP_PKEY, token keys (PKCS#11) found on
 *	the token that the configuration names.  Only the signer process calls it (and
 *	signet -n, to check); the milter process never does.
 */
#ifndef SIGNET_KEYLOAD_H
#define SIGNET_KEYLOAD_H

#include "conf/conf.h"
#include "keys/keystore.h"

struct keystore *keyload_private(const struct conf *conf, struct keystore_error *err);

#endif
