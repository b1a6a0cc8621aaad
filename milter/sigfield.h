/*
 * NAME
 *	sigfield.h - what the signature fields Signet writes share: the h= selection, the
 *	header hash, folding, and the signing of a digest
 * SYNOPSIS
 *	#include "milter/sigfield.h"
 *
 *	struct buffer value = {0};
 *	struct sigfield_fold f;
 *	sigfield_fold_start(&f, &value, "DKIM-Signature");
 *	sigfield_piece(&f, " d=", domain, ";") ... sigfield_b64(&f, sig);
 * DESCRIPTION
 *	A DKIM-Signature (sign.c) and the ARC-Message-Signature and ARC-Seal (arcseal.c)
 *	are tag lists signed the same way (RFC 6376 sections 3.5 and 3.7, RFC 8617 section
 *	4.1): the fields named in h= are hashed, then the signature's own field with an
 *	empty b=; the SHA-256 digest of that is signed by whoever holds the key.
 *
 *	Values are folded at about 78 columns with LF + TAB (the MTA turns LF into CRLF):
 *	sigfield_append() and sigfield_piece() fold before an unbreakable piece (which
 *	begins with its blank), sigfield_b64() anywhere inside a base64 value (white space
 *	inside b= is ignored by verifiers).
 *
 *	sigfield_collect_names() lists each configured name once per occurrence in the
 *	message plus once more for an oversigned name (RFC 6376 section 5.4.2: the n-th
 *	listing selects the n-th occurrence from the bottom, a listing with none left
 *	hashes nothing), leaving out names skip() refuses.  sigfield_hash_fields() appends
 *	the fields so selected, canonicalized, to the data to hash.
 *
 *	sigfield_sign() hashes the data with SHA-256 and has the digest signed: by fn (the
 *	signer process, in the daemon) or, when fn is NULL, here with the key's EVP_PKEY
 *	(keysign.c); it returns the signature in base64, or NULL with err filled.
 */
#ifndef SIGNET_SIGFIELD_H
#define SIGNET_SIGFIELD_H

#include <stddef.h>
#include <time.h>

#include "conf/conf.h"
#include "keys/keystore.h"
#include "lib/buffer.h"
#include "milter/msgheaders.h"

/* Signs a SHA-256 digest with key (see keys/keysign.h for the arguments). */
typedef int sign_digest_fn(void *context, const struct keystore_key *key,
	    const unsigned char digest[32], unsigned char sig[512], size_t *sig_len,
	    char *err, size_t errlen);

struct sigfield_fold {
	struct buffer *out;
	size_t	column;
};

/* Every function returning int returns 0 when memory ran out (or a piece is too long). */
void	sigfield_fold_start(struct sigfield_fold *f, struct buffer *out, const char *name);
int	sigfield_append(struct sigfield_fold *f, const char *piece, size_t len);
int	sigfield_piece(struct sigfield_fold *f, const char *prefix, const char *value,
	    const char *suffix);
/* " h=a:b:c;", the names in lower case, folding before a colon. */
int	sigfield_names(struct sigfield_fold *f, const char *const *names, size_t count);
int	sigfield_b64(struct sigfield_fold *f, const char *b64);
/* The tags a DKIM-Signature and an ARC-Message-Signature share, written after the
 * caller's first tag (v=1, or i=N) up to and including an empty "b=": a, c, d, s, t,
 * h, bh (body_hash is 32 bytes, CANON_HASH_LEN). */
int	sigfield_message_tags(struct sigfield_fold *f, const struct keystore_key *key,
	    const char *canon, time_t timestamp, const char *const *names, size_t count,
	    const unsigned char *body_hash);

int	sigfield_collect_names(const struct msgheaders *h, const struct name_list *sign,
	    const struct name_list *oversign, int (*skip)(const char *name),
	    const char ***names, size_t *count);
int	sigfield_hash_fields(struct buffer *data, const struct msgheaders *h,
	    enum canon_kind canon, const char *const *names, size_t count);

/* The caller frees the results. */
char   *sigfield_base64(const unsigned char *data, size_t len);
char   *sigfield_sign(sign_digest_fn *fn, void *context, const struct keystore_key *key,
	    const struct buffer *data, char *err, size_t errlen);

#endif
