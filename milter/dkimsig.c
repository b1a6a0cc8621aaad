/*
 * NAME
 *	dkimsig.c - one DKIM-Signature header field, read and judged on its own
 * DESCRIPTION
 *	The field is a tag list (RFC 6376 section 3.2), read strictly by lib/taglist.c: a
 *	field that is not one is a permerror, and what is reported of it (d=, s=, a=, b=)
 *	comes from the tags before the error only, never from after it (issue 13: tags
 *	after a syntax error must not name a domain).
 *
 *	Then the tags of section 3.5, in this order, the first problem deciding:
 *	  - the required ones: v a b bh d h s;
 *	  - v=1; a= one of rsa-sha256, ed25519-sha256, rsa-sha1;
 *	  - b= and bh= are base64; d= and s= are domain names (lib/domain.c, '_' allowed)
 *	    and the key's name s._domainkey.d fits in 253 characters;
 *	  - c= is simple or relaxed, for the header and (after '/', default simple) body;
 *	  - q= names dns/txt among its methods (the others are ignored, as 3.5 says);
 *	  - h= is a list of field names and includes From (section 5.4, 6.1.1);
 *	  - i= is d= or a subdomain of it;
 *	  - l= is a decimal number (at most 76 digits), t= and x= too (at most 12);
 *	    x= after t=; not expired, t= not in the future, DKIMSIG_CLOCK_DRIFT allowed;
 *	  - last, rsa-sha1 is policy (RFC 8301 section 3.1: never valid), so a malformed
 *	    rsa-sha1 field is still a permerror.  It goes no further: no key lookup, no
 *	    hashing for a signature that may not pass.
 *	z= and unknown tags are allowed and ignored.
 * SEE ALSO
 *	RFC 6376 sections 3.5, 5.4, 6.1.1; RFC 8301; RFC 8463
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/base64.h"
#include "lib/domain.h"
#include "lib/taglist.h"
#include "milter/dkimsig.h"

#define KEY_NAME_MAX	253		/* RFC 1035: a domain name in text */
#define DOMAINKEY_LABEL	"._domainkey."

/* Sets the outcome; returns 0 so that a check can end with "return refuse(...)". */
__attribute__((format(printf, 3, 4)))
static int refuse(struct dkimsig *sig, enum dkimsig_status status, const char *fmt, ...)
{
	va_list	ap;

	sig->status = status;
	va_start(ap, fmt);
	vsnprintf(sig->reason, sizeof(sig->reason), fmt, ap);
	va_end(ap);
	return 0;
}

static struct span value_of(const struct tag *tags, size_t count, const char *name)
{
	const struct tag *t = taglist_find(tags, count, name);

	return t != NULL ? t->value : span_of(NULL, 0);
}

/* The value of tag name without white space into out; "" (and 0) when it is absent or
 * does not fit. */
static int compact(const struct tag *tags, size_t count, const char *name, char *out,
    size_t size)
{
	const struct tag *t = taglist_find(tags, count, name);

	out[0] = '\0';
	return t != NULL && taglist_value_compact(t->value, out, size);
}

static int is_domain(const char *s)
{
	return domain_check(s, strlen(s), DOMAIN_UNDERSCORE, NULL, 0) > 0;
}

/* 1*max DIGIT (tag name, white space aside) into *out; 0 when not a number or too large. */
static int read_number(const struct tag *tags, size_t count, const char *name,
    size_t max_digits, unsigned long long *out)
{
	char	text[80];
	unsigned long long n = 0;
	size_t	len;

	if (!compact(tags, count, name, text, sizeof(text)) || (len = strlen(text)) == 0 ||
	    len > max_digits)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(text[i] - '0');

		if (d > 9 || n > (ULLONG_MAX - d) / 10)
			return 0;
		n = n * 10 + d;
	}
	*out = n;
	return 1;
}

static int read_canon(struct span s, enum canon_kind *out)
{
	if (span_is_nocase(s, "simple"))
		*out = CANON_SIMPLE;
	else if (span_is_nocase(s, "relaxed"))
		*out = CANON_RELAXED;
	else
		return 0;
	return 1;
}

/* field-name = 1*ftext, ftext = %d33-57 / %d59-126 (RFC 5322 section 3.6.8). */
static int is_field_name(const char *s, size_t len)
{
	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 33 || (unsigned char)s[i] > 126 || s[i] == ':')
			return 0;
	return 1;
}

/* Where b='s value, with the white space around it, begins and ends in value. */
static void locate_b(struct dkimsig *sig, const char *value, size_t len, const struct tag *b)
{
	const char *eq = memchr(b->name.p + b->name.len, '=',
	    (size_t)(b->value.p - (b->name.p + b->name.len)));	/* the value follows it */
	const char *end = b->value.p + b->value.len;

	while (end < value + len && *end != ';')
		end++;
	sig->b_from = (size_t)(eq + 1 - value);
	sig->b_to = (size_t)(end - value);
}

