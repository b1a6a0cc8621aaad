/*
 * NAME
 *	arcflow.c - ARC for one message in the daemon (arcflow.h)
 * DESCRIPTION
 *	Validating, the chain is arcverify.c's.  Sealing needs the ARC fields themselves:
 *	they are kept here too, in a header that holds the ARC fields alone, and read for
 *	their shape with arcset.c (no key is looked up).  Sealing outbound mail needs no
 *	validation: the verdict was ours when the message came in, and stands in our
 *	Authentication-Results.
 *
 *	A chain whose structure failed is sealed too, as RFC 8617 section 5.1 says: cv=fail,
 *	instance one above the highest any of its fields names (step 2), the seal over our
 *	set alone (section 5.1.2).  Nothing is added when a seal already says cv=fail (step
 *	1), when that instance would pass 50, or when no field names an instance.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "keys/keystore.h"
#include "lib/alloc.h"
#include "lib/log.h"
#include "milter/arcflow.h"
#include "milter/arcset.h"
#include "milter/arctrust.h"
#include "milter/canon.h"
#include "milter/dkimhdr.h"
#include "milter/metrics.h"
#include "milter/signerclient.h"

struct arcflow {
	struct runtime *rt;
	char	queue_id[64];
	struct arcverify_message *verify;	/* validating */
	const struct arc_outcome *outcome;	/* after arcflow_validate() */
	struct dkimhdr arc_fields;		/* the ARC fields alone, for a seal */
	struct arcset *arc;			/* ... grouped into sets */
	enum arcset_status shape;
	struct body_canon *body;		/* sealing: relaxed */
	int	has_fields;
	int	failed;
	unsigned sealed_instance;		/* after a seal: its i= and cv= */
	enum arcseal_cv sealed_cv;
};

struct arcflow *arcflow_begin(struct runtime *rt, struct dns_budget *budget,
    const char *queue_id, int validate, int seal)
{
	struct arcflow *arc = mem_calloc(1, sizeof(*arc));

	if (arc == NULL)
		return NULL;
	arc->rt = rt;
	snprintf(arc->queue_id, sizeof(arc->queue_id), "%s", queue_id ? queue_id : "NOQUEUE");
	dkimhdr_init(&arc->arc_fields, DKIMHDR_MAX_BYTES);
	if ((validate && (arc->verify = arcverify_begin(rt->verifier, budget,
	    arc->queue_id)) == NULL) ||
	    (seal && (arc->body = body_canon_new(CANON_RELAXED)) == NULL)) {
		arcflow_free(arc);
		return NULL;
	}
	return arc;
}

void	arcflow_free(struct arcflow *arc)
{
	if (arc == NULL)
		return;
	arcverify_free(arc->verify);
	dkimhdr_free(&arc->arc_fields);
	arcset_free(arc->arc);
	body_canon_free(arc->body);
	free(arc);
}

void	arcflow_header(struct arcflow *arc, const char *name, const char *value)
{
	enum arcset_kind kind = arcset_kind_of(name);

	if (kind != ARCSET_NOT_ARC)
		arc->has_fields = 1;
	if (arc->verify != NULL)
		arcverify_header(arc->verify, name, value);
	if (kind == ARCSET_NOT_ARC || arc->failed || arc->body == NULL)	/* not sealing */
		return;
	if (arc->arc == NULL && (arc->arc = arcset_new()) == NULL) {
		arc->failed = 1;
		return;
	}
	if (arcset_note(arc->arc, kind, arc->arc_fields.count) &&
	    dkimhdr_add(&arc->arc_fields, name, value, 1) == DKIMHDR_NOMEM)
		arc->failed = 1;
}

void	arcflow_end_of_headers(struct arcflow *arc)
{
	if (arc->verify != NULL)
		arcverify_end_of_headers(arc->verify);
	if (arc->arc == NULL || arc->failed)
		return;
	if (!dkimhdr_seal(&arc->arc_fields)) {
		arc->failed = 1;
		return;
	}
	arc->shape = arcset_read(arc->arc, &arc->arc_fields, time(NULL));
}

void	arcflow_body(struct arcflow *arc, const unsigned char *data, size_t len)
{
	if (arc->verify != NULL)
		arcverify_body(arc->verify, data, len);
	if (arc->body != NULL && !body_canon_update(arc->body, data, len))
		arc->failed = 1;
}

int	arcflow_validate(struct arcflow *arc, const struct arc_outcome **outcome)
{
	static const enum metrics_arc_result counted[] = {
		[ARC_NONE] = METRICS_ARC_NONE, [ARC_PASS] = METRICS_ARC_PASS,
		[ARC_FAIL] = METRICS_ARC_FAIL,
	};

	if (arc->verify == NULL || !arcverify_finish(arc->verify, &arc->outcome))
		return 0;
	metrics_arc_chain(counted[arc->outcome->result]);
	*outcome = arc->outcome;
	return 1;
}

