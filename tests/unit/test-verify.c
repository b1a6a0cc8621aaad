/*
 * NAME
 *	test-verify - Signet's DKIM verifier: the signature field, the key record, header
 *	selection, the shared body hash, RSA and Ed25519
 * DESCRIPTION
 *	dkimsig_parse() is fed a table of DKIM-Signature values (each required tag
 *	missing, a tag twice, bad base64, i= outside d=, l=, t= and x=, ...).  The rest
 *	goes through verify.h as inbound.c uses it, with key lookups answered from a table
 *	of TXT records by the test seam (DNS reply packets, no resolver).
 *
 *	Messages are signed here: RSA-2048, RSA-512 and Ed25519 keys made at start-up,
 *	header fields chosen bottom-up the obvious way (for each name of h=, the lowest
 *	field of that name not yet taken), Signet's canonicalization (canon.c, itself
 *	checked by test-canon against the RFC), OpenSSL for the signatures.  tests/daemon/
 *	dkimpy-diff.py checks the verdicts against dkimpy's on a few hundred messages.
 *	keycache.c, the verifier's decoded keys, is checked on its own.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "milter/canon.h"
#include "milter/dkimsig.h"
#include "milter/keycache.h"
#include "milter/verify.h"
#include "tests/unit/keyserve.h"
#include "tests/unit/tap.h"
#include "tests/unit/torture.h"

#define BH_EMPTY "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
#define B_ANY	"dGhpcyBpcyBub3QgYSBzaWduYXR1cmU="

static EVP_PKEY *rsa_key, *small_key, *ed_key;

/* ---- the signature field alone ------------------------------------------------------ */

#define BASE	"v=1; a=rsa-sha256; d=example.org; s=sel; h=from:to; bh=" BH_EMPTY "; b=" B_ANY

struct field_case {
	const char *name;
	const char *value;
	enum dkimsig_status want;
	const char *reason;		/* a part of it; NULL: "" */
	const char *d;			/* reported d=, NULL: not checked */
};

