/*
 * NAME
 *	engine.c - Signet's milter engine: one MTA connection, and the smfi_*() calls
 * DESCRIPTION
 *	configure --with-milter-engine=signet (the default) builds this in place of
 *	libmilter; adapter.c sees the same API either way (engine-mfapi.h).  Each MTA
 *	connection has a thread (engine_serve() wakes one that waits or starts one) that
 *	reads into one large buffer, takes every complete frame the buffer holds
 *	(milterwire.c), calls the filter's callbacks, and gathers the replies in an output
 *	buffer written with one write when the thread is about to wait for the MTA again.
 *	libmilter does a read(2) for each frame header and body and a write(2) per reply,
 *	and hands each connection between threads; here a message through Postfix on a
 *	unix socket costs a few system calls.  On TCP, when the thread is about to wait for
 *	the MTA with no reply to send (a macro frame, a "no reply" step, part of a frame),
 *	it sets TCP_QUICKACK, which
 *	sends the ACK the kernel would otherwise delay ~40 ms: the MTA's next small write,
 *	held by Nagle's algorithm on the MTA's side until that ACK, then goes at once
 *	(Sendmail writes a macro frame and its command in two writes).  When a reply is
 *	sent, the ACK rides on it.  TCP_NODELAY comes from the listener (adapter.c).
 *
 *	libmilter's semantics are kept where adapter.c or an MTA can tell:
 *	  - negotiation: the filter's xxfi_negotiate sees the MTA's protocol flags plus every
 *	    SMFIP_NR_* flag, which the engine fakes (sends "continue" itself) when the MTA
 *	    lacks it; SMFIP_NODATA/NOUNKNOWN are dropped when the MTA lacks them; actions or
 *	    steps the MTA cannot do close the connection;
 *	  - a callback returning anything but SMFIS_NOREPLY at a step negotiated as "no
 *	    reply" sends nothing;
 *	  - macros: one list per stage, replaced by the next 'D' frame for it (one for an
	    unknown stage, or malformed, is ignored); a command
 *	    clears the lists of the stages after its own (CONNECT, HELO, MAIL, RCPT);
 *	    smfi_getsymval() looks from the last stage (end of headers) back to CONNECT and
 *	    takes "x" for "{x}" and the other way round;
 *	  - reject/tempfail with smfi_setreply() text send the text ('y') when its first
 *	    digit fits; accept, reject, tempfail or discard end the message, except at RCPT;
 *	    commands of a message that ended are ignored, with no reply;
 *	  - header changes and quarantine only during xxfi_eom, sent before its reply;
 *	    'E' with data calls xxfi_body first;
 *	  - ABORT calls xxfi_abort; QUIT calls xxfi_close and ends; QUIT_NC calls xxfi_close
 *	    and waits for a new CONNECT on the same connection (the negotiation holds); an
 *	    MTA that closes without QUIT, a read timeout (7210 s, libmilter's), an unknown
 *	    command or a malformed frame (logged once) end the connection, calling
 *	    xxfi_abort inside a message and xxfi_close;
 *	  - negotiation comes first, as libmilter's state table has it: any other command
 *	    but QUIT before it ends the connection, logged.  So every callback of a
 *	    connection comes after its xxfi_negotiate, on the thread that called it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "lib/buffer.h"
#include "lib/log.h"
#include "lib/waitzero.h"
#include "milter/engine-mfapi.h"
#include "milter/engine.h"

/* One read buffer per MTA connection: the longest frame (4-byte length and MW_FRAME_MAX;
 * longer ones are refused) and room for the small frames read with it (Postfix sends the
 * end-of-message macros before each body chunk), so a 1 MiB message touches no more of it
 * than a 64 KiB one, and a chunk read behind a macro frame need not be moved.  It is
 * mapped, not malloc()ed: glibc keeps freed heap memory of a thread's arena resident for
 * the next connection on another arena, and raises its mmap threshold after the first
 * free, so RSS grew with each connection and each message size (issue 17).  An ended
 * connection leaves its buffer to the next one (up to SPARE_BUFFERS wait): Postfix opens a
 * milter connection per SMTP session, and a fresh mapping costs each one an mmap(), page
 * faults as it fills, and at munmap() a TLB flush on every core running our threads
 * (4-6 % of the milter's CPU at one message a connection, measured with perf). */
#define IN_CAP		(4 + MW_FRAME_MAX + 4096)
#define SPARE_BUFFERS	16
/* A thread whose connection ended waits for the next one (IDLE_SECONDS at most, up to
 * IDLE_THREADS_MAX of them): at its exit glibc would give its stack's pages back with
 * madvise(), one more TLB flush on every core, and a new thread would fault them in. */
