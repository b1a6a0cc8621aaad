/*
 * NAME
 *	arctrust.c - trusted ARC sealers (RFC 8617 section 7.2): arctrust.h says what counts
 * DESCRIPTION
 *	A small reader of Authentication-Results text: a lexer that skips comments and
 *	unquotes values, and a loop over the results that keeps, for each, the method, the
 *	result and the few properties a vouch can rest on.  Every value is bounded; a value
 *	longer than that is cut, which can only make it compare unequal.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "milter/arctrust.h"
#include "milter/authres.h"

#define ARCTRUST_VALUE_MAX 256

enum lex_kind {
	LEX_END,
	LEX_WORD,		/* a token, or a quoted string's content */
	LEX_EQUALS,
	LEX_SEMICOLON,
	LEX_ERROR,		/* an unclosed comment or quoted string */
};

struct lexer {
	const char *p;
	char	text[ARCTRUST_VALUE_MAX];
};

/* src into dst, cut to fit: a cut value can only compare unequal. */
static void copy_text(char *dst, size_t size, const char *src)
{
	size_t	len = strnlen(src, size - 1);

	memcpy(dst, src, len);
	dst[len] = '\0';
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Skips white space and comments as authres.c does; 0 for an unclosed comment, which
 * leaves the lexer on the NUL (nothing past the end is ever read). */
static int skip_cfws(struct lexer *lx)
{
	const char *p = authres_skip_cfws(lx->p);

	if (p == NULL) {
		lx->p += strlen(lx->p);
		return 0;
	}
	lx->p = p;
	return 1;
}

static void keep(struct lexer *lx, size_t *len, char c)
{
	if (*len + 1 < sizeof(lx->text))
		lx->text[(*len)++] = c;
}

/* The next token; a value (after '=') may hold '=' itself, as base64 does. */
static enum lex_kind lex(struct lexer *lx, int value)
{
	size_t	len = 0;

	if (!skip_cfws(lx))
		return LEX_ERROR;
	switch (*lx->p) {
	case '\0':
		return LEX_END;
	case ';':
		lx->p++;
		return LEX_SEMICOLON;
	case '=':
		if (!value) {
			lx->p++;
			return LEX_EQUALS;
		}
		break;
	case '"':
		for (lx->p++; *lx->p != '"'; lx->p++) {
			if (*lx->p == '\0')
				return LEX_ERROR;
			if (*lx->p == '\\' && lx->p[1] != '\0')
				lx->p++;
			keep(lx, &len, *lx->p);
		}
		lx->p++;
		if (!value || *lx->p != '@') {	/* else "local part"@domain goes on */
			lx->text[len] = '\0';
			return LEX_WORD;
		}
		keep(lx, &len, '@');
		lx->p++;
	}
	while (*lx->p != '\0' && !is_blank(*lx->p) && *lx->p != ';' && *lx->p != '(' &&
	    *lx->p != '"' && (value || *lx->p != '='))
		keep(lx, &len, *lx->p++);
	lx->text[len] = '\0';
	return LEX_WORD;
}

/* One result (resinfo) and the properties a vouch looks at. */
struct resinfo {
	char	method[32];
	char	result[32];
	char	header_from[ARCTRUST_VALUE_MAX];
	char	header_d[ARCTRUST_VALUE_MAX];
	char	header_i[ARCTRUST_VALUE_MAX];
	char	mailfrom[ARCTRUST_VALUE_MAX];
};

static void set_property(struct resinfo *r, const char *name, const char *value)
{
	char   *slot = NULL;

	if (strcasecmp(name, "header.from") == 0)
		slot = r->header_from;
	else if (strcasecmp(name, "header.d") == 0)
		slot = r->header_d;
	else if (strcasecmp(name, "header.i") == 0)
		slot = r->header_i;
	else if (strcasecmp(name, "smtp.mailfrom") == 0 || strcasecmp(name, "smtp.mfrom") == 0)
		slot = r->mailfrom;
	if (slot != NULL)
		copy_text(slot, ARCTRUST_VALUE_MAX, value);
}

/* The domain of an address ("@d", "l@d") or a bare domain. */
static const char *domain_of(const char *value)
{
	const char *at = strrchr(value, '@');

	return at != NULL ? at + 1 : value;
}

static int same_domain(const char *a, const char *b)
{
	size_t	la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la > 0 && la == lb && strncasecmp(a, b, la) == 0;
}

/* What in r passes for the Author Domain, or NULL. */
static const char *vouches(const struct resinfo *r, const char *author_domain)
{
	if (strcasecmp(r->result, "pass") != 0)
		return NULL;
	if (strcasecmp(r->method, "dmarc") == 0 && same_domain(r->header_from, author_domain))
		return "dmarc=pass";
	if (strcasecmp(r->method, "dkim") == 0 && (same_domain(r->header_d, author_domain) ||
	    (r->header_i[0] != '\0' && same_domain(domain_of(r->header_i), author_domain))))
		return "dkim=pass";
	if (strcasecmp(r->method, "spf") == 0 && r->mailfrom[0] != '\0' &&
	    same_domain(domain_of(r->mailfrom), author_domain))
		return "spf=pass";
	return NULL;
}

/* Calls found() for each result of an A-R text (authserv-id first) until it returns
 * non-NULL, which is returned; NULL at the end or where the text cannot be read. */
static const char *each_result(const char *text,
    const char *(*found)(const struct resinfo *, const void *), const void *ctx)
{
	struct lexer lx = {.p = text};
	enum lex_kind k;

	/* authserv-id, and an optional version */
	if (lex(&lx, 0) != LEX_WORD)
		return NULL;
	if ((k = lex(&lx, 0)) == LEX_WORD)
		k = lex(&lx, 0);
	while (k == LEX_SEMICOLON) {
		struct resinfo r;
		char	name[64];
		char   *slash;
		const char *answer;

		memset(&r, 0, sizeof(r));
		if (lex(&lx, 0) != LEX_WORD)
			return NULL;
		copy_text(r.method, sizeof(r.method), lx.text);
		if ((slash = strchr(r.method, '/')) != NULL)	/* method/version */
			*slash = '\0';
		if (lex(&lx, 0) != LEX_EQUALS)	/* "; none", or what cannot be read */
			return NULL;
		if (lex(&lx, 1) != LEX_WORD)
			return NULL;
		copy_text(r.result, sizeof(r.result), lx.text);
		while ((k = lex(&lx, 0)) == LEX_WORD) {
			copy_text(name, sizeof(name), lx.text);
			if (lex(&lx, 0) != LEX_EQUALS || lex(&lx, 1) != LEX_WORD)
				return NULL;
			set_property(&r, name, lx.text);
		}
		if ((answer = found(&r, ctx)) != NULL)
			return answer;
	}
	return NULL;
}

static const char *vouch_found(const struct resinfo *r, const void *author_domain)
{
	return vouches(r, author_domain);
}

struct method_query {
	const char *method;
	char   *out;
	size_t	size;
};

static const char *method_found(const struct resinfo *r, const void *ctx)
{
	const struct method_query *q = ctx;

	if (strcasecmp(r->method, q->method) != 0)
		return NULL;
	copy_text(q->out, q->size, r->result);
	return q->out;
}

void	arctrust_result_of(const char *authres, const char *method, char *out, size_t size)
{
	struct method_query q = {method, out, size};

	if (size == 0)
		return;
	out[0] = '\0';
	(void)each_result(authres, method_found, &q);
}

unsigned arctrust_vouch(const struct name_list *trusted, const struct arctrust_set *sets,
    size_t count, const char *author_domain, char *why, size_t why_size)
{
	if (why_size > 0)
		why[0] = '\0';
	for (size_t n = count; n-- > 0;) {
		const struct arctrust_set *s = &sets[n];
		const char *what;
		int	is_trusted = 0;

		for (size_t t = 0; t < trusted->count && !is_trusted; t++)
			is_trusted = same_domain(trusted->names[t], s->seal_domain);
		if (!is_trusted || (what = each_result(s->aar, vouch_found, author_domain)) == NULL)
			continue;
		snprintf(why, why_size, "%s i=%u saw %s", s->seal_domain, s->instance, what);
		return s->instance;
	}
	return 0;
}

/* The AAR's smtp.remote-ip, or "" (read as each_result() reads). */
static void remote_ip(const char *aar, char out[ARCTRUST_VALUE_MAX])
{
	struct lexer lx = {.p = aar};
	enum lex_kind k;

	out[0] = '\0';
	if (lex(&lx, 0) != LEX_WORD)
		return;
	while ((k = lex(&lx, 0)) != LEX_END && k != LEX_ERROR) {
		char	name[64];

		if (k != LEX_WORD)
			continue;
		copy_text(name, sizeof(name), lx.text);
		if ((k = lex(&lx, 0)) == LEX_END || k == LEX_ERROR)
			return;
		if (k != LEX_EQUALS)
			continue;
		if (lex(&lx, 1) != LEX_WORD)
			return;
		if (strcasecmp(name, "smtp.remote-ip") == 0) {
			copy_text(out, ARCTRUST_VALUE_MAX, lx.text);
			return;
		}
	}
}

/* Appends " token" when it fits whole (the first without the space). */
static void append_token(char *out, size_t size, size_t *used, const char *token)
{
	size_t	need = strlen(token) + (*used > 0);

	if (*used + need >= size)
		return;
	*used += (size_t)snprintf(out + *used, size - *used, "%s%s", *used > 0 ? " " : "",
	    token);
}

static int printable_token(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

void	arctrust_report_comment(const struct arctrust_set *sets, size_t count, char *out,
    size_t size)
{
	char	token[ARCTRUST_VALUE_MAX + 32], ip[ARCTRUST_VALUE_MAX];
	size_t	used = 0;

	if (size == 0)
		return;
	out[0] = '\0';
	append_token(out, size, &used, "arc=pass");
	for (size_t n = count; n-- > 0;) {
		const struct arctrust_set *s = &sets[n];

		if (printable_token(s->seal_domain) && s->seal_domain[0] != '\0') {
			snprintf(token, sizeof(token), "as[%u].d=%s", s->instance, s->seal_domain);
			append_token(out, size, &used, token);
		}
		if (printable_token(s->seal_selector) && s->seal_selector[0] != '\0') {
			snprintf(token, sizeof(token), "as[%u].s=%s", s->instance, s->seal_selector);
			append_token(out, size, &used, token);
		}
	}
	for (size_t n = count; n-- > 0;) {
		remote_ip(sets[n].aar, ip);
		if (ip[0] != '\0' && printable_token(ip)) {
			snprintf(token, sizeof(token), "remote-ip[%u]=%s", sets[n].instance, ip);
			append_token(out, size, &used, token);
		}
	}
}