static const struct field_case field_cases[] = {
	{"valid_field_is_ok", BASE, DKIMSIG_OK, NULL, "example.org"},
	{"missing_v_is_permerror", "a=rsa-sha256; d=example.org; s=sel; h=from; bh=" BH_EMPTY
	    "; b=" B_ANY, DKIMSIG_PERMERROR, "v= is missing", "example.org"},
	{"missing_a_is_permerror", "v=1; d=example.org; s=sel; h=from; bh=" BH_EMPTY "; b="
	    B_ANY, DKIMSIG_PERMERROR, "a= is missing", NULL},
	{"missing_b_is_permerror", "v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh="
	    BH_EMPTY, DKIMSIG_PERMERROR, "b= is missing", NULL},
	{"missing_bh_is_permerror", "v=1; a=rsa-sha256; d=example.org; s=sel; h=from; b="
	    B_ANY, DKIMSIG_PERMERROR, "bh= is missing", NULL},
	{"missing_d_is_permerror", "v=1; a=rsa-sha256; s=sel; h=from; bh=" BH_EMPTY "; b="
	    B_ANY, DKIMSIG_PERMERROR, "d= is missing", ""},
	{"missing_h_is_permerror", "v=1; a=rsa-sha256; d=example.org; s=sel; bh=" BH_EMPTY
	    "; b=" B_ANY, DKIMSIG_PERMERROR, "h= is missing", NULL},
	{"missing_s_is_permerror", "v=1; a=rsa-sha256; d=example.org; h=from; bh=" BH_EMPTY
	    "; b=" B_ANY, DKIMSIG_PERMERROR, "s= is missing", NULL},
	{"v_2_is_permerror", "v=2; a=rsa-sha256; d=example.org; s=sel; h=from; bh=" BH_EMPTY
	    "; b=" B_ANY, DKIMSIG_PERMERROR, "v= is not 1", NULL},
	{"duplicate_tag_is_permerror_reporting_the_first", "v=1; d=first.example; "
	    "d=second.example; a=rsa-sha256; s=sel; h=from; bh=" BH_EMPTY "; b=" B_ANY,
	    DKIMSIG_PERMERROR, "tag appears twice", "first.example"},
	{"tags_after_a_syntax_error_are_not_reported", "v=1; a=ed25519-sha256; s=sel; x y=z; "
	    "d=bank.example; h=from; bh=" BH_EMPTY "; b=" B_ANY, DKIMSIG_PERMERROR,
	    "syntax error", ""},
	{"b_not_base64_is_permerror", "v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh="
	    BH_EMPTY "; b=!!!!%%%%****", DKIMSIG_PERMERROR, "b= is not base64", NULL},
	{"b_cut_short_is_permerror", "v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh="
	    BH_EMPTY "; b=dGhpcyBpcyB", DKIMSIG_PERMERROR, "b= is not base64", NULL},
	{"bh_not_base64_is_permerror", "v=1; a=rsa-sha256; d=example.org; s=sel; h=from; "
	    "bh=%%%%; b=" B_ANY, DKIMSIG_PERMERROR, "bh= is not", NULL},
	{"folded_b_is_base64", "v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh=" BH_EMPTY
	    "; b=dGhp\r\n\tcyBp", DKIMSIG_OK, NULL, NULL},
	{"unknown_algorithm_is_permerror", "v=1; a=rsa-sha512; d=example.org; s=sel; h=from; "
	    "bh=" BH_EMPTY "; b=" B_ANY, DKIMSIG_PERMERROR, "unknown algorithm", NULL},
	{"rsa_sha1_is_policy", "v=1; a=rsa-sha1; d=example.org; s=sel; h=from; bh=" BH_EMPTY
	    "; b=" B_ANY, DKIMSIG_POLICY, "RFC 8301", "example.org"},
	{"d_not_a_domain_is_permerror", "v=1; a=rsa-sha256; d=exa(mple.org; s=sel; h=from; "
	    "bh=" BH_EMPTY "; b=" B_ANY, DKIMSIG_PERMERROR, "not a domain name", NULL},
	{"d_with_final_dot_is_permerror", "v=1; a=rsa-sha256; d=example.org.; s=sel; h=from; "
	    "bh=" BH_EMPTY "; b=" B_ANY, DKIMSIG_PERMERROR, "not a domain name", NULL},
	{"d_folded_mid_value_is_read_whole", "v=1; a=rsa-sha256; d=exam\r\n ple.org; s=sel; "
	    "h=from; bh=" BH_EMPTY "; b=" B_ANY, DKIMSIG_OK, NULL, "example.org"},
	{"h_without_from_is_permerror", "v=1; a=rsa-sha256; d=example.org; s=sel; h=to:subject;"
	    " bh=" BH_EMPTY "; b=" B_ANY, DKIMSIG_PERMERROR, "From is not signed", NULL},
	{"h_with_an_empty_name_is_permerror", "v=1; a=rsa-sha256; d=example.org; s=sel; "
	    "h=from::to; bh=" BH_EMPTY "; b=" B_ANY, DKIMSIG_PERMERROR, "field names", NULL},
	{"i_equal_to_d_is_ok", BASE "; i=@example.org", DKIMSIG_OK, NULL, NULL},
	{"i_in_a_subdomain_is_ok", BASE "; i=user@mail.Example.ORG", DKIMSIG_OK, NULL, NULL},
	{"i_in_another_domain_is_permerror", BASE "; i=user@example.net", DKIMSIG_PERMERROR,
	    "i= is not d=", NULL},
	{"i_ending_like_d_is_not_a_subdomain", BASE "; i=user@badexample.org",
	    DKIMSIG_PERMERROR, "i= is not d=", NULL},
	{"i_without_at_is_permerror", BASE "; i=example.org", DKIMSIG_PERMERROR, "i= is not",
	    NULL},
	{"l_a_number_is_ok", BASE "; l=1234", DKIMSIG_OK, NULL, NULL},
	{"l_not_a_number_is_permerror", BASE "; l=12a", DKIMSIG_PERMERROR, "l= is not", NULL},
	{"l_negative_is_permerror", BASE "; l=-1", DKIMSIG_PERMERROR, "l= is not", NULL},
	{"x_before_t_is_permerror", BASE "; t=1700000100; x=1700000000", DKIMSIG_PERMERROR,
	    "x= is not after t=", NULL},
	{"x_equal_to_t_is_permerror", BASE "; t=1700000000; x=1700000000", DKIMSIG_PERMERROR,
	    "x= is not after t=", NULL},
	{"x_in_the_past_is_expired", BASE "; t=1000000000; x=1000003600", DKIMSIG_PERMERROR,
	    "expired", NULL},
	{"x_far_ahead_is_ok", BASE "; t=1700000000; x=99999999999", DKIMSIG_OK, NULL, NULL},
	{"t_in_the_future_is_permerror", BASE "; t=99999999999", DKIMSIG_PERMERROR,
	    "future", NULL},
	{"t_of_13_digits_is_permerror", BASE "; t=1700000000000", DKIMSIG_PERMERROR,
	    "not a time", NULL},
	{"c_unknown_is_permerror", BASE "; c=relaxed/strict", DKIMSIG_PERMERROR,
	    "canonicalization", NULL},
	{"q_without_dns_txt_is_permerror", BASE "; q=http/well-known", DKIMSIG_PERMERROR,
	    "query method", NULL},
	{"q_with_dns_txt_among_others_is_ok", BASE "; q=other/x:dns/txt", DKIMSIG_OK, NULL,
	    NULL},
	{"key_name_over_253_is_permerror", "v=1; a=rsa-sha256; d=" "a123456789a123456789a1"
	    "23456789a123456789a123456789a12.a123456789a123456789a123456789a123456789a123456789"
	    "a12.a123456789a123456789a123456789a123456789a123456789a12.a123456789a123456789a123"
	    "456789a123456789a123456789a12.example.org; s=sssssssss"
	    "sssssssssssssssssssssss; h=from; bh=" BH_EMPTY "; b=" B_ANY, DKIMSIG_PERMERROR,
	    "over 253", NULL},
	{"empty_field_is_permerror", "", DKIMSIG_PERMERROR, "empty tag list", ""},
};

