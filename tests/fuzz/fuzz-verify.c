/*
 * NAME
 *	fuzz-verify - the DKIM verifier fed whole messages: only the domain whose key
 *	verified a signature may pass
 * DESCRIPTION
 *	The input is a message as the MTA delivers it.  It is cut into header fields (the
 *	name before the first colon of a line, the value after it, folded lines kept joined
 *	as the MTA passes them) and a body, and handed to milter/verify.c as inbound.c does:
 *	verify_header() per field, verify_end_of_headers(), verify_body() in two chunks,
 *	verify_finish(), with MaximumSignatures FUZZ_VERIFY_MAX_SIGNATURES.  A line with no
 *	colon ends the header as a blank line does (it is then the first line of the body).
 *	Names go over as written, blanks before the colon included (Postfix would remove
 *	them), so that verify.c's own reading of names stays under test.
 *
 *	Key lookups reach no resolver: verifier_set_key_lookup() answers them from a key
 *	source that serves exactly one key, sel._domainkey.attacker.example.  It is an
 *	Ed25519 key made at start-up from a fixed private key, so that a failing input, or a
 *	libFuzzer corpus, still carries valid signatures on the next run.  Every other name
 *	gets NXDOMAIN.  Names are compared as a DNS server would: without case, after
 *	reading \X and \DDD escapes as a resolver does, with or without a final dot.  The
 *	reply is a DNS packet, as verify.h's seam wants it.  Each
 *	name looked up is recorded, with whether the key was served.
 *
 *	The invariant of issue 13: a DKIM result may feed DMARC only when the domain it
 *	reports is the domain whose key verified it.  One key exists, so every pass must
 *	report d=attacker.example and s=sel (case aside), and that key must have been served
 *	for this message.  Also: one result per DKIM-Signature field up to MaximumSignatures,
 *	then exactly one summary result (policy, no domain) for the rest; no more key lookups
 *	than fields looked at; verify_finish() never fails (it may only when
 *	memory runs out).
 *
 *	Seeds are signed here with that key for d=attacker.example s=sel, as an attacker who
 *	owns attacker.example would: a plain signed message, the two bypasses of issue 13
 *	(tests/data/inbound/160 and 161), several and too many signatures, empty fields,
 *	other spellings of the domain, a signature for a domain whose key is not ours, a
 *	field name with a tab before the colon (no signature: the rule libopendkim had).
 *	They are signed here rather than with sign_message() because the shape of 161 needs
 *	text after b= that the signature covers (as dkimpy's after-b= option makes it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>

#include "milter/canon.h"
#include "lib/dns.h"
#include "milter/verify.h"
#include "tests/fuzz/fuzz-verify.h"
#include "tests/unit/msgfeed.h"

#define KEY_NAME "sel._domainkey.attacker.example"
#define LOOKUP_LOG 8

/* Fixed, so runs reproduce; a test key and nothing else. */
static const unsigned char private_key[32] = "Signet fuzz key; no secret here.";

/* ---- the key source: one key, DNS packets -------------------------------------------- */

struct lookup_record {
	char	name[256];
	int	served;
};

struct key_source {
	unsigned char key_name[256];	/* KEY_NAME in wire form */
	size_t	key_name_len;
	char	txt[128];		/* its TXT record */
	struct lookup_record log[LOOKUP_LOG];	/* this message's first lookups */
	size_t	lookups;		/* this message's lookups, all of them */
	int	served;			/* the key was served for this message */
};

/* A name as a resolver reads it (labels between dots, \X and \DDD escapes, an optional
 * final dot) in wire form; 0 when it is no valid name. */
static size_t name_to_wire(const char *name, unsigned char out[256])
{
	size_t	n = 1, label = 0;	/* out[label]: the length of the current label */

	out[0] = 0;
	for (const char *p = name; *p != '\0'; p++) {
		unsigned c = (unsigned char)*p;

		if (c == '.') {
			if (n - label == 1 || n >= 255)
				return 0;	/* an empty label */
			if (p[1] == '\0')
				break;
			label = n;
			out[n++] = 0;
			continue;
		}
		if (c == '\\' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9' &&
		    p[3] >= '0' && p[3] <= '9') {
			c = (unsigned)(p[1] - '0') * 100 + (unsigned)(p[2] - '0') * 10 +
			    (unsigned)(p[3] - '0');
			p += 3;
		} else if (c == '\\' && p[1] != '\0') {
			c = (unsigned char)*++p;
		} else if (c == '\\') {
			return 0;
		}
		if (c > 255 || n - label > 63 || n >= 254)
			return 0;
		out[n++] = (unsigned char)c;
		out[label] = (unsigned char)(n - label - 1);
	}
	if (n - label == 1)
		return 0;		/* empty name */
	out[n++] = 0;
	return n;
}

