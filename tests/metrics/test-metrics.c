/*
 * NAME
 *	test-metrics - the metrics counters and their HTTP server, checked with a real client
 * SYNOPSIS
 *	tests/metrics/test-metrics	(needs curl(1) on PATH)
 * DESCRIPTION
 *	Starts the server on 127.0.0.1 with a free port, counts from several threads at once
 *	(scraping meanwhile), then fetches /metrics with curl and checks the exact values,
 *	the histogram's consistency, the content type, and that nothing but GET /metrics is
 *	served (404, 405).  Raw sockets check what curl will not send: garbage, an over-long
 *	request head, HTTP/1.0, silent clients that must not hold up a following curl for
 *	longer than the 5 s request deadline, even when they take every connection slot, a
 *	client that sends its request one byte at a time (dropped at the deadline), and one
 *	that never reads its reply.  A bare port binds 127.0.0.1 only.  Ends with
 *	metrics_stop() (run under ASan, a leak fails the test) and a restart.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "config.h"
#include "milter/metrics.h"
#include "tests/unit/tap.h"

#define THREADS		4
#define ROUNDS		20000	/* per thread; a multiple of 4 */
#define TOTAL		((unsigned long)THREADS * ROUNDS)

static unsigned port;

/* ---- helpers ----------------------------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *read_all(FILE *in)
{
	size_t	len = 0, cap = 4096;
	char   *buf = malloc(cap);
	size_t	n;

	if (buf == NULL)
		return NULL;
	while ((n = fread(buf + len, 1, cap - len - 1, in)) > 0) {
		len += n;
		if (cap - len - 1 == 0) {
			char   *bigger = realloc(buf, cap * 2);

			if (bigger == NULL)
				break;
			buf = bigger;
			cap *= 2;
		}
	}
	buf[len] = '\0';
	return buf;
}

/* curl's whole output (-i: status line and headers, then the body); caller frees. */
static char *curl(const char *options, const char *path, int *exit_status)
{
	char	cmd[512];
	FILE   *p;
	char   *out;

	snprintf(cmd, sizeof(cmd), "curl -sS -i --max-time 20 %s 'http://127.0.0.1:%u%s' 2>&1",
	    options, port, path);
	if ((p = popen(cmd, "r")) == NULL)
		return NULL;
	out = read_all(p);
	*exit_status = pclose(p);
	return out;
}

static int status_of(const char *reply)
{
	int	status = 0;

	if (reply == NULL || sscanf(reply, "HTTP/1.%*d %d", &status) != 1)
		return 0;
	return status;
}

static const char *body_of(const char *reply)
{
	const char *end = reply ? strstr(reply, "\r\n\r\n") : NULL;

	return end ? end + 4 : "";
}

/* The value of a header field in reply ("" when absent), in buf. */
static const char *header_of(const char *reply, const char *name, char *buf, size_t size)
{
	const char *body = body_of(reply);
	size_t	nlen = strlen(name);

	buf[0] = '\0';
	for (const char *line = reply; line && line < body; line = strstr(line, "\r\n")) {
		if (*line == '\r')
			line += 2;
		if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
			const char *v = line + nlen + 1;
			size_t	vlen = strcspn(v, "\r");

			while (*v == ' ' && vlen > 0)
				v++, vlen--;
			snprintf(buf, size, "%.*s", (int)vlen, v);
			break;
		}
	}
	return buf;
}

/* The value of the series "name{labels}" in an exposition; NAN when absent. */
static double value_of(const char *text, const char *series)
{
	size_t	len = strlen(series);

	for (const char *line = text; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (strncmp(line, series, len) == 0 && line[len] == ' ')
			return strtod(line + len + 1, NULL);
	}
	return NAN;
}

/* A connection to ip:port, or -1. */
static int connect_to(const char *ip)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct timeval tv = {.tv_sec = 10};
	int	fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, ip, &sin.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static int connect_port(void)
{
	return connect_to("127.0.0.1");
}

