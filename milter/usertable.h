/*
 * NAME
 *	usertable.h - a table file of one line per user, sorted once for binary search
 * SYNOPSIS
 *	#include "milter/usertable.h"
 *
 *	static int one_line(void *context, const struct linefile *lf, const char *user,
 *	    char *rest, size_t *value, char *err, size_t errlen)
 *	{
 *		char   *word;
 *		while ((word = usertable_word(&rest)) != NULL) ... parse word ...
 *		*value = where this user's data is kept;
 *		return 1;	(0: nothing to add, e.g. a default line; -1: err says why)
 *	}
 *
 *	struct usertable t = {0};
 *	if (!usertable_load(&t, path, one_line, context, err, errlen)) ... err ...
 *	const struct usertable_entry *e = usertable_find(&t, key);
 *	usertable_free(&t);
 * DESCRIPTION
 *	SenderMap and RateLimits share a shape: "USER WORD...", one line per user, blanks
 *	between words, '#' starting a comment where a word would start (a '#' inside a word,
 *	as in a local part, is part of it), lines read through linefile.h.  usertable_load()
 *	reads such a file, hands each line's user and the rest of the line to the caller,
 *	and keeps the users it adds; the first error stops it, in err as "PATH:LINE: ...".
 *
 *	The user word is given as it stands ("*" included) when the caller wants to treat it
 *	specially; otherwise it must pass mailuser_key() and is kept in that normal form, so
 *	that "alice@Example.COM" and "alice@example.com" are one user.  A user on two lines
 *	is an error ("listed again, first on line N"), not a merge: a repeated line is more
 *	often an edit gone wrong than a wish, and merging would silently widen what a user
 *	may do.  Duplicates are found once the file is read, so the earliest repeat is named
 *	then, after any other error.
 *
 *	Users may number a million: they are kept as one sorted array over one block of
 *	names (about 24 bytes and the name per user), built at load time and searched in
 *	O(log n) without a lock, since nothing changes it once loaded.  value is the
 *	caller's, e.g. an offset into its own data.
 */
#ifndef SIGNET_USERTABLE_H
#define SIGNET_USERTABLE_H

#include <stddef.h>

#include "lib/buffer.h"
#include "lib/linefile.h"

struct usertable_entry {
	size_t	key;		/* offset of the key in names */
	size_t	value;
	unsigned line;
};

struct usertable {
	struct buffer names;	/* the keys, each followed by a NUL */
	struct usertable_entry *entries;
	size_t	count;
	size_t	cap;
};

typedef int (*usertable_line_fn)(void *context, const struct linefile *lf, const char *user,
	    char *rest, size_t *value, char *err, size_t errlen);

int	usertable_load(struct usertable *t, const char *path, usertable_line_fn line,
	    void *context, char *err, size_t errlen);
/* The next word of rest, cut in place; NULL at the end of the line or at a comment. */
char   *usertable_word(char **rest);
const struct usertable_entry *usertable_find(const struct usertable *t, const char *key);
void	usertable_free(struct usertable *t);

#endif
