/*
 * NAME
 *	archash.h - the header hash of an ARC-Seal (RFC 8617 section 5.1.1)
 * SYNOPSIS
 *	#include "milter/archash.h"
 *
 *	unsigned char digest[ARCHASH_LEN];
 *	if (archash_seal(names, values, count, drop, digest))
 *		... sign or verify digest ...
 * DESCRIPTION
 *	An ARC-Seal of instance k signs the ARC Sets 1 to k: for each instance in
 *	increasing order its ARC-Authentication-Results, ARC-Message-Signature and ARC-Seal
 *	fields, always with relaxed header canonicalization, the seal being signed or
 *	checked last, its b= value removed and without the final CRLF (RFC 6376 section
 *	3.7).  archash_seal() takes those 3k fields in that order (name, and value as the
 *	MTA passed it) and drop, the bytes of the last value that are b='s value (what
 *	dkimsig.c calls b_from and b_to), and gives the SHA-256 digest; 0 on failure
 *	(memory).  The validator (arcverify.c) checks seals with it; a sealer signs with it
 *	(for a new seal, b= written empty: drop is then an empty range).
 */
#ifndef SIGNET_ARCHASH_H
#define SIGNET_ARCHASH_H

#include <stddef.h>

#define ARCHASH_LEN	32

int	archash_seal(const char *const *names, const char *const *values, size_t count,
	    const size_t drop[2], unsigned char digest[ARCHASH_LEN]);

#endif
