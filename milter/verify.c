/*
 * NAME
 *	verify.c - DKIM verification with libopendkim, its key lookups through dns.c
 * DESCRIPTION
 *	libopendkim does the canonicalization, hashing and signature checks.  Around it:
 *
 *	DNS.  Its dkim_dns_set_* hooks route every key query through Signet's resolver.
 *	libopendkim looks keys up synchronously, in the thread that calls dkim_eoh() or
 *	dkim_eom(), and its hooks carry no per-message context, so the message (its DNS
 *	budget, its list of oversized keys) is handed to the hooks in a thread-local pointer
 *	set around exactly those two calls.  The start hook resolves at once and copies the
 *	wire-format reply into libopendkim's buffer; the wait hook reports it, or
 *	DKIM_DNS_ERROR when there is none (timeout, SERVFAIL, budget), which libopendkim
 *	turns into a key-retrieval failure: temperror.
 *
 *	Oversized keys.  libopendkim reads a key through two fixed buffers and cuts what
 *	does not fit without a word: the DNS answer into MAXPACKET (8192) bytes, then the
 *	record's text into BUFRSZ (1024) bytes (dkim-keys.c, dkim_get_key_dns(), and the
 *	buffer of dkim_get_key() in dkim.c, libopendkim 2.11).  A cut record can read as
 *	another record: cutting a trailing "h=sha1" made a forbidden signature pass.  So an
 *	answer over the first limit, or a TXT record over the second, is never handed over:
 *	the lookup fails, its name is noted, and the signature whose key it was is a
 *	permerror that says why -- not the temperror of a failed lookup, since the domain
 *	published it and asking again gets the same record, and RFC 6376 section 6.1.2 makes
 *	a key record the verifier cannot use a PERMFAIL.  (RFC 8301 asks verifiers for RSA
 *	keys up to 4096 bits, whose records are about 750 bytes.)
 *	A test can answer the start hook itself (verifier_set_key_lookup): the fuzzer serves
 *	its one key that way, with no resolver and no network.
 *
 *	One result per signature, paired by position.  OpenDKIM writes nothing for a
 *	malformed DKIM-Signature (DEPENDENCIES.md), but RFC 8601 wants a result per
 *	signature.  With DKIM_LIBFLAGS_BADSIGHANDLES libopendkim keeps one entry per
 *	DKIM-Signature field, malformed or not, in header order; so does this file, and the
 *	two lists are paired by position, never by a value the sender wrote (a forged field
 *	that copied another signature's b= once inherited its pass: issue 13).  Every value
 *	reported -- d=, s=, a=, b= -- is libopendkim's own reading of the field, so a pass
 *	names exactly the domain whose key verified it.
 *
 *	libopendkim stops reading a field at its first syntax error and keeps what it read
 *	so far.  Each field is therefore also checked here against the RFC 6376 grammar
 *	(lib/taglist.c, strict): a field that does not parse is a permerror whatever
 *	libopendkim made of it, and so is one where libopendkim's reading lacks a tag the
 *	grammar found (it stopped early).  Of a field, only that verdict and a bit per
 *	known tag are kept.
 *
 *	Bounded state: the first MaximumSignatures fields are handed to libopendkim and
 *	reported one by one; the rest are only counted, never given to libopendkim (no DNS
 *	spent on them), and reported as one policy result.
 *
 *	RFC 8301.  libopendkim passes rsa-sha1 signatures; they are reported as policy here,
 *	as are RSA keys under 1024 bits (DKIM_OPTS_MINKEYBITS).
 *
 *	Checks libopendkim leaves out, made here (RFC 6376 sections 3.5, 3.6.1, 6.1):
 *	a b= that is not base64 and a d= or s= that is not a DNS name are permerrors (not a
 *	failed signature, nor a DNS failure worth retrying), and the key record's k= must
 *	name the signature's algorithm (libopendkim reads p= as whatever a= says).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dkim.h>

#include "lib/alloc.h"
#include "lib/domain.h"
#include "lib/printable.h"
#include "lib/taglist.h"
#include "milter/canon.h"
#include "lib/log.h"
#include "milter/verify.h"

#define VERIFY_MIN_KEY_BITS 1024
#define LIBOPENDKIM_KEY_RECORD_MAX 1024	/* BUFRSZ: the key text it reads, NUL apart */