/* Sends data on a fresh connection and returns all the server wrote back; caller frees. */
static char *raw(const char *data, size_t len)
{
	int	fd = connect_port();
	size_t	got = 0, cap = 65536;
	char   *buf;
	ssize_t	n;

	if (fd < 0 || (buf = malloc(cap)) == NULL) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (send(fd, data, len, MSG_NOSIGNAL) != (ssize_t)len)
		buf[0] = '\0';
	while (got + 1 < cap && (n = recv(fd, buf + got, cap - got - 1, 0)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
	return buf;
}

/* ---- the counting threads ---------------------------------------------------------------- */

static const double latencies[4] = {0.0005, 0.003, 0.7, 20};

static void *count_away(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		metrics_message(METRICS_OUTBOUND, METRICS_VERDICT_SIGNED);
		metrics_message(i % 2 ? METRICS_INBOUND : METRICS_OUTBOUND, METRICS_VERDICT_ERROR);
		metrics_signature(i % 2 ? METRICS_ALG_ED25519_SHA256 : METRICS_ALG_RSA_SHA256);
		metrics_error(METRICS_ERROR_DNS);
		metrics_latency(latencies[i % 4]);
	}
	return NULL;
}

/* Counts until told to stop, so that scrapes happen while counters move. */
static atomic_int stop_counting;

static void *count_until_stopped(void *arg)
{
	unsigned long *done = arg;

	while (!atomic_load(&stop_counting)) {
		metrics_message(METRICS_INBOUND, METRICS_VERDICT_ACCEPT);
		metrics_latency(0.05);
		(*done)++;
	}
	return NULL;
}

static void fake_dns(struct dns_stats *out)
{
	*out = (struct dns_stats){.queries = 7, .cache_hits = 3, .timeouts = 2, .failures = 1};
}

/* ---- checks ------------------------------------------------------------------------------ */

static const char *const le[] = {"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
	"0.25", "0.5", "1", "2.5", "5", "10", "+Inf"};
#define LE_COUNT (sizeof(le) / sizeof(le[0]))

static double bucket(const char *text, const char *bound)
{
	char	series[96];

	snprintf(series, sizeof(series), "signet_message_duration_seconds_bucket{le=\"%s\"}",
	    bound);
	return value_of(text, series);
}

static void histogram_is_consistent(const char *text, const char *when)
{
	double	prev = 0, count = value_of(text, "signet_message_duration_seconds_count");
	int	ok = 1;

	for (size_t i = 0; i < LE_COUNT; i++) {
		double	b = bucket(text, le[i]);

		if (isnan(b) || b < prev) {
			printf("#   le=\"%s\": %.0f after %.0f\n", le[i], b, prev);
			ok = 0;
		}
		prev = b;
	}
	TAP_OK(ok, "histogram_buckets_present_and_non_decreasing (%s)", when);
	TAP_OK(prev == count, "histogram_inf_bucket_equals_count (%s): +Inf %.0f, _count %.0f",
	    when, prev, count);
}

static void starts_only_on_good_addresses(void)
{
	char	err[256] = "";

	TAP_OK(!metrics_start("nonsense", err, sizeof(err)), "start_refuses_address_without_port");
	TAP_OK(strstr(err, "nonsense") != NULL, "start_error_names_the_address: %s", err);
	TAP_OK(!metrics_start("[::1:80", err, sizeof(err)), "start_refuses_unclosed_bracket");
	TAP_OK(!metrics_start("192.0.2.300:80", err, sizeof(err)), "start_refuses_bad_ip: %s",
	    err);
	metrics_stop();		/* never started: must do nothing */
	err[0] = '\0';
	TAP_OK(metrics_start("127.0.0.1:0", err, sizeof(err)), "start_on_free_port: %s", err);
	port = metrics_port();
	TAP_OK(port > 0, "port_is_known: %u", port);
	TAP_OK(!metrics_start("127.0.0.1:0", err, sizeof(err)), "second_start_refused: %s", err);
}

static unsigned long concurrent;		/* messages counted by count_until_stopped() */

static void consistent_while_counting(void)
{
	pthread_t t[THREADS];
	unsigned long done[THREADS] = {0};
	double	last = -1;
	int	rc, rising = 1;

	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, count_until_stopped, &done[i]);
	for (int scrape = 0; scrape < 3; scrape++) {
		char   *r = curl("", "/metrics", &rc);
		const char *m = body_of(r);
		double	count = value_of(m, "signet_message_duration_seconds_count");
		char	when[32];

		snprintf(when, sizeof(when), "scrape %d while counting", scrape + 1);
		histogram_is_consistent(m, when);
		if (!(count > last))
			rising = 0;
		last = count;
		free(r);
	}
	atomic_store(&stop_counting, 1);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		concurrent += done[i];
	}
	TAP_OK(rising && concurrent > 0, "scrapes_saw_counters_move: %lu counted", concurrent);
}

