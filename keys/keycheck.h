/*
 * NAME
 *	keycheck.h - look up a key's DKIM record in DNS and say whether it is the key
 * SYNOPSIS
 *	#include "keys/keycheck.h"
 * DESCRIPTION
 *	What "signet-keys check", "activate", "status" and "rotate --auto" ask of DNS,
 *	through Signet's one resolver (lib/dns.c): the TXT records at
 *	SELECTOR._domainkey.DOMAIN compared with the key (dkimrecord.c), the zone that holds
 *	a name (SOA queries up the tree), and the propagation rule:
 *
 *	    A record that matches is still "propagating" until max(TTL, negative TTL)
 *	    seconds after the time it was first seen matching.  TTL is the TTL of the
 *	    answer; the negative TTL is min(SOA TTL, SOA MINIMUM) of the zone (RFC 2308).
 *	    Until then a resolver that looked the name up before the record appeared may
 *	    still serve what it cached: NXDOMAIN (for up to the negative TTL) or an older
 *	    record at the same name (for up to its TTL, taken to be the current one).
 *
 *	The caller keeps the "first seen" time (the dns-match line of the key's .meta).
 * DIAGNOSTICS
 *	keycheck_new() fills err; the rest report through struct keycheck_result.
 */
#ifndef SIGNET_KEYCHECK_H
#define SIGNET_KEYCHECK_H

#include <stddef.h>
#include <time.h>

#include "conf/conf.h"
#include "keys/dkimrecord.h"

struct keycheck;

struct keycheck_result {
	enum dkimrecord_verdict verdict;
	char	detail[600];
	unsigned ttl;		/* of the TXT answer; 0 without one */
	unsigned negative_ttl;	/* of the zone, once the record matched; 0 if unknown */
	time_t	settled;	/* matches: when propagation is over (keycheck_propagation) */
};

/* servers: the forwarders to ask (count 0: /etc/resolv.conf). */
struct keycheck *keycheck_new(const struct nameserver *servers, size_t count, char *err,
	    size_t errlen);
void	keycheck_free(struct keycheck *kc);

/* Looks up SELECTOR._domainkey.DOMAIN and compares it with expected, a record as
 * keystore_dns_txt() makes it.  A match also fetches the zone's negative TTL. */
void	keycheck_record(struct keycheck *kc, const char *domain, const char *selector,
	    const char *expected, struct keycheck_result *out);

/* Applies the propagation rule to a matching result: first_seen is when the record was
 * first seen matching (0: now).  Turns DKIMREC_OK into DKIMREC_PROPAGATING while the
 * window lasts; sets out->settled either way. */
void	keycheck_propagation(struct keycheck_result *result, time_t first_seen, time_t now);

/* The zone holding name: the closest enclosing name with an SOA record, into
 * zone[size]; *soa_ttl is the TTL of that SOA.  -1 with err filled if none is found. */
int	keycheck_find_zone(struct keycheck *kc, const char *name, char *zone, size_t size,
	    unsigned *soa_ttl, unsigned *negative_ttl, char *err, size_t errlen);

/* Parses "IPv4", "IPv6", "IPv4@PORT" or "IPv6@PORT" (port default 53); -1 if invalid. */
int	keycheck_parse_server(const char *text, struct nameserver *out);

#endif
