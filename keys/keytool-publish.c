/*
 * NAME
 *	keytool-publish.c - "signet-keys publish": put a key's record in DNS with an
 *	RFC 2136 update
 * SYNOPSIS
 *	#include "keys/keytool.h"
 *
 *	int keytool_cmd_publish(struct keytool *kt);
 *	int keytool_publish_key(struct keytool *kt, const char *domain,
 *	    const char *selector, enum key_algorithm algorithm);
 * DESCRIPTION
 *	The zone is the closest enclosing name with an SOA record (asked through the same
 *	resolver as check); the record gets the TTL of that SOA record, the zone's usual
 *	TTL.  The update goes to UpdateServer over TCP, signed with UpdateKey, and replaces
 *	whatever TXT records the name had.  Without UpdateServer the command says to paste
 *	the output of "signet-keys dns" into the zone instead.
 * DIAGNOSTICS
 *	One line per key on stdout, "SELECTOR._domainkey.DOMAIN: published to SERVER (zone
 *	ZONE, TTL N): NOERROR", printed only for an answer signed with UpdateKey whose
 *	MAC verified; a refused update is an error naming the rcode (and the TSIG error,
 *	BADKEY, BADSIG or BADTIME, when there is one); an answer that fails a TSIG check
 *	(none, an empty MAC, another key, a MAC that does not verify, a time outside the
 *	fudge) is an error naming that check.
 * SEE ALSO
 *	dnsupdate.c, keycheck.c, signet-keys(8)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keys/dnsupdate.h"
#include "keys/keystore.h"
#include "keys/keytool.h"

#define NAME_TEXT_MAX	300

static int
update_target(struct keytool *kt, struct nameserver *server, struct tsig_key *key)
{
	char err[256];

	if (keycheck_parse_server(kt->conf->update_server, server) < 0)
		return keytool_fail("%s: UpdateServer \"%s\": want IP or IP@PORT",
		    kt->conf->file != NULL ? kt->conf->file : "configuration",
		    kt->conf->update_server);
	if (kt->conf->update_key == NULL || kt->conf->update_key[0] == '\0')
		return keytool_fail("UpdateServer is set but UpdateKey is not: updates must be "
		    "signed (UpdateKey hmac-sha256:NAME:BASE64SECRET)");
	if (tsig_key_parse(kt->conf->update_key, key, err, sizeof(err)) < 0)
		return keytool_fail("%s", err);
	return KEYTOOL_OK;
}

static int
report(const char *name, const struct nameserver *server, const char *zone, unsigned ttl,
    const struct dnsupdate_answer *a)
{
	char buf[16];
	const char *rcode = dnsupdate_rcode_name(a->rcode, buf, sizeof(buf));

	if (a->rcode == 0 && a->tsig_error == 0) {
		if (!a->signed_ok)	/* dnsupdate_txt() returns none such; belt and braces */
			return keytool_fail("%s: %s@%u answered NOERROR without a verified TSIG "
			    "MAC: not taken as success", name, server->address, server->port);
		printf("%s: published to %s@%u (zone %s, TTL %u): %s\n", name, server->address,
		    server->port, zone, ttl, rcode);
		return KEYTOOL_OK;
	}
	if (a->tsig_error != 0)
		return keytool_fail("%s: %s@%u refused the update: %s, TSIG %s", name,
		    server->address, server->port, rcode,
		    dnsupdate_tsig_error_name(a->tsig_error));
	return keytool_fail("%s: %s@%u refused the update: %s%s", name, server->address,
	    server->port, rcode, a->rcode == 5 ? " (does the zone allow updates with this "
	    "key?)" : a->rcode == 9 ? " (the server is not authoritative for the zone, or "
	    "the key is not allowed)" : "");
}

int
keytool_publish_key(struct keytool *kt, const char *domain, const char *selector,
    enum key_algorithm algorithm)
{
	char name[NAME_TEXT_MAX], zone[NAME_TEXT_MAX], err[256], *txt;
	struct dnsupdate_answer answer;
	struct nameserver server;
	struct tsig_key key;
	unsigned soa_ttl, negative_ttl;
	struct keycheck *kc;
	int rc;

	if (update_target(kt, &server, &key) != KEYTOOL_OK)
		return KEYTOOL_FAIL;
	snprintf(name, sizeof(name), "%s._domainkey.%s", selector, domain);
	if ((kc = keytool_checker(kt)) == NULL)
		return KEYTOOL_FAIL;
	if (keycheck_find_zone(kc, name, zone, sizeof(zone), &soa_ttl, &negative_ttl, err,
	    sizeof(err)) < 0)
		return keytool_fail("%s: cannot find its zone: %s", name, err);
	if ((txt = keytool_record(kt, domain, selector, algorithm)) == NULL)
		return KEYTOOL_FAIL;
	rc = dnsupdate_txt(&server, &key, zone, name, soa_ttl, txt, &answer, err, sizeof(err));
	free(txt);
	OPENSSL_cleanse(&key, sizeof(key));
	if (rc < 0)
		return keytool_fail("%s: update to %s@%u failed: %s", name, server.address,
		    server.port, err);
	return report(name, &server, zone, soa_ttl, &answer);
}

int
keytool_cmd_publish(struct keytool *kt)
{
	char domain[KEYSTORE_DOMAIN_MAX + 1];
	const struct keystore_key *k;
	struct keystore *store;
	size_t first, n, i, done = 0;
	int rc = KEYTOOL_OK;

	if (keytool_domain(kt->pos[1], domain) != KEYTOOL_OK)
		return KEYTOOL_FAIL;
	if (kt->conf->update_server == NULL || kt->conf->update_server[0] == '\0')
		return keytool_fail("no UpdateServer in %s: paste the output of \"signet-keys dns "
		    "%s%s%s\" into the zone instead", kt->conf->file != NULL ? kt->conf->file
		    : "the configuration", domain, kt->npos == 3 ? " " : "",
		    kt->npos == 3 ? kt->pos[2] : "");
	if ((store = keytool_load(kt)) == NULL)
		return KEYTOOL_FAIL;
	n = keytool_domain_keys(store, domain, &first);
	for (i = first; i < first + n; i++) {
		k = keystore_key_at(store, i);
		if (kt->npos == 3 ? strcasecmp(k->selector, kt->pos[2]) != 0
		    : k->state == KEY_STATE_RETIRED)
			continue;
		if (keytool_publish_key(kt, domain, k->selector, k->algorithm) != KEYTOOL_OK)
			rc = KEYTOOL_FAIL;
		done++;
	}
	keystore_free(store);
	if (done == 0)
		return keytool_fail("%s has no key %s%sin %s", domain, kt->npos == 3 ? kt->pos[2]
		    : "that is pending, active or retiring", kt->npos == 3 ? " " : " ",
		    kt->keystore);
	return rc;
}
