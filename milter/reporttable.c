/*
 * NAME
 *	reporttable.c - counters of report rows in two chained hash tables (see reporttable.h)
 * DESCRIPTION
 *	Reports and rows are nodes in two tables of chains, each node headed by a struct
 *	link (next, hash) so that one routine grows both.  A row points to its report; a
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

/* The head of every node: both tables grow the same way. */
struct link {
	struct link *next;		/* in its slot's chain */
	uint64_t hash;
};

struct report_node {
	struct link link;		/* first: a struct link * is a struct report_node * */
	struct report_node *moved_to;	/* during a merge: the node that took it over */
	long long begin;
	char   *domain;
	char   *policy;
};

struct row_node {
	struct link link;		/* first, likewise */
	struct report_node *report;
	unsigned long count;
	size_t	len;
	char	text[];			/* len bytes and a NUL */
};

struct chains {
	struct link **slot;
	size_t	slots, count;
};

struct reporttable {
	struct chains reports;
	struct chains rows;
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

static int chains_init(struct chains *c)
{
	c->slot = mem_calloc(FIRST_SLOTS, sizeof(*c->slot));
	c->slots = FIRST_SLOTS;
	c->count = 0;
	return c->slot != NULL;
}

/* Doubles the slots once they are as many as the nodes; a failure only leaves longer
 * chains. */
static void chains_grow(struct chains *c)
{
	size_t	n = c->slots * 2;
	struct link **slot;

	if (c->count < c->slots || n > SIZE_MAX / sizeof(*slot) ||
	    (slot = mem_calloc(n, sizeof(*slot))) == NULL)
		return;
	for (size_t i = 0; i < c->slots; i++)
		while (c->slot[i] != NULL) {
			struct link *node = c->slot[i];

			c->slot[i] = node->next;
			node->next = slot[node->hash % n];
			slot[node->hash % n] = node;
		}
	free(c->slot);
	c->slot = slot;
	c->slots = n;
}

static void chains_link(struct chains *c, struct link *node)
{
	node->next = c->slot[node->hash % c->slots];
	c->slot[node->hash % c->slots] = node;
	c->count++;
	chains_grow(c);
}

/* The first node of slot i, unlinked; NULL when the slot is empty. */
static struct link *chains_pop(struct chains *c, size_t i)
{
	struct link *node = c->slot[i];

	if (node != NULL) {
		c->slot[i] = node->next;
		c->count--;
	}
	return node;
}

struct reporttable *reporttable_new(void)
{
	struct reporttable *t = mem_calloc(1, sizeof(*t));

	pthread_once(&seed_once, draw_seed);
	if (t == NULL)
		return NULL;
	if (!chains_init(&t->reports) || !chains_init(&t->rows)) {
		free(t->reports.slot);
		free(t->rows.slot);
		free(t);
		return NULL;
	}
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
	struct link *node;

	for (size_t i = 0; i < t->rows.slots; i++)
		while ((node = chains_pop(&t->rows, i)) != NULL)
			free(node);
	for (size_t i = 0; i < t->reports.slots; i++)
		while ((node = chains_pop(&t->reports, i)) != NULL)
			report_node_free((struct report_node *)node);
	t->messages = 0;
}

void	reporttable_free(struct reporttable *t)
{
	if (t == NULL)
		return;
	reporttable_clear(t);
	free(t->reports.slot);
	free(t->rows.slot);
	free(t);
}

size_t	reporttable_rows(const struct reporttable *t)
{
	return t->rows.count;
}

unsigned long reporttable_messages(const struct reporttable *t)
{
	return t->messages;
}

static struct report_node *find_report(const struct reporttable *t, uint64_t h,
    long long begin, const char *domain)
{
	for (struct link *l = t->reports.slot[h % t->reports.slots]; l != NULL; l = l->next) {
		struct report_node *r = (struct report_node *)l;

		if (l->hash == h && r->begin == begin && strcmp(r->domain, domain) == 0)
			return r;
	}
	return NULL;
}

static struct row_node *find_row(const struct reporttable *t, uint64_t h,
    const struct report_node *report, const char *text, size_t len)
{
	for (struct link *l = t->rows.slot[h % t->rows.slots]; l != NULL; l = l->next) {
		struct row_node *r = (struct row_node *)l;

		if (l->hash == h && r->report == report && r->len == len &&
		    memcmp(r->text, text, len) == 0)
			return r;
	}
	return NULL;
}

static void link_row(struct reporttable *t, struct row_node *r)
{
	t->messages += r->count;
	chains_link(&t->rows, &r->link);
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
	r->link.hash = h;
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
	row->link.hash = h;
	row->count = count;
	row->len = len;
	memcpy(row->text, text, len + 1);
	if (new_report_made)
		chains_link(&t->reports, &report->link);
	else
		set_policy(report, policy);
	link_row(t, row);
	return REPORTTABLE_NEW_ROW;
}

/* Every report of from is merged into an equal one of into (the policy of from, the
 * newer, kept) or moved there; moved_to says which node stands for it now. */
static void settle_reports(struct reporttable *into, struct reporttable *from)
{
	for (size_t i = 0; i < from->reports.slots; i++)
		for (struct link *l = from->reports.slot[i]; l != NULL; l = l->next) {
			struct report_node *r = (struct report_node *)l;
			struct report_node *same = find_report(into, l->hash, r->begin, r->domain);

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
	struct link *node;

	settle_reports(into, from);
	for (size_t i = 0; i < from->rows.slots; i++)
		while ((node = chains_pop(&from->rows, i)) != NULL) {
			struct row_node *r = (struct row_node *)node;
			struct row_node *same;

			r->report = r->report->moved_to;
			same = find_row(into, node->hash, r->report, r->text, r->len);
			if (same != NULL) {
				same->count += r->count;
				into->messages += r->count;
				free(r);
			} else {
				link_row(into, r);
			}
		}
	for (size_t i = 0; i < from->reports.slots; i++)
		while ((node = chains_pop(&from->reports, i)) != NULL) {
			struct report_node *r = (struct report_node *)node;

			if (r->moved_to == r) {
				r->moved_to = NULL;
				chains_link(&into->reports, node);
			} else {
				report_node_free(r);
			}
		}
	from->messages = 0;
}

struct reportstore_count *reporttable_counts(const struct reporttable *t, size_t *n)
{
	struct reportstore_count *out;
	size_t	k = 0;

	*n = 0;
	if (t->rows.count == 0 || (out = mem_calloc(t->rows.count, sizeof(*out))) == NULL)
		return NULL;
	for (size_t i = 0; i < t->rows.slots; i++)
		for (const struct link *l = t->rows.slot[i]; l != NULL; l = l->next) {
			const struct row_node *r = (const struct row_node *)l;

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
