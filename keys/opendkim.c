/*
 * NAME
 *	opendkim.c - read an OpenDKIM KeyTable, SigningTable and opendkim.conf, for
 *	"signet-keys import-opendkim"
 * SYNOPSIS
 *	#include "keys/opendkim.h"
 *
 *	int odkim_plan(const struct odkim_key *keys, size_t nkeys,
 *	    const struct odkim_sign *signs, size_t nsigns, int refile,
 *	    const char *key_path, const char *sign_path, struct odkim_plan *out);
 * DESCRIPTION
 *	All three files are lines of "NAME VALUE" (white space between, '#' starts a
 *	comment, blank lines ignored), as opendkim(8) reads them.  Lines are at most
 *	LINE_MAX_LEN bytes; a longer one is an error rather than silently cut.
 *
 *	The plan walks the SigningTable in order, as OpenDKIM does (first match wins):
 *	each entry whose pattern is one whole domain ("example.com", "@example.com",
 *	"*@example.com") and whose key name is in the KeyTable gives one import.  The
 *	KeyTable's domain must be "%" (the matched domain) or that domain itself: OpenDKIM
 *	signs with d= the KeyTable's domain, Signet with d= the author's, so a key kept
 *	for d=other.example is not what the matched domain's DNS publishes.  The same
 *	(domain, selector) twice is imported once; a key used for several domains through
 *	"%" is imported once per domain.  KeyTable entries no pattern uses are reported.
 * SEE ALSO
 *	opendkim.conf(5), keytool-import.c
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keys/opendkim.h"
#include "lib/grow.h"

#define LINE_MAX_LEN	4096

/* ---- lines ------------------------------------------------------------------------- */

struct reader {
	FILE   *fp;
	const char *path;
	unsigned line;
	char	buf[LINE_MAX_LEN + 2];
};

/* The next "NAME VALUE" line: 1 with *name and *value (value "" if none), 0 at the end,
 * -1 with err filled. */
