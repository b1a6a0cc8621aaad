/*
 * NAME
 *	keystore-meta.h - the .meta parser, shared by the key store's reading and writing
 *	halves
 * SYNOPSIS
 *	#include "keys/keystore-meta.h"
 * DESCRIPTION
 *	keystore_meta_parse() fills key->algorithm, state, created, since[] and dns_match
 *	from the text of a .meta file; path is only for messages.  Not for the daemon: it
 *	calls keystore_load().
 * DIAGNOSTICS
 *	-1 with err holding "PATH:LINE: what is wrong".
 */
#ifndef SIGNET_KEYSTORE_META_H
#define SIGNET_KEYSTORE_META_H

#include <stddef.h>

#include "keys/keystore.h"

int	keystore_meta_parse(const char *path, const char *text, size_t len,
	    struct keystore_key *key, struct keystore_error *err);

#endif
