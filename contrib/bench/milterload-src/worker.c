/*
 * NAME
 *	worker.c - the worker threads: each plays one Postfix smtpd+cleanup pair
 *
 * DESCRIPTION
 *	A worker sends its warm-up messages, waits at the barriers while main() samples
 *	the milter's CPU time, then claims messages until -n are claimed or -t is over.
 *	It says SMFIC_QUIT on its last connections only after main()'s closing sample:
 *	the CPU counted is that of the timed messages, not of warm-up or tear-down.
 */
#include "milterload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Unique per message, in the form of Postfix's short queue ids (hex). */
void queue_id_next(struct worker *w)
{
	unsigned long n = atomic_fetch_add(&w->run->queue_ids, 1);

	snprintf(w->mc.queue_id_buf, sizeof(w->mc.queue_id_buf), "%05lX%07lX",
	    w->run->queue_id_base & 0xfffffUL, n & 0xfffffffUL);
}

static int message_claim(struct run *run)
{
	if (run->cfg->duration_s > 0)
		return !atomic_load(&run->stop);
	return atomic_fetch_add(&run->claimed, 1) < run->cfg->total;
}

void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (unsigned i = 0; i < w->cfg->warmup; i++)
		message_one(w, 0);
	pthread_barrier_wait(&w->run->ready);
	pthread_barrier_wait(&w->run->go);
	while (message_claim(w->run))
		message_one(w, 1);
	pthread_barrier_wait(&w->run->done);
	pthread_barrier_wait(&w->run->release);
	session_close(w, 1);
	return NULL;
}

void worker_init(struct worker *w, unsigned id, const struct config *cfg,
    struct run *run)
{
	memset(w, 0, sizeof(*w));
	w->id = id;
	w->cfg = cfg;
	w->run = run;
	w->mc.cfg = cfg;
	if ((w->conns = calloc(cfg->nendpoints, sizeof(*w->conns))) == NULL)
		fatal("out of memory");
	for (size_t i = 0; i < cfg->nendpoints; i++)
		w->conns[i].fd = -1;
}

void worker_free(struct worker *w)
{
	for (size_t i = 0; i < w->cfg->nendpoints; i++)
		conn_free(&w->conns[i]);
	free(w->conns);
	free(w->headers.v);
	arena_free(&w->arena);
	buf_free(&w->payload);
	free(w->latencies);
}
