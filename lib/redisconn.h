/*
 * NAME
 *	redisconn.h - a Redis server named as in signet.conf, and one connection to it with
 *	a timeout: what the rate-limit store and the report store share
 * SYNOPSIS
 *	#include "lib/redisconn.h"
 *
 *	struct redis_target t;
 *	redis_target_parse("redis://10.0.0.5:6379/2", &t, err, sizeof(err));
 *	redisContext *c = redisconn_open(&t, where, 200, err, sizeof(err));
 *	enum redisconn_outcome o = redisconn_command(c, where, 200, argc, argv, lens,
 *	    &reply, err, sizeof(err));
 * DESCRIPTION
 *	redis_target_parse() reads redis://HOST[:PORT][/DB] (HOST an IPv4 address, an
 *	[IPv6] address or a host name; PORT 1 to 65535, default 6379; DB 0 to 65535) or
 *	unix:/ABSOLUTE/PATH.  No user, password or option: those are refused rather than
 *	ignored.  redis_target_where() writes what messages call it ("127.0.0.1:6379",
 *	"[::1]:6379", the socket's path).
 *
 *	redisconn_open() connects within timeout_ms, sets timeout_ms for every command
 *	after (SO_RCVTIMEO/SO_SNDTIMEO through hiredis) and SELECTs the database.  HOST is
 *	best an address: hiredis resolves a name with getaddrinfo(), which the timeout does
 *	not cover.  hiredis writes without MSG_NOSIGNAL: the process must ignore SIGPIPE.
 *
 *	redisconn_command() runs one command.  An error reply is REDISCONN_REFUSED (the
 *	connection is still good); no reply is REDISCONN_BROKEN (close it).
 *	redisconn_broken() writes why a connection broke, for callers that pipeline.
 *	redisconn_stale() says whether a broken connection was closed by the server while
 *	it waited unused (a restart): a command sent on it was not read, so sending it once
 *	more on a new connection counts nothing twice.
 * DIAGNOSTICS
 *	err holds one sentence naming the server ("redis 127.0.0.1:6379: ...").
 * SEE ALSO
 *	milter/ratestore-redis.c, lib/reportstore-redis.c, hiredis
 */
#ifndef SIGNET_REDISCONN_H
#define SIGNET_REDISCONN_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#define REDIS_HOST_MAX	253
#define REDIS_PATH_MAX	107	/* sun_path less its NUL */
#define REDIS_WHERE_MAX	(REDIS_HOST_MAX + 32)

struct redis_target {
	int	unix_socket;
	char	host[REDIS_HOST_MAX + 1];	/* without the brackets of an IPv6 literal */
	unsigned port;
	unsigned db;
	char	path[REDIS_PATH_MAX + 1];
};

enum redisconn_outcome {
	REDISCONN_DONE,		/* an answer */
	REDISCONN_REFUSED,	/* Redis answered with an error; the connection is fine */
	REDISCONN_BROKEN,	/* no answer: the connection is of no further use */
};

/* 1, or 0 with err: the URL parser, for "signet -n", the stores and the tests. */
int	redis_target_parse(const char *url, struct redis_target *t, char *err, size_t errlen);
void	redis_target_where(const struct redis_target *t, char *out, size_t size);

redisContext *redisconn_open(const struct redis_target *t, const char *where,
	    unsigned timeout_ms, char *err, size_t errlen);
enum redisconn_outcome redisconn_command(redisContext *ctx, const char *where,
	    unsigned timeout_ms, int argc, const char **argv, const size_t *lens,
	    redisReply **reply, char *err, size_t errlen);
void	redisconn_broken(const redisContext *ctx, const char *where, unsigned timeout_ms,
	    char *err, size_t errlen);
int	redisconn_stale(const redisContext *ctx);

#endif
