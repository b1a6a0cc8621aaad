/*
 * NAME
 *	fuzz-dns - our handling of resolver answers, fed answers made from fuzz input
 * SYNOPSIS
 *	fuzz_dns_run(data, len)		(a target of fuzz-parsers.c)
 * DESCRIPTION
 *	libunbound parses the reply packets; what Signet does with its result is ours:
 *	dns.c's copy of it into a dns_answer (answer_from_result), the cache's copies
 *	(dnscache.c), the joining of TXT character-strings (dns_query_txt), and spfdns.c's
 *	conversion of A, AAAA, MX, PTR and TXT records for libspf2, with the RFC 7208
 *	limits, and DMARC's policy discovery.  dns.c's test seam (dns_set_test_source)
 *	makes a resolver without libunbound whose every query is answered from the input,
 *	in the order the queries come:
 *
 *	    per answer: FLAGS TTL COUNT, then COUNT times LEN and LEN bytes of RDATA
 *	    FLAGS & 3: 0 records (NODATA when COUNT is 0), 1 NODATA, 2 NXDOMAIN, 3 SERVFAIL;
 *	    FLAGS & 4: secure; FLAGS & 0x38 == 0x38: bogus.  COUNT is taken modulo 16.
 *	    When the input is spent every further query gets NXDOMAIN.
 *
 *	A fresh resolver (so a fresh cache) per input.  The queries: the TXT records of
 *	fuzz.example twice, raw, then joined; an SPF check of MAIL FROM a@fuzz.example
 *	from 192.0.2.1 and one from 2001:db8::1; DMARC for mail.fuzz.example.
 *
 *	Invariants beyond "no crash": an answer the cache kept comes back from it with the
 *	same records and packet and no longer TTL; dns_query_txt() joins a record to the
 *	concatenation of its character-strings, NUL-terminated (an independent count); an
 *	SPF check always ends in an outcome whose reason is fit for an
 *	Authentication-Results comment (printable ASCII, no parentheses or backslashes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unbound.h>

#include "lib/dns.h"
#include "lib/dmarc.h"
#include "milter/spfcheck.h"
#include "tests/fuzz/fuzz-dns.h"

#define MAX_RECORDS 16

/* ---- ub_results as libunbound lays them out --------------------------------------- */

static size_t name_wire(const char *name, unsigned char *out, size_t size)
{
	size_t	n = 0;

	while (*name != '\0') {
		size_t	label = strcspn(name, ".");

		if (label == 0 || label > 63 || n + label + 2 > size)
			return 0;
		out[n++] = (unsigned char)label;
		memcpy(out + n, name, label);
		n += label;
		name += label + (name[label] == '.');
	}
	if (n + 1 > size)
		return 0;
	out[n++] = 0;
	return n;
}

/* The reply packet: header, question, one answer RR per record (owner: a pointer to the
 * question).  NULL when out of memory or the name is not one. */
static unsigned char *make_packet(const char *name, int rrtype, int rcode, unsigned ttl,
    const unsigned char *const *rdata, const size_t *rdlen, size_t count, size_t *len)
{
	unsigned char qname[256], *p, *w;
	size_t	qlen = name_wire(name, qname, sizeof(qname)), size = 12 + qlen + 4;

	if (qlen == 0)
		return NULL;
	for (size_t i = 0; i < count; i++)
		size += 12 + rdlen[i];
	if ((p = w = malloc(size)) == NULL)
		return NULL;
	*w++ = 0; *w++ = 0;					/* id */
	*w++ = 0x81; *w++ = (unsigned char)(0x80 | rcode);	/* QR RD, RA rcode */
	*w++ = 0; *w++ = 1;					/* one question */
	*w++ = (unsigned char)(count >> 8); *w++ = (unsigned char)count;
	memset(w, 0, 4);
	w += 4;
	memcpy(w, qname, qlen);
	w += qlen;
	*w++ = (unsigned char)(rrtype >> 8); *w++ = (unsigned char)rrtype;
	*w++ = 0; *w++ = 1;					/* IN */
	for (size_t i = 0; i < count; i++) {
		*w++ = 0xc0; *w++ = 12;
		*w++ = (unsigned char)(rrtype >> 8); *w++ = (unsigned char)rrtype;
		*w++ = 0; *w++ = 1;
		*w++ = (unsigned char)(ttl >> 24); *w++ = (unsigned char)(ttl >> 16);
		*w++ = (unsigned char)(ttl >> 8); *w++ = (unsigned char)ttl;
		*w++ = (unsigned char)(rdlen[i] >> 8); *w++ = (unsigned char)rdlen[i];
		memcpy(w, rdata[i], rdlen[i]);
		w += rdlen[i];
	}
	*len = size;
	return p;
}

