/*
 * NAME
 *	session.c - per-connection and per-message state, and the signing policy
 * DESCRIPTION
 *	A message is outbound when the client address is in InternalHosts or the client
 *	authenticated (the MTA's {auth_authen} macro is set).  Outbound mail is signed when
 *	Mode includes s, its From names exactly one domain, and that domain has active keys
 *	of at least MinimumKeyBits; one signature per such key, so a domain with an RSA and an
 *	Ed25519 key gets both (RFC 8463 dual signing).  Whatever stops a message from being
 *	signed is logged and the message passes unchanged: it is never rejected for that.
 *	Inbound mail (Mode includes v) is handed to inbound.c, which verifies DKIM, checks
 *	SPF and DMARC and decides what to do; outbound mail is never verified and inbound
 *	mail never signed.
 *
 *	The body is canonicalized and hashed as it arrives, only for messages to be signed.
 *
 *	Authentication-Results fields that carry our authserv-id are removed from every
 *	message, outbound included (arfields.h): they are recorded before anything else a
 *	header field goes through, so no other error can leave one unrecorded.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "lib/alloc.h"
#include "lib/log.h"
#include "milter/session.h"
#include "milter/sign.h"

/* Messages in flight, for a shutdown that lets them finish. */
static pthread_mutex_t flight_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t flight_done = PTHREAD_COND_INITIALIZER;
static unsigned messages_in_flight;
static int stopping;

/* Counts a message in, unless shutdown has begun: one test under the lock, so a drain
 * that saw no message in flight can never be followed by one starting. */
static int flight_begin(void)
{
	int	ok;

	pthread_mutex_lock(&flight_lock);
	if ((ok = !stopping))
		messages_in_flight++;
	pthread_mutex_unlock(&flight_lock);
	return ok;
}

static void flight_end(void)
{
	pthread_mutex_lock(&flight_lock);
	if (messages_in_flight > 0 && --messages_in_flight == 0)
		pthread_cond_broadcast(&flight_done);
	pthread_mutex_unlock(&flight_lock);
}

void	session_stop_accepting(void)
{
	pthread_mutex_lock(&flight_lock);
	stopping = 1;
	pthread_mutex_unlock(&flight_lock);
}

int	session_stopping(void)
{
	int	value;

	pthread_mutex_lock(&flight_lock);
	value = stopping;
	pthread_mutex_unlock(&flight_lock);
	return value;
}

unsigned session_wait_idle(unsigned seconds)
{
	struct timespec deadline;
	unsigned left;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += seconds;
	pthread_mutex_lock(&flight_lock);
	while (messages_in_flight > 0 &&
	    pthread_cond_timedwait(&flight_done, &flight_lock, &deadline) != ETIMEDOUT)
		;
	left = messages_in_flight;
	pthread_mutex_unlock(&flight_lock);
	return left;
}

struct session *session_new(void)
{
	return calloc(1, sizeof(struct session));
}

void	session_free(struct session *s)
{
	if (s == NULL)
		return;
	session_message_end(s);
	free(s->helo);
	free(s);
}

void	session_connect(struct session *s, const struct sockaddr *client, const char *hostname)
{
	s->client_known = 0;
	snprintf(s->client_text, sizeof(s->client_text), "%s", hostname ? hostname : "unknown");
	if (client == NULL)
		return;
	if (client->sa_family == AF_INET) {
		memcpy(&s->client, client, sizeof(struct sockaddr_in));
		inet_ntop(AF_INET, &((const struct sockaddr_in *)client)->sin_addr,
		    s->client_text, sizeof(s->client_text));
		s->client_known = 1;
	} else if (client->sa_family == AF_INET6) {
		memcpy(&s->client, client, sizeof(struct sockaddr_in6));
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)client)->sin6_addr,
		    s->client_text, sizeof(s->client_text));
		s->client_known = 1;
	}
}

/* The HELO name is kept whole, however long: SPF checks it or says why it cannot, and
 * Authentication-Results shows it or leaves it out, but never a cut name. */
void	session_helo(struct session *s, const char *helo)
{
	free(s->helo);
	s->helo = mem_strdup(helo ? helo : "");
	s->helo_lost = s->helo == NULL;
}

