/*
 * NAME
 *	keycache.c - DKIM public keys already decoded (see keycache.h)
 * DESCRIPTION
 *	A fixed array searched in full: a hash of the text first, then its length and bytes.
 *	Sixty-four entries cost a few hundred nanoseconds to search, far less than the
 *	decoding they save.  Each entry holds a copy of the text and one reference to the
 *	key; "used" is a counter stamped on every hit, the smallest stamp goes first.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/alloc.h"
#include "milter/keycache.h"

struct entry {
	uint64_t hash;
	int	type;
	char   *text;			/* NULL: a free entry */
	size_t	len;
	EVP_PKEY *pkey;
	unsigned long used;
};

struct keycache {
	pthread_mutex_t lock;
	unsigned long clock;
	struct entry entries[KEYCACHE_SIZE];
};

/* FNV-1a, 64 bits. */
static uint64_t hash_of(const char *text, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)text[i]) * 1099511628211ULL;
	return h;
}

struct keycache *keycache_new(void)
{
	struct keycache *c = mem_calloc(1, sizeof(*c));

	if (c != NULL && pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		return NULL;
	}
	return c;
}

void	keycache_free(struct keycache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < KEYCACHE_SIZE; i++) {
		free(c->entries[i].text);
		EVP_PKEY_free(c->entries[i].pkey);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* With the lock held. */
static struct entry *find(struct keycache *c, uint64_t hash, int type, const char *text,
    size_t len)
{
	for (size_t i = 0; i < KEYCACHE_SIZE; i++) {
		struct entry *e = &c->entries[i];

		if (e->text != NULL && e->hash == hash && e->type == type && e->len == len &&
		    memcmp(e->text, text, len) == 0)
			return e;
	}
	return NULL;
}

EVP_PKEY *keycache_get(struct keycache *c, int type, const char *text, size_t len)
{
	uint64_t hash = hash_of(text, len);
	EVP_PKEY *pkey = NULL;
	struct entry *e;

	pthread_mutex_lock(&c->lock);
	if ((e = find(c, hash, type, text, len)) != NULL && EVP_PKEY_up_ref(e->pkey) == 1) {
		e->used = ++c->clock;
		pkey = e->pkey;
	}
	pthread_mutex_unlock(&c->lock);
	return pkey;
}

void	keycache_put(struct keycache *c, int type, const char *text, size_t len,
    EVP_PKEY *pkey)
{
	uint64_t hash = hash_of(text, len);
	struct entry *e, *oldest = &c->entries[0];
	char   *copy = mem_malloc(len + 1);

	if (copy == NULL)
		return;
	memcpy(copy, text, len);
	copy[len] = '\0';
	pthread_mutex_lock(&c->lock);
	if (find(c, hash, type, text, len) != NULL || EVP_PKEY_up_ref(pkey) != 1) {
		pthread_mutex_unlock(&c->lock);
		free(copy);		/* another thread was first */
		return;
	}
	for (size_t i = 0; i < KEYCACHE_SIZE && oldest->text != NULL; i++) {
		e = &c->entries[i];
		if (e->text == NULL || e->used < oldest->used)
			oldest = e;
	}
	free(oldest->text);
	EVP_PKEY_free(oldest->pkey);
	*oldest = (struct entry){hash, type, copy, len, pkey, ++c->clock};
	pthread_mutex_unlock(&c->lock);
}
