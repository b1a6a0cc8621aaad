/*
 * NAME
 *	spfrecord.c - strict check of SPF records against the ABNF of RFC 7208
 * DESCRIPTION
 *	A record is read term by term (terms are separated by runs of spaces).  Each term
 *	is a directive (optional qualifier, then one of the eight mechanisms) or a
 *	modifier (name "=" value).  Every argument is checked completely, so that any
 *	error anywhere in the record makes it invalid, as section 4.6 wants, even when an
 *	earlier mechanism would have matched.
 *
 *	The CIDR suffix of a and mx is taken from the right ("/N", "//N" or "/N//N" with
 *	digits only), so a domain-spec may itself hold a slash (section 7.1 allows any
 *	visible character in a macro-literal).  A domain-spec must end in "." toplabel
 *	(optionally followed by a dot) or in a macro-expand; a domain-spec without macros
 *	must also be a well-formed name (no empty label, labels of at most 63 octets).
 *
 *	Terms and their arguments are spans (lib/span.h) into the record.  Nothing is
 *	allocated; the record is never copied except into small stack buffers of checked
 *	size.
 * SEE ALSO
 *	spfrecord.h, RFC 7208 section 12
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/alloc.h"
#include "lib/domain.h"
#include "lib/span.h"
#include "milter/spfrecord.h"

#define SPF_VERSION_TAG "v=spf1"
#define VERSION_LEN (sizeof(SPF_VERSION_TAG) - 1)

struct check {
	int	seen_redirect;
	int	seen_exp;
	char   *why;
	size_t	whylen;
};

static int
refuse(struct check *ck, const char *what, struct span term)
{
	if (ck->why != NULL && ck->whylen > 0)
		snprintf(ck->why, ck->whylen, "%s: \"%.*s\"", what,
		    term.len > 60 ? 60 : (int)term.len, term.p);
	return 0;
}

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_alnum(int c)
{
	return is_alpha(c) || is_digit(c);
}

/* c is one of the characters of set (never the terminating NUL). */
static int
in_set(int c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

int
spfrecord_is_spf(const char *txt, size_t len)
{
	if (len < VERSION_LEN || strncasecmp(txt, SPF_VERSION_TAG, VERSION_LEN) != 0)
		return 0;
	return len == VERSION_LEN || txt[VERSION_LEN] == ' ';
}

enum spfrecord_selection
spfrecord_select(const char *const *txts, const size_t *lens, size_t count, size_t *index)
{
	size_t i, found = 0;

	for (i = 0; i < count; i++) {
		if (!spfrecord_is_spf(txts[i], lens[i]))
			continue;
		if (++found > 1)
			return SPFRECORD_MANY;
		*index = i;
	}
	return found == 0 ? SPFRECORD_NONE : SPFRECORD_ONE;
}

/* "0" or a number without leading zero of at most 3 digits, no more than max. */
static int
cidr_value_ok(struct span digits, unsigned max)
{
	unsigned v = 0;
	size_t i;

	if (digits.len == 0 || digits.len > 3 || (digits.len > 1 && digits.p[0] == '0'))
		return 0;
	for (i = 0; i < digits.len; i++) {
		if (!is_digit((unsigned char)digits.p[i]))
			return 0;
		v = v * 10 + (unsigned)(digits.p[i] - '0');
	}
	return v <= max;
}

/*
 * macro-expand at s->p[*pos] (a '%').  Advances *pos past it.  In domain-specs the
 * letters c, r and t are not allowed (section 7.1: explanation text only).
 */
static int
macro_expand_ok(struct span s, size_t *pos)
{
	size_t i = *pos + 1, digits = 0;
	int letter;

	if (i >= s.len)
		return 0;
	if (s.p[i] == '%' || s.p[i] == '_' || s.p[i] == '-') {
		*pos = i + 1;
		return 1;
	}
	if (s.p[i] != '{' || ++i >= s.len)
		return 0;
	letter = s.p[i] | 0x20;
	if (!is_alpha((unsigned char)s.p[i]) || !in_set(letter, "slodiphv"))
		return 0;
	i++;
	while (i < s.len && is_digit((unsigned char)s.p[i])) {
		if (digits == 0 && s.p[i] == '0')
			return 0;	/* "If a DIGIT is specified, the value MUST be nonzero" */
		if (++digits > 3)
			return 0;
		i++;
	}
	if (i < s.len && (s.p[i] | 0x20) == 'r')
		i++;
	while (i < s.len && in_set(s.p[i], ".-+,/_="))
		i++;
	if (i >= s.len || s.p[i] != '}')
		return 0;
	*pos = i + 1;
	return 1;
}

/*
 * macro-string: checks every macro; sets *last_macro when it ends in a macro-expand
 * and *tail to the literal run that ends it otherwise.  *has_macro says whether any
 * macro appeared.
 */
static int
macro_string_ok(struct span s, int *last_macro, struct span *tail, int *has_macro)
{
	size_t i = 0, run = 0;

	*last_macro = 0;
	*has_macro = 0;
	while (i < s.len) {
		unsigned char c = (unsigned char)s.p[i];

		if (c == '%') {
			if (!macro_expand_ok(s, &i))
				return 0;
			*last_macro = 1;
			*has_macro = 1;
			run = i;
			continue;
		}
		if (c < 0x21 || c > 0x7e)
			return 0;
		*last_macro = 0;
		i++;
	}
	tail->p = s.p + run;
	tail->len = s.len - run;
	return 1;
}

/* toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static int
toplabel_ok(struct span t)
{
	size_t i;
	int alpha = 0, hyphen = 0;

	if (t.len == 0)
		return 0;
	for (i = 0; i < t.len; i++) {
		unsigned char c = (unsigned char)t.p[i];

		if (c == '-')
			hyphen = 1;
		else if (is_alpha(c))
			alpha = 1;
		else if (!is_digit(c))
			return 0;
	}
	if (hyphen)
		return is_alnum((unsigned char)t.p[0]) && is_alnum((unsigned char)t.p[t.len - 1]);
	return alpha;
}

/* A literal name: labels of 1 to 63 octets, 253 in all, one final dot allowed; its
 * characters are the grammar's business (lib/domain.c, DOMAIN_ANY_BYTE). */
static int
literal_name_ok(struct span s)
{
	return domain_check(s.p, s.len, DOMAIN_ANY_BYTE | DOMAIN_FINAL_DOT, NULL, 0) > 0;
}

static const char *
last_dot(struct span s)
{
	size_t i = s.len;

	while (i > 0)
		if (s.p[--i] == '.')
			return s.p + i;
	return NULL;
}

/* domain-spec = macro-string domain-end;  domain-end = ( "." toplabel [ "." ] ) / macro-expand */
static int
domain_spec_ok(struct span s)
{
	struct span tail, top;
	int last_macro, has_macro;
	const char *dot;

	if (s.len == 0 || !macro_string_ok(s, &last_macro, &tail, &has_macro))
		return 0;
	if (!has_macro && !literal_name_ok(s))
		return 0;
	if (last_macro)
		return 1;
	if (tail.len > 0 && tail.p[tail.len - 1] == '.')
		tail.len--;
	dot = last_dot(tail);
	if (dot == NULL)
		return 0;
	top.p = dot + 1;
	top.len = (size_t)(tail.p + tail.len - top.p);
	return toplabel_ok(top);
}

/* qnum "." qnum "." qnum "." qnum, no leading zeros */
static int
ip4_network_ok(struct span s)
{
	size_t i = 0;
	int part;

	for (part = 0; part < 4; part++) {
		size_t start = i;
		unsigned v = 0;

		while (i < s.len && is_digit((unsigned char)s.p[i]) && i - start < 3)
			v = v * 10 + (unsigned)(s.p[i++] - '0');
		if (i == start || v > 255 || (i - start > 1 && s.p[start] == '0'))
			return 0;
		if (part < 3 && (i >= s.len || s.p[i++] != '.'))
			return 0;
	}
	return i == s.len;
}

static int
ip6_network_ok(struct span s)
{
	char buf[64];
	unsigned char addr[16];
	size_t i;

	if (s.len == 0 || s.len >= sizeof(buf))
		return 0;
	for (i = 0; i < s.len; i++)
		if (!is_digit((unsigned char)s.p[i]) && !in_set(s.p[i], "abcdefABCDEF:."))
			return 0;
	memcpy(buf, s.p, s.len);
	buf[s.len] = '\0';
	return inet_pton(AF_INET6, buf, addr) == 1;
}

/* ip4:network[/len] or ip6:network[/len]; s is what follows the mechanism name. */
static int
ip_arg_ok(struct span s, int v6)
{
	struct span net, cidr;
	const char *slash;

	if (s.len < 2 || s.p[0] != ':')
		return 0;
	net.p = s.p + 1;
	net.len = s.len - 1;
	slash = memchr(net.p, '/', net.len);
	if (slash != NULL) {
		cidr.p = slash + 1;
		cidr.len = (size_t)(net.p + net.len - cidr.p);
		net.len = (size_t)(slash - net.p);
		if (!cidr_value_ok(cidr, v6 ? 128 : 32))
			return 0;
	}
	return v6 ? ip6_network_ok(net) : ip4_network_ok(net);
}

/* Takes a trailing "/digits" off *s; returns 1 and the digits when there is one. */
static int
take_cidr(struct span *s, struct span *digits)
{
	size_t i = s->len;

	while (i > 0 && is_digit((unsigned char)s->p[i - 1]))
		i--;
	if (i == s->len || i == 0 || s->p[i - 1] != '/')
		return 0;
	digits->p = s->p + i;
	digits->len = s->len - i;
	s->len = i - 1;
	return 1;
}

/* ":" domain-spec, required (include, exists) or optional (ptr) */
static int
colon_spec_ok(struct span s, int required)
{
	struct span spec;

	if (s.len == 0)
		return !required;
	if (s.p[0] != ':')
		return 0;
	spec.p = s.p + 1;
	spec.len = s.len - 1;
	return domain_spec_ok(spec);
}

/* a and mx: [ ":" domain-spec ] [ dual-cidr-length ] */
static int
a_mx_arg_ok(struct span s)
{
	struct span digits;

	if (take_cidr(&s, &digits)) {
		if (s.len > 0 && s.p[s.len - 1] == '/') {	/* "//N": IPv6 length */
			s.len--;
			if (!cidr_value_ok(digits, 128))
				return 0;
			if (take_cidr(&s, &digits) && !cidr_value_ok(digits, 32))
				return 0;
		} else if (!cidr_value_ok(digits, 32)) {
			return 0;
		}
	}
	return colon_spec_ok(s, 0);
}

static int
directive_ok(struct check *ck, struct span term)
{
	struct span name, arg;
	size_t i = 0;
	int ok;

	if (term.len > 0 && in_set(term.p[0], "+-?~"))
		i = 1;
	name.p = term.p + i;
	while (i < term.len && is_alnum((unsigned char)term.p[i]))
		i++;
	name.len = (size_t)(term.p + i - name.p);
	arg.p = term.p + i;
	arg.len = term.len - i;
	if (span_is_nocase(name, "all"))
		ok = arg.len == 0;
	else if (span_is_nocase(name, "include") || span_is_nocase(name, "exists"))
		ok = colon_spec_ok(arg, 1);
	else if (span_is_nocase(name, "a") || span_is_nocase(name, "mx"))
		ok = a_mx_arg_ok(arg);
	else if (span_is_nocase(name, "ptr"))
		ok = colon_spec_ok(arg, 0);
	else if (span_is_nocase(name, "ip4"))
		ok = ip_arg_ok(arg, 0);
	else if (span_is_nocase(name, "ip6"))
		ok = ip_arg_ok(arg, 1);
	else
		return refuse(ck, "unknown mechanism", term);
	return ok ? 1 : refuse(ck, "bad mechanism argument", term);
}

/* Length of a modifier name (ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )) followed by '=', or 0. */
static size_t
modifier_name_len(struct span term)
{
	size_t i;

	if (term.len == 0 || !is_alpha((unsigned char)term.p[0]))
		return 0;
	for (i = 1; i < term.len; i++)
		if (!is_alnum((unsigned char)term.p[i]) && !in_set(term.p[i], "-_."))
			break;
	return i < term.len && term.p[i] == '=' ? i : 0;
}

static int
modifier_ok(struct check *ck, struct span term, size_t namelen)
{
	struct span name = { term.p, namelen }, value, tail;
	int last_macro, has_macro;

	value.p = term.p + namelen + 1;
	value.len = term.len - namelen - 1;
	if (span_is_nocase(name, "redirect") || span_is_nocase(name, "exp")) {
		int *seen = span_is_nocase(name, "exp") ? &ck->seen_exp : &ck->seen_redirect;

		if ((*seen)++)
			return refuse(ck, "modifier given twice", term);
		return domain_spec_ok(value) ? 1 : refuse(ck, "bad domain-spec", term);
	}
	if (!macro_string_ok(value, &last_macro, &tail, &has_macro))
		return refuse(ck, "bad macro-string", term);
	return 1;
}

static int
term_ok(struct check *ck, struct span term)
{
	size_t namelen = modifier_name_len(term);

	if (namelen > 0)
		return modifier_ok(ck, term, namelen);
	return directive_ok(ck, term);
}

/* The next space-separated term of txt[len] from *pos on, moving *pos past it; 0 when
 * only spaces are left. */
static int
next_term(const char *txt, size_t len, size_t *pos, struct span *term)
{
	size_t i = *pos;

	while (i < len && txt[i] == ' ')
		i++;
	if (i >= len)
		return 0;
	term->p = txt + i;
	while (i < len && txt[i] != ' ')
		i++;
	term->len = (size_t)(txt + i - term->p);
	*pos = i;
	return 1;
}

int
spfrecord_check(const char *txt, size_t len, char *why, size_t whylen)
{
	struct check ck = { 0, 0, why, whylen };
	struct span whole = { txt, len }, term;
	size_t i;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)txt[i];

		if (c < 0x20 || c > 0x7e) {
			if (why != NULL && whylen > 0)
				snprintf(why, whylen, "character 0x%02x at offset %zu", c, i);
			return 0;
		}
	}
	if (!spfrecord_is_spf(txt, len))
		return refuse(&ck, "no v=spf1 version tag", whole);
	i = VERSION_LEN;
	while (next_term(txt, len, &i, &term))
		if (!term_ok(&ck, term))
			return 0;
	return 1;
}

