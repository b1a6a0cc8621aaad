/*
 * NAME
 *	milterload.h - what the files of milterload share: its types, and the functions
 *	each file offers the others
 *
 * DESCRIPTION
 *	Every file of milterload includes this one first: it sets the feature-test macros
 *	that the system headers must see.  protocol.h holds the milter protocol itself.
 *
 *	Who owns what: main() builds the struct config, the message in it included, before
 *	any worker starts; after that it is only read.  Each worker owns its connections,
 *	its header list, arena, payload buffer and latencies.  The workers share the
 *	struct run, through atomics and barriers only.  Errors on a connection are kept in
 *	its err[] by conn_fail() and reported once, by report(), where a worker gives up
 *	on the message; a start-up error is fatal() (exit 2).
 */
#ifndef MILTERLOAD_H
#define MILTERLOAD_H

#define _DEFAULT_SOURCE
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "protocol.h"

#define READ_BUFSIZE	65536
#define MAX_EXPECT	64		/* --expect bits in a uint64_t */

#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

enum verdict { V_CONTINUE, V_ACCEPT, V_REJECT, V_TEMPFAIL, V_DISCARD, V_DEFAULT = -1 };

/* ---- util.c: small tools --------------------------------------------------------- */

struct buf {
	char   *data;
	size_t	len;
	size_t	size;
};

/* Per-message memory (header edits for the next milter), freed when the message ends. */
struct arena_block;

struct arena {
	struct arena_block *head;
};

/* Makes room for want bytes in all; 0, or -1 when out of memory. */
int	buf_reserve(struct buf *b, size_t want);

/* Appends len bytes; 0, or -1 when out of memory. */
int	buf_add(struct buf *b, const void *data, size_t len);
void	buf_free(struct buf *b);

/* A copy of prefix then s, not NUL-terminated, that lives until arena_reset(). */
char   *arena_copy(struct arena *a, const char *prefix, size_t plen, const char *s,
	    size_t len);
void	arena_free(struct arena *a);

/* Frees the arena's memory but one block, kept for the next message. */
void	arena_reset(struct arena *a);

/* A monotonic clock in milliseconds, and a sleep that EINTR does not cut short. */
double	now_ms(void);
void	sleep_ms(long ms);

/* strerror_r() into text, or "error N". */
const char *errno_text(int err, char *text, size_t size);

/* Network byte order words, as the milter protocol has them. */
void	put32(unsigned char *p, uint32_t v);
uint32_t get32(const void *data);

/* What follows the last "@", or the whole address. */
const char *domain_of(const char *addr);

/* ---- config.c: the command line -------------------------------------------------- */

struct endpoint {
	const char *spec;
	int	family;
	struct sockaddr_storage addr;
	socklen_t addr_len;
};

struct header {
	const char *name;
	size_t	name_len;
	const char *value;		/* as after the colon: leading space kept, lines joined by LF */
	size_t	value_len;
	int	deleted;
	int	hidden;			/* Postfix's own Received:, which no milter sees */
};

struct message {
	char   *text;			/* the whole message, CRLF line ends */
	size_t	text_len;
	char   *store;			/* header names and values */
	struct header *headers;
	size_t	nheaders;
	const char *body;		/* into text */
	size_t	body_len;
};

struct config {
	struct endpoint *endpoints;
	size_t	nendpoints;
	unsigned workers;
	unsigned long total;
	double	duration_s;		/* -t; 0 with -n */
	unsigned per_conn;
	unsigned long size;
	const char *file;
	const char *auth;
	const char *client;
	char	client_family;		/* '4' or '6', SMFIA_* */
	const char *client_name;	/* --client-name, or NULL: the client has no name */
	const char *helo;
	const char *from;
	const char **rcpts;
	size_t	nrcpts;
	pid_t  *pids;
	size_t	npids;
	const char **expect;
	size_t	nexpect;
	int	expect_reply;		/* enum verdict, or V_DEFAULT: continue or accept */
	unsigned warmup;
	int	nodelay;
	int	timeout_ms;
	int	quiet;
	/* derived */
	char   *connect_name;		/* hostname in SMFIC_CONNECT: NAME or [IP] */
	char   *underscore;		/* {_}: "NAME [IP]" */
	char   *client_rfc_addr;	/* {client_addr}: IPv6: prefix for IPv6 */
	const char *daemon_addr;
	struct message msg;
};

/* Parses argv into cfg (the message is not read yet); exits 2 on a usage error. */
void	config_parse(struct config *cfg, int argc, char **argv);
void	config_free(struct config *cfg);

