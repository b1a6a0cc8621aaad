/*
 * NAME
 *	signerproto.c - encode and decode the signer protocol's packets (see signerproto.h)
 * DESCRIPTION
 *	Both processes use these functions, so both check the same way: every read is
 *	bounded by what is left of the packet, every name is checked against the
 *	keystore's rules, and a decoder fails on anything left over.
 */
#include <stdio.h>
#include <string.h>

#include "lib/printable.h"
#include "milter/signerproto.h"

void	signer_packet_start(struct signer_packet *p, uint32_t id, enum signer_type type)
{
	p->len = 0;
	p->overflow = 0;
	signer_put_u32(p, SIGNER_MAGIC);
	signer_put_u32(p, id);
	signer_put_u8(p, (unsigned)type);
}

void	signer_put_bytes(struct signer_packet *p, const void *data, size_t len)
{
	if (p->overflow || len > sizeof(p->data) - p->len) {
		p->overflow = 1;
		return;
	}
	memcpy(p->data + p->len, data, len);
	p->len += len;
}

void	signer_put_u8(struct signer_packet *p, unsigned v)
{
	unsigned char b = (unsigned char)v;

	signer_put_bytes(p, &b, 1);
}

void	signer_put_u16(struct signer_packet *p, unsigned v)
{
	unsigned char b[2] = {(unsigned char)(v >> 8), (unsigned char)v};

	signer_put_bytes(p, b, 2);
}

void	signer_put_u32(struct signer_packet *p, uint32_t v)
{
	unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
	    (unsigned char)(v >> 8), (unsigned char)v};

	signer_put_bytes(p, b, 4);
}

void	signer_put_name(struct signer_packet *p, const char *s)
{
	size_t	len = strlen(s);

	if (len > 255) {
		p->overflow = 1;
		return;
	}
	signer_put_u8(p, (unsigned)len);
	signer_put_bytes(p, s, len);
}

int	signer_packet_ok(const struct signer_packet *p)
{
	return !p->overflow;
}

int	signer_read_header(struct signer_reader *r, const void *data, size_t len, uint32_t *id,
    unsigned *type)
{
	r->data = data;
	r->len = len;
	r->off = 0;
	r->bad = 0;
	if (len < SIGNER_HEADER_LEN || signer_get_u32(r) != SIGNER_MAGIC)
		return 0;
	*id = signer_get_u32(r);
	*type = signer_get_u8(r);
	return !r->bad;
}

int	signer_get_bytes(struct signer_reader *r, void *out, size_t len)
{
	if (r->bad || len > r->len - r->off) {
		r->bad = 1;
		memset(out, 0, len);
		return 0;
	}
	memcpy(out, r->data + r->off, len);
	r->off += len;
	return 1;
}

unsigned signer_get_u8(struct signer_reader *r)
{
	unsigned char b[1];

	return signer_get_bytes(r, b, 1) ? b[0] : 0;
}

unsigned signer_get_u16(struct signer_reader *r)
{
	unsigned char b[2];

	return signer_get_bytes(r, b, 2) ? (unsigned)b[0] << 8 | b[1] : 0;
}

