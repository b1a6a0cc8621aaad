/*
 * NAME
 *	runtime.h - the configuration, keystore and services in force, swapped whole on reload
 * SYNOPSIS
 *	struct runtime *rt = runtime_acquire(); ... use rt->conf, rt->keys ...; runtime_release(rt);
 * DESCRIPTION
 *	runtime_build() makes everything a configuration implies -- the keystore given, the
 *	DNS resolver, the DKIM verifier, the public suffix list when DMARC uses one -- so a
 *	reload that fails leaves the old runtime serving.  A message takes a reference when it
 *	starts and keeps it to the end, so it finishes with the configuration and keys it
 *	started with even if a reload installs new ones meanwhile.  The old runtime is freed
 *	when its last user releases it.
 *
 *	The rate store (RateLimitStore) is the exception: its counters must survive a
 *	reload, so it lives in a reference-counted store_service that each new runtime takes
 *	over from the one it replaces, unless RateLimitStore changed.  SenderMap and
 *	RateLimits are read anew by every build, and the AuditLog file opened anew (so
 *	SIGHUP reopens it after logrotate).
 */
#ifndef SIGNET_RUNTIME_H
#define SIGNET_RUNTIME_H

#include <stddef.h>
#include <time.h>

#include "conf/conf.h"
#include "keys/keystore.h"
#include "milter/signerclient.h"

struct dns_resolver;
struct verifier;
struct dmarc_psl;
struct dns_service;
struct sendermap;
struct ratelimits;
struct ratestore;
struct store_service;
struct audit;

/* Immutable once built: users see the configuration and keystore read-only; a reload
 * builds a new runtime.  The runtime owns both and frees them with itself. */
struct runtime {
	const struct conf *conf;
	const struct keystore *keys;		/* NULL without signing; public facts only
						 * in the daemon (the signer has the keys) */
	struct signer_ref signer;		/* client NULL: sign here (unit tests) */
	struct dns_resolver *dns;		/* NULL without verifying */
	struct verifier *verifier;		/* NULL without verifying */
	struct dns_service *dns_service;	/* owns dns and verifier; may be shared
						 * with the runtime this one replaced */
	struct dmarc_psl *psl;			/* NULL: DMARC uses the DNS tree walk */
	const struct sendermap *senders;	/* SenderMap; NULL: the default rule only */
	const struct ratelimits *limits;	/* RateLimits; NULL: no limits */
	struct ratestore *store;		/* RateLimitStore; NULL without signing */
	struct store_service *store_service;	/* owns store; handed on by a reload */
	struct audit *audit;			/* AuditLog, opened anew by each reload */
	time_t	(*now)(void);			/* wall clock of the limits: runtime_clock() */
	char	authserv_id[256];		/* AuthservID, or the host name */
	unsigned long generation;		/* 1 for the first, +1 per reload */
	unsigned refs;				/* guarded by the runtime lock */
};

/* Takes ownership of conf and keys whatever happens; NULL with err filled on failure. */
struct runtime *runtime_build(struct conf *conf, struct keystore *keys, char *err,
	    size_t errlen);
/* The same for a reload: the resolver, its cache and the verifier of previous are kept
 * when no DNS setting changed. */
struct runtime *runtime_rebuild(const struct runtime *previous, struct conf *conf,
	    struct keystore *keys, char *err, size_t errlen);
/* Makes rt the runtime new messages get; the previous one goes when its users are done. */
void	runtime_install(struct runtime *rt);
struct runtime *runtime_acquire(void);
void	runtime_release(struct runtime *rt);
/* time(NULL), or when the environment had SIGNET_TEST_NOW_FILE at the first runtime
 * build, the epoch seconds written in that file (a testing aid, signet(8)). */
time_t	runtime_clock(void);
/* Drops the installed runtime (at exit, once no message can start). */
void	runtime_shutdown(void);

#endif
