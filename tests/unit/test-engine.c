/*
 * NAME
 *	test-engine.c - Signet's milter engine (milter/engine.c) driven over a socketpair
 * DESCRIPTION
 *	Plays the MTA with real frames against engine.c and a filter of test callbacks:
 *	negotiation with macro lists, "no reply" steps (and faked ones for an MTA without
 *	them), CONNECT with its macros, MAIL and RCPT with smfi_getsymval() lookups, a
 *	reject with smfi_setreply() text, headers, a body in chunks, end of message with a
 *	last chunk and header edits sent before the reply, ABORT, QUIT_NC then a new
 *	CONNECT on the same connection, a command before the negotiation and malformed
 *	frames closing the connection with the abort and close callbacks called; a body
 *	of 1.2 MB in chunks of several sizes, written in pieces that cut frames anywhere,
 *	arrives whole and in order (the read buffer holds one frame and reads stop at the
 *	end of large ones); connections one after another share a few threads instead of
 *	one each.  Built only with --with-milter-engine=signet.
 *	Emits TAP.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "lib/buffer.h"
#include "milter/engine-mfapi.h"
#include "milter/engine.h"
#include "tests/unit/tap.h"

static struct {
	unsigned long ask_protocol;	/* what cb_negotiate asks for */
	int	connects, aborts, closes;
	char	hostname[64], address[64], mail[64], mail_i[32], mail_j[32], rcpt_r[32];
	struct buffer body;
	int	headers;
	pid_t	connect_tid;		/* the kernel's id of the thread in cb_connect */
} seen;

static sfsistat cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0, unsigned long *pf1,
    unsigned long *pf2, unsigned long *pf3)
{
	(void)f2;
	(void)f3;
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST);
	*pf1 = f1 & seen.ask_protocol;
	*pf2 = *pf3 = 0;
	(void)smfi_setsymlist(ctx, SMFIM_ENVFROM, "i {auth_type}");
	(void)smfi_setsymlist(ctx, SMFIM_DATA, "");
	return SMFIS_CONTINUE;
}

static sfsistat cb_connect(SMFICTX *ctx, char *hostname, struct sockaddr *addr)
{
	seen.connects++;
	__atomic_store_n(&seen.connect_tid, (pid_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
	snprintf(seen.hostname, sizeof(seen.hostname), "%s", hostname);
	seen.address[0] = '\0';
	if (addr != NULL && addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)addr)->sin_addr, seen.address,
		    sizeof(seen.address));
	(void)smfi_setpriv(ctx, &seen);
	return SMFIS_CONTINUE;
}

static sfsistat cb_envfrom(SMFICTX *ctx, char **argv)
{
	char   *i = smfi_getsymval(ctx, "{i}"), *j = smfi_getsymval(ctx, "j");

	snprintf(seen.mail, sizeof(seen.mail), "%s", argv[0]);
	snprintf(seen.mail_i, sizeof(seen.mail_i), "%s", i != NULL ? i : "(none)");
	snprintf(seen.mail_j, sizeof(seen.mail_j), "%s", j != NULL ? j : "(none)");
	/* Edits are for the end of the message only. */
	return smfi_insheader(ctx, 0, "X-Early", "no") == MI_FAILURE ? SMFIS_CONTINUE :
	    SMFIS_TEMPFAIL;
}

static sfsistat cb_envrcpt(SMFICTX *ctx, char **argv)
{
	char   *r = smfi_getsymval(ctx, "r");

	snprintf(seen.rcpt_r, sizeof(seen.rcpt_r), "%s", r != NULL ? r : "(none)");
	if (strcmp(argv[0], "<bad@example.net>") != 0)
		return SMFIS_CONTINUE;
	(void)smfi_setreply(ctx, "550", "5.7.1", "no such user");
	return SMFIS_REJECT;
}

static sfsistat cb_header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx;
	(void)name;
	(void)value;
	seen.headers++;
	return SMFIS_NOREPLY;
}

static sfsistat cb_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
	(void)ctx;
	(void)buffer_append(&seen.body, data, len);
	return SMFIS_CONTINUE;
}

