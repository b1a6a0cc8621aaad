/*
 * NAME
 *	test-spfrecord - table-driven tests of Signet's strict SPF record check
 * SYNOPSIS
 *	tests/unit/test-spfrecord	(TAP on stdout)
 * DESCRIPTION
 *	Each row is a record and whether RFC 7208 calls it valid; the section that decides
 *	it is in the comment.  Then record selection (section 4.5) and the section 4.3
 *	test of domains to check.
 * SEE ALSO
 *	milter/spfrecord.h
 */
#include <string.h>

#include "milter/spfrecord.h"
#include "tests/unit/tap.h"
#include "tests/unit/torture.h"

struct record_case {
	const char *record;
	int	valid;
};

static const struct record_case records[] = {
	/* version tag and spacing (4.5, 4.6.1, 12) */
	{ "v=spf1", 1 },
	{ "V=SpF1 -all", 1 },
	{ "v=spf1  a  -all ", 1 },
	{ "v=spf10", 0 },
	{ "v=spf2 -all", 0 },
	{ "v=spf1\t-all", 0 },
	{ "v=spf1 a:ctrl.example.com\rptr -all", 0 },
	{ "v=spf1 \x80" "a:example.net -all", 0 },
	/* all (5.1) */
	{ "v=spf1 ?all", 1 },
	{ "v=spf1 all -all", 1 },
	{ "v=spf1 -all.", 0 },
	{ "v=spf1 -all:foobar", 0 },
	{ "v=spf1 -all/8", 0 },
	/* unknown mechanisms, errors anywhere (4.6) */
	{ "v=spf1 ip4:1.2.3.4 -all moo", 0 },
	{ "v=spf1 redirect:t2.example.com", 0 },
	{ "v=spf1 moo.cow/far_out=man:dog/cat ip4:1.2.3.4 -all", 0 },
	{ "v=spf1 moo.cow:far_out=man:dog/cat ip4:1.2.3.4 -all", 0 },
	/* include (5.2) */
	{ "v=spf1 include:ip5.example.com ~all", 1 },
	{ "v=spf1 include +all", 0 },
	{ "v=spf1 include: -all", 0 },
	{ "v=spf1 include:ip5.example.com/24 -all", 0 },
	{ "v=spf1 include:o.spf.example.com. ~all", 1 },
	/* a and mx, CIDR lengths (5.3, 5.4) */
	{ "v=spf1 a/0 -all", 1 },
	{ "v=spf1 a//0 -all", 1 },
	{ "v=spf1 a//33 -all", 1 },
	{ "v=spf1 a/33 -all", 0 },
	{ "v=spf1 a//129 -all", 0 },
	{ "v=spf1 a/24//64 -all", 1 },
	{ "v=spf1 a/24/64 -all", 0 },
	{ "v=spf1 a/024 -all", 0 },
	{ "v=spf1 a:foo.example.com/24", 1 },
	{ "v=spf1 a:foo:bar/baz.example.com", 1 },
	{ "v=spf1 a:example.com:8080", 0 },
	{ "v=spf1 a:", 0 },
	{ "v=spf1 mx: -all", 0 },
	{ "v=spf1 mx:foo.example.com/24//96", 1 },
	/* domain-spec endings (7.1, 12) */
	{ "v=spf1 a:111.222.33.44", 0 },
	{ "v=spf1 a:abc.123", 0 },
	{ "v=spf1 a:museum", 0 },
	{ "v=spf1 a:museum.", 0 },
	{ "v=spf1 a:example.-com", 0 },
	{ "v=spf1 a:foo-bar -all", 0 },
	{ "v=spf1 a:foo.example.xn--zckzah -all", 1 },
	{ "v=spf1 a:foo.example.1-1 -all", 1 },
	{ "v=spf1 a:mail.example...com -all", 0 },
	{ "v=spf1 a:a123456789012345678901234567890123456789012345678901234567890123.example.com -all", 0 },
	{ "v=spf1 a:%{H}.bar -all", 1 },
	{ "v=spf1 a:%{d}", 1 },
	/* ptr (5.5) */
	{ "v=spf1 ptr -all", 1 },
	{ "v=spf1 ptr:example.com -all", 1 },
	{ "v=spf1 ptr/0 -all", 0 },
	{ "v=spf1 ptr:", 0 },
	/* ip4 and ip6 (5.6) */
	{ "v=spf1 ip4:1.1.1.1/0 -all", 1 },
	{ "v=spf1 ip4:1.2.3.4/32 -all", 1 },
	{ "v=spf1 ip4:1.2.3.4/33 -all", 0 },
	{ "v=spf1 ip4:1.2.3.4/032 -all", 0 },
	{ "v=spf1 ip4", 0 },
	{ "v=spf1 ip4:1.2.3.4//32", 0 },
	{ "v=spf1 ip4:1.2.3.4:8080", 0 },
	{ "v=spf1 ip4:1.2.3", 0 },
	{ "v=spf1 ip4:01.2.3.4", 0 },
	{ "v=spf1 ip4:256.2.3.4", 0 },
	{ "v=spf1 ip4:", 0 },
	{ "v=spf1 ip6:::1.1.1.1/0", 1 },
	{ "v=spf1 ip6:Cafe:Babe:8000::/33", 1 },
	{ "v=spf1 -ip4:1.2.3.4 ip6:::FFFF:1.2.3.4", 1 },
	{ "v=spf1 -all ip6", 0 },
	{ "v=spf1 ip6:::1.1.1.1/129", 0 },
	{ "v=spf1 ip6:::1.1.1.1//33", 0 },
	{ "v=spf1 ip6::CAFE::BABE", 0 },
	/* exists (5.7) */
	{ "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all", 1 },
	{ "v=spf1 exists:", 0 },
	{ "v=spf1 exists", 0 },
	{ "v=spf1 exists:mail.example.com/24", 0 },
	/* modifiers (6, A) */
	{ "v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all", 1 },
	{ "v=spf1 default=pass", 1 },
	{ "v=spf1 default=+", 1 },
	{ "v=spf1 foo=", 1 },
	{ "v=spf1 1up=foo", 0 },
	{ "v=spf1 =all", 0 },
	{ "v=spf1 -all foo=%abc", 0 },
	{ "v=spf1 redirect=t5.example.com ~all", 1 },
	{ "v=spf1 redirect=%{d}.d.spf.example.com.", 1 },
	{ "v=spf1 redirect=e12.example.com -all redirect=e12.example.com", 0 },
	{ "v=spf1 exp=a.example.com -all exp=b.example.com", 0 },
	{ "v=spf1 exp= -all", 0 },
	{ "v=spf1 exp=-all", 0 },
	{ "v=spf1 ?all redirect=", 0 },
	{ "v=spf1 redirect=-all ?all", 0 },
	{ "v=spf1 -all REDIRECT=a.example.com Redirect=b.example.com", 0 },
	/* macros (7.1) */
	{ "v=spf1 -exists:%(ir).sbl.example.com ?all", 0 },
	{ "v=spf1 exists:foo%(ir).sbl.example.com ?all", 0 },
	{ "v=spf1 exists:foo%.sbl.example.com ?all", 0 },
	{ "v=spf1 a:macro%%percent%_%_space%-url-space.example.com -all", 1 },
	{ "v=spf1 -all exp=%{r}.example.com", 0 },
	{ "v=spf1 -all exp=%{ir}.example.com", 1 },
	{ "v=spf1 a:%{a}.example.com -all", 0 },
	{ "v=spf1 exists:%{d0}.example.com", 0 },
	{ "v=spf1 exists:%{d2}.example.com", 1 },
	{ "v=spf1 exists:%{l2r+-}.user.%{d2}", 1 },
	{ "v=spf1 exists:%{l2r+-x}.user.%{d2}", 0 },
	{ "v=spf1 exists:%{l", 0 },
	{ "v=spf1 exists:foo%", 0 },
	{ "v=spf1 exists:%{S}.%{L}.%{O}.%{D}.%{I}.%{P}.%{H}.%{V}.example.com", 1 },
};

