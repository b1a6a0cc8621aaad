/*
 * NAME
 *	fuzz-dns.h - resolver answers made from fuzz input, through dns.c's test seam
 * SYNOPSIS
 *	#include "tests/fuzz/fuzz-dns.h"
 * DESCRIPTION
 *	fuzz_dns_result() lays out a ub_result as libunbound does (every part from malloc,
 *	for ub_resolve_free()), with the records' RDATA and a reply packet holding them, for
 *	a dns_test_source (lib/dns.h).  fuzz_dns_run() is the DNS answer target: see
 *	fuzz-dns.c.
 */
#ifndef SIGNET_FUZZ_DNS_H
#define SIGNET_FUZZ_DNS_H

#include <stddef.h>
#include <stdint.h>

struct ub_result;

/* rcode 0 with count 0 is NODATA; NULL when out of memory. */
struct ub_result *fuzz_dns_result(const char *name, int rrtype, int rcode, unsigned ttl,
	    const unsigned char *const *rdata, const size_t *rdlen, size_t count);
int	fuzz_dns_run(const uint8_t *data, size_t len);

#endif
