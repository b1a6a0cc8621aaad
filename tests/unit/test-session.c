/*
 * NAME
 *	test-session - the session's policy, step by step, with no MTA and no daemon
 * DESCRIPTION
 *	A runtime is built from a small configuration (Mode sv, InternalHosts 127.0.0.1)
 *	and a keystore made here: example.org has an active RSA and an active Ed25519 key,
 *	example.net only a pending one.  Sessions are driven the way the libmilter adapter
 *	drives them, and what is checked is each step's result (step.h): the header edits,
 *	the reply, the report.
 *
 *	- Who is signed: internal and authenticated senders of a domain with keys get one
 *	  DKIM-Signature per key; a domain without an active key, and a broken From (none,
 *	  two, no domain), pass unsigned and are never refused.
 *	- Forged Authentication-Results fields (our authserv-id) are removed from every
 *	  message, highest occurrence first, inbound and outbound.  Inbound checks ask a
 *	  fake nameserver here, which answers NXDOMAIN to everything.
 *	- What an internal error does: the Nth allocation of a whole message is made to
 *	  fail, for every N until a message goes through without one.  Whatever failed,
 *	  the result is never a reject; it is a tempfail, or (OnInternalError accept) an
 *	  accept that still removes exactly the forged fields; an incomplete record of
 *	  them is always a tempfail (issue 13).  LeakSanitizer checks every failed path
 *	  freed what it had.
 *	- What the MTA refusing an edit does: a refused removal tempfails, a refused
 *	  insertion follows OnInternalError.
 *	- Authenticated submissions (issue 18), with the runtime's clock replaced: a From
 *	  the user may use is signed, another is not signed or (SenderMismatch reject)
 *	  refused; a message limit tempfails at end of message and frees when the clock
 *	  moves past its window; a recipient limit refuses the recipient at RCPT and the
 *	  message goes on; a store that does not answer follows RateLimitStoreDown; the
 *	  AuditLog holds one exact JSON line per submission.
 */
#define _XOPEN_SOURCE 700	/* nftw() */
#include <ftw.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "conf/conf.h"
#include "keys/keystore.h"
#include "keys/keystore-write.h"
#include "lib/alloc.h"
#include "milter/runtime.h"
#include "milter/session.h"
#include "tests/unit/tap.h"

#define AUTHSERV_ID "mx.example.com"

static char keydir[] = "/tmp/signet-test-keys-XXXXXX";
static unsigned dns_port;

/*
 * A fake nameserver for the inbound checks (a unit test may fake a collaborator; the
 * data-driven suite uses a real one): every query gets NXDOMAIN at once, so an inbound
 * message runs to its end in no time, with SPF, DKIM and DMARC all finding nothing.
 */
static void *answer_nxdomain(void *arg)
{
	int	fd = *(int *)arg;
	unsigned char buf[512];
	struct sockaddr_storage peer;

	for (;;) {
		socklen_t len = sizeof(peer);
		ssize_t	n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &len);

		if (n < 12)
			continue;
		buf[2] = (unsigned char)(0x80 | (buf[2] & 0x79));	/* QR, opcode, RD kept */
		buf[3] = 0x80 | 3;					/* RA, NXDOMAIN */
		memset(buf + 6, 0, 6);					/* no records */
		(void)sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, len);
	}
	return NULL;
}

static int start_fake_dns(void)
{
	static int fd;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	pthread_t thread;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0 ||
	    pthread_create(&thread, NULL, answer_nxdomain, &fd) != 0)
		return 0;
	pthread_detach(thread);
	dns_port = ntohs(sin.sin_port);
	return 1;
}

static const char *const fields[][2] = {
	{"Received", " from a.example by b.example"},
	{"Authentication-Results", " mx.example.com; dmarc=pass"},		/* 1: forged */
	{"DKIM-Signature", " v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh=AA==; b=AA=="},
	{"Authentication-Results", " other.example; dkim=pass"},		/* 2: foreign */
	{"From", " Alice <alice@example.org>"},
	{"Authentication-Results", " (unterminated mx.example.com; dkim=pass"},	/* 3: forged */
	{"Subject", " test"},
	{"Authentication-Results", " MX.EXAMPLE.COM; spf=pass"},		/* 4: forged */
};
static const size_t forged_wanted[] = {4, 3, 1};	/* highest first */
#define FORGED_WANTED (sizeof(forged_wanted) / sizeof(forged_wanted[0]))

