/*
 * NAME
 *	reportmail.h - the mail that carries one DMARC aggregate report to one destination
 *	(RFC 9990 section 3.6.1 "Email")
 * SYNOPSIS
 *	#include "reports/reportmail.h"
 *
 *	struct buffer mail = {0};
 *
 *	if (!report_mail(&b, "dmarc-noreply@mx.example.net", "dmarc@example.com", now, &mail))
 *		... out of memory ...
 *	... mail.data, mail.len: the message, CRLF line ends ...
 *	buffer_free(&mail);
 * DESCRIPTION
 *	An RFC 5322 message in MIME (RFC 2045) with CRLF line ends, as SMTP carries it
 *	(so mail.len is the size a destination's limit is compared with):
 *	    From, To (the one destination), Date (now, UTC), Message-ID, Subject,
 *	    MIME-Version, Auto-Submitted: auto-generated (RFC 3834: no replies, no loops),
 *	    Content-Type multipart/mixed, with two parts:
 *	    - a short text/plain note in US-ASCII saying what the report is;
 *	    - the report, application/gzip (RFC 6713), base64 in lines of 76, with
 *	      Content-Disposition: attachment; filename="<the file name of RFC 9990>".
 *	The Subject is exactly the ABNF of the text, with the Report-ID:
 *	    Report Domain: <policy domain> Submitter: <receiver> Report-ID: <ridtxt>
 *	folded before "Submitter:" and "Report-ID:" when it would not fit in 78
 *	characters.  The Message-ID is <ridtxt.HASH@receiver>, HASH eight hexadecimal
 *	digits of the destination address: the same report sent again to the same
 *	destination has the same Message-ID and Report-ID, and two destinations get two
 *	Message-IDs.  The boundary is made of the Report-ID, which base64 cannot contain
 *	("=_" never occurs in base64 or in the note).
 *
 *	Every value written into a header field is checked by the caller: the receiver
 *	and policy domain are domain names (report_build() made a file name of them), the
 *	addresses passed reportdest_address().  report_mail() checks again that none
 *	holds a byte outside printable ASCII or a blank and refuses to write otherwise.
 * DIAGNOSTICS
 *	report_mail() returns 1, or 0 when memory ran out or a value is not safe in a
 *	header field (mail is then empty).
 * SEE ALSO
 *	reportbuild.h, reportdest.h, RFC 9990, RFC 5322, RFC 2045, RFC 6713
 */
#ifndef SIGNET_REPORTMAIL_H
#define SIGNET_REPORTMAIL_H

#include "lib/buffer.h"
#include "reports/reportbuild.h"

int	report_mail(const struct report_build *b, const char *from, const char *to,
	    long long now, struct buffer *mail);

#endif
