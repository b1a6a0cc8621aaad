/*
 * NAME
 *	dns.c - the one resolver every check goes through: libunbound, a cache, timeouts,
 *	per-message budgets
 * SYNOPSIS
 *	#include "lib/dns.h"
 * DESCRIPTION
 *	Threads.  One libunbound context per resolver, in threaded asynchronous mode
 *	(ub_ctx_async(ctx, 1)): libunbound's own background thread does the resolving,
 *	and one dispatcher thread of ours polls ub_fd() and a wake-up pipe and calls
 *	ub_process(), so every libunbound callback runs on the dispatcher thread.  A milter
 *	thread asking a question allocates a struct pending, sends it with
 *	ub_resolve_async() and waits on the pending's condition variable (CLOCK_MONOTONIC)
 *	until the earlier of its query timeout and its message's deadline.
 *
 *	Who frees a pending.  One mutex (resolver->lock) guards every pending's fields and
 *	the list of abandoned ones.  Exactly one party owns a pending at any time:
 *	  - the caller, until it gives up; if the callback ran first (done is set) the
 *	    caller takes the result and frees the pending;
 *	  - on timeout, the caller marks it abandoned, puts it on resolver->abandoned and
 *	    forgets it; from then on the dispatcher thread owns it.
 *	The callback, under the lock, either hands the result to a waiting caller or, for an
 *	abandoned pending, unlinks and frees it with the result.  The dispatcher, between
 *	two ub_process() calls, calls ub_cancel() on each abandoned pending once; when
 *	libunbound says the cancel worked it promises never to call back, so the dispatcher
 *	frees the pending.  ub_cancel() can race with a callback only when another thread
 *	runs ub_process() at the same time (see unbound.h); here the callbacks and the
 *	cancels run on the same thread, so they never overlap and no pending is freed twice
 *	or never.  A pending whose cancel failed stays on the list for its callback;
 *	dns_resolver_free() deletes the libunbound context first (no callback can come
 *	after that) and then frees whatever is left.  Lock order: resolver->lock before
 *	libunbound's own lock (ub_cancel is called with resolver->lock held; libunbound
 *	never calls back with its lock held).
 *
 *	Cache.  A small TTL cache of our own sits in front of libunbound's (dnscache.c
 *	says why and how); lookups are charged to the budget before it is consulted.
 *
 *	Budget.  Every lookup that passes the name check is charged to the message's budget,
 *	cache hits included, so a message's outcome does not depend on what other messages
 *	warmed the cache.  A spent budget (no queries left, or the deadline passed) gives
 *	DNS_BUDGET before anything is looked up.  A query cut short by the deadline is a
 *	timeout (DNS_TEMPFAIL), since it was sent.  budget may be NULL: no limit.
 *
 *	Forwarders.  The configured nameservers become forwarders (ub_ctx_set_fwd
 *	"IP@PORT"); without them /etc/resolv.conf.  Either way "do-not-query-localhost" is
 *	turned off: the operator named those servers, and a local resolver on 127.0.0.1 or
 *	127.0.0.53 is the common case.  libunbound forwards with RD=1; an authoritative-only
 *	server such as NSD answers with AA and without RA and libunbound accepts that (the
 *	tests run against NSD this way).  A REFUSED answer (a name outside the server's
 *	zones) comes back from libunbound as SERVFAIL, hence DNS_TEMPFAIL, promptly.
 *
 *	Counters.  stats.queries counts every lookup that passed the name and budget checks
 *	(cache hits included, so cache_hits / queries is the hit rate); stats.timeouts the
 *	queries given up on; stats.failures the other DNS_TEMPFAIL and DNS_BOGUS answers.
 *
 *	Answers.  A struct dns_answer (dnscache.c) and a struct dns_txt are each one
 *	allocation, so dns_answer_free() and dns_txt_free() are one free(), and both accept
 *	NULL.  dns_query_txt() sets *out only for DNS_OK.
 *
 *	Create the resolver after the process has forked into the background and dropped
 *	privileges: its threads do not survive a fork.
 * DIAGNOSTICS
 *	dns_resolver_new() fills err with one sentence.  A dispatcher failure (a broken
 *	libunbound pipe) is logged once; from then on queries fail with DNS_TEMPFAIL.
 * SEE ALSO
 *	dns.h, dnscache.c, libunbound(3)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* pipe2(2) */
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <unbound.h>

