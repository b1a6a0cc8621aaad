/*
 * NAME
 *	audit.h - one structured line per authenticated submission
 * SYNOPSIS
 *	#include "milter/audit.h"
 *
 *	struct audit *a = audit_open("/var/log/signet/audit.json", err, sizeof(err));
 *	audit_write(a, &record);	(a may be NULL: syslog only)
 *	audit_close(a);
 * DESCRIPTION
 *	Each authenticated submission gives one audit record: when, who (user and SASL
 *	mechanism), from where (client address, TLS version and cipher or "none"), as which
 *	From, to how many recipients, its Message-ID and queue id, and the verdict.
 *	audit_write() logs it as one "audit:" line of key=value pairs through lib/log (the
 *	values of peers made printable, quoted when they hold a blank or quote) and, with an
 *	AuditLog file, appends it there as one JSON object per line, every string escaped
 *	(RFC 8259: '"', '\', control characters as \uXXXX; bytes over 0x7e are written as
 *	\u00XX of their value, so the line is ASCII whatever the peer sent).
 *
 *	The file is opened O_APPEND and each line goes out in one write(), so the lines of
 *	concurrent messages never interleave.  A runtime opens its own (a reload reopens it,
 *	which is what logrotate needs).
 */
#ifndef SIGNET_AUDIT_H
#define SIGNET_AUDIT_H

#include <stddef.h>
#include <time.h>

struct audit;

struct audit_record {
	time_t	time;
	const char *user;		/* {auth_authen} */
	const char *mechanism;		/* {auth_type}; "" when the MTA did not say */
	const char *client;		/* address text */
	const char *tls_version;	/* "none" without TLS */
	const char *cipher;		/* "none" without TLS */
	const char *from;		/* the From addresses, "" when none could be read */
	unsigned recipients;
	const char *message_id;		/* "" when none */
	const char *queue_id;
	const char *verdict;		/* "signed", "not signed: unauthorized From", ... */
};

struct audit *audit_open(const char *path, char *err, size_t errlen);
void	audit_close(struct audit *a);
void	audit_write(struct audit *a, const struct audit_record *rec);
/* The JSON line of rec, newline included, into out; 0 when it did not fit. */
int	audit_json(const struct audit_record *rec, char *out, size_t size);

#endif