static int
next_line(struct reader *r, char **name, char **value, char *err, size_t errlen)
{
	char *p, *end;
	size_t len;

	while (fgets(r->buf, sizeof(r->buf), r->fp) != NULL) {
		r->line++;
		len = strlen(r->buf);
		if (len == sizeof(r->buf) - 1 && r->buf[len - 1] != '\n') {
			snprintf(err, errlen, "%s:%u: line longer than %d bytes", r->path, r->line,
			    LINE_MAX_LEN);
			return -1;
		}
		if ((p = strchr(r->buf, '#')) != NULL)
			*p = '\0';
		for (p = r->buf; isspace((unsigned char)*p); p++)
			continue;
		for (end = p + strlen(p); end > p && isspace((unsigned char)end[-1]); end--)
			continue;
		*end = '\0';
		if (*p == '\0')
			continue;
		*name = p;
		while (*p != '\0' && !isspace((unsigned char)*p))
			p++;
		if (*p != '\0')
			*p++ = '\0';
		while (isspace((unsigned char)*p))
			p++;
		*value = p;
		return 1;
	}
	if (ferror(r->fp)) {
		snprintf(err, errlen, "cannot read %s: %s", r->path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
open_reader(struct reader *r, const char *path, char *err, size_t errlen)
{
	r->path = path;
	r->line = 0;
	if ((r->fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
copy(char *out, size_t size, const char *in)
{
	return (size_t)snprintf(out, size, "%s", in) < size ? 0 : -1;
}

/* ---- opendkim.conf ----------------------------------------------------------------- */

int
odkim_table_path(const char *value, char *path, size_t size, int *refile)
{
	const char *colon = strchr(value, ':');

	*refile = 0;
	if (strncmp(value, "refile:", 7) == 0) {
		*refile = 1;
		value += 7;
	} else if (strncmp(value, "file:", 5) == 0) {
		value += 5;
	} else if (colon != NULL && value[0] != '/') {
		return -1;
	}
	return value[0] == '\0' ? -1 : copy(path, size, value);
}

static int
config_value(struct odkim_config *c, const char *name, const char *value)
{
	int refile;

	if (strcasecmp(name, "KeyTable") == 0)
		return odkim_table_path(value, c->key_table, sizeof(c->key_table), &refile);
	if (strcasecmp(name, "SigningTable") == 0)
		return odkim_table_path(value, c->signing_table, sizeof(c->signing_table),
		    &c->signing_refile);
	if (strcasecmp(name, "Domain") == 0)
		return copy(c->domain, sizeof(c->domain), value);
	if (strcasecmp(name, "Selector") == 0)
		return copy(c->selector, sizeof(c->selector), value);
	if (strcasecmp(name, "KeyFile") == 0)
		return copy(c->key_file, sizeof(c->key_file), value);
	return 0;
}

int
odkim_read_config(const char *path, struct odkim_config *out, char *err, size_t errlen)
{
	struct reader r;
	char *name, *value;
	int rc;

	memset(out, 0, sizeof(*out));
	if (open_reader(&r, path, err, errlen) < 0)
		return -1;
	while ((rc = next_line(&r, &name, &value, err, errlen)) == 1) {
		if (config_value(out, name, value) < 0) {
			snprintf(err, errlen, "%s:%u: %s \"%s\": only plain files, file: and "
			    "refile: can be imported", path, r.line, name, value);
			rc = -1;
			break;
		}
	}
	fclose(r.fp);
	return rc;
}

/* ---- tables ------------------------------------------------------------------------ */

/* "DOMAIN:SELECTOR:KEYFILE" into k; the key file may itself hold colons. */
static int
key_value(const char *value, struct odkim_key *k)
{
	const char *c1 = strchr(value, ':'), *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
	size_t dlen, slen;

	if (c1 == NULL || c2 == NULL)
		return -1;
	dlen = (size_t)(c1 - value);
	slen = (size_t)(c2 - c1 - 1);
	/* KEYFILE is required: "k %:sel:" once planned an import of key file "" (found by
	 * make fuzz, tests/fuzz/corpus/opendkim/keytable-empty-keyfile). */
	if (dlen == 0 || dlen >= sizeof(k->domain) || slen == 0 || slen >= sizeof(k->selector)
	    || c2[1] == '\0')
		return -1;
	memcpy(k->domain, value, dlen);
	k->domain[dlen] = '\0';
	memcpy(k->selector, c1 + 1, slen);
	k->selector[slen] = '\0';
	return copy(k->path, sizeof(k->path), c2 + 1);
}

/* One table line into the zeroed element elem; -1 when the line is not what the table
 * holds. */
typedef int (*line_parser)(void *elem, unsigned line, const char *name, const char *value);

/* Every line of the table at path, each parsed into a size-byte element of a new array
 * (*out, *count); -1 with err filled, saying the line should be "want", when one fails. */
static int
read_table(const char *path, size_t size, line_parser parse, const char *want, void **out,
    size_t *count, char *err, size_t errlen)
{
	char *table = NULL, *grown;
	size_t n = 0, alloc = 0;
	struct reader r;
	char *name, *value;
	int rc;

	if (open_reader(&r, path, err, errlen) < 0)
		return -1;
	while ((rc = next_line(&r, &name, &value, err, errlen)) == 1) {
		if ((grown = array_grow(table, &alloc, n + 1, size)) == NULL) {
			snprintf(err, errlen, "out of memory reading %s", path);
			rc = -1;
			break;
		}
		table = grown;
		memset(table + n * size, 0, size);
		if (parse(table + n * size, r.line, name, value) < 0) {
			snprintf(err, errlen, "%s:%u: want \"%s\"", path, r.line, want);
			rc = -1;
			break;
		}
		n++;
	}
	fclose(r.fp);
	if (rc < 0) {
		free(table);
		return -1;
	}
	*out = table;
	*count = n;
	return 0;
}

static int
key_line(void *elem, unsigned line, const char *name, const char *value)
{
	struct odkim_key *k = elem;

	k->line = line;
	if (copy(k->name, sizeof(k->name), name) < 0)
		return -1;
	return key_value(value, k);
}

static int
sign_line(void *elem, unsigned line, const char *name, const char *value)
{
	struct odkim_sign *s = elem;

	s->line = line;
	if (copy(s->pattern, sizeof(s->pattern), name) < 0
	    || value[0] == '\0' || strpbrk(value, " \t") != NULL)
		return -1;
	return copy(s->keyname, sizeof(s->keyname), value);
}

int
odkim_read_keytable(const char *path, struct odkim_key **out, size_t *count, char *err,
    size_t errlen)
{
	void *keys;

	if (read_table(path, sizeof(**out), key_line, "NAME DOMAIN:SELECTOR:KEYFILE", &keys,
	    count, err, errlen) < 0)
		return -1;
	*out = keys;
	return 0;
}

int
odkim_read_signingtable(const char *path, struct odkim_sign **out, size_t *count, char *err,
    size_t errlen)
{
	void *signs;

	if (read_table(path, sizeof(**out), sign_line, "PATTERN KEYNAME", &signs, count, err,
	    errlen) < 0)
		return -1;
	*out = signs;
	return 0;
}

/* ---- patterns ---------------------------------------------------------------------- */

int
odkim_pattern_domain(const char *pattern, int refile, char *out, size_t size, char *why,
    size_t whylen)
{
	const char *at = strrchr(pattern, '@'), *domain = pattern;

	if (at != NULL) {
		if (at != pattern && !(refile && at == pattern + 1 && pattern[0] == '*')) {
			snprintf(why, whylen, "signs for one address only; Signet signs all mail "
			    "of a domain");
			return -1;
		}
		domain = at + 1;
	}
	if (strpbrk(domain, "*?[]") != NULL || domain[0] == '.') {
		snprintf(why, whylen, "matches many domains; import each domain by name "
		    "(Signet keeps keys per domain)");
		return -1;
	}
	if (keystore_domain_normalize(domain, out, size) < 0) {
		snprintf(why, whylen, "\"%s\" is not a domain name", domain);
		return -1;
	}
	return 0;
}

/* ---- the plan ---------------------------------------------------------------------- */

static struct odkim_item *
plan_add(struct odkim_plan *plan, size_t *alloc, const char *file, unsigned line)
{
	struct odkim_item *grown, *it;

	if ((grown = array_grow(plan->items, alloc, plan->count + 1, sizeof(*grown))) == NULL)
		return NULL;
	plan->items = grown;
	it = &plan->items[plan->count++];
	memset(it, 0, sizeof(*it));
	snprintf(it->where, sizeof(it->where), "%s:%u", file, line);
	return it;
}

static const struct odkim_key *
find_key(const struct odkim_key *keys, size_t nkeys, const char *name)
{
	size_t i;

	for (i = 0; i < nkeys; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int
planned(const struct odkim_plan *plan, const char *domain, const char *selector)
{
	size_t i;

	for (i = 0; i < plan->count; i++)
		if (plan->items[i].why[0] == '\0' && strcmp(plan->items[i].domain, domain) == 0
		    && strcasecmp(plan->items[i].selector, selector) == 0)
			return 1;
	return 0;
}

/* Fills it from one SigningTable entry. */
static void
plan_entry(struct odkim_item *it, const struct odkim_sign *s, const struct odkim_key *k,
    int refile)
{
	char norm[KEYSTORE_DOMAIN_MAX + 1];

	copy(it->domain, sizeof(it->domain), s->pattern);
	if (odkim_pattern_domain(s->pattern, refile, it->domain, sizeof(it->domain), it->why,
	    sizeof(it->why)) < 0)
		return;
	if (k == NULL) {
		snprintf(it->why, sizeof(it->why), "no KeyTable entry \"%s\"", s->keyname);
		return;
	}
	copy(it->selector, sizeof(it->selector), k->selector);
	copy(it->path, sizeof(it->path), k->path);
	if (!keystore_selector_valid(k->selector)) {
		snprintf(it->why, sizeof(it->why), "selector \"%s\" is not valid", k->selector);
		return;
	}
	if (strcmp(k->domain, "%") != 0 && (keystore_domain_normalize(k->domain, norm,
	    sizeof(norm)) < 0 || strcmp(norm, it->domain) != 0))
		snprintf(it->why, sizeof(it->why), "OpenDKIM signs this with d=%s (KeyTable "
		    "entry \"%s\"); Signet signs with the author's domain, whose DNS has no "
		    "such key: give %s a key of its own (signet-keys generate %s)", k->domain,
		    k->name, it->domain, it->domain);
}

static int
plan_unused(const struct odkim_key *keys, size_t nkeys, const struct odkim_sign *signs,
    size_t nsigns, const char *key_path, struct odkim_plan *out, size_t *alloc)
{
	struct odkim_item *it;
	size_t i, j;

	for (i = 0; i < nkeys; i++) {
		for (j = 0; j < nsigns && strcmp(signs[j].keyname, keys[i].name) != 0; j++)
			continue;
		if (j < nsigns)
			continue;
		if ((it = plan_add(out, alloc, key_path, keys[i].line)) == NULL)
			return -1;
		copy(it->domain, sizeof(it->domain), keys[i].domain);
		copy(it->selector, sizeof(it->selector), keys[i].selector);
		snprintf(it->why, sizeof(it->why), "KeyTable entry \"%s\" is not used by the "
		    "SigningTable", keys[i].name);
	}
	return 0;
}

int
odkim_plan(const struct odkim_key *keys, size_t nkeys, const struct odkim_sign *signs,
    size_t nsigns, int refile, const char *key_path, const char *sign_path,
    struct odkim_plan *out)
{
	struct odkim_item entry, *it;
	size_t i, alloc = 0;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < nsigns; i++) {
		memset(&entry, 0, sizeof(entry));
		plan_entry(&entry, &signs[i], find_key(keys, nkeys, signs[i].keyname), refile);
		if (entry.why[0] == '\0' && planned(out, entry.domain, entry.selector))
			continue;	/* the same domain and selector again: once is enough */
		if ((it = plan_add(out, &alloc, sign_path, signs[i].line)) == NULL) {
			odkim_plan_free(out);
			return -1;
		}
		memcpy(it->domain, entry.domain, sizeof(it->domain));
		memcpy(it->selector, entry.selector, sizeof(it->selector));
		memcpy(it->path, entry.path, sizeof(it->path));
		memcpy(it->why, entry.why, sizeof(it->why));
	}
	if (plan_unused(keys, nkeys, signs, nsigns, key_path, out, &alloc) < 0) {
		odkim_plan_free(out);
		return -1;
	}
	return 0;
}

int
odkim_plan_single(const struct odkim_config *conf, const char *conf_path,
    struct odkim_plan *out)
{
	char list[sizeof(conf->domain)], *p, *end;
	struct odkim_item *it;
	size_t alloc = 0;

	memset(out, 0, sizeof(*out));
	copy(list, sizeof(list), conf->domain);
	for (p = list; *p != '\0'; p = end) {
		for (end = p; *end != '\0' && *end != ',' && !isspace((unsigned char)*end); end++)
			continue;
		if (*end != '\0')
			*end++ = '\0';
		if (*p == '\0')
			continue;
		if ((it = plan_add(out, &alloc, conf_path, 0)) == NULL) {
			odkim_plan_free(out);
			return -1;
		}
		copy(it->selector, sizeof(it->selector), conf->selector);
		copy(it->path, sizeof(it->path), conf->key_file);
		if (keystore_domain_normalize(p, it->domain, sizeof(it->domain)) < 0) {
			copy(it->domain, sizeof(it->domain), "-");
			snprintf(it->why, sizeof(it->why), "Domain \"%s\" is not a domain name (a "
			    "file or data set of domains cannot be imported)", p);
		} else if (!keystore_selector_valid(conf->selector)) {
			snprintf(it->why, sizeof(it->why), "Selector \"%s\" is not valid",
			    conf->selector);
		}
	}
	return 0;
}

void
odkim_plan_free(struct odkim_plan *plan)
{
	free(plan->items);
	plan->items = NULL;
	plan->count = 0;
}
