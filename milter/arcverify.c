/*
 * NAME
 *	arcverify.c - ARC chain validation of inbound mail (RFC 8617 section 5.2)
 * DESCRIPTION
 *	Built from the DKIM verifier's parts: dkimhdr.c keeps the header (the AMS's h= may
 *	name any field), arcset.c finds and reads the ARC fields and checks the chain's
 *	structure, dkimkey.c looks keys up and checks signatures, dkimhdr.c hashes an AMS's
 *	header and archash.c a seal's, bodyhash.c the body.
 *
 *	Header.  Every field is kept until the end of the header, as in verify.c (at most
 *	DKIMHDR_MAX_BYTES); ARC fields are kept whatever the bound, and there are at most
 *	ARCSET_MAX_FIELDS of them (more fail the chain).  A header over the bound fails the
 *	chain: the newest AMS may sign fields that were not kept.
 *
 *	End of header.  The steps of RFC 8617 section 5.2, all decided here while the MTA
 *	waits, so that the DNS deadline does not depend on the body: the structure (steps
 *	1 to 3, arcset.c); the newest AMS's header hash and b= (step 4, its body hash
 *	waits); every seal from N down to 1 (step 6), the first failure deciding; then, only
 *	when all of that held, the older AMS fields' headers (step 5, optional).  Keys are
 *	looked up once per name and message.
 *
 *	Body.  Hashed only for the AMS fields whose b= verified, those with one body
 *	canonicalization and l= sharing a hash, at most ARCVERIFY_MAX_BODY_HASHES.
 *
 *	When the structure held, the header is kept to the end of the message, for the
 *	AAR payloads and fields the caller may ask for; else it goes at the end of the
 *	header, as in verify.c.
 * SEE ALSO
 *	arcverify.h, arcset.c, archash.c, verify.c, RFC 8617
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/alloc.h"
#include "lib/printable.h"
#include "milter/archash.h"
#include "milter/arcset.h"
#include "milter/arcverify.h"
#include "milter/bodyhash.h"
#include "milter/dkimhdr.h"
#include "milter/dkimkey.h"

/* What became of one AMS. */
enum ams_state {
	AMS_UNCHECKED,
	AMS_WAITING,		/* b= verified: the body hash decides */
	AMS_FAILED,
	AMS_PASSED,
};

struct ams {
	enum ams_state state;
	const struct dkimkey *key;
	size_t	body;			/* its hash in bodies, while waiting */
};

struct arcverify_message {
	struct verifier *verifier;
	struct dns_budget *budget;
	struct dkimhdr header;
	struct arcset *arc;		/* made at the first ARC field */
	struct dkimkey_list keys;
	struct bodyhash_set bodies;
	struct ams ams[ARCSET_MAX_SETS];
	struct arc_set_info info[ARCSET_MAX_SETS];
	struct arc_outcome out;
	int	headers_done;
	int	decided;		/* out.result is final (a fail, or none) */
	int	failed;			/* memory ran out: an internal error */
	char	queue_id[64];
};

__attribute__((format(printf, 3, 4)))
static void fail(struct arcverify_message *m, int temporary, const char *fmt, ...)
{
	va_list	ap;

	m->out.result = ARC_FAIL;
	m->out.temporary = temporary;
	va_start(ap, fmt);
	vsnprintf(m->out.reason, sizeof(m->out.reason), fmt, ap);
	va_end(ap);
	/* The reason goes into an A-R comment. */
	for (char *p = m->out.reason; *p != '\0'; p++)
		if (*p == '(' || *p == ')' || *p == '\\' || (unsigned char)*p < 32)
			*p = ' ';
	m->decided = 1;
}

struct arcverify_message *arcverify_begin(struct verifier *verifier,
    struct dns_budget *budget, const char *queue_id)
{
	struct arcverify_message *m = mem_calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->verifier = verifier;
	m->budget = budget;
	m->keys.max = 2 * ARCSET_MAX_SETS;
	dkimhdr_init(&m->header, DKIMHDR_MAX_BYTES);
	bodyhash_init(&m->bodies, ARCVERIFY_MAX_BODY_HASHES);
	snprintf(m->queue_id, sizeof(m->queue_id), "%s", queue_id ? queue_id : "NOQUEUE");
	return m;
}

void	arcverify_header(struct arcverify_message *m, const char *name, const char *value)
{
	enum arcset_kind kind;
	int	keep = 0;

	if (m == NULL || m->failed || m->headers_done)
		return;
	if ((kind = arcset_kind_of(name)) != ARCSET_NOT_ARC) {
		if (m->arc == NULL && (m->arc = arcset_new()) == NULL) {
			m->failed = 1;
			return;
		}
		/* Kept past the header's bound: at most ARCSET_MAX_FIELDS are. */
		keep = arcset_note(m->arc, kind, m->header.count);
	}
	switch (dkimhdr_add(&m->header, name, value, keep)) {
	case DKIMHDR_OK:
	case DKIMHDR_FULL:
		break;
	case DKIMHDR_NOMEM:
		m->failed = 1;
		break;
	}
}

