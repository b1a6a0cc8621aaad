/*
 * NAME
 *	signet-reports - make, list and expire Signet's DMARC aggregate reports
 * SYNOPSIS
 *	signet-reports [-c FILE] list [--all] [--now TIME]
 *	signet-reports [-c FILE] make [--now TIME] --out DIR
 *	signet-reports [-c FILE] expire [--now TIME]
 *	signet-reports [-c FILE] send [--now TIME] [--sendmail COMMAND | --smtp HOST:PORT]
 *	    [--dry-run]
 * DESCRIPTION
 *	The operators' tool; see signet-reports(8).  This file parses the command line,
 *	loads the configuration and runs one command from commands[]; each command is in
 *	its own report-*.c file.  As in signet-keys, options may appear anywhere on the
 *	command line ("--" ends them) and each command says which options it takes.
 *
 *	Adding a command: a reporttool_cmd_*() in its own file, one line in commands[],
 *	its lines in usage_text; a new option is one line in options[] with a
 *	REPORTTOOL_OPT_* bit (lib/cmdline.h).
 * DIAGNOSTICS
 *	"signet-reports: message" on stderr.  Exit status 0 on success, 1 on an error, 2 on
 *	a usage error (the usage is printed on stderr).
 * SEE ALSO
 *	signet-reports(8), reporttool.h, reportbuild.h
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "conf/toolconf.h"
#include "lib/cmdline.h"
#include "reports/reporttool.h"

#ifndef SYSCONF_DIR
#define SYSCONF_DIR "/etc"
#endif
#define DEFAULT_CONF	SYSCONF_DIR "/signet.conf"

static const char usage_text[] =
    "usage: signet-reports [-c FILE] list [--all] [--now TIME]\n"
    "       signet-reports [-c FILE] make [--now TIME] --out DIR\n"
    "       signet-reports [-c FILE] expire [--now TIME]\n"
    "       signet-reports [-c FILE] send [--now TIME] [--sendmail COMMAND | --smtp HOST:PORT]\n"
    "                      [--dry-run]\n"
    "       signet-reports -h | --help\n"
    "\n"
    "  list    one line per report waiting in ReportStore: its UTC day, policy domain,\n"
    "          messages, rows and state (--all: the reports done too)\n"
    "  make    write DIR/receiver!domain!begin!end!id.xml.gz for every report whose\n"
    "          day has ended by TIME\n"
    "  expire  drop the reports done (sent or skipped) ReportKeep after their day\n"
    "  send    mail every report whose day has ended by TIME to its authorized rua=\n"
    "          destinations, once each (--dry-run: print what would be sent)\n"
    "\n"
    "  -c FILE     configuration (default " DEFAULT_CONF ")\n"
    "  --now TIME  the time to act as at: epoch seconds, YYYY-MM-DD (00:00 UTC) or\n"
    "              YYYY-MM-DDTHH:MM:SSZ (default: now)\n"
    "  --out DIR   where make writes the reports (an existing folder)\n"
    "  --sendmail COMMAND  send through COMMAND (default ReportSendmail)\n"
    "  --smtp HOST:PORT    send through this SMTP relay instead\n";

static int
fail_usage(const char *what, const char *arg)
{
	fprintf(stderr, "signet-reports: %s%s%s\n%s", what, arg ? " " : "", arg ? arg : "",
	    usage_text);
	return REPORTTOOL_USAGE;
}

/* ---- command line and dispatch ----------------------------------------------------- */

#define AT(field)	offsetof(struct reporttool, field)

static const struct cmdline_option options[] = {
	{ "-c", 1, 0, AT(conf_path) },
	{ "--now", 1, REPORTTOOL_OPT_NOW, AT(now_text) },
	{ "--out", 1, REPORTTOOL_OPT_OUT, AT(out_dir) },
	{ "--sendmail", 1, REPORTTOOL_OPT_SENDMAIL, AT(sendmail) },
	{ "--smtp", 1, REPORTTOOL_OPT_SMTP, AT(smtp) },
	{ "-h", 0, 0, AT(help) },
	{ "--help", 0, 0, AT(help) },
	{ "--all", 0, REPORTTOOL_OPT_ALL, AT(all) },
	{ "--dry-run", 0, REPORTTOOL_OPT_DRY_RUN, AT(dry_run) },
};
#define NOPTIONS	(sizeof(options) / sizeof(options[0]))

struct command {
	struct cmdline_command_rule rule;	/* name, arguments, options taken and needed */
	int	(*run)(struct reporttool *rt);
};

static const struct command commands[] = {
	{ { "list", 0, 0, REPORTTOOL_OPT_ALL | REPORTTOOL_OPT_NOW, 0 }, reporttool_cmd_list },
	{ { "make", 0, 0, REPORTTOOL_OPT_NOW | REPORTTOOL_OPT_OUT, REPORTTOOL_OPT_OUT },
	    reporttool_cmd_make },
	{ { "expire", 0, 0, REPORTTOOL_OPT_NOW, 0 }, reporttool_cmd_expire },
	{ { "send", 0, 0, REPORTTOOL_OPT_NOW | REPORTTOOL_OPT_SENDMAIL | REPORTTOOL_OPT_SMTP |
	    REPORTTOOL_OPT_DRY_RUN, 0 }, reporttool_cmd_send },
};

static int
run(struct reporttool *rt)
{
	struct cmdline_error err;
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(rt->pos[0], commands[i].rule.name) != 0)
			continue;
		if (!cmdline_check(&commands[i].rule, rt->npos - 1, rt->given, options, NOPTIONS,
		    &err))
			return fail_usage(err.text, NULL);
		if ((rt->conf = toolconf_load(rt->conf_path, DEFAULT_CONF,
		    "signet-reports")) == NULL)
			return REPORTTOOL_FAIL;
		return commands[i].run(rt);
	}
	return fail_usage("unknown command", rt->pos[0]);
}

int
main(int argc, char **argv)
{
	struct reporttool rt = { 0 };
	struct cmdline_error err;
	int rc;

	umask(027);	/* reports show who mails whom: not for every user */
	rt.now = (long long)time(NULL);
	if (!cmdline_parse(argc, argv, options, NOPTIONS, &rt, &rt.given, rt.pos,
	    REPORTTOOL_POS_MAX, &rt.npos, &err))
		return fail_usage(err.text, NULL);
	if (rt.help) {
		fputs(usage_text, stdout);
		return REPORTTOOL_OK;
	}
	if (rt.npos == 0)
		return fail_usage("no command given", NULL);
	if (rt.now_text != NULL && !reporttool_parse_time(rt.now_text, &rt.now))
		return fail_usage("--now takes epoch seconds, YYYY-MM-DD or "
		    "YYYY-MM-DDTHH:MM:SSZ, not", rt.now_text);
	rc = run(&rt);
	if (rt.store != NULL)
		reportstore_close(rt.store);
	conf_free(rt.conf);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		reporttool_fail("cannot write to standard output: %s", strerror(errno));
		return REPORTTOOL_FAIL;
	}
	return rc;
}