static void test_fields(void)
{
	for (size_t i = 0; i < sizeof(field_cases) / sizeof(field_cases[0]); i++) {
		const struct field_case *c = &field_cases[i];
		struct dkimsig sig;

		dkimsig_parse(c->value, strlen(c->value), 1750000000, &sig);
		TAP_OK(sig.status == c->want && (c->reason == NULL ? sig.reason[0] == '\0' :
		    strstr(sig.reason, c->reason) != NULL) && (c->d == NULL ||
		    strcmp(sig.d, c->d) == 0), "%s (%d \"%s\" d=%s)", c->name, sig.status,
		    sig.reason, sig.d);
	}
}

static void test_field_values(void)
{
	struct dkimsig sig;
	const char *v = BASE "; c=Relaxed; l=00042";

	dkimsig_parse(v, strlen(v), 1750000000, &sig);
	TAP_OK(sig.status == DKIMSIG_OK && sig.header_canon == CANON_RELAXED &&
	    sig.body_canon == CANON_SIMPLE && sig.has_l && sig.l == 42 && sig.bh_len == 32,
	    "c=relaxed_alone_means_relaxed_simple_and_l_is_read");
	TAP_OK(strncmp(v + sig.b_to, "; c=", 4) == 0 && v[sig.b_from - 1] == '=' &&
	    v[sig.b_from - 2] == 'b', "the_b_value_to_drop_is_located (%zu..%zu)", sig.b_from,
	    sig.b_to);
}

/* ---- keys, served by the test seam (keyserve.h) ----------------------------------- */

static void publish_keys(void)
{
	publish("rsa._domainkey.example.org", "v=DKIM1; k=rsa; p=", rsa_key, NULL);
	publish("ed._domainkey.example.org", "v=DKIM1; k=ed25519; p=", ed_key, NULL);
	publish("small._domainkey.example.org", "v=DKIM1; p=", small_key, NULL);
	publish("revoked._domainkey.example.org", "v=DKIM1; k=rsa; p=", NULL, NULL);
	publish("mismatch._domainkey.example.org", "v=DKIM1; k=ed25519; p=", rsa_key, NULL);
	publish("sha1only._domainkey.example.org", "v=DKIM1; h=sha1; p=", rsa_key, NULL);
	publish("sha256._domainkey.example.org", "v=DKIM1; h=sha1 : SHA256; p=", rsa_key,
	    NULL);
	publish("web._domainkey.example.org", "v=DKIM1; s=web; p=", rsa_key, NULL);
	publish("any._domainkey.example.org", "v=DKIM1; s=web:*; p=", rsa_key, NULL);
	publish("strict._domainkey.example.org", "v=DKIM1; t=s; p=", rsa_key, NULL);
	publish("testing._domainkey.example.org", "v=DKIM1; t=y; p=", rsa_key, NULL);
	publish("version._domainkey.example.org", "k=rsa; v=DKIM1; p=", rsa_key, NULL);
	publish("twice._domainkey.example.org", "v=DKIM1; p=", rsa_key, "v=DKIM1; p=");
	publish("down._domainkey.example.org", "", NULL, NULL)->fail = 1;
}

/* ---- signing -------------------------------------------------------------------------- */

struct field {
	const char *name;
	const char *value;		/* after the colon, as the MTA passes it */
};

struct message {
	struct field fields[16];
	size_t	count;
	const char *body;
};

