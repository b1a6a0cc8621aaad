/*
 * NAME
 *	sigfield.c - h= selection, header hash, folding and digest signing for the
 *	signature fields Signet writes (DKIM-Signature, ARC-Message-Signature, ARC-Seal)
 * DESCRIPTION
 *	Signing is done with OpenSSL directly rather than through libopendkim's signing
 *	handles, because libopendkim takes the private key as PEM text and parses it again
 *	for every message; here the EVP_PKEY parsed once at keystore load is reused, which
 *	costs less than the signature itself (see DEPENDENCIES.md, OpenSSL).
 * SEE ALSO
 *	sigfield.h; RFC 6376 sections 3.5, 3.7 and 5.4; RFC 8463 section 3
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>

#include "milter/sigfield.h"
#include "milter/canon.h"
#include "lib/alloc.h"
#include "lib/grow.h"
#include "keys/keysign.h"

#define FOLD_COLUMN 78

void	sigfield_fold_start(struct sigfield_fold *f, struct buffer *out, const char *name)
{
	f->out = out;
	f->column = strlen(name) + 1;
}

int	sigfield_append(struct sigfield_fold *f, const char *piece, size_t len)
{
	if (f->column > 1 && f->column + len > FOLD_COLUMN) {
		if (!buffer_append(f->out, "\n\t", 2))
			return 0;
		f->column = 8;
	}
	f->column += len;
	return buffer_append(f->out, piece, len);
}

int	sigfield_piece(struct sigfield_fold *f, const char *prefix, const char *value,
    const char *suffix)
{
	char	piece[512];
	int	n = snprintf(piece, sizeof(piece), "%s%s%s", prefix, value, suffix);

	if (n < 0 || (size_t)n >= sizeof(piece))
		return 0;
	return sigfield_append(f, piece, (size_t)n);
}

int	sigfield_names(struct sigfield_fold *f, const char *const *names, size_t count)
{
	int	ok = 1;

	for (size_t i = 0; ok && i < count; i++) {
		char	lower[256];
		size_t	len = strlen(names[i]);

		if (len >= sizeof(lower))
			len = sizeof(lower) - 1;
		for (size_t j = 0; j < len; j++)
			lower[j] = (char)(names[i][j] >= 'A' && names[i][j] <= 'Z' ?
			    names[i][j] + 32 : names[i][j]);
		lower[len] = '\0';
		ok = sigfield_piece(f, i == 0 ? " h=" : ":", lower, i + 1 == count ? ";" : "");
	}
	return ok;
}

int	sigfield_b64(struct sigfield_fold *f, const char *b64)
{
	for (size_t off = 0, len = strlen(b64); off < len;) {
		size_t	room = f->column < FOLD_COLUMN ? FOLD_COLUMN - f->column : 0;
		size_t	take = len - off < room ? len - off : room;

		if (take == 0) {
			if (!buffer_append(f->out, "\n\t ", 3))
				return 0;
			f->column = 9;
			continue;
		}
		if (!buffer_append(f->out, b64 + off, take))
			return 0;
		f->column += take;
		off += take;
	}
	return 1;
}

int	sigfield_message_tags(struct sigfield_fold *f, const struct keystore_key *key,
    const char *canon, time_t timestamp, const char *const *names, size_t count,
    const unsigned char *body_hash)
{
	char	number[32], *bh = sigfield_base64(body_hash, CANON_HASH_LEN);
	int	ok = bh != NULL;

	snprintf(number, sizeof(number), "%lld", (long long)timestamp);
	ok = ok && sigfield_piece(f, " a=", keystore_dkim_algorithm(key->algorithm), ";") &&
	    sigfield_piece(f, " c=", canon, ";") &&
	    sigfield_piece(f, " d=", key->domain, ";") &&
	    sigfield_piece(f, " s=", key->selector, ";") &&
	    sigfield_piece(f, " t=", number, ";") &&
	    sigfield_names(f, names, count) &&
	    sigfield_piece(f, " bh=", bh, ";") && sigfield_append(f, " b=", 3);
	free(bh);
	return ok;
}

int	sigfield_collect_names(const struct msgheaders *h, const struct name_list *sign,
    const struct name_list *oversign, int (*skip)(const char *name), const char ***names_out,
    size_t *count_out)
{
	const struct name_list *lists[2] = {sign, oversign};
	const char **names = NULL;
	size_t	count = 0, cap = 0;

	for (int l = 0; l < 2; l++) {
		for (size_t i = 0; i < lists[l]->count; i++) {
			const char *name = lists[l]->names[i];

			if ((l == 1 && name_list_contains(sign, name)) ||
			    (skip != NULL && skip(name)))
				continue;
			size_t	times = msgheaders_count_named(h, name) +
			    (name_list_contains(oversign, name) ? 1 : 0);
			if (times == 0)
				continue;
			const char **grown = array_grow(names, &cap, count + times,
			    sizeof(*grown));
			if (grown == NULL) {
				free(names);
				return 0;
			}
			names = grown;
			while (times--)
				names[count++] = name;
		}
	}
	*names_out = names;
	*count_out = count;
	return 1;
}

/* The field a listing selects: the (k+1)-th occurrence from the bottom, or NULL. */
static const struct msgheader *select_field(const struct msgheaders *h, const char *name,
    size_t k)
{
	for (size_t i = h->count; i-- > 0;) {
		if (strcasecmp(h->fields[i].name, name) != 0)
			continue;
		if (k == 0)
			return &h->fields[i];
		k--;
	}
	return NULL;
}

int	sigfield_hash_fields(struct buffer *data, const struct msgheaders *h,
    enum canon_kind canon, const char *const *names, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		size_t	earlier = 0;

		for (size_t j = 0; j < i; j++)
			if (strcasecmp(names[j], names[i]) == 0)
				earlier++;
		const struct msgheader *f = select_field(h, names[i], earlier);
		if (f && !header_canon(data, canon, f->name, f->value, 1))
			return 0;
	}
	return 1;
}

char   *sigfield_base64(const unsigned char *data, size_t len)
{
	char   *out = mem_malloc(4 * ((len + 2) / 3) + 1);

	if (out != NULL)
		EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

char   *sigfield_sign(sign_digest_fn *fn, void *context, const struct keystore_key *key,
    const struct buffer *data, char *err, size_t errlen)
{
	unsigned char digest[EVP_MAX_MD_SIZE], sig[KEYSIGN_MAX];
	unsigned int digest_len = 0;
	size_t	sig_len = 0;
	char   *result;

	if (EVP_Digest(data->data, data->len, digest, &digest_len, EVP_sha256(), NULL) != 1 ||
	    digest_len != KEYSIGN_DIGEST_LEN) {
		snprintf(err, errlen, "hashing the header for %s/%s failed (OpenSSL)", key->domain,
		    key->selector);
		return NULL;
	}
	if (fn != NULL ? !fn(context, key, digest, sig, &sig_len, err, errlen) :
	    !keysign_digest(key, digest, sig, &sig_len, err, errlen))
		return NULL;
	if ((result = sigfield_base64(sig, sig_len)) == NULL)
		snprintf(err, errlen, "signing with %s/%s failed (out of memory)", key->domain,
		    key->selector);
	return result;
}
