/*
 * NAME
 *	reply.c - one event sent as Postfix sends it, the replies read, and the header
 *	edits of end of message applied as Postfix's cleanup applies them
 *
 * DESCRIPTION
 *	event_send() skips what the milter does not want and reads no reply where it
 *	gives none.  Replies are checked: a code that does not fit the event, or data
 *	where there should be none, is a protocol error.  Header edits go into a
 *	struct header_list, the message as the next milter in the chain will see it.
 */
#include "milterload.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

const struct event EV_CONNECT = { SMFIC_CONNECT, "SMFIC_CONNECT", ST_CONNECT,
	SMFIP_NOCONNECT, SMFIP_NR_CONN };
const struct event EV_HELO = { SMFIC_HELO, "SMFIC_HELO", ST_HELO, SMFIP_NOHELO,
	SMFIP_NR_HELO };
const struct event EV_MAIL = { SMFIC_MAIL, "SMFIC_MAIL", ST_MAIL, SMFIP_NOMAIL,
	SMFIP_NR_MAIL };
const struct event EV_RCPT = { SMFIC_RCPT, "SMFIC_RCPT", ST_RCPT, SMFIP_NORCPT,
	SMFIP_NR_RCPT };
const struct event EV_DATA = { SMFIC_DATA, "SMFIC_DATA", ST_DATA, SMFIP_NODATA,
	SMFIP_NR_DATA };
const struct event EV_HEADER = { SMFIC_HEADER, "SMFIC_HEADER", ST_EOH, SMFIP_NOHDRS,
	SMFIP_NR_HDR };
const struct event EV_EOH = { SMFIC_EOH, "SMFIC_EOH", ST_EOH, SMFIP_NOEOH,
	SMFIP_NR_EOH };
const struct event EV_BODY = { SMFIC_BODY, "SMFIC_BODY", ST_EOM, SMFIP_NOBODY,
	SMFIP_NR_BODY };
const struct event EV_EOB = { SMFIC_BODYEOB, "SMFIC_BODYEOB", ST_EOM, 0, 0 };

static int take_string(const char **p, size_t *left, const char **s, size_t *len)
{
	const char *nul = *left > 0 ? memchr(*p, '\0', *left) : NULL;

	if (nul == NULL)
		return -1;
	*s = *p;
	*len = (size_t)(nul - *p);
	*left -= *len + 1;
	*p = nul + 1;
	return 0;
}

