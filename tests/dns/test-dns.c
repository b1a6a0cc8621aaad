/*
 * NAME
 *	test-dns.c - lib/dns.c against a real NSD, and against servers that never answer
 * SYNOPSIS
 *	tests/dns/test-dns PORT WORKDIR	(run by tests/dns/run.sh, which starts the NSD)
 *	tests/dns/test-dns		(run by make check as a program: no NSD)
 * DESCRIPTION
 *	Without arguments only the checks that need no DNS server run: bad names, spent
 *	budgets, refused configurations, timeouts.  With them, everything.
 *
 *	PORT is a private NSD on 127.0.0.1 serving signet.example (tests/dns/test.zone plus
 *	h0 ... h99).  Each check is one TAP line named after the behaviour it checks: every
 *	status, TXT joining, a name outside the zones, timeouts over UDP and over TCP (servers
 *	made here that never reply), budgets, the cache, bad names, DNSSEC "bogus" (a trust
 *	anchor for an unsigned zone), and 8 threads x 200 queries.  WORKDIR takes the trust
 *	anchor file.  Leaks and races are left to ASan/UBSan, which make the program fail.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/dns.h"
#include "tests/unit/tap.h"

#define ZONE ".signet.example"

static unsigned nsd_port;

static double elapsed_ms(struct timespec since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since.tv_sec) * 1e3 + (now.tv_nsec - since.tv_nsec) / 1e6;
}

static struct dns_resolver *resolver_at(unsigned port, unsigned timeout_ms, const char *ta)
{
	struct nameserver ns = {.port = port};
	struct dns_options options = {.nameservers = &ns, .nameserver_count = 1,
	    .trust_anchor_file = ta, .query_timeout_ms = timeout_ms};
	char err[256] = "";
	struct dns_resolver *r;

	snprintf(ns.address, sizeof(ns.address), "127.0.0.1");
	r = dns_resolver_new(&options, err, sizeof(err));
	if (r == NULL)
		printf("# dns_resolver_new: %s\n", err);
	return r;
}

/* ---- checks against NSD ----------------------------------------------------------- */

static void expect(struct dns_resolver *r, const char *name, int type, enum dns_status want,
    const char *what)
{
	struct dns_answer *a = NULL;
	enum dns_status got = dns_query(r, NULL, name, type, &a);

	TAP_STR_EQ(dns_status_name(got), dns_status_name(want), "%s (%s type %d)", what, name,
	    type);
	if (got != DNS_ERROR && got != DNS_BUDGET)
		TAP_OK(a != NULL && a->status == got, "%s: the answer carries the status", what);
	dns_answer_free(a);
}

static void check_a_record(struct dns_resolver *r)
{
	struct dns_answer *a = NULL;
	enum dns_status st = dns_query(r, NULL, "www" ZONE, DNS_TYPE_A, &a);
	static const unsigned char want[4] = {192, 0, 2, 1};

	TAP_STR_EQ(dns_status_name(st), "ok", "query_a_returns_ok");
	if (a == NULL)
		return;
	TAP_INT_EQ(a->count, 1, "query_a_returns_one_record");
	TAP_OK(a->count == 1 && a->records[0].len == 4 &&
	    memcmp(a->records[0].data, want, 4) == 0, "query_a_rdata_is_192.0.2.1");
	TAP_INT_EQ(a->rcode, 0, "query_a_rcode_is_noerror");
	TAP_OK(a->ttl > 0 && a->ttl <= 5, "query_a_ttl_from_zone (%u)", a->ttl);
	TAP_OK(a->secure == 0, "query_a_unsigned_is_not_secure");
	TAP_OK(a->packet != NULL && a->packet_len > 12 && (a->packet[2] & 0x80) &&
	    (a->packet[3] & 0x0f) == 0, "query_a_keeps_the_wire_reply (%zu bytes)",
	    a->packet_len);
	dns_answer_free(a);
}

