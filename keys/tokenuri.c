/*
 * NAME
 *	tokenuri.c - write and read the PKCS#11 URI (RFC 7512) of a token key
 * DESCRIPTION
 *	Only the attributes that find a key are kept: token (the token's label), id
 *	(CKA_ID), object (CKA_LABEL) and type.  Values are percent-decoded into bounded
 *	buffers; a value too long for its buffer, a bad %HH, or a NUL byte is an error.
 * SEE ALSO
 *	tokenuri.h, token.c, RFC 7512 section 2.3
 */
#include <stdio.h>
#include <string.h>

#include "keys/tokenuri.h"

#define URI_SCHEME	"pkcs11:"

static int
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
	    || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Appends name=VALUE (percent-encoded) at out[*at]; -1 when it does not fit. */
static int
put_attr(char *out, size_t size, size_t *at, const char *name, const unsigned char *v,
    size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;
	int n;

	n = snprintf(out + *at, size - *at, "%s%s=", out[*at - 1] == ':' ? "" : ";", name);
	if (n < 0 || (size_t)n >= size - *at)
		return -1;
	*at += (size_t)n;
	for (i = 0; i < len; i++) {
		if (size - *at < 4)
			return -1;
		if (unreserved(v[i])) {
			out[(*at)++] = (char)v[i];
		} else {
			out[(*at)++] = '%';
			out[(*at)++] = hex[v[i] >> 4];
			out[(*at)++] = hex[v[i] & 15];
		}
	}
	out[*at] = '\0';
	return 0;
}

int
token_uri_format(const char *token, const unsigned char *id, size_t id_len,
    const char *object, char *out, size_t size)
{
	size_t at = strlen(URI_SCHEME);

	if (size <= at)
		return -1;
	memcpy(out, URI_SCHEME, at + 1);
	if (put_attr(out, size, &at, "token", (const unsigned char *)token, strlen(token)) < 0
	    || put_attr(out, size, &at, "id", id, id_len) < 0
	    || put_attr(out, size, &at, "object", (const unsigned char *)object,
	    strlen(object)) < 0
	    || put_attr(out, size, &at, "type", (const unsigned char *)"private", 7) < 0)
		return -1;
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes v[len] into out[max]; the decoded length, or -1. */
static long
decode(const char *v, size_t len, unsigned char *out, size_t max)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if (o == max)
			return -1;
		if (v[i] != '%') {
			out[o++] = (unsigned char)v[i];
			continue;
		}
		if (i + 2 >= len)
			return -1;
		if ((hi = hexval(v[i + 1])) < 0 || (lo = hexval(v[i + 2])) < 0)
			return -1;
		out[o++] = (unsigned char)(hi << 4 | lo);
		i += 2;
	}
	return (long)o;
}

/* Decodes a text attribute into out[max + 1], refusing NUL bytes. */
static int
decode_text(const char *v, size_t len, char *out, size_t max)
{
	long n = decode(v, len, (unsigned char *)out, max);

	if (n < 0 || memchr(out, '\0', (size_t)n) != NULL)
		return -1;
	out[n] = '\0';
	return 0;
}

static int
parse_attr(const char *a, size_t len, struct token_uri *out, int *typed, char *why,
    size_t size)
{
	const char *eq = memchr(a, '=', len);
	size_t nlen, vlen;
	long n;

	if (eq == NULL) {
		snprintf(why, size, "attribute \"%.*s\" has no value", (int)len, a);
		return -1;
	}
	nlen = (size_t)(eq - a);
	vlen = len - nlen - 1;
	if (nlen == 5 && memcmp(a, "token", 5) == 0) {
		if (decode_text(eq + 1, vlen, out->token, TOKEN_LABEL_MAX) == 0)
			return 0;
	} else if (nlen == 6 && memcmp(a, "object", 6) == 0) {
		if (decode_text(eq + 1, vlen, out->object, TOKEN_OBJECT_MAX) == 0)
			return 0;
	} else if (nlen == 2 && memcmp(a, "id", 2) == 0) {
		if ((n = decode(eq + 1, vlen, out->id, TOKEN_ID_MAX)) >= 0) {
			out->id_len = (size_t)n;
			return 0;
		}
	} else if (nlen == 4 && memcmp(a, "type", 4) == 0) {
		*typed = 1;
		if (vlen == 7 && memcmp(eq + 1, "private", 7) == 0)
			return 0;
		snprintf(why, size, "type is \"%.*s\", not private", (int)vlen, eq + 1);
		return -1;
	} else {
		return 0;
	}
	snprintf(why, size, "bad or too long value of %.*s", (int)nlen, a);
	return -1;
}

int
token_uri_parse(const char *uri, struct token_uri *out, char *why, size_t size)
{
	size_t plen = strlen(URI_SCHEME), len;
	const char *p, *end;
	int typed = 0;

	memset(out, 0, sizeof(*out));
	if (strncmp(uri, URI_SCHEME, plen) != 0) {
		snprintf(why, size, "does not start with \"%s\"", URI_SCHEME);
		return -1;
	}
	p = uri + plen;
	len = strcspn(p, "?#");
	for (end = p + len; p < end; p += len + 1) {
		len = strcspn(p, ";?#");
		if (len > 0 && parse_attr(p, len, out, &typed, why, size) < 0)
			return -1;
	}
	if (out->token[0] == '\0') {
		snprintf(why, size, "names no token (token=LABEL)");
		return -1;
	}
	if (out->object[0] == '\0' && out->id_len == 0) {
		snprintf(why, size, "names no key (id= or object=)");
		return -1;
	}
	return 0;
}
