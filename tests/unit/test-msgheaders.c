/*
 * NAME
 *	test-msgheaders - unit tests of the From parser and header bookkeeping
 * DESCRIPTION
 *	The author domain decides which key signs and which DMARC policy applies, so the
 *	parser is tested on the forms that mislead naive ones: "@" and "," inside quoted
 *	display names and comments, groups, several mailboxes, IP literals, junk.
 */
#include <string.h>

#include "milter/msgheaders.h"
#include "tests/unit/tap.h"

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
	return tap_done();
}
