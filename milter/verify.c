/*
 * NAME
 *	verify.c - DKIM verification with libopendkim, its key lookups through dns.c
 * DESCRIPTION
 *	libopendkim does the canonicalization, hashing and signature checks.  Around it:
 *
 *	DNS.  Its dkim_dns_set_* hooks route every key query through Signet's resolver.
 *	libopendkim looks keys up synchronously, in the thread that calls dkim_eoh() or
 *	dkim_eom(), and its hooks carry no per-message context, so the message's DNS budget
 *	is handed to the hooks in a thread-local pointer set around exactly those two calls.
 *	The start hook resolves at once and copies the wire-format reply into libopendkim's
 *	buffer; the wait hook reports it, or DKIM_DNS_ERROR when there is none (timeout,
 *	SERVFAIL, budget), which libopendkim turns into a key-retrieval failure: temperror.
 *
 *	One result per signature.  OpenDKIM writes nothing for a malformed DKIM-Signature
 *	(DEPENDENCIES.md), but RFC 8601 wants a result per signature.  So every
 *	DKIM-Signature field is recorded here as it passes, with d=, s=, a= and b= read
 *	leniently, and matched after dkim_eom() with libopendkim's signature list by its b=
 *	value; a field libopendkim kept no signature for is a permerror.  Fields past
 *	MaximumSignatures are not given to libopendkim at all (no DNS spent on them) and are
 *	reported as policy.
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

#include "milter/canon.h"
#include "milter/log.h"
#include "milter/verify.h"

#define VERIFY_MIN_KEY_BITS 1024

struct verifier {
	DKIM_LIB *lib;
	struct dns_resolver *dns;
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

/* Labels of letters, digits, '-' and '_', separated by single dots. */
static int valid_dns_name(const char *s)
{
	size_t	label = 0;

	if (*s == '\0' || strlen(s) > 253)
		return 0;
	for (; *s; s++) {
		if (*s == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (isalnum((unsigned char)*s) || *s == '-' || *s == '_') {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0;
}

/* One DKIM-Signature header field as seen. */
struct seen_signature {
	struct verify_signature out;
	char	b_full[2800];		/* b= without blanks (16384-bit RSA fits), to match */
	int	b_too_long;		/* b_full holds only a prefix: cannot be valid */
	int	beyond_limit;		/* past MaximumSignatures: not verified */
};

struct verify_message {
	struct verifier *verifier;
	struct dns_budget *budget;
	DKIM   *dkim;
	DKIM_STAT eoh_status;
	int	failed;
	size_t	max_signatures;
	size_t	fed_signatures;
	struct seen_signature *seen;
	size_t	seen_count;
	struct verify_signature *results;
	char	queue_id[64];
};

static __thread struct dns_budget *lookup_budget;

/* ---- DNS hooks ------------------------------------------------------------------------ */

struct lookup {
	int	ok;
	size_t	len;
	int	dnssec;
};

static int dns_hook_start(void *service, int type, unsigned char *name, unsigned char *buf,
    size_t buflen, void **handle)
{
	struct verifier *v = service;
	struct lookup *q = calloc(1, sizeof(*q));
	struct dns_answer *answer = NULL;
	enum dns_status status;

	if (q == NULL)
		return DKIM_DNS_ERROR;
	*handle = q;
	if (lookup_budget == NULL)
		return DKIM_DNS_SUCCESS;	/* no budget: no lookups (q->ok stays 0) */
	status = dns_query(v->dns, lookup_budget, (const char *)name, type, &answer);
	if (answer != NULL && answer->packet != NULL && answer->packet_len > 0 &&
	    status != DNS_TEMPFAIL && status != DNS_BOGUS) {
		q->len = answer->packet_len < buflen ? answer->packet_len : buflen;
		memcpy(buf, answer->packet, q->len);
		q->ok = 1;
		q->dnssec = answer->secure ? DKIM_DNSSEC_SECURE : DKIM_DNSSEC_INSECURE;
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
	struct verify_message *m = calloc(1, sizeof(*m));
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

/* Copies a tag value into out without its folding whitespace, each other byte outside
 * printable ASCII as '?', so that what is reported is what the signature says and can
 * be written into a header.  0 when the value did not fit: out then holds a prefix. */
static int copy_token(char *out, size_t size, const char *value, size_t len)
{
	size_t	n = 0;
	int	fits = 1;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (n + 1 >= size) {
			fits = 0;
			break;
		}
		out[n++] = c > 32 && c < 127 ? (char)c : '?';
	}
	out[n] = '\0';
	return fits;
}

/* A name tag: a value that does not fit is left empty, never cut to a prefix that would
 * name another domain or selector. */
static void copy_name(char *out, size_t size, const char *value, size_t len)
{
	if (!copy_token(out, size, value, len))
		out[0] = '\0';
}

/* Reads d=, s=, a= and b= from a DKIM-Signature value, leniently: tags it cannot read stay
 * empty.  The signature's fate is libopendkim's to decide. */
static void read_tags(struct seen_signature *s, const char *value)
{
	const char *p = value;

	while (*p) {
		const char *end = strchr(p, ';'), *eq;
		size_t	len = end ? (size_t)(end - p) : strlen(p);

		while (len > 0 && isspace((unsigned char)*p)) {
			p++;
			len--;
		}
		eq = memchr(p, '=', len);
		if (eq != NULL) {
			size_t	name_len = (size_t)(eq - p);
			const char *val = eq + 1;
			size_t	val_len = len - name_len - 1;

			while (name_len > 0 && isspace((unsigned char)p[name_len - 1]))
				name_len--;
			if (name_len == 1 && *p == 'd')
				copy_name(s->out.domain, sizeof(s->out.domain), val, val_len);
			else if (name_len == 1 && *p == 's')
				copy_name(s->out.selector, sizeof(s->out.selector), val, val_len);
			else if (name_len == 1 && *p == 'a')
				copy_name(s->out.algorithm, sizeof(s->out.algorithm), val, val_len);
			else if (name_len == 1 && *p == 'b')
				s->b_too_long = !copy_token(s->b_full, sizeof(s->b_full), val,
				    val_len);
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	snprintf(s->out.b, sizeof(s->out.b), "%.8s", s->b_full);
}

static int remember_signature(struct verify_message *m, const char *value)
{
	struct seen_signature *grown = realloc(m->seen, (m->seen_count + 1) * sizeof(*grown));

	if (grown == NULL)
		return 0;
	m->seen = grown;
	struct seen_signature *s = &m->seen[m->seen_count++];
	memset(s, 0, sizeof(*s));
	read_tags(s, value);
	s->beyond_limit = m->fed_signatures >= m->max_signatures;
	if (!s->beyond_limit)
		m->fed_signatures++;
	return 1;
}

void	verify_header(struct verify_message *m, const char *name, const char *value)
{
	struct buffer line = {0};

	if (m == NULL || m->failed)
		return;
	if (strcasecmp(name, "DKIM-Signature") == 0) {
		if (!remember_signature(m, value)) {
			m->failed = 1;
			return;
		}
		if (m->seen[m->seen_count - 1].beyond_limit)
			return;
	}
	if (!header_canon(&line, CANON_SIMPLE, name, value, 0)) {
		m->failed = 1;
		return;
	}
	(void)dkim_header(m->dkim, (unsigned char *)line.data, line.len);
	buffer_free(&line);
}

void	verify_end_of_headers(struct verify_message *m)
{
	if (m == NULL || m->failed)
		return;
	lookup_budget = m->budget;
	m->eoh_status = dkim_eoh(m->dkim);
	lookup_budget = NULL;
}

void	verify_body(struct verify_message *m, const unsigned char *data, size_t len)
{
	if (m == NULL || m->failed || m->eoh_status != DKIM_STAT_OK)
		return;
	(void)dkim_body(m->dkim, (unsigned char *)data, len);
}

/* b= of a libopendkim signature, without blanks. */
static void sig_b_value(DKIM_SIGINFO *sig, char *out, size_t size)
{
	const unsigned char *b = dkim_sig_gettagvalue(sig, 0, (unsigned char *)"b");

	(void)copy_token(out, size, b ? (const char *)b : "", b ? strlen((const char *)b) : 0);
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

/* The libopendkim signature for a seen field: by b=, else by position. */
static DKIM_SIGINFO *match_signature(DKIM_SIGINFO **sigs, int nsigs, const char *b_full,
    size_t position, unsigned char *used)
{
	char	b[2800];

	for (int i = 0; i < nsigs; i++) {
		if (used[i])
			continue;
		sig_b_value(sigs[i], b, sizeof(b));
		if (b_full[0] != '\0' && strcmp(b, b_full) == 0) {
			used[i] = 1;
			return sigs[i];
		}
	}
	if (b_full[0] == '\0' && position < (size_t)nsigs && !used[position]) {
		used[position] = 1;
		return sigs[position];
	}
	return NULL;
}

int	verify_finish(struct verify_message *m, const struct verify_signature **results,
    size_t *count)
{
	DKIM_SIGINFO **sigs = NULL;
	int	nsigs = 0;
	unsigned char *used;

	*results = NULL;
	*count = 0;
	if (m == NULL || m->failed)
		return 0;
	if (m->seen_count == 0)
		return 1;
	if (m->eoh_status == DKIM_STAT_OK) {
		lookup_budget = m->budget;
		(void)dkim_eom(m->dkim, NULL);
		lookup_budget = NULL;
	}
	if (m->eoh_status == DKIM_STAT_OK || m->eoh_status == DKIM_STAT_SYNTAX)
		(void)dkim_getsiglist(m->dkim, &sigs, &nsigs);
	if (sigs == NULL)
		nsigs = 0;
	if ((m->results = calloc(m->seen_count, sizeof(*m->results))) == NULL ||
	    (used = calloc((size_t)nsigs + 1, 1)) == NULL)
		return 0;
	for (size_t i = 0, fed = 0; i < m->seen_count; i++) {
		struct seen_signature *s = &m->seen[i];

		m->results[i] = s->out;
		if (s->beyond_limit) {
			set_result(&m->results[i], VERIFY_POLICY, "over MaximumSignatures, not checked");
			continue;
		}
		DKIM_SIGINFO *sig = match_signature(sigs, nsigs, s->b_full, fed++, used);
		if (sig == NULL)
			set_result(&m->results[i], VERIFY_PERMERROR, "malformed signature");
		else if (s->b_too_long || !valid_base64(s->b_full))
			set_result(&m->results[i], VERIFY_PERMERROR, "b= is not base64");
		else if (!valid_dns_name(s->out.domain) || !valid_dns_name(s->out.selector))
			set_result(&m->results[i], VERIFY_PERMERROR, "d= or s= is not a domain name");
		else
			classify(sig, &m->results[i]);
	}
	free(used);
	*results = m->results;
	*count = m->seen_count;
	return 1;
}

void	verify_free(struct verify_message *m)
{
	if (m == NULL)
		return;
	if (m->dkim != NULL)
		dkim_free(m->dkim);
	free(m->seen);
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
