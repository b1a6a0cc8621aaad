/*
 * NAME
 *	signerclient.c - ask the signer process for key lists and signatures
 * DESCRIPTION
 *	Channels come in sets, one set per life of the signer, each set reference-counted:
 *	a thread using a channel holds its set, so a set replaced meanwhile (the signer
 *	was restarted) is closed only when its last user is done.  One mutex per channel
 *	keeps requests on it one at a time; the client's mutex guards the current set and
 *	the control socket.
 *
 *	Replies are matched by request id: a late answer to a request that timed out is
 *	read and dropped by the next request on that channel.  Everything the signer
 *	sends is decoded with the same bounds checks it applies to us.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "lib/alloc.h"
#include "lib/grow.h"
#include "lib/log.h"
#include "milter/signer.h"
#include "milter/signerclient.h"
#include "milter/signerproto.h"

struct channel_set {
	int	fds[SIGNER_CHANNELS];
	pthread_mutex_t locks[SIGNER_CHANNELS];
	pid_t	pid;			/* the signer's */
	atomic_int dead;		/* it exited or hung */
	int	restart_asked;		/* guarded by the client's lock */
	unsigned refs;			/* guarded by the client's lock */
};

struct signer_client {
	int	control;
	long	timeout_ms;
	pthread_mutex_t lock;
	struct channel_set *set;	/* NULL until the first arrives */
	int	keeper_gone;
	atomic_uint next_id, next_channel;
};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_free(struct channel_set *s)
{
	for (int i = 0; i < SIGNER_CHANNELS; i++) {
		close(s->fds[i]);
		pthread_mutex_destroy(&s->locks[i]);
	}
	free(s);
}

/* Installs a set; the one it replaces goes now if unused, else with its last user.
 * Called with the lock held. */
static void install_locked(struct signer_client *c, struct channel_set *s)
{
	struct channel_set *old = c->set;

	c->set = s;
	if (old != NULL && old->refs == 0)
		set_free(old);
}

/* Reads what the keeper sent: new channel sets (the last one wins) or end of file.
 * Waits up to wait_ms for the first message.  Called with the lock held. */
static void receive_sets_locked(struct signer_client *c, long wait_ms)
{
	for (;;) {
		struct pollfd pfd = {c->control, POLLIN, 0};
		char	payload[8], cbuf[CMSG_SPACE(sizeof(int) * SIGNER_CHANNELS)];
		struct iovec iov = {payload, sizeof(payload)};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
		    .msg_controllen = sizeof(cbuf)};
		struct cmsghdr *cm;
		struct channel_set *s;
		ssize_t	n;

		if (c->keeper_gone || poll(&pfd, 1, (int)(wait_ms > 0 ? wait_ms : 0)) <= 0)
			return;
		wait_ms = 0;
		if ((n = recvmsg(c->control, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC)) <= 0) {
			if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				c->keeper_gone = 1;
				log_msg(LOG_LEVEL_ERROR, "the signer's keeper exited: nothing can be "
				    "signed until signet is restarted");
			}
			return;
		}
		cm = CMSG_FIRSTHDR(&msg);
		if (cm == NULL || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
		    (msg.msg_flags & MSG_CTRUNC)) {
			log_msg(LOG_LEVEL_ERROR, "signer: a control message without channels");
			continue;
		}
		size_t	nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int	fds[SIGNER_CHANNELS];

		memcpy(fds, CMSG_DATA(cm), nfds * sizeof(int) < sizeof(fds) ?
		    nfds * sizeof(int) : sizeof(fds));
		if (n != sizeof(payload) || nfds != SIGNER_CHANNELS ||
		    (s = calloc(1, sizeof(*s))) == NULL) {
			for (size_t i = 0; i < nfds && i < SIGNER_CHANNELS; i++)
				close(fds[i]);
			log_msg(LOG_LEVEL_ERROR, "signer: a malformed control message");
			continue;
		}
		uint32_t pid;

		memcpy(&pid, payload + 4, sizeof(pid));
		s->pid = (pid_t)pid;
		memcpy(s->fds, fds, sizeof(fds));
		for (int i = 0; i < SIGNER_CHANNELS; i++)
			pthread_mutex_init(&s->locks[i], NULL);
		atomic_init(&s->dead, 0);
		install_locked(c, s);
	}
}

