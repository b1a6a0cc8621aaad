/*
 * NAME
 *	test-msgheaders - unit tests of the From parser and header bookkeeping
 * DESCRIPTION
 *	The author domain decides which key signs and which DMARC policy applies, so the
 *	parser is tested on the forms that mislead naive ones: "@" and "," inside quoted
 *	display names and comments, groups, several mailboxes, IP literals, junk.
 */
#include <stdio.h>
#include <string.h>

#include "milter/msgheaders.h"
#include "tests/unit/tap.h"
#include "tests/unit/torture.h"

static void check(const char *value, enum from_status want_status, const char *want_domain,
    size_t want_mailboxes)
{
	char	domain[256] = "";
	size_t	mailboxes = 99;
	enum from_status got = from_value_parse(value, domain, sizeof(domain), &mailboxes);

	TAP_OK(got == want_status && (want_status != FROM_OK || strcmp(domain, want_domain) == 0) &&
	    mailboxes == want_mailboxes, "From:%s -> %s %s (%zu mailboxes)", value,
	    from_status_text(want_status), want_domain, want_mailboxes);
	if (got != want_status || mailboxes != want_mailboxes)
		printf("#   got: %s \"%s\" %zu\n", from_status_text(got), domain, mailboxes);
}

/* want: the domains expected, comma separated ("" for none). */
static void check_domains(const char *value, enum from_status want_status, const char *want,
    size_t want_mailboxes, int want_over)
{
	struct from_domains d;
	enum from_status got = from_value_domains(value, &d);
	char	list[FROM_DOMAINS_MAX * FROM_DOMAIN_SIZE] = "";
	size_t	used = 0;

	for (size_t i = 0; i < d.count; i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? "," : "",
		    d.domain[i]);
	TAP_OK(got == want_status && strcmp(list, want) == 0 && d.mailboxes == want_mailboxes &&
	    d.over == want_over, "domains of From:%.60s -> %s [%s] (%zu mailboxes%s)", value,
	    from_status_text(want_status), want, want_mailboxes, want_over ? ", over" : "");
	if (got != want_status || strcmp(list, want) != 0 || d.mailboxes != want_mailboxes ||
	    d.over != want_over)
		printf("#   got: %s [%s] %zu%s\n", from_status_text(got), list, d.mailboxes,
		    d.over ? " over" : "");
}

static void test_from_domains(void)
{
	struct msgheaders h = {0};
	struct from_domains d;

	check_domains(" alice@example.com", FROM_OK, "example.com", 1, 0);
	check_domains(" a@example.com, b@example.org", FROM_OK, "example.com,example.org", 2, 0);
	check_domains(" a@Example.COM, b@example.com, c@example.com.", FROM_OK, "example.com",
	    3, 0);
	check_domains(" a@x.example, b@y.example, c@x.example", FROM_OK, "x.example,y.example",
	    3, 0);
	check_domains(" Team: Alice <@relay.example:alice@example.com>, b@example.org;",
	    FROM_OK, "example.com,example.org", 2, 0);
	check_domains(" a@1.example, b@2.example, c@3.example, d@4.example, e@5.example, "
	    "f@6.example, g@7.example, h@8.example, i@8.example", FROM_OK,
	    "1.example,2.example,3.example,4.example,5.example,6.example,7.example,8.example",
	    9, 0);
	check_domains(" a@1.example, b@2.example, c@3.example, d@4.example, e@5.example, "
	    "f@6.example, g@7.example, h@8.example, i@9.example, j@1.example",
	    FROM_TOO_MANY_DOMAINS,
	    "1.example,2.example,3.example,4.example,5.example,6.example,7.example,8.example",
	    10, 1);
	/* one mailbox without a usable domain spoils the field, however many others parse */
	check_domains(" a@example.com, b@example.org, ceo@[192.0.2.1]", FROM_NO_DOMAIN, "", 2,
	    0);
	check_domains(" undisclosed-recipients:;", FROM_NO_DOMAIN, "", 0, 0);
	check_domains("", FROM_NO_DOMAIN, "", 0, 0);

	/* signing still wants one domain */
	check(" a@1.example, b@2.example, c@3.example, d@4.example, e@5.example, f@6.example, "
	    "g@7.example, h@8.example, i@9.example", FROM_MIXED_DOMAINS, "", 9);

	TAP_INT_EQ(msgheaders_from_domains(&h, &d), FROM_MISSING, "from_domains: no From");
	msgheaders_add(&h, "From", " a@example.com, b@Example.org");
	TAP_OK(msgheaders_from_domains(&h, &d) == FROM_OK && d.count == 2 &&
	    strcmp(d.domain[1], "example.org") == 0, "from_domains: both domains of one field");
	msgheaders_add(&h, "From", " c@example.net");
	TAP_OK(msgheaders_from_domains(&h, &d) == FROM_SEVERAL && d.count == 0,
	    "from_domains: several From fields give no domain");
	msgheaders_clear(&h);
}

/* Twenty fields added (the array grows twice), then the domains of the one From. */
static enum torture_outcome add_fields_read_from(void *context)
{
	struct msgheaders h = {0};
	struct from_domains d;
	enum from_status status;
	char	value[32];
	int	i;

