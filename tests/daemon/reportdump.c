/*
 * NAME
 *	reportdump - print every report of a ReportStore, row by row, for the tests
 * SYNOPSIS
 *	tests/daemon/reportdump SPEC
 * DESCRIPTION
 *	Opens SPEC (sqlite:PATH, redis://HOST:PORT/DB) with lib/reportstore and prints,
 *	for each report (reportstore_list()), one line
 *	    P TAB begin TAB domain TAB policy-text
 *	and for each of its rows (reportstore_read()) one line
 *	    R TAB begin TAB domain TAB count TAB row-text
 *	The texts are as reportrow.h encodes them (TAB-separated, %XX-escaped), so
 *	tests/daemon/reports.py reads them whatever the store.  Never installed.
 * DIAGNOSTICS
 *	Exit status 0, or 1 with one line on stderr.
 */
#include <stdio.h>

#include "lib/reportstore.h"

struct dump {
	struct reportstore *store;
	const struct reportstore_report *report;
	int	failed;
	char	err[512];
};

static int print_row(void *ctx, const char *row, unsigned long count)
{
	const struct dump *d = ctx;

	printf("R\t%lld\t%s\t%lu\t%s\n", d->report->begin, d->report->domain, count, row);
	return 1;
}

static int print_report(void *ctx, const struct reportstore_report *report)
{
	struct dump *d = ctx;
	static char policy[16384];

	d->report = report;
	if (!reportstore_read(d->store, report->begin, report->domain, policy, sizeof(policy),
	    print_row, d, d->err, sizeof(d->err))) {
		d->failed = 1;
		return 0;
	}
	printf("P\t%lld\t%s\t%s\n", report->begin, report->domain, policy);
	return 1;
}

int	main(int argc, char **argv)
{
	struct dump d = {0};

	if (argc != 2) {
		fprintf(stderr, "usage: reportdump SPEC\n");
		return 1;
	}
	if ((d.store = reportstore_open(argv[1], d.err, sizeof(d.err))) == NULL ||
	    !reportstore_list(d.store, print_report, &d, d.err, sizeof(d.err)) || d.failed) {
		fprintf(stderr, "reportdump: %s\n", d.err);
		if (d.store != NULL)
			reportstore_close(d.store);
		return 1;
	}
	reportstore_close(d.store);
	return fflush(stdout) == 0 ? 0 : 1;
}
