/*
 * NAME
 *	addrlist.h - lists of IPv4/IPv6 addresses and CIDR blocks (InternalHosts)
 * SYNOPSIS
 *	#include "conf/addrlist.h"
 * DESCRIPTION
 *	addrlist_parse() reads "127.0.0.1, ::1, 10.0.0.0/8, 2001:db8::/32" (commas and/or
 *	blanks between entries).  addrlist_contains() answers whether a client address is in
 *	the list; an IPv4-mapped IPv6 address (::ffff:192.0.2.1) matches IPv4 entries.
 * DIAGNOSTICS
 *	addrlist_parse() returns NULL and a sentence in err naming the bad entry.
 */
#ifndef SIGNET_ADDRLIST_H
#define SIGNET_ADDRLIST_H

#include <stddef.h>
#include <sys/socket.h>

struct addrlist;

struct addrlist *addrlist_parse(const char *text, char *err, size_t errlen);
void	addrlist_free(struct addrlist *list);
size_t	addrlist_count(const struct addrlist *list);

/* sa may be NULL (unknown client): never in the list. */
int	addrlist_contains(const struct addrlist *list, const struct sockaddr *sa);

/* The same for a textual address; 0 when the text is not an address. */
int	addrlist_contains_text(const struct addrlist *list, const char *address);

#endif
