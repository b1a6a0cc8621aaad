/*
 * NAME
 *	report-expire.c - signet-reports expire: drop the reports that are done and old
 * SYNOPSIS
 *	signet-reports [-c FILE] expire [--now TIME]
 * DESCRIPTION
 *	A report is dropped (counters, policy, deliveries) when it is done - sent to every
 *	destination, or skipped - and ReportKeep has passed since its day ended: begin +
 *	one day + ReportKeep <= now.  A report not done is never dropped, however old:
 *	its counts have not reached anyone yet.  Prints "expired N" on stdout.
 * DIAGNOSTICS
 *	The store's error, exit status 1.
 * SEE ALSO
 *	signet-reports(8), reportstore.h (reportstore_expire)
 */
#include <stdio.h>

#include "reports/reporttool.h"

int
reporttool_cmd_expire(struct reporttool *rt)
{
	struct reportstore *store;
	long long before;
	size_t dropped = 0;
	char err[512];

	if ((store = reporttool_store(rt)) == NULL)
		return REPORTTOOL_FAIL;
	/* begin + PERIOD + keep <= now  <=>  begin < now - keep - PERIOD + 1 */
	before = rt->now - rt->conf->report_keep - REPORT_PERIOD + 1;
	if (!reportstore_expire(store, before, &dropped, err, sizeof(err)))
		return reporttool_fail("%s", err);
	printf("expired %zu\n", dropped);
	return REPORTTOOL_OK;
}
