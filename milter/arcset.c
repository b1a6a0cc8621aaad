/*
 * NAME
 *	arcset.c - a message's ARC header fields, grouped into ARC Sets and checked for shape
 * DESCRIPTION
 *	While the header arrives only the kind and position of each ARC field are noted (a
 *	few words each, at most ARCSET_MAX_FIELDS); the fields themselves stay in the
 *	header (dkimhdr.c) and are read once it has ended, when all of them are there:
 *	first each field's instance, then the sets.  Every rule is decided from the fields
 *	alone, before any key is looked up.
 *
 *	The instance of an AMS or AS comes from the same strict tag-list reading as the rest
 *	of the field (lib/taglist.c), so a field that is not a tag list has no instance, and
 *	the chain fails.  A field with a duplicate or missing instance makes the whole chain
 *	fail: ARC gives no way to tell which of two fields of one instance a sealer wrote.
 * SEE ALSO
 *	arcset.h, RFC 8617 sections 4.1, 4.2.1 and 5.2
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/alloc.h"
#include "lib/taglist.h"
#include "milter/arcset.h"

__attribute__((format(printf, 2, 3)))
static enum arcset_status invalid(struct arcset *arc, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(arc->reason, sizeof(arc->reason), fmt, ap);
	va_end(ap);
	return ARCSET_INVALID;
}

enum arcset_kind arcset_kind_of(const char *name)
{
	static const struct {
		const char *name;
		enum arcset_kind kind;
	} kinds[] = {
		{"ARC-Authentication-Results", ARCSET_AAR},
		{"ARC-Message-Signature", ARCSET_AMS},
		{"ARC-Seal", ARCSET_AS},
	};
	size_t	len = strlen(name);

	while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t'))
		len--;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (len == strlen(kinds[i].name) && strncasecmp(name, kinds[i].name, len) == 0)
			return kinds[i].kind;
	return ARCSET_NOT_ARC;
}

struct arcset *arcset_new(void)
{
	return mem_calloc(1, sizeof(struct arcset));
}

void	arcset_free(struct arcset *arc)
{
	free(arc);
}

int	arcset_note(struct arcset *arc, enum arcset_kind kind, size_t field)
{
	if (arc->count >= ARCSET_MAX_FIELDS) {
		arc->beyond++;
		return 0;
	}
	arc->fields[arc->count].kind = kind;
	arc->fields[arc->count].field = field;
	arc->fields[arc->count].instance = 0;
	arc->count++;
	return 1;
}

/* ---- instances ------------------------------------------------------------------------ */

/* position = 1*2DIGIT, 1 to 50 (RFC 8617 section 3.9 and 4.2.1); 0 when not. */
static unsigned read_position(const char *p, size_t len)
{
	unsigned n = 0;

	if (len < 1 || len > 2)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		n = n * 10 + (unsigned)(p[i] - '0');
	}
	return n >= 1 && n <= ARCSET_MAX_SETS ? n : 0;
}

/* Past CFWS (RFC 5322 section 3.2.2: blanks, folding, comments that may nest). */
static const char *skip_cfws(const char *p, const char *end)
{
	size_t	depth = 0;

	for (; p < end; p++) {
		if (depth > 0 && *p == '\\' && p + 1 < end)
			p++;
		else if (*p == '(')
			depth++;
		else if (depth > 0 && *p == ')')
			depth--;
		else if (depth == 0 && !strchr(" \t\r\n", *p))
			break;
	}
	return depth == 0 ? p : end;
}

/* arc-info = instance [CFWS] ";" authres-payload, instance = [CFWS] %s"i" [CFWS] "="
 * [CFWS] position (RFC 8617 section 4.1.1 and 3.9). */
static unsigned aar_instance(const char *value, struct span *payload)
{
	const char *p = value, *end = value + strlen(value), *digits;
	unsigned n;

	p = skip_cfws(p, end);
	if (p == end || *p++ != 'i')
		return 0;
	p = skip_cfws(p, end);
	if (p == end || *p++ != '=')
		return 0;
	p = skip_cfws(p, end);
	for (digits = p; p < end && *p >= '0' && *p <= '9'; p++)
		;
	if ((n = read_position(digits, (size_t)(p - digits))) == 0)
		return 0;
	p = skip_cfws(p, end);
	if (p == end || *p++ != ';')
		return 0;
	*payload = span_of(p, (size_t)(end - p));
	return n;
}

