/*
 * NAME
 *	archash.c - the header hash of an ARC-Seal (RFC 8617 section 5.1.1)
 * DESCRIPTION
 *	Each field goes through dkimhdr_hash_field(), relaxed, as a DKIM signature's
 *	selected fields and own field do: the rules of RFC 6376 section 3.4.2 and 3.7 are
 *	written once.
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
