/*
 * NAME
 *	test-reportrow - the text of a DMARC report row and policy: exact format, round trips
 *	of hostile bytes, every refusal of the decoder, the sizes at the edges, UTC days
 * DESCRIPTION
 *	Every text handed to a decoder is an exact-size heap copy without a NUL, so that
 *	AddressSanitizer catches a read past len.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/reportrow.h"
#include "tests/unit/tap.h"

/* An exact-size heap copy, no NUL: the decoder must not read past len. */
static char *exact_copy(const char *text, size_t len)
{
	char   *copy = malloc(len ? len : 1);

	if (copy == NULL)
		abort();
	memcpy(copy, text, len);
	return copy;
}

static int decode_row(const char *text, size_t len, struct report_row *out)
{
	char   *copy = exact_copy(text, len);
	int	ok = report_row_decode(copy, len, out);

	free(copy);
	return ok;
}

static int decode_policy(const char *text, size_t len, struct report_policy *out)
{
	char   *copy = exact_copy(text, len);
	int	ok = report_policy_decode(copy, len, out);

	free(copy);
	return ok;
}

static void sample_row(struct report_row *row)
{
	memset(row, 0, sizeof(*row));
	snprintf(row->source_ip, sizeof(row->source_ip), "%s", "192.0.2.1");
	snprintf(row->disposition, sizeof(row->disposition), "%s", "none");
	snprintf(row->dkim_aligned, sizeof(row->dkim_aligned), "%s", "pass");
	snprintf(row->spf_aligned, sizeof(row->spf_aligned), "%s", "fail");
	row->reason_count = 1;
	snprintf(row->reason[0].type, sizeof(row->reason[0].type), "%s", "local_policy");
	snprintf(row->reason[0].comment, sizeof(row->reason[0].comment), "%s",
	    "trusted forwarder 100%");
	snprintf(row->header_from, sizeof(row->header_from), "%s", "example.com");
	row->has_envelope_from = 1;
	snprintf(row->envelope_from, sizeof(row->envelope_from), "%s", "bounce.example.com");
	snprintf(row->envelope_to, sizeof(row->envelope_to), "%s", "example.net");
	row->dkim_count = 2;
	snprintf(row->dkim[0].domain, sizeof(row->dkim[0].domain), "%s", "example.com");
	snprintf(row->dkim[0].selector, sizeof(row->dkim[0].selector), "%s", "s1");
	snprintf(row->dkim[0].result, sizeof(row->dkim[0].result), "%s", "pass");
	snprintf(row->dkim[1].domain, sizeof(row->dkim[1].domain), "%s", "esp.example");
	snprintf(row->dkim[1].selector, sizeof(row->dkim[1].selector), "%s", "k");
	snprintf(row->dkim[1].result, sizeof(row->dkim[1].result), "%s", "fail");
	snprintf(row->spf_domain, sizeof(row->spf_domain), "%s", "bounce.example.com");
	snprintf(row->spf_result, sizeof(row->spf_result), "%s", "softfail");
}

static void sample_policy(struct report_policy *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->domain, sizeof(p->domain), "%s", "example.com");
	snprintf(p->discovery_method, sizeof(p->discovery_method), "%s", "treewalk");
	snprintf(p->p, sizeof(p->p), "%s", "reject");
	snprintf(p->np, sizeof(p->np), "%s", "quarantine");
	snprintf(p->adkim, sizeof(p->adkim), "%s", "s");
	snprintf(p->aspf, sizeof(p->aspf), "%s", "r");
	snprintf(p->testing, sizeof(p->testing), "%s", "n");
	snprintf(p->fo, sizeof(p->fo), "%s", "1:d");
	snprintf(p->rua, sizeof(p->rua), "%s", "mailto:dmarc@example.com,mailto:x@y.example!10m");
}

/* Every byte 1..255 in turn, as much as fits in an array of size bytes. */
static void fill_hostile(char *array, size_t size, unsigned start)
{
	for (size_t i = 0; i + 1 < size; i++)
		array[i] = (char)(1 + (start + i) % 255);
	array[size - 1] = '\0';
}

#define HOSTILE(array, start) fill_hostile((array), sizeof(array), (start))

