/*
 * NAME
 *	signet-reports - make, list and expire Signet's DMARC aggregate reports
 * SYNOPSIS
 *	signet-reports [-c FILE] list [--all] [--now TIME]
 *	signet-reports [-c FILE] make [--now TIME] --out DIR
 *	signet-reports [-c FILE] expire [--now TIME]
 * DESCRIPTION
 *	The operators' tool; see signet-reports(8).  This file parses the command line,
 *	loads the configuration and runs one command from commands[]; each command is in
 *	its own report-*.c file.  As in signet-keys, options may appear anywhere on the
 *	command line ("--" ends them) and each command says which options it takes.
 *
 *	Adding a command: a reporttool_cmd_*() in its own file, one line in commands[],
 *	its lines in usage_text; a new option is one line in value_options[] or
 *	flag_options[] with a REPORTTOOL_OPT_* bit.
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
#include <unistd.h>

#include "reports/reporttool.h"

#ifndef SYSCONF_DIR
#define SYSCONF_DIR "/etc"
#endif
#define DEFAULT_CONF	SYSCONF_DIR "/signet.conf"

static const char usage_text[] =
    "usage: signet-reports [-c FILE] list [--all] [--now TIME]\n"
    "       signet-reports [-c FILE] make [--now TIME] --out DIR\n"
    "       signet-reports [-c FILE] expire [--now TIME]\n"
    "       signet-reports -h | --help\n"
    "\n"
    "  list    one line per report waiting in ReportStore: its UTC day, policy domain,\n"
    "          messages, rows and state (--all: the reports done too)\n"
    "  make    write DIR/receiver!domain!begin!end!id.xml.gz for every report whose\n"
    "          day has ended by TIME\n"
    "  expire  drop the reports done (sent or skipped) ReportKeep after their day\n"
    "\n"
    "  -c FILE     configuration (default " DEFAULT_CONF ")\n"
    "  --now TIME  the time to act as at: epoch seconds, YYYY-MM-DD (00:00 UTC) or\n"
    "              YYYY-MM-DDTHH:MM:SSZ (default: now)\n"
    "  --out DIR   where make writes the reports (an existing folder)\n";

static int
fail_usage(const char *what, const char *arg)
{
	fprintf(stderr, "signet-reports: %s%s%s\n%s", what, arg ? " " : "", arg ? arg : "",
	    usage_text);
	return REPORTTOOL_USAGE;
}

/* ---- command line ------------------------------------------------------------------ */

#define AT(field)	offsetof(struct reporttool, field)

struct value_option {
	const char *name;
	unsigned bit;
	size_t	offset;			/* of the const char * it sets */
};

static const struct value_option value_options[] = {
	{ "-c", 0, AT(conf_path) },
	{ "--now", REPORTTOOL_OPT_NOW, AT(now_text) },
	{ "--out", REPORTTOOL_OPT_OUT, AT(out_dir) },
	{ "--sendmail", REPORTTOOL_OPT_SENDMAIL, AT(sendmail) },
	{ "--smtp", REPORTTOOL_OPT_SMTP, AT(smtp) },
};

struct flag_option {
	const char *name;
	unsigned bit;
	size_t	offset;			/* of the int it sets to 1 */
};

static const struct flag_option flag_options[] = {
	{ "-h", 0, AT(help) },
	{ "--help", 0, AT(help) },
	{ "--all", REPORTTOOL_OPT_ALL, AT(all) },
	{ "--dry-run", REPORTTOOL_OPT_DRY_RUN, AT(dry_run) },
};

/* Matches "-cFILE", "-c FILE", "--name VALUE" and "--name=VALUE"; returns 1 when arg is
 * this option (value in *out, NULL when missing), else 0. */
static int
value_option(const struct value_option *o, int argc, char **argv, int *i, const char **out)
{
	const char *arg = argv[*i];
	size_t len = strlen(o->name);

	if (strncmp(arg, o->name, len) != 0)
		return 0;
	if (arg[len] != '\0') {
		if (o->name[1] == '-' && arg[len] != '=')
			return 0;
		*out = arg + len + (o->name[1] == '-');
		return 1;
	}
	*out = *i + 1 < argc ? argv[++*i] : NULL;
	return 1;
}

