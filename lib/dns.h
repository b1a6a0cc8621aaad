/*
 * NAME
 *	dns.h - the one resolver every check goes through (DKIM keys, SPF, DMARC)
 * SYNOPSIS
 *	#include "lib/dns.h"
 * DESCRIPTION
 *	A dns_resolver wraps libunbound: one per loaded configuration, shared by all threads,
 *	with one cache shared across messages and threads.  Every query has a timeout
 *	(DNSTimeout) and is charged to the message's dns_budget: a query count and a
 *	deadline; once either is spent, queries fail with DNS_BUDGET without being sent.
 *	Nameservers from the configuration are used as forwarders (IP@PORT); without them
 *	/etc/resolv.conf.  With a trust anchor file, answers are DNSSEC-validated and marked
 *	secure; a validation failure is DNS_BOGUS.
 *
 *	Only dns.c knows libunbound.  The raw reply packet is kept with each answer, for
 *	callers that want wire format (the tests of the resolver look at it).
 * DIAGNOSTICS
 *	dns_resolver_new() fills err with one sentence; queries return a status, never abort.
 */
#ifndef SIGNET_DNS_H
#define SIGNET_DNS_H

#include <stddef.h>
#include <time.h>

/* A forwarder from the configuration (conf/conf.c fills these in). */
struct nameserver {
	char	address[64];	/* numeric IPv4 or IPv6 */
	unsigned port;
};
/* RR types used by Signet. */
#define DNS_TYPE_A	1
#define DNS_TYPE_NS	2
#define DNS_TYPE_CNAME	5
#define DNS_TYPE_PTR	12
#define DNS_TYPE_MX	15
#define DNS_TYPE_TXT	16
#define DNS_TYPE_AAAA	28
#define DNS_TYPE_SPF	99

enum dns_status {
	DNS_OK,			/* at least one record of the type asked for */
	DNS_NODATA,		/* the name exists, with no record of that type */
	DNS_NXDOMAIN,		/* the name does not exist */
	DNS_TEMPFAIL,		/* SERVFAIL, REFUSED, timeout, network trouble */
	DNS_BOGUS,		/* DNSSEC validation failed */
	DNS_BUDGET,		/* the message's query count or time is spent: not sent */
	DNS_ERROR,		/* malformed name, out of memory */
};

struct dns_options {
	const struct nameserver *nameservers;	/* none: /etc/resolv.conf */
	size_t	nameserver_count;
	const char *trust_anchor_file;		/* NULL or "": no DNSSEC validation */
	unsigned query_timeout_ms;
};

struct dns_resolver;

struct dns_resolver *dns_resolver_new(const struct dns_options *options, char *err,
	    size_t errlen);
void	dns_resolver_free(struct dns_resolver *resolver);

/* Per message: at most max_queries queries, all within max_ms from now. */
struct dns_budget {
	unsigned queries_left;
	struct timespec deadline;	/* CLOCK_MONOTONIC */
	unsigned queries;		/* sent, for the log */
	unsigned timeouts;
	int	spent;			/* a query was refused, or cut short, for the budget */
};

void	dns_budget_init(struct dns_budget *budget, unsigned max_queries, unsigned max_ms);

struct dns_record {
	unsigned char *data;	/* RDATA, as on the wire */
	size_t	len;
};

struct dns_answer {
	enum dns_status status;
	int	rcode;
	int	secure;			/* DNSSEC-validated */
	unsigned ttl;
	size_t	count;
	struct dns_record *records;
	unsigned char *packet;		/* the whole reply, wire format; may be NULL */
	size_t	packet_len;
};

/* Queries name (no trailing dot needed) for rrtype.  Returns the status; *out is set
 * (caller frees with dns_answer_free) for every status but DNS_ERROR and DNS_BUDGET. */
enum dns_status dns_query(struct dns_resolver *resolver, struct dns_budget *budget,
	    const char *name, int rrtype, struct dns_answer **out);
void	dns_answer_free(struct dns_answer *answer);

/* TXT records of name, each record's character-strings joined into one string.  A record
 * holding a NUL byte is kept with its length, so callers can refuse it. */
struct dns_txt {
	size_t	count;
	char  **records;	/* NUL-terminated for convenience */
	size_t *lengths;
	int	secure;
};

enum dns_status dns_query_txt(struct dns_resolver *resolver, struct dns_budget *budget,
	    const char *name, struct dns_txt **out);
void	dns_txt_free(struct dns_txt *txt);

/* One TXT record's RDATA (len bytes) as text, its character-strings joined: 1 with the
 * text's length in *joined, and, when out is not NULL and size > *joined, the text in out,
 * NUL-terminated; 0 when the RDATA is malformed (a string runs past its end, or none). */
int	dns_txt_text(const unsigned char *rdata, size_t len, char *out, size_t size,
	    size_t *joined);

/* Counters since the resolver was made, for logs and metrics. */
struct dns_stats {
	unsigned long queries;
	unsigned long cache_hits;
	unsigned long timeouts;
	unsigned long failures;
};

void	dns_stats_get(struct dns_resolver *resolver, struct dns_stats *out);

const char *dns_status_name(enum dns_status status);

/*
 * Test seam, for the fuzzers only (tests/fuzz/): resolvers made while a source is set
 * start no libunbound and no thread, and take every answer from source(ctx, name,
 * rrtype, &result), which returns 0 with a result laid out as libunbound's (every part
 * from malloc(); dns.c frees it with ub_resolve_free()) or nonzero for a failed query.
 * Set it before making resolvers, NULL to go back to libunbound.
 */
struct ub_result;
typedef int dns_test_source(void *ctx, const char *name, int rrtype, struct ub_result **result);
void	dns_set_test_source(dns_test_source *source, void *ctx);

#endif