#include "lib/domain.h"
#include "lib/dns.h"
#include "lib/dnscache.h"
#include "lib/log.h"
#include "lib/monotonic.h"

#define NAME_MAX_LEN	DNS_NAME_MAX_LEN
#define LABEL_MAX_LEN	63
#define DEFAULT_TIMEOUT_MS 5000
#define RCODE_NXDOMAIN	3

/* One query in flight; see "Who frees a pending" above. */
struct pending {
	struct dns_resolver *resolver;
	pthread_cond_t cond;
	int	done;			/* the callback ran: err and result are set */
	int	abandoned;		/* the caller gave up; the dispatcher owns it */
	int	cancel_tried;
	int	async_id;
	int	err;
	struct ub_result *result;
	struct pending *next;		/* on resolver->abandoned */
};

struct dns_resolver {
	struct ub_ctx *ctx;
	unsigned timeout_ms;
	pthread_condattr_t condattr;	/* CLOCK_MONOTONIC, for every pending */
	pthread_t dispatcher;
	int	dispatcher_running;
	int	wake[2];		/* pipe: a byte wakes the dispatcher */

	pthread_mutex_t lock;		/* pendings, abandoned, stop, broken */
	struct pending *abandoned;
	int	stop;
	int	broken;

	struct dns_cache *cache;
	dns_test_source *test_source;	/* test seam: see dns_set_test_source() */
	void	*test_ctx;

	pthread_mutex_t stats_lock;
	struct dns_stats stats;
};

/* ---- names ------------------------------------------------------------------------ */

/*
 * Checks name and writes its lower-cased form, without a trailing dot, to key (which
 * holds NAME_MAX_LEN + 1 bytes): lib/domain.c's rules with DOMAIN_OCTETS -- empty names
 * and labels, labels over 63 bytes, names over 253, control characters, blanks and
 * backslashes (libunbound would read them as escapes and ask another name than the one
 * checked here) are refused.
 */
static int name_normalize(const char *name, char *key)
{
	if (name == NULL)
		return -1;
	return domain_check(name, strnlen(name, NAME_MAX_LEN + 2), DOMAIN_OCTETS |
	    DOMAIN_FINAL_DOT, key, NAME_MAX_LEN + 1) > 0 ? 0 : -1;
}

/* ---- answers ---------------------------------------------------------------------- */

static enum dns_status result_status(const struct ub_result *res)
{
	if (res->bogus)
		return DNS_BOGUS;
	if (res->rcode == RCODE_NXDOMAIN || res->nxdomain)
		return DNS_NXDOMAIN;
	if (res->rcode != 0)
		return DNS_TEMPFAIL;
	return res->havedata && res->data != NULL && res->data[0] != NULL ? DNS_OK : DNS_NODATA;
}

/* The answer for one libunbound result; NULL when out of memory. */
static struct dns_answer *answer_from_result(const struct ub_result *res)
{
	enum dns_status status = result_status(res);
	size_t count = 0, data_len = 0, packet_len, i;
	unsigned char *data;
	struct dns_answer *a;

	if (status == DNS_OK) {
		for (; res->data[count] != NULL; count++) {
			if (res->len[count] < 0)
				return dns_answer_empty(DNS_TEMPFAIL, res->rcode);
			data_len += (size_t)res->len[count];
		}
	}
	packet_len = res->answer_packet != NULL && res->answer_len > 0 ?
	    (size_t)res->answer_len : 0;
	if ((a = dns_answer_alloc(count, data_len, packet_len, &data)) == NULL)
		return NULL;
	a->status = status;
	a->rcode = res->rcode;
	a->secure = res->secure && !res->bogus;
	a->ttl = res->ttl > 0 ? (unsigned)res->ttl : 0;
	if (packet_len)
		memcpy(a->packet, res->answer_packet, packet_len);
	for (i = 0; i < count; i++) {
		a->records[i].data = data;
		a->records[i].len = (size_t)res->len[i];
		memcpy(data, res->data[i], (size_t)res->len[i]);
		data += res->len[i];
	}
	return a;
}

