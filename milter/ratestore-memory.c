/*
 * NAME
 *	ratestore-memory.c - rate-limit counters in this process (RateLimitStore memory)
 * DESCRIPTION
 *	Design.  Users hash (FNV-1a, lib/hash.h: user names are chosen by the site, not by
 *	a stranger) to one of STRIPES stripes; a stripe is a mutex, a chained hash table and
 *	a least-recently-used list of its entries.  A call locks one stripe for a lookup and
 *	a few integer updates, and at most a malloc() or a table doubling: nothing slow is
 *	done under a lock, and no call takes two locks.
 *
 *	An entry is one allocation: the user's name, its RATESTORE_SLOTS two-bucket counters
 *	(slidewin.h), a bit per slot saying that a refusal was reported in the slot's
 *	current bucket, and the last NETWORKS client networks the user came from (a 64-bit
 *	hash of the network's text and when it was last used; the least recently used one
 *	makes room, so a user hopping between more networks than that is told "new" more
 *	often than it should).  ratestore_memory_stats() counts the bytes asked of malloc;
 *	tests/unit/test-ratelimit measures the figure per user.
 *
 *	Bounded memory.  Every entry carries the time after which nothing in it matters:
 *	twice its longest window after its last count (when the previous bucket too has
 *	slid out), or the client window after its last network.  Each call first frees
 *	up to EXPIRE_STEP entries from the old end of its stripe's list whose time has
 *	passed, so idle users go without a sweeper thread.  At max_users the least recently
 *	used entry of the stripe is dropped to make room (counted as evicted): its user
 *	starts again from zero, which only ever lets it send more, never less.
 * SEE ALSO
 *	ratestore.h, slidewin.h
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/alloc.h"
#include "lib/hash.h"
#include "milter/ratestore.h"
#include "milter/slidewin.h"

#define STRIPES		64
#define NETWORKS	4	/* client networks remembered per user */
#define EXPIRE_STEP	4	/* old entries freed per call, at most */
#define BUCKETS_MIN	64	/* hash chains per stripe at first */
#define DEFAULT_USERS	1000000

struct entry {
	struct entry *chain;		/* next in the hash chain */
	struct entry *newer, *older;	/* the stripe's list, most recently used first */
	uint64_t network[NETWORKS];	/* hashes of client networks */
	uint32_t network_used[NETWORKS];/* when each was last used */
	uint32_t hash;
	uint32_t expires;		/* nothing in the entry matters at or after this */
	struct slidewin slot[RATESTORE_SLOTS];
	uint8_t	warned;			/* bit per slot: first_over reported in this bucket */
	char	user[];
};

struct stripe {
	pthread_mutex_t lock;
	struct entry **buckets;
	size_t	nbuckets;
	size_t	count;
	size_t	bytes;
	struct entry *newest, *oldest;
	unsigned long expired, evicted;
};

struct memory_store {
	struct ratestore base;
	size_t	per_stripe;		/* cap of each stripe */
	struct stripe stripes[STRIPES];
};

static uint32_t clock32(time_t now)
{
	return now <= 0 ? 0 : now >= (time_t)UINT32_MAX ? UINT32_MAX : (uint32_t)now;
}

/* ---- the list and the table of one stripe -------------------------------------------- */

