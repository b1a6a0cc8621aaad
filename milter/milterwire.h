/*
 * NAME
 *	milterwire.h - the milter wire protocol (version 6): frames in, replies out
 * SYNOPSIS
 *	struct mw_frame f;  size_t used;
 *	switch (mw_frame_next(buf, len, &f, &used)) { case MW_OK: ... }
 *	mw_decode_connect(&f, &c);  mw_put_reply(&out, MW_REPLY_CONTINUE, NULL, 0);
 * DESCRIPTION
 *	A frame is a 4-byte big-endian length, then a command byte, then length - 1 bytes
 *	of data.  mw_frame_next() finds the first complete frame in a byte buffer; the
 *	decoders check one command's data and point into it (strings stay where they came:
 *	each is checked to end with a NUL inside the frame); the mw_put_*() encoders append
 *	replies to a buffer.  No I/O, no allocation other than the output buffer's, so the
 *	whole of it is unit-tested and fuzzed.  milter/engine.c is its one user in the
 *	daemon.
 *
 *	The constants are wire values of the protocol (the same numbers as libmilter's
 *	mfdef.h, which this file does not include).  Signet never offers SMFIP_MDS_256K or
 *	SMFIP_MDS_1M, so an MTA sends at most 65535 bytes of data in a frame (Postfix and
 *	Sendmail cut the body in chunks of that size); MW_FRAME_MAX refuses anything longer,
 *	as libmilter does by default: a longer header field, say, closes the connection with
 *	either engine (tests/faults/run.py).
 * DIAGNOSTICS
 *	Every function returns MW_OK or a negative MW_ERR_* (mw_error_text() says which);
 *	mw_frame_next() also MW_MORE when the buffer holds no complete frame yet.  Nothing
 *	is ever read outside the bytes given.
 */
#ifndef SIGNET_MILTERWIRE_H
#define SIGNET_MILTERWIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/buffer.h"

#define MW_VERSION		6
#define MW_FRAME_MAX		(1 + 65535)	/* command byte + data: libmilter's limit */

/* Commands from the MTA (SMFIC_*). */
#define MW_CMD_ABORT		'A'
#define MW_CMD_BODY		'B'
#define MW_CMD_CONNECT		'C'
#define MW_CMD_MACRO		'D'
#define MW_CMD_BODYEOB		'E'
#define MW_CMD_HELO		'H'
#define MW_CMD_QUIT_NC		'K'
#define MW_CMD_HEADER		'L'
#define MW_CMD_MAIL		'M'
#define MW_CMD_EOH		'N'
#define MW_CMD_OPTNEG		'O'
#define MW_CMD_QUIT		'Q'
#define MW_CMD_RCPT		'R'
#define MW_CMD_DATA		'T'
#define MW_CMD_UNKNOWN		'U'

/* Replies to the MTA (SMFIR_*); the OPTNEG reply is MW_CMD_OPTNEG. */
#define MW_REPLY_ACCEPT		'a'
#define MW_REPLY_CONTINUE	'c'
#define MW_REPLY_DISCARD	'd'
#define MW_REPLY_ADDHEADER	'h'
#define MW_REPLY_INSHEADER	'i'
#define MW_REPLY_CHGHEADER	'm'
#define MW_REPLY_QUARANTINE	'q'
#define MW_REPLY_REJECT		'r'
#define MW_REPLY_SKIP		's'
#define MW_REPLY_TEMPFAIL	't'
#define MW_REPLY_REPLYCODE	'y'

/* Families in a CONNECT frame (SMFIA_*). */
#define MW_FAMILY_UNKNOWN	'U'
#define MW_FAMILY_UNIX		'L'
#define MW_FAMILY_INET		'4'
#define MW_FAMILY_INET6		'6'

/* Actions (SMFIF_*). */
#define MW_ACT_ADDHDRS		0x00000001UL
#define MW_ACT_CHGBODY		0x00000002UL
#define MW_ACT_ADDRCPT		0x00000004UL
#define MW_ACT_DELRCPT		0x00000008UL
#define MW_ACT_CHGHDRS		0x00000010UL
#define MW_ACT_QUARANTINE	0x00000020UL
#define MW_ACT_CHGFROM		0x00000040UL
#define MW_ACT_ADDRCPT_PAR	0x00000080UL
#define MW_ACT_SETSYMLIST	0x00000100UL
#define MW_ACT_V1		0x0000000FUL	/* an MTA offering 0 means these */

