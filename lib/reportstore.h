/*
 * NAME
 *	reportstore.h - where DMARC aggregate-report counts wait to be reported: SQLite on
 *	one host, Redis for a fleet
 * SYNOPSIS
 *	#include "lib/reportstore.h"
 *
 *	struct reportstore *st = reportstore_open("sqlite:/var/lib/signet/reports.db",
 *	    err, sizeof(err));
 *	reportstore_add(st, counts, n, err, sizeof(err));		(the daemon)
 *	reportstore_list(st, list_cb, ctx, err, sizeof(err));		(signet-reports)
 *	reportstore_close(st);
 * DESCRIPTION
 *	The store is the one place the daemon (writer) and signet-reports (reader, and
 *	keeper of what was sent) meet.  A report is identified by (begin, domain): the
 *	first second of its UTC day (reportrow.h, report_period_begin()) and the DMARC
 *	Policy Domain.  For each it holds:
 *	    - the counters: row text (reportrow.h) -> number of messages, added to by
 *	      every flush of every daemon;
 *	    - the policy text (reportrow.h) last flushed for it: RFC 9990 section 2.2
 *	      says to report the final configuration observed in the period;
 *	    - per destination URI, the delivery state signet-reports keeps;
 *	    - when signet-reports finished with it ("done": every destination sent,
 *	      skipped or given up), which is what expire looks at.
 *
 *	Specs.  "sqlite:PATH": a SQLite database in WAL mode, created with its tables when
 *	missing (the daemon creates it; its folder must be writable by the daemon's user).
 *	"redis://HOST[:PORT][/DB]" or "unix:/PATH": a Redis server, the same forms as
 *	RateLimitStore; every daemon of a fleet adds to the same keys (HINCRBY), so the
 *	reports are the sum of the fleet.
 *
 *	Atomicity.  reportstore_add() applies a whole batch or nothing (one SQLite
 *	transaction; one MULTI/EXEC in Redis), so a daemon that fails to flush keeps its
 *	counts and flushes them again later, without counting twice.  A crash of the
 *	writer never leaves the database unreadable (WAL; Redis persistence is the
 *	operator's).
 *
 *	Threads.  A struct reportstore is used by one thread at a time (the daemon's
 *	flusher); several processes may open the same store.
 * DIAGNOSTICS
 *	Functions return 1 on success and 0 on failure with err holding one sentence
 *	(with the store spec and the library's message); nothing is logged here.
 * SEE ALSO
 *	reportrow.h, signet-reports(8)
 */
#ifndef SIGNET_REPORTSTORE_H
#define SIGNET_REPORTSTORE_H

#include <stddef.h>

struct reportstore;

/* One counter to add: count messages of one row, in one report. */
struct reportstore_count {
	long long begin;		/* report_period_begin() of when counted */
	const char *domain;		/* the DMARC Policy Domain */
	const char *policy;		/* report_policy_encode() text, the latest seen */
	const char *row;		/* report_row_encode() text */
	unsigned long count;
};

/* A report as listed. */
struct reportstore_report {
	long long begin;
	char	domain[254];
	unsigned long messages;		/* sum of the counters */
	size_t	rows;			/* number of distinct rows */
	long long done;			/* when signet-reports finished with it; 0: not yet */
};

enum reportstore_delivery_state {
	DELIVERY_NONE,			/* never tried */
	DELIVERY_SENDING,		/* marked before a send; left there by a crash */
	DELIVERY_SENT,
	DELIVERY_TEMPFAIL,		/* try again at next_try */
	DELIVERY_SKIPPED,		/* not authorized, too big, given up: never sent */
};

struct reportstore_delivery {
	enum reportstore_delivery_state state;
	unsigned attempts;
	long long next_try;		/* for TEMPFAIL */
	long long when;			/* of the last change */
	char	detail[200];		/* printable ASCII: the reply or the reason */
};

/* What the daemon's metrics show of the store (read at each flush). */
struct reportstore_stats {
	unsigned long reports_pending;	/* not done */
	unsigned long reports_made;	/* made at least once (reportstore_made()) */
	unsigned long deliveries[DELIVERY_SKIPPED + 1];	/* by state */
};

typedef int (*reportstore_report_fn)(void *ctx, const struct reportstore_report *report);
typedef int (*reportstore_row_fn)(void *ctx, const char *row, unsigned long count);

struct reportstore *reportstore_open(const char *spec, char *err, size_t errlen);
void	reportstore_close(struct reportstore *store);

/* The daemon's flush: all n counters or none. */
int	reportstore_add(struct reportstore *store, const struct reportstore_count *counts,
	    size_t n, char *err, size_t errlen);

/* Every report in the store, oldest period first, then by domain.  A callback returning
 * 0 stops the walk (and the function still returns 1). */
int	reportstore_list(struct reportstore *store, reportstore_report_fn fn, void *ctx,
	    char *err, size_t errlen);
/* The policy text of one report into policy (size bytes), and each of its rows; the
 * policy is there before the first call of fn (signet-reports writes it first). */
int	reportstore_read(struct reportstore *store, long long begin, const char *domain,
	    char *policy, size_t size, reportstore_row_fn fn, void *ctx, char *err,
	    size_t errlen);

/* Delivery state of one report to one destination URI; DELIVERY_NONE when unknown. */
int	reportstore_delivery_get(struct reportstore *store, long long begin,
	    const char *domain, const char *destination, struct reportstore_delivery *out,
	    char *err, size_t errlen);
int	reportstore_delivery_set(struct reportstore *store, long long begin,
	    const char *domain, const char *destination,
	    const struct reportstore_delivery *state, char *err, size_t errlen);
/* Marks a report done at time when. */
int	reportstore_done(struct reportstore *store, long long begin, const char *domain,
	    long long when, char *err, size_t errlen);
/* Records that signet-reports made the report (file or mail) at time when. */
int	reportstore_made(struct reportstore *store, long long begin, const char *domain,
	    long long when, char *err, size_t errlen);
int	reportstore_stats(struct reportstore *store, struct reportstore_stats *out,
	    char *err, size_t errlen);
/* Drops the reports done whose period began before `before` (counters, policy,
 * deliveries); *dropped says how many. */
int	reportstore_expire(struct reportstore *store, long long before, size_t *dropped,
	    char *err, size_t errlen);

#endif
