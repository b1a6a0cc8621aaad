/*
 * NAME
 *	macros.c - the macros Postfix sends before each event, with the values its smtpd
 *	would give them
 *
 * DESCRIPTION
 *	The lists are Postfix 3.7's defaults (milter_*_macros), or what the milter asked
 *	for in the negotiation.  {i} appears once the first recipient is accepted,
 *	{auth_*} only with --auth, {auth_author} and the TLS macros never.
 */
#include "milterload.h"

#include <string.h>

#define MTA_HOSTNAME	"mta.milterload.test"	/* $myhostname: {j}, {daemon_name} */
#define MTA_VERSION	"Postfix 3.7.11"	/* {v}: $mail_name $mail_version */

/* Postfix 3.7's milter_connect_macros .. milter_end_of_header_macros (postconf -d). */
static const char *const default_macros[ST_COUNT] = {
	"j {daemon_name} {daemon_addr} v _",
	"{tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer}",
	"i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer}",
	"i {rcpt_addr} {rcpt_host} {rcpt_mailer}",
	"i",
	"i",
	"i",
};

static const char *macro_value(const struct macro_ctx *mc, const char *key, size_t len)
{
	const struct config *cfg = mc->cfg;

#define KEY_IS(s) (len == sizeof(s) - 1 && memcmp(key, s, len) == 0)
	if (KEY_IS("j") || KEY_IS("daemon_name"))
		return MTA_HOSTNAME;
	if (KEY_IS("v"))
		return MTA_VERSION;
	if (KEY_IS("_"))
		return cfg->underscore;
	if (KEY_IS("daemon_addr"))
		return cfg->daemon_addr;
	if (KEY_IS("daemon_port"))
		return "25";
	if (KEY_IS("client_addr"))
		return cfg->client_rfc_addr;
	if (KEY_IS("client_port"))
		return mc->client_port;
	if (KEY_IS("client_name") || KEY_IS("client_ptr"))
		return cfg->client_name ? cfg->client_name : "unknown";
	if (KEY_IS("client_resolve"))
		return cfg->client_name ? "OK" : "FAIL";
	if (KEY_IS("client_connections"))
		return "1";
	if (KEY_IS("i"))
		return mc->queue_id;
	if (KEY_IS("auth_type"))
		return cfg->auth ? "PLAIN" : NULL;
	if (KEY_IS("auth_authen"))
		return cfg->auth;
	if (KEY_IS("mail_addr"))
		return mc->mail_addr;
	if (KEY_IS("mail_host"))
		return mc->mail_addr ? domain_of(mc->mail_addr) : NULL;
	if (KEY_IS("rcpt_addr"))
		return mc->rcpt_addr;
	if (KEY_IS("rcpt_host"))
		return mc->rcpt_addr ? domain_of(mc->rcpt_addr) : NULL;
	if (KEY_IS("mail_mailer"))
		return mc->mail_addr ? "smtp" : NULL;
	if (KEY_IS("rcpt_mailer"))
		return mc->rcpt_addr ? "smtp" : NULL;
#undef KEY_IS
	/* TLS macros (no STARTTLS here), {auth_author} (no AUTH= on MAIL FROM). */
	return NULL;
}

/* SMFIC_MACRO: the event's code, then name and value of each macro that has a value. */
int macros_put(struct conn *c, const struct event *ev, const struct macro_ctx *mc)
{
	const char *list = c->symlist[ev->stage] ? c->symlist[ev->stage]
	    : default_macros[ev->stage];
	struct buf *b = &c->scratch;
	const char *p = list;

	b->len = 0;
	if (buf_add(b, &ev->cmd, 1) < 0)
		return conn_fail(c, "out of memory");
	while (*p != '\0') {
		size_t	len = strcspn(p, ", \t\r\n");
		const char *key = p, *value;
		size_t	key_len = len;

		if (len > 2 && p[0] == '{' && p[len - 1] == '}') {
			key++;
			key_len -= 2;
		}
		if (len > 0 && (value = macro_value(mc, key, key_len)) != NULL) {
			if (buf_add(b, p, len) < 0 || buf_add(b, "", 1) < 0
			    || buf_add(b, value, strlen(value) + 1) < 0)
				return conn_fail(c, "out of memory");
		}
		p += len;
		p += strspn(p, ", \t\r\n");
	}
	return packet_put(c, SMFIC_MACRO, b->data, b->len);
}