struct domain_case {
	const char *domain;
	int	ok;
};

static const struct domain_case domains[] = {
	{ "example.com", 1 },
	{ "example.com.", 1 },
	{ "A12345678901234567890123456789012345678901234567890123456789012.example.com", 1 },
	{ "A123456789012345678901234567890123456789012345678901234567890123.example.com", 0 },
	{ "A...example.com", 0 },
	{ "A2345678", 0 },
	{ "[1.2.3.5]", 0 },
	{ "", 0 },
	{ ".", 0 },
	{ "exa mple.com", 0 },
};

/* The record as a test name: bytes outside printable ASCII as \xNN. */
static const char *
shown(const char *r)
{
	static char buf[512];
	size_t o = 0;

	for (; *r != '\0' && o + 5 < sizeof(buf); r++) {
		unsigned char c = (unsigned char)*r;

		if (c >= 0x20 && c <= 0x7e)
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\\x%02x", c);
	}
	buf[o] = '\0';
	return buf;
}

static void
test_records(void)
{
	size_t i;
	char why[128];

	for (i = 0; i < sizeof(records) / sizeof(records[0]); i++) {
		const char *r = records[i].record;
		int got = spfrecord_check(r, strlen(r), why, sizeof(why));

		if (!TAP_OK(got == records[i].valid, "record_%s: %s",
		    records[i].valid ? "valid" : "invalid", shown(r)))
			printf("#   got:  %s (%s)\n", got ? "valid" : "invalid", why);
		if (!got)
			TAP_OK(why[0] != '\0', "record_invalid_has_reason: %s", shown(r));
	}
}

