/*
 * NAME
 *	sendermap.h - which From addresses each authenticated user may send as (SenderMap)
 * SYNOPSIS
 *	#include "milter/sendermap.h"
 *
 *	struct sendermap *map = sendermap_load("/etc/signet/senders", err, sizeof(err));
 *	if (map == NULL) ... err is "/etc/signet/senders:7: bad pattern "x@" ..." ...
 *	switch (sendermap_allows(map, auth_authen, from_address)) ...
 *	sendermap_free(map);
 * DESCRIPTION
 *	The SenderMap file has one line per user, "USER PATTERN...", words separated by
 *	blanks, '#' starting a comment:
 *
 *	    # USER             PATTERN...
 *	    bob@example.com    *@example.org  sales@example.com
 *	    carol              @example.net
 *	    news@example.com   *@*.example.com
 *
 *	A pattern is one of
 *	    LOCAL@DOMAIN	that address only (the local part compared byte for byte)
 *	    @DOMAIN, *@DOMAIN	any address at DOMAIN itself (not at its subdomains)
 *	    *@*.DOMAIN		any address at a subdomain of DOMAIN, at any depth
 *				(a.DOMAIN, b.a.DOMAIN), but not at DOMAIN itself: list
 *				both *@DOMAIN and *@*.DOMAIN for both
 *	Domains are compared without regard to case; a '*' anywhere else, an '@' in a local
 *	part, a domain that is not a valid host name (domain.h), or *@*.TLD (a whole
 *	top-level domain) is an error.  User names compare as mailuser.h says.
 *
 *	The default rule: a user without a line may send as any address at the domain of
 *	its user name (alice@example.com as *@example.com, not at its subdomains); a user
 *	name without a domain ("carol") matches nothing unless listed.  A user with a line
 *	gets only what the line lists, not the default as well: list its own domain there
 *	if it keeps it (so a line can also narrow a user, e.g. a role account to its one
 *	address).  A line without a pattern is an error, and so is a user on two lines
 *	(usertable.h: not merged) and a line for the user "*".
 *
 *	sendermap_allows() takes the user name as authenticated ({auth_authen}) and one
 *	mailbox of From as LOCAL@DOMAIN (mailuser.h: no quoted local part, no final dot);
 *	a From with several mailboxes is allowed when each one is.  A NULL map has no lines,
 *	so only the default rule applies.  The map is immutable once loaded, so any number of
 *	threads may consult it; a reload loads a new one.
 *
 *	Lookups are a binary search over the users sorted at load time (usertable.h) and a
 *	walk of that one user's patterns: a map of a million users costs about 20
 *	comparisons a message.
 * DIAGNOSTICS
 *	sendermap_load() returns NULL with the first error in err, as "PATH:LINE: message"
 *	(or "PATH: cannot open: ..."), for "signet -n" and the reload log.
 */
#ifndef SIGNET_SENDERMAP_H
#define SIGNET_SENDERMAP_H

#include <stddef.h>

enum sender_verdict {
	SENDER_LISTED,		/* a pattern on the user's line allows the address */
	SENDER_OWN_DOMAIN,	/* the default rule: the user has no line and the address
				 * is at the domain of the user name */
	SENDER_UNAUTHORIZED,	/* neither */
	SENDER_BAD_ADDRESS,	/* from_address is not LOCAL@DOMAIN */
};

struct sendermap;

struct sendermap *sendermap_load(const char *path, char *err, size_t errlen);
void	sendermap_free(struct sendermap *map);
size_t	sendermap_users(const struct sendermap *map);

enum sender_verdict sendermap_allows(const struct sendermap *map, const char *user,
	    const char *from_address);
/* 1 for SENDER_LISTED and SENDER_OWN_DOMAIN. */
int	sender_verdict_allowed(enum sender_verdict verdict);
/* "listed", "own domain", "not authorized", "not an address": for logs. */
const char *sender_verdict_text(enum sender_verdict verdict);

#endif
