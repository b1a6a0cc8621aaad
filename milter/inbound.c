/*
 * NAME
 *	inbound.c - DKIM, SPF and DMARC for one inbound message, and what to do with it
 * DESCRIPTION
 *	Order of work: DKIM is verified as the message streams past (verify.c); SPF for
 *	MAIL FROM and HELO and then DMARC run at end of message, when the DKIM results that
 *	DMARC needs are known.  The DNS of DKIM and SPF is charged to one budget
 *	(DNSMessageQueries, DNSMessageTime) and DMARC's policy discovery to a second one of
 *	the same size, so a message cannot hold a thread longer than twice that whatever its
 *	signatures and records ask for, and what a stranger's signatures spend never keeps
 *	the From domain's policy from being found.
 *
 *	Forged Authentication-Results fields are recorded by the session for every message
 *	(arfields.h), not here.
 *
 *	Enforcement happens only with DMARCEnforce yes, never under p=none; under t=y the
 *	policy applied is one level below the published one (RFC 9989 section 4.7: reject
 *	is quarantined, quarantine accepted), and policy.dmarc says what was applied.  DNS
 *	trouble (dmarc=temperror) is accepted or tempfailed as DNSErrorAction says, never
 *	rejected; that includes a DKIM key or SPF lookup that did not complete for an
 *	identifier that could have aligned (section 5.3.6), so DMARC is given the DKIM
 *	temperrors (after the passes) and the SPF temperror as well as the passes.
 *
 *	HELO and MAIL FROM are kept whole, however long: a prefix of an address can be
 *	another address, and once was (issue 15).  One over RFC 5321's limits gets SPF none
 *	with the reason (spfcheck.c), a notice in the log, and no smtp.* property when it
 *	is too long for one (authres.c); DMARC still aligns on its real domain.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/alloc.h"
#include "milter/arcflow.h"
#include "milter/authres.h"
#include "lib/dmarc.h"
#include "milter/inbound.h"
#include "lib/log.h"
#include "milter/failreport.h"
#include "milter/metrics.h"
#include "milter/reportcollect.h"
#include "milter/reportmsg.h"
#include "milter/spfcheck.h"
#include "milter/verify.h"

#define INBOUND_MAX_DKIM 16	/* DKIM results DMARC looks at */

struct inbound {
	struct runtime *rt;
	struct dns_budget budget;	/* DKIM and SPF */
	struct dns_budget dmarc_budget;	/* DMARC policy discovery: never starved by them */
	struct verify_message *verify;
	struct arcflow *arc;		/* the ARC chain; and our seal, ARCSeal inbound */
	int	sealing;
	char	queue_id[64];
	char	client_ip[64];		/* numeric: at most INET6_ADDRSTRLEN */
	char   *helo;			/* whole, as sent */
	char   *mail_from;		/* whole, without angle brackets; "" for the null sender */
	char   *mailfrom_identity;	/* SPF's MAIL FROM identity: mail_from, or
					 * postmaster@HELO for the null sender */
	struct reportmsg_rcpts rcpts;	/* for DMARC aggregate reports */
	struct failreport_body body;	/* for failure reports: FailureReportBody yes */
};

/* A copy of the address without its angle brackets; NULL when memory runs out. */
static char *strip_angles(const char *in)
{
	size_t	len = in ? strlen(in) : 0;
	char   *out;

	if (len >= 2 && in[0] == '<' && in[len - 1] == '>') {
		in++;
		len -= 2;
	}
	if ((out = mem_malloc(len + 1)) != NULL) {
		memcpy(out, in ? in : "", len);
		out[len] = '\0';
	}
	return out;
}

/* The identity smtp.mailfrom names (RFC 7208 section 2.4); NULL when memory runs out. */
static char *mailfrom_identity(const char *mail_from, const char *helo)
{
	size_t	len;
	char   *out;

	if (mail_from[0] != '\0')
		return mem_strdup(mail_from);
	len = sizeof("postmaster@") + strlen(helo);
	if ((out = mem_malloc(len)) != NULL)
		snprintf(out, len, "postmaster@%s", helo);
	return out;
}

