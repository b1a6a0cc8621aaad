/*
 * NAME
 *	test-dmarc - unit tests of DMARC record parsing, the DNS Tree Walk, policy
 *	selection and alignment (RFC 9989), and of PSL mode (RFC 7489)
 * DESCRIPTION
 *	DNS is a table: _dmarc names with their TXT strings, names whose lookup fails,
 *	domains that do not exist.  The record parser reads with lib/taglist.c's cursor,
 *	whose TAGLIST_WSP white space DMARC alone uses, so that cursor is tested here too.  The fake logs every name asked, so the tests can check
 *	the order and number of queries a walk makes.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/taglist.h"
#include "lib/dmarc.h"
#include "tests/unit/fakedns.h"
#include "tests/unit/tap.h"
#include "tests/unit/torture.h"

#define PSL_FILE "/usr/share/publicsuffix/public_suffix_list.dat"

/* ---- record parsing ------------------------------------------------------------------ */

static const char *state_text(enum dmarc_tag_state state, enum dmarc_policy policy)
{
	if (state == DMARC_TAG_ABSENT)
		return "-";
	if (state == DMARC_TAG_INVALID)
		return "!";
	return dmarc_policy_name(policy);
}

/* The record in one line, or "not a record". */
static void describe(const char *txt, size_t len, char *out, size_t size)
{
	static const char psd[] = "uyn";
	struct dmarc_record r;
	char	err[128];

	if (!dmarc_record_parse(txt, len, &r, err, sizeof(err))) {
		snprintf(out, size, "not a record");
		return;
	}
	snprintf(out, size, "p=%s sp=%s np=%s psd=%c t=%c adkim=%c aspf=%c rua=%d ign=%u",
	    state_text(r.p_state, r.p), state_text(r.sp_state, r.sp),
	    state_text(r.np_state, r.np), psd[r.psd], r.testing ? 'y' : 'n',
	    r.adkim_strict ? 's' : 'r', r.aspf_strict ? 's' : 'r', r.has_rua, r.ignored);
}

struct record_case {
	const char *txt;
	const char *want;
};

#define DEFAULTS "sp=- np=- psd=u t=n adkim=r aspf=r rua=0"

static const struct record_case record_cases[] = {
	{"v=DMARC1; p=none", "p=none " DEFAULTS " ign=0"},
	{"v=DMARC1;p=reject;sp=quarantine;np=none;psd=n;t=y;adkim=s;aspf=s;rua=mailto:a@b.example",
	 "p=reject sp=quarantine np=none psd=n t=y adkim=s aspf=s rua=1 ign=0"},
	{"v=DMARC1", "p=- " DEFAULTS " ign=0"},
	{"v=DMARC1;", "p=- " DEFAULTS " ign=0"},
	{"v = DMARC1 ; p = quarantine ; ", "p=quarantine " DEFAULTS " ign=0"},
	{"v=DMARC1;\tp=none\t;\tsp=reject\t", "p=none sp=reject np=- psd=u t=n adkim=r aspf=r "
	 "rua=0 ign=0"},
	{"V=DMARC1; P=Reject; ADKIM=S; Psd=Y", "p=reject sp=- np=- psd=y t=n adkim=s aspf=r "
	 "rua=0 ign=0"},
	{"v=DMARC1; sp=none; p=reject", "p=reject sp=none np=- psd=u t=n adkim=r aspf=r rua=0 "
	 "ign=0"},
	/* the version: first, exact, case-sensitive value, followed by ";" or the end */
	{"v=dmarc1; p=none", "not a record"},
	{"p=none; v=DMARC1", "not a record"},
	{" v=DMARC1; p=none", "not a record"},
	{"v=DMARC1 p=none", "not a record"},
	{"v=DMARC10; p=none", "not a record"},
	{"v=spf1 -all", "not a record"},
	{"", "not a record"},
	/* after the version nothing is fatal: bad tags are ignored one by one */
	{"v=DMARC1; p=none; pct=50; rf=afrf; ri=3600", "p=none " DEFAULTS " ign=3"},
	{"v=DMARC1; p=none; foo=bar; x; =y", "p=none " DEFAULTS " ign=3"},
	{"v=DMARC1;;p=none", "p=none " DEFAULTS " ign=1"},
	{"v=DMARC1; p=reject; p=none", "p=! " DEFAULTS " ign=1"},
	{"v=DMARC1; p=reject; p=reject; p=reject", "p=! " DEFAULTS " ign=2"},
	{"v=DMARC1; p=bogus", "p=! " DEFAULTS " ign=1"},
	{"v=DMARC1; p=", "p=! " DEFAULTS " ign=1"},
	{"v=DMARC1; p=no ne", "p=! " DEFAULTS " ign=1"},
	{"v=DMARC1; p=reject\x01", "p=! " DEFAULTS " ign=1"},
	{"v=DMARC1; p=none; sp=maybe; np=", "p=none sp=! np=! psd=u t=n adkim=r aspf=r rua=0 "
	 "ign=2"},
	{"v=DMARC1; p=none; t=x; psd=q; adkim=x; aspf=", "p=none " DEFAULTS " ign=4"},
	{"v=DMARC1; p=none; t=y; t=y", "p=none " DEFAULTS " ign=1"},
	/* rua: at least one valid URI */
	{"v=DMARC1; rua=mailto:a@example.com,https://r.example/x", "p=- sp=- np=- psd=u t=n "
	 "adkim=r aspf=r rua=1 ign=0"},
	{"v=DMARC1; rua=not a uri", "p=- " DEFAULTS " ign=1"},
	{"v=DMARC1; rua=bogus , mailto:x@y.example!10m", "p=- sp=- np=- psd=u t=n adkim=r "
	 "aspf=r rua=1 ign=1"},
	{"v=DMARC1; rua=mailto:x@y.example!", "p=- " DEFAULTS " ign=1"},
	{"v=DMARC1; rua=mailto:x%4y.example", "p=- " DEFAULTS " ign=1"},
	{"v=DMARC1; rua=mailto:", "p=- " DEFAULTS " ign=1"},
	/* ruf and fo are checked and otherwise ignored */
	{"v=DMARC1; p=none; ruf=mailto:f@example.com; fo=0:d:s", "p=none " DEFAULTS " ign=0"},
	{"v=DMARC1; p=none; fo=0:1", "p=none " DEFAULTS " ign=1"},
	{"v=DMARC1; p=none; fo=d:", "p=none " DEFAULTS " ign=1"},
	{"v=DMARC1; p=none; fo=s:s", "p=none " DEFAULTS " ign=1"},
};

