/*
 * NAME
 *	step.h - what the session decided at one milter step, for the adapter to apply
 * SYNOPSIS
 *	#include "milter/step.h"
 * DESCRIPTION
 *	Each step of a message (MAIL FROM, end of headers, end of message) gives one
 *	struct step_result: the header edits to make, in order, then a quarantine, then the
 *	reply.  The adapter applies them as they stand and tells the session of an edit or
 *	quarantine the MTA refused (session_edit_refused(), session_quarantine_refused());
 *	the session then amends the result.  session_step_done() counts and logs the
 *	result (struct step_report) and frees it.
 *
 *	Header values are as they stand after the colon, leading space included (the form
 *	SMFIP_HDR_LEADSPC gives): the adapter converts for an MTA that did not negotiate it.
 */
#ifndef SIGNET_STEP_H
#define SIGNET_STEP_H

#include <stddef.h>

#include "lib/log.h"
#include "milter/metrics.h"

enum step_reply {
	REPLY_CONTINUE,		/* go on with the message */
	REPLY_ACCEPT,		/* accept it now, with the edits */
	REPLY_REJECT,		/* 5xx: smtp_code, status_code, text */
	REPLY_TEMPFAIL,		/* 4xx: smtp_code, status_code, text */
};

enum edit_kind {
	EDIT_REMOVE,		/* the occurrence-th field called name (as the MTA counts them) */
	EDIT_INSERT,		/* value as a new field called name, at the very top */
};

struct header_edit {
	enum edit_kind kind;
	const char *name;
	size_t	occurrence;
	char   *value;		/* EDIT_INSERT; owned by the result */
};

/* How the step counts for the metrics and the log; filled in by the session. */
struct step_report {
	int	message_done;		/* the message ended: count it under verdict */
	enum metrics_direction direction;
	enum metrics_verdict verdict;
	int	count_latency;
	double	latency;		/* seconds since MAIL FROM */
	unsigned internal_errors, mta_errors, dns_errors;
	enum metrics_algorithm signatures[8];
	size_t	signature_count;	/* counted only when the verdict stays SIGNED */
	enum log_level log_level;
	char	log_line[512];		/* "" for none; logged only when the verdict stays
					 * what it was when the line was written */
	enum metrics_verdict log_verdict;
};

struct step_result {
	enum step_reply reply;
	const char *smtp_code;		/* "451", "550" */
	const char *status_code;	/* "4.3.0", "5.7.1" */
	char	text[512];		/* the reply's text; "" for the MTA's own */
	int	quarantine;
	char	quarantine_reason[384];
	struct header_edit *edits;
	size_t	edit_count, edit_cap;
	struct step_report report;
	int	recipient_only;		/* an RCPT step: the reply is for that recipient,
					 * the message goes on */
};

/* A result that says "go on", nothing else. */
void	step_init(struct step_result *r);
void	step_reply(struct step_result *r, enum step_reply reply, const char *smtp_code,
	    const char *status_code, const char *text);
/* 0 when memory ran out (the edit is not added); an insert takes value over. */
int	step_remove(struct step_result *r, const char *name, size_t occurrence);
int	step_insert(struct step_result *r, const char *name, char *value);
/* Emits the report to the metrics and the log. */
void	step_report(const struct step_result *r);
void	step_free(struct step_result *r);

#endif
