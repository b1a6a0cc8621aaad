/*
 * NAME
 *	fuzz-session - whole messages through a session, as the libmilter adapter drives it
 * SYNOPSIS
 *	fuzz_session_init(); fuzz_session_run(data, len)	(a target of fuzz-parsers.c)
 * DESCRIPTION
 *	No MTA and no daemon: a runtime (Mode sv, MaximumSignatures 4) with one active
 *	Ed25519 key for attacker.example, selector sel -- fuzz-verify.c's fixed key, so
 *	messages signed for its seeds verify here too -- and a resolver that asks dns.c's
 *	test seam, which serves that key, an SPF record (ip4:192.0.2.0/24) and a DMARC
 *	record (p=reject) for attacker.example and NXDOMAIN for every other name.
 *
 *	The input: FLAGS, MAIL FROM up to the first LF, then the message (header fields,
 *	an empty line, the body).  FLAGS & 1: from 192.0.2.10 (inbound, checked), else from
 *	127.0.0.1 (InternalHosts, signed); FLAGS & 2: SMTP AUTH as alice.  Header fields are
 *	given as Postfix gives them with SMFIP_HDR_LEADSPC (folded lines joined by LF, without
 *	the CR; a NUL ends a value as in a C string); the body goes in three chunks.  Each
 *	step's result is checked as milter/adapter.c would apply it.
 *
 *	Invariants: the forged fields to remove come highest first, each one of the
 *	Authentication-Results fields given; every header value we would insert (the
 *	DKIM-Signature, our Authentication-Results) starts with the space after the colon
 *	and has no CR and no line that is not a fold; a message only signs with a key of
 *	the runtime; end of message always ends the message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <unbound.h>

#include "conf/conf.h"
#include "keys/keystore-write.h"
#include "lib/dns.h"
#include "lib/log.h"
#include "milter/runtime.h"
#include "milter/session.h"
#include "tests/fuzz/fuzz-dns.h"
#include "tests/fuzz/fuzz-session.h"

#define DOMAIN "attacker.example"
#define MAX_FIELDS 512

/* fuzz-verify.c's key: the same 32 bytes make the same Ed25519 key. */
static const unsigned char private_key[32] = "Signet fuzz key; no secret here.";
static char key_txt[128];

/* ---- DNS: the test seam's source -------------------------------------------------- */

static int serve(void *ctx, const char *name, int rrtype, struct ub_result **result)
{
	const char *txt = NULL;
	unsigned char rdata[300];
	const unsigned char *rd[1] = {rdata};
	size_t	len;

	(void)ctx;
	if (rrtype == DNS_TYPE_TXT && strcasecmp(name, "sel._domainkey." DOMAIN) == 0)
		txt = key_txt;
	else if (rrtype == DNS_TYPE_TXT && strcasecmp(name, DOMAIN) == 0)
		txt = "v=spf1 ip4:192.0.2.0/24 -all";
	else if (rrtype == DNS_TYPE_TXT && strcasecmp(name, "_dmarc." DOMAIN) == 0)
		txt = "v=DMARC1; p=reject";
	if (txt == NULL) {
		*result = fuzz_dns_result(name, rrtype, 3, 300, NULL, NULL, 0);
	} else {
		len = strlen(txt);
		rdata[0] = (unsigned char)len;
		memcpy(rdata + 1, txt, len);
		len++;
		*result = fuzz_dns_result(name, rrtype, 0, 300, rd, &len, 1);
	}
	return *result == NULL;
}

/* ---- the runtime ----------------------------------------------------------------------- */

static void quiet(void *context, const char *message)
{
	(void)context;
	fprintf(stderr, "fuzz-session: conf: %s\n", message);
}

static int make_keystore(const char *dir)
{
	struct keystore_error kerr;
	EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, private_key,
	    sizeof(private_key));
	char   *txt;
	time_t	now = time(NULL);
	int	ok;

	if (pkey == NULL)
		return 0;
	ok = keystore_create(dir, DOMAIN, "sel", KEY_ALG_ED25519, pkey, now - 60, &kerr) == 0 &&
	    keystore_set_state(dir, DOMAIN, "sel", KEY_STATE_ACTIVE, now, &kerr) == 0 &&
	    (txt = keystore_dns_txt(pkey, KEY_ALG_ED25519, &kerr)) != NULL;
	if (ok) {
		snprintf(key_txt, sizeof(key_txt), "%s", txt);
		free(txt);
	} else {
		fprintf(stderr, "fuzz-session: keystore: %s\n", kerr.text);
	}
	EVP_PKEY_free(pkey);
	return ok;
}

