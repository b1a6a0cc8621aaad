/*
 * NAME
 *	bodyhash.c - the body hashes a message's signatures ask for, each computed once
 * DESCRIPTION
 *	The array of hashes is made at its bound on first use (the bound is the caller's:
 *	a verifier's MaximumSignatures, ARC's 50 sets), so nothing grows with the body and a
 *	signature finds its hash by a scan of at most that many entries.
 * SEE ALSO
 *	bodyhash.h, canon.c, RFC 6376 section 3.4.5 (l=) and 6.1.3
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/alloc.h"
#include "milter/bodyhash.h"

struct bodyhash {
	enum canon_kind kind;
	int	has_l;
	unsigned long long l;
	struct body_canon *canon;
	unsigned char hash[CANON_HASH_LEN];
};

void	bodyhash_init(struct bodyhash_set *set, size_t max)
{
	memset(set, 0, sizeof(*set));
	set->max = max;
}

long	bodyhash_want(struct bodyhash_set *set, const struct dkimsig *sig, int *nomem)
{
	struct bodyhash *b;

	*nomem = 0;
	for (size_t i = 0; i < set->count; i++) {
		b = &set->hashes[i];
		if (b->kind == sig->body_canon && b->has_l == sig->has_l &&
		    (!b->has_l || b->l == sig->l))
			return (long)i;
	}
	if (set->count >= set->max)
		return -1;
	if (set->hashes == NULL && (set->hashes = mem_calloc(set->max,
	    sizeof(*set->hashes))) == NULL) {
		*nomem = 1;
		return -1;
	}
	b = &set->hashes[set->count];
	if ((b->canon = body_canon_new(sig->body_canon)) == NULL) {
		*nomem = 1;
		return -1;
	}
	b->kind = sig->body_canon;
	b->has_l = sig->has_l;
	b->l = sig->l;
	if (b->has_l)
		body_canon_set_limit(b->canon, b->l);
	return (long)set->count++;
}

void	bodyhash_update(struct bodyhash_set *set, const unsigned char *data, size_t len)
{
	for (size_t i = 0; i < set->count; i++)
		if (!body_canon_update(set->hashes[i].canon, data, len))
			set->failed = 1;
}

int	bodyhash_final(struct bodyhash_set *set)
{
	for (size_t i = 0; i < set->count; i++)
		if (!body_canon_final(set->hashes[i].canon, set->hashes[i].hash))
			set->failed = 1;
	return !set->failed;
}

enum verify_result bodyhash_judge(const struct bodyhash_set *set, size_t index,
    const struct dkimsig *sig, char *reason, size_t size)
{
	const struct bodyhash *b = &set->hashes[index];
	unsigned long long length = body_canon_length(b->canon);

	if (sig->has_l && sig->l > length) {
		snprintf(reason, size, "l=%llu is more than the body's %llu bytes", sig->l,
		    length);
		return VERIFY_PERMERROR;
	}
	if (sig->bh_len != CANON_HASH_LEN || memcmp(sig->bh, b->hash, CANON_HASH_LEN) != 0) {
		snprintf(reason, size, "body hash did not verify");
		return VERIFY_FAIL;
	}
	snprintf(reason, size, "%s", "");
	return VERIFY_PASS;
}

void	bodyhash_free(struct bodyhash_set *set)
{
	for (size_t i = 0; i < set->count; i++)
		body_canon_free(set->hashes[i].canon);
	free(set->hashes);
	memset(set, 0, sizeof(*set));
}
