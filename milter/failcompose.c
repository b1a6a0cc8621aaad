/*
 * NAME
 *	failcompose.c - one DMARC failure report as a mail (see failcompose.h)
 * DESCRIPTION
 *	Each part is written into a buffer of its own first, so that the boundary can be
 *	checked against all of them before the parts are joined.  Whatever comes from the
 *	message goes through copy_lines(), the one place that decides what a line of the
 *	report may contain.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* memmem */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "milter/failcompose.h"

#define TOKEN_LEN	8	/* characters of a redacted local-part */
#define BOUNDARY_TRIES	8

/* ---- redaction ----------------------------------------------------------------------- */

/* atext of RFC 5322 section 3.2.3 and the dot, and 8-bit bytes (RFC 6532); "/" is left
 * out, as URLs put it before an "@" far more often than addresses do, and "=" when the
 * field is a tag list (DKIM-Signature: i=user@...). */
static int local_char(unsigned char c, int tag_list)
{
	if (c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	if (c == '=')
		return !tag_list;
	return c != '\0' && strchr("!#$%&'*+-?^_`{|}~.", c) != NULL;
}

/* Where the local-part before the "@" at i begins, not before floor; i when none. */
static size_t local_start(const char *v, size_t floor, size_t i, int tag_list)
{
	size_t	s = i;

	if (s > floor && v[s - 1] == '"') {	/* a quoted local-part */
		size_t	q = s - 1;

		while (q > floor && v[q - 1] != '"' && v[q - 1] != '\n' && v[q - 1] != '\r')
			q--;
		return q > floor && v[q - 1] == '"' ? q - 1 : i;
	}
	while (s > floor && local_char((unsigned char)v[s - 1], tag_list))
		s--;
	return s;
}

static int domain_follows(const char *v, size_t len, size_t i)
{
	unsigned char c = i < len ? (unsigned char)v[i] : 0;

	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '[' || c >= 0x80;
}

/* The token of a local-part: base32 (a-z, 2-7) of the first 40 bits of
 * HMAC-SHA256(secret, lower-cased local-part). */
static int append_token(struct buffer *out, const unsigned char *secret, const char *local,
    size_t len)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned char lower[256], mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	char	token[TOKEN_LEN];
	uint64_t bits = 0;

	if (len > sizeof(lower))
		len = sizeof(lower);	/* a longer one is still hidden, by its start */
	for (size_t i = 0; i < len; i++)
		lower[i] = (unsigned char)(local[i] >= 'A' && local[i] <= 'Z' ?
		    local[i] - 'A' + 'a' : local[i]);
	if (HMAC(EVP_sha256(), secret, FAILCOMPOSE_SECRET_LEN, lower, len, mac,
	    &mac_len) == NULL || mac_len < 5)
		return 0;
	for (int i = 0; i < 5; i++)
		bits = bits << 8 | mac[i];
	for (int i = TOKEN_LEN - 1; i >= 0; i--) {
		token[i] = alphabet[bits & 31];
		bits >>= 5;
	}
	return buffer_append(out, token, sizeof(token));
}

/* "http://" or "https://" at v[i], any case: how many bytes before "://" (4 or 5). */
static size_t http_at(const char *v, size_t len, size_t i)
{
	if (len - i >= 7 && strncasecmp(v + i, "http://", 7) == 0)
		return 4;
	if (len - i >= 8 && strncasecmp(v + i, "https://", 8) == 0)
		return 5;
	return 0;
}

static int redact(const unsigned char *secret, const char *v, size_t len, int keep_local,
    int tag_list, struct buffer *out)
{
	size_t	done = 0, scheme;

	for (size_t i = 0; i < len; i++) {
		if (v[i] == '@' && !keep_local && domain_follows(v, len, i + 1)) {
			size_t	s = local_start(v, done, i, tag_list);

			if (s == i)
				continue;
			if (!buffer_append(out, v + done, s - done) ||
			    !append_token(out, secret, v + s, i - s))
				return 0;
			done = i;
		} else if ((scheme = http_at(v, len, i)) != 0) {
			/* "http" -> "hxxp", "HTTP" -> "HXXP" */
			const char *xx = v[i + 1] == 'T' ? "XX" : "xx";

			if (!buffer_append(out, v + done, i - done) ||
			    !buffer_append(out, v + i, 1) || !buffer_append(out, xx, 2) ||
			    !buffer_append(out, v + i + 3, scheme - 3))
				return 0;
			done = i + scheme;
			i = done - 1;
		}
	}
	return buffer_append(out, v + done, len - done);
}

int	failcompose_redact(const unsigned char *secret, const char *value, size_t len,
    struct buffer *out)
{
	return redact(secret, value, len, 0, 0, out);
}