struct verifier {
	DKIM_LIB *lib;
	struct dns_resolver *dns;
	verify_key_lookup *test_lookup;	/* verify.h's test seam; NULL in the daemon */
	void   *test_lookup_ctx;
};

/* RFC 6376 base64string: the alphabet and padding, blanks already removed. */
static int valid_base64(const char *s)
{
	size_t	len = strlen(s), pad = 0;

	if (len == 0 || len % 4 != 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || !(isalnum(c) || c == '+' || c == '/'))
			return 0;
	}
	return pad <= 2;
}

/* d= and s= (RFC 6376 section 3.5): labels of letters, digits, '-' and '_'. */
static int valid_dns_name(const char *s)
{
	return domain_check(s, strlen(s), DOMAIN_UNDERSCORE, NULL, 0) > 0;
}

/* The tags of RFC 6376 section 3.5, in the order of the bits of field.tags. */
static const char *const known_tags[] = {
	"v", "a", "b", "bh", "c", "d", "h", "i", "l", "q", "s", "t", "x", "z",
};

/* One DKIM-Signature field handed to libopendkim, in header order; nothing of its
 * value is kept: what is reported comes from libopendkim's reading of the field. */
struct field {
	char	problem[96];		/* why its tag list is invalid; "" when it is valid */
	unsigned tags;			/* bit i: known_tags[i] is present */
};

struct verify_message {
	struct verifier *verifier;
	struct dns_budget *budget;
	DKIM   *dkim;
	DKIM_STAT eoh_status;
	int	failed;
	size_t	max_signatures;
	struct field *fields;		/* at most max_signatures */
	size_t	field_count;
	size_t	field_cap;
	size_t	beyond_limit;		/* fields past MaximumSignatures: only counted */
	struct refused *refused;	/* key names whose answer was not used */
	size_t	refused_count;
	struct verify_signature *results;
	char	queue_id[64];
};

/* A key lookup whose answer was not used: libopendkim would have read it cut
 * (permerror), or the message's DNS budget was spent (policy: not evaluated).  One per
 * name; no more than the message's lookups, which its DNS budget bounds. */
struct refused {
	char	name[256];		/* selector._domainkey.domain, as libopendkim asked */
	enum verify_result result;
	char	reason[112];
};

static __thread struct verify_message *lookup_message;

static DKIM_CBSTAT set_aside_long_key_names(DKIM *dkim, DKIM_SIGINFO **sigs, int nsigs);

/* ---- DNS hooks ------------------------------------------------------------------------ */

struct lookup {
	int	ok;
	size_t	len;
	int	dnssec;
};

/* The end of a name at pos in a DNS packet of len bytes, 0 when it runs past the end. */
static size_t skip_name(const unsigned char *p, size_t len, size_t pos)
{
	while (pos < len) {
		if ((p[pos] & 0xC0) == 0xC0)
			return pos + 2 <= len ? pos + 2 : 0;
		if ((p[pos] & 0xC0) != 0)
			return 0;
		if (p[pos] == 0)
			return pos + 1;
		pos += 1 + (size_t)p[pos];
	}
	return 0;
}

/*
 * How many bytes of the packet libopendkim needs: header, question and answer sections
 * (dkim_get_key_dns() reads nothing after the answers); the whole packet when it cannot
 * be walked.  A server may add authority and additional records as it likes: 9 kB of
 * additional records beside a key of normal size made that key a permerror "over the
 * 8192 libopendkim reads" (tests/faults, issue 15 item 2).
 */
static size_t packet_needed(const unsigned char *p, size_t len)
{
	size_t	pos = 12;
	unsigned qd, an;

	if (len < 12)
		return len;
	qd = (unsigned)p[4] << 8 | p[5];
	an = (unsigned)p[6] << 8 | p[7];
	for (unsigned i = 0; i < qd + an; i++) {
		if ((pos = skip_name(p, len, pos)) == 0 || pos + (i < qd ? 4 : 10) > len)
			return len;
		pos += i < qd ? 4 : 10 + ((size_t)p[pos + 8] << 8 | p[pos + 9]);
		if (pos > len)
			return len;
	}
	return pos;
}