static void test_record_table(void)
{
	char	got[200];
	size_t	i;

	for (i = 0; i < sizeof(record_cases) / sizeof(record_cases[0]); i++) {
		const struct record_case *c = &record_cases[i];

		describe(c->txt, strlen(c->txt), got, sizeof(got));
		TAP_STR_EQ(got, c->want, "record \"%s\"", c->txt);
	}
}

static void test_record_bounds(void)
{
	static const char nul[] = "v=DMARC1; p=re\0ject";
	static const char text[] = "v=DMARC1; p=none";
	struct dmarc_record r;
	char	got[200], err[64];

	describe(nul, sizeof(nul) - 1, got, sizeof(got));
	TAP_STR_EQ(got, "p=! " DEFAULTS " ign=1", "record_with_nul_byte_has_invalid_p");
	describe(text, 5, got, sizeof(got));
	TAP_STR_EQ(got, "not a record", "record_parse_stops_at_len (\"v=DMA\")");
	describe(text, 8, got, sizeof(got));
	TAP_STR_EQ(got, "p=- " DEFAULTS " ign=0", "record_parse_stops_at_len (\"v=DMARC1\")");
	describe(text, 14, got, sizeof(got));
	TAP_STR_EQ(got, "p=! " DEFAULTS " ign=1", "record_parse_stops_at_len (\"...; p=no\")");
	TAP_OK(dmarc_record_parse("v=DMARC1; p=none; zz=1", 22, &r, err, sizeof(err)) &&
	    strstr(err, "zz") != NULL, "record_parse_names_the_ignored_tag (%s)", err);
	TAP_OK(!dmarc_record_parse("v=DMARC2", 8, &r, err, sizeof(err)) && err[0] != '\0',
	    "record_parse_says_why_not (%s)", err);
}

/* ---- lib/taglist.c's cursor ---------------------------------------------------------- */

/* What the cursor says about each tag-spec of txt, in one line. */
static void walk_tags(const char *txt, enum taglist_space space, char *out, size_t size)
{
	static const char *const names[] = {"END", "TAG", "EMPTY", "NOT_TAG", "BAD_NAME",
	    "BAD_VALUE"};
	struct taglist_cursor c;
	enum taglist_item item;
	struct span spec;
	struct tag t;
	size_t	n = 0;

	out[0] = '\0';
	taglist_start(&c, txt, strlen(txt), space);
	do {
		item = taglist_next(&c, &t, &spec);
		if (item == TAGLIST_TAG || item == TAGLIST_BAD_VALUE)
			n += (size_t)snprintf(out + n, size - n, "%s(%.*s|%.*s) ", names[item],
			    (int)t.name.len, t.name.p, (int)t.value.len, t.value.p);
		else
			n += (size_t)snprintf(out + n, size - n, "%s ", names[item]);
	} while (item != TAGLIST_END && n < size);
}

struct cursor_case {
	const char *txt;
	enum taglist_space space;
	const char *want;
};

static const struct cursor_case cursor_cases[] = {
	{"v=DMARC1; p = none ;", TAGLIST_WSP, "TAG(v|DMARC1) TAG(p|none) END "},
	{"a=1;; b ;=c;d_2=x y", TAGLIST_WSP,
	 "TAG(a|1) EMPTY NOT_TAG BAD_NAME TAG(d_2|x y) END "},
	{"a=1; ; ", TAGLIST_WSP, "TAG(a|1) EMPTY END "},
	{"", TAGLIST_WSP, "END "},
	{"p=re\001ject; q=1", TAGLIST_WSP, "BAD_VALUE(p|re\001ject) TAG(q|1) END "},
	/* folding is white space in a header field, a byte like any other in a TXT record */
	{"a=1;\r\n\tb=x\r\n y", TAGLIST_FWS, "TAG(a|1) TAG(b|x\r\n y) END "},
	{"a=1;\r\n\tb=2", TAGLIST_WSP, "TAG(a|1) BAD_NAME END "},
	{"b=x\r\n y", TAGLIST_WSP, "BAD_VALUE(b|x\r\n y) END "},
	{"b=1\r\n", TAGLIST_WSP, "BAD_VALUE(b|1\r\n) END "},
	{"b=1\r\n", TAGLIST_FWS, "TAG(b|1) END "},
};

static void test_taglist_cursor(void)
{
	char	got[200];

	for (size_t i = 0; i < sizeof(cursor_cases) / sizeof(cursor_cases[0]); i++) {
		const struct cursor_case *c = &cursor_cases[i];

		walk_tags(c->txt, c->space, got, sizeof(got));
		TAP_STR_EQ(got, c->want, "taglist_cursor_%s case %zu",
		    c->space == TAGLIST_WSP ? "wsp" : "fws", i);
	}
}

/* ---- the zone most cases share ---------------------------------------------------------- */