/* ---- the record libspf2 is given ---------------------------------------------------- */

struct out {
	char   *buf;
	size_t	len;
	size_t	cap;
};

static void
put(struct out *o, const char *p, size_t len)
{
	if (len > 0 && o->len + len < o->cap) {	/* cap is sized for the worst case; see below */
		memcpy(o->buf + o->len, p, len);
		o->len += len;
	}
}

static void
put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* ip4:net/0 and ip6:net/0: every address of the family, as two halves. */
static int
rewrite_ip(struct out *o, struct span qual, struct span term, int v6)
{
	const char *slash = memchr(term.p, '/', term.len);

	if (slash == NULL || (size_t)(term.p + term.len - slash) != 2 || slash[1] != '0')
		return 0;
	put(o, " ", 1);
	put(o, qual.p, qual.len);
	put_str(o, v6 ? "ip6:::/1 " : "ip4:0.0.0.0/1 ");
	put(o, qual.p, qual.len);
	put_str(o, v6 ? "ip6:8000::/1" : "ip4:128.0.0.0/1");
	return 1;
}

/* a and mx: only the client's CIDR length; length 0 becomes the any-address name. */
static void
rewrite_a_mx(struct out *o, struct span qual, struct span name, struct span arg, int v6)
{
	struct span d4 = { NULL, 0 }, d6 = { NULL, 0 }, digits, spec = { NULL, 0 }, *mine;

	if (take_cidr(&arg, &digits)) {
		if (arg.len > 0 && arg.p[arg.len - 1] == '/') {
			arg.len--;
			d6 = digits;
			if (take_cidr(&arg, &digits))
				d4 = digits;
		} else {
			d4 = digits;
		}
	}
	if (arg.len > 1) {
		spec.p = arg.p + 1;
		spec.len = arg.len - 1;
	}
	mine = v6 ? &d6 : &d4;
	put(o, " ", 1);
	put(o, qual.p, qual.len);
	put(o, name.p, name.len);
	if (mine->len == 1 && mine->p[0] == '0') {
		if (spec.len > 0 && spec.p[spec.len - 1] == '.')
			spec.len--;
		put(o, ":", 1);
		if (spec.len == 0)
			put_str(o, "%{d}");
		put(o, spec.p, spec.len);
		put_str(o, SPFRECORD_ANY_ADDRESS);
		return;
	}
	if (spec.len > 0) {
		put(o, ":", 1);
		put(o, spec.p, spec.len);
	}
	if (mine->len > 0) {
		put_str(o, v6 ? "//" : "/");
		put(o, mine->p, mine->len);
	}
}

