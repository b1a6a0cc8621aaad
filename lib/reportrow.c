/*
 * NAME
 *	reportrow.c - one DMARC aggregate-report row, and the published policy, to text and
 *	back (the format is in reportrow.h)
 * DESCRIPTION
 *	The encoder writes fields through a writer that stops at the first one that does not
 *	fit.  The decoder walks [text, text + len) with a cursor, one TAB-separated field at
 *	a time, never past len and never needing a NUL.  It takes only the text the encoder
 *	writes: a byte the encoder escapes must come escaped, an escape must be of a byte it
 *	escapes (upper-case hex, never %00), a count has no leading zero; so decoding and
 *	encoding again gives the same text, and two texts of one record cannot differ.
 * DIAGNOSTICS
 *	As reportrow.h says: a length or 0; 1 or 0.
 * SEE ALSO
 *	reportrow.h, reportstore.h
 */
#include <limits.h>
#include <string.h>

#include "lib/reportrow.h"

#define VERSION		"1"
#define DAY		86400LL

/* ---- encoding ---------------------------------------------------------------------- */

struct writer {
	char   *out;
	size_t	size, len;
	int	ok;		/* 0 once something did not fit */
};

static int needs_escape(unsigned char c)
{
	return c < 0x21 || c > 0x7e || c == '%';
}

static void put_byte(struct writer *w, char c)
{
	if (w->len + 1 >= w->size) {
		w->ok = 0;
		return;
	}
	w->out[w->len++] = c;
}

/* One field from value, an array of size bytes that must hold a NUL; TAB before all
 * but the first. */
static void put_field(struct writer *w, const char *value, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t	n = strnlen(value, size);

	if (n == size)
		w->ok = 0;
	if (w->len > 0)
		put_byte(w, '\t');
	for (size_t i = 0; i < n && w->ok; i++) {
		unsigned char c = (unsigned char)value[i];

		if (needs_escape(c)) {
			put_byte(w, '%');
			put_byte(w, hex[c >> 4]);
			put_byte(w, hex[c & 15]);
		} else {
			put_byte(w, (char)c);
		}
	}
}

#define PUT(w, array) put_field((w), (array), sizeof(array))

static void put_count(struct writer *w, size_t count)
{
	char	digits[24];
	size_t	n = sizeof(digits) - 1;

	digits[n] = '\0';
	do {
		digits[--n] = (char)('0' + count % 10);
		count /= 10;
	} while (count > 0);
	put_field(w, digits + n, sizeof(digits) - n);
}

static size_t writer_end(struct writer *w)
{
	if (w->size > 0)
		w->out[w->ok ? w->len : 0] = '\0';
	return w->ok ? w->len : 0;
}

size_t	report_row_encode(const struct report_row *row, char *out, size_t size)
{
	struct writer w = {out, size, 0, size > 0};

	if (row->reason_count > REPORT_REASON_MAX || row->dkim_count > REPORT_DKIM_MAX)
		w.ok = 0;
	put_field(&w, VERSION, sizeof(VERSION));
	PUT(&w, row->source_ip);
	PUT(&w, row->disposition);
	PUT(&w, row->dkim_aligned);
	PUT(&w, row->spf_aligned);
	put_count(&w, row->reason_count);
	for (size_t i = 0; i < row->reason_count && w.ok; i++) {
		PUT(&w, row->reason[i].type);
		PUT(&w, row->reason[i].comment);
	}
	PUT(&w, row->header_from);
	put_field(&w, row->has_envelope_from ? "1" : "0", 2);
	PUT(&w, row->envelope_from);
	PUT(&w, row->envelope_to);
	put_count(&w, row->dkim_count);
	for (size_t i = 0; i < row->dkim_count && w.ok; i++) {
		PUT(&w, row->dkim[i].domain);
		PUT(&w, row->dkim[i].selector);
		PUT(&w, row->dkim[i].result);
	}
	PUT(&w, row->spf_domain);
	PUT(&w, row->spf_result);
	return writer_end(&w);
}

size_t	report_policy_encode(const struct report_policy *policy, char *out, size_t size)
{
	struct writer w = {out, size, 0, size > 0};

	put_field(&w, VERSION, sizeof(VERSION));
	PUT(&w, policy->domain);
	PUT(&w, policy->discovery_method);
	PUT(&w, policy->p);
	PUT(&w, policy->sp);
	PUT(&w, policy->np);
	PUT(&w, policy->adkim);
	PUT(&w, policy->aspf);
	PUT(&w, policy->testing);
	PUT(&w, policy->fo);
	PUT(&w, policy->rua);
	PUT(&w, policy->ruf);
	return writer_end(&w);
}

/* ---- decoding ---------------------------------------------------------------------- */

struct cursor {
	const char *p, *end;
	int	first;		/* no TAB before the next field */
	int	ok;		/* 0 once something was refused */
};