#define IDLE_THREADS_MAX 16
#define IDLE_SECONDS	60
#define LARGE_FRAME	(16 * 1024)	/* read no further than the end of such a frame */
#define TIMEOUT_SECONDS	7210		/* libmilter's default timeout */
#define MAX_REPLY_TEXT	980		/* libmilter's MAXREPLYLEN */

/* What a command leaves: go on, QUIT, a refused command, or an end already logged. */
enum step { STEP_GO, STEP_QUIT, STEP_FAIL, STEP_END };

struct smfi_str {
	int	fd;
	int	is_tcp;
	void   *priv;
	unsigned char *in;		/* what was read, from in_start to in_end */
	size_t	in_start, in_end;
	void   *in_map;			/* the mapping `in` lies in, and its length */
	size_t	in_map_len;
	struct buffer out;		/* replies not yet written */
	unsigned long mta_protocol;	/* what the MTA offered */
	unsigned long actions;		/* what was agreed */
	unsigned long protocol;		/* the filter's view: NR_* may be faked */
	char   *symlist[MW_STAGES];	/* smfi_setsymlist() */
	char   *macros[MW_STAGES];	/* name NUL value NUL ... */
	size_t	macros_len[MW_STAGES];
	char   *reply;			/* smfi_setreply() */
	int	negotiated;		/* OPTNEG answered */
	int	in_message;		/* between MAIL and the end of the message */
	int	at_eom;			/* in xxfi_eom: edits allowed */
	struct connection_link {
		struct smfi_str *prev, *next;
	} link;
	struct smfi_str *handed_next;	/* in handed_over, for an idle thread */
};

static struct smfiDesc filter;
static pthread_mutex_t connections_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_wakeup = PTHREAD_COND_INITIALIZER;
static struct smfi_str *handed_over;	/* connections for idle threads, newest first */
static unsigned idle_threads;		/* threads waiting, none reserved (next_connection) */
static unsigned char *spare_buffers[SPARE_BUFFERS];	/* mappings of ended connections */
static size_t spare_count;
static pthread_cond_t connections_gone = PTHREAD_COND_INITIALIZER;
static struct smfi_str *connections;
static unsigned connection_count;

int	smfi_register(struct smfiDesc desc)
{
	if (desc.xxfi_name == NULL)
		return MI_FAILURE;
	filter = desc;
	return MI_SUCCESS;
}

void   *smfi_getpriv(SMFICTX *ctx)
{
	return ctx != NULL ? ctx->priv : NULL;
}

int	smfi_setpriv(SMFICTX *ctx, void *priv)
{
	if (ctx == NULL)
		return MI_FAILURE;
	ctx->priv = priv;
	return MI_SUCCESS;
}

static void clear_macros(SMFICTX *ctx, int from)
{
	for (int i = from; i < MW_STAGES; i++) {
		free(ctx->macros[i]);
		ctx->macros[i] = NULL;
		ctx->macros_len[i] = 0;
	}
}

/* libmilter's lookup: "{x}" also finds "x" and "x" also finds "{x}". */
static int symbol_matches(const char *have, const char *want)
{
	size_t	hl = strlen(have), wl = strlen(want);

	if (strcmp(have, want) == 0)
		return 1;
	if (wl == 3 && want[0] == '{' && want[2] == '}')
		return hl == 1 && have[0] == want[1];
	if (wl == 1)
		return hl == 3 && have[0] == '{' && have[1] == want[0] && have[2] == '}';
	return 0;
}

char   *smfi_getsymval(SMFICTX *ctx, char *name)
{
	if (ctx == NULL || name == NULL || name[0] == '\0')
		return NULL;
	for (int i = MW_STAGES - 1; i >= 0; i--) {
		size_t	pos = 0;
		char   *key, *value;

		while (mw_next_string(ctx->macros[i], ctx->macros_len[i], &pos, &key) == MW_OK &&
		    mw_next_string(ctx->macros[i], ctx->macros_len[i], &pos, &value) == MW_OK)
			if (symbol_matches(key, name))
				return value;
	}
	return NULL;
}

int	smfi_setsymlist(SMFICTX *ctx, int stage, char *macros)
{
	if (ctx == NULL || macros == NULL || stage < 0 || stage >= MW_STAGES ||
	    ctx->symlist[stage] != NULL)
		return MI_FAILURE;
	return (ctx->symlist[stage] = strdup(macros)) != NULL ? MI_SUCCESS : MI_FAILURE;
}

