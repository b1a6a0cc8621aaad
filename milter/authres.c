/*
 * NAME
 *	authres.c - write Signet's Authentication-Results, recognise forged ones
 * DESCRIPTION
 *	Writing.  RFC 8601 property values are a token, a quoted-string, or an
 *	[local-part "@"] domain-name; values that fit a strict reading of the last form, or
 *	are tokens, go out as they are, anything else as a quoted-string.  Bytes outside
 *	printable ASCII are replaced by '?' before either, so the message or a DNS answer can
 *	never end our header field or start another one.  Each result goes on its own folded
 *	line.  A property value longer than AUTHRES_VALUE_MAX is left out, as RFC 8601
 *	allows for what is unknown, never cut: the first 512 bytes of an address or a name
 *	may name someone else (a MAIL FROM cut there once did, issue 15).  Comments are ours
 *	and short; one that is too long is cut.
 *
 *	Recognising.  A field is ours when its authserv-id -- the first value after optional
 *	CFWS -- equals our AuthservID (without case, a trailing dot ignored).  The reader
 *	walks comments (nested, with quoted-pairs), folding and quoted strings byte by byte.
 *	A field it cannot read (an unterminated comment or quoted string, an escaped
 *	closing parenthesis, no authserv-id at all) is treated as ours -- to be removed --
 *	as soon as our AuthservID stands in it as a whole token anywhere: a laxer reader
 *	downstream could take that for the authserv-id (fail closed, issue 13).  A readable
 *	field with another authserv-id is foreign and kept, whatever it says after it.
 * SEE ALSO
 *	RFC 8601 sections 2.2, 2.5 and 5
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/alloc.h"
#include "lib/printable.h"
#include "milter/authres.h"

#define AUTHRES_VALUE_MAX 512

/* RFC 2045 token characters. */
static int is_token_char(unsigned char c)
{
	return c > 32 && c < 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static int is_dot_atom_char(unsigned char c)
{
	return isalnum(c) || strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL;
}

/* value is [local-part "@"] domain with a dot-atom local part, or a token. */
static int needs_no_quotes(const char *v)
{
	const char *at = strrchr(v, '@');
	const char *p;

	if (*v == '\0')
		return 0;
	if (at == NULL) {
		for (p = v; *p; p++)
			if (!is_token_char((unsigned char)*p))
				return 0;
		return 1;
	}
	for (p = v; p < at; p++)
		if (!is_dot_atom_char((unsigned char)*p))
			return 0;
	if (at[1] == '\0')
		return 0;
	for (p = at + 1; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
			return 0;
	return 1;
}

static void append(struct authres *ar, const char *s, size_t len)
{
	if (!ar->failed && !buffer_append(&ar->buf, s, len))
		ar->failed = 1;
}

static void append_str(struct authres *ar, const char *s)
{
	append(ar, s, strlen(s));
}

/* Appends text with each character in specials escaped by a backslash. */
static void append_escaped(struct authres *ar, const char *text, const char *specials)
{
	for (const char *p = text; *p; p++) {
		if (strchr(specials, *p) != NULL)
			append(ar, "\\", 1);
		append(ar, p, 1);
	}
}

static void append_value(struct authres *ar, const char *raw)
{
	char	safe[AUTHRES_VALUE_MAX + 1];

	(void)printable_copy(safe, sizeof(safe), raw ? raw : "", NULL);
	if (needs_no_quotes(safe)) {
		append_str(ar, safe);
		return;
	}
	append(ar, "\"", 1);
	append_escaped(ar, safe, "\"\\");
	append(ar, "\"", 1);
}

void	authres_begin(struct authres *ar, const char *authserv_id)
{
	memset(ar, 0, sizeof(*ar));
	append_value(ar, authserv_id);
}

void	authres_add(struct authres *ar, const char *method, const char *result,
    const char *comment, ...)
{
	va_list	ap;
	const char *name;

	append_str(ar, ";\n\t");
	append_str(ar, method);
	append(ar, "=", 1);
	append_str(ar, result);
	if (comment != NULL && *comment != '\0') {
		char	safe[AUTHRES_VALUE_MAX + 1];

		(void)printable_copy(safe, sizeof(safe), comment, NULL);
		append_str(ar, " (");
		append_escaped(ar, safe, "()\\");
		append(ar, ")", 1);
	}
	va_start(ap, comment);
	while ((name = va_arg(ap, const char *)) != NULL) {
		const char *value = va_arg(ap, const char *);

		if (value == NULL || *value == '\0' || strlen(value) > AUTHRES_VALUE_MAX)
			continue;	/* unknown or too long: left out, as RFC 8601 allows */
		append(ar, " ", 1);
		append_str(ar, name);
		append(ar, "=", 1);
		append_value(ar, value);
	}
	va_end(ap);
	ar->results++;
}

char   *authres_finish(struct authres *ar)
{
	char   *value;

	if (ar->results == 0)
		append_str(ar, "; none");
	if (ar->failed) {
		buffer_free(&ar->buf);
		return NULL;
	}
	/* As it stands after the colon: one space first. */
	if ((value = mem_malloc(ar->buf.len + 2)) != NULL) {
		value[0] = ' ';
		memcpy(value + 1, ar->buf.data, ar->buf.len + 1);
	}
	buffer_free(&ar->buf);
	return value;
}

const char *authres_skip_cfws(const char *p)
{
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p != '(')
			return p;
		int	depth = 0;
		do {
			if (*p == '\0')
				return NULL;
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
			p++;
		} while (depth > 0);
	}
}

/* Compares a token with our authserv-id, ignoring case and one trailing dot (a domain
 * name written as absolute is the same name). */
static int same_id(const char *token, size_t len, const char *authserv_id)
{
	size_t	id_len = strlen(authserv_id);

	if (len > 0 && token[len - 1] == '.' && (id_len == 0 || authserv_id[id_len - 1] != '.'))
		len--;
	return len > 0 && len == id_len && strncasecmp(token, authserv_id, len) == 0;
}

/* 1 when our authserv-id stands in the value as a whole token anywhere: what a lenient
 * reader could take for the authserv-id of a field that ours cannot read. */
static int mentions_id(const char *value, const char *authserv_id)
{
	const char *p = value;

	while (*p != '\0') {
		const char *start;

		while (*p != '\0' && !is_token_char((unsigned char)*p))
			p++;
		for (start = p; is_token_char((unsigned char)*p); p++)
			;
		if (same_id(start, (size_t)(p - start), authserv_id))
			return 1;
	}
	return 0;
}

/* Reads the authserv-id at the start of value into id: 1 when it could be read. */
static int read_authserv_id(const char *value, char *id, size_t size)
{
	size_t	n = 0;
	const char *p = authres_skip_cfws(value);

	if (p == NULL)
		return 0;
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			if (n + 1 >= size)
				return 0;
			id[n++] = *p;
		}
		if (*p != '"')
			return 0;
	} else {
		for (; is_token_char((unsigned char)*p); p++) {
			if (n + 1 >= size)
				return 0;
			id[n++] = *p;
		}
	}
	id[n] = '\0';
	return n > 0;
}

int	authres_is_ours(const char *value, const char *authserv_id)
{
	char	id[AUTHRES_VALUE_MAX + 1];

	if (authserv_id == NULL || *authserv_id == '\0')
		return 0;
	if (read_authserv_id(value, id, sizeof(id)))
		return same_id(id, strlen(id), authserv_id);
	/* Fail closed: a field we cannot read but that names us may read as ours to a
	 * laxer reader downstream. */
	return mentions_id(value, authserv_id);
}
