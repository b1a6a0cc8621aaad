/*
 * NAME
 *	reportxml.c - write the XML of a DMARC aggregate report
 * SYNOPSIS
 *	#include "reports/reportxml.h"
 * DESCRIPTION
 *	See reportxml.h for what is written and what is left out.  The document is
 *	indented two spaces per level, like the specification's sample; gzip takes back
 *	nearly all that the blanks cost.
 * DIAGNOSTICS
 *	REPORTXML_OK, REPORTXML_NOMEM or REPORTXML_REFUSED.
 * SEE ALSO
 *	reportxml.h, reportbuild.c
 */
#include <string.h>

#include "reports/reportxml.h"

#define REPLACEMENT	"\xef\xbf\xbd"	/* U+FFFD in UTF-8 */

static const char *const disposition_values[] = { "none", "pass", "quarantine", "reject", NULL };
static const char *const policy_values[] = { "none", "quarantine", "reject", NULL };
static const char *const dmarc_result_values[] = { "pass", "fail", NULL };
static const char *const alignment_values[] = { "r", "s", NULL };
static const char *const testing_values[] = { "n", "y", NULL };
static const char *const discovery_values[] = { "psl", "treewalk", NULL };
static const char *const override_values[] = { "local_policy", "mailing_list", "other",
	"policy_test_mode", "trusted_forwarder", NULL };
static const char *const dkim_result_values[] = { "none", "pass", "fail", "policy",
	"neutral", "temperror", "permerror", NULL };
static const char *const spf_result_values[] = { "none", "pass", "fail", "softfail",
	"policy", "neutral", "temperror", "permerror", NULL };

static int
one_of(const char *word, const char *const *values)
{
	for (; *values != NULL; values++)
		if (strcmp(word, *values) == 0)
			return 1;
	return 0;
}

/* Bytes of the well-formed UTF-8 sequence at p (n bytes left) when XML 1.0 allows its
 * code point in text and it is not a control character; 0 otherwise. */