static int check_required(struct dkimsig *sig, const struct tag *tags, size_t count,
    enum dkimsig_kind kind)
{
	static const char *const dkim[] = {"v", "a", "b", "bh", "d", "h", "s", NULL};
	static const char *const message[] = {"a", "b", "bh", "d", "h", "s", NULL};
	static const char *const seal[] = {"a", "b", "d", "s", NULL};
	const char *const *required = kind == DKIMSIG_DKIM ? dkim :
	    kind == DKIMSIG_ARC_MESSAGE ? message : seal;

	for (size_t i = 0; required[i] != NULL; i++)
		if (taglist_find(tags, count, required[i]) == NULL)
			return refuse(sig, DKIMSIG_PERMERROR, "%s= is missing", required[i]);
	char	v[8];

	if (kind == DKIMSIG_DKIM && (!compact(tags, count, "v", v, sizeof(v)) ||
	    strcmp(v, "1") != 0))
		return refuse(sig, DKIMSIG_PERMERROR, "v= is not 1");
	if (kind == DKIMSIG_ARC_SEAL && taglist_find(tags, count, "h") != NULL)
		return refuse(sig, DKIMSIG_PERMERROR, "h= is not allowed in an ARC-Seal");
	if (strcasecmp(sig->a, "rsa-sha256") == 0)
		sig->alg = DKIMSIG_RSA_SHA256;
	else if (strcasecmp(sig->a, "ed25519-sha256") == 0)
		sig->alg = DKIMSIG_ED25519_SHA256;
	else if (strcasecmp(sig->a, "rsa-sha1") == 0)
		sig->alg = DKIMSIG_RSA_SHA1;
	else
		return refuse(sig, DKIMSIG_PERMERROR, "unknown algorithm a=");
	return 1;
}

static int check_values(struct dkimsig *sig, const struct tag *tags, size_t count,
    enum dkimsig_kind kind)
{
	struct span bh = value_of(tags, count, "bh");
	size_t	n;

	if (!base64_decode(sig->b.p, sig->b.len, NULL, 0, &n))
		return refuse(sig, DKIMSIG_PERMERROR, "b= is not base64");
	if (kind != DKIMSIG_ARC_SEAL &&
	    !base64_decode(bh.p, bh.len, sig->bh, sizeof(sig->bh), &sig->bh_len))
		return refuse(sig, DKIMSIG_PERMERROR, "bh= is not a base64 body hash");
	if (!is_domain(sig->d) || !is_domain(sig->s))
		return refuse(sig, DKIMSIG_PERMERROR, "d= or s= is not a domain name");
	if (strlen(sig->s) + strlen(DOMAINKEY_LABEL) + strlen(sig->d) > KEY_NAME_MAX)
		return refuse(sig, DKIMSIG_PERMERROR, "the key name s=._domainkey.d= is over %d "
		    "characters", KEY_NAME_MAX);
	return 1;
}

static int check_methods(struct dkimsig *sig, const struct tag *tags, size_t count)
{
	char	c[32], q[256];
	const char *slash;

	sig->header_canon = sig->body_canon = CANON_SIMPLE;
	if (taglist_find(tags, count, "c") != NULL && (!compact(tags, count, "c", c,
	    sizeof(c)) || (slash = strchr(c, '/'), !read_canon(span_of(c, slash ?
	    (size_t)(slash - c) : strlen(c)), &sig->header_canon)) || (slash != NULL &&
	    !read_canon(span_of(slash + 1, strlen(slash + 1)), &sig->body_canon))))
		return refuse(sig, DKIMSIG_PERMERROR, "unknown canonicalization c=");
	if (taglist_find(tags, count, "q") != NULL && (!compact(tags, count, "q", q,
	    sizeof(q)) || !taglist_list_has(span_of(q, strlen(q)), "dns/txt")))
		return refuse(sig, DKIMSIG_PERMERROR, "q= names no query method known here");
	return 1;
}

static int check_headers(struct dkimsig *sig)
{
	struct span list = sig->h;
	char	name[DKIMSIG_FIELD_NAME_MAX + 1];
	size_t	len;
	int	from = 0;

	while (dkimsig_next_header(&list, name, &len)) {
		if (!is_field_name(name, len))
			return refuse(sig, DKIMSIG_PERMERROR, "h= is not a list of field names");
		from |= strcasecmp(name, "from") == 0;
	}
	if (!from)
		return refuse(sig, DKIMSIG_PERMERROR, "From is not signed (h=)");
	return 1;
}

