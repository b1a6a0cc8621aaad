/*
 * NAME
 *	test-dnsupdate.c - unit tests of keys/dnsupdate.c: which answers to a TSIG-signed
 *	UPDATE "signet-keys publish" believes
 * SYNOPSIS
 *	tests/unit/test-dnsupdate
 * DESCRIPTION
 *	The request comes from the module's own dnsupdate_build(); the answers are written
 *	here, byte by byte, as a server would sign them (RFC 8945 section 4.3.3: the request
 *	MAC, the answer without its TSIG, the TSIG variables), each then spoiled in one way:
 *	an empty MAC (what a server that cannot verify us, or anyone on the path, sends), a
 *	short MAC, a MAC made with another secret, another key name or algorithm, another
 *	message's ID, a time outside the fudge.  A table says, for each, whether
 *	dnsupdate_parse_answer() believes it, as what, and which check it names.  Every
 *	answer is also cut short at each length, in a buffer of exactly that size, so that
 *	AddressSanitizer sees any read past the end.  TAP on stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "keys/dnsupdate.h"
#include "tests/unit/tap.h"

#define ID		0x4a21
#define SECRET		"c2lnbmV0IHRlc3Qgc2VjcmV0LCAzMiBieXRlcyBsb25nIQ=="
#define OTHER_SECRET	"YW5vdGhlciBzZWNyZXQsIGFsc28gMzIgYnl0ZXMgbG9uZyE="
#define ZONE		"pub.test"

enum mac_kind { MAC_RIGHT, MAC_NONE, MAC_SHORT, MAC_OTHER_SECRET, NO_TSIG };

struct answer_case {
	const char *name;
	/* the answer */
	int	rcode;
	enum mac_kind mac;
	const char *key_name;		/* NULL: ours */
	const char *algorithm;		/* NULL: ours */
	unsigned original_id;		/* 0: ours */
	long	skew;			/* time signed minus now, seconds */
	unsigned fudge;
	unsigned error;
	int	other_time;		/* other data: 6 bytes of server time (BADTIME) */
	/* what dnsupdate_parse_answer() must make of it */
	int	want_rc;
	int	want_signed;
	const char *want_err;		/* part of err when want_rc is -1 */
};

static const struct answer_case cases[] = {
	{ "a_signed_noerror_answer_is_believed", 0, MAC_RIGHT, NULL, NULL, 0, 0, 300, 0, 0,
	    0, 1, NULL },
	{ "an_empty_mac_with_noerror_is_not_success", 0, MAC_NONE, NULL, NULL, 0, 0, 300, 0, 0,
	    -1, 0, "the answer's TSIG MAC is empty (the answer is not signed)" },
	{ "an_empty_mac_with_noerror_and_badsig_names_badsig", 0, MAC_NONE, NULL, NULL, 0, 0,
	    300, 16, 0, -1, 0, "MAC is empty (the server could not verify our request: BADSIG" },
	{ "an_empty_mac_with_noerror_and_badkey_names_badkey", 0, MAC_NONE, NULL, NULL, 0, 0,
	    300, 17, 0, -1, 0, "MAC is empty (the server could not verify our request: BADKEY" },
	{ "no_tsig_with_noerror_is_not_success", 0, NO_TSIG, NULL, NULL, 0, 0, 300, 0, 0,
	    -1, 0, "the answer is not signed (no TSIG record)" },
	{ "a_short_mac_is_refused", 0, MAC_SHORT, NULL, NULL, 0, 0, 300, 0, 0,
	    -1, 0, "the answer's TSIG MAC is 16 bytes, not the 32 of hmac-sha256" },
	{ "a_mac_with_another_secret_does_not_verify", 0, MAC_OTHER_SECRET, NULL, NULL, 0, 0,
	    300, 0, 0, -1, 0, "the answer's TSIG MAC does not verify" },
	{ "another_key_name_is_refused", 0, MAC_RIGHT, "someone-else", NULL, 0, 0, 300, 0, 0,
	    -1, 0, "the answer is signed with another key name (someone-else, not signet-update)" },
	{ "another_algorithm_is_refused", 0, MAC_RIGHT, NULL, "hmac-sha512", 0, 0, 300, 0, 0,
	    -1, 0, "the answer is signed with another algorithm (hmac-sha512, not hmac-sha256)" },
	{ "another_message_id_is_refused", 0, MAC_RIGHT, NULL, NULL, 0x1111, 0, 300, 0, 0,
	    -1, 0, "the answer's TSIG is for message 4369, not ours" },
	{ "a_time_outside_the_fudge_is_refused", 0, MAC_RIGHT, NULL, NULL, 0, -1000, 300, 0, 0,
	    -1, 0, "the answer's TSIG time is outside the fudge (1000 s from our clock, fudge 300 s)" },
	{ "a_time_ahead_outside_the_fudge_is_refused", 0, MAC_RIGHT, NULL, NULL, 0, 400, 300, 0,
	    0, -1, 0, "the answer's TSIG time is outside the fudge" },
	{ "a_time_inside_the_servers_fudge_is_believed", 0, MAC_RIGHT, NULL, NULL, 0, -500, 600,
	    0, 0, 0, 1, NULL },
	{ "an_unsigned_notauth_badsig_is_a_refusal", 9, MAC_NONE, NULL, NULL, 0, 0, 300, 16, 0,
	    0, 0, NULL },
	{ "an_unsigned_refused_is_a_refusal", 5, NO_TSIG, NULL, NULL, 0, 0, 300, 0, 0,
	    0, 0, NULL },
	{ "a_signed_refused_is_a_signed_refusal", 5, MAC_RIGHT, NULL, NULL, 0, 0, 300, 0, 0,
	    0, 1, NULL },
	{ "a_signed_badtime_with_server_time_verifies", 9, MAC_RIGHT, NULL, NULL, 0, 0, 300, 18,
	    1, 0, 1, NULL },
	{ "a_forged_refusal_with_a_bad_mac_is_refused", 5, MAC_OTHER_SECRET, NULL, NULL, 0, 0,
	    300, 0, 0, -1, 0, "does not verify" },
};

