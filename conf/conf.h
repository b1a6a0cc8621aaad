/*
 * NAME
 *	conf.h - Signet's configuration: one table of keys drives parsing, checking and the
 *	sample file
 * SYNOPSIS
 *	#include "conf/conf.h"
 * DESCRIPTION
 *	The file is "Key Value" lines; '#' starts a comment; key names are matched without
 *	regard to case.  Every key is declared once in the table in conf.c with its type,
 *	default, bounds and help text.  conf_load() parses a file into an immutable struct
 *	conf; a reload builds a new one.  conf_write_sample() prints the sample signet.conf
 *	from the same table.
 * DIAGNOSTICS
 *	conf_load() reports every error as "FILE:LINE: message" through the report callback
 *	and returns NULL if there was at least one.
 */
#ifndef SIGNET_CONF_H
#define SIGNET_CONF_H

#include <stdio.h>

#include "conf/addrlist.h"
#include "lib/dns.h"
#include "lib/log.h"

#define CONF_MODE_SIGN		0x01
#define CONF_MODE_VERIFY	0x02

enum canon_kind {
	CANON_SIMPLE,
	CANON_RELAXED,
};

enum internal_error_action {
	ON_ERROR_TEMPFAIL,
	ON_ERROR_ACCEPT,
};

/* ARCSeal: which messages get an ARC set of ours (RFC 8617). */
enum arc_seal_mode {
	ARC_SEAL_NONE,
	ARC_SEAL_INBOUND,		/* as they arrive: a forwarding host */
	ARC_SEAL_OUTBOUND,		/* leaving from internal hosts: a mailing list */
	ARC_SEAL_BOTH,
};

enum arc_seal_algorithm {
	ARC_SEAL_RSA_SHA256,
	ARC_SEAL_ED25519_SHA256,
};

enum sender_mismatch {
	MISMATCH_NOSIGN,		/* not signed, logged */
	MISMATCH_REJECT,		/* 550 5.7.1 */
};

struct name_list {
	char  **names;
	size_t	count;
};

struct conf {
	char   *socket;			/* libmilter connection spec */
	unsigned mode;			/* CONF_MODE_* bits */
	char   *authserv_id;
	char   *keystore;
	struct addrlist *internal_hosts;
	struct nameserver *nameservers;
	size_t	nameserver_count;
	char   *user_id;		/* empty: keep the starting user */
	char   *signer_user_id;		/* empty: the keystore's owner */
	long	signer_timeout;		/* seconds per request to the signer */
	char   *pid_file;		/* empty: none */
	enum log_level log_level;
	struct name_list sign_headers;
	struct name_list oversign_headers;
	enum canon_kind canon_header;
	enum canon_kind canon_body;
	long	minimum_key_bits;
	enum internal_error_action on_internal_error;

	/* inbound: DNS, DKIM verification, SPF, DMARC */
	long	dns_timeout;		/* seconds per query */
	long	dns_message_queries;	/* per-message query budget */
	long	dns_message_time;	/* per-message DNS time budget, seconds */
	char   *trust_anchor_file;	/* empty: no DNSSEC validation */
	long	maximum_signatures;	/* DKIM signatures verified per message */
	int	dmarc_enforce;		/* DMARCEnforce yes */
	enum internal_error_action on_dns_error;	/* DNS trouble when enforcing */
	char   *dmarc_public_suffix_list;	/* empty: RFC 9989 tree walk */

	/* submission protection (issue 18) */
	char   *sender_map;		/* empty: no sender authorization */
	enum sender_mismatch sender_mismatch;
	char   *rate_limits;		/* empty: no limits */
	char   *rate_limit_store;	/* "memory", redis://HOST:PORT/DB or unix:/PATH */
	enum internal_error_action rate_limit_store_down;
	char   *audit_log;		/* empty: syslog only */
	long	new_client_window;	/* seconds */

	/* DMARC reports (issue 19) */
	int	dmarc_reports;		/* DMARCReports yes: count for aggregate reports */
	char   *report_store;		/* sqlite:PATH, redis://HOST:PORT/DB or unix:/PATH */
	long	report_flush_interval;	/* seconds between flushes to the store */
	long	report_memory_rows;	/* distinct rows held in memory at most */
	char   *report_org_name;	/* <org_name>; empty: ReportDomain */
	char   *report_email;		/* From of report mail and <email> */
	char   *report_domain;		/* receiver in file names, Submitter:; empty: host name */
	long	report_keep;		/* seconds a sent report is kept (expire) */
	long	report_max_size;	/* bytes: a report mail larger is not sent */
	char   *report_sendmail;	/* the sendmail command reports are mailed with */
	struct name_list report_skip_recipients;	/* their mail is never counted */
	int	dmarc_failure_reports;	/* DMARCFailureReports yes */
	long	failure_report_rate;	/* per destination per hour */
	int	failure_report_body;	/* include the body */

	/* ARC (issue 20) */
	enum arc_seal_mode arc_seal;	/* ARCSeal */
	char   *arc_seal_domain;	/* d= of our seals; empty: none */
	enum arc_seal_algorithm arc_seal_algorithm;
	struct name_list arc_trusted_sealers;	/* domains, lower case */

	/* operation */
	long	socket_mode;		/* unix socket permissions, e.g. 0660 */
	char   *socket_group;		/* empty: the daemon's group */
	char   *metrics_listen;		/* empty: no metrics; else PORT or HOST:PORT */

	/* key lifecycle (signet-keys) */
	long	rotate_interval;	/* seconds between new keys (rotate --auto) */
	long	retire_grace;		/* seconds a retiring key stays published */
	char   *update_server;		/* RFC 2136 primary, IP[@PORT]; empty: none */
	char   *update_key;		/* TSIG ALGORITHM:NAME:BASE64SECRET */

	/* keys in a PKCS#11 token */
	char   *pkcs11_module;		/* empty: no token */
	char   *pkcs11_token;		/* the token's label */
	char   *pkcs11_pin_file;	/* its user PIN, first line */
	char   *file;			/* the file this was read from */
};

/* Called once per error with "FILE:LINE: message" already formatted. */
typedef void (*conf_report_fn)(void *context, const char *message);

/* NULL path: defaults only. */
struct conf *conf_load(const char *path, conf_report_fn report, void *context);
void	conf_free(struct conf *conf);

void	conf_write_sample(FILE *out);

/* Is name (any case) in the list? */
int	name_list_contains(const struct name_list *list, const char *name);

const char *conf_canon_name(enum canon_kind kind);

#endif
