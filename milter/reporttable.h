/*
 * NAME
 *	reporttable.h - counters of DMARC aggregate-report rows, per reporting period and
 *	policy domain, with the latest policy of each
 * SYNOPSIS
 *	#include "milter/reporttable.h"
 *
 *	struct reporttable *t = reporttable_new();
 *	reporttable_add(t, begin, "example.com", policy_text, row_text, 1, may_grow);
 *	counts = reporttable_counts(t, &n);	(for reportstore_add())
 *	reporttable_merge(older, t);		(t is emptied into older)
 *	reporttable_free(t);
 * DESCRIPTION
 *	A report is (begin, domain); it holds its latest policy text and its rows, each a
 *	row text (reportrow.h) with a count.  reporttable_add() adds count to a row,
 *	making the row (and the report) when new, and replaces the report's policy with
 *	the one given.  The row text is the key as it is: two rows are one when their texts
 *	are equal byte for byte.
 *
 *	reporttable_merge() moves every row of from into into, adding the counts of rows
 *	both have; from's policies are the newer and replace into's.  It moves the nodes
 *	themselves, so it cannot run out of memory and never counts a row twice.
 *
 *	The texts come from the network (domains, selectors), so the hash is FNV-1a
 *	started from a random value drawn once per process: a stranger cannot choose
 *	names that share a chain without seeing the seed.  Tables double as they fill;
 *	one that cannot grow keeps working with longer chains.
 *
 *	A table is not thread-safe: its owner locks around it (reportcollect.c).
 * DIAGNOSTICS
 *	reporttable_new() returns NULL when memory runs out.  reporttable_add() returns
 *	REPORTTABLE_COUNTED, REPORTTABLE_NEW_ROW, REPORTTABLE_FULL (the row is new and
 *	may_add_row was 0: nothing changed) or REPORTTABLE_NOMEM (nothing changed).
 *	reporttable_counts() returns NULL when memory runs out (or the table is empty,
 *	with *n = 0).
 * SEE ALSO
 *	reportcollect.h, reportrow.h, reportstore.h
 */
#ifndef SIGNET_REPORTTABLE_H
#define SIGNET_REPORTTABLE_H

#include <stddef.h>

#include "lib/reportstore.h"

enum reporttable_added {
	REPORTTABLE_COUNTED,
	REPORTTABLE_NEW_ROW,
	REPORTTABLE_FULL,
	REPORTTABLE_NOMEM,
};

struct reporttable;

struct reporttable *reporttable_new(void);
void	reporttable_free(struct reporttable *t);
enum reporttable_added reporttable_add(struct reporttable *t, long long begin,
	    const char *domain, const char *policy, const char *row, unsigned long count,
	    int may_add_row);
void	reporttable_merge(struct reporttable *into, struct reporttable *from);
/* Empties t (its nodes are freed). */
void	reporttable_clear(struct reporttable *t);
size_t	reporttable_rows(const struct reporttable *t);
/* The sum of the counts: messages counted. */
unsigned long reporttable_messages(const struct reporttable *t);
/* One entry per row, pointing into t (valid until t changes); the caller frees the
 * array. */
struct reportstore_count *reporttable_counts(const struct reporttable *t, size_t *n);

#endif
