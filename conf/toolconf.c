/*
 * NAME
 *	toolconf.c - load the configuration for a tool, its errors on stderr
 * SYNOPSIS
 *	#include "conf/toolconf.h"
 * DESCRIPTION
 *	See toolconf.h.
 * DIAGNOSTICS
 *	"PROGNAME: message" on stderr for each error conf_load() reports.
 * SEE ALSO
 *	toolconf.h, conf.c
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "conf/toolconf.h"

static void
print_error(void *context, const char *message)
{
	fprintf(stderr, "%s: %s\n", (const char *)context, message);
}

struct conf *
toolconf_load(const char *given_path, const char *default_path, const char *progname)
{
	const char *path = given_path != NULL ? given_path : default_path;

	if (given_path == NULL && access(path, F_OK) != 0 && errno == ENOENT)
		path = NULL;
	return conf_load(path, print_error, (void *)(uintptr_t)progname);
}
