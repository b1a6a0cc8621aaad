/*
 * NAME
 *	test-dnssec.c - lib/dns.c validating DNSSEC against a real signing server (knotd)
 * SYNOPSIS
 *	tests/dns/test-dnssec PORT WORKDIR	(run by tests/dns/dnssec.sh, which starts knotd)
 *	tests/dns/test-dnssec			(run by make check as a program: no server)
 * DESCRIPTION
 *	PORT is a private knotd on 127.0.0.1, used as the resolver's forwarder, serving
 *	signed.test (signed by knotd itself, NSEC), nsec3.test (likewise, NSEC3) and
 *	plain.test (unsigned).  WORKDIR holds the trust anchors dnssec.sh exported from the
 *	running server: ds.anchor (DS lines from keymgr) and dnskey.anchor (the KSKs' DNSKEY
 *	lines from kdig), both in unbound's format ("signed.test. IN DS ...").  The tampered
 *	anchor is made here, from ds.anchor, with one digest digit of signed.test changed.
 *
 *	Shown: under either anchor, positive answers (A, TXT), NODATA and NXDOMAIN (NSEC and
 *	NSEC3) from the signed zones are secure, also when they come from dns.c's cache; an
 *	unsigned zone outside the anchors still answers, not secure; without an anchor
 *	nothing is secure; under the tampered anchor every answer from signed.test is
 *	DNS_BOGUS and not secure, while nsec3.test, whose anchor is intact, stays secure.
 *
 *	DKIM through verify.c: a signature whose key record in signed.test is validated is
 *	checked against that key (fail: the signature is made up; the answer's RRSIGs do
 *	not get in the way), a missing key under a valid anchor is a permerror, and the
 *	same key under the tampered anchor is a temperror (a bogus answer is never read as
 *	a key).  verify.h does not report the DNSSEC status, so that flag itself is not
 *	checked here.  (The test names say libopendkim: it verified when they were written.)
 *
 *	Without arguments only what needs no server runs: anchor files in both formats are
 *	accepted, a malformed one is refused when the resolver is made, and a zone under an
 *	anchor whose server never answers is a temporary failure (not bogus), not secure.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/dns.h"
#include "milter/verify.h"
#include "tests/unit/tap.h"

static struct dns_resolver *resolver_at(unsigned port, unsigned timeout_ms, const char *ta,
    char *err, size_t errlen)
{
	struct nameserver ns = {.port = port};
	struct dns_options options = {.nameservers = &ns, .nameserver_count = 1,
	    .trust_anchor_file = ta, .query_timeout_ms = timeout_ms};

	snprintf(ns.address, sizeof(ns.address), "127.0.0.1");
	return dns_resolver_new(&options, err, errlen);
}

static struct dns_resolver *resolver_or_say(unsigned port, const char *ta)
{
	char err[256] = "";
	struct dns_resolver *r = resolver_at(port, 3000, ta, err, sizeof(err));

	if (r == NULL)
		printf("# dns_resolver_new: %s\n", err);
	return r;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* ---- against knotd ---------------------------------------------------------------- */

/* Asks name/type, checks the status and the secure flag, prints what came back. */
__attribute__((format(printf, 6, 7)))
static void expect(struct dns_resolver *r, const char *name, int type, enum dns_status want,
    int want_secure, const char *fmt, ...)
{
	struct dns_answer *a = NULL;
	enum dns_status got = dns_query(r, NULL, name, type, &a);
	char what[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);

	TAP_STR_EQ(dns_status_name(got), dns_status_name(want), "%s: status (%s type %d)",
	    what, name, type);
	if (!TAP_OK(a != NULL && a->secure == want_secure, "%s: secure is %d", what,
	    want_secure))
		printf("#   got:  secure %d, rcode %d\n", a != NULL ? a->secure : -1,
		    a != NULL ? a->rcode : -1);
	dns_answer_free(a);
}

static void check_signed_a(struct dns_resolver *r, const char *zone, const char *what)
{
	char name[128];
	struct dns_answer *a = NULL;
	enum dns_status st;
	static const unsigned char want[4] = {192, 0, 2, 1};

	snprintf(name, sizeof(name), "www.%s", zone);
	st = dns_query(r, NULL, name, DNS_TYPE_A, &a);
	TAP_STR_EQ(dns_status_name(st), "ok", "%s_a_is_ok", what);
	TAP_OK(a != NULL && a->count == 1 && a->records[0].len == 4 &&
	    memcmp(a->records[0].data, want, 4) == 0, "%s_a_rdata_is_192.0.2.1", what);
	if (!TAP_OK(a != NULL && a->secure == 1, "%s_a_is_secure", what))
		printf("#   got:  secure %d\n", a != NULL ? a->secure : -1);
	dns_answer_free(a);
}

