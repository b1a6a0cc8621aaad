/*
 * NAME
 *	verify.c - DKIM verification of inbound mail: the message's flow and its results
 * DESCRIPTION
 *	Signet's own verifier (RFC 6376, RFC 8301, RFC 8463), in four parts: dkimsig.c
 *	reads one DKIM-Signature field, dkimhdr.c keeps the header and computes a
 *	signature's header hash, dkimkey.c looks a key up and checks a signature with it,
 *	canon.c hashes the body as it streams.  This file follows a message through them.
 *
 *	Header.  Every field is kept (dkimhdr.c, at most DKIMHDR_MAX_BYTES) until the end
 *	of the header, since h= may name fields on either side of its signature.  The
 *	DKIM-Signature fields are noted in order, the first MaximumSignatures of them only;
 *	the rest are counted and reported as one policy result, and not kept at all (issue
 *	13: nothing grows with the number of fields a stranger sends; so a signature whose
 *	h= names DKIM-Signature does not see them, as before).  A header over the bound
 *	leaves every well-formed signature a policy result, not checked here; a malformed
 *	one is still a permerror, its field being kept whatever the bound.
 *
 *	End of header.  Each noted field is read (dkimsig.c: strict grammar, required tags,
 *	b= base64, d= and s= domain names, i= under d=, times, From signed, rsa-sha1 is
 *	policy).  For each field still standing, in header order, its key is looked up
 *	(once per name and message, through Signet's resolver and its cache, charged to the
 *	message's DNS budget; its p= decoded once per verifier, keycache.c) and judged
 *	against the signature (dkimkey.c), its header hash computed and b= checked.  All of that happens here, as the MTA waits for the
 *	header to be taken, so that the DNS deadline of the message does not depend on how
 *	long its body takes to arrive.
 *
 *	Body.  A signature whose b= verified waits for its body hash.  Signatures with the
 *	same body canonicalization and l= share one hash (bodyhash.c), so a message with
 *	three relaxed signatures hashes its body once; a message with no such signature
 *	hashes nothing.  Nothing of the body is kept.
 *
 *	Results.  One per noted field, in header order, including the malformed ones
 *	(permerror), then one policy result for all fields past MaximumSignatures.  A result
 *	is tied to its field by position only, never by a value the sender wrote (issue 13:
 *	a forged field copying another's b= once inherited its pass), and everything it
 *	reports -- d=, s=, a=, the start of b= -- is read from that field, so a pass names
 *	exactly the domain whose key verified it.  Of a field that is not a tag list only
 *	what comes before the syntax error is reported.
 *
 *	RFC 8301: rsa-sha1 is policy (dkimsig.c); an RSA key under 1024 bits is policy when
 *	the signature would otherwise pass.  A key in testing mode (t=y) changes no
 *	verdict; a result other than pass says so.
 * SEE ALSO
 *	verify.h, dkimsig.c, dkimhdr.c, dkimkey.c, canon.c
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/alloc.h"
#include "lib/printable.h"
#include "milter/bodyhash.h"
#include "milter/canon.h"
#include "milter/dkimhdr.h"
#include "milter/dkimkey.h"
#include "milter/dkimsig.h"
#include "milter/verify.h"

struct verifier {
	struct dns_resolver *dns;
	struct keycache *keys;		/* decoded keys, shared by its messages */
	verify_key_lookup *test_lookup;	/* verify.h's test seam; NULL in the daemon */
	void   *test_lookup_ctx;
};

/* One DKIM-Signature field within MaximumSignatures. */
struct signature {
	size_t	field;			/* in the header */
	struct dkimsig sig;
	const struct dkimkey *key;	/* once looked up */
	size_t	body;			/* its hash in bodies, while waiting */
	int	waiting;		/* b= verified: the body hash decides */
	int	decided;
	struct verify_signature out;
};

