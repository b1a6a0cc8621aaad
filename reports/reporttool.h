/*
 * NAME
 *	reporttool.h - what the commands of signet-reports(8) share: the parsed command
 *	line, the configuration, the store, messages and times
 * SYNOPSIS
 *	#include "reports/reporttool.h"
 * DESCRIPTION
 *	signet-reports.c parses the command line into a struct reporttool, loads the
 *	configuration and calls one reporttool_cmd_*() function; each command lives in its
 *	own report-*.c file.  The helpers here print their own errors ("signet-reports:
 *	..." on stderr), so a command returns the exit status they give it.
 *
 *	Exit statuses: REPORTTOOL_OK (0), REPORTTOOL_FAIL (1), REPORTTOOL_USAGE (2).
 * DIAGNOSTICS
 *	"signet-reports: message" on stderr, naming the store, file or report at fault.
 * SEE ALSO
 *	signet-reports(8), reportbuild.h, reportstore.h
 */
#ifndef SIGNET_REPORTTOOL_H
#define SIGNET_REPORTTOOL_H

#include <stddef.h>

#include "conf/conf.h"
#include "lib/reportstore.h"
#include "reports/reportbuild.h"

#define REPORTTOOL_OK		0
#define REPORTTOOL_FAIL		1
#define REPORTTOOL_USAGE	2

#define REPORTTOOL_POS_MAX	2	/* the command and one argument */

struct reporttool {
	/* command line */
	const char *conf_path;		/* -c, else SYSCONF_DIR/signet.conf */
	int	conf_given;		/* -c was given: the file must exist */
	const char *pos[REPORTTOOL_POS_MAX];
	size_t	npos;
	const char *now_text;		/* --now as given */
	const char *out_dir;		/* --out (make) */
	const char *sendmail;		/* --sendmail (send) */
	const char *smtp;		/* --smtp HOST:PORT (send) */
	int	dry_run;		/* --dry-run (send) */
	int	all;			/* --all (list) */
	int	help;
	unsigned given;			/* REPORTTOOL_OPT_* bits seen */

	/* set up by main() and the helpers */
	struct conf *conf;		/* never NULL once loaded: defaults at least */
	long long now;			/* --now, else time(NULL) */
	struct reportstore *store;	/* opened on first use (reporttool_store) */
	char	receiver[REPORT_RECEIVER_MAX];	/* "" until reporttool_receiver() */
};

#define REPORTTOOL_OPT_NOW	0x001
#define REPORTTOOL_OPT_OUT	0x002
#define REPORTTOOL_OPT_SENDMAIL	0x004
#define REPORTTOOL_OPT_SMTP	0x008
#define REPORTTOOL_OPT_DRY_RUN	0x010
#define REPORTTOOL_OPT_ALL	0x020
#define REPORTTOOL_OPT_LAST	REPORTTOOL_OPT_ALL

int	reporttool_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	reporttool_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The store of ReportStore, opened on first use; NULL after reporting. */
struct reportstore *reporttool_store(struct reporttool *rt);

/* The receiver's name (reportbuild.h), found on first use; NULL after reporting. */
const char *reporttool_receiver(struct reporttool *rt);

/* The reports of the store whose day has ended by rt->now (done ones too), oldest day
 * first, then by domain, copied into *out (the caller frees it) so that the store may
 * be used while they are walked.  REPORTTOOL_OK, or REPORTTOOL_FAIL after reporting. */
int	reporttool_ended(struct reporttool *rt, struct reportstore_report **out, size_t *n);

/* TIME as --now takes it: epoch seconds, YYYY-MM-DD (00:00 UTC) or
 * YYYY-MM-DDTHH:MM:SSZ; 1, or 0 when it is none of these. */
int	reporttool_parse_time(const char *text, long long *out);

/* "2026-12-05", the UTC day of t, into out (at least 11 bytes). */
void	reporttool_day(long long t, char *out, size_t size);

/* The commands. */
int	reporttool_cmd_list(struct reporttool *rt);
int	reporttool_cmd_make(struct reporttool *rt);
int	reporttool_cmd_expire(struct reporttool *rt);
int	reporttool_cmd_send(struct reporttool *rt);	/* report-send.c */

#endif
