/*
 * NAME
 *	reportcollect.h - the daemon's counts for DMARC aggregate reports, in memory and
 *	flushed to ReportStore by a thread of their own
 * SYNOPSIS
 *	#include "milter/reportcollect.h"
 *
 *	reportcollect_start(conf, err, sizeof(err));	at start-up, as UserID
 *	reportcollect_count(&row, &policy, now);	from any milter thread
 *	reportcollect_reload(conf);			SIGHUP (NULL: flush only)
 *	reportcollect_stop();				at exit, messages finished
 * DESCRIPTION
 *	One collector per process.  reportcollect_count() adds one message to the counter
 *	of (UTC day of now, policy->domain, row) and keeps policy as the latest one seen
 *	for (day, domain); it takes one mutex for a few hash-table operations and never
 *	waits for the store.  At most ReportMemoryRows distinct rows wait in memory; a
 *	message that needs a new row past that is not counted (a metric, and one log line
 *	per episode).
 *
 *	A flusher thread writes everything counted to ReportStore every
 *	ReportFlushInterval seconds with reportstore_add(), all or nothing: when the store
 *	is away the counts stay in memory and go with a later flush, never twice.  The log
 *	says when the store goes away and when it is back.  reportcollect_reload() flushes
 *	at once and waits for it (up to 30 s); when ReportStore, ReportFlushInterval or
 *	ReportMemoryRows changed it then switches to the new ones, so the counts of the
 *	old configuration go to the old store.  reportcollect_stop() flushes one last time
 *	and joins the thread.
 *
 *	reportcollect_flush() asks for a flush and waits for it (tests, SIGHUP); 1 when
 *	nothing is left in memory afterwards.
 * DIAGNOSTICS
 *	reportcollect_start() returns 0 with one sentence in err when the thread cannot
 *	start (memory, threads).  A store that cannot be opened is not an error here: the
 *	counts wait for it and the log says so.
 * SEE ALSO
 *	reportrow.h, reportstore.h, reportmsg.h, signet(8) "DMARC reports"
 */
#ifndef SIGNET_REPORTCOLLECT_H
#define SIGNET_REPORTCOLLECT_H

#include <stddef.h>

#include "conf/conf.h"
#include "lib/reportrow.h"
#include "lib/reportstore.h"
#include "milter/metrics.h"

int	reportcollect_start(const struct conf *conf, char *err, size_t errlen);
void	reportcollect_count(const struct report_row *row, const struct report_policy *policy,
	    long long now);
int	reportcollect_flush(void);
void	reportcollect_reload(const struct conf *conf);
void	reportcollect_stop(void);
/* For the metrics thread (metrics_set_report_source()). */
void	reportcollect_metrics(struct metrics_reports *out);

/*
 * Test seam (tests/unit/test-reportcollect.c): the store functions the flusher calls,
 * NULL for reportstore.h's.  Set before reportcollect_start().
 */
struct reportcollect_store_ops {
	struct reportstore *(*open)(const char *spec, char *err, size_t errlen);
	void	(*close)(struct reportstore *store);
	int	(*add)(struct reportstore *store, const struct reportstore_count *counts,
		    size_t n, char *err, size_t errlen);
	int	(*stats)(struct reportstore *store, struct reportstore_stats *out, char *err,
		    size_t errlen);
};

void	reportcollect_set_store_ops(const struct reportcollect_store_ops *ops);

#endif