static sfsistat cb_eom(SMFICTX *ctx)
{
	if (smfi_insheader(ctx, 0, "X-Test", " v") != MI_SUCCESS ||
	    smfi_chgheader(ctx, "X-Old", 1, NULL) != MI_SUCCESS ||
	    smfi_quarantine(ctx, "held") != MI_SUCCESS)
		return SMFIS_TEMPFAIL;
	return SMFIS_ACCEPT;
}

static sfsistat cb_abort(SMFICTX *ctx)
{
	(void)ctx;
	seen.aborts++;
	return SMFIS_CONTINUE;
}

static sfsistat cb_close(SMFICTX *ctx)
{
	seen.closes++;
	(void)smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

static void send_frame(int fd, int cmd, const void *data, size_t len)
{
	unsigned char head[5] = {(unsigned char)((len + 1) >> 24),
	    (unsigned char)((len + 1) >> 16), (unsigned char)((len + 1) >> 8),
	    (unsigned char)(len + 1), (unsigned char)cmd};

	if (write(fd, head, 5) != 5 || (len > 0 && write(fd, data, len) != (ssize_t)len))
		perror("write");
}

#define SEND(fd, cmd, lit) send_frame(fd, cmd, lit, sizeof(lit) - 1)

static int read_all(int fd, void *buf, size_t len)
{
	size_t	got = 0;

	while (got < len) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t	n;

		if (poll(&p, 1, 5000) != 1 || (n = read(fd, (char *)buf + got, len - got)) <= 0)
			return 0;
		got += (size_t)n;
	}
	return 1;
}

/* The next reply: its command, its data into data (NUL-terminated); -1 at the end. */
static int next_reply(int fd, char *data, size_t size, size_t *len)
{
	unsigned char head[5];
	size_t	n;

	if (!read_all(fd, head, 5))
		return -1;
	n = ((size_t)head[0] << 24 | (size_t)head[1] << 16 | (size_t)head[2] << 8 | head[3]) - 1;
	if (n >= size || !read_all(fd, data, n))
		return -1;
	data[n] = '\0';
	*len = n;
	return head[4];
}

static int reply_is(int fd, int want, const char *want_data, size_t want_len)
{
	char	data[512];
	size_t	len = 0;
	int	cmd = next_reply(fd, data, sizeof(data), &len);

	if (cmd != want)
		printf("#   got reply '%c' (%d), want '%c'\n", cmd > 0 ? cmd : '?', cmd, want);
	return cmd == want && (want_data == NULL || (len == want_len &&
	    memcmp(data, want_data, len) == 0));
}

/* A socketpair with the engine at the other end; the MTA's end is returned. */
static int engine_pair(void)
{
	int	sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || !engine_serve(sv[1], 0))
		return -1;
	return sv[0];
}

static void negotiate(int fd, uint32_t mta_protocol, uint32_t want_protocol)
{
	uint32_t o[3] = {htonl(6), htonl(0x1ff), htonl(mta_protocol)};
	char	data[512];
	size_t	len = 0;
	uint32_t v[3];
	int	cmd;

	send_frame(fd, 'O', o, sizeof(o));
	cmd = next_reply(fd, data, sizeof(data), &len);
	memcpy(v, data, sizeof(v));
	TAP_OK(cmd == 'O' && len == 12 + 4 + 14 + 4 + 1 && ntohl(v[0]) == 6 &&
	    ntohl(v[1]) == 0x131 && ntohl(v[2]) == want_protocol &&
	    memcmp(data + 12, "\0\0\0\2i {auth_type}\0\0\0\0\4\0", 4 + 14 + 4 + 1) == 0,
	    "negotiation_reply_with_protocol_0x%x_and_macro_lists", want_protocol);
}

/* Waits for the engine to end the connection (reads give 0). */
static int closed_by_engine(int fd)
{
	char	data[512];
	size_t	len;

	return next_reply(fd, data, sizeof(data), &len) == -1;
}

static void wait_closes(int n)
{
	for (int i = 0; i < 500 && __atomic_load_n(&seen.closes, __ATOMIC_SEQ_CST) < n; i++)
		usleep(10000);
}