struct inbound *inbound_begin(struct runtime *rt, const char *queue_id,
    const char *client_ip, const char *helo, const char *mail_from)
{
	struct inbound *in = mem_calloc(1, sizeof(*in));
	const struct conf *conf = rt->conf;

	if (in == NULL)
		return NULL;
	in->rt = rt;
	snprintf(in->queue_id, sizeof(in->queue_id), "%s", queue_id ? queue_id : "NOQUEUE");
	snprintf(in->client_ip, sizeof(in->client_ip), "%s", client_ip ? client_ip : "");
	if ((in->helo = mem_strdup(helo ? helo : "")) == NULL ||
	    (in->mail_from = strip_angles(mail_from)) == NULL ||
	    (in->mailfrom_identity = mailfrom_identity(in->mail_from, in->helo)) == NULL) {
		inbound_free(in);
		return NULL;
	}
	dns_budget_init(&in->budget, (unsigned)conf->dns_message_queries,
	    (unsigned)conf->dns_message_time * 1000);
	in->verify = verify_begin(rt->verifier, &in->budget, in->queue_id,
	    (size_t)conf->maximum_signatures);
	in->sealing = conf->arc_seal == ARC_SEAL_INBOUND || conf->arc_seal == ARC_SEAL_BOTH;
	in->arc = arcflow_begin(rt, &in->budget, in->queue_id, 1, in->sealing);
	if (in->verify == NULL || in->arc == NULL) {
		inbound_free(in);
		return NULL;
	}
	return in;
}

void	inbound_rcpt(struct inbound *in, const char *rcpt)
{
	if (in->rt->conf->dmarc_reports || in->rt->conf->dmarc_failure_reports)
		reportmsg_rcpt(&in->rcpts, in->rt->conf, rcpt);
}

void	inbound_header(struct inbound *in, const char *name, const char *value)
{
	verify_header(in->verify, name, value);
	arcflow_header(in->arc, name, value);
}

void	inbound_end_of_headers(struct inbound *in)
{
	verify_end_of_headers(in->verify);
	arcflow_end_of_headers(in->arc);
}

void	inbound_body(struct inbound *in, const unsigned char *data, size_t len)
{
	verify_body(in->verify, data, len);
	arcflow_body(in->arc, data, len);
	failreport_body_add(&in->body, in->rt->conf, data, len);
}

/* ---- the pieces of the verdict -------------------------------------------------------- */

static void add_dkim_results(struct authres *ar, const struct verify_signature *sigs,
    size_t count)
{
	if (count == 0) {
		authres_add(ar, "dkim", "none", NULL, NULL);
		return;
	}
	for (size_t i = 0; i < count; i++) {
		const struct verify_signature *s = &sigs[i];

		authres_add(ar, "dkim", verify_result_name(s->result), s->reason,
		    "header.d", s->domain, "header.s", s->selector, "header.a", s->algorithm,
		    "header.b", s->b, NULL);
	}
}

struct spf_results {
	struct spfcheck_outcome mailfrom;
	struct spfcheck_outcome helo;
};

/* An identity over RFC 5321's limits is not checked, nor cut to fit: SPF says none and
 * why, and the log says so once, with its real length (the A-R may leave it out). */
static void log_long_identities(const struct inbound *in, const struct spf_results *spf)
{
	if (spf->helo.too_long)
		log_msg(LOG_LEVEL_NOTICE, "%s: HELO name of %zu bytes not checked, nor cut: "
		    "SPF none (%s)", in->queue_id, strlen(in->helo), spf->helo.reason);
	if (spf->mailfrom.too_long && in->mail_from[0] != '\0')	/* not a null sender */
		log_msg(LOG_LEVEL_NOTICE, "%s: MAIL FROM address of %zu bytes not checked, nor "
		    "cut: SPF none (%s)", in->queue_id, strlen(in->mail_from),
		    spf->mailfrom.reason);
}

