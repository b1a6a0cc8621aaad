/*
 * NAME
 *	arc-query - one ARC chain validation through Signet's resolver, for the ARC suite
 * SYNOPSIS
 *	arc-query NAMESERVER-IP PORT MESSAGE-FILE
 *	arc-query		(TAP: the checks that need no DNS)
 * DESCRIPTION
 *	Builds a dns_resolver that forwards to NAMESERVER-IP@PORT only and a DKIM verifier
 *	on it, feeds the message in MESSAGE-FILE to arcverify.c as an MTA would (header
 *	fields with their folding, then the body with CRLF line ends; the file's line ends
 *	may be LF or CRLF) and prints the result name on the first line and the reason on
 *	the second.
 *
 *	Without arguments (make check runs every check program so) it tests, as TAP, what
 *	is decided before any key is looked up: no ARC field, broken structures.
 * DIAGNOSTICS
 *	Exit 0 when a result was printed, 2 on bad arguments, 1 when the resolver could not
 *	be made, the file not read, or memory ran out.
 * SEE ALSO
 *	arc-suite.py, milter/arcverify.h
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buffer.h"
#include "lib/dns.h"
#include "milter/arcverify.h"
#include "milter/verify.h"
#include "tests/unit/tap.h"

/* Feeds text (a whole message) to m: fields split at unfolded line starts, the body's
 * lines given CRLF.  0 when memory runs out. */
static int
feed(struct arcverify_message *m, const char *text, size_t len)
{
	struct buffer name = {0}, value = {0}, body = {0};
	size_t	at = 0;
	int	ok = 1;

	while (ok && at < len) {
		const char *line = text + at, *nl = memchr(line, '\n', len - at);
		size_t	n = nl ? (size_t)(nl - line) : len - at;
		size_t	content = n > 0 && line[n - 1] == '\r' ? n - 1 : n;

		at += n + (nl != NULL);
		if (content == 0)
			break;			/* the empty line ends the header */
		if ((line[0] == ' ' || line[0] == '\t') && name.len > 0) {
			ok = buffer_append(&value, "\r\n", 2) &&
			    buffer_append(&value, line, content);
			continue;
		}
		if (name.len > 0)
			arcverify_header(m, name.data, value.data ? value.data : "");
		const char *colon = memchr(line, ':', content);

		name.len = value.len = 0;
		if (colon == NULL)
			continue;		/* not a field: dropped, as an MTA would refuse it */
		ok = buffer_append(&name, line, (size_t)(colon - line)) &&
		    buffer_append(&value, "", 0) &&
		    buffer_append(&value, colon + 1, content - (size_t)(colon + 1 - line));
	}
	if (ok && name.len > 0)
		arcverify_header(m, name.data, value.data ? value.data : "");
	arcverify_end_of_headers(m);
	while (ok && at < len) {
		const char *line = text + at, *nl = memchr(line, '\n', len - at);
		size_t	n = nl ? (size_t)(nl - line) : len - at;
		size_t	content = n > 0 && line[n - 1] == '\r' ? n - 1 : n;

		ok = buffer_append(&body, line, content) &&
		    (nl == NULL || buffer_append(&body, "\r\n", 2));
		at += n + (nl != NULL);
	}
	if (ok && body.len > 0)
		arcverify_body(m, (const unsigned char *)body.data, body.len);
	buffer_free(&name);
	buffer_free(&value);
	buffer_free(&body);
	return ok;
}

/* The outcome of text, or NULL (memory); *m to free. */
static const struct arc_outcome *
validate(struct verifier *v, struct dns_budget *budget, const char *text, size_t len,
    struct arcverify_message **m)
{
	const struct arc_outcome *out = NULL;

	if ((*m = arcverify_begin(v, budget, "arc-query")) == NULL || !feed(*m, text, len) ||
	    !arcverify_finish(*m, &out))
		return NULL;
	return out;
}

struct dnsfree_case {
	const char *name, *message, *want, *reason;
};

