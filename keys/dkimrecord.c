/*
 * NAME
 *	dkimrecord.c - compare the DKIM key records found in DNS with the one we publish
 * SYNOPSIS
 *	#include "keys/dkimrecord.h"
 *
 *	enum dkimrecord_verdict dkimrecord_compare(char *const *records,
 *	    const size_t *lengths, size_t count, const char *expected, char *detail,
 *	    size_t detail_size);
 * DESCRIPTION
 *	A DKIM key record is an RFC 6376 section 3.2 tag list: "tag=value" separated by
 *	';', with optional white space around tags, values and separators.  The record is
 *	checked in the order that gives the most useful explanation first:
 *
 *	  1. a NUL byte, a double quote or a backslash in the text: the zone file quoted
 *	     it badly (quotes inside a string, an escaped quote, strings pasted with their
 *	     quotes into another string).  Nothing after that can be trusted.
 *	  2. not a tag list; v= present but not first or not "DKIM1"; the same tag twice;
 *	     no p= tag (lib/keyrecord.c reads the tags, as the verifier does).
 *	  3. p= empty: the key is revoked (RFC 6376 section 3.6.1).
 *	  4. k= does not fit the key: rsa against ed25519, or no k= (which means rsa) for
 *	     an Ed25519 key; h= present without sha256.
 *	  5. white space inside p=: RFC 6376 allows it, but it is nearly always a record
 *	     split with spaces at the wrong place, and some verifiers reject it.
 *	  6. p= compared with ours: equal, a proper prefix of ours (truncated: a string
 *	     lost or cut at 255 bytes), or another key.
 *
 *	Tags this tool does not write (t=, s=, n=, unknown tags) are allowed, as RFC 6376
 *	requires of verifiers.
 * SEE ALSO
 *	RFC 6376 sections 3.2 and 3.6.1, RFC 8463 (k=ed25519), keycheck.c
 */
#include <stdio.h>
#include <string.h>

#include "keys/dkimrecord.h"
#include "lib/keyrecord.h"

#define EXCERPT_MAX	60	/* bytes of a record quoted in a message */

static const char *const verdict_names[] = {
	[DKIMREC_OK] = "ok",
	[DKIMREC_MISSING] = "missing",
	[DKIMREC_OTHER_KEY] = "other-key",
	[DKIMREC_TRUNCATED] = "truncated",
	[DKIMREC_MALFORMED] = "malformed",
	[DKIMREC_WRONG_TYPE] = "wrong-type",
	[DKIMREC_REVOKED] = "revoked",
	[DKIMREC_SEVERAL] = "several",
	[DKIMREC_DNS_FAILURE] = "dns-failure",
	[DKIMREC_PROPAGATING] = "propagating",
};

const char *
dkimrecord_verdict_name(enum dkimrecord_verdict verdict)
{
	if ((size_t)verdict >= sizeof(verdict_names) / sizeof(verdict_names[0]))
		return "unknown";
	return verdict_names[verdict];
}

int
dkimrecord_verdict_temporary(enum dkimrecord_verdict verdict)
{
	return verdict == DKIMREC_DNS_FAILURE || verdict == DKIMREC_PROPAGATING;
}

/* ---- helpers --------------------------------------------------------------------- */

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Copies value into out without white space; returns 1 if there was some. */
static int
strip_wsp(struct span value, char *out, size_t size, size_t *outlen)
{
	size_t i, o = 0;
	int had = 0;

	for (i = 0; i < value.len; i++) {
		if (is_wsp(value.p[i]))
			had = 1;
		else if (o + 1 < size)
			out[o++] = value.p[i];
	}
	out[o] = '\0';
	*outlen = o;
	return had;
}

/* ---- one record -------------------------------------------------------------------- */

struct expected {
	struct span k;		/* "rsa" or "ed25519" */
	struct span p;
};

static enum dkimrecord_verdict
bad_bytes(const char *rec, size_t len, char *detail, size_t size)
{
	const char *q;
	char what[32];

	if (memchr(rec, '\0', len) != NULL) {
		snprintf(detail, size, "the record holds a NUL byte: the zone file is broken");
		return DKIMREC_MALFORMED;
	}
	q = memchr(rec, '"', len);
	if (q == NULL)
		q = memchr(rec, '\\', len);
	if (q == NULL)
		return DKIMREC_OK;
	snprintf(what, sizeof(what), "%s", *q == '"' ? "a double quote" : "a backslash");
	snprintf(detail, size, "the record holds %s at byte %zu: quoted badly in the zone "
	    "file (quotes inside the data, an escaped quote, or strings pasted with their "
	    "quotes); publish the line of signet-keys dns as it is", what,
	    (size_t)(q - rec) + 1);
	return DKIMREC_MALFORMED;
}

/* The record as lib/keyrecord.c reads it (";;" let through: verifiers skip it, and this
 * tool explains what is published rather than judging a signature), then what only this
 * key can say: its type and hash. */