static void quiet(void *context, const char *message)
{
	(void)context;
	printf("# conf: %s\n", message);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int add_key(const char *domain, const char *selector, enum key_algorithm alg,
    int active)
{
	struct keystore_error err;
	EVP_PKEY *pkey = keystore_generate(alg, &err);
	int	ok = pkey != NULL &&
	    keystore_create(keydir, domain, selector, alg, pkey, time(NULL), &err) == 0 &&
	    (!active || keystore_set_state(keydir, domain, selector, KEY_STATE_ACTIVE,
	    time(NULL), &err) == 0);

	if (!ok)
		printf("# key %s/%s: %s\n", domain, selector, err.text);
	EVP_PKEY_free(pkey);
	return ok;
}

static int make_keystore(void)
{
	return mkdtemp(keydir) != NULL &&
	    add_key("example.org", "rsa", KEY_ALG_RSA_2048, 1) &&
	    add_key("example.org", "ed", KEY_ALG_ED25519, 1) &&
	    add_key("example.net", "later", KEY_ALG_ED25519, 0);
}

/* Builds and installs a runtime; on_error is "accept" or "tempfail". */
static int install_runtime(const char *on_error)
{
	char	path[] = "/tmp/signet-test-session-XXXXXX", err[256];
	struct keystore_error kerr;
	struct keystore *keys;
	int	fd = mkstemp(path);
	FILE   *fp = fdopen(fd, "w");
	struct conf *conf;
	struct runtime *rt;

	fprintf(fp, "Mode sv\nAuthservID " AUTHSERV_ID "\nInternalHosts 127.0.0.1\n"
	    "KeyStore %s\nNameservers 127.0.0.1@%u\nDNSTimeout 5\nOnInternalError %s\n",
	    keydir, dns_port, on_error);
	fclose(fp);
	conf = conf_load(path, quiet, NULL);
	unlink(path);
	if (conf == NULL)
		return 0;
	if ((keys = keystore_load(keydir, KEYSTORE_LOAD_PRIVATE, &kerr)) == NULL) {
		printf("# keystore %s: %s\n", keydir, kerr.text);
		conf_free(conf);
		return 0;
	}
	if ((rt = runtime_build(conf, keys, err, sizeof(err))) == NULL) {
		printf("# runtime: %s\n", err);
		return 0;
	}
	runtime_install(rt);
	return 1;
}

static void connect_from(struct session *s, const char *ip)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};

	inet_pton(AF_INET, ip, &sin.sin_addr);
	session_connect(s, (struct sockaddr *)&sin, "client.example");
	session_helo(s, "client.example");
}

/* What a whole message came to. */
struct outcome {
	int	started;		/* MAIL FROM went on */
	enum step_reply reply;		/* the step that ended the message */
	const char *smtp_code;
	int	ended_at_eoh;
	size_t	signatures;		/* DKIM-Signature insertions */
	size_t	removed[16];		/* Authentication-Results removals, in order */
	size_t	removed_count;
	int	other_edits;
	enum metrics_verdict verdict;
	int	counted;
};

static void note_edits(const struct step_result *r, struct outcome *o)
{
	for (size_t i = 0; i < r->edit_count; i++) {
		const struct header_edit *e = &r->edits[i];

		if (e->kind == EDIT_INSERT && strcmp(e->name, "DKIM-Signature") == 0 &&
		    e->value[0] == ' ')
			o->signatures++;
		else if (e->kind == EDIT_REMOVE && strcmp(e->name, "Authentication-Results") == 0 &&
		    o->removed_count < sizeof(o->removed) / sizeof(o->removed[0]))
			o->removed[o->removed_count++] = e->occurrence;
		else
			o->other_edits++;
	}
}

static void note_end(const struct step_result *r, struct outcome *o)
{
	o->reply = r->reply;
	o->smtp_code = r->smtp_code;
	o->verdict = r->report.verdict;
	o->counted = r->report.message_done;
	note_edits(r, o);
}

