/*
 * NAME
 *	signerclient.h - the milter process's side of the signer: key lists and signatures
 * SYNOPSIS
 *	struct signer_client *c = signer_client_new(control, timeout, err, errlen);
 *	struct keystore *keys = signer_client_keys(c, 0, &ref, err, errlen);
 *	req.sign_digest = signer_sign_digest; req.sign_context = &ref;
 * DESCRIPTION
 *	The client holds the channels of the signer now running (received from the keeper
 *	over the control socket) and sends each request on one of them, at most one
 *	request per channel at a time.  A request not answered within the timeout makes the
 *	client ask the keeper to restart the signer and fail; a signer that exited fails
 *	the requests in flight at once; either way the next request takes the channels of
 *	the new signer as soon as the keeper has sent them.  Failures come back as one
 *	sentence in err, for the caller to log and handle per OnInternalError.
 *
 *	signer_client_keys() asks for the key list (reload: 1 asks the signer to read
 *	signet.conf and the keystore again first) and returns it as a keystore of public
 *	facts (no key material) with the generation it belongs to in *ref.
 */
#ifndef SIGNET_SIGNERCLIENT_H
#define SIGNET_SIGNERCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "keys/keystore.h"

struct signer_client;

/* A generation of the signer's keys, as a message uses it. */
struct signer_ref {
	struct signer_client *client;
	uint32_t epoch, generation;
};

/* Takes control (the keeper's socket); waits for the first signer.  NULL, err filled. */
struct signer_client *signer_client_new(int control, long timeout_seconds, char *err,
	    size_t errlen);
void	signer_client_free(struct signer_client *c);

struct keystore *signer_client_keys(struct signer_client *c, int reload,
	    struct signer_ref *ref, char *err, size_t errlen);
/* The milter no longer uses ref's generation (no reply awaited). */
void	signer_client_release(const struct signer_ref *ref);

/* A sign_digest_fn (milter/sign.h); context is a struct signer_ref. */
int	signer_sign_digest(void *context, const struct keystore_key *key,
	    const unsigned char digest[32], unsigned char sig[512], size_t *sig_len,
	    char *err, size_t errlen);

#endif
