/*
 * NAME
 *	runtime.c - build, install and reference-count the configuration in force
 * DESCRIPTION
 *	One mutex guards the current pointer and every reference count; it is held for a
 *	few instructions per message, never across I/O.  The installed runtime holds one
 *	reference of its own, dropped when it is replaced.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "milter/dmarc.h"
#include "milter/dns.h"
#include "milter/runtime.h"
#include "milter/verify.h"

static pthread_mutex_t runtime_lock = PTHREAD_MUTEX_INITIALIZER;
static struct runtime *current;
static unsigned long generations;

static void runtime_destroy(struct runtime *rt)
{
	verifier_free(rt->verifier);
	dns_resolver_free(rt->dns);
	dmarc_psl_free(rt->psl);
	if (rt->keys != NULL)
		keystore_free((struct keystore *)rt->keys);	/* ours: see runtime.h */
	conf_free((struct conf *)rt->conf);
	free(rt);
}

static int build_services(struct runtime *rt, char *err, size_t errlen)
{
	const struct conf *conf = rt->conf;
	struct dns_options options = {
		.nameservers = conf->nameservers,
		.nameserver_count = conf->nameserver_count,
		.trust_anchor_file = conf->trust_anchor_file,
		.query_timeout_ms = (unsigned)conf->dns_timeout * 1000,
	};

	if (conf->authserv_id[0] != '\0')
		snprintf(rt->authserv_id, sizeof(rt->authserv_id), "%s", conf->authserv_id);
	else if (gethostname(rt->authserv_id, sizeof(rt->authserv_id) - 1) != 0)
		snprintf(rt->authserv_id, sizeof(rt->authserv_id), "localhost");
	if (!(conf->mode & CONF_MODE_VERIFY))
		return 1;
	if ((rt->dns = dns_resolver_new(&options, err, errlen)) == NULL ||
	    (rt->verifier = verifier_new(rt->dns, conf->dns_timeout, err, errlen)) == NULL)
		return 0;
	if (conf->dmarc_public_suffix_list[0] != '\0' &&
	    (rt->psl = dmarc_psl_load(conf->dmarc_public_suffix_list, err, errlen)) == NULL)
		return 0;
	return 1;
}

struct runtime *runtime_build(struct conf *conf, struct keystore *keys, char *err,
    size_t errlen)
{
	struct runtime *rt = calloc(1, sizeof(*rt));

	if (rt == NULL) {
		snprintf(err, errlen, "out of memory");
		conf_free(conf);
		if (keys != NULL)
			keystore_free(keys);
		return NULL;
	}
	rt->conf = conf;
	rt->keys = keys;
	rt->refs = 1;
	if (!build_services(rt, err, errlen)) {
		runtime_destroy(rt);
		return NULL;
	}
	return rt;
}

/* Called with runtime_lock held; returns the runtime to destroy outside the lock, or NULL. */
static struct runtime *unref_locked(struct runtime *rt)
{
	return --rt->refs == 0 ? rt : NULL;
}

void	runtime_install(struct runtime *rt)
{
	struct runtime *old = NULL;

	pthread_mutex_lock(&runtime_lock);
	rt->generation = ++generations;
	if (current != NULL)
		old = unref_locked(current);
	current = rt;
	pthread_mutex_unlock(&runtime_lock);
	if (old != NULL)
		runtime_destroy(old);
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
