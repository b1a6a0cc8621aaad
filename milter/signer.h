/*
 * NAME
 *	signer.h - the processes that hold the private keys: keeper and signer
 * SYNOPSIS
 *	int control = signer_spawn(conf_path, conf, err, sizeof(err));
 * DESCRIPTION
 *	signer_spawn() forks, while the daemon is still one thread and before any key is
 *	read, the keeper ("signet: keeper"), which becomes SignerUserID (default: the owner
 *	of Keystore) when started as root and then forks the signer ("signet: signer").
 *	The signer alone reads signet.conf's Keystore with its private keys
 *	(keyload_private) and answers the requests of signerproto.h, one thread per
 *	channel.  The keeper does nothing but start the signer again when it exits (at
 *	most once a second) or when the milter says it hung; it hands each new signer's
 *	channels to the milter process over the control socket (SCM_RIGHTS).
 *	Both end when the milter process does (end of file on their sockets); they ignore
 *	SIGTERM, so that a stop lets the milter's messages in flight still be signed.
 *
 *	Returns the milter's end of the control socket, or -1 with err filled.
 *	signer_serve_channel() is the signer's loop over one channel, for the unit test.
 */
#ifndef SIGNET_SIGNER_H
#define SIGNET_SIGNER_H

#include <stddef.h>
#include <sys/types.h>

#include "conf/conf.h"

#define SIGNER_CHANNELS	4	/* channels per signer life: requests at once */

int	signer_spawn(const char *conf_path, const struct conf *conf, char *err, size_t errlen);

/* The keeper's message to the milter: a signer's channels (SCM_RIGHTS) and its pid;
 * 1 when sent.  The unit test plays the keeper with it. */
int	signer_send_channels(int control, const int fds[SIGNER_CHANNELS], pid_t pid);

/* The signer's state, and one channel's loop (returns at end of file). */
struct signer_state;
struct signer_state *signer_state_new(const char *conf_path);
void	signer_state_free(struct signer_state *st);
void	signer_serve_channel(struct signer_state *st, int fd);

#endif
