/*
 * NAME
 *	canon.c - DKIM canonicalization of header fields and bodies, hashed as it streams
 * DESCRIPTION
 *	Body: a byte-at-a-time state machine.  Empty lines are not hashed when seen but
 *	counted, and written out only when a later line has content, which is how both
 *	algorithms drop trailing empty lines without buffering the body.  "relaxed" also
 *	remembers a run of blanks and writes one space only if non-blank content follows on
 *	the same line (so blanks at line end vanish).  A CR not followed by LF is content.
 *	Output is staged in a small buffer and hashed in blocks.
 *
 *	Most lines of real mail are already in canonical form (CRLF at the end; under
 *	relaxed no tab, no two blanks in a row, no blank before the line end).  A whole
 *	such line found in the chunk, with nothing pending, is checked sixteen bytes at a
 *	time (SSE2; eight without it), and a run of such lines is hashed as it stands in
 *	the chunk, with no copy; anything else goes through the state machine, a run of
 *	plain content (no CR, LF, nor, under relaxed, blank) at a time (issue 17: the
 *	byte-at-a-time machine took two thirds of Signet's CPU on 1 MiB messages).
 *
 *	Every canonical byte reaches the hash through digest(), which counts it and applies
 *	a verifier's l= limit, so the fast paths above need not know about either.
 *
 *	RFC 6376 section 3.4.3/3.4.4 with erratum 3192: an empty body is "CRLF" under simple
 *	and empty under relaxed; a last line without a line end gets one.
 * SEE ALSO
 *	canon.h, RFC 6376 section 3.4
 */
#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "lib/alloc.h"
#include "milter/canon.h"

struct body_canon {
	enum canon_kind kind;
	EVP_MD_CTX *md;
	size_t	pending_empty_lines;	/* empty lines not yet written */
	int	line_has_content;	/* something written on the current line */
	int	pending_space;		/* relaxed: blanks seen, not yet written */
	int	pending_cr;		/* a CR whose meaning depends on the next byte */
	int	wrote_anything;
	unsigned long long length;	/* canonical bytes so far, hashed or not */
	unsigned long long left;	/* of the limit: bytes that may still be hashed */
	unsigned char out[4096];
	size_t	out_len;
	int	failed;
};

/* Every canonical byte goes through here: counted, and hashed while the limit lasts. */
static void digest(struct body_canon *c, const unsigned char *bytes, size_t len)
{
	size_t	take = len < c->left ? len : (size_t)c->left;

	c->length += len;
	c->left -= take;
	if (take > 0 && !EVP_DigestUpdate(c->md, bytes, take))
		c->failed = 1;
}

static void flush_out(struct body_canon *c)
{
	digest(c, c->out, c->out_len);
	c->out_len = 0;
}

static void emit(struct body_canon *c, const char *bytes, size_t len)
{
	if (len > sizeof(c->out) - c->out_len)
		flush_out(c);
	memcpy(c->out + c->out_len, bytes, len);
	c->out_len += len;
	c->wrote_anything = 1;
}

/* Something other than a line end or (relaxed) a blank belongs on the current line. */
static void emit_content(struct body_canon *c, unsigned char ch)
{
	if (!c->line_has_content) {
		for (; c->pending_empty_lines > 0; c->pending_empty_lines--)
			emit(c, "\r\n", 2);
		c->line_has_content = 1;
	}
	if (c->pending_space) {
		emit(c, " ", 1);
		c->pending_space = 0;
	}
	emit(c, (const char *)&ch, 1);
}

static void end_line(struct body_canon *c)
{
	if (c->line_has_content)
		emit(c, "\r\n", 2);
	else
		c->pending_empty_lines++;
	c->line_has_content = 0;
	c->pending_space = 0;
}

static void take_byte(struct body_canon *c, unsigned char ch)
{
	if (c->pending_cr) {
		c->pending_cr = 0;
		if (ch == '\n') {
			end_line(c);
			return;
		}
		emit_content(c, '\r');
	}
	if (ch == '\r')
		c->pending_cr = 1;
	else if (ch == '\n')
		end_line(c);
	else if (c->kind == CANON_RELAXED && (ch == ' ' || ch == '\t'))
		c->pending_space = 1;
	else
		emit_content(c, ch);
}