/* Runs one message through a new session: the fields given (NULL: the standard ones). */
static void run_message(const char *ip, const char *auth, const char *const (*hdrs)[2],
    size_t nhdrs, struct outcome *o)
{
	struct session *s = session_new();
	struct step_result r;
	static const char body[] = "Hello.\r\n";

	memset(o, 0, sizeof(*o));
	if (s == NULL) {	/* the adapter tempfails the connection: libmilter's 451 */
		o->reply = REPLY_TEMPFAIL;
		o->smtp_code = "451";
		return;
	}
	if (hdrs == NULL) {
		hdrs = fields;
		nhdrs = sizeof(fields) / sizeof(fields[0]);
	}
	connect_from(s, ip);
	session_mail_from(s, "Q1", auth, "<alice@example.org>", &r);
	o->started = r.reply == REPLY_CONTINUE;
	if (!o->started) {
		note_end(&r, o);
		session_step_done(s, &r);
		session_free(s);
		return;
	}
	session_step_done(s, &r);
	for (size_t i = 0; i < nhdrs; i++)
		session_header(s, hdrs[i][0], hdrs[i][1]);
	session_end_of_headers(s, "Q1", &r);
	if (r.reply != REPLY_CONTINUE) {
		o->ended_at_eoh = 1;
		note_end(&r, o);
		session_step_done(s, &r);
		session_free(s);
		return;
	}
	session_step_done(s, &r);
	session_body(s, (const unsigned char *)body, sizeof(body) - 1);
	session_end_of_message(s, "Q1", &r);
	note_end(&r, o);
	session_step_done(s, &r);
	session_free(s);
}

static int forged_removed_exactly(const struct outcome *o)
{
	if (o->removed_count != FORGED_WANTED)
		return 0;
	for (size_t i = 0; i < FORGED_WANTED; i++)
		if (o->removed[i] != forged_wanted[i])
			return 0;
	return 1;
}

static void who_is_signed(void)
{
	static const char *const no_key[][2] = {{"From", " bob@example.net"}};
	static const char *const no_from[][2] = {{"Subject", " hi"}};
	static const char *const two_from[][2] = {
		{"From", " alice@example.org"}, {"From", " bob@example.org"}};
	static const char *const no_domain[][2] = {{"From", " undisclosed-recipients:;"}};
	static const char *const forged_no_from[][2] = {
		{"Authentication-Results", " mx.example.com; dkim=pass"}, {"Subject", " hi"}};
	struct outcome o;

	run_message("127.0.0.1", NULL, NULL, 0, &o);
	TAP_OK(o.reply == REPLY_ACCEPT && o.signatures == 2 && o.verdict == METRICS_VERDICT_SIGNED,
	    "internal client, From example.org: accepted with 2 signatures (got reply %d, %zu)",
	    o.reply, o.signatures);
	TAP_OK(forged_removed_exactly(&o) && o.other_edits == 0,
	    "internal client: forged fields 4, 3, 1 removed, the foreign one kept");
	TAP_OK(o.counted && o.verdict == METRICS_VERDICT_SIGNED, "counted as signed");

	run_message("192.0.2.10", "alice@example.org", NULL, 0, &o);
	TAP_OK(o.reply == REPLY_ACCEPT && o.signatures == 2 && forged_removed_exactly(&o),
	    "authenticated client from outside: signed, forged fields removed");

	run_message("127.0.0.1", NULL, no_key, 1, &o);
	TAP_OK(o.ended_at_eoh && o.reply == REPLY_ACCEPT && o.signatures == 0 &&
	    o.verdict == METRICS_VERDICT_UNSIGNED,
	    "a domain with only a pending key: accepted unsigned at end of headers");

	run_message("127.0.0.1", NULL, no_from, 1, &o);
	TAP_OK(o.reply == REPLY_ACCEPT && o.signatures == 0, "no From: accepted unsigned");
	run_message("127.0.0.1", NULL, two_from, 2, &o);
	TAP_OK(o.reply == REPLY_ACCEPT && o.signatures == 0, "two From fields: accepted unsigned");
	run_message("127.0.0.1", NULL, no_domain, 1, &o);
	TAP_OK(o.reply == REPLY_ACCEPT && o.signatures == 0,
	    "a From without a domain: accepted unsigned");
	run_message("127.0.0.1", NULL, forged_no_from, 2, &o);
	TAP_OK(!o.ended_at_eoh && o.reply == REPLY_ACCEPT && o.signatures == 0 &&
	    o.removed_count == 1 && o.removed[0] == 1,
	    "no From but a forged field: accepted unsigned at end of message, the field removed");
}

