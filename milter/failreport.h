/*
 * NAME
 *	failreport.h - DMARC failure reports (RFC 9991): whether, to whom, and sent aside
 * SYNOPSIS
 *	#include "milter/failreport.h"
 *
 *	failreport_configure(conf);			at start and at each reload
 *	failreport_body_add(&body, conf, data, len);	as the body streams past
 *	failreport_message(rt, &msg, author_domain, &verdict);	once per Author Domain
 *	failreport_body_free(&body);
 *	failreport_stop();				at exit
 * DESCRIPTION
 *	With DMARCFailureReports yes and ReportEmail set, failreport_message() decides on
 *	the message's thread, without DNS, whether one Author Domain's verdict calls for a
 *	report, composes it (failcompose.h) and queues it; a thread of its own then checks
 *	each destination, applies the rate limit and pipes the report to ReportSendmail.
 *	Nothing here can delay, change or fail the message: a full queue drops the report.
 *
 *	A report is made when all of these hold:
 *	    - the verdict is pass or fail (not none, temperror or permerror), and the
 *	      record that applied has a ruf= and not psd=y (RFC 9991 section 2: ruf= of a
 *	      public suffix record is not considered);
 *	    - the record's fo= asks for it (RFC 9989 section 4.7; several options joined by
 *	      ":", unknown ones ignored, none valid is "0"):
 *		0  neither DKIM nor SPF produced an aligned pass (the default);
 *		1  DKIM or SPF did not produce an aligned pass (also when DMARC passed);
 *		d  a DKIM signature failed verification (dkim=fail or permerror),
 *		   whatever its domain;
 *		s  the SPF check of the MAIL FROM identity failed (spf=fail), whatever
 *		   its domain;
 *	    - no recipient is ReportEmail, in ReportSkipRecipients, or an address of the
 *	      record's rua= or ruf= (reports never cause reports), the recipients were all
 *	      kept, and the message is not itself a feedback report (multipart/report;
 *	      report-type=feedback-report): a report that failed DMARC reports nothing;
 *	    - ruf= has at least one usable mailto: destination (reportdest.h; the same
 *	      address twice is one destination).
 *	The caller leaves out outbound mail and tempfailed messages (the retry is judged).
 *
 *	On the failure-report thread, per destination: an external one (another
 *	Organizational Domain) must be authorized by <policy-domain>._report._dmarc.<host>
 *	(reportdest_authorize(), RFC 9990 section 4 as RFC 9991 section 5 asks), through
 *	the resolver of the runtime then in force; a temporary DNS failure is a refusal
 *	(the report is not kept for later).  Then at most FailureReportRate reports per
 *	destination address per hour (failrate.h), a report over the destination's !size
 *	is not sent, and the report is piped to ReportSendmail (failsend.h) with From
 *	ReportEmail and the destination as the one recipient.
 *
 *	The body is kept (failreport_body_add()) only with FailureReportBody yes, up to
 *	FAILREPORT_BODY_MAX bytes; a longer body is left out of the report.
 * DIAGNOSTICS
 *	failreport_configure() logs, once per start or reload, that failure reports are
 *	off for want of ReportEmail.  A report sent is logged at info with the message's
 *	queue id, the Author Domain and the destination; one refused, over the rate, too
 *	large or not sent is logged at notice or warning.  A full queue is logged at most
 *	once a minute.  Each outcome is counted in signet_dmarc_failure_reports_total.
 * SEE ALSO
 *	failcompose.h, failrate.h, failsend.h, reportdest.h, RFC 9991, RFC 9989 section 4.7
 */
#ifndef SIGNET_FAILREPORT_H
#define SIGNET_FAILREPORT_H

#include <stddef.h>
#include <time.h>

#include "conf/conf.h"
#include "lib/dmarc.h"
#include "milter/msgheaders.h"
#include "milter/reportmsg.h"
#include "milter/runtime.h"
#include "milter/spfcheck.h"
#include "milter/verify.h"

#define FAILREPORT_BODY_MAX	(256 * 1024)	/* bytes of body a report may carry */
#define FAILREPORT_QUEUE_MAX	64		/* reports waiting for the thread */
#define FAILREPORT_SEND_TIMEOUT	60		/* seconds ReportSendmail is given */

/* fo= options (RFC 9989 section 4.7) */
#define FAILREPORT_FO_ALL	0x01	/* "0" */
#define FAILREPORT_FO_ANY	0x02	/* "1" */
#define FAILREPORT_FO_DKIM	0x04	/* "d" */
#define FAILREPORT_FO_SPF	0x08	/* "s" */

struct failreport_body {
	unsigned char *data;
	size_t	len;
	int	truncated;		/* more came than FAILREPORT_BODY_MAX */
};

/* What a report says of one message; everything borrowed for the call. */
struct failreport_message {
	const char *queue_id;
	const char *client_ip;		/* numeric; "" unknown */
	const char *mail_from;		/* without angle brackets; "" the null sender */
	const struct reportmsg_rcpts *rcpts;
	const struct msgheaders *headers;
	const struct verify_signature *sigs;
	size_t	sig_count;
	enum spfcheck_result spf_result;	/* of the MAIL FROM identity */
	const char *authres;		/* our Authentication-Results value */
	const char *delivery_result;	/* "delivered", "spam", "reject" */
	const struct failreport_body *body;
};

void	failreport_configure(const struct conf *conf);
void	failreport_body_add(struct failreport_body *body, const struct conf *conf,
	    const unsigned char *data, size_t len);
void	failreport_body_free(struct failreport_body *body);
void	failreport_message(struct runtime *rt, const struct failreport_message *msg,
	    const char *author_domain, const struct dmarc_verdict *verdict);
/* Stops the thread; reports still queued are dropped (and counted). */
void	failreport_stop(void);

/* The decision alone, for the unit tests. */
unsigned failreport_fo_options(const char *fo);
int	failreport_wanted(const char *fo, const struct dmarc_verdict *verdict,
	    const struct verify_signature *sigs, size_t sig_count,
	    enum spfcheck_result spf_result);

#endif