static enum dkimrecord_verdict
check_tags(const char *rec, size_t len, const struct expected *want, struct keyrecord *kr,
    char *detail, size_t size)
{
	switch (keyrecord_parse(rec, len, TAGLIST_SKIP_EMPTY, kr, detail, size)) {
	case KEYRECORD_OK:
		break;
	case KEYRECORD_REVOKED:
		return DKIMREC_REVOKED;
	default:
		return DKIMREC_MALFORMED;
	}
	if (kr->k.p == NULL && !span_is(want->k, "rsa")) {
		snprintf(detail, size, "the record has no k= tag, so verifiers read it as an "
		    "RSA key; it must say k=%.*s", (int)want->k.len, want->k.p);
		return DKIMREC_WRONG_TYPE;
	}
	if (kr->k.p != NULL && !span_equal_nocase(kr->k, want->k)) {
		snprintf(detail, size, "k=%.*s, but the key is k=%.*s", (int)(kr->k.len >
		    EXCERPT_MAX ? EXCERPT_MAX : kr->k.len), kr->k.p, (int)want->k.len,
		    want->k.p);
		return DKIMREC_WRONG_TYPE;
	}
	if (!keyrecord_allows_hash(kr, "sha256")) {
		snprintf(detail, size, "h=%.*s does not allow sha256", (int)(kr->h.len >
		    EXCERPT_MAX ? EXCERPT_MAX : kr->h.len), kr->h.p);
		return DKIMREC_MALFORMED;
	}
	return DKIMREC_OK;
}

static enum dkimrecord_verdict
compare_key(struct span p, const struct expected *want, char *detail, size_t size)
{
	char have[8192];
	size_t len;
	int spaced = strip_wsp(p, have, sizeof(have), &len);

	if (len == want->p.len && memcmp(have, want->p.p, len) == 0) {
		if (!spaced) {
			snprintf(detail, size, "the record matches the key");
			return DKIMREC_OK;
		}
		snprintf(detail, size, "p= holds the key with white space inside: the record "
		    "was split with spaces added; publish the line of signet-keys dns as it is");
		return DKIMREC_MALFORMED;
	}
	if (len < want->p.len && memcmp(have, want->p.p, len) == 0) {
		snprintf(detail, size, "p= holds only the first %zu of the key's %zu base64 "
		    "characters: the record was cut (a string lost, or cut at 255 bytes)", len,
		    want->p.len);
		return DKIMREC_TRUNCATED;
	}
	snprintf(detail, size, "p= holds another key (...%.16s, the key is ...%.16s)",
	    len > 16 ? have + len - 16 : have, want->p.len > 16 ? want->p.p + want->p.len - 16
	    : want->p.p);
	return DKIMREC_OTHER_KEY;
}

static enum dkimrecord_verdict
compare_one(const char *rec, size_t len, const struct expected *want, char *detail,
    size_t size)
{
	struct keyrecord kr;
	enum dkimrecord_verdict v;

	if ((v = bad_bytes(rec, len, detail, size)) != DKIMREC_OK)
		return v;
	if ((v = check_tags(rec, len, want, &kr, detail, size)) != DKIMREC_OK)
		return v;
	return compare_key(kr.p, want, detail, size);
}

/* Our own record: "v=DKIM1; k=TYPE; p=BASE64". */
static int
expected_parse(const char *expected, struct expected *want)
{
	struct keyrecord kr;
	char ignored[128];

	if (keyrecord_parse(expected, strlen(expected), TAGLIST_SKIP_EMPTY, &kr, ignored,
	    sizeof(ignored)) != KEYRECORD_OK || kr.k.p == NULL)
		return -1;
	want->k = kr.k;
	want->p = kr.p;
	return 0;
}

enum dkimrecord_verdict
dkimrecord_compare(char *const *records, const size_t *lengths, size_t count,
    const char *expected, char *detail, size_t detail_size)
{
	struct expected want;
	char one[256];
	size_t i, matching = 0;

	if (expected_parse(expected, &want) < 0) {
		snprintf(detail, detail_size, "internal error: cannot parse our own record");
		return DKIMREC_MALFORMED;
	}
	if (count == 0) {
		snprintf(detail, detail_size, "no TXT record at the name");
		return DKIMREC_MISSING;
	}
	if (count == 1)
		return compare_one(records[0], lengths[0], &want, detail, detail_size);
	for (i = 0; i < count; i++)
		if (compare_one(records[i], lengths[i], &want, one, sizeof(one)) == DKIMREC_OK)
			matching++;
	snprintf(detail, detail_size, "%zu TXT records at the name (%s ours); verifiers may "
	    "use any of them: keep only ours", count, matching == 0 ? "none is"
	    : matching == 1 ? "one is" : "several are");
	return DKIMREC_SEVERAL;
}
