/*
 * NAME
 *	keystore-meta.c - parse the .meta file of a key: algorithm, state, transitions
 * SYNOPSIS
 *	#include "keys/keystore.h"
 *	#include "keys/keystore-meta.h"
 *
 *	int keystore_meta_parse(const char *path, const char *text, size_t len,
 *	    struct keystore_key *key, struct keystore_error *err);
 *	int keystore_parse_time(const char *s, time_t *out);
 * DESCRIPTION
 *	A .meta file is "name value" lines of printable ASCII:
 *
 *	    algorithm rsa-2048
 *	    state active
 *	    transition pending 2026-11-27T07:21:00Z
 *	    transition active 2026-11-27T08:02:13Z
 *	    dns-match 2026-11-27T07:40:02Z
 *	    uri pkcs11:token=signet;id=example.com%2Fs1;object=example.com%2Fs1;type=private
 *
 *	uri is there only for a key on a PKCS#11 token; algorithm, state and uri appear once; the last transition must be to the current state.
 *	key->created is the first "pending" transition, key->since[STATE] the last
 *	transition to each state (0 when there is none).  dns-match, written by "signet-keys
 *	check", is the time the key's DNS record was first seen matching (0 when absent);
 *	the propagation rule of signet-keys(8) counts from it.  Blank lines and lines
 *	starting with '#' are ignored.
 * DIAGNOSTICS
 *	One sentence naming the file and line, e.g. "/k/example.com/s1.meta:3: unknown
 *	algorithm "rsa-1024"".
 * SEE ALSO
 *	keystore.c (reads the files), keystore-write.c (writes them)
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "keys/keystore.h"
#include "keys/keystore-meta.h"

#define META_LINE_MAX	(KEYSTORE_URI_MAX + 16)	/* bytes in one .meta line, without its newline */

static int
two_digits(const char *s, int *out)
{
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
		return -1;
	*out = (s[0] - '0') * 10 + (s[1] - '0');
	return 0;
}

int
keystore_parse_time(const char *s, time_t *out)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	struct tm tm;
	int c, y, mon, d, h, min, sec, leap;

	if (strlen(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':'
	    || s[16] != ':' || s[19] != 'Z')
		return -1;
	if (two_digits(s, &c) < 0 || two_digits(s + 2, &y) < 0 || two_digits(s + 5, &mon) < 0
	    || two_digits(s + 8, &d) < 0 || two_digits(s + 11, &h) < 0
	    || two_digits(s + 14, &min) < 0 || two_digits(s + 17, &sec) < 0)
		return -1;
	y += c * 100;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1970 || mon < 1 || mon > 12 || d < 1 || d > mdays[mon - 1]
	    || (mon == 2 && d == 29 && !leap) || h > 23 || min > 59 || sec > 59)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = min;
	tm.tm_sec = sec;
	*out = timegm(&tm);
	return 0;
}

struct meta_parse {
	const char *path;
	unsigned lineno;
	int	have_algorithm, have_state, have_transition;
	enum key_state last_transition;
};

/* Splits line (modified in place) at runs of blanks into at most max fields; returns
 * their number, or max + 1 when there are more. */
static size_t
split_fields(char *line, char **field, size_t max)
{
	size_t n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (*p == '\0')
			return n;
		if (n == max)
			return max + 1;
		field[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
	}
}

static int
meta_transition(struct meta_parse *mp, char **field, size_t n, struct keystore_key *key,
    struct keystore_error *err)
{
	enum key_state state;
	time_t when;

	if (n != 3) {
		keystore_error_set(err, "%s:%u: want \"transition STATE YYYY-MM-DDTHH:MM:SSZ\"",
		    mp->path, mp->lineno);
		return -1;
	}
	if (keystore_state_parse(field[1], &state) < 0) {
		keystore_error_set(err, "%s:%u: unknown state \"%s\"", mp->path, mp->lineno,
		    field[1]);
		return -1;
	}
	if (keystore_parse_time(field[2], &when) < 0) {
		keystore_error_set(err, "%s:%u: bad time \"%s\" (want UTC like "
		    "2026-11-27T07:21:00Z)", mp->path, mp->lineno, field[2]);
		return -1;
	}
	if (state == KEY_STATE_PENDING && key->created == 0)
		key->created = when;
	key->since[state] = when;
	mp->have_transition = 1;
	mp->last_transition = state;
	return 0;
}

static int
meta_dns_match(struct meta_parse *mp, char **field, size_t n, struct keystore_key *key,
    struct keystore_error *err)
{
	if (n != 2 || keystore_parse_time(field[1], &key->dns_match) < 0) {
		keystore_error_set(err, "%s:%u: want \"dns-match YYYY-MM-DDTHH:MM:SSZ\"",
		    mp->path, mp->lineno);
		return -1;
	}
	return 0;
}

