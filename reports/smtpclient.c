/*
 * NAME
 *	smtpclient.c - one message to one recipient over SMTP (see smtpclient.h)
 * DESCRIPTION
 *	One connection, one transaction, blocking I/O with SO_RCVTIMEO/SO_SNDTIMEO for
 *	the timeouts (connect alone is non-blocking, under poll(2)).  Replies come into a
 *	fixed buffer and are read by line; nothing the server says is trusted to be
 *	short, terminated or printable.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/printable.h"
#include "reports/smtpclient.h"

#define SMTP_LINE_MAX	512		/* RFC 5321 section 4.5.3.1.5, with CRLF */
#define SMTP_REPLY_LINES 100
#define SMTP_HOST_MAX	256

struct smtp {
	int	fd;
	unsigned timeout_s;
	char	in[2 * SMTP_LINE_MAX];
	size_t	in_len;
	char	out[8192];
	size_t	out_len;
	char	reply[SMTP_LINE_MAX];	/* first line of the last reply, printable */
	char   *detail;
	size_t	detail_size;
};

static enum mail_outcome say(struct smtp *s, enum mail_outcome o, const char *step,
	    const char *text)
{
	char	line[SMTP_LINE_MAX + 64];

	snprintf(line, sizeof(line), "%s: %s", step, text);
	printable_copy(s->detail, s->detail_size, line, NULL);
	return o;
}

/* ---- HOST:PORT ------------------------------------------------------------------------ */

static int split_hostport(const char *hostport, char *host, size_t size, char *port,
	    size_t port_size)
{
	const char *colon, *h = hostport;
	size_t	hlen;
	char   *end;
	long	p;

	if (hostport == NULL)
		return 0;
	if (*h == '[') {
		const char *close = strchr(h, ']');

		if (close == NULL || close[1] != ':')
			return 0;
		h++;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		if ((colon = strrchr(h, ':')) == NULL || memchr(h, ':', (size_t)(colon - h)))
			return 0;
		hlen = (size_t)(colon - h);
	}
	if (hlen == 0 || hlen >= size || strlen(colon + 1) >= port_size)
		return 0;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || end == colon + 1 || p < 1 || p > 65535)
		return 0;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	snprintf(port, port_size, "%ld", p);
	return 1;
}

int	smtp_hostport_valid(const char *hostport)
{
	char	host[SMTP_HOST_MAX], port[8];

	return split_hostport(hostport, host, sizeof(host), port, sizeof(port));
}

/* ---- the connection --------------------------------------------------------------------- */

static int connect_timed(int fd, const struct sockaddr *addr, socklen_t len, unsigned timeout_s)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int	flags = fcntl(fd, F_GETFL), err = 0, rc;
	socklen_t errlen = sizeof(err);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -1;
	if (connect(fd, addr, len) < 0) {
		if (errno != EINPROGRESS)
			return -1;
		while ((rc = poll(&pfd, 1, (int)timeout_s * 1000)) < 0 && errno == EINTR)
			;
		if (rc == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0)
			return -1;
		if (err != 0) {
			errno = err;
			return -1;
		}
	}
	return fcntl(fd, F_SETFL, flags);
}

static int open_connection(struct smtp *s, const char *hostport)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL, *ai;
	struct timeval tv = { .tv_sec = (time_t)s->timeout_s };
	char	host[SMTP_HOST_MAX], port[8], why[160];
	int	rc, saved = 0;

	if (!split_hostport(hostport, host, sizeof(host), port, sizeof(port))) {
		say(s, MAIL_TEMPFAIL, hostport, "not HOST:PORT");
		return 0;
	}
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		say(s, MAIL_TEMPFAIL, hostport, gai_strerror(rc));
		return 0;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		s->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (s->fd < 0) {
			saved = errno;
			continue;
		}
		if (connect_timed(s->fd, ai->ai_addr, ai->ai_addrlen, s->timeout_s) == 0 &&
		    setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 &&
		    setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0)
			break;
		saved = errno;
		close(s->fd);
		s->fd = -1;
	}
	freeaddrinfo(res);
	if (s->fd < 0) {
		snprintf(why, sizeof(why), "connect: %s", strerror(saved ? saved : ECONNREFUSED));
		say(s, MAIL_TEMPFAIL, hostport, why);
		return 0;
	}
	return 1;
}

