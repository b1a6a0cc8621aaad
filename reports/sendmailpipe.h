/*
 * NAME
 *	sendmailpipe.h - hand one message to the local MTA's sendmail command, with the
 *	recipient named on its command line
 * SYNOPSIS
 *	#include "reports/sendmailpipe.h"
 *
 *	enum mail_outcome o = sendmail_send("/usr/sbin/sendmail -oi", from, rcpt,
 *	    mail.data, mail.len, detail, sizeof(detail));
 * DESCRIPTION
 *	command is split at blanks (no shell, no quoting) into the program and its
 *	arguments; a "-t" among them is dropped, and "-f FROM -- RCPT" is added: the
 *	recipient is the one given, never one read from the message's header (which holds
 *	what a DMARC record published), and "--" keeps an address from being read as an
 *	option.  The program is run with the message on its standard input, lines ending
 *	in LF as sendmail(1) expects (a CR before an LF is dropped); its standard output
 *	goes to our standard error, so that it cannot mix with what signet-reports prints.
 *
 *	Outcomes, from its exit status (sysexits.h): 0 MAIL_SENT; EX_TEMPFAIL (75), a
 *	signal, a program that cannot be run, or a message that could not be written
 *	whole: MAIL_TEMPFAIL; any other status: MAIL_PERMFAIL.  detail says which.
 * DIAGNOSTICS
 *	Nothing is printed here (the program's own messages go to standard error).
 *	SIGPIPE must be ignored by the caller: a program that exits early is reported
 *	through detail, not by the signal.
 * SEE ALSO
 *	smtpclient.h, sendmail(1), sysexits.h
 */
#ifndef SIGNET_SENDMAILPIPE_H
#define SIGNET_SENDMAILPIPE_H

#include <stddef.h>

#include "reports/smtpclient.h"		/* enum mail_outcome */

#define SENDMAIL_ARGS_MAX	32	/* words of the command */

enum mail_outcome sendmail_send(const char *command, const char *from, const char *rcpt,
	    const char *msg, size_t len, char *detail, size_t detail_size);

#endif