uint32_t signer_get_u32(struct signer_reader *r)
{
	unsigned char b[4];

	if (!signer_get_bytes(r, b, 4))
		return 0;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

int	signer_get_name(struct signer_reader *r, char *out, size_t size)
{
	size_t	len = signer_get_u8(r);

	if (r->bad || len >= size) {
		r->bad = 1;
		out[0] = '\0';
		return 0;
	}
	if (!signer_get_bytes(r, out, len)) {
		out[0] = '\0';
		return 0;
	}
	out[len] = '\0';
	if (memchr(out, '\0', len) != NULL) {
		r->bad = 1;
		return 0;
	}
	return 1;
}

int	signer_read_done(const struct signer_reader *r)
{
	return !r->bad && r->off == r->len;
}

/* A domain as the keystore stores it (valid, lower case) and a valid selector. */
static int names_valid(const char *domain, const char *selector)
{
	char	norm[KEYSTORE_DOMAIN_MAX + 1];

	return keystore_domain_normalize(domain, norm, sizeof(norm)) == 0 &&
	    strcmp(norm, domain) == 0 && keystore_selector_valid(selector);
}

static int algorithm_valid(unsigned a)
{
	return a == KEY_ALG_RSA_2048 || a == KEY_ALG_RSA_3072 || a == KEY_ALG_RSA_4096 ||
	    a == KEY_ALG_ED25519;
}

void	signer_put_sign(struct signer_packet *p, const struct signer_sign_request *req)
{
	signer_put_u32(p, req->epoch);
	signer_put_u32(p, req->generation);
	signer_put_u8(p, (unsigned)req->algorithm);
	signer_put_name(p, req->domain);
	signer_put_name(p, req->selector);
	signer_put_bytes(p, req->digest, sizeof(req->digest));
}

int	signer_get_sign(struct signer_reader *r, struct signer_sign_request *req, char *why,
    size_t whylen)
{
	unsigned algorithm;

	req->epoch = signer_get_u32(r);
	req->generation = signer_get_u32(r);
	algorithm = signer_get_u8(r);
	signer_get_name(r, req->domain, sizeof(req->domain));
	signer_get_name(r, req->selector, sizeof(req->selector));
	signer_get_bytes(r, req->digest, sizeof(req->digest));
	if (!signer_read_done(r)) {
		snprintf(why, whylen, "malformed sign request (%zu bytes)", r->len);
		return 0;
	}
	if (!algorithm_valid(algorithm)) {
		snprintf(why, whylen, "sign request with unknown algorithm %u", algorithm);
		return 0;
	}
	if (!names_valid(req->domain, req->selector)) {
		snprintf(why, whylen, "sign request with an invalid domain or selector");
		return 0;
	}
	req->algorithm = (enum key_algorithm)algorithm;
	return 1;
}

void	signer_put_key(struct signer_packet *p, const struct keystore_key *key)
{
	signer_put_name(p, key->domain);
	signer_put_name(p, key->selector);
	signer_put_u8(p, (unsigned)key->algorithm);
	signer_put_u8(p, (unsigned)key->state);
	signer_put_u16(p, key->bits > 0 && key->bits < 65536 ? (unsigned)key->bits : 0);
}

int	signer_get_key(struct signer_reader *r, struct keystore_key *key, char *why,
    size_t whylen)
{
	unsigned algorithm, state;

	memset(key, 0, sizeof(*key));
	signer_get_name(r, key->domain, sizeof(key->domain));
	signer_get_name(r, key->selector, sizeof(key->selector));
	algorithm = signer_get_u8(r);
	state = signer_get_u8(r);
	key->bits = (int)signer_get_u16(r);
	if (r->bad || !algorithm_valid(algorithm) || state >= KEY_STATE_COUNT ||
	    !names_valid(key->domain, key->selector)) {
		snprintf(why, whylen, "malformed key in the signer's key list");
		return 0;
	}
	key->algorithm = (enum key_algorithm)algorithm;
	key->state = (enum key_state)state;
	return 1;
}

void	signer_put_error(struct signer_packet *p, const char *text)
{
	char	clean[SIGNER_ERROR_MAX + 1];

	snprintf(clean, sizeof(clean), "%s", text);
	printable_in_place(clean, NULL);
	signer_put_u16(p, (unsigned)strlen(clean));
	signer_put_bytes(p, clean, strlen(clean));
}

int	signer_get_error(struct signer_reader *r, char *out, size_t size)
{
	size_t	len = signer_get_u16(r);

	if (r->bad || len > SIGNER_ERROR_MAX || len >= size ||
	    !signer_get_bytes(r, out, len) || !signer_read_done(r)) {
		snprintf(out, size, "malformed error reply from the signer");
		return 0;
	}
	out[len] = '\0';
	printable_in_place(out, NULL);
	return 1;
}