static const struct message plain = {{
	{"Received", " from a by b; Fri, 27 Nov 2026 07:00:00 +0000"},
	{"From", " Alice <alice@example.org>"},
	{"To", " Bob <bob@example.net>,\n\tCarol <carol@example.net>"},
	{"Subject", " A  test\n  with folding "},
	{"Date", " Fri, 27 Nov 2026 08:00:00 +0000"},
	{"Received", " from c by a; Fri, 27 Nov 2026 06:00:00 +0000"},
	{"Message-ID", " <1@example.org>"},
}, 7, "Hello  Bob \r\n\r\nsecond\tparagraph\r\n\r\n\r\n"};

struct spec {
	const char *a;			/* a= */
	EVP_PKEY *key;
	const char *s;			/* selector, under example.org */
	enum canon_kind ch, cb;
	const char *h;
	const char *more;		/* more tags, "" or "l=12; i=@x; " */
	long	l;			/* -1: the whole body (l= must then be in more) */
};

/* The header data of RFC 6376 section 3.7 done the obvious way: for each name of h=, the
 * lowest field of that name not yet taken; the signature field last, without CRLF. */
static int header_data(const struct message *m, const struct spec *sp, const char *value,
    struct buffer *data)
{
	int	taken[16] = {0}, ok = 1;
	const char *p = sp->h;

	while (ok && *p != '\0') {
		size_t	len = strcspn(p, ":");

		for (size_t i = m->count; i-- > 0;)
			if (!taken[i] && strlen(m->fields[i].name) == len &&
			    strncasecmp(m->fields[i].name, p, len) == 0) {
				taken[i] = 1;
				ok = header_canon(data, sp->ch, m->fields[i].name,
				    m->fields[i].value, 1);
				break;
			}
		p += len + (p[len] == ':');
	}
	return ok && header_canon(data, sp->ch, "DKIM-Signature", value, 0);
}

static void body_hash(const struct message *m, const struct spec *sp, char *b64)
{
	unsigned char hash[CANON_HASH_LEN];
	struct body_canon *bc = body_canon_new(sp->cb);

	if (sp->l >= 0) {	/* bodies already canonical: the first l bytes as they are */
		EVP_Digest(m->body, (size_t)sp->l, hash, NULL, EVP_sha256(), NULL);
	} else {
		body_canon_update(bc, (const unsigned char *)m->body, strlen(m->body));
		body_canon_final(bc, hash);
	}
	body_canon_free(bc);
	EVP_EncodeBlock((unsigned char *)b64, hash, CANON_HASH_LEN);
}

/* The value of a DKIM-Signature field over m, as sp says; the caller frees it. */
static char *sign(const struct message *m, const struct spec *sp)
{
	struct buffer value = {0}, data = {0};
	unsigned char digest[32], sig[512];
	size_t	siglen = sizeof(sig);
	char	bh[64], b64[800];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int	ed = EVP_PKEY_get_base_id(sp->key) == EVP_PKEY_ED25519, ok;

	body_hash(m, sp, bh);
	ok = buffer_printf(&value, " v=1; a=%s; c=%s/%s; d=example.org; s=%s;\n\th=%s; %sbh=%s;"
	    "\n\tb=", sp->a, conf_canon_name(sp->ch), conf_canon_name(sp->cb), sp->s, sp->h,
	    sp->more, bh) && header_data(m, sp, value.data, &data);
	if (ed)		/* RFC 8463: Ed25519 signs the SHA-256 hash of the data */
		ok = ok && EVP_Digest(data.data, data.len, digest, NULL, EVP_sha256(), NULL) &&
		    EVP_DigestSignInit(ctx, NULL, NULL, NULL, sp->key) == 1 &&
		    EVP_DigestSign(ctx, sig, &siglen, digest, sizeof(digest)) == 1;
	else
		ok = ok && EVP_DigestSignInit(ctx, NULL, strcmp(sp->a, "rsa-sha1") == 0 ?
		    EVP_sha1() : EVP_sha256(), NULL, sp->key) == 1 &&
		    EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)data.data, data.len) == 1;
	EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
	/* b= folded in the middle: white space inside it is ignored. */
	ok = ok && buffer_append(&value, b64, 20) && buffer_append_str(&value, "\n\t ") &&
	    buffer_append_str(&value, b64 + 20);
	EVP_MD_CTX_free(ctx);
	buffer_free(&data);
	if (!ok)
		buffer_free(&value);
	return value.data;
}

/* ---- verifying ------------------------------------------------------------------------ */

static struct verifier *verifier;