	(void)context;
	for (i = 0; i < 20; i++) {
		snprintf(value, sizeof(value), " value %d", i);
		if (msgheaders_add(&h, i == 7 ? "From" : "X-Field", i == 7 ?
		    " \"Doe, J\" <j@example.org>, (x@evil.example) k@Example.COM" : value) !=
		    MSGHEADERS_OK)
			break;
	}
	if (i < 20) {
		size_t	kept = h.count;

		msgheaders_clear(&h);
		if (kept == (size_t)i)
			return TORTURE_ERROR;
		printf("#   %zu fields kept after %d were added\n", kept, i);
		return TORTURE_WRONG;
	}
	status = msgheaders_from_domains(&h, &d);
	msgheaders_clear(&h);
	if (status == FROM_NOMEM)
		return TORTURE_ERROR;
	if (status == FROM_OK && d.count == 2 && strcmp(d.domain[0], "example.org") == 0 &&
	    strcmp(d.domain[1], "example.com") == 0)
		return TORTURE_DONE;
	printf("#   from_domains: %s, %zu domains\n", from_status_text(status), d.count);
	return TORTURE_WRONG;
}

int	main(void)
{
	struct msgheaders h = {0};
	char	domain[256];

	check(" alice@example.com", FROM_OK, "example.com", 1);
	check(" Alice <alice@Example.COM>", FROM_OK, "example.com", 1);
	check(" \"Doe, John @ work\" <john@example.org>", FROM_OK, "example.org", 1);
	check(" (comment with @evil.example, and more) bob@example.net", FROM_OK, "example.net", 1);
	check(" bob@example.net (Bob @ evil.example)", FROM_OK, "example.net", 1);
	check(" a@example.com, b@example.com", FROM_OK, "example.com", 2);
	check(" a@example.com, b@example.org", FROM_MIXED_DOMAINS, "", 2);
	check(" Friends: a@example.com, b@example.com;", FROM_OK, "example.com", 2);
	check(" undisclosed-recipients:;", FROM_NO_DOMAIN, "", 0);
	check(" alice", FROM_NO_DOMAIN, "", 0);
	check(" alice@", FROM_NO_DOMAIN, "", 0);
	check(" alice@[192.0.2.1]", FROM_NO_DOMAIN, "", 0);
	check(" <alice@example.com", FROM_NO_DOMAIN, "", 0);
	check(" alice@example.com.", FROM_OK, "example.com", 1);
	check(" alice@exa mple.com", FROM_NO_DOMAIN, "", 0);
	check(" alice@b\xc3\xbc" "cher.example", FROM_OK, "xn--bcher-kva.example", 1);
	check(" alice@B\xc3\x9c" "CHER.example", FROM_OK, "xn--bcher-kva.example", 1);
	check(" alice@ex\xff\xfemple.com", FROM_NO_DOMAIN, "", 0);
	check(" \"unterminated <alice@example.com>", FROM_NO_DOMAIN, "", 0);
	check(" (unterminated alice@example.com", FROM_NO_DOMAIN, "", 0);
	check("", FROM_NO_DOMAIN, "", 0);
	/* A mailbox without a usable domain next to one with a domain: the reader sees
	 * both, so the field is unusable, not judged by the one mailbox that parsed. */
	check(" ceo@bank.example\xc0, x@attacker.example", FROM_NO_DOMAIN, "", 1);
	check(" x@attacker.example, ceo@[192.0.2.1]", FROM_NO_DOMAIN, "", 1);
	check(" ceo@bank.example@, x@attacker.example", FROM_NO_DOMAIN, "", 1);
	check(" \"CEO\", x@attacker.example", FROM_NO_DOMAIN, "", 1);
	check(" a@example.com, , b@example.com,", FROM_OK, "example.com", 2);

	TAP_INT_EQ(msgheaders_from_domain(&h, domain, sizeof(domain)), FROM_MISSING, "no From");
	msgheaders_add(&h, "Subject", " x");
	msgheaders_add(&h, "from", " a@example.com");
	TAP_INT_EQ(msgheaders_from_domain(&h, domain, sizeof(domain)), FROM_OK,
	    "From found whatever its case");
	msgheaders_add(&h, "FROM", " b@example.com");
	TAP_INT_EQ(msgheaders_from_domain(&h, domain, sizeof(domain)), FROM_SEVERAL,
	    "two From fields");
	TAP_INT_EQ(msgheaders_count_named(&h, "From"), 2, "fields counted by name");
	msgheaders_clear(&h);

	int	refused = 0;
	for (int i = 0; i < MSGHEADERS_MAX_FIELDS + 5; i++)
		if (msgheaders_add(&h, "X-Many", " y") == MSGHEADERS_TOO_MANY)
			refused++;
	TAP_INT_EQ(refused, 5, "fields past the limit are refused, not stored");
	msgheaders_clear(&h);
	test_from_domains();
	torture("twenty fields added, the domains of From read", add_fields_read_from, NULL,
	    TORTURE_NO_RECOVERY);
	return tap_done();
}