static void check_other_types(struct dns_resolver *r)
{
	struct dns_answer *a = NULL;
	static const unsigned char v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 1};

	dns_query(r, NULL, "www" ZONE, DNS_TYPE_AAAA, &a);
	TAP_OK(a != NULL && a->status == DNS_OK && a->count == 1 && a->records[0].len == 16 &&
	    memcmp(a->records[0].data, v6, 16) == 0, "query_aaaa_rdata_is_2001:db8::1");
	dns_answer_free(a);
	a = NULL;
	dns_query(r, NULL, "WWW.Signet.Example.", DNS_TYPE_MX, &a);
	TAP_OK(a != NULL && a->status == DNS_OK && a->count == 1 && a->records[0].len > 2 &&
	    a->records[0].data[0] == 0 && a->records[0].data[1] == 10,
	    "query_mx_with_trailing_dot_and_capitals_has_preference_10");
	dns_answer_free(a);
	a = NULL;
	dns_query(r, NULL, "alias" ZONE, DNS_TYPE_A, &a);
	TAP_OK(a != NULL && a->status == DNS_OK && a->count == 1 && a->records[0].len == 4 &&
	    a->records[0].data[3] == 1, "query_a_follows_cname");
	dns_answer_free(a);
	expect(r, "alias" ZONE, DNS_TYPE_CNAME, DNS_OK, "query_cname_type_returns_ok");
}

static void check_negative(struct dns_resolver *r)
{
	struct dns_answer *a = NULL;

	expect(r, "www" ZONE, DNS_TYPE_TXT, DNS_NODATA, "name_without_type_is_nodata");
	expect(r, "ent" ZONE, DNS_TYPE_A, DNS_NODATA, "empty_non_terminal_is_nodata");
	expect(r, "nx" ZONE, DNS_TYPE_A, DNS_NXDOMAIN, "absent_name_is_nxdomain");
	expect(r, "deeper.nx" ZONE, DNS_TYPE_TXT, DNS_NXDOMAIN, "absent_subtree_is_nxdomain");
	dns_query(r, NULL, "nx2" ZONE, DNS_TYPE_A, &a);
	TAP_OK(a != NULL && a->rcode == 3 && a->count == 0, "nxdomain_carries_rcode_3");
	TAP_OK(a != NULL && a->packet != NULL && a->packet_len >= 12 &&
	    (a->packet[3] & 0x0f) == 3, "nxdomain_keeps_the_wire_reply_for_libopendkim");
	dns_answer_free(a);
	a = NULL;
	dns_query(r, NULL, "nx2" ZONE, DNS_TYPE_A, &a);
	TAP_OK(a != NULL && a->status == DNS_NXDOMAIN && a->packet != NULL &&
	    (a->packet[3] & 0x0f) == 3, "cached_nxdomain_keeps_the_wire_reply");
	dns_answer_free(a);
}

static void check_outside_zones(struct dns_resolver *r)
{
	struct timespec t0;

	struct dns_answer *a = NULL;
	enum dns_status st;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	st = dns_query(r, NULL, "www.example.com", DNS_TYPE_A, &a);
	printf("# REFUSED came back as %s (rcode %d) in %.0f ms\n", dns_status_name(st),
	    a != NULL ? a->rcode : -1, elapsed_ms(t0));
	TAP_STR_EQ(dns_status_name(st), "tempfail", "refused_name_is_tempfail");
	TAP_OK(a != NULL && a->status == DNS_TEMPFAIL && a->count == 0,
	    "refused_name_answer_is_empty_tempfail");
	dns_answer_free(a);
	/* The REFUSED must not make libunbound give up on the server for its own zone. */
	expect(r, "mx" ZONE, DNS_TYPE_A, DNS_OK, "server_still_used_after_refused");
}

/* ---- TXT -------------------------------------------------------------------------- */

