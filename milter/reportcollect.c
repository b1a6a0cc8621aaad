/*
 * NAME
 *	reportcollect.c - DMARC aggregate-report counts: counted in memory by the milter
 *	threads, written to ReportStore by one flusher thread (see reportcollect.h)
 * DESCRIPTION
 *	Who owns what.  The milter threads count into `live` under table_lock, held for a
 *	hash lookup and an insert, never across I/O.  The flusher alone owns `pending`
 *	(what it took from live and the store has not taken yet), the store handle and its
 *	spec: at each flush it swaps live for an empty table under table_lock, merges what
 *	it took into pending outside the lock (reporttable_merge(): node moves, no
 *	allocation), and hands pending to reportstore_add() whole.  Success empties
 *	pending; failure keeps it for the next flush, so nothing is written twice and
 *	nothing is lost while the daemon runs.
 *
 *	The bound.  ReportMemoryRows counts the rows of live plus those of pending (a row
 *	in both counts twice, which errs on the safe side).  A message that needs a new
 *	row past it is not counted: the counter of dropped messages grows, and the log
 *	says so once when dropping begins and once when a new row fits again.
 *
 *	Control.  `lock` guards the requests to the flusher: a waiter takes a ticket
 *	(++requested) and waits until completed reaches it; the flusher flushes at its
 *	deadline, at a request, or at stop.  A reload's new settings travel with its
 *	request and are applied after that flush, so the counts made under the old
 *	ReportStore go there.  Lock order: lock, then table_lock (never the reverse; the
 *	flusher holds neither during store I/O).
 *
 *	The collector is one static object, never freed: a message that finishes after
 *	reportcollect_stop() finds live NULL and counts nothing.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/alloc.h"
#include "lib/log.h"
#include "milter/reportcollect.h"
#include "milter/reporttable.h"

#define RELOAD_WAIT_SECONDS 30

static const struct reportcollect_store_ops real_store = {
	reportstore_open, reportstore_close, reportstore_add, reportstore_stats,
};

static struct collector {
	pthread_mutex_t table_lock;
	struct reporttable *live;	/* NULL while not running */
	size_t	live_rows;		/* under table_lock */
	int	dropping;		/* under table_lock: an episode of drops is on */
	unsigned long dropped_now;	/* under table_lock: messages dropped in it */
	atomic_size_t pending_rows;	/* rows of pending: written by the flusher */
	atomic_long max_rows;

	pthread_mutex_t lock;
	pthread_cond_t wake;		/* to the flusher */
	pthread_cond_t done;		/* to the waiters */
	int	running, stopping, conds_ready;
	unsigned long requested, completed;
	int	last_ok;
	char   *next_spec;		/* a reload's settings, taken by the next flush */
	long	next_interval, next_rows;
	pthread_t thread;

	/* the flusher's own */
	const struct reportcollect_store_ops *ops;
	struct reporttable *pending, *spare;
	struct reportstore *store;
	char   *spec;
	long	interval;
	int	store_down;

	/* metrics */
	atomic_ulong messages, dropped, store_errors, flushes;
	atomic_int store_up, have_stats;
	atomic_ulong reports_pending, reports_made, deliveries[METRICS_DELIVERY_STATES];
} C = {
	.table_lock = PTHREAD_MUTEX_INITIALIZER,
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

void	reportcollect_set_store_ops(const struct reportcollect_store_ops *ops)
{
	C.ops = ops;
}

static unsigned long peek(atomic_ulong *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static void bump(atomic_ulong *v)
{
	atomic_fetch_add_explicit(v, 1, memory_order_relaxed);
}

/* ---- counting (milter threads) -------------------------------------------------------- */

enum count_note { NOTE_NONE, NOTE_DROPPING, NOTE_RESUMED };

/* Under table_lock: counts one message, or drops it at the bound or without memory. */
static enum count_note count_locked(long long begin, const char *domain, const char *policy,
    const char *row, unsigned long *dropped_before)
{
	size_t	held = C.live_rows + atomic_load(&C.pending_rows);
	int	room = held < (size_t)atomic_load(&C.max_rows);

	switch (reporttable_add(C.live, begin, domain, policy, row, 1, room)) {
	case REPORTTABLE_NEW_ROW:
		C.live_rows++;
		/* FALLTHROUGH */
	case REPORTTABLE_COUNTED:
		bump(&C.messages);
		if (!C.dropping)
			return NOTE_NONE;
		C.dropping = 0;
		*dropped_before = C.dropped_now;
		return NOTE_RESUMED;
	case REPORTTABLE_FULL:
	case REPORTTABLE_NOMEM:
		break;
	}
	bump(&C.dropped);
	C.dropped_now++;
	if (C.dropping)
		return NOTE_NONE;
	C.dropping = 1;
	C.dropped_now = 1;
	*dropped_before = held;		/* rows held, for the log line */
	return NOTE_DROPPING;
}

void	reportcollect_count(const struct report_row *row, const struct report_policy *policy,
    long long now)
{
	/* The texts on the heap: they are too large for a milter thread's stack. */
	char   *row_text = mem_malloc(2 * REPORT_ROW_TEXT_MAX);
	char   *policy_text = row_text + REPORT_ROW_TEXT_MAX;
	long long begin = report_period_begin(now);
	enum count_note note = NOTE_NONE;
	unsigned long figure = 0;

	if (row_text == NULL || report_row_encode(row, row_text, REPORT_ROW_TEXT_MAX) == 0 ||
	    report_policy_encode(policy, policy_text, REPORT_ROW_TEXT_MAX) == 0) {
		bump(&C.dropped);
		log_msg(LOG_LEVEL_ERROR, "DMARC reports: a row of %s: %s: not counted",
		    policy->domain, row_text == NULL ? "out of memory" : "does not encode");
		free(row_text);
		return;
	}
	pthread_mutex_lock(&C.table_lock);
	if (C.live != NULL)
		note = count_locked(begin, policy->domain, policy_text, row_text, &figure);
	pthread_mutex_unlock(&C.table_lock);
	free(row_text);
	if (note == NOTE_DROPPING)
		log_msg(LOG_LEVEL_WARNING, "DMARC reports: %lu distinct rows wait in memory "
		    "(ReportMemoryRows %ld): messages needing a new row are not counted until "
		    "ReportStore takes them", figure, atomic_load(&C.max_rows));
	else if (note == NOTE_RESUMED)
		log_msg(LOG_LEVEL_NOTICE, "DMARC reports: counting new rows again; %lu message(s) "
		    "were not counted", figure);
}

/* ---- flushing (the flusher thread) ---------------------------------------------------- */

/* Moves what live holds into pending; 0 when no empty table could be made for live. */
static int take_live(void)
{
	struct reporttable *taken;

	if (C.spare == NULL && (C.spare = reporttable_new()) == NULL)
		return 0;
	pthread_mutex_lock(&C.table_lock);
	taken = C.live;
	C.live = C.spare;
	atomic_fetch_add(&C.pending_rows, C.live_rows);
	C.live_rows = 0;
	pthread_mutex_unlock(&C.table_lock);
	reporttable_merge(C.pending, taken);
	C.spare = taken;		/* empty now */
	atomic_store(&C.pending_rows, reporttable_rows(C.pending));
	return 1;
}

static void store_failed(const char *err)
{
	bump(&C.store_errors);
	atomic_store(&C.store_up, 0);
	if (C.store_down) {
		log_msg(LOG_LEVEL_DEBUG, "DMARC reports: ReportStore %s still unavailable: %s",
		    C.spec, err);
		return;
	}
	C.store_down = 1;
	log_msg(LOG_LEVEL_WARNING, "DMARC reports: ReportStore %s unavailable: %s; %zu row(s) "
	    "(%lu message(s)) wait in memory, tried again every %ld s", C.spec, err,
	    reporttable_rows(C.pending), reporttable_messages(C.pending), C.interval);
}

static void read_store_stats(void)
{
	struct reportstore_stats st;
	char	err[256];

	if (!C.ops->stats(C.store, &st, err, sizeof(err))) {
		atomic_store(&C.have_stats, 0);
		log_msg(LOG_LEVEL_DEBUG, "DMARC reports: statistics of %s: %s", C.spec, err);
		return;
	}
	atomic_store(&C.reports_pending, st.reports_pending);
	atomic_store(&C.reports_made, st.reports_made);
	for (size_t i = 0; i < METRICS_DELIVERY_STATES; i++)
		atomic_store(&C.deliveries[i], st.deliveries[i]);
	atomic_store(&C.have_stats, 1);
}

/* Writes pending to the store; 1 when nothing is left to write.  asked: a flush someone
 * waits for (SIGHUP, exit, a test), logged at notice rather than debug. */
static int flush_once(int asked)
{
	struct reportstore_count *counts = NULL;
	size_t	n = 0, rows;
	unsigned long messages;
	char	err[512] = "";

	if (!take_live())
		log_msg(LOG_LEVEL_ERROR, "DMARC reports: out of memory taking the counts");
	if (C.store == NULL && (C.store = C.ops->open(C.spec, err, sizeof(err))) == NULL) {
		store_failed(err);
		return reporttable_rows(C.pending) == 0;
	}
	rows = reporttable_rows(C.pending);
	messages = reporttable_messages(C.pending);
	if (rows > 0 && (counts = reporttable_counts(C.pending, &n)) == NULL) {
		log_msg(LOG_LEVEL_ERROR, "DMARC reports: out of memory listing %zu rows", rows);
		return 0;
	}
	if (rows > 0 && !C.ops->add(C.store, counts, n, err, sizeof(err))) {
		free(counts);
		store_failed(err);
		C.ops->close(C.store);		/* reopened (reconnected) next time */
		C.store = NULL;
		return 0;
	}
	free(counts);
	reporttable_clear(C.pending);
	atomic_store(&C.pending_rows, 0);
	atomic_store(&C.store_up, 1);
	if (rows > 0)
		bump(&C.flushes);
	if (C.store_down)
		log_msg(LOG_LEVEL_NOTICE, "DMARC reports: ReportStore %s is back: %zu row(s) "
		    "(%lu message(s)) written", C.spec, rows, messages);
	else
		log_msg(asked ? LOG_LEVEL_NOTICE : LOG_LEVEL_DEBUG, "DMARC reports: flushed %zu "
		    "row(s) (%lu message(s)) to %s", rows, messages, C.spec);
	C.store_down = 0;
	read_store_stats();
	return 1;
}

/* A reload's settings, taken with its ticket (under lock) and applied after the flush
 * that ticket asked for, so the counts made before the reload go to the old store. */
struct settings {
	char   *spec;			/* NULL: none asked for */
	long	interval, rows;
};

static struct settings take_settings(void)
{
	struct settings s = {C.next_spec, C.next_interval, C.next_rows};

	C.next_spec = NULL;
	return s;
}

static void apply_settings(struct settings s)
{
	if (s.spec == NULL)
		return;
	C.interval = s.interval;
	atomic_store(&C.max_rows, s.rows);
	if (strcmp(s.spec, C.spec) == 0) {
		free(s.spec);
		return;
	}
	log_msg(LOG_LEVEL_NOTICE, "DMARC reports: ReportStore is now %s (was %s)", s.spec,
	    C.spec);
	if (C.store != NULL)
		C.ops->close(C.store);
	C.store = NULL;
	C.store_down = 0;
	free(C.spec);
	C.spec = s.spec;
}

static struct timespec deadline_after(long seconds)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += seconds;
	return t;
}

static int before(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec < deadline->tv_sec || (now.tv_sec == deadline->tv_sec &&
	    now.tv_nsec < deadline->tv_nsec);
}

static void *flusher_main(void *arg)
{
	struct timespec deadline = deadline_after(0);	/* opens the store at once */

	(void)arg;
	pthread_mutex_lock(&C.lock);
	for (;;) {
		while (!C.stopping && C.requested == C.completed && before(&deadline))
			pthread_cond_timedwait(&C.wake, &C.lock, &deadline);
		unsigned long ticket = C.requested;
		int	last = C.stopping;	/* else a stop during this flush asks for one more */
		int	asked = ticket != C.completed || last;
		struct settings next = take_settings();

		pthread_mutex_unlock(&C.lock);
		int	ok = flush_once(asked);

		apply_settings(next);
		pthread_mutex_lock(&C.lock);
		if (last) {
			C.last_ok = ok;
			break;
		}
		C.completed = ticket;
		C.last_ok = ok;
		pthread_cond_broadcast(&C.done);
		deadline = deadline_after(C.interval);
	}
	pthread_mutex_unlock(&C.lock);
	return NULL;
}

/* ---- start, requests, stop --------------------------------------------------------------- */

static int init_conds(void)
{
	pthread_condattr_t attr;

	if (C.conds_ready)
		return 1;
	if (pthread_condattr_init(&attr) != 0)
		return 0;
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	C.conds_ready = pthread_cond_init(&C.wake, &attr) == 0 &&
	    pthread_cond_init(&C.done, &attr) == 0;
	pthread_condattr_destroy(&attr);
	return C.conds_ready;
}

static void free_tables(void)
{
	reporttable_free(C.pending);
	reporttable_free(C.spare);
	C.pending = C.spare = NULL;
	pthread_mutex_lock(&C.table_lock);
	reporttable_free(C.live);
	C.live = NULL;
	C.live_rows = 0;
	pthread_mutex_unlock(&C.table_lock);
	free(C.spec);
	C.spec = NULL;
}

/* Starts the thread with every signal blocked (libmilter's signal thread takes them). */
static int start_thread(void)
{
	sigset_t all, old;
	int	rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&C.thread, NULL, flusher_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int	reportcollect_start(const struct conf *conf, char *err, size_t errlen)
{
	struct reporttable *live = NULL;
	int	rc;

	if (!conf->dmarc_reports || C.running)
		return 1;
	if (!init_conds() || (C.pending = reporttable_new()) == NULL ||
	    (live = reporttable_new()) == NULL || (C.spec = strdup(conf->report_store)) == NULL) {
		snprintf(err, errlen, "DMARC reports: out of memory");
		reporttable_free(live);
		free_tables();
		return 0;
	}
	if (C.ops == NULL)
		C.ops = &real_store;
	C.interval = conf->report_flush_interval;
	atomic_store(&C.max_rows, conf->report_memory_rows);
	atomic_store(&C.pending_rows, 0);
	C.store_down = C.stopping = 0;
	C.requested = C.completed = 0;
	pthread_mutex_lock(&C.table_lock);
	C.live = live;
	C.dropping = 0;
	pthread_mutex_unlock(&C.table_lock);
	if ((rc = start_thread()) != 0) {
		snprintf(err, errlen, "DMARC reports: cannot start the flusher thread: %s",
		    strerror(rc));
		free_tables();
		return 0;
	}
	C.running = 1;
	return 1;
}

/* Asks for a flush (with a reload's settings when spec is not NULL; it is then owned
 * here) and waits up to seconds for it; 1 when it left nothing in memory. */
static int request_flush(char *spec, long interval, long rows, long seconds)
{
	struct timespec deadline = deadline_after(seconds);
	unsigned long ticket;
	int	ok = 0;

	pthread_mutex_lock(&C.lock);
	if (!C.running || C.stopping) {
		pthread_mutex_unlock(&C.lock);
		free(spec);
		return 0;
	}
	if (spec != NULL) {
		free(C.next_spec);
		C.next_spec = spec;
		C.next_interval = interval;
		C.next_rows = rows;
	}
	ticket = ++C.requested;
	pthread_cond_signal(&C.wake);
	while (C.completed < ticket && before(&deadline))
		pthread_cond_timedwait(&C.done, &C.lock, &deadline);
	if (C.completed >= ticket)
		ok = C.last_ok;
	pthread_mutex_unlock(&C.lock);
	return ok;
}

int	reportcollect_flush(void)
{
	return request_flush(NULL, 0, 0, RELOAD_WAIT_SECONDS);
}

void	reportcollect_reload(const struct conf *conf)
{
	char	err[256];
	char   *spec;

	if (conf != NULL && conf->dmarc_reports && !C.running) {
		if (!reportcollect_start(conf, err, sizeof(err)))
			log_msg(LOG_LEVEL_ERROR, "reload: %s", err);
		return;
	}
	if (conf == NULL || (spec = strdup(conf->report_store)) == NULL) {
		(void)request_flush(NULL, 0, 0, RELOAD_WAIT_SECONDS);
		return;
	}
	(void)request_flush(spec, conf->report_flush_interval, conf->report_memory_rows,
	    RELOAD_WAIT_SECONDS);
}

void	reportcollect_stop(void)
{
	pthread_mutex_lock(&C.lock);
	if (!C.running) {
		pthread_mutex_unlock(&C.lock);
		return;
	}
	C.stopping = 1;
	pthread_cond_signal(&C.wake);
	pthread_mutex_unlock(&C.lock);
	pthread_join(C.thread, NULL);
	if (!C.last_ok)
		log_msg(LOG_LEVEL_ERROR, "DMARC reports: %zu row(s) (%lu message(s)) not written "
		    "at exit: ReportStore %s unavailable", reporttable_rows(C.pending),
		    reporttable_messages(C.pending), C.spec);
	if (C.store != NULL)
		C.ops->close(C.store);
	C.store = NULL;
	free(C.next_spec);
	C.next_spec = NULL;
	free_tables();
	C.running = 0;
}

void	reportcollect_metrics(struct metrics_reports *out)
{
	memset(out, 0, sizeof(*out));
	out->messages = peek(&C.messages);
	out->dropped = peek(&C.dropped);
	out->store_errors = peek(&C.store_errors);
	out->flushes = peek(&C.flushes);
	pthread_mutex_lock(&C.table_lock);
	out->rows_in_memory = C.live_rows + atomic_load(&C.pending_rows);
	pthread_mutex_unlock(&C.table_lock);
	out->store_up = atomic_load(&C.store_up);
	out->have_store_stats = atomic_load(&C.have_stats);
	out->reports_pending = peek(&C.reports_pending);
	out->reports_made = peek(&C.reports_made);
	for (size_t i = 0; i < METRICS_DELIVERY_STATES; i++)
		out->deliveries[i] = peek(&C.deliveries[i]);
}
