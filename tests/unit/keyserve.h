/*
 * NAME
 *	keyserve.h - DKIM key records served through verify.h's test seam, for unit tests
 * SYNOPSIS
 *	#include "tests/unit/keyserve.h"
 *
 *	publish("sel._domainkey.example.org", "v=DKIM1; k=rsa; p=", key, NULL);
 *	verifier_set_key_lookup(verifier, serve, NULL);
 * DESCRIPTION
 *	serve() answers a lookup with a DNS reply packet built from records[]: the record's
 *	TXT strings (one or two records), NXDOMAIN for a name not published, no reply at
 *	all for a record marked fail.  lookups counts the questions.  publish() adds a
 *	record: a prefix, then the p= of a key (RSA SubjectPublicKeyInfo, or the 32 bytes of
 *	an Ed25519 key).  test-verify.c and test-arcverify.c use it.
 */
#ifndef SIGNET_TESTS_KEYSERVE_H
#define SIGNET_TESTS_KEYSERVE_H

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "lib/dns.h"

struct record {
	const char *name;		/* selector._domainkey.domain */
	char	txt[2][800];		/* "": no such record */
	int	fail;			/* the lookup gets no reply at all */
};

static struct record records[24];
static size_t record_count;
static unsigned lookups;

__attribute__((unused))
static void put16(unsigned char *p, size_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

/* A reply to (name, TXT): NXDOMAIN, or the record's TXT strings (each under 256 bytes). */
__attribute__((unused))
static int serve(void *ctx, const char *name, int type, unsigned char *buf, size_t buflen,
    size_t *len)
{
	const struct record *r = NULL;
	size_t	n = 12, qname;

	(void)ctx;
	lookups++;
	for (size_t i = 0; i < record_count; i++)
		if (strcasecmp(records[i].name, name) == 0)
			r = &records[i];
	if ((r != NULL && r->fail) || buflen < 600 + 2 * sizeof(r->txt))
		return 0;
	memset(buf, 0, 12);
	put16(buf + 2, r != NULL ? 0x8400 : 0x8403);
	put16(buf + 4, 1);
	qname = n;
	for (const char *p = name; *p != '\0';) {	/* the question */
		const char *dot = strchr(p, '.');
		size_t	label = dot ? (size_t)(dot - p) : strlen(p);

		buf[n++] = (unsigned char)label;
		memcpy(buf + n, p, label);
		n += label;
		p += label + (dot != NULL);
	}
	buf[n++] = 0;
	put16(buf + n, (size_t)type);
	put16(buf + n + 2, 1);
	n += 4;
	for (int k = 0; r != NULL && k < 2 && r->txt[k][0] != '\0'; k++) {
		size_t	tlen = strlen(r->txt[k]), strings = (tlen + 254) / 255;

		put16(buf + 6, (size_t)k + 1);
		put16(buf + n, 0xc000 | qname);
		put16(buf + n + 2, DNS_TYPE_TXT);
		put16(buf + n + 4, 1);
		put16(buf + n + 6, 0);
		put16(buf + n + 8, 60);
		put16(buf + n + 10, tlen + strings);
		n += 12;
		for (size_t s = 0; s < strings; s++) {
			size_t	chunk = tlen - s * 255 < 255 ? tlen - s * 255 : 255;

			buf[n++] = (unsigned char)chunk;
			memcpy(buf + n, r->txt[k] + s * 255, chunk);
			n += chunk;
		}
	}
	*len = n;
	return 1;
}

/* p= of a key: SubjectPublicKeyInfo for RSA, the raw 32 bytes for Ed25519. */
__attribute__((unused))
static void public_key(EVP_PKEY *key, char *b64)
{
	unsigned char der[1024], *p = der;
	size_t	len = sizeof(der);

	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519)
		EVP_PKEY_get_raw_public_key(key, der, &len);
	else
		len = (size_t)i2d_PUBKEY(key, &p);
	EVP_EncodeBlock((unsigned char *)b64, der, (int)len);
}

/* A record at name: prefix, then key's p= value (none when key is NULL). */
__attribute__((unused))
static struct record *publish(const char *name, const char *prefix, EVP_PKEY *key,
    const char *second)
{
	struct record *r = &records[record_count++];
	char	p[800] = "";

	if (key != NULL)
		public_key(key, p);
	r->name = name;
	snprintf(r->txt[0], sizeof(r->txt[0]), "%s%s", prefix, p);
	snprintf(r->txt[1], sizeof(r->txt[1]), "%s", second ? second : "");
	return r;
}

#endif
