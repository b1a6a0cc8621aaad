/*
 * NAME
 *	arcseal.c - make the ARC-Authentication-Results, ARC-Message-Signature and ARC-Seal
 *	of one new ARC Set
 * DESCRIPTION
 *	The three fields are made in the order each needs the one before: the AAR (the
 *	AMS does not sign it, but the AS does), the AMS (a DKIM signature of the message
 *	without v=, with i=), then the AS over the ARC fields.  As in sign.c, the signed
 *	form of the AMS and of the AS is the exact text later inserted with an empty b=,
 *	and b= is the last tag: the value before b= does not change when the signature is
 *	added, whatever the folding.
 *
 *	Tags are written in the order most seen on the wire (Gmail's, and dkimpy's without
 *	"standardize"): AMS i, a, c, d, s, t, h, bh, b; AS i, a, t, cv, d, s, b.  Order has
 *	no meaning (RFC 6376 section 3.2).  ARC-Seal has no h= (RFC 8617 section 4.1.3).
 *
 *	The chain is not validated here: the caller's validator did that.  Only the cv=
 *	tag of each ARC-Seal of the chain is read, with the one tag-list parser
 *	(lib/taglist.c), to refuse to continue a chain an earlier hop marked failed.
 * SEE ALSO
 *	arcseal.h, sigfield.c; RFC 8617 sections 4.1, 4.2.1, 5.1
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "milter/arcseal.h"
#include "milter/canon.h"
#include "lib/grow.h"
#include "lib/taglist.h"

static const char *const set_names[3] = {
	"ARC-Authentication-Results", "ARC-Message-Signature", "ARC-Seal",
};

const char *arcseal_cv_name(enum arcseal_cv cv)
{
	return cv == ARCSEAL_CV_PASS ? "pass" : cv == ARCSEAL_CV_FAIL ? "fail" : "none";
}

void	arcseal_set_free(struct arcseal_set *set)
{
	free(set->seal);
	free(set->signature);
	free(set->results);
	memset(set, 0, sizeof(*set));
}

/* 1 when this ARC-Seal value says cv=fail. */
static int seal_says_fail(const char *value)
{
	struct tag tags[TAGLIST_MAX];
	size_t	count = 0;
	char	err[128];

	/* A list that does not parse is judged by the tags before the error. */
	(void)taglist_parse(value, strlen(value), TAGLIST_SKIP_EMPTY, tags, TAGLIST_MAX,
	    &count, err, sizeof(err));
	const struct tag *cv = taglist_find(tags, count, "cv");
	return cv != NULL && cv->value.len == 4 && strncasecmp(cv->value.p, "fail", 4) == 0;
}

static enum arcseal_status check_request(const struct arcseal_request *req, char *err,
    size_t errlen)
{
	if (req->instances >= ARCSEAL_MAX_INSTANCE) {
		snprintf(err, errlen, "the message has %zu ARC sets; instance %zu would pass the "
		    "limit of %d (RFC 8617 section 4.2.1)", req->instances, req->instances + 1,
		    ARCSEAL_MAX_INSTANCE);
		return ARCSEAL_TOO_MANY;
	}
	for (size_t i = 0; i < req->chain_count; i++) {
		if (strcasecmp(req->chain[i].name, "ARC-Seal") == 0 &&
		    seal_says_fail(req->chain[i].value)) {
			snprintf(err, errlen, "an ARC-Seal of the message says cv=fail: a broken "
			    "chain is not continued (RFC 8617 section 5.1.3)");
			return ARCSEAL_CHAIN_ENDED;
		}
	}
	if (req->authserv_id == NULL || req->authserv_id[0] == '\0') {
		snprintf(err, errlen, "no authserv-id for the ARC-Authentication-Results");
		return ARCSEAL_BAD_REQUEST;
	}
	if ((req->cv == ARCSEAL_CV_NONE) != (req->instances == 0)) {
		snprintf(err, errlen, "cv=%s does not fit a chain of %zu ARC sets (none is for "
		    "no chain only: RFC 8617 section 4.1.3)", arcseal_cv_name(req->cv),
		    req->instances);
		return ARCSEAL_BAD_REQUEST;
	}
	if (req->cv == ARCSEAL_CV_FAIL)
		return ARCSEAL_OK;		/* the chain is not signed: any shape */
	if (req->chain_count != 3 * req->instances) {
		snprintf(err, errlen, "a chain of %zu ARC sets needs %zu fields, not %zu",
		    req->instances, 3 * req->instances, req->chain_count);
		return ARCSEAL_BAD_REQUEST;
	}
	for (size_t i = 0; i < req->chain_count; i++) {
		if (strcasecmp(req->chain[i].name, set_names[i % 3]) != 0) {
			snprintf(err, errlen, "chain field %zu is %s, where %s was expected", i + 1,
			    req->chain[i].name, set_names[i % 3]);
			return ARCSEAL_BAD_REQUEST;
		}
	}
	return ARCSEAL_OK;
}

