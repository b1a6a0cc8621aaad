/*
 * NAME
 *	protocol.h - the milter protocol as Postfix 3.7 speaks it, for milterload
 *
 * DESCRIPTION
 *	Command and reply codes, protocol step flags, what Postfix offers in the
 *	negotiation, its buffer and chunk sizes, and the events: for each, whose macros
 *	go before it and which flags let the milter skip it or leave it unanswered.
 *	Values from libmilter's mfdef.h and Postfix's milter8.c.  Included by
 *	milterload.h; the events themselves are defined in reply.c, beside event_send().
 */
#ifndef MILTERLOAD_PROTOCOL_H
#define MILTERLOAD_PROTOCOL_H

#include <stdint.h>

/* Commands, MTA to milter (libmilter's mfdef.h, Postfix's milter8.c). */
#define SMFIC_ABORT	'A'
#define SMFIC_BODY	'B'
#define SMFIC_CONNECT	'C'
#define SMFIC_MACRO	'D'
#define SMFIC_BODYEOB	'E'
#define SMFIC_HELO	'H'
#define SMFIC_HEADER	'L'
#define SMFIC_MAIL	'M'
#define SMFIC_EOH	'N'
#define SMFIC_OPTNEG	'O'
#define SMFIC_QUIT	'Q'
#define SMFIC_RCPT	'R'
#define SMFIC_DATA	'T'

/* Replies, milter to MTA. */
#define SMFIR_ADDRCPT	'+'
#define SMFIR_DELRCPT	'-'
#define SMFIR_ADDRCPT_PAR '2'
#define SMFIR_SHUTDOWN	'4'
#define SMFIR_ACCEPT	'a'
#define SMFIR_REPLBODY	'b'
#define SMFIR_CONTINUE	'c'
#define SMFIR_DISCARD	'd'
#define SMFIR_CHGFROM	'e'
#define SMFIR_ADDHEADER	'h'
#define SMFIR_INSHEADER	'i'
#define SMFIR_CHGHEADER	'm'
#define SMFIR_PROGRESS	'p'
#define SMFIR_QUARANTINE 'q'
#define SMFIR_REJECT	'r'
#define SMFIR_SKIP	's'
#define SMFIR_TEMPFAIL	't'
#define SMFIR_REPLYCODE	'y'

/* Protocol steps (SMFIP_*). */
#define SMFIP_NOCONNECT		0x00000001u
#define SMFIP_NOHELO		0x00000002u
#define SMFIP_NOMAIL		0x00000004u
#define SMFIP_NORCPT		0x00000008u
#define SMFIP_NOBODY		0x00000010u
#define SMFIP_NOHDRS		0x00000020u
#define SMFIP_NOEOH		0x00000040u
#define SMFIP_NR_HDR		0x00000080u
#define SMFIP_NOUNKNOWN		0x00000100u
#define SMFIP_NODATA		0x00000200u
#define SMFIP_SKIP		0x00000400u
#define SMFIP_RCPT_REJ		0x00000800u
#define SMFIP_NR_CONN		0x00001000u
#define SMFIP_NR_HELO		0x00002000u
#define SMFIP_NR_MAIL		0x00004000u
#define SMFIP_NR_RCPT		0x00008000u
#define SMFIP_NR_DATA		0x00010000u
#define SMFIP_NR_UNKN		0x00020000u
#define SMFIP_NR_EOH		0x00040000u
#define SMFIP_NR_BODY		0x00080000u
#define SMFIP_HDR_LEADSPC	0x00100000u

#define MILTER_VERSION	6
#define MTA_ACTIONS	0x000001ffu	/* SMFIF_ADDHDRS .. SMFIF_SETSYMLIST, as Postfix */
#define MTA_PROTOCOL	0x001fffffu	/* Postfix's MILTER8_V6_PROTO_MASK */

#define CHUNK_SIZE	65535		/* Postfix's MILTER_CHUNK_SIZE */
#define VSTREAM_BUFSIZE	4096		/* Postfix's stream buffer before vstream_tweak_tcp() */

/* What one reply (or none) says; R_NONE: the event was not sent or gets no reply. */
enum reply { R_NONE, R_CONTINUE, R_ACCEPT, R_REJECT, R_TEMPFAIL, R_DISCARD, R_SKIP,
    R_SHUTDOWN };

/* Macro stages, numbered as SMFIM_* in the negotiation reply. */
enum stage { ST_CONNECT, ST_HELO, ST_MAIL, ST_RCPT, ST_DATA, ST_EOM, ST_EOH, ST_COUNT };

struct event {
	char	cmd;
	const char *name;
	enum stage stage;		/* whose macros go before it */
	uint32_t skip_flag;		/* SMFIP_NO*: the milter does not want it */
	uint32_t noreply_flag;		/* SMFIP_NR_*: the milter will not answer it */
};

extern const struct event EV_CONNECT, EV_HELO, EV_MAIL, EV_RCPT, EV_DATA, EV_HEADER, EV_EOH,
    EV_BODY, EV_EOB;

#endif
