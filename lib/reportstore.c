/*
 * NAME
 *	reportstore.c - the report store's front: picks the backend from the spec and checks
 *	every argument before a backend sees it
 * DESCRIPTION
 *	"sqlite:PATH" goes to reportstore-sqlite.c, "redis://..." and "unix:/..." to
 *	reportstore-redis.c (which parses them as RateLimitStore does, lib/redisconn.c).
 *
 *	What is checked here, once for both backends: a domain is 1 to 253 bytes; a begin
 *	is the first second of a UTC day; a counter's row and policy are texts that
 *	reportrow.c decodes, the policy being the policy domain's own; a count fits a
 *	signed 64-bit integer (what SQLite and HINCRBY count in); a destination is 1 to
 *	REPORT_URIS_MAX - 1 bytes; a delivery's state is one of the enum and its detail
 *	holds its NUL; a done or made time is after 1970 (0 means not yet).  So nothing
 *	malformed reaches the store, whoever calls it, and signet-reports can trust what it
 *	reads back as far as the decoder goes.
 * DIAGNOSTICS
 *	As reportstore.h says; a refused argument is reported as a sentence naming it.
 * SEE ALSO
 *	reportstore.h, reportstore-backend.h, reportrow.h
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/reportrow.h"
#include "lib/reportstore-backend.h"

int	reportstore_fail(const struct reportstore *store, char *err, size_t errlen,
    const char *fmt, ...)
{
	va_list	ap;
	int	n = snprintf(err, errlen, "report store %.120s: ", store->spec);

	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return 0;
}

struct reportstore *reportstore_open(const char *spec, char *err, size_t errlen)
{
	if (strlen(spec) >= REPORTSTORE_SPEC_MAX) {
		snprintf(err, errlen, "report store \"%.80s...\": longer than %d bytes", spec,
		    REPORTSTORE_SPEC_MAX - 1);
		return NULL;
	}
	if (strncmp(spec, "sqlite:", 7) == 0) {
		if (spec[7] == '\0') {
			snprintf(err, errlen, "report store \"%s\": want sqlite:PATH", spec);
			return NULL;
		}
		return reportstore_sqlite_open(spec, spec + 7, err, errlen);
	}
	if (strncmp(spec, "redis://", 8) == 0 || strncmp(spec, "unix:", 5) == 0)
		return reportstore_redis_open(spec, err, errlen);
	snprintf(err, errlen, "report store \"%.120s\": want sqlite:PATH, "
	    "redis://HOST[:PORT][/DB] or unix:/PATH", spec);
	return NULL;
}

void	reportstore_close(struct reportstore *store)
{
	if (store != NULL)
		store->ops->close(store);
}

/* ---- the checks -------------------------------------------------------------------- */

static int check_report(const struct reportstore *store, long long begin, const char *domain,
    char *err, size_t errlen)
{
	size_t	len = domain != NULL ? strnlen(domain, REPORT_DOMAIN_MAX) : 0;

	if (len == 0 || len >= REPORT_DOMAIN_MAX)
		return reportstore_fail(store, err, errlen, "a policy domain of 1 to %d bytes "
		    "is needed", REPORT_DOMAIN_MAX - 1);
	if (begin != report_period_begin(begin))
		return reportstore_fail(store, err, errlen, "%lld is not the first second of a "
		    "UTC day", begin);
	return 1;
}

static int check_count(const struct reportstore *store, const struct reportstore_count *c,
    char *err, size_t errlen)
{
	struct report_row row;
	struct report_policy policy;

	if (!check_report(store, c->begin, c->domain, err, errlen))
		return 0;
	if (c->policy == NULL || !report_policy_decode(c->policy, strlen(c->policy), &policy))
		return reportstore_fail(store, err, errlen, "the policy of %s is not a policy "
		    "text (reportrow.h)", c->domain);
	if (strcmp(policy.domain, c->domain) != 0)
		return reportstore_fail(store, err, errlen, "the policy of %s is %s's",
		    c->domain, policy.domain);
	if (c->row == NULL || !report_row_decode(c->row, strlen(c->row), &row))
		return reportstore_fail(store, err, errlen, "a row of %s is not a row text "
		    "(reportrow.h)", c->domain);
	if (c->count > (unsigned long)LLONG_MAX)
		return reportstore_fail(store, err, errlen, "a count of %lu is too large",
		    c->count);
	return 1;
}

