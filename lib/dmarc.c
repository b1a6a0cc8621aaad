/*
 * NAME
 *	dmarc.c - DMARC policy discovery and identifier alignment (RFC 9989)
 * DESCRIPTION
 *	One evaluation keeps a small table of the _dmarc names it has asked about (struct
 *	eval), so the tree walks for the Author Domain and for each identifier share their
 *	common upper names instead of asking twice.  A walk (section 4.10) keeps only the
 *	names where exactly one DMARC record was found, longest first; it stops at the
 *	first record with psd=y or psd=n, so such a record can only be the last one, and
 *	the selection rules of section 4.10.2 reduce to looking at that last record.
 *
 *	Everything that is optional is lazy: the Author Domain's Organizational Domain is
 *	found on the first relaxed comparison that needs it, an identifier's only when
 *	that Organizational Domain is a suffix of it (an Organizational Domain is always a
 *	suffix of its domain, so otherwise they cannot be equal), and existence for np=
 *	only for a message that did not pass.
 *
 *	A DNS failure is final where it hides the policy; in an alignment check it matters
 *	only when no other identifier is aligned (section 5.3.6).  So does an SPF or DKIM
 *	check that ended in temperror: its identifier is compared with the Author Domain
 *	only when nothing passed aligned, and leaves the result open only if it could have
 *	aligned had the check passed.
 * SEE ALSO
 *	dmarc.h, dmarcrecord.c, lib/domain.h, RFC 9989 sections 4.10, 4.10.1, 4.10.2, 5.3
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpsl.h>

#include "lib/alloc.h"
#include "lib/domain.h"
#include "lib/printable.h"
#include "lib/dmarc.h"

#define WALK_MAX_QUERIES	8	/* section 4.10: at most eight queries */
#define WALK_JUMP_LABELS	7	/* longer names jump to their last seven labels */
#define CACHE_SIZE		32

struct dmarc_psl {
	psl_ctx_t *ctx;
};

enum found {
	FOUND_NONE,		/* no record, no DMARC record, or several */
	FOUND_RECORD,		/* exactly one DMARC record */
	FOUND_FAILED,		/* the lookup failed */
};

/* What _dmarc.<domain> holds. */
struct lookup {
	char	domain[DMARC_DOMAIN_MAX];
	enum found found;
	enum dns_status status;		/* FOUND_FAILED: why */
	int	several;		/* FOUND_NONE because of several DMARC records */
	struct dmarc_record rec;	/* FOUND_RECORD */
};

struct eval {
	const struct dmarc_dns *dns;
	struct lookup cache[CACHE_SIZE];
	size_t	cached;
};

/* The records one tree walk found, longest name first. */
struct walk {
	struct lookup records[WALK_MAX_QUERIES];
	size_t	count;
};

struct policy {
	int	found;
	struct dmarc_record rec;
	char	domain[DMARC_DOMAIN_MAX];	/* where rec was found */
	char	org[DMARC_DOMAIN_MAX];		/* of the Author Domain; "" until needed */
	int	several;			/* the Author Domain had several records */
};

static void copy_string(char *out, size_t size, const char *in)
{
	if (size > 0)
		snprintf(out, size, "%s", in);
}

/* Lowercases a host name into out, without its final dot (lib/domain.c: LDH labels, and
 * "_" as in the names found in mail).  Returns its label count, 0 if unusable. */
static int domain_normalize(const char *in, char out[DMARC_DOMAIN_MAX])
{
	if (in == NULL)
		return 0;
	return domain_check(in, strnlen(in, DMARC_DOMAIN_MAX + 1),
	    DOMAIN_UNDERSCORE | DOMAIN_FINAL_DOT, out, DMARC_DOMAIN_MAX);
}

static int count_labels(const char *domain)
{
	int	labels = 1;

	for (; *domain != '\0'; domain++)
		labels += *domain == '.';
	return labels;
}

/* The last keep labels of a normalized domain. */
static const char *last_labels(const char *domain, int keep)
{
	int	labels = count_labels(domain);

	while (labels > keep && labels > 1) {
		domain = strchr(domain, '.') + 1;
		labels--;
	}
	return domain;
}

