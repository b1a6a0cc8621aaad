/*
 * NAME
 *	reportxml.h - the XML of a DMARC aggregate report (RFC 9990 section 3.1, schema
 *	dmarc-xml-0.2.xsd, namespace urn:ietf:params:xml:ns:dmarc-2.0)
 * SYNOPSIS
 *	#include "reports/reportxml.h"
 *
 *	struct buffer xml = {0};
 *	reportxml_head(&xml, &meta, &policy);
 *	reportxml_record(&xml, &row, count, &dropped);	(once per row)
 *	reportxml_tail(&xml);
 * DESCRIPTION
 *	Each function appends to a buffer; the caller may empty it (len = 0) between calls
 *	to stream the document.  Elements come in the order of the text's tables, which is
 *	what the schema's xs:sequence types (feedback, record, policy_evaluated,
 *	auth_results) require and its xs:all types accept.
 *
 *	Text.  Every value is written through reportxml_text(): & < > " ' become entity
 *	references, and whatever XML 1.0 would refuse or discourage becomes U+FFFD: a byte
 *	that is not part of well-formed UTF-8 (overlong forms and surrogates included), a
 *	control character (C0 with TAB, LF and CR, DEL, C1) and U+FFFE/U+FFFF.  Domains,
 *	selectors and addresses come from strangers; this keeps the document well-formed
 *	whatever they hold, and still shows the reader where something odd was.
 *
 *	Values the schema would refuse.  A required value outside its enumeration cannot
 *	be written, so the row is not reportable (reportxml_row_reportable()): disposition
 *	not none/pass/quarantine/reject, policy_evaluated dkim or spf not pass/fail.
 *	Optional parts are handled one by one, and each one left out adds one to *dropped:
 *	    - a DKIM result not in DKIMResultType: that <dkim> is left out;
 *	    - an SPF result not in SPFResultType: the <spf> is left out (none is written
 *	      when spf_domain is "", i.e. there was no MAIL FROM identity);
 *	    - a reason type not in PolicyOverrideType is written as "other" (the text:
 *	      "some policy exception not covered by the other entries"), its comment kept.
 *	An empty DKIM selector or domain is written as an empty element: xs:string
 *	allows it, and the text says every DKIM result validation was attempted for MUST
 *	be included (a signature without s= is still one that was looked at).
 *	In policy_published, p must be none/quarantine/reject (else reportxml_head()
 *	refuses); sp, np, discovery_method, adkim, aspf and testing are written only when
 *	valid, fo only when published.
 * DIAGNOSTICS
 *	REPORTXML_OK; REPORTXML_NOMEM when the buffer could not grow (it keeps what it
 *	held); REPORTXML_REFUSED for a policy or row that cannot be written (nothing was
 *	appended).
 * SEE ALSO
 *	reportbuild.h, reportrow.h, RFC 9990 (draft-ietf-dmarc-aggregate-reporting-32)
 */
#ifndef SIGNET_REPORTXML_H
#define SIGNET_REPORTXML_H

#include <stddef.h>

#include "lib/buffer.h"
#include "lib/reportrow.h"

#define REPORTXML_NAMESPACE	"urn:ietf:params:xml:ns:dmarc-2.0"

#define REPORTXML_OK		0
#define REPORTXML_NOMEM		1
#define REPORTXML_REFUSED	2

struct reportxml_meta {
	const char *org_name;
	const char *email;		/* ReportEmail; may be "" */
	const char *report_id;
	const char *generator;		/* e.g. "Signet 0.1.0" */
	long long begin, end;		/* date_range */
	const char *domain;		/* <policy_published><domain> */
};

/* <?xml ...?>, <feedback>, <version>, <report_metadata> and <policy_published>. */
int	reportxml_head(struct buffer *out, const struct reportxml_meta *meta,
	    const struct report_policy *policy);
/* One <record>: the row with its count; *dropped grows by the optional parts left out. */
int	reportxml_record(struct buffer *out, const struct report_row *row,
	    unsigned long count, unsigned *dropped);
/* </feedback>. */
int	reportxml_tail(struct buffer *out);

/* 1 when reportxml_record() can write the row (its required values are valid). */
int	reportxml_row_reportable(const struct report_row *row);

/* Appends text escaped as described above; 0 when out of memory. */
int	reportxml_text(struct buffer *out, const char *text);

#endif
