/*
 * NAME
 *	test-arcverify - Signet's ARC validator: chains made here, tampered, and malformed
 * DESCRIPTION
 *	Chains of one to three ARC Sets are sealed here, the way RFC 8617 section 5.1 says
 *	and independently of arcset.c and archash.c: each hop puts its AAR, AMS and AS on
 *	top of the header; the AMS signs From, To and Subject (taken bottom-up) and the body
 *	(relaxed, canon.c); the AS signs the sets 1..i in increasing order, relaxed, itself
 *	last without b= and CRLF; OpenSSL signs with RSA-2048, Ed25519 or RSA-512 keys made
 *	at start-up, served by the test seam (keyserve.h).  Then the chains are validated
 *	through arcverify.h as the daemon would: intact, with the body changed after a seal,
 *	a seal removed, an instance skipped, a cv= that lies, an AAR changed, weak
 *	algorithms and keys, a failed key lookup; and the structure rules on hostile
 *	fields; the sets as arctrust.c (trusted sealers) takes them.  Every allocation is
 *	made to fail in turn on a two-hop chain (torture.h).
 *	The suite of tests/conformance/arc-suite.py checks against chains made elsewhere.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "lib/buffer.h"
#include "milter/archash.h"
#include "milter/arctrust.h"
#include "milter/arcverify.h"
#include "milter/canon.h"
#include "milter/dkimhdr.h"
#include "milter/dkimsig.h"
#include "milter/verify.h"
#include "tests/unit/keyserve.h"
#include "tests/unit/tap.h"
#include "tests/unit/torture.h"

static EVP_PKEY *rsa_key, *ed_key, *small_key;
static struct verifier *verifier;

#define MAX_FIELDS	200

struct msg {
	char   *name[MAX_FIELDS];
	char   *value[MAX_FIELDS];	/* after the colon, as the MTA passes it */
	size_t	count;
	char	body[256];
};

static void msg_init(struct msg *m)
{
	static const char *const fields[][2] = {
		{"Received", " from a by b; Sun, 6 Dec 2026 10:00:00 +0000"},
		{"From", " Alice <alice@example.org>"},
		{"To", " list@example.net"},
		{"Subject", " An ARC\n\ttest"},
		{"Date", " Sun, 6 Dec 2026 09:59:00 +0000"},
	};

	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		m->name[i] = strdup(fields[i][0]);
		m->value[i] = strdup(fields[i][1]);
	}
	m->count = sizeof(fields) / sizeof(fields[0]);
	snprintf(m->body, sizeof(m->body), "Hello,  list.\r\n\r\nBye.\r\n");
}

static void msg_free(struct msg *m)
{
	for (size_t i = 0; i < m->count; i++) {
		free(m->name[i]);
		free(m->value[i]);
	}
	m->count = 0;
}

static void msg_copy(struct msg *to, const struct msg *from)
{
	*to = *from;
	for (size_t i = 0; i < from->count; i++) {
		to->name[i] = strdup(from->name[i]);
		to->value[i] = strdup(from->value[i]);
	}
}

/* A field on top of the header (where a sealer adds it). */
static void prepend(struct msg *m, const char *name, const char *value)
{
	memmove(&m->name[1], &m->name[0], m->count * sizeof(m->name[0]));
	memmove(&m->value[1], &m->value[0], m->count * sizeof(m->value[0]));
	m->name[0] = strdup(name);
	m->value[0] = strdup(value);
	m->count++;
}

/* The index of the field name whose value has "i=N;" (N = instance), or -1. */
static long find(const struct msg *m, const char *name, int instance)
{
	char	tag[16];

	snprintf(tag, sizeof(tag), "i=%d;", instance);
	for (size_t i = 0; i < m->count; i++)
		if (strcasecmp(m->name[i], name) == 0 && strstr(m->value[i], tag) != NULL)
			return (long)i;
	return -1;
}

static void drop(struct msg *m, long i)
{
	free(m->name[i]);
	free(m->value[i]);
	memmove(&m->name[i], &m->name[i + 1], (m->count - (size_t)i - 1) * sizeof(m->name[0]));
	memmove(&m->value[i], &m->value[i + 1], (m->count - (size_t)i - 1) *
	    sizeof(m->value[0]));
	m->count--;
}