/* The i= of a tag list, 0 when the list is not valid or i= is not a position. */
static unsigned tag_instance(const char *value)
{
	struct tag tags[TAGLIST_MAX];
	const struct tag *t;
	size_t	count;
	char	err[8], i[8];

	if (!taglist_parse(value, strlen(value), TAGLIST_STRICT, tags, TAGLIST_MAX, &count,
	    err, sizeof(err)) || (t = taglist_find(tags, count, "i")) == NULL ||
	    !taglist_value_compact(t->value, i, sizeof(i)))
		return 0;
	return read_position(i, strlen(i));
}

static const char *kind_name(enum arcset_kind kind)
{
	return kind == ARCSET_AAR ? "ARC-Authentication-Results" :
	    kind == ARCSET_AMS ? "ARC-Message-Signature" : "ARC-Seal";
}

/* Each field's instance; the highest into *n. */
static enum arcset_status read_instances(struct arcset *arc, const struct dkimhdr *h,
    unsigned *n)
{
	*n = 0;
	for (size_t i = 0; i < arc->count; i++) {
		struct arcset_field *f = &arc->fields[i];
		const char *value = dkimhdr_value(h, f->field);
		struct span payload = {NULL, 0};

		f->instance = f->kind == ARCSET_AAR ? aar_instance(value, &payload) :
		    tag_instance(value);
		if (f->instance == 0)
			return invalid(arc, "%s field without a valid instance, i= 1 to 50",
			    kind_name(f->kind));
		if (f->kind == ARCSET_AAR)
			arc->set[f->instance - 1].payload = payload;
		if (f->instance > *n)
			*n = f->instance;
	}
	return ARCSET_VALID;
}

unsigned arcset_highest_instance(const struct arcset *arc, const struct dkimhdr *h)
{
	unsigned highest = 0;

	for (size_t i = 0; i < arc->count; i++) {
		const struct arcset_field *f = &arc->fields[i];
		struct span payload;
		unsigned n = f->kind == ARCSET_AAR ? aar_instance(dkimhdr_value(h, f->field),
		    &payload) : tag_instance(dkimhdr_value(h, f->field));

		if (n > highest)
			highest = n;
	}
	return highest;
}

/* ---- sets ----------------------------------------------------------------------------- */

static enum arcset_cv read_cv(const struct dkimhdr *h, size_t field, int *known)
{
	struct tag tags[TAGLIST_MAX];
	const struct tag *t;
	size_t	count;
	char	err[8];

	*known = 0;
	if (!taglist_parse(dkimhdr_value(h, field), strlen(dkimhdr_value(h, field)),
	    TAGLIST_STRICT, tags, TAGLIST_MAX, &count, err, sizeof(err)) ||
	    (t = taglist_find(tags, count, "cv")) == NULL)
		return ARCSET_CV_FAIL;
	*known = 1;
	/* chain-status = ("none" / "fail" / "pass"), case-insensitive (RFC 5234). */
	if (span_is_nocase(t->value, "none"))
		return ARCSET_CV_NONE;
	if (span_is_nocase(t->value, "pass"))
		return ARCSET_CV_PASS;
	*known = span_is_nocase(t->value, "fail");
	return ARCSET_CV_FAIL;
}

/* Exactly one field of each kind per instance 1..n. */
static enum arcset_status group(struct arcset *arc, unsigned n)
{
	static const size_t unset = (size_t)-1;

	for (unsigned i = 0; i < n; i++)
		arc->set[i].aar = arc->set[i].ams = arc->set[i].as = unset;
	for (size_t i = 0; i < arc->count; i++) {
		const struct arcset_field *f = &arc->fields[i];
		struct arcset_instance *set = &arc->set[f->instance - 1];
		size_t *slot = f->kind == ARCSET_AAR ? &set->aar : f->kind == ARCSET_AMS ?
		    &set->ams : &set->as;

		if (*slot != unset)
			return invalid(arc, "two %s fields of instance %u", kind_name(f->kind),
			    f->instance);
		*slot = f->field;
	}
	for (unsigned i = 0; i < n; i++) {
		const struct arcset_instance *set = &arc->set[i];
		const char *missing = set->aar == unset ? "ARC-Authentication-Results" :
		    set->ams == unset ? "ARC-Message-Signature" :
		    set->as == unset ? "ARC-Seal" : NULL;

		if (missing != NULL)
			return invalid(arc, "no %s field of instance %u", missing, i + 1);
	}
	return ARCSET_VALID;
}

