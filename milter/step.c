/*
 * NAME
 *	step.c - building, reporting and freeing one step's result
 * DESCRIPTION
 *	The edits of a result are one array, grown one edit at a time; the result owns the
 *	inserted values.  step_report() is the one place a message is counted in the metrics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/alloc.h"
#include "lib/grow.h"
#include "milter/step.h"

void	step_init(struct step_result *r)
{
	memset(r, 0, sizeof(*r));
	r->reply = REPLY_CONTINUE;
}

void	step_reply(struct step_result *r, enum step_reply reply, const char *smtp_code,
    const char *status_code, const char *text)
{
	r->reply = reply;
	r->smtp_code = smtp_code;
	r->status_code = status_code;
	snprintf(r->text, sizeof(r->text), "%s", text ? text : "");
}

static struct header_edit *new_edit(struct step_result *r)
{
	struct header_edit *grown = array_grow(r->edits, &r->edit_cap, r->edit_count + 1,
	    sizeof(*grown));

	if (grown == NULL)
		return NULL;
	r->edits = grown;
	return memset(&r->edits[r->edit_count++], 0, sizeof(*r->edits));
}

int	step_remove(struct step_result *r, const char *name, size_t occurrence)
{
	struct header_edit *e = new_edit(r);

	if (e == NULL)
		return 0;
	e->kind = EDIT_REMOVE;
	e->name = name;
	e->occurrence = occurrence;
	return 1;
}

int	step_insert(struct step_result *r, const char *name, char *value)
{
	struct header_edit *e = new_edit(r);

	if (e == NULL) {
		free(value);
		return 0;
	}
	e->kind = EDIT_INSERT;
	e->name = name;
	e->value = value;
	return 1;
}

void	step_report(const struct step_result *r)
{
	const struct step_report *rep = &r->report;

	for (unsigned i = 0; i < rep->internal_errors; i++)
		metrics_error(METRICS_ERROR_INTERNAL);
	for (unsigned i = 0; i < rep->mta_errors; i++)
		metrics_error(METRICS_ERROR_MTA);
	for (unsigned i = 0; i < rep->dns_errors; i++)
		metrics_error(METRICS_ERROR_DNS);
	if (rep->count_latency)
		metrics_latency(rep->latency);
	if (rep->log_line[0] != '\0' && rep->log_verdict == rep->verdict)
		log_msg(rep->log_level, "%s", rep->log_line);
	if (!rep->message_done)
		return;
	metrics_message(rep->direction, rep->verdict);
	if (rep->verdict == METRICS_VERDICT_SIGNED)
		for (size_t i = 0; i < rep->signature_count; i++)
			metrics_signature(rep->signatures[i]);
}

void	step_free(struct step_result *r)
{
	for (size_t i = 0; i < r->edit_count; i++)
		free(r->edits[i].value);
	free(r->edits);
	r->edits = NULL;
	r->edit_count = r->edit_cap = 0;
}
