/*
 * NAME
 *	spfeval.c - check_host() by libspf2, over Signet's resolver, with RFC 7208 limits
 * DESCRIPTION
 *	The one file that knows libspf2: its headers are included nowhere else, not even
 *	in spfeval.h.  Swapping the SPF library touches this file only.
 *
 *	One evaluation builds a libspf2 server over a fresh DNS layer (below), a request
 *	and a response, and frees them all; nothing is shared between threads but the
 *	message handlers.  libspf2's handlers print to stderr and its error handler
 *	aborts; they are replaced once by quiet ones (its errors are internal assertions:
 *	the process still stops, as libspf2 requires, but through Signet's log).
 *
 *	The DNS layer.  libspf2 asks its DNS layer for (name, type) pairs and never says
 *	which term of the record asked, and it counts lookups per include (a fresh response
 *	each time), so section 4.6.4 cannot be left to it.  This layer tells the terms
 *	apart from what libspf2's interpreter is known to do:
 *	  - an MX lookup is an "mx" term; libspf2 then looks up the address of each name of
 *	    the answer, in order;
 *	  - a PTR lookup with should_cache set is a "ptr" term, then the address of each
 *	    name; without should_cache it is the "p" macro's validation (no term);
 *	  - an A or AAAA lookup of the next name of the last MX or PTR answer belongs to
 *	    that answer; any other is an "a" or "exists" term;
 *	  - a record fetch (get_spf) other than the first is an include or redirect.
 *	A term that returns no address, no MX/PTR name (NODATA or NXDOMAIN) is a void
 *	lookup.  Address lookups for "ptr" names that fail are skipped (section 5.5).
 *	Once a result is forced (a limit, a failed lookup), every later lookup answers
 *	TRY_AGAIN so that libspf2 stops at once, and the forced result replaces libspf2's.
 *
 *	The layer fetches SPF records itself (the get_spf hook): TXT only, selected per
 *	section 4.5 and checked by spfrecord_check() before libspf2 compiles
 *	spfrecord_rewrite()'s form of them.  A name ending in SPFRECORD_ANY_ADDRESS is
 *	looked up without that suffix and, when it has any address, answered with the
 *	client's own (a CIDR length of 0).  Explanations are not fetched.
 *
 *	libspf2 structures are built with its own SPF_dns_rr_* functions, which it frees.
 *	Names inside MX and PTR data are read from the record data; libunbound hands them
 *	over uncompressed, and a compressed or unprintable one is skipped.
 *
 *	libspf2's structures.  A DNS layer is libspf2's public SPF_dns_server_t, filled
 *	with our functions, and its answers are SPF_dns_rr_t records filled in place:
 *	that is how libspf2's own layers (spf_dns_zone.c, spf_dns_resolv.c) are written
 *	and there is no other way.  The few other fields of libspf2's structures used
 *	here have no public call; each place says why (checked against libspf2 1.2.10).
 * SEE ALSO
 *	spfeval.h, spfcheck.h, spfrecord.h, dns.h, spf2/spf_dns.h,
 *	RFC 7208 sections 4.4, 4.5, 4.6.4, 5.5
 */
#include <sys/types.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <spf2/spf.h>

#include "lib/log.h"
#include "milter/spfeval.h"
#include "milter/spfrecord.h"

#define MAX_TERMS	10	/* section 4.6.4: DNS-querying terms */
#define MAX_VOIDS	2	/* section 4.6.4: void lookups */
#define MAX_NAMES	10	/* section 4.6.4: MX and PTR names looked at */
#define NAME_BUF	(256 + sizeof(SPFRECORD_ANY_ADDRESS))

enum role {
	ROLE_TERM,		/* counted: a, mx, ptr, exists */
	ROLE_MX_ADDR,		/* address of an MX name */
	ROLE_PTR_ADDR,		/* address of a ptr name: failures skip the name */
	ROLE_PMACRO,		/* "p" macro: neither counted nor fatal */
	ROLE_OTHER,		/* TXT outside record fetches */
};

struct layer {
	SPF_dns_server_t server;	/* server.hook points back here */
	struct dns_resolver *dns;
	struct dns_budget *budget;
	struct spfeval_client client;
	unsigned terms;
	unsigned voids;
	unsigned fetches;		/* record fetches: the first is the checked domain */
	char	names[MAX_NAMES][NAME_BUF];	/* names of the last MX or PTR answer */
	size_t	name_count;
	size_t	name_next;
	enum role name_role;
	int	forced;
	enum spfcheck_result forced_result;
	char	reason[200];
};