static void inbound_forged_fields(void)
{
	struct session *s = session_new();
	struct step_result r;
	struct outcome o = {0};

	connect_from(s, "192.0.2.10");
	session_mail_from(s, "Q3", NULL, "<alice@example.org>", &r);
	TAP_OK(r.reply == REPLY_CONTINUE, "inbound: message begins");
	session_step_done(s, &r);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		session_header(s, fields[i][0], fields[i][1]);
	session_end_of_headers(s, "Q3", &r);
	TAP_OK(r.reply == REPLY_CONTINUE, "inbound: checked to the end of message");
	session_step_done(s, &r);
	session_abort(s);
	session_end_of_message(s, "Q3", &r);
	TAP_OK(r.reply == REPLY_ACCEPT && r.edit_count == 0,
	    "after an abort there is no message: end of message accepts and edits nothing");
	session_step_done(s, &r);
	session_free(s);

	run_message("192.0.2.10", NULL, NULL, 0, &o);
	TAP_OK(o.reply == REPLY_ACCEPT && o.signatures == 0 && o.other_edits == 1 &&
	    forged_removed_exactly(&o) && o.verdict == METRICS_VERDICT_ACCEPT,
	    "inbound: never signed; forged fields 4, 3, 1 removed, our own field added");
}

/* The MTA refusing an edit. */
static void refused_edits(const char *on_error)
{
	struct session *s = session_new();
	struct step_result r;
	int	go_on;

	connect_from(s, "127.0.0.1");
	session_mail_from(s, "Q4", NULL, "<alice@example.org>", &r);
	session_step_done(s, &r);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		session_header(s, fields[i][0], fields[i][1]);
	session_end_of_headers(s, "Q4", &r);
	session_step_done(s, &r);
	session_end_of_message(s, "Q4", &r);
	/* Edits: three removals, then two insertions. */
	TAP_OK(r.edit_count == 5 && r.edits[0].kind == EDIT_REMOVE &&
	    r.edits[3].kind == EDIT_INSERT, "%s: removals come before insertions", on_error);
	go_on = session_edit_refused(s, &r, 3);
	if (strcmp(on_error, "accept") == 0)
		TAP_OK(go_on && r.reply == REPLY_ACCEPT && r.report.verdict == METRICS_VERDICT_SIGNED,
		    "accept: a refused insertion leaves the message accepted, the rest applied");
	else
		TAP_OK(!go_on && r.reply == REPLY_TEMPFAIL && strcmp(r.smtp_code, "451") == 0 &&
		    r.report.verdict == METRICS_VERDICT_ERROR,
		    "tempfail: a refused insertion tempfails the message");
	go_on = session_edit_refused(s, &r, 0);
	TAP_OK(!go_on && r.reply == REPLY_TEMPFAIL && r.report.mta_errors == 2,
	    "%s: a refused removal of a forged field tempfails the message", on_error);
	session_step_done(s, &r);
	session_free(s);
}

/* Runs one message with the nth allocation failing; returns 1 when that happened. */
static int torture_once(unsigned long nth, const char *ip, int accept_on_error, int *bad,
    int *errors_accepted)
{
	struct outcome o;
	int	fired;

	alloc_fail_at(nth);
	run_message(ip, NULL, NULL, 0, &o);
	fired = alloc_failed();
	alloc_fail_at(0);
	if (o.reply == REPLY_REJECT) {
		printf("# allocation %lu failed: the message was rejected\n", nth);
		(*bad)++;
	} else if (o.reply == REPLY_ACCEPT && !forged_removed_exactly(&o)) {
		printf("# allocation %lu failed: accepted without removing exactly the forged "
		    "fields\n", nth);
		(*bad)++;
	} else if (o.reply == REPLY_ACCEPT && o.verdict == METRICS_VERDICT_ERROR) {
		if (!accept_on_error) {
			printf("# allocation %lu failed: accepted under OnInternalError tempfail\n",
			    nth);
			(*bad)++;
		}
		(*errors_accepted)++;
	} else if (o.reply == REPLY_TEMPFAIL && (o.smtp_code == NULL ||
	    strcmp(o.smtp_code, "451") != 0)) {
		printf("# allocation %lu failed: a tempfail without 451\n", nth);
		(*bad)++;
	} else if (o.reply == REPLY_ACCEPT && o.signatures != 2 && o.verdict ==
	    METRICS_VERDICT_SIGNED) {
		printf("# allocation %lu failed: counted as signed with %zu signatures\n", nth,
		    o.signatures);
		(*bad)++;
	}
	return fired;
}

