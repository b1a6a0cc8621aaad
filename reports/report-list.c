/*
 * NAME
 *	report-list.c - signet-reports list: the reports in the store, one line each
 * SYNOPSIS
 *	signet-reports [-c FILE] list [--all] [--now TIME]
 * DESCRIPTION
 *	Prints a header line, then one line per report, oldest day first, then by domain:
 *
 *	    # day begin domain messages rows state
 *	    2026-12-05 1796428800 example.com 12 4 ended
 *
 *	Fields are separated by one space and never hold one: state is "open" (the day has
 *	not ended at --now), "ended" (ready to make and send) or "done" (sent or skipped;
 *	expire drops it ReportKeep later).  Without --all the done ones are not listed.
 *	A domain came from mail, so bytes outside printable ASCII are printed as '?'.
 * DIAGNOSTICS
 *	The store's error, exit status 1.
 * SEE ALSO
 *	signet-reports(8), reportstore.h
 */
#include <stdio.h>

#include "lib/printable.h"
#include "reports/reporttool.h"

struct list_walk {
	const struct reporttool *rt;
};

static const char *
report_state(const struct reportstore_report *r, long long now)
{
	if (r->done != 0)
		return "done";
	return report_period_ended(r->begin, now) ? "ended" : "open";
}

static int
print_report(void *ctx, const struct reportstore_report *r)
{
	const struct list_walk *w = ctx;
	char day[16], domain[sizeof(r->domain)];

	if (r->done != 0 && !w->rt->all)
		return 1;
	reporttool_day(r->begin, day, sizeof(day));
	printable_copy(domain, sizeof(domain), r->domain, " ");
	printf("%s %lld %s %lu %zu %s\n", day, r->begin, domain, r->messages, r->rows,
	    report_state(r, w->rt->now));
	return 1;
}

int
reporttool_cmd_list(struct reporttool *rt)
{
	struct reportstore *store;
	struct list_walk w = { rt };
	char err[512];

	if ((store = reporttool_store(rt)) == NULL)
		return REPORTTOOL_FAIL;
	printf("# day begin domain messages rows state\n");
	if (!reportstore_list(store, print_report, &w, err, sizeof(err)))
		return reporttool_fail("%s", err);
	return REPORTTOOL_OK;
}