static const struct fake_txt zone[] = {
	{"_dmarc.example.com", {"v=DMARC1; p=reject; sp=quarantine; np=reject", "v=spf1 -all"}},
	{"_dmarc.strict.test", {"v=DMARC1; p=quarantine; adkim=s; aspf=s"}},
	{"_dmarc.testing.test", {"v=DMARC1; p=reject; t=y"}},
	{"_dmarc.testing2.test", {"v=DMARC1; p=quarantine; t=y"}},
	{"_dmarc.nop.test", {"v=DMARC1; rua=mailto:r@nop.test"}},
	{"_dmarc.nopnorua.test", {"v=DMARC1; sp=reject"}},
	{"_dmarc.badp.test", {"v=DMARC1; p=rejectt; rua=mailto:x@badp.test"}},
	{"_dmarc.badsp.test", {"v=DMARC1; p=reject; sp=bogus"}},
	{"_dmarc.badsprua.test", {"v=DMARC1; p=reject; sp=bogus; rua=mailto:x@badsprua.test"}},
	{"_dmarc.multi.test", {"v=DMARC1; p=reject", "v=DMARC1; p=none"}},
	{"_dmarc.sub.multi2.test", {"v=DMARC1; p=reject", "v=DMARC1; p=reject"}},
	{"_dmarc.multi2.test", {"v=DMARC1; p=quarantine"}},
	{"_dmarc.empty.test", {NULL}},
	/* RFC 9989 appendix B.4.3 */
	{"_dmarc.bank.example", {"v=DMARC1; p=reject; sp=quarantine; np=reject; psd=y"}},
	{"_dmarc.giant.bank.example", {"v=DMARC1; p=quarantine"}},
	/* psd=n makes an Organizational Domain below another record */
	{"_dmarc.corp.test", {"v=DMARC1; p=reject"}},
	{"_dmarc.div.corp.test", {"v=DMARC1; p=none; psd=n"}},
	{"_dmarc.corp2.test", {"v=DMARC1; p=reject"}},
	{"_dmarc.div.corp2.test", {"v=DMARC1; p=none"}},
	/* a PSD with no record at the Organizational Domain below it */
	{"_dmarc.psdy", {"v=DMARC1; p=quarantine; psd=y"}},
	/* DNS failures */
	{"_dmarc.sub.tfw.test", {"v=DMARC1; p=reject"}},
	{"_dmarc.co.uk", {"v=DMARC1; p=reject; psd=y"}},
	{"_dmarc.example.co.uk", {"v=DMARC1; p=reject; sp=quarantine"}},
	{NULL, {NULL}},
};

static const char *const tempfail[] = {
	"_dmarc.tf.test", "_dmarc.tf2.test", "_dmarc.tfw.test", "_dmarc.fail.test", NULL
};
static const char *const missing[] = {
	"ghost.example.com", "ghost.bank.example", "ghost.psdy", NULL
};
static const char *const exists_fail[] = { "shaky.example.com", NULL };

static struct fake shared = { .zone = zone, .tempfail = tempfail, .missing = missing,
    .exists_fail = exists_fail };

/* ---- Organizational Domains ------------------------------------------------------------- */

struct org_case {
	const char *domain;
	const char *want;		/* NULL: the lookup fails */
	size_t	want_queries;
};

static const struct org_case org_cases[] = {
	{"example.com", "example.com", 2},
	{"a.b.example.com", "example.com", 4},
	{"A.B.Example.COM.", "example.com", 4},
	{"com", "com", 1},
	{"nothing.invalid", "nothing.invalid", 2},
	/* psd=y: one label below the PSD */
	{"giant.bank.example", "giant.bank.example", 2},
	{"mail.giant.bank.example", "giant.bank.example", 3},
	{"mail.mega.bank.example", "mega.bank.example", 3},
	{"bank.example", "bank.example", 1},		/* psd=y where the walk starts */
	{"a.mail.ex3.psdy", "ex3.psdy", 4},
	/* psd=n stops the walk and names itself */
	{"a.div.corp.test", "div.corp.test", 2},
	{"a.div.corp2.test", "corp2.test", 4},
	/* the 8-query bound */
	{"a.b.c.d.e.f.g.h.i.j.mail.example.com", "example.com", 8},
	{"a.b.c.d.e.f.example.com", "example.com", 8},
	{"a.b.c.d.e.f.g.example.com", "example.com", 8},
	{"a.b.c.d.e.example.com", "example.com", 7},
	{"a.fail.test", NULL, 2},
	{"bad..name", NULL, 0},
	{"", NULL, 0},
};

static void test_org_domains(void)
{
	struct dmarc_dns dns;
	char	got[DMARC_DOMAIN_MAX];
	enum dns_status status;
	size_t	i;

	for (i = 0; i < sizeof(org_cases) / sizeof(org_cases[0]); i++) {
		const struct org_case *c = &org_cases[i];
		int	ok;

		fake_dns(&dns, &shared);
		got[0] = '\0';
		ok = dmarc_org_domain(&dns, c->domain, got, sizeof(got), &status);
		TAP_STR_EQ(ok ? got : NULL, c->want, "org_domain(%s)", c->domain);
		TAP_INT_EQ(shared.queries, c->want_queries, "org_domain(%s) makes %zu queries",
		    c->domain, c->want_queries);
	}
	fake_dns(&dns, &shared);
	TAP_OK(!dmarc_org_domain(&dns, "a.fail.test", got, sizeof(got), &status) &&
	    status == DNS_TEMPFAIL, "org_domain_reports_tempfail (%s)", dns_status_name(status));
}

/* RFC 9989 section 4.10: the example's eight queries, in order. */
static void test_walk_order(void)
{
	static const char *const want[] = {
		"_dmarc.a.b.c.d.e.f.g.h.i.j.mail.example.com",
		"_dmarc.g.h.i.j.mail.example.com",
		"_dmarc.h.i.j.mail.example.com",
		"_dmarc.i.j.mail.example.com",
		"_dmarc.j.mail.example.com",
		"_dmarc.mail.example.com",
		"_dmarc.example.com",
		"_dmarc.com",
	};
	struct dmarc_dns dns;
	char	got[DMARC_DOMAIN_MAX];
	enum dns_status status;
	size_t	i;

	fake_dns(&dns, &shared);
	dmarc_org_domain(&dns, "a.b.c.d.e.f.g.h.i.j.mail.example.com", got, sizeof(got),
	    &status);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		TAP_STR_EQ(i < shared.queries ? shared.log[i] : "", want[i],
		    "tree_walk_query_%zu", i + 1);
}