/* Edits are for the end of the message only, and only those agreed. */
static int may_edit(const SMFICTX *ctx, unsigned long action)
{
	return ctx != NULL && ctx->at_eom && (ctx->actions & action) != 0;
}

int	smfi_insheader(SMFICTX *ctx, int index, char *name, char *value)
{
	if (!may_edit(ctx, SMFIF_ADDHDRS) || name == NULL || name[0] == '\0' ||
	    value == NULL || index < 0)
		return MI_FAILURE;
	return mw_put_header(&ctx->out, MW_REPLY_INSHEADER, (uint32_t)index, name, value) ==
	    MW_OK ? MI_SUCCESS : MI_FAILURE;
}

int	smfi_chgheader(SMFICTX *ctx, char *name, int index, char *value)
{
	if (!may_edit(ctx, SMFIF_CHGHDRS) || name == NULL || name[0] == '\0' || index < 0)
		return MI_FAILURE;
	return mw_put_header(&ctx->out, MW_REPLY_CHGHEADER, (uint32_t)index, name,
	    value != NULL ? value : "") == MW_OK ? MI_SUCCESS : MI_FAILURE;
}

int	smfi_quarantine(SMFICTX *ctx, char *reason)
{
	if (!may_edit(ctx, SMFIF_QUARANTINE) || reason == NULL || reason[0] == '\0')
		return MI_FAILURE;
	return mw_put_string(&ctx->out, MW_REPLY_QUARANTINE, reason) == MW_OK ? MI_SUCCESS :
	    MI_FAILURE;
}

/* An enhanced status code x.y.z whose class is the reply code's first digit. */
static int status_code_ok(const char *x, char class)
{
	size_t	n[3] = {0, 0, 0};
	int	part = 0;

	if (x[0] != class || x[1] != '.')
		return 0;
	for (const char *p = x; *p != '\0'; p++) {
		if (*p == '.') {
			if (++part > 2)
				return 0;
		} else if (*p >= '0' && *p <= '9') {
			n[part]++;
		} else {
			return 0;
		}
	}
	return part == 2 && n[0] == 1 && n[1] >= 1 && n[1] <= 3 && n[2] >= 1 && n[2] <= 3;
}

/* "rcode xcode message", as libmilter builds it. */
int	smfi_setreply(SMFICTX *ctx, char *rcode, char *xcode, char *message)
{
	struct buffer text = {0};

	if (ctx == NULL || rcode == NULL || strlen(rcode) != 3 ||
	    (rcode[0] != '4' && rcode[0] != '5') || rcode[1] < '0' || rcode[1] > '9' ||
	    rcode[2] < '0' || rcode[2] > '9')
		return MI_FAILURE;
	if (xcode != NULL && !status_code_ok(xcode, rcode[0]))
		return MI_FAILURE;
	if (message != NULL && (strpbrk(message, "\r\n") != NULL ||
	    strlen(message) > MAX_REPLY_TEXT))
		return MI_FAILURE;
	if (!buffer_printf(&text, "%s %s%s%s", rcode, xcode != NULL ? xcode : "",
	    xcode != NULL && message != NULL ? " " : "", message != NULL ? message : "")) {
		buffer_free(&text);
		return MI_FAILURE;
	}
	free(ctx->reply);
	ctx->reply = text.data;
	return MI_SUCCESS;
}

/* Queues the reply for status at a step whose "no reply" flag is nr_flag (0: none). */
static int send_status(SMFICTX *ctx, sfsistat status, unsigned long nr_flag)
{
	int	code;

	if (nr_flag != 0 && (ctx->protocol & nr_flag) != 0) {
		/* Agreed: no reply, whatever the callback says; faked for an MTA without it. */
		if ((ctx->mta_protocol & nr_flag) != 0)
			return 1;
		status = SMFIS_CONTINUE;
	}
	switch (status) {
	case SMFIS_CONTINUE:
		code = MW_REPLY_CONTINUE;
		break;
	case SMFIS_REJECT:
	case SMFIS_TEMPFAIL:
		code = status == SMFIS_REJECT ? MW_REPLY_REJECT : MW_REPLY_TEMPFAIL;
		if (ctx->reply != NULL && ctx->reply[0] == (status == SMFIS_REJECT ? '5' : '4')) {
			int	ok = mw_put_string(&ctx->out, MW_REPLY_REPLYCODE, ctx->reply) == MW_OK;

			free(ctx->reply);
			ctx->reply = NULL;
			return ok;
		}
		break;
	case SMFIS_DISCARD:
		code = MW_REPLY_DISCARD;
		break;
	case SMFIS_ACCEPT:
		code = MW_REPLY_ACCEPT;
		break;
	case SMFIS_SKIP:
		code = MW_REPLY_SKIP;
		break;
	default:		/* SMFIS_NOREPLY */
		return 1;
	}
	return mw_put_reply(&ctx->out, code, NULL, 0) == MW_OK;
}