static void whole_conversation(void)
{
	int	fd = engine_pair();

	seen.ask_protocol = SMFIP_HDR_LEADSPC | SMFIP_NR_CONN | SMFIP_NR_HDR;
	negotiate(fd, 0x1fffff, 0x101080);
	SEND(fd, 'D', "Cj\0mx.test\0");
	SEND(fd, 'C', "client.test\0" "4\0\x19" "192.0.2.9\0");
	SEND(fd, 'D', "Mi\0Q1\0");
	SEND(fd, 'M', "<a@example.org>\0SIZE=9\0");
	/* No reply to CONNECT (NR_CONN): the first reply is MAIL's. */
	TAP_OK(reply_is(fd, 'c', NULL, 0), "mail_continue_after_unanswered_connect");
	TAP_STR_EQ(seen.hostname, "client.test", "connect_hostname");
	TAP_STR_EQ(seen.address, "192.0.2.9", "connect_address");
	TAP_STR_EQ(seen.mail, "<a@example.org>", "mail_argv0");
	TAP_STR_EQ(seen.mail_i, "Q1", "mail_macro_i_found_as_{i}");
	TAP_STR_EQ(seen.mail_j, "mx.test", "connect_macro_seen_at_mail");
	SEND(fd, 'D', "R{r}\0one\0");
	SEND(fd, 'R', "<bad@example.net>\0");
	TAP_OK(reply_is(fd, 'y', "550 5.7.1 no such user", 23), "rcpt_reject_with_reply_text");
	TAP_STR_EQ(seen.rcpt_r, "one", "rcpt_macro_r_found_as_{r}");
	SEND(fd, 'R', "<b@example.net>\0");
	TAP_OK(reply_is(fd, 'c', NULL, 0), "message_goes_on_after_a_rejected_rcpt");
	SEND(fd, 'T', "");
	TAP_OK(reply_is(fd, 'c', NULL, 0), "data_continue");
	SEND(fd, 'L', "From\0 a@example.org\0");
	SEND(fd, 'L', "Subject\0 hi\0");
	SEND(fd, 'N', "");
	TAP_OK(reply_is(fd, 'c', NULL, 0), "headers_unanswered_then_eoh_continue");
	TAP_INT_EQ(seen.headers, 2, "two_headers_seen");
	SEND(fd, 'B', "Hello, ");
	TAP_OK(reply_is(fd, 'c', NULL, 0), "body_chunk_1_continue");
	SEND(fd, 'B', "world");
	TAP_OK(reply_is(fd, 'c', NULL, 0), "body_chunk_2_continue");
	SEND(fd, 'E', ".\r\n");
	TAP_OK(reply_is(fd, 'i', "\0\0\0\0X-Test\0 v", 14), "eom_insheader_first");
	TAP_OK(reply_is(fd, 'm', "\0\0\0\1X-Old\0", 11), "eom_chgheader_removal");
	TAP_OK(reply_is(fd, 'q', "held", 5), "eom_quarantine");
	TAP_OK(reply_is(fd, 'a', NULL, 0), "eom_accept_last");
	TAP_OK(seen.body.len == 15 && memcmp(seen.body.data, "Hello, world.\r\n", 15) == 0,
	    "body_chunks_and_last_chunk_in_order");
	/* A new message: the RCPT stage's macros are gone, the connection's remain. */
	SEND(fd, 'M', "<c@example.org>\0");
	TAP_OK(reply_is(fd, 'c', NULL, 0), "second_mail_continue");
	SEND(fd, 'R', "<d@example.net>\0");
	TAP_OK(reply_is(fd, 'c', NULL, 0), "second_rcpt_continue");
	TAP_STR_EQ(seen.rcpt_r, "(none)", "rcpt_macros_cleared_by_new_mail");
	SEND(fd, 'A', "");
	SEND(fd, 'K', "");
	SEND(fd, 'C', "again.test\0" "U");
	SEND(fd, 'M', "<e@example.org>\0");
	TAP_OK(reply_is(fd, 'c', NULL, 0), "quit_nc_then_new_connect_on_the_same_connection");
	TAP_INT_EQ(seen.aborts, 1, "abort_called");
	TAP_INT_EQ(seen.closes, 1, "quit_nc_called_close");
	TAP_INT_EQ(seen.connects, 2, "second_connect_called");
	TAP_STR_EQ(seen.mail_j, "(none)", "quit_nc_cleared_the_macros");
	/* A header without its NUL, inside a message: closed, abort then close. */
	SEND(fd, 'L', "X\0no-nul");
	TAP_OK(closed_by_engine(fd), "malformed_header_closes_the_connection");
	wait_closes(2);
	TAP_INT_EQ(seen.aborts, 2, "malformed_frame_in_a_message_calls_abort");
	TAP_INT_EQ(seen.closes, 2, "malformed_frame_calls_close");
	close(fd);
}