static void check_signed_txt(struct dns_resolver *r, const char *zone, const char *what)
{
	char name[128];
	struct dns_txt *t = NULL;
	enum dns_status st;

	snprintf(name, sizeof(name), "txt.%s", zone);
	st = dns_query_txt(r, NULL, name, &t);
	TAP_STR_EQ(dns_status_name(st), "ok", "%s_txt_is_ok", what);
	TAP_OK(t != NULL && t->count == 1 && strcmp(t->records[0], "v=spf1 -all") == 0,
	    "%s_txt_text", what);
	if (!TAP_OK(t != NULL && t->secure == 1, "%s_txt_is_secure", what))
		printf("#   got:  secure %d\n", t != NULL ? t->secure : -1);
	dns_txt_free(t);
}

/* The second lookup comes from dns.c's own cache, which must keep the flag. */
static void check_cached_stays_secure(struct dns_resolver *r, const char *what)
{
	struct dns_stats before, after;

	dns_stats_get(r, &before);
	expect(r, "www.signed.test", DNS_TYPE_A, DNS_OK, 1, "%s_cached_signed_a", what);
	expect(r, "nx.signed.test", DNS_TYPE_A, DNS_NXDOMAIN, 1, "%s_cached_signed_nxdomain",
	    what);
	dns_stats_get(r, &after);
	TAP_INT_EQ(after.cache_hits, before.cache_hits + 2,
	    "%s_cached: both came from dns.c's cache", what);
}

static void check_valid_anchor(unsigned port, const char *anchor, const char *what)
{
	struct dns_resolver *r = resolver_or_say(port, anchor);
	char w[64];

	if (!TAP_OK(r != NULL, "%s: resolver with the exported anchor made", what))
		return;
	snprintf(w, sizeof(w), "%s_signed", what);
	check_signed_a(r, "signed.test", w);
	check_signed_txt(r, "signed.test", w);
	expect(r, "nx.signed.test", DNS_TYPE_A, DNS_NXDOMAIN, 1, "%s_nsec_nxdomain", what);
	expect(r, "www.signed.test", DNS_TYPE_TXT, DNS_NODATA, 1, "%s_nsec_nodata", what);
	snprintf(w, sizeof(w), "%s_nsec3", what);
	check_signed_a(r, "nsec3.test", w);
	check_signed_txt(r, "nsec3.test", w);
	expect(r, "nx.nsec3.test", DNS_TYPE_A, DNS_NXDOMAIN, 1, "%s_nsec3_nxdomain", what);
	expect(r, "deeper.nx.nsec3.test", DNS_TYPE_TXT, DNS_NXDOMAIN, 1,
	    "%s_nsec3_nxdomain_two_labels_down", what);
	expect(r, "www.nsec3.test", DNS_TYPE_TXT, DNS_NODATA, 1, "%s_nsec3_nodata", what);
	expect(r, "www.plain.test", DNS_TYPE_A, DNS_OK, 0,
	    "%s_unsigned_zone_outside_anchors_answers_not_secure", what);
	expect(r, "nx.plain.test", DNS_TYPE_A, DNS_NXDOMAIN, 0,
	    "%s_unsigned_zone_nxdomain_not_secure", what);
	check_cached_stays_secure(r, what);
	dns_resolver_free(r);
}

static void check_without_anchor(unsigned port)
{
	struct dns_resolver *r = resolver_or_say(port, NULL);

	if (!TAP_OK(r != NULL, "no anchor: resolver made"))
		return;
	expect(r, "www.signed.test", DNS_TYPE_A, DNS_OK, 0, "no_anchor_signed_a_not_secure");
	expect(r, "nx.signed.test", DNS_TYPE_A, DNS_NXDOMAIN, 0,
	    "no_anchor_signed_nxdomain_not_secure");
	dns_resolver_free(r);
}

/*
 * A copy of ds.anchor whose signed.test digest ends in another hex digit: the DS then
 * matches none of the zone's keys.
 */
static int write_tampered(const char *workdir, char *path, size_t pathlen)
{
	char src[512], line[1024], *p;
	FILE *in, *out;
	int changed = 0;

	snprintf(src, sizeof(src), "%s/ds.anchor", workdir);
	snprintf(path, pathlen, "%s/tampered.anchor", workdir);
	if ((in = fopen(src, "r")) == NULL)
		return -1;
	if ((out = fopen(path, "w")) == NULL) {
		fclose(in);
		return -1;
	}
	while (fgets(line, sizeof(line), in) != NULL) {
		p = line + strcspn(line, "\r\n");
		if (strncmp(line, "signed.test.", 12) == 0 && p > line) {
			p[-1] = p[-1] == '0' ? '1' : '0';
			changed = 1;
			printf("# tampered: %s", line);
		}
		fputs(line, out);
	}
	fclose(in);
	if (fclose(out) != 0 || !changed)
		return -1;
	return 0;
}