static void check_txt(struct dns_resolver *r)
{
	struct dns_txt *t = NULL;
	enum dns_status st;
	size_t i;
	int found_joined = 0, found_second = 0;

	st = dns_query_txt(r, NULL, "txt1" ZONE, &t);
	TAP_STR_EQ(dns_status_name(st), "ok", "txt_single_string_ok");
	if (t != NULL) {
		TAP_INT_EQ(t->count, 1, "txt_single_string_one_record");
		TAP_STR_EQ(t->records[0], "v=spf1 -all", "txt_single_string_text");
		TAP_INT_EQ(t->lengths[0], 11, "txt_single_string_length");
	}
	dns_txt_free(t);

	t = NULL;
	st = dns_query_txt(r, NULL, "txt2" ZONE, &t);
	for (i = 0; t != NULL && i < t->count; i++) {
		found_joined |= strcmp(t->records[i], "v=DKIM1; k=rsa; p=ABCDEFGH") == 0;
		found_second |= strcmp(t->records[i], "second record") == 0;
	}
	TAP_OK(st == DNS_OK && t != NULL && t->count == 2 && found_joined && found_second,
	    "txt_multi_string_record_is_joined_and_records_kept_apart");
	dns_txt_free(t);

	t = NULL;
	st = dns_query_txt(r, NULL, "txtlong" ZONE, &t);
	TAP_OK(st == DNS_OK && t != NULL && t->count == 1 && t->lengths[0] == 300 &&
	    strlen(t->records[0]) == 300 && t->records[0][254] == 'a' &&
	    t->records[0][255] == 'b', "txt_over_255_bytes_is_joined_to_300");
	dns_txt_free(t);

	t = NULL;
	st = dns_query_txt(r, NULL, "txtnul" ZONE, &t);
	TAP_OK(st == DNS_OK && t != NULL && t->count == 1 && t->lengths[0] == 3 &&
	    memcmp(t->records[0], "a\0b", 4) == 0, "txt_with_nul_keeps_its_length");
	dns_txt_free(t);

	t = NULL;
	st = dns_query_txt(r, NULL, "txtempty" ZONE, &t);
	TAP_OK(st == DNS_OK && t != NULL && t->count == 1 && t->lengths[0] == 0 &&
	    t->records[0][0] == '\0', "txt_empty_string_is_an_empty_record");
	dns_txt_free(t);

	t = (struct dns_txt *)&t;	/* must be overwritten */
	st = dns_query_txt(r, NULL, "nx" ZONE, &t);
	TAP_OK(st == DNS_NXDOMAIN && t == NULL, "txt_nxdomain_sets_out_to_null");
	t = NULL;
	st = dns_query_txt(r, NULL, "www" ZONE, &t);
	TAP_OK(st == DNS_NODATA && t == NULL, "txt_nodata_sets_out_to_null");
}

/* ---- names ------------------------------------------------------------------------ */

/* A name of total length len made of 63-byte labels and a shorter last one. */
static void make_name(char *buf, size_t len, size_t label_len)
{
	size_t i, in_label = 0;

	for (i = 0; i < len; i++) {
		if (in_label == label_len && i + 1 < len) {
			buf[i] = '.';
			in_label = 0;
		} else {
			buf[i] = 'x';
			in_label++;
		}
	}
	buf[len] = '\0';
}

static void check_bad_names(struct dns_resolver *r)
{
	char name[400];
	struct dns_answer *a;
	struct dns_stats before, after;
	static const char *bad[] = {"", ".", "..", "a..signet.example", ".signet.example",
	    "www.signet.example..", "has space.signet.example", "back\\slash.signet.example",
	    "ctl\x01.signet.example"};
	size_t i;

	dns_stats_get(r, &before);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a = (struct dns_answer *)&a;
		TAP_OK(dns_query(r, NULL, bad[i], DNS_TYPE_A, &a) == DNS_ERROR && a == NULL,
		    "bad_name_is_error (\"%s\")", bad[i]);
	}
	TAP_OK(dns_query(r, NULL, NULL, DNS_TYPE_A, &a) == DNS_ERROR, "null_name_is_error");
	make_name(name, 254, 63);
	TAP_OK(dns_query(r, NULL, name, DNS_TYPE_A, &a) == DNS_ERROR, "name_of_254_is_error");
	make_name(name, 300, 63);
	TAP_OK(dns_query(r, NULL, name, DNS_TYPE_A, &a) == DNS_ERROR, "name_of_300_is_error");
	make_name(name, 70, 64);
	TAP_OK(dns_query(r, NULL, name, DNS_TYPE_A, &a) == DNS_ERROR, "label_of_64_is_error");
	TAP_OK(dns_query(r, NULL, "www" ZONE, 0, &a) == DNS_ERROR, "type_0_is_error");
	dns_stats_get(r, &after);
	TAP_INT_EQ(after.queries, before.queries, "bad_names_send_nothing");
}