/* i= is [local-part] "@" domain, the domain d= or below it. */
static int check_identity(struct dkimsig *sig, const struct tag *tags, size_t count)
{
	char	i[512];
	const char *at;
	size_t	dlen = strlen(sig->d), len;

	sig->i_is_d = 1;
	if (taglist_find(tags, count, "i") == NULL)
		return 1;
	if (!compact(tags, count, "i", i, sizeof(i)) || (at = strrchr(i, '@')) == NULL)
		return refuse(sig, DKIMSIG_PERMERROR, "i= is not an identity (@domain)");
	at++;
	len = strlen(at);
	sig->i_is_d = strcasecmp(at, sig->d) == 0;
	/* Else it must end with "." d (ASCII case aside). */
	if (!sig->i_is_d && (len <= dlen || at[len - dlen - 1] != '.' ||
	    strcasecmp(at + len - dlen, sig->d) != 0))
		return refuse(sig, DKIMSIG_PERMERROR, "i= is not d= or a subdomain of it");
	return 1;
}

static int check_times(struct dkimsig *sig, const struct tag *tags, size_t count, time_t now)
{
	int	has_t = taglist_find(tags, count, "t") != NULL,
		has_x = taglist_find(tags, count, "x") != NULL;
	unsigned long long signed_at = 0, expires = 0, at_now = now > 0 ? (unsigned long long)now
	    : 0;

	if ((sig->has_l = taglist_find(tags, count, "l") != NULL) &&
	    !read_number(tags, count, "l", 76, &sig->l))
		return refuse(sig, DKIMSIG_PERMERROR, "l= is not a number");
	if ((has_t && !read_number(tags, count, "t", 12, &signed_at)) ||
	    (has_x && !read_number(tags, count, "x", 12, &expires)))
		return refuse(sig, DKIMSIG_PERMERROR, "t= or x= is not a time");
	if (has_t && has_x && expires <= signed_at)
		return refuse(sig, DKIMSIG_PERMERROR, "x= is not after t=");
	if (has_x && at_now > expires + DKIMSIG_CLOCK_DRIFT)
		return refuse(sig, DKIMSIG_PERMERROR, "the signature has expired (x=)");
	if (has_t && signed_at > at_now + DKIMSIG_CLOCK_DRIFT)
		return refuse(sig, DKIMSIG_PERMERROR, "t= is in the future");
	return 1;
}

void	dkimsig_parse(const char *value, size_t len, time_t now, struct dkimsig *sig)
{
	dkimsig_parse_kind(value, len, now, DKIMSIG_DKIM, sig);
}

/* What the tags say of a signature once the list is known to be valid; 0 when refused. */
static int check_tags(struct dkimsig *sig, const struct tag *tags, size_t count, time_t now,
    enum dkimsig_kind kind)
{
	if (!check_required(sig, tags, count, kind) || !check_values(sig, tags, count, kind))
		return 0;
	if (kind == DKIMSIG_ARC_SEAL) {
		/* RFC 8617 section 4.1.3: relaxed, no body; i= is the instance. */
		sig->header_canon = sig->body_canon = CANON_RELAXED;
		sig->i_is_d = 1;
		return check_times(sig, tags, count, now);
	}
	if (!check_methods(sig, tags, count) || !check_headers(sig))
		return 0;
	if (kind == DKIMSIG_ARC_MESSAGE)
		sig->i_is_d = 1;
	else if (!check_identity(sig, tags, count))
		return 0;
	return check_times(sig, tags, count, now);
}

void	dkimsig_parse_kind(const char *value, size_t len, time_t now, enum dkimsig_kind kind,
    struct dkimsig *sig)
{
	struct tag tags[TAGLIST_MAX];
	size_t	count;
	char	err[DKIMSIG_REASON_MAX - 16];
	int	valid;

	memset(sig, 0, sizeof(*sig));
	valid = taglist_parse(value, len, TAGLIST_STRICT, tags, TAGLIST_MAX, &count, err,
	    sizeof(err));
	/* Reported whatever comes next: from the tags read before any error. */
	compact(tags, count, "d", sig->d, sizeof(sig->d));
	compact(tags, count, "s", sig->s, sizeof(sig->s));
	compact(tags, count, "a", sig->a, sizeof(sig->a));
	sig->b = value_of(tags, count, "b");
	sig->h = value_of(tags, count, "h");
	if (!valid) {
		refuse(sig, DKIMSIG_PERMERROR, "syntax error, %s", err);
		return;
	}
	if (!check_tags(sig, tags, count, now, kind))
		return;
	locate_b(sig, value, len, taglist_find(tags, count, "b"));
	if (sig->alg == DKIMSIG_RSA_SHA1)
		refuse(sig, DKIMSIG_POLICY, "rsa-sha1 is not accepted (RFC 8301)");
}

int	dkimsig_next_header(struct span *list, char name[DKIMSIG_FIELD_NAME_MAX + 1],
    size_t *len)
{
	struct span item;

	if (!taglist_list_next(list, &item))
		return 0;
	taglist_value_compact(item, name, DKIMSIG_FIELD_NAME_MAX + 1);
	*len = strlen(name);
	return 1;
}

const char *dkimsig_hash_name(enum dkimsig_alg alg)
{
	return alg == DKIMSIG_RSA_SHA1 ? "sha1" : "sha256";
}