static int wire_names_equal(const unsigned char *a, size_t alen, const unsigned char *b,
    size_t blen)
{
	if (alen != blen)
		return 0;
	for (size_t i = 0; i < alen; i++) {
		unsigned char x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y + 32);
		if (x != y)
			return 0;
	}
	return 1;
}

struct wire {
	unsigned char *data;
	size_t	len;
	size_t	cap;
	int	ok;
};

static void put(struct wire *w, const void *data, size_t len)
{
	if (!w->ok || w->cap - w->len < len) {
		w->ok = 0;
		return;
	}
	memcpy(w->data + w->len, data, len);
	w->len += len;
}

static void put16(struct wire *w, size_t value)
{
	unsigned char b[2] = {(unsigned char)(value >> 8), (unsigned char)value};

	put(w, b, 2);
}

/* A reply to the question (qname, type) with rcode (0 NOERROR, 3 NXDOMAIN) and, when txt
 * is not NULL, one TXT record cut into character-strings of at most 255 bytes.  Returns
 * its length, 0 when buf is too small. */
static size_t dns_reply(unsigned char *buf, size_t buflen, const unsigned char *qname,
    size_t qlen, int type, int rcode, const char *txt)
{
	struct wire w = {buf, 0, buflen, 1};
	size_t	len = txt != NULL ? strlen(txt) : 0;
	size_t	strings = len == 0 ? 1 : (len + 254) / 255;

	put16(&w, 0);			/* id: not checked */
	put16(&w, 0x8580u | (unsigned)rcode);	/* QR, AA, RD, RA */
	put16(&w, 1);			/* the question */
	put16(&w, txt != NULL);		/* answers */
	put16(&w, 0);
	put16(&w, 0);
	put(&w, qname, qlen);
	put16(&w, (size_t)type);
	put16(&w, 1);			/* IN */
	if (txt != NULL) {
		put16(&w, 0xc00c);	/* its owner: the question's name */
		put16(&w, DNS_TYPE_TXT);
		put16(&w, 1);
		put16(&w, 0);
		put16(&w, 300);		/* TTL */
		put16(&w, len + strings);
		for (size_t i = 0; i < strings; i++) {
			size_t	n = len - i * 255 < 255 ? len - i * 255 : 255;
			unsigned char count = (unsigned char)n;

			put(&w, &count, 1);
			put(&w, txt + i * 255, n);
		}
	}
	return w.ok ? w.len : 0;
}

/* verifier_set_key_lookup()'s callback. */
static int serve_key(void *context, const char *name, int type, unsigned char *buf,
    size_t buflen, size_t *len)
{
	struct key_source *ks = context;
	unsigned char qname[256];
	size_t	qlen = name_to_wire(name, qname);
	int	ours = qlen != 0 && wire_names_equal(qname, qlen, ks->key_name, ks->key_name_len);
	int	answer = ours && type == DNS_TYPE_TXT;

	*len = qlen == 0 ? 0 : dns_reply(buf, buflen, qname, qlen, type, ours ? 0 : 3,
	    answer ? ks->txt : NULL);
	if (answer && *len != 0)
		ks->served = 1;
	if (ks->lookups < LOOKUP_LOG) {
		snprintf(ks->log[ks->lookups].name, sizeof(ks->log[0].name), "%s", name);
		ks->log[ks->lookups].served = answer && *len != 0;
	}
	ks->lookups++;
	return *len != 0;	/* 0: no valid name (a resolver sends nothing), or no room */
}

/* ---- one message through the verifier ------------------------------------------------ */

static EVP_PKEY *key;
static struct key_source keys;
static struct verifier *verifier;
static unsigned long runs_with_pass;	/* inputs that gave at least one pass */

struct outcome {
	struct dns_budget budget;	/* outlives the message, as verify_begin() wants */
	size_t	signatures;		/* DKIM-Signature fields in the message */
	int	finished;		/* verify_finish() succeeded */
	const struct verify_signature *results;
	size_t	count;
};

