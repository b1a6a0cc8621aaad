/*
 * NAME
 *	linefile.h - read a line-oriented table file, bounded, with FILE:LINE errors
 * SYNOPSIS
 *	#include "lib/linefile.h"
 *
 *	struct linefile lf;
 *	char   *line;
 *	int	r;
 *	if (!linefile_open(&lf, path, err, errlen)) return NULL;
 *	while ((r = linefile_next(&lf, &line, err, errlen)) > 0)
 *		if (bad) { linefile_fail(&lf, err, errlen, "bad pattern \"%s\"", word); ... }
 *	linefile_close(&lf);
 * DESCRIPTION
 *	The tables an operator writes beside signet.conf (SenderMap, RateLimits) are read
 *	through this: one line at a time into a fixed buffer, so no file can make a line
 *	cost more than LINEFILE_MAX bytes.  linefile_next() returns 1 with the line (its
 *	CR LF or LF removed; it may be blank: comments are the caller's syntax), 0 at the end
 *	of the file, -1 with err set for a line over LINEFILE_MAX bytes, a control character
 *	(NUL included) but TAB, or DEL, in a line, or a read error.
 *
 *	linefile_fail() writes "PATH:LINE: message" into err, the form "signet -n" reports
 *	and an editor can jump to; bytes outside printable ASCII in it become '?', so a
 *	word quoted from the file cannot carry anything odd to a terminal or a log.
 */
#ifndef SIGNET_LINEFILE_H
#define SIGNET_LINEFILE_H

#include <stddef.h>
#include <stdio.h>

#define LINEFILE_MAX	4096	/* bytes of one line, without its end */

struct linefile {
	FILE   *fp;
	const char *path;	/* the caller's; must outlive the linefile */
	unsigned line;		/* number of the line last returned, from 1 */
	char	text[LINEFILE_MAX + 2];
};

int	linefile_open(struct linefile *lf, const char *path, char *err, size_t errlen);
int	linefile_next(struct linefile *lf, char **line, char *err, size_t errlen);
void	linefile_fail(const struct linefile *lf, char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
/* The same about another line than the last one read (a duplicate found later). */
void	linefile_fail_at(const struct linefile *lf, unsigned line, char *err, size_t errlen,
	    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void	linefile_close(struct linefile *lf);

#endif
