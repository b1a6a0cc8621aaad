/*
 * NAME
 *	test-reportxml - the XML of aggregate reports and their names: hostile text
 *	escaped into well-formed XML, values the schema refuses left out, a record's
 *	elements in the schema's order, stable unique-ids and file names (RFC 9990
 *	sections 3.1 and 3.6), gzip that inflates back to the same bytes
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "reports/reportbuild.h"
#include "reports/reportgzip.h"
#include "reports/reportxml.h"
#include "tests/unit/tap.h"

#define FFFD		"\xef\xbf\xbd"
#define DAY		1796428800LL	/* 2026-12-05T00:00:00Z */

struct escape_case {
	const char *name, *in, *want;
};

static const struct escape_case escape_cases[] = {
	{ "escape_markup", "a<b&c>\"d'e", "a&lt;b&amp;c&gt;&quot;d&apos;e" },
	{ "escape_keeps_entities_literal", "&amp;", "&amp;amp;" },
	{ "escape_keeps_utf8", "caf\xc3\xa9 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xf0\x9f\x98\x80" },
	{ "escape_replaces_lone_8bit", "a\xff" "b", "a" FFFD "b" },
	{ "escape_replaces_overlong", "\xc0\xaf", FFFD FFFD },
	{ "escape_replaces_controls", "a\x01\t\r\n\x7f" "b", "a" FFFD FFFD FFFD FFFD FFFD "b" },
	{ "escape_replaces_c1", "\xc2\x85", FFFD FFFD },
	{ "escape_replaces_surrogate", "\xed\xa0\x80", FFFD FFFD FFFD },
	{ "escape_replaces_noncharacter", "\xef\xbf\xbe", FFFD FFFD FFFD },
	{ "escape_replaces_beyond_unicode", "\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD },
	{ "escape_replaces_truncated_sequence", "x\xe2\x82", "x" FFFD FFFD },
	{ "escape_empty", "", "" },
};

static void
test_escape(void)
{
	size_t i;

	for (i = 0; i < sizeof(escape_cases) / sizeof(escape_cases[0]); i++) {
		struct buffer b = { 0 };

		TAP_OK(reportxml_text(&b, escape_cases[i].in), "%s_appends", escape_cases[i].name);
		TAP_STR_EQ(b.data, escape_cases[i].want, "%s", escape_cases[i].name);
		buffer_free(&b);
	}
}

static void
sample_row(struct report_row *row)
{
	memset(row, 0, sizeof(*row));
	snprintf(row->source_ip, sizeof(row->source_ip), "192.0.2.1");
	snprintf(row->disposition, sizeof(row->disposition), "none");
	snprintf(row->dkim_aligned, sizeof(row->dkim_aligned), "fail");
	snprintf(row->spf_aligned, sizeof(row->spf_aligned), "pass");
	row->reason_count = 1;
	snprintf(row->reason[0].type, sizeof(row->reason[0].type), "local_policy");
	snprintf(row->reason[0].comment, sizeof(row->reason[0].comment), "a<b");
	snprintf(row->header_from, sizeof(row->header_from), "ex&ample.com");
	row->has_envelope_from = 1;
	snprintf(row->envelope_to, sizeof(row->envelope_to), "rcpt.example");
	row->dkim_count = 2;
	snprintf(row->dkim[0].domain, sizeof(row->dkim[0].domain), "example.com");
	snprintf(row->dkim[0].selector, sizeof(row->dkim[0].selector), "s'1");
	snprintf(row->dkim[0].result, sizeof(row->dkim[0].result), "pass");
	snprintf(row->dkim[1].domain, sizeof(row->dkim[1].domain), "other.example");
	snprintf(row->dkim[1].result, sizeof(row->dkim[1].result), "permerror");
	snprintf(row->spf_domain, sizeof(row->spf_domain), "bounce.example.com");
	snprintf(row->spf_result, sizeof(row->spf_result), "softfail");
}

static const char sample_record[] =
    "  <record>\n"
    "    <row>\n"
    "      <source_ip>192.0.2.1</source_ip>\n"
    "      <count>7</count>\n"
    "      <policy_evaluated>\n"
    "        <disposition>none</disposition>\n"
    "        <dkim>fail</dkim>\n"
    "        <spf>pass</spf>\n"
    "        <reason>\n"
    "          <type>local_policy</type>\n"
    "          <comment>a&lt;b</comment>\n"
    "        </reason>\n"
    "      </policy_evaluated>\n"
    "    </row>\n"
    "    <identifiers>\n"
    "      <header_from>ex&amp;ample.com</header_from>\n"
    "      <envelope_from></envelope_from>\n"
    "      <envelope_to>rcpt.example</envelope_to>\n"
    "    </identifiers>\n"
    "    <auth_results>\n"
    "      <dkim>\n"
    "        <domain>example.com</domain>\n"
    "        <selector>s&apos;1</selector>\n"
    "        <result>pass</result>\n"
    "      </dkim>\n"
    "      <dkim>\n"
    "        <domain>other.example</domain>\n"
    "        <selector></selector>\n"
    "        <result>permerror</result>\n"
    "      </dkim>\n"
    "      <spf>\n"
    "        <domain>bounce.example.com</domain>\n"
    "        <scope>mfrom</scope>\n"
    "        <result>softfail</result>\n"
    "      </spf>\n"
    "    </auth_results>\n"
    "  </record>\n";

static void
test_record(void)
{
	struct report_row row;
	struct buffer b = { 0 };
	unsigned dropped = 0;

	sample_row(&row);
	TAP_INT_EQ(reportxml_record(&b, &row, 7, &dropped), REPORTXML_OK, "record_written");
	TAP_STR_EQ(b.data, sample_record, "record_elements_in_schema_order_and_escaped");
	TAP_INT_EQ(dropped, 0, "record_nothing_dropped");

	b.len = 0;
	row.has_envelope_from = 0;
	row.envelope_to[0] = '\0';
	row.spf_domain[0] = '\0';
	TAP_INT_EQ(reportxml_record(&b, &row, 1, &dropped), REPORTXML_OK, "record_minimal");
	TAP_OK(strstr(b.data, "envelope_from") == NULL && strstr(b.data, "envelope_to") == NULL
	    && strstr(b.data, "<spf>\n") == NULL, "record_omits_absent_optional_elements");

	b.len = 0;
	sample_row(&row);
	snprintf(row.dkim[0].result, sizeof(row.dkim[0].result), "softfail");
	snprintf(row.spf_result, sizeof(row.spf_result), "bogus");
	snprintf(row.reason[0].type, sizeof(row.reason[0].type), "forwarded");
	TAP_INT_EQ(reportxml_record(&b, &row, 1, &dropped), REPORTXML_OK, "record_with_bad_values");
	TAP_INT_EQ(dropped, 3, "record_counts_values_left_out");
	TAP_OK(strstr(b.data, "softfail") == NULL && strstr(b.data, "bogus") == NULL
	    && strstr(b.data, "<dkim>\n        <domain>other.example") != NULL,
	    "record_leaves_out_dkim_and_spf_results_the_schema_refuses");
	TAP_OK(strstr(b.data, "<type>other</type>") != NULL && strstr(b.data, "forwarded") == NULL,
	    "record_writes_unknown_reason_as_other");

	b.len = 0;
	b.data[0] = '\0';
	dropped = 0;
	sample_row(&row);
	snprintf(row.disposition, sizeof(row.disposition), "discard");
	TAP_INT_EQ(reportxml_record(&b, &row, 1, &dropped), REPORTXML_REFUSED,
	    "record_refuses_unknown_disposition");
	TAP_INT_EQ(b.len, 0, "record_refused_appends_nothing");
	sample_row(&row);
	snprintf(row.dkim_aligned, sizeof(row.dkim_aligned), "neutral");
	TAP_OK(!reportxml_row_reportable(&row), "record_refuses_dmarc_dkim_not_pass_or_fail");
	sample_row(&row);
	snprintf(row.disposition, sizeof(row.disposition), "pass");
	TAP_OK(reportxml_row_reportable(&row), "record_accepts_disposition_pass");
	buffer_free(&b);
}

static void
test_head(void)
{
	struct report_policy policy;
	struct reportxml_meta meta = {
		.org_name = "Org & Co", .email = "dmarc@mx.example.net",
		.report_id = "20261205abc", .generator = "Signet test",
		.begin = DAY, .end = DAY + 86399, .domain = "example.com",
	};
	struct buffer b = { 0 };

	memset(&policy, 0, sizeof(policy));
	snprintf(policy.p, sizeof(policy.p), "reject");
	snprintf(policy.sp, sizeof(policy.sp), "weird");
	snprintf(policy.adkim, sizeof(policy.adkim), "s");
	snprintf(policy.aspf, sizeof(policy.aspf), "r");
	snprintf(policy.testing, sizeof(policy.testing), "n");
	snprintf(policy.discovery_method, sizeof(policy.discovery_method), "treewalk");
	TAP_INT_EQ(reportxml_head(&b, &meta, &policy), REPORTXML_OK, "head_written");
	TAP_OK(strncmp(b.data, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback xmlns=\""
	    "urn:ietf:params:xml:ns:dmarc-2.0\">\n  <version>1.0</version>\n", 99) == 0,
	    "head_declares_namespace_and_version");
	TAP_OK(strstr(b.data, "<org_name>Org &amp; Co</org_name>") != NULL, "head_escapes_org_name");
	TAP_OK(strstr(b.data, "<begin>1796428800</begin>") != NULL
	    && strstr(b.data, "<end>1796515199</end>") != NULL, "head_date_range_is_the_utc_day");
	TAP_OK(strstr(b.data, "<sp>") == NULL && strstr(b.data, "<np>") == NULL
	    && strstr(b.data, "<fo>") == NULL, "head_omits_invalid_or_unpublished_sp_np_fo");
	TAP_OK(strstr(b.data, "<p>reject</p>") != NULL && strstr(b.data, "<adkim>s</adkim>") != NULL
	    && strstr(b.data, "<discovery_method>treewalk</discovery_method>") != NULL,
	    "head_writes_published_policy");
	b.len = 0;
	snprintf(policy.p, sizeof(policy.p), "%s", "");
	TAP_INT_EQ(reportxml_head(&b, &meta, &policy), REPORTXML_REFUSED, "head_refuses_missing_p");
	buffer_free(&b);
}

static int
alnum_only(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
			return 0;
	return 1;
}

static void
test_names(void)
{
	char id[REPORT_UNIQUE_ID_MAX], again[REPORT_UNIQUE_ID_MAX], other[REPORT_UNIQUE_ID_MAX];
	char name[REPORT_FILENAME_MAX], want[REPORT_FILENAME_MAX];

	TAP_OK(report_unique_id("mx.example.net", "example.com", DAY, id, sizeof(id)),
	    "unique_id_made");
	TAP_INT_EQ(strlen(id), 24, "unique_id_is_date_and_16_hex_digits");
	TAP_OK(strncmp(id, "20261205", 8) == 0 && alnum_only(id), "unique_id_alpha_digit_only");
	TAP_OK(report_unique_id("MX.Example.NET", "example.com", DAY, again, sizeof(again))
	    && strcmp(id, again) == 0, "unique_id_stable_and_case_blind");
	TAP_OK(report_unique_id("mx2.example.net", "example.com", DAY, other, sizeof(other))
	    && strcmp(id, other) != 0, "unique_id_differs_per_receiver");
	TAP_OK(report_unique_id("mx.example.net", "example.org", DAY, other, sizeof(other))
	    && strcmp(id, other) != 0, "unique_id_differs_per_domain");
	TAP_OK(report_unique_id("mx.example.net", "example.com", DAY + 86400, other,
	    sizeof(other)) && strcmp(id, other) != 0 && strncmp(other, "20261206", 8) == 0,
	    "unique_id_differs_per_day");
	TAP_OK(!report_unique_id("mx.example.net", "example.com", DAY, other, 10),
	    "unique_id_refuses_short_buffer");

	TAP_OK(report_filename("mx.example.net", "Example.COM", DAY, id, name, sizeof(name)),
	    "filename_made");
	snprintf(want, sizeof(want), "mx.example.net!example.com!1796428800!1796515199!%s.xml.gz",
	    id);
	TAP_STR_EQ(name, want, "filename_follows_the_abnf");
	TAP_OK(!report_filename("mx.example.net", "ex/ample.com", DAY, id, name, sizeof(name)),
	    "filename_refuses_slash_in_domain");
	TAP_OK(!report_filename("mx.example.net", "ex!ample.com", DAY, id, name, sizeof(name)),
	    "filename_refuses_bang_in_domain");
	TAP_OK(!report_filename("mx example.net", "example.com", DAY, id, name, sizeof(name)),
	    "filename_refuses_blank_in_receiver");
	TAP_OK(!report_filename("mx.example.net", "_dmarc.example.com", DAY, id, name,
	    sizeof(name)), "filename_refuses_underscore_not_a_domain_name");
	TAP_OK(!report_filename("mx.example.net", "", DAY, id, name, sizeof(name)),
	    "filename_refuses_empty_domain");
	TAP_OK(!report_filename("mx.example.net", "example.com", DAY, "a-b", name, sizeof(name)),
	    "filename_refuses_unique_id_not_alpha_digit");

	TAP_OK(!report_period_ended(DAY, DAY + 86399), "period_open_at_its_last_second");
	TAP_OK(report_period_ended(DAY, DAY + 86400), "period_ended_at_next_midnight");
}

static void
test_gzip(void)
{
	static const char text[] = "<feedback>hello, gzip</feedback>\n";
	unsigned char *one = NULL, *two = NULL, plain[256];
	size_t one_len = 0, two_len = 0;
	struct reportgzip *gz;
	z_stream z;
	int i, rc;

	for (i = 0; i < 2; i++) {
		gz = reportgzip_new();
		TAP_OK(gz != NULL && reportgzip_write(gz, text, 10)
		    && reportgzip_write(gz, text + 10, sizeof(text) - 11)
		    && reportgzip_finish(gz, i == 0 ? &one : &two, i == 0 ? &one_len : &two_len),
		    "gzip_stream_%d", i);
		reportgzip_free(gz);
	}
	TAP_OK(one_len > 18 && one[0] == 0x1f && one[1] == 0x8b, "gzip_has_gzip_magic");
	TAP_OK(one_len == two_len && memcmp(one, two, one_len) == 0, "gzip_same_input_same_bytes");
	TAP_OK(one[4] == 0 && one[5] == 0 && one[6] == 0 && one[7] == 0, "gzip_header_time_zero");
	memset(&z, 0, sizeof(z));
	rc = inflateInit2(&z, 15 + 16);
	z.next_in = one;
	z.avail_in = (uInt)one_len;
	z.next_out = plain;
	z.avail_out = sizeof(plain);
	rc = rc == Z_OK ? inflate(&z, Z_FINISH) : rc;
	TAP_OK(rc == Z_STREAM_END && z.total_out == sizeof(text) - 1
	    && memcmp(plain, text, sizeof(text) - 1) == 0, "gzip_inflates_to_the_input");
	inflateEnd(&z);
	free(one);
	free(two);
}

int
main(void)
{
	test_escape();
	test_record();
	test_head();
	test_names();
	test_gzip();
	return tap_done();
}
