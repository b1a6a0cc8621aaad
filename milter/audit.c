/*
 * NAME
 *	audit.c - the audit line of an authenticated submission, to syslog and a JSON file
 * DESCRIPTION
 *	See audit.h.  A line is built whole in a buffer of AUDIT_LINE_MAX bytes; the peer's
 *	strings in it (From, Message-ID) are cut to AUDIT_FIELD_MAX bytes first, so a line
 *	always fits.  A failed write to the file is logged once per runtime, not per line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/printable.h"
#include "milter/audit.h"

#define AUDIT_FIELD_MAX	512
#define AUDIT_LINE_MAX	(16 * AUDIT_FIELD_MAX)

struct audit {
	int	fd;
	char   *path;
	atomic_int write_failed;
};

struct audit *audit_open(const char *path, char *err, size_t errlen)
{
	struct audit *a = calloc(1, sizeof(*a));

	if (a == NULL || (a->path = strdup(path)) == NULL) {
		free(a);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) < 0) {
		snprintf(err, errlen, "AuditLog %s: %s", path, strerror(errno));
		free(a->path);
		free(a);
		return NULL;
	}
	atomic_init(&a->write_failed, 0);
	return a;
}

void	audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	close(a->fd);
	free(a->path);
	free(a);
}

/* Appends s as a JSON string, quotes included; 0 when out is full. */
static int json_string(char *out, size_t size, size_t *used, const char *s)
{
	size_t	n = 0;

	if (*used + 1 >= size)
		return 0;
	out[(*used)++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p && n < AUDIT_FIELD_MAX;
	    p++, n++) {
		char	esc[8];
		size_t	len;

		if (*p == '"' || *p == '\\')
			len = (size_t)snprintf(esc, sizeof(esc), "\\%c", *p);
		else if (*p < 0x20 || *p > 0x7e)
			len = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", *p);
		else {
			esc[0] = (char)*p;
			len = 1;
		}
		if (*used + len + 1 >= size)
			return 0;
		memcpy(out + *used, esc, len);
		*used += len;
	}
	if (*used + 1 >= size)
		return 0;
	out[(*used)++] = '"';
	out[*used] = '\0';
	return 1;
}

static int append(char *out, size_t size, size_t *used, const char *text)
{
	size_t	len = strlen(text);

	if (*used + len + 1 >= size)
		return 0;
	memcpy(out + *used, text, len + 1);
	*used += len;
	return 1;
}

int	audit_json(const struct audit_record *rec, char *out, size_t size)
{
	static const char *const names[] = {"user", "mechanism", "client", "tls_version",
	    "cipher", "from"};
	const char *values[] = {rec->user, rec->mechanism, rec->client, rec->tls_version,
	    rec->cipher, rec->from};
	char	stamp[32], number[32];
	struct tm tm;
	size_t	used = 0;
	int	ok;

	gmtime_r(&rec->time, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	ok = append(out, size, &used, "{\"time\":") && json_string(out, size, &used, stamp);
	for (size_t i = 0; ok && i < sizeof(names) / sizeof(names[0]); i++)
		ok = append(out, size, &used, ",\"") && append(out, size, &used, names[i]) &&
		    append(out, size, &used, "\":") &&
		    json_string(out, size, &used, values[i] ? values[i] : "");
	snprintf(number, sizeof(number), ",\"recipients\":%u", rec->recipients);
	return ok && append(out, size, &used, number) &&
	    append(out, size, &used, ",\"message_id\":") &&
	    json_string(out, size, &used, rec->message_id ? rec->message_id : "") &&
	    append(out, size, &used, ",\"queue_id\":") &&
	    json_string(out, size, &used, rec->queue_id) &&
	    append(out, size, &used, ",\"verdict\":") &&
	    json_string(out, size, &used, rec->verdict) && append(out, size, &used, "}\n");
}

/* A peer's value for the syslog line: printable, cut, "-" when empty. */
static const char *log_value(char *out, size_t size, const char *text)
{
	if (text == NULL || *text == '\0')
		return "-";
	(void)printable_copy(out, size, text, "\"");
	return out;
}

void	audit_write(struct audit *a, const struct audit_record *rec)
{
	char	user[AUDIT_FIELD_MAX], mech[64], tls[64], cipher[128], from[AUDIT_FIELD_MAX],
		msgid[AUDIT_FIELD_MAX];

	log_msg(LOG_LEVEL_INFO, "%s: audit: user=\"%s\" mechanism=%s client=%s tls=%s "
	    "cipher=%s from=\"%s\" recipients=%u message-id=\"%s\" verdict=\"%s\"",
	    rec->queue_id, log_value(user, sizeof(user), rec->user),
	    log_value(mech, sizeof(mech), rec->mechanism), rec->client,
	    log_value(tls, sizeof(tls), rec->tls_version),
	    log_value(cipher, sizeof(cipher), rec->cipher),
	    log_value(from, sizeof(from), rec->from), rec->recipients,
	    log_value(msgid, sizeof(msgid), rec->message_id), rec->verdict);
	if (a == NULL)
		return;

	char	line[AUDIT_LINE_MAX];

	if (!audit_json(rec, line, sizeof(line)))
		return;		/* cannot happen: fields are cut to fit */
	size_t	len = strlen(line);

	if (write(a->fd, line, len) != (ssize_t)len && atomic_exchange(&a->write_failed, 1) == 0)
		log_msg(LOG_LEVEL_ERROR, "AuditLog %s: write failed: %s", a->path,
		    strerror(errno));
}
