/*
 * NAME
 *	runtime.c - build, install and reference-count the configuration in force
 * DESCRIPTION
 *	One mutex guards the current pointer and every reference count; it is held for a
 *	few instructions per message, never across I/O.  The installed runtime holds one
 *	reference of its own, dropped when it is replaced.
 *
 *	The resolver and the DKIM verifier built on it are the expensive part of a runtime
 *	(libunbound's context, the DNS cache, the DNS counters of the metrics).  They live in
 *	a reference-counted dns_service that a reload hands on to the new runtime when no
 *	DNS setting changed (Mode v, Nameservers, TrustAnchorFile, DNSTimeout), so a SIGHUP
 *	that only changes keys or policy keeps the cache warm and the counters running.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "milter/audit.h"
#include "lib/dmarc.h"
#include "lib/dns.h"
#include "milter/ratelimit.h"
#include "milter/ratestore.h"
#include "milter/runtime.h"
#include "milter/sendermap.h"
#include "milter/verify.h"

static pthread_mutex_t runtime_lock = PTHREAD_MUTEX_INITIALIZER;
static struct runtime *current;
static unsigned long generations;

struct dns_service {
	struct dns_resolver *dns;
	struct verifier *verifier;
	atomic_uint refs;
};

static void dns_service_release(struct dns_service *svc)
{
	if (svc == NULL || atomic_fetch_sub(&svc->refs, 1) != 1)
		return;
	verifier_free(svc->verifier);
	dns_resolver_free(svc->dns);
	free(svc);
}

static struct dns_service *dns_service_new(const struct conf *conf, char *err, size_t errlen)
{
	struct dns_service *svc = calloc(1, sizeof(*svc));
	struct dns_options options = {
		.nameservers = conf->nameservers,
		.nameserver_count = conf->nameserver_count,
		.trust_anchor_file = conf->trust_anchor_file,
		.query_timeout_ms = (unsigned)conf->dns_timeout * 1000,
	};

	if (svc == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&svc->refs, 1);
	if ((svc->dns = dns_resolver_new(&options, err, errlen)) == NULL ||
	    (svc->verifier = verifier_new(svc->dns, conf->dns_timeout, err, errlen)) == NULL) {
		dns_service_release(svc);
		return NULL;
	}
	return svc;
}

/* 1 when a and b ask for the same resolver. */
static int same_dns_settings(const struct conf *a, const struct conf *b)
{
	if (a->nameserver_count != b->nameserver_count || a->dns_timeout != b->dns_timeout ||
	    strcmp(a->trust_anchor_file, b->trust_anchor_file) != 0)
		return 0;
	for (size_t i = 0; i < a->nameserver_count; i++)
		if (strcmp(a->nameservers[i].address, b->nameservers[i].address) != 0 ||
		    a->nameservers[i].port != b->nameservers[i].port)
			return 0;
	return 1;
}

/* The rate store and the RateLimitStore text it was made from. */
struct store_service {
	struct ratestore *store;
	char   *spec;
	atomic_uint refs;
};

static void store_service_release(struct store_service *svc)
{
	if (svc == NULL || atomic_fetch_sub(&svc->refs, 1) != 1)
		return;
	ratestore_free(svc->store);
	free(svc->spec);
	free(svc);
}

static struct store_service *store_service_new(const char *spec, char *err, size_t errlen)
{
	struct store_service *svc = calloc(1, sizeof(*svc));
	char	why[256];

	if (svc == NULL || (svc->spec = strdup(spec)) == NULL) {
		free(svc);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&svc->refs, 1);
	if (strcmp(spec, "memory") == 0)
		svc->store = ratestore_memory_new(0);
	else
		svc->store = ratestore_redis_new(spec, NULL, why, sizeof(why));
	if (svc->store == NULL) {
		snprintf(err, errlen, "RateLimitStore %s: %s", spec, strcmp(spec, "memory") == 0 ?
		    "out of memory" : why);
		store_service_release(svc);
		return NULL;
	}
	return svc;
}

static const char *test_now_file;
static pthread_once_t test_now_once = PTHREAD_ONCE_INIT;

static void read_test_now_env(void)
{
	const char *path = getenv("SIGNET_TEST_NOW_FILE");

	if (path != NULL && *path != '\0')
		test_now_file = strdup(path);
}

