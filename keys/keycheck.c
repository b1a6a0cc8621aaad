/*
 * NAME
 *	keycheck.c - look up a key's DKIM record in DNS and say whether it is the key
 * SYNOPSIS
 *	#include "keys/keycheck.h"
 *
 *	struct keycheck *keycheck_new(const struct nameserver *servers, size_t count,
 *	    char *err, size_t errlen);
 *	void keycheck_record(struct keycheck *kc, const char *domain, const char *selector,
 *	    const char *expected, struct keycheck_result *out);
 *	void keycheck_propagation(struct keycheck_result *result, time_t first_seen,
 *	    time_t now);
 * DESCRIPTION
 *	Queries go through lib/dns.c, so signet-keys sees DNS as the daemon's verifier
 *	side does (same forwarders, same libunbound).  The TXT RDATA is split into its
 *	character-strings here rather than with dns_query_txt() because the check needs
 *	the answer's TTL as well.  A record's strings are joined without separator, as
 *	verifiers do (RFC 6376 section 3.6.2.2).
 *
 *	The zone of a name is found by asking for the SOA of the name, then of each
 *	parent, until one answers with an SOA record.  Its last 4 RDATA bytes are the
 *	MINIMUM field, whatever the lengths of MNAME and RNAME before it.
 * SEE ALSO
 *	keycheck.h (the propagation rule), dkimrecord.c, lib/dns.c, RFC 2308
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/keycheck.h"
#include "lib/dns.h"

#define DNS_TYPE_SOA	6
#define QUERY_TIMEOUT_MS 5000
#define NAME_MAX_TEXT	300

struct keycheck {
	struct dns_resolver *resolver;
};

struct keycheck *
keycheck_new(const struct nameserver *servers, size_t count, char *err, size_t errlen)
{
	struct keycheck *kc = calloc(1, sizeof(*kc));
	struct dns_options opt = {
		.nameservers = servers,
		.nameserver_count = count,
		.query_timeout_ms = QUERY_TIMEOUT_MS,
	};

	if (kc == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((kc->resolver = dns_resolver_new(&opt, err, errlen)) == NULL) {
		free(kc);
		return NULL;
	}
	return kc;
}

void
keycheck_free(struct keycheck *kc)
{
	if (kc == NULL)
		return;
	dns_resolver_free(kc->resolver);
	free(kc);
}

int
keycheck_parse_server(const char *text, struct nameserver *out)
{
	unsigned char probe[16];
	const char *at = strchr(text, '@');
	size_t len = at != NULL ? (size_t)(at - text) : strlen(text);
	char *end;
	long port = 53;

	if (len == 0 || len >= sizeof(out->address))
		return -1;
	memcpy(out->address, text, len);
	out->address[len] = '\0';
	if (inet_pton(AF_INET, out->address, probe) != 1
	    && inet_pton(AF_INET6, out->address, probe) != 1)
		return -1;
	if (at != NULL) {
		errno = 0;
		port = strtol(at + 1, &end, 10);
		if (end == at + 1 || *end != '\0' || errno != 0 || port < 1 || port > 65535)
			return -1;
	}
	out->port = (unsigned)port;
	return 0;
}

/* ---- TXT records ------------------------------------------------------------------- */

struct txt_set {
	char  **records;
	size_t *lengths;
	size_t	count;
};

static void
txt_set_free(struct txt_set *set)
{
	size_t i;

	for (i = 0; i < set->count; i++)
		free(set->records[i]);
	free(set->records);
	free(set->lengths);
}

/* Joins the character-strings of one TXT RDATA; -1 if a length runs past the end. */
static int
txt_join(const unsigned char *data, size_t len, char **out, size_t *outlen)
{
	size_t at = 0, o = 0, n;
	char *text = malloc(len + 1);

	if (text == NULL)
		return -1;
	while (at < len) {
		n = data[at++];
		if (n > len - at) {
			free(text);
			return -1;
		}
		memcpy(text + o, data + at, n);
		o += n;
		at += n;
	}
	text[o] = '\0';
	*out = text;
	*outlen = o;
	return 0;
}

static int
txt_set_from_answer(const struct dns_answer *a, struct txt_set *set)
{
	size_t i;

	set->count = 0;
	set->records = calloc(a->count, sizeof(*set->records));
	set->lengths = calloc(a->count, sizeof(*set->lengths));
	if (set->records == NULL || set->lengths == NULL)
		return -1;
	for (i = 0; i < a->count; i++) {
		if (txt_join(a->records[i].data, a->records[i].len, &set->records[i],
		    &set->lengths[i]) < 0)
			return -1;
		set->count++;
	}
	return 0;
}

/* ---- zones ------------------------------------------------------------------------- */

static unsigned
get32(const unsigned char *p)
{
	return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
}

