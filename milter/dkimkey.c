/*
 * NAME
 *	dkimkey.c - the public key of a DKIM signature: looked up, read, judged, used
 * DESCRIPTION
 *	Lookup.  In the daemon the TXT record comes from dns.c, which charges the message's
 *	budget and keeps the answer in its cache.  A spent budget makes the key "not
 *	evaluated" (policy): not a DNS failure that DMARC would have to wait for (issue
 *	15).  A timeout, SERVFAIL or DNSSEC failure is a temperror; NXDOMAIN and NODATA are
 *	"no key", a permerror (RFC 6376 section 6.1.2).  The test seam of verify.h answers
 *	with a DNS reply packet instead, read here (answer section, TXT records only).
 *
 *	Bounds.  An answer whose TXT records hold more than KEY_ANSWER_MAX bytes is not
 *	read, and a key record over KEY_RECORD_MAX bytes (its strings joined) is refused:
 *	a permerror that says so, since the domain published it and asking again gets the
 *	same.  KEY_RECORD_MAX leaves room for the largest key RFC 8301 asks verifiers to
 *	take (RSA 4096 bits: a record of about 750 bytes).  Several TXT records at the name
 *	are a permerror too: RFC 6376 section 3.6.2.2 leaves the result undefined.
 *
 *	Reading.  lib/keyrecord.c reads the tags, strictly (";;" is a syntax error, as in
 *	a signature); p= is decoded as k= says: an RSA SubjectPublicKeyInfo in DER (only
 *	that form: RFC 6376 section 3.6.1), or the 32 bytes of an Ed25519 key (RFC 8463
 *	section 4.2), once per verifier (keycache.c) rather than once per message.  What
 *	depends on the signature (h=, s=, k= against a=, t=s against i=) waits for
 *	dkimkey_judge().
 *
 *	Verifying.  The header hash is SHA-256 for both algorithms: RSA checks a PKCS#1
 *	v1.5 signature of it (EVP_PKEY_verify with the digest named), Ed25519 signs the
 *	32-byte hash itself (RFC 8463 section 3).  A failure inside OpenSSL is a signature
 *	that does not verify, never an error a stranger could cause at will; only a failed
 *	allocation is reported as one.
 * SEE ALSO
 *	RFC 6376 sections 3.6 and 6.1.2, RFC 8301, RFC 8463, lib/keyrecord.c
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "lib/alloc.h"
#include "lib/base64.h"
#include "lib/keyrecord.h"
#include "lib/log.h"
#include "milter/dkimkey.h"

#define KEY_ANSWER_MAX	8192	/* bytes of TXT data in the answer */
#define KEY_RECORD_MAX	1024	/* bytes of one key record, strings joined */
#define KEY_BYTES_MAX	(KEY_RECORD_MAX * 3 / 4)
#define SIGNATURE_MAX	KEY_BYTES_MAX	/* no key read here signs longer */
#define NAME_MAX_LEN	253

enum key_type { KEY_RSA, KEY_ED25519, KEY_UNKNOWN };

struct dkimkey {
	char	name[NAME_MAX_LEN + 1];
	enum verify_result result;	/* VERIFY_NONE: read, judge it per signature */
	char	reason[112];
	enum key_type type;
	int	sha256;			/* h= allows it */
	int	email;			/* s= allows */
	int	strict, testing;	/* t=s, t=y */
	EVP_PKEY *pkey;			/* NULL: p= is not a key of that type */
	char	unusable[64];		/* ... and why */
	int	bits;
};

/* The TXT records of an answer: how many, their bytes in all, the first one. */
struct txt_answer {
	enum dns_status status;
	size_t	count;
	size_t	bytes;
	const unsigned char *first;
	size_t	first_len;
};

__attribute__((format(printf, 3, 4)))
static void set_result(struct dkimkey *key, enum verify_result result, const char *fmt, ...)
{
	va_list	ap;

	key->result = result;
	va_start(ap, fmt);
	vsnprintf(key->reason, sizeof(key->reason), fmt, ap);
	va_end(ap);
}

/* ---- the test seam: a reply packet ------------------------------------------------- */