/* ---- statistics ------------------------------------------------------------------- */

static void stats_count(struct dns_resolver *r, unsigned long *counter)
{
	pthread_mutex_lock(&r->stats_lock);
	(*counter)++;
	pthread_mutex_unlock(&r->stats_lock);
}

void	dns_stats_get(struct dns_resolver *resolver, struct dns_stats *out)
{
	pthread_mutex_lock(&resolver->stats_lock);
	*out = resolver->stats;
	pthread_mutex_unlock(&resolver->stats_lock);
}

/* ---- pendings and the dispatcher --------------------------------------------------- */

static struct pending *pending_new(struct dns_resolver *r)
{
	struct pending *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	if (pthread_cond_init(&p->cond, &r->condattr) != 0) {
		free(p);
		return NULL;
	}
	p->resolver = r;
	return p;
}

static void pending_free(struct pending *p)
{
	if (p->result != NULL)
		ub_resolve_free(p->result);
	pthread_cond_destroy(&p->cond);
	free(p);
}

/* With resolver->lock held. */
static void abandoned_unlink(struct dns_resolver *r, struct pending *p)
{
	struct pending **pp;

	for (pp = &r->abandoned; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			return;
		}
	}
}

/* libunbound's callback: runs on the dispatcher thread, inside ub_process(). */
static void query_done(void *arg, int err, struct ub_result *result)
{
	struct pending *p = arg;
	struct dns_resolver *r = p->resolver;

	pthread_mutex_lock(&r->lock);
	p->err = err;
	p->result = result;
	if (p->abandoned) {
		abandoned_unlink(r, p);
		pthread_mutex_unlock(&r->lock);
		pending_free(p);
		return;
	}
	p->done = 1;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&r->lock);
}

/* On the dispatcher thread, between ub_process() calls: no callback can overlap. */
static void cancel_abandoned(struct dns_resolver *r)
{
	struct pending **pp, *p;

	pthread_mutex_lock(&r->lock);
	for (pp = &r->abandoned; (p = *pp) != NULL;) {
		if (p->cancel_tried) {
			pp = &p->next;
			continue;
		}
		p->cancel_tried = 1;
		if (ub_cancel(r->ctx, p->async_id) == UB_NOERROR) {
			*pp = p->next;
			pending_free(p);
		} else {
			pp = &p->next;	/* its callback will free it */
		}
	}
	pthread_mutex_unlock(&r->lock);
}

static void wake_dispatcher(struct dns_resolver *r)
{
	char byte = 0;

	/* Full pipe: a wake-up is already pending, which is all we need. */
	while (write(r->wake[1], &byte, 1) < 0 && errno == EINTR)
		;
}

static void drain_wake(struct dns_resolver *r)
{
	char buf[64];

	while (read(r->wake[0], buf, sizeof(buf)) > 0)
		;
}

static void dispatcher_fail(struct dns_resolver *r, const char *what, const char *why)
{
	log_msg(LOG_LEVEL_ERROR, "dns: %s: %s; DNS lookups fail from now on", what, why);
	pthread_mutex_lock(&r->lock);
	r->broken = 1;
	pthread_mutex_unlock(&r->lock);
}

static void *dispatcher_main(void *arg)
{
	struct dns_resolver *r = arg;
	struct pollfd fds[2];
	int stop, rc;

	fds[0].fd = ub_fd(r->ctx);
	fds[0].events = POLLIN;
	fds[1].fd = r->wake[0];
	fds[1].events = POLLIN;
	for (;;) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			dispatcher_fail(r, "poll", strerror(errno));
			break;
		}
		if (fds[1].revents)
			drain_wake(r);
		pthread_mutex_lock(&r->lock);
		stop = r->stop;
		pthread_mutex_unlock(&r->lock);
		if (stop)
			break;
		if (fds[0].revents && (rc = ub_process(r->ctx)) != 0) {
			dispatcher_fail(r, "libunbound", ub_strerror(rc));
			break;
		}
		cancel_abandoned(r);
	}
	return NULL;
}

