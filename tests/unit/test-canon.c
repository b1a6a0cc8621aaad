/*
 * NAME
 *	test-canon - unit tests of DKIM header and body canonicalization
 * DESCRIPTION
 *	Expected forms come from RFC 6376 section 3.4.5 and the well-known hashes of an
 *	empty body; every body case is also fed one byte at a time, to show the streaming
 *	parser does not depend on where the MTA cuts its chunks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "milter/canon.h"
#include "tests/unit/tap.h"
#include "tests/unit/torture.h"

static void hash_of(const char *text, size_t len, unsigned char out[32])
{
	unsigned int n;

	EVP_Digest(text, len, out, &n, EVP_sha256(), NULL);
}

static int body_hash(enum canon_kind kind, const char *body, size_t len, size_t chunk,
    unsigned char out[32])
{
	struct body_canon *c = body_canon_new(kind);
	int	ok = c != NULL;

	for (size_t off = 0; ok && off < len; off += chunk)
		ok = body_canon_update(c, (const unsigned char *)body + off,
		    len - off < chunk ? len - off : chunk);
	ok = ok && body_canon_final(c, out);
	body_canon_free(c);
	return ok;
}

static void check_body(const char *name, enum canon_kind kind, const char *body,
    const char *want)
{
	unsigned char got[32], got_bytewise[32], expected[32];

	hash_of(want, strlen(want), expected);
	TAP_OK(body_hash(kind, body, strlen(body), 65536, got) &&
	    memcmp(got, expected, 32) == 0, "%s (whole)", name);
	TAP_OK(body_hash(kind, body, strlen(body), 1, got_bytewise) &&
	    memcmp(got_bytewise, expected, 32) == 0, "%s (byte by byte)", name);
}

/*
 * The body canonicalization of RFC 6376 section 3.4.3/3.4.4 computed on the whole body
 * at once, the obvious way: split into lines (LF ends a line; a CR just before it
 * belongs to the line end), relaxed turns blank runs into one space and drops blanks
 * at line end, then trailing empty lines go.  out holds 2 * len + 2 bytes.  The
 * streaming code must agree with it on any input, however chunked.
 */
static size_t reference_body(enum canon_kind kind, const unsigned char *in, size_t len,
    unsigned char *out)
{
	size_t	n = 0, keep = 0, start = 0;

	while (start < len) {
		size_t	end = start, stop, line_start = n;

		while (end < len && in[end] != '\n')
			end++;
		stop = end < len && end > start && in[end - 1] == '\r' ? end - 1 : end;
		for (size_t i = start; i < stop; i++) {
			size_t	j = i;

			while (kind == CANON_RELAXED && j < stop && (in[j] == ' ' || in[j] == '\t'))
				j++;
			if (j == i) {
				out[n++] = in[i];
				continue;
			}
			if (j < stop)
				out[n++] = ' ';
			i = j - 1;
		}
		out[n++] = '\r';
		out[n++] = '\n';
		if (n - 2 > line_start)
			keep = n;	/* a line with content keeps the empty ones before it */
		start = end + 1;
	}
	n = keep;
	if (kind == CANON_SIMPLE && n == 0) {
		out[n++] = '\r';
		out[n++] = '\n';
	}
	return n;
}

/* Random bodies over the bytes that matter, in random chunks, against the reference. */
static void check_against_reference(enum canon_kind kind, int rounds)
{
	static const unsigned char alphabet[] = {'a', 'b', ' ', '\t', '\r', '\n', 0, 0xff};
	unsigned char in[600], out[2 * sizeof(in) + 2], want[32], got[32];
	int	failures = 0;

	srand(17);
	for (int r = 0; r < rounds; r++) {
		size_t	len = (size_t)rand() % sizeof(in), chunk = 1 + (size_t)rand() % 40;

		for (size_t i = 0; i < len; i++)
			in[i] = rand() % 3 ? alphabet[rand() % 2] : alphabet[rand() % 8];
		hash_of((const char *)out, reference_body(kind, in, len, out), want);
		if (!body_hash(kind, (const char *)in, len, r % 2 ? chunk : len + 1, got) ||
		    memcmp(got, want, 32) != 0)
			failures++;
	}
	TAP_OK(failures == 0, "%d random bodies hash as the whole-body reference says, %s "
	    "(%d differ)", rounds, conf_canon_name(kind), failures);
}