/* The live set, referenced; waits up to wait_ms for one.  NULL with err filled. */
static struct channel_set *take_set(struct signer_client *c, long wait_ms, char *err,
    size_t errlen)
{
	struct channel_set *s;

	pthread_mutex_lock(&c->lock);
	if (c->set == NULL || atomic_load(&c->set->dead))
		receive_sets_locked(c, wait_ms);
	s = c->set;
	if (s != NULL && !atomic_load(&s->dead))
		s->refs++;
	else
		s = NULL;
	pthread_mutex_unlock(&c->lock);
	if (s == NULL)
		snprintf(err, errlen, c->keeper_gone ? "the signer's keeper exited (restart "
		    "signet)" : "the signer is not running (it is being restarted)");
	return s;
}

static void put_set(struct signer_client *c, struct channel_set *s)
{
	pthread_mutex_lock(&c->lock);
	if (--s->refs == 0 && s != c->set)
		set_free(s);
	pthread_mutex_unlock(&c->lock);
}

/* The signer of s hung: the keeper kills it (once) and starts another. */
static void ask_restart(struct signer_client *c, struct channel_set *s)
{
	unsigned char req[5] = {'R'};
	uint32_t pid = (uint32_t)s->pid;

	atomic_store(&s->dead, 1);
	pthread_mutex_lock(&c->lock);
	if (!s->restart_asked) {
		memcpy(req + 1, &pid, sizeof(pid));
		(void)send(c->control, req, sizeof(req), MSG_NOSIGNAL | MSG_DONTWAIT);
		s->restart_asked = 1;
	}
	pthread_mutex_unlock(&c->lock);
}

/* What a reply handler returns. */
enum reply_verdict { REPLY_DONE, REPLY_MORE, REPLY_FAILED };
typedef enum reply_verdict reply_fn(void *context, unsigned type, struct signer_reader *r,
	    char *err, size_t errlen);

enum outcome { SENT_OK, SENT_FAILED, SIGNER_GONE };

/* One exchange on one channel of s. */
static enum outcome exchange(struct signer_client *c, struct channel_set *s, int i,
    const struct signer_packet *p, uint32_t id, long timeout_ms, reply_fn *on_reply,
    void *context, char *err, size_t errlen)
{
	unsigned char buf[SIGNER_PACKET_MAX];
	long	deadline = now_ms() + timeout_ms;
	int	fd = s->fds[i];

	if (send(fd, p->data, p->len, MSG_NOSIGNAL) < 0) {
		atomic_store(&s->dead, 1);
		snprintf(err, errlen, "the signer exited (%s)", strerror(errno));
		return SIGNER_GONE;
	}
	for (;;) {
		struct pollfd pfd = {fd, POLLIN, 0};
		long	left = deadline - now_ms();
		struct signer_reader r;
		uint32_t got_id;
		unsigned type;
		ssize_t	n;

		if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
			snprintf(err, errlen, "the signer did not answer within %ld s: restarting "
			    "it", timeout_ms / 1000);
			ask_restart(c, s);
			return SENT_FAILED;
		}
		if ((n = recv(fd, buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT)) < 0 &&
		    (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			atomic_store(&s->dead, 1);
			snprintf(err, errlen, "the signer exited");
			return SIGNER_GONE;
		}
		if ((size_t)n > sizeof(buf) || !signer_read_header(&r, buf, (size_t)n, &got_id,
		    &type)) {
			snprintf(err, errlen, "a malformed reply from the signer");
			return SENT_FAILED;
		}
		if (got_id != id)
			continue;	/* the late answer to an earlier request */
		switch (on_reply(context, type, &r, err, errlen)) {
		case REPLY_DONE:
			return SENT_OK;
		case REPLY_FAILED:
			return SENT_FAILED;
		case REPLY_MORE:
			break;
		}
	}
}