/* The value of the field name of that instance, replaced. */
static void replace(struct msg *m, const char *name, int instance, const char *value)
{
	long	f = find(m, name, instance);

	free(m->value[f]);
	m->value[f] = strdup(value);
}

/* ---- sealing ---------------------------------------------------------------------------- */

/* b= of the SHA-256 of data, base64, into out. */
static void sign_data(EVP_PKEY *key, const char *a, const struct buffer *data, char *out)
{
	unsigned char digest[32], sig[1024];
	size_t	len = sizeof(sig);
	unsigned int dlen;
	int	sha1 = strcmp(a, "rsa-sha1") == 0;

	EVP_Digest(data->data, data->len, digest, &dlen, sha1 ? EVP_sha1() : EVP_sha256(),
	    NULL);
	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();

		EVP_DigestSignInit(md, NULL, NULL, NULL, key);
		EVP_DigestSign(md, sig, &len, digest, dlen);
		EVP_MD_CTX_free(md);
	} else {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);

		EVP_PKEY_sign_init(ctx);
		EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING);
		EVP_PKEY_CTX_set_signature_md(ctx, sha1 ? EVP_sha1() : EVP_sha256());
		EVP_PKEY_sign(ctx, sig, &len, digest, dlen);
		EVP_PKEY_CTX_free(ctx);
	}
	EVP_EncodeBlock((unsigned char *)out, sig, (int)len);
}

struct hop {
	EVP_PKEY *key;
	const char *a;			/* a= of both signatures */
	const char *s;			/* selector, under example.org */
	const char *cv;			/* NULL: as RFC 8617 says (none at 1, pass above) */
	const char *seal_more;		/* more tags for the seal, "" */
};

/* The AMS of instance i over From, To, Subject (bottom-up) and the body. */
static void sign_message(struct msg *m, int i, const struct hop *h)
{
	static const char *const signed_names[] = {"From", "To", "Subject"};
	struct buffer data = {0};
	struct body_canon *bc = body_canon_new(CANON_RELAXED);
	unsigned char bh[32];
	char	bh64[64], b[1400], unsigned_value[512], value[2048];

	body_canon_update(bc, (const unsigned char *)m->body, strlen(m->body));
	body_canon_final(bc, bh);
	body_canon_free(bc);
	EVP_EncodeBlock((unsigned char *)bh64, bh, 32);
	snprintf(unsigned_value, sizeof(unsigned_value), " i=%d; a=%s; c=relaxed/relaxed; "
	    "d=example.org; s=%s;\n\th=from:to:subject; bh=%s; b=", i, h->a, h->s, bh64);
	for (size_t n = 0; n < 3; n++)
		for (size_t f = m->count; f-- > 0;)
			if (strcasecmp(m->name[f], signed_names[n]) == 0) {
				header_canon(&data, CANON_RELAXED, m->name[f], m->value[f], 1);
				break;
			}
	header_canon(&data, CANON_RELAXED, "ARC-Message-Signature", unsigned_value, 0);
	sign_data(h->key, h->a, &data, b);
	snprintf(value, sizeof(value), "%s%s", unsigned_value, b);
	prepend(m, "ARC-Message-Signature", value);
	buffer_free(&data);
}

/* The AS of instance i over the sets 1..i. */
static void seal_chain(struct msg *m, int i, const struct hop *h)
{
	static const char *const names[] = {"ARC-Authentication-Results",
	    "ARC-Message-Signature", "ARC-Seal"};
	struct buffer data = {0};
	char	unsigned_value[512], value[2048], b[1400];
	const char *cv = h->cv ? h->cv : i == 1 ? "none" : "pass";

	snprintf(unsigned_value, sizeof(unsigned_value), " i=%d; a=%s; cv=%s; d=example.org;"
	    " s=%s; %sb=", i, h->a, cv, h->s, h->seal_more);
	for (int k = 1; k <= i; k++)
		for (size_t n = 0; n < 3 && !(k == i && n == 2); n++) {
			long	f = find(m, names[n], k);

			if (f >= 0)
				header_canon(&data, CANON_RELAXED, m->name[f], m->value[f], 1);
		}
	header_canon(&data, CANON_RELAXED, "ARC-Seal", unsigned_value, 0);
	sign_data(h->key, h->a, &data, b);
	snprintf(value, sizeof(value), "%s%s", unsigned_value, b);
	prepend(m, "ARC-Seal", value);
	buffer_free(&data);
}

