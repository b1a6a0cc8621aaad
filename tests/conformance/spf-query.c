/*
 * NAME
 *	spf-query - one SPF check through Signet's resolver, for the RFC 7208 suite
 * SYNOPSIS
 *	spf-query NAMESERVER-IP PORT CLIENT-IP HELO MAILFROM [--helo-only]
 *	spf-query		(TAP: the checks that need no DNS)
 * DESCRIPTION
 *	Builds a dns_resolver that forwards to NAMESERVER-IP@PORT only, runs
 *	spfcheck_mailfrom() (or spfcheck_helo() with --helo-only) and prints the result
 *	name on the first line and the outcome's reason on the second.
 *
 *	Without arguments (make check runs every check program so) it tests, as TAP, the
 *	outcomes spfcheck decides before any DNS query: identities that RFC 7208 section
 *	4.3 answers with "none", client addresses, result names.
 * DIAGNOSTICS
 *	Exit 0 when a result was printed, 2 on a wrong number of arguments, 1 when the
 *	resolver could not be made (a bad nameserver or port) or memory ran out.
 * SEE ALSO
 *	spf-suite.py, milter/spfcheck.h
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dns.h"
#include "milter/spfcheck.h"
#include "tests/conformance/queryresolver.h"
#include "tests/unit/tap.h"

struct dnsfree_case {
	const char *ip, *helo, *mail_from;
	enum spfcheck_result want;
};

/* All of these are decided before a query is sent (the nameserver is the discard port). */
static const struct dnsfree_case dnsfree_cases[] = {
	{ "192.0.2.1", "mail.example.net", "a@A123456789012345678901234567890123456789012345678901234567890123.example.com", SPFCHECK_NONE },
	{ "192.0.2.1", "mail.example.net", "a@A...example.com", SPFCHECK_NONE },
	{ "192.0.2.1", "A2345678", "", SPFCHECK_NONE },
	{ "192.0.2.1", "A2345678", "<>", SPFCHECK_NONE },
	{ "192.0.2.1", "[192.0.2.1]", "", SPFCHECK_NONE },
	{ "192.0.2.1", "OEMCOMPUTER", "foo@[192.0.2.1]", SPFCHECK_NONE },
	{ "192.0.2.1", "OEMCOMPUTER", "foo", SPFCHECK_NONE },
	{ "not-an-address", "mail.example.net", "a@example.net", SPFCHECK_TEMPERROR },
};

static int
self_test(void)
{
	struct nameserver ns = { "127.0.0.1", 9 };
	struct dns_options opt = { &ns, 1, NULL, 200 };
	struct dns_resolver *dns;
	struct spfcheck_outcome out;
	char err[256];
	size_t i;

	dns = dns_resolver_new(&opt, err, sizeof(err));
	if (!TAP_OK(dns != NULL, "resolver_made"))
		printf("#   %s\n", err);
	for (i = 0; dns != NULL && i < sizeof(dnsfree_cases) / sizeof(dnsfree_cases[0]); i++) {
		const struct dnsfree_case *c = &dnsfree_cases[i];

		TAP_OK(spfcheck_mailfrom(dns, NULL, c->ip, c->helo, c->mail_from, &out),
		    "mailfrom_returns_1: %s", c->mail_from);
		TAP_STR_EQ(spfcheck_result_name(out.result), spfcheck_result_name(c->want),
		    "mailfrom_decided_without_dns: ip %s helo %s from \"%s\"", c->ip, c->helo,
		    c->mail_from);
		TAP_OK(out.reason[0] != '\0' && strpbrk(out.reason, "()\\\r\n") == NULL,
		    "reason_fits_a_comment: \"%s\"", out.reason);
	}
	if (dns != NULL) {
		spfcheck_helo(dns, NULL, "192.0.2.1", "A2345678", &out);
		TAP_INT_EQ(out.result, SPFCHECK_NONE, "helo_single_label_is_none");
		TAP_STR_EQ(out.domain, "A2345678", "helo_domain_reported");
	}
	TAP_STR_EQ(spfcheck_result_name(SPFCHECK_SOFTFAIL), "softfail", "result_name_softfail");
	TAP_STR_EQ(spfcheck_result_name(SPFCHECK_PERMERROR), "permerror", "result_name_permerror");
	dns_resolver_free(dns);
	return tap_done();
}

int
main(int argc, char **argv)
{
	struct dns_resolver *dns;
	struct dns_budget budget;
	struct spfcheck_outcome out;
	char err[256];
	int helo_only = argc == 7 && strcmp(argv[6], "--helo-only") == 0, ok;

	if (argc == 1)
		return self_test();
	if (argc != 6 && !helo_only) {
		fprintf(stderr, "usage: spf-query NAMESERVER-IP PORT CLIENT-IP HELO MAILFROM [--helo-only]\n");
		return 2;
	}
	if ((dns = query_resolver(argv[1], argv[2], err, sizeof(err))) == NULL) {
		fprintf(stderr, "spf-query: %s\n", err);
		return 1;
	}
	dns_budget_init(&budget, 100, 20000);
	if (helo_only)
		ok = spfcheck_helo(dns, &budget, argv[3], argv[4], &out);
	else
		ok = spfcheck_mailfrom(dns, &budget, argv[3], argv[4], argv[5], &out);
	dns_resolver_free(dns);
	if (!ok) {
		fprintf(stderr, "spf-query: out of memory\n");
		return 1;
	}
	printf("%s\n%s\n", spfcheck_result_name(out.result), out.reason);
	return 0;
}