struct verify_message {
	struct verifier *verifier;
	struct dns_budget *budget;
	size_t	max_signatures;
	struct dkimhdr header;
	struct signature *sigs;		/* at most max_signatures */
	size_t	sig_count;
	size_t	sig_cap;
	size_t	beyond_limit;		/* fields past MaximumSignatures: only counted */
	struct dkimkey_list keys;	/* looked up for this message: at most sig_count */
	struct bodyhash_set bodies;	/* at most sig_count */
	int	headers_done;
	int	failed;			/* memory ran out: an internal error, no verdict */
	struct verify_signature *results;
	char	queue_id[64];
};

/* ---- the verifier --------------------------------------------------------------------- */

struct verifier *verifier_new(struct dns_resolver *dns, long timeout_seconds, char *err,
    size_t errlen)
{
	struct verifier *v = mem_calloc(1, sizeof(*v));

	(void)timeout_seconds;		/* lookups wait as the resolver's DNSTimeout says */
	if (v == NULL || (v->keys = keycache_new()) == NULL) {
		snprintf(err, errlen, "out of memory making the DKIM verifier");
		free(v);
		return NULL;
	}
	v->dns = dns;
	return v;
}

void	verifier_set_key_lookup(struct verifier *v, verify_key_lookup *lookup, void *ctx)
{
	v->test_lookup = lookup;
	v->test_lookup_ctx = ctx;
}

void	verifier_key_source(struct verifier *v, struct dns_budget *budget,
    const char *queue_id, struct dkimkey_source *source)
{
	source->dns = v->dns;
	source->budget = budget;
	source->test_lookup = v->test_lookup;
	source->test_lookup_ctx = v->test_lookup_ctx;
	source->cache = v->keys;
	source->queue_id = queue_id;
}

void	verifier_free(struct verifier *v)
{
	if (v == NULL)
		return;
	keycache_free(v->keys);
	free(v);
}

/* ---- one message: the header ---------------------------------------------------------- */

struct verify_message *verify_begin(struct verifier *v, struct dns_budget *budget,
    const char *queue_id, size_t max_signatures)
{
	struct verify_message *m = mem_calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->verifier = v;
	m->budget = budget;
	m->max_signatures = max_signatures;
	dkimhdr_init(&m->header, DKIMHDR_MAX_BYTES);
	snprintf(m->queue_id, sizeof(m->queue_id), "%s", queue_id ? queue_id : "NOQUEUE");
	return m;
}

/* A field whose name holds a byte other than printable ASCII or space is no signature,
 * so "DKIM-Signature<TAB>" is none (Postfix removes blanks before the colon, a milter
 * client need not; libopendkim, which Signet used before, refused such a field, and
 * tests/fuzz checks that rule); otherwise the name without trailing spaces, compared
 * without case. */
static int is_signature_field(const char *name)
{
	static const char want[] = "DKIM-Signature";
	size_t	len = strlen(name);

	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] < 32 || (unsigned char)name[i] > 126)
			return 0;
	while (len > 0 && name[len - 1] == ' ')
		len--;
	return len == sizeof(want) - 1 && strncasecmp(name, want, len) == 0;
}

/* A slot for the next signature field, or NULL (m->failed) when memory runs out.  The
 * array grows by doubling and never past MaximumSignatures. */
static struct signature *next_signature(struct verify_message *m)
{
	if (m->sig_count == m->sig_cap) {
		size_t	cap = m->sig_cap ? m->sig_cap * 2 : 4;

		if (cap > m->max_signatures)
			cap = m->max_signatures;
		struct signature *grown = mem_realloc(m->sigs, cap * sizeof(*grown));
		if (grown == NULL) {
			m->failed = 1;
			return NULL;
		}
		m->sigs = grown;
		m->sig_cap = cap;
	}
	memset(&m->sigs[m->sig_count], 0, sizeof(m->sigs[0]));
	return &m->sigs[m->sig_count++];
}

void	verify_header(struct verify_message *m, const char *name, const char *value)
{
	struct signature *s = NULL;

	if (m == NULL || m->failed || m->headers_done)
		return;
	if (is_signature_field(name)) {
		if (m->sig_count >= m->max_signatures) {
			m->beyond_limit++;	/* counted, and nothing more (issue 13) */
			return;
		}
		if ((s = next_signature(m)) == NULL)
			return;
	}
	/* A signature's own field is kept even past the header's bound: it is read on its
	 * own at the end of the header, and MaximumSignatures bounds how many there are. */
	switch (dkimhdr_add(&m->header, name, value, s != NULL)) {
	case DKIMHDR_OK:
		if (s != NULL)
			s->field = m->header.count - 1;
		break;
	case DKIMHDR_FULL:
		break;
	case DKIMHDR_NOMEM:
		m->failed = 1;
		break;
	}
}