int	fuzz_session_init(void)
{
	static int done, ok;
	char	dir[] = "/tmp/signet-fuzz-session-XXXXXX", path[64], err[256];
	struct keystore_error kerr;
	struct keystore *keys;
	struct runtime *rt;
	struct conf *conf;
	FILE   *fp;

	if (done)
		return ok;
	done = 1;
	log_init(LOG_TO_STDERR, LOG_LEVEL_ERROR);
	if (mkdtemp(dir) == NULL || !make_keystore(dir))
		return 0;
	snprintf(path, sizeof(path), "%s/signet.conf", dir);
	if ((fp = fopen(path, "w")) == NULL)
		return 0;
	fprintf(fp, "Mode sv\nAuthservID mx.example.com\nInternalHosts 127.0.0.1\n"
	    "Keystore %s\nMaximumSignatures 4\nOnInternalError accept\n", dir);
	fclose(fp);
	conf = conf_load(path, quiet, NULL);
	keys = conf != NULL ? keystore_load(dir, KEYSTORE_LOAD_PRIVATE, &kerr) : NULL;
	if (keys == NULL) {
		fprintf(stderr, "fuzz-session: %s\n", conf ? kerr.text : "configuration");
		conf_free(conf);
		return 0;
	}
	dns_set_test_source(serve, NULL);	/* for the runtime's resolver */
	if ((rt = runtime_build(conf, keys, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz-session: runtime: %s\n", err);
		return 0;
	}
	dns_set_test_source(NULL, NULL);
	runtime_install(rt);
	return ok = 1;
}

/* ---- one message ------------------------------------------------------------------- */

static int folds_only(const char *v)
{
	for (const char *p = v; *p; p++)
		if (*p == '\r' || (*p == '\n' && p[1] != '\t' && p[1] != ' '))
			return 0;
	return 1;
}

/* The header field at data (up to the line that does not start with a blank); its name
 * and value as libmilter hands them over, both malloc'ed.  Returns the bytes used, 0 at
 * the empty line that ends the header. */
static size_t next_field(const uint8_t *data, size_t len, char **name, char **value)
{
	size_t	end = 0, colon, o = 0;
	char   *v;

	if (len == 0 || data[0] == '\n' || (data[0] == '\r' && len > 1 && data[1] == '\n'))
		return 0;
	do {
		while (end < len && data[end] != '\n')
			end++;
		if (end < len)
			end++;
	} while (end < len && (data[end] == ' ' || data[end] == '\t'));
	for (colon = 0; colon < end && data[colon] != ':' && data[colon] != '\n'; colon++)
		;
	*name = strndup((const char *)data, colon < end ? colon : end);
	*value = v = malloc(end + 1);
	if (*name == NULL || v == NULL)
		abort();
	for (size_t i = colon < end && data[colon] == ':' ? colon + 1 : end; i < end; i++) {
		if (data[i] == '\r' && i + 1 < end && data[i + 1] == '\n')
			continue;
		v[o++] = (char)data[i];
	}
	if (o > 0 && v[o - 1] == '\n')
		o--;
	v[o] = '\0';		/* with SMFIP_HDR_LEADSPC: the space after the colon kept */
	return end;
}

static void connect_from(struct session *s, const char *ip)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};

	inet_pton(AF_INET, ip, &sin.sin_addr);
	session_connect(s, (struct sockaddr *)&sin, "client.example");
}

/* Headers: returns the number of Authentication-Results fields given; *used set. */
static size_t feed_header(struct session *s, const uint8_t *data, size_t len, size_t *used)
{
	size_t	off = 0, n, ars = 0, fields = 0;
	char   *name, *value;

	while (fields++ < MAX_FIELDS && (n = next_field(data + off, len - off, &name,
	    &value)) != 0) {
		ars += strcasecmp(name, "Authentication-Results") == 0;
		session_header(s, name, value);
		free(name);
		free(value);
		off += n;
	}
	while (off < len && data[off] != '\n')	/* the empty line */
		off++;
	*used = off < len ? off + 1 : off;
	return ars;
}

/* The step's edits: forged fields removed highest first, each one of the
 * Authentication-Results fields given; inserted values folded, signatures ours. */
static int result_ok(const struct step_result *r, size_t ars)
{
	size_t	last = SIZE_MAX;

	for (size_t i = 0; i < r->edit_count; i++) {
		const struct header_edit *e = &r->edits[i];

		if (e->kind == EDIT_REMOVE) {
			if (strcmp(e->name, "Authentication-Results") != 0 || e->occurrence >= last ||
			    e->occurrence == 0 || e->occurrence > ars) {
				printf("# removal of %s %zu after %zu, of %zu given\n", e->name,
				    e->occurrence, last, ars);
				return 0;
			}
			last = e->occurrence;
		} else if (e->value[0] != ' ' || !folds_only(e->value) ||
		    (strcmp(e->name, "DKIM-Signature") == 0 &&
		    strstr(e->value, "d=" DOMAIN) == NULL)) {
			printf("# %s: %s\n", e->name, e->value);
			return 0;
		}
	}
	return 1;
}

int	fuzz_session_run(const uint8_t *data, size_t len)
{
	struct session *s;
	char   *mail_from;
	struct step_result r;
	size_t	eol, used, ars;
	int	flags, ok = 1;

	if (len == 0 || !fuzz_session_init())
		return 1;
	flags = data[0];
	data++;
	len--;
	for (eol = 0; eol < len && data[eol] != '\n'; eol++)
		;
	if ((mail_from = strndup((const char *)data, eol)) == NULL ||
	    (s = session_new()) == NULL)
		abort();
	data += eol < len ? eol + 1 : eol;
	len -= eol < len ? eol + 1 : eol;
	connect_from(s, flags & 1 ? "192.0.2.10" : "127.0.0.1");
	session_helo(s, "mail.example.org");
	session_mail_from(s, "FUZZ1", flags & 2 ? "alice" : NULL, mail_from, &r);
	if (r.reply == REPLY_CONTINUE) {
		session_step_done(s, &r);
		ars = feed_header(s, data, len, &used);
		session_end_of_headers(s, "FUZZ1", &r);
		ok = result_ok(&r, ars);
		if (r.reply == REPLY_CONTINUE) {
			size_t	third = (len - used) / 3;

			session_step_done(s, &r);
			session_body(s, data + used, third);
			session_body(s, data + used + third, third);
			session_body(s, data + used + 2 * third, len - used - 2 * third);
			session_end_of_message(s, "FUZZ1", &r);
			ok = result_ok(&r, ars) && r.reply != REPLY_CONTINUE;
		}
	}
	session_step_done(s, &r);
	session_free(s);
	free(mail_from);
	return ok;
}
