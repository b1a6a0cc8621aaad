/*
 * NAME
 *	enginelisten.c - Signet's milter engine: the listening socket, the accept loop,
 *	the signal thread
 * DESCRIPTION
 *	smfi_setconn() takes libmilter's socket syntax: unix:PATH, local:PATH or a bare
 *	/PATH; inet:PORT@HOST, inet6:PORT@HOST (HOST a name or an address), inet:PORT and
 *	inet6:PORT for any address.  smfi_opensocket(1) removes what is at a unix PATH
 *	first when it is a socket (stat(2), as libmilter: a symlink to a socket goes too)
 *	and refuses anything else there; the umask in force gives the socket its mode.
 *
 *	smfi_main() works as libmilter's: SIGHUP, SIGTERM and SIGINT are blocked and a
 *	thread takes them with sigwait(), which Signet defines itself (signals.c: a reload on
 *	SIGHUP, the drain before SIGTERM returns).  When sigwait() returns one of them the
 *	accept loop stops, the listener is closed, its unix socket removed when not running
 *	as root (libmilter's rule: root's socket stays for the next start to replace), and
 *	the MTA connections still open are shut down -- their messages were drained
 *	already -- before smfi_main() returns MI_SUCCESS.
 */
#define _GNU_SOURCE		/* accept4(), pipe2() */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "lib/log.h"
#include "milter/engine-mfapi.h"
#include "milter/engine.h"

#define STOP_WAIT_SECONDS 30

static char *socket_spec;
static int listen_fd = -1, listen_tcp;
static char *unix_path;			/* the listener's path, to remove at the end */
static int wake_pipe[2] = {-1, -1};	/* the signal thread tells the accept loop */

int	smfi_setconn(char *spec)
{
	char   *copy;

	if (spec == NULL || spec[0] == '\0' || (copy = strdup(spec)) == NULL)
		return MI_FAILURE;
	free(socket_spec);
	socket_spec = copy;
	return MI_SUCCESS;
}

static int open_unix(const char *path, int remove_old)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct stat st;
	int	fd;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -1;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	if (remove_old && stat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode) || unlink(path) != 0)
			return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    listen(fd, SOMAXCONN) != 0 || (unix_path = strdup(path)) == NULL) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

/* PORT[@HOST] for the family; HOST by name or address, none for any address. */
static int open_inet(int family, const char *rest)
{
	struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_PASSIVE}, *res;
	char   *port = strdup(rest), *host;
	int	fd = -1, one = 1;

	if (port == NULL)
		return -1;
	if ((host = strchr(port, '@')) != NULL)
		*host++ = '\0';
	if (port[0] == '\0' || getaddrinfo(host != NULL && host[0] != '\0' ? host : NULL, port,
	    &hints, &res) != 0) {
		free(port);
		return -1;
	}
	free(port);
	/* TCP_NODELAY before listen(): a connection accepted takes it from the listener
	 * when its handshake ends, so one made before adapter_set_nodelay() (an MTA
	 * connecting the moment the port opens) would otherwise keep Nagle on. */
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0 &&
	    (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0)) {
		(void)close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	listen_tcp = 1;
	return fd;
}

int	smfi_opensocket(int remove_old)
{
	const char *s = socket_spec;

	if (s == NULL || listen_fd >= 0)
		return MI_FAILURE;
	if (strncmp(s, "unix:", 5) == 0 || strncmp(s, "local:", 6) == 0)
		listen_fd = open_unix(strchr(s, ':') + 1, remove_old);
	else if (s[0] == '/')
		listen_fd = open_unix(s, remove_old);
	else if (strncmp(s, "inet:", 5) == 0)
		listen_fd = open_inet(AF_INET, s + 5);
	else if (strncmp(s, "inet6:", 6) == 0)
		listen_fd = open_inet(AF_INET6, s + 6);
	return listen_fd >= 0 ? MI_SUCCESS : MI_FAILURE;
}

static void *signal_thread(void *arg)
{
	sigset_t *set = arg;
	int	sig = 0;
	char	byte = 's';

	while (sigwait(set, &sig) != 0)
		;
	while (write(wake_pipe[1], &byte, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* Accepts connections until the signal thread says stop (1), or poll fails (0). */
static int accept_loop(void)
{
	struct pollfd p[2] = {{.fd = listen_fd, .events = POLLIN},
	    {.fd = wake_pipe[0], .events = POLLIN}};

	for (;;) {
		int	fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_msg(LOG_LEVEL_ERROR, "milter: poll: %s", strerror(errno));
			return 0;
		}
		if (p[1].revents != 0)
			return 1;
		if (p[0].revents == 0)
			continue;
		if ((fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				log_msg(LOG_LEVEL_WARNING, "milter: accept: %s", strerror(errno));
				usleep(100000);
			}
			continue;
		}
		if (!engine_serve(fd, listen_tcp))
			log_msg(LOG_LEVEL_ERROR, "milter: no thread for a new MTA connection");
	}
}

/* libmilter removes its unix socket at the end unless running as root. */
static void close_listener(void)
{
	struct stat st;

	(void)close(listen_fd);
	listen_fd = -1;
	if (unix_path != NULL && geteuid() != 0 && lstat(unix_path, &st) == 0 &&
	    S_ISSOCK(st.st_mode))
		(void)unlink(unix_path);
	free(unix_path);
	unix_path = NULL;
}

int	smfi_main(void)
{
	static sigset_t set;
	pthread_t thread;
	unsigned left;
	int	stopped;

	if (listen_fd < 0 && smfi_opensocket(0) != MI_SUCCESS)
		return MI_FAILURE;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 || pipe2(wake_pipe, O_CLOEXEC) != 0 ||
	    pthread_create(&thread, NULL, signal_thread, &set) != 0) {
		close_listener();
		return MI_FAILURE;
	}
	stopped = accept_loop();
	close_listener();
	if ((left = engine_stop_connections(STOP_WAIT_SECONDS)) > 0)
		log_msg(LOG_LEVEL_WARNING, "milter: %u MTA connection(s) did not end", left);
	if (!stopped) {
		(void)pthread_detach(thread);
		return MI_FAILURE;
	}
	(void)pthread_join(thread, NULL);
	return MI_SUCCESS;
}
