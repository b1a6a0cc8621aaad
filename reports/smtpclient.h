/*
 * NAME
 *	smtpclient.h - hand one message to one recipient over SMTP, and say whether a
 *	failure is worth trying again
 * SYNOPSIS
 *	#include "reports/smtpclient.h"
 *
 *	char detail[200];
 *	enum mail_outcome o = smtp_send("127.0.0.1:25", "mx.example.net",
 *	    "dmarc-noreply@mx.example.net", "dmarc@example.com", mail.data, mail.len, 60,
 *	    detail, sizeof(detail));
 * DESCRIPTION
 *	The smallest client of RFC 5321 that signet-reports send needs to give reports to
 *	a relay (--smtp HOST:PORT): connect, EHLO (HELO when EHLO is refused), MAIL
 *	FROM:<from>, RCPT TO:<rcpt>, DATA, the message with its lines dot-stuffed, ".",
 *	QUIT.  The message must have CRLF line ends (reportmail.h writes so); a bare LF
 *	is sent as CRLF all the same.  No STARTTLS and no AUTH: the relay is local and
 *	trusted, and it applies TLS on the way out.
 *
 *	HOST:PORT: a host name or address, "[v6 address]:PORT" for IPv6; every address
 *	the name resolves to is tried in turn until one connects.
 *
 *	Every step has timeout_s seconds (connect, each reply, each write).  Replies are
 *	read by line, at most 512 bytes each (RFC 5321 section 4.5.3.1.5) and 100 lines
 *	per reply; a longer or malformed reply ends the session.
 *
 *	Outcomes:
 *	MAIL_SENT	the final "." got 2xx.
 *	MAIL_TEMPFAIL	a 4xx reply, no connection, a timeout, the connection lost or a
 *			reply that is not SMTP: try later.
 *	MAIL_PERMFAIL	a 5xx reply (to MAIL, RCPT, DATA or the message; 5xx to EHLO
 *			then HELO too): do not try again.
 *	detail gets the step and the server's reply (first line, printable ASCII), or
 *	the system error, for the log and the store.
 * DIAGNOSTICS
 *	Nothing is printed; the outcome and detail say it all.
 * SEE ALSO
 *	reportmail.h, report-send.c, RFC 5321
 */
#ifndef SIGNET_SMTPCLIENT_H
#define SIGNET_SMTPCLIENT_H

#include <stddef.h>

enum mail_outcome {
	MAIL_SENT,
	MAIL_TEMPFAIL,
	MAIL_PERMFAIL,
};

enum mail_outcome smtp_send(const char *hostport, const char *helo, const char *from,
	    const char *rcpt, const char *msg, size_t len, unsigned timeout_s, char *detail,
	    size_t detail_size);

/* 1 when HOST:PORT (or [V6]:PORT) has the right form: a host and a port 1-65535. */
int	smtp_hostport_valid(const char *hostport);

#endif
