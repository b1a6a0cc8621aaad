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
 *	Most lines of real mail are already in canonical form (CRLF at the end, some
 *	content; under relaxed no tab, no two blanks in a row, no blank before the line end).
 *	At a line start with nothing pending, one pass over the chunk, sixteen bytes at a
 *	time (SSE2, else two words of eight), marks LF, CR, space and tab in bitmasks and
 *	finds the longest run of whole such lines; the run is hashed as it stands in the
 *	chunk, with no copy and no call per line.  What ends the run (a spoilt line, or the
 *	partial line after the chunk's last LF) goes through the state machine, a run of
 *	plain content at a time (no CR nor LF; under relaxed, content with single spaces
 *	between) (issue 17: the byte-at-a-time machine took two thirds of Signet's CPU on
 *	1 MiB messages, then a memchr and a line check per line a quarter, then the word-at-
 *	a-time machine on the lines the scan refused).
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

/* Bits k of each mask: byte k of a block of sixteen is a LF, CR, space or tab. */
struct classes {
	unsigned lf, cr, space, tab;
};

#ifdef __SSE2__
/* The classes of the sixteen bytes at p. */
static void classify(const unsigned char *p, struct classes *k)
{
	__m128i	x = _mm_loadu_si128((const __m128i *)(const void *)p);

	k->lf = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('\n')));
	k->cr = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('\r')));
	k->space = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(' ')));
	k->tab = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('\t')));
}
#else
/* Bytes of x equal to the byte in each byte of pattern, as eight bits (byte k to bit k):
 * exact, no carries between bytes; the multiplication gathers the top bits. */
static unsigned bytes_equal(uint64_t x, uint64_t pattern)
{
	const uint64_t low7 = 0x7f7f7f7f7f7f7f7fULL;
	uint64_t v = x ^ pattern, t = (v & low7) + low7, top = ~(t | v | low7);

	return (unsigned)(((top >> 7) * 0x0102040810204080ULL) >> 56);
}

