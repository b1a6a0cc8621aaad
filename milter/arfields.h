/*
 * NAME
 *	arfields.h - the Authentication-Results fields of one message, and which are forged
 * SYNOPSIS
 *	#include "milter/arfields.h"
 *
 *	struct arfields ar = {0};
 *	arfields_add(&ar, value, authserv_id);	(for each Authentication-Results field)
 *	for (size_t n = arfields_forged_before(&ar, SIZE_MAX); n; n = arfields_forged_before(&ar, n))
 *		remove occurrence n;
 *	arfields_free(&ar);
 * DESCRIPTION
 *	Every message, inbound or outbound, has the Authentication-Results fields that carry
 *	our authserv-id removed (RFC 8601 section 5): a sender, authenticated or not, must
 *	not be able to deliver a verdict that reads as ours.  Fields are numbered by
 *	occurrence from 1, among the fields the filter was shown, which is how the MTA
 *	numbers them for header changes; arfields_forged_before() hands the forged ones
 *	back highest first, so removing one never renumbers the next (CVE-2022-48521).
 *
 *	Memory is one bit per Authentication-Results field, however many a stranger sends.
 *	When it cannot grow, the record is incomplete (arfields_complete() is 0) and the
 *	message must not be accepted as it is.
 */
#ifndef SIGNET_ARFIELDS_H
#define SIGNET_ARFIELDS_H

#include <stddef.h>

struct arfields {
	unsigned char *forged;		/* bit n-1: occurrence n is forged */
	size_t	bytes;			/* allocated size of forged */
	size_t	seen;			/* Authentication-Results fields so far */
	size_t	forged_count;
	int	incomplete;		/* memory ran out: some field was not recorded */
};

/* Notes one Authentication-Results field. */
void	arfields_add(struct arfields *ar, const char *value, const char *authserv_id);
/* The highest forged occurrence below n (SIZE_MAX: the highest of all); 0 when none. */
size_t	arfields_forged_before(const struct arfields *ar, size_t n);
int	arfields_complete(const struct arfields *ar);
/* Frees the record and makes it empty again. */
void	arfields_free(struct arfields *ar);

#endif
