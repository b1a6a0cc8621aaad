/*
 * NAME
 *	reportstore-sqlite.c - the report store in one SQLite database (ReportStore
 *	sqlite:PATH)
 * DESCRIPTION
 *	Tables (schema version 1, in PRAGMA user_version):
 *	    report(period, domain, policy, made, done)		one per report
 *	    counter(period, domain, row, count)			its rows
 *	    delivery(period, domain, destination, state, attempts, next_try, changed,
 *	        detail)						signet-reports' sends
 *	"period" is reportstore.h's begin (BEGIN is an SQL word).  They are created in the
 *	first transaction that finds user_version 0; a database of a later version is
 *	refused rather than misread.
 *
 *	Two processes share the file: the daemon adds, signet-reports reads and keeps
 *	delivery states.  WAL mode lets a reader go on while the writer writes; every
 *	write is one BEGIN IMMEDIATE transaction, so two writers queue on the busy timeout
 *	(BUSY_TIMEOUT_MS) instead of failing, and a writer never has to upgrade a read
 *	(which WAL may refuse).  synchronous=FULL: a batch reportstore_add() said was added
 *	is on disk, since the daemon forgets it then.  A writer killed mid-transaction
 *	leaves an uncommitted WAL tail that the next opener ignores.
 *
 *	The file is created here, mode 0600 whatever the umask (it holds client
 *	addresses), before SQLite opens it; SQLite gives its -wal and -shm files the same
 *	mode.  A symbolic link is refused (O_NOFOLLOW, SQLITE_OPEN_NOFOLLOW).
 * SEE ALSO
 *	reportstore.h, reportstore-backend.h, sqlite3(1)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "lib/alloc.h"
#include "lib/grow.h"
#include "lib/reportstore-backend.h"

#define SCHEMA_VERSION	1
#define BUSY_TIMEOUT_MS	10000

static const char schema_sql[] =
    "CREATE TABLE report (period INTEGER NOT NULL, domain TEXT NOT NULL, "
    "policy TEXT NOT NULL, made INTEGER NOT NULL DEFAULT 0, done INTEGER NOT NULL DEFAULT 0, "
    "PRIMARY KEY (period, domain)) WITHOUT ROWID;"
    "CREATE TABLE counter (period INTEGER NOT NULL, domain TEXT NOT NULL, row TEXT NOT NULL, "
    "count INTEGER NOT NULL, PRIMARY KEY (period, domain, row)) WITHOUT ROWID;"
    "CREATE TABLE delivery (period INTEGER NOT NULL, domain TEXT NOT NULL, "
    "destination TEXT NOT NULL, state INTEGER NOT NULL, attempts INTEGER NOT NULL, "
    "next_try INTEGER NOT NULL, changed INTEGER NOT NULL, detail TEXT NOT NULL, "
    "PRIMARY KEY (period, domain, destination)) WITHOUT ROWID;"
    "PRAGMA user_version = 1;";

struct sqlite_store {
	struct reportstore base;
	sqlite3 *db;
};

/* ---- small helpers ----------------------------------------------------------------- */

static int fail_db(struct sqlite_store *s, char *err, size_t errlen, const char *what)
{
	return reportstore_fail(&s->base, err, errlen, "%s: %s", what, sqlite3_errmsg(s->db));
}

static int exec(struct sqlite_store *s, const char *sql, const char *what, char *err,
    size_t errlen)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return fail_db(s, err, errlen, what);
	return 1;
}

/* sql prepared, with ?1 and ?2 bound to period and domain when domain is not NULL. */
static sqlite3_stmt *prepare(struct sqlite_store *s, const char *sql, long long period,
    const char *domain, char *err, size_t errlen)
{
	sqlite3_stmt *stmt = NULL;

	if (sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		fail_db(s, err, errlen, "cannot prepare a statement");
		return NULL;
	}
	if (domain != NULL && (sqlite3_bind_int64(stmt, 1, period) != SQLITE_OK ||
	    sqlite3_bind_text(stmt, 2, domain, -1, SQLITE_STATIC) != SQLITE_OK)) {
		fail_db(s, err, errlen, "cannot bind a value");
		sqlite3_finalize(stmt);
		return NULL;
	}
	return stmt;
}

