/*
 * NAME
 *	test-arcseal - ARC Sets made by arcseal_make(), checked by a verifier written here
 * DESCRIPTION
 *	Seals a message at i=1 (cv=none), then again at i=2 over that set (cv=pass) and at
 *	i=2 with cv=fail, with RSA-SHA256 and Ed25519-SHA256 keys made for the run.  Each
 *	ARC-Message-Signature and ARC-Seal is verified by code in this file that shares
 *	nothing with canon.c or sigfield.c: its own relaxed header canonicalization
 *	(RFC 6376 section 3.4.2), its own b= removal, OpenSSL's verification.  The ARC-Seal
 *	of a pass chain must verify over all sets and that of a fail chain over its own set
 *	only (RFC 8617 sections 5.1.1, 5.1.2).  Also the refusals (50 sets, a chain already
 *	marked cv=fail, a request that contradicts itself), the signer callback, and every
 *	allocation failing in turn.  tests/conformance/arc-interop.py has dkimpy and
 *	Mail::DKIM verify what Signet seals.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "keys/keysign.h"
#include "milter/arcseal.h"
#include "milter/canon.h"
#include "tests/unit/tap.h"
#include "tests/unit/torture.h"

static const char *const signed_names[] = {
	"From", "To", "Subject", "Date", "Authentication-Results", "ARC-Seal", "Message-ID",
};
static const char *const oversigned_names[] = {"From"};

struct fixture {
	struct msgheaders headers;
	struct name_list sign, oversign;
	unsigned char body_hash[CANON_HASH_LEN];
	struct keystore_key key;
	int	signer_calls;
};

/* ---- the independent verifier ------------------------------------------------- */

/* What it hashes; not a struct buffer, so that the torture run's failing allocations
 * stay in the code under test. */
struct hashed {
	char	data[32768];
	size_t	len;
};

static void put(struct hashed *h, const char *p, size_t len)
{
	if (h->len + len <= sizeof(h->data)) {
		memcpy(h->data + h->len, p, len);
		h->len += len;
	}
}

/* Relaxed header canonicalization: lower-case name, unfold, runs of WSP to one SP, no
 * WSP at the ends of the value; with_crlf adds CRLF. */
static void relaxed(struct hashed *out, const char *name, const char *value, int with_crlf)
{
	int	space = 0, started = 0;

	for (const char *p = name; *p; p++)
		put(out, &(char){(char)tolower((unsigned char)*p)}, 1);
	put(out, ":", 1);
	for (const char *p = value; *p; p++) {
		if (*p == '\r' || *p == '\n')
			continue;
		if (*p == ' ' || *p == '\t') {
			space = started;
			continue;
		}
		if (space)
			put(out, " ", 1);
		space = 0;
		started = 1;
		put(out, p, 1);
	}
	if (with_crlf)
		put(out, "\r\n", 2);
}

/* The value with the b= tag's value removed (RFC 6376 section 3.7), and that value
 * without white space into b64. */
static char *strip_b(const char *value, char *b64, size_t size)
{
	char   *copy = strdup(value), *p = copy;

	if (copy == NULL)
		return NULL;
	size_t	n = 0;

	for (; *p; p++)
		if (p[0] == 'b' && p[1] == '=' && (p == copy || p[-1] == ' ' || p[-1] == '\t' ||
		    p[-1] == ';' || p[-1] == '\n'))
			break;
	if (*p == '\0') {
		free(copy);
		return NULL;
	}
	char   *start = p + 2, *end = strchr(start, ';');
	if (end == NULL)
		end = start + strlen(start);
	for (char *q = start; q < end && n + 1 < size; q++)
		if (!isspace((unsigned char)*q))
			b64[n++] = *q;
	b64[n] = '\0';
	memmove(start, end, strlen(end) + 1);
	return copy;
}

