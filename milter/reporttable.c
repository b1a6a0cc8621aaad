/*
 * NAME
 *	reporttable.c - counters of report rows in two chained hash tables (see reporttable.h)
 * DESCRIPTION
 *	Reports and rows are nodes in two tables of chains.  A row points to its report; a
 *	row's hash covers its report's key too, so a row is found in one probe.  A merge
 *	first settles each report of from (merged into an equal one of into, or moved
 *	over), noting where it went in moved_to, then moves or adds up the rows: nothing
 *	is allocated but a larger slot array, which is optional.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include "lib/alloc.h"
#include "lib/hash.h"
#include "milter/reporttable.h"

#define FIRST_SLOTS 64

struct report_node {
	struct report_node *next;	/* in its slot's chain */
	struct report_node *moved_to;	/* during a merge: the node that took it over */
	uint64_t hash;
	long long begin;
	char   *domain;
	char   *policy;
};

struct row_node {
	struct row_node *next;
	struct report_node *report;
	uint64_t hash;
	unsigned long count;
	size_t	len;
	char	text[];			/* len bytes and a NUL */
};

struct reporttable {
	struct report_node **reports;
	size_t	report_slots, report_count;
	struct row_node **rows;
	size_t	row_slots, row_count;
	unsigned long messages;
};

static uint64_t seed;
static pthread_once_t seed_once = PTHREAD_ONCE_INIT;

static void draw_seed(void)
{
	uint64_t s;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s))
		s = (uint64_t)time(NULL) * 2654435761u ^ (uint64_t)getpid();
	seed = HASH_FNV1A64_INIT ^ s;
}

static uint64_t report_hash(long long begin, const char *domain)
{
	uint64_t h = hash_fnv1a64(seed, &begin, sizeof(begin));

	return hash_fnv1a64(h, domain, strlen(domain) + 1);
}

static uint64_t row_hash(uint64_t report_h, const char *row, size_t len)
{
	return hash_fnv1a64(report_h, row, len);
}

struct reporttable *reporttable_new(void)
{
	struct reporttable *t = mem_calloc(1, sizeof(*t));

	pthread_once(&seed_once, draw_seed);
	if (t == NULL)
		return NULL;
	t->reports = mem_calloc(FIRST_SLOTS, sizeof(*t->reports));
	t->rows = mem_calloc(FIRST_SLOTS, sizeof(*t->rows));
	if (t->reports == NULL || t->rows == NULL) {
		free(t->reports);
		free(t->rows);
		free(t);
		return NULL;
	}
	t->report_slots = t->row_slots = FIRST_SLOTS;
	return t;
}

static void report_node_free(struct report_node *r)
{
	free(r->domain);
	free(r->policy);
	free(r);
}

void	reporttable_clear(struct reporttable *t)
{
	for (size_t i = 0; i < t->row_slots; i++)
		while (t->rows[i] != NULL) {
			struct row_node *next = t->rows[i]->next;

			free(t->rows[i]);
			t->rows[i] = next;
		}
	for (size_t i = 0; i < t->report_slots; i++)
		while (t->reports[i] != NULL) {
			struct report_node *next = t->reports[i]->next;

			report_node_free(t->reports[i]);
			t->reports[i] = next;
		}
	t->row_count = t->report_count = 0;
	t->messages = 0;
}

void	reporttable_free(struct reporttable *t)
{
	if (t == NULL)
		return;
	reporttable_clear(t);
	free(t->reports);
	free(t->rows);
	free(t);
}

size_t	reporttable_rows(const struct reporttable *t)
{
	return t->row_count;
}

unsigned long reporttable_messages(const struct reporttable *t)
{
	return t->messages;
}

/* Doubles the slot arrays once they are as many as their nodes; a failure only leaves
 * longer chains. */
static void grow_reports(struct reporttable *t)
{
	size_t	n = t->report_slots * 2;
	struct report_node **slots;

	if (t->report_count < t->report_slots || n > SIZE_MAX / sizeof(*slots) ||
	    (slots = mem_calloc(n, sizeof(*slots))) == NULL)
		return;
	for (size_t i = 0; i < t->report_slots; i++)
		while (t->reports[i] != NULL) {
			struct report_node *r = t->reports[i];

			t->reports[i] = r->next;
			r->next = slots[r->hash % n];
			slots[r->hash % n] = r;
		}
	free(t->reports);
	t->reports = slots;
	t->report_slots = n;
}

static void grow_rows(struct reporttable *t)
{
	size_t	n = t->row_slots * 2;
	struct row_node **slots;

	if (t->row_count < t->row_slots || n > SIZE_MAX / sizeof(*slots) ||
	    (slots = mem_calloc(n, sizeof(*slots))) == NULL)
		return;
	for (size_t i = 0; i < t->row_slots; i++)
		while (t->rows[i] != NULL) {
			struct row_node *r = t->rows[i];

			t->rows[i] = r->next;
			r->next = slots[r->hash % n];
			slots[r->hash % n] = r;
		}
	free(t->rows);
	t->rows = slots;
	t->row_slots = n;
}

static struct report_node *find_report(const struct reporttable *t, uint64_t h,
    long long begin, const char *domain)
{
	for (struct report_node *r = t->reports[h % t->report_slots]; r != NULL; r = r->next)
		if (r->hash == h && r->begin == begin && strcmp(r->domain, domain) == 0)
			return r;
	return NULL;
}

