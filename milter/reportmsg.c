/*
 * NAME
 *	reportmsg.c - one inbound message as a DMARC aggregate-report row (see reportmsg.h)
 * DESCRIPTION
 *	Everything here is bounded by the arrays of reportrow.h: a value that does not fit
 *	its field is left out (an optional element) rather than cut, since a cut domain is
 *	another domain.  The mailto: addresses of rua= and ruf= are compared with the
 *	recipients kept, case-insensitively, after undoing %XX escapes (RFC 3986) and
 *	dropping a "!size" suffix or a "?query".
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/alloc.h"
#include "milter/reportmsg.h"

#define ADDRESS_MAX 512		/* a mailto: address compared; longer ones match nothing */

/* Copies src (len bytes) in lower case; 0, leaving "", when it does not fit. */
static int copy_lower(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size) {
		dst[0] = '\0';
		return 0;
	}
	for (size_t i = 0; i < len; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[len] = '\0';
	return 1;
}

static int copy_word(char *dst, size_t size, const char *word)
{
	return copy_lower(dst, size, word, strlen(word));
}

/* The address alone, without a display name or angle brackets ("Name <a@b>", "<a@b>",
 * "a@b"), into out; 0 when it does not fit. */
static int bare_address(const char *in, char *out, size_t size)
{
	const char *open = in != NULL ? strchr(in, '<') : NULL;
	const char *close = open != NULL ? strchr(open, '>') : NULL;
	size_t	len = in != NULL ? strlen(in) : 0;

	if (close != NULL) {
		in = open + 1;
		len = (size_t)(close - in);
	}
	if (len >= size)
		return 0;
	memcpy(out, in != NULL ? in : "", len);
	out[len] = '\0';
	return 1;
}

static int is_report_address(const struct conf *conf, const char *address)
{
	char	email[ADDRESS_MAX];

	if (name_list_contains(&conf->report_skip_recipients, address))
		return 1;
	return conf->report_email[0] != '\0' &&
	    bare_address(conf->report_email, email, sizeof(email)) &&
	    strcasecmp(email, address) == 0;
}

void	reportmsg_rcpt(struct reportmsg_rcpts *r, const struct conf *conf, const char *rcpt)
{
	char	address[ADDRESS_MAX];
	const char *at;

	if (!bare_address(rcpt, address, sizeof(address))) {
		r->count++;		/* too long to be any report address */
		return;
	}
	if (r->count++ == 0 && (at = strrchr(address, '@')) != NULL)
		(void)copy_lower(r->first_domain, sizeof(r->first_domain), at + 1, strlen(at + 1));
	if (is_report_address(conf, address))
		r->skip = 1;
	if (r->kept_count >= REPORTMSG_RCPT_KEEP)
		return;
	if (r->kept == NULL &&
	    (r->kept = mem_calloc(REPORTMSG_RCPT_KEEP, sizeof(*r->kept))) == NULL) {
		r->lost = 1;
		return;
	}
	if ((r->kept[r->kept_count] = mem_strdup(address)) == NULL)
		r->lost = 1;
	else
		r->kept_count++;
}

