/*
 * NAME
 *	milterload - load a milter, or a chain of milters, exactly as Postfix would
 *
 * SYNOPSIS
 *	milterload [options] SOCKET [SOCKET...]
 *
 * DESCRIPTION
 *	A benchmark client: N threads each play one Postfix smtpd+cleanup pair talking
 *	to the milter(s) over persistent connections, and one line of figures comes out:
 *	throughput, per-message latency, and the CPU time and peak memory of the milter's
 *	processes.  It is written from Postfix 3.7's milter client (src/milter/milter8.c,
 *	milter.c, smtpd/smtpd.c, smtpd/smtpd_milter.c, cleanup/cleanup_milter.c, read, not
 *	copied) so that a milter sees the packets Postfix sends, in Postfix's order and in
 *	Postfix's write() batches, because those batches decide TCP stalls (Nagle on the
 *	MTA side against the milter's delayed ACK; DEPENDENCIES.md):
 *
 *	- SMFIC_OPTNEG offers version 6, every action Postfix supports (0x1ff) and
 *	  Postfix's protocol mask (0x1fffff); the milter's answer is honoured: skipped
 *	  steps (SMFIP_NO*) are not sent, SMFIP_NR_* steps get no reply read, and a macro
 *	  list sent back in the negotiation replaces the default list of that stage (an
 *	  empty one does not: Postfix then falls back to main.cf's list).
 *	- Every event is preceded by its SMFIC_MACRO packet, even an empty one, and even
 *	  when the milter skips the event (connect, helo, mail, rcpt, data); header, end
 *	  of header and body events that the milter skips are not produced at all, macros
 *	  included, as in Postfix's cleanup.  Macros are Postfix 3.7's defaults
 *	  (milter_*_macros) with the values smtpd would give them; {i} appears once the
 *	  first recipient is accepted (smtpd_delay_open_until_valid_rcpt=yes), {auth_*}
 *	  only with --auth, {auth_author} never (it needs AUTH= on MAIL FROM).
 *	- Output is buffered like Postfix's VSTREAM: 4096 bytes, or four times the TCP MSS
 *	  on inet sockets; it is flushed before each reply is read, when the buffer
 *	  fills, and after DATA (smtpd hands the connection to cleanup).  So a skipped
 *	  event's macros travel alone at DATA, and SMFIC_ABORT, written after each message,
 *	  leaves with the next one.  TCP_NODELAY is off unless --nodelay, as in Postfix.
 *	- Header values lose the one space after the colon unless SMFIP_HDR_LEADSPC; body
 *	  lines end in CRLF and go in chunks of 65535 bytes; SMFIR_SKIP ends the body.
 *	- Several SOCKETs are chained as Postfix runs smtpd_milters: each envelope event
 *	  goes to each milter in turn; then the message content goes through the first
 *	  milter up to its end-of-message reply, its header edits are applied, and the
 *	  edited message goes to the next milter.  A reject, tempfail or discard stops
 *	  the chain.
 *
 *	Latency is per message: from the start of its MAIL step to the final reply of the
 *	last milter's end of message.  CPU is the CPU time (from each process's CPU-time
 *	clock, in ns; plus the utime+stime of reaped children) of every --pid process and
 *	its descendants, read at the start and at the end of the timed part, so a forked
 *	signer process counts.
 *
 * BUILD
 *	make contrib/bench/milterload (Makefile.am; it links libc and pthreads only), or
 *	cd contrib/bench/milterload-src && cc -O2 -g -Wall -Wextra -Werror -pthread \
 *	    -o ../milterload [a-z]*.c
 *	The sources are in milterload-src/ because the program is contrib/bench/milterload
 *	(contrib/bench/matrix.py runs it there), a path that cannot also be a folder when
 *	the tree is built in place.
 *
 * FILES
 *	main.c		this: start, run the workers, report
 *	config.c	the command line
 *	message.c	the message, read or generated, split as Postfix's cleanup does
 *	conn.c		one milter connection: negotiation, buffered writes, bounded reads
 *	macros.c	the SMFIC_MACRO packets
 *	reply.c		one event sent, its replies read, header edits applied
 *	session.c	one connection to each milter; CONNECT and HELO
 *	transaction.c	a message through the chain of milters
 *	worker.c	the worker threads
 *	proc.c		CPU time and peak memory from /proc
 *	util.c		buffers, arena, clock, byte order
 *	milterload.h	the shared types and functions; protocol.h the milter protocol
 *
 * USAGE
 *	milterload [options] SOCKET [SOCKET...]
 *	SOCKET		unix:/path | local:/path | inet:PORT@HOST (also inet6:PORT@HOST and
 *			Postfix's inet:HOST:PORT)
 *	-c N		worker threads, each with its own connection(s) (1)
 *	-n N		messages in all (1000), or -t SECONDS to run for a while
 *	-m N		messages per connection before SMFIC_QUIT and a new one (10)
 *	-s BYTES	size of the generated message (4096), or -f FILE (LF or CRLF)
 *	--auth USER	{auth_authen}=USER, {auth_type}=PLAIN at MAIL (outbound)
 *	--client IP, --client-name NAME, --helo NAME, --from ADDR, --rcpt ADDR...
 *	--pid PID...	milter processes to measure (with their descendants)
 *	--expect HDR...	a header the milters must add; a message without it is "missing"
 *	--expect-reply continue|accept|reject|tempfail|discard
 *	--warmup N (2), --nodelay, --timeout SEC (30), -q
 *
 *	milterload -c 4 -n 2000 --auth alice --expect DKIM-Signature \
 *	    --pid $(cat /run/signet.pid) unix:/run/signet/signet.sock
 *	milterload -t 5 inet:8891@127.0.0.1 inet:8893@127.0.0.1	  # OpenDKIM, then OpenDMARC
 *
 * OUTPUT
 *	stdout, one line:
 *	messages=N seconds=S msg_per_s=R p50_ms=X p99_ms=Y max_ms=Z cpu_ms_per_msg=C
 *	rss_kb=K errors=E missing=M
 *	cpu_ms_per_msg and rss_kb (sum of VmHWM) are "-" without --pid; the latencies are
 *	"-" when no message completed.  Without -q, stderr first gets one line describing
 *	the run, and up to ten lines naming errors.
 *
 * EXIT STATUS
 *	0 when errors=0 and missing=0, 1 otherwise, 2 for a usage error or a milter that
 *	cannot be reached at all.
 *
 * SEE ALSO
 *	tests/milter/milterclient.py (the same protocol in Python, for tests),
 *	tests/daemon/milterload.py (this program's test), contrib/bench/README.md,
 *	../shared/DEPENDENCIES.md
 */
