/*
 * NAME
 *	dnscache.c - DNS answers as single allocations, and the TTL cache of them
 * DESCRIPTION
 *	Answers.  A struct dns_answer is one allocation (the structure, its record array,
 *	the reply packet and the records' bytes), so dns_answer_free() is one free() and a
 *	copy is one allocation and a few memcpy()s.  (A struct dns_txt, made in dns.c, is
 *	laid out the same way.)
 *
 *	Cache.  libunbound caches inside its context, but cannot say whether an answer came
 *	from there, so a small cache of our own sits in front: CACHE_SLOTS direct-mapped
 *	slots keyed by (lower-cased name, type), each holding a copy of an OK, NODATA or
 *	NXDOMAIN answer until its TTL (capped at CACHE_TTL_MAX) runs out.  A colliding
 *	insert replaces the slot; answers over CACHE_ENTRY_MAX bytes are not kept, so the
 *	cache stays under a few megabytes whatever the peers send.  Failures are never
 *	cached here (libunbound keeps SERVFAIL briefly itself).  A cached packet is returned
 *	as it arrived, so its TTLs are those of the first answer.  One mutex guards the
 *	slots; it is held for a lookup or a copy, never across I/O.
 * SEE ALSO
 *	dns.c, dnscache.h
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/dnscache.h"
#include "lib/hash.h"

#define CACHE_SLOTS	1024
#define CACHE_ENTRY_MAX	16384	/* bytes of one cached answer, all included */
#define CACHE_TTL_MAX	3600

/* ---- answers ---------------------------------------------------------------------- */

struct dns_answer *dns_answer_alloc(size_t count, size_t data_len, size_t packet_len,
    unsigned char **data)
{
	size_t size = sizeof(struct dns_answer);
	struct dns_answer *a;

	if (count > (SIZE_MAX - size) / sizeof(struct dns_record))
		return NULL;
	size += count * sizeof(struct dns_record);
	if (packet_len > SIZE_MAX - size || data_len > SIZE_MAX - size - packet_len)
		return NULL;
	size += packet_len + data_len;
	if ((a = calloc(1, size)) == NULL)
		return NULL;
	a->count = count;
	a->records = count ? (struct dns_record *)(a + 1) : NULL;
	a->packet_len = packet_len;
	a->packet = packet_len ? (unsigned char *)((struct dns_record *)(a + 1) + count) : NULL;
	*data = (unsigned char *)((struct dns_record *)(a + 1) + count) + packet_len;
	return a;
}

struct dns_answer *dns_answer_empty(enum dns_status status, int rcode)
{
	unsigned char *data;
	struct dns_answer *a = dns_answer_alloc(0, 0, 0, &data);

	if (a != NULL) {
		a->status = status;
		a->rcode = rcode;
	}
	return a;
}

void	dns_answer_free(struct dns_answer *answer)
{
	free(answer);
}

static size_t answer_size(const struct dns_answer *a)
{
	size_t size = sizeof(*a) + a->count * sizeof(struct dns_record) + a->packet_len;
	size_t i;

	for (i = 0; i < a->count; i++)
		size += a->records[i].len;
	return size;
}

static struct dns_answer *answer_copy(const struct dns_answer *from)
{
	size_t data_len = 0, i;
	unsigned char *data;
	struct dns_answer *a;

	for (i = 0; i < from->count; i++)
		data_len += from->records[i].len;
	if ((a = dns_answer_alloc(from->count, data_len, from->packet_len, &data)) == NULL)
		return NULL;
	a->status = from->status;
	a->rcode = from->rcode;
	a->secure = from->secure;
	a->ttl = from->ttl;
	if (from->packet_len)
		memcpy(a->packet, from->packet, from->packet_len);
	for (i = 0; i < from->count; i++) {
		a->records[i].data = data;
		a->records[i].len = from->records[i].len;
		if (from->records[i].len)
			memcpy(data, from->records[i].data, from->records[i].len);
		data += from->records[i].len;
	}
	return a;
}

/* ---- cache ------------------------------------------------------------------------ */

struct cache_slot {
	char	name[DNS_NAME_MAX_LEN + 1];
	int	rrtype;
	time_t	expires;		/* CLOCK_MONOTONIC seconds */
	struct dns_answer *answer;	/* NULL: empty slot */
};

struct dns_cache {
	pthread_mutex_t lock;
	struct cache_slot slots[CACHE_SLOTS];
};

static time_t now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static size_t cache_slot_of(const char *key, int rrtype)
{
	return hash_fnv1a64(HASH_FNV1A64_INIT ^ (uint32_t)rrtype, key, strlen(key)) % CACHE_SLOTS;
}

struct dns_cache *dns_cache_new(void)
{
	struct dns_cache *c = calloc(1, sizeof(*c));

	if (c != NULL && pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		return NULL;
	}
	return c;
}

void	dns_cache_free(struct dns_cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < CACHE_SLOTS; i++)
		dns_answer_free(c->slots[i].answer);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

struct dns_answer *dns_cache_get(struct dns_cache *c, const char *key, int rrtype)
{
	struct cache_slot *slot = &c->slots[cache_slot_of(key, rrtype)];
	time_t now = now_seconds();
	struct dns_answer *copy = NULL;

	pthread_mutex_lock(&c->lock);
	if (slot->answer != NULL && slot->rrtype == rrtype && strcmp(slot->name, key) == 0) {
		if (now < slot->expires) {
			if ((copy = answer_copy(slot->answer)) != NULL)
				copy->ttl = (unsigned)(slot->expires - now);
		} else {
			dns_answer_free(slot->answer);
			slot->answer = NULL;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return copy;
}

void	dns_cache_put(struct dns_cache *c, const char *key, int rrtype,
    const struct dns_answer *a)
{
	struct cache_slot *slot;
	struct dns_answer *copy;
	unsigned ttl = a->ttl < CACHE_TTL_MAX ? a->ttl : CACHE_TTL_MAX;
	size_t key_len = strlen(key);

	if (ttl == 0 || key_len > DNS_NAME_MAX_LEN || answer_size(a) > CACHE_ENTRY_MAX ||
	    (a->status != DNS_OK && a->status != DNS_NODATA && a->status != DNS_NXDOMAIN))
		return;
	if ((copy = answer_copy(a)) == NULL)
		return;			/* a cache is allowed to forget */
	slot = &c->slots[cache_slot_of(key, rrtype)];
	pthread_mutex_lock(&c->lock);
	dns_answer_free(slot->answer);
	slot->answer = copy;
	slot->rrtype = rrtype;
	slot->expires = now_seconds() + (time_t)ttl;
	memcpy(slot->name, key, key_len + 1);
	pthread_mutex_unlock(&c->lock);
}