/* What libopendkim took for a signature field (dkim_header), the rule verify.c kept when
 * it replaced libopendkim: a name of printable ASCII and spaces that is "DKIM-Signature",
 * in any case, spaces after it aside.  A name with a tab or another control byte is no
 * signature.  It is written again here, from libopendkim's code, so that the count of
 * results is checked against that rule and not against verify.c itself. */
static int is_signature_name(const char *name)
{
	size_t	len = strlen(name);

	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] < 32 || (unsigned char)name[i] > 126)
			return 0;
	while (len > 0 && name[len - 1] == ' ')
		len--;
	return len == 14 && strncasecmp(name, "DKIM-Signature", 14) == 0;
}

/* The verifier's side of msgfeed.h, counting the DKIM-Signature fields. */
struct feeding {
	struct verify_message *m;
	size_t	signatures;
};

static void feed_header(void *context, const char *name, const char *value)
{
	struct feeding *f = context;

	f->signatures += is_signature_name(name);
	verify_header(f->m, name, value);
}

static void feed_end_of_headers(void *context)
{
	verify_end_of_headers(((struct feeding *)context)->m);
}

static void feed_body(void *context, const unsigned char *data, size_t len)
{
	verify_body(((struct feeding *)context)->m, data, len);
}

/* Hands the message to the verifier field by field, then the body; returns the number
 * of DKIM-Signature fields. */
static size_t feed(struct verify_message *m, const uint8_t *data, size_t len)
{
	struct feeding f = {m, 0};
	struct msgfeed feeder = {feed_header, feed_end_of_headers, feed_body, &f};

	msgfeed(&feeder, data, len);
	return f.signatures;
}

/* Verifies the message; the caller frees what is returned (the results live in it). */
static struct verify_message *run(const uint8_t *data, size_t len, struct outcome *o)
{
	struct verify_message *m;

	memset(o, 0, sizeof(*o));
	memset(keys.log, 0, sizeof(keys.log));
	keys.lookups = 0;
	keys.served = 0;
	dns_budget_init(&o->budget, 64, 60000);
	m = verify_begin(verifier, &o->budget, "FUZZ", FUZZ_VERIFY_MAX_SIGNATURES);
	if (m == NULL)
		abort();
	o->signatures = feed(m, data, len);
	o->finished = verify_finish(m, &o->results, &o->count);
	return m;
}

/* 0 and why, when the outcome breaks an invariant (see the DESCRIPTION). */
static int invariants_hold(const struct outcome *o, char *why, size_t whylen)
{
	size_t	given = o->signatures < FUZZ_VERIFY_MAX_SIGNATURES ? o->signatures :
	    FUZZ_VERIFY_MAX_SIGNATURES;
	int	over = o->signatures > FUZZ_VERIFY_MAX_SIGNATURES;

	if (!o->finished) {
		snprintf(why, whylen, "verify_finish() failed (an internal error)");
		return 0;
	}
	if (o->count != given + (size_t)over) {
		snprintf(why, whylen, "%zu results for %zu DKIM-Signature fields", o->count,
		    o->signatures);
		return 0;
	}
	if (over && (o->results[given].result != VERIFY_POLICY ||
	    o->results[given].domain[0] != '\0')) {
		snprintf(why, whylen, "no summary result for the fields over the limit");
		return 0;
	}
	if (keys.lookups > given) {
		snprintf(why, whylen, "%zu key lookups for %zu fields given to libopendkim",
		    keys.lookups, given);
		return 0;
	}
	for (size_t i = 0; i < o->count; i++) {
		const struct verify_signature *r = &o->results[i];

		if (r->result != VERIFY_PASS)
			continue;
		if (strcasecmp(r->domain, "attacker.example") != 0 ||
		    strcasecmp(r->selector, "sel") != 0) {
			snprintf(why, whylen, "result %zu passes for d=%s s=%s, but the only key is "
			    KEY_NAME, i + 1, r->domain, r->selector);
			return 0;
		}
		if (!keys.served) {
			snprintf(why, whylen, "result %zu passes, but no key was served", i + 1);
			return 0;
		}
	}
	return 1;
}

static void describe(const struct outcome *o, char *out, size_t outlen)
{
	size_t	used = 0;

	out[0] = '\0';
	if (!o->finished)
		snprintf(out, outlen, "internal error");
	else if (o->count == 0)
		snprintf(out, outlen, "none");
	for (size_t i = 0; o->finished && i < o->count && used < outlen; i++) {
		const struct verify_signature *r = &o->results[i];
		int	n = snprintf(out + used, outlen - used, "%s%s d=%s s=%s", i ? ", " : "",
		    verify_result_name(r->result), r->domain, r->selector);

		used += n > 0 ? (size_t)n : 0;
	}
}