/* ---- end of header: read, look up, check b= ------------------------------------------- */

static void decide(struct signature *s, enum verify_result result, const char *reason)
{
	const char *testing = s->key != NULL && dkimkey_testing(s->key) &&
	    result != VERIFY_PASS ? ", key in testing mode (t=y)" : "";
	size_t	n = strlen(reason), size = sizeof(s->out.reason);

	s->out.result = result;
	n = n < size - 1 ? n : size - 1;
	memcpy(s->out.reason, reason, n);
	snprintf(s->out.reason + n, size - n, "%s", testing);	/* cut if need be */
	s->decided = 1;
	s->waiting = 0;
}

/* A value for the report: each byte outside printable ASCII (and a blank) as '?'; a value
 * that does not fit is left empty, never cut to a prefix that would name another domain
 * or selector. */
static void report(char *out, size_t size, const char *value)
{
	if (!printable_copy(out, size, value, " "))
		out[0] = '\0';
}

/* What the result reports of its field, whatever the verdict: d=, s=, a= as dkimsig.c
 * read them, and the first characters of b=. */
static void report_field(struct signature *s)
{
	char	b[sizeof(s->out.b)];
	size_t	n = 0;

	report(s->out.domain, sizeof(s->out.domain), s->sig.d);
	report(s->out.selector, sizeof(s->out.selector), s->sig.s);
	report(s->out.algorithm, sizeof(s->out.algorithm), s->sig.a);
	for (size_t i = 0; s->sig.b.p != NULL && i < s->sig.b.len && n + 1 < sizeof(b); i++)
		if (!strchr(" \t\r\n", s->sig.b.p[i]))
			b[n++] = s->sig.b.p[i];
	b[n] = '\0';
	report(s->out.b, sizeof(s->out.b), b);
}

/* The key of s, looked up once per message; NULL when memory runs out. */
static const struct dkimkey *key_of(struct verify_message *m, const struct signature *s)
{
	struct dkimkey_source source;

	verifier_key_source(m->verifier, m->budget, m->queue_id, &source);
	m->keys.max = m->sig_count;
	return dkimkey_list_fetch(&m->keys, &source, s->sig.d, s->sig.s);
}

/* The body hash s waits for, shared with the signatures that want the same one. */
static int wait_for_body(struct verify_message *m, struct signature *s)
{
	int	nomem;
	long	i = bodyhash_want(&m->bodies, &s->sig, &nomem);

	if (i < 0)		/* at most one hash per signature: memory ran out */
		return 0;
	s->body = (size_t)i;
	s->waiting = 1;
	return 1;
}

/* Key, header hash and b= of one signature that its field alone did not decide; 0 when
 * memory runs out. */
static int check_header(struct verify_message *m, struct signature *s)
{
	unsigned char digest[DKIMHDR_HASH_LEN];
	enum verify_result judged;
	char	reason[sizeof(s->out.reason)];
	int	verified;

	if ((s->key = key_of(m, s)) == NULL)
		return 0;
	if ((judged = dkimkey_judge(s->key, &s->sig, reason, sizeof(reason))) != VERIFY_NONE) {
		decide(s, judged, reason);
		return 1;
	}
	if (!dkimhdr_hash(&m->header, &s->sig, s->field, digest) ||
	    (verified = dkimkey_verify(s->key, &s->sig, digest)) < 0)
		return 0;
	if (!verified) {
		decide(s, VERIFY_FAIL, "signature did not verify");
		return 1;
	}
	return wait_for_body(m, s);
}