static void check_longest_names(struct dns_resolver *r)
{
	char name[400];
	struct dns_answer *a;

	/* The longest legal name: 253 bytes, labels of 63, ending in our zone. */
	make_name(name, 253 - strlen(ZONE), 63);
	memcpy(name + strlen(name), ZONE, strlen(ZONE) + 1);
	a = NULL;
	TAP_STR_EQ(dns_status_name(dns_query(r, NULL, name, DNS_TYPE_A, &a)), "nxdomain",
	    "name_of_253_is_asked (%zu bytes)", strlen(name));
	dns_answer_free(a);
	make_name(name, 63, 63);
	memcpy(name + 63, ZONE, strlen(ZONE) + 1);
	a = NULL;
	TAP_STR_EQ(dns_status_name(dns_query(r, NULL, name, DNS_TYPE_A, &a)), "nxdomain",
	    "label_of_63_is_asked");
	dns_answer_free(a);
}

/* ---- budget and cache ------------------------------------------------------------- */

static void check_budget_count(struct dns_resolver *r)
{
	struct dns_budget b;
	struct dns_answer *a = NULL;
	struct dns_stats before, after;

	dns_budget_init(&b, 2, 10000);
	TAP_OK(dns_query(r, &b, "h1" ZONE, DNS_TYPE_A, &a) == DNS_OK, "budget_first_query_ok");
	dns_answer_free(a);
	TAP_OK(dns_query(r, &b, "h2" ZONE, DNS_TYPE_A, &a) == DNS_OK, "budget_second_query_ok");
	dns_answer_free(a);
	dns_stats_get(r, &before);
	a = (struct dns_answer *)&a;
	TAP_STR_EQ(dns_status_name(dns_query(r, &b, "h3" ZONE, DNS_TYPE_A, &a)), "budget",
	    "budget_count_spent_is_budget");
	TAP_OK(a == NULL, "budget_spent_sets_out_to_null");
	dns_stats_get(r, &after);
	TAP_INT_EQ(after.queries, before.queries, "budget_spent_sends_nothing");
	TAP_INT_EQ(b.queries, 2, "budget_counts_queries");
	TAP_INT_EQ(b.queries_left, 0, "budget_queries_left_is_zero");
}

static void check_budget_spent(struct dns_resolver *r)
{
	struct dns_budget b;
	struct dns_answer *a = NULL;
	struct dns_stats before, after;

	dns_budget_init(&b, 10, 10000);
	b.deadline.tv_sec -= 20;
	dns_stats_get(r, &before);
	TAP_STR_EQ(dns_status_name(dns_query(r, &b, "h4" ZONE, DNS_TYPE_A, &a)), "budget",
	    "budget_deadline_passed_is_budget");
	dns_stats_get(r, &after);
	TAP_INT_EQ(after.queries, before.queries, "budget_deadline_passed_sends_nothing");

	dns_budget_init(&b, 0, 10000);
	TAP_STR_EQ(dns_status_name(dns_query(r, &b, "h5" ZONE, DNS_TYPE_A, &a)), "budget",
	    "budget_of_zero_queries_is_budget");
	struct dns_txt *t = (struct dns_txt *)&t;
	TAP_OK(dns_query_txt(r, &b, "txt1" ZONE, &t) == DNS_BUDGET && t == NULL,
	    "budget_applies_to_txt");
}