static void counts_from_threads_exactly(void)
{
	pthread_t t[THREADS];
	int	rc;
	char   *after;

	metrics_message((enum metrics_direction)7, METRICS_VERDICT_SIGNED);
	metrics_message(METRICS_INBOUND, (enum metrics_verdict)-1);
	metrics_signature((enum metrics_algorithm)99);
	metrics_error(METRICS_ERROR_COUNT);
	metrics_arc_chain(METRICS_ARC_PASS);
	metrics_arc_chain(METRICS_ARC_PASS);
	metrics_arc_chain(METRICS_ARC_FAIL);
	metrics_arc_chain(METRICS_ARC_RESULT_COUNT);
	metrics_arc_seal(METRICS_ARC_FAIL);
	metrics_arc_override();
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, count_away, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	after = curl("", "/metrics", &rc);
	const char *m = body_of(after);

	TAP_INT_EQ(rc, 0, "curl_succeeds");
	TAP_INT_EQ(status_of(after), 200, "metrics_status_200");
	TAP_INT_EQ(value_of(m, "signet_messages_total{direction=\"outbound\",verdict=\"signed\"}"),
	    TOTAL, "outbound_signed_counted_exactly");
	TAP_INT_EQ(value_of(m, "signet_messages_total{direction=\"outbound\",verdict=\"error\"}"),
	    TOTAL / 2, "outbound_error_counted_exactly");
	TAP_INT_EQ(value_of(m, "signet_messages_total{direction=\"inbound\",verdict=\"error\"}"),
	    TOTAL / 2, "inbound_error_counted_exactly");
	TAP_INT_EQ(value_of(m, "signet_messages_total{direction=\"inbound\",verdict=\"accept\"}"),
	    concurrent, "inbound_accept_counted_exactly_while_scraped");
	TAP_INT_EQ(value_of(m, "signet_messages_total{direction=\"inbound\",verdict=\"reject\"}"),
	    0, "expected_pair_exported_at_zero");
	TAP_OK(isnan(value_of(m, "signet_messages_total{direction=\"outbound\",verdict=\"reject\"}")),
	    "unexpected_pair_not_exported_at_zero");
	TAP_INT_EQ(value_of(m, "signet_signatures_total{algorithm=\"rsa-sha256\"}"), TOTAL / 2,
	    "rsa_signatures_counted");
	TAP_INT_EQ(value_of(m, "signet_signatures_total{algorithm=\"ed25519-sha256\"}"), TOTAL / 2,
	    "ed25519_signatures_counted");
	TAP_INT_EQ(value_of(m, "signet_errors_total{kind=\"dns\"}"), TOTAL, "dns_errors_counted");
	TAP_INT_EQ(value_of(m, "signet_errors_total{kind=\"internal\"}"), 0,
	    "out_of_range_values_ignored");
	histogram_is_consistent(m, "after counting");
	TAP_INT_EQ(bucket(m, "0.001"), TOTAL / 4, "bucket_0.001");
	TAP_INT_EQ(bucket(m, "0.0025"), TOTAL / 4, "bucket_0.0025");
	TAP_INT_EQ(bucket(m, "0.005"), TOTAL / 2, "bucket_0.005");
	TAP_INT_EQ(bucket(m, "0.05"), TOTAL / 2 + concurrent, "bucket_0.05");
	TAP_INT_EQ(bucket(m, "1"), TOTAL * 3 / 4 + concurrent, "bucket_1");
	TAP_INT_EQ(bucket(m, "10"), TOTAL * 3 / 4 + concurrent, "bucket_10_excludes_20s");
	TAP_INT_EQ(value_of(m, "signet_message_duration_seconds_count"), TOTAL + concurrent,
	    "histogram_count");
	double	sum = value_of(m, "signet_message_duration_seconds_sum");
	double	want = TOTAL / 4 * (0.0005 + 0.003 + 0.7 + 20) + concurrent * 0.05;

	TAP_OK(fabs(sum - want) < 1e-3, "histogram_sum: got %.9f want %.9f", sum, want);
	TAP_OK(isnan(value_of(m, "signet_dns_queries_total")), "no_dns_series_without_source");
	TAP_INT_EQ(value_of(m, "signet_arc_chains_total{result=\"pass\"}"), 2, "arc_pass_chains");
	TAP_INT_EQ(value_of(m, "signet_arc_chains_total{result=\"none\"}"), 0,
	    "arc_results_exported_at_zero");
	TAP_INT_EQ(value_of(m, "signet_arc_chains_total{result=\"fail\"}"), 1, "arc_fail_chains");
	TAP_INT_EQ(value_of(m, "signet_arc_seals_total{cv=\"fail\"}"), 1, "arc_seals_by_cv");
	TAP_INT_EQ(value_of(m, "signet_arc_dmarc_overrides_total"), 1, "arc_overrides_counted");
	free(after);
}