__attribute__((format(printf, 2, 3)))
static void note(struct layer *s, const char *fmt, ...)
{
	va_list ap;

	if (s->reason[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 3, 4)))
static void force(struct layer *s, enum spfcheck_result result, const char *fmt, ...)
{
	va_list ap;

	if (s->forced)
		return;
	s->forced = 1;
	s->forced_result = result;
	va_start(ap, fmt);
	vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);
}

/* One more DNS-querying term; 0 (and permerror forced) past the limit. */
static int count_term(struct layer *s, const char *domain)
{
	if (++s->terms <= MAX_TERMS)
		return 1;
	force(s, SPFCHECK_PERMERROR, "more than %d DNS lookups (at %.100s)", MAX_TERMS, domain);
	return 0;
}

static void count_void(struct layer *s, const char *domain)
{
	if (++s->voids > MAX_VOIDS)
		force(s, SPFCHECK_PERMERROR, "more than %d void lookups (at %.100s)", MAX_VOIDS,
		    domain);
}

static enum role classify(struct layer *s, const char *domain, ns_type type, int should_cache)
{
	if (type == ns_t_a || type == ns_t_aaaa) {
		if (s->name_next < s->name_count &&
		    strcasecmp(domain, s->names[s->name_next]) == 0) {
			s->name_next++;
			return s->name_role;
		}
		s->name_count = s->name_next = 0;
		return ROLE_TERM;
	}
	s->name_count = s->name_next = 0;
	if (type == ns_t_mx)
		return ROLE_TERM;
	if (type == ns_t_ptr)
		return should_cache ? ROLE_TERM : ROLE_PMACRO;
	return ROLE_OTHER;
}

/*
 * An uncompressed wire name at data[0..len) in dotted form, without the final dot;
 * 0 when compressed, malformed, unprintable or the root (which names nothing here).
 */
static int wire_name(const unsigned char *data, size_t len, char *out, size_t outlen)
{
	size_t i = 0, o = 0;

	while (i < len && data[i] != 0) {
		size_t label = data[i++], k;

		if (label > 63 || i + label > len)
			return 0;
		if (o > 0) {
			if (o + 1 >= outlen)
				return 0;
			out[o++] = '.';
		}
		for (k = 0; k < label; k++) {
			unsigned char c = data[i + k];

			if (c < 0x21 || c > 0x7e || c == '.' || c == '\\' || o + 1 >= outlen)
				return 0;
			out[o++] = (char)c;
		}
		i += label;
	}
	if (i >= len || o == 0)
		return 0;
	out[o] = '\0';
	return 1;
}

