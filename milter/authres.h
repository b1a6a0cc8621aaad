/*
 * NAME
 *	authres.h - Authentication-Results header fields (RFC 8601): write ours, recognise
 *	forged ones
 * SYNOPSIS
 *	struct authres ar; authres_begin(&ar, "mx.example.com");
 *	authres_add(&ar, "dkim", "pass", NULL, "header.d", "example.com", NULL);
 *	char *value = authres_finish(&ar);
 * DESCRIPTION
 *	authres_add() appends one result: method=result, an optional comment, then property
 *	name/value pairs ending with NULL; a pair whose value is NULL, empty or over 512
 *	bytes is left out (never cut).  Every piece that came from the message or from
 *	DNS is made safe here: values that are not plain tokens, domains or local@domain are
 *	quoted, and no CR, LF or other control character (nor any 8-bit byte) can pass.
 *	authres_finish() returns the value as it stands after the colon (one space first),
 *	folded with LF, "none" when nothing was added.
 *
 *	authres_is_ours() reads the authserv-id at the start of an existing field's value --
 *	comments, folding and a quoted form allowed -- and compares it with ours, ignoring
 *	case.  A value it cannot read counts as ours when our id stands in it as a token.
 */
#ifndef SIGNET_AUTHRES_H
#define SIGNET_AUTHRES_H

#include "milter/canon.h"

struct authres {
	struct buffer buf;
	size_t	results;
	int	failed;
};

void	authres_begin(struct authres *ar, const char *authserv_id);
void	authres_add(struct authres *ar, const char *method, const char *result,
	    const char *comment, ...) __attribute__((sentinel));
/* The caller frees the result; NULL when out of memory. */
char   *authres_finish(struct authres *ar);

int	authres_is_ours(const char *value, const char *authserv_id);

/* Skips blanks, line ends and comments (nested, with quoted pairs) of an A-R value from
 * p on; NULL on an unterminated comment.  arctrust.c reads AARs with it too. */
const char *authres_skip_cfws(const char *p);

#endif