/* The end of a name at pos in a DNS packet of len bytes, 0 when it runs past the end. */
static size_t skip_name(const unsigned char *p, size_t len, size_t pos)
{
	while (pos < len) {
		if ((p[pos] & 0xC0) == 0xC0)
			return pos + 2 <= len ? pos + 2 : 0;
		if ((p[pos] & 0xC0) != 0)
			return 0;
		if (p[pos] == 0)
			return pos + 1;
		pos += 1 + (size_t)p[pos];
	}
	return 0;
}

static unsigned get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* The TXT records (class IN) of the answer section; DNS_TEMPFAIL when the packet
 * cannot be walked or says SERVFAIL or the like. */
static void read_reply(const unsigned char *p, size_t len, struct txt_answer *out)
{
	size_t	pos = 12;
	unsigned qd, an, rcode;

	memset(out, 0, sizeof(*out));
	out->status = DNS_TEMPFAIL;
	if (len < 12)
		return;
	qd = get16(p + 4);
	an = get16(p + 6);
	rcode = p[3] & 0x0f;
	for (unsigned i = 0; i < qd; i++)
		if ((pos = skip_name(p, len, pos)) == 0 || (pos += 4) > len)
			return;
	for (unsigned i = 0; i < an; i++) {
		size_t	rdlen;

		if ((pos = skip_name(p, len, pos)) == 0 || pos + 10 > len ||
		    pos + 10 + (rdlen = get16(p + pos + 8)) > len)
			return;
		if (get16(p + pos) == DNS_TYPE_TXT && get16(p + pos + 2) == 1) {
			if (out->count++ == 0) {
				out->first = p + pos + 10;
				out->first_len = rdlen;
			}
			out->bytes += rdlen;
		}
		pos += 10 + rdlen;
	}
	out->status = rcode == 3 ? DNS_NXDOMAIN : rcode != 0 ? DNS_TEMPFAIL :
	    out->count > 0 ? DNS_OK : DNS_NODATA;
}

/* ---- lookup ------------------------------------------------------------------------ */

/* Reads the TXT records of the key into *txt (pointing into *answer or buf). */
static void look_up(const struct dkimkey_source *src, const char *name, unsigned char *buf,
    size_t buflen, struct dns_answer **answer, struct txt_answer *txt)
{
	size_t	len = 0;

	memset(txt, 0, sizeof(*txt));
	txt->status = DNS_TEMPFAIL;
	if (src->test_lookup != NULL) {
		if (src->test_lookup(src->test_lookup_ctx, name, DNS_TYPE_TXT, buf, buflen, &len) &&
		    len <= buflen)
			read_reply(buf, len, txt);
		return;
	}
	txt->status = dns_query(src->dns, src->budget, name, DNS_TYPE_TXT, answer);
	if (txt->status != DNS_OK)
		return;
	txt->count = (*answer)->count;
	txt->first = (*answer)->records[0].data;
	txt->first_len = (*answer)->records[0].len;
	for (size_t i = 0; i < txt->count; i++)
		txt->bytes += (*answer)->records[i].len;
}

/* The record's text into text (KEY_RECORD_MAX + 1 bytes) or the key's result. */
static int record_text(struct dkimkey *key, const struct txt_answer *txt, char *text,
    size_t *len)
{
	switch (txt->status) {
	case DNS_OK:
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		set_result(key, VERIFY_PERMERROR, "no key for signature");
		return 0;
	case DNS_BUDGET:
		set_result(key, VERIFY_POLICY, "not evaluated: the message's DNS budget was "
		    "spent (DNSMessageQueries, DNSMessageTime)");
		return 0;
	default:
		set_result(key, VERIFY_TEMPERROR, "key lookup failed (%s)",
		    dns_status_name(txt->status));
		return 0;
	}
	if (txt->bytes > KEY_ANSWER_MAX) {
		set_result(key, VERIFY_PERMERROR, "DNS answer of %zu bytes of key records, over "
		    "the %d Signet reads", txt->bytes, KEY_ANSWER_MAX);
		return 0;
	}
	if (txt->count > 1) {
		set_result(key, VERIFY_PERMERROR, "%zu key records at the name", txt->count);
		return 0;
	}
	if (!dns_txt_text(txt->first, txt->first_len, text, KEY_RECORD_MAX + 1, len)) {
		set_result(key, VERIFY_TEMPERROR, "key lookup failed (malformed TXT record)");
		return 0;
	}
	if (*len > KEY_RECORD_MAX) {
		set_result(key, VERIFY_PERMERROR, "key record of %zu bytes, over the %d Signet "
		    "reads", *len, KEY_RECORD_MAX);
		return 0;
	}
	return 1;
}

