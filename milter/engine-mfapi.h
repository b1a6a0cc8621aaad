/*
 * NAME
 *	engine-mfapi.h - libmilter's API, the part adapter.c uses, served by Signet's engine
 * SYNOPSIS
 *	#include "milter/engine-mfapi.h"	(instead of <libmilter/mfapi.h>)
 * DESCRIPTION
 *	The same names, types and meanings as libmilter's mfapi.h, for the functions and
 *	constants adapter.c calls and no others, so adapter.c reads the same with either
 *	engine (configure --with-milter-engine).  The flag values are the protocol's wire
 *	values (milterwire.h).  milter/engine.c implements the functions; see there for
 *	what each does and where it differs from libmilter.
 */
#ifndef SIGNET_ENGINE_MFAPI_H
#define SIGNET_ENGINE_MFAPI_H

#include <stddef.h>
#include <sys/socket.h>

#include "milter/milterwire.h"

typedef struct smfi_str SMFICTX;
typedef int sfsistat;

#define SMFI_VERSION		0x01000001

#define MI_SUCCESS		0
#define MI_FAILURE		(-1)

#define SMFIS_CONTINUE		0
#define SMFIS_REJECT		1
#define SMFIS_DISCARD		2
#define SMFIS_ACCEPT		3
#define SMFIS_TEMPFAIL		4
#define SMFIS_NOREPLY		7
#define SMFIS_SKIP		8
#define SMFIS_ALL_OPTS		10

#define SMFIF_ADDHDRS		MW_ACT_ADDHDRS
#define SMFIF_CHGHDRS		MW_ACT_CHGHDRS
#define SMFIF_QUARANTINE	MW_ACT_QUARANTINE
#define SMFIF_SETSYMLIST	MW_ACT_SETSYMLIST

#define SMFIP_NOCONNECT		MW_PROTO_NOCONNECT
#define SMFIP_NOHELO		MW_PROTO_NOHELO
#define SMFIP_NOMAIL		MW_PROTO_NOMAIL
#define SMFIP_NORCPT		MW_PROTO_NORCPT
#define SMFIP_NOBODY		MW_PROTO_NOBODY
#define SMFIP_NOHDRS		MW_PROTO_NOHDRS
#define SMFIP_NOEOH		MW_PROTO_NOEOH
#define SMFIP_NOUNKNOWN		MW_PROTO_NOUNKNOWN
#define SMFIP_NODATA		MW_PROTO_NODATA
#define SMFIP_NR_CONN		MW_PROTO_NR_CONN
#define SMFIP_NR_HELO		MW_PROTO_NR_HELO
#define SMFIP_NR_MAIL		MW_PROTO_NR_MAIL
#define SMFIP_NR_RCPT		MW_PROTO_NR_RCPT
#define SMFIP_NR_DATA		MW_PROTO_NR_DATA
#define SMFIP_NR_UNKN		MW_PROTO_NR_UNKN
#define SMFIP_NR_HDR		MW_PROTO_NR_HDR
#define SMFIP_NR_EOH		MW_PROTO_NR_EOH
#define SMFIP_NR_BODY		MW_PROTO_NR_BODY
#define SMFIP_HDR_LEADSPC	MW_PROTO_HDR_LEADSPC

#define SMFIM_CONNECT		MW_STAGE_CONNECT
#define SMFIM_HELO		MW_STAGE_HELO
#define SMFIM_ENVFROM		MW_STAGE_ENVFROM
#define SMFIM_ENVRCPT		MW_STAGE_ENVRCPT
#define SMFIM_DATA		MW_STAGE_DATA
#define SMFIM_EOM		MW_STAGE_EOM
#define SMFIM_EOH		MW_STAGE_EOH

struct smfiDesc {
	char   *xxfi_name;
	int	xxfi_version;
	unsigned long xxfi_flags;
	sfsistat (*xxfi_connect)(SMFICTX *, char *, struct sockaddr *);
	sfsistat (*xxfi_helo)(SMFICTX *, char *);
	sfsistat (*xxfi_envfrom)(SMFICTX *, char **);
	sfsistat (*xxfi_envrcpt)(SMFICTX *, char **);
	sfsistat (*xxfi_header)(SMFICTX *, char *, char *);
	sfsistat (*xxfi_eoh)(SMFICTX *);
	sfsistat (*xxfi_body)(SMFICTX *, unsigned char *, size_t);
	sfsistat (*xxfi_eom)(SMFICTX *);
	sfsistat (*xxfi_abort)(SMFICTX *);
	sfsistat (*xxfi_close)(SMFICTX *);
	sfsistat (*xxfi_unknown)(SMFICTX *, const char *);
	sfsistat (*xxfi_data)(SMFICTX *);
	sfsistat (*xxfi_negotiate)(SMFICTX *, unsigned long, unsigned long, unsigned long,
	    unsigned long, unsigned long *, unsigned long *, unsigned long *,
	    unsigned long *);
};

int	smfi_register(struct smfiDesc desc);
int	smfi_setconn(char *spec);
int	smfi_opensocket(int remove_old);
int	smfi_main(void);
void   *smfi_getpriv(SMFICTX *ctx);
int	smfi_setpriv(SMFICTX *ctx, void *priv);
char   *smfi_getsymval(SMFICTX *ctx, char *name);
int	smfi_setsymlist(SMFICTX *ctx, int stage, char *macros);
int	smfi_insheader(SMFICTX *ctx, int index, char *name, char *value);
int	smfi_chgheader(SMFICTX *ctx, char *name, int index, char *value);
int	smfi_setreply(SMFICTX *ctx, char *rcode, char *xcode, char *message);
int	smfi_quarantine(SMFICTX *ctx, char *reason);

#endif
