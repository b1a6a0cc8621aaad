/*
 * NAME
 *	reporttool.c - helpers shared by the commands of signet-reports(8)
 * SYNOPSIS
 *	#include "lib/grow.h"
#include "reports/reporttool.h"
 * DESCRIPTION
 *	Messages, the store and the receiver's name opened or found once, and the times
 *	--now accepts.
 * DIAGNOSTICS
 *	"signet-reports: message" on stderr.
 * SEE ALSO
 *	reporttool.h, signet-reports.c
 */
#define _GNU_SOURCE		/* timegm(3) */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/grow.h"
#include "reports/reporttool.h"

#define EPOCH_DIGITS_MAX	12	/* up to the year 33658 */

static void
vmessage(const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs("signet-reports: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int
reporttool_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	return REPORTTOOL_FAIL;
}

void
reporttool_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
}

struct reportstore *
reporttool_store(struct reporttool *rt)
{
	char err[512];

	if (rt->store != NULL)
		return rt->store;
	if ((rt->store = reportstore_open(rt->conf->report_store, err, sizeof(err))) == NULL)
		reporttool_fail("%s", err);
	return rt->store;
}

const char *
reporttool_receiver(struct reporttool *rt)
{
	char err[512];

	if (rt->receiver[0] != '\0')
		return rt->receiver;
	if (!report_receiver(rt->conf, rt->receiver, sizeof(rt->receiver), err, sizeof(err))) {
		rt->receiver[0] = '\0';
		reporttool_fail("%s", err);
		return NULL;
	}
	return rt->receiver;
}

struct ended_walk {
	long long now;
	struct reportstore_report *reports;
	size_t	count, cap;
	int	nomem;
};

static int
collect_ended(void *ctx, const struct reportstore_report *report)
{
	struct ended_walk *w = ctx;
	struct reportstore_report *grown;

	if (!report_period_ended(report->begin, w->now))
		return 1;
	if ((grown = array_grow(w->reports, &w->cap, w->count + 1, sizeof(*grown))) == NULL) {
		w->nomem = 1;
		return 0;
	}
	w->reports = grown;
	w->reports[w->count++] = *report;
	return 1;
}

int
reporttool_ended(struct reporttool *rt, struct reportstore_report **out, size_t *n)
{
	struct ended_walk w = { .now = rt->now };
	struct reportstore *store;
	char err[512];
	int ok;

	*out = NULL;
	*n = 0;
	if ((store = reporttool_store(rt)) == NULL)
		return REPORTTOOL_FAIL;
	ok = reportstore_list(store, collect_ended, &w, err, sizeof(err));
	if (!ok || w.nomem) {
		free(w.reports);
		return reporttool_fail("%s", ok ? "out of memory listing the reports" : err);
	}
	*out = w.reports;
	*n = w.count;
	return REPORTTOOL_OK;
}

/* n decimal digits at s into *out; 0 when one is not a digit. */
static int
digits(const char *s, size_t n, long long *out)
{
	size_t i;

	*out = 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return 0;
		*out = *out * 10 + (s[i] - '0');
	}
	return 1;
}

static int
parse_epoch(const char *text, long long *out)
{
	size_t len = strlen(text);

	return len > 0 && len <= EPOCH_DIGITS_MAX && digits(text, len, out);
}

/* YYYY-MM-DD, optionally followed by THH:MM:SSZ. */
static int
parse_iso(const char *text, long long *out)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	size_t len = strlen(text);
	long long y, mon, d, h = 0, min = 0, sec = 0;
	int leap;
	struct tm tm;

	if (len != 10 && len != 20)
		return 0;
	if (!digits(text, 4, &y) || text[4] != '-' || !digits(text + 5, 2, &mon)
	    || text[7] != '-' || !digits(text + 8, 2, &d))
		return 0;
	if (len == 20 && (text[10] != 'T' || !digits(text + 11, 2, &h) || text[13] != ':'
	    || !digits(text + 14, 2, &min) || text[16] != ':' || !digits(text + 17, 2, &sec)
	    || text[19] != 'Z'))
		return 0;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1970 || mon < 1 || mon > 12 || d < 1 || d > mdays[mon - 1]
	    || (mon == 2 && d == 29 && !leap) || h > 23 || min > 59 || sec > 59)
		return 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (int)y - 1900;
	tm.tm_mon = (int)mon - 1;
	tm.tm_mday = (int)d;
	tm.tm_hour = (int)h;
	tm.tm_min = (int)min;
	tm.tm_sec = (int)sec;
	*out = (long long)timegm(&tm);
	return 1;
}

int
reporttool_parse_time(const char *text, long long *out)
{
	return parse_epoch(text, out) || parse_iso(text, out);
}

void
reporttool_day(long long t, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		snprintf(out, size, "%lld", t);
	else
		snprintf(out, size, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1,
		    tm.tm_mday);
}