/* The seals: each must read, cv= none at 1, pass above. */
static enum arcset_status read_seals(struct arcset *arc, const struct dkimhdr *h, unsigned n,
    time_t now)
{
	for (unsigned i = 0; i < n; i++) {
		struct arcset_instance *set = &arc->set[i];
		const char *value = dkimhdr_value(h, set->as);
		int	known;

		dkimsig_parse_kind(value, strlen(value), now, DKIMSIG_ARC_SEAL, &set->as_sig);
		if (set->as_sig.status != DKIMSIG_OK)
			return invalid(arc, "ARC-Seal i=%u: %s", i + 1, set->as_sig.reason);
		set->cv = read_cv(h, set->as, &known);
		if (!known)
			return invalid(arc, "ARC-Seal i=%u: cv= is not none, pass or fail", i + 1);
		if (set->cv == ARCSET_CV_FAIL)
			return invalid(arc, "ARC-Seal i=%u says cv=fail", i + 1);
		if (set->cv != (i == 0 ? ARCSET_CV_NONE : ARCSET_CV_PASS))
			return invalid(arc, "ARC-Seal i=%u says cv=%s", i + 1,
			    set->cv == ARCSET_CV_NONE ? "none" : "pass");
	}
	return ARCSET_VALID;
}

/* h= naming ARC-Seal (RFC 8617 section 4.1.2). */
static int signs_a_seal(const struct dkimsig *sig)
{
	struct span list = sig->h;
	char	name[DKIMSIG_FIELD_NAME_MAX + 1];
	size_t	len;

	while (dkimsig_next_header(&list, name, &len))
		if (strcasecmp(name, "ARC-Seal") == 0)
			return 1;
	return 0;
}

/* Every AMS read; only the newest one's failure fails the chain (step 4). */
static enum arcset_status read_message_signatures(struct arcset *arc,
    const struct dkimhdr *h, unsigned n, time_t now)
{
	for (unsigned i = 0; i < n; i++) {
		struct arcset_instance *set = &arc->set[i];
		const char *value = dkimhdr_value(h, set->ams);

		dkimsig_parse_kind(value, strlen(value), now, DKIMSIG_ARC_MESSAGE,
		    &set->ams_sig);
		if (set->ams_sig.status == DKIMSIG_OK && signs_a_seal(&set->ams_sig)) {
			set->ams_sig.status = DKIMSIG_PERMERROR;
			snprintf(set->ams_sig.reason, sizeof(set->ams_sig.reason),
			    "h= names ARC-Seal");
		}
	}
	if (arc->set[n - 1].ams_sig.status != DKIMSIG_OK)
		return invalid(arc, "ARC-Message-Signature i=%u: %s", n,
		    arc->set[n - 1].ams_sig.reason);
	return ARCSET_VALID;
}

enum arcset_status arcset_read(struct arcset *arc, const struct dkimhdr *h, time_t now)
{
	unsigned n;
	int	known;

	arc->sets = 0;
	arc->reason[0] = '\0';
	if (arc->count == 0 && arc->beyond == 0)
		return ARCSET_NONE;
	if (arc->beyond > 0)
		return invalid(arc, "more than %d ARC header fields (%d sets)",
		    ARCSET_MAX_FIELDS, ARCSET_MAX_SETS);
	if (read_instances(arc, h, &n) != ARCSET_VALID)
		return ARCSET_INVALID;
	/* Step 2: the newest seal says the chain failed before. */
	for (size_t i = 0; i < arc->count; i++)
		if (arc->fields[i].kind == ARCSET_AS && arc->fields[i].instance == n &&
		    read_cv(h, arc->fields[i].field, &known) == ARCSET_CV_FAIL && known)
			return invalid(arc, "ARC-Seal i=%u says cv=fail", n);
	if (group(arc, n) != ARCSET_VALID || read_seals(arc, h, n, now) != ARCSET_VALID ||
	    read_message_signatures(arc, h, n, now) != ARCSET_VALID)
		return ARCSET_INVALID;
	arc->sets = n;
	return ARCSET_VALID;
}