/* The PKCS#11 URI of a token key; only its scheme is checked here (token.c reads it). */
static int
meta_uri(struct meta_parse *mp, char **field, size_t n, struct keystore_key *key,
    struct keystore_error *err)
{
	if (n != 2 || strncmp(field[1], "pkcs11:", 7) != 0) {
		keystore_error_set(err, "%s:%u: want \"uri pkcs11:...\"", mp->path, mp->lineno);
		return -1;
	}
	if (key->uri[0] != '\0') {
		keystore_error_set(err, "%s:%u: second uri line", mp->path, mp->lineno);
		return -1;
	}
	if (strlen(field[1]) > KEYSTORE_URI_MAX) {
		keystore_error_set(err, "%s:%u: uri longer than %d bytes", mp->path, mp->lineno,
		    KEYSTORE_URI_MAX);
		return -1;
	}
	snprintf(key->uri, sizeof(key->uri), "%s", field[1]);
	return 0;
}

static int
meta_line(struct meta_parse *mp, char *line, struct keystore_key *key,
    struct keystore_error *err)
{
	char *field[3];
	size_t n = split_fields(line, field, 3);

	if (n == 0 || field[0][0] == '#')
		return 0;
	if (strcmp(field[0], "transition") == 0)
		return meta_transition(mp, field, n, key, err);
	if (strcmp(field[0], "dns-match") == 0)
		return meta_dns_match(mp, field, n, key, err);
	if (strcmp(field[0], "uri") == 0)
		return meta_uri(mp, field, n, key, err);
	if (strcmp(field[0], "algorithm") != 0 && strcmp(field[0], "state") != 0) {
		keystore_error_set(err, "%s:%u: unknown name \"%s\"", mp->path, mp->lineno,
		    field[0]);
		return -1;
	}
	if (n != 2) {
		keystore_error_set(err, "%s:%u: want \"%s VALUE\"", mp->path, mp->lineno,
		    field[0]);
		return -1;
	}
	if (field[0][0] == 'a') {
		if (mp->have_algorithm++) {
			keystore_error_set(err, "%s:%u: second algorithm line", mp->path,
			    mp->lineno);
			return -1;
		}
		if (keystore_algorithm_parse(field[1], &key->algorithm) < 0) {
			keystore_error_set(err, "%s:%u: unknown algorithm \"%s\"", mp->path,
			    mp->lineno, field[1]);
			return -1;
		}
		return 0;
	}
	if (mp->have_state++) {
		keystore_error_set(err, "%s:%u: second state line", mp->path, mp->lineno);
		return -1;
	}
	if (keystore_state_parse(field[1], &key->state) < 0) {
		keystore_error_set(err, "%s:%u: unknown state \"%s\"", mp->path, mp->lineno,
		    field[1]);
		return -1;
	}
	return 0;
}

/* Copies one line of text into buf[META_LINE_MAX + 1], refusing long lines and bytes
 * that are not printable ASCII or tab; returns the offset of the next line or -1. */
static long
meta_next_line(struct meta_parse *mp, const char *text, size_t len, size_t at, char *buf,
    struct keystore_error *err)
{
	size_t end = at;

	while (end < len && text[end] != '\n')
		end++;
	if (end - at > META_LINE_MAX) {
		keystore_error_set(err, "%s:%u: line longer than %d bytes", mp->path,
		    mp->lineno, META_LINE_MAX);
		return -1;
	}
	memcpy(buf, text + at, end - at);
	buf[end - at] = '\0';
	for (size_t i = 0; i < end - at; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c != '\t' && (c < 0x20 || c > 0x7e)) {
			keystore_error_set(err, "%s:%u: unexpected byte 0x%02x", mp->path,
			    mp->lineno, c);
			return -1;
		}
	}
	return (long)(end < len ? end + 1 : end);
}

int
keystore_meta_parse(const char *path, const char *text, size_t len, struct keystore_key *key,
    struct keystore_error *err)
{
	struct meta_parse mp = { .path = path };
	char line[META_LINE_MAX + 1];
	size_t at = 0;
	long next;

	key->created = 0;
	key->dns_match = 0;
	key->uri[0] = '\0';
	memset(key->since, 0, sizeof(key->since));
	while (at < len) {
		mp.lineno++;
		if ((next = meta_next_line(&mp, text, len, at, line, err)) < 0)
			return -1;
		at = (size_t)next;
		if (meta_line(&mp, line, key, err) < 0)
			return -1;
	}
	if (!mp.have_algorithm || !mp.have_state) {
		keystore_error_set(err, "%s: no %s line", path,
		    mp.have_algorithm ? "state" : "algorithm");
		return -1;
	}
	if (mp.have_transition && mp.last_transition != key->state) {
		keystore_error_set(err, "%s: state is %s but the last transition is to %s",
		    path, keystore_state_name(key->state),
		    keystore_state_name(mp.last_transition));
		return -1;
	}
	return 0;
}

