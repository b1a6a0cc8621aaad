/*
 * NAME
 *	failsend.h - hand one report mail to the local sendmail, for one recipient
 * SYNOPSIS
 *	#include "milter/failsend.h"
 *
 *	if (!failsend(conf->report_sendmail, from, rcpt, mail, len, 60, err, sizeof(err)))
 *		... log err ...
 * DESCRIPTION
 *	failsend() runs ReportSendmail without a shell: the command split at blanks, a "-t"
 *	word left out (the recipient is given, never read from the mail, so a To: field
 *	cannot add recipients), then "-i -f FROM -- RCPT" appended.  It writes "To: <RCPT>"
 *	and the mail to the command's standard input, whose standard output goes to
 *	/dev/null; the command inherits no other descriptor, and starts with no signal
 *	blocked and SIGPIPE at its default.  It runs as the daemon's user.  FROM and RCPT
 *	must be addresses of printable ASCII without blanks, angle brackets or quotes (the
 *	destinations of ruf= come from DNS: anything else is refused here too).  The command
 *	is given timeout seconds to read the mail and exit, then killed.  The caller
 *	ignores SIGPIPE (the daemon does, main.c): a command that exits before reading
 *	everything then makes a failed write, not a dead daemon.
 * DIAGNOSTICS
 *	Returns 1 when the command read everything and exited 0; else 0 with one sentence
 *	in err (the command could not start, was killed, or exited with a status).
 * SEE ALSO
 *	failreport.h, sendmail(1)
 */
#ifndef SIGNET_FAILSEND_H
#define SIGNET_FAILSEND_H

#include <stddef.h>

#define FAILSEND_ARGS_MAX	32	/* words of ReportSendmail */

int	failsend(const char *command, const char *from, const char *rcpt, const char *mail,
	    size_t len, int timeout, char *err, size_t errlen);
/* 1 when address is safe to give sendmail and to write in a To: field. */
int	failsend_address_ok(const char *address);

#endif