static int verify_digest(EVP_PKEY *pkey, const struct hashed *data, const char *b64)
{
	unsigned char digest[32], sig[1024];
	int	len = EVP_DecodeBlock(sig, (const unsigned char *)b64, (int)strlen(b64)), ok;
	size_t	pad = strlen(b64) > 1 ? (b64[strlen(b64) - 1] == '=') +
	    (b64[strlen(b64) - 2] == '=') : 0;

	if (len < 0)
		return 0;
	len -= (int)pad;
	EVP_Digest(data->data, data->len, digest, NULL, EVP_sha256(), NULL);
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
		    EVP_DigestVerify(ctx, sig, (size_t)len, digest, sizeof(digest)) == 1;
		EVP_MD_CTX_free(ctx);
		return ok;
	}
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	ok = EVP_PKEY_verify_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
	    EVP_PKEY_verify(ctx, sig, (size_t)len, digest, sizeof(digest)) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

/* Verifies the AMS over the fields its h= is expected to name: the n-th listing of a name
 * takes its n-th field from the bottom, or none (RFC 6376 section 5.4.2). */
static int verify_ams(const struct fixture *f, const char *ams, const char *const *names,
    size_t count)
{
	static struct hashed data;
	char	b64[1024], *stripped = strip_b(ams, b64, sizeof(b64));
	int	ok;

	data.len = 0;
	for (size_t i = 0; i < count; i++) {
		size_t	skip = 0;

		for (size_t k = 0; k < i; k++)
			skip += strcasecmp(names[k], names[i]) == 0;
		for (size_t j = f->headers.count; j-- > 0;)
			if (strcasecmp(f->headers.fields[j].name, names[i]) == 0 && skip-- == 0) {
				relaxed(&data, names[i], f->headers.fields[j].value, 1);
				break;
			}
	}
	relaxed(&data, "ARC-Message-Signature", stripped ? stripped : "", 0);
	ok = stripped != NULL && verify_digest(f->key.pkey, &data, b64);
	free(stripped);
	return ok;
}

/* Verifies the AS over the chain fields given and the new set. */
static int verify_seal(const struct fixture *f, const struct arcseal_field *chain,
    size_t count, const struct arcseal_set *set)
{
	static struct hashed data;
	char	b64[1024], *stripped = strip_b(set->seal, b64, sizeof(b64));
	int	ok;

	data.len = 0;
	for (size_t i = 0; i < count; i++)
		relaxed(&data, chain[i].name, chain[i].value, 1);
	relaxed(&data, "ARC-Authentication-Results", set->results, 1);
	relaxed(&data, "ARC-Message-Signature", set->signature, 1);
	relaxed(&data, "ARC-Seal", stripped ? stripped : "", 0);
	ok = stripped != NULL && verify_digest(f->key.pkey, &data, b64);
	free(stripped);
	return ok;
}

/* The value with its folds (LF TAB) taken out, in a static buffer. */
static const char *unfolded(const char *value)
{
	static char out[4096];
	size_t	n = 0;

	for (const char *p = value; *p && n + 1 < sizeof(out); p++)
		if (!(p[0] == '\n' && p[1] == '\t') && !(p[0] == '\t' && p > value && p[-1] == '\n'))
			out[n++] = *p;
	out[n] = '\0';
	return out;
}

/* ---- fixtures ------------------------------------------------------------------- */

static void fixture_init(struct fixture *f, EVP_PKEY *pkey, enum key_algorithm alg)
{
	static const char body[] = "Hello,\r\n  this is  the body.\r\n\r\n";
	struct body_canon *bc = body_canon_new(CANON_RELAXED);

	memset(f, 0, sizeof(*f));
	msgheaders_add(&f->headers, "Authentication-Results", " mx.example.org; spf=pass");
	msgheaders_add(&f->headers, "DKIM-Signature", " v=1; a=rsa-sha256; d=example.org;\n"
	    "\ts=x; h=from; bh=AAAA; b=AAAA");
	msgheaders_add(&f->headers, "From", " Alice <alice@example.com>");
	msgheaders_add(&f->headers, "To", " bob@example.net");
	msgheaders_add(&f->headers, "Subject", "  Folded\n\t  subject  ");
	msgheaders_add(&f->headers, "Date", " Sun, 6 Dec 2026 18:00:00 +0000");
	msgheaders_add(&f->headers, "Message-ID", " <1@example.com>");
	f->sign.names = (char **)signed_names;
	f->sign.count = sizeof(signed_names) / sizeof(signed_names[0]);
	f->oversign.names = (char **)oversigned_names;
	f->oversign.count = 1;
	body_canon_update(bc, (const unsigned char *)body, sizeof(body) - 1);
	body_canon_final(bc, f->body_hash);
	body_canon_free(bc);
	snprintf(f->key.domain, sizeof(f->key.domain), "example.org");
	snprintf(f->key.selector, sizeof(f->key.selector), "arc");
	f->key.algorithm = alg;
	f->key.pkey = pkey;
	f->key.state = KEY_STATE_ACTIVE;
}