static size_t
allowed_char(const unsigned char *p, size_t n)
{
	unsigned long cp;
	size_t len, i;

	if (p[0] < 0x80)
		return p[0] >= 0x20 && p[0] != 0x7f;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;			/* overlong, or beyond Unicode */
	if (cp <= 0x9f || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
		return 0;			/* C1, surrogates, non-characters */
	return len;
}

static const char *
entity(unsigned char c)
{
	switch (c) {
	case '&':
		return "&amp;";
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '"':
		return "&quot;";
	case '\'':
		return "&apos;";
	}
	return NULL;
}

int
reportxml_text(struct buffer *out, const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t n = strlen(text), len;
	const char *ref;
	int ok = 1;

	while (ok && n > 0) {
		if ((ref = entity(*p)) != NULL) {
			ok = buffer_append_str(out, ref);
			len = 1;
		} else if ((len = allowed_char(p, n)) > 0) {
			ok = buffer_append(out, p, len);
		} else {
			ok = buffer_append_str(out, REPLACEMENT);
			len = 1;
		}
		p += len;
		n -= len;
	}
	/* An empty text still leaves a NUL-terminated buffer, as buffer.h promises. */
	return ok && buffer_append(out, "", 0);
}

/* indent spaces, <name>text</name>, newline. */
static int
element(struct buffer *out, int indent, const char *name, const char *text)
{
	return buffer_printf(out, "%*s<%s>", indent, "", name) && reportxml_text(out, text)
	    && buffer_printf(out, "</%s>\n", name);
}

static int
element_number(struct buffer *out, int indent, const char *name, long long value)
{
	return buffer_printf(out, "%*s<%s>%lld</%s>\n", indent, "", name, value, name);
}

/* Forgets what was appended since mark (a document never holds half an element). */
static void
rewind_to(struct buffer *out, size_t mark)
{
	out->len = mark;
	if (out->data != NULL)
		out->data[mark] = '\0';
}

static int
element_if(struct buffer *out, int indent, const char *name, const char *value,
    const char *const *values)
{
	if (!one_of(value, values))
		return 1;
	return element(out, indent, name, value);
}

static int
policy_published(struct buffer *out, const char *domain, const struct report_policy *p)
{
	return buffer_append_str(out, "  <policy_published>\n")
	    && element(out, 4, "domain", domain)
	    && element_if(out, 4, "discovery_method", p->discovery_method, discovery_values)
	    && element(out, 4, "p", p->p)
	    && element_if(out, 4, "sp", p->sp, policy_values)
	    && element_if(out, 4, "np", p->np, policy_values)
	    && (p->fo[0] == '\0' || element(out, 4, "fo", p->fo))
	    && element_if(out, 4, "adkim", p->adkim, alignment_values)
	    && element_if(out, 4, "aspf", p->aspf, alignment_values)
	    && element_if(out, 4, "testing", p->testing, testing_values)
	    && buffer_append_str(out, "  </policy_published>\n");
}

int
reportxml_head(struct buffer *out, const struct reportxml_meta *meta,
    const struct report_policy *policy)
{
	size_t mark = out->len;
	int ok;

	if (!one_of(policy->p, policy_values))
		return REPORTXML_REFUSED;
	ok = buffer_append_str(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<feedback xmlns=\"" REPORTXML_NAMESPACE "\">\n"
	    "  <version>1.0</version>\n"
	    "  <report_metadata>\n")
	    && element(out, 4, "org_name", meta->org_name)
	    && element(out, 4, "email", meta->email)
	    && element(out, 4, "report_id", meta->report_id)
	    && buffer_append_str(out, "    <date_range>\n")
	    && element_number(out, 6, "begin", meta->begin)
	    && element_number(out, 6, "end", meta->end)
	    && buffer_append_str(out, "    </date_range>\n")
	    && element(out, 4, "generator", meta->generator)
	    && buffer_append_str(out, "  </report_metadata>\n")
	    && policy_published(out, meta->domain, policy);
	if (!ok)
		rewind_to(out, mark);
	return ok ? REPORTXML_OK : REPORTXML_NOMEM;
}

int
reportxml_row_reportable(const struct report_row *row)
{
	return one_of(row->disposition, disposition_values)
	    && one_of(row->dkim_aligned, dmarc_result_values)
	    && one_of(row->spf_aligned, dmarc_result_values);
}

static int
reason(struct buffer *out, const struct report_reason *r, unsigned *dropped)
{
	const char *type = r->type;

	if (!one_of(type, override_values)) {
		type = "other";
		(*dropped)++;
	}
	return buffer_append_str(out, "        <reason>\n")
	    && element(out, 10, "type", type)
	    && (r->comment[0] == '\0' || element(out, 10, "comment", r->comment))
	    && buffer_append_str(out, "        </reason>\n");
}

static int
row_element(struct buffer *out, const struct report_row *row, unsigned long count,
    unsigned *dropped)
{
	size_t i;
	int ok;

	ok = buffer_append_str(out, "    <row>\n")
	    && element(out, 6, "source_ip", row->source_ip)
	    && buffer_printf(out, "      <count>%lu</count>\n", count)
	    && buffer_append_str(out, "      <policy_evaluated>\n")
	    && element(out, 8, "disposition", row->disposition)
	    && element(out, 8, "dkim", row->dkim_aligned)
	    && element(out, 8, "spf", row->spf_aligned);
	for (i = 0; ok && i < row->reason_count && i < REPORT_REASON_MAX; i++)
		ok = reason(out, &row->reason[i], dropped);
	return ok && buffer_append_str(out, "      </policy_evaluated>\n    </row>\n");
}

static int
identifiers(struct buffer *out, const struct report_row *row)
{
	return buffer_append_str(out, "    <identifiers>\n")
	    && element(out, 6, "header_from", row->header_from)
	    && (!row->has_envelope_from || element(out, 6, "envelope_from", row->envelope_from))
	    && (row->envelope_to[0] == '\0' || element(out, 6, "envelope_to", row->envelope_to))
	    && buffer_append_str(out, "    </identifiers>\n");
}

static int
dkim_result(struct buffer *out, const struct report_dkim *d, unsigned *dropped)
{
	if (!one_of(d->result, dkim_result_values)) {
		(*dropped)++;
		return 1;
	}
	return buffer_append_str(out, "      <dkim>\n")
	    && element(out, 8, "domain", d->domain)
	    && element(out, 8, "selector", d->selector)
	    && element(out, 8, "result", d->result)
	    && buffer_append_str(out, "      </dkim>\n");
}

static int
spf_result(struct buffer *out, const struct report_row *row, unsigned *dropped)
{
	if (row->spf_domain[0] == '\0')
		return 1;
	if (!one_of(row->spf_result, spf_result_values)) {
		(*dropped)++;
		return 1;
	}
	return buffer_append_str(out, "      <spf>\n")
	    && element(out, 8, "domain", row->spf_domain)
	    && buffer_append_str(out, "        <scope>mfrom</scope>\n")
	    && element(out, 8, "result", row->spf_result)
	    && buffer_append_str(out, "      </spf>\n");
}

static int
auth_results(struct buffer *out, const struct report_row *row, unsigned *dropped)
{
	size_t i;
	int ok = buffer_append_str(out, "    <auth_results>\n");

	for (i = 0; ok && i < row->dkim_count && i < REPORT_DKIM_MAX; i++)
		ok = dkim_result(out, &row->dkim[i], dropped);
	return ok && spf_result(out, row, dropped)
	    && buffer_append_str(out, "    </auth_results>\n");
}

int
reportxml_record(struct buffer *out, const struct report_row *row, unsigned long count,
    unsigned *dropped)
{
	size_t mark = out->len;
	unsigned dropped_here = 0;
	int ok;

	if (!reportxml_row_reportable(row))
		return REPORTXML_REFUSED;
	ok = buffer_append_str(out, "  <record>\n")
	    && row_element(out, row, count, &dropped_here)
	    && identifiers(out, row)
	    && auth_results(out, row, &dropped_here)
	    && buffer_append_str(out, "  </record>\n");
	if (!ok) {
		rewind_to(out, mark);
		return REPORTXML_NOMEM;
	}
	*dropped += dropped_here;
	return REPORTXML_OK;
}

int
reportxml_tail(struct buffer *out)
{
	return buffer_append_str(out, "</feedback>\n") ? REPORTXML_OK : REPORTXML_NOMEM;
}