/* domain is suffix, or ends with "." suffix. */
static int is_label_suffix(const char *domain, const char *suffix)
{
	size_t	dn = strlen(domain), sn = strlen(suffix);

	if (dn == sn)
		return strcmp(domain, suffix) == 0;
	return dn > sn && domain[dn - sn - 1] == '.' && strcmp(domain + dn - sn, suffix) == 0;
}

static void release_txt(const struct dmarc_dns *dns, struct dns_txt *txt)
{
	if (txt == NULL)
		return;
	if (dns->txt_free != NULL)
		dns->txt_free(dns->ctx, txt);
	else
		dns_txt_free(txt);
}

/* Sections 4.10 steps 2 and 6: keep a name's record only if it is the one DMARC record
 * there. */
static void classify_txt(const struct dns_txt *txt, struct lookup *out)
{
	struct dmarc_record rec;
	size_t	i, records = 0;

	for (i = 0; i < txt->count; i++) {
		if (txt->records[i] != NULL &&
		    dmarc_record_parse(txt->records[i], txt->lengths[i], &rec, NULL, 0)) {
			records++;
			out->rec = rec;
		}
	}
	out->found = records == 1 ? FOUND_RECORD : FOUND_NONE;
	out->several = records > 1;
}

static void query_record(const struct dmarc_dns *dns, const char *domain, struct lookup *out)
{
	char	name[DMARC_DOMAIN_MAX + 8];
	struct dns_txt *txt = NULL;
	enum dns_status status;

	memset(out, 0, sizeof(*out));
	copy_string(out->domain, sizeof(out->domain), domain);
	out->found = FOUND_NONE;
	if (strlen(domain) + sizeof("_dmarc.") - 1 >= DMARC_DOMAIN_MAX)
		return;			/* too long a name to exist */
	snprintf(name, sizeof(name), "_dmarc.%s", domain);
	status = dns->txt(dns->ctx, name, &txt);
	if (status == DNS_OK && txt != NULL)
		classify_txt(txt, out);
	else if (status != DNS_OK && status != DNS_NODATA && status != DNS_NXDOMAIN) {
		out->found = FOUND_FAILED;
		out->status = status;
	}
	release_txt(dns, txt);
}

/* What _dmarc.<domain> holds, asking the DNS only the first time. */
static void fetch(struct eval *ev, const char *domain, struct lookup *out)
{
	size_t	i;

	for (i = 0; i < ev->cached; i++) {
		if (strcmp(ev->cache[i].domain, domain) == 0) {
			*out = ev->cache[i];
			return;
		}
	}
	query_record(ev->dns, domain, out);
	if (ev->cached < CACHE_SIZE)
		ev->cache[ev->cached++] = *out;
}

/* Section 4.10: domain, then its last seven labels if it has eight or more, else its
 * parent, and on up to the top-level domain.  0 on a DNS failure (*failed says which). */
static int tree_walk(struct eval *ev, const char *domain, struct walk *out,
	    enum dns_status *failed)
{
	int	labels = count_labels(domain);
	const char *target = domain;
	struct lookup l;

	out->count = 0;
	for (;;) {
		fetch(ev, target, &l);
		if (l.found == FOUND_FAILED) {
			*failed = l.status;
			return 0;
		}
		if (l.found == FOUND_RECORD) {
			out->records[out->count++] = l;
			if (l.rec.psd != DMARC_PSD_U)
				return 1;
		}
		if (labels == 1)
			return 1;
		labels = labels > WALK_JUMP_LABELS ? WALK_JUMP_LABELS : labels - 1;
		target = last_labels(domain, labels);
	}
}

/* Section 4.10.2: psd=n names itself; psd=y (unless at the starting domain) names the
 * domain one label below it; otherwise the record with the fewest labels; with no
 * record, the starting domain. */
static void select_org(const char *domain, const struct walk *w, char *out, size_t size)
{
	const struct lookup *last;

	if (w->count == 0) {
		copy_string(out, size, domain);
		return;
	}
	last = &w->records[w->count - 1];
	if (last->rec.psd == DMARC_PSD_Y && strcmp(last->domain, domain) != 0)
		copy_string(out, size, last_labels(domain, count_labels(last->domain) + 1));
	else
		copy_string(out, size, last->domain);
}

static void psl_org(const struct dmarc_psl *psl, const char *domain, char *out, size_t size)
{
	const char *registrable = psl_registrable_domain(psl->ctx, domain);

	copy_string(out, size, registrable != NULL ? registrable : domain);
}