/* Replies for a step; a final answer ends the message unless the step is RCPT's. */
static enum step answer(SMFICTX *ctx, sfsistat status, unsigned long nr_flag, int ends)
{
	if (ends && (status == SMFIS_ACCEPT || status == SMFIS_REJECT ||
	    status == SMFIS_TEMPFAIL || status == SMFIS_DISCARD))
		ctx->in_message = 0;
	return send_status(ctx, status, nr_flag) ? STEP_GO : STEP_FAIL;
}

/* The steps libmilter asks the MTA to skip when the filter has no callback for them. */
static unsigned long unused_steps(void)
{
	return (filter.xxfi_connect == NULL ? SMFIP_NOCONNECT : 0) |
	    (filter.xxfi_helo == NULL ? SMFIP_NOHELO : 0) |
	    (filter.xxfi_envfrom == NULL ? SMFIP_NOMAIL : 0) |
	    (filter.xxfi_envrcpt == NULL ? SMFIP_NORCPT : 0) |
	    (filter.xxfi_body == NULL ? SMFIP_NOBODY : 0) |
	    (filter.xxfi_header == NULL ? SMFIP_NOHDRS : 0) |
	    (filter.xxfi_eoh == NULL ? SMFIP_NOEOH : 0) |
	    (filter.xxfi_unknown == NULL ? SMFIP_NOUNKNOWN : 0) |
	    (filter.xxfi_data == NULL ? SMFIP_NODATA : 0);
}

static enum step negotiate(SMFICTX *ctx, const struct mw_frame *f)
{
	struct mw_optneg mta, ours;
	unsigned long mta_actions, actions = filter.xxfi_flags, protocol = unused_steps();
	unsigned long to_mta;

	clear_macros(ctx, 0);
	if (mw_decode_optneg(f, &mta) != MW_OK || mta.version < 2) {
		log_msg(LOG_LEVEL_ERROR, "milter: the MTA's option negotiation is malformed");
		return STEP_END;
	}
	for (int i = 0; i < MW_STAGES; i++) {
		free(ctx->symlist[i]);
		ctx->symlist[i] = NULL;
	}
	mta_actions = mta.actions != 0 ? mta.actions : MW_ACT_V1;
	ctx->mta_protocol = (mta.protocol != 0 ? mta.protocol : MW_PROTO_V1) &
	    ~(MW_PROTO_MDS_256K | MW_PROTO_MDS_1M);
	to_mta = protocol;
	if (filter.xxfi_negotiate != NULL) {
		unsigned long a = mta_actions, p = protocol, f2 = 0, f3 = 0;
		sfsistat r;

		p |= ctx->mta_protocol & MW_PROTO_SKIP;
		r = filter.xxfi_negotiate(ctx, mta_actions, ctx->mta_protocol | MW_PROTO_NR_ALL,
		    0, 0, &a, &p, &f2, &f3);
		if (r == SMFIS_ALL_OPTS) {
			actions = mta_actions;
			to_mta = protocol | (ctx->mta_protocol & MW_PROTO_SKIP);
		} else if (r != SMFIS_CONTINUE) {
			log_msg(LOG_LEVEL_ERROR, "milter: negotiation refused (MTA actions 0x%lx, "
			    "protocol 0x%lx)", mta_actions, ctx->mta_protocol);
			return STEP_END;
		} else {
			actions = a;
			protocol = to_mta = p;
		}
		to_mta &= ~(MW_PROTO_NR_ALL & ~ctx->mta_protocol);
	}
	to_mta &= ~((MW_PROTO_NODATA | MW_PROTO_NOUNKNOWN) & ~ctx->mta_protocol);
	if ((actions & mta_actions) != actions || (to_mta & ctx->mta_protocol) != to_mta) {
		log_msg(LOG_LEVEL_ERROR, "milter: the MTA cannot do what the filter needs (MTA "
		    "actions 0x%lx, protocol 0x%lx; wanted 0x%lx, 0x%lx)", mta_actions,
		    ctx->mta_protocol, actions, to_mta);
		return STEP_END;
	}
	ctx->actions = actions;
	ctx->protocol = protocol;
	ours.version = mta.version < MW_VERSION ? mta.version : MW_VERSION;
	ours.actions = (uint32_t)actions;
	ours.protocol = (uint32_t)(to_mta & ~(MW_PROTO_MDS_256K | MW_PROTO_MDS_1M));
	if (mw_put_optneg(&ctx->out, &ours, (const char *const *)ctx->symlist) != MW_OK)
		return STEP_FAIL;
	ctx->negotiated = 1;
	return STEP_GO;
}