static void seal(struct msg *m, int i, const struct hop *h)
{
	char	aar[128];

	snprintf(aar, sizeof(aar), " i=%d; hop%d.example.org; spf=pass\n"
	    "\tsmtp.mailfrom=example.org", i, i);
	prepend(m, "ARC-Authentication-Results", aar);
	sign_message(m, i, h);
	seal_chain(m, i, h);
}

static const struct hop RSA_HOP = {NULL, "rsa-sha256", "rsa", NULL, ""};

static struct hop hop_with(EVP_PKEY *key, const char *a, const char *s)
{
	struct hop h = RSA_HOP;

	h.key = key;
	h.a = a;
	h.s = s;
	return h;
}

/* A chain of n hops, RSA and Ed25519 in turn. */
static void chain(struct msg *m, int n)
{
	msg_init(m);
	for (int i = 1; i <= n; i++) {
		struct hop h = i % 2 ? hop_with(rsa_key, "rsa-sha256", "rsa") :
		    hop_with(ed_key, "ed25519-sha256", "ed");

		seal(m, i, &h);
	}
}

/* ---- validating ------------------------------------------------------------------------- */

struct run {
	struct arcverify_message *m;
	const struct arc_outcome *out;
	char	text[200];		/* "pass", "fail (reason)", "none", "(error)" */
};

static int validate(struct run *run, const struct msg *msg)
{
	struct dns_budget budget;

	memset(run, 0, sizeof(*run));
	dns_budget_init(&budget, 100, 10000);
	if ((run->m = arcverify_begin(verifier, &budget, "TEST")) == NULL) {
		snprintf(run->text, sizeof(run->text), "(error)");
		return 0;
	}
	for (size_t i = 0; i < msg->count; i++)
		arcverify_header(run->m, msg->name[i], msg->value[i]);
	arcverify_end_of_headers(run->m);
	/* In two chunks, split inside a line. */
	arcverify_body(run->m, (const unsigned char *)msg->body, 5);
	arcverify_body(run->m, (const unsigned char *)msg->body + 5, strlen(msg->body) - 5);
	if (!arcverify_finish(run->m, &run->out)) {
		snprintf(run->text, sizeof(run->text), "(error)");
		return 0;
	}
	snprintf(run->text, sizeof(run->text), "%s%s%s%s", arc_result_name(run->out->result),
	    run->out->reason[0] ? " (" : "", run->out->reason, run->out->reason[0] ? ")" : "");
	return 1;
}

static void expect(const char *what, const struct msg *msg, const char *want)
{
	struct run run;

	validate(&run, msg);
	TAP_STR_EQ(run.text, want, "%s", what);
	arcverify_free(run.m);
}

/* A message of hops sealed in turn (instances from 1, or as the hops say), validated. */
static void expect_hops(const char *what, const struct hop *const *hops, const int *instances,
    size_t count, const char *want)
{
	struct msg m;

	msg_init(&m);
	for (size_t i = 0; i < count; i++)
		seal(&m, instances ? instances[i] : (int)i + 1, hops[i]);
	expect(what, &m, want);
	msg_free(&m);
}