void	fuzz_verify_summary(const uint8_t *data, size_t len, char *out, size_t outlen)
{
	struct outcome o;
	struct verify_message *m;

	if (!fuzz_verify_init()) {
		snprintf(out, outlen, "no verifier");
		return;
	}
	m = run(data, len, &o);
	describe(&o, out, outlen);
	verify_free(m);
}

int	fuzz_verify_run(const uint8_t *data, size_t len)
{
	struct outcome o;
	static unsigned long reported;	/* why, for the first few inputs only */
	struct verify_message *m;
	char	why[512], results[1024];
	int	ok;

	if (!fuzz_verify_init())
		abort();
	m = run(data, len, &o);
	for (size_t i = 0; o.finished && i < o.count; i++)
		if (o.results[i].result == VERIFY_PASS) {
			runs_with_pass++;
			break;
		}
	if (!(ok = invariants_hold(&o, why, sizeof(why))) && ++reported <= 3) {
		describe(&o, results, sizeof(results));
		printf("# verify: %s\n#   results: %s\n#   key lookups:", why, results);
		for (size_t i = 0; i < keys.lookups && i < LOOKUP_LOG; i++)
			printf(" %s (%s)", keys.log[i].name, keys.log[i].served ? "served" : "not ours");
		printf("%s\n", keys.lookups > LOOKUP_LOG ? " ..." : "");
	}
	verify_free(m);
	return ok;
}

/* ---- seeds, signed with the one key -------------------------------------------------- */

static const char *const message_fields[][2] = {
	{"From", " The CEO <ceo@bank.example>"},
	{"To", " Bob <bob@example.net>"},
	{"Subject", " Please wire the money today"},
	{"Date", " Fri, 27 Nov 2026 08:00:00 +0000"},
	{"Message-ID", " <160@attacker.example>"},
	{"MIME-Version", " 1.0"},
	{"Content-Type", " text/plain; charset=us-ascii"},
};
#define SIGNED_FIELDS 5		/* the first five, as h= below says */

static const char message_body[] =
	"Hello Bob,\r\n\r\nthis is an inbound test message.\r\n\r\nThe CEO\r\n";

/* The fields above the message's own: @SIG@ is the genuine signature field, @B@ and @BH@
 * its b= and bh= values.  The part the mutator spares begins at the last @SIG@. */
struct seed_spec {
	const char *name;
	const char *fields;
	const char *d;
	const char *s;
	enum canon_kind ch, cb;
	const char *after_b;	/* text after b=, covered by the signature */
	const char *expect;
};

#define FORGED_160 "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/simple; " \
	"d=bank.example; s=sel; h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;; " \
	"b=@B@\r\n"
#define FORGED_VALID "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n" \
	"\td=bank.example; s=sel; t=1700000000; h=from:to:subject:date:message-id;\r\n" \
	"\tbh=@BH@; b=@B@\r\n"