static void check_cache(struct dns_resolver *r)
{
	struct dns_stats s0, s1, s2;
	struct dns_txt *t = NULL;
	struct dns_budget b;
	enum dns_status st;

	dns_stats_get(r, &s0);
	st = dns_query_txt(r, NULL, "cache" ZONE, &t);
	TAP_OK(st == DNS_OK && t != NULL && strcmp(t->records[0], "cached") == 0,
	    "cache_first_query_answers");
	dns_txt_free(t);
	dns_stats_get(r, &s1);
	TAP_INT_EQ(s1.cache_hits, s0.cache_hits, "cache_first_query_is_a_miss");
	t = NULL;
	dns_budget_init(&b, 5, 10000);
	st = dns_query_txt(r, &b, "CACHE" ZONE ".", &t);
	TAP_OK(st == DNS_OK && t != NULL && t->count == 1 && strcmp(t->records[0],
	    "cached") == 0, "cache_second_query_same_answer");
	dns_txt_free(t);
	dns_stats_get(r, &s2);
	TAP_INT_EQ(s2.cache_hits, s1.cache_hits + 1, "cache_second_query_is_a_hit");
	TAP_INT_EQ(s2.queries, s1.queries + 1, "cache_hit_counts_as_a_query");
	TAP_INT_EQ(b.queries, 1, "cache_hit_is_charged_to_the_budget");
	expect(r, "nx" ZONE, DNS_TYPE_A, DNS_NXDOMAIN, "cached_nxdomain_stays_nxdomain");
}

/* ---- servers that never answer ----------------------------------------------------- */

struct silent {
	int	udp, tcp;
	unsigned port;
	int	truncate;	/* answer every UDP query with TC=1, to send it to TCP */
	atomic_int stop;
	pthread_t thread;
};

static int silent_open(struct silent *s)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->tcp = socket(AF_INET, SOCK_STREAM, 0);
	if (s->tcp < 0 || bind(s->tcp, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(s->tcp, 64) != 0 || getsockname(s->tcp, (struct sockaddr *)&sin, &len) != 0)
		return -1;
	s->port = ntohs(sin.sin_port);
	s->udp = socket(AF_INET, SOCK_DGRAM, 0);
	if (s->udp < 0 || bind(s->udp, (struct sockaddr *)&sin, sizeof(sin)) != 0)
		return -1;
	return 0;
}

/* Answers each UDP query with its own header and question, QR and TC set, no records. */
static void *truncator(void *arg)
{
	struct silent *s = arg;
	unsigned char buf[512];
	struct sockaddr_in from;
	struct pollfd pfd = {.fd = s->udp, .events = POLLIN};

	while (!s->stop) {
		socklen_t fromlen = sizeof(from);
		ssize_t n;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = recvfrom(s->udp, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen);
		if (n < 12)
			continue;
		buf[2] = (buf[2] | 0x80 | 0x02) & ~0x01;	/* QR, TC; RD kept */
		buf[3] = 0;
		memset(buf + 6, 0, 6);				/* no AN, NS, AR */
		sendto(s->udp, buf, (size_t)n, 0, (struct sockaddr *)&from, fromlen);
	}
	return NULL;
}