/* ---- evaluation ----------------------------------------------------------------------- */

struct eval_case {
	const char *name;
	const char *from;
	const char *spf_domain;
	int	spf_pass;
	const char *dkim_domain;	/* NULL: no signature */
	int	dkim_pass;
	enum dmarc_result result;
	const char *tag;		/* the policy tag: "p", "sp", "np", or "" */
	enum dmarc_policy policy;
	const char *policy_domain;
	int	testing;
	int	spf_aligned, dkim_aligned;
	int	queries;		/* -1: not checked */
};

#define R(x) DMARC_RESULT_##x
#define LABEL16 "aaaaaaaaaaaaaaaa"
#define LABEL64 LABEL16 LABEL16 LABEL16 LABEL16
#define P(x) DMARC_POLICY_##x

static const struct eval_case eval_cases[] = {
	{"pass_spf_identical", "example.com", "example.com", 1, NULL, 0,
	 R(PASS), "p", P(REJECT), "example.com", 0, 1, 0, 1},
	{"pass_dkim_identical_needs_one_query", "example.com", NULL, 0, "example.com", 1,
	 R(PASS), "p", P(REJECT), "example.com", 0, 0, 1, 1},
	{"fail_without_identifiers", "example.com", NULL, 0, NULL, 0,
	 R(FAIL), "p", P(REJECT), "example.com", 0, 0, 0, -1},
	{"fail_spf_not_passing", "example.com", "example.com", 0, NULL, 0,
	 R(FAIL), "p", P(REJECT), "example.com", 0, 0, 0, -1},
	{"fail_dkim_not_passing", "example.com", NULL, 0, "example.com", 0,
	 R(FAIL), "p", P(REJECT), "example.com", 0, 0, 0, -1},
	{"sp_for_existing_subdomain", "mail.example.com", NULL, 0, NULL, 0,
	 R(FAIL), "sp", P(QUARANTINE), "example.com", 0, 0, 0, -1},
	{"np_for_missing_subdomain", "ghost.example.com", NULL, 0, NULL, 0,
	 R(FAIL), "np", P(REJECT), "example.com", 0, 0, 0, -1},
	{"existence_not_asked_on_pass", "ghost.example.com", "ghost.example.com", 1, NULL, 0,
	 R(PASS), "sp", P(QUARANTINE), "example.com", 0, 1, 0, -1},
	{"existence_tempfail_is_temperror", "shaky.example.com", NULL, 0, NULL, 0,
	 R(TEMPERROR), "", P(NONE), "example.com", 0, 0, 0, -1},
	{"relaxed_spf_subdomain_shares_queries", "mail.example.com", "bounce.example.com", 1,
	 NULL, 0, R(PASS), "sp", P(QUARANTINE), "example.com", 0, 1, 0, 4},
	{"relaxed_dkim_parent_signs_subdomain", "mail.example.com", NULL, 0, "example.com", 1,
	 R(PASS), "sp", P(QUARANTINE), "example.com", 0, 0, 1, -1},
	{"relaxed_dkim_subdomain_signs_parent", "example.com", NULL, 0, "signing.example.com", 1,
	 R(PASS), "p", P(REJECT), "example.com", 0, 0, 1, 3},
	{"unaligned_dkim_with_aligned_spf", "example.com", "example.com", 1, "example.net", 1,
	 R(PASS), "p", P(REJECT), "example.com", 0, 1, 0, -1},
	{"unaligned_dkim_alone_fails_without_walking_it", "example.com", NULL, 0,
	 "example.net", 1, R(FAIL), "p", P(REJECT), "example.com", 0, 0, 0, 2},
	{"unaligned_spf_alone_fails", "example.com", "example.org", 1, NULL, 0,
	 R(FAIL), "p", P(REJECT), "example.com", 0, 0, 0, 2},
	{"public_suffix_is_not_an_alignment", "example.com", "other.com", 1, NULL, 0,
	 R(FAIL), "p", P(REJECT), "example.com", 0, 0, 0, -1},
	{"strict_spf_subdomain_fails", "strict.test", "mail.strict.test", 1, NULL, 0,
	 R(FAIL), "p", P(QUARANTINE), "strict.test", 0, 0, 0, 1},
	{"strict_dkim_subdomain_fails", "strict.test", NULL, 0, "mail.strict.test", 1,
	 R(FAIL), "p", P(QUARANTINE), "strict.test", 0, 0, 0, 1},
	{"strict_dkim_identical_passes_any_case", "strict.test", NULL, 0, "STRICT.Test.", 1,
	 R(PASS), "p", P(QUARANTINE), "strict.test", 0, 0, 1, 1},
	{"strict_spf_identical_passes", "Strict.TEST", "strict.test", 1, NULL, 0,
	 R(PASS), "p", P(QUARANTINE), "strict.test", 0, 1, 0, 1},
	{"testing_reject", "testing.test", NULL, 0, NULL, 0,
	 R(FAIL), "p", P(REJECT), "testing.test", 1, 0, 0, -1},
	{"testing_quarantine", "testing2.test", NULL, 0, NULL, 0,
	 R(FAIL), "p", P(QUARANTINE), "testing2.test", 1, 0, 0, -1},
	/* section 4.10.1: no valid p= (or a bad sp=/np=): p=none with rua=, else nothing */
	{"missing_p_with_rua_is_none", "nop.test", NULL, 0, NULL, 0,
	 R(FAIL), "p", P(NONE), "nop.test", 0, 0, 0, -1},
	{"missing_p_without_rua_not_applied", "nopnorua.test", NULL, 0, NULL, 0,
	 R(NONE), "", P(NONE), "nopnorua.test", 0, 0, 0, -1},
	{"invalid_p_with_rua_is_none", "badp.test", NULL, 0, NULL, 0,
	 R(FAIL), "p", P(NONE), "badp.test", 0, 0, 0, -1},
	{"invalid_sp_without_rua_not_applied", "badsp.test", NULL, 0, NULL, 0,
	 R(NONE), "", P(NONE), "badsp.test", 0, 0, 0, -1},
	{"invalid_sp_with_rua_is_none", "x.badsprua.test", NULL, 0, NULL, 0,
	 R(FAIL), "p", P(NONE), "badsprua.test", 0, 0, 0, -1},
	/* several records at one name count as none there */
	{"several_records_at_author_is_none", "multi.test", NULL, 0, NULL, 0,
	 R(NONE), "", P(NONE), "", 0, 0, 0, 2},
	{"several_records_then_walk_up", "sub.multi2.test", NULL, 0, NULL, 0,
	 R(FAIL), "p", P(QUARANTINE), "multi2.test", 0, 0, 0, 3},
	{"no_record_anywhere", "a.b.nothing.invalid", "a.b.nothing.invalid", 1, NULL, 0,
	 R(NONE), "", P(NONE), "", 0, 0, 0, 4},
	{"txt_without_records_is_none", "empty.test", NULL, 0, NULL, 0,
	 R(NONE), "", P(NONE), "", 0, 0, 0, 2},
	/* RFC 9989 appendix B.4.3 */
	{"psd_example_spf_aligned", "giant.bank.example", "mail.giant.bank.example", 1,
	 "mail.mega.bank.example", 1, R(PASS), "p", P(QUARANTINE), "giant.bank.example", 0,
	 1, 0, -1},
	{"psd_example_dkim_other_org_fails", "giant.bank.example", NULL, 0,
	 "mail.mega.bank.example", 1, R(FAIL), "p", P(QUARANTINE), "giant.bank.example", 0,
	 0, 0, -1},
	{"psd_policy_applies_below_psd", "mega.bank.example", NULL, 0, NULL, 0,
	 R(FAIL), "sp", P(QUARANTINE), "bank.example", 0, 0, 0, -1},
	{"psd_np_for_missing_org", "ghost.bank.example", NULL, 0, NULL, 0,
	 R(FAIL), "np", P(REJECT), "bank.example", 0, 0, 0, -1},
	{"psd_org_is_below_psd", "a.mega.bank.example", NULL, 0, "mega.bank.example", 1,
	 R(PASS), "sp", P(QUARANTINE), "bank.example", 0, 0, 1, -1},
	{"psd_tld_policy", "a.mail.ex3.psdy", NULL, 0, NULL, 0,
	 R(FAIL), "p", P(QUARANTINE), "psdy", 0, 0, 0, 4},
	/* psd=n versus the fewest-labels rule */
	{"psd_n_org_below_parent_record", "a.div.corp.test", NULL, 0, "corp.test", 1,
	 R(FAIL), "p", P(NONE), "div.corp.test", 0, 0, 0, -1},
	{"psd_n_org_aligns_inside", "a.div.corp.test", NULL, 0, "b.div.corp.test", 1,
	 R(PASS), "p", P(NONE), "div.corp.test", 0, 0, 1, -1},
	{"fewest_labels_record_is_policy", "a.div.corp2.test", NULL, 0, NULL, 0,
	 R(FAIL), "p", P(REJECT), "corp2.test", 0, 0, 0, -1},
	{"fewest_labels_org_aligns", "a.div.corp2.test", NULL, 0, "corp2.test", 1,
	 R(PASS), "p", P(REJECT), "corp2.test", 0, 0, 1, -1},
	{"deep_author_uses_org_policy", "a.b.c.d.e.f.g.h.i.j.k.example.com", "example.com", 1,
	 NULL, 0, R(PASS), "sp", P(QUARANTINE), "example.com", 0, 1, 0, 8},
	/* DNS failures */
	{"tempfail_at_author", "tf.test", "tf.test", 1, NULL, 0,
	 R(TEMPERROR), "", P(NONE), "", 0, 0, 0, 1},
	{"tempfail_in_walk", "x.tf2.test", NULL, 0, NULL, 0,
	 R(TEMPERROR), "", P(NONE), "", 0, 0, 0, 2},
	{"tempfail_in_alignment_walk", "sub.tfw.test", "other.tfw.test", 1, NULL, 0,
	 R(TEMPERROR), "p", P(REJECT), "sub.tfw.test", 0, 0, 0, -1},
	{"tempfail_in_walk_irrelevant_after_identical_dkim", "sub.tfw.test", "other.tfw.test", 1,
	 "sub.tfw.test", 1, R(PASS), "p", P(REJECT), "sub.tfw.test", 0, 0, 1, -1},
	/* the From domain must be a domain name */
	{"permerror_empty_label", "bad..example.com", NULL, 0, NULL, 0,
	 R(PERMERROR), "", P(NONE), "", 0, 0, 0, 0},
	{"permerror_domain_literal", "[192.0.2.1]", NULL, 0, NULL, 0,
	 R(PERMERROR), "", P(NONE), "", 0, 0, 0, 0},
	{"permerror_empty", "", NULL, 0, NULL, 0,
	 R(PERMERROR), "", P(NONE), "", 0, 0, 0, 0},
	{"permerror_utf8", "b\xc3\xbc" "cher.example", NULL, 0, NULL, 0,
	 R(PERMERROR), "", P(NONE), "", 0, 0, 0, 0},
	{"permerror_long_label", LABEL64 ".example",
	 NULL, 0, NULL, 0, R(PERMERROR), "", P(NONE), "", 0, 0, 0, 0},
};

