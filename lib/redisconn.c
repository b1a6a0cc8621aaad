/*
 * NAME
 *	redisconn.c - parse a Redis server's URL, connect to it with a timeout, run a
 *	command and say what went wrong
 * DESCRIPTION
 *	See redisconn.h.  The URL is read with explicit lengths (no sscanf), every number
 *	bounded before it is stored; a host name is checked with lib/domain.c's rule.
 * SEE ALSO
 *	redisconn.h, milter/ratestore-redis.c, lib/reportstore-redis.c
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/time.h>

#include "lib/domain.h"
#include "lib/redisconn.h"

#define DB_MAX	65535

/* ---- the URL ------------------------------------------------------------------------ */

/* Digits only, value at most max; 1, or 0. */
static int parse_number(const char *s, size_t len, unsigned max, unsigned *out)
{
	unsigned long n = 0;

	if (len == 0 || len > 5)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		n = n * 10 + (unsigned long)(s[i] - '0');
	}
	if (n > max)
		return 0;
	*out = (unsigned)n;
	return 1;
}

/* HOST: a bracketed IPv6 address, an IPv4 address or a host name; *end after it. */
static int parse_host(const char *s, struct redis_target *t, const char **end)
{
	unsigned char probe[16];
	size_t	len;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		len = close != NULL ? (size_t)(close - s - 1) : 0;
		if (len == 0 || len > REDIS_HOST_MAX)
			return 0;
		memcpy(t->host, s + 1, len);
		t->host[len] = '\0';
		*end = close + 1;
		return inet_pton(AF_INET6, t->host, probe) == 1;
	}
	len = strcspn(s, ":/");
	if (len == 0 || len > REDIS_HOST_MAX)
		return 0;
	memcpy(t->host, s, len);
	t->host[len] = '\0';
	*end = s + len;
	return inet_pton(AF_INET, t->host, probe) == 1 ||
	    domain_check(t->host, len, 0, NULL, 0) != 0;
}

int	redis_target_parse(const char *url, struct redis_target *t, char *err, size_t errlen)
{
	const char *p, *slash;

	memset(t, 0, sizeof(*t));
	t->port = 6379;
	if (strncmp(url, "unix:", 5) == 0) {
		p = url + 5;
		if (*p != '/' || strlen(p) > REDIS_PATH_MAX) {
			snprintf(err, errlen, "\"%.80s\": want unix:/ABSOLUTE/PATH of at most %d "
			    "bytes", url, REDIS_PATH_MAX);
			return 0;
		}
		t->unix_socket = 1;
		memcpy(t->path, p, strlen(p) + 1);
		return 1;
	}
	if (strncmp(url, "redis://", 8) != 0) {
		snprintf(err, errlen, "\"%.80s\": want redis://HOST[:PORT][/DB] or unix:/PATH",
		    url);
		return 0;
	}
	if (strchr(url + 8, '@') != NULL || strchr(url + 8, '?') != NULL) {
		snprintf(err, errlen, "\"%.80s\": user names, passwords and options are not "
		    "supported", url);
		return 0;
	}
	if (!parse_host(url + 8, t, &p)) {
		snprintf(err, errlen, "\"%.80s\": bad host (an IPv4 address, [IPv6] or a host "
		    "name)", url);
		return 0;
	}
	slash = p + strcspn(p, "/");
	if (*p == ':' && !parse_number(p + 1, (size_t)(slash - p - 1), 65535, &t->port)) {
		snprintf(err, errlen, "\"%.80s\": bad port", url);
		return 0;
	}
	if ((*p != ':' && p != slash) || t->port == 0) {
		snprintf(err, errlen, "\"%.80s\": bad port", url);
		return 0;
	}
	if (*slash == '/' && !parse_number(slash + 1, strlen(slash + 1), DB_MAX, &t->db)) {
		snprintf(err, errlen, "\"%.80s\": bad database number (0 to %d)", url, DB_MAX);
		return 0;
	}
	return 1;
}

void	redis_target_where(const struct redis_target *t, char *out, size_t size)
{
	if (t->unix_socket)
		snprintf(out, size, "%s", t->path);
	else
		snprintf(out, size, strchr(t->host, ':') ? "[%s]:%u" : "%s:%u", t->host, t->port);
}

/* ---- a connection ------------------------------------------------------------------- */

void	redisconn_broken(const redisContext *ctx, const char *where, unsigned timeout_ms,
    char *err, size_t errlen)
{
	if (ctx->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK))
		snprintf(err, errlen, "redis %s: no answer within %u ms", where, timeout_ms);
	else
		snprintf(err, errlen, "redis %s: %s", where, ctx->errstr[0] ? ctx->errstr :
		    "no reply");
}

enum redisconn_outcome redisconn_command(redisContext *ctx, const char *where,
    unsigned timeout_ms, int argc, const char **argv, const size_t *lens, redisReply **reply,
    char *err, size_t errlen)
{
	redisReply *got = redisCommandArgv(ctx, argc, argv, lens);

	*reply = NULL;
	if (got == NULL) {
		redisconn_broken(ctx, where, timeout_ms, err, errlen);
		return REDISCONN_BROKEN;
	}
	if (got->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "redis %s: %.*s", where, (int)(got->len < 120 ?
		    got->len : 120), got->str);
		freeReplyObject(got);
		return REDISCONN_REFUSED;
	}
	*reply = got;
	return REDISCONN_DONE;
}

redisContext *redisconn_open(const struct redis_target *t, const char *where,
    unsigned timeout_ms, char *err, size_t errlen)
{
	struct timeval timeout = {(time_t)(timeout_ms / 1000),
	    (suseconds_t)(timeout_ms % 1000) * 1000};
	redisContext *ctx = t->unix_socket ? redisConnectUnixWithTimeout(t->path, timeout) :
	    redisConnectWithTimeout(t->host, (int)t->port, timeout);
	redisReply *reply;

	if (ctx == NULL || ctx->err) {
		snprintf(err, errlen, "redis %s: cannot connect: %s", where, ctx != NULL ?
		    ctx->errstr : "out of memory");
		if (ctx != NULL)
			redisFree(ctx);
		return NULL;
	}
	if (redisSetTimeout(ctx, timeout) != REDIS_OK) {
		snprintf(err, errlen, "redis %s: cannot set the timeout", where);
		redisFree(ctx);
		return NULL;
	}
	if (t->db != 0) {
		char	db[16];
		const char *argv[] = {"SELECT", db};
		size_t	lens[] = {6, (size_t)snprintf(db, sizeof(db), "%u", t->db)};

		if (redisconn_command(ctx, where, timeout_ms, 2, argv, lens, &reply, err,
		    errlen) != REDISCONN_DONE) {
			redisFree(ctx);
			return NULL;
		}
		freeReplyObject(reply);
	}
	return ctx;
}

int	redisconn_stale(const redisContext *ctx)
{
	return ctx->err == REDIS_ERR_EOF ||
	    (ctx->err == REDIS_ERR_IO && (errno == ECONNRESET || errno == EPIPE));
}