/* ---- writing an answer as a server would -------------------------------------------- */

struct out {
	unsigned char b[4096];
	size_t	n;
};

/* Appends value as an n-byte big-endian number. */
static void
emit(struct out *o, unsigned long long value, size_t n)
{
	while (n-- > 0)
		o->b[o->n++] = (unsigned char)(value >> (8 * n));
}

static void
emit_bytes(struct out *o, const void *p, size_t n)
{
	memcpy(o->b + o->n, p, n);
	o->n += n;
}

/* A name without escapes in lower-case wire form, as TSIG wants it. */
static void
emit_name(struct out *o, const char *name)
{
	size_t n, i;

	for (; *name != '\0'; name += n + (name[n] == '.')) {
		n = strcspn(name, ".");
		emit(o, n, 1);
		for (i = 0; i < n; i++)
			emit(o, (unsigned char)(name[i] | 0x20), 1);
	}
	emit(o, 0, 1);
}

static void
emit_header(struct out *o, int rcode, unsigned arcount)
{
	emit(o, ID, 2);
	emit(o, 0x80 | 5 << 3, 1);	/* QR, opcode UPDATE */
	emit(o, (unsigned)rcode, 1);
	emit(o, 1, 2);			/* the zone section, echoed */
	emit(o, 0, 4);
	emit(o, arcount, 2);
	emit_name(o, ZONE);
	emit(o, 6, 2);			/* SOA */
	emit(o, 1, 2);			/* IN */
}

/* The TSIG record's RDATA from time signed on, with mac[mac_len] in it. */
static void
emit_tsig_rdata(struct out *o, const struct answer_case *c, unsigned long long signed_at,
    const unsigned char *mac, size_t mac_len)
{
	emit(o, signed_at, 6);
	emit(o, c->fudge, 2);
	emit(o, mac_len, 2);
	emit_bytes(o, mac, mac_len);
	emit(o, c->original_id != 0 ? c->original_id : ID, 2);
	emit(o, c->error, 2);
	emit(o, c->other_time ? 6 : 0, 2);
	if (c->other_time)
		emit(o, signed_at + 42, 6);
}