static void check_timeout_against(struct silent *s, const char *what)
{
	struct dns_resolver *r = resolver_at(s->port, 500, NULL);
	struct dns_budget b;
	struct dns_stats st;
	struct dns_answer *a = NULL;
	struct timespec t0;
	enum dns_status got;

	if (!TAP_OK(r != NULL, "%s: resolver made", what))
		return;
	dns_budget_init(&b, 10, 30000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	got = dns_query(r, &b, "www" ZONE, DNS_TYPE_A, &a);
	printf("# %s: returned %s after %.0f ms (timeout 500 ms)\n", what,
	    dns_status_name(got), elapsed_ms(t0));
	TAP_STR_EQ(dns_status_name(got), "tempfail", "%s: query returns tempfail", what);
	TAP_OK(a != NULL && a->status == DNS_TEMPFAIL && a->count == 0,
	    "%s: tempfail answer is empty", what);
	dns_answer_free(a);
	TAP_INT_EQ(b.timeouts, 1, "%s: counted in budget timeouts", what);
	dns_stats_get(r, &st);
	TAP_INT_EQ(st.timeouts, 1, "%s: counted in stats timeouts", what);

	/* A budget deadline shorter than the query timeout cuts the wait short too. */
	dns_budget_init(&b, 10, 200);
	a = NULL;
	got = dns_query(r, &b, "other" ZONE, DNS_TYPE_TXT, &a);
	TAP_STR_EQ(dns_status_name(got), "tempfail", "%s: budget deadline ends the wait", what);
	dns_answer_free(a);
	a = NULL;
	got = dns_query(r, &b, "third" ZONE, DNS_TYPE_TXT, &a);
	TAP_STR_EQ(dns_status_name(got), "budget", "%s: then the budget is spent", what);
	dns_answer_free(a);
	dns_resolver_free(r);	/* with abandoned queries: ASan checks the clean-up */
	TAP_OK(1, "%s: resolver freed with abandoned queries", what);
}

static void check_timeouts(void)
{
	struct silent s = {.udp = -1, .tcp = -1};

	if (!TAP_OK(silent_open(&s) == 0, "silent server listens (%s)", strerror(errno)))
		return;
	check_timeout_against(&s, "udp_and_tcp_never_answer");
	close(s.udp);
	close(s.tcp);

	memset(&s, 0, sizeof(s));
	if (!TAP_OK(silent_open(&s) == 0, "truncating server listens (%s)", strerror(errno)))
		return;
	s.truncate = 1;
	if (pthread_create(&s.thread, NULL, truncator, &s) != 0) {
		TAP_OK(0, "truncating server thread");
		return;
	}
	check_timeout_against(&s, "udp_truncated_tcp_never_answers");
	struct pollfd pfd = {.fd = s.tcp, .events = POLLIN};
	TAP_OK(poll(&pfd, 1, 0) == 1, "udp_truncated: libunbound retried over TCP");
	s.stop = 1;
	pthread_join(s.thread, NULL);
	close(s.udp);
	close(s.tcp);
}

/* ---- threads ---------------------------------------------------------------------- */

#define THREADS 8
#define PER_THREAD 200

struct worker {
	struct dns_resolver *r;
	int	index;
	int	wrong;
	char	first_wrong[160];
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct dns_budget b;
	char name[64];
	int i;

	dns_budget_init(&b, PER_THREAD, 120000);
	for (i = 0; i < PER_THREAD; i++) {
		struct dns_answer *a = NULL;
		int host = (w->index * PER_THREAD + i) % 100, ok;
		enum dns_status st;

		if (i % 4 == 3) {
			snprintf(name, sizeof(name), "nx-%d-%d" ZONE, w->index, i);
			st = dns_query(w->r, &b, name, DNS_TYPE_A, &a);
			ok = st == DNS_NXDOMAIN;
		} else {
			snprintf(name, sizeof(name), "h%d" ZONE, host);
			st = dns_query(w->r, &b, name, DNS_TYPE_A, &a);
			ok = st == DNS_OK && a != NULL && a->count == 1 && a->records[0].len == 4 &&
			    a->records[0].data[3] == host;
		}
		if (!ok && w->wrong++ == 0)
			snprintf(w->first_wrong, sizeof(w->first_wrong), "%s: %s", name,
			    dns_status_name(st));
		dns_answer_free(a);
	}
	return NULL;
}

static void check_threads(void)
{
	struct dns_resolver *r = resolver_at(nsd_port, 5000, NULL);
	struct worker w[THREADS];
	pthread_t tid[THREADS];
	struct dns_stats st;
	struct timespec t0;
	int i, started = 0, wrong = 0;

	if (!TAP_OK(r != NULL, "threads: resolver made"))
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < THREADS; i++) {
		w[i] = (struct worker){.r = r, .index = i};
		if (pthread_create(&tid[i], NULL, worker_main, &w[i]) != 0)
			break;
		started++;
	}
	for (i = 0; i < started; i++) {
		pthread_join(tid[i], NULL);
		wrong += w[i].wrong;
		if (w[i].wrong)
			printf("# thread %d: %d wrong, first %s\n", i, w[i].wrong, w[i].first_wrong);
	}
	dns_stats_get(r, &st);
	printf("# %d x %d queries in %.0f ms: %lu asked, %lu cache hits, %lu timeouts, "
	    "%lu failures\n", THREADS, PER_THREAD, elapsed_ms(t0), st.queries, st.cache_hits,
	    st.timeouts, st.failures);
	TAP_INT_EQ(started, THREADS, "threads: all started");
	TAP_INT_EQ(wrong, 0, "threads_8x200_queries_all_correct");
	TAP_INT_EQ(st.queries, THREADS * PER_THREAD, "threads: every query counted");
	TAP_OK(st.cache_hits > 0, "threads: the cache is shared across threads");
	dns_resolver_free(r);
	TAP_OK(1, "threads: resolver freed while idle");
}