static struct row_node *find_row(const struct reporttable *t, uint64_t h,
    const struct report_node *report, const char *text, size_t len)
{
	for (struct row_node *r = t->rows[h % t->row_slots]; r != NULL; r = r->next)
		if (r->hash == h && r->report == report && r->len == len &&
		    memcmp(r->text, text, len) == 0)
			return r;
	return NULL;
}

static void link_report(struct reporttable *t, struct report_node *r)
{
	r->next = t->reports[r->hash % t->report_slots];
	t->reports[r->hash % t->report_slots] = r;
	t->report_count++;
	grow_reports(t);
}

static void link_row(struct reporttable *t, struct row_node *r)
{
	r->next = t->rows[r->hash % t->row_slots];
	t->rows[r->hash % t->row_slots] = r;
	t->row_count++;
	t->messages += r->count;
	grow_rows(t);
}

/* The report's policy becomes policy; on a memory failure the older one stays, which
 * is still a policy the domain published this period. */
static void set_policy(struct report_node *r, const char *policy)
{
	char   *copy;

	if (strcmp(r->policy, policy) == 0 || (copy = mem_strdup(policy)) == NULL)
		return;
	free(r->policy);
	r->policy = copy;
}

static struct report_node *new_report(uint64_t h, long long begin, const char *domain,
    const char *policy)
{
	struct report_node *r = mem_calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->hash = h;
	r->begin = begin;
	if ((r->domain = mem_strdup(domain)) == NULL || (r->policy = mem_strdup(policy)) == NULL) {
		report_node_free(r);
		return NULL;
	}
	return r;
}

enum reporttable_added reporttable_add(struct reporttable *t, long long begin,
    const char *domain, const char *policy, const char *text, unsigned long count,
    int may_add_row)
{
	uint64_t rh = report_hash(begin, domain);
	size_t	len = strlen(text);
	uint64_t h = row_hash(rh, text, len);
	struct report_node *report = find_report(t, rh, begin, domain);
	struct row_node *row = report != NULL ? find_row(t, h, report, text, len) : NULL;
	int	new_report_made = 0;

	if (policy == NULL)
		policy = "";
	if (row != NULL) {
		row->count += count;
		t->messages += count;
		set_policy(report, policy);
		return REPORTTABLE_COUNTED;
	}
	if (!may_add_row)
		return REPORTTABLE_FULL;
	if (len > SIZE_MAX - sizeof(*row) - 1 ||
	    (row = mem_malloc(sizeof(*row) + len + 1)) == NULL)
		return REPORTTABLE_NOMEM;
	if (report == NULL) {
		if ((report = new_report(rh, begin, domain, policy)) == NULL) {
			free(row);
			return REPORTTABLE_NOMEM;
		}
		new_report_made = 1;
	}
	row->report = report;
	row->hash = h;
	row->count = count;
	row->len = len;
	memcpy(row->text, text, len + 1);
	if (new_report_made)
		link_report(t, report);
	else
		set_policy(report, policy);
	link_row(t, row);
	return REPORTTABLE_NEW_ROW;
}

/* Every report of from is merged into an equal one of into (the policy of from, the
 * newer, kept) or moved there; moved_to says which node stands for it now. */
static void settle_reports(struct reporttable *into, struct reporttable *from)
{
	for (size_t i = 0; i < from->report_slots; i++)
		for (struct report_node *r = from->reports[i]; r != NULL; r = r->next) {
			struct report_node *same = find_report(into, r->hash, r->begin, r->domain);

			if (same != NULL) {
				char   *newer = r->policy;

				r->policy = same->policy;	/* freed with r */
				same->policy = newer;
				r->moved_to = same;
			} else {
				r->moved_to = r;
			}
		}
}

void	reporttable_merge(struct reporttable *into, struct reporttable *from)
{
	settle_reports(into, from);
	for (size_t i = 0; i < from->row_slots; i++)
		while (from->rows[i] != NULL) {
			struct row_node *r = from->rows[i];
			struct row_node *same;

			from->rows[i] = r->next;
			r->report = r->report->moved_to;
			same = find_row(into, r->hash, r->report, r->text, r->len);
			if (same != NULL) {
				same->count += r->count;
				into->messages += r->count;
				free(r);
			} else {
				link_row(into, r);
			}
		}
	for (size_t i = 0; i < from->report_slots; i++)
		while (from->reports[i] != NULL) {
			struct report_node *r = from->reports[i];

			from->reports[i] = r->next;
			if (r->moved_to == r) {
				r->moved_to = NULL;
				link_report(into, r);
			} else {
				report_node_free(r);
			}
		}
	from->row_count = from->report_count = 0;
	from->messages = 0;
}

struct reportstore_count *reporttable_counts(const struct reporttable *t, size_t *n)
{
	struct reportstore_count *out;
	size_t	k = 0;

	*n = 0;
	if (t->row_count == 0 || (out = mem_calloc(t->row_count, sizeof(*out))) == NULL)
		return NULL;
	for (size_t i = 0; i < t->row_slots; i++)
		for (const struct row_node *r = t->rows[i]; r != NULL; r = r->next) {
			out[k].begin = r->report->begin;
			out[k].domain = r->report->domain;
			out[k].policy = r->report->policy;
			out[k].row = r->text;
			out[k].count = r->count;
			k++;
		}
	*n = k;
	return out;
}