/* Every field at its longest, every byte one the encoder escapes. */
static void largest_row(struct report_row *row)
{
	memset(row, 0, sizeof(*row));
	memset(row->source_ip, '\x80', sizeof(row->source_ip) - 1);
	memset(row->disposition, '\t', sizeof(row->disposition) - 1);
	memset(row->dkim_aligned, '%', sizeof(row->dkim_aligned) - 1);
	memset(row->spf_aligned, '\n', sizeof(row->spf_aligned) - 1);
	row->reason_count = REPORT_REASON_MAX;
	for (size_t i = 0; i < REPORT_REASON_MAX; i++) {
		memset(row->reason[i].type, ' ', sizeof(row->reason[i].type) - 1);
		memset(row->reason[i].comment, '\xff', sizeof(row->reason[i].comment) - 1);
	}
	memset(row->header_from, '\x01', sizeof(row->header_from) - 1);
	row->has_envelope_from = 1;
	memset(row->envelope_from, '\x7f', sizeof(row->envelope_from) - 1);
	memset(row->envelope_to, '\r', sizeof(row->envelope_to) - 1);
	row->dkim_count = REPORT_DKIM_MAX;
	for (size_t i = 0; i < REPORT_DKIM_MAX; i++) {
		memset(row->dkim[i].domain, '%', sizeof(row->dkim[i].domain) - 1);
		memset(row->dkim[i].selector, '\xc3', sizeof(row->dkim[i].selector) - 1);
		memset(row->dkim[i].result, '\x1f', sizeof(row->dkim[i].result) - 1);
	}
	memset(row->spf_domain, ' ', sizeof(row->spf_domain) - 1);
	memset(row->spf_result, '\xfe', sizeof(row->spf_result) - 1);
}

static void largest_policy(struct report_policy *p)
{
	memset(p, 0, sizeof(*p));
	memset(p->domain, '%', sizeof(p->domain) - 1);
	memset(p->discovery_method, '\t', sizeof(p->discovery_method) - 1);
	memset(p->p, '\n', sizeof(p->p) - 1);
	memset(p->sp, '\x80', sizeof(p->sp) - 1);
	memset(p->np, ' ', sizeof(p->np) - 1);
	memset(p->adkim, '%', sizeof(p->adkim) - 1);
	memset(p->aspf, '%', sizeof(p->aspf) - 1);
	memset(p->testing, '%', sizeof(p->testing) - 1);
	memset(p->fo, '%', sizeof(p->fo) - 1);
	memset(p->rua, '%', sizeof(p->rua) - 1);
	memset(p->ruf, '\xff', sizeof(p->ruf) - 1);
}

static const char SAMPLE_ROW_TEXT[] =
    "1\t192.0.2.1\tnone\tpass\tfail\t1\tlocal_policy\ttrusted%20forwarder%20100%25\t"
    "example.com\t1\tbounce.example.com\texample.net\t2\texample.com\ts1\tpass\t"
    "esp.example\tk\tfail\tbounce.example.com\tsoftfail";

static void test_format(void)
{
	struct report_row row, back;
	struct report_policy policy, pback;
	char	text[REPORT_ROW_TEXT_MAX], again[REPORT_ROW_TEXT_MAX];
	size_t	n;

	sample_row(&row);
	n = report_row_encode(&row, text, sizeof(text));
	TAP_STR_EQ(text, SAMPLE_ROW_TEXT, "row_encode_writes_the_documented_format");
	TAP_INT_EQ(n, strlen(SAMPLE_ROW_TEXT), "row_encode_returns_the_length");
	TAP_OK(decode_row(text, n, &back) && memcmp(&row, &back, sizeof(row)) == 0,
	    "row_round_trip");

	sample_policy(&policy);
	n = report_policy_encode(&policy, text, sizeof(text));
	TAP_STR_EQ(text, "1\texample.com\ttreewalk\treject\t\tquarantine\ts\tr\tn\t1:d\t"
	    "mailto:dmarc@example.com,mailto:x@y.example!10m\t",
	    "policy_encode_writes_the_documented_format_empty_fields_between_tabs");
	TAP_OK(decode_policy(text, n, &pback) && memcmp(&policy, &pback, sizeof(policy)) == 0,
	    "policy_round_trip");

	memset(&row, 0, sizeof(row));
	n = report_row_encode(&row, text, sizeof(text));
	TAP_STR_EQ(text, "1\t\t\t\t\t0\t\t0\t\t\t0\t\t", "row_encode_of_an_empty_row");
	TAP_OK(decode_row(text, n, &back) && memcmp(&row, &back, sizeof(row)) == 0,
	    "empty_row_round_trip");

	sample_row(&row);
	row.has_envelope_from = 7;
	n = report_row_encode(&row, text, sizeof(text));
	TAP_OK(decode_row(text, n, &back) && back.has_envelope_from == 1,
	    "row_has_envelope_from_any_true_value_is_1");
	TAP_OK(report_row_encode(&back, again, sizeof(again)) == n && strcmp(text, again) == 0,
	    "row_decode_then_encode_gives_the_same_text");
}