static void test_intact_chains(void)
{
	struct msg m;
	struct run run;
	const struct arc_set_info *info;
	const char *name, *value;

	msg_init(&m);
	expect("no_arc_field_is_none", &m, "none");
	msg_free(&m);
	for (int n = 1; n <= 3; n++) {
		char	what[64];

		chain(&m, n);
		validate(&run, &m);
		snprintf(what, sizeof(what), "chain_of_%d_passes", n);
		TAP_STR_EQ(run.text, "pass", "%s", what);
		TAP_INT_EQ(run.out ? run.out->sets : 0, n, "%s: sets", what);
		TAP_INT_EQ(run.out ? run.out->oldest_pass : 99, 0, "%s: oldest_pass_0_all_verify",
		    what);
		arcverify_free(run.m);
		msg_free(&m);
	}
	chain(&m, 2);
	validate(&run, &m);
	info = arcverify_set(run.m, 2);
	TAP_STR_EQ(info ? info->seal_domain : NULL, "example.org", "set_2_seal_domain");
	TAP_STR_EQ(info ? info->seal_selector : NULL, "ed", "set_2_seal_selector");
	info = arcverify_set(run.m, 1);
	TAP_OK(info != NULL && info->payload_len == strlen(" hop1.example.org; spf=pass\n"
	    "\tsmtp.mailfrom=example.org") && memcmp(info->payload, " hop1.example.org;", 18)
	    == 0, "set_1_payload_is_the_aar_after_the_instance");
	TAP_OK(arcverify_set(run.m, 0) == NULL && arcverify_set(run.m, 3) == NULL,
	    "no_set_0_nor_past_n");
	int	order = 1;
	for (size_t i = 0; i < 6; i++) {
		static const char *const want[] = {"ARC-Authentication-Results",
		    "ARC-Message-Signature", "ARC-Seal"};
		char	tag[8];

		snprintf(tag, sizeof(tag), "i=%zu;", i / 3 + 1);
		order &= arcverify_field(run.m, i, &name, &value) &&
		    strcmp(name, want[i % 3]) == 0 && strstr(value, tag) != NULL;
	}
	TAP_OK(order && !arcverify_field(run.m, 6, &name, &value),
	    "fields_come_in_sealing_order");
	arcverify_free(run.m);
	msg_free(&m);
}

static void test_tampering(void)
{
	struct msg m, copy;
	struct run run;

	chain(&m, 3);
	snprintf(m.body, sizeof(m.body), "Hello, list, changed.\r\n");
	expect("body_changed_after_the_last_seal_fails", &m,
	    "fail (ARC-Message-Signature i=3: body hash did not verify)");
	msg_free(&m);

	/* A hop that changes the body, then seals: the chain passes, oldest-pass says so. */
	chain(&m, 1);
	snprintf(m.body, sizeof(m.body), "Hello, list (footer added).\r\n");
	struct hop ed = hop_with(ed_key, "ed25519-sha256", "ed");
	seal(&m, 2, &ed);
	seal(&m, 3, &ed);
	validate(&run, &m);
	TAP_STR_EQ(run.text, "pass", "body_changed_before_a_seal_passes");
	TAP_INT_EQ(run.out ? run.out->oldest_pass : 0, 2, "oldest_pass_is_the_oldest_ams_"
	    "that_verifies");
	arcverify_free(run.m);
	msg_free(&m);

	chain(&m, 3);
	msg_copy(&copy, &m);
	drop(&m, find(&m, "ARC-Seal", 2));
	expect("seal_removed_fails", &m, "fail (no ARC-Seal field of instance 2)");
	msg_free(&m);
	drop(&copy, find(&copy, "ARC-Authentication-Results", 1));
	drop(&copy, find(&copy, "ARC-Message-Signature", 1));
	drop(&copy, find(&copy, "ARC-Seal", 1));
	expect("oldest_set_removed_fails", &copy,
	    "fail (no ARC-Authentication-Results field of instance 1)");
	msg_free(&copy);

	struct hop rsa = hop_with(rsa_key, "rsa-sha256", "rsa"), none = rsa, pass = rsa,
	    failed = rsa;
	const int skip[] = {1, 3};

	none.cv = "none";
	pass.cv = "pass";
	failed.cv = "fail";
	expect_hops("instance_skipped_fails", (const struct hop *[]){&rsa, &rsa}, skip, 2,
	    "fail (no ARC-Authentication-Results field of instance 2)");
	expect_hops("cv_none_above_instance_1_fails", (const struct hop *[]){&rsa, &none}, NULL,
	    2, "fail (ARC-Seal i=2 says cv=none)");
	expect_hops("cv_pass_at_instance_1_fails", (const struct hop *[]){&pass}, NULL, 1,
	    "fail (ARC-Seal i=1 says cv=pass)");
	expect_hops("cv_fail_anywhere_fails", (const struct hop *[]){&rsa, &failed, &rsa}, NULL,
	    3, "fail (ARC-Seal i=2 says cv=fail)");

	chain(&m, 2);
	replace(&m, "ARC-Authentication-Results", 1, " i=1; hop1.example.org; spf=fail");
	expect("aar_changed_fails_the_seals", &m, "fail (ARC-Seal i=2 did not verify)");
	msg_free(&m);

	chain(&m, 2);
	long	s1 = find(&m, "ARC-Seal", 1);
	char   *b = strstr(m.value[s1], "b=");
	b[2] = b[2] == 'A' ? 'B' : 'A';
	expect("seal_1_changed_fails_the_seal_above_it_first", &m,
	    "fail (ARC-Seal i=2 did not verify)");
	msg_free(&m);
}

