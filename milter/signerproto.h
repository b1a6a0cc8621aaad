/*
 * NAME
 *	signerproto.h - the packets between the milter process and the signer process
 * SYNOPSIS
 *	#include "milter/signerproto.h"
 * DESCRIPTION
 *	The two processes talk over AF_UNIX SOCK_SEQPACKET socket pairs: one packet is one
 *	message, never split or merged, so a reader never resynchronizes.  Every packet
 *	starts with a 9-byte header, integers big-endian:
 *
 *	    u32 magic "SGN1"   u32 request id (the reply repeats it)   u8 type
 *
 *	Requests (milter -> signer) and their bodies:
 *	    LIST     -                          the key list of the signer's newest generation
 *	    RELOAD   -                          re-read signet.conf and the keystore
 *	    SIGN     u32 epoch, u32 generation, u8 algorithm, u8 length + domain,
 *	             u8 length + selector, 32-byte SHA-256 digest
 *	    RELEASE  u32 epoch, u32 generation  the milter no longer uses that generation
 *	Replies (signer -> milter):
 *	    KEYS     u32 epoch, u32 generation, u8 last, u16 count, then count times:
 *	             u8 length + domain, u8 length + selector, u8 algorithm, u8 state,
 *	             u16 bits               (a long list comes in several packets)
 *	    SIGNATURE u16 length + raw signature bytes (at most 512)
 *	    OK       -
 *	    ERROR    u16 length + one printable sentence (at most 640 bytes)
 *
 *	The epoch names one life of the signer process (its pid): generations are counted
 *	afresh when it is restarted.  Decoders check every length against what is left of
 *	the packet and against the limits above, domains and selectors against the
 *	keystore's rules, and that nothing is left over; anything else is malformed.
 */
#ifndef SIGNET_SIGNERPROTO_H
#define SIGNET_SIGNERPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "keys/keysign.h"
#include "keys/keystore.h"

#define SIGNER_MAGIC		0x53474e31u	/* "SGN1" */
#define SIGNER_PACKET_MAX	65536
#define SIGNER_HEADER_LEN	9
#define SIGNER_ERROR_MAX	640
#define SIGNER_KEYS_PER_PACKET	150	/* 150 * 324 bytes at most: under the packet size */

enum signer_type {
	SIGNER_LIST = 1,
	SIGNER_RELOAD = 2,
	SIGNER_SIGN = 3,
	SIGNER_RELEASE = 4,
	SIGNER_KEYS = 0x81,
	SIGNER_SIGNATURE = 0x82,
	SIGNER_OK = 0x83,
	SIGNER_ERROR = 0x84,
};

/* One packet being written: put_* calls after an overflow do nothing, and
 * signer_packet_ok() says whether everything fitted. */
struct signer_packet {
	unsigned char data[SIGNER_PACKET_MAX];
	size_t	len;
	int	overflow;
};

void	signer_packet_start(struct signer_packet *p, uint32_t id, enum signer_type type);
void	signer_put_u8(struct signer_packet *p, unsigned v);
void	signer_put_u16(struct signer_packet *p, unsigned v);
void	signer_put_u32(struct signer_packet *p, uint32_t v);
void	signer_put_bytes(struct signer_packet *p, const void *data, size_t len);
/* u8 length + string (at most 255 bytes). */
void	signer_put_name(struct signer_packet *p, const char *s);
int	signer_packet_ok(const struct signer_packet *p);

/* One packet being read: get_* after a shortfall return zeroes and set bad. */
struct signer_reader {
	const unsigned char *data;
	size_t	len, off;
	int	bad;
};

/* Reads the header; 0 if the packet is too short or its magic is wrong. */
int	signer_read_header(struct signer_reader *r, const void *data, size_t len, uint32_t *id,
	    unsigned *type);
unsigned signer_get_u8(struct signer_reader *r);
unsigned signer_get_u16(struct signer_reader *r);
uint32_t signer_get_u32(struct signer_reader *r);
/* Copies len bytes out; 0 (and bad) if there are not that many. */
int	signer_get_bytes(struct signer_reader *r, void *out, size_t len);
/* u8 length + name into out[size] (NUL-terminated); 0 if too long for out or short. */
int	signer_get_name(struct signer_reader *r, char *out, size_t size);
/* 1 when every byte was read and nothing was short. */
int	signer_read_done(const struct signer_reader *r);

/* A SIGN request's body, decoded and checked (domain lower-case and valid, selector
 * valid, algorithm known). */
struct signer_sign_request {
	uint32_t epoch, generation;
	enum key_algorithm algorithm;
	char	domain[KEYSTORE_DOMAIN_MAX + 1];
	char	selector[KEYSTORE_SELECTOR_MAX + 1];
	unsigned char digest[KEYSIGN_DIGEST_LEN];
};

void	signer_put_sign(struct signer_packet *p, const struct signer_sign_request *req);
/* 0 with why filled when the body is malformed. */
int	signer_get_sign(struct signer_reader *r, struct signer_sign_request *req, char *why,
	    size_t whylen);

/* One entry of a KEYS reply: writes/reads the public facts of a key (no key material). */
void	signer_put_key(struct signer_packet *p, const struct keystore_key *key);
int	signer_get_key(struct signer_reader *r, struct keystore_key *key, char *why,
	    size_t whylen);

/* An ERROR reply's text, made printable and cut to SIGNER_ERROR_MAX. */
void	signer_put_error(struct signer_packet *p, const char *text);
int	signer_get_error(struct signer_reader *r, char *out, size_t size);

#endif