/* 1 with why in reason when libopendkim would read this answer cut: the part of the packet
 * it reads (packet_needed) does not fit its buffer (buflen), or a TXT record, its
 * character-strings joined, does not fit its key buffer. */
static int too_large(const struct dns_answer *answer, int type, size_t buflen, char *reason,
    size_t size)
{
	size_t	needed = packet_needed(answer->packet, answer->packet_len);

	if (needed > buflen) {
		snprintf(reason, size, "DNS answer of %zu bytes, over the %zu libopendkim reads",
		    needed, buflen);
		return 1;
	}
	for (size_t i = 0; type == DNS_TYPE_TXT && i < answer->count; i++) {
		const unsigned char *d = answer->records[i].data;
		size_t	len = answer->records[i].len, text = 0;

		for (size_t pos = 0; pos < len; pos += 1 + (size_t)d[pos])
			text += d[pos];
		if (text > LIBOPENDKIM_KEY_RECORD_MAX) {
			snprintf(reason, size, "key record of %zu bytes, over the %d libopendkim "
			    "reads", text, LIBOPENDKIM_KEY_RECORD_MAX);
			return 1;
		}
	}
	return 0;
}

/* Notes that the key at name was refused, once per name; m->failed when memory runs
 * out (the message then ends in an internal error, not a verdict). */
static void note_refused(struct verify_message *m, const char *name,
    enum verify_result result, const char *reason)
{
	struct refused *grown;

	for (size_t i = 0; i < m->refused_count; i++)
		if (strcasecmp(m->refused[i].name, name) == 0)
			return;
	log_msg(LOG_LEVEL_NOTICE, "%s: key %s refused: %s", m->queue_id, name, reason);
	grown = mem_realloc(m->refused, (m->refused_count + 1) * sizeof(*grown));
	if (grown == NULL) {
		m->failed = 1;
		return;
	}
	m->refused = grown;
	snprintf(grown[m->refused_count].name, sizeof(grown->name), "%s", name);
	grown[m->refused_count].result = result;
	snprintf(grown[m->refused_count].reason, sizeof(grown->reason), "%s", reason);
	m->refused_count++;
}

/* What refused the key of selector and domain, or NULL. */
static const struct refused *refused_key(const struct verify_message *m,
    const char *selector, const char *domain)
{
	char	name[sizeof(m->refused->name)];

	if (m->refused_count == 0 || selector == NULL || domain == NULL ||
	    (size_t)snprintf(name, sizeof(name), "%s._domainkey.%s", selector, domain) >=
	    sizeof(name))
		return NULL;
	for (size_t i = 0; i < m->refused_count; i++)
		if (strcasecmp(m->refused[i].name, name) == 0)
			return &m->refused[i];
	return NULL;
}

static int dns_hook_start(void *service, int type, unsigned char *name, unsigned char *buf,
    size_t buflen, void **handle)
{
	struct verifier *v = service;
	struct verify_message *m = lookup_message;
	struct lookup *q = calloc(1, sizeof(*q));
	struct dns_answer *answer = NULL;
	enum dns_status status;
	char	refused[96];

	if (q == NULL)
		return DKIM_DNS_ERROR;
	*handle = q;
	if (m == NULL)
		return DKIM_DNS_SUCCESS;	/* no message: no lookups (q->ok stays 0) */
	if (v->test_lookup != NULL) {
		q->ok = v->test_lookup(v->test_lookup_ctx, (const char *)name, type, buf, buflen,
		    &q->len) && q->len <= buflen;
		q->dnssec = DKIM_DNSSEC_INSECURE;
		return DKIM_DNS_SUCCESS;
	}
	status = dns_query(v->dns, m->budget, (const char *)name, type, &answer);
	if (status == DNS_BUDGET)
		note_refused(m, (const char *)name, VERIFY_POLICY, "not evaluated: the "
		    "message's DNS budget was spent (DNSMessageQueries, DNSMessageTime)");
	if (answer != NULL && answer->packet != NULL && answer->packet_len > 0 &&
	    status != DNS_TEMPFAIL && status != DNS_BOGUS) {
		if (too_large(answer, type, buflen, refused, sizeof(refused))) {
			/* q->ok stays 0 */
			note_refused(m, (const char *)name, VERIFY_PERMERROR, refused);
		} else {
			/* Without the authority and additional sections, counted as 0. */
			q->len = packet_needed(answer->packet, answer->packet_len);
			memcpy(buf, answer->packet, q->len);
			if (q->len < answer->packet_len)
				memset(buf + 8, 0, 4);
			q->ok = 1;
			q->dnssec = answer->secure ? DKIM_DNSSEC_SECURE : DKIM_DNSSEC_INSECURE;
		}
	}
	dns_answer_free(answer);
	return DKIM_DNS_SUCCESS;
}

