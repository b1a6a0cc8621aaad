/*
 * NAME
 *	sign.c - build and sign one DKIM-Signature header field
 * DESCRIPTION
 *	Signing is done with OpenSSL directly rather than through libopendkim's signing
 *	handles, because libopendkim takes the private key as PEM text and parses it again
 *	for every message; here the EVP_PKEY parsed once at keystore load is reused, which
 *	costs less than the signature itself (see DEPENDENCIES.md, OpenSSL).
 *
 *	The h= list names every configured field once per occurrence in the message, plus
 *	once more for an oversigned field.  Per RFC 6376 section 5.4.2, the n-th listing of a
 *	name selects the n-th occurrence counted from the bottom; a listing with no occurrence
 *	left contributes nothing to the hash, which is what makes oversigning work.
 *
 *	The value is folded at about 78 columns with LF + TAB; folds inside h= come before a
 *	colon and inside b= anywhere (both allowed by the tag grammar).  The signed form of
 *	the DKIM-Signature field is the exact text later inserted, with an empty b=, so the
 *	result is right for simple as well as relaxed header canonicalization.
 * SEE ALSO
 *	RFC 6376 sections 3.5, 3.7 and 5.4; RFC 8463 section 3
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>

#include "milter/sign.h"
#include "lib/alloc.h"
#include "lib/grow.h"
#include "keys/keysign.h"

#define FOLD_COLUMN 78

struct folder {
	struct buffer *out;
	size_t	column;
};

/* Appends a piece, folding before it when it would pass the fold column. */
static int fold_append(struct folder *f, const char *piece, size_t len)
{
	if (f->column > 1 && f->column + len > FOLD_COLUMN) {
		if (!buffer_append(f->out, "\n\t", 2))
			return 0;
		f->column = 8;
	}
	f->column += len;
	return buffer_append(f->out, piece, len);
}

/* Appends prefix + value + suffix as one unbreakable piece. */
static int fold_piece(struct folder *f, const char *prefix, const char *value, const char *suffix)
{
	char	piece[512];
	int	n = snprintf(piece, sizeof(piece), "%s%s%s", prefix, value, suffix);

	if (n < 0 || (size_t)n >= sizeof(piece))
		return 0;
	return fold_append(f, piece, (size_t)n);
}

/* The names to list in h=, in order: see the DESCRIPTION above. */
static int collect_signed_names(const struct sign_request *req, const char ***names_out,
    size_t *count_out)
{
	const struct name_list *lists[2] = {req->sign_headers, req->oversign_headers};
	const char **names = NULL;
	size_t	count = 0, cap = 0;

	for (int l = 0; l < 2; l++) {
		for (size_t i = 0; i < lists[l]->count; i++) {
			const char *name = lists[l]->names[i];

			if (l == 1 && name_list_contains(req->sign_headers, name))
				continue;
			size_t	times = msgheaders_count_named(req->headers, name) +
			    (name_list_contains(req->oversign_headers, name) ? 1 : 0);
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

static int hash_signed_fields(struct buffer *data, const struct sign_request *req,
    const char **names, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		size_t	earlier = 0;

		for (size_t j = 0; j < i; j++)
			if (strcasecmp(names[j], names[i]) == 0)
				earlier++;
		const struct msgheader *f = select_field(req->headers, names[i], earlier);
		if (f && !header_canon(data, req->canon_header, f->name, f->value, 1))
			return 0;
	}
	return 1;
}

static char *base64(const unsigned char *data, size_t len)
{
	char   *out = mem_malloc(4 * ((len + 2) / 3) + 1);

	if (out != NULL)
		EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

/* Hashes the header data and has the digest signed, in this process (keysign.c) or by
 * whoever the request names (the signer process); returns the base64 signature. */
static char *sign_data(const struct sign_request *req, const struct keystore_key *key,
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
	if (req->sign_digest != NULL ?
	    !req->sign_digest(req->sign_context, key, digest, sig, &sig_len, err, errlen) :
	    !keysign_digest(key, digest, sig, &sig_len, err, errlen))
		return NULL;
	if ((result = base64(sig, sig_len)) == NULL)
		snprintf(err, errlen, "signing with %s/%s failed (out of memory)", key->domain,
		    key->selector);
	return result;
}

/* Writes the tags up to and including an empty "b=". */
static int write_tags(struct folder *f, const struct sign_request *req,
    const struct keystore_key *key, const char **names, size_t count)
{
	char	number[32], *bh = base64(req->body_hash, CANON_HASH_LEN);
	int	ok = bh != NULL;

	snprintf(number, sizeof(number), "%lld", (long long)req->timestamp);
	char	canon[32];

	snprintf(canon, sizeof(canon), "%s/%s", conf_canon_name(req->canon_header),
	    conf_canon_name(req->canon_body));
	ok = ok && fold_append(f, " v=1;", 5) &&
	    fold_piece(f, " a=", keystore_dkim_algorithm(key->algorithm), ";") &&
	    fold_piece(f, " c=", canon, ";") &&
	    fold_piece(f, " d=", key->domain, ";") &&
	    fold_piece(f, " s=", key->selector, ";") &&
	    fold_piece(f, " t=", number, ";");
	for (size_t i = 0; ok && i < count; i++) {
		char	lower[256];
		size_t	len = strlen(names[i]);

		if (len >= sizeof(lower))
			len = sizeof(lower) - 1;
		for (size_t j = 0; j < len; j++)
			lower[j] = (char)(names[i][j] >= 'A' && names[i][j] <= 'Z' ?
			    names[i][j] + 32 : names[i][j]);
		lower[len] = '\0';
		ok = fold_piece(f, i == 0 ? " h=" : ":", lower, i + 1 == count ? ";" : "");
	}
	ok = ok && fold_piece(f, " bh=", bh, ";") && fold_append(f, " b=", 3);
	free(bh);
	return ok;
}

char   *sign_message(const struct sign_request *req, const struct keystore_key *key,
    char *err, size_t errlen)
{
	struct buffer value = {0}, data = {0};
	struct folder f = {&value, sizeof("DKIM-Signature:") - 1};
	const char **names = NULL;
	size_t	count = 0;
	char   *sig = NULL, *result = NULL;

	if (!collect_signed_names(req, &names, &count) || !write_tags(&f, req, key, names, count) ||
	    !hash_signed_fields(&data, req, names, count) ||
	    !header_canon(&data, req->canon_header, "DKIM-Signature", value.data, 0)) {
		snprintf(err, errlen, "out of memory building the signature for %s/%s",
		    key->domain, key->selector);
		goto done;
	}
	if ((sig = sign_data(req, key, &data, err, errlen)) == NULL)
		goto done;
	/* b= is folded anywhere: whitespace inside it is ignored by verifiers. */
	int	ok = 1;
	for (size_t off = 0, len = strlen(sig); ok && off < len;) {
		size_t	room = f.column < FOLD_COLUMN ? FOLD_COLUMN - f.column : 0;
		size_t	take = len - off < room ? len - off : room;

		if (take == 0) {
			ok = buffer_append(&value, "\n\t ", 3);
			f.column = 9;
			continue;
		}
		ok = buffer_append(&value, sig + off, take);
		f.column += take;
		off += take;
	}
	if (!ok) {
		snprintf(err, errlen, "out of memory building the signature for %s/%s",
		    key->domain, key->selector);
		goto done;
	}
	result = value.data;
	value.data = NULL;
done:
	free(names);
	free(sig);
	buffer_free(&data);
	buffer_free(&value);
	return result;
}
