/*
 * NAME
 *	bodyhash.h - the body hashes a message's signatures ask for, each computed once
 * SYNOPSIS
 *	#include "milter/bodyhash.h"
 *
 *	struct bodyhash_set set;
 *	bodyhash_init(&set, max);
 *	long i = bodyhash_want(&set, &sig);		... per signature whose b= verified
 *	bodyhash_update(&set, data, len);		... per body chunk
 *	bodyhash_final(&set);
 *	result = bodyhash_judge(&set, i, &sig, reason, sizeof(reason));
 *	bodyhash_free(&set);
 * DESCRIPTION
 *	Signatures with the same body canonicalization and l= share one hash (canon.c with
 *	l= as its limit), so three relaxed signatures cost one pass over the body and a
 *	message with none costs nothing.  The DKIM verifier (verify.c) and the ARC
 *	validator (arcverify.c) both keep their body hashes so.
 *
 *	bodyhash_want() gives the index of the hash sig needs, made if need be; -1 when
 *	max hashes are made already or memory runs out (*nomem says which).
 *	bodyhash_judge() is the body half of RFC 6376 section 6.1.3 once the body has
 *	ended: VERIFY_PASS, VERIFY_FAIL (bh= differs) or VERIFY_PERMERROR (l= is more than
 *	the body), with the reason for the last two.
 */
#ifndef SIGNET_BODYHASH_H
#define SIGNET_BODYHASH_H

#include <stddef.h>

#include "milter/canon.h"
#include "milter/dkimsig.h"
#include "milter/verify.h"

struct bodyhash;

struct bodyhash_set {
	struct bodyhash *hashes;
	size_t	count;
	size_t	max;
	int	failed;			/* memory ran out while hashing */
};

void	bodyhash_init(struct bodyhash_set *set, size_t max);
long	bodyhash_want(struct bodyhash_set *set, const struct dkimsig *sig, int *nomem);
void	bodyhash_update(struct bodyhash_set *set, const unsigned char *data, size_t len);
/* 0 when a hash could not be computed (memory). */
int	bodyhash_final(struct bodyhash_set *set);
enum verify_result bodyhash_judge(const struct bodyhash_set *set, size_t index,
	    const struct dkimsig *sig, char *reason, size_t size);
void	bodyhash_free(struct bodyhash_set *set);

#endif