struct ub_result *fuzz_dns_result(const char *name, int rrtype, int rcode, unsigned ttl,
    const unsigned char *const *rdata, const size_t *rdlen, size_t count)
{
	struct ub_result *r = calloc(1, sizeof(*r));
	size_t	plen = 0;
	int	ok = r != NULL;

	if (!ok)
		return NULL;
	r->qname = strdup(name);
	r->qtype = rrtype;
	r->qclass = 1;
	r->rcode = rcode;
	r->ttl = (int)ttl;
	r->nxdomain = rcode == 3;
	r->havedata = rcode == 0 && count > 0;
	r->data = calloc(count + 1, sizeof(char *));
	r->len = calloc(count + 1, sizeof(int));
	ok = r->qname != NULL && r->data != NULL && r->len != NULL;
	for (size_t i = 0; ok && i < count; i++) {
		/* libunbound gives each record its own allocation, never empty */
		if ((r->data[i] = malloc(rdlen[i] ? rdlen[i] : 1)) == NULL)
			ok = 0;
		else
			memcpy(r->data[i], rdata[i], rdlen[i]);
		r->len[i] = (int)rdlen[i];
	}
	if (ok && (r->answer_packet = make_packet(name, rrtype, rcode, ttl, rdata, rdlen,
	    count, &plen)) != NULL)
		r->answer_len = (int)plen;
	if (!ok) {
		ub_resolve_free(r);
		return NULL;
	}
	return r;
}

/* ---- answers from the input --------------------------------------------------------- */

struct script {
	const uint8_t *p;
	size_t	left;
	unsigned queries;
};

static int next_byte(struct script *s)
{
	if (s->left == 0)
		return -1;
	s->left--;
	return *s->p++;
}

static int answer_from_input(void *ctx, const char *name, int rrtype,
    struct ub_result **result)
{
	struct script *s = ctx;
	const unsigned char *rdata[MAX_RECORDS];
	size_t	rdlen[MAX_RECORDS], count = 0;
	int	flags = next_byte(s), ttl = next_byte(s), n = next_byte(s), rcode;

	s->queries++;
	if (flags < 0 || ttl < 0 || n < 0) {
		*result = fuzz_dns_result(name, rrtype, 3, 0, NULL, NULL, 0);
		return *result == NULL;
	}
	for (int i = 0; i < n % MAX_RECORDS; i++) {
		int	len = next_byte(s);

		if (len < 0)
			break;
		rdlen[count] = (size_t)len < s->left ? (size_t)len : s->left;
		rdata[count++] = s->p;
		s->p += rdlen[count - 1];
		s->left -= rdlen[count - 1];
	}
	rcode = (flags & 3) == 2 ? 3 : (flags & 3) == 3 ? 2 : 0;
	if ((flags & 3) != 0)
		count = 0;
	*result = fuzz_dns_result(name, rrtype, rcode, (unsigned)ttl, rdata, rdlen, count);
	if (*result != NULL) {
		(*result)->secure = (flags & 4) != 0;
		(*result)->bogus = (flags & 0x38) == 0x38;
	}
	return *result == NULL;
}

/* ---- the target --------------------------------------------------------------------- */

static int same_answer(const struct dns_answer *a, const struct dns_answer *b)
{
	if (a->status != b->status || a->count != b->count || a->secure != b->secure ||
	    b->ttl > a->ttl || a->packet_len != b->packet_len ||
	    (a->packet_len && memcmp(a->packet, b->packet, a->packet_len) != 0))
		return 0;
	for (size_t i = 0; i < a->count; i++)
		if (a->records[i].len != b->records[i].len ||
		    (a->records[i].len &&
		     memcmp(a->records[i].data, b->records[i].data, a->records[i].len) != 0))
			return 0;
	return 1;
}

