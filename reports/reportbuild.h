/*
 * NAME
 *	reportbuild.h - one DMARC aggregate report, built from the store: its gzip'd XML,
 *	its file name and its Report-ID (RFC 9990)
 * SYNOPSIS
 *	#include "reports/reportbuild.h"
 *
 *	char receiver[REPORT_RECEIVER_MAX], err[256];
 *	struct report_build b;
 *
 *	if (!report_receiver(conf, receiver, sizeof(receiver), err, sizeof(err))) ...
 *	if (!report_build(store, conf, receiver, begin, "example.com", &b, err, sizeof(err)))
 *		... err says why ...
 *	... b.filename, b.gzip (b.gzip_len bytes), b.report_id, b.policy.rua ...
 *	report_build_free(&b);
 * DESCRIPTION
 *	signet-reports make writes b.gzip to DIR/b.filename; send attaches it to mail.
 *	Both get the same bytes for the same stored counts: the XML is written in the
 *	store's row order and the gzip header carries no time or name.
 *
 *	Identifiers (RFC 9990 sections 3.5, 3.6.1 and "Unique Identifiers").  The
 *	unique-id is derived, not drawn: "YYYYMMDD" of the period followed by 16 lower-case
 *	hex digits of a 64-bit FNV-1a hash of receiver, policy domain and begin.  So a
 *	report built again (a second make, a resend after a crash) gets the same file name
 *	and the same Report-ID, as the text requires, and two receivers reporting on the
 *	same domain and day do not share one.  The Report-ID is the unique-id itself:
 *	ALPHA/DIGIT is a valid ridfmt (dot-atom-text), and the text asks that Report-ID
 *	and unique-id be identical.  Use "<" report_id ">" in a Subject or Message-ID
 *	(adding "@" receiver there is the sender's choice).
 *
 *	The period is a UTC day: date_range begin is its first second and end its last
 *	(begin + 86399), as in the specification's sample; the file name carries the same
 *	two numbers: receiver!policy-domain!begin!end!unique-id.xml.gz.
 *
 *	receiver is ReportDomain, else this host's name (gethostname(2)); the organization
 *	name is ReportOrgName, else the receiver.  Both receiver and policy domain must be
 *	domain names (letters, digits, hyphens; RFC 6376's domain-name), or no file name
 *	can be made: report_build() then fails.
 *
 *	Rows.  Each stored row is decoded (reportrow.h) and written as one <record> with
 *	its count.  A row that does not decode, or whose required values the schema would
 *	refuse (disposition, DMARC dkim/spf result), cannot be reported: it is left out
 *	and counted in rows_refused and messages_refused, for the caller to say so.  See
 *	reportxml.h for the optional values that are left out or replaced.
 * DIAGNOSTICS
 *	report_build() and report_receiver() return 1, or 0 with err holding one sentence
 *	naming the report (domain and day) and the cause: the store's message, an
 *	undecodable policy, a name that cannot be a file name, no row that can be
 *	reported, out of memory.
 * SEE ALSO
 *	reportxml.h, reportgzip.h, reportstore.h, signet-reports(8)
 */
#ifndef SIGNET_REPORTBUILD_H
#define SIGNET_REPORTBUILD_H

#include <stddef.h>

#include "conf/conf.h"
#include "lib/reportrow.h"
#include "lib/reportstore.h"

#define REPORT_PERIOD		86400	/* seconds in a reporting period: one UTC day */
#define REPORT_RECEIVER_MAX	254	/* a domain name and its NUL */
#define REPORT_UNIQUE_ID_MAX	25	/* YYYYMMDD, 16 hex digits, NUL */
#define REPORT_ID_MAX		REPORT_UNIQUE_ID_MAX
/* receiver ! domain ! begin ! end ! unique-id .xml.gz and the NUL */
#define REPORT_FILENAME_MAX	(2 * REPORT_RECEIVER_MAX + 2 * 21 + REPORT_UNIQUE_ID_MAX + 12)

struct report_build {
	long long begin;			/* first second of the UTC day */
	long long end;				/* its last second: begin + 86399 */
	char	domain[REPORT_DOMAIN_MAX];	/* the DMARC Policy Domain */
	char	receiver[REPORT_RECEIVER_MAX];
	char	report_id[REPORT_ID_MAX];	/* ridtxt, without angle brackets */
	char	unique_id[REPORT_UNIQUE_ID_MAX];	/* the same text (see above) */
	char	filename[REPORT_FILENAME_MAX];	/* no folder */
	struct report_policy policy;		/* as last stored: rua says where to send */
	unsigned char *gzip;			/* owned; report_build_free() frees it */
	size_t	gzip_len;
	size_t	xml_len;			/* bytes of XML before compression */
	unsigned long messages;			/* sum of the <count>s written */
	size_t	rows;				/* <record>s written */
	unsigned long messages_refused;		/* in rows left out (see above) */
	size_t	rows_refused;
	unsigned values_dropped;		/* optional values left out (reportxml.h) */
};

/* Builds the report of (begin, domain); begin must be a period's first second.  On
 * failure nothing is left to free. */
int	report_build(struct reportstore *store, const struct conf *conf, const char *receiver,
	    long long begin, const char *domain, struct report_build *out, char *err,
	    size_t errlen);
void	report_build_free(struct report_build *b);

/* ReportDomain, else the host name, lower-cased and checked as a domain name. */
int	report_receiver(const struct conf *conf, char *out, size_t size, char *err,
	    size_t errlen);
/* ReportOrgName, else the receiver. */
const char *report_org_name(const struct conf *conf, const char *receiver);

/* The identifiers alone (report_build() fills them with these): 1, or 0 when receiver
 * or domain is not a domain name, or out is too small. */
int	report_unique_id(const char *receiver, const char *domain, long long begin,
	    char *out, size_t size);
int	report_filename(const char *receiver, const char *domain, long long begin,
	    const char *unique_id, char *out, size_t size);

/* Whether the period that begins at begin has ended at time now. */
int	report_period_ended(long long begin, long long now);

#endif
