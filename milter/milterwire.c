/*
 * NAME
 *	milterwire.c - the milter wire protocol: frame splitting, decoding, encoding
 * DESCRIPTION
 *	See milterwire.h.  Every length here comes from the MTA, so each is checked against
 *	the bytes actually held before anything is read, and every string is looked for its
 *	NUL inside the frame (memchr over the remaining length, never strlen).  Decoders
 *	point into the frame: the frame's buffer must outlive what they return.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "milter/milterwire.h"

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

int	mw_frame_next(unsigned char *buf, size_t len, struct mw_frame *frame, size_t *used)
{
	uint32_t n;

	if (len < 4)
		return MW_MORE;
	n = get32(buf);
	if (n == 0 || n > MW_FRAME_MAX)
		return MW_ERR_LENGTH;
	if (len - 4 < n)
		return MW_MORE;
	frame->cmd = buf[4];
	frame->data = buf + 5;
	frame->len = n - 1;
	*used = 4 + (size_t)n;
	return MW_OK;
}

size_t	mw_frame_need(const unsigned char *buf, size_t len)
{
	return len < 4 ? 4 : 4 + (size_t)get32(buf);
}

const char *mw_error_text(int err)
{
	switch (err) {
	case MW_OK:
		return "no error";
	case MW_MORE:
		return "incomplete frame";
	case MW_ERR_LENGTH:
		return "frame length zero or too long";
	case MW_ERR_SHORT:
		return "frame too short for its command";
	case MW_ERR_NUL:
		return "string not terminated inside the frame";
	case MW_ERR_FAMILY:
		return "unknown address family";
	case MW_ERR_ADDRESS:
		return "address does not parse";
	case MW_ERR_STAGE:
		return "macros for an unknown command";
	case MW_ERR_NOMEM:
		return "out of memory";
	case MW_ERR_EMPTY:
		return "header field without a name";
	}
	return "unknown error";
}

/* The NUL-terminated string at span[*pos], *pos moved past its NUL; MW_ERR_NUL when it
 * has none before len, MW_MORE when *pos is at the end. */
int	mw_next_string(char *span, size_t len, size_t *pos, char **s)
{
	const char *nul;

	if (*pos >= len)
		return MW_MORE;
	if ((nul = memchr(span + *pos, '\0', len - *pos)) == NULL)
		return MW_ERR_NUL;
	*s = span + *pos;
	*pos = (size_t)(nul - span) + 1;
	return MW_OK;
}

int	mw_decode_optneg(const struct mw_frame *f, struct mw_optneg *o)
{
	if (f->len < 12)
		return MW_ERR_SHORT;
	o->version = get32(f->data);
	o->actions = get32(f->data + 4);
	o->protocol = get32(f->data + 8);
	return MW_OK;
}

static int connect_address(struct mw_connect *c, const unsigned char *port, char *text)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)&c->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&c->addr;
	struct sockaddr_un *un = (struct sockaddr_un *)&c->addr;

	switch (c->family) {
	case MW_FAMILY_INET:
		if (inet_pton(AF_INET, text, &in4->sin_addr) != 1)
			return MW_ERR_ADDRESS;
		in4->sin_family = AF_INET;
		memcpy(&in4->sin_port, port, 2);	/* network order on the wire too */
		return MW_OK;
	case MW_FAMILY_INET6:
		/* Sendmail writes "IPv6:" before the address. */
		if (strncmp(text, "IPv6:", 5) == 0)
			text += 5;
		if (inet_pton(AF_INET6, text, &in6->sin6_addr) != 1)
			return MW_ERR_ADDRESS;
		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_port, port, 2);
		return MW_OK;
	case MW_FAMILY_UNIX:
		if (strlen(text) >= sizeof(un->sun_path))
			return MW_ERR_ADDRESS;
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, text, strlen(text) + 1);
		return MW_OK;
	}
	return MW_ERR_FAMILY;
}

/* hostname NUL, family, and unless the family is unknown: port (2 bytes), address NUL. */
int	mw_decode_connect(const struct mw_frame *f, struct mw_connect *c)
{
	char   *span = (char *)f->data, *text;
	size_t	pos = 0;
	int	rc;

	memset(c, 0, sizeof(*c));
	if ((rc = mw_next_string(span, f->len, &pos, &c->hostname)) != MW_OK)
		return rc == MW_MORE ? MW_ERR_SHORT : rc;
	if (pos >= f->len)
		return MW_ERR_SHORT;
	c->family = span[pos++];
	if (c->family == MW_FAMILY_UNKNOWN)
		return MW_OK;
	if (c->family != MW_FAMILY_INET && c->family != MW_FAMILY_INET6 &&
	    c->family != MW_FAMILY_UNIX)
		return MW_ERR_FAMILY;
	if (f->len - pos < 2)
		return MW_ERR_SHORT;
	pos += 2;
	if ((rc = mw_next_string(span, f->len, &pos, &text)) != MW_OK)
		return rc == MW_MORE ? MW_ERR_SHORT : rc;
	return connect_address(c, f->data + (text - span) - 2, text);
}