static int check_spf(struct inbound *in, struct spf_results *spf)
{
	struct dns_resolver *dns = in->rt->dns;

	if (!spfcheck_helo(dns, &in->budget, in->client_ip, in->helo, &spf->helo) ||
	    !spfcheck_mailfrom(dns, &in->budget, in->client_ip, in->helo, in->mail_from,
		&spf->mailfrom))
		return 0;
	log_long_identities(in, spf);
	return 1;
}

static void add_spf_results(struct authres *ar, const struct inbound *in,
    const struct spf_results *spf)
{
	authres_add(ar, "spf", spfcheck_result_name(spf->mailfrom.result), spf->mailfrom.reason,
	    "smtp.mailfrom", in->mailfrom_identity, NULL);
	authres_add(ar, "spf", spfcheck_result_name(spf->helo.result), spf->helo.reason,
	    "smtp.helo", in->helo, NULL);
}

/* The domain DMARC aligns SPF with: MAIL FROM's, or HELO's for the null sender; and
 * whether its check passed or ended in temperror. */
static const char *spf_identity_domain(const struct inbound *in, const struct spf_results *spf,
    int *pass, int *temperror)
{
	const char *at = strrchr(in->mail_from, '@');
	enum spfcheck_result r = in->mail_from[0] != '\0' ? spf->mailfrom.result :
	    spf->helo.result;

	*pass = r == SPFCHECK_PASS;
	*temperror = r == SPFCHECK_TEMPERROR;
	if (in->mail_from[0] != '\0')
		return at ? at + 1 : in->mail_from;
	return in->helo;
}

/* The DKIM results DMARC looks at: passes first, then temperrors (section 5.3.6), each
 * with the domain the verifier read; no other result can count.  Returns how many. */
static size_t dmarc_dkim_input(const struct verify_signature *sigs, size_t sig_count,
    struct dmarc_dkim_result *out, size_t max, int with_temperrors)
{
	static const enum verify_result wanted[] = { VERIFY_PASS, VERIFY_TEMPERROR };
	size_t	n = 0;

	for (size_t w = 0; w < (with_temperrors ? 2u : 1u); w++) {
		for (size_t i = 0; i < sig_count && n < max; i++) {
			if (sigs[i].result != wanted[w] || sigs[i].domain[0] == '\0')
				continue;
			out[n].domain = sigs[i].domain;
			out[n].pass = sigs[i].result == VERIFY_PASS;
			out[n].temperror = sigs[i].result == VERIFY_TEMPERROR;
			n++;
		}
	}
	return n;
}

/* RFC 9989 section 11.5 (draft numbering): each distinct Author Domain of From is
 * evaluated, at most FROM_DOMAINS_MAX of them; a From with one domain is one evaluation,
 * however many mailboxes name it. */
struct dmarc_outcome {
	struct from_domains from;
	struct dmarc_verdict verdict[FROM_DOMAINS_MAX];	/* one per from.domain */
	unsigned vouched[FROM_DOMAINS_MAX];	/* the ARC instance of a trusted sealer that
					 * vouches for a failing domain; 0: none */
	char	vouch_why[FROM_DOMAINS_MAX][160];
	const char *from_problem;	/* set when From is unusable: dmarc=permerror */
	int	over_limit;		/* ... because of our own header limit, not the message */
};

static int check_dmarc(struct inbound *in, const struct msgheaders *headers, int overflow,
    const struct spf_results *spf, const struct verify_signature *sigs, size_t sig_count,
    struct dmarc_outcome *out)
{
	struct dmarc_input input;
	struct dmarc_dkim_result dkim[INBOUND_MAX_DKIM];
	struct dmarc_dns dns;
	enum from_status from;

