/*
 * NAME
 *	store-fill - put given report counts into a report store, as the daemon's flush
 *	does, for tests/reports/make.py
 * SYNOPSIS
 *	store-fill SPEC < commands
 * DESCRIPTION
 *	Reads one command per line, fields separated by TAB:
 *	    P <policy text>			the policy of the rows that follow (its
 *					domain field is their policy domain)
 *	    R <begin> <count> <row text>	count messages of one row in the day begin
 *	    F				flush: reportstore_add() of the rows so far, as
 *					one batch (a daemon flushes many times a day)
 *	    D <begin> <domain> <when>	reportstore_done()
 *	The texts are in reportrow.h's format, written by the test itself; each must
 *	decode, and encoding it again must give the same text: so the test also checks
 *	that the codec keeps to the format its header documents.  End of input flushes.
 * DIAGNOSTICS
 *	"store-fill: line N: message" on stderr and exit status 1.
 */
#define _GNU_SOURCE		/* getline(3) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/reportrow.h"
#include "lib/reportstore.h"

#define BATCH_MAX	4096

struct fill {
	struct reportstore *store;
	struct reportstore_count counts[BATCH_MAX];
	size_t	n;
	char   *policy;			/* the current P text */
	struct report_policy decoded;
	unsigned long line;
};

static int
fail(const struct fill *f, const char *what, const char *detail)
{
	fprintf(stderr, "store-fill: line %lu: %s%s%s\n", f->line, what, detail ? ": " : "",
	    detail ? detail : "");
	return 0;
}

static void
forget_batch(struct fill *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		free((char *)f->counts[i].domain);
		free((char *)f->counts[i].policy);
		free((char *)f->counts[i].row);
	}
	f->n = 0;
}

static int
flush(struct fill *f)
{
	char err[512];
	int ok = reportstore_add(f->store, f->counts, f->n, err, sizeof(err));

	forget_batch(f);
	return ok || fail(f, "reportstore_add", err);
}

/* Decodes text with decode, encodes it again with encode, and compares. */
static int
policy_round_trip(struct fill *f, const char *text)
{
	char again[REPORT_ROW_TEXT_MAX];

	if (!report_policy_decode(text, strlen(text), &f->decoded))
		return fail(f, "policy does not decode", text);
	if (report_policy_encode(&f->decoded, again, sizeof(again)) == 0
	    || strcmp(again, text) != 0)
		return fail(f, "policy encodes differently", again);
	free(f->policy);
	f->policy = strdup(text);
	return f->policy != NULL || fail(f, "out of memory", NULL);
}

static int
add_row(struct fill *f, char *args)
{
	char again[REPORT_ROW_TEXT_MAX], *count_text, *row_text, *end;
	struct reportstore_count *c;
	struct report_row row;
	long long begin;

	begin = strtoll(args, &end, 10);
	if (*end != '\t' || f->policy == NULL)
		return fail(f, "want R begin count row, after a P", NULL);
	count_text = end + 1;
	if ((row_text = strchr(count_text, '\t')) == NULL)
		return fail(f, "want R begin count row", NULL);
	*row_text++ = '\0';
	if (!report_row_decode(row_text, strlen(row_text), &row))
		return fail(f, "row does not decode", row_text);
	if (report_row_encode(&row, again, sizeof(again)) == 0 || strcmp(again, row_text) != 0)
		return fail(f, "row encodes differently", again);
	if (f->n == BATCH_MAX && !flush(f))
		return 0;
	c = &f->counts[f->n];
	c->begin = begin;
	c->count = strtoul(count_text, &end, 10);
	c->domain = strdup(f->decoded.domain);
	c->policy = strdup(f->policy);
	c->row = strdup(row_text);
	f->n++;
	if (*end != '\0' || c->count == 0)
		return fail(f, "bad count", count_text);
	return (c->domain && c->policy && c->row) || fail(f, "out of memory", NULL);
}

static int
mark_done(struct fill *f, char *args)
{
	char err[512], domain[REPORT_DOMAIN_MAX], *end;
	long long begin, when;

	begin = strtoll(args, &end, 10);
	if (*end != '\t' || sscanf(end + 1, "%253[^\t]\t%lld", domain, &when) != 2)
		return fail(f, "want D begin domain when", NULL);
	return reportstore_done(f->store, begin, domain, when, err, sizeof(err))
	    || fail(f, "reportstore_done", err);
}

static int
command(struct fill *f, char *line)
{
	if (strncmp(line, "P\t", 2) == 0)
		return policy_round_trip(f, line + 2);
	if (strncmp(line, "R\t", 2) == 0)
		return add_row(f, line + 2);
	if (strcmp(line, "F") == 0)
		return flush(f);
	if (strncmp(line, "D\t", 2) == 0)
		return flush(f) && mark_done(f, line + 2);
	return fail(f, "unknown command", line);
}

int
main(int argc, char **argv)
{
	static struct fill f;
	char err[512], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int ok = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: store-fill SPEC < commands\n");
		return 2;
	}
	if ((f.store = reportstore_open(argv[1], err, sizeof(err))) == NULL) {
		fprintf(stderr, "store-fill: %s\n", err);
		return 1;
	}
	while (ok && (len = getline(&line, &cap, stdin)) > 0) {
		f.line++;
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		ok = command(&f, line);
	}
	ok = ok && flush(&f);
	forget_batch(&f);
	free(line);
	free(f.policy);
	reportstore_close(f.store);
	return ok ? 0 : 1;
}
