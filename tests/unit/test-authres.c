/*
 * NAME
 *	test-authres - unit tests of Authentication-Results writing and recognition
 * DESCRIPTION
 *	Recognition covers the forms a forger may use to slip our authserv-id past a naive
 *	comparison (case, comments, folding, quoting) and near-misses that are not ours.
 *	Writing covers quoting, and that nothing from the message can add a line to our
 *	header: every LF in the output must be a fold followed by a tab.
 */
#include <stdlib.h>
#include <string.h>

#include "milter/authres.h"
#include "tests/unit/tap.h"
#include "tests/unit/torture.h"

static void check_ours(const char *value, int want)
{
	char	shown[256];
	size_t	n = 0;

	for (const char *p = value; *p && n + 3 < sizeof(shown); p++) {
		if (*p == '\r' || *p == '\n' || *p == '\t') {
			shown[n++] = '\\';
			shown[n++] = *p == '\r' ? 'r' : *p == '\n' ? 'n' : 't';
		} else {
			shown[n++] = *p;
		}
	}
	shown[n] = '\0';
	TAP_INT_EQ(authres_is_ours(value, "mx.example.com"), want, "%s: \"%s\"",
	    want ? "ours" : "not ours", shown);
}

static int folds_are_safe(const char *v)
{
	for (const char *p = v; *p; p++) {
		if (*p == '\r' || ((unsigned char)*p < 32 && *p != '\n' && *p != '\t'))
			return 0;
		if (*p == '\n' && p[1] != '\t')
			return 0;
	}
	return 1;
}

/* The first 512 bytes of an address can be another address: a value is whole or absent. */
static void too_long_values_are_left_out_not_cut(void)
{
	char	local[600], address[700], fits[513];
	struct authres ar;
	char   *v;

	memset(local, 'p', 500);
	snprintf(local + 500, sizeof(local) - 500, "@victim.example");
	snprintf(address, sizeof(address), "%s.attacker.example", local);
	memset(fits, 'a', 500);
	snprintf(fits + 500, sizeof(fits) - 500, "@example.com");	/* exactly 512 */
	authres_begin(&ar, "mx.example.com");
	authres_add(&ar, "spf", "none", "sender too long", "smtp.mailfrom", address,
	    "smtp.helo", "mail.example.org", NULL);
	authres_add(&ar, "spf", "none", NULL, "smtp.mailfrom", fits, NULL);
	v = authres_finish(&ar);
	TAP_OK(v != NULL && strstr(v, "victim") == NULL && strstr(v, "attacker") == NULL,
	    "a value over 512 bytes is left out, not cut: %.80s", v ? v : "(null)");
	TAP_OK(v != NULL && strstr(v, "spf=none (sender too long) smtp.helo=mail.example.org") !=
	    NULL, "the rest of that result stays");
	TAP_OK(v != NULL && strstr(v, fits) != NULL, "a value of 512 bytes is kept whole");
	free(v);
}

/* A value of over 256 bytes (the buffer grows) with a quoted, escaped and a left-out part. */
static char *build_value(void)
{
	struct authres ar;

	authres_begin(&ar, "mx.example.com");
	authres_add(&ar, "dkim", "pass", NULL, "header.d", "example.com", "header.s", "sel",
	    "header.a", "rsa-sha256", "header.b", "abcd/+EF", NULL);
	authres_add(&ar, "dkim", "fail", "signature (did not) verify", "header.d",
	    "example.org", "header.s", "sel2024", NULL);
	authres_add(&ar, "spf", "pass", NULL, "smtp.mailfrom", "\"odd local\"@example.com",
	    "smtp.helo", "mail.example.com", NULL);
	authres_add(&ar, "dmarc", "fail", "p=reject", "header.from", "example.com",
	    "policy.dmarc", "reject", NULL);
	return authres_finish(&ar);
}

static enum torture_outcome build_once(void *context)
{
	char   *v = build_value();
	int	right = v != NULL && strcmp(v, context) == 0;

	if (v == NULL)
		return TORTURE_ERROR;
	free(v);
	return right ? TORTURE_DONE : TORTURE_WRONG;
}