/*
 * Timeouts so short that answers arrive around the moment callers give up: every
 * pending is then freed by exactly one of the caller, the callback and the cancel
 * (ASan and TSan would see a double free or a leak).
 */
struct racer {
	struct dns_resolver *r;
	int	index;
	int	answered, timed_out, wrong;
};

static void *racer_main(void *arg)
{
	struct racer *w = arg;
	char name[64];
	int i;

	for (i = 0; i < 100; i++) {
		struct dns_answer *a = NULL;
		enum dns_status st;

		snprintf(name, sizeof(name), "race-%d-%d" ZONE, w->index, i);
		st = dns_query(w->r, NULL, name, DNS_TYPE_A, &a);
		if (st == DNS_NXDOMAIN)
			w->answered++;
		else if (st == DNS_TEMPFAIL)
			w->timed_out++;
		else
			w->wrong++;
		dns_answer_free(a);
	}
	return NULL;
}

static void check_timeout_race(void)
{
	struct dns_resolver *r = resolver_at(nsd_port, 1, NULL);
	struct racer w[4];
	pthread_t tid[4];
	struct dns_stats st;
	int i, started = 0, answered = 0, timed_out = 0, wrong = 0;

	if (!TAP_OK(r != NULL, "race: resolver with a 1 ms timeout made"))
		return;
	for (i = 0; i < 4; i++) {
		w[i] = (struct racer){.r = r, .index = i};
		if (pthread_create(&tid[i], NULL, racer_main, &w[i]) != 0)
			break;
		started++;
	}
	for (i = 0; i < started; i++) {
		pthread_join(tid[i], NULL);
		answered += w[i].answered;
		timed_out += w[i].timed_out;
		wrong += w[i].wrong;
	}
	dns_stats_get(r, &st);
	printf("# race: %d answered, %d timed out\n", answered, timed_out);
	TAP_INT_EQ(wrong, 0, "race: every query answered or timed out");
	TAP_INT_EQ(st.timeouts, timed_out, "race: stats count every timeout");
	dns_resolver_free(r);
	TAP_OK(1, "race: resolver freed after racing timeouts");
}

/* ---- main ------------------------------------------------------------------------- */