time_t	runtime_clock(void)
{
	FILE   *fp;
	long long seconds;

	if (test_now_file == NULL)
		return time(NULL);
	if ((fp = fopen(test_now_file, "r")) == NULL)
		return time(NULL);
	if (fscanf(fp, "%lld", &seconds) != 1)
		seconds = (long long)time(NULL);
	fclose(fp);
	return (time_t)seconds;
}

static void runtime_destroy(struct runtime *rt)
{
	audit_close(rt->audit);
	sendermap_free((struct sendermap *)rt->senders);
	ratelimit_free((struct ratelimits *)rt->limits);
	store_service_release(rt->store_service);
	dns_service_release(rt->dns_service);
	dmarc_psl_free(rt->psl);
	signer_client_release(&rt->signer);
	if (rt->keys != NULL)
		keystore_free((struct keystore *)rt->keys);	/* ours: see runtime.h */
	conf_free((struct conf *)rt->conf);
	free(rt);
}

/* SenderMap, RateLimits, the rate store (kept from previous when RateLimitStore is the
 * same) and the AuditLog: what authenticated submissions need. */
static int build_submission(struct runtime *rt, const struct runtime *previous, char *err,
    size_t errlen)
{
	const struct conf *conf = rt->conf;

	if (conf->sender_map[0] != '\0' &&
	    (rt->senders = sendermap_load(conf->sender_map, err, errlen)) == NULL)
		return 0;
	if (conf->rate_limits[0] != '\0' &&
	    (rt->limits = ratelimit_load(conf->rate_limits, err, errlen)) == NULL)
		return 0;
	if (previous != NULL && previous->store_service != NULL &&
	    strcmp(previous->store_service->spec, conf->rate_limit_store) == 0) {
		rt->store_service = previous->store_service;
		atomic_fetch_add(&rt->store_service->refs, 1);
	} else if ((rt->store_service = store_service_new(conf->rate_limit_store, err,
	    errlen)) == NULL) {
		return 0;
	}
	rt->store = rt->store_service->store;
	if (conf->audit_log[0] != '\0' &&
	    (rt->audit = audit_open(conf->audit_log, err, errlen)) == NULL)
		return 0;
	return 1;
}

/* previous: the runtime being replaced, whose DNS service is taken over when it fits. */
static int build_services(struct runtime *rt, const struct runtime *previous, char *err,
    size_t errlen)
{
	const struct conf *conf = rt->conf;

	if (conf->authserv_id[0] != '\0')
		snprintf(rt->authserv_id, sizeof(rt->authserv_id), "%s", conf->authserv_id);
	else if (gethostname(rt->authserv_id, sizeof(rt->authserv_id) - 1) != 0)
		snprintf(rt->authserv_id, sizeof(rt->authserv_id), "localhost");
	if ((conf->mode & CONF_MODE_SIGN) && !build_submission(rt, previous, err, errlen))
		return 0;
	if (!(conf->mode & CONF_MODE_VERIFY))
		return 1;
	if (previous != NULL && previous->dns_service != NULL &&
	    same_dns_settings(conf, previous->conf)) {
		rt->dns_service = previous->dns_service;
		atomic_fetch_add(&rt->dns_service->refs, 1);
	} else if ((rt->dns_service = dns_service_new(conf, err, errlen)) == NULL) {
		return 0;
	}
	rt->dns = rt->dns_service->dns;
	rt->verifier = rt->dns_service->verifier;
	if (conf->dmarc_public_suffix_list[0] != '\0' &&
	    (rt->psl = dmarc_psl_load(conf->dmarc_public_suffix_list, err, errlen)) == NULL)
		return 0;
	return 1;
}

struct runtime *runtime_build(struct conf *conf, struct keystore *keys, char *err,
    size_t errlen)
{
	return runtime_rebuild(NULL, conf, keys, err, errlen);
}

struct runtime *runtime_rebuild(const struct runtime *previous, struct conf *conf,
    struct keystore *keys, char *err, size_t errlen)
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
	pthread_once(&test_now_once, read_test_now_env);
	rt->now = runtime_clock;
	if (!build_services(rt, previous, err, errlen)) {
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
