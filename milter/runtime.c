/*
 * NAME
 *	runtime.c - reference-counted current configuration and keystore
 * DESCRIPTION
 *	One mutex guards the current pointer and every reference count; it is held for a
 *	few instructions per message, never across I/O.  The installed runtime holds one
 *	reference of its own, dropped when it is replaced.
 */
#include <pthread.h>
#include <stdlib.h>

#include "milter/runtime.h"

static pthread_mutex_t runtime_lock = PTHREAD_MUTEX_INITIALIZER;
static struct runtime *current;
static unsigned long generations;

static void runtime_destroy(struct runtime *rt)
{
	conf_free(rt->conf);
	if (rt->keys != NULL)
		keystore_free(rt->keys);
	free(rt);
}

/* Called with runtime_lock held; returns the runtime to destroy outside the lock, or NULL. */
static struct runtime *unref_locked(struct runtime *rt)
{
	return --rt->refs == 0 ? rt : NULL;
}

int	runtime_install(struct conf *conf, struct keystore *keys)
{
	struct runtime *rt = calloc(1, sizeof(*rt)), *old = NULL;

	if (rt == NULL) {
		conf_free(conf);
		if (keys != NULL)
			keystore_free(keys);
		return 0;
	}
	rt->conf = conf;
	rt->keys = keys;
	rt->refs = 1;
	pthread_mutex_lock(&runtime_lock);
	rt->generation = ++generations;
	if (current != NULL)
		old = unref_locked(current);
	current = rt;
	pthread_mutex_unlock(&runtime_lock);
	if (old != NULL)
		runtime_destroy(old);
	return 1;
}

struct runtime *runtime_acquire(void)
{
	struct runtime *rt;

	pthread_mutex_lock(&runtime_lock);
	rt = current;
	if (rt != NULL)
		rt->refs++;
	pthread_mutex_unlock(&runtime_lock);
	return rt;
}

void	runtime_release(struct runtime *rt)
{
	struct runtime *dead;

	if (rt == NULL)
		return;
	pthread_mutex_lock(&runtime_lock);
	dead = unref_locked(rt);
	pthread_mutex_unlock(&runtime_lock);
	if (dead != NULL)
		runtime_destroy(dead);
}

void	runtime_shutdown(void)
{
	struct runtime *dead = NULL;

	pthread_mutex_lock(&runtime_lock);
	if (current != NULL)
		dead = unref_locked(current);
	current = NULL;
	pthread_mutex_unlock(&runtime_lock);
	if (dead != NULL)
		runtime_destroy(dead);
}