/* ---- writing ---------------------------------------------------------------------------- */

static int flush_out(struct smtp *s)
{
	size_t	done = 0;

	while (done < s->out_len) {
		ssize_t	n = send(s->fd, s->out + done, s->out_len - done, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		done += (size_t)n;
	}
	s->out_len = 0;
	return 1;
}

static int put(struct smtp *s, const char *data, size_t len)
{
	while (len > 0) {
		size_t	n = sizeof(s->out) - s->out_len;

		if (n == 0) {
			if (!flush_out(s))
				return 0;
			continue;
		}
		if (n > len)
			n = len;
		memcpy(s->out + s->out_len, data, n);
		s->out_len += n;
		data += n;
		len -= n;
	}
	return 1;
}

/* The message, each line ending in CRLF, a leading "." doubled (section 4.5.2), then
 * the lone "." that ends it. */
static int put_message(struct smtp *s, const char *msg, size_t len)
{
	size_t	i = 0;

	while (i < len) {
		const char *nl = memchr(msg + i, '\n', len - i);
		size_t	end = nl != NULL ? (size_t)(nl - msg) : len;
		size_t	text = end;

		if (text > i && msg[text - 1] == '\r')
			text--;
		if ((msg[i] == '.' && !put(s, ".", 1)) || !put(s, msg + i, text - i) ||
		    !put(s, "\r\n", 2))
			return 0;
		i = nl != NULL ? end + 1 : len;
	}
	return put(s, ".\r\n", 3) && flush_out(s);
}

/* ---- reading ---------------------------------------------------------------------------- */

/* One line, CRLF or LF removed, into line (SMTP_LINE_MAX): 1, or 0 on a timeout, a
 * closed connection or a line too long. */
static int get_line(struct smtp *s, char *line, const char **why)
{
	for (;;) {
		char   *nl = memchr(s->in, '\n', s->in_len);
		ssize_t	n;

		if (nl != NULL) {
			size_t	len = (size_t)(nl - s->in), rest;

			if (len >= SMTP_LINE_MAX) {
				*why = "reply line too long";
				return 0;
			}
			memcpy(line, s->in, len);
			if (len > 0 && line[len - 1] == '\r')
				len--;
			line[len] = '\0';
			rest = s->in_len - (size_t)(nl + 1 - s->in);
			memmove(s->in, nl + 1, rest);
			s->in_len = rest;
			return 1;
		}
		if (s->in_len >= SMTP_LINE_MAX) {
			*why = "reply line too long";
			return 0;
		}
		n = recv(s->fd, s->in + s->in_len, sizeof(s->in) - s->in_len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*why = n == 0 ? "connection closed" : errno == EAGAIN ||
			    errno == EWOULDBLOCK ? "timed out" : strerror(errno);
			return 0;
		}
		s->in_len += (size_t)n;
	}
}

static int reply_code(const char *line)
{
	if (line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
	    line[2] < '0' || line[2] > '9' || (line[3] != ' ' && line[3] != '-' && line[3] != '\0'))
		return -1;
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

/* A whole reply (all its lines): its code, or -1 with *why set. */
static int get_reply(struct smtp *s, const char **why)
{
	char	line[SMTP_LINE_MAX];
	int	code = -1, lines;

	for (lines = 0; lines < SMTP_REPLY_LINES; lines++) {
		int	c;

		if (!get_line(s, line, why))
			return -1;
		if ((c = reply_code(line)) < 0 || (code >= 0 && c != code)) {
			*why = "not an SMTP reply";
			return -1;
		}
		if (code < 0)
			printable_copy(s->reply, sizeof(s->reply), line, NULL);
		code = c;
		if (line[3] != '-')
			return code;
	}
	*why = "reply of too many lines";
	return -1;
}

/* Sends a command (unless NULL) and reads the reply: the outcome of a step that wants
 * a reply of class want (2 or 3). */
static int step(struct smtp *s, const char *name, const char *command, int want,
	    enum mail_outcome *o)
{
	const char *why = NULL;
	int	code;

	if (command != NULL && (!put(s, command, strlen(command)) || !put(s, "\r\n", 2) ||
	    !flush_out(s))) {
		*o = say(s, MAIL_TEMPFAIL, name, errno == EAGAIN ? "timed out" : strerror(errno));
		return 0;
	}
	if ((code = get_reply(s, &why)) < 0) {
		*o = say(s, MAIL_TEMPFAIL, name, why);
		return 0;
	}
	if (code / 100 == want)
		return 1;
	*o = say(s, code / 100 == 5 ? MAIL_PERMFAIL : MAIL_TEMPFAIL, name, s->reply);
	return 0;
}

static enum mail_outcome transaction(struct smtp *s, const char *helo, const char *from,
	    const char *rcpt, const char *msg, size_t len)
{
	char	cmd[SMTP_LINE_MAX], accepted[SMTP_LINE_MAX];
	enum mail_outcome o = MAIL_TEMPFAIL;

	if (!step(s, "greeting", NULL, 2, &o))
		return o;
	snprintf(cmd, sizeof(cmd), "EHLO %s", helo);
	if (!step(s, "EHLO", cmd, 2, &o)) {
		if (o != MAIL_PERMFAIL)
			return o;
		snprintf(cmd, sizeof(cmd), "HELO %s", helo);
		if (!step(s, "HELO", cmd, 2, &o))
			return o;
	}
	snprintf(cmd, sizeof(cmd), "MAIL FROM:<%s>", from);
	if (!step(s, "MAIL", cmd, 2, &o))
		return o;
	snprintf(cmd, sizeof(cmd), "RCPT TO:<%s>", rcpt);
	if (!step(s, "RCPT", cmd, 2, &o) || !step(s, "DATA", "DATA", 3, &o))
		return o;
	if (!put_message(s, msg, len))
		return say(s, MAIL_TEMPFAIL, "message", errno == EAGAIN ? "timed out" :
		    strerror(errno));
	if (!step(s, "end of data", NULL, 2, &o))
		return o;
	memcpy(accepted, s->reply, sizeof(accepted));
	(void)step(s, "QUIT", "QUIT", 2, &o);	/* the mail is accepted whatever QUIT gets */
	return say(s, MAIL_SENT, "accepted", accepted);
}

enum mail_outcome smtp_send(const char *hostport, const char *helo, const char *from,
	    const char *rcpt, const char *msg, size_t len, unsigned timeout_s, char *detail,
	    size_t detail_size)
{
	struct smtp *s = calloc(1, sizeof(*s));
	enum mail_outcome o;

	if (detail_size > 0)
		detail[0] = '\0';
	if (s == NULL) {
		snprintf(detail, detail_size, "out of memory");
		return MAIL_TEMPFAIL;
	}
	s->fd = -1;
	s->timeout_s = timeout_s > 0 ? timeout_s : 1;
	s->detail = detail;
	s->detail_size = detail_size;
	if (strlen(helo) + 6 > SMTP_LINE_MAX || strlen(from) + 14 > SMTP_LINE_MAX ||
	    strlen(rcpt) + 12 > SMTP_LINE_MAX)
		o = say(s, MAIL_PERMFAIL, "envelope", "address or host name too long");
	else if (!open_connection(s, hostport))
		o = MAIL_TEMPFAIL;
	else
		o = transaction(s, helo, from, rcpt, msg, len);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
	return o;
}