static int reason_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

static void check_verdict(const struct eval_case *c, const struct dmarc_verdict *v)
{
	TAP_STR_EQ(dmarc_result_name(v->result), dmarc_result_name(c->result), "%s: result (%s)",
	    c->name, v->reason);
	TAP_STR_EQ(v->policy_tag, c->tag, "%s: policy tag", c->name);
	TAP_STR_EQ(dmarc_policy_name(v->policy), dmarc_policy_name(c->policy), "%s: policy",
	    c->name);
	TAP_STR_EQ(v->policy_domain, c->policy_domain, "%s: policy domain", c->name);
	TAP_INT_EQ(v->testing, c->testing, "%s: testing", c->name);
	TAP_INT_EQ(v->spf_aligned, c->spf_aligned, "%s: spf aligned", c->name);
	TAP_INT_EQ(v->dkim_aligned, c->dkim_aligned, "%s: dkim aligned", c->name);
	TAP_OK(v->reason[0] != '\0' && reason_printable(v->reason), "%s: reason \"%s\"",
	    c->name, v->reason);
}

static void test_eval_table(void)
{
	struct dmarc_dns dns;
	struct dmarc_verdict v;
	size_t	i;

	for (i = 0; i < sizeof(eval_cases) / sizeof(eval_cases[0]); i++) {
		const struct eval_case *c = &eval_cases[i];
		struct dmarc_dkim_result dkim = { c->dkim_domain, c->dkim_pass, 0 };
		struct dmarc_input in = { c->from, c->spf_domain, c->spf_pass, &dkim,
		    c->dkim_domain != NULL, 0 };

		fake_dns(&dns, &shared);
		TAP_OK(dmarc_evaluate(&dns, &in, &v), "%s: evaluates", c->name);
		check_verdict(c, &v);
		if (c->queries >= 0)
			TAP_INT_EQ(shared.queries, c->queries, "%s: TXT queries", c->name);
	}
}

