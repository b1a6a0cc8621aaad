/*
 * NAME
 *	sign.c - build and sign one DKIM-Signature header field
 * DESCRIPTION
 *	The pieces shared with the ARC fields (h= selection, hashing, folding, signing the
 *	digest with OpenSSL or the signer process) are in sigfield.c.
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
 *	sigfield.c; RFC 6376 sections 3.5, 3.7 and 5.4; RFC 8463 section 3
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milter/sign.h"
#include "milter/sigfield.h"

/* Writes the tags up to and including an empty "b=". */
static int write_tags(struct sigfield_fold *f, const struct sign_request *req,
    const struct keystore_key *key, const char **names, size_t count)
{
	char	canon[32];

	snprintf(canon, sizeof(canon), "%s/%s", conf_canon_name(req->canon_header),
	    conf_canon_name(req->canon_body));
	return sigfield_append(f, " v=1;", 5) && sigfield_message_tags(f, key, canon,
	    req->timestamp, names, count, req->body_hash);
}

char   *sign_message(const struct sign_request *req, const struct keystore_key *key,
    char *err, size_t errlen)
{
	struct buffer value = {0}, data = {0};
	struct sigfield_fold f;
	const char **names = NULL;
	size_t	count = 0;
	char   *sig = NULL, *result = NULL;

	sigfield_fold_start(&f, &value, "DKIM-Signature");
	if (!sigfield_collect_names(req->headers, req->sign_headers, req->oversign_headers, NULL,
	    &names, &count) || !write_tags(&f, req, key, names, count) ||
	    !sigfield_hash_fields(&data, req->headers, req->canon_header, names, count) ||
	    !header_canon(&data, req->canon_header, "DKIM-Signature", value.data, 0)) {
		snprintf(err, errlen, "out of memory building the signature for %s/%s",
		    key->domain, key->selector);
		goto done;
	}
	if ((sig = sigfield_sign(req->sign_digest, req->sign_context, key, &data, err,
	    errlen)) == NULL)
		goto done;
	/* b= is folded anywhere: whitespace inside it is ignored by verifiers. */
	if (!sigfield_b64(&f, sig)) {
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