/* Runs a statement that returns no row, then finalizes it. */
static int run(struct sqlite_store *s, sqlite3_stmt *stmt, const char *what, char *err,
    size_t errlen)
{
	int	ok;

	if (stmt == NULL)
		return 0;
	if (!(ok = sqlite3_step(stmt) == SQLITE_DONE))
		fail_db(s, err, errlen, what);
	sqlite3_finalize(stmt);
	return ok;
}

/* Ends a write transaction: COMMIT when ok, else (or when that fails) ROLLBACK; err
 * already says why when ok is 0. */
static int finish(struct sqlite_store *s, int ok, char *err, size_t errlen)
{
	if (ok && exec(s, "COMMIT", "cannot commit", err, errlen))
		return 1;
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return 0;
}

/* ---- adding ------------------------------------------------------------------------ */

static const char upsert_report_sql[] =
    "INSERT INTO report (period, domain, policy) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (period, domain) DO UPDATE SET policy = excluded.policy";
static const char upsert_counter_sql[] =
    "INSERT INTO counter (period, domain, row, count) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (period, domain, row) DO UPDATE SET count = count + excluded.count";

static int step_count(struct sqlite_store *s, sqlite3_stmt *report, sqlite3_stmt *counter,
    const struct reportstore_count *c, char *err, size_t errlen)
{
	int	ok;

	ok = sqlite3_bind_int64(report, 1, c->begin) == SQLITE_OK &&
	    sqlite3_bind_text(report, 2, c->domain, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_text(report, 3, c->policy, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(report) == SQLITE_DONE &&
	    sqlite3_bind_int64(counter, 1, c->begin) == SQLITE_OK &&
	    sqlite3_bind_text(counter, 2, c->domain, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_text(counter, 3, c->row, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_int64(counter, 4, (sqlite3_int64)c->count) == SQLITE_OK &&
	    sqlite3_step(counter) == SQLITE_DONE;
	if (!ok)
		fail_db(s, err, errlen, "cannot add a count");
	sqlite3_reset(report);
	sqlite3_reset(counter);
	return ok;
}

static int sqlite_add(struct reportstore *store, const struct reportstore_count *counts,
    size_t n, char *err, size_t errlen)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	sqlite3_stmt *report, *counter = NULL;
	int	ok;

	if (!exec(s, "BEGIN IMMEDIATE", "cannot begin a transaction", err, errlen))
		return 0;
	ok = (report = prepare(s, upsert_report_sql, 0, NULL, err, errlen)) != NULL &&
	    (counter = prepare(s, upsert_counter_sql, 0, NULL, err, errlen)) != NULL;
	for (size_t i = 0; ok && i < n; i++)
		ok = step_count(s, report, counter, &counts[i], err, errlen);
	sqlite3_finalize(report);
	sqlite3_finalize(counter);
	return finish(s, ok, err, errlen);
}

/* ---- reading ----------------------------------------------------------------------- */

static const char list_sql[] =
    "SELECT r.period, r.domain, r.done, COALESCE(SUM(c.count), 0), COUNT(c.row) "
    "FROM report r LEFT JOIN counter c ON c.period = r.period AND c.domain = r.domain "
    "GROUP BY r.period, r.domain ORDER BY r.period, r.domain";

static int sqlite_list(struct reportstore *store, struct reportstore_report **reports,
    size_t *count, char *err, size_t errlen)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	sqlite3_stmt *stmt = prepare(s, list_sql, 0, NULL, err, errlen);
	struct reportstore_report *all = NULL, *grown, *r;
	size_t	n = 0, cap = 0;
	int	rc = SQLITE_ERROR;

	while (stmt != NULL && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if ((grown = array_grow(all, &cap, n + 1, sizeof(*all))) == NULL) {
			reportstore_fail(store, err, errlen, "out of memory listing the reports");
			break;
		}
		all = grown;
		r = &all[n++];
		memset(r, 0, sizeof(*r));
		r->begin = sqlite3_column_int64(stmt, 0);
		snprintf(r->domain, sizeof(r->domain), "%s",
		    (const char *)sqlite3_column_text(stmt, 1));
		r->done = sqlite3_column_int64(stmt, 2);
		r->messages = (unsigned long)sqlite3_column_int64(stmt, 3);
		r->rows = (size_t)sqlite3_column_int64(stmt, 4);
	}
	if (stmt != NULL && rc != SQLITE_DONE && rc != SQLITE_ROW)
		fail_db(s, err, errlen, "cannot list the reports");
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		free(all);
		return 0;
	}
	*reports = all;
	*count = n;
	return 1;
}

/* The report's policy into policy (size bytes); 0 with err when there is no report. */
static int read_policy(struct sqlite_store *s, long long begin, const char *domain,
    char *policy, size_t size, char *err, size_t errlen)
{
	sqlite3_stmt *stmt = prepare(s, "SELECT policy FROM report WHERE period = ?1 AND "
	    "domain = ?2", begin, domain, err, errlen);
	int	rc, ok = 0;

	if (stmt == NULL)
		return 0;
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(stmt, 0);

		if (!(ok = text != NULL && strlen(text) < size && size > 0))
			reportstore_fail(&s->base, err, errlen, "the policy of %s does not fit "
			    "in %zu bytes", domain, size);
		else
			memcpy(policy, text, strlen(text) + 1);
	} else if (rc == SQLITE_DONE) {
		reportstore_fail(&s->base, err, errlen, "no report for %s of %lld", domain, begin);
	} else {
		fail_db(s, err, errlen, "cannot read a report");
	}
	sqlite3_finalize(stmt);
	return ok;
}