/* ---- lines --------------------------------------------------------------------------- */

struct part {
	struct buffer buf;
	int	eight_bit;
};

enum line_mode {
	LINES_FIELD,		/* a field value: every further line is a continuation */
	LINES_BODY,		/* a body: lines as they are */
};

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The next line of data[*pos..len) (without its break) in *line, *line_len; *pos moves
 * past the break (CRLF, LF or a bare CR).  0 at the end. */
static int next_line(const char *data, size_t len, size_t *pos, const char **line,
    size_t *line_len)
{
	size_t	p = *pos;

	if (p >= len)
		return 0;
	*line = data + p;
	while (p < len && data[p] != '\r' && data[p] != '\n')
		p++;
	*line_len = (size_t)(data + p - *line);
	if (p < len && data[p] == '\r')
		p++;
	if (p < len && data[p] == '\n')	/* alone, or after the CR: one break */
		p++;
	*pos = p;
	return 1;
}

/* One line of copied data, control characters as '?', broken with LF (and a blank in a
 * field) every FAILCOMPOSE_LINE_MAX bytes. */
static int copy_line(struct part *part, const char *line, size_t len, enum line_mode mode,
    size_t column)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (column >= FAILCOMPOSE_LINE_MAX) {
			if (!buffer_append(&part->buf, mode == LINES_FIELD ? "\n " : "\n",
			    mode == LINES_FIELD ? 2 : 1))
				return 0;
			column = mode == LINES_FIELD ? 1 : 0;
		}
		if (c >= 0x80)
			part->eight_bit = 1;
		else if ((c < 0x20 && c != '\t') || c == 0x7f)
			c = '?';
		if (!buffer_append(&part->buf, &c, 1))
			return 0;
		column++;
	}
	return 1;
}

static int all_blank(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_blank(line[i]))
			return 0;
	return 1;
}

/* data as lines ending in LF.  In a field, the first line continues what is already
 * written (column bytes of it), and every further line is made a continuation: a
 * blank put in front when it has none, dropped when it has nothing else. */
static int copy_lines(struct part *part, const char *data, size_t len, enum line_mode mode,
    size_t column)
{
	const char *line;
	size_t	pos = 0, line_len;
	int	first = 1;

	while (next_line(data, len, &pos, &line, &line_len)) {
		if (!first && mode == LINES_FIELD) {
			if (all_blank(line, line_len))
				continue;
			if (!buffer_append(&part->buf, "\n", 1) || (!is_blank(line[0]) &&
			    !buffer_append(&part->buf, " ", 1)))
				return 0;
			column = is_blank(line[0]) ? 0 : 1;
		} else if (!first && !buffer_append(&part->buf, "\n", 1)) {
			return 0;
		}
		if (!copy_line(part, line, line_len, mode, column))
			return 0;
		first = 0;
		column = 0;
	}
	return buffer_append(&part->buf, "\n", 1);
}

/* ---- fields -------------------------------------------------------------------------- */

static int valid_field_name(const char *name)
{
	size_t	len = strlen(name);

	if (len == 0 || len > 128)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (name[i] <= ' ' || name[i] > '~' || name[i] == ':')
			return 0;
	return 1;
}

static int names_an_identifier(const char *name)
{
	static const char *const ids[] = {
		"Message-ID", "In-Reply-To", "References", "Content-ID", "Resent-Message-ID",
	};

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (strcasecmp(name, ids[i]) == 0)
			return 1;
	return 0;
}

static int is_tag_list(const char *name)
{
	return strcasecmp(name, "DKIM-Signature") == 0 || strncasecmp(name, "ARC-", 4) == 0;
}

/* "Name: value", the value redacted and made safe; 0 when memory runs out. */
static int copy_field(struct part *part, const unsigned char *secret, const char *name,
    const char *value, size_t len)
{
	struct buffer redacted = {0};
	int	ok;

	ok = redact(secret, value, len, names_an_identifier(name), is_tag_list(name),
	    &redacted) && buffer_printf(&part->buf, "%s:%s", name,
	    redacted.len > 0 && is_blank(redacted.data[0]) ? "" : " ") &&
	    copy_lines(part, redacted.data ? redacted.data : "", redacted.len, LINES_FIELD,
	    strlen(name) + 2);
	buffer_free(&redacted);
	return ok;
}