/* Sends p (its id is set here) and hands the replies to on_reply; 1 when it is done.
 * A signer found gone is waited for (up to the timeout) and asked once more. */
static int request(struct signer_client *c, struct signer_packet *p, long timeout_ms,
    reply_fn *on_reply, void *context, char *err, size_t errlen)
{
	uint32_t id = atomic_fetch_add(&c->next_id, 1) + 1;

	memcpy(p->data + 4, (unsigned char[4]){(unsigned char)(id >> 24),
	    (unsigned char)(id >> 16), (unsigned char)(id >> 8), (unsigned char)id}, 4);
	for (int attempt = 0; attempt < 2; attempt++) {
		struct channel_set *s = take_set(c, attempt == 0 ? 0 : timeout_ms, err, errlen);
		enum outcome o;

		if (s == NULL && attempt == 0)
			continue;
		if (s == NULL)
			return 0;
		int	i = (int)(atomic_fetch_add(&c->next_channel, 1) % SIGNER_CHANNELS);

		pthread_mutex_lock(&s->locks[i]);
		o = exchange(c, s, i, p, id, timeout_ms, on_reply, context, err, errlen);
		pthread_mutex_unlock(&s->locks[i]);
		put_set(c, s);
		if (o != SIGNER_GONE)
			return o == SENT_OK;
	}
	return 0;
}

struct signer_client *signer_client_new(int control, long timeout_seconds, char *err,
    size_t errlen)
{
	struct signer_client *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		close(control);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->control = control;
	c->timeout_ms = timeout_seconds * 1000;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_lock(&c->lock);
	receive_sets_locked(c, 30000);
	pthread_mutex_unlock(&c->lock);
	if (c->set == NULL) {
		snprintf(err, errlen, "the signer did not start (see the log lines above)");
		signer_client_free(c);
		return NULL;
	}
	return c;
}

