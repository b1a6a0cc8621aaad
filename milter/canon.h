/*
 * NAME
 *	canon.h - DKIM canonicalization (RFC 6376 section 3.4) of header fields and bodies
 * SYNOPSIS
 *	#include "milter/canon.h"
 * DESCRIPTION
 *	The body canonicalizer is a push parser: body_canon_update() takes the body in chunks
 *	of any size, as the MTA hands them over, and hashes the canonical form with SHA-256
 *	without keeping the body.  Line ends may be CRLF or a bare LF (both end a line; the
 *	canonical form always uses CRLF).  body_canon_final() gives the 32-byte hash.  A
 *	limit (a verifier's l=) hashes only the start of the canonical body, which is
 *	counted whole all the same.
 *
 *	header_canon() writes the canonical form of one header field, given its name and its
 *	value as the MTA passed it (everything after the colon, folded lines joined by LF or
 *	CRLF), into a growing buffer.
 */
#ifndef SIGNET_CANON_H
#define SIGNET_CANON_H

#include <stddef.h>
#include <openssl/evp.h>

#include "conf/conf.h"
#include "lib/buffer.h"

#define CANON_HASH_LEN 32

struct body_canon;

struct body_canon *body_canon_new(enum canon_kind kind);
int	body_canon_update(struct body_canon *canon, const unsigned char *data, size_t len);
int	body_canon_final(struct body_canon *canon, unsigned char hash[CANON_HASH_LEN]);
void	body_canon_free(struct body_canon *canon);

/* A verifier's l= (RFC 6376 section 3.4.5): only the first limit bytes of the canonical
 * body are hashed.  Set it before the first body_canon_update(). */
void	body_canon_set_limit(struct body_canon *canon, unsigned long long limit);
/* The length of the whole canonical body, limit or not; final once body_canon_final()
 * has run. */
unsigned long long body_canon_length(const struct body_canon *canon);

/* Appends "name:value\r\n" in canonical form; with_crlf 0 leaves off the final CRLF (for the
 * DKIM-Signature header itself).  0 on allocation failure. */
int	header_canon(struct buffer *out, enum canon_kind kind, const char *name,
	    const char *value, int with_crlf);

#endif