static void test_hostile(void)
{
	struct report_row row, back;
	struct report_policy policy, pback;
	char	text[REPORT_ROW_TEXT_MAX];
	size_t	n;

	sample_row(&row);
	HOSTILE(row.header_from, 0);
	HOSTILE(row.envelope_from, 60);
	HOSTILE(row.envelope_to, 120);
	HOSTILE(row.dkim[0].domain, 180);
	HOSTILE(row.dkim[1].selector, 240);
	HOSTILE(row.reason[0].comment, 9);
	snprintf(row.dkim[0].selector, sizeof(row.dkim[0].selector), "%s", "a\tb\nc%d e\xc3\xa9");
	n = report_row_encode(&row, text, sizeof(text));
	TAP_OK(n > 0 && strlen(text) == n, "row_encode_takes_every_byte_1_to_255");
	TAP_OK(memchr(text, '\n', n) == NULL && memchr(text, '\r', n) == NULL,
	    "row_text_holds_no_newline");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)text[i] < 0x21 && text[i] != '\t')
			TAP_OK(0, "row_text_holds_only_printable_bytes_and_tabs (0x%02x at %zu)",
			    (unsigned char)text[i], i);
	TAP_OK(decode_row(text, n, &back) && memcmp(&row, &back, sizeof(row)) == 0,
	    "hostile_row_round_trip");
	TAP_STR_EQ(back.dkim[0].selector, "a\tb\nc%d e\xc3\xa9", "hostile_selector_comes_back");

	sample_policy(&policy);
	HOSTILE(policy.rua, 3);
	HOSTILE(policy.ruf, 77);
	HOSTILE(policy.domain, 200);
	n = report_policy_encode(&policy, text, sizeof(text));
	TAP_OK(n > 0 && decode_policy(text, n, &pback) &&
	    memcmp(&policy, &pback, sizeof(policy)) == 0, "hostile_policy_round_trip");
}

static void test_sizes(void)
{
	static struct report_row row, back;
	static struct report_policy policy, pback;
	static char text[REPORT_ROW_TEXT_MAX + 1];
	size_t	n, m;

	largest_row(&row);
	n = report_row_encode(&row, text, REPORT_ROW_TEXT_MAX);
	TAP_OK(n > 0, "the_largest_row_fits_in_REPORT_ROW_TEXT_MAX (%zu bytes)", n);
	TAP_OK(decode_row(text, n, &back) && memcmp(&row, &back, sizeof(row)) == 0,
	    "largest_row_round_trip");
	largest_policy(&policy);
	m = report_policy_encode(&policy, text, REPORT_ROW_TEXT_MAX);
	TAP_OK(m > 0, "the_largest_policy_fits_in_REPORT_ROW_TEXT_MAX (%zu bytes)", m);
	TAP_OK(decode_policy(text, m, &pback) && memcmp(&policy, &pback, sizeof(policy)) == 0,
	    "largest_policy_round_trip");

	sample_row(&row);
	n = strlen(SAMPLE_ROW_TEXT);
	TAP_INT_EQ(report_row_encode(&row, text, n + 1), n, "row_encode_fits_exactly_len_plus_nul");
	TAP_INT_EQ(report_row_encode(&row, text, n), 0, "row_encode_one_byte_short_returns_0");
	TAP_STR_EQ(text, "", "row_encode_one_byte_short_leaves_an_empty_string");
	TAP_INT_EQ(report_row_encode(&row, text, 0), 0, "row_encode_into_nothing_returns_0");
	sample_policy(&policy);
	TAP_INT_EQ(report_policy_encode(&policy, text, 10), 0, "policy_encode_too_short_returns_0");

	row.reason_count = REPORT_REASON_MAX + 1;
	TAP_INT_EQ(report_row_encode(&row, text, sizeof(text)), 0,
	    "row_encode_refuses_too_many_reasons");
	sample_row(&row);
	row.dkim_count = REPORT_DKIM_MAX + 1;
	TAP_INT_EQ(report_row_encode(&row, text, sizeof(text)), 0,
	    "row_encode_refuses_too_many_dkim_results");
	sample_row(&row);
	memset(row.header_from, 'a', sizeof(row.header_from));	/* no NUL */
	TAP_INT_EQ(report_row_encode(&row, text, sizeof(text)), 0,
	    "row_encode_refuses_a_field_without_its_nul");
	sample_policy(&policy);
	memset(policy.adkim, 's', sizeof(policy.adkim));
	TAP_INT_EQ(report_policy_encode(&policy, text, sizeof(text)), 0,
	    "policy_encode_refuses_a_field_without_its_nul");
}