static int sqlite_read(struct reportstore *store, long long begin, const char *domain,
    char *policy, size_t size, reportstore_row_fn fn, void *ctx, char *err, size_t errlen)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	sqlite3_stmt *stmt;
	int	rc = SQLITE_DONE;

	if (!read_policy(s, begin, domain, policy, size, err, errlen))
		return 0;
	stmt = prepare(s, "SELECT row, count FROM counter WHERE period = ?1 AND domain = ?2 "
	    "ORDER BY row", begin, domain, err, errlen);
	if (stmt == NULL)
		return 0;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW &&
	    fn(ctx, (const char *)sqlite3_column_text(stmt, 0),
	    (unsigned long)sqlite3_column_int64(stmt, 1)))
		continue;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		fail_db(s, err, errlen, "cannot read the rows of a report");
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE || rc == SQLITE_ROW;
}

/* ---- deliveries and marks ---------------------------------------------------------- */

static int sqlite_delivery_get(struct reportstore *store, long long begin, const char *domain,
    const char *destination, struct reportstore_delivery *out, char *err, size_t errlen)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	sqlite3_stmt *stmt = prepare(s, "SELECT state, attempts, next_try, changed, detail "
	    "FROM delivery WHERE period = ?1 AND domain = ?2 AND destination = ?3", begin,
	    domain, err, errlen);
	int	rc, ok = 1;

	if (stmt == NULL)
		return 0;
	if (sqlite3_bind_text(stmt, 3, destination, -1, SQLITE_STATIC) != SQLITE_OK)
		rc = SQLITE_ERROR;
	else
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		sqlite3_int64 state = sqlite3_column_int64(stmt, 0);

		if (state < DELIVERY_NONE || state > DELIVERY_SKIPPED)
			ok = reportstore_fail(store, err, errlen, "delivery state %lld in the "
			    "database", (long long)state);
		out->state = (enum reportstore_delivery_state)state;
		out->attempts = (unsigned)sqlite3_column_int64(stmt, 1);
		out->next_try = sqlite3_column_int64(stmt, 2);
		out->when = sqlite3_column_int64(stmt, 3);
		snprintf(out->detail, sizeof(out->detail), "%s",
		    (const char *)sqlite3_column_text(stmt, 4));
	} else if (rc != SQLITE_DONE) {
		ok = fail_db(s, err, errlen, "cannot read a delivery state");
	}
	sqlite3_finalize(stmt);
	if (!ok)
		memset(out, 0, sizeof(*out));
	return ok;
}

static const char delivery_set_sql[] =
    "INSERT INTO delivery (period, domain, destination, state, attempts, next_try, changed, "
    "detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
    "ON CONFLICT (period, domain, destination) DO UPDATE SET state = excluded.state, "
    "attempts = excluded.attempts, next_try = excluded.next_try, "
    "changed = excluded.changed, detail = excluded.detail";