int	session_message_begin(struct session *s, const char *queue_id, const char *auth_authen,
    const char *mail_from)
{
	session_message_end(s);
	if (!flight_begin())
		return 0;
	if ((s->rt = runtime_acquire()) == NULL) {
		flight_end();
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &s->started);
	session_set_queue_id(s, queue_id);
	s->authenticated = auth_authen != NULL && *auth_authen != '\0';
	s->client_internal = s->client_known &&
	    addrlist_contains(s->rt->conf->internal_hosts, (const struct sockaddr *)&s->client);
	s->outbound = s->client_internal || s->authenticated;
	if (!s->outbound && (s->rt->conf->mode & CONF_MODE_VERIFY)) {
		s->checking_inbound = 1;
		if (!s->helo_lost)
			s->inbound = inbound_begin(s->rt, s->queue_id,
			    s->client_known ? s->client_text : "", s->helo ? s->helo : "", mail_from);
		if (s->inbound == NULL)
			s->failed = 1;
	}
	return 1;
}

void	session_set_queue_id(struct session *s, const char *queue_id)
{
	if (queue_id != NULL && *queue_id != '\0')
		snprintf(s->queue_id, sizeof(s->queue_id), "%s", queue_id);
	else if (s->queue_id[0] == '\0')
		snprintf(s->queue_id, sizeof(s->queue_id), "NOQUEUE");
}

void	session_header(struct session *s, const char *name, const char *value)
{
	if (s->rt == NULL)
		return;
	/* Before anything that can fail: every field must be counted and judged, or a
	 * forged one could stay in place after an unrelated error (issue 13). */
	if (strcasecmp(name, "Authentication-Results") == 0)
		arfields_add(&s->arfields, value, s->rt->authserv_id);
	if (s->failed)
		return;
	if (s->inbound != NULL)
		inbound_header(s->inbound, name, value);
	if (s->overflow)
		return;
	switch (msgheaders_add(&s->headers, name, value)) {
	case MSGHEADERS_OK:
		break;
	case MSGHEADERS_TOO_MANY:
		s->overflow = 1;
		break;
	case MSGHEADERS_NOMEM:
		s->failed = 1;
		break;
	}
}

/* Chooses the keys; 0 when the message is not to be signed (already logged). */
static int choose_keys(struct session *s)
{
	const struct conf *conf = s->rt->conf;
	const struct keystore_key *found[SESSION_MAX_KEYS];
	enum from_status from;
	size_t	n;

	if (s->overflow) {
		log_msg(LOG_LEVEL_NOTICE, "%s: not signed: over %d header fields or %d bytes of "
		    "header", s->queue_id, MSGHEADERS_MAX_FIELDS, MSGHEADERS_MAX_BYTES);
		return 0;
	}
	from = msgheaders_from_domain(&s->headers, s->from_domain, sizeof(s->from_domain));
	if (from != FROM_OK) {
		log_msg(LOG_LEVEL_NOTICE, "%s: not signed: %s", s->queue_id, from_status_text(from));
		return 0;
	}
	n = keystore_find_active(s->rt->keys, s->from_domain, found, SESSION_MAX_KEYS);
	if (n > SESSION_MAX_KEYS)
		n = SESSION_MAX_KEYS;
	s->key_count = 0;
	for (size_t i = 0; i < n; i++) {
		if (found[i]->algorithm != KEY_ALG_ED25519 && found[i]->bits < conf->minimum_key_bits)
			continue;	/* reported once at load, not per message */
		s->keys[s->key_count++] = found[i];
	}
	if (s->key_count == 0) {
		log_msg(LOG_LEVEL_INFO, "%s: not signed: no active key for %s", s->queue_id,
		    s->from_domain);
		return 0;
	}
	return 1;
}

/* A message with nothing to sign or check passes at once, unless forged
 * Authentication-Results fields must first be removed at end of message. */
static enum session_verdict pass_unchanged(struct session *s)
{
	if (s->arfields.forged_count == 0 && arfields_complete(&s->arfields))
		return VERDICT_PASS;
	s->pass_through = 1;
	return VERDICT_CONTINUE;
}

