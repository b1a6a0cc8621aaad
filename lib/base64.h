/*
 * NAME
 *	base64.h - base64 as DKIM writes it in signatures and key records
 * SYNOPSIS
 *	#include "lib/base64.h"
 *
 *	unsigned char sig[1024];
 *	size_t n;
 *	if (base64_decode(value.p, value.len, sig, sizeof(sig), &n))
 *		... n bytes in sig ...
 * DESCRIPTION
 *	RFC 6376 section 2.4, base64string: the alphabet of RFC 2045 section 6.8, with
 *	folding white space (SP, HTAB, CR, LF) allowed anywhere and ignored, and at most two
 *	'=' of padding at the end.  Without the white space the length must be a multiple
 *	of four: a value cut short is not base64.  Bits left over in the last character
 *	are ignored, as decoders commonly do.
 *
 *	base64_decode() returns 1 and the decoded length in *outlen when text is base64 and
 *	its bytes fit in size; 0 otherwise.  With out NULL it only checks, and *outlen says
 *	how many bytes the text holds.  An empty text is not base64 (DKIM never writes an
 *	empty value where it expects one; an empty p= means "revoked" and is looked at
 *	before).
 */
#ifndef SIGNET_BASE64_H
#define SIGNET_BASE64_H

#include <stddef.h>

int	base64_decode(const char *text, size_t len, unsigned char *out, size_t size,
	    size_t *outlen);

#endif
