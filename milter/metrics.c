/*
 * NAME
 *	metrics.c - Prometheus metrics: lock-free counters and their exposition text
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
 *	metrics_render() writes the exposition in the text format 0.0.4; metricshttp.c
 *	serves it.
 * SEE ALSO
 *	https://prometheus.io/docs/instrumenting/exposition_formats/ (text format 0.0.4)
 */
#include <stdatomic.h>
#include <stdint.h>

#include "config.h"
#include "lib/buffer.h"
#include "milter/metrics.h"

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

int	metrics_render(struct buffer *out, long long start_time)
{
	return render_messages(out) && render_signatures(out) && render_errors(out) &&
	    render_submissions(out) &&
	    render_duration(out) && render_dns(out) && render_reports(out) &&
	    render_failure_reports(out) && render_arc(out) &&
	    render_process(out, start_time);
}