enum session_verdict session_end_of_headers(struct session *s)
{
	if (s->rt == NULL || s->failed)
		return VERDICT_ERROR;
	if (s->inbound != NULL) {
		inbound_end_of_headers(s->inbound);
		return VERDICT_CONTINUE;
	}
	if (!(s->rt->conf->mode & CONF_MODE_SIGN) || !s->outbound) {
		log_msg(LOG_LEVEL_DEBUG, "%s: inbound from %s: passed unchanged", s->queue_id,
		    s->client_text);
		return pass_unchanged(s);
	}
	if (!choose_keys(s))
		return pass_unchanged(s);
	if ((s->body = body_canon_new(s->rt->conf->canon_body)) == NULL) {
		s->failed = 1;
		return VERDICT_ERROR;
	}
	return VERDICT_CONTINUE;
}

void	session_body(struct session *s, const unsigned char *data, size_t len)
{
	if (s->failed)
		return;
	if (s->inbound != NULL)
		inbound_body(s->inbound, data, len);
	else if (s->body != NULL && !body_canon_update(s->body, data, len))
		s->failed = 1;
}

enum session_verdict session_inbound_finish(struct session *s, struct inbound_outcome *out)
{
	if (s->rt == NULL || s->failed || s->inbound == NULL ||
	    !inbound_finish(s->inbound, &s->headers, s->overflow, s->arfields.forged_count,
		out)) {
		log_msg(LOG_LEVEL_ERROR, "%s: internal error in the inbound checks", s->queue_id);
		return VERDICT_ERROR;
	}
	log_msg(LOG_LEVEL_INFO, "%s: %s", s->queue_id, out->summary);
	return VERDICT_CONTINUE;
}

enum session_verdict session_sign(struct session *s, char **values, size_t *count)
{
	unsigned char body_hash[CANON_HASH_LEN];
	const struct conf *conf;
	char	err[256];

	*count = 0;
	if (s->rt == NULL || s->failed || s->body == NULL || !body_canon_final(s->body, body_hash)) {
		log_msg(LOG_LEVEL_ERROR, "%s: internal error while hashing the body", s->queue_id);
		return VERDICT_ERROR;
	}
	conf = s->rt->conf;
	struct sign_request req = {
		.headers = &s->headers,
		.sign_headers = &conf->sign_headers,
		.oversign_headers = &conf->oversign_headers,
		.canon_header = conf->canon_header,
		.canon_body = conf->canon_body,
		.body_hash = body_hash,
		.timestamp = time(NULL),
		.leading_space = s->leading_space,
	};
	for (size_t i = 0; i < s->key_count; i++) {
		if ((values[i] = sign_message(&req, s->keys[i], err, sizeof(err))) == NULL) {
			log_msg(LOG_LEVEL_ERROR, "%s: %s", s->queue_id, err);
			while (i-- > 0)
				free(values[i]);
			return VERDICT_ERROR;
		}
	}
	*count = s->key_count;
	return VERDICT_CONTINUE;
}

size_t	session_forged_before(const struct session *s, size_t n)
{
	return arfields_forged_before(&s->arfields, n);
}

int	session_forged_complete(const struct session *s)
{
	return arfields_complete(&s->arfields);
}

void	session_message_end(struct session *s)
{
	msgheaders_clear(&s->headers);
	arfields_free(&s->arfields);
	s->pass_through = 0;
	inbound_free(s->inbound);
	s->inbound = NULL;
	s->checking_inbound = 0;
	body_canon_free(s->body);
	s->body = NULL;
	if (s->rt != NULL) {
		runtime_release(s->rt);
		s->rt = NULL;
		flight_end();
	}
	s->queue_id[0] = '\0';
	s->authenticated = s->outbound = s->overflow = s->failed = 0;
	s->from_domain[0] = '\0';
	s->key_count = 0;
}

double	session_elapsed(const struct session *s)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - s->started.tv_sec) +
	    (double)(now.tv_nsec - s->started.tv_nsec) / 1e9;
}

int	session_tempfail_on_error(const struct session *s)
{
	return s->rt == NULL || s->rt->conf->on_internal_error == ON_ERROR_TEMPFAIL;
}
