/*
 * NAME
 *	test-failreport - DMARC failure reports: the fo= decision table, the composed mail
 *	(structure, required fields, redaction, no body by default, hostile header lines),
 *	the per-destination rate limit, and the sendmail pipe
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "lib/buffer.h"
#include "milter/failcompose.h"
#include "milter/failrate.h"
#include "milter/failreport.h"
#include "milter/failsend.h"
#include "tests/unit/tap.h"

static const unsigned char secret[FAILCOMPOSE_SECRET_LEN] = "0123456789abcdef0123456789abcde";

/* ---- fo= ------------------------------------------------------------------------------- */

static void test_fo_table(void)
{
	static const struct {
		const char *fo;
		enum dmarc_result result;
		int	dkim_aligned, spf_aligned;
		enum verify_result sig;
		enum spfcheck_result spf;
		int	want;
		const char *name;
	} cases[] = {
		{"", DMARC_RESULT_FAIL, 0, 0, VERIFY_NONE, SPFCHECK_NONE, 1, "fo_default_reports_dmarc_fail"},
		{"0", DMARC_RESULT_FAIL, 0, 0, VERIFY_FAIL, SPFCHECK_FAIL, 1, "fo0_reports_dmarc_fail"},
		{"0", DMARC_RESULT_PASS, 1, 0, VERIFY_PASS, SPFCHECK_FAIL, 0, "fo0_silent_when_dkim_aligned"},
		{"0", DMARC_RESULT_PASS, 0, 1, VERIFY_FAIL, SPFCHECK_PASS, 0, "fo0_silent_when_spf_aligned"},
		{"1", DMARC_RESULT_PASS, 1, 0, VERIFY_PASS, SPFCHECK_PASS, 1, "fo1_reports_unaligned_spf_on_pass"},
		{"1", DMARC_RESULT_PASS, 0, 1, VERIFY_NONE, SPFCHECK_PASS, 1, "fo1_reports_unaligned_dkim_on_pass"},
		{"1", DMARC_RESULT_PASS, 1, 1, VERIFY_PASS, SPFCHECK_PASS, 0, "fo1_silent_when_both_aligned"},
		{"d", DMARC_RESULT_PASS, 0, 1, VERIFY_FAIL, SPFCHECK_PASS, 1, "fod_reports_failed_signature_on_pass"},
		{"d", DMARC_RESULT_PASS, 0, 1, VERIFY_PERMERROR, SPFCHECK_PASS, 1, "fod_counts_permerror"},
		{"d", DMARC_RESULT_FAIL, 0, 0, VERIFY_NONE, SPFCHECK_FAIL, 0, "fod_silent_without_failed_signature"},
		{"d", DMARC_RESULT_FAIL, 0, 0, VERIFY_TEMPERROR, SPFCHECK_FAIL, 0, "fod_silent_on_temperror"},
		{"s", DMARC_RESULT_PASS, 1, 0, VERIFY_PASS, SPFCHECK_FAIL, 1, "fos_reports_spf_fail_on_pass"},
		{"s", DMARC_RESULT_FAIL, 0, 0, VERIFY_FAIL, SPFCHECK_SOFTFAIL, 0, "fos_silent_on_softfail"},
		{"d:s", DMARC_RESULT_FAIL, 0, 0, VERIFY_NONE, SPFCHECK_FAIL, 1, "fo_list_d_s_takes_either"},
		{" 1 : d ", DMARC_RESULT_PASS, 1, 0, VERIFY_PASS, SPFCHECK_PASS, 1, "fo_list_blanks_allowed"},
		{"x:y", DMARC_RESULT_FAIL, 0, 0, VERIFY_NONE, SPFCHECK_NONE, 1, "fo_unknown_only_is_default"},
		{"x:y", DMARC_RESULT_PASS, 1, 0, VERIFY_PASS, SPFCHECK_NONE, 0, "fo_unknown_only_is_0_not_1"},
		{"1", DMARC_RESULT_TEMPERROR, 0, 0, VERIFY_FAIL, SPFCHECK_FAIL, 0, "fo_never_on_temperror"},
		{"1", DMARC_RESULT_NONE, 0, 0, VERIFY_FAIL, SPFCHECK_FAIL, 0, "fo_never_on_none"},
		{"1", DMARC_RESULT_PERMERROR, 0, 0, VERIFY_FAIL, SPFCHECK_FAIL, 0, "fo_never_on_permerror"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dmarc_verdict v;
		struct verify_signature sig;

		memset(&v, 0, sizeof(v));
		memset(&sig, 0, sizeof(sig));
		v.result = cases[i].result;
		v.dkim_aligned = cases[i].dkim_aligned;
		v.spf_aligned = cases[i].spf_aligned;
		sig.result = cases[i].sig;
		snprintf(sig.domain, sizeof(sig.domain), "example.com");
		TAP_INT_EQ(failreport_wanted(cases[i].fo, &v, &sig,
		    cases[i].sig == VERIFY_NONE ? 0 : 1, cases[i].spf), cases[i].want, "%s",
		    cases[i].name);
	}
	TAP_INT_EQ(failreport_fo_options("0:1:d:s"), FAILREPORT_FO_ALL | FAILREPORT_FO_ANY |
	    FAILREPORT_FO_DKIM | FAILREPORT_FO_SPF, "fo_options_all_four");
	TAP_INT_EQ(failreport_fo_options(NULL), FAILREPORT_FO_ALL, "fo_options_null_is_0");
}

/* ---- redaction --------------------------------------------------------------------------- */

static char *redacted(const char *in)
{
	struct buffer b = {0};

	if (!failcompose_redact(secret, in, strlen(in), &b))
		return NULL;
	return b.data != NULL ? b.data : strdup("");
}

static void test_redaction(void)
{
	char   *a = redacted("Alice <alice@example.com>"), *b = redacted("ALICE@example.com"),
	       *c = redacted("\"j doe\"@example.org, bob.smith+tag@sub.example.net"),
	       *d = redacted("see http://evil.example/x and HTTPS://e.example, ftp://f"),
	       *e = redacted("no address @ here, and user@ nothing, @example.com"),
	       *f = redacted("mailto:users@forwarder.example");

	TAP_OK(a != NULL && strstr(a, "alice@") == NULL && strstr(a, "@example.com>") != NULL &&
	    strncmp(a, "Alice <", 7) == 0 && strlen(a) == strlen("Alice <@example.com>") + 8,
	    "redact_replaces_local_part_with_8_chars: %s", a ? a : "(null)");
	TAP_OK(a != NULL && b != NULL && strncmp(a + 7, b, 8) == 0,
	    "redact_same_address_any_case_same_token: %s / %s", a ? a : "", b ? b : "");
	TAP_OK(c != NULL && strstr(c, "j doe") == NULL && strstr(c, "bob.smith") == NULL &&
	    strstr(c, "+tag") == NULL && strstr(c, "@example.org, ") != NULL &&
	    strstr(c, "@sub.example.net") != NULL && strchr(c, '"') == NULL,
	    "redact_quoted_and_dotted_local_parts: %s", c ? c : "(null)");
	TAP_STR_EQ(d, "see hxxp://evil.example/x and HXXPS://e.example, ftp://f",
	    "redact_defangs_http_and_https");
	TAP_STR_EQ(e, "no address @ here, and user@ nothing, @example.com",
	    "redact_leaves_what_is_no_address");
	TAP_OK(f != NULL && strncmp(f, "mailto:", 7) == 0 && strstr(f, "users") == NULL,
	    "redact_mailto_keeps_scheme: %s", f ? f : "(null)");
	free(a);
	free(b);
	free(c);
	free(d);
	free(e);
	free(f);
}

/* ---- the composed mail ------------------------------------------------------------------- */

struct parsed {
	char	boundary[128];
	size_t	separators, closings, lines, long_lines, bare_cr;
	char   *parts[4];		/* the text of each part, headers included */
	size_t	part_count;
};

static void parsed_free(struct parsed *p)
{
	for (size_t i = 0; i < p->part_count; i++)
		free(p->parts[i]);
}

/* A small MIME reader: enough to see that the structure is the one we wrote. */
static int parse_report(const char *mail, struct parsed *p)
{
	const char *b = strstr(mail, "boundary=\""), *line = mail, *part_start = NULL;
	size_t	blen;

	memset(p, 0, sizeof(*p));
	if (b == NULL || (blen = strcspn(b + 10, "\"")) >= sizeof(p->boundary))
		return 0;
	memcpy(p->boundary, b + 10, blen);
	p->boundary[blen] = '\0';
	p->bare_cr = strchr(mail, '\r') != NULL;
	while (*line != '\0') {
		const char *end = strchr(line, '\n');
		size_t	len = end ? (size_t)(end - line) : strlen(line);

		p->lines++;
		if (len > 998)
			p->long_lines++;
		if (len >= 2 + blen && line[0] == '-' && line[1] == '-' &&
		    strncmp(line + 2, p->boundary, blen) == 0) {
			if (part_start != NULL && p->part_count < 4)
				p->parts[p->part_count++] = strndup(part_start,
				    (size_t)(line - part_start));
			if (len == 2 + blen) {
				p->separators++;
				part_start = end ? end + 1 : NULL;
			} else if (len == 4 + blen && strncmp(line + 2 + blen, "--", 2) == 0) {
				p->closings++;
				part_start = NULL;
			} else {
				return 0;	/* a line that starts like a boundary: broken */
			}
		}
		if (end == NULL)
			break;
		line = end + 1;
	}
	return 1;
}

/* Every line of the header of part (up to its blank line) is "Name: ..." or a
 * continuation beginning with a blank. */
static int header_lines_valid(const char *text)
{
	for (const char *line = text; *line != '\0' && *line != '\n';) {
		const char *end = strchr(line, '\n'), *colon = strchr(line, ':');

		if (end == NULL)
			return 0;
		if (line[0] != ' ' && line[0] != '\t' && (colon == NULL || colon > end ||
		    colon == line))
			return 0;
		for (const char *c = line; c < colon && line[0] != ' ' && line[0] != '\t'; c++)
			if (*c <= ' ' || *c > '~')
				return 0;
		line = end + 1;
	}
	return 1;
}

static const char *after_blank_line(const char *part)
{
	const char *s = strstr(part, "\n\n");

	return s != NULL ? s + 2 : "";
}

static void add(struct msgheaders *h, const char *name, const char *value)
{
	if (msgheaders_add(h, name, value) != MSGHEADERS_OK)
		printf("# cannot add %s\n", name);
}

static struct failcompose_input input(const struct msgheaders *h,
    const struct verify_signature *sigs, size_t sig_count)
{
	struct failcompose_input in = {
		.report_from = "dmarc-noreply@receiver.example",
		.id_domain = "receiver.example",
		.user_agent = "Signet/test",
		.author_domain = "example.com",
		.client_ip = "192.0.2.7",
		.mail_from = "alice@example.com",
		.arrival = 1700000000,
		.now = 1700000001,
		.authres = " mx.receiver.example;\n\tdkim=fail header.d=example.com "
		    "header.s=sel1;\n\tspf=fail smtp.mailfrom=alice@example.com;\n\t"
		    "dmarc=fail header.from=example.com",
		.dkim_aligned = 0,
		.spf_aligned = 0,
		.org_domain = "example.com",
		.sigs = sigs,
		.sig_count = sig_count,
		.delivery_result = "reject",
		.headers = h,
		.secret = secret,
	};

	return in;
}

static void test_compose_plain(void)
{
	struct msgheaders h = {0};
	struct verify_signature sigs[2];
	struct buffer out = {0};
	struct parsed p;
	char	err[256];

	memset(sigs, 0, sizeof(sigs));
	sigs[0].result = VERIFY_FAIL;
	snprintf(sigs[0].domain, sizeof(sigs[0].domain), "other.example");
	snprintf(sigs[0].selector, sizeof(sigs[0].selector), "x");
	sigs[1].result = VERIFY_FAIL;
	snprintf(sigs[1].domain, sizeof(sigs[1].domain), "mail.example.com");
	snprintf(sigs[1].selector, sizeof(sigs[1].selector), "sel1");
	add(&h, "From", " Alice <alice@example.com>");
	add(&h, "To", " Bob <bob@receiver.example>");
	add(&h, "Subject", " hello http://phish.example/");
	add(&h, "Message-ID", " <abc.123@example.com>");
	add(&h, "Received", " from x by y\r\n\tfor <bob@receiver.example>; Tue, 1 Jan 2030");
	struct failcompose_input in = input(&h, sigs, 2);

	in.body = (const unsigned char *)"BODYMARKER\r\n";	/* ignored: ... */
	in.body_truncated = 1;				/* ... too long, left out */
	TAP_OK(failcompose(&in, &out, err, sizeof(err)), "compose_succeeds: %s", err);
	const char *m = out.data ? out.data : "";

	TAP_OK(parse_report(m, &p), "compose_boundary_found_and_no_line_mimics_it");
	TAP_OK(p.separators == 3 && p.closings == 1 && p.part_count == 3,
	    "compose_three_parts_one_closing: %zu %zu %zu", p.separators, p.closings,
	    p.part_count);
	TAP_OK(strlen(p.boundary) >= 32, "compose_boundary_is_long_random: %s", p.boundary);
	TAP_OK(p.long_lines == 0 && !p.bare_cr, "compose_lines_short_and_lf_only");
	TAP_OK(strstr(m, "Content-Type: multipart/report; report-type=feedback-report;") != NULL &&
	    strstr(m, "MIME-Version: 1.0\n") != NULL && strncmp(m, "From: <dmarc-noreply@"
	    "receiver.example>\n", 39) == 0 && strstr(m, "Auto-Submitted: auto-generated\n"),
	    "compose_envelope_fields");
	TAP_OK(strstr(m, "\nSubject: DMARC failure report for example.com\n") != NULL,
	    "compose_subject_names_the_domain_not_the_original_subject");
	TAP_OK(strstr(m, "\nTo:") == NULL || strstr(m, "\nTo:") > strstr(m, "\n\n"),
	    "compose_leaves_to_for_the_sender");
	TAP_OK(header_lines_valid(m), "compose_top_header_lines_valid");
	if (p.part_count == 3) {
		const char *fb = p.parts[1], *hd = p.parts[2];
		const char *fields[] = {
			"Content-Type: message/feedback-report\n", "\n\nFeedback-Type: auth-failure\n",
			"\nUser-Agent: Signet/test\n", "\nVersion: 1\n", "\nAuth-Failure: dmarc\n",
			"\nAuthentication-Results: mx.receiver.example;\n\tdkim=fail",
			"\nIdentity-Alignment: dkim, spf\n", "\nOriginal-Mail-From: <",
			"\nArrival-Date: Tue, 14 Nov 2023 22:13:20 +0000\n", "\nSource-IP: 192.0.2.7\n",
			"\nReported-Domain: example.com\n", "\nDelivery-Result: reject\n",
			"\nDKIM-Domain: mail.example.com\n", "\nDKIM-Identity: @mail.example.com\n",
			"\nDKIM-Selector: sel1\n",
		};

		TAP_OK(strstr(p.parts[0], "Content-Type: text/plain") != NULL &&
		    strstr(p.parts[0], "192.0.2.7") != NULL &&
		    strstr(p.parts[0], "body is left out") != NULL,
		    "compose_text_part_says_source_and_body_left_out");
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			TAP_OK(strstr(fb, fields[i]) != NULL, "compose_feedback_has %.*s",
			    (int)strcspn(fields[i] + (fields[i][0] == '\n' ? 1 : 0) +
			    (fields[i][1] == '\n' ? 1 : 0), ":"), fields[i] + (fields[i][0] == '\n') +
			    (fields[i][1] == '\n'));
		TAP_OK(strstr(fb, "DKIM-Domain: other.example") == NULL,
		    "compose_dkim_fields_only_for_an_aligned_signature");
		TAP_OK(strstr(fb, "Original-Rcpt-To") == NULL, "compose_no_original_rcpt_to");
		TAP_OK(strstr(hd, "Content-Type: text/rfc822-headers\n") != NULL &&
		    strstr(hd, "Content-Transfer-Encoding: 7bit\n") != NULL,
		    "compose_headers_part_without_body_is_rfc822_headers");
		TAP_OK(strstr(m, "alice") == NULL && strstr(m, "bob@") == NULL,
		    "compose_no_local_part_anywhere");
		TAP_OK(strstr(hd, "Message-ID: <abc.123@example.com>\n") != NULL,
		    "compose_message_id_kept");
		TAP_OK(strstr(hd, "hxxp://phish.example/") != NULL && strstr(m, "http://") == NULL,
		    "compose_http_defanged");
		TAP_OK(strstr(hd, "Received: from x by y\n\tfor <") != NULL,
		    "compose_folded_field_keeps_its_fold_as_lf");
		TAP_OK(strstr(m, "BODYMARKER") == NULL, "compose_no_body_when_left_out");
		TAP_OK(header_lines_valid(after_blank_line(hd)), "compose_copied_header_lines_valid");
	}
	parsed_free(&p);
	buffer_free(&out);
	msgheaders_clear(&h);
}

static void test_compose_hostile(void)
{
	struct msgheaders h = {0};
	struct buffer out = {0};
	struct parsed p;
	char	err[256], *huge = malloc(FAILCOMPOSE_FIELD_MAX + 10), *wide = malloc(5000);

	memset(huge, 'A', FAILCOMPOSE_FIELD_MAX + 9);
	huge[FAILCOMPOSE_FIELD_MAX + 9] = '\0';
	memset(wide, 'w', 4999);
	wide[4999] = '\0';
	add(&h, "From", " x@example.com");
	add(&h, "X-Inject", " a\r\nBcc: victim@evil.example\r\n\r\nbody?");
	add(&h, "X-Bare-CR", " one\rTwo: injected\rthree");
	add(&h, "X-Boundary", " x\n--=_signet_00000000000000000000000000000000\n"
	    "Content-Type: text/html");
	add(&h, "X-Blank-Lines", " a\n \n\t\n b");
	add(&h, "X-Eight-Bit", " caf\xc3\xa9 \x01\x7f end");
	add(&h, "X-Huge", huge);
	add(&h, "X-Wide", wide);
	add(&h, "Bad Name", " dropped");
	struct failcompose_input in = input(&h, NULL, 0);

	TAP_OK(failcompose(&in, &out, err, sizeof(err)), "hostile_compose_succeeds: %s", err);
	const char *m = out.data ? out.data : "";

	TAP_OK(parse_report(m, &p) && p.separators == 3 && p.closings == 1 && p.part_count == 3,
	    "hostile_structure_intact");
	TAP_OK(p.long_lines == 0 && !p.bare_cr, "hostile_no_long_line_no_cr");
	if (p.part_count == 3) {
		const char *hd = p.parts[2], *copied = after_blank_line(hd);

		TAP_OK(header_lines_valid(copied), "hostile_every_copied_line_is_field_or_fold");
		TAP_OK(strstr(copied, "\nBcc:") == NULL && strstr(copied, "\n Bcc: ") != NULL,
		    "hostile_crlf_cannot_add_a_field");
		TAP_OK(strstr(copied, "\n\n") == copied + strlen(copied) - 2,
		    "hostile_no_blank_line_inside_header");
		TAP_OK(strstr(copied, "\nTwo:") == NULL && strstr(copied, "\n Two: injected") != NULL,
		    "hostile_bare_cr_is_a_fold");
		TAP_OK(strstr(copied, "\n --=_signet_0000") != NULL && strstr(m, "\n--=_signet_0000")
		    == NULL, "hostile_boundary_lookalike_is_indented");
		TAP_OK(strstr(copied, "X-Blank-Lines: a\n b\n") != NULL,
		    "hostile_blank_continuations_dropped");
		TAP_OK(strstr(copied, "caf\xc3\xa9 ?? end") != NULL &&
		    strstr(hd, "Content-Transfer-Encoding: 8bit") != NULL &&
		    strstr(m, "\nContent-Transfer-Encoding: 8bit\n\nThis is a MIME") != NULL,
		    "hostile_8bit_kept_controls_replaced_cte_8bit");
		TAP_OK(strstr(copied, "X-Huge") == NULL && strstr(p.parts[0], "2 header field(s) "
		    "left out") != NULL, "hostile_huge_field_and_bad_name_left_out_and_said");
		TAP_OK(strstr(copied, "X-Wide: www") != NULL && strstr(copied, "w\n www") != NULL,
		    "hostile_wide_field_broken_into_continuations");
	}
	parsed_free(&p);
	buffer_free(&out);
	msgheaders_clear(&h);
	free(huge);
	free(wide);
}

static void test_compose_header_limit_and_body(void)
{
	struct msgheaders h = {0};
	struct buffer out = {0};
	struct parsed p;
	char	err[256], value[1001];

	memset(value, 'v', 1000);
	value[1000] = '\0';
	add(&h, "From", " Carol <carol@example.com>");
	for (int i = 0; i < 100; i++)
		add(&h, "X-Filler", value);	/* 100 KB: past FAILCOMPOSE_HEADER_MAX */
	struct failcompose_input in = input(&h, NULL, 0);

	in.body = (const unsigned char *)"Hi carol@example.com, see https://x.example\r\n"
	    "--=_signet_ffffffffffffffffffffffffffffffff\r\n.\r\nBODYMARKER";
	in.body_len = strlen((const char *)in.body);
	TAP_OK(failcompose(&in, &out, err, sizeof(err)), "body_compose_succeeds: %s", err);
	const char *m = out.data ? out.data : "";

	TAP_OK(parse_report(m, &p) && p.separators == 3 && p.closings == 1 && p.part_count == 3,
	    "body_structure_intact");
	if (p.part_count == 3) {
		const char *hd = p.parts[2];

		TAP_OK(strstr(hd, "Content-Type: message/rfc822\n") != NULL,
		    "body_part_is_message_rfc822");
		TAP_OK(strstr(hd, "BODYMARKER") != NULL && strstr(hd, "hxxps://x.example") != NULL &&
		    strstr(m, "carol") == NULL, "body_included_redacted_and_defanged");
		TAP_OK(strlen(hd) < FAILCOMPOSE_HEADER_MAX + 4096, "body_header_bounded: %zu",
		    strlen(hd));
		TAP_OK(strstr(p.parts[0], "left out") != NULL, "body_text_counts_fields_left_out");
	}
	parsed_free(&p);
	buffer_free(&out);
	msgheaders_clear(&h);
}

/* ---- rate ------------------------------------------------------------------------------ */

static void test_rate(void)
{
	struct failrate *r = failrate_new(2);
	int	ok = 1;

	for (int i = 0; i < 3; i++)
		ok &= failrate_take(r, "a@x.example", 3, 1000 + i);
	TAP_OK(ok, "rate_allows_up_to_the_limit");
	TAP_OK(!failrate_take(r, "A@X.example", 3, 1100), "rate_refuses_past_it_any_case");
	TAP_OK(failrate_take(r, "b@x.example", 3, 1100), "rate_is_per_destination");
	TAP_OK(!failrate_take(r, "c@x.example", 3, 1200), "rate_full_table_refuses_newcomer");
	TAP_OK(failrate_take(r, "a@x.example", 3, 1000 + FAILRATE_WINDOW),
	    "rate_window_ends_after_an_hour");
	TAP_OK(failrate_take(r, "c@x.example", 3, 1100 + FAILRATE_WINDOW),
	    "rate_expired_slot_is_reused");
	failrate_free(r);
}

/* ---- sendmail ------------------------------------------------------------------------- */

static char *slurp(const char *path)
{
	FILE   *f = fopen(path, "r");
	char   *s = calloc(1, 65536);

	if (f != NULL && s != NULL)
		(void)!fread(s, 1, 65535, f);
	if (f != NULL)
		fclose(f);
	return s;
}

static void test_send(void)
{
	char	dir[] = "/tmp/test-failreport-XXXXXX", script[256], command[600], err[512] = "";
	char	args_path[300], mail_path[300];
	FILE   *f;

	if (mkdtemp(dir) == NULL) {
		TAP_OK(0, "send_tmpdir");
		return;
	}
	snprintf(script, sizeof(script), "%s/sendmail", dir);
	snprintf(args_path, sizeof(args_path), "%s/args", dir);
	snprintf(mail_path, sizeof(mail_path), "%s/mail", dir);
	f = fopen(script, "w");
	fprintf(f, "#!/bin/sh\nprintf '%%s\\n' \"$@\" > %s\ncat > %s\n"
	    "[ \"$5\" = -- ] || exit 3\nexit 0\n", args_path, mail_path);
	fclose(f);
	chmod(script, 0755);
	snprintf(command, sizeof(command), "%s -oi -t", script);
	TAP_OK(failsend(command, "from@r.example", "ruf@d.example", "Subject: x\n\nhi\n", 16, 10,
	    err, sizeof(err)), "send_pipes_to_the_command: %s", err);
	char   *args = slurp(args_path), *mail = slurp(mail_path);

	TAP_STR_EQ(args, "-oi\n-i\n-f\nfrom@r.example\n--\nruf@d.example\n",
	    "send_drops_t_and_names_the_recipient");
	TAP_STR_EQ(mail, "To: <ruf@d.example>\nSubject: x\n\nhi\n", "send_writes_to_then_mail");
	free(args);
	free(mail);
	TAP_OK(!failsend(command, "from@r.example", "-oQ/tmp@x", "x", 1, 10, err, sizeof(err)),
	    "send_refuses_option_like_recipient");
	TAP_OK(!failsend(command, "from@r.example", "a b@x", "x", 1, 10, err, sizeof(err)),
	    "send_refuses_blank_in_recipient");
	snprintf(command, sizeof(command), "/bin/false");
	TAP_OK(!failsend(command, "from@r.example", "ruf@d.example", "x", 1, 10, err,
	    sizeof(err)) && strstr(err, "status 1") != NULL, "send_reports_exit_status: %s", err);
	snprintf(command, sizeof(command), "%s/none", dir);
	TAP_OK(!failsend(command, "from@r.example", "ruf@d.example", "x", 1, 10, err,
	    sizeof(err)), "send_reports_missing_command: %s", err);
	f = fopen(script, "w");
	fprintf(f, "#!/bin/sh\nexec sleep 30\n");
	fclose(f);
	snprintf(command, sizeof(command), "%s", script);
	TAP_OK(!failsend(command, "from@r.example", "ruf@d.example", "x", 1, 1, err,
	    sizeof(err)) && strstr(err, "killed") != NULL, "send_kills_a_hung_command: %s", err);
	unlink(args_path);
	unlink(mail_path);
	unlink(script);
	rmdir(dir);
}

int	main(void)
{
	/* As the daemon does (main.c): a command that exits before reading its mail
	 * (/bin/false below) must give failsend() EPIPE, not kill this process. */
	signal(SIGPIPE, SIG_IGN);
	test_fo_table();
	test_redaction();
	test_compose_plain();
	test_compose_hostile();
	test_compose_header_limit_and_body();
	test_rate();
	test_send();
	return tap_done();
}