static int count_signer(void *context, const struct keystore_key *key,
    const unsigned char digest[32], unsigned char sig[512], size_t *sig_len, char *err,
    size_t errlen)
{
	struct fixture *f = context;

	f->signer_calls++;
	return keysign_digest(key, digest, sig, sig_len, err, errlen);
}

static struct arcseal_request request(struct fixture *f, const struct arcseal_field *chain,
    size_t count, size_t n, enum arcseal_cv cv)
{
	struct arcseal_request req = {
		.headers = &f->headers, .sign_headers = &f->sign, .oversign_headers = &f->oversign,
		.body_hash = f->body_hash, .chain = chain, .chain_count = count, .instances = n,
		.cv = cv, .authserv_id = "mx.example.org",
		.results = "spf=pass smtp.mailfrom=example.com;\n\tdkim=pass header.d=example.com",
		.timestamp = 1765000000, .sign_digest = count_signer, .sign_context = f,
	};

	return req;
}

/* The AMS h= this fixture must give: no ARC or A-R field, From oversigned, the
 * DKIM-Signature added. */
static const char *const ams_names[] = {
	"From", "From", "To", "Subject", "Date", "Message-ID", "DKIM-Signature",
};
#define AMS_H " h=from:from:to:subject:date:message-id:dkim-signature;"