/* SAMPLE_ROW_TEXT with its field number `field` (0: the version) replaced by value. */
static size_t row_with_field(char *out, size_t size, size_t field, const char *value)
{
	const char *p = SAMPLE_ROW_TEXT;
	size_t	n = 0, len;

	for (size_t i = 0; i < field; i++)
		p = strchr(p, '\t') + 1;
	len = strcspn(p, "\t");
	n = (size_t)snprintf(out, size, "%.*s%s%s", (int)(p - SAMPLE_ROW_TEXT), SAMPLE_ROW_TEXT,
	    value, p + len);
	return n;
}

#define FIELD_SOURCE_IP		1
#define FIELD_REASON_COUNT	5
#define FIELD_REASON_COMMENT	7
#define FIELD_HEADER_FROM	8
#define FIELD_HAS_ENVELOPE_FROM	9
#define FIELD_DKIM_COUNT	12

static void refused(size_t field, const char *value, const char *name)
{
	char	text[REPORT_ROW_TEXT_MAX];
	size_t	n = row_with_field(text, sizeof(text), field, value);
	struct report_row row;

	memset(&row, 0x55, sizeof(row));
	TAP_OK(!decode_row(text, n, &row) && row.header_from[0] == '\0' && row.dkim_count == 0,
	    "row_decode_refuses_%s (and leaves a zeroed row)", name);
}