/* ---- resolver --------------------------------------------------------------------- */

/*
 * Test seam, for the fuzzers (tests/fuzz/fuzz-dns.c, fuzz-session.c) only; never set in
 * the daemon.  A resolver made while a source is set has no libunbound context and no
 * thread: resolve() asks the source for the ub_result libunbound would have given, and
 * everything after that -- answer_from_result(), the cache, the TXT joining, every
 * caller's reading of the records -- runs as for a real reply.
 */
static dns_test_source *test_source;
static void *test_source_ctx;

void	dns_set_test_source(dns_test_source *source, void *ctx)
{
	test_source = source;
	test_source_ctx = ctx;
}

static int configure_servers(struct dns_resolver *r, const struct dns_options *options,
    char *err, size_t errlen)
{
	char addr[96];
	size_t i;
	int rc;

	for (i = 0; i < options->nameserver_count; i++) {
		const struct nameserver *ns = &options->nameservers[i];

		snprintf(addr, sizeof(addr), "%s@%u", ns->address, ns->port ? ns->port : 53);
		if ((rc = ub_ctx_set_fwd(r->ctx, addr)) != 0) {
			snprintf(err, errlen, "dns: cannot use nameserver %s: %s", addr,
			    ub_strerror(rc));
			return -1;
		}
	}
	if (options->nameserver_count == 0 && (rc = ub_ctx_resolvconf(r->ctx, NULL)) != 0) {
		snprintf(err, errlen, "dns: cannot read /etc/resolv.conf: %s", ub_strerror(rc));
		return -1;
	}
	if ((rc = ub_ctx_set_option(r->ctx, "do-not-query-localhost:", "no")) != 0) {
		snprintf(err, errlen, "dns: libunbound refused do-not-query-localhost: %s",
		    ub_strerror(rc));
		return -1;
	}
	/* libunbound answers the RFC 6761 name "test." itself (NXDOMAIN); ask the servers
	 * instead, as for any other name: the root says NXDOMAIN anyway, and a site (or a
	 * test bed) that serves test. gets its answers. */
	if ((rc = ub_ctx_set_option(r->ctx, "local-zone:", "test. transparent")) != 0) {
		snprintf(err, errlen, "dns: libunbound refused local-zone test.: %s",
		    ub_strerror(rc));
		return -1;
	}
	/* Likewise the reverse zones it keeps empty by default (RFC 6303): private networks
	 * and the IPv6 documentation prefix.  SPF's ptr and %{p} need real answers for them
	 * where the site's own servers have them (an internal relay's PTR record). */
	if ((rc = ub_ctx_set_option(r->ctx, "unblock-lan-zones:", "yes")) != 0 ||
	    (rc = ub_ctx_set_option(r->ctx, "insecure-lan-zones:", "yes")) != 0 ||
	    (rc = ub_ctx_set_option(r->ctx, "local-zone:",
		"8.b.d.0.1.0.0.2.ip6.arpa. transparent")) != 0) {
		snprintf(err, errlen, "dns: libunbound refused the reverse-zone options: %s",
		    ub_strerror(rc));
		return -1;
	}
	return 0;
}

static int configure_context(struct dns_resolver *r, const struct dns_options *options,
    char *err, size_t errlen)
{
	const char *ta = options->trust_anchor_file;
	int rc;

	if ((r->ctx = ub_ctx_create()) == NULL) {
		snprintf(err, errlen, "dns: cannot create a libunbound context");
		return -1;
	}
	if ((rc = ub_ctx_async(r->ctx, 1)) != 0) {
		snprintf(err, errlen, "dns: libunbound cannot use threads: %s", ub_strerror(rc));
		return -1;
	}
	if (configure_servers(r, options, err, errlen) != 0)
		return -1;
	if (ta != NULL && *ta != '\0') {
		if (access(ta, R_OK) != 0) {
			snprintf(err, errlen, "dns: cannot read trust anchor file %s: %s", ta,
			    strerror(errno));
			return -1;
		}
		if ((rc = ub_ctx_add_ta_file(r->ctx, ta)) != 0) {
			snprintf(err, errlen, "dns: cannot use trust anchor file %s: %s", ta,
			    ub_strerror(rc));
			return -1;
		}
	}
	return 0;
}

