/*
 * NAME
 *	metricshttp.c - the metrics served over HTTP by one thread
 * SYNOPSIS
 *	#include "milter/metrics.h"
 * DESCRIPTION
 *	One thread multiplexes with poll(): the listening socket, a pipe that
 *	metrics_stop() writes to, and at most METRICS_MAX_CONNS connections, each either
 *	being read or being written.  Each connection has METRICS_REQUEST_MAX bytes for its
 *	request head and METRICS_DEADLINE_MS from accept to the end of the reply; a client
 *	that is slow, silent, sends garbage or does not read its reply is answered (400,
 *	431) or dropped at its deadline.  Nothing waits on one client: a reply is written as
 *	far as the socket takes it and the rest when poll() says so, so a client holds only
 *	its own slot, never the thread.  With every slot taken, new connections wait in the
 *	listen backlog.  The milter threads never wait for this thread: they only bump
 *	atomic counters (metrics.c).
 *
 *	Only GET /metrics is served (200); another path is 404, another method 405 with
 *	"Allow: GET" -- HEAD included: Prometheus never sends it, and it would cost a whole
 *	rendering to throw away.  Replies are HTTP/1.1 with Content-Length and Connection:
 *	close; the request body, if any, is not read.  A bare port binds 127.0.0.1 only.
 *
 *	The thread blocks every signal, so a SIGTERM meant for libmilter's signal thread is
 *	never delivered to it.
 * DIAGNOSTICS
 *	metrics_start() fills err with one sentence.  The server thread logs only what an
 *	operator can act on (poll failing); bad requests are answered, not logged.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* accept4(2), pipe2(2), memmem(3) */
#endif
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "lib/buffer.h"
#include "lib/log.h"
#include "milter/metrics.h"

#define METRICS_MAX_CONNS	8
#define METRICS_REQUEST_MAX	8192
#define METRICS_DEADLINE_MS	5000
#define METRICS_HOST_MAX	256

/* ---- HTTP ------------------------------------------------------------------------------- */

/* The next space-separated token of line[*pos..len), at most one space between tokens. */
static int token(const char *line, size_t len, size_t *pos, const char **start, size_t *tlen)
{
	size_t	p = *pos;

	*start = line + p;
	while (p < len && line[p] != ' ')
		p++;
	*tlen = (size_t)(line + p - *start);
	*pos = p < len ? p + 1 : p;
	return *tlen > 0;
}

static int token_is(const char *tok, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(tok, want, len) == 0;
}

/* /metrics, with or without a query string (Prometheus sends none; it is ignored). */
static int is_metrics_path(const char *target, size_t len)
{
	const char *query = memchr(target, '?', len);

	if (query != NULL)
		len = (size_t)(query - target);
	return token_is(target, len, "/metrics");
}

/* The status for the request line, METHOD SP TARGET SP HTTP/1.x: 200 for GET /metrics
 * and nothing else; the header fields after it are not looked at. */
static int parse_request(const char *buf, size_t len)
{
	const char *eol = memchr(buf, '\n', len);
	const char *method, *target, *version;
	size_t	line_len, pos = 0, mlen, tlen, vlen;

	if (eol == NULL)
		return 400;
	line_len = (size_t)(eol - buf);
	if (line_len > 0 && buf[line_len - 1] == '\r')
		line_len--;
	if (!token(buf, line_len, &pos, &method, &mlen) ||
	    !token(buf, line_len, &pos, &target, &tlen) ||
	    !token(buf, line_len, &pos, &version, &vlen) || version + vlen != buf + line_len ||
	    vlen != 8 || memcmp(version, "HTTP/1.", 7) != 0 || target[0] != '/')
		return 400;
	for (size_t i = 0; i < mlen; i++)
		if (method[i] < 'A' || method[i] > 'Z')
			return 400;
	if (!token_is(method, mlen, "GET"))
		return 405;
	return is_metrics_path(target, tlen) ? 200 : 404;
}

/* The request head is complete once an empty line ends it. */
static int request_complete(const char *buf, size_t len)
{
	return memmem(buf, len, "\r\n\r\n", 4) != NULL || memmem(buf, len, "\n\n", 2) != NULL;
}

static const char *status_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 431: return "Request Header Fields Too Large";
	default: return "Internal Server Error";
	}
}

/* ---- the server ------------------------------------------------------------------------- */

struct conn {
	int	fd;			/* -1: slot free */
	int	replying;		/* the request is read: out is being written */
	size_t	len;			/* bytes of the request head in buf */
	size_t	sent;			/* bytes of out written so far */
	long long deadline_ms;
	struct buffer out;		/* the whole reply, status line to the last byte */
	char	buf[METRICS_REQUEST_MAX];
};

struct server {
	int	listen_fd;
	int	wake[2];		/* metrics_stop() writes to wake[1] */
	unsigned port;
	long long start_time;		/* seconds since the epoch */
	long long accept_pause_ms;	/* out of descriptors: do not accept before this */
	pthread_t thread;
	struct conn conns[METRICS_MAX_CONNS];
};