void	arcflow_add_result(struct authres *ar, const struct arc_outcome *o,
    const char *client_ip)
{
	char	oldest[16];

	snprintf(oldest, sizeof(oldest), "%u", o->oldest_pass);
	authres_add(ar, "arc", arc_result_name(o->result), o->reason[0] ? o->reason : NULL,
	    "smtp.remote-ip", client_ip, o->result == ARC_PASS ? "header.oldest-pass" : NULL,
	    oldest, NULL);
}

/* The sets as arctrust.c reads them; their count (0 when there are none to read). */
static size_t trust_sets(struct arcflow *arc, struct arctrust_set *sets, char **payloads)
{
	unsigned n = arcverify_sets(arc->verify);

	for (unsigned i = 1; i <= n; i++) {
		const struct arc_set_info *info = arcverify_set(arc->verify, i);

		if (info == NULL || (payloads[i - 1] = mem_malloc(info->payload_len + 1)) == NULL) {
			while (--i > 0)
				free(payloads[i - 1]);
			return 0;
		}
		memcpy(payloads[i - 1], info->payload, info->payload_len);
		payloads[i - 1][info->payload_len] = '\0';
		sets[i - 1] = (struct arctrust_set){i, info->seal_domain, info->seal_selector,
		    payloads[i - 1]};
	}
	return n;
}

unsigned arcflow_vouch(struct arcflow *arc, const char *author_domain, char *why,
    size_t size)
{
	struct arctrust_set sets[ARCSET_MAX_SETS];
	char   *payloads[ARCSET_MAX_SETS];
	size_t	n, older;
	unsigned instance;

	if (size > 0)
		why[0] = '\0';
	if (arc->outcome == NULL || arc->outcome->result != ARC_PASS ||
	    arc->rt->conf->arc_trusted_sealers.count == 0 ||
	    (n = trust_sets(arc, sets, payloads)) == 0)
		return 0;
	/* A sealer vouches for the message it sealed: only a set whose AMS still validates
	 * (instance oldest-pass and newer; all of them when oldest-pass is 0) may vouch.  An
	 * older one's message was changed since by a later hop, which could be anyone: a
	 * valid chain says who sealed, not that the content is still what it saw. */
	older = arc->outcome->oldest_pass > 1 ? arc->outcome->oldest_pass - 1 : 0;
	instance = older < n ? arctrust_vouch(&arc->rt->conf->arc_trusted_sealers, sets + older,
	    n - older, author_domain, why, size) : 0;
	for (size_t i = 0; i < n; i++)
		free(payloads[i]);
	return instance;
}

void	arcflow_report_comment(struct arcflow *arc, char *out, size_t size)
{
	struct arctrust_set sets[ARCSET_MAX_SETS] = {{0, "", "", ""}};
	char   *payloads[ARCSET_MAX_SETS];
	size_t	n = arc->verify != NULL ? trust_sets(arc, sets, payloads) : 0;

	arctrust_report_comment(sets, n, out, size);
	for (size_t i = 0; i < n; i++)
		free(payloads[i]);
}

int	arcflow_has_fields(const struct arcflow *arc)
{
	return arc->has_fields;
}

unsigned arcflow_sealed(const struct arcflow *arc, enum arcseal_cv *cv)
{
	*cv = arc->sealed_cv;
	return arc->sealed_instance;
}

/* The chain's fields in sealing order into chain[] (AAR, AMS, AS of each instance); how
 * many (3N).  For a chain whose structure failed, every ARC field as it came: a cv=fail
 * seal covers none of them, and arcseal.c reads only their seals' cv=. */
static size_t chain_fields(const struct arcflow *arc, struct arcseal_field *chain)
{
	size_t	count = 0;

	if (arc->arc == NULL)
		return 0;
	if (arc->shape != ARCSET_VALID) {
		for (; count < arc->arc_fields.count; count++) {
			chain[count].name = dkimhdr_name(&arc->arc_fields, count);
			chain[count].value = dkimhdr_value(&arc->arc_fields, count);
		}
		return count;
	}
	for (unsigned i = 0; i < arc->arc->sets; i++) {
		size_t	fields[3] = {arc->arc->set[i].aar, arc->arc->set[i].ams,
		    arc->arc->set[i].as};

		for (size_t j = 0; j < 3; j++, count++) {
			chain[count].name = dkimhdr_name(&arc->arc_fields, fields[j]);
			chain[count].value = dkimhdr_value(&arc->arc_fields, fields[j]);
		}
	}
	return count;
}

/* The instance our set follows: N of a chain that holds; for one that does not, the
 * highest instance named (RFC 8617 section 5.1 step 2), and cv fail; 0 with *why when
 * no set can follow. */