static int org_of(struct eval *ev, const char *domain, char *out, size_t size,
	    enum dns_status *failed)
{
	struct walk w;

	if (ev->dns->psl != NULL) {
		psl_org(ev->dns->psl, domain, out, size);
		return 1;
	}
	if (!tree_walk(ev, domain, &w, failed))
		return 0;
	select_org(domain, &w, out, size);
	return 1;
}

static void policy_from(struct policy *pol, const struct lookup *l)
{
	pol->found = 1;
	pol->rec = l->rec;
	copy_string(pol->domain, sizeof(pol->domain), l->domain);
}

/* Section 4.10.1: the Author Domain's record, else its Organizational Domain's, else
 * that of the Public Suffix Domain the walk stopped at. */
static int discover_walk(struct eval *ev, const char *author, struct policy *pol,
	    enum dns_status *failed)
{
	struct lookup l;
	struct walk w;
	size_t	i;

	fetch(ev, author, &l);
	if (l.found == FOUND_FAILED) {
		*failed = l.status;
		return 0;
	}
	pol->several = l.several;
	if (l.found == FOUND_RECORD) {
		policy_from(pol, &l);
		if (l.rec.psd != DMARC_PSD_U)	/* the walk would stop right here */
			copy_string(pol->org, sizeof(pol->org), author);
		return 1;
	}
	if (!tree_walk(ev, author, &w, failed))
		return 0;
	select_org(author, &w, pol->org, sizeof(pol->org));
	for (i = 0; i < w.count; i++)
		if (strcmp(w.records[i].domain, pol->org) == 0)
			policy_from(pol, &w.records[i]);
	if (!pol->found && w.count > 0 && w.records[w.count - 1].rec.psd == DMARC_PSD_Y)
		policy_from(pol, &w.records[w.count - 1]);
	return 1;
}

/* RFC 7489 section 6.6.3: the Author Domain's record, else its Organizational
 * Domain's by the public suffix list. */
static int discover_psl(struct eval *ev, const char *author, struct policy *pol,
	    enum dns_status *failed)
{
	struct lookup l;

	fetch(ev, author, &l);
	if (l.found == FOUND_FAILED) {
		*failed = l.status;
		return 0;
	}
	pol->several = l.several;
	psl_org(ev->dns->psl, author, pol->org, sizeof(pol->org));
	if (l.found == FOUND_RECORD) {
		policy_from(pol, &l);
		return 1;
	}
	if (strcmp(pol->org, author) == 0)
		return 1;
	fetch(ev, pol->org, &l);
	if (l.found == FOUND_FAILED) {
		*failed = l.status;
		return 0;
	}
	if (l.found == FOUND_RECORD)
		policy_from(pol, &l);
	return 1;
}

/* Section 4.10.1: a record without a valid p=, or with an invalid sp= or np=, counts
 * as "p=none" if it has a valid rua=, and is not applied at all otherwise. */
static int record_usable(struct dmarc_record *rec)
{
	if (rec->p_state == DMARC_TAG_VALID && rec->sp_state != DMARC_TAG_INVALID &&
	    rec->np_state != DMARC_TAG_INVALID)
		return 1;
	if (!rec->has_rua)
		return 0;
	rec->p = DMARC_POLICY_NONE;
	rec->p_state = DMARC_TAG_VALID;
	rec->sp_state = rec->np_state = DMARC_TAG_ABSENT;
	return 1;
}

/* 1 aligned, 0 not, -1 a DNS failure leaves it open (*failed says which). */
static int aligned(struct eval *ev, struct policy *pol, const char *author, int strict,
	    const char *identifier, enum dns_status *failed)
{
	char	id[DMARC_DOMAIN_MAX], id_org[DMARC_DOMAIN_MAX];

	if (!domain_normalize(identifier, id))
		return 0;
	if (strcmp(id, author) == 0)
		return 1;
	if (strict)
		return 0;
	if (pol->org[0] == '\0' && !org_of(ev, author, pol->org, sizeof(pol->org), failed)) {
		pol->org[0] = '\0';
		return -1;
	}
	if (!is_label_suffix(id, pol->org))
		return 0;
	if (!org_of(ev, id, id_org, sizeof(id_org), failed))
		return -1;
	return strcmp(id_org, pol->org) == 0;
}