static void test_keys_and_algorithms(void)
{
	struct msg m;
	struct run run;
	struct hop small = hop_with(small_key, "rsa-sha256", "small"),
	    sha1 = hop_with(rsa_key, "rsa-sha1", "rsa"),
	    down = hop_with(rsa_key, "rsa-sha256", "down"),
	    missing = hop_with(rsa_key, "rsa-sha256", "nothere"),
	    with_h = hop_with(rsa_key, "rsa-sha256", "rsa");

	expect_hops("rsa_512_fails", (const struct hop *[]){&small}, NULL, 1,
	    "fail (ARC-Message-Signature i=1: RSA key under 1024 bits (RFC 8301))");
	expect_hops("rsa_sha1_fails", (const struct hop *[]){&sha1}, NULL, 1,
	    "fail (ARC-Seal i=1: rsa-sha1 is not accepted (RFC 8301))");
	expect_hops("no_key_fails", (const struct hop *[]){&missing}, NULL, 1,
	    "fail (ARC-Message-Signature i=1: no key for signature)");
	msg_init(&m);
	seal(&m, 1, &down);
	validate(&run, &m);
	TAP_STR_EQ(run.text, "fail (ARC-Message-Signature i=1: key lookup failed (tempfail))",
	    "failed_lookup_fails");
	TAP_INT_EQ(run.out ? run.out->temporary : 0, 1, "failed_lookup_says_temporary");
	arcverify_free(run.m);
	msg_free(&m);
	with_h.seal_more = "h=from; ";
	expect_hops("seal_with_h_fails", (const struct hop *[]){&with_h}, NULL, 1,
	    "fail (ARC-Seal i=1: h= is not allowed in an ARC-Seal)");
}

static void test_structure(void)
{
	struct msg m;

	chain(&m, 1);
	prepend(&m, "ARC-Seal", " i=1; a=rsa-sha256; cv=none; d=example.org; s=rsa; b=");
	expect("duplicate_seal_fails", &m, "fail (two ARC-Seal fields of instance 1)");
	msg_free(&m);
	chain(&m, 1);
	replace(&m, "ARC-Message-Signature", 1, " i=1; a=rsa-sha256; d=example.org; s=rsa; "
	    "h=from; b=");
	expect("ams_without_bh_fails", &m, "fail (ARC-Message-Signature i=1: bh= is missing)");
	msg_free(&m);
	chain(&m, 1);
	replace(&m, "ARC-Message-Signature", 1, " i=1; a=rsa-sha256; d=example.org; s=rsa; "
	    "h=from:arc-seal; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA");
	expect("ams_signing_a_seal_fails", &m,
	    "fail (ARC-Message-Signature i=1: h= names ARC-Seal)");
	msg_free(&m);
	chain(&m, 1);
	prepend(&m, "arc-seal ", " i=99999999999; cv=pass");
	expect("huge_instance_fails", &m,
	    "fail (ARC-Seal field without a valid instance, i= 1 to 50)");
	msg_free(&m);
	msg_init(&m);
	for (int i = 1; i <= 51; i++) {
		char	v[64];

		snprintf(v, sizeof(v), " i=%d; x", i);
		prepend(&m, "ARC-Authentication-Results", v);
		snprintf(v, sizeof(v), " i=%d; a=rsa-sha256", i);
		prepend(&m, "ARC-Message-Signature", v);
		snprintf(v, sizeof(v), " i=%d; cv=pass", i);
		prepend(&m, "ARC-Seal", v);
	}
	expect("over_50_sets_fails", &m, "fail (more than 150 ARC header fields (50 sets))");
	msg_free(&m);
	chain(&m, 1);
	char   *big = malloc(DKIMHDR_MAX_BYTES + 2);
	memset(big, 'x', DKIMHDR_MAX_BYTES + 1);
	big[DKIMHDR_MAX_BYTES + 1] = '\0';
	prepend(&m, "X-Big", big);
	free(big);
	expect("a_header_over_the_bound_fails_unchecked", &m,
	    "fail (not checked: the header is over 1048576 bytes)");
	msg_free(&m);
}