static int sqlite_delivery_set(struct reportstore *store, long long begin, const char *domain,
    const char *destination, const struct reportstore_delivery *state, char *err,
    size_t errlen)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	sqlite3_stmt *stmt = prepare(s, delivery_set_sql, begin, domain, err, errlen);

	if (stmt != NULL && (sqlite3_bind_text(stmt, 3, destination, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int64(stmt, 4, state->state) ||
	    sqlite3_bind_int64(stmt, 5, state->attempts) ||
	    sqlite3_bind_int64(stmt, 6, state->next_try) ||
	    sqlite3_bind_int64(stmt, 7, state->when) ||
	    sqlite3_bind_text(stmt, 8, state->detail, -1, SQLITE_STATIC))) {
		fail_db(s, err, errlen, "cannot bind a value");
		sqlite3_finalize(stmt);
		return 0;
	}
	return run(s, stmt, "cannot keep a delivery state", err, errlen);
}

static int sqlite_mark(struct reportstore *store, long long begin, const char *domain,
    int field, long long when, char *err, size_t errlen)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	sqlite3_stmt *stmt = prepare(s, field == REPORTSTORE_MARK_DONE ?
	    "UPDATE report SET done = ?3 WHERE period = ?1 AND domain = ?2" :
	    "UPDATE report SET made = ?3 WHERE period = ?1 AND domain = ?2", begin, domain,
	    err, errlen);

	if (stmt != NULL && sqlite3_bind_int64(stmt, 3, when) != SQLITE_OK) {
		fail_db(s, err, errlen, "cannot bind a value");
		sqlite3_finalize(stmt);
		return 0;
	}
	if (!run(s, stmt, "cannot mark a report", err, errlen))
		return 0;
	if (sqlite3_changes(s->db) == 0)
		return reportstore_fail(store, err, errlen, "no report for %s of %lld", domain,
		    begin);
	return 1;
}

/* ---- stats and expiry -------------------------------------------------------------- */

/* A query of one number. */
static int number(struct sqlite_store *s, const char *sql, unsigned long *out, char *err,
    size_t errlen)
{
	sqlite3_stmt *stmt = prepare(s, sql, 0, NULL, err, errlen);
	int	ok;

	if (stmt == NULL)
		return 0;
	if ((ok = sqlite3_step(stmt) == SQLITE_ROW))
		*out = (unsigned long)sqlite3_column_int64(stmt, 0);
	else
		fail_db(s, err, errlen, "cannot count");
	sqlite3_finalize(stmt);
	return ok;
}

static int sqlite_stats(struct reportstore *store, struct reportstore_stats *out, char *err,
    size_t errlen)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	sqlite3_stmt *stmt;
	int	rc;

	if (!number(s, "SELECT COUNT(*) FROM report WHERE done = 0", &out->reports_pending, err,
	    errlen) || !number(s, "SELECT COUNT(*) FROM report WHERE made > 0",
	    &out->reports_made, err, errlen))
		return 0;
	stmt = prepare(s, "SELECT state, COUNT(*) FROM delivery GROUP BY state", 0, NULL, err,
	    errlen);
	if (stmt == NULL)
		return 0;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		sqlite3_int64 state = sqlite3_column_int64(stmt, 0);

		if (state >= DELIVERY_NONE && state <= DELIVERY_SKIPPED)
			out->deliveries[state] = (unsigned long)sqlite3_column_int64(stmt, 1);
	}
	if (rc != SQLITE_DONE)
		fail_db(s, err, errlen, "cannot count the deliveries");
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE;
}

static int sqlite_expire(struct reportstore *store, long long before, size_t *dropped,
    char *err, size_t errlen)
{
	static const char *const sql[] = {
		"DELETE FROM counter WHERE (period, domain) IN (SELECT period, domain FROM "
		    "report WHERE done > 0 AND period < ?1)",
		"DELETE FROM delivery WHERE (period, domain) IN (SELECT period, domain FROM "
		    "report WHERE done > 0 AND period < ?1)",
		"DELETE FROM report WHERE done > 0 AND period < ?1",
	};
	struct sqlite_store *s = (struct sqlite_store *)store;
	int	ok = exec(s, "BEGIN IMMEDIATE", "cannot begin a transaction", err, errlen);

	if (!ok)
		return 0;
	for (size_t i = 0; ok && i < sizeof(sql) / sizeof(sql[0]); i++) {
		sqlite3_stmt *stmt = prepare(s, sql[i], 0, NULL, err, errlen);

		if (stmt != NULL && sqlite3_bind_int64(stmt, 1, before) != SQLITE_OK) {
			sqlite3_finalize(stmt);
			stmt = NULL;
			fail_db(s, err, errlen, "cannot bind a value");
		}
		ok = run(s, stmt, "cannot expire reports", err, errlen);
	}
	if (ok)
		*dropped = (size_t)sqlite3_changes(s->db);
	return finish(s, ok, err, errlen);
}