static void torture(const char *ip, const char *on_error, const char *what)
{
	int	bad = 0, errors_accepted = 0, accept = strcmp(on_error, "accept") == 0;
	unsigned long nth;

	for (nth = 1; nth < 100000 && torture_once(nth, ip, accept, &bad, &errors_accepted); nth++)
		;
	TAP_OK(nth > 10 && nth < 100000, "%s, OnInternalError %s: %lu allocations made to fail "
	    "in turn", what, on_error, nth - 1);
	TAP_INT_EQ(bad, 0, "%s, OnInternalError %s: never a reject, never forged fields left, "
	    "a tempfail is 451", what, on_error);
	if (accept)
		TAP_OK(errors_accepted > 0, "%s: internal errors accepted with the forged fields "
		    "removed (%d cases)", what, errors_accepted);
	else
		TAP_INT_EQ(errors_accepted, 0, "%s: no internal error is accepted", what);
}

/* ---- authenticated submissions (issue 18) --------------------------------------------- */

static time_t test_now = 1790000000;	/* 2026-09-21: a minute boundary is not special */
static char audit_path[] = "/tmp/signet-test-audit-XXXXXX";

static time_t test_clock(void)
{
	return test_now;
}

static void write_file(const char *path, const char *text)
{
	FILE   *fp = fopen(path, "w");

	fputs(text, fp);
	fclose(fp);
}

/* A runtime with SenderMap, RateLimits and AuditLog, the clock replaced; extra is more
 * configuration ("SenderMismatch reject\n"). */
static int install_submission_runtime(const char *extra)
{
	char	path[] = "/tmp/signet-test-session-XXXXXX", map[] = "/tmp/signet-test-map-XXXXXX",
		limits[] = "/tmp/signet-test-limits-XXXXXX", err[256];
	struct keystore_error kerr;
	struct keystore *keys;
	struct conf *conf;
	struct runtime *rt;

	close(mkstemp(path));
	close(mkstemp(map));
	close(mkstemp(limits));
	write_file(map, "bob@example.org  @example.org  *@*.example.net\n");
	write_file(limits, "*  msg/min=100 rcpt/hour=100\ncarol@example.org  msg/min=2\n"
	    "dave@example.org  rcpt/hour=2\n");
	FILE   *fp = fopen(path, "w");
	fprintf(fp, "Mode s\nKeyStore %s\nSenderMap %s\nRateLimits %s\nAuditLog %s\n%s",
	    keydir, map, limits, audit_path, extra);
	fclose(fp);
	conf = conf_load(path, quiet, NULL);
	unlink(path);
	keys = conf != NULL ? keystore_load(keydir, KEYSTORE_LOAD_PRIVATE, &kerr) : NULL;
	if (keys == NULL) {
		conf_free(conf);
		return 0;
	}
	rt = runtime_build(conf, keys, err, sizeof(err));
	unlink(map);
	unlink(limits);
	if (rt == NULL) {
		printf("# runtime: %s\n", err);
		return 0;
	}
	rt->now = test_clock;
	runtime_install(rt);
	return 1;
}

struct submitted {
	unsigned rcpt_refused;		/* recipients answered 451 at RCPT */
	char	rcpt_text[600];
	enum step_reply reply;		/* at end of message */
	char	code[8], status[8], text[512];
	size_t	signatures;
};