#define BODY "\nHello.\n"
static const struct dnsfree_case dnsfree_cases[] = {
	{ "no_arc_field_is_none", "From: a@example.org\nSubject: x\n" BODY, "none", "" },
	{ "aar_alone_is_fail", "ARC-Authentication-Results: i=1; x; spf=pass\n" BODY,
	  "fail", "no ARC-Message-Signature field of instance 1" },
	{ "instance_zero_is_fail", "ARC-Authentication-Results: i=0; x; spf=pass\n" BODY,
	  "fail", "ARC-Authentication-Results field without a valid instance, i= 1 to 50" },
	{ "instance_of_11_digits_is_fail",
	  "ARC-Authentication-Results: i=99999999999; x; spf=pass\n" BODY,
	  "fail", "ARC-Authentication-Results field without a valid instance, i= 1 to 50" },
	{ "instance_51_is_fail", "ARC-Authentication-Results: i=51; x\n" BODY,
	  "fail", "ARC-Authentication-Results field without a valid instance, i= 1 to 50" },
	{ "seal_not_a_tag_list_is_fail", "ARC-Seal: i=1; ;; cv=none\n" BODY,
	  "fail", "ARC-Seal field without a valid instance, i= 1 to 50" },
	{ "newest_seal_cv_fail_is_fail", "ARC-Seal: i=2; cv=fail; a=rsa-sha256; b=; d=x; s=y\n"
	  "ARC-Seal: i=1; cv=none\n" BODY, "fail", "ARC-Seal i=2 says cv=fail" },
	{ "duplicate_aar_is_fail", "ARC-Authentication-Results: i=1; x\n"
	  "ARC-Authentication-Results: i=1; y\n" BODY, "fail",
	  "two ARC-Authentication-Results fields of instance 1" },
};

static int
self_test(void)
{
	struct nameserver ns = { "127.0.0.1", 9 };
	struct dns_options opt = { &ns, 1, NULL, 200 };
	struct dns_resolver *dns;
	struct verifier *v;
	char err[256];

	dns = dns_resolver_new(&opt, err, sizeof(err));
	if (!TAP_OK(dns != NULL, "resolver_made"))
		printf("#   %s\n", err);
	v = verifier_new(dns, 0, err, sizeof(err));
	for (size_t i = 0; v != NULL && i < sizeof(dnsfree_cases) / sizeof(dnsfree_cases[0]);
	    i++) {
		const struct dnsfree_case *c = &dnsfree_cases[i];
		struct arcverify_message *m;
		const struct arc_outcome *out = validate(v, NULL, c->message,
		    strlen(c->message), &m);

		TAP_STR_EQ(out ? arc_result_name(out->result) : "(error)", c->want, "%s",
		    c->name);
		TAP_STR_EQ(out ? out->reason : "(error)", c->reason, "%s: reason", c->name);
		arcverify_free(m);
	}
	TAP_STR_EQ(arc_result_name(ARC_PASS), "pass", "result_name_pass");
	verifier_free(v);
	dns_resolver_free(dns);
	return tap_done();
}

static int
parse_port(const char *s, unsigned *port)
{
	char *end;
	unsigned long n = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0' || n == 0 || n > 65535)
		return 0;
	*port = (unsigned)n;
	return 1;
}

static int
read_file(const char *path, struct buffer *out)
{
	FILE *f = fopen(path, "rb");
	char chunk[4096];
	size_t n;
	int ok = f != NULL && buffer_append(out, "", 0);

	while (ok && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ok = buffer_append(out, chunk, n);
	ok = ok && !ferror(f);
	if (f != NULL)
		fclose(f);
	return ok;
}

int
main(int argc, char **argv)
{
	struct nameserver ns;
	struct dns_options opt;
	struct dns_resolver *dns;
	struct dns_budget budget;
	struct verifier *v;
	struct arcverify_message *m = NULL;
	const struct arc_outcome *out;
	struct buffer text = {0};
	char err[256];

	if (argc == 1)
		return self_test();
	if (argc != 4 || !parse_port(argv[2], &ns.port) ||
	    (size_t)snprintf(ns.address, sizeof(ns.address), "%s", argv[1]) >= sizeof(ns.address)) {
		fprintf(stderr, "usage: arc-query NAMESERVER-IP PORT MESSAGE-FILE\n");
		return 2;
	}
	if (!read_file(argv[3], &text)) {
		fprintf(stderr, "arc-query: cannot read %s\n", argv[3]);
		return 1;
	}
	memset(&opt, 0, sizeof(opt));
	opt.nameservers = &ns;
	opt.nameserver_count = 1;
	opt.query_timeout_ms = 3000;
	if ((dns = dns_resolver_new(&opt, err, sizeof(err))) == NULL ||
	    (v = verifier_new(dns, 0, err, sizeof(err))) == NULL) {
		fprintf(stderr, "arc-query: %s\n", err);
		return 1;
	}
	dns_budget_init(&budget, 100, 20000);
	out = validate(v, &budget, text.data, text.len, &m);
	if (out != NULL)
		printf("%s\n%s\n", arc_result_name(out->result), out->reason);
	arcverify_free(m);
	verifier_free(v);
	dns_resolver_free(dns);
	buffer_free(&text);
	if (out == NULL) {
		fprintf(stderr, "arc-query: out of memory\n");
		return 1;
	}
	return 0;
}