#include "milterload.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const struct {
	uint32_t bit;
	const char *name;
} step_names[] = {
	{ SMFIP_NOCONNECT, "NOCONNECT" }, { SMFIP_NOHELO, "NOHELO" },
	{ SMFIP_NOMAIL, "NOMAIL" }, { SMFIP_NORCPT, "NORCPT" }, { SMFIP_NOBODY, "NOBODY" },
	{ SMFIP_NOHDRS, "NOHDRS" }, { SMFIP_NOEOH, "NOEOH" }, { SMFIP_NR_HDR, "NR_HDR" },
	{ SMFIP_NOUNKNOWN, "NOUNKNOWN" }, { SMFIP_NODATA, "NODATA" }, { SMFIP_SKIP, "SKIP" },
	{ SMFIP_RCPT_REJ, "RCPT_REJ" }, { SMFIP_NR_CONN, "NR_CONN" },
	{ SMFIP_NR_HELO, "NR_HELO" }, { SMFIP_NR_MAIL, "NR_MAIL" },
	{ SMFIP_NR_RCPT, "NR_RCPT" }, { SMFIP_NR_DATA, "NR_DATA" },
	{ SMFIP_NR_UNKN, "NR_UNKN" }, { SMFIP_NR_EOH, "NR_EOH" },
	{ SMFIP_NR_BODY, "NR_BODY" }, { SMFIP_HDR_LEADSPC, "HDR_LEADSPC" },
};

struct totals {
	unsigned long messages, errors, missing, warmup_errors;
	double	seconds;
	double *latencies;
	size_t	nlatencies;
	struct tree_sample cpu_start, cpu_end;
};

static void appendf(char *out, size_t size, size_t *len, const char *fmt, ...)
    PRINTF_LIKE(4, 5);