/* ---- end of header: the signatures' header halves -------------------------------------- */

static const struct dkimkey *key_of(struct arcverify_message *m, const struct dkimsig *sig)
{
	struct dkimkey_source source;
	const struct dkimkey *key;

	verifier_key_source(m->verifier, m->budget, m->queue_id, &source);
	if ((key = dkimkey_list_fetch(&m->keys, &source, sig->d, sig->s)) == NULL)
		m->failed = 1;
	return key;
}

/* 1 when key may check sig and did: *verified says how; else 0 with why in reason (and
 * *temporary set for a failed lookup), or m->failed. */
static int check_with_key(struct arcverify_message *m, const struct dkimsig *sig,
    const struct dkimkey *key, const unsigned char digest[DKIMHDR_HASH_LEN], int *verified,
    char *reason, size_t size, int *temporary)
{
	enum verify_result judged = dkimkey_judge(key, sig, reason, size);

	*temporary = judged == VERIFY_TEMPERROR;
	if (judged != VERIFY_NONE)
		return 0;
	if ((*verified = dkimkey_verify(key, sig, digest)) < 0) {
		m->failed = 1;
		return 0;
	}
	if (*verified && dkimkey_too_small(key)) {
		snprintf(reason, size, "RSA key under 1024 bits (RFC 8301)");
		return 0;
	}
	return 1;
}

/* Step 6 for the seal of instance k (1-based): 1 when it verifies. */
static int check_seal(struct arcverify_message *m, unsigned k)
{
	const struct arcset_instance *set = &m->arc->set[k - 1];
	const char *names[ARCSET_MAX_FIELDS], *values[ARCSET_MAX_FIELDS];
	size_t	drop[2] = {set->as_sig.b_from, set->as_sig.b_to}, n = 0;
	unsigned char digest[ARCHASH_LEN];
	const struct dkimkey *key;
	char	reason[112];
	int	verified = 0, temporary;

	for (unsigned i = 0; i < k; i++) {
		size_t	fields[3] = {m->arc->set[i].aar, m->arc->set[i].ams, m->arc->set[i].as};

		for (size_t j = 0; j < 3; j++) {
			names[n] = dkimhdr_name(&m->header, fields[j]);
			values[n++] = dkimhdr_value(&m->header, fields[j]);
		}
	}
	if ((key = key_of(m, &set->as_sig)) == NULL)
		return 0;
	if (!archash_seal(names, values, n, drop, digest)) {
		m->failed = 1;
		return 0;
	}
	if (!check_with_key(m, &set->as_sig, key, digest, &verified, reason, sizeof(reason),
	    &temporary)) {
		if (!m->failed)
			fail(m, temporary, "ARC-Seal i=%u: %s", k, reason);
		return 0;
	}
	if (!verified)
		fail(m, 0, "ARC-Seal i=%u did not verify", k);
	return verified;
}

/* Step 4 (k == N) or 5 for the AMS of instance k: its header half.  For the newest, a
 * failure fails the chain; for the others it is only noted. */
static void check_message_signature(struct arcverify_message *m, unsigned k)
{
	const struct arcset_instance *set = &m->arc->set[k - 1];
	struct ams *ams = &m->ams[k - 1];
	unsigned char digest[DKIMHDR_HASH_LEN];
	char	reason[112];
	int	verified = 0, temporary = 0, nomem;
	long	body;

	ams->state = AMS_FAILED;
	snprintf(reason, sizeof(reason), "%s", set->ams_sig.reason);
	if (set->ams_sig.status == DKIMSIG_OK) {
		if ((ams->key = key_of(m, &set->ams_sig)) == NULL)
			return;
		if (!dkimhdr_hash(&m->header, &set->ams_sig, set->ams, digest)) {
			m->failed = 1;
			return;
		}
		if (check_with_key(m, &set->ams_sig, ams->key, digest, &verified, reason,
		    sizeof(reason), &temporary) && !verified)
			snprintf(reason, sizeof(reason), "signature did not verify");
	}
	if (m->failed)
		return;
	if (verified) {
		if ((body = bodyhash_want(&m->bodies, &set->ams_sig, &nomem)) >= 0) {
			ams->body = (size_t)body;
			ams->state = AMS_WAITING;
			return;
		}
		if (nomem)
			m->failed = 1;
		snprintf(reason, sizeof(reason), "over %d body hashes",
		    ARCVERIFY_MAX_BODY_HASHES);
	}
	if (k == m->arc->sets)
		fail(m, temporary, "ARC-Message-Signature i=%u: %s", k, reason);
}

/* What the caller may read of instance k. */
static void describe(struct arcverify_message *m, unsigned k)
{
	const struct arcset_instance *set = &m->arc->set[k - 1];
	struct arc_set_info *info = &m->info[k - 1];

	if (!printable_copy(info->seal_domain, sizeof(info->seal_domain), set->as_sig.d, " "))
		info->seal_domain[0] = '\0';
	if (!printable_copy(info->seal_selector, sizeof(info->seal_selector), set->as_sig.s,
	    " "))
		info->seal_selector[0] = '\0';
	if (!printable_copy(info->signature_domain, sizeof(info->signature_domain),
	    set->ams_sig.d, " "))
		info->signature_domain[0] = '\0';
	if (!printable_copy(info->signature_selector, sizeof(info->signature_selector),
	    set->ams_sig.s, " "))
		info->signature_selector[0] = '\0';
	info->payload = set->payload.p;
	info->payload_len = set->payload.len;
}