static int dns_hook_wait(void *service, void *handle, struct timeval *timeout, size_t *len,
    int *error, int *dnssec)
{
	struct lookup *q = handle;

	(void)service;
	(void)timeout;		/* the resolver applies DNSTimeout and the budget itself */
	if (q == NULL || !q->ok)
		return DKIM_DNS_ERROR;
	if (len != NULL)
		*len = q->len;
	if (error != NULL)
		*error = 0;
	if (dnssec != NULL)
		*dnssec = q->dnssec;
	return DKIM_DNS_SUCCESS;
}

static int dns_hook_cancel(void *service, void *handle)
{
	(void)service;
	free(handle);
	return DKIM_DNS_SUCCESS;
}

/* The service is ours: libopendkim must not initialise, reconfigure or close it with its
 * stub resolver (dkim_close() would otherwise call res_nclose() on our pointer). */
static int dns_hook_init(void **service)
{
	(void)service;
	return 0;
}

static void dns_hook_close(void *service)
{
	(void)service;
}

static int dns_hook_setting(void *service, const char *value)
{
	(void)service;
	(void)value;
	return 0;
}

/* ---- the library ---------------------------------------------------------------------- */

struct verifier *verifier_new(struct dns_resolver *dns, long timeout_seconds, char *err,
    size_t errlen)
{
	struct verifier *v = calloc(1, sizeof(*v));
	unsigned int flags = DKIM_LIBFLAGS_BADSIGHANDLES | DKIM_LIBFLAGS_FIXCRLF;
	unsigned int min_bits = VERIFY_MIN_KEY_BITS;
	unsigned int timeout = (unsigned int)timeout_seconds;	/* libopendkim wants a u_int */

	if (v == NULL || (v->lib = dkim_init(NULL, NULL)) == NULL) {
		snprintf(err, errlen, "cannot initialise libopendkim");
		free(v);
		return NULL;
	}
	v->dns = dns;
	if (dkim_options(v->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof(flags)) !=
	    DKIM_STAT_OK ||
	    dkim_options(v->lib, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &min_bits,
		sizeof(min_bits)) != DKIM_STAT_OK ||
	    dkim_options(v->lib, DKIM_OP_SETOPT, DKIM_OPTS_TIMEOUT, &timeout,
		sizeof(timeout)) != DKIM_STAT_OK) {
		snprintf(err, errlen, "cannot set libopendkim options");
		verifier_free(v);
		return NULL;
	}
	if (!dkim_libfeature(v->lib, DKIM_FEATURE_ED25519) ||
	    !dkim_libfeature(v->lib, DKIM_FEATURE_SHA256)) {
		snprintf(err, errlen, "libopendkim lacks Ed25519 or SHA-256 support");
		verifier_free(v);
		return NULL;
	}
	dkim_set_prescreen(v->lib, set_aside_long_key_names);
	dkim_dns_set_query_service(v->lib, v);
	dkim_dns_set_query_start(v->lib, dns_hook_start);
	dkim_dns_set_query_waitreply(v->lib, dns_hook_wait);
	dkim_dns_set_query_cancel(v->lib, dns_hook_cancel);
	dkim_dns_set_init(v->lib, dns_hook_init);
	dkim_dns_set_close(v->lib, dns_hook_close);
	dkim_dns_set_nslist(v->lib, dns_hook_setting);
	dkim_dns_set_config(v->lib, dns_hook_setting);
	dkim_dns_set_trustanchor(v->lib, dns_hook_setting);
	return v;
}

