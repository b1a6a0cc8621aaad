/*
 * NAME
 *	dmarc.h - DMARC policy discovery and identifier alignment (RFC 9989)
 * SYNOPSIS
 *	#include "lib/dmarc.h"
 *
 *	struct dmarc_dns dns;
 *	struct dmarc_verdict v;
 *
 *	dmarc_dns_from_resolver(&dns, resolver, &budget);
 *	dns.psl = psl;				(NULL: the DNS Tree Walk)
 *	if (!dmarc_evaluate(&dns, &input, &v))
 *		... internal error ...
 * DESCRIPTION
 *	dmarc_evaluate() takes the Author Domain (the domain of the one RFC5322.From
 *	address) and the results of SPF and DKIM, finds the DMARC Policy Record that
 *	applies, checks identifier alignment and fills a verdict.  It knows no milter,
 *	no message and no resolver library: DNS comes through struct dmarc_dns, which
 *	dmarc_dns_from_resolver() wires to Signet's resolver (dns.h) and unit tests fill
 *	with a fake.
 *
 *	Before calling it, the caller decides what DMARC cannot decide (RFC 9989 sections
 *	4.2 and 5.3.1): a message with no From header field, several From fields, or a
 *	mailbox without a usable domain gets dmarc=permerror from the caller and
 *	dmarc_evaluate() is not called.  A From with mailboxes in several domains is one
 *	evaluation per distinct Author Domain (section 11.5 in the draft numbering), and
 *	the caller combines the verdicts.  Domains are given as A-labels (a U-label is
 *	converted before, section 5.3.1); a From domain that is not a valid ASCII host name
 *	gives DMARC_RESULT_PERMERROR here too.
 *
 *	spf_domain is the SPF-authenticated MAIL FROM identity (section 3.2.4): the MAIL
 *	FROM domain, or the HELO domain only when the reverse-path was null (RFC 7208
 *	section 2.4).  A separate SPF check of HELO is not a DMARC identifier.
 *
 *	Policy discovery (section 4.10.1) and Organizational Domains (section 4.10.2) come
 *	from the DNS Tree Walk (section 4.10): _dmarc.<domain>, then up one label at a time
 *	(jumping to the 7-label suffix first when the name has 8 or more labels), at most
 *	8 queries per walk, stopping at a record with psd=y or psd=n.  With dns->psl set,
 *	the RFC 7489 way is used instead: the Organizational Domain is the registrable
 *	domain by the public suffix list, and the policy is looked up at the Author Domain,
 *	then at its Organizational Domain.  Record syntax (np=, t=, no pct=) is RFC 9989's
 *	in both modes; psd= is ignored in PSL mode.
 *
 *	Lookups are made only when needed: the Organizational Domains are found only for
 *	relaxed alignment of an identifier that differs from the Author Domain and can
 *	share its Organizational Domain, and every _dmarc name is queried at most once per
 *	evaluation.  Whether the Author Domain exists (for np=) is asked only when np= is
 *	present, the policy record is not the Author Domain's, and the message did not pass.
 *
 *	Results:
 *	NONE		no policy record applies (none found, or the one found has no valid
 *			p=/sp=/np= and no valid rua=: section 4.10.1 "no DMARC processing").
 *	PASS		an SPF- or DKIM-authenticated identifier is aligned.
 *	FAIL		none is.
 *	TEMPERROR	no aligned pass, and a DNS failure left discovery or an alignment
 *			check undecided, or an SPF or DKIM check that ended in temperror
 *			(its DNS query did not complete) has a domain that could have
 *			aligned: the message neither passes nor fails and no policy
 *			applies (section 5.3.6).  A temperror whose domain could not have
 *			aligned changes nothing; an aligned pass still passes.
 *	PERMERROR	the From domain is not a usable domain name.
 *
 *	policy is the Domain Owner Assessment Policy that applies ("p", "sp" or "np" in
 *	policy_tag) as published; testing says the record has t=y.
 *	dmarc_policy_evaluated() is that policy after the t= option (section 4.7, tag t):
 *	under t=y one level below the published one (reject -> quarantine, quarantine ->
 *	none), which is what Authentication-Results reports as policy.dmarc (section 9.1).
 *	dmarc_policy_to_apply() is what a receiver applies: that policy on FAIL, else none.
 *
 *	dmarc_org_domain() runs the Organizational Domain discovery alone (for tests and
 *	tools).
 * DIAGNOSTICS
 *	dmarc_evaluate() returns 1 with a verdict, 0 only on bad arguments (NULL
 *	pointers, no lookup function).  Nothing is logged here: verdict.reason says what
 *	happened, in printable ASCII, for an Authentication-Results comment or the log.
 *	dmarc_org_domain() returns 1 with the domain, or 0 with *status saying why
 *	(DNS_ERROR for a malformed domain, else the failed lookup's status).
 *	dmarc_psl_load() returns NULL and fills err with one sentence.
 * SEE ALSO
 *	dmarcrecord.h, dns.h, RFC 9989, RFC 7489 (PSL mode), RFC 8020
 */