int
keycheck_find_zone(struct keycheck *kc, const char *name, char *zone, size_t size,
    unsigned *soa_ttl, unsigned *negative_ttl, char *err, size_t errlen)
{
	const char *at = name;
	struct dns_answer *a;
	enum dns_status st;

	while (at != NULL && *at != '\0') {
		st = dns_query(kc->resolver, NULL, at, DNS_TYPE_SOA, &a);
		if (st == DNS_OK && a->count > 0 && a->records[0].len >= 22) {
			unsigned minimum = get32(a->records[0].data + a->records[0].len - 4);

			*soa_ttl = a->ttl;
			*negative_ttl = a->ttl < minimum ? a->ttl : minimum;
			dns_answer_free(a);
			if ((size_t)snprintf(zone, size, "%s", at) >= size) {
				snprintf(err, errlen, "zone name too long");
				return -1;
			}
			return 0;
		}
		dns_answer_free(a);
		if (st != DNS_OK && st != DNS_NODATA && st != DNS_NXDOMAIN) {
			snprintf(err, errlen, "SOA query for %s failed (%s)", at,
			    dns_status_name(st));
			return -1;
		}
		if ((at = strchr(at, '.')) != NULL)
			at++;
	}
	snprintf(err, errlen, "no SOA record found above %s", name);
	return -1;
}

/* ---- checking a record ------------------------------------------------------------- */

static void
fetch_negative_ttl(struct keycheck *kc, const char *name, struct keycheck_result *out)
{
	char zone[NAME_MAX_TEXT], err[256];
	unsigned soa_ttl;

	if (keycheck_find_zone(kc, name, zone, sizeof(zone), &soa_ttl, &out->negative_ttl,
	    err, sizeof(err)) < 0)
		out->negative_ttl = 0;
}

static void
compare_answer(const struct dns_answer *a, const char *expected, struct keycheck_result *out)
{
	struct txt_set set = { 0 };

	if (txt_set_from_answer(a, &set) < 0) {
		out->verdict = DKIMREC_MALFORMED;
		snprintf(out->detail, sizeof(out->detail), "a TXT record is not well formed "
		    "(or memory ran out reading it)");
	} else {
		out->verdict = dkimrecord_compare(set.records, set.lengths, set.count, expected,
		    out->detail, sizeof(out->detail));
	}
	txt_set_free(&set);
}

void
keycheck_record(struct keycheck *kc, const char *domain, const char *selector,
    const char *expected, struct keycheck_result *out)
{
	char name[NAME_MAX_TEXT];
	struct dns_answer *a = NULL;
	enum dns_status st;

	memset(out, 0, sizeof(*out));
	snprintf(name, sizeof(name), "%s._domainkey.%s", selector, domain);
	st = dns_query(kc->resolver, NULL, name, DNS_TYPE_TXT, &a);
	if (a != NULL)
		out->ttl = a->ttl;
	switch (st) {
	case DNS_OK:
		compare_answer(a, expected, out);
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		out->verdict = DKIMREC_MISSING;
		snprintf(out->detail, sizeof(out->detail), "%s; publish the record that "
		    "\"signet-keys dns %s %s\" prints", st == DNS_NXDOMAIN ? "no such name "
		    "(NXDOMAIN)" : "the name has no TXT record (NODATA)", domain, selector);
		break;
	default:
		out->verdict = DKIMREC_DNS_FAILURE;
		snprintf(out->detail, sizeof(out->detail), "the lookup failed (%s, rcode %d); "
		    "try again later", dns_status_name(st), a != NULL ? a->rcode : -1);
		break;
	}
	dns_answer_free(a);
	if (out->verdict == DKIMREC_OK)
		fetch_negative_ttl(kc, name, out);
}

void
keycheck_propagation(struct keycheck_result *r, time_t first_seen, time_t now)
{
	unsigned window = r->ttl > r->negative_ttl ? r->ttl : r->negative_ttl;
	char seen[32], until[32];
	struct tm tm;

	if (r->verdict != DKIMREC_OK)
		return;
	if (first_seen == 0 || first_seen > now)
		first_seen = now;
	r->settled = first_seen + (time_t)window;
	if (now >= r->settled)
		return;
	gmtime_r(&first_seen, &tm);
	strftime(seen, sizeof(seen), "%Y-%m-%dT%H:%M:%SZ", &tm);
	gmtime_r(&r->settled, &tm);
	strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
	r->verdict = DKIMREC_PROPAGATING;
	snprintf(r->detail, sizeof(r->detail), "the record matches, but resolvers that "
	    "cached the name before it was first seen matching (%s) may serve their older "
	    "answer until %s (TTL %u s, negative TTL %u s); check again after that", seen,
	    until, r->ttl, r->negative_ttl);
}
