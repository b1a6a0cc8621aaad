/*
 * NAME
 *	failcompose.h - one DMARC failure report as a mail (RFC 9991, RFC 6591, RFC 5965)
 * SYNOPSIS
 *	#include "milter/failcompose.h"
 *
 *	struct failcompose_input in = { ... };
 *	struct buffer report = {0};
 *	if (failcompose(&in, &report, err, sizeof(err)))
 *		... "To: <rcpt>\n" then report.data: the whole mail, lines ending in LF ...
 * DESCRIPTION
 *	failcompose() writes everything of the report but its To: field (the same report
 *	goes to each destination): From (ReportEmail), Date, Message-ID, Subject
 *	("DMARC failure report for DOMAIN": the specifications give none, and the original
 *	Subject is not copied there), Auto-Submitted: auto-generated, MIME-Version and a
 *	multipart/report; report-type=feedback-report of three parts:
 *	    text/plain		one sentence for people, and what was left out;
 *	    message/feedback-report	Feedback-Type: auth-failure, User-Agent, Version: 1,
 *				Auth-Failure: dmarc, Authentication-Results (ours),
 *				Identity-Alignment (RFC 9991 section 4), Original-Mail-From,
 *				Arrival-Date, Source-IP, Reported-Domain, Delivery-Result, and
 *				DKIM-Domain, DKIM-Identity, DKIM-Selector of the first signature
 *				that failed for an identifier aligned with the Author Domain;
 *	    text/rfc822-headers	the message's header, or message/rfc822 with the body too
 *				when in->body is given (FailureReportBody yes).
 *	Lines end in LF: the mail is handed to the local sendmail, which expects that.
 *
 *	Privacy (RFC 9991 section 6, RFC 6590).  In the copied header, the body, our
 *	Authentication-Results and Original-Mail-From, the local-part of every address
 *	(whatever stands before an "@" that is followed by a domain: atext and dots, or a
 *	quoted string) is replaced by an 8-character keyed hash of it (HMAC-SHA256 under
 *	in->secret, lower-cased first): the same address gives the same token in every
 *	report of this process, and the token does not give the address back.
 *	Message-ID, In-Reply-To, References, Content-ID and Resent-Message-ID keep theirs
 *	(identifiers, not people, and what a Domain Owner needs to find the message).
 *	"http://" and "https://" become "hxxp://" and "hxxps://" (section 6.3).
 *	Original-Rcpt-To is not written at all: recipients are what section 6.1 warns of.
 *	Attachments of an included body are not removed.
 *
 *	Hostile data.  The copied header and body cannot change the report's structure:
 *	every line break of a value (CRLF, LF or a bare CR) becomes LF followed by a blank
 *	(a continuation line, never a new field, a blank line or a boundary); lines of
 *	blanks alone are dropped; control characters other than TAB become '?'; a line
 *	longer than FAILCOMPOSE_LINE_MAX bytes is broken with LF and a blank; a field name
 *	that is not printable ASCII without ':' leaves the field out.  8-bit bytes are kept
 *	and the part is then marked Content-Transfer-Encoding: 8bit.  The boundary is 128
 *	random bits, and is drawn again in the unlikely case that a part contains it.
 *	Sizes are bounded: fields are copied until FAILCOMPOSE_HEADER_MAX bytes, a field
 *	longer than FAILCOMPOSE_FIELD_MAX is left out, a body longer than in->body_max is
 *	left out (headers only); the text part says what was left out.
 * DIAGNOSTICS
 *	failcompose() returns 0 with one sentence in err when memory runs out or no
 *	boundary could be drawn; the buffer is then freed.
 * SEE ALSO
 *	failreport.h, RFC 9991, RFC 6591, RFC 5965, RFC 6590, RFC 6522
 */
#ifndef SIGNET_FAILCOMPOSE_H
#define SIGNET_FAILCOMPOSE_H

#include <stddef.h>
#include <time.h>

#include "lib/buffer.h"
#include "milter/msgheaders.h"
#include "milter/verify.h"

#define FAILCOMPOSE_LINE_MAX	900		/* bytes of a copied line, below RFC 5322's 998 */
#define FAILCOMPOSE_FIELD_MAX	(16 * 1024)	/* a longer field is left out */
#define FAILCOMPOSE_HEADER_MAX	(64 * 1024)	/* header bytes copied in all */
#define FAILCOMPOSE_SECRET_LEN	32

struct failcompose_input {
	const char *report_from;	/* ReportEmail, without angle brackets */
	const char *id_domain;		/* right side of the Message-ID (ReportDomain) */
	const char *user_agent;		/* "Signet/1.0" */
	const char *author_domain;	/* Reported-Domain */
	const char *client_ip;		/* Source-IP; "" unknown */
	const char *mail_from;		/* without angle brackets; "" the null sender */
	time_t	arrival;
	time_t	now;			/* Date */
	const char *authres;		/* our Authentication-Results value */
	int	dkim_aligned;		/* an aligned DKIM pass */
	int	spf_aligned;		/* an aligned SPF pass */
	int	adkim_strict;		/* the record's adkim=s */
	const char *org_domain;		/* the Author Domain's Organizational Domain; "" */
	const struct verify_signature *sigs;
	size_t	sig_count;
	const char *delivery_result;	/* "delivered", "spam", "reject" */
	const struct msgheaders *headers;
	const unsigned char *body;	/* NULL: headers only */
	size_t	body_len;
	int	body_truncated;		/* more body came than was kept: left out */
	const unsigned char *secret;	/* FAILCOMPOSE_SECRET_LEN bytes of HMAC key */
};

int	failcompose(const struct failcompose_input *in, struct buffer *out, char *err,
	    size_t errlen);

/* Exported for the unit tests: value with local-parts and http: redacted, into out. */
int	failcompose_redact(const unsigned char *secret, const char *value, size_t len,
	    struct buffer *out);

#endif