#ifndef SIGNET_DMARC_H
#define SIGNET_DMARC_H

#include <stddef.h>

#include "lib/dmarcrecord.h"
#include "lib/dns.h"

#define DMARC_DOMAIN_MAX 254		/* 253 characters and the NUL */

/* TXT records at name (a full "_dmarc." name).  On DNS_OK *out is set and released with
 * the txt_free function; on any other status *out is NULL. */
typedef enum dns_status (*dmarc_txt_lookup)(void *ctx, const char *name,
	    struct dns_txt **out);
/* Whether domain exists (RFC 9989 section 3.2.13, appendix A.4; RFC 8020): DNS_OK or
 * DNS_NODATA when it does, DNS_NXDOMAIN when it does not, another status on failure. */
typedef enum dns_status (*dmarc_exists_lookup)(void *ctx, const char *domain);
typedef void (*dmarc_txt_release)(void *ctx, struct dns_txt *txt);

/* A public suffix list, loaded once per configuration, read by any number of threads. */
struct dmarc_psl;

struct dmarc_psl *dmarc_psl_load(const char *path, char *err, size_t errlen);
void	dmarc_psl_free(struct dmarc_psl *psl);

struct dmarc_dns {
	dmarc_txt_lookup txt;
	dmarc_exists_lookup exists;
	dmarc_txt_release txt_free;
	void   *ctx;
	const struct dmarc_psl *psl;	/* NULL: DNS Tree Walk; else RFC 7489 with the PSL */
	struct dns_resolver *resolver;	/* for dmarc_dns_from_resolver()'s lookups */
	struct dns_budget *budget;
};

/* Fills *out with lookups through dns_query_txt()/dns_query() charged to budget, and
 * psl = NULL.  ctx points to *out itself, so *out must stay in place while used. */
void	dmarc_dns_from_resolver(struct dmarc_dns *out, struct dns_resolver *resolver,
	    struct dns_budget *budget);

struct dmarc_dkim_result {
	const char *domain;		/* d= of the signature */
	int	pass;			/* the signature verified (dkim=pass) */
	int	temperror;		/* its key lookup did not complete (dkim=temperror) */
};

struct dmarc_input {
	const char *from_domain;	/* the Author Domain */
	const char *spf_domain;		/* the MAIL FROM identity SPF checked; may be NULL */
	int	spf_pass;
	const struct dmarc_dkim_result *dkim;	/* dkim_count results, one per signature */
	size_t	dkim_count;
	int	spf_temperror;		/* the SPF check of spf_domain ended in temperror */
};

enum dmarc_result {
	DMARC_RESULT_NONE,
	DMARC_RESULT_PASS,
	DMARC_RESULT_FAIL,
	DMARC_RESULT_TEMPERROR,
	DMARC_RESULT_PERMERROR,
};

struct dmarc_verdict {
	enum dmarc_result result;
	enum dmarc_policy policy;	/* the one that applies: p, sp or np */
	char	policy_tag[3];		/* "p", "sp", "np"; "" when no record applies */
	int	testing;		/* t=y */
	char	policy_domain[DMARC_DOMAIN_MAX];	/* where the record was found */
	char	org_domain[DMARC_DOMAIN_MAX];	/* of the Author Domain; "" if not needed */
	int	spf_aligned;
	int	dkim_aligned;
	char	reason[160];		/* printable ASCII, no control characters */
	struct dmarc_record record;	/* the record that applies, as published; all zero
					 * when result is NONE with no record, or PERMERROR */
	int	found_by_psl;		/* discovery_method "psl" (RFC 7489), else "treewalk" */
};

int	dmarc_evaluate(const struct dmarc_dns *dns, const struct dmarc_input *in,
	    struct dmarc_verdict *out);

int	dmarc_org_domain(const struct dmarc_dns *dns, const char *domain, char *out,
	    size_t size, enum dns_status *status);

enum dmarc_policy dmarc_policy_evaluated(const struct dmarc_verdict *verdict);
enum dmarc_policy dmarc_policy_to_apply(const struct dmarc_verdict *verdict);

const char *dmarc_result_name(enum dmarc_result result);

#endif