/* One term of a checked record; sets *redirect and *has_all along the way. */
static void
rewrite_term(struct out *o, struct span term, int v6, struct span *redirect, int *has_all)
{
	size_t namelen = modifier_name_len(term), i = 0;
	struct span qual, name, arg;

	if (namelen > 0) {
		if (span_is_nocase(span_of(term.p, namelen), "redirect"))
			*redirect = term;
		return;		/* exp= and unknown modifiers: not used */
	}
	if (in_set(term.p[0], "+-?~"))
		i = 1;
	qual.p = term.p;
	qual.len = i;
	name.p = term.p + i;
	while (i < term.len && is_alnum((unsigned char)term.p[i]))
		i++;
	name.len = (size_t)(term.p + i - name.p);
	arg.p = term.p + i;
	arg.len = term.len - i;
	if (span_is_nocase(name, "all"))
		*has_all = 1;
	if (span_is_nocase(name, "a") || span_is_nocase(name, "mx")) {
		rewrite_a_mx(o, qual, name, arg, v6);
		return;
	}
	if ((span_is_nocase(name, "ip4") || span_is_nocase(name, "ip6")) &&
	    rewrite_ip(o, qual, term, span_is_nocase(name, "ip6")))
		return;
	put(o, " ", 1);
	put(o, term.p, term.len);
}

