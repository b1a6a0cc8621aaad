/*
 * NAME
 *	toolconf.h - the configuration as Signet's tools load it
 * SYNOPSIS
 *	#include "conf/toolconf.h"
 *
 *	struct conf *conf = toolconf_load(given_path, SYSCONF_DIR "/signet.conf",
 *	    "signet-reports");
 * DESCRIPTION
 *	A file named on the command line (-c) must exist; the default file may be missing,
 *	which is the same as an empty one (every key at its default).
 * DIAGNOSTICS
 *	NULL after each error was printed as "PROGNAME: FILE:LINE: message" on stderr.
 * SEE ALSO
 *	conf.h, signet-keys(8), signet-reports(8)
 */
#ifndef SIGNET_TOOLCONF_H
#define SIGNET_TOOLCONF_H

#include "conf/conf.h"

struct conf *toolconf_load(const char *given_path, const char *default_path,
	    const char *progname);

#endif