void	verifier_set_key_lookup(struct verifier *v, verify_key_lookup *lookup, void *ctx)
{
	v->test_lookup = lookup;
	v->test_lookup_ctx = ctx;
}

void	verifier_free(struct verifier *v)
{
	if (v == NULL)
		return;
	if (v->lib != NULL)
		dkim_close(v->lib);
	free(v);
}

/* ---- one message ---------------------------------------------------------------------- */

struct verify_message *verify_begin(struct verifier *v, struct dns_budget *budget,
    const char *queue_id, size_t max_signatures)
{
	struct verify_message *m = mem_calloc(1, sizeof(*m));
	DKIM_STAT status;

	if (m == NULL)
		return NULL;
	m->verifier = v;
	m->budget = budget;
	m->max_signatures = max_signatures;
	snprintf(m->queue_id, sizeof(m->queue_id), "%s", queue_id ? queue_id : "NOQUEUE");
	m->dkim = dkim_verify(v->lib, (const unsigned char *)m->queue_id, NULL, &status);
	if (m->dkim == NULL) {
		free(m);
		return NULL;
	}
	m->eoh_status = DKIM_STAT_NOSIG;
	return m;
}

/* The test libopendkim applies (dkim_header): a field whose name holds a byte other than
 * printable ASCII or space is refused outright, so "DKIM-Signature<TAB>" is no signature
 * (Postfix removes blanks before the colon, a milter client need not); otherwise the
 * name without trailing spaces, compared without case.  Both sides must agree on which
 * fields are signatures, or the positions that pair fields with results would drift. */
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

/* Checks the field's tag list as RFC 6376 section 3.2 writes it and notes which tags it
 * has; keeps nothing else of it. */
static void read_field(struct field *f, const char *value)
{
	struct tag tags[TAGLIST_MAX];
	size_t	count;
	char	err[sizeof(f->problem) - 16];

	memset(f, 0, sizeof(*f));
	if (!taglist_parse(value, strlen(value), TAGLIST_STRICT, tags, TAGLIST_MAX, &count, err,
	    sizeof(err))) {
		snprintf(f->problem, sizeof(f->problem), "syntax error, %s", err);
		return;
	}
	for (size_t i = 0; i < sizeof(known_tags) / sizeof(known_tags[0]); i++)
		if (taglist_find(tags, count, known_tags[i]) != NULL)
			f->tags |= 1u << i;
}

/* A slot for the next signature field, or NULL (m->failed) when memory runs out.  The
 * array grows by doubling and never past MaximumSignatures. */
static struct field *next_field(struct verify_message *m)
{
	if (m->field_count == m->field_cap) {
		size_t	cap = m->field_cap ? m->field_cap * 2 : 4;

		if (cap > m->max_signatures)
			cap = m->max_signatures;
		struct field *grown = mem_realloc(m->fields, cap * sizeof(*grown));
		if (grown == NULL) {
			m->failed = 1;
			return NULL;
		}
		m->fields = grown;
		m->field_cap = cap;
	}
	return &m->fields[m->field_count++];
}

void	verify_header(struct verify_message *m, const char *name, const char *value)
{
	struct buffer line = {0};
	struct field *f = NULL;
	DKIM_STAT status;

	if (m == NULL || m->failed)
		return;
	if (is_signature_field(name)) {
		if (m->field_count >= m->max_signatures) {
			m->beyond_limit++;	/* not given to libopendkim: no DNS spent on it */
			return;
		}
		if ((f = next_field(m)) == NULL)
			return;
		read_field(f, value);
	}
	if (!header_canon(&line, CANON_SIMPLE, name, value, 0)) {
		m->failed = 1;
		return;
	}
	status = dkim_header(m->dkim, (unsigned char *)line.data, line.len);
	buffer_free(&line);
	/* SYNTAX: a field libopendkim cannot use (for a signature: it still keeps an entry,
	 * since DKIM_LIBFLAGS_BADSIGHANDLES is set).  Anything else but OK is a failure of
	 * the library (memory), which must not become a verdict. */
	if (status != DKIM_STAT_OK && status != DKIM_STAT_SYNTAX) {
		log_msg(LOG_LEVEL_ERROR, "%s: libopendkim could not take a header field: %s",
		    m->queue_id, dkim_getresultstr(status));
		m->failed = 1;
	}
}