static void test_eval_details(void)
{
	struct dmarc_dkim_result dkim[] = {
		{"example.net", 1, 0}, {"example.com", 0, 0}, {"mail.example.com", 1, 0},
	};
	struct dmarc_input in = { "example.com", NULL, 0, dkim, 3, 0 };
	struct dmarc_dns dns;
	struct dmarc_verdict v;

	fake_dns(&dns, &shared);
	alloc_fail_at(1);
	dmarc_evaluate(&dns, &in, &v);
	TAP_OK(!alloc_failed(), "dmarc_evaluate allocates nothing (records parsed in place)");
	alloc_fail_at(0);
	TAP_OK(v.result == DMARC_RESULT_PASS && v.dkim_aligned,
	    "third_signature_aligns (%s)", v.reason);
	TAP_STR_EQ(v.org_domain, "example.com", "org_domain_reported_when_found");

	in.dkim_count = 0;
	fake_dns(&dns, &shared);
	dmarc_evaluate(&dns, &in, &v);
	TAP_STR_EQ(v.org_domain, "", "org_domain_empty_when_not_needed");
	TAP_INT_EQ(shared.exists_queries, 0, "no_existence_test_at_author_domain");

	in.from_domain = "mail.example.com";
	fake_dns(&dns, &shared);
	dmarc_evaluate(&dns, &in, &v);
	TAP_INT_EQ(shared.exists_queries, 1, "existence_tested_once_for_np");

	in.from_domain = "testing.test";
	fake_dns(&dns, &shared);
	dmarc_evaluate(&dns, &in, &v);
	TAP_STR_EQ(dmarc_policy_name(dmarc_policy_to_apply(&v)), "quarantine",
	    "t=y_applies_reject_as_quarantine");
	TAP_STR_EQ(dmarc_policy_name(dmarc_policy_evaluated(&v)), "quarantine",
	    "t=y_reports_reject_as_quarantine");
	TAP_STR_EQ(dmarc_policy_name(v.policy), "reject", "t=y_keeps_the_published_policy");
	in.from_domain = "testing2.test";
	fake_dns(&dns, &shared);
	dmarc_evaluate(&dns, &in, &v);
	TAP_STR_EQ(dmarc_policy_name(dmarc_policy_to_apply(&v)), "none",
	    "t=y_applies_quarantine_as_none");
	TAP_STR_EQ(dmarc_policy_name(dmarc_policy_evaluated(&v)), "none",
	    "t=y_reports_quarantine_as_none");
	in.from_domain = "nothing.invalid";
	fake_dns(&dns, &shared);
	dmarc_evaluate(&dns, &in, &v);
	TAP_STR_EQ(dmarc_policy_name(dmarc_policy_evaluated(&v)), "none",
	    "no_record_evaluates_to_none");
	in.from_domain = "example.com";
	fake_dns(&dns, &shared);
	dmarc_evaluate(&dns, &in, &v);
	TAP_STR_EQ(dmarc_policy_name(dmarc_policy_to_apply(&v)), "reject",
	    "failure_applies_reject");
	in.spf_domain = "example.com";
	in.spf_pass = 1;
	fake_dns(&dns, &shared);
	dmarc_evaluate(&dns, &in, &v);
	TAP_STR_EQ(dmarc_policy_name(dmarc_policy_to_apply(&v)), "none", "pass_applies_nothing");
	TAP_STR_EQ(dmarc_policy_name(dmarc_policy_evaluated(&v)), "reject",
	    "pass_reports_the_evaluated_policy");

	TAP_OK(!dmarc_evaluate(NULL, &in, &v), "evaluate_refuses_null_dns");
	in.dkim = NULL;
	in.dkim_count = 1;
	TAP_OK(!dmarc_evaluate(&dns, &in, &v), "evaluate_refuses_missing_dkim_array");
}

/* ---- checks that did not complete (RFC 9989 section 5.3.6) ------------------------------ */

enum check { NO, PASS, TEMP };	/* an identifier's check: absent or other, pass, temperror */

struct undecided_case {
	const char *name;
	const char *from;
	const char *spf_domain;
	enum check spf;
	const char *dkim_domain;	/* NULL: no signature */
	enum check dkim;
	const char *dkim2_domain;	/* a second signature, or NULL */
	enum check dkim2;
	enum dmarc_result result;
	const char *reason;		/* a substring of the reason */
};

