/*
 * NAME
 *	queryresolver.h - the resolver of a conformance query program: one nameserver
 * SYNOPSIS
 *	#include "tests/conformance/queryresolver.h"
 *
 *	struct dns_resolver *dns = query_resolver(argv[1], argv[2], err, sizeof(err));
 * DESCRIPTION
 *	A dns_resolver that forwards to address@port only (the NSD a suite runner started),
 *	3 seconds a query; NULL with err saying why when the port is not a number from 1 to
 *	65535, the address too long, or the resolver not made.  spf-query and arc-query
 *	use it.
 */
#ifndef SIGNET_TESTS_QUERYRESOLVER_H
#define SIGNET_TESTS_QUERYRESOLVER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dns.h"

static inline struct dns_resolver *
query_resolver(const char *address, const char *port, char *err, size_t errlen)
{
	struct nameserver ns;
	struct dns_options opt;
	char *end;
	unsigned long n = strtoul(port, &end, 10);

	if (*port == '\0' || *end != '\0' || n == 0 || n > 65535 ||
	    (size_t)snprintf(ns.address, sizeof(ns.address), "%s", address) >=
	    sizeof(ns.address)) {
		snprintf(err, errlen, "bad nameserver %s@%s", address, port);
		return NULL;
	}
	ns.port = (unsigned)n;
	memset(&opt, 0, sizeof(opt));
	opt.nameservers = &ns;
	opt.nameserver_count = 1;
	opt.query_timeout_ms = 3000;
	return dns_resolver_new(&opt, err, errlen);
}

#endif