char *
spfrecord_rewrite(const char *txt, size_t len, int client_is_ipv6)
{
	struct out o;
	struct span redirect = { NULL, 0 }, term;
	int has_all = 0;
	size_t i = VERSION_LEN;

	/* Worst growth: "a/0" (3 bytes and a space) becomes ' a:%{d}' and the suffix. */
	o.cap = VERSION_LEN + 1 + (len / 2 + 1) * (sizeof(SPFRECORD_ANY_ADDRESS) + 16) + len;
	if ((o.buf = mem_malloc(o.cap)) == NULL)
		return NULL;
	o.len = 0;
	put_str(&o, SPF_VERSION_TAG);
	while (next_term(txt, len, &i, &term))
		rewrite_term(&o, term, client_is_ipv6, &redirect, &has_all);
	if (redirect.p != NULL && !has_all) {
		put(&o, " ", 1);
		put(&o, redirect.p, redirect.len);
	}
	o.buf[o.len] = '\0';
	return o.buf;
}

int
spfrecord_domain_ok(const char *domain)
{
	size_t len = strlen(domain);

	if (len == 0 || domain[0] == '[')
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)domain[i] < 0x21 || (unsigned char)domain[i] > 0x7e)
			return 0;
	return domain_check(domain, len, DOMAIN_ANY_BYTE | DOMAIN_FINAL_DOT, NULL, 0) >= 2;
}
