/*
 * NAME
 *	mailuser.h - authenticated user names and mail addresses, normalized for comparison
 * SYNOPSIS
 *	#include "milter/mailuser.h"
 *
 *	char key[MAILUSER_MAX + 1];
 *	if (mailuser_key(auth_authen, key, sizeof(key))) ... look key up ...
 *	if (mailaddr_key(from_address, key, sizeof(key))) ... domain at mailuser_domain(key) ...
 * DESCRIPTION
 *	SenderMap and RateLimits both name users, and SenderMap names addresses; both
 *	compare them the same way, written down here once.  A domain is compared without
 *	regard to ASCII case (RFC 5321 section 2.4, RFC 1035 section 2.3.3); a local part, or
 *	a user name without a domain, byte for byte, since RFC 5321 section 2.4 leaves its
 *	case to the mailbox's own host and a login name is whatever the SASL database holds.
 *
 *	mailuser_key() is for user names ({auth_authen}): it copies the name with the part
 *	after its last '@' lower-cased when that part is a valid domain (domain.h); any other
 *	name is kept as it is, an opaque login.  It fails (0) only for an empty name, one
 *	over MAILUSER_MAX bytes, or one holding a blank, a control character or DEL.
 *
 *	mailaddr_key() is for addresses (a From mailbox, a SenderMap pattern): LOCAL@DOMAIN
 *	with a non-empty local part without '@', blanks or control characters, and a valid
 *	domain, which comes out lower-cased.  Quoted local parts are not supported.
 *
 *	mailuser_domain() is the domain of a key from either function, or NULL when it has
 *	none that is valid.
 */
#ifndef SIGNET_MAILUSER_H
#define SIGNET_MAILUSER_H

#include <stddef.h>

#define MAILUSER_MAX	320	/* bytes: RFC 5321's 64-byte local part, '@', 255-byte domain */

int	mailuser_key(const char *user, char *out, size_t size);
int	mailaddr_key(const char *address, char *out, size_t size);
const char *mailuser_domain(const char *key);

#endif