/* The message's header, within the limits; *left_out counts the fields not copied. */
static int copy_header(struct part *part, const struct failcompose_input *in,
    size_t *left_out)
{
	const struct msgheaders *h = in->headers;

	for (size_t i = 0; h != NULL && i < h->count; i++) {
		const char *name = h->fields[i].name, *value = h->fields[i].value;
		size_t	before = part->buf.len, len = strlen(value);
		int	eight_bit = part->eight_bit;

		if (!valid_field_name(name) || len > FAILCOMPOSE_FIELD_MAX) {
			(*left_out)++;
			continue;
		}
		if (!copy_field(part, in->secret, name, value, len))
			return 0;
		if (part->buf.len > FAILCOMPOSE_HEADER_MAX) {
			part->buf.len = before;
			part->buf.data[before] = '\0';
			part->eight_bit = eight_bit;
			*left_out += h->count - i;
			break;
		}
	}
	return 1;
}

/* ---- the feedback report ------------------------------------------------------------- */

static int label_suffix(const char *d, const char *parent)
{
	size_t	dl = strlen(d), pl = strlen(parent);

	return dl > pl && d[dl - pl - 1] == '.' && strcasecmp(d + dl - pl, parent) == 0;
}

/* Whether d= is aligned with the Author Domain (RFC 9989 section 4.4.1), as far as the
 * Organizational Domain that DMARC found tells: without one, only an equal domain. */
static int dkim_domain_aligned(const struct failcompose_input *in, const char *d)
{
	if (strcasecmp(d, in->author_domain) == 0)
		return 1;
	if (in->adkim_strict || in->org_domain == NULL || in->org_domain[0] == '\0')
		return 0;
	return strcasecmp(d, in->org_domain) == 0 || label_suffix(d, in->org_domain);
}

static const struct verify_signature *failed_aligned_signature(
    const struct failcompose_input *in)
{
	for (size_t i = 0; i < in->sig_count; i++) {
		const struct verify_signature *s = &in->sigs[i];

		if (s->result != VERIFY_PASS && s->domain[0] != '\0' &&
		    dkim_domain_aligned(in, s->domain))
			return s;
	}
	return NULL;
}

/* A field of ours whose value may hold what a stranger chose (a domain, a selector,
 * an address): through the same redaction and line rules as the copied header. */
static int safe_field(struct part *part, const unsigned char *secret, const char *name,
    const char *value)
{
	return copy_field(part, secret, name, value, strlen(value));
}