/*
 * A key name (s=._domainkey.d=) longer than a domain name can be (RFC 1035: 253
 * characters) makes libopendkim fail the whole message at end of message ("key query
 * name too large", DKIM_STAT_NORESOURCE) -- an internal error a stranger could cause
 * at will, which OnInternalError accept would turn into a message delivered unchecked.
 * So such a signature, as libopendkim read it, is set aside by the prescreen hook,
 * which dkim_eoh() calls before it looks any key up (dkim_sig_ignore), and reported
 * as a permerror.
 */
#define KEY_NAME_MAX	253

static DKIM_CBSTAT set_aside_long_key_names(DKIM *dkim, DKIM_SIGINFO **sigs, int nsigs)
{
	struct verify_message *m = lookup_message;

	(void)dkim;
	if (m == NULL || sigs == NULL)
		return DKIM_CBSTAT_CONTINUE;
	for (int i = 0; i < nsigs && (size_t)i < m->field_count; i++) {
		const char *sel = (const char *)dkim_sig_getselector(sigs[i]);
		const char *dom = (const char *)dkim_sig_getdomain(sigs[i]);

		if (sel == NULL || dom == NULL ||
		    strlen(sel) + sizeof("._domainkey.") - 1 + strlen(dom) <= KEY_NAME_MAX)
			continue;
		dkim_sig_ignore(sigs[i]);
		if (m->fields[i].problem[0] == '\0')
			snprintf(m->fields[i].problem, sizeof(m->fields[i].problem), "the key name "
			    "s=._domainkey.d= is over %d characters", KEY_NAME_MAX);
	}
	return DKIM_CBSTAT_CONTINUE;
}

void	verify_end_of_headers(struct verify_message *m)
{
	if (m == NULL || m->failed)
		return;
	lookup_message = m;
	m->eoh_status = dkim_eoh(m->dkim);
	lookup_message = NULL;
}

void	verify_body(struct verify_message *m, const unsigned char *data, size_t len)
{
	DKIM_STAT status;

	if (m == NULL || m->failed || m->eoh_status != DKIM_STAT_OK)
		return;
	status = dkim_body(m->dkim, (unsigned char *)data, len);
	if (status != DKIM_STAT_OK) {
		log_msg(LOG_LEVEL_ERROR, "%s: libopendkim could not take the body: %s",
		    m->queue_id, dkim_getresultstr(status));
		m->failed = 1;
	}
}

static void set_result(struct verify_signature *out, enum verify_result result,
    const char *reason)
{
	out->result = result;
	snprintf(out->reason, sizeof(out->reason), "%s", reason);
}

/* 1 when the key record's k= (default rsa) names the signature's algorithm. */
static int key_type_matches(DKIM_SIGINFO *sig, dkim_alg_t alg)
{
	const unsigned char *k = dkim_sig_gettagvalue(sig, 1, (unsigned char *)"k");
	const char *want = alg == DKIM_SIGN_ED25519SHA256 ? "ed25519" : "rsa";

	if (dkim_sig_gettagvalue(sig, 1, (unsigned char *)"p") == NULL)
		return 1;	/* no key record read: nothing to compare */
	return strcasecmp(k != NULL ? (const char *)k : "rsa", want) == 0;
}

