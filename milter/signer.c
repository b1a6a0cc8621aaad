/*
 * NAME
 *	signer.c - the keeper and signer processes: private keys away from the network
 * DESCRIPTION
 *	See signer.h for the roles.  Why two processes and not one: once the milter
 *	process has become UserID it can no longer start a process that may read the keys,
 *	so a small process that already has the signer's user (the keeper: no keys, no
 *	network, no threads) is there to start the signer again.
 *
 *	Generations: every successful RELOAD makes a new generation of the keystore; the
 *	milter names the generation its message started with, so a message in flight
 *	across a key rotation is signed with a key that was active when it started.  A
 *	generation goes when the milter releases it (its last message ended), except the
 *	newest.  A SIGN that names a generation this signer does not hold (it was
 *	restarted since: another epoch) is checked against the newest generation.  Either
 *	way the key must be active in that generation and of the algorithm asked for.
 *
 *	Nothing here logs key material; refusals are logged with the names asked for.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "keys/keyload.h"
#include "keys/keysign.h"
#include "lib/log.h"
#include "milter/proctitle.h"
#include "milter/signer.h"
#include "milter/signerproto.h"

struct generation {
	uint32_t number;
	struct keystore *keys;
	unsigned refs;			/* requests using it now */
	int	released;		/* the milter is done with it */
	struct generation *next;	/* older */
};

struct signer_state {
	char   *conf_path;
	pthread_mutex_t lock;		/* guards everything below */
	struct generation *newest;
	uint32_t counter;
	char	load_error[SIGNER_ERROR_MAX];	/* why the first load failed, if it did */
};

/* ---- generations ------------------------------------------------------------------ */

struct conf_errors {
	char	first[512];
};

static void keep_first_error(void *context, const char *message)
{
	struct conf_errors *e = context;

	if (e->first[0] == '\0')
		snprintf(e->first, sizeof(e->first), "%s", message);
}

/* Reads signet.conf and the keystore into a new newest generation; 0 with why filled. */
static int load_generation(struct signer_state *st, char *why, size_t whylen)
{
	struct conf_errors errors = {{0}};
	struct keystore_error kerr;
	struct conf *conf = conf_load(st->conf_path, keep_first_error, &errors);
	struct keystore *keys;
	struct generation *g;

	if (conf == NULL) {
		snprintf(why, whylen, "%s (read by the signer process as uid %ld)",
		    errors.first[0] ? errors.first : "signet.conf has errors", (long)geteuid());
		return 0;
	}
	keys = keyload_private(conf, &kerr);
	conf_free(conf);
	if (keys == NULL) {
		snprintf(why, whylen, "keystore: %s", kerr.text);
		return 0;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL) {
		keystore_free(keys);
		snprintf(why, whylen, "out of memory");
		return 0;
	}
	g->keys = keys;
	pthread_mutex_lock(&st->lock);
	g->number = ++st->counter;
	g->next = st->newest;
	st->newest = g;
	pthread_mutex_unlock(&st->lock);
	return 1;
}

/* Frees the generations that are released and unused (never the newest).  Called with
 * the lock held. */
static void sweep_locked(struct signer_state *st)
{
	struct generation **link = &st->newest;

	while (*link != NULL) {
		struct generation *g = *link;

		if (g != st->newest && g->released && g->refs == 0) {
			*link = g->next;
			keystore_free(g->keys);
			free(g);
		} else {
			link = &g->next;
		}
	}
}

/* The generation epoch/number names, or the newest one; NULL if none is loaded. */
static struct generation *acquire(struct signer_state *st, uint32_t epoch, uint32_t number)
{
	struct generation *g, *found = NULL;

	pthread_mutex_lock(&st->lock);
	if (epoch == (uint32_t)getpid())
		for (g = st->newest; g != NULL && found == NULL; g = g->next)
			if (g->number == number)
				found = g;
	if (found == NULL)
		found = st->newest;
	if (found != NULL)
		found->refs++;
	pthread_mutex_unlock(&st->lock);
	return found;
}

static void release(struct signer_state *st, struct generation *g)
{
	pthread_mutex_lock(&st->lock);
	g->refs--;
	sweep_locked(st);
	pthread_mutex_unlock(&st->lock);
}

static void forget(struct signer_state *st, uint32_t epoch, uint32_t number)
{
	if (epoch != (uint32_t)getpid())
		return;
	pthread_mutex_lock(&st->lock);
	for (struct generation *g = st->newest; g != NULL; g = g->next)
		if (g->number == number)
			g->released = 1;
	sweep_locked(st);
	pthread_mutex_unlock(&st->lock);
}

struct signer_state *signer_state_new(const char *conf_path)
{
	struct signer_state *st = calloc(1, sizeof(*st));

