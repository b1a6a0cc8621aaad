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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys/opendkim.h"
#include "tests/unit/tap.h"
#include "tests/unit/torture.h"

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

static char key_table[] = "/tmp/signet-test-keytable-XXXXXX";
static char signing_table[] = "/tmp/signet-test-signingtable-XXXXXX";

/* Ten keys and twelve SigningTable lines: one unused key, two skipped patterns. */
static int
write_tables(void)
{
	FILE *kt, *st;
	int kfd = mkstemp(key_table), sfd = mkstemp(signing_table), i;

	if (kfd < 0 || sfd < 0 || (kt = fdopen(kfd, "w")) == NULL)
		return 0;
	if ((st = fdopen(sfd, "w")) == NULL) {
		fclose(kt);
		return 0;
	}
	fputs("# OpenDKIM KeyTable\n", kt);
	for (i = 0; i < 10; i++) {
		fprintf(kt, "k%d %%:sel%d:/etc/opendkim/keys/k%d.private\n", i, i, i);
		if (i < 9)
			fprintf(st, "*@d%d.example k%d\n", i, i);
	}
	fputs("*@*.example k0\nuser@d1.example k1\nd9.example k8\n", st);
	fclose(kt);
	fclose(st);
	return 1;
}

static enum torture_outcome
import_tables(void *context)
{
	struct odkim_key *keys = NULL;
	struct odkim_sign *signs = NULL;
	struct odkim_plan plan;
	size_t nkeys = 0, nsigns = 0, skipped = 0, i;
	char err[512] = "";
	int rc;

	(void)context;
	if (odkim_read_keytable(key_table, &keys, &nkeys, err, sizeof(err)) < 0
	    || odkim_read_signingtable(signing_table, &signs, &nsigns, err, sizeof(err)) < 0) {
		free(keys);
		if (strstr(err, "out of memory") != NULL)
			return TORTURE_ERROR;
		printf("#   err: \"%s\"\n", err);
		return TORTURE_WRONG;
	}
	rc = odkim_plan(keys, nkeys, signs, nsigns, 1, "KT", "ST", &plan);
	free(keys);
	free(signs);
	if (rc < 0)
		return plan.items == NULL && plan.count == 0 ? TORTURE_ERROR : TORTURE_WRONG;
	for (i = 0; i < plan.count; i++)
		skipped += plan.items[i].why[0] != '\0';
	odkim_plan_free(&plan);
	if (nkeys == 10 && nsigns == 12 && i == 13 && skipped == 3)
		return TORTURE_DONE;
	printf("#   %zu keys, %zu signing lines, %zu planned, %zu skipped\n", nkeys, nsigns, i,
	    skipped);
	return TORTURE_WRONG;
}

/* opendkim.conf's single-key mode with ten domains, one of them not a domain name. */
static enum torture_outcome
plan_single(void *context)
{
	struct odkim_config conf = { .selector = "sel", .key_file = "/k.private",
	    .domain = "a.example, b.example c.example,d.example e.example f.example "
		"g.example h.example i.example /etc/domains" };
	struct odkim_plan plan;
	int right;

	(void)context;
	if (odkim_plan_single(&conf, "opendkim.conf", &plan) < 0)
		return plan.items == NULL && plan.count == 0 ? TORTURE_ERROR : TORTURE_WRONG;
	right = plan.count == 10 && strcmp(plan.items[8].domain, "i.example") == 0 &&
	    plan.items[8].why[0] == '\0' && plan.items[9].why[0] != '\0';
	odkim_plan_free(&plan);
	return right ? TORTURE_DONE : TORTURE_WRONG;
}

static void
torture_import(void)
{
	if (TAP_OK(write_tables(), "a KeyTable and a SigningTable written"))
		torture("import of a KeyTable and a SigningTable", import_tables, NULL,
		    TORTURE_NO_RECOVERY);
	unlink(key_table);
	unlink(signing_table);
	torture("plan of opendkim.conf's Domain, Selector and KeyFile", plan_single, NULL,
	    TORTURE_NO_RECOVERY);
}

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
		test_pattern(&patterns[i]);
	test_table_paths();
	test_plan_dedup();
	torture_import();
	return tap_done();
}