static void exports_dns_build_and_start_time(void)
{
	int	rc;
	char   *reply;
	const char *m;
	char	series[128];

	metrics_set_dns_source(fake_dns);
	reply = curl("", "/metrics", &rc);
	m = body_of(reply);
	TAP_INT_EQ(value_of(m, "signet_dns_queries_total"), 7, "dns_queries");
	TAP_INT_EQ(value_of(m, "signet_dns_cache_hits_total"), 3, "dns_cache_hits");
	TAP_INT_EQ(value_of(m, "signet_dns_timeouts_total"), 2, "dns_timeouts");
	TAP_INT_EQ(value_of(m, "signet_dns_failures_total"), 1, "dns_failures");
	snprintf(series, sizeof(series), "signet_build_info{version=\"%s\"}", PACKAGE_VERSION);
	TAP_INT_EQ(value_of(m, series), 1, "build_info_carries_version");
	double	start = value_of(m, "process_start_time_seconds");

	TAP_OK(fabs(start - (double)time(NULL)) < 120, "start_time_is_now: %.0f", start);

	static const char *const families[][2] = {
		{"signet_messages_total", "counter"}, {"signet_signatures_total", "counter"},
		{"signet_errors_total", "counter"},
		{"signet_message_duration_seconds", "histogram"},
		{"signet_dns_queries_total", "counter"}, {"signet_dns_cache_hits_total", "counter"},
		{"signet_dns_timeouts_total", "counter"}, {"signet_dns_failures_total", "counter"},
		{"signet_arc_chains_total", "counter"}, {"signet_arc_seals_total", "counter"},
		{"signet_arc_dmarc_overrides_total", "counter"},
		{"signet_build_info", "gauge"}, {"process_start_time_seconds", "gauge"},
	};
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		char	type[128], help[128];

		snprintf(type, sizeof(type), "\n# TYPE %s %s\n", families[i][0], families[i][1]);
		snprintf(help, sizeof(help), "# HELP %s ", families[i][0]);
		TAP_OK(strstr(m, type) != NULL && strstr(m, help) != NULL,
		    "help_and_type_for_%s", families[i][0]);
	}
	TAP_OK(m[0] != '\0' && m[strlen(m) - 1] == '\n', "exposition_ends_with_newline");
	free(reply);
	metrics_set_dns_source(NULL);
}

static int report_stats_known;

static void fake_reports(struct metrics_reports *out)
{
	*out = (struct metrics_reports){.messages = 41, .dropped = 2, .store_errors = 3,
	    .flushes = 5, .rows_in_memory = 9, .store_up = 1,
	    .have_store_stats = report_stats_known, .reports_pending = 4, .reports_made = 6,
	    .deliveries = {1, 0, 11, 2, 3}};
}

/* DMARC aggregate reports (issue 19): the collector's figures, and the store's only once
 * they were read. */