	memset(out, 0, sizeof(*out));
	if (overflow) {
		out->from_problem = "too many header fields to find From";
		out->over_limit = 1;
		return 1;
	}
	from = msgheaders_from_domains(headers, &out->from);
	if (from == FROM_NOMEM)
		return 0;	/* an internal error, not a From the author got wrong */
	if (from != FROM_OK) {
		out->from_problem = from_status_text(from);
		out->from.count = 0;	/* over the cap: none is evaluated */
		return 1;
	}
	memset(&input, 0, sizeof(input));
	/* Once the message's DNS budget ran out, a DKIM or SPF temperror no longer says the
	 * sender's DNS failed: a stranger can spend the budget (slow keys for signatures of
	 * his own, put first) so that the lookups for the From domain's identifiers are
	 * never made, and a temperror would then spare a forgery its policy.  Those count
	 * as not passing.  Policy discovery has a budget of its own, so a spent message
	 * budget never hides the policy; a From domain whose DNS is really down still gets
	 * its temperror there. */
	int	starved = in->budget.spent;

	input.spf_domain = spf_identity_domain(in, spf, &input.spf_pass, &input.spf_temperror);
	if (starved)
		input.spf_temperror = 0;
	input.dkim = dkim;
	input.dkim_count = dmarc_dkim_input(sigs, sig_count, dkim, INBOUND_MAX_DKIM, !starved);
	dns_budget_init(&in->dmarc_budget, (unsigned)in->rt->conf->dns_message_queries,
	    (unsigned)in->rt->conf->dns_message_time * 1000);
	dmarc_dns_from_resolver(&dns, in->rt->dns, &in->dmarc_budget);
	dns.psl = in->rt->psl;
	for (size_t i = 0; i < out->from.count; i++) {
		input.from_domain = out->from.domain[i];
		if (!dmarc_evaluate(&dns, &input, &out->verdict[i]))
			return 0;
		if (out->verdict[i].result == DMARC_RESULT_FAIL)
			out->vouched[i] = arcflow_vouch(in->arc, out->from.domain[i],
			    out->vouch_why[i], sizeof(out->vouch_why[i]));
	}
	return 1;
}

static void add_dmarc_verdict(struct authres *ar, const char *domain,
    const struct dmarc_verdict *v, const char *vouch_why)
{
	char	comment[400];

	if (v->result == DMARC_RESULT_NONE || v->result == DMARC_RESULT_TEMPERROR ||
	    v->result == DMARC_RESULT_PERMERROR) {
		authres_add(ar, "dmarc", dmarc_result_name(v->result), v->reason, "header.from",
		    domain, NULL);
		return;
	}
	snprintf(comment, sizeof(comment), "%s=%s%s%s%s%s%s", v->policy_tag,
	    dmarc_policy_name(v->policy), v->testing ? " t=y" : "", v->reason[0] ? "; " : "",
	    v->reason, vouch_why[0] ? "; not enforced, ARC override: trusted sealer " : "",
	    vouch_why);
	authres_add(ar, "dmarc", dmarc_result_name(v->result), comment, "header.from",
	    domain, "policy.dmarc", vouch_why[0] ? "none" :
	    dmarc_policy_name(dmarc_policy_evaluated(v)), NULL);
}

/* One dmarc result per Author Domain (RFC 8601 allows several of one method). */
static void add_dmarc_results(struct authres *ar, const struct dmarc_outcome *d)
{
	if (d->from_problem != NULL) {
		authres_add(ar, "dmarc", "permerror", d->from_problem, NULL);
		return;
	}
	for (size_t i = 0; i < d->from.count; i++)
		add_dmarc_verdict(ar, d->from.domain[i], &d->verdict[i],
		    d->vouched[i] ? d->vouch_why[i] : "");
}

/*
 * What DMARCEnforce makes of the verdicts.  With several Author Domains the strictest
 * policy applied among those that fail wins (RFC 9989 section 11.5).  A reject is
 * certain whatever another domain's temperror; otherwise, with DNSErrorAction tempfail,
 * a temperror outranks a quarantine, since the retry may find that domain failing under
 * reject.
 */
static void decide(const struct conf *conf, const struct dmarc_outcome *d,
    struct inbound_outcome *out)
{
	enum dmarc_policy strictest = DMARC_POLICY_NONE;
	size_t	worst = 0, temperror = d->from.count;