static int
option(struct reporttool *rt, int argc, char **argv, int *i)
{
	const char *value, *arg = argv[*i];
	size_t j;

	for (j = 0; j < sizeof(flag_options) / sizeof(flag_options[0]); j++) {
		if (strcmp(arg, flag_options[j].name) != 0)
			continue;
		*(int *)((char *)rt + flag_options[j].offset) = 1;
		rt->given |= flag_options[j].bit;
		return 0;
	}
	for (j = 0; j < sizeof(value_options) / sizeof(value_options[0]); j++) {
		if (!value_option(&value_options[j], argc, argv, i, &value))
			continue;
		if (value == NULL)
			return fail_usage("missing value for option", arg);
		*(const char **)((char *)rt + value_options[j].offset) = value;
		rt->given |= value_options[j].bit;
		if (value_options[j].offset == AT(conf_path))
			rt->conf_given = 1;
		return 0;
	}
	return fail_usage("unknown option", arg);
}

/* Returns 0, or the exit status of a usage error it has reported. */
static int
parse_args(int argc, char **argv, struct reporttool *rt)
{
	int i, options = 1, rc;

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!options || arg[0] != '-' || arg[1] == '\0') {
			if (rt->npos == REPORTTOOL_POS_MAX)
				return fail_usage("too many arguments:", arg);
			rt->pos[rt->npos++] = arg;
		} else if (strcmp(arg, "--") == 0) {
			options = 0;
		} else if ((rc = option(rt, argc, argv, &i)) != 0) {
			return rc;
		}
	}
	return 0;
}

/* ---- configuration ----------------------------------------------------------------- */

static void
report_conf(void *context, const char *message)
{
	(void)context;
	fprintf(stderr, "signet-reports: %s\n", message);
}

/* The configuration: -c FILE must exist; the default file may be missing. */
static int
load_conf(struct reporttool *rt)
{
	const char *path = rt->conf_path != NULL ? rt->conf_path : DEFAULT_CONF;

	if (!rt->conf_given && access(path, F_OK) != 0 && errno == ENOENT)
		path = NULL;
	if ((rt->conf = conf_load(path, report_conf, NULL)) == NULL)
		return REPORTTOOL_FAIL;
	return 0;
}

/* ---- dispatch ---------------------------------------------------------------------- */

struct command {
	const char *name;
	size_t	min, max;		/* arguments after the command */
	unsigned options;		/* REPORTTOOL_OPT_* bits it takes */
	unsigned required;		/* ... and those it must have */
	int	(*run)(struct reporttool *rt);
};

static const struct command commands[] = {
	{ "list", 0, 0, REPORTTOOL_OPT_ALL | REPORTTOOL_OPT_NOW, 0, reporttool_cmd_list },
	{ "make", 0, 0, REPORTTOOL_OPT_NOW | REPORTTOOL_OPT_OUT, REPORTTOOL_OPT_OUT,
	    reporttool_cmd_make },
	{ "expire", 0, 0, REPORTTOOL_OPT_NOW, 0, reporttool_cmd_expire },
	/* send: reports/report-send.c */
};

static const char *
option_name(unsigned bit)
{
	size_t j;

	for (j = 0; j < sizeof(value_options) / sizeof(value_options[0]); j++)
		if (value_options[j].bit == bit)
			return value_options[j].name;
	for (j = 0; j < sizeof(flag_options) / sizeof(flag_options[0]); j++)
		if (flag_options[j].bit == bit)
			return flag_options[j].name;
	return "?";
}

/* Checks the argument count and that the command has its options and only those. */
static int
check_args(const struct reporttool *rt, const struct command *c)
{
	char what[96];
	unsigned bit;

	if (rt->npos - 1 < c->min)
		return fail_usage("missing arguments for", c->name);
	if (rt->npos - 1 > c->max)
		return fail_usage("too many arguments for", c->name);
	for (bit = 1; bit <= REPORTTOOL_OPT_LAST; bit <<= 1) {
		if ((rt->given & bit) && !(c->options & bit)) {
			snprintf(what, sizeof(what), "%s does not belong to", option_name(bit));
			return fail_usage(what, c->name);
		}
		if (!(rt->given & bit) && (c->required & bit)) {
			snprintf(what, sizeof(what), "%s is needed by", option_name(bit));
			return fail_usage(what, c->name);
		}
	}
	return 0;
}

static int
run(struct reporttool *rt)
{
	size_t i;
	int rc;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(rt->pos[0], commands[i].name) != 0)
			continue;
		if ((rc = check_args(rt, &commands[i])) != 0 || (rc = load_conf(rt)) != 0)
			return rc;
		return commands[i].run(rt);
	}
	return fail_usage("unknown command", rt->pos[0]);
}

int
main(int argc, char **argv)
{
	struct reporttool rt = { 0 };
	int rc;

	umask(027);	/* reports show who mails whom: not for every user */
	rt.now = (long long)time(NULL);
	if ((rc = parse_args(argc, argv, &rt)) != 0)
		return rc;
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