/* ---- the fields alone (dkimsig_parse_kind) -------------------------------------------- */

#define BH	"bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

static void test_fields(void)
{
	static const struct {
		const char *name;
		enum dkimsig_kind kind;
		const char *value;
		const char *reason;	/* "" for DKIMSIG_OK */
	} cases[] = {
		{"ams_needs_no_v", DKIMSIG_ARC_MESSAGE, "i=1; a=rsa-sha256; d=example.org; "
		    "s=x; h=from; " BH "; b=AAAA", ""},
		{"ams_ignores_a_v", DKIMSIG_ARC_MESSAGE, "i=1; v=7; a=rsa-sha256; "
		    "d=example.org; s=x; h=from; " BH "; b=AAAA", ""},
		{"ams_i_is_no_identity", DKIMSIG_ARC_MESSAGE, "i=2; a=ed25519-sha256; "
		    "d=example.org; s=x; h=from:to; " BH "; b=AAAA", ""},
		{"ams_without_h_is_permerror", DKIMSIG_ARC_MESSAGE, "i=1; a=rsa-sha256; "
		    "d=example.org; s=x; " BH "; b=AAAA", "h= is missing"},
		{"ams_without_from_is_permerror", DKIMSIG_ARC_MESSAGE, "i=1; a=rsa-sha256; "
		    "d=example.org; s=x; h=to; " BH "; b=AAAA", "From is not signed (h=)"},
		{"seal_needs_no_bh_nor_h", DKIMSIG_ARC_SEAL, "i=1; a=rsa-sha256; cv=none; "
		    "d=example.org; s=x; b=AAAA", ""},
		{"seal_with_h_is_permerror", DKIMSIG_ARC_SEAL, "i=1; a=rsa-sha256; cv=none; "
		    "d=example.org; s=x; h=from; b=AAAA", "h= is not allowed in an ARC-Seal"},
		{"seal_without_d_is_permerror", DKIMSIG_ARC_SEAL, "i=1; a=rsa-sha256; cv=none; "
		    "s=x; b=AAAA", "d= is missing"},
		{"seal_with_t_in_the_future_is_permerror", DKIMSIG_ARC_SEAL, "i=1; "
		    "a=rsa-sha256; cv=none; d=example.org; s=x; t=99999999999; b=AAAA",
		    "t= is in the future"},
		{"seal_ignores_x", DKIMSIG_ARC_SEAL, "i=1; a=rsa-sha256; cv=none; "
		    "d=example.org; s=x; x=12; b=AAAA", ""},
		{"ams_with_x_in_the_past_is_expired", DKIMSIG_ARC_MESSAGE, "i=1; a=rsa-sha256; "
		    "d=example.org; s=x; h=from; x=12; " BH "; b=AAAA",
		    "the signature has expired (x=)"},
		{"seal_rsa_sha1_is_policy", DKIMSIG_ARC_SEAL, "i=1; a=rsa-sha1; cv=none; "
		    "d=example.org; s=x; b=AAAA", "rsa-sha1 is not accepted (RFC 8301)"},
		{"dkim_still_needs_v", DKIMSIG_DKIM, "a=rsa-sha256; d=example.org; s=x; h=from; "
		    BH "; b=AAAA", "v= is missing"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dkimsig sig;

		dkimsig_parse_kind(cases[i].value, strlen(cases[i].value), time(NULL),
		    cases[i].kind, &sig);
		TAP_STR_EQ(sig.reason, cases[i].reason, "%s", cases[i].name);
	}
	struct dkimsig seal;
	const char *v = "i=1; a=rsa-sha256; c=simple/simple; cv=none; d=example.org; s=x; "
	    "b=AAAA";

	dkimsig_parse_kind(v, strlen(v), time(NULL), DKIMSIG_ARC_SEAL, &seal);
	TAP_OK(seal.status == DKIMSIG_OK && seal.header_canon == CANON_RELAXED,
	    "seal_is_always_relaxed");
}

/* ---- what trusted sealers (arctrust.c) are given ---------------------------------------- */

static void test_for_arctrust(void)
{
	static char *trusted_names[] = {"example.org"};
	static const struct name_list trusted = {trusted_names, 1};
	struct arctrust_set sets[3];
	struct msg m;
	struct run run;
	char	why[128], comment[256];

	chain(&m, 2);
	validate(&run, &m);
	for (unsigned i = 1; i <= 2; i++) {
		const struct arc_set_info *info = arcverify_set(run.m, i);

		sets[i - 1] = (struct arctrust_set){i, info->seal_domain, info->seal_selector,
		    info->payload};
	}
	TAP_INT_EQ(arctrust_vouch(&trusted, sets, 2, "example.org", why, sizeof(why)), 2,
	    "the_sets_described_feed_arctrust_vouch (%s)", why);
	arctrust_report_comment(sets, 2, comment, sizeof(comment));
	TAP_STR_EQ(comment, "arc=pass as[2].d=example.org as[2].s=ed as[1].d=example.org "
	    "as[1].s=rsa", "the_sets_described_feed_arctrust_report_comment");
	arcverify_free(run.m);
	msg_free(&m);
}

/* ---- the seal hash: one seal, or a chain's in one pass --------------------------------- */

static void test_seal_hash(void)
{
	struct msg m;
	struct run run;
	const char *names[9], *values[9];
	size_t	drops[3][2];
	unsigned char chain_digests[3][ARCHASH_LEN], one[ARCHASH_LEN];
	int	same = 1;

	chain(&m, 3);
	validate(&run, &m);
	for (size_t i = 0; i < 9; i++)
		arcverify_field(run.m, i, &names[i], &values[i]);
	for (size_t k = 0; k < 3; k++) {	/* b= is the last tag of the seals made here */
		const char *b = strstr(values[3 * k + 2], "b=");

		drops[k][0] = (size_t)(b + 2 - values[3 * k + 2]);
		drops[k][1] = strlen(values[3 * k + 2]);
	}
	TAP_OK(archash_chain(names, values, 3, (const size_t (*)[2])drops, chain_digests),
	    "archash_chain_hashes_three_seals");
	for (size_t k = 0; k < 3; k++)
		same &= archash_seal(names, values, 3 * (k + 1), drops[k], one) &&
		    memcmp(one, chain_digests[k], ARCHASH_LEN) == 0;
	TAP_OK(same, "archash_seal_of_each_prefix_is_the_chain_digest");
	arcverify_free(run.m);
	msg_free(&m);
}

/* ---- allocations failing ---------------------------------------------------------------- */

static struct msg torture_msg;

static enum torture_outcome validate_once(void *context)
{
	struct run run;
	int	ok;

	(void)context;
	ok = validate(&run, &torture_msg);
	arcverify_free(run.m);
	if (!ok)
		return TORTURE_ERROR;
	return strcmp(run.text, "pass") == 0 ? TORTURE_DONE : TORTURE_WRONG;
}

int	main(void)
{
	char	err[128];

	rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	small_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
	ed_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	verifier = verifier_new(NULL, 0, err, sizeof(err));
	if (!TAP_OK(rsa_key && small_key && ed_key && verifier, "keys_and_verifier_ready"))
		return tap_done();
	verifier_set_key_lookup(verifier, serve, NULL);
	publish("rsa._domainkey.example.org", "v=DKIM1; k=rsa; p=", rsa_key, NULL);
	publish("ed._domainkey.example.org", "v=DKIM1; k=ed25519; p=", ed_key, NULL);
	publish("small._domainkey.example.org", "v=DKIM1; p=", small_key, NULL);
	publish("down._domainkey.example.org", "", NULL, NULL)->fail = 1;
	test_intact_chains();
	test_tampering();
	test_keys_and_algorithms();
	test_structure();
	test_fields();
	test_seal_hash();
	test_for_arctrust();
	chain(&torture_msg, 2);
	torture("arcverify, a chain of two", validate_once, NULL, TORTURE_MAY_RECOVER);
	msg_free(&torture_msg);
	verifier_free(verifier);
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(small_key);
	EVP_PKEY_free(ed_key);
	return tap_done();
}