static void classify(DKIM_SIGINFO *sig, struct verify_signature *out)
{
	int	error = dkim_sig_geterror(sig);
	dkim_alg_t alg = DKIM_SIGN_UNKNOWN;
	unsigned int bits = 0;

	(void)dkim_sig_getsignalg(sig, &alg);
	(void)dkim_sig_getkeysize(sig, &bits);
	if (!key_type_matches(sig, alg)) {
		set_result(out, VERIFY_PERMERROR, "key type k= does not match a=");
	} else if (error == DKIM_SIGERROR_KEYFAIL) {
		set_result(out, VERIFY_TEMPERROR, "key lookup failed");
	} else if (DKIM_SIG_CHECK(sig)) {
		if (alg == DKIM_SIGN_RSASHA1)
			set_result(out, VERIFY_POLICY, "rsa-sha1 is not accepted (RFC 8301)");
		else if (alg == DKIM_SIGN_RSASHA256 && bits < VERIFY_MIN_KEY_BITS)
			set_result(out, VERIFY_POLICY, "RSA key under 1024 bits (RFC 8301)");
		else
			set_result(out, VERIFY_PASS, "");
	} else if (error == DKIM_SIGERROR_KEYTOOSMALL) {
		set_result(out, VERIFY_POLICY, "RSA key under 1024 bits (RFC 8301)");
	} else if (error == DKIM_SIGERROR_BADSIG) {
		set_result(out, VERIFY_FAIL, "signature did not verify");
	} else if (error == DKIM_SIGERROR_OK && dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH) {
		set_result(out, VERIFY_FAIL, "body hash did not verify");
	} else if (error != DKIM_SIGERROR_OK) {
		const char *text = dkim_sig_geterrorstr(error);

		set_result(out, VERIFY_PERMERROR, text ? text : "invalid signature");
	} else {
		set_result(out, VERIFY_NEUTRAL, "signature not checked");
	}
}

/* A status that says the library itself failed (memory), not the message: that must be
 * an internal error, never a signature verdict. */
static int library_failed(DKIM_STAT status)
{
	return status == DKIM_STAT_NORESOURCE || status == DKIM_STAT_INTERNAL;
}

/* A tag of libopendkim's reading of the signature; NULL when absent. */
static const char *sig_tag_or_null(DKIM_SIGINFO *sig, const char *name)
{
	unsigned char tag[8];

	snprintf((char *)tag, sizeof(tag), "%s", name);	/* the API wants it writable */
	return (const char *)dkim_sig_gettagvalue(sig, 0, tag);
}

/* The same, "" when absent. */
static const char *sig_tag(DKIM_SIGINFO *sig, const char *name)
{
	const char *v = sig_tag_or_null(sig, name);

	return v != NULL ? v : "";
}

/* Copies a tag value for the report, each byte outside printable ASCII (and a blank) as
 * '?'; a value that does not fit is left empty, never cut to a prefix that would name
 * another domain or selector. */
static void copy_name(char *out, size_t size, const char *value)
{
	if (!printable_copy(out, size, value, " "))
		out[0] = '\0';
}

/* 1 when libopendkim's reading has every tag the strict parse found: had it stopped at
 * an error in the field, the tags after the error would be missing.  (The converse does
 * not hold: libopendkim adds defaults for c=, q= and i=.) */
static int same_tags(DKIM_SIGINFO *sig, unsigned tags)
{
	for (size_t i = 0; i < sizeof(known_tags) / sizeof(known_tags[0]); i++)
		if (((tags >> i) & 1) && sig_tag_or_null(sig, known_tags[i]) == NULL)
			return 0;
	return 1;
}

/*
 * The result of the field at position i and libopendkim's signature sig, which is at the
 * same position of its list (NULL: the library kept none, e.g. the header block was
 * unusable).  Every reported value is libopendkim's, so a pass always names the domain and
 * selector whose key verified it.
 */
static void judge(const struct verify_message *m, const struct field *f, DKIM_SIGINFO *sig,
    struct verify_signature *out)
{
	const struct refused *refused;
	char	b[9];