static void no_memory(const struct keystore_key *key, char *err, size_t errlen)
{
	snprintf(err, errlen, "out of memory sealing with %s/%s", key->domain, key->selector);
}

static int skip_arc_field(const char *name)
{
	return strncasecmp(name, "ARC-", 4) == 0 || strcasecmp(name, "Authentication-Results") == 0;
}

/* The AMS's h=: the configured names (ARC and A-R fields left out), then each
 * DKIM-Signature field of the message unless the configuration names them already. */
static int ams_names(const struct arcseal_request *req, const char ***names, size_t *count)
{
	static const char dkim[] = "DKIM-Signature";
	size_t	cap, times = msgheaders_count_named(req->headers, dkim);

	if (!sigfield_collect_names(req->headers, req->sign_headers, req->oversign_headers,
	    skip_arc_field, names, count))
		return 0;
	if (times == 0 || name_list_contains(req->sign_headers, dkim) ||
	    name_list_contains(req->oversign_headers, dkim))
		return 1;
	cap = *count;
	const char **grown = array_grow(*names, &cap, *count + times, sizeof(*grown));
	if (grown == NULL) {
		free(*names);
		*names = NULL;
		return 0;
	}
	*names = grown;
	while (times--)
		(*names)[(*count)++] = dkim;
	return 1;
}

static char *make_results(const struct arcseal_request *req, size_t instance)
{
	struct buffer b = {0};
	const char *results = req->results != NULL && req->results[0] != '\0' ?
	    req->results : "none";

	if (!buffer_printf(&b, " i=%zu; %s; %s", instance, req->authserv_id, results)) {
		buffer_free(&b);
		return NULL;
	}
	return b.data;
}

/* Writes the AMS up to and including an empty "b=". */
static int write_ams(struct sigfield_fold *f, const struct arcseal_request *req,
    const struct keystore_key *key, const char *instance, const char **names, size_t count)
{
	return sigfield_piece(f, " i=", instance, ";") && sigfield_message_tags(f, key,
	    "relaxed/relaxed", req->timestamp, names, count, req->body_hash);
}

/* Writes the AS up to and including an empty "b=". */
static int write_seal(struct sigfield_fold *f, const struct arcseal_request *req,
    const struct keystore_key *key, const char *instance)
{
	char	number[32];

	snprintf(number, sizeof(number), "%lld", (long long)req->timestamp);
	return sigfield_piece(f, " i=", instance, ";") &&
	    sigfield_piece(f, " a=", keystore_dkim_algorithm(key->algorithm), ";") &&
	    sigfield_piece(f, " t=", number, ";") &&
	    sigfield_piece(f, " cv=", arcseal_cv_name(req->cv), ";") &&
	    sigfield_piece(f, " d=", key->domain, ";") &&
	    sigfield_piece(f, " s=", key->selector, ";") && sigfield_append(f, " b=", 3);
}