/*
 * libunbound reads its trust anchors and starts up at its first query.  Asking it for
 * "localhost", which it answers itself without the network, makes a broken trust anchor
 * file an error now rather than a SERVFAIL on every message.
 */
static int start_context(struct dns_resolver *r, const char *ta, char *err, size_t errlen)
{
	struct ub_result *res = NULL;
	int rc = ub_resolve(r->ctx, "localhost", DNS_TYPE_A, 1, &res);

	if (res != NULL)
		ub_resolve_free(res);
	if (rc != 0) {
		snprintf(err, errlen, "dns: libunbound does not start%s%s: %s",
		    ta != NULL && *ta ? ", check the trust anchor file " : "",
		    ta != NULL ? ta : "", ub_strerror(rc));
		return -1;
	}
	return 0;
}

static int init_sync(struct dns_resolver *r, char *err, size_t errlen)
{
	if (pthread_condattr_init(&r->condattr) != 0 ||
	    pthread_condattr_setclock(&r->condattr, CLOCK_MONOTONIC) != 0 ||
	    pthread_mutex_init(&r->lock, NULL) != 0 ||
	    pthread_mutex_init(&r->stats_lock, NULL) != 0) {
		snprintf(err, errlen, "dns: cannot set up locks");
		return -1;
	}
	if (pipe2(r->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		snprintf(err, errlen, "dns: pipe: %s", strerror(errno));
		return -1;
	}
	return 0;
}

struct dns_resolver *dns_resolver_new(const struct dns_options *options, char *err,
    size_t errlen)
{
	struct dns_resolver *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		snprintf(err, errlen, "dns: out of memory");
		return NULL;
	}
	r->wake[0] = r->wake[1] = -1;
	r->timeout_ms = options->query_timeout_ms ? options->query_timeout_ms :
	    DEFAULT_TIMEOUT_MS;
	if (init_sync(r, err, errlen) != 0)
		goto fail;
	if ((r->cache = dns_cache_new()) == NULL) {
		snprintf(err, errlen, "dns: out of memory");
		goto fail;
	}
	if ((r->test_source = test_source) != NULL) {
		r->test_ctx = test_source_ctx;
		return r;
	}
	if (configure_context(r, options, err, errlen) != 0 ||
	    start_context(r, options->trust_anchor_file, err, errlen) != 0)
		goto fail;
	if (pthread_create(&r->dispatcher, NULL, dispatcher_main, r) != 0) {
		snprintf(err, errlen, "dns: cannot start the dispatcher thread");
		goto fail;
	}
	r->dispatcher_running = 1;
	return r;
fail:
	dns_resolver_free(r);
	return NULL;
}

/*
 * Only when no query is in flight (abandoned ones may be).  The dispatcher stops first,
 * then libunbound, so no callback can come while the leftovers are freed.
 */
void	dns_resolver_free(struct dns_resolver *r)
{
	struct pending *p;

	if (r == NULL)
		return;
	if (r->dispatcher_running) {
		pthread_mutex_lock(&r->lock);
		r->stop = 1;
		pthread_mutex_unlock(&r->lock);
		wake_dispatcher(r);
		pthread_join(r->dispatcher, NULL);
	}
	if (r->ctx != NULL)
		ub_ctx_delete(r->ctx);
	while ((p = r->abandoned) != NULL) {
		r->abandoned = p->next;
		pending_free(p);
	}
	dns_cache_free(r->cache);
	if (r->wake[0] >= 0) {
		close(r->wake[0]);
		close(r->wake[1]);
	}
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_destroy(&r->stats_lock);
	pthread_condattr_destroy(&r->condattr);
	free(r);
}

/* ---- budget ----------------------------------------------------------------------- */

