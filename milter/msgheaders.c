/*
 * NAME
 *	msgheaders.c - header fields of one message, and the author domain from its From
 * DESCRIPTION
 *	The From parser reads an RFC 5322 address list in two passes.  The first copies the
 *	value with comments removed and each quoted string reduced to a placeholder, so that
 *	"@", "," and "<" inside them can no longer mislead the second pass, which splits
 *	mailboxes at commas (and group ":" / ";"), takes the angle address when there is one,
 *	and the domain after its last "@".  Everything is bounded by the value's length; an
 *	unterminated quote or comment simply ends the value.
 *
 *	A message is signed for one domain only: when the mailboxes of From name different
 *	domains the result is FROM_MIXED_DOMAINS and the message is not signed.  DMARC takes
 *	every distinct domain (RFC 9989 section 11.5 in the draft numbering), at most
 *	FROM_DOMAINS_MAX of them: a From naming more is FROM_TOO_MANY_DOMAINS, and only
 *	those kept are stored, whatever the field holds.  A mailbox
 *	with no usable domain (an IP literal, bytes that are not a valid IDN, a bare name)
 *	makes the whole field FROM_NO_DOMAIN even when another mailbox has one: a reader sees
 *	both, so judging the field by the one that parsed would let "ceo@bank.example\xc0,
 *	x@attacker.example" pass DMARC as attacker.example.  Empty list items do not count.
 *
 *	An internationalized domain (UTF-8 U-labels, RFC 6532) is turned into its A-label
 *	form with libidn2 (IDNA2008, as DNS and DMARC need it); bytes that are not valid
 *	UTF-8 or not a valid IDN leave the mailbox without a usable domain.
 */
#include <ctype.h>
#include <idn2.h>
#include <stdlib.h>
#include <string.h>

#include "lib/alloc.h"
#include "lib/grow.h"
#include <strings.h>

#include "milter/msgheaders.h"

#define NUMBER_(n)	#n
#define NUMBER(n)	NUMBER_(n)

enum msgheaders_status msgheaders_add(struct msgheaders *h, const char *name, const char *value)
{
	size_t	bytes = strlen(name) + strlen(value);

	if (h->count >= MSGHEADERS_MAX_FIELDS || bytes > MSGHEADERS_MAX_BYTES - h->total_bytes)
		return MSGHEADERS_TOO_MANY;
	struct msgheader *grown = array_grow(h->fields, &h->cap, h->count + 1, sizeof(*grown));

	if (grown == NULL)
		return MSGHEADERS_NOMEM;
	h->fields = grown;
	struct msgheader *f = &h->fields[h->count];
	if ((f->name = mem_strdup(name)) == NULL || (f->value = mem_strdup(value)) == NULL) {
		free(f->name);
		return MSGHEADERS_NOMEM;
	}
	h->count++;
	h->total_bytes += bytes;
	return MSGHEADERS_OK;
}

void	msgheaders_clear(struct msgheaders *h)
{
	for (size_t i = 0; i < h->count; i++) {
		free(h->fields[i].name);
		free(h->fields[i].value);
	}
	free(h->fields);
	memset(h, 0, sizeof(*h));
}

size_t	msgheaders_count_named(const struct msgheaders *h, const char *name)
{
	size_t	n = 0;

	for (size_t i = 0; i < h->count; i++)
		if (strcasecmp(h->fields[i].name, name) == 0)
			n++;
	return n;
}

const char *from_status_text(enum from_status status)
{
	switch (status) {
	case FROM_OK:
		return "ok";
	case FROM_MISSING:
		return "no From header field";
	case FROM_SEVERAL:
		return "several From header fields";
	case FROM_NO_DOMAIN:
		return "From has no usable domain";
	case FROM_MIXED_DOMAINS:
		return "From names mailboxes in different domains";
	case FROM_TOO_MANY_DOMAINS:
		return "From names more than " NUMBER(FROM_DOMAINS_MAX) " domains (DMARC evaluates at "
		    "most " NUMBER(FROM_DOMAINS_MAX) ")";
	case FROM_NOMEM:
		return "out of memory reading From";
	}
	return "?";
}