struct rewrite_case {
	const char *record;
	int	v6;
	const char *want;
};

static const struct rewrite_case rewrites[] = {
	{ "v=spf1 ip4:1.2.3.4 -all", 0, "v=spf1 ip4:1.2.3.4 -all" },
	{ "v=spf1  a  -all ", 0, "v=spf1 a -all" },
	{ "v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all exp=x.example.com", 0,
	    "v=spf1 ip4:1.2.3.4 -all" },
	{ "v=spf1 redirect=t5.example.com ~all", 0, "v=spf1 ~all" },
	{ "v=spf1 redirect=t2.example.com ip4:1.2.3.4", 0, "v=spf1 ip4:1.2.3.4 redirect=t2.example.com" },
	{ "v=spf1 -ip4:1.1.1.1/0", 0, "v=spf1 -ip4:0.0.0.0/1 -ip4:128.0.0.0/1" },
	{ "v=spf1 ip6:::1.1.1.1/0", 1, "v=spf1 ip6:::/1 ip6:8000::/1" },
	{ "v=spf1 a/0 -all", 0, "v=spf1 a:%{d}" SPFRECORD_ANY_ADDRESS " -all" },
	{ "v=spf1 a/0 -all", 1, "v=spf1 a -all" },
	{ "v=spf1 ?mx:e.example.com.//0", 1, "v=spf1 ?mx:e.example.com" SPFRECORD_ANY_ADDRESS },
	{ "v=spf1 a:foo.example.com/24//64 mx/24", 0, "v=spf1 a:foo.example.com/24 mx/24" },
	{ "v=spf1 a:foo.example.com/24//64 mx/24", 1, "v=spf1 a:foo.example.com//64 mx" },
	{ "v=spf1 a:foo:bar/baz.example.com", 0, "v=spf1 a:foo:bar/baz.example.com" },
};