void	dns_budget_init(struct dns_budget *budget, unsigned max_queries, unsigned max_ms)
{
	budget->queries_left = max_queries;
	budget->deadline = timespec_add_ms(now_monotonic(), max_ms);
	budget->queries = 0;
	budget->timeouts = 0;
	budget->spent = 0;
}

/* Charges one lookup; -1 when the budget is spent. */
static int budget_charge(struct dns_budget *budget)
{
	if (budget == NULL)
		return 0;
	if (budget->queries_left == 0 || !timespec_before(now_monotonic(), budget->deadline)) {
		budget->spent = 1;
		return -1;
	}
	budget->queries_left--;
	budget->queries++;
	return 0;
}

/* ---- queries ---------------------------------------------------------------------- */

/* Waits for p's callback until deadline; 0 if it came, -1 on timeout. */
static int pending_wait(struct dns_resolver *r, struct pending *p, int async_id,
    struct timespec deadline)
{
	int rc = 0;

	pthread_mutex_lock(&r->lock);
	p->async_id = async_id;
	while (!p->done && rc == 0)	/* ETIMEDOUT, or an error that would repeat */
		rc = pthread_cond_timedwait(&p->cond, &r->lock, &deadline);
	if (!p->done) {
		p->abandoned = 1;
		p->next = r->abandoned;
		r->abandoned = p;
		pthread_mutex_unlock(&r->lock);
		wake_dispatcher(r);
		return -1;
	}
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static enum dns_status tempfail(struct dns_resolver *r, unsigned long *counter,
    struct dns_answer **out)
{
	stats_count(r, counter);
	if ((*out = dns_answer_empty(DNS_TEMPFAIL, 0)) == NULL)
		return DNS_ERROR;
	return DNS_TEMPFAIL;
}

/* The answer for what libunbound (or the test source) gave, counted and cached. */
static enum dns_status take_result(struct dns_resolver *r, const char *key, int rrtype,
    int err, const struct ub_result *result, struct dns_answer **out)
{
	if (err != 0 || result == NULL)
		*out = dns_answer_empty(DNS_TEMPFAIL, 0);
	else
		*out = answer_from_result(result);
	if (*out == NULL)
		return DNS_ERROR;
	if ((*out)->status == DNS_TEMPFAIL || (*out)->status == DNS_BOGUS)
		stats_count(r, &r->stats.failures);
	dns_cache_put(r->cache, key, rrtype, *out);
	return (*out)->status;
}

/* The test seam's resolve(). */
static enum dns_status resolve_from_test_source(struct dns_resolver *r, const char *key,
    int rrtype, struct dns_answer **out)
{
	struct ub_result *result = NULL;
	int err = r->test_source(r->test_ctx, key, rrtype, &result);
	enum dns_status status = take_result(r, key, rrtype, err, result, out);

	if (result != NULL)
		ub_resolve_free(result);
	return status;
}

/* Asks libunbound, waiting at most the query timeout and the budget's deadline. */
static enum dns_status resolve(struct dns_resolver *r, struct dns_budget *budget,
    const char *key, int rrtype, struct dns_answer **out)
{
	struct timespec deadline = timespec_add_ms(now_monotonic(), r->timeout_ms);
	struct pending *p;
	enum dns_status status;
	int async_id = 0, broken;

	if (r->test_source != NULL)
		return resolve_from_test_source(r, key, rrtype, out);
	pthread_mutex_lock(&r->lock);
	broken = r->broken;
	pthread_mutex_unlock(&r->lock);
	if (broken)
		return tempfail(r, &r->stats.failures, out);
	if (budget != NULL && timespec_before(budget->deadline, deadline))
		deadline = budget->deadline;
	if ((p = pending_new(r)) == NULL)
		return DNS_ERROR;
	if (ub_resolve_async(r->ctx, key, rrtype, 1, p, query_done, &async_id) != 0) {
		pending_free(p);
		return tempfail(r, &r->stats.failures, out);
	}
	if (pending_wait(r, p, async_id, deadline) != 0) {
		if (budget != NULL) {
			budget->timeouts++;
			/* Cut short by the message's deadline, not by DNSTimeout. */
			if (!timespec_before(now_monotonic(), budget->deadline))
				budget->spent = 1;
		}
		return tempfail(r, &r->stats.timeouts, out);	/* p is the dispatcher's now */
	}
	status = take_result(r, key, rrtype, p->err, p->result, out);
	pending_free(p);
	return status;
}

enum dns_status dns_query(struct dns_resolver *resolver, struct dns_budget *budget,
    const char *name, int rrtype, struct dns_answer **out)
{
	char key[NAME_MAX_LEN + 1];

	if (out == NULL)
		return DNS_ERROR;
	*out = NULL;
	if (resolver == NULL || rrtype <= 0 || rrtype > 65535 || name_normalize(name, key) != 0)
		return DNS_ERROR;
	if (budget_charge(budget) != 0)
		return DNS_BUDGET;
	stats_count(resolver, &resolver->stats.queries);
	if ((*out = dns_cache_get(resolver->cache, key, rrtype)) != NULL) {
		stats_count(resolver, &resolver->stats.cache_hits);
		return (*out)->status;
	}
	return resolve(resolver, budget, key, rrtype, out);
}

/* ---- TXT -------------------------------------------------------------------------- */

int	dns_txt_text(const unsigned char *rdata, size_t len, char *out, size_t size,
    size_t *joined)
{
	size_t off = 0, total = 0;

	if (len == 0)
		return 0;		/* at least one character-string, maybe empty */
	while (off < len) {
		size_t n = rdata[off++];

		if (n > len - off)
			return 0;
		if (out != NULL && total + n < size)
			memcpy(out + total, rdata + off, n);
		total += n;
		off += n;
	}
	if (out != NULL && total < size)
		out[total] = '\0';
	*joined = total;
	return 1;
}

/* One allocation for the structure, both arrays and every joined string. */
static enum dns_status txt_from_answer(const struct dns_answer *a, struct dns_txt **out)
{
	size_t count = a->count, i, size, bytes = 0, joined;
	struct dns_txt *txt;
	char *text;