/* Eight bytes at p with byte k in bits 8k to 8k + 7, whatever the machine's byte order. */
static uint64_t load_le64(const unsigned char *p)
{
	uint64_t x;

	memcpy(&x, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x = __builtin_bswap64(x);
#endif
	return x;
}

/* The classes of the sixteen bytes at p, eight at a time. */
static void classify(const unsigned char *p, struct classes *k)
{
	const uint64_t lf = 0x0a0a0a0a0a0a0a0aULL, cr = 0x0d0d0d0d0d0d0d0dULL;
	const uint64_t space = 0x2020202020202020ULL, tab = 0x0909090909090909ULL;
	uint64_t lo = load_le64(p), hi = load_le64(p + 8);

	k->lf = bytes_equal(lo, lf) | bytes_equal(hi, lf) << 8;
	k->cr = bytes_equal(lo, cr) | bytes_equal(hi, cr) << 8;
	k->space = bytes_equal(lo, space) | bytes_equal(hi, space) << 8;
	k->tab = bytes_equal(lo, tab) | bytes_equal(hi, tab) << 8;
}
#endif

/* Bits of a block whose byte k bytes before is set in the previous block (prev) or in
 * this one (now). */
static unsigned before(unsigned now, unsigned prev, unsigned k)
{
	return ((now << k) | (prev >> (16 - k))) & 0xffff;
}

/*
 * The bytes of a block that show their line is not canonical: a LF without a CR before
 * it, or that ends an empty line (kept back, as trailing ones are dropped); under relaxed
 * also a tab, a space after a space, a LF after " \r" (a blank at line end).  Each lies
 * on the line it spoils, a LF on the line it ends.  A CR not before a LF is content and
 * spoils nothing.  prev is the block before (its bytes 14 and 15 matter).
 */
static unsigned blemishes(enum canon_kind kind, const struct classes *now,
    const struct classes *prev)
{
	unsigned crlf = now->lf & before(now->cr, prev->cr, 1);
	unsigned bad = (now->lf & ~crlf) | (crlf & before(now->lf, prev->lf, 2));

	if (kind == CANON_RELAXED)
		bad |= now->tab | (now->space & before(now->space, prev->space, 1)) |
		    (crlf & before(now->space, prev->space, 2));
	return bad;
}

/* The index of the highest bit set in mask, which is not 0. */
static unsigned highest_bit(unsigned mask)
{
	unsigned n = 0;

	while (mask >>= 1)
		n++;
	return n;
}

/*
 * The length of the run of whole lines at the start of data that are already canonical
 * and have content (0 if the first is not, or is not whole), for a line start with
 * nothing pending: one pass, sixteen bytes at a time, the last block padded with NULs.
 * The run ends before the first blemish's line, or after the last LF.
 */
static size_t canonical_run(enum canon_kind kind, const unsigned char *data, size_t len)
{
	struct classes prev = {.lf = 0x8000}, now;	/* as if a line ended just before */
	size_t	last = 0;	/* offset of the block holding the last good LF */
	unsigned last_lfs = 0;	/* and those LFs */

	for (size_t i = 0; i < len; i += 16, prev = now) {
		unsigned bad, lfs;

		if (len - i >= 16) {
			classify(data + i, &now);
		} else {
			unsigned char tail[16] = {0};

			memcpy(tail, data + i, len - i);
			classify(tail, &now);
		}
		bad = blemishes(kind, &now, &prev);
		lfs = bad != 0 ? now.lf & ((bad & (0u - bad)) - 1) : now.lf;
		if (lfs != 0) {
			last = i;
			last_lfs = lfs;
		}
		if (bad != 0)
			break;
	}
	return last_lfs != 0 ? last + highest_bit(last_lfs) + 1 : 0;
}

/* Relaxed: a byte that is neither blank nor part of a line end. */
static int relaxed_content(unsigned char ch)
{
	return ch != '\r' && ch != '\n' && ch != ' ' && ch != '\t';
}

/* Relaxed: the bytes of the block at data + at that end a run of content with single
 * spaces between: a CR, LF or tab, or a space a blank or line end follows (a space that
 * ends the block looks at the byte after it; one that ends data ends the run). */
static unsigned run_stops(const unsigned char *data, size_t at, size_t len)
{
	struct classes k;
	unsigned stops;

	classify(data + at, &k);
	stops = k.cr | k.lf | k.tab | (k.space & ((k.space | k.tab | k.cr | k.lf) >> 1));
	if ((k.space & 0x8000) != 0 && (at + 16 == len || !relaxed_content(data[at + 16])))
		stops |= 0x8000;
	return stops;
}

/* Relaxed: length of the run of content with single spaces between (they stay as they
 * are) at the start of data, from content to content; sixteen bytes at a time, then
 * what is left a byte at a time.  A space is taken only with the content after it. */
static size_t relaxed_run(const unsigned char *data, size_t len)
{
	size_t	n = 0;
	unsigned stops;

	if (len == 0 || !relaxed_content(data[0]))
		return 0;
	for (; n + 16 <= len; n += 16)
		if ((stops = run_stops(data, n, len)) != 0)
			return n + highest_bit(stops & (0u - stops));
	while (n < len) {
		if (relaxed_content(data[n]))
			n++;
		else if (data[n] == ' ' && n + 1 < len && relaxed_content(data[n + 1]))
			n += 2;
		else
			break;
	}
	return n;
}

/* Length of the run of plain content at the start of data: under simple, up to a CR or
 * LF; under relaxed, content with single spaces between, so a line the scan above
 * refused (issue 17: "0001  The quick") takes a step per blemish, not one per word. */
static size_t plain_run(enum canon_kind kind, const unsigned char *data, size_t len)
{
	size_t	n = 0;

	if (kind == CANON_RELAXED)
		return relaxed_run(data, len);
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

/* Whole canonical lines with content, hashed as they stand: the empty lines before them
 * are content now. */
static void emit_lines(struct body_canon *c, const unsigned char *lines, size_t len)
{
	for (; c->pending_empty_lines > 0; c->pending_empty_lines--)
		emit(c, "\r\n", 2);
	c->wrote_anything = 1;
	emit_bytes(c, lines, len);
}

/* One step of the state machine: a run of plain content, or one byte; what it took. */
static size_t machine_step(struct body_canon *c, const unsigned char *data, size_t len)
{
	size_t	run = c->pending_cr ? 0 : plain_run(c->kind, data, len);

	if (run == 0) {
		take_byte(c, data[0]);
		return 1;
	}
	emit_run(c, data, run);
	return run;
}

/* At a line start with nothing pending, a run of canonical lines is looked for; a step of
 * the machine follows the run, so the scan is not repeated on the line that ended it. */
int	body_canon_update(struct body_canon *c, const unsigned char *data, size_t len)
{
	size_t	i = 0;

	while (i < len) {
		size_t	run = 0;

		if (!c->pending_cr && !c->pending_space && !c->line_has_content &&
		    (run = canonical_run(c->kind, data + i, len - i)) > 0)
			emit_lines(c, data + i, run);
		i += run;
		if (i < len)
			i += machine_step(c, data + i, len - i);
	}
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