void	reportmsg_rcpts_free(struct reportmsg_rcpts *r)
{
	for (size_t i = 0; i < r->kept_count; i++)
		free(r->kept[i]);
	free(r->kept);
	memset(r, 0, sizeof(*r));
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The address of one URI of a rua=/ruf= list (uri, len bytes, blanks around it
 * allowed) into out; 0 when it is not a mailto: URI or does not fit. */
static int mailto_address(const char *uri, size_t len, char *out, size_t size)
{
	size_t	n = 0;

	while (len > 0 && (*uri == ' ' || *uri == '\t')) {
		uri++;
		len--;
	}
	if (len < 7 || strncasecmp(uri, "mailto:", 7) != 0)
		return 0;
	for (size_t i = 7; i < len && uri[i] != '!' && uri[i] != '?' && uri[i] != ' ' &&
	    uri[i] != '\t'; i++) {
		char	c = uri[i];

		if (c == '%' && i + 2 < len && hex_value(uri[i + 1]) >= 0 &&
		    hex_value(uri[i + 2]) >= 0) {
			c = (char)(hex_value(uri[i + 1]) * 16 + hex_value(uri[i + 2]));
			i += 2;
		}
		if (n + 1 >= size)
			return 0;
		out[n++] = c;
	}
	out[n] = '\0';
	return n > 0;
}

/* 1 when a recipient kept is one of the mailto: addresses of list. */
static int list_names_a_recipient(const char *list, const struct reportmsg_rcpts *r)
{
	char	address[ADDRESS_MAX];

	for (const char *p = list; *p != '\0';) {
		size_t	len = strcspn(p, ",");

		if (mailto_address(p, len, address, sizeof(address)))
			for (size_t i = 0; i < r->kept_count; i++)
				if (strcasecmp(r->kept[i], address) == 0)
					return 1;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

static const char *state_policy(enum dmarc_tag_state state, enum dmarc_policy p)
{
	return state == DMARC_TAG_VALID ? dmarc_policy_name(p) : "";
}

static void fill_policy(const struct dmarc_verdict *v, struct report_policy *out)
{
	const struct dmarc_record *rec = &v->record;

	memset(out, 0, sizeof(*out));
	copy_word(out->domain, sizeof(out->domain), v->policy_domain);
	copy_word(out->discovery_method, sizeof(out->discovery_method),
	    v->found_by_psl ? "psl" : "treewalk");
	/* A record with an invalid p= is used only for its rua=, as p=none (RFC 9989
	 * section 4.10.1). */
	copy_word(out->p, sizeof(out->p), rec->p_state == DMARC_TAG_VALID ?
	    dmarc_policy_name(rec->p) : "none");
	copy_word(out->sp, sizeof(out->sp), state_policy(rec->sp_state, rec->sp));
	copy_word(out->np, sizeof(out->np), state_policy(rec->np_state, rec->np));
	copy_word(out->adkim, sizeof(out->adkim), rec->adkim_strict ? "s" : "r");
	copy_word(out->aspf, sizeof(out->aspf), rec->aspf_strict ? "s" : "r");
	copy_word(out->testing, sizeof(out->testing), rec->testing ? "y" : "n");
	snprintf(out->fo, sizeof(out->fo), "%s", rec->fo);
	snprintf(out->rua, sizeof(out->rua), "%s", rec->rua);
	snprintf(out->ruf, sizeof(out->ruf), "%s", rec->ruf);
}

static void add_reason(struct report_row *row, const char *type, const char *comment)
{
	struct report_reason *r;

	if (row->reason_count >= REPORT_REASON_MAX)
		return;
	r = &row->reason[row->reason_count++];
	snprintf(r->type, sizeof(r->type), "%s", type);
	snprintf(r->comment, sizeof(r->comment), "%s", comment);
}

/* disposition and its reasons, as reportmsg.h says. */
static void fill_evaluation(const struct reportmsg *msg, const struct dmarc_verdict *v,
    struct report_row *row)
{
	enum dmarc_policy asked = dmarc_policy_to_apply(v);

	copy_word(row->disposition, sizeof(row->disposition), dmarc_policy_name(msg->applied));
	copy_word(row->dkim_aligned, sizeof(row->dkim_aligned), v->dkim_aligned ? "pass" : "fail");
	copy_word(row->spf_aligned, sizeof(row->spf_aligned), v->spf_aligned ? "pass" : "fail");
	if (v->result == DMARC_RESULT_TEMPERROR) {
		add_reason(row, "other", "temporary DNS error: no policy applied");
		return;
	}
	if (v->result == DMARC_RESULT_FAIL && v->testing && v->policy != DMARC_POLICY_NONE)
		add_reason(row, "policy_test_mode", "t=y");
	if (asked > msg->applied)
		add_reason(row, "local_policy", msg->arc_override != NULL ? msg->arc_override :
		    msg->enforce ? "local policy" : "DMARCEnforce no");
	else if (msg->applied > asked)
		add_reason(row, "other", "another From domain's policy");
}

static void fill_identifiers(const struct reportmsg *msg, const char *author_domain,
    struct report_row *row)
{
	const char *at = strrchr(msg->mail_from, '@');
	const char *from_domain = at != NULL ? at + 1 : msg->mail_from;

	copy_word(row->header_from, sizeof(row->header_from), author_domain);
	/* Present but empty for the null reverse-path; left out when too long to hold. */
	row->has_envelope_from = copy_word(row->envelope_from, sizeof(row->envelope_from),
	    from_domain);
	snprintf(row->envelope_to, sizeof(row->envelope_to), "%s", msg->rcpts->first_domain);
}

static void fill_auth_results(const struct reportmsg *msg, struct report_row *row)
{
	for (size_t i = 0; i < msg->sig_count && row->dkim_count < REPORT_DKIM_MAX; i++) {
		const struct verify_signature *s = &msg->sigs[i];
		struct report_dkim *d = &row->dkim[row->dkim_count];

		if (s->domain[0] == '\0' ||
		    !copy_word(d->domain, sizeof(d->domain), s->domain) ||
		    !copy_word(d->selector, sizeof(d->selector), s->selector))
			continue;
		copy_word(d->result, sizeof(d->result), verify_result_name(s->result));
		row->dkim_count++;
	}
	if (copy_word(row->spf_domain, sizeof(row->spf_domain), msg->spf_domain))
		copy_word(row->spf_result, sizeof(row->spf_result), msg->spf_result);
	if (row->spf_domain[0] == '\0')
		row->spf_result[0] = '\0';
}

int	reportmsg_row(const struct reportmsg *msg, const char *author_domain,
    const struct dmarc_verdict *v, struct report_row *row, struct report_policy *policy)
{
	const struct reportmsg_rcpts *r = msg->rcpts;

	if ((v->result != DMARC_RESULT_PASS && v->result != DMARC_RESULT_FAIL &&
	    v->result != DMARC_RESULT_TEMPERROR) || !v->record.has_rua ||
	    r->skip || r->lost || msg->client_ip[0] == '\0' ||
	    list_names_a_recipient(v->record.rua, r) || list_names_a_recipient(v->record.ruf, r))
		return 0;
	memset(row, 0, sizeof(*row));
	copy_word(row->source_ip, sizeof(row->source_ip), msg->client_ip);
	fill_evaluation(msg, v, row);
	fill_identifiers(msg, author_domain, row);
	fill_auth_results(msg, row);
	fill_policy(v, policy);
	return 1;
}