static unsigned previous_instance(const struct arcflow *arc, enum arcseal_cv *cv,
    const char **why)
{
	unsigned n;

	*why = NULL;
	if (!arc->has_fields)
		return 0;
	if (arc->arc != NULL && arc->shape == ARCSET_VALID)
		return arc->arc->sets;
	*cv = ARCSEAL_CV_FAIL;
	if (arc->arc == NULL || arc->arc->beyond > 0) {
		*why = "more ARC fields than 50 sets hold";
		return 0;
	}
	if ((n = arcset_highest_instance(arc->arc, &arc->arc_fields)) == 0)
		*why = "no ARC field names an instance";
	return n;
}

/* ARCSealDomain's active key of ARCSealAlgorithm, or NULL. */
static const struct keystore_key *seal_key(const struct runtime *rt)
{
	const struct keystore_key *found[16];
	const struct conf *conf = rt->conf;
	size_t	n;

	if (rt->keys == NULL)
		return NULL;
	n = keystore_find_active(rt->keys, conf->arc_seal_domain, found, 16);
	for (size_t i = 0; i < n && i < 16; i++) {
		int	ed25519 = found[i]->algorithm == KEY_ALG_ED25519;

		if (conf->arc_seal_algorithm == ARC_SEAL_ED25519_SHA256 ? ed25519 :
		    !ed25519 && found[i]->bits >= conf->minimum_key_bits)
			return found[i];
	}
	return NULL;
}

int	arcflow_seal(struct arcflow *arc, const struct msgheaders *headers, enum arcseal_cv cv,
    const char *results, struct arcseal_set *out)
{
	static const enum metrics_arc_result counted[] = {
		[ARCSEAL_CV_NONE] = METRICS_ARC_NONE, [ARCSEAL_CV_PASS] = METRICS_ARC_PASS,
		[ARCSEAL_CV_FAIL] = METRICS_ARC_FAIL,
	};
	struct arcseal_field chain[3 * ARCSET_MAX_SETS];
	unsigned char body_hash[CANON_HASH_LEN];
	const struct conf *conf = arc->rt->conf;
	const struct keystore_key *key = seal_key(arc->rt);
	char	err[256];

	if (key == NULL) {
		log_msg(LOG_LEVEL_WARNING, "%s: not ARC-sealed: no active %s key for %s in the "
		    "keystore", arc->queue_id, conf->arc_seal_algorithm == ARC_SEAL_ED25519_SHA256 ?
		    "Ed25519" : "RSA", conf->arc_seal_domain);
		return 0;
	}
	if (arc->failed || arc->body == NULL || !body_canon_final(arc->body, body_hash)) {
		log_msg(LOG_LEVEL_ERROR, "%s: not ARC-sealed: internal error reading the message",
		    arc->queue_id);
		return 0;
	}
	const char *why;
	unsigned previous = previous_instance(arc, &cv, &why);

	if (why != NULL) {
		log_msg(LOG_LEVEL_NOTICE, "%s: not ARC-sealed: %s", arc->queue_id, why);
		return 0;
	}
	struct arcseal_request req = {
		.headers = headers,
		.sign_headers = &conf->sign_headers,
		.oversign_headers = &conf->oversign_headers,
		.body_hash = body_hash,
		.chain = chain,
		.chain_count = chain_fields(arc, chain),
		.instances = previous,
		.cv = cv,
		.authserv_id = arc->rt->authserv_id,
		.results = results,
		.timestamp = time(NULL),
		.sign_digest = arc->rt->signer.client != NULL ? signer_sign_digest : NULL,
		.sign_context = &arc->rt->signer,
	};
	switch (arcseal_make(&req, key, out, err, sizeof(err))) {
	case ARCSEAL_OK:
		metrics_arc_seal(counted[cv]);
		arc->sealed_instance = previous + 1;
		arc->sealed_cv = cv;
		return 1;
	case ARCSEAL_TOO_MANY:
	case ARCSEAL_CHAIN_ENDED:
		log_msg(LOG_LEVEL_INFO, "%s: not ARC-sealed: %s", arc->queue_id, err);
		return 0;
	case ARCSEAL_BAD_REQUEST:
	case ARCSEAL_ERROR:
		break;
	}
	log_msg(LOG_LEVEL_ERROR, "%s: not ARC-sealed: %s", arc->queue_id, err);
	return 0;
}

void	arcflow_result_in(const char *authres_value, char *out, size_t size)
{
	arctrust_result_of(authres_value, "arc", out, size);
}

const char *arcflow_results_of(const char *value)
{
	const char *semicolon = strchr(value, ';');

	if (semicolon == NULL)
		return "none";
	for (semicolon++; *semicolon == ' ' || *semicolon == '\t' || *semicolon == '\r' ||
	    *semicolon == '\n'; semicolon++)
		;
	return *semicolon != '\0' ? semicolon : "none";
}