/* Each noted field read; the ones still standing checked, in header order. */
static int check_signatures(struct verify_message *m)
{
	time_t	now = time(NULL);
	char	full[96];

	snprintf(full, sizeof(full), "not checked: the header is over %d bytes",
	    DKIMHDR_MAX_BYTES);
	bodyhash_init(&m->bodies, m->sig_count);
	for (size_t i = 0; i < m->sig_count; i++) {
		struct signature *s = &m->sigs[i];

		dkimsig_parse(dkimhdr_value(&m->header, s->field),
		    strlen(dkimhdr_value(&m->header, s->field)), now, &s->sig);
		report_field(s);
		if (s->sig.status != DKIMSIG_OK)
			decide(s, s->sig.status == DKIMSIG_POLICY ? VERIFY_POLICY :
			    VERIFY_PERMERROR, s->sig.reason);
		else if (m->header.full)	/* fields it may name were not kept */
			decide(s, VERIFY_POLICY, full);
	}
	for (size_t i = 0; i < m->sig_count; i++)
		if (!m->sigs[i].decided && !check_header(m, &m->sigs[i]))
			return 0;
	return 1;
}

void	verify_end_of_headers(struct verify_message *m)
{
	if (m == NULL || m->failed || m->headers_done)
		return;
	m->headers_done = 1;
	if (m->sig_count > 0 && (!dkimhdr_seal(&m->header) || !check_signatures(m)))
		m->failed = 1;
	/* The signatures keep what they need of their fields: the header can go. */
	dkimhdr_free(&m->header);
}

/* ---- the body and the results --------------------------------------------------------- */

void	verify_body(struct verify_message *m, const unsigned char *data, size_t len)
{
	if (m == NULL || m->failed || !m->headers_done)
		return;
	bodyhash_update(&m->bodies, data, len);
	if (m->bodies.failed)
		m->failed = 1;
}

/* The verdict of a signature whose b= verified, now that its body hash is known. */
static void check_body(struct verify_message *m, struct signature *s)
{
	char	reason[96];
	enum verify_result result = bodyhash_judge(&m->bodies, s->body, &s->sig, reason,
	    sizeof(reason));

	if (result != VERIFY_PASS)
		decide(s, result, reason);
	else if (dkimkey_too_small(s->key))
		decide(s, VERIFY_POLICY, "RSA key under 1024 bits (RFC 8301)");
	else
		decide(s, VERIFY_PASS, "");
}

int	verify_finish(struct verify_message *m, const struct verify_signature **results,
    size_t *count)
{
	size_t	n;

	*results = NULL;
	*count = 0;
	if (m == NULL)
		return 0;
	verify_end_of_headers(m);	/* if the MTA never said the header ended */
	if (m->failed)
		return 0;
	if (m->sig_count == 0 && m->beyond_limit == 0)
		return 1;
	if (!bodyhash_final(&m->bodies))
		return 0;
	n = m->sig_count + (m->beyond_limit > 0);
	if ((m->results = mem_calloc(n, sizeof(*m->results))) == NULL)
		return 0;
	for (size_t i = 0; i < m->sig_count; i++) {
		if (m->sigs[i].waiting)
			check_body(m, &m->sigs[i]);
		m->results[i] = m->sigs[i].out;
	}
	if (m->beyond_limit > 0) {
		struct verify_signature *out = &m->results[m->sig_count];

		out->result = VERIFY_POLICY;
		snprintf(out->reason, sizeof(out->reason), "%zu more signature%s not checked: "
		    "over MaximumSignatures", m->beyond_limit, m->beyond_limit == 1 ? "" : "s");
	}
	*results = m->results;
	*count = n;
	return 1;
}

void	verify_free(struct verify_message *m)
{
	if (m == NULL)
		return;
	dkimhdr_free(&m->header);
	dkimkey_list_free(&m->keys);
	bodyhash_free(&m->bodies);
	free(m->sigs);
	free(m->results);
	free(m);
}

size_t	verify_body_hashes(const struct verify_message *m)
{
	return m != NULL ? m->bodies.count : 0;
}

const char *verify_result_name(enum verify_result result)
{
	static const char *const names[] = {
		"none", "pass", "fail", "neutral", "policy", "temperror", "permerror",
	};

	return (unsigned)result < sizeof(names) / sizeof(names[0]) ? names[result] : "permerror";
}
