/*
 * NAME
 *	test-sign - Signet's signatures checked by an independent verifier (libopendkim)
 * DESCRIPTION
 *	Signs messages with sign_message() for RSA-SHA256 and Ed25519-SHA256 under every
 *	canonicalization pair, assembles the message as an MTA would deliver it, and has
 *	libopendkim verify it, its key lookup answered from the generated keys (no DNS: the
 *	outbound cases of tests/data do that with a real DNS server and two more
 *	verifiers).  Also checks that oversigning makes an added header field break the
 *	signature.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <dkim.h>

#include "milter/canon.h"
#include "milter/msgheaders.h"
#include "milter/sign.h"
#include "tests/unit/tap.h"
#include "tests/unit/torture.h"

static EVP_PKEY *rsa_key, *ed_key;

static const char *const signed_names[] = {"From", "To", "Subject", "Date", "Message-ID"};
static const char *const oversigned_names[] = {"From", "Subject", "Date"};

static DKIM_CBSTAT key_lookup(DKIM *dkim, DKIM_SIGINFO *sig, u_char *buf, size_t buflen)
{
	int	is_ed = strcmp((const char *)dkim_sig_getselector(sig), "ed") == 0;
	EVP_PKEY *key = is_ed ? ed_key : rsa_key;
	unsigned char der[1024], *p = der;
	size_t	len = sizeof(der);
	char	b64[1500];

	(void)dkim;
	if (is_ed)
		EVP_PKEY_get_raw_public_key(key, der, &len);
	else
		len = (size_t)i2d_PUBKEY(key, &p);
	EVP_EncodeBlock((unsigned char *)b64, der, (int)len);
	snprintf((char *)buf, buflen, "v=DKIM1; k=%s; p=%s", is_ed ? "ed25519" : "rsa", b64);
	return DKIM_CBSTAT_CONTINUE;
}

static void append_field(struct buffer *msg, const char *name, const char *value)
{
	buffer_append_str(msg, name);
	buffer_append(msg, ":", 1);
	for (const char *p = value; *p; p++)
		if (*p == '\n')
			buffer_append(msg, "\r\n", 2);
		else
			buffer_append(msg, p, 1);
	buffer_append(msg, "\r\n", 2);
}

/* Verifies msg with libopendkim; returns the number of passing signatures. */
static int verify(DKIM_LIB *lib, const struct buffer *msg)
{
	DKIM_STAT status;
	DKIM   *dkim = dkim_verify(lib, (const unsigned char *)"test", NULL, &status);
	DKIM_SIGINFO **sigs;
	int	nsigs = 0, passed = 0;

	if (dkim == NULL)
		return -1;
	dkim_chunk(dkim, (u_char *)msg->data, msg->len);
	dkim_chunk(dkim, NULL, 0);
	dkim_eom(dkim, NULL);
	if (dkim_getsiglist(dkim, &sigs, &nsigs) == DKIM_STAT_OK)
		for (int i = 0; i < nsigs; i++)
			if (DKIM_SIG_CHECK(sigs[i]))
				passed++;
	dkim_free(dkim);
	return passed;
}

struct fixture {
	struct msgheaders headers;
	const char *body;
};

static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	msgheaders_add(&f->headers, "Received", " from x by y; Fri, 27 Nov 2026 07:00:00 +0000");
	msgheaders_add(&f->headers, "From", " Alice Example <alice@example.com>");
	msgheaders_add(&f->headers, "To", " bob@example.net,\n\tcarol@example.org");
	msgheaders_add(&f->headers, "Subject", " A  test\n  with folding ");
	msgheaders_add(&f->headers, "Date", " Fri, 27 Nov 2026 07:00:00 +0000");
	msgheaders_add(&f->headers, "Message-ID", " <1@example.com>");
	f->body = "Hello  there \r\n\r\nsecond\tparagraph\r\n\r\n\r\n";
}

/* Signs the fixture and returns the delivered message (signature on top). */
static int sign_fixture(const struct fixture *f, EVP_PKEY *pkey, enum key_algorithm alg,
    const char *selector, enum canon_kind ch, enum canon_kind cb, struct buffer *msg)
{
	struct name_list sign = {(char **)signed_names, 5};
	struct name_list over = {(char **)oversigned_names, 3};
	struct keystore_key key = {.algorithm = alg, .state = KEY_STATE_ACTIVE, .pkey = pkey};
	unsigned char bh[CANON_HASH_LEN];
	struct body_canon *bc = body_canon_new(cb);
	char	err[256], *value;

	snprintf(key.domain, sizeof(key.domain), "example.com");
	snprintf(key.selector, sizeof(key.selector), "%s", selector);
	body_canon_update(bc, (const unsigned char *)f->body, strlen(f->body));
	body_canon_final(bc, bh);
	body_canon_free(bc);
	struct sign_request req = {&f->headers, &sign, &over, ch, cb, bh, time(NULL), NULL, NULL};
	if ((value = sign_message(&req, &key, err, sizeof(err))) == NULL) {
		printf("# sign_message: %s\n", err);
		return 0;
	}
	append_field(msg, "DKIM-Signature", value);
	free(value);
	for (size_t i = 0; i < f->headers.count; i++)
		append_field(msg, f->headers.fields[i].name, f->headers.fields[i].value);
	buffer_append(msg, "\r\n", 2);
	buffer_append_str(msg, f->body);
	return 1;
}