static enum step take_macros(SMFICTX *ctx, const struct mw_frame *f)
{
	char   *pairs, *copy;
	size_t	len;
	int	stage;

	/* libmilter ignores what it cannot take here: Postfix sends macros for stages
	 * that have none in the protocol (such as 'L', the header). */
	if (mw_decode_macros(f, &stage, &pairs, &len) != MW_OK)
		return STEP_GO;
	if ((copy = malloc(len + 1)) == NULL)
		return STEP_FAIL;
	memcpy(copy, pairs, len);
	copy[len] = '\0';
	free(ctx->macros[stage]);
	ctx->macros[stage] = copy;
	ctx->macros_len[stage] = len;
	return STEP_GO;
}

static enum step take_connect(SMFICTX *ctx, const struct mw_frame *f)
{
	struct mw_connect c;

	clear_macros(ctx, MW_STAGE_CONNECT + 1);
	if (mw_decode_connect(f, &c) != MW_OK)
		return STEP_FAIL;
	if (filter.xxfi_connect == NULL)
		return answer(ctx, SMFIS_CONTINUE, SMFIP_NR_CONN, 0);
	return answer(ctx, filter.xxfi_connect(ctx, c.hostname, c.family != MW_FAMILY_UNKNOWN ?
	    (struct sockaddr *)&c.addr : NULL), SMFIP_NR_CONN, 0);
}

static enum step take_string(SMFICTX *ctx, const struct mw_frame *f,
    sfsistat (*callback)(SMFICTX *, char *), unsigned long nr_flag)
{
	char   *s;

	if (mw_decode_string(f, &s) != MW_OK)
		return STEP_FAIL;
	return answer(ctx, callback != NULL ? callback(ctx, s) : SMFIS_CONTINUE, nr_flag, 0);
}

static enum step take_argv(SMFICTX *ctx, const struct mw_frame *f,
    sfsistat (*callback)(SMFICTX *, char **), unsigned long nr_flag, int ends)
{
	char  **argv;
	size_t	count;
	sfsistat r = SMFIS_CONTINUE;

	if (mw_decode_argv(f, NULL, 0, &count) != MW_OK ||
	    (argv = calloc(count + 1, sizeof(*argv))) == NULL)
		return STEP_FAIL;
	(void)mw_decode_argv(f, argv, count, &count);
	if (callback != NULL)
		r = callback(ctx, argv);
	free(argv);
	return answer(ctx, r, nr_flag, ends);
}

static enum step take_header(SMFICTX *ctx, const struct mw_frame *f)
{
	char   *name, *value;

	if (mw_decode_header(f, &name, &value) != MW_OK)
		return STEP_FAIL;
	return answer(ctx, filter.xxfi_header != NULL ? filter.xxfi_header(ctx, name, value) :
	    SMFIS_CONTINUE, SMFIP_NR_HDR, 1);
}

static enum step take_body(SMFICTX *ctx, const struct mw_frame *f)
{
	return answer(ctx, filter.xxfi_body != NULL ? filter.xxfi_body(ctx, f->data, f->len) :
	    SMFIS_CONTINUE, SMFIP_NR_BODY, 1);
}

/* The last body chunk, if any, then the end of the message: edits go out before its
 * reply. */
static enum step take_end_of_message(SMFICTX *ctx, const struct mw_frame *f)
{
	sfsistat r = SMFIS_CONTINUE;

	ctx->at_eom = 1;
	if (f->len > 0 && filter.xxfi_body != NULL &&
	    (r = filter.xxfi_body(ctx, f->data, f->len)) != SMFIS_CONTINUE &&
	    !send_status(ctx, r, 0)) {
		ctx->at_eom = 0;
		return STEP_FAIL;
	}
	if (r == SMFIS_CONTINUE) {
		r = filter.xxfi_eom != NULL ? filter.xxfi_eom(ctx) : SMFIS_CONTINUE;
		if (!send_status(ctx, r, 0)) {
			ctx->at_eom = 0;
			return STEP_FAIL;
		}
	}
	ctx->at_eom = 0;
	ctx->in_message = 0;
	return STEP_GO;
}