/* Hashes data, has it signed and appends the signature to the value f writes. */
static int sign_into(const struct arcseal_request *req, const struct keystore_key *key,
    const struct buffer *data, struct sigfield_fold *f, char *err, size_t errlen)
{
	char   *sig = sigfield_sign(req->sign_digest, req->sign_context, key, data, err, errlen);
	int	ok = sig != NULL && sigfield_b64(f, sig);

	if (sig != NULL && !ok)
		no_memory(key, err, errlen);
	free(sig);
	return ok;
}

static char *make_signature(const struct arcseal_request *req, const struct keystore_key *key,
    const char *instance, char *err, size_t errlen)
{
	struct buffer value = {0}, data = {0};
	struct sigfield_fold f;
	const char **names = NULL;
	size_t	count = 0;
	int	ok;

	sigfield_fold_start(&f, &value, "ARC-Message-Signature");
	if (!ams_names(req, &names, &count)) {
		no_memory(key, err, errlen);
		return NULL;
	}
	if (count == 0) {
		/* h= is required (RFC 8617 section 4.1.2): nothing to sign, no AMS. */
		snprintf(err, errlen, "the message has none of the header fields to sign");
		free(names);
		return NULL;
	}
	ok = write_ams(&f, req, key, instance, names, count) &&
	    sigfield_hash_fields(&data, req->headers, CANON_RELAXED, names, count) &&
	    header_canon(&data, CANON_RELAXED, "ARC-Message-Signature", value.data, 0);
	if (!ok)
		no_memory(key, err, errlen);
	ok = ok && sign_into(req, key, &data, &f, err, errlen);
	free(names);
	buffer_free(&data);
	if (!ok)
		buffer_free(&value);
	return value.data;
}

static char *make_seal(const struct arcseal_request *req, const struct keystore_key *key,
    const char *instance, const struct arcseal_set *set, char *err, size_t errlen)
{
	struct buffer value = {0}, data = {0};
	struct sigfield_fold f;
	int	ok = 1;

	/* With cv=fail the new Set is signed as if it were the only one (section 5.1.2). */
	for (size_t i = 0; ok && req->cv != ARCSEAL_CV_FAIL && i < req->chain_count; i++)
		ok = header_canon(&data, CANON_RELAXED, req->chain[i].name, req->chain[i].value,
		    1);
	sigfield_fold_start(&f, &value, "ARC-Seal");
	ok = ok && header_canon(&data, CANON_RELAXED, set_names[0], set->results, 1) &&
	    header_canon(&data, CANON_RELAXED, set_names[1], set->signature, 1) &&
	    write_seal(&f, req, key, instance) &&
	    header_canon(&data, CANON_RELAXED, set_names[2], value.data, 0);
	if (!ok)
		no_memory(key, err, errlen);
	ok = ok && sign_into(req, key, &data, &f, err, errlen);
	buffer_free(&data);
	if (!ok)
		buffer_free(&value);
	return value.data;
}

enum arcseal_status arcseal_make(const struct arcseal_request *req,
    const struct keystore_key *key, struct arcseal_set *out, char *err, size_t errlen)
{
	enum arcseal_status status = check_request(req, err, errlen);
	char	instance[32];

	memset(out, 0, sizeof(*out));
	if (status != ARCSEAL_OK)
		return status;
	snprintf(instance, sizeof(instance), "%zu", req->instances + 1);
	if ((out->results = make_results(req, req->instances + 1)) == NULL) {
		no_memory(key, err, errlen);
		return ARCSEAL_ERROR;
	}
	if ((out->signature = make_signature(req, key, instance, err, errlen)) == NULL ||
	    (out->seal = make_seal(req, key, instance, out, err, errlen)) == NULL) {
		arcseal_set_free(out);
		return ARCSEAL_ERROR;
	}
	return ARCSEAL_OK;
}
