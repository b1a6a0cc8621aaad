/*
 * NAME
 *	dkimhdr.c - a message's header fields as DKIM selects them, and the header hash
 * DESCRIPTION
 *	Fields are appended to one buffer as "name NUL value NUL" and remembered by offset
 *	(the buffer moves as it grows), so keeping a header costs one copy of its bytes and
 *	a few words a field.  The limit counts both.
 *
 *	Selection.  At the end of the header the fields are sorted by name (lower-cased,
 *	blanks before the colon dropped; ties by position), so the fields of one name form
 *	a run with the bottom-most last.  For each name h= lists, a binary search finds its
 *	run and a per-run count says how many of its fields this signature has taken: the
 *	next is the one above those.  A stranger's h= of 30,000 names over 30,000 fields
 *	then costs 30,000 searches, not 900 million comparisons.
 * SEE ALSO
 *	RFC 6376 section 3.7 (header hash) and 5.4.2 (fields taken bottom-up)
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "lib/alloc.h"
#include "milter/canon.h"
#include "milter/dkimhdr.h"

struct dkimhdr_field {
	size_t	name;			/* offsets in text */
	size_t	value;
	size_t	name_len;		/* without blanks before the colon */
};

struct dkimhdr_key {
	const char *name;
	size_t	len;
	size_t	field;
};

void	dkimhdr_init(struct dkimhdr *h, size_t max_bytes)
{
	memset(h, 0, sizeof(*h));
	h->max_bytes = max_bytes;
}

static size_t name_length(const char *name)
{
	size_t	len = strlen(name);

	while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t'))
		len--;
	return len;
}

enum dkimhdr_status dkimhdr_add(struct dkimhdr *h, const char *name, const char *value,
    int must_keep)
{
	size_t	name_len = strlen(name), value_len = strlen(value);
	size_t	cost = name_len + value_len + 2 + sizeof(struct dkimhdr_field) +
	    sizeof(struct dkimhdr_key);
	struct dkimhdr_field *f;

	if (h->full || cost > h->max_bytes - h->bytes) {
		h->full = 1;
		if (!must_keep)
			return DKIMHDR_FULL;
	}
	if (h->count == h->cap) {
		size_t	cap = h->cap ? h->cap * 2 : 32;

		if ((f = mem_realloc(h->fields, cap * sizeof(*f))) == NULL)
			return DKIMHDR_NOMEM;
		h->fields = f;
		h->cap = cap;
	}
	f = &h->fields[h->count];
	f->name = h->text.len;
	f->value = h->text.len + name_len + 1;
	f->name_len = name_length(name);
	if (!buffer_append(&h->text, name, name_len + 1) ||
	    !buffer_append(&h->text, value, value_len + 1))
		return DKIMHDR_NOMEM;
	h->count++;
	h->bytes += h->full ? 0 : cost;
	return DKIMHDR_OK;
}

const char *dkimhdr_name(const struct dkimhdr *h, size_t field)
{
	return h->text.data + h->fields[field].name;
}

const char *dkimhdr_value(const struct dkimhdr *h, size_t field)
{
	return h->text.data + h->fields[field].value;
}

/* Names without ASCII case, shorter first on a common prefix. */
static int compare_names(const char *a, size_t alen, const char *b, size_t blen)
{
	for (size_t i = 0; i < alen && i < blen; i++) {
		int	x = span_ascii_lower((unsigned char)a[i]), y = span_ascii_lower((unsigned char)b[i]);

		if (x != y)
			return x < y ? -1 : 1;
	}
	return alen < blen ? -1 : alen > blen;
}

static int compare_keys(const void *x, const void *y)
{
	const struct dkimhdr_key *a = x, *b = y;
	int	c = compare_names(a->name, a->len, b->name, b->len);

	return c != 0 ? c : a->field < b->field ? -1 : a->field > b->field;
}

int	dkimhdr_seal(struct dkimhdr *h)
{
	if (h->count == 0)
		return 1;
	if ((h->index = mem_malloc(h->count * sizeof(*h->index))) == NULL)
		return 0;
	for (size_t i = 0; i < h->count; i++) {
		h->index[i].name = dkimhdr_name(h, i);
		h->index[i].len = h->fields[i].name_len;
		h->index[i].field = i;
	}
	qsort(h->index, h->count, sizeof(*h->index), compare_keys);
	return 1;
}

void	dkimhdr_free(struct dkimhdr *h)
{
	buffer_free(&h->text);
	free(h->fields);
	free(h->index);
	memset(h, 0, sizeof(*h));
}

/* The first index entry above name (after == 1) or not below it (after == 0). */
static size_t search(const struct dkimhdr *h, struct span name, int after)
{
	size_t	lo = 0, hi = h->count;

	while (lo < hi) {
		size_t	mid = lo + (hi - lo) / 2;
		int	c = compare_names(h->index[mid].name, h->index[mid].len, name.p, name.len);

		if (c < 0 || (after && c == 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The field that name selects next, taken[] counting per run; -1 when none is left. */
static long select_field(const struct dkimhdr *h, struct span name, size_t *taken)
{
	size_t	start = search(h, name, 0), end = search(h, name, 1);

	if (taken[start] >= end - start)
		return -1;
	taken[start]++;
	return (long)h->index[end - taken[start]].field;
}

int	dkimhdr_hash_field(EVP_MD_CTX *md, struct buffer *line, enum canon_kind kind,
    const char *name, const char *value, const size_t *drop)
{
	struct buffer stripped = {0};
	int	ok;

	line->len = 0;
	if (drop == NULL)
		return header_canon(line, kind, name, value, 1) &&
		    EVP_DigestUpdate(md, line->data, line->len) == 1;
	ok = buffer_append(&stripped, value, drop[0]) &&
	    buffer_append_str(&stripped, value + drop[1]) &&
	    header_canon(line, kind, name, stripped.data, 0) &&
	    EVP_DigestUpdate(md, line->data, line->len) == 1;
	buffer_free(&stripped);
	return ok;
}

int	dkimhdr_hash(const struct dkimhdr *h, const struct dkimsig *sig, size_t field,
    unsigned char digest[DKIMHDR_HASH_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t *taken = mem_calloc(h->count + 1, sizeof(*taken));
	struct buffer line = {0};
	struct span list = sig->h;
	char	name[DKIMSIG_FIELD_NAME_MAX + 1];
	size_t	name_len;
	unsigned int len = 0;
	size_t	drop[2] = {sig->b_from, sig->b_to};
	int	ok = md != NULL && taken != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;

	while (ok && dkimsig_next_header(&list, name, &name_len)) {
		long	f = select_field(h, span_of(name, name_len), taken);

		if (f >= 0)
			ok = dkimhdr_hash_field(md, &line, sig->header_canon,
			    dkimhdr_name(h, (size_t)f), dkimhdr_value(h, (size_t)f), NULL);
	}
	ok = ok && dkimhdr_hash_field(md, &line, sig->header_canon, dkimhdr_name(h, field),
	    dkimhdr_value(h, field), drop) &&
	    EVP_DigestFinal_ex(md, digest, &len) == 1 && len == DKIMHDR_HASH_LEN;
	EVP_MD_CTX_free(md);
	free(taken);
	buffer_free(&line);
	return ok;
}
