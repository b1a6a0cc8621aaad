/*
 * NAME
 *	dkimkey.h - the public key of a DKIM signature: looked up, read, judged, used
 * SYNOPSIS
 *	#include "milter/dkimkey.h"
 *
 *	struct dkimkey *key = dkimkey_fetch(&source, "sel._domainkey.example.org");
 *	if (dkimkey_judge(key, &sig, reason, sizeof(reason)) == VERIFY_NONE &&
 *	    dkimkey_verify(key, &sig, digest) == 1)
 *		... the signature over the header verifies ...
 *	dkimkey_free(key);
 * DESCRIPTION
 *	dkimkey_fetch() asks for the TXT record at name through Signet's resolver (its
 *	cache, the message's DNS budget) or, in tests, through the lookup seam of verify.h,
 *	and reads it as RFC 6376 section 3.6.1 says (lib/keyrecord.c).  What it learns stays
 *	in the key, so that several signatures of one message that name the same key cost
 *	one lookup; it returns NULL only when memory runs out.
 *
 *	dkimkey_judge() is RFC 6376 section 6.1.2 for one signature: VERIFY_NONE when the
 *	key may verify it, else the result (temperror for a failed lookup, policy when the
 *	message's DNS budget was spent, permerror for everything the domain published
 *	wrong) and why.  dkimkey_verify() checks the signature's b= over the header hash:
 *	1 when it verifies, 0 when not, -1 when memory runs out.
 */
#ifndef SIGNET_DKIMKEY_H
#define SIGNET_DKIMKEY_H

#include <stddef.h>

#include "lib/dns.h"
#include "milter/dkimhdr.h"
#include "milter/dkimsig.h"
#include "milter/keycache.h"
#include "milter/verify.h"

#define DKIMKEY_MIN_RSA_BITS	1024	/* RFC 8301 section 3.2 */

/* Where keys come from. */
struct dkimkey_source {
	struct dns_resolver *dns;
	struct dns_budget *budget;
	verify_key_lookup *test_lookup;	/* verify.h's seam; NULL in the daemon */
	void   *test_lookup_ctx;
	struct keycache *cache;		/* keys decoded before; may be NULL */
	const char *queue_id;		/* for the log */
};

struct dkimkey;

struct dkimkey *dkimkey_fetch(const struct dkimkey_source *source, const char *name);
void	dkimkey_free(struct dkimkey *key);

/* selector._domainkey.domain, case aside. */
int	dkimkey_is(const struct dkimkey *key, const char *name);

/*
 * The keys one message looked up, so that signatures naming one key cost one lookup: at
 * most max of them (the caller's bound on its signatures).  dkimkey_list_fetch() gives
 * the key of selector s in domain d, looked up now or before; NULL when memory runs out
 * (or, which the caller's bound excludes, the list is full).
 */
struct dkimkey_list {
	struct dkimkey **keys;
	size_t	count;
	size_t	max;
};

const struct dkimkey *dkimkey_list_fetch(struct dkimkey_list *list,
	    const struct dkimkey_source *source, const char *d, const char *s);
void	dkimkey_list_free(struct dkimkey_list *list);

enum verify_result dkimkey_judge(const struct dkimkey *key, const struct dkimsig *sig,
	    char *reason, size_t size);
int	dkimkey_verify(const struct dkimkey *key, const struct dkimsig *sig,
	    const unsigned char digest[DKIMHDR_HASH_LEN]);

/* An RSA key under DKIMKEY_MIN_RSA_BITS; a key in testing mode (t=y). */
int	dkimkey_too_small(const struct dkimkey *key);
int	dkimkey_testing(const struct dkimkey *key);

#endif
