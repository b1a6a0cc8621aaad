/*
 * NAME
 *	util.c - milterload's small tools: growing buffers, a per-message arena, a clock,
 *	big-endian words, the domain of an address
 *
 * DESCRIPTION
 *	Nothing here knows the milter protocol or the run.
 */
#include "milterload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ARENA_BLOCK	8192

struct arena_block {
	struct arena_block *next;
	size_t	used;
	size_t	size;
	char	data[];
};

int buf_reserve(struct buf *b, size_t want)
{
	size_t	size = b->size ? b->size : 256;
	char   *p;

	if (want <= b->size)
		return 0;
	while (size < want)
		size *= 2;
	if ((p = realloc(b->data, size)) == NULL)
		return -1;
	b->data = p;
	b->size = size;
	return 0;
}

int buf_add(struct buf *b, const void *data, size_t len)
{
	if (buf_reserve(b, b->len + len) < 0)
		return -1;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->size = 0;
}

char *arena_copy(struct arena *a, const char *prefix, size_t plen, const char *s,
    size_t len)
{
	struct arena_block *b = a->head;
	size_t	need = plen + len;
	char   *p;

	if (b == NULL || b->size - b->used < need) {
		size_t	size = need > ARENA_BLOCK ? need : ARENA_BLOCK;

		if ((b = malloc(sizeof(*b) + size)) == NULL)
			return NULL;
		b->next = a->head;
		b->used = 0;
		b->size = size;
		a->head = b;
	}
	p = b->data + b->used;
	memcpy(p, prefix, plen);
	memcpy(p + plen, s, len);
	b->used += need;
	return p;
}

void arena_free(struct arena *a)
{
	while (a->head != NULL) {
		struct arena_block *next = a->head->next;

		free(a->head);
		a->head = next;
	}
}

/* Keeps one block for the next message. */
void arena_reset(struct arena *a)
{
	struct arena_block *keep = a->head;

	if (keep == NULL)
		return;
	a->head = keep->next;
	arena_free(a);
	keep->next = NULL;
	keep->used = 0;
	a->head = keep;
}

double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

const char *errno_text(int err, char *text, size_t size)
{
	if (strerror_r(err, text, size) != 0)
		snprintf(text, size, "error %d", err);
	return text;
}

void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

uint32_t get32(const void *data)
{
	const unsigned char *p = data;

	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

const char *domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : addr;
}
