/*
 * NAME
 *	message.c - the one message every worker sends: read from a file or generated,
 *	then split into headers and body
 *
 * DESCRIPTION
 *	Built once before the workers start and only read after.  Its text has CRLF line
 *	ends; message_parse() splits it as Postfix's cleanup does, so that each milter
 *	gets the header names and values, and the body, that Postfix would send.
 */
#include "milterload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Every line end becomes CRLF, and the last line gets one. */
static int crlf_normalize(struct buf *out, const char *in, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r')) {
			if (buf_add(out, "\r\n", 2) < 0)
				return -1;
		} else if (buf_add(out, &in[i], 1) < 0) {
			return -1;
		}
	}
	if (out->len > 0 && (out->len < 2 || memcmp(out->data + out->len - 2, "\r\n", 2) != 0))
		return buf_add(out, "\r\n", 2);
	return 0;
}

void message_load(struct message *m, const char *path)
{
	struct buf raw = { 0 }, text = { 0 };
	char	chunk[65536];
	size_t	n;
	FILE   *fp = fopen(path, "rb");

	if (fp == NULL)
		fatal("%s: %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (buf_add(&raw, chunk, n) < 0)
			fatal("%s: out of memory", path);
	if (ferror(fp))
		fatal("%s: read error", path);
	fclose(fp);
	if (crlf_normalize(&text, raw.data ? raw.data : "", raw.len) < 0)
		fatal("%s: out of memory", path);
	buf_free(&raw);
	if (text.len == 0)
		fatal("%s: empty message", path);
	m->text = text.data;
	m->text_len = text.len;
}

/* Headers From .. Content-Type, then 72-character lines up to about size bytes. */
void message_generate(struct message *m, const struct config *cfg)
{
	static const char words[] = "The quick brown fox jumps over the lazy dog; pack my "
	    "box with five dozen liquor jugs. ";
	struct buf b = { 0 };
	char	date[64], line[80];
	struct tm tm;
	time_t	t = time(NULL);
	size_t	lines, hlen;
	int	n;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	for (int pass = 0; pass < 2; pass++) {
		n = snprintf(b.data, b.size, "From: Bench <%s>\r\nTo: <%s>\r\n"
		    "Subject: milterload benchmark message\r\nDate: %s\r\n"
		    "Message-ID: <milterload.%ld.%ld@%s>\r\nMIME-Version: 1.0\r\n"
		    "Content-Type: text/plain; charset=us-ascii\r\n\r\n", cfg->from,
		    cfg->rcpts[0], date, (long)getpid(), (long)t, domain_of(cfg->from));
		if (n < 0 || buf_reserve(&b, (size_t)n + 1) < 0)
			fatal("out of memory");
	}
	b.len = hlen = (size_t)n;
	lines = cfg->size > hlen ? (cfg->size - hlen + 37) / 74 : 0;
	if (lines == 0)
		lines = 1;
	for (size_t i = 0; i < lines; i++) {
		int	k = snprintf(line, sizeof(line), "%06zu ", i % 1000000);

		for (size_t j = (size_t)k; j < 72; j++)
			line[j] = words[(i * 7 + j - (size_t)k) % (sizeof(words) - 1)];
		if (line[71] == ' ')
			line[71] = '.';
		memcpy(line + 72, "\r\n", 2);
		if (buf_add(&b, line, 74) < 0)
			fatal("out of memory");
	}
	m->text = b.data;
	m->text_len = b.len;
}

/* Length of a header name followed by optional blanks and a colon, or 0. */
static size_t header_name_len(const char *line, size_t len, size_t *colon)
{
	size_t	n = 0, i;

	while (n < len && line[n] > 0x20 && line[n] < 0x7f && line[n] != ':')
		n++;
	for (i = n; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	if (n == 0 || i == len || line[i] != ':')
		return 0;
	*colon = i;
	return n;
}

/*
 * Splits the message as Postfix's cleanup does: each header a name and a value (the
 * text after the colon, folded lines joined by LF); the body starts after the empty
 * line, or at the first line that is neither a header nor a continuation.
 */
void message_parse(struct message *m)
{
	const char *p = m->text, *end = m->text + m->text_len;
	size_t	used = 0, cap = 16, colon = 0;
	struct header *h;

	m->store = malloc(m->text_len * 2 + 2);
	m->headers = malloc(cap * sizeof(*m->headers));
	if (m->store == NULL || m->headers == NULL)
		fatal("out of memory");
	m->body = end;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t	len = (size_t)(eol - p) - 1;	/* every line ends in CRLF */
		size_t	name_len;

		if (len == 0) {
			m->body = eol + 1;
			break;
		}
		if ((*p == ' ' || *p == '\t') && m->nheaders > 0) {
			h = &m->headers[m->nheaders - 1];
			m->store[used++] = '\n';
			memcpy(m->store + used, p, len);
			used += len;
			h->value_len += len + 1;
		} else if ((name_len = header_name_len(p, len, &colon)) > 0) {
			if (m->nheaders == cap) {
				cap *= 2;
				if ((h = realloc(m->headers, cap * sizeof(*h))) == NULL)
					fatal("out of memory");
				m->headers = h;
			}
			h = &m->headers[m->nheaders++];
			memset(h, 0, sizeof(*h));
			h->name = (const char *)(uintptr_t)used;	/* offsets until the end */
			memcpy(m->store + used, p, name_len);
			used += name_len;
			m->store[used++] = '\0';
			h->name_len = name_len;
			h->value = (const char *)(uintptr_t)used;
			memcpy(m->store + used, p + colon + 1, len - colon - 1);
			used += len - colon - 1;
			h->value_len = len - colon - 1;
		} else {
			m->body = p;
			break;
		}
		p = eol + 1;
	}
	for (size_t i = 0; i < m->nheaders; i++) {
		m->headers[i].name = m->store + (uintptr_t)m->headers[i].name;
		m->headers[i].value = m->store + (uintptr_t)m->headers[i].value;
	}
	m->body_len = (size_t)(end - m->body);
}
