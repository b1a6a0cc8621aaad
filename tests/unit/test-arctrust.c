/*
 * test-arctrust.c - trusted ARC sealers (milter/arctrust.c): which AAR vouches for an
 * Author Domain, what a stranger's text cannot make it say, and the report comment.
 */
#include <stdio.h>
#include <string.h>

#include "milter/arctrust.h"
#include "tests/unit/tap.h"

static char *trusted_names[] = {"lists.example.net", "Forwarder.Example"};
static const struct name_list trusted = {trusted_names, 2};

static unsigned vouch1(const char *seal_domain, const char *aar, const char *author,
    char *why, size_t size)
{
	struct arctrust_set set = {1, seal_domain, "s1", aar};

	return arctrust_vouch(&trusted, &set, 1, author, why, size);
}

static void check(const char *seal_domain, const char *aar, const char *author,
    int want, const char *name)
{
	char	why[128];
	unsigned got = vouch1(seal_domain, aar, author, why, sizeof(why));

	TAP_OK((got != 0) == want, "%s (got %u: %s)", name, got, why);
}

int	main(void)
{
	char	why[128], comment[400];

	check("lists.example.net", " lists.example.net; dmarc=pass header.from=example.org",
	    "example.org", 1, "dmarc=pass for the Author Domain vouches");
	check("LISTS.example.net.", " lists.example.net; dmarc=pass header.from=Example.ORG",
	    "example.org", 1, "domains compare without case or final dot");
	check("forwarder.example", " fw; arc=none; spf=fail smtp.mailfrom=a@b.example;\n"
	    "\tdkim=pass (2048-bit key) header.d=example.org header.s=s1 header.b=Ab1+/=;\n"
	    "\tdmarc=fail header.from=example.org", "example.org", 1,
	    "dkim=pass with header.d aligned vouches, base64 values and comments read");
	check("forwarder.example", " fw; dkim=pass header.i=@example.org", "example.org", 1,
	    "dkim=pass with header.i @ the domain vouches");
	check("forwarder.example", " fw; spf=pass smtp.mfrom=jqd@example.org", "example.org", 1,
	    "spf=pass with the draft-era smtp.mfrom vouches");
	check("forwarder.example", " fw; spf=pass smtp.mailfrom=\"j q\"@example.org",
	    "example.org", 1, "a quoted value is read whole");
	check("untrusted.example", " x; dmarc=pass header.from=example.org", "example.org", 0,
	    "an untrusted sealer never vouches");
	check("lists.example.net", " x; dmarc=fail header.from=example.org", "example.org", 0,
	    "dmarc=fail does not vouch");
	check("lists.example.net", " x; dkim=pass header.d=other.example", "example.org", 0,
	    "a pass for another domain does not vouch");
	check("lists.example.net", " x; dkim=pass header.d=sub.example.org", "example.org", 0,
	    "a subdomain is not the Author Domain (strict alignment)");
	check("lists.example.net", " x; dkim=pass header.d=evil-example.org", "example.org", 0,
	    "a longer name ending like it is not it");
	check("lists.example.net", " x; dkim=fail (dkim=pass header.d=example.org) header.d=x",
	    "example.org", 0, "what stands in a comment is not read");
	check("lists.example.net", " x; dkim=fail header.d=\"example.org; dmarc=pass "
	    "header.from=example.org\"", "example.org", 0,
	    "what stands in a quoted value is not a result");
	check("lists.example.net", " x; dkim=fail (unclosed dmarc=pass header.from=example.org",
	    "example.org", 0, "an unclosed comment ends the reading");
	check("lists.example.net", " x; none", "example.org", 0, "no result: no vouch");
	check("lists.example.net", "", "example.org", 0, "an empty AAR: no vouch");
	check("lists.example.net", " x; dmarc/1=pass header.from=example.org", "example.org", 1,
	    "a method version is allowed");

	char	result[32];

	arctrust_result_of(" mx.example.org;\n\tdkim=pass header.d=a.example;\n\tarc=pass "
	    "(chain of 2) smtp.remote-ip=192.0.2.1 header.oldest-pass=0;\n\tdmarc=fail",
	    "arc", result, sizeof(result));
	TAP_STR_EQ(result, "pass", "the arc= result of our A-R is read");
	arctrust_result_of(" mx.example.org; dkim=pass (arc=pass) header.d=a.example", "arc",
	    result, sizeof(result));
	TAP_STR_EQ(result, "", "no arc= result (one in a comment does not count)");

	/* several sets: the newest trusted one that vouches is named */
	struct arctrust_set sets[3] = {
		{1, "forwarder.example", "f1", " fw; dmarc=pass header.from=example.org; "
		    "smtp.remote-ip=192.0.2.1"},
		{2, "untrusted.example", "u1", " u; dmarc=pass header.from=example.org"},
		{3, "lists.example.net", "l1", " lists; arc=pass; dmarc=fail header.from=example.org"},
	};
	TAP_OK(arctrust_vouch(&trusted, sets, 3, "example.org", why, sizeof(why)) == 1 &&
	    strcmp(why, "forwarder.example i=1 saw dmarc=pass") == 0,
	    "the trusted set that saw the pass is named: %s", why);
	arctrust_report_comment(sets, 3, comment, sizeof(comment));
	TAP_STR_EQ(comment, "arc=pass as[3].d=lists.example.net as[3].s=l1 "
	    "as[2].d=untrusted.example as[2].s=u1 as[1].d=forwarder.example as[1].s=f1 "
	    "remote-ip[1]=192.0.2.1", "report comment in RFC 8617 section 7.2.2's form");
	arctrust_report_comment(sets, 3, comment, 60);
	TAP_OK(strlen(comment) < 60 && strstr(comment, "as[3].s=l1") != NULL &&
	    comment[strlen(comment) - 1] != '=', "a short comment keeps whole tokens: %s",
	    comment);
	return tap_done();
}
