/*
 * NAME
 *	dkimsig.h - one DKIM-Signature header field, read and judged on its own
 * SYNOPSIS
 *	#include "milter/dkimsig.h"
 *
 *	struct dkimsig sig;
 *	dkimsig_parse(value, strlen(value), time(NULL), &sig);
 *	if (sig.status == DKIMSIG_OK)
 *		... look the key up, hash, verify ...
 * DESCRIPTION
 *	dkimsig_parse() reads the value of a DKIM-Signature field (as the MTA passes it,
 *	folding included) with the strict tag-list grammar of lib/taglist.c and checks
 *	everything RFC 6376 section 3.5 and 6.1.1 let a verifier decide from the field
 *	alone.  The outcome is DKIMSIG_OK, or DKIMSIG_PERMERROR / DKIMSIG_POLICY with a
 *	reason for an Authentication-Results comment.
 *
 *	Values are read with the folding white space inside them removed, as a signer that
 *	folds a long selector or domain mid-value (dkimpy does) needs, and as every tag of
 *	section 3.5 allows: none of them has white space of its own.
 *
 *	d=, s=, a= and b= are what is reported, so they are kept whatever the outcome: for a
 *	field that is not a tag list, as far as the tags before the first error go (what a
 *	reader stopping at the error has read), never from after it (issue 13).
 *
 *	dkimsig_parse_kind() reads the ARC-Message-Signature and ARC-Seal fields (RFC 8617
 *	section 4.1.2, 4.1.3) with the same rules, less what ARC drops: v= (ignored when
 *	present), i= as an identity (it is the instance there), and for a seal bh=, h= (a
 *	permerror when present) and c= (always relaxed).
 *
 *	dkimsig_next_header() walks h=, each name without white space.  Spans point into
 *	value, which must outlive the struct.  Nothing is allocated.
 */
#ifndef SIGNET_DKIMSIG_H
#define SIGNET_DKIMSIG_H

#include <stddef.h>
#include <time.h>

#include "conf/conf.h"
#include "lib/span.h"

#define DKIMSIG_BH_MAX	64		/* bytes of a decoded bh= (SHA-256: 32) */
#define DKIMSIG_REASON_MAX 112
#define DKIMSIG_CLOCK_DRIFT 300		/* seconds of leeway for t= and x= */
#define DKIMSIG_NAME_MAX 253		/* d=, s=: a domain name */
#define DKIMSIG_FIELD_NAME_MAX 255	/* a name in h= */

enum dkimsig_status {
	DKIMSIG_OK,
	DKIMSIG_PERMERROR,
	DKIMSIG_POLICY,		/* valid, but not accepted here (rsa-sha1, RFC 8301) */
};

/* Which field the tag list is: a DKIM-Signature, or one of the two ARC fields that reuse
 * its syntax (RFC 8617 section 4.1.2 and 4.1.3). */
enum dkimsig_kind {
	DKIMSIG_DKIM,
	DKIMSIG_ARC_MESSAGE,	/* ARC-Message-Signature: no v=, i= is the instance */
	DKIMSIG_ARC_SEAL,	/* ARC-Seal: no v=, bh=, h=; relaxed header hash only */
};

enum dkimsig_alg {
	DKIMSIG_RSA_SHA256,
	DKIMSIG_ED25519_SHA256,
	DKIMSIG_RSA_SHA1,
};

struct dkimsig {
	enum dkimsig_status status;
	char	reason[DKIMSIG_REASON_MAX];	/* "" for DKIMSIG_OK */

	/* Reported, white space removed; "" when absent, not read or too long. */
	char	d[DKIMSIG_NAME_MAX + 1];
	char	s[DKIMSIG_NAME_MAX + 1];
	char	a[32];
	struct span b;			/* as written (.p NULL when not read) */

	/* Meaningful for DKIMSIG_OK only. */
	enum dkimsig_alg alg;
	enum canon_kind header_canon, body_canon;
	int	has_l;
	unsigned long long l;		/* body length limit (l=) */
	struct span h;			/* the h= list */
	int	i_is_d;			/* i='s domain is d= itself (or there is no i=) */
	unsigned char bh[DKIMSIG_BH_MAX];
	size_t	bh_len;
	size_t	b_from, b_to;		/* the bytes of value dropped for the header hash:
					 * b='s value and the white space around it */
};

void	dkimsig_parse(const char *value, size_t len, time_t now, struct dkimsig *sig);
/* The same for an ARC field: the rules of RFC 6376 that RFC 8617 keeps for it.  i= (the
 * instance) is the caller's to read; for an ARC-Seal, h= is a permerror, bh= and c= are
 * not read and the header canonicalization is relaxed. */
void	dkimsig_parse_kind(const char *value, size_t len, time_t now, enum dkimsig_kind kind,
	    struct dkimsig *sig);

/* The next name of the h= list *list (advanced), white space removed, in name: 1, or 0
 * at the end.  A name over DKIMSIG_FIELD_NAME_MAX bytes comes out empty. */
int	dkimsig_next_header(struct span *list, char name[DKIMSIG_FIELD_NAME_MAX + 1],
	    size_t *len);

/* The hash algorithm of the key record's h= that the signature needs. */
const char *dkimsig_hash_name(enum dkimsig_alg alg);

#endif