	if (st == NULL || (st->conf_path = strdup(conf_path)) == NULL) {
		free(st);
		return NULL;
	}
	pthread_mutex_init(&st->lock, NULL);
	if (!load_generation(st, st->load_error, sizeof(st->load_error)) &&
	    st->load_error[0] == '\0')
		snprintf(st->load_error, sizeof(st->load_error), "the keys did not load");
	return st;
}

void	signer_state_free(struct signer_state *st)
{
	if (st == NULL)
		return;
	while (st->newest != NULL) {
		struct generation *g = st->newest;

		st->newest = g->next;
		keystore_free(g->keys);
		free(g);
	}
	pthread_mutex_destroy(&st->lock);
	free(st->conf_path);
	free(st);
}

/* ---- requests --------------------------------------------------------------------- */

static void send_packet(int fd, const struct signer_packet *p)
{
	if (signer_packet_ok(p))
		(void)send(fd, p->data, p->len, MSG_NOSIGNAL);
}

static void reply_error(int fd, uint32_t id, const char *text)
{
	struct signer_packet p;

	signer_packet_start(&p, id, SIGNER_ERROR);
	signer_put_error(&p, text);
	send_packet(fd, &p);
}

static void refuse(int fd, uint32_t id, const char *why)
{
	log_msg(LOG_LEVEL_WARNING, "signer: refused a request: %s", why);
	reply_error(fd, id, why);
}

/* The key list of the newest generation, in as many packets as it takes. */
static void reply_keys(struct signer_state *st, int fd, uint32_t id)
{
	struct generation *g = acquire(st, 0, 0);
	struct signer_packet p;
	size_t	count, i = 0;

	if (g == NULL) {
		reply_error(fd, id, st->load_error);
		return;
	}
	count = keystore_count(g->keys);
	do {
		size_t	n = count - i < SIGNER_KEYS_PER_PACKET ? count - i : SIGNER_KEYS_PER_PACKET;

		signer_packet_start(&p, id, SIGNER_KEYS);
		signer_put_u32(&p, (uint32_t)getpid());
		signer_put_u32(&p, g->number);
		signer_put_u8(&p, i + n == count);
		signer_put_u16(&p, (unsigned)n);
		for (size_t k = 0; k < n; k++)
			signer_put_key(&p, keystore_key_at(g->keys, i + k));
		send_packet(fd, &p);
		i += n;
	} while (i < count);
	release(st, g);
}

static void handle_sign(struct signer_state *st, int fd, uint32_t id, struct signer_reader *r)
{
	struct signer_sign_request req;
	struct generation *g;
	const struct keystore_key *key;
	unsigned char sig[KEYSIGN_MAX];
	size_t	sig_len = 0;
	char	why[SIGNER_ERROR_MAX];
	struct signer_packet p;

	if (!signer_get_sign(r, &req, why, sizeof(why))) {
		refuse(fd, id, why);
		return;
	}
	if ((g = acquire(st, req.epoch, req.generation)) == NULL) {
		reply_error(fd, id, st->load_error);
		return;
	}
	key = keystore_find(g->keys, req.domain, req.selector);
	if (key == NULL || key->state != KEY_STATE_ACTIVE || key->algorithm != req.algorithm) {
		snprintf(why, sizeof(why), "no active %s key %s/%s in generation %u",
		    keystore_algorithm_name(req.algorithm), req.domain, req.selector, g->number);
		release(st, g);
		refuse(fd, id, why);
		return;
	}
	if (!keysign_digest(key, req.digest, sig, &sig_len, why, sizeof(why))) {
		release(st, g);
		log_msg(LOG_LEVEL_ERROR, "signer: %s", why);
		reply_error(fd, id, why);
		return;
	}
	release(st, g);
	signer_packet_start(&p, id, SIGNER_SIGNATURE);
	signer_put_u16(&p, (unsigned)sig_len);
	signer_put_bytes(&p, sig, sig_len);
	send_packet(fd, &p);
}