static struct server *server;		/* owned by metrics_start() and metrics_stop() */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void conn_close(struct conn *c)
{
	char	sink[4096];

	if (c->fd < 0)
		return;
	/* Drain what already arrived, so closing does not reset the connection (RST) and
	 * take our reply with it. */
	shutdown(c->fd, SHUT_WR);
	for (int i = 0; i < 16 && recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
		continue;
	close(c->fd);
	c->fd = -1;
	c->len = 0;
	c->replying = 0;
	c->sent = 0;
	buffer_free(&c->out);
}

/* Writes what the socket takes now of the reply; the rest when poll() says it can.  The
 * connection is closed once all is written, or when the client has gone. */
static void conn_write(struct conn *c)
{
	while (c->sent < c->out.len) {
		ssize_t	n = send(c->fd, c->out.data + c->sent, c->out.len - c->sent,
		    MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			c->sent += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		break;
	}
	conn_close(c);
}

/* Makes the reply to a request answered with status and starts writing it.  The body is
 * made first, so that Content-Length can be written; when memory runs out for it the
 * reply is a 500 without a body, and when it runs out for the reply the connection is
 * closed. */
static void respond(struct server *sv, struct conn *c, int status)
{
	struct buffer body = {0};
	const char *type = "text/plain; charset=utf-8";
	int	ok;

	if (status != 200)
		ok = buffer_printf(&body, "%d %s\n", status, status_reason(status));
	else {
		type = "text/plain; version=0.0.4; charset=utf-8";
		ok = metrics_render(&body, sv->start_time);
	}
	if (!ok) {
		buffer_free(&body);	/* no body: it is what could not be made */
		status = 500;
	}
	ok = buffer_printf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n%sConnection: close\r\n\r\n", status,
	    status_reason(status), type, body.len, status == 405 ? "Allow: GET\r\n" : "") &&
	    (body.len == 0 || buffer_append(&c->out, body.data, body.len));
	buffer_free(&body);
	if (!ok) {
		conn_close(c);
		return;
	}
	c->replying = 1;
	c->sent = 0;
	conn_write(c);
}

static void conn_read(struct server *sv, struct conn *c)
{
	ssize_t	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)n;
	if (request_complete(c->buf, c->len))
		respond(sv, c, parse_request(c->buf, c->len));
	else if (c->len == sizeof(c->buf))
		respond(sv, c, 431);
}

static struct conn *free_slot(struct server *sv)
{
	for (size_t i = 0; i < METRICS_MAX_CONNS; i++)
		if (sv->conns[i].fd < 0)
			return &sv->conns[i];
	return NULL;
}

static void accept_one(struct server *sv)
{
	struct conn *c = free_slot(sv);
	int	fd;

	if (c == NULL)
		return;
	fd = accept4(sv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			sv->accept_pause_ms = now_ms() + 100;
		return;
	}
	c->fd = fd;
	c->len = 0;
	c->deadline_ms = now_ms() + METRICS_DEADLINE_MS;
}

/* Fills pfd (wake pipe, listener if a slot is free, then the connections: reading or
 * writing) and returns the poll timeout: the nearest deadline. */
static int poll_setup(struct server *sv, struct pollfd *pfd, struct conn **owner, nfds_t *count)
{
	long long now = now_ms(), next = now + 60000;
	nfds_t	n = 0;

	pfd[n++] = (struct pollfd){.fd = sv->wake[0], .events = POLLIN};
	if (free_slot(sv) != NULL && now >= sv->accept_pause_ms) {
		owner[n] = NULL;
		pfd[n++] = (struct pollfd){.fd = sv->listen_fd, .events = POLLIN};
	} else if (now < sv->accept_pause_ms && sv->accept_pause_ms < next)
		next = sv->accept_pause_ms;
	for (size_t i = 0; i < METRICS_MAX_CONNS; i++) {
		struct conn *c = &sv->conns[i];

		if (c->fd < 0)
			continue;
		if (c->deadline_ms < next)
			next = c->deadline_ms;
		owner[n] = c;
		pfd[n++] = (struct pollfd){.fd = c->fd, .events = c->replying ? POLLOUT : POLLIN};
	}
	*count = n;
	return next > now ? (int)(next - now) : 0;
}

static void expire(struct server *sv)
{
	long long now = now_ms();

	for (size_t i = 0; i < METRICS_MAX_CONNS; i++)
		if (sv->conns[i].fd >= 0 && now >= sv->conns[i].deadline_ms)
			conn_close(&sv->conns[i]);
}

static void *server_main(void *arg)
{
	struct server *sv = arg;

	for (;;) {
		struct pollfd pfd[2 + METRICS_MAX_CONNS];
		struct conn *owner[2 + METRICS_MAX_CONNS];
		nfds_t	n;
		int	timeout = poll_setup(sv, pfd, owner, &n);

		if (poll(pfd, n, timeout) < 0) {
			if (errno != EINTR) {
				log_msg(LOG_LEVEL_WARNING, "metrics: poll: %s", strerror(errno));
				nanosleep(&(struct timespec){.tv_nsec = 100000000}, NULL);
			}
			continue;
		}
		if (pfd[0].revents != 0)
			break;
		for (nfds_t i = 1; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (owner[i] == NULL)
				accept_one(sv);
			else if (owner[i]->replying)
				conn_write(owner[i]);
			else
				conn_read(sv, owner[i]);
		}
		expire(sv);
	}
	return NULL;
}

