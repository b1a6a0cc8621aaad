/*
 * NAME
 *	usertable.c - read, sort and search a table file of one line per user (usertable.h)
 */
#define _GNU_SOURCE		/* qsort_r(3): the keys are offsets into one block */
#include <stdlib.h>
#include <string.h>

#include "lib/grow.h"
#include "milter/mailuser.h"
#include "milter/usertable.h"

#define BLANKS	" \t"

char   *usertable_word(char **rest)
{
	char   *p = *rest + strspn(*rest, BLANKS);
	size_t	len;

	if (*p == '\0' || *p == '#') {
		*rest = p + strlen(p);
		return NULL;
	}
	len = strcspn(p, BLANKS);
	*rest = p + len + (p[len] != '\0');
	p[len] = '\0';
	return p;
}

static int add(struct usertable *t, const char *key, unsigned line, size_t value)
{
	struct usertable_entry *grown = array_grow(t->entries, &t->cap, t->count + 1,
	    sizeof(*grown));
	size_t	at = t->names.len;

	if (grown == NULL)
		return 0;
	t->entries = grown;
	if (!buffer_append(&t->names, key, strlen(key) + 1))
		return 0;
	t->entries[t->count].key = at;
	t->entries[t->count].value = value;
	t->entries[t->count].line = line;
	t->count++;
	return 1;
}

/* One line: 1 when it was blank, a comment or handled, else 0 with err set. */
static int read_line(struct usertable *t, const struct linefile *lf, char *text,
    usertable_line_fn line, void *context, char *err, size_t errlen)
{
	char	key[MAILUSER_MAX + 1];
	char   *user = usertable_word(&text);
	size_t	value = 0;
	int	r;

	if (user == NULL)
		return 1;
	if ((r = line(context, lf, user, text, &value, err, errlen)) <= 0)
		return r == 0;
	if (!mailuser_key(user, key, sizeof(key))) {
		linefile_fail(lf, err, errlen, "\"%.80s\" is not a user name", user);
		return 0;
	}
	if (!add(t, key, lf->line, value)) {
		linefile_fail(lf, err, errlen, "out of memory");
		return 0;
	}
	return 1;
}

/* By key, then by line, so that the first of equal keys is the one met first. */
static int entry_order(const void *a, const void *b, void *names)
{
	const struct usertable_entry *x = a, *y = b;
	int	c = strcmp((const char *)names + x->key, (const char *)names + y->key);

	if (c != 0)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Sorts; 1, or 0 with err naming the earliest line that lists a user again. */
static int sort_users(struct usertable *t, const struct linefile *lf, char *err, size_t errlen)
{
	const struct usertable_entry *dup = NULL, *first = NULL;
	size_t	group = 0;

	if (t->count == 0)
		return 1;
	qsort_r(t->entries, t->count, sizeof(*t->entries), entry_order, t->names.data);
	for (size_t i = 1; i < t->count; i++) {
		if (strcmp(t->names.data + t->entries[i].key,
		    t->names.data + t->entries[group].key) != 0) {
			group = i;
		} else if (dup == NULL || t->entries[i].line < dup->line) {
			dup = &t->entries[i];
			first = &t->entries[group];
		}
	}
	if (dup == NULL)
		return 1;
	linefile_fail_at(lf, dup->line, err, errlen, "user \"%.80s\" listed again (first on "
	    "line %u)", t->names.data + dup->key, first->line);
	return 0;
}

int	usertable_load(struct usertable *t, const char *path, usertable_line_fn line,
    void *context, char *err, size_t errlen)
{
	struct linefile lf;
	char   *text;
	int	r, ok = 1;

	if (!linefile_open(&lf, path, err, errlen))
		return 0;
	while (ok && (r = linefile_next(&lf, &text, err, errlen)) != 0)
		ok = r > 0 && read_line(t, &lf, text, line, context, err, errlen);
	ok = ok && sort_users(t, &lf, err, errlen);
	linefile_close(&lf);
	return ok;
}

const struct usertable_entry *usertable_find(const struct usertable *t, const char *key)
{
	size_t	lo = 0, hi = t->count;

	while (lo < hi) {
		size_t	mid = lo + (hi - lo) / 2;
		int	c = strcmp(key, t->names.data + t->entries[mid].key);

		if (c == 0)
			return &t->entries[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

void	usertable_free(struct usertable *t)
{
	buffer_free(&t->names);
	free(t->entries);
	t->entries = NULL;
	t->count = t->cap = 0;
}