static void faked_no_reply(void)
{
	int	fd = engine_pair();

	/* An MTA without NR_CONN: not passed on, and the engine answers CONNECT itself. */
	seen.ask_protocol = SMFIP_NR_CONN;
	negotiate(fd, 0x1fffff & ~SMFIP_NR_CONN, 0);
	SEND(fd, 'C', "client.test\0" "U");
	TAP_OK(reply_is(fd, 'c', NULL, 0), "no_reply_faked_for_an_mta_without_it");
	SEND(fd, 'Q', "");
	TAP_OK(closed_by_engine(fd), "quit_closes");
	wait_closes(3);
	TAP_INT_EQ(seen.closes, 3, "quit_called_close_once");
	close(fd);
}

/* Connections one after another, each once the last has ended: a thread that served
 * one waits for the next, so they share a few threads (a new one when the last had
 * not yet gone back to waiting) instead of starting one each.  Kernel thread ids, which
 * a new thread does not reuse, unlike pthread_self()'s. */
static void connections_share_threads(void)
{
	enum { CONNECTIONS = 20 };
	pid_t	tids[CONNECTIONS];
	int	distinct = 0, served = 0;

	for (int i = 0; i < CONNECTIONS; i++) {
		int	fd = engine_pair(), closes = __atomic_load_n(&seen.closes, __ATOMIC_SEQ_CST);

		seen.ask_protocol = 0;
		negotiate(fd, 0x1fffff, 0);
		SEND(fd, 'C', "client.test\0" "U");
		served += reply_is(fd, 'c', NULL, 0);
		tids[i] = __atomic_load_n(&seen.connect_tid, __ATOMIC_SEQ_CST);
		SEND(fd, 'Q', "");
		(void)closed_by_engine(fd);
		close(fd);
		wait_closes(closes + 1);
		usleep(50000);		/* the thread goes back to waiting */
	}
	for (int i = 0; i < CONNECTIONS; i++) {
		int	seen_before = 0;

		for (int j = 0; j < i; j++)
			seen_before |= tids[j] == tids[i];
		distinct += !seen_before;
	}
	TAP_INT_EQ(served, CONNECTIONS, "%d_connections_one_after_another_served", CONNECTIONS);
	TAP_OK(distinct <= 3, "they_share_threads_%d_distinct_at_most_3", distinct);
}

static void bad_frames(void)
{
	static const unsigned char zero[] = {0, 0, 0, 0, 'A'}, big[] = {0x7f, 0, 0, 0, 'B'};
	int	fd = engine_pair(), connects;

	if (write(fd, zero, sizeof(zero)) != sizeof(zero))
		perror("write");
	TAP_OK(closed_by_engine(fd), "zero_length_frame_closes_the_connection");
	close(fd);
	fd = engine_pair();
	if (write(fd, big, sizeof(big)) != sizeof(big))
		perror("write");
	TAP_OK(closed_by_engine(fd), "oversize_frame_closes_the_connection");
	close(fd);
	fd = engine_pair();
	seen.ask_protocol = 0;
	negotiate(fd, 0x1fffff, 0);
	SEND(fd, 'Z', "");
	TAP_OK(closed_by_engine(fd), "unknown_command_closes_the_connection");
	close(fd);
	fd = engine_pair();
	connects = seen.connects;
	SEND(fd, 'C', "client.test\0" "U");
	TAP_OK(closed_by_engine(fd), "connect_before_negotiation_closes_the_connection");
	TAP_INT_EQ(seen.connects, connects, "and_calls_no_connect_callback");
	close(fd);
	fd = engine_pair();
	close(fd);		/* the MTA goes without QUIT */
	wait_closes(8);
	TAP_INT_EQ(seen.closes, 8, "every_ended_connection_called_close");
}

/* 1.2 MB of body in chunks of the sizes MTAs send and others, the stream of frames
 * written in pieces of sizes that cut frames at every kind of place. */