static void exports_dmarc_reports(void)
{
	int	rc;
	char   *reply = curl("", "/metrics", &rc);
	const char *m = body_of(reply);

	TAP_OK(isnan(value_of(m, "signet_dmarc_report_messages_total")),
	    "no_dmarc_report_series_without_source");
	free(reply);
	metrics_set_report_source(fake_reports);
	reply = curl("", "/metrics", &rc);
	m = body_of(reply);
	TAP_INT_EQ(value_of(m, "signet_dmarc_report_messages_total"), 41, "report_messages");
	TAP_INT_EQ(value_of(m, "signet_dmarc_report_dropped_total"), 2, "report_dropped");
	TAP_INT_EQ(value_of(m, "signet_dmarc_report_store_errors_total"), 3, "report_store_errors");
	TAP_INT_EQ(value_of(m, "signet_dmarc_report_flushes_total"), 5, "report_flushes");
	TAP_INT_EQ(value_of(m, "signet_dmarc_report_rows_in_memory"), 9, "report_rows_in_memory");
	TAP_INT_EQ(value_of(m, "signet_dmarc_report_store_up"), 1, "report_store_up");
	TAP_OK(isnan(value_of(m, "signet_dmarc_reports_pending")),
	    "no_store_figures_before_they_were_read");
	TAP_OK(strstr(m, "\n# TYPE signet_dmarc_report_rows_in_memory gauge\n") != NULL &&
	    strstr(m, "\n# TYPE signet_dmarc_report_flushes_total counter\n") != NULL,
	    "report_series_types");
	free(reply);
	report_stats_known = 1;
	reply = curl("", "/metrics", &rc);
	m = body_of(reply);
	TAP_INT_EQ(value_of(m, "signet_dmarc_reports_pending"), 4, "reports_pending");
	TAP_INT_EQ(value_of(m, "signet_dmarc_reports_made"), 6, "reports_made");
	TAP_INT_EQ(value_of(m, "signet_dmarc_report_deliveries{state=\"sent\"}"), 11,
	    "report_deliveries_sent");
	TAP_INT_EQ(value_of(m, "signet_dmarc_report_deliveries{state=\"skipped\"}"), 3,
	    "report_deliveries_skipped");
	free(reply);
	metrics_set_report_source(NULL);
}

static void answers_http(void)
{
	static const char head_req[] = "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	char	buf[256];
	int	rc;
	char   *r;

	r = curl("", "/metrics", &rc);
	TAP_STR_EQ(header_of(r, "Content-Type", buf, sizeof(buf)),
	    "text/plain; version=0.0.4; charset=utf-8", "content_type_is_prometheus_0.0.4");
	TAP_STR_EQ(header_of(r, "Connection", buf, sizeof(buf)), "close", "connection_close");
	TAP_INT_EQ(strtol(header_of(r, "Content-Length", buf, sizeof(buf)), NULL, 10),
	    strlen(body_of(r)), "content_length_matches_body");
	free(r);
	r = curl("", "/", &rc);
	TAP_INT_EQ(status_of(r), 404, "only_metrics_is_served_root_404");
	free(r);
	r = curl("", "/metrics?name[]=x", &rc);
	TAP_INT_EQ(status_of(r), 200, "query_string_ignored");
	free(r);
	r = curl("", "/nothing", &rc);
	TAP_INT_EQ(status_of(r), 404, "unknown_path_404");
	free(r);
	r = curl("", "/metricsx", &rc);
	TAP_INT_EQ(status_of(r), 404, "path_prefix_is_not_enough_404");
	free(r);
	r = curl("-X DELETE", "/metrics", &rc);
	TAP_INT_EQ(status_of(r), 405, "delete_405");
	TAP_STR_EQ(header_of(r, "Allow", buf, sizeof(buf)), "GET", "405_names_allowed");
	free(r);
	r = curl("-d x=1", "/metrics", &rc);
	TAP_INT_EQ(status_of(r), 405, "post_with_body_405: curl exit %d", rc);
	free(r);
	r = curl("-I", "/metrics", &rc);
	TAP_INT_EQ(status_of(r), 405, "head_405");
	TAP_STR_EQ(header_of(r, "Allow", buf, sizeof(buf)), "GET", "head_405_names_get");
	free(r);
	r = raw(head_req, strlen(head_req));
	TAP_OK(strstr(body_of(r), "signet_") == NULL, "head_gets_no_metrics");
	free(r);
}

