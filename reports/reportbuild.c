/*
 * NAME
 *	reportbuild.c - build one aggregate report from the store: XML written row by row
 *	and compressed as it goes
 * SYNOPSIS
 *	#include "reports/reportbuild.h"
 * DESCRIPTION
 *	reportstore_read() gives the policy text and calls back once per row.  The head of
 *	the document needs the policy; when the store has filled it in by the first row
 *	(as the SQLite and Redis stores do, reading the policy first), the head goes out
 *	first and each record is compressed once FLUSH_AT bytes of XML wait.  Should a
 *	store give the policy only at the end, the records wait in memory and the head is
 *	compressed before them then: the result is the same, only the memory differs.
 * DIAGNOSTICS
 *	One sentence in err naming the report: "example.com 2026-12-05: ...".
 * SEE ALSO
 *	reportbuild.h, reportxml.c, reportgzip.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "lib/buffer.h"
#include "reports/reportbuild.h"
#include "reports/reportgzip.h"
#include "reports/reportxml.h"

#define FLUSH_AT	65536	/* bytes of XML compressed at a time */
#define GENERATOR	"Signet " PACKAGE_VERSION

struct build_walk {
	struct report_build *b;
	struct reportxml_meta meta;
	struct reportgzip *gz;
	struct buffer xml;		/* XML not yet compressed */
	char	policy[REPORT_ROW_TEXT_MAX];
	int	head_tried;		/* the first row was seen */
	int	head_written;		/* the head is in xml or compressed */
	const char *failure;		/* why the walk stopped */
};

/* "example.com 2026-12-05" for messages. */
static void
report_name(const struct report_build *b, char *out, size_t size)
{
	time_t t = (time_t)b->begin;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		snprintf(out, size, "%s %lld", b->domain, b->begin);
	else
		snprintf(out, size, "%s %04d-%02d-%02d", b->domain, tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday);
}

/* Compresses what xml holds and empties it. */
static int
compress_xml(struct build_walk *w, struct buffer *xml)
{
	if (!reportgzip_write(w->gz, xml->data, xml->len)) {
		w->failure = "compression failed (out of memory)";
		return 0;
	}
	w->b->xml_len += xml->len;
	xml->len = 0;
	return 1;
}

/* Decodes the stored policy and appends the document's head to out. */
static int
write_head(struct build_walk *w, struct buffer *out)
{
	int rc;

	if (!report_policy_decode(w->policy, strlen(w->policy), &w->b->policy)) {
		w->failure = w->policy[0] == '\0' ? "the store holds no policy for it"
		    : "its stored policy cannot be read";
		return 0;
	}
	rc = reportxml_head(out, &w->meta, &w->b->policy);
	if (rc == REPORTXML_REFUSED)
		w->failure = "its stored policy has no valid p= (none, quarantine, reject)";
	else if (rc != REPORTXML_OK)
		w->failure = "out of memory";
	w->head_written = rc == REPORTXML_OK;
	return w->head_written;
}

static int
on_row(void *ctx, const char *text, unsigned long count)
{
	struct build_walk *w = ctx;
	struct report_row row;
	int rc;

	if (!w->head_tried) {
		w->head_tried = 1;
		if (w->policy[0] != '\0' && !write_head(w, &w->xml))
			return 0;
	}
	rc = report_row_decode(text, strlen(text), &row) ? REPORTXML_OK : REPORTXML_REFUSED;
	if (rc == REPORTXML_OK)
		rc = reportxml_record(&w->xml, &row, count, &w->b->values_dropped);
	if (rc == REPORTXML_REFUSED) {
		w->b->rows_refused++;
		w->b->messages_refused += count;
		return 1;
	}
	if (rc != REPORTXML_OK) {
		w->failure = "out of memory";
		return 0;
	}
	w->b->rows++;
	w->b->messages += count;
	if (w->head_written && w->xml.len >= FLUSH_AT)
		return compress_xml(w, &w->xml);
	return 1;
}

/* After the walk: the head if it waited, the records, the tail; then the gzip bytes. */
static int
finish(struct build_walk *w)
{
	struct buffer head = { 0 };
	int ok = 1;

	if (w->b->rows == 0) {
		w->failure = w->b->rows_refused == 0 ? "no rows are stored for it"
		    : "none of its rows can be reported";
		return 0;
	}
	if (!w->head_written)
		ok = write_head(w, &head) && compress_xml(w, &head);
	buffer_free(&head);
	if (!ok)
		return 0;
	if (reportxml_tail(&w->xml) != REPORTXML_OK) {
		w->failure = "out of memory";
		return 0;
	}
	if (!compress_xml(w, &w->xml))
		return 0;
	if (!reportgzip_finish(w->gz, &w->b->gzip, &w->b->gzip_len)) {
		w->failure = "compression failed (out of memory)";
		return 0;
	}
	return 1;
}

/* The names of the report: identifiers and file name. */
static int
name_report(struct report_build *b, const char *receiver, long long begin,
    const char *domain)
{
	b->begin = begin;
	b->end = begin + REPORT_PERIOD - 1;
	snprintf(b->domain, sizeof(b->domain), "%s", domain);
	snprintf(b->receiver, sizeof(b->receiver), "%s", receiver);
	if (begin != report_period_begin(begin)
	    || strlen(domain) >= sizeof(b->domain) || strlen(receiver) >= sizeof(b->receiver)
	    || !report_unique_id(receiver, domain, begin, b->unique_id, sizeof(b->unique_id))
	    || !report_filename(receiver, domain, begin, b->unique_id, b->filename,
	    sizeof(b->filename)))
		return 0;
	snprintf(b->report_id, sizeof(b->report_id), "%s", b->unique_id);
	return 1;
}

int
report_build(struct reportstore *store, const struct conf *conf, const char *receiver,
    long long begin, const char *domain, struct report_build *out, char *err,
    size_t errlen)
{
	struct build_walk w;
	char name[REPORT_DOMAIN_MAX + 32], store_err[512];
	int ok;

	memset(out, 0, sizeof(*out));
	memset(&w, 0, sizeof(w));
	w.b = out;
	if (!name_report(out, receiver, begin, domain)) {
		report_name(out, name, sizeof(name));
		snprintf(err, errlen, "%s: no report file name can be made (receiver \"%s\" "
		    "and the policy domain must be domain names, the period a UTC day)", name,
		    receiver);
		return 0;
	}
	report_name(out, name, sizeof(name));
	w.meta = (struct reportxml_meta) {
		.org_name = report_org_name(conf, receiver),
		.email = conf->report_email != NULL ? conf->report_email : "",
		.report_id = out->report_id, .generator = GENERATOR,
		.begin = out->begin, .end = out->end, .domain = out->domain,
	};
	if ((w.gz = reportgzip_new()) == NULL) {
		snprintf(err, errlen, "%s: cannot start compression (out of memory)", name);
		return 0;
	}
	store_err[0] = '\0';
	ok = reportstore_read(store, begin, domain, w.policy, sizeof(w.policy), on_row, &w,
	    store_err, sizeof(store_err));
	if (ok && w.failure == NULL)
		(void)finish(&w);
	if (w.failure != NULL) {
		snprintf(err, errlen, "%s: %s", name, w.failure);
		ok = 0;
	} else if (!ok) {
		snprintf(err, errlen, "%s: %s", name, store_err);
	}
	reportgzip_free(w.gz);
	buffer_free(&w.xml);
	if (!ok)
		report_build_free(out);
	return ok;
}

void
report_build_free(struct report_build *b)
{
	free(b->gzip);
	b->gzip = NULL;
	b->gzip_len = 0;
}