/* ---- reading ----------------------------------------------------------------------- */

/* p= as a key of the record's type, from the cache when it was decoded before;
 * key->unusable says why not. */
static void decode_key(struct dkimkey *key, struct span p, struct keycache *cache)
{
	unsigned char der[KEY_BYTES_MAX];
	const unsigned char *q = der;
	int	type = key->type == KEY_ED25519 ? EVP_PKEY_ED25519 : EVP_PKEY_RSA;
	size_t	len;

	if (cache != NULL && (key->pkey = keycache_get(cache, type, p.p, p.len)) != NULL) {
		key->bits = EVP_PKEY_get_bits(key->pkey);
		return;
	}
	if (!base64_decode(p.p, p.len, der, sizeof(der), &len)) {
		snprintf(key->unusable, sizeof(key->unusable), "key p= is not base64");
		return;
	}
	if (type == EVP_PKEY_ED25519) {
		if (len == 32)
			key->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der, len);
		if (key->pkey == NULL)
			snprintf(key->unusable, sizeof(key->unusable), "key p= is not an Ed25519 "
			    "key");
	} else if ((key->pkey = d2i_PUBKEY(NULL, &q, (long)len)) == NULL ||
	    q != der + len || EVP_PKEY_get_base_id(key->pkey) != EVP_PKEY_RSA) {
		EVP_PKEY_free(key->pkey);
		key->pkey = NULL;
		snprintf(key->unusable, sizeof(key->unusable), "key p= is not an RSA key");
	}
	ERR_clear_error();
	if (key->pkey == NULL)
		return;
	key->bits = EVP_PKEY_get_bits(key->pkey);
	if (cache != NULL)
		keycache_put(cache, type, p.p, p.len, key->pkey);
}

static void read_record(struct dkimkey *key, const char *text, size_t len,
    struct keycache *cache)
{
	struct keyrecord rec;
	char	err[96];

	switch (keyrecord_parse(text, len, TAGLIST_STRICT, &rec, err, sizeof(err))) {
	case KEYRECORD_OK:
		break;
	case KEYRECORD_REVOKED:
		set_result(key, VERIFY_PERMERROR, "key revoked (p= is empty)");
		return;
	default:
		set_result(key, VERIFY_PERMERROR, "key record: %s", err);
		return;
	}
	key->type = rec.k.p == NULL || span_is_nocase(rec.k, "rsa") ? KEY_RSA :
	    span_is_nocase(rec.k, "ed25519") ? KEY_ED25519 : KEY_UNKNOWN;
	key->sha256 = keyrecord_allows_hash(&rec, "sha256");
	key->email = keyrecord_for_email(&rec);
	key->strict = keyrecord_has_flag(&rec, "s");
	key->testing = keyrecord_has_flag(&rec, "y");
	if (key->type != KEY_UNKNOWN)
		decode_key(key, rec.p, cache);
}

struct dkimkey *dkimkey_fetch(const struct dkimkey_source *src, const char *name)
{
	struct dkimkey *key = mem_calloc(1, sizeof(*key));
	struct dns_answer *answer = NULL;
	struct txt_answer txt;
	unsigned char *packet = NULL;
	char	text[KEY_RECORD_MAX + 1];
	size_t	len;

