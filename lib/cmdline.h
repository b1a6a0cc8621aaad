/*
 * NAME
 *	cmdline.h - the command lines of Signet's tools (signet-keys, signet-reports):
 *	options anywhere, declared in a table
 * SYNOPSIS
 *	#include "lib/cmdline.h"
 *
 *	static const struct cmdline_option options[] = {
 *		{ "-c", 1, 0, offsetof(struct tool, conf_path) },
 *		{ "--all", 0, OPT_ALL, offsetof(struct tool, all) },
 *	};
 *	struct cmdline_error err;
 *	if (!cmdline_parse(argc, argv, options, n, &tool, &tool.given, tool.pos, POS_MAX,
 *	    &tool.npos, &err)) ... usage error: err.text ...
 * DESCRIPTION
 *	Options may come before or after the command and its arguments ("--" ends them),
 *	so the tools parse argv themselves rather than depend on GNU getopt's argument
 *	permutation, which POSIXLY_CORRECT turns off.  A value option is matched as
 *	"-cFILE", "-c FILE", "--name VALUE" or "--name=VALUE" and sets the const char *
 *	at its offset in the tool's struct; a flag sets the int at its offset to 1.  Each
 *	option seen adds its bit to *given, so that a command can be checked for the
 *	options it takes and needs (cmdline_check()).
 * DIAGNOSTICS
 *	cmdline_parse() and cmdline_check() return 1, or 0 with err->text saying what is
 *	wrong ("unknown option --x", "--out is needed by make"), for the tool to print
 *	with its usage.
 */
#ifndef SIGNET_CMDLINE_H
#define SIGNET_CMDLINE_H

#include <stddef.h>

struct cmdline_option {
	const char *name;
	int	takes_value;		/* 1: a const char * at offset; 0: an int flag */
	unsigned bit;			/* added to *given when seen; 0: none */
	size_t	offset;
};

struct cmdline_error {
	char	text[160];
};

int	cmdline_parse(int argc, char **argv, const struct cmdline_option *options, size_t n,
	    void *target, unsigned *given, const char **pos, size_t pos_max, size_t *npos,
	    struct cmdline_error *err);

/* For a command given nargs arguments: min..max of them, only the options whose bits
 * are in allowed, and every one in required. */
struct cmdline_command_rule {
	const char *name;
	size_t	min, max;
	unsigned allowed, required;
};
int	cmdline_check(const struct cmdline_command_rule *rule, size_t nargs, unsigned given,
	    const struct cmdline_option *options, size_t n, struct cmdline_error *err);

#endif