/* The character-strings of one TXT RDATA, counted again here; -1 when malformed. */
static long joined_length(const unsigned char *p, size_t len)
{
	long	total = 0;
	size_t	off = 0;

	if (len == 0)
		return -1;
	while (off < len) {
		size_t	n = p[off];

		if (off + 1 + n > len)
			return -1;
		total += (long)n;
		off += 1 + n;
	}
	return total;
}

/* dns_query_txt() agrees with the cached answer a, record by record. */
static int txt_joined_right(struct dns_resolver *r, const struct dns_answer *a)
{
	struct dns_txt *txt = NULL;
	enum dns_status st = dns_query_txt(r, NULL, "fuzz.example", &txt);
	int	malformed = 0, ok;

	for (size_t i = 0; i < a->count; i++)
		malformed |= joined_length(a->records[i].data, a->records[i].len) < 0;
	if (malformed || a->status != DNS_OK)
		ok = txt == NULL && st != DNS_OK;
	else
		ok = txt != NULL && txt->count == a->count;
	for (size_t i = 0; ok && txt != NULL && i < txt->count; i++) {
		const unsigned char *p = a->records[i].data;
		size_t	off = 0, at = 0;

		ok = (long)txt->lengths[i] == joined_length(p, a->records[i].len) &&
		    txt->records[i][txt->lengths[i]] == '\0';
		while (ok && off < a->records[i].len) {
			ok = memcmp(txt->records[i] + at, p + off + 1, p[off]) == 0;
			at += p[off];
			off += 1 + p[off];
		}
	}
	dns_txt_free(txt);
	return ok;
}

static int reason_fit(const char *reason)
{
	for (const char *c = reason; *c != '\0'; c++)
		if (*c < 0x20 || *c > 0x7e || *c == '(' || *c == ')' || *c == '\\')
			return 0;
	return 1;
}

int	fuzz_dns_run(const uint8_t *data, size_t len)
{
	struct script script = {data, len, 0};
	struct dns_options options = {0};
	struct dns_resolver *r;
	struct dns_answer *a1 = NULL, *a2 = NULL;
	struct spfcheck_outcome out;
	struct dns_budget budget;
	struct dmarc_dns dd;
	struct dmarc_input in = {"mail.fuzz.example", "fuzz.example", 1, NULL, 0, 0};
	struct dmarc_verdict verdict;
	char	err[256];
	enum dns_status st;
	int	ok = 1;

	dns_set_test_source(answer_from_input, &script);
	r = dns_resolver_new(&options, err, sizeof(err));
	dns_set_test_source(NULL, NULL);
	if (r == NULL) {
		fprintf(stderr, "fuzz-dns: %s\n", err);
		abort();
	}
	st = dns_query(r, NULL, "fuzz.example", DNS_TYPE_TXT, &a1);
	if (a1 != NULL && a1->ttl > 0 &&
	    (st == DNS_OK || st == DNS_NODATA || st == DNS_NXDOMAIN)) {
		(void)dns_query(r, NULL, "fuzz.example", DNS_TYPE_TXT, &a2);
		ok = a2 != NULL && same_answer(a1, a2) && txt_joined_right(r, a2);
		if (!ok)
			printf("# a cached answer or its joined TXT differs from the answer\n");
	}
	dns_answer_free(a1);
	dns_answer_free(a2);

	dns_budget_init(&budget, 60, 20000);
	if (!spfcheck_mailfrom(r, &budget, "192.0.2.1", "helo.fuzz.example", "a@fuzz.example",
	    &out) || !reason_fit(out.reason)) {
		printf("# SPF from 192.0.2.1: reason \"%s\"\n", out.reason);
		ok = 0;
	}
	dns_budget_init(&budget, 60, 20000);
	if (!spfcheck_mailfrom(r, &budget, "2001:db8::1", "helo.fuzz.example", "a@fuzz.example",
	    &out) || !reason_fit(out.reason)) {
		printf("# SPF from 2001:db8::1: reason \"%s\"\n", out.reason);
		ok = 0;
	}
	dns_budget_init(&budget, 60, 20000);
	dmarc_dns_from_resolver(&dd, r, &budget);
	(void)dmarc_evaluate(&dd, &in, &verdict);
	dns_resolver_free(r);
	return ok;
}