struct body_canon *body_canon_new(enum canon_kind kind)
{
	struct body_canon *c = mem_calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->kind = kind;
	c->left = ULLONG_MAX;
	if ((c->md = EVP_MD_CTX_new()) == NULL || !EVP_DigestInit_ex(c->md, EVP_sha256(), NULL)) {
		body_canon_free(c);
		return NULL;
	}
	return c;
}

/* Bytes staged as they are (their line already begun or complete). */
static void emit_bytes(struct body_canon *c, const unsigned char *bytes, size_t len)
{
	if (len > sizeof(c->out) - c->out_len) {
		flush_out(c);
		if (len >= sizeof(c->out)) {
			digest(c, bytes, len);
			return;
		}
	}
	memcpy(c->out + c->out_len, bytes, len);
	c->out_len += len;
}

/* Bytes of x equal to the byte in each byte of pattern: 0x80 there, 0 elsewhere (exact,
 * no carries between bytes). */
static uint64_t bytes_equal(uint64_t x, uint64_t pattern)
{
	const uint64_t low7 = 0x7f7f7f7f7f7f7f7fULL;
	uint64_t v = x ^ pattern, t = (v & low7) + low7;

	return ~(t | v | low7);
}

/* Relaxed: no tab and no two blanks in a row in data[0..len), eight bytes at a time. */
static int relaxed_clean(const unsigned char *data, size_t len)
{
	const uint64_t spaces = 0x2020202020202020ULL, tabs = 0x0909090909090909ULL;
	uint64_t carry = 0;	/* 0x80 when the byte before this word was a space */
	size_t	i = 0;

#ifdef __SSE2__
	const __m128i space16 = _mm_set1_epi8(' '), tab16 = _mm_set1_epi8('\t');
	unsigned after_space = 0;	/* 1 when the byte before this block was a space */

	for (; i + 16 <= len; i += 16) {
		__m128i	x = _mm_loadu_si128((const __m128i *)(const void *)(data + i));
		unsigned space = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, space16));

		if (_mm_movemask_epi8(_mm_cmpeq_epi8(x, tab16)) != 0 ||
		    (space & ((space << 1) | after_space)) != 0)
			return 0;
		after_space = space >> 15;
	}
	carry = after_space ? 0x80 : 0;
#endif
	for (; i + 8 <= len; i += 8) {
		uint64_t x, space;

		memcpy(&x, data + i, 8);	/* little-endian: byte i is the lowest */
		space = bytes_equal(x, spaces);
		if (bytes_equal(x, tabs) != 0 || (space & ((space << 8) | carry)) != 0)
			return 0;
		carry = space >> 56;
	}
	for (; i < len; i++) {
		if (data[i] == '\t' || (data[i] == ' ' && carry != 0))
			return 0;
		carry = data[i] == ' ';
	}
	return 1;
}

/* The length of the whole line, ended by CRLF, at the start of data when it is already
 * canonical and has content, while nothing is pending; else 0. */
static size_t canonical_line(const struct body_canon *c, const unsigned char *data,
    size_t len)
{
	const unsigned char *lf;
	size_t	content;

	if (c->pending_cr || c->pending_space || c->line_has_content ||
	    (lf = memchr(data, '\n', len)) == NULL || lf - data < 2 || lf[-1] != '\r')
		return 0;
	content = (size_t)(lf - 1 - data);
	if (c->kind == CANON_RELAXED && (lf[-2] == ' ' || !relaxed_clean(data, content)))
		return 0;
	return content + 2;
}

/* Length of the run of plain content at the start of data. */
static size_t plain_run(enum canon_kind kind, const unsigned char *data, size_t len)
{
	size_t	n = 0;

	if (kind == CANON_RELAXED)
		while (n < len && data[n] != '\r' && data[n] != '\n' && data[n] != ' ' &&
		    data[n] != '\t')
			n++;
	else
		while (n < len && data[n] != '\r' && data[n] != '\n')
			n++;
	return n;
}

