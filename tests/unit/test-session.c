/*
 * NAME
 *	test-session - the session's record of forged Authentication-Results fields, for
 *	inbound and outbound mail, with every allocation of a message made to fail in turn
 * DESCRIPTION
 *	No MTA and no daemon: a runtime is built from a small configuration (Mode sv) and
 *	sessions are fed header fields as the libmilter adapter would.  The torture loop
 *	makes the Nth allocation of the message fail, for every N until a message goes
 *	through without one, and checks what must hold whatever failed: either the record
 *	of forged fields is complete and exact, or it says it is incomplete (the adapter
 *	then tempfails the message).  An allocation failure elsewhere -- the copy of a header
 *	field, the DKIM verifier -- must never leave a forged field unrecorded (issue 13).
 *	LeakSanitizer checks that every failed path freed what it had.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "conf/conf.h"
#include "lib/alloc.h"
#include "milter/session.h"
#include "tests/unit/tap.h"

#define AUTHSERV_ID "mx.example.com"

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

static void quiet(void *context, const char *message)
{
	(void)context;
	printf("# conf: %s\n", message);
}

static struct runtime *make_runtime(void)
{
	char	path[] = "/tmp/signet-test-session-XXXXXX", err[256];
	char	keydir[] = "/tmp/signet-test-keys-XXXXXX";
	struct keystore_error kerr;
	struct keystore *keys;
	int	fd = mkstemp(path);
	FILE   *fp = fdopen(fd, "w");
	struct conf *conf;
	struct runtime *rt;

	fputs("Mode sv\nAuthservID " AUTHSERV_ID "\nInternalHosts 127.0.0.1\n"
	    "Nameservers 127.0.0.1@9\nDNSTimeout 1\nOnInternalError accept\n", fp);
	fclose(fp);
	conf = conf_load(path, quiet, NULL);
	unlink(path);
	if (conf == NULL)
		return NULL;
	if (mkdtemp(keydir) == NULL ||
	    (keys = keystore_load(keydir, KEYSTORE_LOAD_PRIVATE, &kerr)) == NULL) {
		printf("# an empty keystore in %s could not be loaded\n", keydir);
		conf_free(conf);
		return NULL;
	}
	rmdir(keydir);
	if ((rt = runtime_build(conf, keys, err, sizeof(err))) == NULL)
		printf("# runtime: %s\n", err);
	return rt;
}

static void connect_from(struct session *s, const char *ip)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};

	inet_pton(AF_INET, ip, &sin.sin_addr);
	session_connect(s, (struct sockaddr *)&sin, "client.example");
}

/* 1 when the session's forged list is exactly forged_wanted. */
static int forged_list_exact(const struct session *s)
{
	size_t	i = 0, n;

	for (n = session_forged_before(s, SIZE_MAX); n != 0; n = session_forged_before(s, n))
		if (i >= sizeof(forged_wanted) / sizeof(forged_wanted[0]) || n != forged_wanted[i++])
			return 0;
	return i == sizeof(forged_wanted) / sizeof(forged_wanted[0]);
}

static void feed(struct session *s)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		session_header(s, fields[i][0], fields[i][1]);
	(void)session_end_of_headers(s);
}

static void forged_fields_recorded(const char *ip, const char *auth, int outbound,
    const char *what)
{
	struct session *s = session_new();

	connect_from(s, ip);
	TAP_OK(session_message_begin(s, "Q1", auth, "<alice@example.org>"), "%s: message begins",
	    what);
	feed(s);
	TAP_OK(session_forged_complete(s) && forged_list_exact(s),
	    "%s: forged fields 4, 3, 1 recorded, the foreign one not", what);
	TAP_INT_EQ(s->outbound, outbound, "%s: direction", what);
	session_free(s);
}

/* Runs one message with the nth allocation failing; returns 1 when that happened. */
static int torture_once(unsigned long nth, const char *ip, int *recorded_despite_failure,
    int *bad)
{
	struct session *s = session_new();
	int	fired, failed;

	if (s == NULL)
		return 0;
	connect_from(s, ip);
	alloc_fail_at(nth);
	if (!session_message_begin(s, "Q2", NULL, "<alice@example.org>")) {
		alloc_fail_at(0);
		session_free(s);
		return 1;
	}
	feed(s);
	fired = alloc_failed();
	alloc_fail_at(0);
	failed = s->failed || (s->checking_inbound && s->inbound == NULL);
	if (session_forged_complete(s) && !forged_list_exact(s)) {
		printf("# allocation %lu failed: the record says complete but is wrong\n", nth);
		(*bad)++;
	}
	if (failed && session_forged_complete(s) && forged_list_exact(s))
		(*recorded_despite_failure)++;
	session_free(s);
	return fired;
}

static void torture(const char *ip, const char *what)
{
	int	bad = 0, despite = 0;
	unsigned long nth;

	for (nth = 1; nth < 10000 && torture_once(nth, ip, &despite, &bad); nth++)
		;
	TAP_OK(nth > 3 && nth < 10000, "%s: %lu allocations made to fail in turn", what, nth - 1);
	TAP_INT_EQ(bad, 0, "%s: a record that says complete is always exact", what);
	TAP_OK(despite > 0, "%s: after an unrelated allocation failure the forged fields are "
	    "still all recorded (%d cases)", what, despite);
}

int	main(void)
{
	struct runtime *rt = make_runtime();

	TAP_OK(rt != NULL, "a runtime from the test configuration");
	if (rt == NULL)
		return tap_done();
	runtime_install(rt);
	forged_fields_recorded("192.0.2.10", NULL, 0, "inbound");
	forged_fields_recorded("127.0.0.1", NULL, 1, "internal");
	forged_fields_recorded("192.0.2.10", "alice@example.org", 1, "authenticated");
	torture("192.0.2.10", "inbound");
	torture("127.0.0.1", "internal");
	runtime_shutdown();
	return tap_done();
}