static const struct undecided_case undecided_cases[] = {
	{"dkim_temperror_identical_is_temperror", "example.com", NULL, NO, "example.com", TEMP,
	 NULL, NO, R(TEMPERROR), "DKIM temperror could have aligned: d=example.com"},
	{"dkim_temperror_relaxed_subdomain_is_temperror", "example.com", NULL, NO,
	 "mail.example.com", TEMP, NULL, NO, R(TEMPERROR), "d=mail.example.com"},
	{"dkim_temperror_other_org_is_fail", "example.com", NULL, NO, "example.net", TEMP,
	 NULL, NO, R(FAIL), "no aligned identifier"},
	{"dkim_temperror_strict_subdomain_is_fail", "strict.test", NULL, NO, "mail.strict.test",
	 TEMP, NULL, NO, R(FAIL), "no aligned identifier"},
	{"dkim_temperror_strict_identical_is_temperror", "strict.test", NULL, NO, "strict.test",
	 TEMP, NULL, NO, R(TEMPERROR), "d=strict.test"},
	{"dkim_temperror_with_aligned_spf_passes", "example.com", "example.com", PASS,
	 "example.com", TEMP, NULL, NO, R(PASS), "aligned SPF example.com"},
	{"dkim_temperror_with_aligned_dkim_passes", "example.com", NULL, NO, "example.com", TEMP,
	 "mail.example.com", PASS, R(PASS), "aligned DKIM d=mail.example.com"},
	{"dkim_temperror_with_unaligned_pass_is_temperror", "example.com", "example.org", PASS,
	 "example.com", TEMP, "example.net", PASS, R(TEMPERROR), "d=example.com"},
	{"spf_temperror_identical_is_temperror", "example.com", "example.com", TEMP, NULL, NO,
	 NULL, NO, R(TEMPERROR), "SPF temperror could have aligned: example.com"},
	{"spf_temperror_relaxed_subdomain_is_temperror", "example.com", "bounce.example.com",
	 TEMP, NULL, NO, NULL, NO, R(TEMPERROR), "bounce.example.com"},
	{"spf_temperror_other_org_is_fail", "example.com", "example.org", TEMP, NULL, NO,
	 NULL, NO, R(FAIL), "no aligned identifier"},
	{"spf_temperror_strict_subdomain_is_fail", "strict.test", "mail.strict.test", TEMP,
	 NULL, NO, NULL, NO, R(FAIL), "no aligned identifier"},
	{"spf_temperror_with_aligned_dkim_passes", "example.com", "example.com", TEMP,
	 "example.com", PASS, NULL, NO, R(PASS), "aligned DKIM d=example.com"},
	{"temperror_whose_alignment_walk_fails", "sub.tfw.test", NULL, NO, "other.tfw.test",
	 TEMP, NULL, NO, R(TEMPERROR), "finding whether the DKIM temperror aligns"},
	{"temperror_under_p_none_is_temperror", "div.corp.test", NULL, NO, "div.corp.test", TEMP,
	 NULL, NO, R(TEMPERROR), "d=div.corp.test"},
	{"temperror_without_policy_is_none", "nothing.invalid", "nothing.invalid", TEMP,
	 "nothing.invalid", TEMP, NULL, NO, R(NONE), "no DMARC policy record"},
};

static void test_undecided_table(void)
{
	struct dmarc_dns dns;
	struct dmarc_verdict v;
	size_t	i;

	for (i = 0; i < sizeof(undecided_cases) / sizeof(undecided_cases[0]); i++) {
		const struct undecided_case *c = &undecided_cases[i];
		struct dmarc_dkim_result dkim[2] = {
			{ c->dkim_domain, c->dkim == PASS, c->dkim == TEMP },
			{ c->dkim2_domain, c->dkim2 == PASS, c->dkim2 == TEMP },
		};
		struct dmarc_input in = { c->from, c->spf_domain, c->spf == PASS, dkim,
		    c->dkim2_domain != NULL ? 2 : c->dkim_domain != NULL, c->spf == TEMP };

		fake_dns(&dns, &shared);
		TAP_OK(dmarc_evaluate(&dns, &in, &v), "%s: evaluates", c->name);
		TAP_STR_EQ(dmarc_result_name(v.result), dmarc_result_name(c->result),
		    "%s: result (%s)", c->name, v.reason);
		TAP_OK(strstr(v.reason, c->reason) != NULL && reason_printable(v.reason),
		    "%s: reason \"%s\" holds \"%s\"", c->name, v.reason, c->reason);
		TAP_STR_EQ(dmarc_policy_name(dmarc_policy_to_apply(&v)),
		    c->result == DMARC_RESULT_FAIL ? dmarc_policy_name(v.policy) : "none",
		    "%s: policy applied", c->name);
	}
}

static void test_policy_lookup_failure(void)
{
	static const char *const all[] = { "_dmarc.example.com", NULL };
	struct fake f = { .zone = zone, .tempfail = all };
	struct dmarc_input in = { "example.com", "example.com", 1, NULL, 0, 0 };
	struct dmarc_dns dns;
	struct dmarc_verdict v;

	fake_dns(&dns, &f);
	dmarc_evaluate(&dns, &in, &v);
	TAP_STR_EQ(dmarc_result_name(v.result), "temperror", "policy_lookup_failure_is_temperror");
	TAP_OK(strstr(v.reason, "example.com") != NULL, "temperror_reason_names_the_domain (%s)",
	    v.reason);
}

/* ---- PSL mode (RFC 7489) ---------------------------------------------------------------- */

/* dmarc_psl_load(): NULL with "out of memory", or a list that finds co.uk. */
static enum torture_outcome psl_load_once(void *context)
{
	char	err[256] = "", got[DMARC_DOMAIN_MAX];
	struct dmarc_psl *psl = dmarc_psl_load(PSL_FILE, err, sizeof(err));
	struct dmarc_dns dns;
	enum dns_status status;
	int	right;

	(void)context;
	if (psl == NULL) {
		if (strstr(err, "out of memory") != NULL)
			return TORTURE_ERROR;
		printf("#   err: %s\n", err);
		return TORTURE_WRONG;
	}
	fake_dns(&dns, &shared);
	dns.psl = psl;
	right = dmarc_org_domain(&dns, "mail.example.co.uk", got, sizeof(got), &status) &&
	    strcmp(got, "example.co.uk") == 0;
	dmarc_psl_free(psl);
	return right ? TORTURE_DONE : TORTURE_WRONG;
}

