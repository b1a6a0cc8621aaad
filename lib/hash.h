/*
 * NAME
 *	hash.h - FNV-1a, the one non-cryptographic hash of Signet's tables
 * SYNOPSIS
 *	#include "lib/hash.h"
 *
 *	size_t slot = hash_fnv1a64(HASH_FNV1A64_INIT, key, strlen(key)) % SLOTS;
 * DESCRIPTION
 *	Fowler-Noll-Vo 1a (draft-eastlake-fnv): fast, byte at a time, well spread for short
 *	keys such as names and addresses.  It is not keyed and not collision resistant: use
 *	it where the keys are not chosen by a stranger (DNS names we looked up, authenticated
 *	user names), or where a collision costs only a little speed or a cache entry.
 *	Passing a previous result as h hashes a key made of several parts.  The 64-bit form
 *	alone: its low bits index a table as well as the 32-bit form's would, and it also
 *	serves where a hash stands for a key and must rarely collide.
 */
#ifndef SIGNET_HASH_H
#define SIGNET_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV1A64_INIT	14695981039346656037u

static inline uint64_t hash_fnv1a64(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211u;
	}
	return h;
}

#endif
