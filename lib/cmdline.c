/*
 * NAME
 *	cmdline.c - parse a tool's command line from its table of options
 * SYNOPSIS
 *	#include "lib/cmdline.h"
 * DESCRIPTION
 *	See cmdline.h.  An argument "-" alone is positional (it often means stdin).
 * DIAGNOSTICS
 *	0 with err->text, as cmdline.h says.
 * SEE ALSO
 *	keys/signet-keys.c, reports/signet-reports.c
 */
#include <stdio.h>
#include <string.h>

#include "lib/cmdline.h"

/* Returns 1 when arg is option o (its value in *out, NULL when missing), else 0. */
static int
value_option(const struct cmdline_option *o, int argc, char **argv, int *i,
    const char **out)
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
option(int argc, char **argv, int *i, const struct cmdline_option *options, size_t n,
    void *target, unsigned *given, struct cmdline_error *err)
{
	const char *value, *arg = argv[*i];
	size_t j;

	for (j = 0; j < n; j++) {
		const struct cmdline_option *o = &options[j];

		if (!o->takes_value) {
			if (strcmp(arg, o->name) != 0)
				continue;
			*(int *)((char *)target + o->offset) = 1;
		} else {
			if (!value_option(o, argc, argv, i, &value))
				continue;
			if (value == NULL) {
				snprintf(err->text, sizeof(err->text), "missing value for option %s",
				    arg);
				return 0;
			}
			*(const char **)((char *)target + o->offset) = value;
		}
		*given |= o->bit;
		return 1;
	}
	snprintf(err->text, sizeof(err->text), "unknown option %s", arg);
	return 0;
}

int
cmdline_parse(int argc, char **argv, const struct cmdline_option *options, size_t n,
    void *target, unsigned *given, const char **pos, size_t pos_max, size_t *npos,
    struct cmdline_error *err)
{
	int i, options_end = 0;

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (options_end || arg[0] != '-' || arg[1] == '\0') {
			if (*npos == pos_max) {
				snprintf(err->text, sizeof(err->text), "too many arguments: %s", arg);
				return 0;
			}
			pos[(*npos)++] = arg;
		} else if (strcmp(arg, "--") == 0) {
			options_end = 1;
		} else if (!option(argc, argv, &i, options, n, target, given, err)) {
			return 0;
		}
	}
	return 1;
}

/* The names of the options that have bit, "--key-table, --signing-table and --conf";
 * returns how many. */
static size_t
option_names(unsigned bit, const struct cmdline_option *options, size_t n, char *out,
    size_t size)
{
	size_t j, len = 0, found = 0, total = 0;

	for (j = 0; j < n; j++)
		total += options[j].bit == bit;
	out[0] = '\0';
	for (j = 0; j < n && len < size; j++) {
		if (options[j].bit != bit)
			continue;
		found++;
		len += (size_t)snprintf(out + len, size - len, "%s%s",
		    found == 1 ? "" : found == total ? " and " : ", ", options[j].name);
	}
	return total;
}

int
cmdline_check(const struct cmdline_command_rule *rule, size_t nargs, unsigned given,
    const struct cmdline_option *options, size_t n, struct cmdline_error *err)
{
	char names[96];
	unsigned bit;
	int plural;

	if (nargs < rule->min) {
		snprintf(err->text, sizeof(err->text), "missing arguments for %s", rule->name);
		return 0;
	}
	if (nargs > rule->max) {
		snprintf(err->text, sizeof(err->text), "too many arguments for %s", rule->name);
		return 0;
	}
	for (bit = 1; bit != 0; bit <<= 1) {
		int unwanted = (given & bit) && !(rule->allowed & bit);
		int missing = !(given & bit) && (rule->required & bit);

		if (!unwanted && !missing)
			continue;
		plural = option_names(bit, options, n, names, sizeof(names)) > 1;
		snprintf(err->text, sizeof(err->text), "%s %s %s", names, unwanted
		    ? (plural ? "do not belong to" : "does not belong to")
		    : (plural ? "are needed by" : "is needed by"), rule->name);
		return 0;
	}
	return 1;
}