/* The next field's bytes, [*start, *start + *len), still encoded. */
static int next_field(struct cursor *c, const char **start, size_t *len)
{
	const char *tab;

	if (!c->ok)
		return 0;
	if (!c->first) {
		if (c->p >= c->end || *c->p != '\t')
			return c->ok = 0;
		c->p++;
	}
	c->first = 0;
	tab = memchr(c->p, '\t', (size_t)(c->end - c->p));
	*start = c->p;
	*len = (size_t)((tab != NULL ? tab : c->end) - c->p);
	c->p += *len;
	return 1;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;		/* lower case is not what the encoder writes */
}

/* The next field decoded into out (size bytes, NUL-terminated). */
static void take_field(struct cursor *c, char *out, size_t size)
{
	const char *s;
	size_t	len, n = 0;

	if (!next_field(c, &s, &len))
		return;
	for (size_t i = 0; i < len; i++) {
		unsigned char b = (unsigned char)s[i];

		if (b == '%') {
			int	hi = i + 2 < len ? hex_value(s[i + 1]) : -1;
			int	lo = i + 2 < len ? hex_value(s[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				return (void)(c->ok = 0);
			b = (unsigned char)(hi * 16 + lo);
			if (b == 0 || !needs_escape(b))	/* a NUL would cut the field short */
				return (void)(c->ok = 0);
			i += 2;
		} else if (needs_escape(b)) {
			return (void)(c->ok = 0);
		}
		if (n + 1 >= size)
			return (void)(c->ok = 0);
		out[n++] = (char)b;
	}
	out[n] = '\0';
}

#define TAKE(c, array) take_field((c), (array), sizeof(array))

/* A decimal count of at most max, written as put_count() writes it. */
static size_t take_count(struct cursor *c, size_t max)
{
	const char *s;
	size_t	len, value = 0;

	if (!next_field(c, &s, &len))
		return 0;
	if (len == 0 || (len > 1 && s[0] == '0'))
		return c->ok = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || value > max)
			return c->ok = 0;
		value = value * 10 + (size_t)(s[i] - '0');
	}
	if (value > max)
		return c->ok = 0;
	return value;
}

static void take_version(struct cursor *c)
{
	const char *s;
	size_t	len;

	if (next_field(c, &s, &len) && (len != 1 || s[0] != VERSION[0]))
		c->ok = 0;
}

static int cursor_end(struct cursor *c)
{
	return c->ok && c->p == c->end;
}

int	report_row_decode(const char *text, size_t len, struct report_row *out)
{
	struct cursor c = {text, text + len, 1, 1};

	memset(out, 0, sizeof(*out));
	take_version(&c);
	TAKE(&c, out->source_ip);
	TAKE(&c, out->disposition);
	TAKE(&c, out->dkim_aligned);
	TAKE(&c, out->spf_aligned);
	out->reason_count = take_count(&c, REPORT_REASON_MAX);
	for (size_t i = 0; i < out->reason_count && c.ok; i++) {
		TAKE(&c, out->reason[i].type);
		TAKE(&c, out->reason[i].comment);
	}
	TAKE(&c, out->header_from);
	out->has_envelope_from = (int)take_count(&c, 1);
	TAKE(&c, out->envelope_from);
	TAKE(&c, out->envelope_to);
	out->dkim_count = take_count(&c, REPORT_DKIM_MAX);
	for (size_t i = 0; i < out->dkim_count && c.ok; i++) {
		TAKE(&c, out->dkim[i].domain);
		TAKE(&c, out->dkim[i].selector);
		TAKE(&c, out->dkim[i].result);
	}
	TAKE(&c, out->spf_domain);
	TAKE(&c, out->spf_result);
	if (!cursor_end(&c)) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	return 1;
}

int	report_policy_decode(const char *text, size_t len, struct report_policy *out)
{
	struct cursor c = {text, text + len, 1, 1};

	memset(out, 0, sizeof(*out));
	take_version(&c);
	TAKE(&c, out->domain);
	TAKE(&c, out->discovery_method);
	TAKE(&c, out->p);
	TAKE(&c, out->sp);
	TAKE(&c, out->np);
	TAKE(&c, out->adkim);
	TAKE(&c, out->aspf);
	TAKE(&c, out->testing);
	TAKE(&c, out->fo);
	TAKE(&c, out->rua);
	TAKE(&c, out->ruf);
	if (!cursor_end(&c)) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	return 1;
}

/* ---- periods ----------------------------------------------------------------------- */

long long report_period_begin(long long t)
{
	long long into = t % DAY;

	if (into < 0)		/* before 1970: the day begins earlier, not later */
		into += DAY;
	if (t < 0 && t - LLONG_MIN < into)
		return t - t % DAY;	/* the first day that fits in a long long */
	return t - into;
}
