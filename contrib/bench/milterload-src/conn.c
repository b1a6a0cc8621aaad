/*
 * NAME
 *	conn.c - one milter connection: connect and negotiate, buffered writes, bounded
 *	reads
 *
 * DESCRIPTION
 *	Output is buffered like Postfix's VSTREAM: 4096 bytes, or four times the TCP MSS
 *	on inet sockets; a full buffer is written whole when more comes, and a read of a
 *	reply flushes first.  Those write() batches are what the milter sees, and what
 *	decides TCP stalls.  Every read waits at most --timeout seconds (poll), every
 *	write too (SO_SNDTIMEO), and no reply packet is over MAX_PACKET bytes.
 */
#include "milterload.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_PACKET	(64u * 1024 * 1024)

int conn_fail(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return -1;
}

static int conn_fail_errno(struct conn *c, const char *what)
{
	char	text[128];

	return conn_fail(c, "%s: %s", what, errno_text(errno, text, sizeof(text)));
}

int out_flush(struct conn *c)
{
	size_t	done = 0;

	while (done < c->out_len) {
		ssize_t n = send(c->fd, c->out + done, c->out_len - done, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return conn_fail(c, "write timed out after %d s", c->timeout_ms / 1000);
		if (n < 0)
			return conn_fail_errno(c, "write");
		done += (size_t)n;
	}
	c->out_len = 0;
	return 0;
}

/* Like Postfix's vbuf_write(): fill the buffer; a full one is written whole when more
 * comes. */
static int out_put(struct conn *c, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len > 0) {
		size_t	n;

		if (c->out_len == c->out_size && out_flush(c) < 0)
			return -1;
		n = c->out_size - c->out_len;
		if (n > len)
			n = len;
		memcpy(c->out + c->out_len, p, n);
		c->out_len += n;
		p += n;
		len -= n;
	}
	return 0;
}

int packet_put(struct conn *c, char cmd, const void *data, size_t len)
{
	unsigned char head[5];

	put32(head, (uint32_t)(len + 1));
	head[4] = (unsigned char)cmd;
	if (out_put(c, head, sizeof(head)) < 0)
		return -1;
	return len > 0 ? out_put(c, data, len) : 0;
}