/* Why an alignment check left the result open (section 5.3.6). */
struct undecided {
	enum dns_status failed;		/* an Organizational Domain lookup failed */
	const char *method;		/* else "DKIM" or "SPF": that check did not complete */
	const char *domain;		/* and its domain could have aligned */
};

/* An identifier whose check did not complete (temperror): it matters only if it could
 * have aligned.  0 if it could not; else 1 with why filled (first one only). */
static int could_align(struct eval *ev, struct policy *pol, const char *author, int strict,
	    const char *method, const char *identifier, struct undecided *why)
{
	enum dns_status failed = DNS_OK;
	int	a = aligned(ev, pol, author, strict, identifier, &failed);

	if (a == 0)
		return 0;
	if (why->method == NULL && why->failed == DNS_OK) {
		why->method = method;
		why->domain = identifier;
		why->failed = a < 0 ? failed : DNS_OK;
	}
	return 1;
}

/* 1 pass, 0 fail, -1 undecided: no aligned pass, and a DNS failure on the way or an
 * identifier whose check did not complete could have aligned (*why says which). */
static int check_alignment(struct eval *ev, const struct dmarc_input *in, struct policy *pol,
	    const char *author, struct dmarc_verdict *out, const char **which,
	    struct undecided *why)
{
	int	undecided = 0, a = 0;
	size_t	i;

	if (in->spf_pass && in->spf_domain != NULL) {
		a = aligned(ev, pol, author, pol->rec.aspf_strict, in->spf_domain, &why->failed);
		out->spf_aligned = a == 1;
		undecided |= a < 0;
	}
	for (i = 0; i < in->dkim_count && !out->dkim_aligned; i++) {
		if (!in->dkim[i].pass || in->dkim[i].domain == NULL)
			continue;
		a = aligned(ev, pol, author, pol->rec.adkim_strict, in->dkim[i].domain,
		    &why->failed);
		if (a == 1) {
			out->dkim_aligned = 1;
			*which = in->dkim[i].domain;
		}
		undecided |= a < 0;
	}
	if (out->spf_aligned || out->dkim_aligned)
		return 1;
	if (in->spf_temperror && in->spf_domain != NULL)
		undecided |= could_align(ev, pol, author, pol->rec.aspf_strict, "SPF",
		    in->spf_domain, why);
	for (i = 0; i < in->dkim_count; i++)
		if (in->dkim[i].temperror && !in->dkim[i].pass && in->dkim[i].domain != NULL)
			undecided |= could_align(ev, pol, author, pol->rec.adkim_strict, "DKIM",
			    in->dkim[i].domain, why);
	return undecided ? -1 : 0;
}

static void set_tag(struct dmarc_verdict *out, const char *tag, enum dmarc_policy policy)
{
	copy_string(out->policy_tag, sizeof(out->policy_tag), tag);
	out->policy = policy;
}

/* Section 4.10.1: "p" at the Author Domain; below it "np" if the Author Domain does not
 * exist and np= is given, else "sp" if given, else "p".  0 if existence is unknown. */
static int choose_policy(struct eval *ev, const struct policy *pol, const char *author,
	    int ask_existence, struct dmarc_verdict *out, enum dns_status *failed)
{
	const struct dmarc_record *r = &pol->rec;
	enum dns_status status;

	if (strcmp(pol->domain, author) == 0) {
		set_tag(out, "p", r->p);
		return 1;
	}
	if (r->np_state == DMARC_TAG_VALID && ask_existence && ev->dns->exists != NULL) {
		status = ev->dns->exists(ev->dns->ctx, author);
		if (status == DNS_NXDOMAIN) {
			set_tag(out, "np", r->np);
			return 1;
		}
		if (status != DNS_OK && status != DNS_NODATA) {
			*failed = status;
			return 0;
		}
	}
	if (r->sp_state == DMARC_TAG_VALID)
		set_tag(out, "sp", r->sp);
	else
		set_tag(out, "p", r->p);
	return 1;
}

__attribute__((format(printf, 2, 3)))
static void set_reason(struct dmarc_verdict *out, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
	printable_in_place(out->reason, NULL);
}

