/*
 * NAME
 *	metrics.c - Prometheus metrics: lock-free counters, served over HTTP by one thread
 * SYNOPSIS
 *	#include "milter/metrics.h"
 * DESCRIPTION
 *	Counting.  Every counter is a C11 atomic bumped with relaxed ordering: a milter thread
 *	pays one uncontended-in-practice atomic add and never a lock.  The histogram of message
 *	durations keeps one (non-cumulative) counter per bucket and the sum in nanoseconds as
 *	an integer, so no compare-and-swap loop on a double is needed.  A scrape reads each
 *	bucket once and derives the cumulative buckets and _count from those same reads, so
 *	the exposition is always self-consistent (buckets never decrease, +Inf equals _count)
 *	even while messages are being counted; only _sum may be a message ahead or behind.
 *
 *	Serving.  One thread multiplexes with poll(): the listening socket, a pipe that
 *	metrics_stop() writes to, and at most METRICS_MAX_CONNS connections, each either
 *	being read or being written.  Each connection has METRICS_REQUEST_MAX bytes for its
 *	request head and METRICS_DEADLINE_MS from accept to the end of the reply; a client
 *	that is slow, silent, sends garbage or does not read its reply is answered (400,
 *	431) or dropped at its deadline.  Nothing waits on one client: a reply is written as
 *	far as the socket takes it and the rest when poll() says so, so a client holds only
 *	its own slot, never the thread.  With every slot taken, new connections wait in the
 *	listen backlog.  The milter threads never wait for this thread: they only bump
 *	atomic counters.
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
 * SEE ALSO
 *	https://prometheus.io/docs/instrumenting/exposition_formats/ (text format 0.0.4)
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
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "config.h"
#include "lib/buffer.h"
#include "lib/log.h"
#include "milter/metrics.h"

#define METRICS_MAX_CONNS	8
#define METRICS_REQUEST_MAX	8192
#define METRICS_DEADLINE_MS	5000
#define METRICS_HOST_MAX	256

/* ---- counters ---------------------------------------------------------------------------- */

static const char *const direction_label[METRICS_DIRECTION_COUNT] = {"inbound", "outbound"};
static const char *const verdict_label[METRICS_VERDICT_COUNT] = {
	"signed", "unsigned", "accept", "quarantine", "reject", "tempfail", "error",
};
/* The pairs always exported, at zero too; any other pair appears once it is counted. */
static const unsigned char verdict_expected[METRICS_DIRECTION_COUNT][METRICS_VERDICT_COUNT] = {
	[METRICS_INBOUND] = {0, 0, 1, 1, 1, 1, 1},
	[METRICS_OUTBOUND] = {1, 1, 0, 0, 0, 0, 1},
};
static const char *const algorithm_label[METRICS_ALG_COUNT] = {"rsa-sha256", "ed25519-sha256"};
static const char *const error_label[METRICS_ERROR_COUNT] = {
	"internal", "dns", "config_reload", "mta",
};
static const char *const submission_label[METRICS_SUBMISSION_COUNT] = {
	"signed", "not_signed", "unauthorized_from", "rejected", "rate_limited", "tempfailed",
};
static const char *const failreport_label[METRICS_FAILREPORT_COUNT] = {
	"sent", "rate_limited", "queue_full", "not_authorized", "too_large", "send_error",
};
static const char *const arc_label[METRICS_ARC_RESULT_COUNT] = {"none", "pass", "fail"};
static const char *const limit_label[METRICS_RATE_LIMITS] = {
	"msg/min", "msg/hour", "msg/day", "rcpt/hour", "rcpt/day",
};
static const struct {
	const char *name, *help;
} event_series[METRICS_EVENT_COUNT] = {
	{"signet_unauthorized_from_total",
	 "Authenticated messages whose From their user may not use (SenderMap)."},
	{"signet_auth_without_tls_total", "Connections that authenticated without TLS."},
	{"signet_new_client_networks_total",
	 "Submissions from a client network not seen for the user within NewClientWindow."},
	{"signet_rate_store_errors_total", "Calls to the RateLimitStore that got no answer."},
};

/* Upper bounds in seconds, with the label text that stands for each exactly. */
static const struct bucket {
	double	le;
	const char *text;
} buckets[] = {
	{0.001, "0.001"}, {0.0025, "0.0025"}, {0.005, "0.005"}, {0.01, "0.01"},
	{0.025, "0.025"}, {0.05, "0.05"}, {0.1, "0.1"}, {0.25, "0.25"}, {0.5, "0.5"},
	{1, "1"}, {2.5, "2.5"}, {5, "5"}, {10, "10"},
};
#define BUCKET_COUNT (sizeof(buckets) / sizeof(buckets[0]))

