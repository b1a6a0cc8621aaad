/*
 * NAME
 *	dkimhdr.h - a message's header fields as DKIM selects them, and the header hash
 * SYNOPSIS
 *	#include "milter/dkimhdr.h"
 *
 *	struct dkimhdr h;
 *	dkimhdr_init(&h, DKIMHDR_MAX_BYTES);
 *	dkimhdr_add(&h, name, value);		... for each field, in order
 *	dkimhdr_seal(&h);			... at the end of the header
 *	dkimhdr_hash(&h, &sig, field, digest);	... for each signature
 *	dkimhdr_free(&h);
 * DESCRIPTION
 *	The verifier needs the header fields until the end of the header: a signature's h=
 *	may name fields on either side of it.  They are kept as the MTA passed them (name,
 *	and value after the colon), in one growing buffer, up to max bytes counting a
 *	field's bookkeeping; past that dkimhdr_add() says DKIMHDR_FULL and keeps nothing
 *	more, unless the caller says the field must be kept (a signature's own field, which
 *	the caller bounds) -- the header is then full all the same.
 *
 *	dkimhdr_seal() ends the header and indexes the fields by name (ASCII case and
 *	blanks before the colon aside) so that a selection costs a binary search, whatever
 *	a stranger's h= lists or the number of fields.  dkimhdr_hash() is RFC 6376 section
 *	3.7: the fields h= names, each name taking the last field of that name not yet
 *	taken (bottom-up); a name listed more times than there are such fields contributes
 *	nothing; then the signature's own field (index field) with its b= value removed,
 *	without the final CRLF; all canonicalized as the signature's c= says, hashed with
 *	SHA-256.
 *
 *	Names and values must not hold a NUL byte (a milter hands over C strings).
 */
#ifndef SIGNET_DKIMHDR_H
#define SIGNET_DKIMHDR_H

#include <stddef.h>

#include <openssl/evp.h>

#include "lib/buffer.h"
#include "milter/dkimsig.h"

#define DKIMHDR_MAX_BYTES	(1024 * 1024)
#define DKIMHDR_HASH_LEN	32

struct dkimhdr_field;
struct dkimhdr_key;

struct dkimhdr {
	struct buffer text;		/* name NUL value NUL, field after field */
	struct dkimhdr_field *fields;
	size_t	count;
	size_t	cap;
	struct dkimhdr_key *index;	/* after dkimhdr_seal(): the fields sorted by name */
	size_t	max_bytes;
	size_t	bytes;			/* counted against max_bytes */
	int	full;
};

enum dkimhdr_status {
	DKIMHDR_OK,
	DKIMHDR_FULL,		/* over max_bytes: this field and the rest are not kept */
	DKIMHDR_NOMEM,
};

void	dkimhdr_init(struct dkimhdr *h, size_t max_bytes);
enum dkimhdr_status dkimhdr_add(struct dkimhdr *h, const char *name, const char *value,
	    int must_keep);
/* 0 when memory runs out. */
int	dkimhdr_seal(struct dkimhdr *h);
void	dkimhdr_free(struct dkimhdr *h);

const char *dkimhdr_name(const struct dkimhdr *h, size_t field);
const char *dkimhdr_value(const struct dkimhdr *h, size_t field);

/* The header hash of sig, whose field is number field; 0 when memory runs out. */
int	dkimhdr_hash(const struct dkimhdr *h, const struct dkimsig *sig, size_t field,
	    unsigned char digest[DKIMHDR_HASH_LEN]);

/* One field into md, canonicalized as kind says: with its CRLF; or, for a signature's
 * own field, without bytes drop[0] to drop[1] of value (b='s value, dkimsig's b_from and
 * b_to) and without the final CRLF (RFC 6376 section 3.7).  line is the caller's scratch
 * buffer.  0 on failure.  The ARC-Seal hash (archash.c) is made of these too. */
int	dkimhdr_hash_field(EVP_MD_CTX *md, struct buffer *line, enum canon_kind kind,
	    const char *name, const char *value, const size_t *drop);

#endif