	for (i = 0; i < count; i++) {
		if (!dns_txt_text(a->records[i].data, a->records[i].len, NULL, 0, &joined))
			return DNS_TEMPFAIL;		/* malformed on the wire */
		bytes += joined + 1;
	}
	size = sizeof(*txt) + count * (sizeof(char *) + sizeof(size_t)) + bytes;
	if ((txt = calloc(1, size)) == NULL)
		return DNS_ERROR;
	txt->count = count;
	txt->secure = a->secure;
	txt->records = (char **)(txt + 1);
	txt->lengths = (size_t *)(txt->records + count);
	text = (char *)(txt->lengths + count);
	for (i = 0; i < count; i++) {
		txt->records[i] = text;
		dns_txt_text(a->records[i].data, a->records[i].len, text, bytes, &txt->lengths[i]);
		text += txt->lengths[i] + 1;
		bytes -= txt->lengths[i] + 1;
	}
	*out = txt;
	return DNS_OK;
}

/* *out is set only for DNS_OK; for every other status it is NULL. */
enum dns_status dns_query_txt(struct dns_resolver *resolver, struct dns_budget *budget,
    const char *name, struct dns_txt **out)
{
	struct dns_answer *a = NULL;
	enum dns_status status;

	if (out == NULL)
		return DNS_ERROR;
	*out = NULL;
	status = dns_query(resolver, budget, name, DNS_TYPE_TXT, &a);
	if (status == DNS_OK) {
		status = txt_from_answer(a, out);
		if (status == DNS_TEMPFAIL)
			stats_count(resolver, &resolver->stats.failures);
	}
	dns_answer_free(a);
	return status;
}

void	dns_txt_free(struct dns_txt *txt)
{
	free(txt);
}

const char *dns_status_name(enum dns_status status)
{
	switch (status) {
	case DNS_OK:		return "ok";
	case DNS_NODATA:	return "nodata";
	case DNS_NXDOMAIN:	return "nxdomain";
	case DNS_TEMPFAIL:	return "tempfail";
	case DNS_BOGUS:		return "bogus";
	case DNS_BUDGET:	return "budget";
	case DNS_ERROR:		return "error";
	}
	return "error";
}
