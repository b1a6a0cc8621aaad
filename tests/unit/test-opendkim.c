/*
 * NAME
 *	test-opendkim.c - unit tests of keys/opendkim.c: SigningTable patterns and table
 *	names
 * SYNOPSIS
 *	tests/unit/test-opendkim
 * DESCRIPTION
 *	A table of SigningTable patterns (plain and refile:) and the domain each stands for,
 *	or NULL when import-opendkim must skip it; then the data set prefixes of table
 *	names.  TAP on stdout.
 */
#include <stdio.h>
#include <string.h>

#include "keys/opendkim.h"
#include "tests/unit/tap.h"

struct pattern_case {
	const char *pattern;
	int	refile;
	const char *want;	/* NULL: skipped */
};

static const struct pattern_case patterns[] = {
	{ "*@example.com", 1, "example.com" },
	{ "*@Example.COM", 1, "example.com" },
	{ "example.com", 0, "example.com" },
	{ "@example.com", 0, "example.com" },
	{ "example.com.", 0, "example.com" },
	{ "user@example.com", 0, NULL },
	{ "user@example.com", 1, NULL },
	{ "*@example.com", 0, NULL },		/* a plain table holds no globs */
	{ "*@*.example.com", 1, NULL },
	{ "*.example.com", 1, NULL },
	{ ".example.com", 0, NULL },
	{ "*", 1, NULL },
	{ "*@exa[mp]le.com", 1, NULL },
	{ "*@exa_mple.com", 1, NULL },
};

static void
test_pattern(const struct pattern_case *c)
{
	char out[KEYSTORE_DOMAIN_MAX + 1], why[256];
	int rc = odkim_pattern_domain(c->pattern, c->refile, out, sizeof(out), why,
	    sizeof(why));

	if (c->want != NULL)
		TAP_STR_EQ(rc == 0 ? out : why, c->want, "pattern %s (%s) is %s", c->pattern,
		    c->refile ? "refile" : "file", c->want);
	else
		TAP_OK(rc < 0 && why[0] != '\0', "pattern %s (%s) is skipped: %s", c->pattern,
		    c->refile ? "refile" : "file", rc < 0 ? why : out);
}

static void
test_table_paths(void)
{
	char path[256];
	int refile;

	TAP_OK(odkim_table_path("refile:/etc/opendkim/SigningTable", path, sizeof(path),
	    &refile) == 0 && refile && strcmp(path, "/etc/opendkim/SigningTable") == 0,
	    "refile: prefix sets refile");
	TAP_OK(odkim_table_path("file:/etc/KeyTable", path, sizeof(path), &refile) == 0
	    && !refile && strcmp(path, "/etc/KeyTable") == 0, "file: prefix is stripped");
	TAP_OK(odkim_table_path("/etc/KeyTable", path, sizeof(path), &refile) == 0
	    && strcmp(path, "/etc/KeyTable") == 0, "a plain path is a file");
	TAP_OK(odkim_table_path("db:/etc/KeyTable.db", path, sizeof(path), &refile) < 0,
	    "db: is refused");
	TAP_OK(odkim_table_path("ldap://host/dc=x", path, sizeof(path), &refile) < 0,
	    "ldap: is refused");
}

static void
test_plan_dedup(void)
{
	struct odkim_key keys[1] = { { "k", "%", "sel", "/k.pem", 1 } };
	struct odkim_sign signs[3] = { { "*@a.example", "k", 1 }, { "*@b.example", "k", 2 },
	    { "*@a.example", "k", 3 } };
	struct odkim_plan plan;

	TAP_OK(odkim_plan(keys, 1, signs, 3, 1, "KT", "ST", &plan) == 0, "plan is made");
	TAP_INT_EQ(plan.count, 2, "a %%-domain key is planned once per domain, a repeat once");
	if (plan.count == 2) {
		TAP_STR_EQ(plan.items[0].domain, "a.example", "first domain");
		TAP_STR_EQ(plan.items[1].domain, "b.example", "second domain");
		TAP_STR_EQ(plan.items[1].selector, "sel", "the selector is kept");
	}
	odkim_plan_free(&plan);
}

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
		test_pattern(&patterns[i]);
	test_table_paths();
	test_plan_dedup();
	return tap_done();
}