static void set_undecided(struct dmarc_verdict *out, const struct undecided *why)
{
	char	shown[DMARC_DOMAIN_MAX];
	int	dkim = why->method != NULL && strcmp(why->method, "DKIM") == 0;

	out->result = DMARC_RESULT_TEMPERROR;
	if (why->method == NULL) {
		set_reason(out, "DNS %s finding an Organizational Domain",
		    dns_status_name(why->failed));
		return;
	}
	domain_normalize(why->domain, shown);
	if (why->failed != DNS_OK)
		set_reason(out, "DNS %s finding whether the %s temperror aligns: %s%s",
		    dns_status_name(why->failed), why->method, dkim ? "d=" : "", shown);
	else
		set_reason(out, "no aligned pass; %s temperror could have aligned: %s%s",
		    why->method, dkim ? "d=" : "", shown);
}

static void decide(struct eval *ev, const struct dmarc_input *in, struct policy *pol,
	    const char *author, struct dmarc_verdict *out)
{
	struct undecided why = { DNS_OK, NULL, NULL };
	enum dns_status failed = DNS_OK;
	const char *dkim_domain = "";
	char	shown[DMARC_DOMAIN_MAX];
	int	pass = check_alignment(ev, in, pol, author, out, &dkim_domain, &why);

	copy_string(out->org_domain, sizeof(out->org_domain), pol->org);
	out->record = pol->rec;
	out->found_by_psl = ev->dns->psl != NULL;
	if (!choose_policy(ev, pol, author, pass == 0, out, &failed)) {
		out->result = DMARC_RESULT_TEMPERROR;
		set_reason(out, "DNS %s testing whether %s exists (np=)",
		    dns_status_name(failed), author);
	} else if (pass == 1) {
		out->result = DMARC_RESULT_PASS;
		domain_normalize(out->dkim_aligned ? dkim_domain : in->spf_domain, shown);
		set_reason(out, out->dkim_aligned ? "aligned DKIM d=%s" : "aligned SPF %s", shown);
	} else if (pass < 0) {
		set_undecided(out, &why);
	} else {
		out->result = DMARC_RESULT_FAIL;
		set_reason(out, "no aligned identifier; %s=%s%s at %s", out->policy_tag,
		    dmarc_policy_name(out->policy), out->testing ? " (t=y)" : "", pol->domain);
	}
}

int	dmarc_evaluate(const struct dmarc_dns *dns, const struct dmarc_input *in,
	    struct dmarc_verdict *out)
{
	struct eval ev;
	struct policy pol;
	char	author[DMARC_DOMAIN_MAX];
	enum dns_status failed = DNS_OK;
	int	found = 0;

	if (dns == NULL || dns->txt == NULL || in == NULL || out == NULL ||
	    (in->dkim_count > 0 && in->dkim == NULL))
		return 0;
	memset(out, 0, sizeof(*out));
	if (!domain_normalize(in->from_domain, author)) {
		out->result = DMARC_RESULT_PERMERROR;
		set_reason(out, "the From domain is not a usable domain name");
		return 1;
	}
	memset(&pol, 0, sizeof(pol));
	ev.dns = dns;
	ev.cached = 0;
	found = dns->psl ? discover_psl(&ev, author, &pol, &failed) :
	    discover_walk(&ev, author, &pol, &failed);
	if (!found) {
		out->result = DMARC_RESULT_TEMPERROR;
		set_reason(out, "DNS %s looking up the DMARC policy of %s",
		    dns_status_name(failed), author);
		return 1;
	}
	if (!pol.found) {
		out->result = DMARC_RESULT_NONE;
		set_reason(out, pol.several ? "several DMARC records for %s" :
		    "no DMARC policy record for %s", author);
		return 1;
	}
	copy_string(out->policy_domain, sizeof(out->policy_domain), pol.domain);
	if (!record_usable(&pol.rec)) {
		out->result = DMARC_RESULT_NONE;
		set_reason(out, "the DMARC record of %s has no valid policy and no rua=",
		    pol.domain);
		return 1;
	}
	out->testing = pol.rec.testing;
	decide(&ev, in, &pol, author, out);
	return 1;
}

int	dmarc_org_domain(const struct dmarc_dns *dns, const char *domain, char *out,
	    size_t size, enum dns_status *status)
{
	struct eval ev;
	char	d[DMARC_DOMAIN_MAX], org[DMARC_DOMAIN_MAX];
	enum dns_status failed = DNS_ERROR;

	if (status != NULL)
		*status = DNS_ERROR;
	if (dns == NULL || (dns->txt == NULL && dns->psl == NULL) || out == NULL ||
	    !domain_normalize(domain, d))
		return 0;
	ev.dns = dns;
	ev.cached = 0;
	if (!org_of(&ev, d, org, sizeof(org), &failed)) {
		if (status != NULL)
			*status = failed;
		return 0;
	}
	if (strlen(org) >= size)
		return 0;
	copy_string(out, size, org);
	if (status != NULL)
		*status = DNS_OK;
	return 1;
}