static void
test_rewrites(void)
{
	size_t i;

	for (i = 0; i < sizeof(rewrites) / sizeof(rewrites[0]); i++) {
		const struct rewrite_case *c = &rewrites[i];
		char *got;

		TAP_OK(spfrecord_check(c->record, strlen(c->record), NULL, 0),
		    "rewrite_input_valid: %s", c->record);
		got = spfrecord_rewrite(c->record, strlen(c->record), c->v6);
		TAP_STR_EQ(got, c->want, "rewrite_for_libspf2 (%s client): %s",
		    c->v6 ? "IPv6" : "IPv4", c->record);
		free(got);
	}
}

static void
test_record_with_nul(void)
{
	static const char rec[] = "v=spf1 a:foo.example.com\0";

	TAP_OK(!spfrecord_check(rec, sizeof(rec) - 1, NULL, 0), "record_with_nul_invalid");
	TAP_OK(spfrecord_is_spf(rec, sizeof(rec) - 1), "record_with_nul_is_still_spf");
}

static void
test_selection(void)
{
	const char *two[] = { "v=spf1 -all", "v=spf1 +all" };
	const char *mixed[] = { "NONE", "v=spf10", "V=sPf1 ~all", "v=spf1mx" };
	const char *none[] = { "v=spf1mx", "\x96", "" };
	size_t lens[4], i, idx = 99;

	for (i = 0; i < 4; i++)
		lens[i] = strlen(mixed[i]);
	TAP_INT_EQ(spfrecord_select(mixed, lens, 4, &idx), SPFRECORD_ONE, "select_one_among_others");
	TAP_INT_EQ(idx, 2, "select_picks_the_spf_record");
	for (i = 0; i < 2; i++)
		lens[i] = strlen(two[i]);
	TAP_INT_EQ(spfrecord_select(two, lens, 2, &idx), SPFRECORD_MANY, "select_two_is_many");
	for (i = 0; i < 3; i++)
		lens[i] = strlen(none[i]);
	TAP_INT_EQ(spfrecord_select(none, lens, 3, &idx), SPFRECORD_NONE, "select_none");
	TAP_INT_EQ(spfrecord_select(NULL, NULL, 0, &idx), SPFRECORD_NONE, "select_empty_set");
}

static void
test_domains(void)
{
	size_t i;

	for (i = 0; i < sizeof(domains) / sizeof(domains[0]); i++)
		TAP_INT_EQ(spfrecord_domain_ok(domains[i].domain), domains[i].ok,
		    "domain_%s: \"%s\"", domains[i].ok ? "ok" : "refused", domains[i].domain);
}

/* ---- allocation failures: the rewrite is the one allocation of this file --------------- */

static const char torture_record[] = "v=spf1 ip4:192.0.2.0/24 a/0 mx:mail.example.com//0 "
    "include:_spf.example.net -ip6:::1.1.1.1/0 redirect=r.example.org";

static enum torture_outcome
rewrite_once(void *context)
{
	char *got = spfrecord_rewrite(torture_record, strlen(torture_record), 0);
	int right = got != NULL && strcmp(got, context) == 0;

	if (got == NULL)
		return TORTURE_ERROR;
	free(got);
	return right ? TORTURE_DONE : TORTURE_WRONG;
}

static void
test_allocation_failures(void)
{
	char *want = spfrecord_rewrite(torture_record, strlen(torture_record), 0);
	size_t idx, len = strlen(torture_record);
	const char *one[] = { torture_record };
	int valid;

	alloc_fail_at(1);
	valid = spfrecord_check(torture_record, len, NULL, 0) &&
	    spfrecord_select(one, &len, 1, &idx) == SPFRECORD_ONE &&
	    spfrecord_domain_ok("mail.example.com");
	TAP_OK(valid && !alloc_failed(), "check, select and domain_ok allocate nothing");
	alloc_fail_at(0);
	if (TAP_OK(want != NULL, "a record to rewrite: %s", want ? want : "(null)"))
		torture("spfrecord_rewrite", rewrite_once, want, TORTURE_NO_RECOVERY);
	free(want);
}

int
main(void)
{
	test_records();
	test_record_with_nul();
	test_rewrites();
	test_selection();
	test_domains();
	test_allocation_failures();
	return tap_done();
}