void	signer_client_free(struct signer_client *c)
{
	if (c == NULL)
		return;
	if (c->set != NULL)
		set_free(c->set);
	close(c->control);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* ---- key lists -------------------------------------------------------------------- */

struct key_list {
	struct keystore_key *keys;
	size_t	count, cap;
	uint32_t epoch, generation;
	int	started;
};

static enum reply_verdict on_keys(void *context, unsigned type, struct signer_reader *r,
    char *err, size_t errlen)
{
	struct key_list *list = context;
	uint32_t epoch, generation;
	unsigned last, count;

	if (type == SIGNER_ERROR) {
		char	text[SIGNER_ERROR_MAX + 1];

		signer_get_error(r, text, sizeof(text));
		snprintf(err, errlen, "%s", text);
		return REPLY_FAILED;
	}
	epoch = signer_get_u32(r);
	generation = signer_get_u32(r);
	last = signer_get_u8(r);
	count = signer_get_u16(r);
	if (type != SIGNER_KEYS || r->bad || count > SIGNER_KEYS_PER_PACKET ||
	    (list->started && (epoch != list->epoch || generation != list->generation))) {
		snprintf(err, errlen, "a malformed key list from the signer");
		return REPLY_FAILED;
	}
	list->started = 1;
	list->epoch = epoch;
	list->generation = generation;
	for (unsigned k = 0; k < count; k++) {
		struct keystore_key *grown = array_grow(list->keys, &list->cap, list->count + 1,
		    sizeof(*grown));

		if (grown == NULL) {
			snprintf(err, errlen, "out of memory reading the signer's key list");
			return REPLY_FAILED;
		}
		list->keys = grown;
		if (!signer_get_key(r, &list->keys[list->count], err, errlen))
			return REPLY_FAILED;
		list->count++;
	}
	if (!signer_read_done(r)) {
		snprintf(err, errlen, "a malformed key list from the signer");
		return REPLY_FAILED;
	}
	return last ? REPLY_DONE : REPLY_MORE;
}

struct keystore *signer_client_keys(struct signer_client *c, int reload,
    struct signer_ref *ref, char *err, size_t errlen)
{
	struct signer_packet *p = mem_malloc(sizeof(*p));
	struct key_list list = {0};
	struct keystore_error kerr;
	struct keystore *keys = NULL;
	/* Loading keys (a token, thousands of files) takes longer than a signature. */
	long	timeout_ms = c->timeout_ms > 60000 ? c->timeout_ms : 60000;

	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	signer_packet_start(p, 0, reload ? SIGNER_RELOAD : SIGNER_LIST);
	if (request(c, p, timeout_ms, on_keys, &list, err, errlen)) {
		if ((keys = keystore_from_list(list.keys, list.count, &kerr)) == NULL)
			snprintf(err, errlen, "the signer's key list: %s", kerr.text);
		else
			*ref = (struct signer_ref){c, list.epoch, list.generation};
	}
	free(list.keys);
	free(p);
	return keys;
}

void	signer_client_release(const struct signer_ref *ref)
{
	struct signer_packet *p;
	struct channel_set *s;
	char	err[128];

	if (ref->client == NULL || (p = mem_malloc(sizeof(*p))) == NULL)
		return;
	if ((s = take_set(ref->client, 0, err, sizeof(err))) == NULL) {
		free(p);	/* a signer restarted since holds no such generation */
		return;
	}
	signer_packet_start(p, 0, SIGNER_RELEASE);
	signer_put_u32(p, ref->epoch);
	signer_put_u32(p, ref->generation);
	pthread_mutex_lock(&s->locks[0]);
	(void)send(s->fds[0], p->data, p->len, MSG_NOSIGNAL | MSG_DONTWAIT);
	free(p);
	pthread_mutex_unlock(&s->locks[0]);
	put_set(ref->client, s);
}

/* ---- signatures ------------------------------------------------------------------- */

struct signature {
	unsigned char *sig;
	size_t	*len;
};

static enum reply_verdict on_signature(void *context, unsigned type, struct signer_reader *r,
    char *err, size_t errlen)
{
	struct signature *out = context;
	size_t	len;

	if (type == SIGNER_ERROR) {
		char	text[SIGNER_ERROR_MAX + 1];

		signer_get_error(r, text, sizeof(text));
		snprintf(err, errlen, "the signer refused: %s", text);
		return REPLY_FAILED;
	}
	len = signer_get_u16(r);
	if (type != SIGNER_SIGNATURE || len == 0 || len > KEYSIGN_MAX ||
	    !signer_get_bytes(r, out->sig, len) || !signer_read_done(r)) {
		snprintf(err, errlen, "a malformed signature from the signer");
		return REPLY_FAILED;
	}
	*out->len = len;
	return REPLY_DONE;
}

int	signer_sign_digest(void *context, const struct keystore_key *key,
    const unsigned char digest[32], unsigned char sig[512], size_t *sig_len,
    char *err, size_t errlen)
{
	const struct signer_ref *ref = context;
	struct signer_sign_request req = {.epoch = ref->epoch, .generation = ref->generation,
	    .algorithm = key->algorithm};
	struct signature out = {sig, sig_len};
	struct signer_packet *p = mem_malloc(sizeof(*p));
	char	why[256];
	int	ok;

	if (p == NULL) {
		snprintf(err, errlen, "signing with %s/%s failed (out of memory)", key->domain,
		    key->selector);
		return 0;
	}
	snprintf(req.domain, sizeof(req.domain), "%s", key->domain);
	snprintf(req.selector, sizeof(req.selector), "%s", key->selector);
	memcpy(req.digest, digest, sizeof(req.digest));
	signer_packet_start(p, 0, SIGNER_SIGN);
	signer_put_sign(p, &req);
	ok = request(ref->client, p, ref->client->timeout_ms, on_signature, &out, why,
	    sizeof(why));
	free(p);
	if (!ok)
		snprintf(err, errlen, "signing with %s/%s failed: %s", key->domain, key->selector,
		    why);
	return ok;
}