/* Section 4.7, tag t: under t=y the Domain Owner expects failing mail to get the policy
 * one level below the published one, not no policy at all. */
enum dmarc_policy dmarc_policy_evaluated(const struct dmarc_verdict *v)
{
	if (v->policy_tag[0] == '\0')
		return DMARC_POLICY_NONE;
	if (!v->testing)
		return v->policy;
	return v->policy == DMARC_POLICY_REJECT ? DMARC_POLICY_QUARANTINE : DMARC_POLICY_NONE;
}

enum dmarc_policy dmarc_policy_to_apply(const struct dmarc_verdict *v)
{
	return v->result == DMARC_RESULT_FAIL ? dmarc_policy_evaluated(v) : DMARC_POLICY_NONE;
}

const char *dmarc_result_name(enum dmarc_result result)
{
	switch (result) {
	case DMARC_RESULT_NONE: return "none";
	case DMARC_RESULT_PASS: return "pass";
	case DMARC_RESULT_FAIL: return "fail";
	case DMARC_RESULT_TEMPERROR: return "temperror";
	case DMARC_RESULT_PERMERROR: return "permerror";
	}
	return "permerror";
}

/* ---- the public suffix list (PSL mode) ---------------------------------------------- */

struct dmarc_psl *dmarc_psl_load(const char *path, char *err, size_t errlen)
{
	struct dmarc_psl *psl;
	psl_ctx_t *ctx;
	FILE   *fp;

	if (path == NULL || *path == '\0') {
		copy_string(err, errlen, "no public suffix list file given");
		return NULL;
	}
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "cannot open the public suffix list %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	ctx = psl_load_fp(fp);
	fclose(fp);
	if (ctx == NULL || psl_suffix_count(ctx) == 0) {
		psl_free(ctx);
		snprintf(err, errlen, "%s is not a public suffix list (no rules read)", path);
		return NULL;
	}
	if ((psl = mem_malloc(sizeof(*psl))) == NULL) {
		psl_free(ctx);
		copy_string(err, errlen, "out of memory loading the public suffix list");
		return NULL;
	}
	psl->ctx = ctx;
	return psl;
}

void	dmarc_psl_free(struct dmarc_psl *psl)
{
	if (psl == NULL)
		return;
	psl_free(psl->ctx);
	free(psl);
}

/* ---- Signet's resolver -------------------------------------------------------------- */

static enum dns_status resolver_txt(void *ctx, const char *name, struct dns_txt **out)
{
	const struct dmarc_dns *dns = ctx;
	enum dns_status status;

	*out = NULL;
	status = dns_query_txt(dns->resolver, dns->budget, name, out);
	if (status != DNS_OK && *out != NULL) {
		dns_txt_free(*out);
		*out = NULL;
	}
	return status;
}

static void resolver_txt_free(void *ctx, struct dns_txt *txt)
{
	(void)ctx;
	dns_txt_free(txt);
}

/* RFC 9989 appendix A.4 and RFC 8020: a name exists unless the answer is NXDOMAIN,
 * whatever type was asked; NODATA means it exists.  One query of type A is enough. */
static enum dns_status resolver_exists(void *ctx, const char *domain)
{
	const struct dmarc_dns *dns = ctx;
	struct dns_answer *answer = NULL;
	enum dns_status status;

	status = dns_query(dns->resolver, dns->budget, domain, DNS_TYPE_A, &answer);
	if (answer != NULL)
		dns_answer_free(answer);
	return status == DNS_NODATA ? DNS_OK : status;
}

void	dmarc_dns_from_resolver(struct dmarc_dns *out, struct dns_resolver *resolver,
	    struct dns_budget *budget)
{
	memset(out, 0, sizeof(*out));
	out->txt = resolver_txt;
	out->exists = resolver_exists;
	out->txt_free = resolver_txt_free;
	out->ctx = out;
	out->psl = NULL;
	out->resolver = resolver;
	out->budget = budget;
}