struct run {
	struct dns_budget budget;
	struct verify_message *m;
	const struct verify_signature *r;
	size_t	count;
	int	finished;
	char	text[512];		/* "pass, fail (why), ..." */
};

/* Verifies the fields of sigs (values) above m, the body in chunks of chunk bytes. */
static void verify(struct run *run, char *const *sigs, size_t nsigs, const struct message *m,
    const char *body, size_t chunk, size_t max_signatures)
{
	size_t	used = 0, len = strlen(body);

	memset(run, 0, sizeof(*run));
	dns_budget_init(&run->budget, 20, 10000);
	run->m = verify_begin(verifier, &run->budget, "TEST", max_signatures);
	for (size_t i = 0; i < nsigs; i++)
		verify_header(run->m, "DKIM-Signature", sigs[i]);
	for (size_t i = 0; i < m->count; i++)
		verify_header(run->m, m->fields[i].name, m->fields[i].value);
	verify_end_of_headers(run->m);
	for (size_t off = 0; off < len; off += chunk)
		verify_body(run->m, (const unsigned char *)body + off, len - off < chunk ?
		    len - off : chunk);
	run->finished = verify_finish(run->m, &run->r, &run->count);
	for (size_t i = 0; run->finished && i < run->count && used < sizeof(run->text); i++) {
		int	n = snprintf(run->text + used, sizeof(run->text) - used, "%s%s%s%s%s",
		    i ? ", " : "", verify_result_name(run->r[i].result), run->r[i].reason[0] ?
		    " (" : "", run->r[i].reason, run->r[i].reason[0] ? ")" : "");

		used += n > 0 ? (size_t)n : 0;
	}
}

/* One message signed as sp says, then verified; 1 when the verdict starts with want. */
static void expect(const char *what, const struct message *m, const struct spec *sp,
    const char *body, const char *want)
{
	char   *value = sign(m, sp);
	struct run run;

	verify(&run, &value, 1, m, body ? body : m->body, 7, 10);
	TAP_OK(run.finished && strncmp(run.text, want, strlen(want)) == 0, "%s: %s", what,
	    run.text);
	verify_free(run.m);
	free(value);
}

#define RSA(sel, h)	{"rsa-sha256", rsa_key, sel, CANON_RELAXED, CANON_RELAXED, h, "", -1}
#define ED(sel, h)	{"ed25519-sha256", ed_key, sel, CANON_RELAXED, CANON_RELAXED, h, "", -1}
#define SIGNED		"from:to:subject:date:message-id"

static void test_algorithms(void)
{
	enum canon_kind kinds[2] = {CANON_SIMPLE, CANON_RELAXED};

	for (int k = 0; k < 4; k++) {
		struct spec rsa = RSA("rsa", SIGNED), ed = ED("ed", SIGNED);
		char	what[80];

		rsa.ch = ed.ch = kinds[k / 2];
		rsa.cb = ed.cb = kinds[k % 2];
		snprintf(what, sizeof(what), "rsa_sha256_passes c=%s/%s", conf_canon_name(rsa.ch),
		    conf_canon_name(rsa.cb));
		expect(what, &plain, &rsa, NULL, "pass");
		snprintf(what, sizeof(what), "ed25519_sha256_passes c=%s/%s",
		    conf_canon_name(ed.ch), conf_canon_name(ed.cb));
		expect(what, &plain, &ed, NULL, "pass");
	}
	struct spec rsa = RSA("rsa", SIGNED), ed = ED("ed", SIGNED);
	struct message changed = plain;

	expect("rsa_changed_body_fails", &plain, &rsa, "Hello  Bob!\r\n", "fail (body hash");
	expect("ed25519_changed_body_fails", &plain, &ed, "Hello  Bob!\r\n", "fail (body hash");
	changed.fields[3].value = " A test with folding, changed";
	struct spec on_changed = RSA("rsa", SIGNED);
	char   *value = sign(&plain, &on_changed);
	struct run run;

	verify(&run, &value, 1, &changed, plain.body, 4096, 10);
	TAP_OK(run.finished && strcmp(run.text, "fail (signature did not verify)") == 0,
	    "rsa_changed_subject_fails: %s", run.text);
	verify_free(run.m);
	free(value);
	value = sign(&plain, &ed);
	verify(&run, &value, 1, &changed, plain.body, 4096, 10);
	TAP_OK(run.finished && strcmp(run.text, "fail (signature did not verify)") == 0,
	    "ed25519_changed_subject_fails: %s", run.text);
	verify_free(run.m);
	free(value);
	struct spec wrong = ED("ed", SIGNED);
	wrong.s = "rsa";	/* signed by ed_key, rsa's key looked up: a= says ed25519 */
	expect("key_of_another_type_is_permerror", &plain, &wrong, NULL,
	    "permerror (key type k= does not match a=)");
	struct spec small = RSA("small", SIGNED), sha1 = RSA("rsa", SIGNED);
	sha1.a = "rsa-sha1";
	small.key = small_key;
	expect("rsa_512_is_policy", &plain, &small, NULL, "policy (RSA key under 1024");
	expect("rsa_sha1_is_policy", &plain, &sha1, NULL, "policy (rsa-sha1");
}