static void check_tampered(unsigned port, const char *workdir)
{
	char path[512];
	struct dns_resolver *r;
	struct dns_txt *t = (struct dns_txt *)&t;

	if (!TAP_OK(write_tampered(workdir, path, sizeof(path)) == 0,
	    "tampered: anchor with one DS digest digit changed written"))
		return;
	r = resolver_or_say(port, path);
	if (!TAP_OK(r != NULL, "tampered: resolver made (the file is well-formed)"))
		return;
	expect(r, "www.signed.test", DNS_TYPE_A, DNS_BOGUS, 0, "tampered_anchor_a_is_bogus");
	TAP_OK(dns_query_txt(r, NULL, "txt.signed.test", &t) == DNS_BOGUS && t == NULL,
	    "tampered_anchor_txt_is_bogus");
	expect(r, "nx.signed.test", DNS_TYPE_A, DNS_BOGUS, 0,
	    "tampered_anchor_nxdomain_is_bogus");
	/* Failures are not cached by dns.c: asking again must not turn it into an answer. */
	expect(r, "www.signed.test", DNS_TYPE_A, DNS_BOGUS, 0,
	    "tampered_anchor_a_asked_again_is_still_bogus");
	expect(r, "www.nsec3.test", DNS_TYPE_A, DNS_OK, 1,
	    "tampered_anchor_leaves_other_anchor_secure");
	dns_resolver_free(r);
}

/* ---- DKIM through verify.c ---------------------------------------------------------- */

/* One message with a made-up Ed25519 signature by selector s= of signed.test. */
static enum verify_result verify_one(struct dns_resolver *r, const char *selector,
    char *reason, size_t reasonlen)
{
	struct verifier *v;
	struct verify_message *m;
	struct dns_budget b;
	const struct verify_signature *res = NULL;
	size_t count = 0;
	enum verify_result result = VERIFY_NONE;
	char err[256] = "", sig[512];
	static const char body[] = "Hello.\r\n";

	if ((v = verifier_new(r, 5, err, sizeof(err))) == NULL) {
		snprintf(reason, reasonlen, "verifier_new: %s", err);
		return VERIFY_NONE;
	}
	snprintf(sig, sizeof(sig), " v=1; a=ed25519-sha256; c=relaxed/relaxed; d=signed.test;"
	    " s=%s; h=from:subject; bh=ht20kM9PtHv0VNN6qOaokiL/eJhy6xm27qb9jCZMlG4=;"
	    " b=Q/mu4YmobXw95O6uH2eUKv+TcaFSp8nY37NRaDX8pYq3JCqlipJp1YVL+rInpU33lVGfUXZ37qgO"
	    "9F8qoIkjzA==", selector);
	dns_budget_init(&b, 10, 10000);
	if ((m = verify_begin(v, &b, "DNSSEC1", 5)) != NULL) {
		verify_header(m, "DKIM-Signature", sig);
		verify_header(m, "From", " a@signed.test");
		verify_header(m, "Subject", " DNSSEC");
		verify_end_of_headers(m);
		verify_body(m, (const unsigned char *)body, sizeof(body) - 1);
		if (verify_finish(m, &res, &count) && count == 1) {
			result = res[0].result;
			snprintf(reason, reasonlen, "%s", res[0].reason);
		}
		verify_free(m);
	}
	verifier_free(v);
	return result;
}

static void expect_dkim(struct dns_resolver *r, const char *selector, enum verify_result want,
    const char *what)
{
	char reason[160] = "";
	enum verify_result got = verify_one(r, selector, reason, sizeof(reason));

	TAP_STR_EQ(verify_result_name(got), verify_result_name(want), "%s (%s)", what, reason);
}

static void check_dkim(unsigned port, const char *workdir)
{
	char path[512];
	struct dns_resolver *r;

	snprintf(path, sizeof(path), "%s/ds.anchor", workdir);
	if ((r = resolver_or_say(port, path)) != NULL) {
		expect_dkim(r, "sel", VERIFY_FAIL, "dkim_validated_key_is_used_by_libopendkim");
		expect_dkim(r, "missing", VERIFY_PERMERROR,
		    "dkim_validated_missing_key_is_permerror");
		dns_resolver_free(r);
	}
	snprintf(path, sizeof(path), "%s/tampered.anchor", workdir);
	if ((r = resolver_or_say(port, path)) != NULL) {
		expect_dkim(r, "sel", VERIFY_TEMPERROR, "dkim_bogus_key_is_temperror");
		dns_resolver_free(r);
	}
}

/* ---- without a server ------------------------------------------------------------- */

