/*
 * NAME
 *	metrics.h - Prometheus metrics: lock-free counters, served over HTTP by one thread
 * SYNOPSIS
 *	#include "milter/metrics.h"
 *
 *	metrics_start("127.0.0.1:9795", err, sizeof(err));	   at start-up
 *	metrics_message(METRICS_OUTBOUND, METRICS_VERDICT_SIGNED);  from any thread
 *	metrics_stop();						   at exit
 * DESCRIPTION
 *	The counting functions cost one relaxed atomic add each and may be called from any
 *	thread at any time, before metrics_start() too (counting then simply goes unseen).
 *	Every label value comes from the fixed tables in metrics.c, never from a message; a
 *	value outside an enumeration is ignored.
 *
 *	metrics_start() binds PORT (a bare port: 127.0.0.1 only), HOST:PORT (IPv4
 *	"127.0.0.1:9795", IPv6 "[::1]:9795", or a name that resolves to one of them) and
 *	starts one thread answering "GET /metrics", and nothing else, in the Prometheus text
 *	format 0.0.4.  Call it once, after the daemon has forked into the
 *	background (a thread does not survive fork()) and before it drops privileges (so a
 *	port below 1024 can be bound); the socket stays open after the drop.
 *	metrics_stop() stops and joins the thread; call it before the DNS source goes away.
 *	It does nothing when the server was never started.
 * DIAGNOSTICS
 *	metrics_start() returns 0 with one sentence in err when the address is malformed,
 *	cannot be bound, or the thread cannot start; 1 on success.
 */
#ifndef SIGNET_METRICS_H
#define SIGNET_METRICS_H

#include <stddef.h>

#include "lib/dns.h"

enum metrics_direction {
	METRICS_INBOUND,
	METRICS_OUTBOUND,
	METRICS_DIRECTION_COUNT
};

/* Outbound messages end signed, unsigned (no key for the domain, not ours to sign) or in
 * error; inbound ones accepted, quarantined, rejected, tempfailed or in error. */
enum metrics_verdict {
	METRICS_VERDICT_SIGNED,
	METRICS_VERDICT_UNSIGNED,
	METRICS_VERDICT_ACCEPT,
	METRICS_VERDICT_QUARANTINE,
	METRICS_VERDICT_REJECT,
	METRICS_VERDICT_TEMPFAIL,
	METRICS_VERDICT_ERROR,
	METRICS_VERDICT_COUNT
};

enum metrics_algorithm {
	METRICS_ALG_RSA_SHA256,
	METRICS_ALG_ED25519_SHA256,
	METRICS_ALG_COUNT
};

enum metrics_error {
	METRICS_ERROR_INTERNAL,		/* whatever OnInternalError handles */
	METRICS_ERROR_DNS,		/* DNS trouble that decided a message's fate */
	METRICS_ERROR_CONFIG_RELOAD,	/* a reload that failed; the old config still serves */
	METRICS_ERROR_MTA,		/* the MTA refused a header change or a quarantine */
	METRICS_ERROR_COUNT
};

/* Authenticated submissions (issue 18), by verdict; never by user. */
enum metrics_submission {
	METRICS_SUBMISSION_SIGNED,
	METRICS_SUBMISSION_UNSIGNED,		/* no key, no usable From, an error */
	METRICS_SUBMISSION_UNAUTHORIZED,	/* not signed: unauthorized From */
	METRICS_SUBMISSION_REJECTED,		/* SenderMismatch reject */
	METRICS_SUBMISSION_RATE_LIMITED,	/* a message limit, or every recipient refused */
	METRICS_SUBMISSION_TEMPFAILED,		/* the store down under RateLimitStoreDown tempfail */
	METRICS_SUBMISSION_COUNT
};