/* One authenticated message: user, its From value, rcpts recipients. */
static void submit(const char *user, const char *from, unsigned rcpts, struct submitted *out)
{
	struct session *s = session_new();
	struct step_result r;
	struct outcome o;
	static const char body[] = "Hello.\r\n";

	memset(out, 0, sizeof(*out));
	connect_from(s, "192.0.2.10");
	session_auth(s, "PLAIN", "TLSv1.3", "TLS_AES_256_GCM_SHA384");
	session_mail_from(s, "Q2", user, "<x@example.org>", &r);
	session_step_done(s, &r);
	for (unsigned i = 0; i < rcpts; i++) {
		session_rcpt(s, "<rcpt@example.com>", &r);
		if (r.reply == REPLY_TEMPFAIL) {
			out->rcpt_refused++;
			snprintf(out->rcpt_text, sizeof(out->rcpt_text), "%s %s %s", r.smtp_code,
			    r.status_code, r.text);
		}
		session_step_done(s, &r);
	}
	session_header(s, "From", from);
	session_header(s, "Subject", " test");
	session_header(s, "Message-ID", " <m1@example.org>");
	session_end_of_headers(s, "Q2", &r);
	session_step_done(s, &r);
	session_body(s, (const unsigned char *)body, sizeof(body) - 1);
	session_end_of_message(s, "Q2", &r);
	memset(&o, 0, sizeof(o));
	note_edits(&r, &o);
	out->signatures = o.signatures;
	out->reply = r.reply;
	snprintf(out->code, sizeof(out->code), "%s", r.smtp_code ? r.smtp_code : "");
	snprintf(out->status, sizeof(out->status), "%s", r.status_code ? r.status_code : "");
	snprintf(out->text, sizeof(out->text), "%s", r.text);
	session_step_done(s, &r);
	session_free(s);
}

/* The last line of the AuditLog. */
static void last_audit_line(char *line, size_t size)
{
	FILE   *fp = fopen(audit_path, "r");

	line[0] = '\0';
	if (fp == NULL)
		return;
	while (fgets(line, (int)size, fp) != NULL)
		;
	fclose(fp);
}