static enum step take_unknown(SMFICTX *ctx, const struct mw_frame *f)
{
	char   *s;

	if (mw_decode_string(f, &s) != MW_OK)
		return STEP_FAIL;
	return answer(ctx, filter.xxfi_unknown != NULL ? filter.xxfi_unknown(ctx, s) :
	    SMFIS_CONTINUE, SMFIP_NR_UNKN, 0);
}

static sfsistat call(sfsistat (*callback)(SMFICTX *), SMFICTX *ctx)
{
	return callback != NULL ? callback(ctx) : SMFIS_CONTINUE;
}

/* Commands inside a message, once the message ended, are ignored (libmilter too). */
static int message_command(int cmd)
{
	return cmd == MW_CMD_RCPT || cmd == MW_CMD_DATA || cmd == MW_CMD_HEADER ||
	    cmd == MW_CMD_EOH || cmd == MW_CMD_BODY || cmd == MW_CMD_BODYEOB;
}

/* A command byte fit for a log line. */
static int command_char(int cmd)
{
	return cmd >= 0x20 && cmd < 0x7f ? cmd : '?';
}

static enum step take(SMFICTX *ctx, const struct mw_frame *f)
{
	if (!ctx->negotiated && f->cmd != MW_CMD_OPTNEG && f->cmd != MW_CMD_QUIT) {
		log_msg(LOG_LEVEL_ERROR, "milter: closing the MTA connection: command '%c' "
		    "before the option negotiation", command_char(f->cmd));
		return STEP_END;
	}
	if (message_command(f->cmd) && !ctx->in_message)
		return STEP_GO;
	switch (f->cmd) {
	case MW_CMD_OPTNEG:
		return negotiate(ctx, f);
	case MW_CMD_MACRO:
		return take_macros(ctx, f);
	case MW_CMD_CONNECT:
		return take_connect(ctx, f);
	case MW_CMD_HELO:
		clear_macros(ctx, MW_STAGE_HELO + 1);
		return take_string(ctx, f, filter.xxfi_helo, SMFIP_NR_HELO);
	case MW_CMD_MAIL:
		clear_macros(ctx, MW_STAGE_ENVFROM + 1);
		ctx->in_message = 1;
		return take_argv(ctx, f, filter.xxfi_envfrom, SMFIP_NR_MAIL, 1);
	case MW_CMD_RCPT:
		clear_macros(ctx, MW_STAGE_ENVRCPT + 1);
		return take_argv(ctx, f, filter.xxfi_envrcpt, SMFIP_NR_RCPT, 0);
	case MW_CMD_DATA:
		return answer(ctx, call(filter.xxfi_data, ctx), SMFIP_NR_DATA, 1);
	case MW_CMD_HEADER:
		return take_header(ctx, f);
	case MW_CMD_EOH:
		return answer(ctx, call(filter.xxfi_eoh, ctx), SMFIP_NR_EOH, 1);
	case MW_CMD_BODY:
		return take_body(ctx, f);
	case MW_CMD_BODYEOB:
		return take_end_of_message(ctx, f);
	case MW_CMD_ABORT:
		ctx->in_message = 0;
		(void)call(filter.xxfi_abort, ctx);
		return STEP_GO;
	case MW_CMD_UNKNOWN:
		return take_unknown(ctx, f);
	case MW_CMD_QUIT:
	case MW_CMD_QUIT_NC:
		(void)call(filter.xxfi_close, ctx);
		clear_macros(ctx, 0);
		return f->cmd == MW_CMD_QUIT ? STEP_QUIT : STEP_GO;
	}
	return STEP_FAIL;
}