static const struct seed_spec seed_specs[] = {
	{"signed message", "@SIG@", "attacker.example", "sel", CANON_RELAXED, CANON_RELAXED,
	    "", "pass d=attacker.example s=sel"},
	{"signed message, c=simple/simple", "@SIG@", "attacker.example", "sel", CANON_SIMPLE,
	    CANON_SIMPLE, "", "pass d=attacker.example s=sel"},
	{"issue 13 (160): a forged field copies b= after ;;", FORGED_160 "@SIG@",
	    "attacker.example", "sel", CANON_RELAXED, CANON_SIMPLE, "",
	    "permerror d=bank.example s=sel, pass d=attacker.example s=sel"},
	{"issue 13 (161): tags after b=", "@SIG@", "attacker.example", "sel", CANON_RELAXED,
	    CANON_SIMPLE, "; x y=z; d=bank.example", "permerror d=attacker.example s=sel"},
	{"two signatures and a forged field copying b= and bh=", "@SIG@" FORGED_VALID "@SIG@",
	    "attacker.example", "sel", CANON_RELAXED, CANON_RELAXED, "",
	    "pass d=attacker.example s=sel, permerror d=bank.example s=sel, "
	    "pass d=attacker.example s=sel"},
	{"empty fields, more than MaximumSignatures",
	    "DKIM-Signature:\r\nDKIM-Signature: \r\n@SIG@DKIM-Signature: ;\r\n"
	    "dkim-signature : v=1; b=@B@\r\nDKIM-Signature:\r\n", "attacker.example", "sel",
	    CANON_RELAXED, CANON_RELAXED, "",
	    "permerror d= s=, permerror d= s=, pass d=attacker.example s=sel, "
	    "permerror d= s=, policy d= s="},
	{"upper-case domain and selector", "@SIG@", "ATTACKER.EXAMPLE", "SEL", CANON_RELAXED,
	    CANON_RELAXED, "", "pass d=ATTACKER.EXAMPLE s=SEL"},
	{"domain with a final dot", "@SIG@", "attacker.example.", "sel", CANON_RELAXED,
	    CANON_RELAXED, "", "permerror d=attacker.example. s=sel"},
	{"domain with an escape", "@SIG@", "attacker.exampl\\101", "sel", CANON_RELAXED,
	    CANON_RELAXED, "", "permerror d=attacker.exampl\\101 s=sel"},
	{"signed for a domain whose key is not ours", "@SIG@", "bank.example", "sel",
	    CANON_RELAXED, CANON_RELAXED, "", "permerror d=bank.example s=sel"},
	{"a tab before a field's colon (libopendkim refuses that field)",
	    "DKIM-Signature\t: v=1; a=ed25519-sha256; d=bank.example; s=sel; b=@B@\r\n@SIG@",
	    "attacker.example", "sel", CANON_RELAXED, CANON_RELAXED, "",
	    "pass d=attacker.example s=sel"},
};
#define SEED_COUNT (sizeof(seed_specs) / sizeof(seed_specs[0]))

static const char *const splice_templates[] = {
	"DKIM-Signature:", FORGED_160, FORGED_VALID, "@SIG@", ";;", "; x y=z; d=bank.example",
	" d=bank.example;", " d=attacker.example;", " s=sel;", " b=@B@;", " bh=@BH@;",
	" a=rsa-sha256;", "\r\n\t", "\r\n", "\r\n\r\n", "From: ceo@bank.example\r\n",
};
#define SPLICE_COUNT (sizeof(splice_templates) / sizeof(splice_templates[0]))

static struct fuzz_verify_seed seeds[SEED_COUNT];
static const char *splices[SPLICE_COUNT];