static atomic_ulong messages[METRICS_DIRECTION_COUNT][METRICS_VERDICT_COUNT];
static atomic_ulong signatures[METRICS_ALG_COUNT];
static atomic_ulong errors[METRICS_ERROR_COUNT];
static atomic_ulong submissions[METRICS_SUBMISSION_COUNT];
static atomic_ulong events[METRICS_EVENT_COUNT];
static atomic_ulong rate_trips[METRICS_RATE_LIMITS];
static atomic_ulong failreports[METRICS_FAILREPORT_COUNT];
static atomic_ulong arc_chains[METRICS_ARC_RESULT_COUNT];
static atomic_ulong arc_seals[METRICS_ARC_RESULT_COUNT];
static atomic_ulong arc_overrides;
static atomic_ulong duration_bucket[BUCKET_COUNT + 1];	/* the last one is +Inf */
static _Atomic uint64_t duration_sum_ns;
static _Atomic(metrics_dns_source) dns_source;
static _Atomic(metrics_report_source) report_source;

static void bump(atomic_ulong *counter)
{
	atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

static unsigned long peek(atomic_ulong *counter)
{
	return atomic_load_explicit(counter, memory_order_relaxed);
}

void	metrics_message(enum metrics_direction dir, enum metrics_verdict verdict)
{
	if ((unsigned)dir < METRICS_DIRECTION_COUNT && (unsigned)verdict < METRICS_VERDICT_COUNT)
		bump(&messages[dir][verdict]);
}

void	metrics_signature(enum metrics_algorithm alg)
{
	if ((unsigned)alg < METRICS_ALG_COUNT)
		bump(&signatures[alg]);
}

void	metrics_error(enum metrics_error kind)
{
	if ((unsigned)kind < METRICS_ERROR_COUNT)
		bump(&errors[kind]);
}

void	metrics_submission(enum metrics_submission verdict)
{
	if ((unsigned)verdict < METRICS_SUBMISSION_COUNT)
		bump(&submissions[verdict]);
}

void	metrics_event(enum metrics_event event)
{
	if ((unsigned)event < METRICS_EVENT_COUNT)
		bump(&events[event]);
}

void	metrics_rate_trip(unsigned limit)
{
	if (limit < METRICS_RATE_LIMITS)
		bump(&rate_trips[limit]);
}

void	metrics_failreport(enum metrics_failreport outcome)
{
	if ((unsigned)outcome < METRICS_FAILREPORT_COUNT)
		bump(&failreports[outcome]);
}

void	metrics_arc_chain(enum metrics_arc_result result)
{
	if ((unsigned)result < METRICS_ARC_RESULT_COUNT)
		bump(&arc_chains[result]);
}

void	metrics_arc_seal(enum metrics_arc_result cv)
{
	if ((unsigned)cv < METRICS_ARC_RESULT_COUNT)
		bump(&arc_seals[cv]);
}

void	metrics_arc_override(void)
{
	bump(&arc_overrides);
}

void	metrics_latency(double seconds)
{
	size_t	i = 0;

	if (!(seconds >= 0))		/* negative or NaN: a clock went backwards */
		seconds = 0;
	if (seconds > 1e6)		/* keeps the nanosecond sum from overflowing */
		seconds = 1e6;
	while (i < BUCKET_COUNT && seconds > buckets[i].le)
		i++;
	bump(&duration_bucket[i]);
	atomic_fetch_add_explicit(&duration_sum_ns, (uint64_t)(seconds * 1e9),
	    memory_order_relaxed);
}

void	metrics_set_dns_source(metrics_dns_source get)
{
	atomic_store(&dns_source, get);
}

void	metrics_set_report_source(metrics_report_source get)
{
	atomic_store(&report_source, get);
}

/* ---- the exposition text ----------------------------------------------------------------- */

/* Each render_*() appends its series to out and returns 0 as soon as memory runs out. */

static int header(struct buffer *out, const char *name, const char *type, const char *help)
{
	return buffer_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int render_messages(struct buffer *out)
{
	int	ok = header(out, "signet_messages_total", "counter",
	    "Messages finished, by direction and verdict.");

	for (int d = 0; d < METRICS_DIRECTION_COUNT; d++)
		for (int v = 0; v < METRICS_VERDICT_COUNT; v++) {
			unsigned long n = peek(&messages[d][v]);

			if (n > 0 || verdict_expected[d][v])
				ok = ok && buffer_printf(out, "signet_messages_total{direction="
				    "\"%s\",verdict=\"%s\"} %lu\n", direction_label[d],
				    verdict_label[v], n);
		}
	return ok;
}

static int render_signatures(struct buffer *out)
{
	int	ok = header(out, "signet_signatures_total", "counter",
	    "DKIM signatures made, by algorithm.");

	for (int a = 0; a < METRICS_ALG_COUNT; a++)
		ok = ok && buffer_printf(out, "signet_signatures_total{algorithm=\"%s\"} %lu\n",
		    algorithm_label[a], peek(&signatures[a]));
	return ok;
}

static int render_errors(struct buffer *out)
{
	int	ok = header(out, "signet_errors_total", "counter", "Errors, by kind.");

	for (int k = 0; k < METRICS_ERROR_COUNT; k++)
		ok = ok && buffer_printf(out, "signet_errors_total{kind=\"%s\"} %lu\n",
		    error_label[k], peek(&errors[k]));
	return ok;
}

static int render_submissions(struct buffer *out)
{
	int	ok = header(out, "signet_submissions_total", "counter",
	    "Authenticated submissions finished, by verdict.");

	for (int v = 0; v < METRICS_SUBMISSION_COUNT; v++)
		ok = ok && buffer_printf(out, "signet_submissions_total{verdict=\"%s\"} %lu\n",
		    submission_label[v], peek(&submissions[v]));
	ok = ok && header(out, "signet_rate_limit_trips_total", "counter",
	    "Recipients or messages refused over a rate limit, by limit.");
	for (int l = 0; l < METRICS_RATE_LIMITS; l++)
		ok = ok && buffer_printf(out, "signet_rate_limit_trips_total{limit=\"%s\"} %lu\n",
		    limit_label[l], peek(&rate_trips[l]));
	for (int e = 0; e < METRICS_EVENT_COUNT; e++)
		ok = ok && header(out, event_series[e].name, "counter", event_series[e].help) &&
		    buffer_printf(out, "%s %lu\n", event_series[e].name, peek(&events[e]));
	return ok;
}

/* DMARC failure reports (issue 19), every outcome at zero too. */
static int render_failure_reports(struct buffer *out)
{
	int	ok = header(out, "signet_dmarc_failure_reports_total", "counter",
	    "DMARC failure reports, by outcome per destination (queue_full: per report).");

	for (int o = 0; o < METRICS_FAILREPORT_COUNT; o++)
		ok = ok && buffer_printf(out,
		    "signet_dmarc_failure_reports_total{outcome=\"%s\"} %lu\n",
		    failreport_label[o], peek(&failreports[o]));
	return ok;
}

/* ARC (issue 20), every label at zero too. */
static int render_arc(struct buffer *out)
{
	int	ok = header(out, "signet_arc_chains_total", "counter",
	    "ARC chains of inbound messages, by validation result (arc=).");

	for (int r = 0; r < METRICS_ARC_RESULT_COUNT; r++)
		ok = ok && buffer_printf(out, "signet_arc_chains_total{result=\"%s\"} %lu\n",
		    arc_label[r], peek(&arc_chains[r]));
	ok = ok && header(out, "signet_arc_seals_total", "counter",
	    "ARC sets sealed by this host (ARCSeal), by the cv= they carry.");
	for (int r = 0; r < METRICS_ARC_RESULT_COUNT; r++)
		ok = ok && buffer_printf(out, "signet_arc_seals_total{cv=\"%s\"} %lu\n",
		    arc_label[r], peek(&arc_seals[r]));
	return ok && header(out, "signet_arc_dmarc_overrides_total", "counter",
	    "Messages failing DMARC whose policy was not enforced because a trusted ARC sealer "
	    "vouched for them.") &&
	    buffer_printf(out, "signet_arc_dmarc_overrides_total %lu\n", peek(&arc_overrides));
}

static int render_duration(struct buffer *out)
{
	const char *name = "signet_message_duration_seconds";
	unsigned long cumulative = 0;
	uint64_t sum = atomic_load_explicit(&duration_sum_ns, memory_order_relaxed);
	int	ok = header(out, name, "histogram",
	    "Time from MAIL FROM to the verdict of a message.");

	for (size_t i = 0; i <= BUCKET_COUNT; i++) {
		cumulative += peek(&duration_bucket[i]);
		ok = ok && buffer_printf(out, "%s_bucket{le=\"%s\"} %lu\n", name,
		    i < BUCKET_COUNT ? buckets[i].text : "+Inf", cumulative);
	}
	return ok && buffer_printf(out, "%s_sum %llu.%09llu\n%s_count %lu\n", name,
	    (unsigned long long)(sum / 1000000000u), (unsigned long long)(sum % 1000000000u),
	    name, cumulative);
}

static int render_dns(struct buffer *out)
{
	metrics_dns_source get = atomic_load(&dns_source);
	struct dns_stats st = {0};
	int	ok = 1;

	if (get == NULL)
		return 1;
	get(&st);
	const struct {
		const char *name, *help;
		unsigned long value;
	} series[] = {
		{"signet_dns_queries_total", "DNS queries asked of the resolver.", st.queries},
		{"signet_dns_cache_hits_total", "DNS queries answered from the cache.",
		 st.cache_hits},
		{"signet_dns_timeouts_total", "DNS queries that timed out.", st.timeouts},
		{"signet_dns_failures_total", "DNS queries that failed (SERVFAIL, network).",
		 st.failures},
	};

	for (size_t i = 0; i < sizeof(series) / sizeof(series[0]) && ok; i++)
		ok = header(out, series[i].name, "counter", series[i].help) &&
		    buffer_printf(out, "%s %lu\n", series[i].name, series[i].value);
	return ok;
}

/* DMARC aggregate reports (issue 19): the collector's counters, and the store's figures
 * as read at its last flush. */
static int render_reports(struct buffer *out)
{
	static const char *const state_label[METRICS_DELIVERY_STATES] = {
		"none", "sending", "sent", "tempfail", "skipped",
	};
	metrics_report_source get = atomic_load(&report_source);
	struct metrics_reports r;
	int	ok = 1;

	if (get == NULL)
		return 1;
	get(&r);
	const struct {
		const char *name, *type, *help;
		unsigned long value;
	} series[] = {
		{"signet_dmarc_report_messages_total", "counter",
		 "Inbound messages counted for DMARC aggregate reports.", r.messages},
		{"signet_dmarc_report_dropped_total", "counter",
		 "Messages not counted: ReportMemoryRows distinct rows were waiting.", r.dropped},
		{"signet_dmarc_report_store_errors_total", "counter",
		 "Flushes to ReportStore that failed (the counts stay in memory).", r.store_errors},
		{"signet_dmarc_report_flushes_total", "counter",
		 "Flushes that wrote counts to ReportStore.", r.flushes},
		{"signet_dmarc_report_rows_in_memory", "gauge",
		 "Distinct report rows counted and not yet in ReportStore.", r.rows_in_memory},
		{"signet_dmarc_report_store_up", "gauge",
		 "1 when the last flush reached ReportStore.", (unsigned long)r.store_up},
	};

	for (size_t i = 0; i < sizeof(series) / sizeof(series[0]) && ok; i++)
		ok = header(out, series[i].name, series[i].type, series[i].help) &&
		    buffer_printf(out, "%s %lu\n", series[i].name, series[i].value);
	if (!r.have_store_stats)
		return ok;
	ok = ok && header(out, "signet_dmarc_reports_pending", "gauge",
	    "Reports in ReportStore that signet-reports has not finished with.") &&
	    buffer_printf(out, "signet_dmarc_reports_pending %lu\n", r.reports_pending) &&
	    header(out, "signet_dmarc_reports_made", "gauge",
	    "Reports in ReportStore that signet-reports has made.") &&
	    buffer_printf(out, "signet_dmarc_reports_made %lu\n", r.reports_made) &&
	    header(out, "signet_dmarc_report_deliveries", "gauge",
	    "Report deliveries in ReportStore, by state.");
	for (size_t s = 0; s < METRICS_DELIVERY_STATES && ok; s++)
		ok = buffer_printf(out, "signet_dmarc_report_deliveries{state=\"%s\"} %lu\n",
		    state_label[s], r.deliveries[s]);
	return ok;
}

static int render_process(struct buffer *out, long long start_time)
{
	return header(out, "signet_build_info", "gauge",
	    "Always 1; the version is in the label.") &&
	    buffer_printf(out, "signet_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION) &&
	    header(out, "process_start_time_seconds", "gauge",
	    "Start time of the process since the Unix epoch, in seconds.") &&
	    buffer_printf(out, "process_start_time_seconds %lld\n", start_time);
}

/* The whole exposition appended to out; 0 when memory ran out (out is then partial). */
static int render(struct buffer *out, long long start_time)
{
	return render_messages(out) && render_signatures(out) && render_errors(out) &&
	    render_submissions(out) &&
	    render_duration(out) && render_dns(out) && render_reports(out) &&
	    render_failure_reports(out) && render_arc(out) &&
	    render_process(out, start_time);
}

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
		ok = render(&body, sv->start_time);
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