static void rfc5322_date(time_t t, char *out, size_t size)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
	    "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(out, size, "Thu, 01 Jan 1970 00:00:00 +0000");
		return;
	}
	snprintf(out, size, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
	    tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int feedback_part(struct part *part, const struct failcompose_input *in)
{
	const struct verify_signature *sig = failed_aligned_signature(in);
	char	date[64], mail_from[1100], identity[300];
	struct buffer *b = &part->buf;

	rfc5322_date(in->arrival, date, sizeof(date));
	snprintf(mail_from, sizeof(mail_from), "<%s>", in->mail_from);
	if (!buffer_printf(b, "Feedback-Type: auth-failure\nUser-Agent: %s\nVersion: 1\n"
	    "Auth-Failure: dmarc\n", in->user_agent) ||
	    !safe_field(part, in->secret, "Authentication-Results", in->authres) ||
	    !buffer_printf(b, "Identity-Alignment: %s\n", !in->dkim_aligned && !in->spf_aligned ?
	    "dkim, spf" : !in->dkim_aligned ? "dkim" : !in->spf_aligned ? "spf" : "none") ||
	    !safe_field(part, in->secret, "Original-Mail-From", mail_from) ||
	    !buffer_printf(b, "Arrival-Date: %s\n", date) ||
	    (in->client_ip[0] != '\0' && !safe_field(part, in->secret, "Source-IP",
	    in->client_ip)) ||
	    !safe_field(part, in->secret, "Reported-Domain", in->author_domain) ||
	    !buffer_printf(b, "Delivery-Result: %s\n", in->delivery_result))
		return 0;
	if (sig == NULL)
		return 1;
	snprintf(identity, sizeof(identity), "@%s", sig->domain);
	return safe_field(part, in->secret, "DKIM-Domain", sig->domain) &&
	    safe_field(part, in->secret, "DKIM-Identity", identity) &&
	    safe_field(part, in->secret, "DKIM-Selector", sig->selector);
}

/* ---- the parts and the whole --------------------------------------------------------- */

static int text_part(struct part *part, const struct failcompose_input *in,
    size_t left_out, int body_left_out)
{
	char	date[64];
	struct buffer *b = &part->buf;

	rfc5322_date(in->arrival, date, sizeof(date));
	if (!buffer_printf(b, "This is an authentication failure report for an email message\n"
	    "received from IP %s on %s.\n\n", in->client_ip[0] ? in->client_ip : "(unknown)",
	    date) ||
	    !buffer_printf(b, "For privacy (RFC 9991 section 6), the local-parts of addresses "
	    "are replaced by\nkeyed hashes, and http URLs are written hxxp.\n") ||
	    (left_out > 0 && !buffer_printf(b, "%zu header field(s) left out: malformed, over "
	    "%d bytes, or past the\n%d bytes copied.\n", left_out, FAILCOMPOSE_FIELD_MAX,
	    FAILCOMPOSE_HEADER_MAX)) ||
	    (body_left_out && !buffer_printf(b, "The body is left out: larger than this "
	    "reporter includes.\n")))
		return 0;
	return 1;
}

static int body_part(struct part *part, const struct failcompose_input *in)
{
	struct buffer redacted = {0};
	int	ok;

	ok = buffer_append(&part->buf, "\n", 1) &&
	    redact(in->secret, (const char *)in->body, in->body_len, 0, 0, &redacted) &&
	    (redacted.len == 0 || copy_lines(part, redacted.data, redacted.len, LINES_BODY, 0));
	buffer_free(&redacted);
	return ok;
}

static int random_hex(char *out, size_t bytes)
{
	unsigned char r[32];

	if (bytes > sizeof(r) || getrandom(r, bytes, 0) != (ssize_t)bytes)
		return 0;
	for (size_t i = 0; i < bytes; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	return 1;
}

static int contains(const struct part *part, const char *s)
{
	return part->buf.len > 0 && memmem(part->buf.data, part->buf.len, s, strlen(s)) != NULL;
}

/* A boundary that none of the parts contains. */
static int choose_boundary(const struct part *parts, size_t count, char *out, size_t size)
{
	char	hex[33];

	for (int t = 0; t < BOUNDARY_TRIES; t++) {
		int	clash = 0;

		if (!random_hex(hex, 16))
			return 0;
		snprintf(out, size, "=_signet_%s", hex);
		for (size_t i = 0; i < count && !clash; i++)
			clash = contains(&parts[i], out);
		if (!clash)
			return 1;
	}
	return 0;
}

static const char *cte(const struct part *part)
{
	return part->eight_bit ? "8bit" : "7bit";
}

static int assemble(const struct failcompose_input *in, struct part *parts, int with_body,
    struct buffer *out)
{
	char	boundary[64], id[33], date[64];
	static const char *const types[] = {
		"text/plain; charset=us-ascii", "message/feedback-report", NULL,
	};
	int	eight_bit = parts[0].eight_bit || parts[1].eight_bit || parts[2].eight_bit;

	if (!choose_boundary(parts, 3, boundary, sizeof(boundary)) || !random_hex(id, 16))
		return 0;
	rfc5322_date(in->now, date, sizeof(date));
	if (!buffer_printf(out, "From: <%s>\nDate: %s\nMessage-ID: <%s@%s>\n"
	    "Subject: DMARC failure report for %s\nAuto-Submitted: auto-generated\n"
	    "MIME-Version: 1.0\nContent-Type: multipart/report; "
	    "report-type=feedback-report;\n\tboundary=\"%s\"\nContent-Transfer-Encoding: %s\n\n"
	    "This is a MIME-formatted DMARC failure report (RFC 9991).\n",
	    in->report_from, date, id, in->id_domain, in->author_domain, boundary,
	    eight_bit ? "8bit" : "7bit"))
		return 0;
	for (int i = 0; i < 3; i++) {
		const char *type = types[i] != NULL ? types[i] : with_body ? "message/rfc822" :
		    "text/rfc822-headers";

		if (!buffer_printf(out, "\n--%s\nContent-Type: %s\n"
		    "Content-Transfer-Encoding: %s\n\n", boundary, type, cte(&parts[i])) ||
		    !buffer_append(out, parts[i].buf.data, parts[i].buf.len))
			return 0;
	}
	return buffer_printf(out, "\n--%s--\n", boundary);
}

int	failcompose(const struct failcompose_input *in, struct buffer *out, char *err,
    size_t errlen)
{
	struct part parts[3];
	size_t	left_out = 0;
	int	with_body = in->body != NULL && !in->body_truncated;
	int	ok;

	memset(parts, 0, sizeof(parts));
	ok = feedback_part(&parts[1], in) && copy_header(&parts[2], in, &left_out) &&
	    (!with_body || body_part(&parts[2], in)) &&
	    text_part(&parts[0], in, left_out, in->body != NULL && in->body_truncated) &&
	    assemble(in, parts, with_body, out);
	for (int i = 0; i < 3; i++)
		buffer_free(&parts[i].buf);
	if (!ok) {
		buffer_free(out);
		snprintf(err, errlen, "cannot compose a failure report: out of memory or "
		    "no random bytes");
	}
	return ok;
}