static void large_body_in_odd_pieces(void)
{
	static const size_t chunk_sizes[] = {65535, 65535, 17, 65535, 16384, 16383, 1, 65535};
	static const size_t piece_sizes[] = {1, 5, 4093, 65540, 100000, 3, 65535, 70000};
	struct buffer body = {0}, stream = {0};
	uint32_t x = 12345;
	size_t	chunks = 0, at = 0, piece = 0;
	int	fd = engine_pair(), replies_ok = 1;

	seen.ask_protocol = SMFIP_HDR_LEADSPC | SMFIP_NR_CONN | SMFIP_NR_HDR;
	negotiate(fd, 0x1fffff, 0x101080);
	SEND(fd, 'C', "client.test\0" "U");
	SEND(fd, 'M', "<a@example.org>\0");
	SEND(fd, 'R', "<b@example.net>\0");
	SEND(fd, 'N', "");
	replies_ok = reply_is(fd, 'c', NULL, 0) && reply_is(fd, 'c', NULL, 0) &&
	    reply_is(fd, 'c', NULL, 0);
	for (int i = 0; i < 1200000; i++) {
		unsigned char b;

		x = x * 1103515245u + 12345u;
		b = (unsigned char)(x >> 16);
		(void)buffer_append(&body, &b, 1);
	}
	while (at < body.len) {
		size_t	n = chunk_sizes[chunks++ % (sizeof(chunk_sizes) / sizeof(chunk_sizes[0]))];
		unsigned char head[5];

		n = n < body.len - at ? n : body.len - at;
		head[0] = (unsigned char)((n + 1) >> 24), head[1] = (unsigned char)((n + 1) >> 16);
		head[2] = (unsigned char)((n + 1) >> 8), head[3] = (unsigned char)(n + 1);
		head[4] = 'B';
		/* As Postfix: the end-of-message macros before each chunk. */
		(void)buffer_append(&stream, "\0\0\0\x0c" "DE{i}\0Q1234\0", 4 + 12);
		(void)buffer_append(&stream, head, 5);
		(void)buffer_append(&stream, body.data + at, n);
		at += n;
	}
	(void)buffer_append(&stream, "\0\0\0\1E", 5);
	seen.body.len = 0;
	for (at = 0; at < stream.len; piece++) {
		size_t	n = piece_sizes[piece % (sizeof(piece_sizes) / sizeof(piece_sizes[0]))];

		n = n < stream.len - at ? n : stream.len - at;
		if (write(fd, stream.data + at, n) != (ssize_t)n) {
			perror("write");
			break;
		}
		at += n;
	}
	for (size_t i = 0; i < chunks; i++)
		replies_ok = replies_ok && reply_is(fd, 'c', NULL, 0);
	replies_ok = replies_ok && reply_is(fd, 'i', NULL, 0) && reply_is(fd, 'm', NULL, 0) &&
	    reply_is(fd, 'q', NULL, 0) && reply_is(fd, 'a', NULL, 0);
	TAP_OK(replies_ok, "large_body_every_chunk_answered_then_eom");
	TAP_OK(seen.body.len == body.len && memcmp(seen.body.data, body.data, body.len) == 0,
	    "large_body_in_odd_pieces_arrives_whole_and_in_order");
	SEND(fd, 'Q', "");
	TAP_OK(closed_by_engine(fd), "large_body_quit_closes");
	close(fd);
	buffer_free(&body);
	buffer_free(&stream);
}

int	main(void)
{
	struct smfiDesc desc = {
		.xxfi_name = "test", .xxfi_version = SMFI_VERSION,
		.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE |
		    SMFIF_SETSYMLIST,
		.xxfi_connect = cb_connect, .xxfi_envfrom = cb_envfrom,
		.xxfi_envrcpt = cb_envrcpt, .xxfi_header = cb_header, .xxfi_body = cb_body,
		.xxfi_eom = cb_eom, .xxfi_abort = cb_abort, .xxfi_close = cb_close,
		.xxfi_negotiate = cb_negotiate,
	};

	TAP_OK(smfi_register(desc) == MI_SUCCESS, "register");
	whole_conversation();
	faked_no_reply();
	bad_frames();
	large_body_in_odd_pieces();
	connections_share_threads();
	TAP_INT_EQ(engine_stop_connections(5), 0, "no_connection_left");
	buffer_free(&seen.body);
	return tap_done();
}