static int check_destination(const struct reportstore *store, const char *destination,
    char *err, size_t errlen)
{
	size_t	len = destination != NULL ? strnlen(destination, REPORT_URIS_MAX) : 0;

	if (len == 0 || len >= REPORT_URIS_MAX)
		return reportstore_fail(store, err, errlen, "a destination of 1 to %d bytes "
		    "is needed", REPORT_URIS_MAX - 1);
	return 1;
}

/* done and made hold 0 for "not yet". */
static int check_when(const struct reportstore *store, long long when, char *err,
    size_t errlen)
{
	if (when <= 0)
		return reportstore_fail(store, err, errlen, "a time after 1970 is needed, not "
		    "%lld", when);
	return 1;
}

/* ---- the calls --------------------------------------------------------------------- */

int	reportstore_add(struct reportstore *store, const struct reportstore_count *counts,
    size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++)
		if (!check_count(store, &counts[i], err, errlen))
			return 0;
	return n == 0 || store->ops->add(store, counts, n, err, errlen);
}

int	reportstore_list(struct reportstore *store, reportstore_report_fn fn, void *ctx,
    char *err, size_t errlen)
{
	struct reportstore_report *reports = NULL;
	size_t	count = 0;

	if (!store->ops->list(store, &reports, &count, err, errlen))
		return 0;
	for (size_t i = 0; i < count && fn(ctx, &reports[i]); i++)
		continue;
	free(reports);
	return 1;
}

int	reportstore_read(struct reportstore *store, long long begin, const char *domain,
    char *policy, size_t size, reportstore_row_fn fn, void *ctx, char *err, size_t errlen)
{
	if (!check_report(store, begin, domain, err, errlen))
		return 0;
	return store->ops->read(store, begin, domain, policy, size, fn, ctx, err, errlen);
}

int	reportstore_delivery_get(struct reportstore *store, long long begin, const char *domain,
    const char *destination, struct reportstore_delivery *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (!check_report(store, begin, domain, err, errlen) ||
	    !check_destination(store, destination, err, errlen))
		return 0;
	return store->ops->delivery_get(store, begin, domain, destination, out, err, errlen);
}

int	reportstore_delivery_set(struct reportstore *store, long long begin, const char *domain,
    const char *destination, const struct reportstore_delivery *state, char *err,
    size_t errlen)
{
	if (!check_report(store, begin, domain, err, errlen) ||
	    !check_destination(store, destination, err, errlen))
		return 0;
	if ((unsigned)state->state > DELIVERY_SKIPPED)
		return reportstore_fail(store, err, errlen, "no delivery state %u",
		    (unsigned)state->state);
	if (strnlen(state->detail, sizeof(state->detail)) == sizeof(state->detail))
		return reportstore_fail(store, err, errlen, "a delivery detail without its end");
	return store->ops->delivery_set(store, begin, domain, destination, state, err, errlen);
}

int	reportstore_done(struct reportstore *store, long long begin, const char *domain,
    long long when, char *err, size_t errlen)
{
	if (!check_report(store, begin, domain, err, errlen) || !check_when(store, when, err,
	    errlen))
		return 0;
	return store->ops->mark(store, begin, domain, REPORTSTORE_MARK_DONE, when, err, errlen);
}

int	reportstore_made(struct reportstore *store, long long begin, const char *domain,
    long long when, char *err, size_t errlen)
{
	if (!check_report(store, begin, domain, err, errlen) || !check_when(store, when, err,
	    errlen))
		return 0;
	return store->ops->mark(store, begin, domain, REPORTSTORE_MARK_MADE, when, err, errlen);
}

int	reportstore_stats(struct reportstore *store, struct reportstore_stats *out, char *err,
    size_t errlen)
{
	memset(out, 0, sizeof(*out));
	return store->ops->stats(store, out, err, errlen);
}

int	reportstore_expire(struct reportstore *store, long long before, size_t *dropped,
    char *err, size_t errlen)
{
	*dropped = 0;
	return store->ops->expire(store, before, dropped, err, errlen);
}