static void test_refusals(void)
{
	char	text[REPORT_ROW_TEXT_MAX], longest[REPORT_DOMAIN_MAX + 1];
	char	comment[3 * REPORT_COMMENT_MAX + 1];
	struct report_row row;
	struct report_policy policy;
	size_t	n = strlen(SAMPLE_ROW_TEXT);

	TAP_OK(decode_row(SAMPLE_ROW_TEXT, n, &row), "the_sample_row_decodes");
	refused(0, "2", "an_unknown_version");
	refused(0, "", "an_empty_version");
	refused(0, "11", "version_11");
	refused(FIELD_SOURCE_IP, "192.0.2.1%4", "a_cut_escape");
	refused(FIELD_SOURCE_IP, "192.0.2.1%", "a_lone_percent");
	refused(FIELD_SOURCE_IP, "%G0", "a_non_hex_escape");
	refused(FIELD_SOURCE_IP, "%e9", "a_lower_case_escape");
	refused(FIELD_SOURCE_IP, "%41", "an_escape_of_a_byte_left_as_it_is");
	refused(FIELD_SOURCE_IP, "a%00b", "an_escaped_nul");
	refused(FIELD_SOURCE_IP, "a b", "a_raw_space");
	refused(FIELD_SOURCE_IP, "a\xc3\xa9", "raw_8bit_bytes");
	refused(FIELD_SOURCE_IP, "a\x7f", "a_raw_del");
	refused(FIELD_SOURCE_IP, "a\nb", "a_raw_newline");
	refused(FIELD_SOURCE_IP, "0123456789012345678901234567890123456789012345",
	    "a_source_ip_one_byte_over_its_array");
	refused(FIELD_REASON_COUNT, "3", "a_reason_count_over_its_maximum");
	refused(FIELD_REASON_COUNT, "01", "a_count_with_a_leading_zero");
	refused(FIELD_REASON_COUNT, "", "an_empty_count");
	refused(FIELD_REASON_COUNT, "-1", "a_negative_count");
	refused(FIELD_REASON_COUNT, "99999999999999999999999999", "an_overflowing_count");
	refused(FIELD_REASON_COUNT, "2", "a_count_larger_than_the_fields_that_follow");
	refused(FIELD_REASON_COUNT, "0", "a_count_smaller_than_the_fields_that_follow");
	refused(FIELD_HAS_ENVELOPE_FROM, "2", "has_envelope_from_2");
	refused(FIELD_DKIM_COUNT, "9", "a_dkim_count_over_its_maximum");
	refused(FIELD_DKIM_COUNT, "18446744073709551617", "a_dkim_count_that_wraps");

	memset(longest, 'a', sizeof(longest) - 2);
	longest[sizeof(longest) - 2] = '\0';	/* 253 bytes: fits */
	n = row_with_field(text, sizeof(text), FIELD_HEADER_FROM, longest);
	TAP_OK(decode_row(text, n, &row) && strlen(row.header_from) == REPORT_DOMAIN_MAX - 1,
	    "row_decode_takes_a_domain_that_fills_its_array");
	longest[sizeof(longest) - 2] = 'a';	/* 254 bytes: one too many */
	longest[sizeof(longest) - 1] = '\0';
	refused(FIELD_HEADER_FROM, longest, "a_domain_one_byte_over_its_array");
	for (size_t i = 0; i < REPORT_COMMENT_MAX - 1; i++)
		memcpy(comment + 3 * i, "%25", 4);
	n = row_with_field(text, sizeof(text), FIELD_REASON_COMMENT, comment);
	TAP_OK(decode_row(text, n, &row) && strlen(row.reason[0].comment) == REPORT_COMMENT_MAX - 1,
	    "row_decode_takes_an_escaped_comment_that_fills_its_array");
	memcpy(comment + strlen(comment), "%25", 4);
	refused(FIELD_REASON_COMMENT, comment, "an_escaped_comment_one_byte_over_its_array");

	n = strlen(SAMPLE_ROW_TEXT);
	TAP_OK(!decode_row(SAMPLE_ROW_TEXT, n - strlen("\tsoftfail"), &row),
	    "row_decode_refuses_a_missing_field");
	snprintf(text, sizeof(text), "%s\textra", SAMPLE_ROW_TEXT);
	TAP_OK(!decode_row(text, strlen(text), &row), "row_decode_refuses_an_extra_field");
	snprintf(text, sizeof(text), "%s\t", SAMPLE_ROW_TEXT);
	TAP_OK(!decode_row(text, strlen(text), &row), "row_decode_refuses_a_trailing_tab");
	memcpy(text, SAMPLE_ROW_TEXT, n);
	text[n] = '\0';
	TAP_OK(!decode_row(text, n + 1, &row), "row_decode_refuses_a_nul_within_len");
	TAP_OK(!decode_row("", 0, &row), "row_decode_refuses_empty_text");
	TAP_OK(!decode_row("1", 1, &row), "row_decode_refuses_a_version_alone");

	TAP_OK(!decode_policy(SAMPLE_ROW_TEXT, strlen(SAMPLE_ROW_TEXT), &policy),
	    "policy_decode_refuses_a_row");
	TAP_OK(!decode_row("1\texample.com\ttreewalk\treject\t\tquarantine\ts\tr\tn\t1:d\t\t", 37,
	    &row), "row_decode_refuses_a_policy");
	TAP_OK(!decode_policy("1\td\tpsl\tnone\t\t\tss\tr\tn\t\t\t", 24, &policy),
	    "policy_decode_refuses_adkim_of_two_bytes");
	TAP_OK(decode_policy("1\td\tpsl\tnone\t\t\ts\tr\tn\t\t\t", 23, &policy),
	    "policy_decode_takes_adkim_of_one_byte");
	TAP_OK(!decode_policy("2\td\tpsl\tnone\t\t\ts\tr\tn\t\t\t", 23, &policy),
	    "policy_decode_refuses_an_unknown_version");
	TAP_OK(!decode_policy("1\td\tpsl\tnone\t\t\ts\tr\tn\t\t", 22, &policy),
	    "policy_decode_refuses_a_missing_field");
}

static void test_periods(void)
{
	TAP_INT_EQ(report_period_begin(0), 0, "period_of_the_epoch");
	TAP_INT_EQ(report_period_begin(86399), 0, "period_of_the_last_second_of_day_0");
	TAP_INT_EQ(report_period_begin(86400), 86400, "period_of_the_first_second_of_day_1");
	TAP_INT_EQ(report_period_begin(1778763600), 1778716800,	/* 2026-05-14T13:00:00Z */
	    "period_of_2026_05_14_is_its_utc_midnight");
	TAP_INT_EQ(report_period_begin(-1), -86400, "period_before_1970_begins_earlier");
	TAP_INT_EQ(report_period_begin(-86400), -86400, "period_of_a_negative_midnight");
	TAP_OK(report_period_begin(LLONG_MIN) <= 0, "period_of_llong_min_does_not_overflow");
	TAP_INT_EQ(report_period_begin(LLONG_MAX), LLONG_MAX - LLONG_MAX % 86400,
	    "period_of_llong_max");
}

int	main(void)
{
	test_format();
	test_hostile();
	test_sizes();
	test_refusals();
	test_periods();
	return tap_done();
}