static void submissions(void)
{
	struct submitted got;
	char	line[2048];

	if (!TAP_OK(install_submission_runtime(""), "a runtime with SenderMap, RateLimits, "
	    "AuditLog"))
		return;
	submit("alice@example.org", " Alice <alice@example.org>", 1, &got);
	TAP_OK(got.reply == REPLY_ACCEPT && got.signatures == 2,
	    "submission_own_domain_signed (reply %d, %zu signatures)", got.reply, got.signatures);
	last_audit_line(line, sizeof(line));
	TAP_STR_EQ(line, "{\"time\":\"2026-09-21T14:13:20Z\",\"user\":\"alice@example.org\","
	    "\"mechanism\":\"PLAIN\",\"client\":\"192.0.2.10\",\"tls_version\":\"TLSv1.3\","
	    "\"cipher\":\"TLS_AES_256_GCM_SHA384\",\"from\":\"alice@example.org\","
	    "\"recipients\":1,\"message_id\":\"<m1@example.org>\",\"queue_id\":\"Q2\","
	    "\"verdict\":\"signed\"}\n", "submission_audit_json_line_exact");

	submit("bob@example.org", " sales@shop.example.net", 1, &got);
	TAP_OK(got.reply == REPLY_ACCEPT && got.signatures == 0,
	    "submission_listed_pattern_allows (no key for shop.example.net: unsigned, accepted)");
	last_audit_line(line, sizeof(line));
	TAP_OK(strstr(line, "\"verdict\":\"not signed\"") != NULL,
	    "submission_listed_pattern_audited_not_signed: %s", line);

	submit("alice@example.org", " \"Boss\" <ceo@example.net>, alice@example.org", 1, &got);
	TAP_OK(got.reply == REPLY_ACCEPT && got.signatures == 0,
	    "submission_unauthorized_from_not_signed (reply %d, %zu signatures)", got.reply,
	    got.signatures);
	last_audit_line(line, sizeof(line));
	TAP_OK(strstr(line, "\"from\":\"ceo@example.net, alice@example.org\"") != NULL &&
	    strstr(line, "\"verdict\":\"not signed: unauthorized From\"") != NULL,
	    "submission_unauthorized_from_audited: %s", line);

	/* carol: msg/min=2 */
	submit("carol@example.org", " carol@example.org", 1, &got);
	submit("carol@example.org", " carol@example.org", 1, &got);
	TAP_OK(got.reply == REPLY_ACCEPT && got.signatures == 2, "submission_under_msg_limit_signed");
	submit("carol@example.org", " carol@example.org", 1, &got);
	TAP_OK(got.reply == REPLY_TEMPFAIL && strcmp(got.code, "451") == 0 &&
	    strcmp(got.status, "4.7.1") == 0 && strstr(got.text, "msg/min") != NULL &&
	    strstr(got.text, "try again in") != NULL,
	    "submission_msg_limit_tempfails_at_end_of_message: %s %s %s", got.code, got.status,
	    got.text);
	last_audit_line(line, sizeof(line));
	TAP_OK(strstr(line, "\"verdict\":\"rate-limited\"") != NULL,
	    "submission_msg_limit_audited_rate_limited");
	test_now += 120;
	submit("carol@example.org", " carol@example.org", 1, &got);
	TAP_OK(got.reply == REPLY_ACCEPT && got.signatures == 2,
	    "submission_msg_limit_frees_after_its_window (clock +120 s)");

	/* dave: rcpt/hour=2 */
	submit("dave@example.org", " dave@example.org", 3, &got);
	TAP_OK(got.rcpt_refused == 1 && strncmp(got.rcpt_text, "451 4.7.1 ", 10) == 0 &&
	    strstr(got.rcpt_text, "rcpt/hour") != NULL && got.reply == REPLY_ACCEPT &&
	    got.signatures == 2, "submission_rcpt_limit_refuses_the_third_recipient_at_rcpt: %s",
	    got.rcpt_text);
	last_audit_line(line, sizeof(line));
	TAP_OK(strstr(line, "\"recipients\":2,") != NULL,
	    "submission_audit_counts_accepted_recipients: %s", line);
	submit("dave@example.org", " dave@example.org", 1, &got);
	TAP_OK(got.rcpt_refused == 1, "submission_rcpt_limit_holds_within_the_hour");
	test_now += 2 * 3600;
	submit("dave@example.org", " dave@example.org", 1, &got);
	TAP_OK(got.rcpt_refused == 0 && got.reply == REPLY_ACCEPT,
	    "submission_rcpt_limit_frees_after_its_window (clock +2 h)");

	if (TAP_OK(install_submission_runtime("SenderMismatch reject\n"),
	    "a runtime with SenderMismatch reject")) {
		submit("alice@example.org", " ceo@example.net", 1, &got);
		TAP_OK(got.reply == REPLY_REJECT && strcmp(got.code, "550") == 0 &&
		    strcmp(got.status, "5.7.1") == 0 && strstr(got.text, "ceo@example.net") != NULL,
		    "submission_mismatch_reject_550_names_the_from: %s %s %s", got.code, got.status,
		    got.text);
		last_audit_line(line, sizeof(line));
		TAP_OK(strstr(line, "\"verdict\":\"rejected: unauthorized From\"") != NULL,
		    "submission_mismatch_reject_audited");
	}
	/* nothing listens on port 1: every store call fails at once */
	if (TAP_OK(install_submission_runtime("RateLimitStore redis://127.0.0.1:1/0\n"
	    "RateLimitStoreDown tempfail\n"), "a runtime whose Redis store is down, tempfail")) {
		submit("alice@example.org", " alice@example.org", 1, &got);
		TAP_OK(got.rcpt_refused == 1 && strncmp(got.rcpt_text, "451 4.3.0", 9) == 0 &&
		    got.reply == REPLY_TEMPFAIL && strcmp(got.status, "4.3.0") == 0,
		    "submission_store_down_tempfail: %s / %s %s", got.rcpt_text, got.code,
		    got.status);
	}
	if (TAP_OK(install_submission_runtime("RateLimitStore redis://127.0.0.1:1/0\n"),
	    "a runtime whose Redis store is down, accept (default)")) {
		submit("alice@example.org", " alice@example.org", 1, &got);
		TAP_OK(got.rcpt_refused == 0 && got.reply == REPLY_ACCEPT && got.signatures == 2,
		    "submission_store_down_accept_signs");
	}
	unlink(audit_path);
}

int	main(void)
{
	if (!TAP_OK(start_fake_dns(), "a fake nameserver on loopback") ||
	    !TAP_OK(make_keystore(), "a keystore with keys for example.org") ||
	    !TAP_OK(install_runtime("accept"), "a runtime from the test configuration")) {
		nftw(keydir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
		return tap_done();
	}
	who_is_signed();
	close(mkstemp(audit_path));
	submissions();
	if (!install_runtime("accept"))
		return tap_done();
	inbound_forged_fields();
	refused_edits("accept");
	torture("127.0.0.1", "accept", "outbound");
	torture("192.0.2.10", "accept", "inbound");
	if (TAP_OK(install_runtime("tempfail"), "a runtime with OnInternalError tempfail")) {
		refused_edits("tempfail");
		torture("127.0.0.1", "tempfail", "outbound");
		torture("192.0.2.10", "tempfail", "inbound");
	}
	runtime_shutdown();
	nftw(keydir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