static void test_seals(const char *alg, EVP_PKEY *pkey, enum key_algorithm kind)
{
	struct fixture f;
	struct arcseal_set one, two, failed;
	char	err[256] = "";

	fixture_init(&f, pkey, kind);
	struct arcseal_request req = request(&f, NULL, 0, 0, ARCSEAL_CV_NONE);
	TAP_INT_EQ(arcseal_make(&req, &f.key, &one, err, sizeof(err)), ARCSEAL_OK,
	    "%s: i=1 sealed (%s)", alg, err);
	TAP_STR_EQ(one.results, " i=1; mx.example.org; spf=pass smtp.mailfrom=example.com;\n"
	    "\tdkim=pass header.d=example.com", "%s: AAR i=1 with our results", alg);
	TAP_OK(strstr(unfolded(one.signature), AMS_H) != NULL, "%s: AMS h= leaves out ARC and "
	    "A-R fields, signs DKIM-Signature: %s", alg, unfolded(one.signature));
	TAP_OK(strncmp(one.signature, " i=1; a=", 8) == 0 && strstr(unfolded(one.signature),
	    " c=relaxed/relaxed; d=example.org; s=arc; t=1765000000;") &&
	    strstr(one.signature, "v=") == NULL, "%s: AMS tags", alg);
	TAP_OK(strstr(unfolded(one.seal), " t=1765000000; cv=none; d=example.org; s=arc; b=") &&
	    strncmp(one.seal, " i=1; a=", 8) == 0 && strstr(one.seal, "h=") == NULL,
	    "%s: AS tags, cv=none, no h=: %s", alg, unfolded(one.seal));
	TAP_OK(verify_ams(&f, one.signature, ams_names, 7), "%s: AMS i=1 verifies", alg);
	TAP_OK(verify_seal(&f, NULL, 0, &one), "%s: AS i=1 verifies over its set", alg);
	TAP_INT_EQ(f.signer_calls, 2, "%s: both signatures made by the signer callback", alg);

	struct arcseal_field chain[3] = {
		{"ARC-Authentication-Results", one.results},
		{"ARC-Message-Signature", one.signature},
		{"ARC-Seal", one.seal},
	};
	msgheaders_add(&f.headers, "Received", " by relay.example.org");
	req = request(&f, chain, 3, 1, ARCSEAL_CV_PASS);
	TAP_INT_EQ(arcseal_make(&req, &f.key, &two, err, sizeof(err)), ARCSEAL_OK,
	    "%s: i=2 sealed over set 1 (%s)", alg, err);
	TAP_OK(strncmp(two.results, " i=2; mx.example.org;", 21) == 0 &&
	    strncmp(two.signature, " i=2;", 5) == 0 && strstr(two.seal, " cv=pass;") != NULL,
	    "%s: i=2 in all three, cv=pass", alg);
	TAP_OK(verify_ams(&f, two.signature, ams_names, 7), "%s: AMS i=2 verifies", alg);
	TAP_OK(verify_seal(&f, chain, 3, &two), "%s: AS i=2 verifies over sets 1 and 2", alg);
	TAP_OK(!verify_seal(&f, NULL, 0, &two), "%s: ... and not over set 2 alone", alg);

	req = request(&f, chain, 3, 1, ARCSEAL_CV_FAIL);
	TAP_INT_EQ(arcseal_make(&req, &f.key, &failed, err, sizeof(err)), ARCSEAL_OK,
	    "%s: i=2 sealed cv=fail (%s)", alg, err);
	TAP_OK(strstr(failed.seal, " cv=fail;") != NULL, "%s: cv=fail written", alg);
	TAP_OK(verify_seal(&f, NULL, 0, &failed), "%s: a cv=fail AS verifies over its own set "
	    "only (RFC 8617 section 5.1.2)", alg);
	TAP_OK(!verify_seal(&f, chain, 3, &failed), "%s: ... not over the chain", alg);

	arcseal_set_free(&one);
	arcseal_set_free(&two);
	arcseal_set_free(&failed);
	msgheaders_clear(&f.headers);
}

static void test_refusals(EVP_PKEY *pkey)
{
	struct fixture f;
	struct arcseal_set set;
	char	err[256] = "";
	struct arcseal_field chain[3] = {
		{"ARC-Authentication-Results", " i=1; x.example; none"},
		{"ARC-Message-Signature", " i=1; a=rsa-sha256; b=AAAA"},
		{"ARC-Seal", " i=1; a=rsa-sha256; cv=none; b=AAAA"},
	};

	fixture_init(&f, pkey, KEY_ALG_RSA_2048);
	struct arcseal_request req = request(&f, chain, 3, 50, ARCSEAL_CV_FAIL);
	TAP_INT_EQ(arcseal_make(&req, &f.key, &set, err, sizeof(err)), ARCSEAL_TOO_MANY,
	    "50 sets: no instance 51");
	TAP_OK(strstr(err, "4.2.1") != NULL && set.seal == NULL, "... said so: %s", err);
	req = request(&f, chain, 3, 49, ARCSEAL_CV_FAIL);
	TAP_INT_EQ(arcseal_make(&req, &f.key, &set, err, sizeof(err)), ARCSEAL_OK,
	    "49 sets (a failed chain): instance 50 is made");
	TAP_OK(set.seal != NULL && strncmp(set.seal, " i=50;", 6) == 0, "... as i=50");
	arcseal_set_free(&set);

	chain[2].value = " i=1; a=rsa-sha256; cv=FAIL; b=AAAA";
	req = request(&f, chain, 3, 1, ARCSEAL_CV_FAIL);
	TAP_INT_EQ(arcseal_make(&req, &f.key, &set, err, sizeof(err)), ARCSEAL_CHAIN_ENDED,
	    "a chain an earlier hop marked cv=fail is not continued (RFC 8617 5.1.3)");
	chain[2].value = " i=1; a=rsa-sha256; cv=none; b=AAAA";

	req = request(&f, chain, 3, 1, ARCSEAL_CV_NONE);
	TAP_INT_EQ(arcseal_make(&req, &f.key, &set, err, sizeof(err)), ARCSEAL_BAD_REQUEST,
	    "cv=none with a chain is refused");
	req = request(&f, NULL, 0, 0, ARCSEAL_CV_PASS);
	TAP_INT_EQ(arcseal_make(&req, &f.key, &set, err, sizeof(err)), ARCSEAL_BAD_REQUEST,
	    "cv=pass without a chain is refused");
	req = request(&f, chain, 2, 1, ARCSEAL_CV_PASS);
	TAP_INT_EQ(arcseal_make(&req, &f.key, &set, err, sizeof(err)), ARCSEAL_BAD_REQUEST,
	    "a passing chain of 1 set needs 3 fields");
	struct arcseal_field swapped[3] = {chain[1], chain[0], chain[2]};
	req = request(&f, swapped, 3, 1, ARCSEAL_CV_PASS);
	TAP_INT_EQ(arcseal_make(&req, &f.key, &set, err, sizeof(err)), ARCSEAL_BAD_REQUEST,
	    "a chain out of AAR, AMS, AS order is refused");
	req = request(&f, NULL, 0, 0, ARCSEAL_CV_NONE);
	req.authserv_id = "";
	TAP_INT_EQ(arcseal_make(&req, &f.key, &set, err, sizeof(err)), ARCSEAL_BAD_REQUEST,
	    "no authserv-id is refused");
	req = request(&f, NULL, 0, 0, ARCSEAL_CV_NONE);
	req.results = NULL;
	TAP_INT_EQ(arcseal_make(&req, &f.key, &set, err, sizeof(err)), ARCSEAL_OK,
	    "no results: sealed");
	TAP_STR_EQ(set.results, " i=1; mx.example.org; none", "... with \"none\" (RFC 8601)");
	arcseal_set_free(&set);
	msgheaders_clear(&f.headers);
}