	memset(out, 0, sizeof(*out));
	if (sig == NULL) {
		set_result(out, VERIFY_PERMERROR, f->problem[0] ? f->problem :
		    "the message's header cannot be verified");
		return;
	}
	copy_name(out->domain, sizeof(out->domain), sig_tag(sig, "d"));
	copy_name(out->selector, sizeof(out->selector), sig_tag(sig, "s"));
	copy_name(out->algorithm, sizeof(out->algorithm), sig_tag(sig, "a"));
	snprintf(b, sizeof(b), "%s", sig_tag(sig, "b"));
	copy_name(out->b, sizeof(out->b), b);
	if (f->problem[0] != '\0')
		set_result(out, VERIFY_PERMERROR, f->problem);
	else if (!same_tags(sig, f->tags))
		set_result(out, VERIFY_PERMERROR, "the field was not read completely");
	else if (!valid_base64(sig_tag(sig, "b")))
		set_result(out, VERIFY_PERMERROR, "b= is not base64");
	else if (!valid_dns_name(sig_tag(sig, "d")) || !valid_dns_name(sig_tag(sig, "s")))
		set_result(out, VERIFY_PERMERROR, "d= or s= is not a domain name");
	else if (dkim_sig_geterror(sig) == DKIM_SIGERROR_KEYFAIL &&
	    (refused = refused_key(m, (const char *)dkim_sig_getselector(sig),
		(const char *)dkim_sig_getdomain(sig))) != NULL)
		set_result(out, refused->result, refused->reason);
	else
		classify(sig, out);
}

int	verify_finish(struct verify_message *m, const struct verify_signature **results,
    size_t *count)
{
	DKIM_SIGINFO **sigs = NULL;
	DKIM_STAT eom_status = DKIM_STAT_OK;
	int	nsigs = 0;
	size_t	n;

	*results = NULL;
	*count = 0;
	if (m == NULL || m->failed)
		return 0;
	if (m->field_count == 0 && m->beyond_limit == 0)
		return 1;
	if (m->eoh_status == DKIM_STAT_OK) {
		lookup_message = m;
		eom_status = dkim_eom(m->dkim, NULL);
		lookup_message = NULL;
	}
	if (m->failed)			/* memory, in a DNS hook */
		return 0;
	if (library_failed(m->eoh_status) || library_failed(eom_status)) {
		const char *why = dkim_geterror(m->dkim);

		log_msg(LOG_LEVEL_ERROR, "%s: libopendkim failed at end of %s: %s%s%s",
		    m->queue_id, library_failed(m->eoh_status) ? "headers" : "message",
		    dkim_getresultstr(library_failed(m->eoh_status) ? m->eoh_status : eom_status),
		    why != NULL ? ": " : "", why != NULL ? why : "");
		return 0;
	}
	if (m->eoh_status == DKIM_STAT_OK || m->eoh_status == DKIM_STAT_SYNTAX)
		(void)dkim_getsiglist(m->dkim, &sigs, &nsigs);
	if (sigs == NULL || nsigs < 0)
		nsigs = 0;
	/* Fields and libopendkim's signatures are both in header order; pairing them by
	 * position is only sound when there are as many of each. */
	if (nsigs != 0 && (size_t)nsigs != m->field_count) {
		log_msg(LOG_LEVEL_ERROR, "%s: libopendkim kept %d signatures for %zu fields",
		    m->queue_id, nsigs, m->field_count);
		return 0;
	}
	n = m->field_count + (m->beyond_limit > 0);
	if ((m->results = mem_calloc(n, sizeof(*m->results))) == NULL)
		return 0;
	for (size_t i = 0; i < m->field_count; i++)
		judge(m, &m->fields[i], nsigs ? sigs[i] : NULL, &m->results[i]);
	if (m->beyond_limit > 0) {
		char	reason[96];

		snprintf(reason, sizeof(reason), "%zu more signature%s not checked: over "
		    "MaximumSignatures", m->beyond_limit, m->beyond_limit == 1 ? "" : "s");
		set_result(&m->results[m->field_count], VERIFY_POLICY, reason);
	}
	*results = m->results;
	*count = n;
	return 1;
}

void	verify_free(struct verify_message *m)
{
	if (m == NULL)
		return;
	if (m->dkim != NULL)
		dkim_free(m->dkim);
	free(m->fields);
	free(m->refused);
	free(m->results);
	free(m);
}

const char *verify_result_name(enum verify_result result)
{
	static const char *const names[] = {
		"none", "pass", "fail", "neutral", "policy", "temperror", "permerror",
	};

	return (unsigned)result < sizeof(names) / sizeof(names[0]) ? names[result] : "permerror";
}