/* The value of a DKIM-Signature field over the seed message, made with the key. */
static char *sign_value(const struct seed_spec *spec, char *b64, char *bh64)
{
	unsigned char bh[CANON_HASH_LEN], digest[32], sig[64];
	size_t	siglen = sizeof(sig);
	struct body_canon *bc = body_canon_new(spec->cb);
	struct buffer hashed = {0}, value = {0};
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int	ok = bc != NULL && ctx != NULL;

	ok = ok && body_canon_update(bc, (const unsigned char *)message_body,
	    strlen(message_body)) && body_canon_final(bc, bh);
	EVP_EncodeBlock((unsigned char *)bh64, bh, sizeof(bh));
	ok = ok && buffer_append_str(&value, " v=1; a=ed25519-sha256; c=") &&
	    buffer_append_str(&value, conf_canon_name(spec->ch)) &&
	    buffer_append_str(&value, "/") &&
	    buffer_append_str(&value, conf_canon_name(spec->cb)) &&
	    buffer_append_str(&value, "; d=") && buffer_append_str(&value, spec->d) &&
	    buffer_append_str(&value, "; s=") && buffer_append_str(&value, spec->s) &&
	    buffer_append_str(&value, ";\r\n\tt=1700000000; h=from:to:subject:date:message-id;"
		"\r\n\tbh=") && buffer_append_str(&value, bh64) &&
	    buffer_append_str(&value, ";\r\n\tb=");
	for (size_t i = 0; ok && i < SIGNED_FIELDS; i++)
		ok = header_canon(&hashed, spec->ch, message_fields[i][0], message_fields[i][1], 1);
	/* The signature field itself, b= empty and what follows b= included. */
	ok = ok && buffer_append_str(&value, spec->after_b) &&
	    header_canon(&hashed, spec->ch, "DKIM-Signature", value.data, 0) &&
	    EVP_Digest(hashed.data, hashed.len, digest, NULL, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
	    EVP_DigestSign(ctx, sig, &siglen, digest, sizeof(digest)) == 1;
	if (ok) {
		EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
		value.len -= strlen(spec->after_b);
		ok = buffer_append_str(&value, b64) && buffer_append_str(&value, spec->after_b);
	}
	body_canon_free(bc);
	EVP_MD_CTX_free(ctx);
	buffer_free(&hashed);
	if (!ok)
		buffer_free(&value);
	return value.data;
}

/* template with @SIG@, @B@ and @BH@ replaced; *last_sig: where the last @SIG@ went. */
static char *expand(const char *template, const char *field, const char *b64,
    const char *bh64, size_t *last_sig)
{
	struct buffer out = {0};
	int	ok = buffer_append(&out, "", 0);

	for (const char *p = template; ok && *p != '\0'; p++) {
		if (strncmp(p, "@SIG@", 5) == 0) {
			if (last_sig != NULL)
				*last_sig = out.len;
			ok = buffer_append_str(&out, "DKIM-Signature:") &&
			    buffer_append_str(&out, field) && buffer_append_str(&out, "\r\n");
			p += 4;
		} else if (strncmp(p, "@B@", 3) == 0) {
			ok = buffer_append_str(&out, b64);
			p += 2;
		} else if (strncmp(p, "@BH@", 4) == 0) {
			ok = buffer_append_str(&out, bh64);
			p += 3;
		} else {
			ok = buffer_append(&out, p, 1);
		}
	}
	if (!ok)
		abort();
	return out.data;
}

static char *make_seed(const struct seed_spec *spec, size_t *signed_from)
{
	char	b64[128], bh64[64], *field = sign_value(spec, b64, bh64), *fields;
	struct buffer msg = {0};
	int	ok;

	if (field == NULL)
		return NULL;
	fields = expand(spec->fields, field, b64, bh64, signed_from);
	ok = buffer_append_str(&msg, fields);
	for (size_t i = 0; ok && i < sizeof(message_fields) / sizeof(message_fields[0]); i++)
		ok = buffer_append_str(&msg, message_fields[i][0]) && buffer_append(&msg, ":", 1) &&
		    buffer_append_str(&msg, message_fields[i][1]) && buffer_append(&msg, "\r\n", 2);
	ok = ok && buffer_append(&msg, "\r\n", 2) && buffer_append_str(&msg, message_body);
	if (spec == &seed_specs[0])	/* the splices use the plain seed's signature */
		for (size_t i = 0; ok && i < SPLICE_COUNT; i++)
			splices[i] = expand(splice_templates[i], field, b64, bh64, NULL);
	free(field);
	free(fields);
	if (!ok)
		buffer_free(&msg);
	return msg.data;
}

static int make_key(void)
{
	unsigned char pub[32];
	size_t	publen = sizeof(pub);
	char	pub64[48];

	key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, private_key,
	    sizeof(private_key));
	if (key == NULL || EVP_PKEY_get_raw_public_key(key, pub, &publen) != 1)
		return 0;
	EVP_EncodeBlock((unsigned char *)pub64, pub, (int)publen);
	snprintf(keys.txt, sizeof(keys.txt), "v=DKIM1; k=ed25519; p=%s", pub64);
	keys.key_name_len = name_to_wire(KEY_NAME, keys.key_name);
	return keys.key_name_len != 0;
}

int	fuzz_verify_init(void)
{
	static int done, ok;
	char	err[256] = "";

	if (done)
		return ok;
	done = 1;
	if (!make_key()) {
		fprintf(stderr, "fuzz-verify: cannot make the Ed25519 key\n");
		return 0;
	}
	/* No resolver: the key source answers every lookup. */
	if ((verifier = verifier_new(NULL, 5, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz-verify: %s\n", err);
		return 0;
	}
	verifier_set_key_lookup(verifier, serve_key, &keys);
	for (size_t i = 0; i < SEED_COUNT; i++) {
		seeds[i].name = seed_specs[i].name;
		seeds[i].expect = seed_specs[i].expect;
		if ((seeds[i].message = make_seed(&seed_specs[i], &seeds[i].signed_from)) == NULL) {
			fprintf(stderr, "fuzz-verify: cannot sign the seed \"%s\"\n", seeds[i].name);
			return 0;
		}
	}
	return ok = 1;
}

const struct fuzz_verify_seed *fuzz_verify_seeds(size_t *count)
{
	*count = SEED_COUNT;
	return seeds;
}

unsigned long fuzz_verify_passes(void)
{
	return runs_with_pass;
}

const char *const *fuzz_verify_splices(size_t *count)
{
	*count = SPLICE_COUNT;
	return splices;
}