struct torture_case {
	struct fixture *f;
	struct arcseal_set want;
};

static enum torture_outcome seal_once(void *context)
{
	struct torture_case *c = context;
	struct arcseal_field chain[3] = {
		{"ARC-Authentication-Results", c->want.results},
		{"ARC-Message-Signature", c->want.signature},
		{"ARC-Seal", c->want.seal},
	};
	struct arcseal_request req = request(c->f, chain, 3, 1, ARCSEAL_CV_PASS);
	struct arcseal_set got;
	char	err[256] = "";
	int	right;

	if (arcseal_make(&req, &c->f->key, &got, err, sizeof(err)) != ARCSEAL_OK) {
		if (strstr(err, "out of memory") != NULL && got.seal == NULL)
			return TORTURE_ERROR;
		printf("#   err: %s\n", err);
		return TORTURE_WRONG;
	}
	right = strncmp(got.seal, " i=2;", 5) == 0 && verify_seal(c->f, chain, 3, &got);
	arcseal_set_free(&got);
	return right ? TORTURE_DONE : TORTURE_WRONG;
}

static void test_torture(EVP_PKEY *pkey)
{
	struct fixture f;
	struct torture_case c = {&f, {0}};
	char	err[256] = "";

	fixture_init(&f, pkey, KEY_ALG_ED25519);
	struct arcseal_request req = request(&f, NULL, 0, 0, ARCSEAL_CV_NONE);
	if (TAP_OK(arcseal_make(&req, &f.key, &c.want, err, sizeof(err)) == ARCSEAL_OK,
	    "a set to seal over (%s)", err))
		torture("arcseal_make, i=2 over one set", seal_once, &c, TORTURE_NO_RECOVERY);
	arcseal_set_free(&c.want);
	msgheaders_clear(&f.headers);
}

int	main(void)
{
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

	TAP_OK(rsa != NULL && ed != NULL, "keys made");
	test_seals("rsa-sha256", rsa, KEY_ALG_RSA_2048);
	test_seals("ed25519-sha256", ed, KEY_ALG_ED25519);
	test_refusals(rsa);
	test_torture(ed);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
	return tap_done();
}