static void handle(struct signer_state *st, int fd, const unsigned char *data, size_t len)
{
	struct signer_reader r;
	uint32_t id = 0, epoch, number;
	unsigned type = 0;
	char	why[SIGNER_ERROR_MAX];

	if (!signer_read_header(&r, data, len, &id, &type)) {
		snprintf(why, sizeof(why), "malformed packet of %zu bytes (no header or a wrong "
		    "magic number)", len);
		refuse(fd, 0, why);
		return;
	}
	switch (type) {
	case SIGNER_LIST:
	case SIGNER_RELOAD:
		if (!signer_read_done(&r)) {
			refuse(fd, id, "malformed list or reload request");
			return;
		}
		if (type == SIGNER_RELOAD && !load_generation(st, why, sizeof(why))) {
			reply_error(fd, id, why);
			return;
		}
		reply_keys(st, fd, id);
		return;
	case SIGNER_SIGN:
		handle_sign(st, fd, id, &r);
		return;
	case SIGNER_RELEASE:		/* no reply */
		epoch = signer_get_u32(&r);
		number = signer_get_u32(&r);
		if (!signer_read_done(&r))
			log_msg(LOG_LEVEL_WARNING, "signer: refused a malformed release request");
		else
			forget(st, epoch, number);
		return;
	default:
		snprintf(why, sizeof(why), "unknown request type %u", type);
		refuse(fd, id, why);
	}
}

void	signer_serve_channel(struct signer_state *st, int fd)
{
	static __thread unsigned char buf[SIGNER_PACKET_MAX];

	for (;;) {
		ssize_t	n = recv(fd, buf, sizeof(buf), MSG_TRUNC);

		if (n == 0)
			return;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if ((size_t)n > sizeof(buf)) {
			char	why[128];

			snprintf(why, sizeof(why), "malformed packet of %zd bytes (over %d)", n,
			    SIGNER_PACKET_MAX);
			refuse(fd, 0, why);
			continue;
		}
		handle(st, fd, buf, (size_t)n);
	}
}

/* ---- processes -------------------------------------------------------------------- */

static int compare_fds(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Closes every descriptor above 2 except keep[0..n-1] (sorted here). */
static void close_all_but(int *keep, size_t n)
{
	unsigned from = 3;

	qsort(keep, n, sizeof(*keep), compare_fds);
	for (size_t i = 0; i < n; i++) {
		if ((unsigned)keep[i] > from)
			close_range(from, (unsigned)keep[i] - 1, 0);
		from = (unsigned)keep[i] + 1;
	}
	close_range(from, ~0U, 0);
}

/* SignerUserID, or the owner of the keystore; only when started as root. */
static int become_signer_user(const struct conf *conf)
{
	uid_t	uid;
	gid_t	gid;
	struct stat st;

	if (geteuid() != 0)
		return 1;
	if (conf->signer_user_id[0] != '\0') {
		char	user[256];
		const char *colon = strchr(conf->signer_user_id, ':');
		struct passwd *pw;

		snprintf(user, sizeof(user), "%.*s", colon ? (int)(colon - conf->signer_user_id) :
		    (int)strlen(conf->signer_user_id), conf->signer_user_id);
		if ((pw = getpwnam(user)) == NULL) {
			log_msg(LOG_LEVEL_ERROR, "SignerUserID: no such user \"%s\"", user);
			return 0;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
		if (colon != NULL) {
			struct group *gr = getgrnam(colon + 1);

			if (gr == NULL) {
				log_msg(LOG_LEVEL_ERROR, "SignerUserID: no such group \"%s\"",
				    colon + 1);
				return 0;
			}
			gid = gr->gr_gid;
		}
	} else if (stat(conf->keystore, &st) == 0) {
		uid = st.st_uid;
		gid = st.st_gid;
	} else {
		log_msg(LOG_LEVEL_ERROR, "signer: cannot find the owner of Keystore %s: %s",
		    conf->keystore, strerror(errno));
		return 0;
	}
	if (uid == 0) {
		log_msg(LOG_LEVEL_NOTICE, "signer: runs as root (Keystore %s belongs to root; "
		    "see SignerUserID in signet.conf(5))", conf->keystore);
		return 1;
	}
	if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0 || setuid(0) == 0) {
		log_msg(LOG_LEVEL_ERROR, "signer: cannot become uid %ld: %s", (long)uid,
		    strerror(errno));
		return 0;
	}
	return 1;
}

struct channel_thread {
	struct signer_state *st;
	int	fd;
};

static void *serve_thread(void *arg)
{
	struct channel_thread *ct = arg;

	signer_serve_channel(ct->st, ct->fd);
	_exit(0);		/* the milter is gone */
	return NULL;
}

/* The signer process: never returns. */
static void worker_main(int *fds, size_t n, const char *conf_path)
{
	static struct channel_thread threads[SIGNER_CHANNELS];
	struct rlimit no_core = {0, 0};
	struct signer_state *st;
	pthread_t tid;

	proctitle_set("signet: signer");
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* Key material never lands in a core file, and no process of the same user can
	 * read this one's memory. */
	setrlimit(RLIMIT_CORE, &no_core);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if ((st = signer_state_new(conf_path)) == NULL)
		_exit(1);
	for (size_t i = 1; i < n; i++) {
		threads[i] = (struct channel_thread){st, fds[i]};
		if (pthread_create(&tid, NULL, serve_thread, &threads[i]) != 0)
			_exit(1);
	}
	threads[0] = (struct channel_thread){st, fds[0]};
	serve_thread(&threads[0]);
	_exit(0);
}

/* Hands a signer's channels and its pid to the milter (what signerclient.c reads). */
int	signer_send_channels(int control, const int fds[SIGNER_CHANNELS], pid_t pid)
{
	char	payload[8] = "SIGNER";
	char	cbuf[CMSG_SPACE(sizeof(int) * SIGNER_CHANNELS)];
	struct iovec iov = {payload, sizeof(payload)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
	    .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c;

	memset(cbuf, 0, sizeof(cbuf));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * SIGNER_CHANNELS);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * SIGNER_CHANNELS);
	memcpy(payload + 4, &(uint32_t){(uint32_t)pid}, 4);
	return sendmsg(control, &msg, MSG_NOSIGNAL) == (ssize_t)sizeof(payload);
}