int header_list_insert(struct header_list *hl, size_t pos, const struct header *h)
{
	if (hl->n == hl->cap) {
		size_t	cap = hl->cap ? hl->cap * 2 : 16;
		struct header *v = realloc(hl->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		hl->v = v;
		hl->cap = cap;
	}
	memmove(&hl->v[pos + 1], &hl->v[pos], (hl->n - pos) * sizeof(*h));
	hl->v[pos] = *h;
	hl->n++;
	return 0;
}

/*
 * Array position of the count-th (from 1) live header, or of the count-th of that name;
 * hl->n when there is none.  Postfix's own Received: counts for the first (insert
 * positions are relative to the message as delivered) but not for the second.
 */
static size_t header_list_find(const struct header_list *hl, size_t count, const char *name,
    size_t name_len)
{
	size_t	seen = 0;

	for (size_t i = 0; i < hl->n; i++) {
		const struct header *h = &hl->v[i];

		if (h->deleted || (name != NULL && (h->hidden || h->name_len != name_len
		    || strncasecmp(h->name, name, name_len) != 0)))
			continue;
		if (++seen == count)
			return i;
	}
	return hl->n;
}

static void note_expected(struct edit_sink *k, const char *name, size_t len)
{
	for (size_t i = 0; i < k->cfg->nexpect; i++)
		if (strlen(k->cfg->expect[i]) == len
		    && strncasecmp(k->cfg->expect[i], name, len) == 0)
			k->found |= (uint64_t)1 << i;
}

/*
 * SMFIR_ADDHEADER, SMFIR_INSHEADER, SMFIR_CHGHEADER, applied as Postfix's cleanup does:
 * the value is stored after "Name:" and a space unless the milter has
 * SMFIP_HDR_LEADSPC; insert index N goes before the N+1st header counting Postfix's own
 * Received: (0: above it, 1: just below it); change counts headers of that name from 1
 * (0 is 1), an empty value deletes, a missing header is added.
 */
static int header_edit(struct conn *c, struct edit_sink *k, char code, const char *p,
    size_t left)
{
	uint32_t index = 0;
	const char *name, *value;
	size_t	name_len, value_len, pos;
	struct header h;
	const char *space = (c->protocol & SMFIP_HDR_LEADSPC) ? "" : " ";

	if (code != SMFIR_ADDHEADER) {
		if (left < 4)
			return conn_fail(c, "short header edit '%c'", code);
		index = get32(p);
		p += 4;
		left -= 4;
	}
	if (take_string(&p, &left, &name, &name_len) < 0
	    || take_string(&p, &left, &value, &value_len) < 0 || left != 0 || name_len == 0)
		return conn_fail(c, "malformed header edit '%c'", code);
	if (code != SMFIR_CHGHEADER)
		note_expected(k, name, name_len);
	if (k->headers == NULL)
		return 0;
	memset(&h, 0, sizeof(h));
	h.name_len = name_len;
	h.value_len = strlen(space) + value_len;
	if ((h.name = arena_copy(k->arena, "", 0, name, name_len)) == NULL
	    || (h.value = arena_copy(k->arena, space, strlen(space), value, value_len)) == NULL)
		return conn_fail(c, "out of memory");
	if (code == SMFIR_CHGHEADER) {
		pos = header_list_find(k->headers, index ? index : 1, name, name_len);
		if (pos < k->headers->n) {
			if (value_len == 0)
				k->headers->v[pos].deleted = 1;
			else
				k->headers->v[pos].value = h.value, k->headers->v[pos].value_len =
				    h.value_len;
			return 0;
		}
		if (value_len == 0)
			return 0;
		pos = k->headers->n;
	} else if (code == SMFIR_INSHEADER) {
		pos = header_list_find(k->headers, (size_t)index + 1, NULL, 0);
	} else {
		pos = k->headers->n;
	}
	if (header_list_insert(k->headers, pos, &h) < 0)
		return conn_fail(c, "out of memory");
	return 0;
}

static int reply_without_data(struct conn *c, char code, size_t len, enum reply r)
{
	if (len != 0)
		return conn_fail(c, "reply '%c' followed by %zu bytes", code, len);
	return (int)r;
}

/* SMFIR_REPLYCODE: "4xx ..." or "5xx ...", NUL-terminated. */
static int reply_code(struct conn *c, const char *data, size_t len)
{
	if (len < 4 || (data[0] != '4' && data[0] != '5') || data[1] < '0' || data[1] > '9'
	    || data[2] < '0' || data[2] > '9' || memchr(data, '\0', len) != data + len - 1)
		return conn_fail(c, "malformed SMFIR_REPLYCODE \"%.*s\"", (int)(len > 60 ? 60
		    : len), data);
	return data[0] == '4' ? R_TEMPFAIL : R_REJECT;
}

static int is_edit(char code)
{
	return code == SMFIR_ADDHEADER || code == SMFIR_INSHEADER || code == SMFIR_CHGHEADER
	    || code == SMFIR_ADDRCPT || code == SMFIR_ADDRCPT_PAR || code == SMFIR_DELRCPT
	    || code == SMFIR_CHGFROM || code == SMFIR_REPLBODY;
}

/* Reads until a reply that ends the event; edits are allowed at end of message only. */
static int reply_read(struct conn *c, const struct event *ev, struct edit_sink *sink)
{
	for (;;) {
		const char *data;
		size_t	len;
		char	code;

		if (packet_get(c, ev->name, &code, &data, &len) < 0)
			return -1;
		switch (code) {
		case SMFIR_PROGRESS:		/* still working: keep waiting */
			if (reply_without_data(c, code, len, R_NONE) < 0)
				return -1;
			continue;
		case SMFIR_QUARANTINE:
			continue;
		case SMFIR_CONTINUE:
			return reply_without_data(c, code, len, R_CONTINUE);
		case SMFIR_ACCEPT:
			return reply_without_data(c, code, len, R_ACCEPT);
		case SMFIR_REJECT:
			return reply_without_data(c, code, len, R_REJECT);
		case SMFIR_TEMPFAIL:
			return reply_without_data(c, code, len, R_TEMPFAIL);
		case SMFIR_DISCARD:
			return reply_without_data(c, code, len, R_DISCARD);
		case SMFIR_SHUTDOWN:
			return reply_without_data(c, code, len, R_SHUTDOWN);
		case SMFIR_SKIP:
			c->skip_event = ev->cmd;
			return reply_without_data(c, code, len, R_SKIP);
		case SMFIR_REPLYCODE:
			return reply_code(c, data, len);
		default:
			break;
		}
		if (ev->cmd != SMFIC_BODYEOB || !is_edit(code))
			return conn_fail(c, "unexpected reply '%c' to %s", code, ev->name);
		if ((code == SMFIR_ADDHEADER || code == SMFIR_INSHEADER
		    || code == SMFIR_CHGHEADER) && header_edit(c, sink, code, data, len) < 0)
			return -1;
	}
}

/*
 * One event as Postfix's milter8_event() sends it: not at all after SMFIR_SKIP for
 * this type or when the milter's version lacks it; else its macros, always; then the
 * event unless the milter skips it; then the reply unless the milter gives none.
 * Returns an enum reply, or -1 with c->err set.
 */
int event_send(struct conn *c, const struct event *ev, const struct macro_ctx *mc,
    const char *payload, size_t len, struct edit_sink *sink)
{
	if (ev->skip_flag & c->np_mask)
		return R_NONE;
	if (c->skip_event != 0) {
		if (c->skip_event == ev->cmd)
			return R_NONE;
		c->skip_event = 0;
	}
	if (macros_put(c, ev, mc) < 0)
		return -1;
	if (ev->skip_flag & c->protocol)
		return R_NONE;
	if (packet_put(c, ev->cmd, payload, len) < 0)
		return -1;
	if (ev->noreply_flag & c->protocol)
		return R_NONE;
	return reply_read(c, ev, sink);
}