/* The answer of case c to a request whose MAC is request_mac[request_mac_len]. */
static size_t
build_answer(const struct answer_case *c, const struct tsig_key *key,
    const unsigned char *request_mac, size_t request_mac_len, unsigned char *msg)
{
	const char *name = c->key_name != NULL ? c->key_name : key->name;
	const char *alg = c->algorithm != NULL ? c->algorithm : key->algorithm;
	unsigned long long signed_at = (unsigned long long)(time(NULL) + c->skew);
	struct out answer = { .n = 0 }, signing = { .n = 0 };
	struct tsig_key other;
	const struct tsig_key *by = key;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	char err[256];
	size_t rdlen_at;

	emit(&signing, request_mac_len, 2);
	emit_bytes(&signing, request_mac, request_mac_len);
	emit_header(&signing, c->rcode, 0);
	emit_name(&signing, name);
	emit(&signing, 255, 2);		/* class ANY */
	emit(&signing, 0, 4);		/* TTL */
	emit_name(&signing, alg);
	emit(&signing, signed_at, 6);
	emit(&signing, c->fudge, 2);
	emit(&signing, c->error, 2);
	emit(&signing, c->other_time ? 6 : 0, 2);
	if (c->other_time)
		emit(&signing, signed_at + 42, 6);
	if (c->mac == MAC_OTHER_SECRET) {
		tsig_key_parse("hmac-sha256:signet-update:" OTHER_SECRET, &other, err, sizeof(err));
		by = &other;
	}
	HMAC(EVP_get_digestbyname(alg + 5), by->secret, (int)by->secret_len, signing.b,
	    signing.n, mac, &mac_len);
	if (c->mac == MAC_NONE)
		mac_len = 0;
	else if (c->mac == MAC_SHORT)
		mac_len = 16;

	emit_header(&answer, c->rcode, c->mac != NO_TSIG);
	if (c->mac != NO_TSIG) {
		emit_name(&answer, name);
		emit(&answer, 250, 2);		/* TSIG */
		emit(&answer, 255, 2);
		emit(&answer, 0, 4);
		rdlen_at = answer.n;
		emit(&answer, 0, 2);
		emit_name(&answer, alg);
		emit_tsig_rdata(&answer, c, signed_at, mac, mac_len);
		answer.b[rdlen_at] = (unsigned char)((answer.n - rdlen_at - 2) >> 8);
		answer.b[rdlen_at + 1] = (unsigned char)(answer.n - rdlen_at - 2);
	}
	memcpy(msg, answer.b, answer.n);
	return answer.n;
}

/* ---- the checks ----------------------------------------------------------------------- */

static void
test_case(const struct answer_case *c, const struct tsig_key *key,
    const unsigned char *request_mac, size_t request_mac_len)
{
	unsigned char msg[4096];
	struct dnsupdate_answer a;
	char err[256] = "";
	size_t len = build_answer(c, key, request_mac, request_mac_len, msg);
	int rc = dnsupdate_parse_answer(msg, len, ID, key, request_mac, request_mac_len, &a,
	    err, sizeof(err));

	if (!TAP_OK(rc == c->want_rc && (rc < 0 || a.signed_ok == c->want_signed), "%s",
	    c->name))
		printf("#   got:  rc %d, signed_ok %d, rcode %d, TSIG error %d, err \"%s\"\n"
		    "#   want: rc %d, signed_ok %d\n", rc, a.signed_ok, a.rcode, a.tsig_error,
		    rc < 0 ? err : "", c->want_rc, c->want_signed);
	if (rc == 0) {
		TAP_INT_EQ(a.rcode, c->rcode, "%s: the rcode is the answer's", c->name);
		TAP_INT_EQ(a.tsig_error, c->error, "%s: the TSIG error is the answer's", c->name);
	} else if (c->want_err != NULL && !TAP_OK(strstr(err, c->want_err) != NULL,
	    "%s: the error names the check", c->name)) {
		printf("#   got:  \"%s\"\n#   want: \"...%s...\"\n", err, c->want_err);
	}
}

/* Every prefix of every answer, in a buffer of exactly its length, is refused. */
static void
test_truncation(const struct tsig_key *key, const unsigned char *request_mac,
    size_t request_mac_len)
{
	unsigned char msg[4096], *copy;
	struct dnsupdate_answer a;
	char err[256];
	size_t i, len, cut, believed = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = build_answer(&cases[i], key, request_mac, request_mac_len, msg);
		for (cut = 0; cut < len; cut++) {
			if ((copy = malloc(cut)) == NULL && cut > 0)
				abort();
			if (cut > 0)
				memcpy(copy, msg, cut);
			if (dnsupdate_parse_answer(copy, cut, ID, key, request_mac,
			    request_mac_len, &a, err, sizeof(err)) == 0 && a.rcode == 0)
				believed++;
			free(copy);
		}
	}
	TAP_INT_EQ(believed, 0, "no_truncated_answer_is_taken_as_success");
}

int
main(void)
{
	unsigned char request[2048], request_mac[EVP_MAX_MD_SIZE];
	size_t request_mac_len = 0, i;
	struct tsig_key key;
	char err[256];

	if (!TAP_OK(tsig_key_parse("hmac-sha256:signet-update:" SECRET, &key, err,
	    sizeof(err)) == 0, "the test key parses"))
		printf("#   %s\n", err);
	TAP_OK(dnsupdate_build(request, sizeof(request), ID, time(NULL), &key, ZONE,
	    "sel._domainkey." ZONE, 5, "v=DKIM1; k=rsa; p=AAAA", request_mac,
	    &request_mac_len) > 0 && request_mac_len == 32, "the request is built and signed");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		test_case(&cases[i], &key, request_mac, request_mac_len);
	test_truncation(&key, request_mac, request_mac_len);
	return tap_done();
}