/* "milterload: " and the message on stderr, then exit 2. */
void	fatal(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* ---- message.c: the message ------------------------------------------------------ */

/* Reads -f FILE into m->text, line ends made CRLF; fatal() on error. */
void	message_load(struct message *m, const char *path);

/* Writes a message of about cfg->size bytes from cfg->from to the first recipient. */
void	message_generate(struct message *m, const struct config *cfg);

/* Splits m->text into headers and body as Postfix's cleanup does. */
void	message_parse(struct message *m);

/* ---- conn.c: one milter connection, buffered writes, bounded reads --------------- */

enum conn_state {
	CS_CLOSED, CS_READY, CS_ENVELOPE, CS_ACCEPT_MSG, CS_ACCEPT_CON, CS_REJECT_CON
};

struct conn {
	const struct endpoint *ep;
	int	fd;
	enum conn_state state;
	enum verdict rejected;		/* with CS_REJECT_CON */
	uint32_t version, actions, protocol;
	uint32_t np_mask;		/* steps its protocol version does not have */
	char	skip_event;		/* after SMFIR_SKIP: skip further events of this type */
	char   *symlist[ST_COUNT];	/* macro lists from the negotiation */
	unsigned char *out;
	size_t	out_len, out_size, out_cap;
	unsigned char in[READ_BUFSIZE];
	size_t	in_pos, in_len;
	struct buf packet;
	struct buf scratch;
	int	timeout_ms;
	char	err[300];
};

/* Connects, sizes the output buffer as Postfix does, negotiates; 0, or -1 and c->err. */
int	conn_open(struct conn *c, const struct endpoint *ep, const struct config *cfg);

/* Closes the socket (after SMFIC_QUIT when say_quit) and forgets the macro lists. */
void	conn_close(struct conn *c, int say_quit);
void	conn_free(struct conn *c);

/* Puts the message in c->err; returns -1. */
int	conn_fail(struct conn *c, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* One packet into the output buffer, which is written when full; 0 or -1. */
int	packet_put(struct conn *c, char cmd, const void *data, size_t len);

/* Writes the output buffer out; 0 or -1. */
int	out_flush(struct conn *c);

/*
 * Flushes, then reads one reply packet within the timeout: its code, and data/len
 * pointing into c->packet until the next call.  0 or -1; waiting_for names the event
 * in the error.
 */
int	packet_get(struct conn *c, const char *waiting_for, char *code, const char **data,
	    size_t *len);

/* ---- macros.c: the SMFIC_MACRO packets ------------------------------------------- */

/* What Postfix's smtpd (smtpd_milter.c) knows at this point of the session. */
struct macro_ctx {
	const struct config *cfg;
	char	client_port[8];
	const char *queue_id;		/* NULL until the first recipient is accepted */
	const char *mail_addr;		/* NULL before MAIL */
	const char *rcpt_addr;		/* NULL before RCPT */
	char	queue_id_buf[24];
};

/* The macros of ev's stage that have a value now, as one SMFIC_MACRO packet. */
int	macros_put(struct conn *c, const struct event *ev, const struct macro_ctx *mc);

/* ---- reply.c: events, replies and header edits ----------------------------------- */

struct header_list {
	struct header *v;
	size_t	n;
	size_t	cap;
};

/* Where end-of-message edits go. */
struct edit_sink {
	struct header_list *headers;	/* NULL: no later milter reads them */
	struct arena *arena;
	const struct config *cfg;
	uint64_t found;			/* bit i: --expect i was added or inserted */
};

/* Inserts h at position pos (0 .. hl->n); 0, or -1 when out of memory. */
int	header_list_insert(struct header_list *hl, size_t pos, const struct header *h);

/*
 * One event as Postfix's milter8_event() sends it, its macros first, and its reply
 * read unless the milter gives none; end-of-message header edits go to sink.
 * Returns an enum reply, or -1 with c->err set.
 */
int	event_send(struct conn *c, const struct event *ev, const struct macro_ctx *mc,
	    const char *payload, size_t len, struct edit_sink *sink);

/* ---- session.c: one connection to each milter ------------------------------------ */

struct run;

struct worker {
	unsigned id;
	pthread_t thread;
	const struct config *cfg;
	struct run *run;
	struct conn *conns;		/* one per SOCKET */
	int	session_open;
	enum verdict session_verdict;	/* a milter refused the SMTP connection */
	unsigned session_messages;
	unsigned long sessions;
	struct macro_ctx mc;
	struct header_list headers;	/* the message as the current milter sees it */
	struct arena arena;
	struct buf payload;
	double *latencies;
	size_t	nlatencies, latencies_cap;
	unsigned long messages, errors, missing;
	unsigned long warmup_errors;
};

/* Opens a connection to each milter and sends CONNECT and HELO; 0, or -1 (reported). */
int	session_start(struct worker *w);

/* Closes every connection of the session, after SMFIC_QUIT when say_quit. */
void	session_close(struct worker *w, int say_quit);

/* How a reply at MAIL .. end of message changes one milter; 1: it decides the message. */
int	message_reply(struct conn *c, int reply, enum verdict *verdict);

/* Names c's error on stderr (ten at most in all, none with -q). */
void	report(const struct worker *w, const struct conn *c);

/* ---- transaction.c: a message through the chain ---------------------------------- */

/* One message, starting a session when none is open; counted only when timed. */
void	message_one(struct worker *w, int timed);

/* ---- worker.c: the worker threads ------------------------------------------------ */

struct run {
	const struct config *cfg;
	atomic_ulong claimed;
	atomic_int stop;
	atomic_ulong queue_ids;
	unsigned long queue_id_base;
	pthread_barrier_t ready, go, done, release;
};

void	worker_init(struct worker *w, unsigned id, const struct config *cfg, struct run *run);
void	worker_free(struct worker *w);

/* The thread: warm-up, then messages between the run's barriers until none is left. */
void   *worker_main(void *arg);

/* The next queue id, in the form of Postfix's short ones, into w->mc.queue_id_buf. */
void	queue_id_next(struct worker *w);

/* ---- proc.c: CPU time and peak memory of the milter's process trees -------------- */

struct tree_sample {
	unsigned long long cpu_ns;	/* CPU time, ns (proc.c) */
	unsigned long long hwm_kb;
	size_t	roots_found;
};

/* Sums over every --pid process and its descendants now (VmHWM too when with_hwm). */
void	tree_sample(const struct config *cfg, struct tree_sample *s, int with_hwm);

#endif