/* Character-strings of one TXT record joined; NULs kept (len says how long). */
static char *txt_join(const unsigned char *data, size_t len, size_t *outlen)
{
	char *out = malloc(len + 1);
	size_t i = 0, o = 0;

	if (out == NULL)
		return NULL;
	while (i < len) {
		size_t n = data[i++];

		if (n > len - i)
			n = len - i;	/* a malformed length: keep what is there */
		memcpy(out + o, data + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* Copies one record's data into slot idx of rr; 1 if the record was usable. */
static int rr_add(SPF_dns_rr_t *rr, int idx, ns_type type, const struct dns_record *rec)
{
	char name[NAME_BUF], *txt;
	size_t len;

	switch (type) {
	case ns_t_a:
	case ns_t_aaaa:
		len = type == ns_t_a ? 4 : 16;
		if (rec->len != len || SPF_dns_rr_buf_realloc(rr, idx, len) != SPF_E_SUCCESS)
			return 0;
		memcpy(type == ns_t_a ? (void *)&rr->rr[idx]->a : (void *)&rr->rr[idx]->aaaa,
		    rec->data, len);
		return 1;
	case ns_t_mx:
	case ns_t_ptr:
		len = type == ns_t_mx ? 2 : 0;
		if (rec->len <= len || !wire_name(rec->data + len, rec->len - len, name,
		    sizeof(name)))
			return 0;
		if (SPF_dns_rr_buf_realloc(rr, idx, strlen(name) + 1) != SPF_E_SUCCESS)
			return 0;
		memcpy(rr->rr[idx]->ptr, name, strlen(name) + 1);
		return 1;
	case ns_t_txt:
		if ((txt = txt_join(rec->data, rec->len, &len)) == NULL)
			return 0;
		if (SPF_dns_rr_buf_realloc(rr, idx, len + 1) != SPF_E_SUCCESS) {
			free(txt);
			return 0;
		}
		memcpy(rr->rr[idx]->txt, txt, len + 1);
		free(txt);
		return 1;
	default:
		return 0;
	}
}

static void remember_names(struct layer *s, const SPF_dns_rr_t *rr, enum role role)
{
	int i;

	s->name_count = s->name_next = 0;
	s->name_role = role;
	for (i = 0; i < rr->num_rr && s->name_count < MAX_NAMES; i++)
		snprintf(s->names[s->name_count++], NAME_BUF, "%s", rr->rr[i]->ptr);
}

/* Length of name without SPFRECORD_ANY_ADDRESS, or 0 when it does not end so. */
static size_t any_address_base(const char *name)
{
	size_t n = strlen(name), k = sizeof(SPFRECORD_ANY_ADDRESS) - 1;

	if (n <= k || strcasecmp(name + n - k, SPFRECORD_ANY_ADDRESS) != 0)
		return 0;
	return n - k;
}

/*
 * CIDR length 0: an address answer becomes the client's own address; MX names get the
 * suffix, so that their address lookups are answered the same way.
 */
static void any_address(struct layer *s, SPF_dns_rr_t *rr, ns_type type)
{
	int i, n = 0;

	if (rr->num_rr == 0)
		return;
	if (type == ns_t_a || type == ns_t_aaaa) {
		if ((type == ns_t_a) != (s->client.family == AF_INET))
			return;
		if (type == ns_t_a)
			rr->rr[0]->a = s->client.v4;
		else
			rr->rr[0]->aaaa = s->client.v6;
		rr->num_rr = 1;
		return;
	}
	for (i = 0; i < rr->num_rr && type == ns_t_mx; i++) {
		char name[NAME_BUF];
		int len = snprintf(name, sizeof(name), "%s%s", rr->rr[i]->mx, SPFRECORD_ANY_ADDRESS);

		if (len < 0 || (size_t)len >= sizeof(name) ||
		    SPF_dns_rr_buf_realloc(rr, n, (size_t)len + 1) != SPF_E_SUCCESS)
			continue;
		memcpy(rr->rr[n++]->mx, name, (size_t)len + 1);
	}
	if (type == ns_t_mx)
		rr->num_rr = n;
}

static SPF_dns_stat_t failure_herrno(struct layer *s, const char *domain, enum role role,
    enum dns_status st)
{
	if (st == DNS_NXDOMAIN || st == DNS_ERROR)	/* DNS_ERROR: a name that cannot exist */
		return HOST_NOT_FOUND;
	if (st == DNS_NODATA)
		return NO_DATA;
	if (role == ROLE_PTR_ADDR)
		return NO_DATA;		/* section 5.5: skip the name */
	if (role != ROLE_PMACRO && role != ROLE_OTHER)
		force(s, SPFCHECK_TEMPERROR, "DNS lookup of %.100s: %s", domain,
		    dns_status_name(st));
	return TRY_AGAIN;
}

/* Fills rr from a DNS_OK answer; NO_DATA when no record was usable. */
static void fill_records(SPF_dns_rr_t *rr, ns_type type, const struct dns_answer *ans)
{
	size_t i;
	int n = 0;

	for (i = 0; i < ans->count && n < 1000; i++)
		if (rr_add(rr, n, type, &ans->records[i]))
			n++;
	rr->num_rr = n;
	rr->ttl = ans->ttl;
	if (n == 0)
		rr->herrno = NO_DATA;
}

/* Limits that apply to the answer of a term: void lookups, MX and PTR names. */
static void apply_limits(struct layer *s, SPF_dns_rr_t *rr, const char *domain,
    ns_type type, enum role role)
{
	if (role == ROLE_TERM && (rr->herrno == NO_DATA || rr->herrno == HOST_NOT_FOUND))
		count_void(s, domain);
	if (type == ns_t_mx && role == ROLE_TERM && rr->num_rr > MAX_NAMES)
		force(s, SPFCHECK_PERMERROR, "more than %d MX names for %.100s", MAX_NAMES,
		    domain);
	if (type == ns_t_ptr && rr->num_rr > MAX_NAMES)
		rr->num_rr = MAX_NAMES;	/* section 4.6.4: the others are ignored */
	if (s->forced) {
		rr->num_rr = 0;
		rr->herrno = TRY_AGAIN;
		return;
	}
	if (type == ns_t_mx || type == ns_t_ptr)
		remember_names(s, rr, type == ns_t_mx ? ROLE_MX_ADDR :
		    role == ROLE_TERM ? ROLE_PTR_ADDR : ROLE_PMACRO);
}

static SPF_dns_rr_t *layer_lookup(SPF_dns_server_t *server, const char *domain,
    ns_type type, int should_cache)
{
	struct layer *s = server->hook;
	struct dns_answer *ans = NULL;
	enum dns_status st;
	SPF_dns_rr_t *rr;
	enum role role;
	char name[NAME_BUF];
	size_t base;

	if (s->forced)
		return SPF_dns_rr_new_init(server, domain, type, 0, TRY_AGAIN);
	if (type == ns_t_spf)	/* RFC 7208 section 3.1: type SPF is not used */
		return SPF_dns_rr_new_init(server, domain, type, 0, NO_DATA);
	role = classify(s, domain, type, should_cache);
	if (role == ROLE_TERM && !count_term(s, domain))
		return SPF_dns_rr_new_init(server, domain, type, 0, TRY_AGAIN);
	base = any_address_base(domain);
	if (base > 0 && base < sizeof(name))
		snprintf(name, sizeof(name), "%.*s", (int)base, domain);
	else
		snprintf(name, sizeof(name), "%s", domain);
	st = dns_query(s->dns, s->budget, name, type, &ans);
	rr = SPF_dns_rr_new_init(server, domain, type, 0, NETDB_SUCCESS);
	if (rr != NULL) {
		if (st == DNS_OK)
			fill_records(rr, type, ans);
		else
			rr->herrno = failure_herrno(s, name, role, st);
		if (base > 0)
			any_address(s, rr, type);
		apply_limits(s, rr, name, type, role);
	}
	dns_answer_free(ans);
	return rr;
}

/*
 * How a get_spf hook reports that it gives no record: as libspf2's own
 * SPF_server_get_record() does, in these three fields, which have no setter
 * (SPF_i_done() sets them but also writes comment strings).  query_record() reads the
 * result back with SPF_response_result(); for an include or redirect libspf2 goes by the
 * error code alone.
 */
static SPF_errcode_t respond(SPF_response_t *resp, SPF_result_t result, SPF_errcode_t err)
{
	resp->result = result;
	resp->reason = SPF_REASON_FAILURE;
	resp->err = err;
	return err;
}

/* The TXT strings of an answer, each joined; 0 when out of memory. */
static int txt_strings(const struct dns_answer *ans, char **txts, size_t *lens)
{
	size_t i;

	for (i = 0; i < ans->count; i++) {
		txts[i] = txt_join(ans->records[i].data, ans->records[i].len, &lens[i]);
		if (txts[i] == NULL)
			return 0;
	}
	return 1;
}

static void txt_strings_free(char **txts, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		free(txts[i]);
}

/* libspf2 compiles the rewritten form of a checked record. */
static SPF_errcode_t compile(struct layer *s, SPF_server_t *server, SPF_response_t *resp,
    SPF_record_t **recordp, const char *domain, const char *txt, size_t len)
{
	char *record = spfrecord_rewrite(txt, len, s->client.family == AF_INET6);
	SPF_errcode_t err;

	if (record == NULL) {
		note(s, "out of memory");
		return respond(resp, SPF_RESULT_TEMPERROR, SPF_E_NO_MEMORY);
	}
	err = SPF_record_compile(server, resp, recordp, record);
	free(record);
	if (err != SPF_E_SUCCESS) {
		note(s, "SPF record for %.100s not understood by libspf2", domain);
		return respond(resp, SPF_RESULT_PERMERROR, err);
	}
	return SPF_E_SUCCESS;
}

/* Sections 4.5 and 12 on the TXT records of domain; compiles the one SPF record. */
static SPF_errcode_t select_and_compile(struct layer *s, SPF_server_t *server,
    SPF_response_t *resp, SPF_record_t **recordp, const char *domain,
    const struct dns_answer *ans)
{
	char **txts = calloc(ans->count + 1, sizeof(*txts)), why[120];
	size_t *lens = calloc(ans->count + 1, sizeof(*lens)), idx = 0;
	SPF_errcode_t err;

	if (txts == NULL || lens == NULL || !txt_strings(ans, txts, lens)) {
		err = respond(resp, SPF_RESULT_TEMPERROR, SPF_E_NO_MEMORY);
		note(s, "out of memory");
	} else {
		switch (spfrecord_select((const char *const *)txts, lens, ans->count, &idx)) {
		case SPFRECORD_NONE:
			err = respond(resp, SPF_RESULT_NONE, SPF_E_NOT_SPF);
			note(s, "no SPF record for %.100s", domain);
			break;
		case SPFRECORD_MANY:
			err = respond(resp, SPF_RESULT_PERMERROR, SPF_E_MULTIPLE_RECORDS);
			note(s, "several SPF records for %.100s", domain);
			break;
		default:
			if (!spfrecord_check(txts[idx], lens[idx], why, sizeof(why))) {
				err = respond(resp, SPF_RESULT_PERMERROR, SPF_E_SYNTAX);
				note(s, "invalid SPF record for %.60s, %s", domain, why);
			} else {
				err = compile(s, server, resp, recordp, domain, txts[idx], lens[idx]);
			}
			break;
		}
	}
	if (txts != NULL)
		txt_strings_free(txts, ans->count);
	free(txts);
	free(lens);
	return err;
}

/*
 * libspf2's get_spf hook: the record of req->cur_dom, the domain being checked or the
 * target of an include or redirect.  libspf2 hands the hook neither that domain nor the
 * DNS layer in any other way, and has no getter for either (SPF_server_get_record()
 * itself reads cur_dom and server->resolver).
 */
static SPF_errcode_t layer_get_spf(SPF_server_t *server, SPF_request_t *req,
    SPF_response_t *resp, SPF_record_t **recordp)
{
	struct layer *s = server->resolver->hook;
	const char *domain = req->cur_dom;
	struct dns_answer *ans = NULL;
	enum dns_status st;
	SPF_errcode_t err;

	*recordp = NULL;
	s->name_count = s->name_next = 0;
	if (s->forced || (s->fetches++ > 0 && !count_term(s, domain)))
		return respond(resp, s->forced_result == SPFCHECK_TEMPERROR ?
		    SPF_RESULT_TEMPERROR : SPF_RESULT_PERMERROR,
		    s->forced_result == SPFCHECK_TEMPERROR ? SPF_E_DNS_ERROR : SPF_E_BIG_DNS);
	st = dns_query(s->dns, s->budget, domain, ns_t_txt, &ans);
	switch (st) {
	case DNS_OK:
		err = select_and_compile(s, server, resp, recordp, domain, ans);
		break;
	case DNS_NODATA:
	case DNS_NXDOMAIN:
	case DNS_ERROR:
		note(s, "no SPF record for %.100s", domain);
		err = respond(resp, SPF_RESULT_NONE, SPF_E_NOT_SPF);
		break;
	default:
		note(s, "DNS lookup of %.100s: %s", domain, dns_status_name(st));
		err = respond(resp, SPF_RESULT_TEMPERROR, SPF_E_DNS_ERROR);
		break;
	}
	dns_answer_free(ans);
	return err;
}

/* Explanations are never fetched: Signet does not use them. */
static SPF_errcode_t layer_get_exp(SPF_server_t *server, const char *domain, char **bufp,
    size_t *buflenp)
{
	static const char text[] = "see the SPF record";
	char *buf;

	(void)server;
	(void)domain;
	if (*bufp == NULL || *buflenp < sizeof(text)) {
		if ((buf = realloc(*bufp, sizeof(text))) == NULL)
			return SPF_E_NO_MEMORY;
		*bufp = buf;
		*buflenp = sizeof(text);
	}
	memcpy(*bufp, text, sizeof(text));
	return SPF_E_SUCCESS;
}

static struct layer *layer_new(struct dns_resolver *dns, struct dns_budget *budget,
    const struct spfeval_client *client)
{
	struct layer *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->dns = dns;
	s->budget = budget;
	s->client = *client;
	s->server.destroy = NULL;	/* ours: libspf2 must not free it */
	s->server.lookup = layer_lookup;
	s->server.get_spf = layer_get_spf;
	s->server.get_exp = layer_get_exp;
	s->server.add_cache = NULL;
	s->server.layer_below = NULL;
	s->server.name = "signet";
	s->server.hook = s;
	return s;
}

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

static int request_setup(SPF_request_t *req, const struct spfeval_client *c, const char *helo,
    const char *sender)
{
	if (c->family == AF_INET)
		SPF_request_set_ipv4(req, c->v4);
	else
		SPF_request_set_ipv6(req, c->v6);
	if (helo != NULL && helo[0] != '\0' && SPF_request_set_helo_dom(req, helo) != SPF_E_SUCCESS)
		return 0;
	return SPF_request_set_env_from(req, sender) == SPF_E_SUCCESS;
}

/*
 * Runs check_host() for the request's MAIL FROM domain.  This is what libspf2's
 * SPF_request_query_mailfrom() does, less its shortcut that passes every client on
 * 127.0.0.0/8 or ::1 without looking at the record ("localhost gets a free ride"): Signet
 * decides locally who is internal (InternalHosts), and a loopback client that is not
 * internal -- a re-injecting content filter, the test bed -- gets a real answer.
 *
 * No public call runs a request without that shortcut: SPF_request_query_rcptto() and
 * SPF_request_query_fallback() take it too, and nothing turns it off.  So two fields
 * are set here as SPF_request_query_mailfrom() sets them, for neither has a setter:
 *   - cur_dom, the domain whose record is fetched.  It is set in the static
 *     SPF_request_prepare() to env_from_dp, the part after the last "@" that
 *     SPF_request_set_env_from() took (helo_dom only when use_helo is set, which has no
 *     setter and stays 0).  env_from_dp has no getter either.
 *   - spf_record_exp, the record whose exp= explains a "fail": SPF_record_interpret()
 *     asserts it is set.  A redirect can leave it on a record already freed, so it is
 *     cleared after.
 * When no record comes, the result is the one get_spf reported (respond()).  libspf2
 * calls SPF_i_done() there, which sets the same result again and writes the comment
 * strings that Signet never reads; for none, temperror and permerror it looks nothing up.
 */
static SPF_response_t *query_record(SPF_server_t *server, SPF_request_t *req)
{
	SPF_response_t *resp = SPF_response_new(req);
	SPF_record_t *record = NULL;
	SPF_errcode_t err;

	if (resp == NULL)
		return NULL;
	req->cur_dom = req->env_from_dp;
	err = SPF_server_get_record(server, req, resp, &record);
	if (err == SPF_E_SUCCESS && record != NULL) {
		resp->spf_record_exp = record;
		(void)SPF_record_interpret(record, req, resp, 0);
		resp->spf_record_exp = NULL;
	}
	if (record != NULL)
		SPF_record_free(record);
	return resp;
}

int spfeval_run(struct dns_resolver *dns, struct dns_budget *budget,
    const struct spfeval_client *client, const char *helo, const char *sender,
    enum spfcheck_result *result, char *why, size_t whylen)
{
	struct layer *layer;
	SPF_server_t *server = NULL;
	SPF_request_t *req = NULL;
	SPF_response_t *resp = NULL;
	int ok = 0;

	pthread_once(&handlers_once, install_handlers);
	layer = layer_new(dns, budget, client);
	if (layer == NULL || (server = SPF_server_new_dns(&layer->server, 0)) == NULL ||
	    (req = SPF_request_new(server)) == NULL || !request_setup(req, client, helo, sender))
		goto done;
	if ((resp = query_record(server, req)) == NULL)
		goto done;
	*result = layer->forced ? layer->forced_result : map_result(SPF_response_result(resp));
	snprintf(why, whylen, "%s", layer->reason);
	ok = 1;
done:
	if (resp != NULL)
		SPF_response_free(resp);
	if (req != NULL)
		SPF_request_free(req);
	if (server != NULL)
		SPF_server_free(server);
	free(layer);
	return ok;
}