/* Writes what the replies gathered; 0 when the MTA is gone. */
static int flush(SMFICTX *ctx)
{
	size_t	done = 0;

	while (done < ctx->out.len) {
		ssize_t	n = send(ctx->fd, ctx->out.data + done, ctx->out.len - done,
		    MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		done += (size_t)n;
	}
	ctx->out.len = 0;
	return 1;
}

/* The read buffer: IN_CAP bytes that end where an inaccessible page begins, so a read
 * past the end faults at once instead of landing in the mapping's slack. */
static int map_input(SMFICTX *ctx)
{
	size_t	page = (size_t)sysconf(_SC_PAGESIZE);
	size_t	room = (IN_CAP + page - 1) / page * page;
	unsigned char *map = NULL;

	pthread_mutex_lock(&spare_lock);
	if (spare_count > 0)
		map = spare_buffers[--spare_count];
	pthread_mutex_unlock(&spare_lock);
	if (map == NULL) {
		map = mmap(NULL, room + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
		if (map == MAP_FAILED)
			return 0;
		if (mprotect(map + room, page, PROT_NONE) != 0) {
			(void)munmap(map, room + page);
			return 0;
		}
	}
	ctx->in_map = map;
	ctx->in_map_len = room + page;
	ctx->in = map + room - IN_CAP;
	return 1;
}

/* Reads more of what the MTA sent; the frame begun at in_start is `need` bytes in all
 * (mw_frame_next() refuses frames longer than IN_CAP holds).  A read stops at the end of
 * a large frame (a body chunk), so what follows starts at the head of the buffer, and
 * the chunk after the next macro frame fits behind it: a stream of chunks is not moved.
 * Small frames a read cut are moved to the head (cheap), large ones only when they do not
 * fit.  Without this, the partial chunk left by each read was moved: 0.9 MB for each MB
 * read (issue 17).
 * Returns 0 at the end (closed, timed out: SO_RCVTIMEO, error), -1 out of memory. */
static int fill(SMFICTX *ctx, size_t need)
{
	size_t	end = IN_CAP;
	ssize_t	n;

	if (ctx->in == NULL && !map_input(ctx))
		return -1;
	if (need > IN_CAP)
		return -1;
	if (ctx->in_start == ctx->in_end) {
		ctx->in_start = ctx->in_end = 0;
	} else if (ctx->in_start + need > IN_CAP || need < LARGE_FRAME) {
		memmove(ctx->in, ctx->in + ctx->in_start, ctx->in_end - ctx->in_start);
		ctx->in_end -= ctx->in_start;
		ctx->in_start = 0;
	}
	if (need >= LARGE_FRAME)
		end = ctx->in_start + need;
	while ((n = read(ctx->fd, ctx->in + ctx->in_end, end - ctx->in_end)) < 0 &&
	    errno == EINTR)
		;
	if (n <= 0)
		return 0;
	ctx->in_end += (size_t)n;
	return 1;
}

/* Before waiting for the MTA with no reply to send: on TCP, the ACK of what we read goes
 * now, since no reply will carry it.  TCP_QUICKACK sends an ACK the kernel holds back
 * (it has to be set again each time: Linux returns to delayed ACKs by itself). */
static void acknowledge_now(const SMFICTX *ctx)
{
	int	one = 1;

	if (ctx->is_tcp)
		(void)setsockopt(ctx->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

/* The conversation with one MTA; returns what ended it. */
static enum step converse(SMFICTX *ctx)
{
	for (;;) {
		struct mw_frame f;
		size_t	used;
		int	rc;
		enum step s;

		while ((rc = mw_frame_next(ctx->in + ctx->in_start, ctx->in_end - ctx->in_start,
		    &f, &used)) == MW_OK) {
			ctx->in_start += used;
			if ((s = take(ctx, &f)) != STEP_GO) {
				if (s == STEP_FAIL)
					log_msg(LOG_LEVEL_WARNING, "milter: closing the MTA "
					    "connection: command '%c' (%zu bytes) refused",
					    command_char(f.cmd), f.len);
				(void)flush(ctx);
				return s;
			}
		}
		if (rc != MW_MORE) {
			log_msg(LOG_LEVEL_WARNING, "milter: closing the MTA connection: %s",
			    mw_error_text(rc));
			(void)flush(ctx);
			return STEP_FAIL;
		}
		if (ctx->out.len == 0)
			acknowledge_now(ctx);
		else if (!flush(ctx))
			return STEP_FAIL;
		rc = fill(ctx, mw_frame_need(ctx->in + ctx->in_start, ctx->in_end - ctx->in_start));
		if (rc <= 0) {
			if (rc < 0)
				log_msg(LOG_LEVEL_ERROR, "milter: out of memory reading from the MTA");
			return STEP_FAIL;
		}
	}
}

static void connection_free(SMFICTX *ctx)
{
	pthread_mutex_lock(&connections_lock);
	if (ctx->link.prev != NULL)
		ctx->link.prev->link.next = ctx->link.next;
	else
		connections = ctx->link.next;
	if (ctx->link.next != NULL)
		ctx->link.next->link.prev = ctx->link.prev;
	if (--connection_count == 0)
		pthread_cond_broadcast(&connections_gone);
	pthread_mutex_unlock(&connections_lock);
	(void)close(ctx->fd);
	clear_macros(ctx, 0);
	for (int i = 0; i < MW_STAGES; i++)
		free(ctx->symlist[i]);
	free(ctx->reply);
	if (ctx->in_map != NULL) {
		pthread_mutex_lock(&spare_lock);
		if (spare_count < SPARE_BUFFERS) {
			spare_buffers[spare_count++] = ctx->in_map;
			ctx->in_map = NULL;
		}
		pthread_mutex_unlock(&spare_lock);
		if (ctx->in_map != NULL)
			(void)munmap(ctx->in_map, ctx->in_map_len);
	}
	buffer_free(&ctx->out);
	free(ctx);
}

static void serve_connection(SMFICTX *ctx)
{
	if (converse(ctx) != STEP_QUIT) {
		if (ctx->in_message)
			(void)call(filter.xxfi_abort, ctx);
		(void)call(filter.xxfi_close, ctx);
	}
	if (ctx->priv != NULL)
		log_msg(LOG_LEVEL_WARNING, "milter: %s: private data not NULL", filter.xxfi_name);
	connection_free(ctx);
}

/* The next connection handed to this idle thread, or NULL when none came in
 * IDLE_SECONDS or enough threads already wait.  Each thread counted in idle_threads has
 * no connection reserved for it; engine_serve() reserves one (idle_threads - 1) as it
 * queues a connection, so a thread that finds the queue empty was not reserved. */
static SMFICTX *next_connection(void)
{
	struct timespec deadline;
	SMFICTX *ctx;

	(void)clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += IDLE_SECONDS;
	pthread_mutex_lock(&idle_lock);
	if (idle_threads >= IDLE_THREADS_MAX) {
		pthread_mutex_unlock(&idle_lock);
		return NULL;
	}
	idle_threads++;
	while (handed_over == NULL &&
	    pthread_cond_timedwait(&idle_wakeup, &idle_lock, &deadline) != ETIMEDOUT)
		continue;
	if ((ctx = handed_over) != NULL)
		handed_over = ctx->handed_next;
	else
		idle_threads--;
	pthread_mutex_unlock(&idle_lock);
	return ctx;
}

static void *connection_thread(void *arg)
{
	for (SMFICTX *ctx = arg; ctx != NULL; ctx = next_connection())
		serve_connection(ctx);
	return NULL;
}

/* Gives ctx to a thread waiting in next_connection(); 0 when none waits. */
static int hand_over(SMFICTX *ctx)
{
	int	done = 0;

	pthread_mutex_lock(&idle_lock);
	if (idle_threads > 0) {
		idle_threads--;
		ctx->handed_next = handed_over;
		handed_over = ctx;
		pthread_cond_signal(&idle_wakeup);
		done = 1;
	}
	pthread_mutex_unlock(&idle_lock);
	return done;
}

int	engine_serve(int fd, int is_tcp)
{
	SMFICTX *ctx = calloc(1, sizeof(*ctx));
	struct timeval timeout = {.tv_sec = TIMEOUT_SECONDS};
	pthread_attr_t attr;
	pthread_t thread;
	int	rc = -1;

	if (ctx == NULL) {
		(void)close(fd);
		return 0;
	}
	ctx->fd = fd;
	ctx->is_tcp = is_tcp;
	/* Reads and writes give up after libmilter's timeout. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
	pthread_mutex_lock(&connections_lock);
	ctx->link.next = connections;
	if (connections != NULL)
		connections->link.prev = ctx;
	connections = ctx;
	connection_count++;
	pthread_mutex_unlock(&connections_lock);
	if (hand_over(ctx))
		return 1;
	if (pthread_attr_init(&attr) == 0) {
		(void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&thread, &attr, connection_thread, ctx);
		pthread_attr_destroy(&attr);
	}
	if (rc != 0) {
		connection_free(ctx);
		return 0;
	}
	return 1;
}

unsigned engine_stop_connections(unsigned seconds)
{
	pthread_mutex_lock(&connections_lock);
	/* The read side only: a thread waiting for the MTA sees the end at once, and one
	 * that has replies gathered still writes them (the drain ends as the last message
	 * in flight ends, before its end-of-message reply has gone out). */
	for (SMFICTX *c = connections; c != NULL; c = c->link.next)
		(void)shutdown(c->fd, SHUT_RD);
	pthread_mutex_unlock(&connections_lock);
	return wait_for_zero(&connections_gone, &connections_lock, &connection_count, seconds);
}