/* Appends to out, of size bytes, at *len; stops at the end of out. */
static void appendf(char *out, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int	n;

	if (*len + 1 >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(out + *len, size - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len = *len + (size_t)n < size ? *len + (size_t)n : size - 1;
}

/* "unix:/x (v6 actions=0x131 steps=NOUNKNOWN,HDR_LEADSPC macros.M="...")" */
static void describe_milter(char *out, size_t size, size_t *len, const struct conn *c)
{
	static const char stage_letters[ST_COUNT] = { 'C', 'H', 'M', 'R', 'T', 'E', 'N' };
	const char *sep = "";

	appendf(out, size, len, "%s (v%lu actions=0x%lx steps=", c->ep->spec,
	    (unsigned long)c->version, (unsigned long)c->actions);
	for (size_t i = 0; i < sizeof(step_names) / sizeof(step_names[0]); i++)
		if (c->protocol & step_names[i].bit) {
			appendf(out, size, len, "%s%s", sep, step_names[i].name);
			sep = ",";
		}
	if (*sep == '\0')
		appendf(out, size, len, "-");
	for (int i = 0; i < ST_COUNT; i++)
		if (c->symlist[i] != NULL)
			appendf(out, size, len, " macros.%c=\"%s\"", stage_letters[i],
			    c->symlist[i]);
	appendf(out, size, len, ")");
}

/* Connects and negotiates once with each milter, so that one that is down is exit 2. */
static void probe_milters(const struct config *cfg, char *desc, size_t size)
{
	size_t	len = 0;

	desc[0] = '\0';
	for (size_t i = 0; i < cfg->nendpoints; i++) {
		struct conn c;

		memset(&c, 0, sizeof(c));
		c.fd = -1;
		if (conn_open(&c, &cfg->endpoints[i], cfg) < 0)
			fatal("cannot reach milter %s: %s", cfg->endpoints[i].spec, c.err);
		if (i > 0)
			appendf(desc, size, &len, " -> ");
		describe_milter(desc, size, &len, &c);
		conn_close(&c, 1);
		conn_free(&c);
	}
}

static void describe_run(const struct config *cfg, const char *milters)
{
	char	amount[64];

	if (cfg->duration_s > 0)
		snprintf(amount, sizeof(amount), "%.0f s", cfg->duration_s);
	else
		snprintf(amount, sizeof(amount), "%lu messages", cfg->total);
	fprintf(stderr, "milterload: %s, %u worker(s), %u message(s) per connection, warm-up "
	    "%u per worker; message %zu bytes (%zu headers, %zu-byte body%s%s); %s%s%s"
	    "TCP_NODELAY %s; %zu milter(s): %s\n", amount, cfg->workers, cfg->per_conn,
	    cfg->warmup, cfg->msg.text_len, cfg->msg.nheaders, cfg->msg.body_len,
	    cfg->file ? ", from " : "", cfg->file ? cfg->file : "",
	    cfg->auth ? "auth " : "", cfg->auth ? cfg->auth : "", cfg->auth ? "; " : "",
	    cfg->nodelay ? "on" : "off", cfg->nendpoints, milters);
}

static void barriers(struct run *run, unsigned count, int destroy)
{
	pthread_barrier_t *b[4] = { &run->ready, &run->go, &run->done, &run->release };

	for (int i = 0; i < 4; i++) {
		if (destroy)
			pthread_barrier_destroy(b[i]);
		else if (pthread_barrier_init(b[i], NULL, count) != 0)
			fatal("pthread_barrier_init failed");
	}
}

static void totals_add(struct totals *t, const struct worker *w)
{
	t->messages += w->messages;
	t->errors += w->errors;
	t->missing += w->missing;
	t->warmup_errors += w->warmup_errors;
	if (w->nlatencies > 0 && t->latencies != NULL) {
		memcpy(t->latencies + t->nlatencies, w->latencies,
		    w->nlatencies * sizeof(double));
		t->nlatencies += w->nlatencies;
	}
}

static void run_workers(const struct config *cfg, struct totals *t)
{
	struct run run;
	struct worker *workers = calloc(cfg->workers, sizeof(*workers));
	double	start;
	size_t	nlat = 0;
	int	err;

	if (workers == NULL)
		fatal("out of memory");
	memset(&run, 0, sizeof(run));
	run.cfg = cfg;
	run.queue_id_base = (unsigned long)time(NULL) ^ (unsigned long)getpid() << 8;
	atomic_init(&run.claimed, 0);
	atomic_init(&run.stop, 0);
	atomic_init(&run.queue_ids, 0);
	barriers(&run, cfg->workers + 1, 0);
	for (unsigned i = 0; i < cfg->workers; i++) {
		worker_init(&workers[i], i + 1, cfg, &run);
		if ((err = pthread_create(&workers[i].thread, NULL, worker_main, &workers[i])) != 0)
			fatal("pthread_create: %s", strerror(err));
	}
	pthread_barrier_wait(&run.ready);
	tree_sample(cfg, &t->cpu_start, 0);
	start = now_ms();
	pthread_barrier_wait(&run.go);
	if (cfg->duration_s > 0) {
		sleep_ms((long)(cfg->duration_s * 1000));
		atomic_store(&run.stop, 1);
	}
	pthread_barrier_wait(&run.done);
	t->seconds = (now_ms() - start) / 1000.0;
	tree_sample(cfg, &t->cpu_end, 1);
	pthread_barrier_wait(&run.release);
	for (unsigned i = 0; i < cfg->workers; i++) {
		pthread_join(workers[i].thread, NULL);
		nlat += workers[i].nlatencies;
	}
	t->latencies = nlat > 0 ? malloc(nlat * sizeof(double)) : NULL;
	for (unsigned i = 0; i < cfg->workers; i++) {
		totals_add(t, &workers[i]);
		worker_free(&workers[i]);
	}
	free(workers);
	barriers(&run, 0, 1);
}

static int latency_cmp(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest rank: the smallest value with at least percent % of all at or below it. */
static void format_percentile(char *out, size_t size, const double *sorted, size_t n,
    unsigned percent)
{
	size_t	rank = (percent * n + 99) / 100;

	if (n == 0) {
		snprintf(out, size, "-");
		return;
	}
	if (rank < 1)
		rank = 1;
	snprintf(out, size, "%.3f", sorted[rank - 1]);
}

static void print_summary(const struct config *cfg, struct totals *t)
{
	char	p50[32], p99[32], max[32], cpu[32], rss[32];

	if (t->nlatencies > 0)
		qsort(t->latencies, t->nlatencies, sizeof(double), latency_cmp);
	format_percentile(p50, sizeof(p50), t->latencies, t->nlatencies, 50);
	format_percentile(p99, sizeof(p99), t->latencies, t->nlatencies, 99);
	format_percentile(max, sizeof(max), t->latencies, t->nlatencies, 100);
	snprintf(cpu, sizeof(cpu), "-");
	snprintf(rss, sizeof(rss), "-");
	if (cfg->npids > 0) {
		unsigned long long used = t->cpu_end.cpu_ns > t->cpu_start.cpu_ns
		    ? t->cpu_end.cpu_ns - t->cpu_start.cpu_ns : 0;

		if (t->messages > 0)
			snprintf(cpu, sizeof(cpu), "%.3f", (double)used / 1e6 /
			    (double)t->messages);
		snprintf(rss, sizeof(rss), "%llu", t->cpu_end.hwm_kb);
	}
	printf("messages=%lu seconds=%.3f msg_per_s=%.1f p50_ms=%s p99_ms=%s max_ms=%s "
	    "cpu_ms_per_msg=%s rss_kb=%s errors=%lu missing=%lu\n", t->messages, t->seconds,
	    t->seconds > 0 ? (double)t->messages / t->seconds : 0.0, p50, p99, max, cpu, rss,
	    t->errors, t->missing);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct totals t;
	struct tree_sample check;
	struct sigaction sa;
	char	milters[4096];
	int	status;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	config_parse(&cfg, argc, argv);
	if (cfg.file != NULL)
		message_load(&cfg.msg, cfg.file);
	else
		message_generate(&cfg.msg, &cfg);
	message_parse(&cfg.msg);
	if (cfg.npids > 0) {
		tree_sample(&cfg, &check, 0);
		if (check.roots_found != cfg.npids)
			fatal("--pid: %zu of %zu processes not found", cfg.npids - check.roots_found,
			    cfg.npids);
	}
	probe_milters(&cfg, milters, sizeof(milters));
	if (!cfg.quiet)
		describe_run(&cfg, milters);
	memset(&t, 0, sizeof(t));
	run_workers(&cfg, &t);
	if (!cfg.quiet && t.warmup_errors > 0)
		fprintf(stderr, "milterload: %lu warm-up message(s) failed\n", t.warmup_errors);
	print_summary(&cfg, &t);
	status = t.errors == 0 && t.missing == 0 ? 0 : 1;
	free(t.latencies);
	config_free(&cfg);
	return status;
}
