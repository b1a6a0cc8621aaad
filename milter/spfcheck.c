/*
 * NAME
 *	spfcheck.c - SPF checks of the MAIL FROM and HELO identities with libspf2
 * DESCRIPTION
 *	What is decided here, before libspf2 is called: the identity and its domain
 *	(null sender, missing local-part, section 4.3 domain test giving "none"), and
 *	the client address (an IPv4-mapped IPv6 address is checked as IPv4, section 5,
 *	which libspf2 does not do).  Then a libspf2 server over a fresh spfdns layer
 *	evaluates the record; a result the layer forced (lookup limits, DNS failures)
 *	replaces libspf2's.
 *
 *	libspf2's message handlers print to stderr and its error handler aborts; they are
 *	replaced once by quiet ones (its errors are internal assertions: the process still
 *	stops, as libspf2 requires, but through Signet's log).
 * SEE ALSO
 *	spfcheck.h, spfdns.h, spfrecord.h, RFC 7208
 */
#include <sys/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spf2/spf.h>

#include "lib/printable.h"
#include "lib/log.h"
#include "milter/spfcheck.h"
#include "milter/spfdns.h"
#include "milter/spfrecord.h"

#define LOCAL_PART_MAX 64	/* RFC 5321 section 4.5.3.1.1 */

/* The identity to check: local-part and domain, both NUL-terminated copies. */
struct identity {
	char	local[LOCAL_PART_MAX + 1];
	char	domain[256];
};

struct client {
	int	family;
	struct in_addr v4;
	struct in6_addr v6;
};

static pthread_once_t handlers_once = PTHREAD_ONCE_INIT;

static void spf2_quiet(const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	(void)msg;
}

__attribute__((noreturn))
static void spf2_fatal(const char *file, int line, const char *msg)
{
	log_msg(LOG_LEVEL_ERROR, "libspf2 internal error at %s:%d: %s", file ? file : "?",
	    line, msg);
	abort();
}

static void install_handlers(void)
{
	SPF_error_handler = spf2_fatal;
	SPF_warning_handler = spf2_quiet;
	SPF_info_handler = spf2_quiet;
	SPF_debug_handler = spf2_quiet;
}

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
static int parse_client(const char *ip, struct client *c)
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

static enum spfcheck_result map_result(SPF_result_t r)
{
	switch (r) {
	case SPF_RESULT_NEUTRAL:	return SPFCHECK_NEUTRAL;
	case SPF_RESULT_PASS:		return SPFCHECK_PASS;
	case SPF_RESULT_FAIL:		return SPFCHECK_FAIL;
	case SPF_RESULT_SOFTFAIL:	return SPFCHECK_SOFTFAIL;
	case SPF_RESULT_NONE:		return SPFCHECK_NONE;
	case SPF_RESULT_TEMPERROR:	return SPFCHECK_TEMPERROR;
	default:			return SPFCHECK_PERMERROR;
	}
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

static int request_setup(SPF_request_t *req, const struct client *c, const char *helo,
    const struct identity *id)
{
	char sender[sizeof(id->local) + sizeof(id->domain) + 1];

	if (c->family == AF_INET)
		SPF_request_set_ipv4(req, c->v4);
	else
		SPF_request_set_ipv6(req, c->v6);
	if (helo != NULL && helo[0] != '\0' && SPF_request_set_helo_dom(req, helo) != SPF_E_SUCCESS)
		return 0;
	snprintf(sender, sizeof(sender), "%s@%s", id->local, id->domain);
	return SPF_request_set_env_from(req, sender) == SPF_E_SUCCESS;
}

/*
 * Runs check_host() for the request's MAIL FROM domain.  This is what libspf2's
 * SPF_request_query_mailfrom() does, less its shortcut that passes every client on
 * 127.0.0.0/8 or ::1 without looking at the record ("localhost gets a free ride"): Signet
 * decides locally who is internal (InternalHosts), and a loopback client that is not
 * internal -- a re-injecting content filter, the test bed -- gets a real answer.
 */
static SPF_response_t *query_record(SPF_server_t *server, SPF_request_t *req)
{
	SPF_response_t *resp = SPF_response_new(req);
	SPF_record_t *record = NULL;
	SPF_errcode_t err;

	if (resp == NULL)
		return NULL;
	req->cur_dom = req->use_helo ? req->helo_dom : req->env_from_dp;
	err = SPF_server_get_record(server, req, resp, &record);
	if (err != SPF_E_SUCCESS || record == NULL) {
		/* get_record set the result (none, temperror, permerror): finish it */
		SPF_i_done(resp, resp->result, resp->reason, resp->err);
	} else {
		resp->spf_record_exp = record;	/* interpret() requires it */
		(void)SPF_record_interpret(record, req, resp, 0);
		resp->spf_record_exp = NULL;
	}
	if (record != NULL)
		SPF_record_free(record);
	return resp;
}

/* Evaluates id with libspf2 over a fresh layer; 0 when memory ran out. */
static int evaluate(struct dns_resolver *dns, struct dns_budget *budget, const struct client *c,
    const char *ip, const char *helo, const struct identity *id, struct spfcheck_outcome *out)
{
	struct spfdns *layer = spfdns_new(dns, budget, c->family, &c->v4, &c->v6);
	SPF_server_t *server = NULL;
	SPF_request_t *req = NULL;
	SPF_response_t *resp = NULL;
	enum spfcheck_result r = SPFCHECK_TEMPERROR;
	int ok = 0;

	if (layer == NULL || (server = SPF_server_new_dns(spfdns_server(layer), 0)) == NULL ||
	    (req = SPF_request_new(server)) == NULL || !request_setup(req, c, helo, id))
		goto done;
	if ((resp = query_record(server, req)) == NULL)
		goto done;
	if (!spfdns_forced(layer, &r))
		r = map_result(SPF_response_result(resp));
	describe(out, r, spfdns_reason(layer), ip);
	ok = 1;
done:
	if (!ok)
		set_outcome(out, SPFCHECK_TEMPERROR, "out of memory");
	if (resp != NULL)
		SPF_response_free(resp);
	if (req != NULL)
		SPF_request_free(req);
	if (server != NULL)
		SPF_server_free(server);
	if (layer != NULL)
		spfdns_free(layer);
	return ok;
}

static int check_identity(struct dns_resolver *dns, struct dns_budget *budget,
    const char *client_ip, const char *helo, const struct identity *id,
    struct spfcheck_outcome *out)
{
	struct client c;

	pthread_once(&handlers_once, install_handlers);
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