	out->action = INBOUND_ACCEPT;
	if (!conf->dmarc_enforce)
		return;
	if (d->from_problem != NULL && d->over_limit) {
		/* Our own limit (MSGHEADERS_MAX_FIELDS) kept From from being read: not the
		 * message's fault, so never a 5xx (issue 15 item 2).  Nor an accept, whatever
		 * OnInternalError says: anyone could then pass DMARCEnforce by padding a
		 * forged message's header past the limit.  Always a tempfail. */
		out->action = INBOUND_TEMPFAIL;
		out->internal_limit = 1;
		snprintf(out->reply, sizeof(out->reply), "Message has more header fields than "
		    "Signet checks; its DMARC was not evaluated, try again later");
		return;
	}
	if (d->from_problem != NULL) {
		out->action = INBOUND_REJECT;
		snprintf(out->reply, sizeof(out->reply), "Message rejected: %s, so its author "
		    "cannot be authenticated (DMARC)", d->from_problem);
		return;
	}
	for (size_t i = 0; i < d->from.count; i++) {
		enum dmarc_policy applied = dmarc_policy_to_apply(&d->verdict[i]);

		if (d->vouched[i] && applied > DMARC_POLICY_NONE) {
			out->arc_override = 1;	/* a trusted sealer vouched (RFC 8617 7.2) */
			applied = DMARC_POLICY_NONE;
		}
		if (applied > strictest) {
			strictest = applied;
			worst = i;
		}
		if (d->verdict[i].result == DMARC_RESULT_TEMPERROR && temperror == d->from.count)
			temperror = i;
	}
	if (strictest == DMARC_POLICY_REJECT) {
		out->action = INBOUND_REJECT;
		snprintf(out->reply, sizeof(out->reply), "Message rejected: it fails the DMARC "
		    "policy of %s (p=reject): no aligned SPF or DKIM pass", d->from.domain[worst]);
	} else if (temperror < d->from.count && conf->on_dns_error == ON_ERROR_TEMPFAIL) {
		out->action = INBOUND_TEMPFAIL;
		snprintf(out->reply, sizeof(out->reply), "DMARC check of %s failed "
		    "temporarily (DNS), try again later", d->from.domain[temperror]);
	} else if (strictest == DMARC_POLICY_QUARANTINE) {
		const struct dmarc_verdict *v = &d->verdict[worst];

		out->action = INBOUND_QUARANTINE;
		snprintf(out->reason, sizeof(out->reason), "DMARC %s=%s%s of %s failed",
		    v->policy_tag, dmarc_policy_name(v->policy),
		    v->testing ? " t=y (applied as quarantine)" : "", d->from.domain[worst]);
	}
}

static const char *action_name(enum inbound_action action)
{
	static const char *const names[] = {"accept", "quarantine", "reject", "tempfail"};

	return names[action];
}

/* The DMARC part of the log line: "dmarc=R from=D", one R and D per Author Domain, comma
 * separated; a domain that does not fit whole is counted ("+N"), never cut. */
static void summarise_dmarc(const struct dmarc_outcome *d, char *out, size_t size)
{
	char	results[FROM_DOMAINS_MAX * 12] = "", domains[300] = "";
	size_t	r = 0, n = 0, left = 0;

	if (d->from_problem != NULL || d->from.count == 0) {
		snprintf(out, size, "dmarc=permerror from=-");
		return;
	}
	for (size_t i = 0; i < d->from.count; i++) {
		const char *name = d->from.domain[i];

		r += (size_t)snprintf(results + r, sizeof(results) - r, "%s%s", i ? "," : "",
		    dmarc_result_name(d->verdict[i].result));
		if (left == 0 && n + strlen(name) + 1 < sizeof(domains) - 8)
			n += (size_t)snprintf(domains + n, sizeof(domains) - n, "%s%s",
			    i ? "," : "", name);
		else
			left++;
	}
	if (left > 0)
		snprintf(domains + n, sizeof(domains) - n, ",+%zu", left);
	snprintf(out, size, "dmarc=%s from=%s", results, domains);
}