/* ---- start and stop --------------------------------------------------------------------- */

/* 1 when text is a decimal port number, 0 to 65535. */
static int is_port(const char *text)
{
	size_t	len = strspn(text, "0123456789");

	return len > 0 && len <= 5 && text[len] == '\0' && strtol(text, NULL, 10) <= 65535;
}

/* Splits PORT (meaning 127.0.0.1:PORT), HOST:PORT or [V6]:PORT; host is copied into a
 * buffer of hostlen. */
static int split_listen(const char *listen, char *host, size_t hostlen, const char **port)
{
	const char *colon = strrchr(listen, ':');
	const char *h = listen;
	size_t	len;

	if (is_port(listen)) {
		snprintf(host, hostlen, "127.0.0.1");
		*port = listen;
		return 1;
	}
	if (colon == NULL || !is_port(colon + 1))
		return 0;
	len = (size_t)(colon - listen);
	if (listen[0] == '[') {
		if (len < 3 || colon[-1] != ']')
			return 0;
		h = listen + 1;
		len -= 2;
	}
	if (len == 0 || len >= hostlen)
		return 0;
	memcpy(host, h, len);
	host[len] = '\0';
	*port = colon + 1;
	return 1;
}

static int bind_one(const struct addrinfo *ai)
{
	int	one = 1;
	int	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    ai->ai_protocol);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 16) != 0) {
		int	saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

static unsigned bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/* The listening socket for listen, or -1 with err filled. */
static int open_listener(const char *listen, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res, *ai;
	char	host[METRICS_HOST_MAX];
	const char *port;
	int	fd = -1, rc, saved = 0;

	if (!split_listen(listen, host, sizeof(host), &port)) {
		snprintf(err, errlen, "metrics address \"%s\": want PORT (on 127.0.0.1), "
		    "HOST:PORT or [IPV6]:PORT", listen);
		return -1;
	}
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "metrics address \"%s\": %s", listen, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
		if ((fd = bind_one(ai)) < 0)
			saved = errno;
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(err, errlen, "cannot listen for metrics on %s: %s", listen,
		    strerror(saved));
	return fd;
}

static void server_free(struct server *sv)
{
	for (size_t i = 0; i < METRICS_MAX_CONNS; i++)
		conn_close(&sv->conns[i]);
	if (sv->listen_fd >= 0)
		close(sv->listen_fd);
	if (sv->wake[0] >= 0)
		close(sv->wake[0]);
	if (sv->wake[1] >= 0)
		close(sv->wake[1]);
	free(sv);
}

static struct server *server_new(void)
{
	struct server *sv = calloc(1, sizeof(*sv));
	struct timespec ts;

	if (sv == NULL)
		return NULL;
	sv->listen_fd = sv->wake[0] = sv->wake[1] = -1;
	for (size_t i = 0; i < METRICS_MAX_CONNS; i++)
		sv->conns[i].fd = -1;
	clock_gettime(CLOCK_REALTIME, &ts);
	sv->start_time = (long long)ts.tv_sec;
	return sv;
}

/* Starts the thread with every signal blocked; it inherits our mask. */
static int start_thread(struct server *sv)
{
	sigset_t all, old;
	int	rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&sv->thread, NULL, server_main, sv);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int	metrics_start(const char *listen, char *err, size_t errlen)
{
	struct server *sv;
	int	rc;

	if (server != NULL) {
		snprintf(err, errlen, "the metrics server is already running");
		return 0;
	}
	if ((sv = server_new()) == NULL) {
		snprintf(err, errlen, "out of memory starting the metrics server");
		return 0;
	}
	if ((sv->listen_fd = open_listener(listen, err, errlen)) < 0) {
		server_free(sv);
		return 0;
	}
	sv->port = bound_port(sv->listen_fd);
	if (pipe2(sv->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		snprintf(err, errlen, "metrics: pipe: %s", strerror(errno));
		server_free(sv);
		return 0;
	}
	if ((rc = start_thread(sv)) != 0) {
		snprintf(err, errlen, "cannot start the metrics thread: %s", strerror(rc));
		server_free(sv);
		return 0;
	}
	server = sv;
	return 1;
}

unsigned metrics_port(void)
{
	return server != NULL ? server->port : 0;
}

void	metrics_stop(void)
{
	struct server *sv = server;
	ssize_t	n;

	if (sv == NULL)
		return;
	do
		n = write(sv->wake[1], "x", 1);
	while (n < 0 && errno == EINTR);
	pthread_join(sv->thread, NULL);
	server = NULL;
	server_free(sv);
}