/* A run of plain content: what emit_content() does for each byte, once for the run. */
static void emit_run(struct body_canon *c, const unsigned char *run, size_t len)
{
	emit_content(c, run[0]);
	emit_bytes(c, run + 1, len - 1);
}

int	body_canon_update(struct body_canon *c, const unsigned char *data, size_t len)
{
	size_t	i = 0, lines = 0;	/* data[i - lines, i): canonical lines not yet staged */

	while (i < len) {
		size_t	line = canonical_line(c, data + i, len - i), run;

		if (line > 0) {
			if (lines == 0) {	/* the empty lines before are content now */
				for (; c->pending_empty_lines > 0; c->pending_empty_lines--)
					emit(c, "\r\n", 2);
				c->wrote_anything = 1;
			}
			lines += line;
			i += line;
			continue;
		}
		if (lines > 0) {
			emit_bytes(c, data + i - lines, lines);
			lines = 0;
		}
		run = c->pending_cr ? 0 : plain_run(c->kind, data + i, len - i);
		if (run > 0) {
			emit_run(c, data + i, run);
			i += run;
		} else {
			take_byte(c, data[i++]);
		}
	}
	if (lines > 0)
		emit_bytes(c, data + i - lines, lines);
	return !c->failed;
}

int	body_canon_final(struct body_canon *c, unsigned char hash[CANON_HASH_LEN])
{
	unsigned int hash_len = 0;

	if (c->pending_cr) {
		c->pending_cr = 0;
		emit_content(c, '\r');
	}
	if (c->line_has_content)
		end_line(c);
	if (c->kind == CANON_SIMPLE && !c->wrote_anything)
		emit(c, "\r\n", 2);
	flush_out(c);
	if (c->failed || !EVP_DigestFinal_ex(c->md, hash, &hash_len) || hash_len != CANON_HASH_LEN)
		return 0;
	return 1;
}

void	body_canon_set_limit(struct body_canon *c, unsigned long long limit)
{
	c->left = limit;
}

unsigned long long body_canon_length(const struct body_canon *c)
{
	return c->length;
}

void	body_canon_free(struct body_canon *c)
{
	if (c == NULL)
		return;
	EVP_MD_CTX_free(c->md);
	free(c);
}

/* ---- header fields -------------------------------------------------------------------- */

/* simple: the field exactly as it stands, with every line end written as CRLF. */
static int header_simple(struct buffer *out, const char *name, const char *value)
{
	if (!buffer_append_str(out, name) || !buffer_append(out, ":", 1))
		return 0;
	for (const char *p = value; *p; p++) {
		if (*p == '\n' && (p == value || p[-1] != '\r')) {
			if (!buffer_append(out, "\r\n", 2))
				return 0;
		} else if (!buffer_append(out, p, 1)) {
			return 0;
		}
	}
	return 1;
}

/* relaxed: lower-case name; value unfolded, blank runs to one space, trimmed at both ends. */
static int header_relaxed(struct buffer *out, const char *name, const char *value)
{
	size_t	name_len = strlen(name);
	int	pending_space = 0, started = 0;

	while (name_len > 0 && (name[name_len - 1] == ' ' || name[name_len - 1] == '\t'))
		name_len--;
	for (size_t i = 0; i < name_len; i++) {
		char	lower = (char)tolower((unsigned char)name[i]);

		if (!buffer_append(out, &lower, 1))
			return 0;
	}
	if (!buffer_append(out, ":", 1))
		return 0;
	for (const char *p = value; *p; p++) {
		if (*p == '\r' || *p == '\n')
			continue;
		if (*p == ' ' || *p == '\t') {
			pending_space = started;
			continue;
		}
		if (pending_space && !buffer_append(out, " ", 1))
			return 0;
		pending_space = 0;
		started = 1;
		if (!buffer_append(out, p, 1))
			return 0;
	}
	return 1;
}

int	header_canon(struct buffer *out, enum canon_kind kind, const char *name,
    const char *value, int with_crlf)
{
	int	ok = kind == CANON_RELAXED ? header_relaxed(out, name, value)
	    : header_simple(out, name, value);

	return ok && (!with_crlf || buffer_append(out, "\r\n", 2));
}