static void summarise(const struct inbound *in, const struct verify_signature *sigs,
    size_t sig_count, const struct spf_results *spf, const struct arc_outcome *arc,
    const struct dmarc_outcome *d, size_t forged, struct inbound_outcome *out)
{
	char	dkim[256] = "none", dmarc[400];
	size_t	used = 0;

	for (size_t i = 0; i < sig_count && used < sizeof(dkim) - 1; i++) {
		int	n = snprintf(dkim + used, sizeof(dkim) - used, "%s%s(d=%s s=%s)", i ? "," : "",
		    verify_result_name(sigs[i].result), sigs[i].domain, sigs[i].selector);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	summarise_dmarc(d, dmarc, sizeof(dmarc));
	snprintf(out->summary, sizeof(out->summary), "inbound from %s: dkim=%s spf=%s "
	    "spf.helo=%s arc=%s %s%s forged-ar-removed=%zu dns-queries=%u action=%s%s",
	    in->client_ip, dkim, spfcheck_result_name(spf->mailfrom.result),
	    spfcheck_result_name(spf->helo.result), arc_result_name(arc->result), dmarc,
	    out->arc_override ? " (ARC override)" : "", forged,
	    in->budget.queries + in->dmarc_budget.queries, action_name(out->action),
	    out->sealed ? " arc-sealed" : "");
}

/* DMARCReports: one count per Author Domain whose record asks for aggregate reports
 * (reportmsg.h says which are left out).  A tempfailed message is not counted: the MTA
 * retries it, and the retry is.  Never fails the message. */
static void count_for_reports(const struct inbound *in, const struct verify_signature *sigs,
    size_t sig_count, const struct spf_results *spf, const struct dmarc_outcome *d,
    enum inbound_action action)
{
	char	arc_comment[REPORT_COMMENT_MAX] = "";
	struct report_row row;
	struct report_policy policy;
	struct reportmsg msg = {
		.client_ip = in->client_ip,
		.mail_from = in->mail_from,
		.rcpts = &in->rcpts,
		.sigs = sigs,
		.sig_count = sig_count,
		.spf_domain = spf->mailfrom.domain,
		.spf_result = spfcheck_result_name(spf->mailfrom.result),
		.applied = action == INBOUND_REJECT ? DMARC_POLICY_REJECT :
		    action == INBOUND_QUARANTINE ? DMARC_POLICY_QUARANTINE : DMARC_POLICY_NONE,
		.enforce = in->rt->conf->dmarc_enforce,
	};

	if (!in->rt->conf->dmarc_reports || action == INBOUND_TEMPFAIL || d->from_problem != NULL)
		return;
	for (size_t i = 0; i < d->from.count; i++) {
		if (d->vouched[i] && arc_comment[0] == '\0')
			arcflow_report_comment(in->arc, arc_comment, sizeof(arc_comment));
		msg.arc_override = d->vouched[i] ? arc_comment : NULL;
		if (reportmsg_row(&msg, d->from.domain[i], &d->verdict[i], &row, &policy))
			reportcollect_count(&row, &policy, (long long)in->rt->now());
	}
}

/* DMARCFailureReports: each Author Domain's verdict is offered to failreport.c, which
 * decides and sends aside (failreport.h).  Not for a tempfailed message: its retry is. */
static void report_failures(struct inbound *in, const struct msgheaders *headers,
    const struct verify_signature *sigs, size_t sig_count, const struct spf_results *spf,
    const struct dmarc_outcome *d, const struct inbound_outcome *out)
{
	static const char *const delivery[] = {"delivered", "spam", "reject", "other"};
	struct failreport_message msg = {
		.queue_id = in->queue_id,
		.client_ip = in->client_ip,
		.mail_from = in->mail_from,
		.rcpts = &in->rcpts,
		.headers = headers,
		.sigs = sigs,
		.sig_count = sig_count,
		.spf_result = in->mail_from[0] != '\0' ? spf->mailfrom.result : spf->helo.result,
		.authres = out->authres,
		.delivery_result = delivery[out->action],
		.body = &in->body,
	};

	if (!in->rt->conf->dmarc_failure_reports || out->action == INBOUND_TEMPFAIL ||
	    d->from_problem != NULL)
		return;
	for (size_t i = 0; i < d->from.count; i++)
		failreport_message(in->rt, &msg, d->from.domain[i], &d->verdict[i]);
}

/* ARCSeal inbound: our set over the message as it came, for a message that is kept.
 * The AAR is our Authentication-Results; cv= is what the validation found, unless that
 * was a failure for now (a key lookup), which leaves the message unsealed. */
static void seal(struct inbound *in, const struct msgheaders *headers, int overflow,
    const struct arc_outcome *arc, struct inbound_outcome *out)
{
	static const enum arcseal_cv cv[] = {
		[ARC_NONE] = ARCSEAL_CV_NONE, [ARC_PASS] = ARCSEAL_CV_PASS,
		[ARC_FAIL] = ARCSEAL_CV_FAIL,
	};

	if (!in->sealing || out->action == INBOUND_REJECT || out->action == INBOUND_TEMPFAIL)
		return;
	if (overflow) {
		log_msg(LOG_LEVEL_NOTICE, "%s: not ARC-sealed: over %d header fields or %d bytes "
		    "of header", in->queue_id, MSGHEADERS_MAX_FIELDS, MSGHEADERS_MAX_BYTES);
		return;
	}
	/* A chain that failed only because a key lookup failed for now is not sealed: a
	 * seal with cv=fail would end it for every later hop, for our DNS's trouble. */
	if (arc->result == ARC_FAIL && arc->temporary) {
		log_msg(LOG_LEVEL_NOTICE, "%s: not ARC-sealed: the chain's validation failed "
		    "temporarily (%s); cv=fail would end the chain for good", in->queue_id,
		    arc->reason);
		return;
	}
	out->sealed = arcflow_seal(in->arc, headers, cv[arc->result],
	    arcflow_results_of(out->authres), &out->seal);
}

int	inbound_finish(struct inbound *in, const struct msgheaders *headers, int overflow,
    size_t forged, struct inbound_outcome *out)
{
	const struct verify_signature *sigs = NULL;
	const struct arc_outcome *arc = NULL;
	size_t	sig_count = 0;
	struct spf_results spf;
	struct dmarc_outcome dmarc;
	struct authres ar;

	memset(out, 0, sizeof(*out));
	memset(&spf, 0, sizeof(spf));
	if (!verify_finish(in->verify, &sigs, &sig_count) || !arcflow_validate(in->arc, &arc) ||
	    !check_spf(in, &spf) ||
	    !check_dmarc(in, headers, overflow, &spf, sigs, sig_count, &dmarc))
		return 0;
	authres_begin(&ar, in->rt->authserv_id);
	add_dkim_results(&ar, sigs, sig_count);
	add_spf_results(&ar, in, &spf);
	arcflow_add_result(&ar, arc, in->client_ip);
	add_dmarc_results(&ar, &dmarc);
	if ((out->authres = authres_finish(&ar)) == NULL) {
		inbound_outcome_free(out);
		return 0;
	}
	decide(in->rt->conf, &dmarc, out);
	if (out->arc_override)
		metrics_arc_override();
	seal(in, headers, overflow, arc, out);
	count_for_reports(in, sigs, sig_count, &spf, &dmarc, out->action);
	report_failures(in, headers, sigs, sig_count, &spf, &dmarc, out);
	summarise(in, sigs, sig_count, &spf, arc, &dmarc, forged, out);
	return 1;
}

void	inbound_outcome_free(struct inbound_outcome *out)
{
	free(out->authres);
	out->authres = NULL;
	if (out->sealed)
		arcseal_set_free(&out->seal);
	out->sealed = 0;
}

void	inbound_free(struct inbound *in)
{
	if (in == NULL)
		return;
	verify_free(in->verify);
	arcflow_free(in->arc);
	reportmsg_rcpts_free(&in->rcpts);
	failreport_body_free(&in->body);
	free(in->helo);
	free(in->mail_from);
	free(in->mailfrom_identity);
	free(in);
}
