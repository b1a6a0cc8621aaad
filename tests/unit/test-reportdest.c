/*
 * NAME
 *	test-reportdest - unit tests of report destinations: rua=/ruf= parsing and the
 *	external destination check (RFC 9990 section 4)
 * DESCRIPTION
 *	Parsing is a table: a published value and every destination it gives, in one line
 *	each.  The check runs against a fake DNS (a table of TXT names, as in test-dmarc.c)
 *	that logs the names asked, so the tests see which queries were made and which
 *	were not.  Wildcards are DNS's business: the fake lists the names it answers, the
 *	wildcard case runs against NSD in tests/reports/send.py.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/reportdest.h"
#include "tests/unit/fakedns.h"
#include "tests/unit/tap.h"

/* ---- parsing --------------------------------------------------------------------------- */

/* Each destination as "address size" or "! uri: reason", joined by " | ". */
static void describe(const char *uris, char *out, size_t size)
{
	struct reportdest d[REPORTDEST_MAX];
	size_t	n = reportdest_parse(uris, d, REPORTDEST_MAX), i, used = 0;

	out[0] = '\0';
	for (i = 0; i < n && used < size; i++) {
		int	w;

		if (d[i].usable)
			w = snprintf(out + used, size - used, "%s%s %llu", i ? " | " : "",
			    d[i].address, d[i].max_size);
		else
			w = snprintf(out + used, size - used, "%s! %s: %s", i ? " | " : "",
			    d[i].uri, d[i].reason);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

struct parse_case {
	const char *uris;
	const char *want;
};

static const struct parse_case parse_cases[] = {
	{"mailto:dmarc@example.com", "dmarc@example.com 0"},
	{"  mailto:a@example.com , MAILTO:b@Sub.Example.COM\t", "a@example.com 0 | "
	 "b@sub.example.com 0"},
	{"mailto:a@example.com!10m", "a@example.com 10485760"},
	{"mailto:a@example.com!1k,mailto:b@example.com!7,mailto:c@example.com!2G",
	 "a@example.com 1024 | b@example.com 7 | c@example.com 2147483648"},
	{"mailto:a@example.com!99999999999999999999t", "a@example.com 18446744073709551615"},
	{"mailto:first.last+tag@example.com", "first.last+tag@example.com 0"},
	{"mailto:d%6Darc@example.com", "dmarc@example.com 0"},
	{"mailto:x%21y@example.com", "x!y@example.com 0"},
	{",,mailto:a@example.com,", "a@example.com 0"},
	{"", ""},
	/* only mailto:, each URI on its own */
	{"https://r.example/report, mailto:a@example.com", "! https://r.example/report: "
	 "unsupported URI scheme (only mailto: is) | a@example.com 0"},
	{"a@example.com", "! a@example.com: not a URI (no scheme)"},
	{"mailto:a@example.com!", "! mailto:a@example.com!: bad size suffix "
	 "(want !DIGITS[k|m|g|t])"},
	{"mailto:a@example.com!10x", "! mailto:a@example.com!10x: bad size suffix "
	 "(want !DIGITS[k|m|g|t])"},
	/* hostile values: no header fields, no second recipient, no line breaks */
	{"mailto:a@example.com?cc=victim@example.net", "! mailto:a@example.com?cc=victim@"
	 "example.net: mailto: URI with header fields (\"?\") refused"},
	{"mailto:a@example.com%3Fsubject=x", "! mailto:a@example.com%3Fsubject=x: mailto: "
	 "address whose domain is not a host name"},
	{"mailto:a@example.com%2Cb@example.net", "! mailto:a@example.com%2Cb@example.net: "
	 "mailto: not one address with a plain local part (several addresses, a quoted or "
	 "over-long local part)"},
	{"mailto:a%40example.com@example.net", "! mailto:a%40example.com@example.net: "
	 "mailto: not one address with a plain local part (several addresses, a quoted "
	 "or over-long local part)"},
	{"mailto:a@example.com%0D%0ABcc:victim@example.net", "! mailto:a@example.com%0D%0A"
	 "Bcc:victim@example.net: mailto: address too long, badly percent-encoded, or "
	 "holding a blank or control character"},
	{"mailto:a%20b@example.com", "! mailto:a%20b@example.com: mailto: address too long, "
	 "badly percent-encoded, or holding a blank or control character"},
	{"mailto:a@example.com%", "! mailto:a@example.com%: mailto: address too long, badly "
	 "percent-encoded, or holding a blank or control character"},
	{"mailto:a@example.com%4", "! mailto:a@example.com%4: mailto: address too long, badly "
	 "percent-encoded, or holding a blank or control character"},
	{"mailto:\"a b\"@example.com", "! mailto:\"a b\"@example.com: URI holding a blank or "
	 "control character"},
	{"mailto:%22ab%22@example.com", "! mailto:%22ab%22@example.com: mailto: not one "
	 "address with a plain local part (several addresses, a quoted or over-long local "
	 "part)"},
	{"mailto:a@[192.0.2.1]", "! mailto:a@[192.0.2.1]: mailto: address whose domain is "
	 "not a host name"},
	{"mailto:<a@example.com>", "! mailto:<a@example.com>: mailto: not one address with a "
	 "plain local part (several addresses, a quoted or over-long local part)"},
	{"mailto:a..b@example.com", "! mailto:a..b@example.com: mailto: not one address with "
	 "a plain local part (several addresses, a quoted or over-long local part)"},
	{"mailto:example.com", "! mailto:example.com: mailto: address without \"@\""},
	{"mailto:a@ex_ample.com", "! mailto:a@ex_ample.com: mailto: address whose domain is "
	 "not a host name"},
	{"mailto:a@example.com\x01", "! mailto:a@example.com?: URI holding a blank or control "
	 "character"},
};

static void test_parse_table(void)
{
	char	got[2048];
	size_t	i;

	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		describe(parse_cases[i].uris, got, sizeof(got));
		TAP_STR_EQ(got, parse_cases[i].want, "parse \"%s\"", parse_cases[i].uris);
	}
}

static void test_parse_limits(void)
{
	struct reportdest d[REPORTDEST_MAX + 2];
	char	many[64 * (REPORTDEST_MAX + 2)], local[80], uri[400];
	size_t	i, used = 0;

	for (i = 0; i < REPORTDEST_MAX + 2; i++)
		used += (size_t)snprintf(many + used, sizeof(many) - used, "%smailto:r%zu@example.com",
		    i ? "," : "", i);
	TAP_INT_EQ(reportdest_parse(many, d, REPORTDEST_MAX + 2), REPORTDEST_MAX + 2,
	    "parse_fills_up_to_max");
	TAP_INT_EQ(reportdest_parse(many, d, REPORTDEST_MAX), REPORTDEST_MAX,
	    "parse_stops_at_max (the receiver's limit on URIs)");
	TAP_STR_EQ(d[REPORTDEST_MAX - 1].address, "r7@example.com", "parse_keeps_the_order");
	TAP_INT_EQ(reportdest_parse(NULL, d, REPORTDEST_MAX), 0, "parse_of_null_is_empty");

	memset(local, 'l', 64);
	local[64] = '\0';
	snprintf(uri, sizeof(uri), "mailto:%s@example.com", local);
	TAP_OK(reportdest_parse(uri, d, 1) == 1 && d[0].usable, "parse_local_part_of_64");
	snprintf(uri, sizeof(uri), "mailto:%sl@example.com", local);
	TAP_OK(reportdest_parse(uri, d, 1) == 1 && !d[0].usable,
	    "parse_refuses_local_part_of_65");

	memset(uri, 'a', sizeof(uri) - 1);
	uri[sizeof(uri) - 1] = '\0';
	memcpy(uri, "mailto:", 7);
	TAP_OK(reportdest_parse(uri, d, 1) == 1 && !d[0].usable &&
	    strcmp(d[0].reason, "URI too long") == 0 && strlen(d[0].uri) < REPORTDEST_URI_MAX,
	    "parse_shortens_a_long_uri (%s)", d[0].reason);
}

/* ---- the fake DNS ---------------------------------------------------------------------- */

/* keeps its NUL byte, as dns_query_txt() would */
#define NUL_RECORD "v=DMARC1\0; rua=mailto:x@victim.example"

static const struct fake_txt zone[] = {
	{"_dmarc.blue.example", {"v=DMARC1; p=none; rua=mailto:d@blue.example"}},
	{"_dmarc.red.example", {"v=DMARC1; p=none"}},
	{"blue.example._report._dmarc.red.example", {"v=DMARC1"}},
	{"blue.example._report._dmarc.multi.example", {"v=spf1 -all", "v=DMARC1;"}},
	{"blue.example._report._dmarc.spf.example", {"v=spf1 -all", "v=DMARC2"}},
	{"blue.example._report._dmarc.late.example", {"p=none; v=DMARC1"}},
	{"blue.example._report._dmarc.over.example",
	 {"v=DMARC1; rua=mailto:other@over.example!5m, https://over.example/x"}},
	{"blue.example._report._dmarc.evil.example",
	 {"v=DMARC1; rua=mailto:a@evil.example,mailto:victim@victim.example"}},
	{"blue.example._report._dmarc.evilweb.example",
	 {"v=DMARC1; rua=https://victim.example/in"}},
	{"blue.example._report._dmarc.bad.example", {"v=DMARC1; rua=mailto:x@bad.example?cc=y"}},
	{"blue.example._report._dmarc.nul.example", {NUL_RECORD}},
	{"blue.example._report._dmarc.empty.example", {NULL}},
	{NULL, {NULL}},
};

static const char *const tempfail[] = {
	"blue.example._report._dmarc.slow.example", "_dmarc.mx.shaky.example", NULL
};

/* The tables this file's cases ask. */
static void reset_fake(struct dmarc_dns *dns, struct fake *f)
{
	memset(f, 0, sizeof(*f));
	f->zone = zone;
	f->tempfail = tempfail;
	f->nul_name = "blue.example._report._dmarc.nul.example";
	f->nul_len = sizeof(NUL_RECORD) - 1;
	fake_dns(dns, f);
}

/* ---- the external destination check ---------------------------------------------------- */

struct auth_case {
	const char *policy_domain;
	const char *uri;
	enum reportdest_auth want;
	const char *address;		/* after the check */
	unsigned long long max_size;
	const char *reason;		/* a part of it */
	int	report_query;		/* whether _report._dmarc was asked */
};

static const struct auth_case auth_cases[] = {
	/* internal: the same host, or the same Organizational Domain */
	{"blue.example", "mailto:d@blue.example", REPORTDEST_AUTHORIZED, "d@blue.example", 0,
	 "internal (blue.example)", 0},
	{"blue.example", "mailto:d@mx.blue.example", REPORTDEST_AUTHORIZED, "d@mx.blue.example",
	 0, "internal (Organizational Domain blue.example)", 0},
	{"sub.blue.example", "mailto:d@blue.example", REPORTDEST_AUTHORIZED, "d@blue.example", 0,
	 "internal (Organizational Domain blue.example)", 0},
	/* external, authorized */
	{"blue.example", "mailto:r@red.example!2k", REPORTDEST_AUTHORIZED, "r@red.example", 2048,
	 "authorized by blue.example._report._dmarc.red.example", 1},
	{"Blue.Example.", "mailto:r@red.example", REPORTDEST_AUTHORIZED, "r@red.example", 0,
	 "authorized by blue.example._report._dmarc.red.example", 1},
	{"blue.example", "mailto:r@multi.example", REPORTDEST_AUTHORIZED, "r@multi.example", 0,
	 "authorized by blue.example._report._dmarc.multi.example", 1},
	/* external, not authorized */
	{"blue.example", "mailto:r@green.example", REPORTDEST_REFUSED, "r@green.example", 0,
	 "not authorized: TXT blue.example._report._dmarc.green.example: nxdomain", 1},
	{"blue.example", "mailto:r@empty.example", REPORTDEST_REFUSED, "r@empty.example", 0,
	 "not authorized: TXT blue.example._report._dmarc.empty.example: nodata", 1},
	{"blue.example", "mailto:r@spf.example", REPORTDEST_REFUSED, "r@spf.example", 0,
	 "not authorized: no v=DMARC1 record at blue.example._report._dmarc.spf.example", 1},
	{"blue.example", "mailto:r@late.example", REPORTDEST_REFUSED, "r@late.example", 0,
	 "no v=DMARC1 record", 1},
	/* a temporary failure is not a refusal */
	{"blue.example", "mailto:r@slow.example", REPORTDEST_TEMPFAIL, "r@slow.example", 0,
	 "TXT blue.example._report._dmarc.slow.example: tempfail, try again later", 1},
	{"blue.example", "mailto:r@mx.shaky.example", REPORTDEST_TEMPFAIL, "r@mx.shaky.example",
	 0, "Organizational Domain of mx.shaky.example: tempfail", 0},
	/* the override: the same host only */
	{"blue.example", "mailto:r@over.example!1k", REPORTDEST_AUTHORIZED, "other@over.example",
	 5242880, "overridden to mailto:other@over.example!5m", 1},
	{"blue.example", "mailto:r@evil.example", REPORTDEST_REFUSED, "r@evil.example", 0,
	 "mailto:victim@victim.example, on another host: no report to either", 1},
	{"blue.example", "mailto:r@evilweb.example", REPORTDEST_REFUSED, "r@evilweb.example", 0,
	 "https://victim.example/in, on another host", 1},
	{"blue.example", "mailto:r@bad.example", REPORTDEST_AUTHORIZED, "r@bad.example", 0,
	 "its rua= has no usable mailto:", 1},
	{"blue.example", "mailto:r@nul.example", REPORTDEST_REFUSED, "r@nul.example", 0,
	 "no v=DMARC1 record", 1},
	/* a bad policy domain asks nothing */
	{"blue example", "mailto:r@red.example", REPORTDEST_REFUSED, "r@red.example", 0,
	 "policy domain blue example is not a domain name", 0},
};

static int asked_report_name(const struct fake *f)
{
	size_t	i;

	for (i = 0; i < f->queries && i < sizeof(f->log) / sizeof(f->log[0]); i++)
		if (strstr(f->log[i], "._report._dmarc.") != NULL)
			return 1;
	return 0;
}

static void test_authorize_table(void)
{
	size_t	i;

	for (i = 0; i < sizeof(auth_cases) / sizeof(auth_cases[0]); i++) {
		const struct auth_case *c = &auth_cases[i];
		struct dmarc_dns dns;
		struct fake f;
		struct reportdest d;
		enum reportdest_auth got;

		reset_fake(&dns, &f);
		if (reportdest_parse(c->uri, &d, 1) != 1 || !d.usable) {
			TAP_OK(0, "authorize %s for %s: the URI parses (%s)", c->uri,
			    c->policy_domain, d.reason);
			continue;
		}
		got = reportdest_authorize(&dns, c->policy_domain, &d);
		TAP_STR_EQ(reportdest_auth_name(got), reportdest_auth_name(c->want),
		    "authorize %s for %s (%s)", c->uri, c->policy_domain, d.reason);
		TAP_STR_EQ(d.address, c->address, "authorize %s for %s: address", c->uri,
		    c->policy_domain);
		TAP_INT_EQ(d.max_size, c->max_size, "authorize %s for %s: size", c->uri,
		    c->policy_domain);
		TAP_OK(strstr(d.reason, c->reason) != NULL, "authorize %s for %s: reason says "
		    "\"%s\" (%s)", c->uri, c->policy_domain, c->reason, d.reason);
		TAP_INT_EQ(asked_report_name(&f), c->report_query,
		    "authorize %s for %s: _report._dmarc asked or not", c->uri, c->policy_domain);
		TAP_STR_EQ(d.uri, c->uri, "authorize case %zu: uri stays the published one", i);
	}
}

static void test_authorize_limits(void)
{
	struct dmarc_dns dns;
	struct fake f;
	struct reportdest d;
	char	pd[DMARC_DOMAIN_MAX];
	enum reportdest_auth got;

	/* 200 + 16 + 49 > 253: the name cannot be asked */
	memset(pd, 'a', 200);
	memcpy(pd + 200 - 8, ".example", 9);
	pd[60] = pd[120] = pd[180] = '.';
	reset_fake(&dns, &f);
	reportdest_parse("mailto:r@reports.a-rather-long-destination-host-name.example", &d, 1);
	got = reportdest_authorize(&dns, pd, &d);
	TAP_STR_EQ(reportdest_auth_name(got), "refused", "authorize_name_over_dns_limits (%s)",
	    d.reason);
	TAP_OK(!asked_report_name(&f) && strstr(d.reason, "length limits") != NULL,
	    "authorize_name_over_dns_limits_asks_nothing (%s)", d.reason);

	reset_fake(&dns, &f);
	reportdest_parse("https://red.example/x", &d, 1);
	got = reportdest_authorize(&dns, "blue.example", &d);
	TAP_OK(got == REPORTDEST_REFUSED && f.queries == 0 &&
	    strstr(d.reason, "unsupported") != NULL,
	    "authorize_unusable_keeps_its_reason (%s)", d.reason);
	TAP_INT_EQ(reportdest_authorize(NULL, "blue.example", &d), REPORTDEST_REFUSED,
	    "authorize_without_dns_refuses");
}

int	main(void)
{
	test_parse_table();
	test_parse_limits();
	test_authorize_table();
	test_authorize_limits();
	return tap_done();
}