static void survives_garbage(void)
{
	static const char junk[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\0\0\n\n";
	static const char *const bad[] = {
		"GET /metrics\r\n\r\n", "GET  /metrics HTTP/1.1\r\n\r\n",
		"GET /metrics HTTP/2.0\r\n\r\n", "get /metrics HTTP/1.1\r\n\r\n",
		"GET metrics HTTP/1.1\r\n\r\n", "\r\n\r\n", "GET /metrics HTTP/1.1 x\r\n\r\n",
		"GET /metrics HTTP/1.1 \r\n\r\n", "GET /metrics HTTP/1.10\r\n\r\n",
	};
	char   *r, *big;

	r = raw(junk, sizeof(junk) - 1);
	TAP_INT_EQ(status_of(r), 400, "binary_garbage_400");
	free(r);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = raw(bad[i], strlen(bad[i]));
		TAP_INT_EQ(status_of(r), 400, "malformed_request_line_%zu_400", i);
		free(r);
	}
	if ((big = malloc(9000)) != NULL) {
		memset(big, 'A', 9000);
		r = raw(big, 9000);
		TAP_INT_EQ(status_of(r), 431, "endless_request_head_431");
		free(r);
		free(big);
	}
	r = raw("GET /metrics HTTP/1.0\n\n", 23);
	TAP_INT_EQ(status_of(r), 200, "http_1.0_with_bare_newlines_200");
	TAP_OK(strstr(body_of(r), "signet_messages_total") != NULL, "http_1.0_gets_metrics");
	free(r);
}

static void silent_clients_do_not_block(void)
{
	int	fds[10], rc, opened = 0;
	double	t0;
	char   *r, byte;

	fds[0] = connect_port();
	t0 = now_s();
	r = curl("", "/metrics", &rc);
	TAP_INT_EQ(status_of(r), 200, "curl_served_beside_one_silent_client");
	TAP_OK(now_s() - t0 < 2, "not_delayed_by_one_silent_client: %.2f s", now_s() - t0);
	free(r);
	for (int i = 1; i < 10; i++)
		if ((fds[i] = connect_port()) >= 0)
			opened++;
	TAP_INT_EQ(opened, 9, "nine_more_silent_clients_connect");
	t0 = now_s();
	r = curl("", "/metrics", &rc);
	TAP_INT_EQ(status_of(r), 200, "curl_served_when_silent_clients_fill_every_slot");
	TAP_OK(now_s() - t0 < 7, "waited_no_longer_than_the_deadline: %.2f s", now_s() - t0);
	free(r);
	TAP_OK(recv(fds[0], &byte, 1, 0) == 0, "silent_client_dropped_at_deadline");
	for (int i = 0; i < 10; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Sends req one byte every 300 ms until the server closes the connection; the seconds
 * from connecting to the close (or -1), and in *answered whether any reply came. */
struct drip {
	double	closed_after;
	int	answered;
};

static void *drip_request(void *arg)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n";
	struct drip *d = arg;
	int	fd = connect_port();
	double	t0 = now_s();
	char	byte;

	d->closed_after = -1;
	d->answered = 0;
	if (fd < 0)
		return NULL;
	for (size_t i = 0; now_s() - t0 < 12; i++) {
		ssize_t	n = recv(fd, &byte, 1, MSG_DONTWAIT);

		if (n > 0)
			d->answered = 1;
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ||
		    (i < sizeof(req) - 1 && send(fd, req + i, 1, MSG_NOSIGNAL) != 1)) {
			d->closed_after = now_s() - t0;
			break;
		}
		nanosleep(&(struct timespec){.tv_nsec = 300000000}, NULL);
	}
	close(fd);
	return NULL;
}