enum metrics_event {
	METRICS_EVENT_UNAUTHORIZED_FROM,
	METRICS_EVENT_AUTH_WITHOUT_TLS,
	METRICS_EVENT_NEW_CLIENT_NETWORK,
	METRICS_EVENT_RATE_STORE_ERROR,
	METRICS_EVENT_COUNT
};

/* DMARC failure reports (failreport.h), by what became of each report and destination. */
enum metrics_failreport {
	METRICS_FAILREPORT_SENT,
	METRICS_FAILREPORT_RATE_LIMITED,	/* FailureReportRate reached */
	METRICS_FAILREPORT_QUEUE_FULL,		/* dropped before any destination was tried */
	METRICS_FAILREPORT_UNAUTHORIZED,	/* external destination not authorized */
	METRICS_FAILREPORT_TOO_LARGE,		/* over the destination's !size */
	METRICS_FAILREPORT_SEND_ERROR,		/* ReportSendmail failed */
	METRICS_FAILREPORT_COUNT
};

/* ARC (issue 20): chains of inbound mail by result, seals we made by cv=. */
enum metrics_arc_result {
	METRICS_ARC_NONE,
	METRICS_ARC_PASS,
	METRICS_ARC_FAIL,
	METRICS_ARC_RESULT_COUNT
};

#define METRICS_RATE_LIMITS	5	/* enum rate_limit in ratelimit.h, in its order */

/* Fills out with the resolver's counters; called on the metrics thread at each scrape. */
typedef void (*metrics_dns_source)(struct dns_stats *out);

/* DMARC aggregate-report collection (reportcollect.h), read at each scrape. */
#define METRICS_DELIVERY_STATES	5	/* enum reportstore_delivery_state, in its order */
struct metrics_reports {
	unsigned long messages;		/* counted */
	unsigned long dropped;		/* not counted: ReportMemoryRows reached */
	unsigned long store_errors;	/* flushes (or opens) of ReportStore that failed */
	unsigned long flushes;		/* flushes that wrote to ReportStore */
	unsigned long rows_in_memory;	/* distinct rows waiting for a flush */
	int	store_up;		/* the last flush reached the store */
	int	have_store_stats;	/* the figures below were read from the store */
	unsigned long reports_pending;	/* not done by signet-reports */
	unsigned long reports_made;
	unsigned long deliveries[METRICS_DELIVERY_STATES];
};
typedef void (*metrics_report_source)(struct metrics_reports *out);

int	metrics_start(const char *listen, char *err, size_t errlen);
void	metrics_stop(void);
/* The port bound (useful with port 0, which picks a free one); 0 when not running. */
unsigned metrics_port(void);

void	metrics_message(enum metrics_direction dir, enum metrics_verdict verdict);
void	metrics_signature(enum metrics_algorithm alg);
void	metrics_error(enum metrics_error kind);
void	metrics_submission(enum metrics_submission verdict);
void	metrics_event(enum metrics_event event);
/* limit: enum rate_limit (msg/min, msg/hour, msg/day, rcpt/hour, rcpt/day). */
void	metrics_rate_trip(unsigned limit);
void	metrics_failreport(enum metrics_failreport outcome);
void	metrics_arc_chain(enum metrics_arc_result result);
/* A seal we added, with the cv= it carries (none, pass, fail). */
void	metrics_arc_seal(enum metrics_arc_result cv);
/* DMARC not enforced because a trusted sealer vouched for the message (ARCTrustedSealers). */
void	metrics_arc_override(void);
/* Wall time one message took, from MAIL FROM to its verdict. */
void	metrics_latency(double seconds);
/* NULL: no DNS series are exported. */
void	metrics_set_dns_source(metrics_dns_source get);
/* NULL: no signet_dmarc_report_* series are exported (DMARCReports never on). */
void	metrics_set_report_source(metrics_report_source get);

struct buffer;
/* The whole exposition appended to out (what GET /metrics answers); 0 when memory ran
 * out (out is then partial). */
int	metrics_render(struct buffer *out, long long start_time);

#endif