	if (key == NULL)
		return NULL;
	snprintf(key->name, sizeof(key->name), "%s", name);
	if (src->test_lookup != NULL && (packet = mem_malloc(KEY_ANSWER_MAX)) == NULL) {
		free(key);
		return NULL;
	}
	look_up(src, name, packet, KEY_ANSWER_MAX, &answer, &txt);
	if (record_text(key, &txt, text, &len))
		read_record(key, text, len, src->cache);
	else if (key->result == VERIFY_POLICY || (key->result == VERIFY_PERMERROR &&
	    txt.status == DNS_OK))
		log_msg(LOG_LEVEL_NOTICE, "%s: key %s refused: %s", src->queue_id, name,
		    key->reason);
	dns_answer_free(answer);
	free(packet);
	return key;
}

void	dkimkey_free(struct dkimkey *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}

int	dkimkey_is(const struct dkimkey *key, const char *name)
{
	return strcasecmp(key->name, name) == 0;
}

const struct dkimkey *dkimkey_list_fetch(struct dkimkey_list *list,
    const struct dkimkey_source *source, const char *d, const char *s)
{
	char	name[2 * NAME_MAX_LEN + sizeof("._domainkey.")];	/* 253 in fact */
	struct dkimkey *key;

	snprintf(name, sizeof(name), "%s._domainkey.%s", s, d);
	for (size_t i = 0; i < list->count; i++)
		if (dkimkey_is(list->keys[i], name))
			return list->keys[i];
	if (list->count >= list->max)
		return NULL;
	if (list->keys == NULL && (list->keys = mem_calloc(list->max,
	    sizeof(*list->keys))) == NULL)
		return NULL;
	if ((key = dkimkey_fetch(source, name)) == NULL)
		return NULL;
	return list->keys[list->count++] = key;
}

void	dkimkey_list_free(struct dkimkey_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		dkimkey_free(list->keys[i]);
	free(list->keys);
	list->keys = NULL;
	list->count = 0;
}

/* ---- one signature ----------------------------------------------------------------- */

enum verify_result dkimkey_judge(const struct dkimkey *key, const struct dkimsig *sig,
    char *reason, size_t size)
{
	const char *why = NULL;

	if (key->result != VERIFY_NONE) {
		snprintf(reason, size, "%s", key->reason);
		return key->result;
	}
	if (!key->sha256)	/* the only hash that gets here (dkimsig.c) */
		why = "key record h= does not allow sha256";
	else if (!key->email)
		why = "key record s= is not for email";
	else if (key->type == KEY_UNKNOWN)
		why = "unknown key type k=";
	else if ((key->type == KEY_ED25519) != (sig->alg == DKIMSIG_ED25519_SHA256))
		why = "key type k= does not match a=";
	else if (key->pkey == NULL)
		why = key->unusable;
	else if (key->strict && !sig->i_is_d)
		why = "key record t=s: i= must be d= itself";
	if (why == NULL)
		return VERIFY_NONE;
	snprintf(reason, size, "%s", why);
	return VERIFY_PERMERROR;
}

int	dkimkey_verify(const struct dkimkey *key, const struct dkimsig *sig,
    const unsigned char digest[DKIMHDR_HASH_LEN])
{
	unsigned char b[SIGNATURE_MAX];
	size_t	len;
	int	rc;

	if (!base64_decode(sig->b.p, sig->b.len, b, sizeof(b), &len))
		return 0;		/* longer than any key read here can sign */
	if (key->type == KEY_ED25519) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();

		if (md == NULL)
			return -1;
		rc = EVP_DigestVerifyInit(md, NULL, NULL, NULL, key->pkey) == 1 &&
		    EVP_DigestVerify(md, b, len, digest, DKIMHDR_HASH_LEN) == 1;
		EVP_MD_CTX_free(md);
	} else {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key->pkey, NULL);

		if (ctx == NULL)
			return -1;
		rc = EVP_PKEY_verify_init(ctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
		    EVP_PKEY_verify(ctx, b, len, digest, DKIMHDR_HASH_LEN) == 1;
		EVP_PKEY_CTX_free(ctx);
	}
	ERR_clear_error();
	return rc;
}

int	dkimkey_too_small(const struct dkimkey *key)
{
	return key->type == KEY_RSA && key->bits < DKIMKEY_MIN_RSA_BITS;
}

int	dkimkey_testing(const struct dkimkey *key)
{
	return key->testing;
}
