/*
 * NAME
 *	archash.c - the header hash of an ARC-Seal (RFC 8617 section 5.1.1)
 * DESCRIPTION
 *	Each field goes through dkimhdr_hash_field(), relaxed, as a DKIM signature's
 *	selected fields and own field do: the rules of RFC 6376 section 3.4.2 and 3.7 are
 *	written once.  For a whole chain, the running hash of sets 1..k-1 and the AAR and
 *	AMS of set k is copied (EVP_MD_CTX_copy_ex) to end with seal k, and goes on.
 * SEE ALSO
 *	archash.h, dkimhdr.c, RFC 8617 section 4.1.3 and 5.1.1
 */
#include <openssl/evp.h>

#include "lib/buffer.h"
#include "milter/archash.h"
#include "milter/dkimhdr.h"

int	archash_seal(const char *const *names, const char *const *values, size_t count,
    const size_t drop[2], unsigned char digest[ARCHASH_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	struct buffer line = {0};
	unsigned int len = 0;
	int	ok = md != NULL && count > 0 && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;

	for (size_t i = 0; ok && i < count; i++)
		ok = dkimhdr_hash_field(md, &line, CANON_RELAXED, names[i], values[i],
		    i + 1 == count ? drop : NULL);
	ok = ok && EVP_DigestFinal_ex(md, digest, &len) == 1 && len == ARCHASH_LEN;
	EVP_MD_CTX_free(md);
	buffer_free(&line);
	return ok;
}

/* The copy of md with the seal added without b= and CRLF, finished into digest. */
static int finish_seal(const EVP_MD_CTX *md, struct buffer *line, const char *name,
    const char *value, const size_t drop[2], unsigned char digest[ARCHASH_LEN])
{
	EVP_MD_CTX *copy = EVP_MD_CTX_new();
	unsigned int len = 0;
	int	ok = copy != NULL && EVP_MD_CTX_copy_ex(copy, md) == 1 &&
	    dkimhdr_hash_field(copy, line, CANON_RELAXED, name, value, drop) &&
	    EVP_DigestFinal_ex(copy, digest, &len) == 1 && len == ARCHASH_LEN;

	EVP_MD_CTX_free(copy);
	return ok;
}

int	archash_chain(const char *const *names, const char *const *values, size_t sets,
    const size_t (*drops)[2], unsigned char (*digests)[ARCHASH_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	struct buffer line = {0};
	int	ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;

	for (size_t k = 0; ok && k < sets; k++) {
		const char *const *n = names + 3 * k, *const *v = values + 3 * k;

		ok = dkimhdr_hash_field(md, &line, CANON_RELAXED, n[0], v[0], NULL) &&
		    dkimhdr_hash_field(md, &line, CANON_RELAXED, n[1], v[1], NULL) &&
		    finish_seal(md, &line, n[2], v[2], drops[k], digests[k]) &&
		    dkimhdr_hash_field(md, &line, CANON_RELAXED, n[2], v[2], NULL);
	}
	EVP_MD_CTX_free(md);
	buffer_free(&line);
	return ok;
}