static int in_fill(struct conn *c, const char *waiting_for)
{
	struct pollfd pfd = { c->fd, POLLIN, 0 };
	char	text[128];
	ssize_t	n;

	for (;;) {
		int	ready = poll(&pfd, 1, c->timeout_ms);

		if (ready < 0 && errno == EINTR)
			continue;
		if (ready < 0)
			return conn_fail(c, "poll: %s", errno_text(errno, text, sizeof(text)));
		if (ready == 0)
			return conn_fail(c, "no reply to %s within %d s", waiting_for,
			    c->timeout_ms / 1000);
		n = recv(c->fd, c->in, sizeof(c->in), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return conn_fail(c, "read (waiting for the reply to %s): %s", waiting_for,
			    errno_text(errno, text, sizeof(text)));
		if (n == 0)
			return conn_fail(c, "the milter closed the connection (waiting for the "
			    "reply to %s)", waiting_for);
		c->in_pos = 0;
		c->in_len = (size_t)n;
		return 0;
	}
}

static int in_read(struct conn *c, void *dst, size_t len, const char *waiting_for)
{
	unsigned char *d = dst;

	while (len > 0) {
		size_t	n;

		if (c->in_pos == c->in_len && in_fill(c, waiting_for) < 0)
			return -1;
		n = c->in_len - c->in_pos;
		if (n > len)
			n = len;
		memcpy(d, c->in + c->in_pos, n);
		c->in_pos += n;
		d += n;
		len -= n;
	}
	return 0;
}

/* One reply packet; as with Postfix's double-buffered stream, a read flushes first. */
int packet_get(struct conn *c, const char *waiting_for, char *code,
    const char **data, size_t *len)
{
	unsigned char head[4];
	uint32_t n;

	if (c->out_len > 0 && out_flush(c) < 0)
		return -1;
	if (in_read(c, head, sizeof(head), waiting_for) < 0)
		return -1;
	n = get32(head);
	if (n < 1 || n > MAX_PACKET)
		return conn_fail(c, "bad reply packet length %lu to %s", (unsigned long)n,
		    waiting_for);
	if (buf_reserve(&c->packet, n) < 0)
		return conn_fail(c, "out of memory for a %lu-byte packet", (unsigned long)n);
	if (in_read(c, c->packet.data, n, waiting_for) < 0)
		return -1;
	*code = c->packet.data[0];
	*data = c->packet.data + 1;
	*len = n - 1;
	return 0;
}

static void conn_forget_symlists(struct conn *c)
{
	for (int i = 0; i < ST_COUNT; i++) {
		free(c->symlist[i]);
		c->symlist[i] = NULL;
	}
}

/* Stage id + NUL-terminated list, repeated, after the three words of SMFIC_OPTNEG. */
static int conn_take_symlists(struct conn *c, const char *p, size_t left)
{
	while (left > 0) {
		uint32_t stage;
		const char *nul;

		if (left < 5 || (nul = memchr(p + 4, '\0', left - 4)) == NULL)
			return conn_fail(c, "malformed macro list in the SMFIC_OPTNEG reply");
		stage = get32(p);
		/* Postfix: an empty list means "use main.cf's", an unknown stage is ignored. */
		if (stage < ST_COUNT && nul > p + 4) {
			free(c->symlist[stage]);
			if ((c->symlist[stage] = strdup(p + 4)) == NULL)
				return conn_fail(c, "out of memory");
		}
		left -= (size_t)(nul + 1 - p);
		p = nul + 1;
	}
	return 0;
}

static int conn_negotiate(struct conn *c)
{
	unsigned char offer[12];
	const char *data;
	size_t	len;
	char	code;

	put32(offer, MILTER_VERSION);
	put32(offer + 4, MTA_ACTIONS);
	put32(offer + 8, MTA_PROTOCOL);
	if (packet_put(c, SMFIC_OPTNEG, offer, sizeof(offer)) < 0
	    || packet_get(c, "SMFIC_OPTNEG", &code, &data, &len) < 0)
		return -1;
	if (code != SMFIC_OPTNEG || len < 12)
		return conn_fail(c, "bad SMFIC_OPTNEG reply ('%c', %zu bytes)", code, len);
	c->version = get32(data);
	c->actions = get32(data + 4);
	c->protocol = get32(data + 8);
	if (c->version < 2 || c->version > MILTER_VERSION)
		return conn_fail(c, "the milter speaks protocol version %lu",
		    (unsigned long)c->version);
	if ((c->actions & ~MTA_ACTIONS) != 0)
		return conn_fail(c, "the milter asks for actions 0x%lx",
		    (unsigned long)c->actions);
	/* Events a version-2..4 milter does not know are not sent, macros neither. */
	c->np_mask = c->version >= 4 ? 0 : c->version == 3 ? SMFIP_NODATA
	    : SMFIP_NODATA | SMFIP_NOUNKNOWN;
	c->state = CS_READY;
	return conn_take_symlists(c, data + 12, len - 12);
}

void conn_close(struct conn *c, int say_quit)
{
	if (c->fd < 0)
		return;
	if (say_quit && packet_put(c, SMFIC_QUIT, NULL, 0) == 0)
		(void)out_flush(c);
	close(c->fd);
	c->fd = -1;
	c->out_len = c->in_pos = c->in_len = 0;
	if (c->state != CS_REJECT_CON && c->state != CS_ACCEPT_CON)
		c->state = CS_CLOSED;
	conn_forget_symlists(c);
}

/* Postfix's vstream_tweak_tcp(): a buffer of 4 MSS when the MSS is large (loopback). */
static size_t tcp_buffer_size(int fd)
{
	int	mss = 0;
	socklen_t len = sizeof(mss);

	if (getsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, &len) == 0
	    && mss > VSTREAM_BUFSIZE / 4 && mss < INT32_MAX / 4)
		return (size_t)mss * 4;
	return VSTREAM_BUFSIZE;
}

int conn_open(struct conn *c, const struct endpoint *ep, const struct config *cfg)
{
	struct timeval tv = { cfg->timeout_ms / 1000, 0 };
	int	one = 1;

	c->ep = ep;
	c->timeout_ms = cfg->timeout_ms;
	c->state = CS_CLOSED;
	c->skip_event = 0;
	c->out_len = c->in_pos = c->in_len = 0;
	if ((c->fd = socket(ep->family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return conn_fail_errno(c, "socket");
	/* Bounds connect() and every write() (Linux honours it for both). */
	(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(c->fd, (const struct sockaddr *)&ep->addr, ep->addr_len) < 0) {
		conn_fail_errno(c, "connect");
		conn_close(c, 0);
		return -1;
	}
	c->out_size = VSTREAM_BUFSIZE;
	if (ep->family != AF_UNIX) {
		if (cfg->nodelay)
			(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->out_size = tcp_buffer_size(c->fd);
	}
	if (c->out_size > c->out_cap) {
		unsigned char *p = realloc(c->out, c->out_size);

		if (p == NULL) {
			conn_close(c, 0);
			return conn_fail(c, "out of memory");
		}
		c->out = p;
		c->out_cap = c->out_size;
	}
	if (conn_negotiate(c) < 0) {
		conn_close(c, 0);
		return -1;
	}
	return 0;
}

void conn_free(struct conn *c)
{
	conn_close(c, 0);
	free(c->out);
	buf_free(&c->packet);
	buf_free(&c->scratch);
}
