/*
 * NAME
 *	test-audit - the AuditLog's JSON lines: every string escaped, nothing a peer sends
 *	can end the line or break the object
 */
#include <stdio.h>
#include <string.h>

#include "milter/audit.h"
#include "tests/unit/tap.h"

int	main(void)
{
	char	line[8192], small[64];
	struct audit_record rec = {
		.time = 0,
		.user = "alice@example.org",
		.mechanism = "PLAIN",
		.client = "192.0.2.1",
		.tls_version = "none",
		.cipher = "none",
		.from = "\"quoted\"\\back@example.org",
		.recipients = 3,
		.message_id = "<a\r\nb\x01\x7f\xc3\xa9@x>",
		.queue_id = "Q1",
		.verdict = "signed",
	};

	TAP_OK(audit_json(&rec, line, sizeof(line)), "audit_json_fits");
	TAP_STR_EQ(line, "{\"time\":\"1970-01-01T00:00:00Z\",\"user\":\"alice@example.org\","
	    "\"mechanism\":\"PLAIN\",\"client\":\"192.0.2.1\",\"tls_version\":\"none\","
	    "\"cipher\":\"none\",\"from\":\"\\\"quoted\\\"\\\\back@example.org\",\"recipients\":3,"
	    "\"message_id\":\"<a\\u000d\\u000ab\\u0001\\u007f\\u00c3\\u00a9@x>\",\"queue_id\":\"Q1\","
	    "\"verdict\":\"signed\"}\n",
	    "audit_json_escapes_quotes_backslashes_controls_and_8bit");
	TAP_OK(!audit_json(&rec, small, sizeof(small)), "audit_json_reports_a_short_buffer");
	rec.message_id = NULL;
	rec.from = NULL;
	TAP_OK(audit_json(&rec, line, sizeof(line)) &&
	    strstr(line, "\"from\":\"\"") != NULL && strstr(line, "\"message_id\":\"\"") != NULL,
	    "audit_json_missing_values_are_empty_strings");
	return tap_done();
}
