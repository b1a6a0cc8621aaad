/*
 * NAME
 *	dnscache.h - DNS answers as single allocations, and the TTL cache of them
 * SYNOPSIS
 *	#include "lib/dnscache.h"	(dns.c only)
 * DESCRIPTION
 *	Internal to the resolver: dns.c builds answers with dns_answer_alloc() and keeps
 *	copies in a dns_cache; nothing else includes this header.  dns_answer_free() is
 *	declared in dns.h and defined in dnscache.c, where answers are laid out.
 *
 *	Cache keys are names already checked and lower-cased by dns.c, at most
 *	DNS_NAME_MAX_LEN characters.  The cache is safe to use from any thread.
 */
#ifndef SIGNET_DNSCACHE_H
#define SIGNET_DNSCACHE_H

#include <stddef.h>

#include "lib/dns.h"

#define DNS_NAME_MAX_LEN 253	/* presentation form, without the trailing dot */

/* One allocation: the structure, count records, packet_len bytes of packet, then
 * data_len bytes for the records' data, which the caller fills from *data.  NULL when
 * out of memory or the sizes overflow. */
struct dns_answer *dns_answer_alloc(size_t count, size_t data_len, size_t packet_len,
	    unsigned char **data);
/* An answer without records or packet; NULL when out of memory. */
struct dns_answer *dns_answer_empty(enum dns_status status, int rcode);

struct dns_cache;

struct dns_cache *dns_cache_new(void);
void	dns_cache_free(struct dns_cache *cache);
/* A copy of the cached answer for (key, rrtype), its ttl counting down; NULL: a miss. */
struct dns_answer *dns_cache_get(struct dns_cache *cache, const char *key, int rrtype);
/* Keeps a copy of a when it is worth keeping (see dnscache.c); never fails visibly. */
void	dns_cache_put(struct dns_cache *cache, const char *key, int rrtype,
	    const struct dns_answer *a);

#endif
