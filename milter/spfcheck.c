/*
 * NAME
 *	spfcheck.c - SPF checks of the MAIL FROM and HELO identities
 * DESCRIPTION
 *	What is decided here, before libspf2 is called: the identity and its domain
 *	(null sender, missing local-part, section 4.3 domain test giving "none"), and
 *	the client address (an IPv4-mapped IPv6 address is checked as IPv4, section 5,
 *	which libspf2 does not do).  Then spfeval_run() evaluates the record, and the
 *	outcome is worded here for Authentication-Results.  This file does not know
 *	libspf2; spfeval.c alone does.
 * SEE ALSO
 *	spfcheck.h, spfeval.h, spfrecord.h, RFC 7208
 */
#include <sys/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "lib/printable.h"
#include "milter/spfcheck.h"
#include "milter/spfeval.h"
#include "milter/spfrecord.h"

#define LOCAL_PART_MAX 64	/* RFC 5321 section 4.5.3.1.1 */

/* The identity to check: local-part and domain, both NUL-terminated copies. */
struct identity {
	char	local[LOCAL_PART_MAX + 1];
	char	domain[256];
};

const char *spfcheck_result_name(enum spfcheck_result r)
{
	static const char *const names[] = {
		"none", "neutral", "pass", "fail", "softfail", "temperror", "permerror",
	};

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "temperror";
}

/* Printable ASCII without parentheses or backslashes, so it fits in a comment. */
static void copy_clean(char *to, size_t tolen, const char *from)
{
	(void)printable_copy(to, tolen, from, "()\\");
}

static void set_outcome(struct spfcheck_outcome *out, enum spfcheck_result r,
    const char *reason)
{
	out->result = r;
	copy_clean(out->reason, sizeof(out->reason), reason);
}

/* ::ffff:a.b.c.d is a.b.c.d (RFC 4291 section 2.5.5.2). */
static int parse_client(const char *ip, struct spfeval_client *c)
{
	static const unsigned char mapped[12] = { 0,0,0,0, 0,0,0,0, 0,0,0xff,0xff };

	if (ip == NULL)
		return 0;
	if (inet_pton(AF_INET, ip, &c->v4) == 1) {
		c->family = AF_INET;
		return 1;
	}
	if (inet_pton(AF_INET6, ip, &c->v6) != 1)
		return 0;
	c->family = AF_INET6;
	if (memcmp(c->v6.s6_addr, mapped, sizeof(mapped)) == 0) {
		memcpy(&c->v4, c->v6.s6_addr + 12, 4);
		c->family = AF_INET;
	}
	return 1;
}

static const char *last_at(const char *p, size_t len)
{
	while (len > 0)
		if (p[--len] == '@')
			return p + len;
	return NULL;
}

/*
 * Fills id from a MAIL FROM address, whole or not at all: NULL when it is filled, else
 * why it cannot be checked.  A local-part over RFC 5321's 64 octets is not handed to
 * libspf2 (only macros would use it, and its macro expander has had overflows), nor cut
 * to fit: the result is none.
 */
static const char *identity_from_sender(const char *mail_from, const char *helo,
    struct identity *id)
{
	const char *p = mail_from != NULL ? mail_from : "", *at;
	size_t len = strlen(p);