/* ---- life -------------------------------------------------------------------------- */

static void sqlite_close(struct reportstore *store)
{
	struct sqlite_store *s = (struct sqlite_store *)store;

	sqlite3_close_v2(s->db);
	free(s);
}

static const struct reportstore_ops sqlite_ops = {
	sqlite_add, sqlite_list, sqlite_read, sqlite_delivery_get, sqlite_delivery_set,
	sqlite_mark, sqlite_stats, sqlite_expire, sqlite_close,
};

/* Creates path, mode 0600 whatever the umask, unless it exists. */
static int create_private(struct sqlite_store *s, const char *path, char *err, size_t errlen)
{
	int	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0 && errno == EEXIST)
		return 1;
	if (fd < 0 || fchmod(fd, 0600) != 0 || close(fd) != 0) {
		int	saved = errno;

		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		return reportstore_fail(&s->base, err, errlen, "cannot create the database: %s",
		    strerror(saved));
	}
	return 1;
}

/* The schema version; when 0 (a new database), the tables are created first, in a
 * transaction that looks again (another process may have just made them). */
static int check_schema(struct sqlite_store *s, char *err, size_t errlen)
{
	unsigned long version = 0;
	int	ok;

	if (!number(s, "PRAGMA user_version", &version, err, errlen))
		return 0;
	if (version == 0) {
		if (!exec(s, "BEGIN IMMEDIATE", "cannot begin a transaction", err, errlen))
			return 0;
		ok = number(s, "PRAGMA user_version", &version, err, errlen);
		if (ok && version == 0) {
			ok = exec(s, schema_sql, "cannot create the tables", err, errlen);
			version = SCHEMA_VERSION;
		}
		if (!finish(s, ok, err, errlen))
			return 0;
	}
	if (version != SCHEMA_VERSION)
		return reportstore_fail(&s->base, err, errlen, "schema version %lu, this Signet "
		    "knows %d", version, SCHEMA_VERSION);
	return 1;
}

/* WAL, FULL sync, the busy timeout, the tables. */
static int prepare_database(struct sqlite_store *s, char *err, size_t errlen)
{
	sqlite3_stmt *stmt;
	int	ok;

	if (sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS) != SQLITE_OK)
		return fail_db(s, err, errlen, "cannot set the busy timeout");
	if ((stmt = prepare(s, "PRAGMA journal_mode = WAL", 0, NULL, err, errlen)) == NULL)
		return 0;
	ok = sqlite3_step(stmt) == SQLITE_ROW &&
	    strcmp((const char *)sqlite3_column_text(stmt, 0), "wal") == 0;
	if (!ok)
		fail_db(s, err, errlen, "cannot use WAL mode");
	sqlite3_finalize(stmt);
	return ok && exec(s, "PRAGMA synchronous = FULL", "cannot set synchronous", err, errlen) &&
	    check_schema(s, err, errlen);
}

struct reportstore *reportstore_sqlite_open(const char *spec, const char *path, char *err,
    size_t errlen)
{
	struct sqlite_store *s = mem_calloc(1, sizeof(*s));

	if (s == NULL) {
		snprintf(err, errlen, "report store %.120s: out of memory", spec);
		return NULL;
	}
	s->base.ops = &sqlite_ops;
	snprintf(s->base.spec, sizeof(s->base.spec), "%s", spec);
	if (!create_private(s, path, err, errlen)) {
		free(s);
		return NULL;
	}
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW,
	    NULL) != SQLITE_OK) {
		if (s->db == NULL)
			reportstore_fail(&s->base, err, errlen, "cannot open: out of memory");
		else
			fail_db(s, err, errlen, "cannot open");
		sqlite_close(&s->base);
		return NULL;
	}
	if (!prepare_database(s, err, errlen)) {
		sqlite_close(&s->base);
		return NULL;
	}
	return &s->base;
}