static void check_resolver_new(const char *workdir)
{
	struct dns_options options = {.query_timeout_ms = 1000};
	char err[256] = "", path[512];
	struct dns_resolver *r;

	snprintf(path, sizeof(path), "%s/no-such-anchor.key", workdir);
	options.trust_anchor_file = path;
	r = dns_resolver_new(&options, err, sizeof(err));
	TAP_OK(r == NULL && strstr(err, "trust anchor") != NULL,
	    "missing_trust_anchor_file_is_refused (\"%s\")", err);
	dns_resolver_free(r);
	options.trust_anchor_file = "";
	if (access("/etc/resolv.conf", R_OK) == 0) {
		r = dns_resolver_new(&options, err, sizeof(err));
		TAP_OK(r != NULL, "resolver_from_resolv_conf_is_made (\"%s\")", err);
		dns_resolver_free(r);
	}
	TAP_STR_EQ(dns_status_name(DNS_OK), "ok", "status_name_ok");
	TAP_STR_EQ(dns_status_name(DNS_NODATA), "nodata", "status_name_nodata");
	TAP_STR_EQ(dns_status_name(DNS_NXDOMAIN), "nxdomain", "status_name_nxdomain");
	TAP_STR_EQ(dns_status_name(DNS_TEMPFAIL), "tempfail", "status_name_tempfail");
	TAP_STR_EQ(dns_status_name(DNS_BOGUS), "bogus", "status_name_bogus");
	TAP_STR_EQ(dns_status_name(DNS_BUDGET), "budget", "status_name_budget");
	TAP_STR_EQ(dns_status_name(DNS_ERROR), "error", "status_name_error");
}

/* A DS for signet.example, which NSD serves unsigned: every answer in it is bogus. */
static void check_bogus(const char *workdir)
{
	char path[512];
	FILE *f;
	struct dns_resolver *r;
	struct dns_answer *a = NULL;
	enum dns_status st;

	snprintf(path, sizeof(path), "%s/anchor.key", workdir);
	f = fopen(path, "w");
	if (!TAP_OK(f != NULL, "bogus: trust anchor file written"))
		return;
	fprintf(f, "signet.example. IN DS 12345 13 2 "
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n");
	fclose(f);
	r = resolver_at(nsd_port, 3000, path);
	if (!TAP_OK(r != NULL, "bogus: resolver with trust anchor made"))
		return;
	st = dns_query(r, NULL, "www" ZONE, DNS_TYPE_A, &a);
	TAP_STR_EQ(dns_status_name(st), "bogus", "unsigned_zone_under_trust_anchor_is_bogus");
	TAP_OK(a != NULL && a->secure == 0, "bogus_answer_is_not_secure");
	dns_answer_free(a);
	dns_resolver_free(r);
}

/* The checks that need no NSD, against a server that never answers: nothing is sent. */
static void check_offline(void)
{
	struct silent s = {.udp = -1, .tcp = -1};
	struct dns_resolver *r;

	check_resolver_new("/nonexistent-signet-dir");
	if (!TAP_OK(silent_open(&s) == 0, "silent server listens (%s)", strerror(errno)))
		return;
	if ((r = resolver_at(s.port, 500, NULL)) != NULL) {
		check_bad_names(r);
		check_budget_spent(r);
		dns_resolver_free(r);
	}
	close(s.udp);
	close(s.tcp);
	check_timeouts();
}

int main(int argc, char **argv)
{
	struct dns_resolver *r;
	char *end;
	unsigned long port;

	if (argc == 1) {	/* as one of make check's programs: what needs no NSD */
		check_offline();
		return tap_done();
	}
	if (argc != 3) {
		fprintf(stderr, "usage: test-dns [PORT WORKDIR]\n");
		return 2;
	}
	errno = 0;
	port = strtoul(argv[1], &end, 10);
	if (errno != 0 || *end != '\0' || port == 0 || port > 65535) {
		fprintf(stderr, "test-dns: bad port %s\n", argv[1]);
		return 2;
	}
	nsd_port = (unsigned)port;
	check_offline();
	r = resolver_at(nsd_port, 3000, NULL);
	if (TAP_OK(r != NULL, "resolver_forwarding_to_nsd_is_made")) {
		check_a_record(r);
		check_other_types(r);
		check_negative(r);
		check_txt(r);
		check_outside_zones(r);
		check_longest_names(r);
		check_budget_count(r);
		check_cache(r);
		dns_resolver_free(r);
	}
	check_bogus(argv[2]);
	check_threads();
	check_timeout_race();
	return tap_done();
}