static void test_key_records(void)
{
	static const struct {
		const char *name, *selector, *more, *want;
	} cases[] = {
		{"revoked_key_is_permerror", "revoked", "", "permerror (key revoked"},
		{"key_k_ed25519_for_rsa_is_permerror", "mismatch", "",
		    "permerror (key type k= does not match a=)"},
		{"key_h_without_sha256_is_permerror", "sha1only", "",
		    "permerror (key record h= does not allow sha256)"},
		{"key_h_with_sha256_passes", "sha256", "", "pass"},
		{"key_s_without_email_is_permerror", "web", "", "permerror (key record s="},
		{"key_s_star_passes", "any", "", "pass"},
		{"key_t_s_with_i_in_a_subdomain_is_permerror", "strict", "i=@mail.example.org; ",
		    "permerror (key record t=s"},
		{"key_t_s_with_i_equal_to_d_passes", "strict", "i=alice@example.org; ", "pass"},
		{"key_t_y_changes_no_verdict", "testing", "", "pass"},
		{"key_v_not_first_is_permerror", "version", "", "permerror (key record: v="},
		{"two_key_records_are_permerror", "twice", "", "permerror (2 key records"},
		{"no_key_record_is_permerror", "nothere", "", "permerror (no key for signature)"},
		{"failed_lookup_is_temperror", "down", "", "temperror (key lookup failed"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct spec sp = RSA(cases[i].selector, SIGNED);

		sp.more = cases[i].more;
		expect(cases[i].name, &plain, &sp, NULL, cases[i].want);
	}
	struct spec testing = RSA("testing", SIGNED);
	expect("key_t_y_is_said_when_it_fails", &plain, &testing, "changed\r\n",
	    "fail (body hash did not verify, key in testing mode (t=y))");
}

static void test_header_selection(void)
{
	struct message more = plain;
	struct spec twice = RSA("rsa", "from:received:received:subject"),
	    thrice = RSA("rsa", "from:received:received:received:x-absent:subject");
	char   *v2 = sign(&plain, &twice), *v3 = sign(&plain, &thrice);
	struct run run;

	expect("names_listed_twice_take_two_fields_bottom_up", &plain, &twice, NULL, "pass");
	expect("names_listed_more_than_present_or_absent_contribute_nothing", &plain, &thrice,
	    NULL, "pass");
	/* A third Received, at the top: the two lowest are still the ones signed... */
	memmove(&more.fields[1], &more.fields[0], plain.count * sizeof(more.fields[0]));
	more.fields[0] = (struct field){"Received", " from new by a; Fri, 27 Nov 2026"};
	more.count++;
	verify(&run, &v2, 1, &more, plain.body, 4096, 10);
	TAP_OK(run.finished && strcmp(run.text, "pass") == 0,
	    "a_field_added_above_those_signed_keeps_a_pass: %s", run.text);
	verify_free(run.m);
	/* ... but a name signed once more than it was present now finds one. */
	verify(&run, &v3, 1, &more, plain.body, 4096, 10);
	TAP_OK(run.finished && strcmp(run.text, "fail (signature did not verify)") == 0,
	    "a_field_added_where_h_listed_one_too_many_fails: %s", run.text);
	verify_free(run.m);
	free(v2);
	free(v3);
}

static const struct message canonical = {{
	{"From", " alice@example.org"},
	{"Subject", " length"},
}, 2, "line one\r\nline two\r\n"};

static void test_body_length(void)
{
	struct spec sp = RSA("rsa", "from:subject");

	sp.ch = sp.cb = CANON_SIMPLE;
	sp.more = "l=10; ";
	sp.l = 10;
	expect("l_hashes_only_that_much", &canonical, &sp, NULL, "pass");
	expect("l_lets_text_be_appended", &canonical, &sp,
	    "line one\r\nline two\r\nappended by a list\r\n", "pass");
	expect("l_does_not_cover_a_changed_start", &canonical, &sp,
	    "line 1\r\nline two\r\n", "fail (body hash");
	sp.more = "l=0; ";
	sp.l = 0;
	expect("l_0_signs_no_body", &canonical, &sp, "anything\r\n", "pass");
	sp.more = "l=21; ";
	sp.l = 20;		/* the hash of all 20 bytes, l= one more */
	expect("l_more_than_the_body_is_permerror", &canonical, &sp, NULL,
	    "permerror (l=21 is more than the body's 20 bytes)");
}

/* Three relaxed signatures, one simple, one relaxed with l=: three body hashes. */
static void test_shared_body_hash(void)
{
	struct spec specs[5] = {RSA("rsa", SIGNED), ED("ed", SIGNED), RSA("sha256", SIGNED),
	    RSA("any", SIGNED), RSA("rsa", "from:subject")};
	char   *values[5];
	struct run run;

	specs[3].cb = CANON_SIMPLE;
	specs[4].more = "l=10; ";
	specs[4].l = 10;		/* the body is canonical already */
	for (int i = 0; i < 5; i++)
		values[i] = sign(&canonical, &specs[i]);
	lookups = 0;
	verify(&run, values, 5, &canonical, canonical.body, 3, 10);
	TAP_OK(run.finished && strcmp(run.text, "pass, pass, pass, pass, pass") == 0,
	    "five_signatures_pass: %s", run.text);
	TAP_INT_EQ(verify_body_hashes(run.m), 3, "signatures_with_one_body_canonicalization_and_l"
	    "_share_a_body_hash");
	TAP_INT_EQ(lookups, 4, "a_key_named_twice_is_looked_up_once");
	verify_free(run.m);
	for (int i = 0; i < 5; i++)
		free(values[i]);
}

static void test_limits(void)
{
	struct spec sp = RSA("rsa", SIGNED), bad = RSA("nothere", SIGNED);
	char   *values[4] = {sign(&plain, &sp), sign(&plain, &bad), sign(&plain, &sp),
	    sign(&plain, &sp)};
	struct run run;

	lookups = 0;
	verify(&run, values, 4, &plain, plain.body, 4096, 2);
	TAP_OK(run.finished && run.count == 3 && strcmp(run.text, "pass, permerror (no key for "
	    "signature), policy (2 more signatures not checked: over MaximumSignatures)") == 0 &&
	    run.r[2].domain[0] == '\0', "fields_past_maximum_signatures_are_one_policy_result: %s",
	    run.text);
	TAP_INT_EQ(lookups, 2, "fields_past_maximum_signatures_are_not_looked_up");
	verify_free(run.m);
	verify(&run, NULL, 0, &plain, plain.body, 4096, 2);
	TAP_OK(run.finished && run.count == 0, "no_signature_is_none");
	verify_free(run.m);
	for (int i = 0; i < 4; i++)
		free(values[i]);
}

/* A header over the verifier's bound: a signature that needs the fields cannot be
 * checked (policy), a malformed one is still a permerror. */
static void test_header_bound(void)
{
	struct spec sp = RSA("rsa", SIGNED);
	char   *value = sign(&plain, &sp), pad[64];
	struct dns_budget budget;
	struct verify_message *m;
	const struct verify_signature *r = NULL;
	size_t	count = 0;
	int	finished;

	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	dns_budget_init(&budget, 20, 10000);
	m = verify_begin(verifier, &budget, "BIG", 10);
	verify_header(m, "DKIM-Signature", value);
	for (int i = 0; i < 20000; i++)
		verify_header(m, "X-Pad", pad);
	verify_header(m, "DKIM-Signature", " v=1; a=rsa-sha256;; d=example.org");
	for (size_t i = 0; i < plain.count; i++)
		verify_header(m, plain.fields[i].name, plain.fields[i].value);
	verify_end_of_headers(m);
	verify_body(m, (const unsigned char *)plain.body, strlen(plain.body));
	finished = verify_finish(m, &r, &count);
	TAP_OK(finished && count == 2 && r[0].result == VERIFY_POLICY &&
	    strstr(r[0].reason, "header is over") != NULL && r[1].result == VERIFY_PERMERROR &&
	    strstr(r[1].reason, "syntax error") != NULL && verify_body_hashes(m) == 0,
	    "a_header_over_the_bound_leaves_signatures_policy_and_malformed_ones_permerror "
	    "(%s: %s; %s: %s)", count > 0 ? verify_result_name(r[0].result) : "-",
	    count > 0 ? r[0].reason : "", count > 1 ? verify_result_name(r[1].result) : "-",
	    count > 1 ? r[1].reason : "");
	verify_free(m);
	free(value);
}

/* ---- the cache of decoded keys -------------------------------------------------------- */

static void test_key_cache(void)
{
	struct keycache *c = keycache_new();
	EVP_PKEY *got;
	char	text[32];
	int	evicted = 0, kept = 0;

	TAP_OK(c != NULL && keycache_get(c, EVP_PKEY_RSA, "AAAA", 4) == NULL,
	    "key_cache_starts_empty");
	keycache_put(c, EVP_PKEY_RSA, "AAAA", 4, rsa_key);
	got = keycache_get(c, EVP_PKEY_RSA, "AAAA", 4);
	TAP_OK(got == rsa_key, "key_cache_gives_the_key_kept_for_a_text");
	EVP_PKEY_free(got);
	TAP_OK(keycache_get(c, EVP_PKEY_ED25519, "AAAA", 4) == NULL &&
	    keycache_get(c, EVP_PKEY_RSA, "AAAB", 4) == NULL,
	    "key_cache_tells_types_and_texts_apart");
	/* Full: the least recently used goes, "AAAA" was just used so it stays. */
	for (int i = 0; i < KEYCACHE_SIZE; i++) {
		snprintf(text, sizeof(text), "key%d", i);
		keycache_put(c, EVP_PKEY_ED25519, text, strlen(text), ed_key);
		if (i == 0)
			EVP_PKEY_free(keycache_get(c, EVP_PKEY_RSA, "AAAA", 4));
	}
	for (int i = 0; i < KEYCACHE_SIZE; i++) {
		snprintf(text, sizeof(text), "key%d", i);
		if ((got = keycache_get(c, EVP_PKEY_ED25519, text, strlen(text))) == NULL)
			evicted++;
		EVP_PKEY_free(got);
	}
	kept = (got = keycache_get(c, EVP_PKEY_RSA, "AAAA", 4)) != NULL;
	EVP_PKEY_free(got);
	TAP_OK(evicted == 1 && kept, "a_full_key_cache_drops_the_least_recently_used (%d "
	    "dropped, recently used kept: %d)", evicted, kept);
	keycache_free(c);
}

/* ---- allocation failures -------------------------------------------------------------- */

struct torture_input {
	char   *values[3];
};

/* With a verifier of its own, so that its key cache starts empty: a key it cannot keep
 * (memory) is decoded again next time, a failure got round. */
static enum torture_outcome verify_once(void *context)
{
	struct torture_input *in = context;
	struct verifier *shared = verifier;
	char	err[128];
	struct run run;
	enum torture_outcome outcome;

	if ((verifier = verifier_new(NULL, 5, err, sizeof(err))) == NULL) {
		verifier = shared;
		return TORTURE_ERROR;
	}
	verifier_set_key_lookup(verifier, serve, NULL);
	verify(&run, in->values, 3, &plain, plain.body, 11, 10);
	verifier_free(verifier);
	verifier = shared;
	if (run.m == NULL || !run.finished)
		outcome = TORTURE_ERROR;
	else if (strcmp(run.text, "pass, pass, permerror (no key for signature)") == 0)
		outcome = TORTURE_DONE;
	else {
		printf("#   got %s\n", run.text);
		outcome = TORTURE_WRONG;
	}
	verify_free(run.m);
	return outcome;
}

static void test_torture(void)
{
	struct spec rsa = RSA("rsa", SIGNED), ed = ED("ed", SIGNED), bad = RSA("nothere", SIGNED);
	struct torture_input in = {{sign(&plain, &rsa), sign(&plain, &ed), sign(&plain, &bad)}};

	torture("verify, three signatures", verify_once, &in, TORTURE_MAY_RECOVER);
	for (int i = 0; i < 3; i++)
		free(in.values[i]);
}

int	main(void)
{
	static const unsigned char ed_private[32] = "test-verify: no secret in here.";
	char	err[256] = "";

	rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	small_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
	ed_key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, ed_private, 32);
	verifier = verifier_new(NULL, 5, err, sizeof(err));
	if (!TAP_OK(rsa_key && small_key && ed_key && verifier, "keys_and_verifier_ready %s",
	    err))
		return tap_done();
	verifier_set_key_lookup(verifier, serve, NULL);
	publish_keys();
	test_fields();
	test_field_values();
	test_algorithms();
	test_key_records();
	test_header_selection();
	test_body_length();
	test_shared_body_hash();
	test_limits();
	test_header_bound();
	test_key_cache();
	test_torture();
	verifier_free(verifier);
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(small_key);
	EVP_PKEY_free(ed_key);
	return tap_done();
}
