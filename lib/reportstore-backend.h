/*
 * NAME
 *	reportstore-backend.h - what a report store backend (SQLite, Redis) provides to
 *	reportstore.c; not for the store's users
 * SYNOPSIS
 *	#include "lib/reportstore-backend.h"
 * DESCRIPTION
 *	reportstore.c parses the spec, checks every argument once (domains, begins that
 *	are UTC midnights, row and policy texts that decode, delivery states) and then
 *	calls the backend, which may take its arguments as valid.  A backend embeds
 *	struct reportstore first and reports failures with reportstore_fail(), which puts
 *	the spec in front of the sentence.
 *
 *	list() hands back every report in an array (allocated, the caller frees it) rather
 *	than calling back, so that the callbacks of reportstore_list() may use the store.
 * SEE ALSO
 *	reportstore.h, reportstore.c, reportstore-sqlite.c, reportstore-redis.c
 */
#ifndef SIGNET_REPORTSTORE_BACKEND_H
#define SIGNET_REPORTSTORE_BACKEND_H

#include <stddef.h>

#include "lib/reportstore.h"

#define REPORTSTORE_SPEC_MAX	1024

struct reportstore_ops {
	int	(*add)(struct reportstore *store, const struct reportstore_count *counts,
		    size_t n, char *err, size_t errlen);
	int	(*list)(struct reportstore *store, struct reportstore_report **reports,
		    size_t *count, char *err, size_t errlen);
	int	(*read)(struct reportstore *store, long long begin, const char *domain,
		    char *policy, size_t size, reportstore_row_fn fn, void *ctx, char *err,
		    size_t errlen);
	int	(*delivery_get)(struct reportstore *store, long long begin, const char *domain,
		    const char *destination, struct reportstore_delivery *out, char *err,
		    size_t errlen);
	int	(*delivery_set)(struct reportstore *store, long long begin, const char *domain,
		    const char *destination, const struct reportstore_delivery *state,
		    char *err, size_t errlen);
	/* Sets the report's done (field 0) or made (field 1) time; fails when no report. */
	int	(*mark)(struct reportstore *store, long long begin, const char *domain,
		    int field, long long when, char *err, size_t errlen);
	int	(*stats)(struct reportstore *store, struct reportstore_stats *out, char *err,
		    size_t errlen);
	int	(*expire)(struct reportstore *store, long long before, size_t *dropped,
		    char *err, size_t errlen);
	void	(*close)(struct reportstore *store);
};

#define REPORTSTORE_MARK_DONE	0
#define REPORTSTORE_MARK_MADE	1

struct reportstore {
	const struct reportstore_ops *ops;
	char	spec[REPORTSTORE_SPEC_MAX];
};

/* "report store SPEC: " and the sentence, into err; returns 0. */
int	reportstore_fail(const struct reportstore *store, char *err, size_t errlen,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The backends: path after "sqlite:"; spec "redis://..." or "unix:/...".  The result's
 * spec is filled in by the backend. */
struct reportstore *reportstore_sqlite_open(const char *spec, const char *path, char *err,
	    size_t errlen);
struct reportstore *reportstore_redis_open(const char *spec, char *err, size_t errlen);

#endif