/* The command byte naming the stage, then name NUL value NUL pairs. */
int	mw_decode_macros(const struct mw_frame *f, int *stage, char **pairs, size_t *len)
{
	static const char stages[MW_STAGES] = {
		[MW_STAGE_CONNECT] = MW_CMD_CONNECT, [MW_STAGE_HELO] = MW_CMD_HELO,
		[MW_STAGE_ENVFROM] = MW_CMD_MAIL, [MW_STAGE_ENVRCPT] = MW_CMD_RCPT,
		[MW_STAGE_DATA] = MW_CMD_DATA, [MW_STAGE_EOM] = MW_CMD_BODYEOB,
		[MW_STAGE_EOH] = MW_CMD_EOH,
	};
	const char *at;

	if (f->len < 1)
		return MW_ERR_SHORT;
	if (f->data[0] == '\0' || (at = memchr(stages, f->data[0], MW_STAGES)) == NULL)
		return MW_ERR_STAGE;
	if (f->len > 1 && f->data[f->len - 1] != '\0')
		return MW_ERR_NUL;
	*stage = (int)(at - stages);
	*pairs = (char *)f->data + 1;
	*len = f->len - 1;
	return MW_OK;
}

/* HELO and UNKNOWN: one NUL-terminated string. */
int	mw_decode_string(const struct mw_frame *f, char **s)
{
	size_t	pos = 0;
	int	rc = mw_next_string((char *)f->data, f->len, &pos, s);

	return rc == MW_MORE ? MW_ERR_SHORT : rc;
}

/* name NUL value NUL; libmilter refuses an empty name too. */
int	mw_decode_header(const struct mw_frame *f, char **name, char **value)
{
	size_t	pos = 0;
	int	rc;

	if ((rc = mw_next_string((char *)f->data, f->len, &pos, name)) != MW_OK ||
	    (rc = mw_next_string((char *)f->data, f->len, &pos, value)) != MW_OK)
		return rc == MW_MORE ? MW_ERR_SHORT : rc;
	return (*name)[0] != '\0' ? MW_OK : MW_ERR_EMPTY;
}

/* MAIL and RCPT: one or more strings, all NUL-terminated.  *count says how many there
 * are; the first max of them go to argv. */
int	mw_decode_argv(const struct mw_frame *f, char **argv, size_t max, size_t *count)
{
	size_t	pos = 0;
	char   *s;
	int	rc;

	*count = 0;
	while ((rc = mw_next_string((char *)f->data, f->len, &pos, &s)) == MW_OK) {
		if (*count < max)
			argv[*count] = s;
		(*count)++;
	}
	if (rc != MW_MORE)
		return rc;
	return *count > 0 ? MW_OK : MW_ERR_SHORT;
}

int	mw_put_reply(struct buffer *out, int code, const void *data, size_t len)
{
	unsigned char head[5];

	if (len > MW_FRAME_MAX - 1)
		return MW_ERR_LENGTH;
	put32(head, (uint32_t)len + 1);
	head[4] = (unsigned char)code;
	if (!buffer_append(out, head, sizeof(head)) || (len > 0 &&
	    !buffer_append(out, data, len)))
		return MW_ERR_NOMEM;
	return MW_OK;
}

int	mw_put_string(struct buffer *out, int code, const char *s)
{
	return mw_put_reply(out, code, s, strlen(s) + 1);
}

/* 'h': name NUL value NUL; 'i' and 'm': the index first (a 32-bit number). */
int	mw_put_header(struct buffer *out, int code, uint32_t index, const char *name,
    const char *value)
{
	size_t	nlen = strlen(name) + 1, vlen = strlen(value) + 1;
	size_t	ilen = code == MW_REPLY_ADDHEADER ? 0 : 4;
	unsigned char head[9];

	if (nlen + vlen + ilen > MW_FRAME_MAX - 1)
		return MW_ERR_LENGTH;
	put32(head, (uint32_t)(1 + ilen + nlen + vlen));
	head[4] = (unsigned char)code;
	put32(head + 5, index);
	if (!buffer_append(out, head, 5 + ilen) || !buffer_append(out, name, nlen) ||
	    !buffer_append(out, value, vlen))
		return MW_ERR_NOMEM;
	return MW_OK;
}

/* Version, actions, protocol, then for each stage with a list: the stage (32 bits) and
 * the list, NUL-terminated (an empty list is just the NUL). */
int	mw_put_optneg(struct buffer *out, const struct mw_optneg *o,
    const char *const lists[MW_STAGES])
{
	struct buffer body = {0};
	unsigned char v[12];
	int	rc = MW_OK;

	put32(v, o->version);
	put32(v + 4, o->actions);
	put32(v + 8, o->protocol);
	if (!buffer_append(&body, v, sizeof(v)))
		rc = MW_ERR_NOMEM;
	for (int i = 0; rc == MW_OK && lists != NULL && i < MW_STAGES; i++) {
		if (lists[i] == NULL)
			continue;
		put32(v, (uint32_t)i);
		if (!buffer_append(&body, v, 4) ||
		    !buffer_append(&body, lists[i], strlen(lists[i]) + 1))
			rc = MW_ERR_NOMEM;
	}
	if (rc == MW_OK)
		rc = mw_put_reply(out, MW_CMD_OPTNEG, body.data, body.len);
	buffer_free(&body);
	return rc;
}
