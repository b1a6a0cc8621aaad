/*
 * NAME
 *	test-reportstore - the SQLite report store: the cases every backend passes
 *	(storecases.h), then what is SQLite's own: the spec, the file's mode whatever the
 *	umask, WAL and the schema version, a batch that fails inside its transaction, a
 *	writer that waits for another, a reader that does not, and a writer killed with
 *	SIGKILL in the middle of its adds
 * DESCRIPTION
 *	Works in a mkdtemp(3) folder; the raw checks open the database with sqlite3 itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <sqlite3.h>

#include "lib/reportrow.h"
#include "lib/reportstore.h"
#include "tests/unit/tap.h"
#include "tests/unit/storecases.h"

static char dir[] = "/tmp/signet-reportstore-XXXXXX";
static char db_path[128], spec[160];

static void remove_db(void)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	char	path[192];

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", db_path, suffixes[i]);
		unlink(path);
	}
}

static sqlite3 *raw_open(void)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		printf("Bail out! raw open of %s: %s\n", db_path, db ? sqlite3_errmsg(db) : "?");
		exit(1);
	}
	sqlite3_busy_timeout(db, 10000);
	return db;
}

/* The first column of the first row of sql, as text ("" when none). */
static const char *raw_text(sqlite3 *db, const char *sql)
{
	static char out[256];
	sqlite3_stmt *stmt;

	out[0] = '\0';
	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		snprintf(out, sizeof(out), "error: %s", sqlite3_errmsg(db));
		return out;
	}
	if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != NULL)
		snprintf(out, sizeof(out), "%s", (const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	return out;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void opens(const char *s, int want, const char *name)
{
	char	err[512] = "";
	struct reportstore *st = reportstore_open(s, err, sizeof(err));

	if (want)
		TAP_OK(st != NULL, "%s (%s)", name, err);
	else
		TAP_OK(st == NULL && err[0] != '\0', "%s (%s)", name, err);
	reportstore_close(st);
}

static void specs(void)
{
	static const char not_a_database[] = "this is text, not a database\n";
	char	path[192];
	int	fd;

	opens("sqlite:", 0, "sqlite: without a path is refused");
	opens("mysql://localhost", 0, "an unknown kind of store is refused");
	opens("", 0, "an empty spec is refused");
	opens("sqlite:/nonexistent-signet/reports.db", 0,
	    "a database in a folder that is not there fails, saying why");
	remove_db();
	snprintf(path, sizeof(path), "%s/link.db", dir);
	fd = open(db_path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	if (symlink(db_path, path) != 0)
		printf("# symlink: %s\n", strerror(errno));
	snprintf(path, sizeof(path), "sqlite:%s/link.db", dir);
	opens(path, 0, "a symbolic link is refused");
	snprintf(path, sizeof(path), "%s/link.db", dir);
	unlink(path);
	remove_db();
	fd = open(db_path, O_CREAT | O_WRONLY, 0600);
	for (int i = 0; i < 20; i++)
		if (write(fd, not_a_database, sizeof(not_a_database) - 1) < 0)
			printf("# write: %s\n", strerror(errno));
	close(fd);
	opens(spec, 0, "a file that is not a database is refused");
	remove_db();
}

static void file_mode(mode_t mask, const char *name)
{
	struct storecases_texts *t = storecases_texts();
	struct reportstore_count c = {DAY1, "example.com", t->policy[0], t->row[0], 1};
	char	err[512] = "", wal[192];
	struct reportstore *st;
	struct stat sb, wb;
	mode_t	old = umask(mask);

	remove_db();
	st = reportstore_open(spec, err, sizeof(err));
	umask(old);
	snprintf(wal, sizeof(wal), "%s-wal", db_path);
	TAP_OK(st != NULL && reportstore_add(st, &c, 1, err, sizeof(err)) &&
	    stat(db_path, &sb) == 0 && stat(wal, &wb) == 0, "umask %03o: opened, added (%s)",
	    (unsigned)mask, err);
	TAP_INT_EQ(sb.st_mode & 07777, 0600, "umask %03o: a new database is mode 0600 (%s)",
	    (unsigned)mask, name);
	TAP_INT_EQ(wb.st_mode & 07777, 0600, "umask %03o: its WAL file too", (unsigned)mask);
	reportstore_close(st);
}

static void schema(void)
{
	struct reportstore *st;
	char	err[512] = "";
	sqlite3 *db;

	remove_db();
	st = reportstore_open(spec, err, sizeof(err));
	db = raw_open();
	TAP_STR_EQ(raw_text(db, "PRAGMA journal_mode"), "wal", "the database is in WAL mode");
	TAP_STR_EQ(raw_text(db, "PRAGMA user_version"), "1", "its schema version is 1");
	TAP_STR_EQ(raw_text(db, "SELECT group_concat(name, ' ') FROM (SELECT name FROM "
	    "sqlite_master WHERE type = 'table' ORDER BY name)"), "counter delivery report",
	    "its tables");
	reportstore_close(st);
	st = reportstore_open(spec, err, sizeof(err));
	TAP_OK(st != NULL, "an existing database opens again (%s)", err);
	reportstore_close(st);
	sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
	sqlite3_close(db);
	st = reportstore_open(spec, err, sizeof(err));
	TAP_OK(st == NULL && strstr(err, "99") != NULL,
	    "a database of a later schema version is refused (%s)", err);
	reportstore_close(st);
	remove_db();
}

/* A trigger makes the count 777 fail inside the transaction, after the counts before it
 * were written: the batch leaves nothing, not even a report it created. */
static void failed_batch(void)
{
	struct storecases_texts *t = storecases_texts();
	struct reportstore_count first = {DAY1, "example.com", t->policy[0], t->row[0], 1};
	struct reportstore_count batch[] = {
		{DAY1, "example.com", t->policy[1], t->row[0], 5},
		{DAY2, "example.org", t->policy[2], t->row[1], 1},
		{DAY1, "example.com", t->policy[1], t->row[2], 777},
	};
	struct storecases_listed l;
	struct reportstore *st = storecases_open(spec, remove_db);
	char	err[512] = "", policy[REPORT_ROW_TEXT_MAX];
	static struct storecases_rows rows;
	sqlite3 *db = raw_open();

	TAP_OK(sqlite3_exec(db, "CREATE TRIGGER poison BEFORE INSERT ON counter WHEN "
	    "NEW.count = 777 BEGIN SELECT RAISE(ABORT, 'poisoned'); END", NULL, NULL, NULL) ==
	    SQLITE_OK, "a trigger that fails the count 777");
	sqlite3_close(db);
	TAP_OK(reportstore_add(st, &first, 1, err, sizeof(err)), "a first batch (%s)", err);
	TAP_OK(!reportstore_add(st, batch, 3, err, sizeof(err)) && strstr(err, "poisoned") &&
	    strstr(err, spec), "a batch failing at its third count fails, saying why and "
	    "where (%s)", err);
	TAP_INT_EQ(storecases_count_of(st, DAY1, "example.com", t->row[0]), 1,
	    "the failed batch's addition to an existing row is undone");
	TAP_OK(reportstore_read(st, DAY1, "example.com", policy, sizeof(policy),
	    storecases_row_cb, &rows, err, sizeof(err)) && strcmp(policy, t->policy[0]) == 0,
	    "the failed batch's policy is undone");
	TAP_OK(storecases_list(st, &l) == 1, "the failed batch's new report is undone");
	batch[2].count = 7;
	err[0] = '\0';
	TAP_OK(reportstore_add(st, batch, 3, err, sizeof(err)) &&
	    storecases_count_of(st, DAY1, "example.com", t->row[0]) == 6,
	    "the same batch without the poison adds (%s)", err);
	reportstore_close(st);
}

/* A writer waits for another's transaction (the busy timeout); a reader does not.  The
 * second writer is forked before the first opens the database: SQLite's locks do not
 * survive a fork(2) of a process that has the file open. */
static void busy(void)
{
	struct storecases_texts *t = storecases_texts();
	struct reportstore_count c = {DAY1, "example.com", t->policy[0], t->row[0], 1};
	struct reportstore *st = storecases_open(spec, remove_db);
	struct storecases_listed l;
	char	err[512] = "", go = 'g';
	sqlite3 *db;
	double	start;
	pid_t	pid;
	int	status = -1, ready[2];
	size_t	n;

	TAP_OK(reportstore_add(st, &c, 1, err, sizeof(err)), "one count (%s)", err);
	reportstore_close(st);
	if (pipe(ready) != 0 || (pid = fork()) < 0) {
		TAP_OK(0, "pipe and fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		struct reportstore *other;
		double	began;
		int	ok;

		close(ready[1]);
		if (read(ready[0], &go, 1) != 1)
			_exit(3);
		began = now_ms();
		ok = (other = reportstore_open(spec, err, sizeof(err))) != NULL &&
		    reportstore_add(other, &c, 1, err, sizeof(err));
		if (!ok)
			printf("#   the second writer: %s\n", err);
		fflush(stdout);
		reportstore_close(other);
		_exit(!ok ? 1 : now_ms() - began < 250 ? 2 : 0);
	}
	close(ready[0]);
	db = raw_open();
	sqlite3_exec(db, "BEGIN IMMEDIATE; UPDATE counter SET count = 1000", NULL, NULL, NULL);
	if (write(ready[1], &go, 1) != 1)
		printf("# write: %s\n", strerror(errno));
	close(ready[1]);
	st = storecases_open(spec, NULL);
	start = now_ms();
	n = storecases_list(st, &l);
	TAP_OK(n == 1 && l.r[0].messages == 1 && now_ms() - start < 200, "a reader is not held "
	    "up by a writer's open transaction, and sees what was committed (%lu)",
	    l.r[0].messages);
	usleep(400 * 1000);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	waitpid(pid, &status, 0);
	TAP_OK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "a second writer waits for the first to commit, then adds (exit %d)",
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	TAP_INT_EQ(storecases_count_of(st, DAY1, "example.com", t->row[0]), 1001,
	    "both writes are there");
	reportstore_close(st);
}

#define KILL_AFTER	25	/* batches acknowledged before the kill */
#define SHARED_ROWS	10
#define REPEATS		20	/* each shared row appears this many times in a batch */

/* Batch i's own row: DKIM selector "batch<i>". */
static void marker_row(char *out, unsigned i)
{
	char	selector[24];

	snprintf(selector, sizeof(selector), "batch%u", i);
	storecases_row_named(out, "198.51.100.7", selector);
}

/* The child: batches of SHARED_ROWS * REPEATS counts of 1 and its marker, each
 * acknowledged on fd once reportstore_add() returned success, until killed. */
static void kill_writer(int fd)
{
	static char shared[SHARED_ROWS][REPORT_ROW_TEXT_MAX], marker[REPORT_ROW_TEXT_MAX];
	static struct reportstore_count batch[SHARED_ROWS * REPEATS + 1];
	struct storecases_texts *t = storecases_texts();
	char	err[512];
	struct reportstore *st = reportstore_open(spec, err, sizeof(err));

	for (unsigned j = 0; j < SHARED_ROWS; j++)
		storecases_row(shared[j], 100 + j);
	for (size_t k = 0; k < SHARED_ROWS * REPEATS; k++)
		batch[k] = (struct reportstore_count){DAY1, "example.com", t->policy[0],
		    shared[k % SHARED_ROWS], 1};
	for (unsigned i = 0; st != NULL; i++) {
		marker_row(marker, i);
		batch[SHARED_ROWS * REPEATS] = (struct reportstore_count){DAY1, "example.com",
		    t->policy[0], marker, 1};
		if (!reportstore_add(st, batch, SHARED_ROWS * REPEATS + 1, err, sizeof(err)) ||
		    write(fd, &i, sizeof(i)) != sizeof(i))
			_exit(1);
	}
	_exit(1);
}

static void killed_writer(void)
{
	char	err[512] = "", marker[REPORT_ROW_TEXT_MAX], shared[REPORT_ROW_TEXT_MAX];
	struct reportstore *st;
	unsigned acked = 0, got, present = 0, missing = 0, extra = 0;
	int	pipefd[2], status;
	pid_t	pid;
	sqlite3 *db;
	long long total = 0;

	remove_db();
	if (pipe(pipefd) != 0 || (pid = fork()) < 0) {
		TAP_OK(0, "pipe and fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		close(pipefd[0]);
		kill_writer(pipefd[1]);
	}
	close(pipefd[1]);
	while (acked < KILL_AFTER && read(pipefd[0], &got, sizeof(got)) == sizeof(got))
		acked = got + 1;
	srand((unsigned)time(NULL));
	usleep((useconds_t)(rand() % 20000));
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	while (read(pipefd[0], &got, sizeof(got)) == sizeof(got))
		acked = got + 1;	/* acknowledged before it died */
	close(pipefd[0]);
	TAP_OK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && acked >= KILL_AFTER,
	    "a writer killed with SIGKILL after %u acknowledged batches", acked);

	db = raw_open();
	TAP_STR_EQ(raw_text(db, "PRAGMA integrity_check"), "ok",
	    "the database passes PRAGMA integrity_check");
	sqlite3_close(db);
	st = reportstore_open(spec, err, sizeof(err));
	if (!TAP_OK(st != NULL, "the store opens (%s)", err))
		return;
	for (unsigned i = 0; i < acked + 5; i++) {
		marker_row(marker, i);
		long long n = storecases_count_of(st, DAY1, "example.com", marker);

		if (n == 1)
			present++;
		if (i < acked && n != 1)
			missing++;
		if (i > acked && n != 0)
			extra++;
	}
	TAP_INT_EQ(missing, 0, "every acknowledged batch is there");
	TAP_INT_EQ(extra, 0, "nothing after the batch in flight is there");
	TAP_OK(present == acked || present == acked + 1, "the batch in flight is there or "
	    "not (%u present, %u acknowledged)", present, acked);
	for (unsigned j = 0; j < SHARED_ROWS; j++) {
		storecases_row(shared, 100 + j);
		total += storecases_count_of(st, DAY1, "example.com", shared);
	}
	TAP_INT_EQ(total, (long long)present * SHARED_ROWS * REPEATS,
	    "the shared rows hold exactly the batches there, whole (no half batch)");
	reportstore_close(st);
}

static void cleanup(void)
{
	remove_db();
	rmdir(dir);
}

int	main(void)
{
	if (mkdtemp(dir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	atexit(cleanup);
	snprintf(db_path, sizeof(db_path), "%s/reports.db", dir);
	snprintf(spec, sizeof(spec), "sqlite:%s", db_path);
	storecases_run(spec, remove_db);
	specs();
	file_mode(0, "umask 0 would give 0600 anyway");
	file_mode(0277, "umask 0277 would give 0400");
	file_mode(0077, "umask 0077");
	schema();
	failed_batch();
	busy();
	killed_writer();
	return tap_done();
}