/* ---- allocation failures ------------------------------------------------------------ */

struct signed_pair {
	const struct fixture *f;
	char   *rsa, *ed;		/* the values signed without failure */
};

/* Both signatures of the fixture, relaxed/simple, at a fixed time; 0 with err on failure. */
static int sign_both(const struct fixture *f, char **rsa, char **ed, char *err, size_t errlen)
{
	struct name_list sign = {(char **)signed_names, 5};
	struct name_list over = {(char **)oversigned_names, 3};
	struct keystore_key key = {.algorithm = KEY_ALG_RSA_2048, .state = KEY_STATE_ACTIVE,
	    .pkey = rsa_key, .domain = "example.com", .selector = "rsa"};
	unsigned char bh[CANON_HASH_LEN] = "0123456789abcdef0123456789abcdef";
	struct sign_request req = {&f->headers, &sign, &over, CANON_RELAXED, CANON_SIMPLE, bh,
	    1795676400, NULL, NULL};

	*ed = NULL;
	if ((*rsa = sign_message(&req, &key, err, errlen)) == NULL)
		return 0;
	key.algorithm = KEY_ALG_ED25519;
	key.pkey = ed_key;
	snprintf(key.selector, sizeof(key.selector), "ed");
	if ((*ed = sign_message(&req, &key, err, errlen)) == NULL) {
		free(*rsa);
		*rsa = NULL;
		return 0;
	}
	return 1;
}

static enum torture_outcome sign_once(void *context)
{
	const struct signed_pair *want = context;
	char	err[256] = "", *rsa, *ed;
	int	right;

	if (!sign_both(want->f, &rsa, &ed, err, sizeof(err))) {
		if (strstr(err, "out of memory") != NULL)
			return TORTURE_ERROR;
		printf("#   err: %s\n", err);
		return TORTURE_WRONG;
	}
	right = strcmp(rsa, want->rsa) == 0 && strcmp(ed, want->ed) == 0;
	free(rsa);
	free(ed);
	return right ? TORTURE_DONE : TORTURE_WRONG;
}

static void torture_sign(const struct fixture *f)
{
	struct signed_pair want = {f, NULL, NULL};
	char	err[256] = "";

	if (TAP_OK(sign_both(f, &want.rsa, &want.ed, err, sizeof(err)),
	    "rsa-sha256 and ed25519-sha256 signatures to make (%s)", err))
		torture("sign_message, rsa-sha256 then ed25519-sha256", sign_once, &want,
		    TORTURE_NO_RECOVERY);
	free(want.rsa);
	free(want.ed);
}

int	main(void)
{
	DKIM_LIB *lib = dkim_init(NULL, NULL);
	struct fixture f;
	enum canon_kind kinds[2] = {CANON_SIMPLE, CANON_RELAXED};

	rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ed_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	TAP_OK(lib != NULL && rsa_key != NULL && ed_key != NULL, "libopendkim and keys ready");
	dkim_set_key_lookup(lib, key_lookup);
	fixture_init(&f);

	for (int alg = 0; alg < 2; alg++) {
		for (int h = 0; h < 2; h++) {
			for (int b = 0; b < 2; b++) {
				struct buffer msg = {0};
				int	ok = sign_fixture(&f, alg ? ed_key : rsa_key,
				    alg ? KEY_ALG_ED25519 : KEY_ALG_RSA_2048, alg ? "ed" : "rsa",
				    kinds[h], kinds[b], &msg);

				TAP_INT_EQ(ok ? verify(lib, &msg) : -1, 1,
				    "libopendkim verifies %s c=%s/%s", alg ? "ed25519-sha256" :
				    "rsa-sha256", conf_canon_name(kinds[h]), conf_canon_name(kinds[b]));
				buffer_free(&msg);
			}
		}
	}

	/* Oversigning: an added Subject, or From, above the signed ones breaks it. */
	const char *added[] = {"Subject", "From"};
	for (int i = 0; i < 2; i++) {
		struct buffer msg = {0}, tampered = {0};

		sign_fixture(&f, rsa_key, KEY_ALG_RSA_2048, "rsa", CANON_RELAXED, CANON_RELAXED, &msg);
		append_field(&tampered, added[i], " injected@evil.example");
		buffer_append(&tampered, msg.data, msg.len);
		TAP_INT_EQ(verify(lib, &tampered), 0, "an added %s breaks the signature", added[i]);
		buffer_free(&msg);
		buffer_free(&tampered);
	}

	/* A changed body breaks it; trailing empty lines added do not (canonicalization). */
	struct buffer msg = {0};
	sign_fixture(&f, ed_key, KEY_ALG_ED25519, "ed", CANON_SIMPLE, CANON_SIMPLE, &msg);
	buffer_append_str(&msg, "\r\n\r\n");
	TAP_INT_EQ(verify(lib, &msg), 1, "extra trailing empty lines still verify (simple)");
	msg.data[msg.len - 10] ^= 1;
	TAP_INT_EQ(verify(lib, &msg), 0, "a changed body byte fails");
	buffer_free(&msg);

	torture_sign(&f);
	msgheaders_clear(&f.headers);
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(ed_key);
	dkim_close(lib);
	return tap_done();
}
