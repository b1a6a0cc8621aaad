/*
 * NAME
 *	reportdest.c - report destinations: rua=/ruf= URIs and the external destination
 *	check (see reportdest.h)
 * DESCRIPTION
 *	A URI is read in three steps, each over a length-counted span of the published
 *	value: the size suffix is cut off, the scheme is compared, and the rest is
 *	percent-decoded into a bounded buffer and checked as one addr-spec.  Nothing is
 *	written to address or host until the whole URI passed.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/domain.h"
#include "lib/printable.h"
#include "lib/reportdest.h"
#include "lib/span.h"

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int hex_value(unsigned char c)
{
	if (is_digit(c))
		return c - '0';
	c = span_ascii_lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* RFC 5322 section 3.2.3 atext. */
static int is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
	    (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static struct span trim_blanks(struct span s)
{
	while (s.len > 0 && (s.p[0] == ' ' || s.p[0] == '\t'))
		s.p++, s.len--;
	while (s.len > 0 && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
		s.len--;
	return s;
}

static int unusable(struct reportdest *d, const char *why)
{
	d->usable = 0;
	snprintf(d->reason, sizeof(d->reason), "%s", why);
	return 0;
}

/* "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] after the "!": bytes, saturated. */
static int size_suffix(struct span s, unsigned long long *bytes)
{
	static const char units[] = "kmgt";
	unsigned long long n = 0;
	unsigned shift = 0;
	const char *unit;
	size_t	i;

	if (s.len > 0 && (unit = memchr(units, span_ascii_lower((unsigned char)s.p[s.len - 1]),
	    4)) != NULL) {
		shift = 10 * (unsigned)(unit - units + 1);
		s.len--;
	}
	if (s.len == 0 || s.len > 20)
		return 0;
	for (i = 0; i < s.len; i++) {
		unsigned d;

		if (!is_digit((unsigned char)s.p[i]))
			return 0;
		d = (unsigned)(s.p[i] - '0');
		n = n > (ULLONG_MAX - d) / 10 ? ULLONG_MAX : n * 10 + d;
	}
	*bytes = n > (ULLONG_MAX >> shift) ? ULLONG_MAX : n << shift;
	return 1;
}

/* Percent-decodes s into out (size bytes with the NUL): 0 on a bad %XX, a decoded byte
 * outside printable ASCII or a blank, or when it does not fit. */
static int percent_decode(struct span s, char *out, size_t size)
{
	size_t	i, n = 0;

	for (i = 0; i < s.len; i++) {
		int	c = (unsigned char)s.p[i];

		if (c == '%') {
			int	hi, lo;

			if (i + 2 >= s.len)
				return 0;
			hi = hex_value((unsigned char)s.p[i + 1]);
			lo = hex_value((unsigned char)s.p[i + 2]);
			if (hi < 0 || lo < 0)
				return 0;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c <= ' ' || c >= 0x7f || n + 1 >= size)
			return 0;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return 1;
}

/* A dot-atom (RFC 5322 section 3.2.3): atoms of atext joined by single dots. */
static int dot_atom(const char *s, size_t len)
{
	size_t	i, atom = 0;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (atom == 0)
				return 0;
			atom = 0;
		} else if (is_atext((unsigned char)s[i])) {
			atom++;
		} else {
			return 0;
		}
	}
	return atom > 0;
}

/* The part of a mailto: URI after the scheme (size suffix removed). */
static int mailto_address(struct span rest, struct reportdest *d)
{
	char	decoded[REPORTDEST_ADDRESS_MAX + 1], host[DMARC_DOMAIN_MAX];
	const char *at;
	size_t	local;

	if (memchr(rest.p, '?', rest.len) != NULL)
		return unusable(d, "mailto: URI with header fields (\"?\") refused");
	if (!percent_decode(rest, decoded, sizeof(decoded)))
		return unusable(d, "mailto: address too long, badly percent-encoded, or "
		    "holding a blank or control character");
	if ((at = strrchr(decoded, '@')) == NULL)
		return unusable(d, "mailto: address without \"@\"");
	local = (size_t)(at - decoded);
	if (local > REPORTDEST_LOCAL_MAX || !dot_atom(decoded, local))
		return unusable(d, "mailto: not one address with a plain local part "
		    "(several addresses, a quoted or over-long local part)");
	if (domain_check(at + 1, strlen(at + 1), 0, host, sizeof(host)) == 0)
		return unusable(d, "mailto: address whose domain is not a host name");
	snprintf(d->host, sizeof(d->host), "%s", host);
	snprintf(d->address, sizeof(d->address), "%.*s@%s", (int)local, decoded, host);
	d->usable = 1;
	d->reason[0] = '\0';
	return 1;
}

static void parse_one(struct span uri, struct reportdest *d)
{
	const char *bang = memchr(uri.p, '!', uri.len);
	const char *colon;
	struct span body = uri;
	size_t	i;

	memset(d, 0, sizeof(*d));
	if (uri.len >= sizeof(d->uri)) {
		snprintf(d->uri, sizeof(d->uri), "%.*s...", (int)(sizeof(d->uri) - 4), uri.p);
		printable_in_place(d->uri, NULL);
		unusable(d, "URI too long");
		return;
	}
	memcpy(d->uri, uri.p, uri.len);
	d->uri[uri.len] = '\0';
	for (i = 0; i < uri.len; i++)
		if ((unsigned char)uri.p[i] <= ' ' || (unsigned char)uri.p[i] >= 0x7f) {
			printable_in_place(d->uri, NULL);
			unusable(d, "URI holding a blank or control character");
			return;
		}
	if (bang != NULL) {
		body.len = (size_t)(bang - uri.p);
		if (!size_suffix(span_of(bang + 1, uri.len - body.len - 1), &d->max_size)) {
			unusable(d, "bad size suffix (want !DIGITS[k|m|g|t])");
			return;
		}
	}
	colon = memchr(body.p, ':', body.len);
	if (colon == NULL) {
		unusable(d, "not a URI (no scheme)");
		return;
	}
	if (!span_is_nocase(span_of(body.p, (size_t)(colon - body.p)), "mailto")) {
		unusable(d, "unsupported URI scheme (only mailto: is)");
		return;
	}
	mailto_address(span_of(colon + 1, body.len - (size_t)(colon + 1 - body.p)), d);
}

size_t	reportdest_parse(const char *uris, struct reportdest *out, size_t max)
{
	struct span v;
	size_t	n = 0;

	if (uris == NULL || out == NULL)
		return 0;
	v = span_of(uris, strlen(uris));
	while (v.len > 0 && n < max) {
		const char *comma = memchr(v.p, ',', v.len);
		size_t	len = comma != NULL ? (size_t)(comma - v.p) : v.len;
		struct span one = trim_blanks(span_of(v.p, len));

		if (one.len > 0)
			parse_one(one, &out[n++]);
		if (comma == NULL)
			break;
		v.p = comma + 1;
		v.len -= len + 1;
	}
	return n;
}

/* ---- the external destination check (RFC 9990 section 4) ---------------------------- */

static enum reportdest_auth decide(struct reportdest *d, enum reportdest_auth auth,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* auth, with the reason written into d (printable: names come from DNS and records). */
static enum reportdest_auth decide(struct reportdest *d, enum reportdest_auth auth,
	    const char *fmt, ...)
{
	char	text[sizeof(d->reason)];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	printable_copy(d->reason, sizeof(d->reason), text, NULL);
	return auth;
}

static enum reportdest_auth failed_lookup(enum dns_status status)
{
	return status == DNS_TEMPFAIL || status == DNS_BUDGET ? REPORTDEST_TEMPFAIL :
	    REPORTDEST_REFUSED;
}

/* The host of a URI of another scheme: "scheme://[userinfo@]host[:port]...", lower-cased
 * into out; 0 when there is none to read. */
static int authority_host(const char *uri, char *out, size_t size)
{
	const char *p = strstr(uri, "://"), *end, *at;

	if (p == NULL)
		return 0;
	p += 3;
	end = p + strcspn(p, "/?#!");
	at = memchr(p, '@', (size_t)(end - p));
	if (at != NULL)
		p = at + 1;
	end = p + strcspn(p, ":/?#!");
	return domain_check(p, (size_t)(end - p), DOMAIN_FINAL_DOT, out, size) > 0;
}

/* Step 9: the destination's own rua.  Every URI with a readable host must name the same
 * host; the first usable mailto: replaces the address. */
static enum reportdest_auth apply_override(struct reportdest *d, const char *rua,
	    const char *name)
{
	struct reportdest over[REPORTDEST_MAX];
	const struct reportdest *use = NULL;
	size_t	n = reportdest_parse(rua, over, REPORTDEST_MAX), i;

	if (rua[0] == '\0')
		return decide(d, REPORTDEST_REFUSED, "%s has a rua= too long to check", name);
	for (i = 0; i < n; i++) {
		char	host[DMARC_DOMAIN_MAX];
		const char *h = over[i].usable ? over[i].host : NULL;

		if (h == NULL && authority_host(over[i].uri, host, sizeof(host)))
			h = host;
		if (h != NULL && strcmp(h, d->host) != 0)
			return decide(d, REPORTDEST_REFUSED, "%s overrides the destination with "
			    "%s, on another host: no report to either", name, over[i].uri);
		if (use == NULL && over[i].usable)
			use = &over[i];
	}
	if (use == NULL)
		return decide(d, REPORTDEST_AUTHORIZED, "authorized by %s (its rua= has no "
		    "usable mailto:)", name);
	snprintf(d->address, sizeof(d->address), "%s", use->address);
	d->max_size = use->max_size;
	d->overridden = 1;
	return decide(d, REPORTDEST_AUTHORIZED, "authorized by %s, overridden to %s", name,
	    use->uri);
}

static enum reportdest_auth check_records(const struct dns_txt *txt, struct reportdest *d,
	    const char *name)
{
	struct dmarc_record rec;
	char	err[128];
	size_t	i;
	int	confirmed = 0;

	for (i = 0; i < txt->count; i++) {
		if (!dmarc_record_parse(txt->records[i], txt->lengths[i], &rec, err,
		    sizeof(err)))
			continue;
		if (rec.has_rua)
			return apply_override(d, rec.rua, name);
		confirmed = 1;
	}
	if (!confirmed)
		return decide(d, REPORTDEST_REFUSED, "not authorized: no v=DMARC1 record at "
		    "%s", name);
	return decide(d, REPORTDEST_AUTHORIZED, "authorized by %s", name);
}

enum reportdest_auth reportdest_authorize(const struct dmarc_dns *dns,
	    const char *policy_domain, struct reportdest *d)
{
	char	pd[DMARC_DOMAIN_MAX], porg[DMARC_DOMAIN_MAX], horg[DMARC_DOMAIN_MAX];
	char	name[2 * DMARC_DOMAIN_MAX + 16];	/* checked for DNS's limits below */
	struct dns_txt *txt = NULL;
	enum dns_status status;
	enum reportdest_auth auth;

	if (d == NULL)
		return REPORTDEST_REFUSED;
	if (!d->usable)
		return REPORTDEST_REFUSED;	/* its reason says why already */
	if (dns == NULL || dns->txt == NULL || policy_domain == NULL ||
	    !domain_check(policy_domain, strnlen(policy_domain, sizeof(pd)),
	    DOMAIN_UNDERSCORE | DOMAIN_FINAL_DOT, pd, sizeof(pd)))
		return decide(d, REPORTDEST_REFUSED, "policy domain %s is not a domain name",
		    policy_domain != NULL ? policy_domain : "(none)");
	if (strcmp(pd, d->host) == 0)
		return decide(d, REPORTDEST_AUTHORIZED, "internal (%s)", pd);
	if (!dmarc_org_domain(dns, pd, porg, sizeof(porg), &status))
		return decide(d, failed_lookup(status), "Organizational Domain of %s: %s", pd,
		    dns_status_name(status));
	if (!dmarc_org_domain(dns, d->host, horg, sizeof(horg), &status))
		return decide(d, failed_lookup(status), "Organizational Domain of %s: %s",
		    d->host, dns_status_name(status));
	if (strcmp(porg, horg) == 0)
		return decide(d, REPORTDEST_AUTHORIZED, "internal (Organizational Domain %s)",
		    porg);
	snprintf(name, sizeof(name), "%s._report._dmarc.%s", pd, d->host);
	if (domain_check(name, strlen(name), DOMAIN_UNDERSCORE, NULL, 0) == 0)
		return decide(d, REPORTDEST_REFUSED, "not authorized: over DNS's length "
		    "limits: %s._report._dmarc.%s", pd, d->host);
	status = dns->txt(dns->ctx, name, &txt);
	if (status != DNS_OK || txt == NULL) {
		if (txt != NULL && dns->txt_free != NULL)
			dns->txt_free(dns->ctx, txt);
		if (failed_lookup(status) == REPORTDEST_TEMPFAIL)
			return decide(d, REPORTDEST_TEMPFAIL, "TXT %s: %s, try again later",
			    name, dns_status_name(status));
		return decide(d, REPORTDEST_REFUSED, "not authorized: TXT %s: %s", name,
		    dns_status_name(status));
	}
	auth = check_records(txt, d, name);
	if (dns->txt_free != NULL)
		dns->txt_free(dns->ctx, txt);
	return auth;
}

const char *reportdest_auth_name(enum reportdest_auth auth)
{
	switch (auth) {
	case REPORTDEST_AUTHORIZED: return "authorized";
	case REPORTDEST_REFUSED: return "refused";
	case REPORTDEST_TEMPFAIL: return "tempfail";
	}
	return "refused";
}