static void slow_clients_are_dropped(void)
{
	static const char get_req[] = "GET /metrics HTTP/1.1\r\n\r\n";
	struct drip d;
	pthread_t t;
	int	rc, fd, small = 1;
	double	t0;
	char   *r;

	pthread_create(&t, NULL, drip_request, &d);
	nanosleep(&(struct timespec){.tv_nsec = 500000000}, NULL);
	t0 = now_s();
	r = curl("", "/metrics", &rc);
	TAP_INT_EQ(status_of(r), 200, "curl_served_beside_a_one_byte_at_a_time_client");
	TAP_OK(now_s() - t0 < 2, "not_delayed_by_the_slow_client: %.2f s", now_s() - t0);
	free(r);
	pthread_join(t, NULL);
	TAP_OK(d.closed_after > 4 && d.closed_after < 7,
	    "one_byte_at_a_time_client_dropped_at_the_deadline: after %.2f s", d.closed_after);
	TAP_OK(!d.answered, "slow_client_got_no_reply");

	/* A client that asks and never reads: its reply must not hold the server. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	close(fd);
	fd = connect_port();
	if (fd >= 0)
		send(fd, get_req, strlen(get_req), MSG_NOSIGNAL);
	t0 = now_s();
	r = curl("", "/metrics", &rc);
	TAP_INT_EQ(status_of(r), 200, "curl_served_beside_a_client_that_never_reads");
	TAP_OK(now_s() - t0 < 2, "not_delayed_by_the_client_that_never_reads: %.2f s",
	    now_s() - t0);
	free(r);
	if (fd >= 0)
		close(fd);
}

static void stops_and_restarts(void)
{
	char	err[256] = "";
	int	rc, fd;
	char   *r;

	fd = connect_port();		/* a connection open while stopping */
	metrics_stop();
	metrics_stop();
	TAP_INT_EQ(metrics_port(), 0, "no_port_after_stop");
	int	refused = connect_port();

	TAP_OK(refused < 0, "port_closed_after_stop");
	if (refused >= 0)
		close(refused);
	if (fd >= 0)
		close(fd);
	TAP_OK(metrics_start("[::1]:0", err, sizeof(err)) || strstr(err, "::1"),
	    "start_on_ipv6_or_say_why: %s", err);
	metrics_stop();
	err[0] = '\0';
	TAP_OK(metrics_start("127.0.0.1:0", err, sizeof(err)), "restart_after_stop: %s", err);
	port = metrics_port();
	r = curl("", "/metrics", &rc);
	TAP_INT_EQ(status_of(r), 200, "served_after_restart");
	free(r);
	metrics_stop();
}

/* A bare port means 127.0.0.1: reachable there, not on another address of the host
 * (127.0.0.2 stands for one: it is local, and not the address bound).  0.0.0.0 is the
 * control that shows the test can tell the difference. */
static void bare_port_binds_loopback_only(void)
{
	char	err[256] = "";
	int	rc, fd;
	char   *r;

	TAP_OK(metrics_start("0", err, sizeof(err)), "bare_port_accepted: %s", err);
	port = metrics_port();
	r = curl("", "/metrics", &rc);
	TAP_INT_EQ(status_of(r), 200, "bare_port_served_on_127.0.0.1");
	free(r);
	fd = connect_to("127.0.0.2");
	TAP_OK(fd < 0, "bare_port_not_reachable_on_another_address");
	if (fd >= 0)
		close(fd);
	metrics_stop();
	TAP_OK(metrics_start("0.0.0.0:0", err, sizeof(err)), "wildcard_start: %s", err);
	port = metrics_port();
	fd = connect_to("127.0.0.2");
	TAP_OK(fd >= 0, "wildcard_reachable_on_another_address (the control)");
	if (fd >= 0)
		close(fd);
	metrics_stop();
	TAP_OK(!metrics_start("65536", err, sizeof(err)), "bare_port_over_65535_refused: %s",
	    err);
	TAP_OK(!metrics_start("9x", err, sizeof(err)), "bare_port_not_a_number_refused");
	TAP_OK(!metrics_start(":9795", err, sizeof(err)), "empty_host_refused");
}

int	main(void)
{
	starts_only_on_good_addresses();
	consistent_while_counting();
	counts_from_threads_exactly();
	exports_dns_build_and_start_time();
	exports_dmarc_reports();
	answers_http();
	survives_garbage();
	silent_clients_do_not_block();
	slow_clients_are_dropped();
	stops_and_restarts();
	bare_port_binds_loopback_only();
	return tap_done();
}