/* Starts a signer; its channels go to the milter.  The pid, or -1 (the milter is gone or
 * the system is out of resources). */
static pid_t start_worker(int control, const char *conf_path)
{
	int	pairs[SIGNER_CHANNELS][2], ours[SIGNER_CHANNELS], theirs[SIGNER_CHANNELS];
	size_t	made = 0;
	pid_t	pid = -1;

	for (; made < SIGNER_CHANNELS; made++) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pairs[made]) != 0)
			goto done;
		ours[made] = pairs[made][0];
		theirs[made] = pairs[made][1];
	}
	if ((pid = fork()) < 0)
		goto done;
	if (pid == 0) {
		log_suspend();
		close_all_but(ours, SIGNER_CHANNELS);
		log_resume();
		worker_main(ours, SIGNER_CHANNELS, conf_path);
	}
	if (!signer_send_channels(control, theirs, pid)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
done:
	for (size_t i = 0; i < made; i++) {
		close(pairs[i][0]);
		close(pairs[i][1]);
	}
	return pid;
}

static void describe_exit(int status, char *out, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(out, len, "was killed by signal %d", WTERMSIG(status));
	else
		snprintf(out, len, "exited with status %d", WEXITSTATUS(status));
}

/* The keeper: never returns. */
static void keeper_main(int control, const char *conf_path, const struct conf *conf)
{
	pid_t	worker = -1;
	time_t	started = 0;
	int	status, restart_asked = 0;

	proctitle_set("signet: keeper");
	log_suspend();
	close_all_but(&control, 1);
	log_resume();
	if (!become_signer_user(conf))
		_exit(1);
	for (;;) {
		if (worker < 0) {
			if (started != 0 && time(NULL) - started < 1)
				sleep(1);	/* one that dies at once is not restarted in a loop */
			started = time(NULL);
			if ((worker = start_worker(control, conf_path)) < 0) {
				log_msg(LOG_LEVEL_ERROR, "keeper: cannot start the signer: %s",
				    strerror(errno));
				_exit(1);
			}
			restart_asked = 0;
		}
		struct pollfd pfd = {control, POLLIN, 0};
		int	n = poll(&pfd, 1, 250);

		if (n > 0) {
			unsigned char req[8];
			ssize_t	got = recv(control, req, sizeof(req), MSG_DONTWAIT);

			if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
				kill(worker, SIGKILL);	/* the milter is gone */
				waitpid(worker, NULL, 0);
				_exit(0);
			}
			uint32_t hung;

			memcpy(&hung, req + 1, sizeof(hung));
			if (got == 5 && req[0] == 'R' && (pid_t)hung == worker && !restart_asked) {
				log_msg(LOG_LEVEL_WARNING, "keeper: the signer (pid %ld) did not "
				    "answer in time: restarting it", (long)worker);
				kill(worker, SIGKILL);
				restart_asked = 1;
			}
		}
		if (waitpid(worker, &status, WNOHANG) == worker) {
			char	how[64];

			describe_exit(status, how, sizeof(how));
			if (!restart_asked)
				log_msg(LOG_LEVEL_ERROR, "keeper: the signer (pid %ld) %s: starting it "
				    "again", (long)worker, how);
			worker = -1;
		}
	}
}

int	signer_spawn(const char *conf_path, const struct conf *conf, char *err, size_t errlen)
{
	int	control[2];
	pid_t	pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, control) != 0) {
		snprintf(err, errlen, "signer: socketpair: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "signer: fork: %s", strerror(errno));
		close(control[0]);
		close(control[1]);
		return -1;
	}
	if (pid == 0)
		keeper_main(control[1], conf_path, conf);
	close(control[1]);
	return control[0];
}