	if (len >= 2 && p[0] == '<' && p[len - 1] == '>') {
		p++;
		len -= 2;
	}
	if (len == 0) {	/* null sender: postmaster@HELO (section 2.4) */
		snprintf(id->local, sizeof(id->local), "postmaster");
		if ((size_t)snprintf(id->domain, sizeof(id->domain), "%s", helo ? helo : "") >=
		    sizeof(id->domain))
			return "null sender and a HELO name longer than 255 octets";
		return NULL;
	}
	at = last_at(p, len);
	if (at == NULL || at == p) {	/* no local-part: "postmaster" (section 4.3) */
		snprintf(id->local, sizeof(id->local), "postmaster");
	} else if ((size_t)(at - p) > LOCAL_PART_MAX) {
		return "sender local-part longer than 64 octets";
	} else {
		snprintf(id->local, sizeof(id->local), "%.*s", (int)(at - p), p);
	}
	if (at != NULL) {
		len -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	if (len >= sizeof(id->domain))
		return "sender domain longer than 255 octets";
	snprintf(id->domain, sizeof(id->domain), "%.*s", (int)len, p);
	return NULL;
}

/* The reason names the whole domain checked (at most 253 octets), never a prefix. */
static void describe(struct spfcheck_outcome *out, enum spfcheck_result r, const char *why,
    const char *ip)
{
	char text[sizeof(out->reason)];

	if (why[0] != '\0' && (r == SPFCHECK_NONE || r == SPFCHECK_TEMPERROR ||
	    r == SPFCHECK_PERMERROR)) {
		set_outcome(out, r, why);
		return;
	}
	snprintf(text, sizeof(text), "%s: %.60s %s %s", spfcheck_result_name(r), ip,
	    r == SPFCHECK_PASS ? "is permitted by" : r == SPFCHECK_FAIL ||
	    r == SPFCHECK_SOFTFAIL ? "is not permitted by" : "is neither permitted nor denied by",
	    out->domain);
	set_outcome(out, r, r == SPFCHECK_NONE ? "no SPF record" : text);
}

/* Evaluates id with libspf2 (spfeval.c); 0 when memory ran out. */
static int evaluate(struct dns_resolver *dns, struct dns_budget *budget,
    const struct spfeval_client *c, const char *ip, const char *helo,
    const struct identity *id, struct spfcheck_outcome *out)
{
	char sender[sizeof(id->local) + sizeof(id->domain) + 1], why[sizeof(out->reason)];
	enum spfcheck_result r;

	snprintf(sender, sizeof(sender), "%s@%s", id->local, id->domain);
	if (!spfeval_run(dns, budget, c, helo, sender, &r, why, sizeof(why))) {
		set_outcome(out, SPFCHECK_TEMPERROR, "out of memory");
		return 0;
	}
	describe(out, r, why, ip);
	return 1;
}

static int check_identity(struct dns_resolver *dns, struct dns_budget *budget,
    const char *client_ip, const char *helo, const struct identity *id,
    struct spfcheck_outcome *out)
{
	struct spfeval_client c;

	copy_clean(out->domain, sizeof(out->domain), id->domain);
	if (!spfrecord_domain_ok(id->domain)) {
		set_outcome(out, SPFCHECK_NONE, "no checkable domain");
		return 1;
	}
	if (!parse_client(client_ip, &c)) {
		set_outcome(out, SPFCHECK_TEMPERROR, "client address not understood");
		return 1;
	}
	return evaluate(dns, budget, &c, client_ip, helo, id, out);
}

int spfcheck_mailfrom(struct dns_resolver *dns, struct dns_budget *budget,
    const char *client_ip, const char *helo, const char *mail_from,
    struct spfcheck_outcome *out)
{
	struct identity id;
	const char *unusable;

	memset(out, 0, sizeof(*out));
	if ((unusable = identity_from_sender(mail_from, helo, &id)) != NULL) {
		set_outcome(out, SPFCHECK_NONE, unusable);
		out->too_long = 1;
		return 1;
	}
	return check_identity(dns, budget, client_ip, helo, &id, out);
}

int spfcheck_helo(struct dns_resolver *dns, struct dns_budget *budget, const char *client_ip,
    const char *helo, struct spfcheck_outcome *out)
{
	struct identity id;

	memset(out, 0, sizeof(*out));
	snprintf(id.local, sizeof(id.local), "postmaster");
	if (helo == NULL || (size_t)snprintf(id.domain, sizeof(id.domain), "%s", helo) >=
	    sizeof(id.domain)) {
		set_outcome(out, SPFCHECK_NONE, helo == NULL ? "no HELO name" :
		    "HELO name longer than 255 octets");
		out->too_long = helo != NULL;
		return 1;
	}
	return check_identity(dns, budget, client_ip, helo, &id, out);
}