/* Copies value without comments, each quoted string as the single character mark. */
static char *strip_comments_marking_quotes(const char *value, char mark)
{
	char   *out = mem_malloc(strlen(value) + 1), *o = out;
	int	depth = 0;

	if (out == NULL)
		return NULL;
	for (const char *p = value; *p; p++) {
		if (depth > 0) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
			continue;
		}
		if (*p == '(') {
			depth = 1;
			*o++ = ' ';
		} else if (*p == '"') {
			for (p++; *p && *p != '"'; p++)
				if (*p == '\\' && p[1])
					p++;
			*o++ = mark;
			if (*p == '\0')
				break;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

static char *strip_comments_and_quotes(const char *value)
{
	return strip_comments_marking_quotes(value, 'q');
}

static int valid_domain(const char *d, size_t len)
{
	size_t	label = 0;

	if (len == 0 || len > 253)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0;
}

/* The domain of [d, d + len), lower case and in A-label form, into out; 0 if unusable. */
static int normalize_domain(const char *d, size_t len, char *out, size_t size)
{
	int	ascii = 1;
	char   *converted = NULL;
	char	utf8[256];

	for (size_t i = 0; i < len; i++)
		if ((unsigned char)d[i] >= 0x80)
			ascii = 0;
	if (!ascii) {
		if (len >= sizeof(utf8))
			return 0;
		memcpy(utf8, d, len);
		utf8[len] = '\0';
		if (idn2_to_ascii_8z(utf8, &converted, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT) !=
		    IDN2_OK)
			return 0;
		d = converted;
		len = strlen(converted);
	}
	int	ok = valid_domain(d, len) && len < size;
	if (ok) {
		for (size_t i = 0; i < len; i++)
			out[i] = (char)tolower((unsigned char)d[i]);
		out[len] = '\0';
	}
	idn2_free(converted);
	return ok;
}

/* One mailbox from the cleaned text [start, end): 1 with its domain in out, 0 if none. */
static int mailbox_domain(const char *start, const char *end, char *out, size_t size)
{
	const char *lt = memchr(start, '<', (size_t)(end - start));
	const char *at = NULL;

	if (lt) {
		const char *gt = memchr(lt, '>', (size_t)(end - lt));

		if (gt == NULL)
			return 0;
		start = lt + 1;
		end = gt;
	}
	for (const char *p = start; p < end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL)
		return 0;
	const char *d = at + 1;
	while (d < end && isspace((unsigned char)*d))
		d++;
	while (end > d && isspace((unsigned char)end[-1]))
		end--;
	if (end > d && end[-1] == '.')
		end--;			/* a trailing root dot names the same domain */
	return normalize_domain(d, (size_t)(end - d), out, size);
}

static int blank(const char *start, const char *end)
{
	for (; start < end; start++)
		if (!isspace((unsigned char)*start))
			return 0;
	return 1;
}

enum from_status from_value_domain(const char *value, char *domain, size_t size)
{
	size_t	mailboxes;

	return from_value_parse(value, domain, size, &mailboxes);
}

/* Keeps domain if it is new and there is room; notes a new one past the room. */
static void add_domain(struct from_domains *out, const char *domain)
{
	for (size_t i = 0; i < out->count; i++)
		if (strcmp(out->domain[i], domain) == 0)
			return;
	if (out->count == FROM_DOMAINS_MAX) {
		out->over = 1;
		return;
	}
	memcpy(out->domain[out->count++], domain, strlen(domain) + 1);
}

enum from_status from_value_domains(const char *value, struct from_domains *out)
{
	char   *clean = strip_comments_and_quotes(value);
	char	this[FROM_DOMAIN_SIZE];
	int	unusable = 0;		/* a mailbox without a usable domain was seen */
	int	angle = 0;		/* the current item has a "<" so far */

	memset(out, 0, sizeof(*out));
	if (clean == NULL)
		return FROM_NOMEM;
	for (char *p = clean, *item = clean;; p++) {
		if (*p == '<')
			angle = 1;
		if (*p == ':' && !angle) {
			item = p + 1;		/* "group-name:" starts a group */
			continue;
		}
		if (*p != ',' && *p != ';' && *p != '\0')
			continue;
		if (mailbox_domain(item, p, this, sizeof(this))) {
			out->mailboxes++;
			add_domain(out, this);
		} else if (!blank(item, p)) {
			unusable = 1;
		}
		if (*p == '\0')
			break;
		item = p + 1;
		angle = 0;
	}
	free(clean);
	if (unusable || out->count == 0) {
		out->count = 0;
		return FROM_NO_DOMAIN;
	}
	return out->over ? FROM_TOO_MANY_DOMAINS : FROM_OK;
}

enum from_status from_value_parse(const char *value, char *domain, size_t size,
    size_t *mailboxes)
{
	struct from_domains d;
	enum from_status status = from_value_domains(value, &d);

	*mailboxes = d.mailboxes;
	if (status == FROM_TOO_MANY_DOMAINS || (status == FROM_OK && d.count > 1))
		return FROM_MIXED_DOMAINS;
	if (status != FROM_OK)
		return status;
	if (strlen(d.domain[0]) >= size)
		return FROM_NO_DOMAIN;
	memcpy(domain, d.domain[0], strlen(d.domain[0]) + 1);
	return FROM_OK;
}

/* The one From field into *out; else FROM_MISSING or FROM_SEVERAL. */
static enum from_status find_from(const struct msgheaders *h, const struct msgheader **out)
{
	*out = NULL;
	for (size_t i = 0; i < h->count; i++) {
		if (strcasecmp(h->fields[i].name, "From") != 0)
			continue;
		if (*out != NULL)
			return FROM_SEVERAL;
		*out = &h->fields[i];
	}
	return *out != NULL ? FROM_OK : FROM_MISSING;
}

enum from_status msgheaders_from_domain(const struct msgheaders *h, char *domain, size_t size)
{
	const struct msgheader *from;
	enum from_status status = find_from(h, &from);
	size_t	mailboxes;

	if (status != FROM_OK)
		return status;
	return from_value_parse(from->value, domain, size, &mailboxes);
}

enum from_status msgheaders_from_domains(const struct msgheaders *h, struct from_domains *out)
{
	const struct msgheader *from;
	enum from_status status = find_from(h, &from);

	memset(out, 0, sizeof(*out));
	if (status != FROM_OK)
		return status;
	return from_value_domains(from->value, out);
}

/* The addr-spec of the mailbox in [start, end) (between its angle brackets if any),
 * blanks trimmed, appended to out after ", " when out is not empty; 0 if it has no '@'
 * or does not fit. */
static int append_address(const char *start, const char *end, char *out, size_t size)
{
	const char *lt = memchr(start, '<', (size_t)(end - start));
	size_t	used = strlen(out), len;

	if (lt != NULL) {
		const char *gt = memchr(lt, '>', (size_t)(end - lt));

		if (gt == NULL)
			return 0;
		start = lt + 1;
		end = gt;
	}
	while (start < end && isspace((unsigned char)*start))
		start++;
	while (end > start && isspace((unsigned char)end[-1]))
		end--;
	len = (size_t)(end - start);
	if (memchr(start, '@', len) == NULL || used + 2 + len + 1 > size)
		return 0;
	if (used > 0) {
		memcpy(out + used, ", ", 2);
		used += 2;
	}
	memcpy(out + used, start, len);
	out[used + len] = '\0';
	return 1;
}

enum from_status msgheaders_from_addresses(const struct msgheaders *h, char *out, size_t size,
    size_t *count)
{
	const struct msgheader *from;
	enum from_status status = find_from(h, &from);
	char   *clean;
	int	angle = 0;

	*count = 0;
	out[0] = '\0';
	if (status != FROM_OK)
		return status;
	/* A quoted local part becomes '"', which no address a SenderMap allows contains. */
	if ((clean = strip_comments_marking_quotes(from->value, '"')) == NULL)
		return FROM_NOMEM;
	for (char *p = clean, *item = clean;; p++) {
		if (*p == '<')
			angle = 1;
		if (*p == ':' && !angle) {
			item = p + 1;
			continue;
		}
		if (*p != ',' && *p != ';' && *p != '\0')
			continue;
		if (append_address(item, p, out, size))
			(*count)++;
		else if (!blank(item, p))
			status = FROM_NO_DOMAIN;
		if (*p == '\0')
			break;
		item = p + 1;
		angle = 0;
	}
	free(clean);
	return status == FROM_OK && *count == 0 ? FROM_NO_DOMAIN : status;
}