static void list_unlink(struct stripe *s, struct entry *e)
{
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		s->newest = e->older;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		s->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void list_push(struct stripe *s, struct entry *e)
{
	e->older = s->newest;
	e->newer = NULL;
	if (s->newest != NULL)
		s->newest->newer = e;
	s->newest = e;
	if (s->oldest == NULL)
		s->oldest = e;
}

static struct entry **chain_of(const struct stripe *s, uint32_t hash)
{
	return &s->buckets[hash % s->nbuckets];
}

static size_t entry_size(const struct entry *e)
{
	return sizeof(*e) + strlen(e->user) + 1;
}

static void entry_drop(struct stripe *s, struct entry *e)
{
	struct entry **p = chain_of(s, e->hash);

	while (*p != e)
		p = &(*p)->chain;
	*p = e->chain;
	list_unlink(s, e);
	s->count--;
	s->bytes -= entry_size(e);
	free(e);
}

static void expire_some(struct stripe *s, uint32_t now)
{
	for (int i = 0; i < EXPIRE_STEP && s->oldest != NULL && s->oldest->expires <= now; i++) {
		entry_drop(s, s->oldest);
		s->expired++;
	}
}

/* Doubles the chains when they grow long; a failed allocation only keeps them long. */
static void maybe_grow(struct stripe *s)
{
	size_t	n = s->nbuckets * 2;
	struct entry **grown;

	if (s->count < s->nbuckets || n > SIZE_MAX / sizeof(*grown) ||
	    (grown = mem_calloc(n, sizeof(*grown))) == NULL)
		return;
	for (size_t i = 0; i < s->nbuckets; i++) {
		struct entry *e = s->buckets[i], *next;

		for (; e != NULL; e = next) {
			next = e->chain;
			e->chain = grown[e->hash % n];
			grown[e->hash % n] = e;
		}
	}
	free(s->buckets);
	s->bytes += (n - s->nbuckets) * sizeof(*grown);
	s->buckets = grown;
	s->nbuckets = n;
}

/* The user's entry, made when missing, at the new end of the list; NULL: no memory. */
static struct entry *entry_get(struct memory_store *m, struct stripe *s, const char *user,
    uint32_t hash, uint32_t now)
{
	size_t	len = strlen(user);
	struct entry *e;

	expire_some(s, now);
	for (e = *chain_of(s, hash); e != NULL; e = e->chain)
		if (e->hash == hash && strcmp(e->user, user) == 0) {
			list_unlink(s, e);
			list_push(s, e);
			return e;
		}
	if (s->count >= m->per_stripe && s->oldest != NULL) {
		entry_drop(s, s->oldest);
		s->evicted++;
	}
	if ((e = mem_calloc(1, sizeof(*e) + len + 1)) == NULL)
		return NULL;
	memcpy(e->user, user, len + 1);
	e->hash = hash;
	e->chain = *chain_of(s, hash);
	*chain_of(s, hash) = e;
	list_push(s, e);
	s->count++;
	s->bytes += entry_size(e);
	maybe_grow(s);
	return e;
}

static struct stripe *stripe_of(struct memory_store *m, const char *user, uint32_t *hash)
{
	uint64_t h = hash_fnv1a64(HASH_FNV1A64_INIT, user, strlen(user));

	*hash = (uint32_t)(h >> 32);
	return &m->stripes[h % STRIPES];
}

static void keep_until(struct entry *e, uint32_t now, uint32_t seconds)
{
	uint32_t until = now > UINT32_MAX - seconds ? UINT32_MAX : now + seconds;

	if (until > e->expires)
		e->expires = until;
}

/* ---- the two questions ------------------------------------------------------------- */

/* Under the stripe's lock: the check and the add of ratestore.h. */
static void check_add_entry(struct entry *e, void *question)
{
	struct ratestore_check *c = question;
	uint32_t longest = 0;

	c->added = 1;
	for (size_t i = 0; i < c->count; i++) {
		struct ratestore_window *w = &c->windows[i];
		struct slidewin *sw = &e->slot[w->slot];

		if (slidewin_roll(sw, w->seconds, c->now))
			e->warned &= (uint8_t)~(1u << w->slot);
		w->over = !slidewin_fits(sw->prev, sw->cur, w->seconds, c->now, c->amount, w->limit);
		if (w->over)
			c->added = 0;
		if (w->seconds > longest)
			longest = w->seconds;
	}
	for (size_t i = 0; i < c->count; i++) {
		struct ratestore_window *w = &c->windows[i];
		struct slidewin *sw = &e->slot[w->slot];

		if (c->added)
			sw->cur = sw->cur > UINT32_MAX - c->amount ? UINT32_MAX : sw->cur + c->amount;
		w->first_over = w->over && !(e->warned & (1u << w->slot));
		if (w->over)
			e->warned |= (uint8_t)(1u << w->slot);
		w->prev = sw->prev;
		w->cur = sw->cur;
	}
	keep_until(e, clock32(c->now), longest > UINT32_MAX / 2 ? UINT32_MAX : 2 * longest);
}

/* Runs answer on user's entry, under its stripe's lock; 0 with err when the entry could
 * not be made. */
static int with_entry(struct ratestore *store, const char *user, time_t now,
    void (*answer)(struct entry *e, void *question), void *question, char *err, size_t errlen)
{
	struct memory_store *m = (struct memory_store *)store;
	uint32_t hash;
	struct stripe *s = stripe_of(m, user, &hash);
	struct entry *e;

	pthread_mutex_lock(&s->lock);
	if ((e = entry_get(m, s, user, hash, clock32(now))) != NULL)
		answer(e, question);
	pthread_mutex_unlock(&s->lock);
	if (e == NULL)
		snprintf(err, errlen, "out of memory");
	return e != NULL;
}

static int memory_check_add(struct ratestore *store, struct ratestore_check *c, char *err,
    size_t errlen)
{
	if (!ratestore_check_valid(c)) {
		snprintf(err, errlen, "internal error: bad rate-limit windows");
		return 0;
	}
	return with_entry(store, c->user, c->now, check_add_entry, c, err, errlen);
}

/* Under the stripe's lock: was network used within the window?  Now it is. */
static void network_seen(struct entry *e, void *question)
{
	struct ratestore_seen *q = question;
	uint64_t h = hash_fnv1a64(HASH_FNV1A64_INIT, q->network, strlen(q->network));
	uint32_t now = clock32(q->now);
	size_t	i, oldest = 0;
	int	seen = 0;

	for (i = 0; i < NETWORKS; i++) {
		if (e->network_used[i] != 0 && e->network[i] == h)
			break;
		if (e->network_used[i] < e->network_used[oldest])
			oldest = i;
	}
	if (i < NETWORKS)
		seen = now < e->network_used[i] || now - e->network_used[i] < q->window;
	else
		i = oldest;
	e->network[i] = h;
	e->network_used[i] = now > 0 ? now : 1;
	keep_until(e, now, q->window);
	q->seen = seen;
}

static int memory_client_seen(struct ratestore *store, struct ratestore_seen *q, char *err,
    size_t errlen)
{
	return with_entry(store, q->user, q->now, network_seen, q, err, errlen);
}

/* ---- life ------------------------------------------------------------------------- */

static void memory_free(struct ratestore *store)
{
	struct memory_store *m = (struct memory_store *)store;

	for (size_t i = 0; i < STRIPES; i++) {
		struct stripe *s = &m->stripes[i];

		while (s->oldest != NULL)
			entry_drop(s, s->oldest);
		free(s->buckets);
		pthread_mutex_destroy(&s->lock);
	}
	free(m);
}

static const struct ratestore_ops memory_ops = {
	"memory", memory_check_add, memory_client_seen, memory_free,
};

struct ratestore *ratestore_memory_new(size_t max_users)
{
	struct memory_store *m = mem_calloc(1, sizeof(*m));
	size_t	i;

	if (m == NULL)
		return NULL;
	m->base.ops = &memory_ops;
	m->per_stripe = ((max_users ? max_users : DEFAULT_USERS) + STRIPES - 1) / STRIPES;
	for (i = 0; i < STRIPES; i++) {
		struct stripe *s = &m->stripes[i];

		s->nbuckets = BUCKETS_MIN;
		s->bytes = BUCKETS_MIN * sizeof(*s->buckets);
		if ((s->buckets = mem_calloc(BUCKETS_MIN, sizeof(*s->buckets))) == NULL ||
		    pthread_mutex_init(&s->lock, NULL) != 0) {
			free(s->buckets);
			break;
		}
	}
	if (i < STRIPES) {
		while (i-- > 0) {
			free(m->stripes[i].buckets);
			pthread_mutex_destroy(&m->stripes[i].lock);
		}
		free(m);
		return NULL;
	}
	return &m->base;
}

int	ratestore_memory_stats(struct ratestore *store, struct ratestore_memory_stats *stats)
{
	struct memory_store *m = (struct memory_store *)store;

	memset(stats, 0, sizeof(*stats));
	if (store == NULL || store->ops != &memory_ops)
		return 0;
	stats->bytes = sizeof(*m);
	for (size_t i = 0; i < STRIPES; i++) {
		struct stripe *s = &m->stripes[i];

		pthread_mutex_lock(&s->lock);
		stats->users += s->count;
		stats->bytes += s->bytes;
		stats->expired += s->expired;
		stats->evicted += s->evicted;
		pthread_mutex_unlock(&s->lock);
	}
	return 1;
}
