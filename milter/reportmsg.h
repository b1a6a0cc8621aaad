/*
 * NAME
 *	reportmsg.h - the DMARC aggregate-report row of one inbound message, and whether it
 *	is to be counted at all
 * SYNOPSIS
 *	#include "milter/reportmsg.h"
 *
 *	reportmsg_rcpt(&rcpts, conf, "<bob@example.net>");	at each RCPT
 *	if (reportmsg_row(&msg, author_domain, &verdict, &row, &policy))
 *		reportcollect_count(&row, &policy, now);
 *	reportmsg_rcpts_free(&rcpts);
 * DESCRIPTION
 *	reportmsg_rcpt() keeps what reports need of the recipients, bounded whatever the
 *	envelope holds: their number, the first one's domain (<envelope_to>), the first
 *	REPORTMSG_RCPT_KEEP addresses, and whether any recipient is in
 *	ReportSkipRecipients or is ReportEmail.
 *
 *	reportmsg_row() fills the row (RFC 9990 section 3.1.1.6, reportrow.h) and the
 *	published policy of one Author Domain's verdict, or returns 0 when the message is
 *	not counted for it:
 *	    - its result is not pass, fail or temperror, or its record has no valid rua=;
 *	    - a recipient is in ReportSkipRecipients, is ReportEmail, or is a mailto:
 *	      address of the record's own rua= or ruf= (among the addresses kept): mail
 *	      to a report address never makes a report (reports never cause reports);
 *	    - the client address is unknown (there is no <source_ip> to give).
 *
 *	What the row says.  disposition is what the message got (msg->applied: none when
 *	accepted, quarantine, reject); a message that was tempfailed is never counted, as
 *	the MTA retries it and the retry is counted.  dkim and spf are "pass" when that
 *	identifier was authenticated and aligned for this Author Domain.  A reason says
 *	why the disposition differs from the policy the record asks for (section 3.1.1.6,
 *	"reason"):
 *	    policy_test_mode	the record has t=y and the message failed: the policy was
 *				applied one level below (RFC 9989 section 4.7);
 *	    local_policy	the message failed and Signet applied less than asked:
 *				comment "DMARCEnforce no"; or, when a trusted ARC sealer
 *				vouched for it, the ARC comment of RFC 8617 section
 *				7.2.2 ("arc=pass as[2].d=... as[2].s=...");
 *	    other		dmarc=temperror: a DNS failure left it undecided and no
 *				policy was applied; or the message got more than this
 *				domain asks, for another Author Domain of the same From.
 *	Every DKIM result is listed (domain, selector, RFC 8601 section 2.7.1 name), at
 *	most REPORT_DKIM_MAX, signatures without a usable d= left out; the SPF result is
 *	the MAIL FROM check's (scope mfrom): its domain, or HELO's for the null sender.
 *	<envelope_from> is the MAIL FROM domain, present but empty for the null sender.
 *	Domains are written in lower case.
 * SEE ALSO
 *	reportrow.h, reportcollect.h, inbound.c
 */
#ifndef SIGNET_REPORTMSG_H
#define SIGNET_REPORTMSG_H

#include <stddef.h>

#include "conf/conf.h"
#include "lib/dmarc.h"
#include "lib/reportrow.h"
#include "milter/verify.h"

#define REPORTMSG_RCPT_KEEP 100	/* RFC 5321's minimum number of recipients to accept */

struct reportmsg_rcpts {
	size_t	count;
	char	first_domain[REPORT_DOMAIN_MAX];	/* "" when too long or none */
	char  **kept;			/* the first REPORTMSG_RCPT_KEEP addresses */
	size_t	kept_count;
	int	skip;			/* ReportSkipRecipients or ReportEmail among them */
	int	lost;			/* memory ran out keeping one: not counted */
};

struct reportmsg {
	const char *client_ip;		/* "" when unknown */
	const char *mail_from;		/* without angle brackets; "" for the null sender */
	const struct reportmsg_rcpts *rcpts;
	const struct verify_signature *sigs;
	size_t	sig_count;
	const char *spf_domain;		/* the domain of the MAIL FROM check; "" none */
	const char *spf_result;		/* its RFC 8601 name */
	enum dmarc_policy applied;	/* what the message got */
	int	enforce;		/* DMARCEnforce */
	const char *arc_override;	/* a trusted ARC sealer vouched for this domain: the
					 * comment of RFC 8617 section 7.2.2; NULL: none */
};

void	reportmsg_rcpt(struct reportmsg_rcpts *r, const struct conf *conf, const char *rcpt);
void	reportmsg_rcpts_free(struct reportmsg_rcpts *r);
int	reportmsg_row(const struct reportmsg *msg, const char *author_domain,
	    const struct dmarc_verdict *v, struct report_row *row, struct report_policy *policy);

#endif