/* Random bodies of lines as mail has them: mostly already canonical, long enough for the
 * sixteen-byte checks, with now and then a tab, two blanks, a blank before the line end
 * or a bare LF at a random place, in random chunks of up to 5000 bytes, so that runs of
 * canonical lines are hashed from the chunk, staged, and split across chunks. */
static void check_lines_against_reference(enum canon_kind kind, int rounds)
{
	static unsigned char in[24000], out[2 * sizeof(in) + 2];
	unsigned char want[32], got[32];
	int	failures = 0;

	srand(29);
	for (int r = 0; r < rounds; r++) {
		size_t	len = 0, chunk = 1 + (size_t)rand() % 5000;

		while (len + 130 < sizeof(in) && (size_t)rand() % 400 != 0) {
			size_t	n = (size_t)rand() % 121;

			for (size_t i = 0; i < n; i++)
				in[len++] = i % 7 == 3 ? ' ' : (unsigned char)('a' + rand() % 26);
			if (n > 0 && rand() % 8 == 0) {	/* a blemish somewhere on the line */
				static const char *const marks[] = {"\t", "  ", " \t", "\r"};

				const char *m = marks[rand() % 4];
				size_t	at = len - 1 - (size_t)rand() % n;

				memcpy(in + at, m, strlen(m) <= len - at ? strlen(m) : len - at);
			}
			if (rand() % 16 == 0)
				in[len++] = ' ';	/* a blank before the line end */
			if (rand() % 20 != 0)
				in[len++] = '\r';
			in[len++] = '\n';
		}
		hash_of((const char *)out, reference_body(kind, in, len, out), want);
		if (!body_hash(kind, (const char *)in, len, r % 3 ? chunk : len + 1, got) ||
		    memcmp(got, want, 32) != 0)
			failures++;
	}
	TAP_OK(failures == 0, "%d random bodies of mail-like lines hash as the whole-body "
	    "reference says, %s (%d differ)", rounds, conf_canon_name(kind), failures);
}

/* The body hashes as the whole-body reference says: in one piece, in pieces of 16, 7
 * and 1 bytes, and cut in two at every place from "from" on. */
static int hashes_as_reference(enum canon_kind kind, const char *body, size_t len,
    size_t from)
{
	static const size_t sizes[] = {16, 7, 1};
	unsigned char out[512], want[32], got[32];
	struct body_canon *c;
	int	ok;

	hash_of((const char *)out, reference_body(kind, (const unsigned char *)body, len, out),
	    want);
	ok = body_hash(kind, body, len, len + 1, got) && memcmp(got, want, 32) == 0;
	for (size_t i = 0; ok && i < sizeof(sizes) / sizeof(sizes[0]); i++)
		ok = body_hash(kind, body, len, sizes[i], got) && memcmp(got, want, 32) == 0;
	for (size_t cut = from; ok && cut <= len; cut++) {
		ok = (c = body_canon_new(kind)) != NULL &&
		    body_canon_update(c, (const unsigned char *)body, cut) &&
		    body_canon_update(c, (const unsigned char *)body + cut, len - cut) &&
		    body_canon_final(c, got) && memcmp(got, want, 32) == 0;
		body_canon_free(c);
	}
	return ok;
}

static const char blemish_line[] = "Some words in a line";

/* A blemish case: a clean line of 49 bytes, a line of pad bytes, blemish_line with the
 * mark put in at "at", then the tail. */
static int blemish_case_ok(enum canon_kind kind, const char *mark, const char *tail, int pad,
    int at)
{
	static const char clean[] = "A clean line, long enough for three blocks of 16.\r\n";
	char	body[256];
	int	n = snprintf(body, sizeof(body), "%s%.*s\r\n%.*s%s%s\r\n%s", clean, pad,
	    "xxxxxxxxxxxxxxxx", at, blemish_line, mark, blemish_line + at, tail);

	return hashes_as_reference(kind, body, (size_t)n, sizeof(clean) - 3);
}

/* Blemish cases of a mark and a tail at every place on the line and with the line at every
 * offset from a block: how many fail, and where the first one does (*pad, *at). */