/* Protocol steps and options (SMFIP_*). */
#define MW_PROTO_NOCONNECT	0x00000001UL
#define MW_PROTO_NOHELO		0x00000002UL
#define MW_PROTO_NOMAIL		0x00000004UL
#define MW_PROTO_NORCPT		0x00000008UL
#define MW_PROTO_NOBODY		0x00000010UL
#define MW_PROTO_NOHDRS		0x00000020UL
#define MW_PROTO_NOEOH		0x00000040UL
#define MW_PROTO_NR_HDR		0x00000080UL
#define MW_PROTO_NOUNKNOWN	0x00000100UL
#define MW_PROTO_NODATA		0x00000200UL
#define MW_PROTO_SKIP		0x00000400UL
#define MW_PROTO_RCPT_REJ	0x00000800UL
#define MW_PROTO_NR_CONN	0x00001000UL
#define MW_PROTO_NR_HELO	0x00002000UL
#define MW_PROTO_NR_MAIL	0x00004000UL
#define MW_PROTO_NR_RCPT	0x00008000UL
#define MW_PROTO_NR_DATA	0x00010000UL
#define MW_PROTO_NR_UNKN	0x00020000UL
#define MW_PROTO_NR_EOH		0x00040000UL
#define MW_PROTO_NR_BODY	0x00080000UL
#define MW_PROTO_HDR_LEADSPC	0x00100000UL
#define MW_PROTO_MDS_256K	0x10000000UL
#define MW_PROTO_MDS_1M		0x20000000UL
#define MW_PROTO_V1		0x0000003FUL	/* an MTA offering 0 means these */
/* The "no reply" options a filter may ask for even when the MTA lacks them. */
#define MW_PROTO_NR_ALL		(MW_PROTO_NR_CONN | MW_PROTO_NR_HELO | MW_PROTO_NR_MAIL | \
	MW_PROTO_NR_RCPT | MW_PROTO_NR_DATA | MW_PROTO_NR_UNKN | MW_PROTO_NR_HDR | \
	MW_PROTO_NR_EOH | MW_PROTO_NR_BODY)

/* Stages of macro lists in the OPTNEG reply (SMFIM_*). */
#define MW_STAGE_CONNECT	0
#define MW_STAGE_HELO		1
#define MW_STAGE_ENVFROM	2
#define MW_STAGE_ENVRCPT	3
#define MW_STAGE_DATA		4
#define MW_STAGE_EOM		5
#define MW_STAGE_EOH		6
#define MW_STAGES		7

enum {
	MW_OK = 0,
	MW_MORE = 1,
	MW_ERR_LENGTH = -1,		/* frame length 0 or above MW_FRAME_MAX */
	MW_ERR_SHORT = -2,		/* data shorter than the command needs */
	MW_ERR_NUL = -3,		/* a string without its terminating NUL */
	MW_ERR_FAMILY = -4,		/* unknown address family */
	MW_ERR_ADDRESS = -5,		/* an address that does not parse */
	MW_ERR_STAGE = -6,		/* a macro frame for no known command */
	MW_ERR_NOMEM = -7,		/* the output buffer could not grow */
	MW_ERR_EMPTY = -8,		/* a header field without a name */
};

struct mw_frame {
	unsigned char cmd;
	unsigned char *data;		/* inside the caller's buffer */
	size_t	len;
};

struct mw_optneg {
	uint32_t version, actions, protocol;
};

struct mw_connect {
	char   *hostname;
	char	family;			/* MW_FAMILY_* */
	struct sockaddr_storage addr;	/* family != MW_FAMILY_UNKNOWN */
};

int	mw_frame_next(unsigned char *buf, size_t len, struct mw_frame *frame, size_t *used);
/* The bytes the frame at the start of buf needs, its length field included (4 while
 * that field is incomplete). */
size_t	mw_frame_need(const unsigned char *buf, size_t len);
const char *mw_error_text(int err);

int	mw_decode_optneg(const struct mw_frame *f, struct mw_optneg *o);
int	mw_decode_connect(const struct mw_frame *f, struct mw_connect *c);
int	mw_decode_macros(const struct mw_frame *f, int *stage, char **pairs, size_t *len);
int	mw_decode_string(const struct mw_frame *f, char **s);
int	mw_decode_header(const struct mw_frame *f, char **name, char **value);
int	mw_decode_argv(const struct mw_frame *f, char **argv, size_t max, size_t *count);
int	mw_next_string(char *span, size_t len, size_t *pos, char **s);

int	mw_put_reply(struct buffer *out, int code, const void *data, size_t len);
int	mw_put_string(struct buffer *out, int code, const char *s);
int	mw_put_header(struct buffer *out, int code, uint32_t index, const char *name,
	    const char *value);
int	mw_put_optneg(struct buffer *out, const struct mw_optneg *o,
	    const char *const lists[MW_STAGES]);

#endif