static void check_chain(struct arcverify_message *m)
{
	unsigned n;

	switch (arcset_read(m->arc, &m->header, time(NULL))) {
	case ARCSET_NONE:
		m->decided = 1;
		return;
	case ARCSET_INVALID:
		fail(m, 0, "%s", m->arc->reason);
		return;
	case ARCSET_VALID:
		break;
	}
	n = m->out.sets = m->arc->sets;
	for (unsigned k = 1; k <= n; k++)
		describe(m, k);
	if (m->header.full) {
		fail(m, 0, "not checked: the header is over %d bytes", DKIMHDR_MAX_BYTES);
		return;
	}
	check_message_signature(m, n);
	for (unsigned k = n; k >= 1 && !m->decided && !m->failed; k--)
		if (!check_seal(m, k))
			return;
	for (unsigned k = n - 1; k >= 1 && !m->decided && !m->failed; k--)
		check_message_signature(m, k);
}

void	arcverify_end_of_headers(struct arcverify_message *m)
{
	if (m == NULL || m->failed || m->headers_done)
		return;
	m->headers_done = 1;
	if (m->arc == NULL) {
		m->decided = 1;		/* ARC_NONE */
	} else if (!dkimhdr_seal(&m->header)) {
		m->failed = 1;
	} else {
		check_chain(m);
		if (m->out.sets > 0)
			return;		/* the header is kept for the caller */
	}
	dkimhdr_free(&m->header);
}

/* ---- the body and the outcome ---------------------------------------------------------- */

void	arcverify_body(struct arcverify_message *m, const unsigned char *data, size_t len)
{
	if (m == NULL || m->failed || !m->headers_done || m->decided)
		return;
	bodyhash_update(&m->bodies, data, len);
	if (m->bodies.failed)
		m->failed = 1;
}

/* The body half of the AMS of instance k. */
static void check_body(struct arcverify_message *m, unsigned k)
{
	struct ams *ams = &m->ams[k - 1];
	char	reason[96];
	enum verify_result result;

	if (ams->state != AMS_WAITING)
		return;
	result = bodyhash_judge(&m->bodies, ams->body, &m->arc->set[k - 1].ams_sig, reason,
	    sizeof(reason));
	ams->state = result == VERIFY_PASS ? AMS_PASSED : AMS_FAILED;
	if (k == m->arc->sets && result != VERIFY_PASS)
		fail(m, 0, "ARC-Message-Signature i=%u: %s", k, reason);
}

int	arcverify_finish(struct arcverify_message *m, const struct arc_outcome **outcome)
{
	unsigned n;

	*outcome = NULL;
	if (m == NULL)
		return 0;
	arcverify_end_of_headers(m);	/* if the MTA never said the header ended */
	if (m->failed)
		return 0;
	if (!m->decided) {
		if (!bodyhash_final(&m->bodies))
			return 0;
		n = m->arc->sets;
		for (unsigned k = n; k >= 1; k--)
			check_body(m, k);
		if (!m->decided) {
			m->out.result = ARC_PASS;
			m->out.oldest_pass = 0;
			for (unsigned k = n - 1; k >= 1; k--)
				if (m->ams[k - 1].state != AMS_PASSED) {
					m->out.oldest_pass = k + 1;
					break;
				}
			m->decided = 1;
		}
	}
	*outcome = &m->out;
	return 1;
}

void	arcverify_free(struct arcverify_message *m)
{
	if (m == NULL)
		return;
	dkimhdr_free(&m->header);
	dkimkey_list_free(&m->keys);
	bodyhash_free(&m->bodies);
	arcset_free(m->arc);
	free(m);
}

/* ---- for the caller: the chain ---------------------------------------------------------- */

unsigned arcverify_sets(const struct arcverify_message *m)
{
	return m != NULL ? m->out.sets : 0;
}

const struct arc_set_info *arcverify_set(const struct arcverify_message *m, unsigned instance)
{
	if (m == NULL || instance < 1 || instance > m->out.sets)
		return NULL;
	return &m->info[instance - 1];
}

int	arcverify_field(const struct arcverify_message *m, size_t index, const char **name,
    const char **value)
{
	const struct arcset_instance *set;
	size_t	field;

	if (m == NULL || index >= 3 * (size_t)m->out.sets)
		return 0;
	set = &m->arc->set[index / 3];
	field = index % 3 == 0 ? set->aar : index % 3 == 1 ? set->ams : set->as;
	*name = dkimhdr_name(&m->header, field);
	*value = dkimhdr_value(&m->header, field);
	return 1;
}

const char *arc_result_name(enum arc_result result)
{
	return result == ARC_PASS ? "pass" : result == ARC_NONE ? "none" : "fail";
}