static void test_psl(void)
{
	static const char *const want_queries[] = {
		"_dmarc.mail.example.co.uk", "_dmarc.example.co.uk",
	};
	struct dmarc_psl *psl;
	struct dmarc_dns dns;
	struct dmarc_verdict v;
	struct dmarc_input in = { "mail.example.co.uk", NULL, 0, NULL, 0, 0 };
	char	err[256] = "", got[DMARC_DOMAIN_MAX];
	enum dns_status status;
	size_t	i;

	TAP_OK(dmarc_psl_load("/nonexistent/psl.dat", err, sizeof(err)) == NULL &&
	    err[0] != '\0', "psl_load_missing_file (%s)", err);
	psl = dmarc_psl_load(PSL_FILE, err, sizeof(err));
	if (!TAP_OK(psl != NULL, "psl_load %s (%s)", PSL_FILE, err))
		return;

	fake_dns(&dns, &shared);
	dns.psl = psl;
	TAP_OK(dmarc_org_domain(&dns, "mail.example.co.uk", got, sizeof(got), &status) &&
	    strcmp(got, "example.co.uk") == 0, "psl_org_domain co.uk (%s)", got);
	TAP_OK(dmarc_org_domain(&dns, "a.b.Example.COM", got, sizeof(got), &status) &&
	    strcmp(got, "example.com") == 0, "psl_org_domain com (%s)", got);
	TAP_OK(dmarc_org_domain(&dns, "co.uk", got, sizeof(got), &status) &&
	    strcmp(got, "co.uk") == 0, "psl_org_domain_of_a_suffix_is_itself (%s)", got);
	TAP_INT_EQ(shared.queries, 0, "psl_org_domain_asks_no_dns");

	fake_dns(&dns, &shared);
	dns.psl = psl;
	dmarc_evaluate(&dns, &in, &v);
	TAP_STR_EQ(dmarc_result_name(v.result), "fail", "psl_policy_from_org_domain (%s)",
	    v.reason);
	TAP_STR_EQ(v.policy_tag, "sp", "psl_subdomain_uses_sp");
	TAP_STR_EQ(v.policy_domain, "example.co.uk", "psl_policy_domain");
	TAP_INT_EQ(shared.queries, 2, "psl_asks_author_then_org_only");
	for (i = 0; i < 2; i++)
		TAP_STR_EQ(shared.log[i], want_queries[i], "psl_query_%zu", i + 1);

	in.spf_domain = "bounce.example.co.uk";
	in.spf_pass = 1;
	fake_dns(&dns, &shared);
	dns.psl = psl;
	dmarc_evaluate(&dns, &in, &v);
	TAP_OK(v.result == DMARC_RESULT_PASS && v.spf_aligned && shared.queries == 2,
	    "psl_relaxed_alignment_without_walk (%s, %zu queries)", v.reason, shared.queries);
	torture("dmarc_psl_load", psl_load_once, NULL, TORTURE_NO_RECOVERY);

	/* _dmarc.co.uk has psd=y; RFC 7489 never looks there */
	in.from_domain = "nobody.co.uk";
	in.spf_domain = NULL;
	fake_dns(&dns, &shared);
	dns.psl = psl;
	dmarc_evaluate(&dns, &in, &v);
	TAP_STR_EQ(dmarc_result_name(v.result), "none", "psl_ignores_psd_records (%s)",
	    v.reason);

	in.from_domain = "giant.bank.example";
	in.spf_domain = "mail.giant.bank.example";
	fake_dns(&dns, &shared);
	dns.psl = psl;
	dmarc_evaluate(&dns, &in, &v);
	TAP_STR_EQ(v.org_domain, "bank.example", "psl_org_is_registrable_domain");
	TAP_STR_EQ(dmarc_result_name(v.result), "pass", "psl_alignment_by_registrable_domain");
	dmarc_psl_free(psl);
}

/* ---- the adapter to Signet's resolver ---------------------------------------------------- */

/* A spent budget: dns.c answers DNS_BUDGET without sending anything, so this needs no
 * server and still goes through dmarc_dns_from_resolver()'s lookups. */
static void test_resolver_adapter(void)
{
	struct nameserver ns = {.address = "127.0.0.1", .port = 9};
	struct dns_options options = {.nameservers = &ns, .nameserver_count = 1,
	    .query_timeout_ms = 200};
	struct dmarc_input in = { "example.com", "example.com", 1, NULL, 0, 0 };
	struct dns_resolver *resolver;
	struct dns_budget budget;
	struct dmarc_dns dns;
	struct dmarc_verdict v;
	char	err[256] = "";

	resolver = dns_resolver_new(&options, err, sizeof(err));
	if (!TAP_OK(resolver != NULL, "resolver_for_adapter (%s)", err))
		return;
	dns_budget_init(&budget, 0, 1000);
	dmarc_dns_from_resolver(&dns, resolver, &budget);
	TAP_OK(dns.txt != NULL && dns.exists != NULL && dns.txt_free != NULL &&
	    dns.ctx == &dns && dns.psl == NULL, "dmarc_dns_from_resolver_fills_every_hook");
	TAP_OK(dmarc_evaluate(&dns, &in, &v) && v.result == DMARC_RESULT_TEMPERROR,
	    "spent_budget_is_temperror (%s)", v.reason);
	TAP_INT_EQ(budget.queries, 0, "spent_budget_sends_nothing");
	dns_resolver_free(resolver);
}

int	main(void)
{
	test_record_table();
	test_record_bounds();
	test_taglist_cursor();
	test_org_domains();
	test_walk_order();
	test_eval_table();
	test_eval_details();
	test_undecided_table();
	test_policy_lookup_failure();
	test_psl();
	test_resolver_adapter();
	return tap_done();
}
