/*
 * NAME
 *	runtime.h - the configuration and keystore in force, swapped whole on reload
 * SYNOPSIS
 *	struct runtime *rt = runtime_acquire(); ... use rt->conf, rt->keys ...; runtime_release(rt);
 * DESCRIPTION
 *	A message takes a reference when it starts and keeps it to the end, so it finishes
 *	with the configuration and keys it started with even if a reload installs new ones
 *	meanwhile.  The old pair is freed when its last user releases it.
 */
#ifndef SIGNET_RUNTIME_H
#define SIGNET_RUNTIME_H

#include "conf/conf.h"
#include "keys/keystore.h"

struct runtime {
	struct conf *conf;
	struct keystore *keys;
	unsigned long generation;	/* 1 for the first, +1 per reload */
	unsigned refs;			/* guarded by the runtime lock */
};

/* Takes ownership of conf and keys; returns 0 (and frees them) when out of memory. */
int	runtime_install(struct conf *conf, struct keystore *keys);
struct runtime *runtime_acquire(void);
void	runtime_release(struct runtime *rt);
/* Drops the installed runtime (at exit, once no message can start). */
void	runtime_shutdown(void);

#endif
