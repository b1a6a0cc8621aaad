/*
 * NAME
 *	redisserver.h - a private redis-server for the unit tests of the Redis stores
 * SYNOPSIS
 *	#include "tests/unit/redisserver.h"
 *
 *	if (!redisserver_begin()) return tap_done();	(a failure, never a skip)
 *	redisContext *c = raw_connect();		(to set up and to look)
 * DESCRIPTION
 *	redis_start() runs redis-server (REDIS_SERVER, default the one in PATH) in dir,
 *	listening on sock_path and on 127.0.0.1:port, with no persistence, and waits until
 *	it answers PING (10 s at most).  redis_stop() ends it (SIGTERM, after a SIGCONT in
 *	case a test froze it); cleanup() also removes its files and dir.
 *	redisserver_begin() makes dir, picks the port, ignores SIGPIPE (as the daemon does:
 *	hiredis writes without MSG_NOSIGNAL) and starts the server, as one TAP check: a
 *	missing or failing redis-server fails the test, it is never skipped.
 */
#ifndef SIGNET_REDISSERVER_H
#define SIGNET_REDISSERVER_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <hiredis/hiredis.h>

#include "tests/unit/tap.h"

static char dir[] = "/tmp/signet-redis-XXXXXX";
static char sock_path[128];
static unsigned port;
static pid_t redis_pid = -1;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static unsigned free_port(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int	fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned p = 0;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		p = ntohs(sin.sin_port);
	if (fd >= 0)
		close(fd);
	return p;
}

/* A raw connection to the private server, for setting up and looking. */
static redisContext *raw_connect(void)
{
	struct timeval tv = {0, 200000};
	redisContext *c = redisConnectUnixWithTimeout(sock_path, tv);

	if (c != NULL && c->err) {
		redisFree(c);
		return NULL;
	}
	return c;
}

static int raw_ping(void)
{
	redisContext *c = raw_connect();
	redisReply *r = c != NULL ? redisCommand(c, "PING") : NULL;
	int	ok = r != NULL && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;

	if (r != NULL)
		freeReplyObject(r);
	if (c != NULL)
		redisFree(c);
	return ok;
}

/* Starts redis-server; 1 when it answers PING within 10 s, else 0 with why. */
static int redis_start(char *why, size_t whylen)
{
	const char *server = getenv("REDIS_SERVER") ? getenv("REDIS_SERVER") : "redis-server";
	char	port_text[16], log_path[160];
	int	report[2], child_errno = 0, status;

	snprintf(port_text, sizeof(port_text), "%u", port);
	snprintf(log_path, sizeof(log_path), "%s/redis.log", dir);
	if (pipe2(report, O_CLOEXEC) != 0 || (redis_pid = fork()) < 0) {
		snprintf(why, whylen, "pipe/fork: %s", strerror(errno));
		return 0;
	}
	if (redis_pid == 0) {
		close(report[0]);
		execlp(server, server, "--port", port_text, "--bind", "127.0.0.1",
		    "--unixsocket", sock_path, "--unixsocketperm", "700", "--save", "",
		    "--appendonly", "no", "--dir", dir, "--logfile", log_path, "--daemonize", "no",
		    (char *)NULL);
		child_errno = errno;
		if (write(report[1], &child_errno, sizeof(child_errno)) < 0)
			_exit(126);
		_exit(127);
	}
	close(report[1]);
	if (read(report[0], &child_errno, sizeof(child_errno)) == (ssize_t)sizeof(child_errno)) {
		close(report[0]);
		waitpid(redis_pid, &status, 0);
		redis_pid = -1;
		snprintf(why, whylen, "cannot run %s: %s (apt-get install redis-server, or set "
		    "REDIS_SERVER)", server, strerror(child_errno));
		return 0;
	}
	close(report[0]);
	for (double start = now_ms(); now_ms() - start < 10000; usleep(20000)) {
		if (waitpid(redis_pid, &status, WNOHANG) == redis_pid) {
			redis_pid = -1;
			snprintf(why, whylen, "%s exited at start (status %d); see %s", server,
			    status, log_path);
			return 0;
		}
		if (raw_ping())
			return 1;
	}
	snprintf(why, whylen, "%s did not answer PING within 10 s; see %s", server, log_path);
	return 0;
}

static void redis_stop(void)
{
	if (redis_pid <= 0)
		return;
	kill(redis_pid, SIGCONT);
	kill(redis_pid, SIGTERM);
	waitpid(redis_pid, NULL, 0);
	redis_pid = -1;
}

static void cleanup(void)
{
	char	path[200];

	redis_stop();
	snprintf(path, sizeof(path), "%s/redis.log", dir);
	unlink(path);
	unlink(sock_path);
	rmdir(dir);
}

/* 1 when the private server runs; 0 after a failed check (or exits: no folder). */
static int redisserver_begin(void)
{
	char	why[512];

	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(dir) == NULL || (port = free_port()) == 0) {
		printf("Bail out! mkdtemp or a free port: %s\n", strerror(errno));
		exit(1);
	}
	snprintf(sock_path, sizeof(sock_path), "%s/redis.sock", dir);
	atexit(cleanup);
	if (!TAP_OK(redis_start(why, sizeof(why)), "a private redis-server runs on %s and "
	    "127.0.0.1:%u", sock_path, port)) {
		printf("#   %s\n", why);
		return 0;
	}
	return 1;
}

#endif