/* A UDP and a TCP socket on one loopback port that nobody ever reads. */
static int silent_port(int fds[2], unsigned *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fds[0] = socket(AF_INET, SOCK_STREAM, 0);
	if (fds[0] < 0 || bind(fds[0], (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(fds[0], 8) != 0 || getsockname(fds[0], (struct sockaddr *)&sin, &len) != 0)
		return -1;
	*port = ntohs(sin.sin_port);
	fds[1] = socket(AF_INET, SOCK_DGRAM, 0);
	if (fds[1] < 0 || bind(fds[1], (struct sockaddr *)&sin, sizeof(sin)) != 0)
		return -1;
	return 0;
}

static void check_anchor_files(unsigned port, const char *dir)
{
	static const struct {
		const char *name, *text;
		int	accepted;
	} files[] = {
		{"ds_anchor_line_is_accepted",
		    "signed.test. IN DS 16738 13 2 "
		    "fe7a37c1dff039cde61ff958971c309cb8f34f7c5b9b643159c84f8d830aadb2\n", 1},
		{"dnskey_anchor_line_is_accepted",
		    "signed.test. IN DNSKEY 257 3 13 kbxYKHt1/4Pl0/FSqJvyBJqorDrMNBLKuhPkik17ToPm"
		    "+Uz9n4pv/BH3pI3CAnz5X4S18/zGOyMFNbrWzijxmA==\n", 1},
		{"malformed_anchor_is_refused", "signed.test. IN DS this is not a digest\n", 0},
	};
	char path[512], err[256];
	struct dns_resolver *r;
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/anchor%zu", dir, i);
		if (!TAP_OK(write_file(path, files[i].text) == 0, "%s: file written",
		    files[i].name))
			continue;
		err[0] = '\0';
		r = resolver_at(port, 500, path, err, sizeof(err));
		if (files[i].accepted)
			TAP_OK(r != NULL, "%s (\"%s\")", files[i].name, err);
		else
			TAP_OK(r == NULL && strstr(err, "trust anchor") != NULL, "%s (\"%s\")",
			    files[i].name, err);
		dns_resolver_free(r);
		unlink(path);
	}
}

/* The DNSKEY cannot be fetched: the answer must be neither usable nor secure. */
static void check_unreachable(unsigned port, const char *dir)
{
	char path[512], err[256] = "";
	struct dns_resolver *r;
	struct dns_answer *a = NULL;
	enum dns_status st;

	snprintf(path, sizeof(path), "%s/anchor", dir);
	if (!TAP_OK(write_file(path, "signed.test. IN DS 16738 13 2 fe7a37c1dff039cde61ff958"
	    "971c309cb8f34f7c5b9b643159c84f8d830aadb2\n") == 0, "unreachable: anchor written"))
		return;
	r = resolver_at(port, 500, path, err, sizeof(err));
	if (TAP_OK(r != NULL, "unreachable: resolver made (\"%s\")", err)) {
		st = dns_query(r, NULL, "www.signed.test", DNS_TYPE_A, &a);
		TAP_STR_EQ(dns_status_name(st), "tempfail",
		    "anchored_zone_without_answers_is_tempfail_not_bogus");
		TAP_OK(a == NULL || (a->secure == 0 && a->count == 0),
		    "anchored_zone_without_answers_is_not_secure");
		dns_answer_free(a);
		dns_resolver_free(r);
	}
	unlink(path);
}

static void check_offline(void)
{
	char dir[] = "/tmp/signet-dnssec.XXXXXX";
	int fds[2] = {-1, -1};
	unsigned port = 0;

	if (!TAP_OK(mkdtemp(dir) != NULL, "offline: temporary directory made")) {
		printf("#   %s\n", strerror(errno));
		return;
	}
	if (silent_port(fds, &port) != 0)
		printf("# silent server: %s\n", strerror(errno));
	if (TAP_OK(port != 0 && fds[1] >= 0, "offline: silent server listens")) {
		check_anchor_files(port, dir);
		check_unreachable(port, dir);
	}
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	char *end, path[512];
	unsigned long port;

	if (argc == 1) {	/* as one of make check's programs: what needs no server */
		check_offline();
		return tap_done();
	}
	if (argc != 3) {
		fprintf(stderr, "usage: test-dnssec [PORT WORKDIR]\n");
		return 2;
	}
	errno = 0;
	port = strtoul(argv[1], &end, 10);
	if (errno != 0 || *end != '\0' || port == 0 || port > 65535) {
		fprintf(stderr, "test-dnssec: bad port %s\n", argv[1]);
		return 2;
	}
	check_offline();
	snprintf(path, sizeof(path), "%s/ds.anchor", argv[2]);
	check_valid_anchor((unsigned)port, path, "ds");
	snprintf(path, sizeof(path), "%s/dnskey.anchor", argv[2]);
	check_valid_anchor((unsigned)port, path, "dnskey");
	check_without_anchor((unsigned)port);
	check_tampered((unsigned)port, argv[2]);
	check_dkim((unsigned)port, argv[2]);
	return tap_done();
}