static int blemish_failures(enum canon_kind kind, const char *mark, const char *tail,
    int *first_pad, int *first_at)
{
	int	failures = 0;

	for (int pad = 1; pad <= 16; pad++)
		for (int at = 0; at < (int)sizeof(blemish_line); at++)
			if (!blemish_case_ok(kind, mark, tail, pad, at) && failures++ == 0) {
				*first_pad = pad;
				*first_at = at;
			}
	return failures;
}

/*
 * Every blemish that spoils a canonical line (a tab, two blanks, a blank before CRLF, a
 * lone CR or LF, an empty line, and some together) at every place on a line, with the
 * line starting at every offset from a sixteen-byte block, after a long clean line (so
 * runs of canonical lines cross blocks and carry across them), followed by a line with
 * content, by nothing or by lines that vanish (so an empty line taken for content
 * shows), cut in two at every place from the clean line's CRLF on.
 */
static void check_blemishes_everywhere(enum canon_kind kind)
{
	static const char *const marks[] = {"\t", "  ", " ", "\r", "\n", "\r\n", "\r\n\r\n",
	    " \r\n", "\n\r\n", "\r\r", " \t ", "\r\n \r\n"};
	static const char *const tails[] = {"tail a b\r\n", "", "\r\n\r\n"};
	size_t	nmarks = sizeof(marks) / sizeof(marks[0]);
	size_t	ntails = sizeof(tails) / sizeof(tails[0]);
	char	first[80] = "";
	int	failures = 0;

	for (size_t m = 0; m < nmarks; m++)
		for (size_t t = 0; t < ntails; t++) {
			int	pad = 0, at = 0;
			int	n = blemish_failures(kind, marks[m], tails[t], &pad, &at);

			if (n > 0 && failures == 0)
				snprintf(first, sizeof(first), "marks[%zu], tails[%zu], pad %d, "
				    "at %d", m, t, pad, at);
			failures += n;
		}
	if (!TAP_OK(failures == 0, "%zu bodies with a blemish at every place relative to the "
	    "blocks hash as the reference says in every cut, %s (%d differ)",
	    nmarks * ntails * 16 * sizeof(blemish_line), conf_canon_name(kind), failures))
		printf("#   first to differ: %s\n", first);
}

static void check_empty_body_base64(enum canon_kind kind, const char *want)
{
	unsigned char hash[32];
	char	b64[64];

	body_hash(kind, "", 0, 1, hash);
	EVP_EncodeBlock((unsigned char *)b64, hash, 32);
	TAP_STR_EQ(b64, want, "empty body hash, %s", conf_canon_name(kind));
}

static void check_header(enum canon_kind kind, const char *name, const char *value,
    const char *want)
{
	struct buffer out = {0};

	header_canon(&out, kind, name, value, 1);
	TAP_STR_EQ(out.data, want, "%s header \"%s\"", conf_canon_name(kind), name);
	buffer_free(&out);
}

struct canonical {
	unsigned char body[32];
	struct buffer header;
};

static const char torture_body[] = "line one  \r\n\tline two\r\n\r\n\r\n";

/* Both canonicalizations of a body and of header fields longer than the buffer's start. */
static int canonicalize(struct canonical *out)
{
	static const char *const fields[][2] = {
		{"From", " Alice <alice@example.com>"}, {"Subject", " a subject\r\n  folded  "},
		{"To", " bob@example.org,\r\n\tcarol@example.net"}, {"Date", " Mon, 1 Jan 2024"},
		{"Message-ID", " <0123456789abcdef0123456789abcdef@mail.example.com>"},
		{"X-Long", " 0123456789012345678901234567890123456789012345678901234567890123"},
	};
	unsigned char other[32];
	int	ok;

	memset(&out->header, 0, sizeof(out->header));
	ok = body_hash(CANON_RELAXED, torture_body, strlen(torture_body), 7, out->body) &&
	    body_hash(CANON_SIMPLE, torture_body, strlen(torture_body), 7, other);
	for (size_t i = 0; ok && i < sizeof(fields) / sizeof(fields[0]); i++)
		ok = header_canon(&out->header, CANON_RELAXED, fields[i][0], fields[i][1], 1) &&
		    header_canon(&out->header, CANON_SIMPLE, fields[i][0], fields[i][1], 1);
	if (!ok)
		buffer_free(&out->header);
	return ok;
}