static void torture_build(void)
{
	char   *want = build_value();
	size_t	len = want != NULL ? strlen(want) : 0;

	if (TAP_OK(len > 256, "a value of %zu bytes to build", len))
		torture("building a value", build_once, want, TORTURE_NO_RECOVERY);
	free(want);
}

int	main(void)
{
	check_ours("mx.example.com; spf=pass smtp.mailfrom=a@b.c", 1);
	check_ours(" mx.example.com; none", 1);
	check_ours("MX.Example.COM; dkim=pass", 1);
	check_ours("(forged (nested) comment) mx.example.com; dkim=pass", 1);
	check_ours("\r\n\tmx.example.com 1; dkim=pass", 1);
	check_ours("mx.example.com(comment); dkim=pass", 1);
	check_ours("\"mx.example.com\"; dkim=pass", 1);
	check_ours("mx.example.com", 1);
	check_ours("mx.example.com.evil.example; dkim=pass", 0);
	check_ours("other.example; dkim=pass header.d=mx.example.com", 0);
	check_ours("(mx.example.com) other.example; none", 0);
	check_ours("", 0);
	check_ours("x.mx.example.com; none", 0);
	check_ours("mx.example.com.; dkim=pass", 1);
	/* Unreadable fields that name us: removed, since a laxer reader sees our id
	 * (issue 13; these were left in place before). */
	check_ours("(unterminated mx.example.com; none", 1);
	check_ours("\"mx.example.com; none", 1);
	check_ours("(a\\) mx.example.com; dmarc=pass", 1);
	check_ours("; mx.example.com; dkim=pass", 1);
	check_ours("(unterminated other.example; none", 0);
	check_ours("(unterminated x.mx.example.com; none", 0);

	struct authres ar;
	char   *v;

	authres_begin(&ar, "mx.example.com");
	authres_add(&ar, "dkim", "pass", NULL, "header.d", "example.com", "header.s", "sel",
	    "header.a", "rsa-sha256", "header.b", "abcd/+EF", NULL);
	authres_add(&ar, "spf", "pass", NULL, "smtp.mailfrom", "user@example.com", NULL);
	authres_add(&ar, "dmarc", "fail", "p=reject", "header.from", "example.com",
	    "policy.dmarc", "reject", NULL);
	v = authres_finish(&ar);
	TAP_STR_EQ(v, " mx.example.com;\n\tdkim=pass header.d=example.com header.s=sel"
	    " header.a=rsa-sha256 header.b=\"abcd/+EF\";\n\tspf=pass smtp.mailfrom=user@example.com;"
	    "\n\tdmarc=fail (p=reject) header.from=example.com policy.dmarc=reject",
	    "a full header value");
	free(v);

	authres_begin(&ar, "mx.example.com");
	v = authres_finish(&ar);
	TAP_STR_EQ(v, " mx.example.com; none", "no results: none");
	free(v);

	authres_begin(&ar, "mx.example.com");
	authres_add(&ar, "dkim", "fail", "bad\r\nX-Injected: yes (x)",
	    "header.d", "evil.example\r\nAuthentication-Results: mx.example.com; dkim=pass",
	    "header.s", "s\001\177\xff", NULL);
	authres_add(&ar, "spf", "none", NULL, "smtp.mailfrom", "\"odd local\"@example.com", NULL);
	v = authres_finish(&ar);
	TAP_OK(v != NULL && folds_are_safe(v), "no CR, LF or control byte from the input survives");
	TAP_OK(v != NULL && strstr(v, "header.d=\"evil.example??Authentication-Results: "
	    "mx.example.com; dkim=pass\"") != NULL, "a hostile value is quoted, line ends replaced");
	TAP_OK(v != NULL && strstr(v, "(bad??X-Injected: yes \\(x\\))") != NULL,
	    "parentheses in a comment are escaped");
	TAP_OK(v != NULL && strstr(v, "smtp.mailfrom=\"\\\"odd local\\\"@example.com\"") != NULL,
	    "a quoted local part is quoted and escaped");
	free(v);
	too_long_values_are_left_out_not_cut();
	torture_build();
	return tap_done();
}