static enum torture_outcome canonicalize_once(void *context)
{
	const struct canonical *want = context;
	struct canonical got;
	int	right;

	if (!canonicalize(&got))
		return TORTURE_ERROR;
	right = memcmp(got.body, want->body, 32) == 0 && got.header.len == want->header.len &&
	    memcmp(got.header.data, want->header.data, got.header.len) == 0;
	buffer_free(&got.header);
	return right ? TORTURE_DONE : TORTURE_WRONG;
}

static void torture_canon(void)
{
	struct canonical want;
	int	ok = canonicalize(&want);

	if (TAP_OK(ok && want.header.len > 256, "header fields of %zu bytes canonicalized",
	    want.header.len))
		torture("body and header canonicalization", canonicalize_once, &want,
		    TORTURE_NO_RECOVERY);
	buffer_free(&want.header);
}

int	main(void)
{
	/* RFC 6376 section 3.4.5 */
	check_body("rfc6376 example, relaxed", CANON_RELAXED,
	    " C \r\nD \t E\r\n\r\n\r\n", " C\r\nD E\r\n");
	check_body("rfc6376 example, simple", CANON_SIMPLE,
	    " C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n");
	check_body("bare LF is a line end, simple", CANON_SIMPLE, "a\nb\n\n", "a\r\nb\r\n");
	check_body("bare LF is a line end, relaxed", CANON_RELAXED, "a \nb\t\n \n", "a\r\nb\r\n");
	check_body("missing final line end added, simple", CANON_SIMPLE, "abc", "abc\r\n");
	check_body("missing final line end added, relaxed", CANON_RELAXED, "abc  ", "abc\r\n");
	check_body("inner empty lines kept", CANON_RELAXED, "a\r\n\r\n\r\nb\r\n\r\n",
	    "a\r\n\r\n\r\nb\r\n");
	check_body("lone CR is content", CANON_SIMPLE, "a\rb\r\n", "a\rb\r\n");
	check_body("CR at end of body", CANON_SIMPLE, "a\r", "a\r\r\n");
	check_body("only empty lines, simple", CANON_SIMPLE, "\r\n\r\n", "\r\n");
	check_body("only blank lines, relaxed", CANON_RELAXED, " \r\n\t\r\n", "");
	check_body("8-bit bytes untouched", CANON_RELAXED, "caf\xc3\xa9 \xe9\r\n",
	    "caf\xc3\xa9 \xe9\r\n");
	check_empty_body_base64(CANON_SIMPLE, "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
	check_empty_body_base64(CANON_RELAXED, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");

	/* RFC 6376 section 3.4.5 headers, values as an MTA hands them (after the colon). */
	check_header(CANON_RELAXED, "A", " X", "a:X\r\n");
	check_header(CANON_RELAXED, "B ", " Y\t\r\n\tZ  ", "b:Y Z\r\n");
	check_header(CANON_SIMPLE, "B ", " Y\t\r\n\tZ  ", "B : Y\t\r\n\tZ  \r\n");
	check_header(CANON_SIMPLE, "Subject", " a\n b", "Subject: a\r\n b\r\n");
	check_header(CANON_RELAXED, "Subject", " a\n  b ", "subject:a b\r\n");
	check_header(CANON_RELAXED, "X-Empty", "", "x-empty:\r\n");

	/* one megabyte in odd chunks equals the same in one piece */
	size_t	big_len = 1024 * 1024;
	char   *big = malloc(big_len + 1);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (i % 61 == 60) ? '\n' : (char)('a' + i % 26);
	big[big_len] = '\0';
	unsigned char h1[32], h2[32];
	TAP_OK(body_hash(CANON_RELAXED, big, big_len, 8191, h1) &&
	    body_hash(CANON_RELAXED, big, big_len, big_len, h2) && memcmp(h1, h2, 32) == 0,
	    "1 MiB body: chunking does not change the hash");
	free(big);
	check_against_reference(CANON_SIMPLE, 20000);
	check_against_reference(CANON_RELAXED, 20000);
	check_lines_against_reference(CANON_SIMPLE, 2000);
	check_lines_against_reference(CANON_RELAXED, 2000);
	check_blemishes_everywhere(CANON_SIMPLE);
	check_blemishes_everywhere(CANON_RELAXED);
	torture_canon();
	return tap_done();
}
