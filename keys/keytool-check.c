/*
 * NAME
 *	keytool-check.c - "signet-keys check" and "signet-keys status"
 * SYNOPSIS
 *	#include "keys/keytool.h"
 *
 *	int keytool_cmd_check(struct keytool *kt);
 *	int keytool_cmd_status(struct keytool *kt);
 * DESCRIPTION
 *	check prints one line per key, "SELECTOR._domainkey.DOMAIN: VERDICT: what is
 *	wrong and what to do", the verdicts of dkimrecord.h.  It records the first match
 *	(dns-match in the key's .meta) that the propagation rule of keycheck.h counts
 *	from, so it takes the keystore lock; a user who cannot (a read-only keystore)
 *	gets the check without the recording.
 *
 *	status only reads: per key of each domain, "DOMAIN SELECTOR STATE: next step",
 *	then per signing family "DOMAIN: next rotation ...".  It checks the DNS records of
 *	pending keys without recording anything.
 * DIAGNOSTICS
 *	check exits 0 when every record matches and has settled, 3 when the worst problem
 *	is temporary (lookup failure, still propagating), else 1.
 * SEE ALSO
 *	keytool.h, keycheck.c, signet-keys(8)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keys/keystore.h"
#include "keys/keytool.h"

/* The worse of two exit statuses: FAIL over LATER over OK. */
static int
worse(int a, int b)
{
	if (a == KEYTOOL_FAIL || b == KEYTOOL_FAIL)
		return KEYTOOL_FAIL;
	return a == KEYTOOL_LATER || b == KEYTOOL_LATER ? KEYTOOL_LATER : KEYTOOL_OK;
}

static int
in_dns(enum key_state state)
{
	return state != KEY_STATE_RETIRED;
}

static int
check_one(struct keytool *kt, const struct keystore_key *key, int record)
{
	struct keycheck_result r;

	if (keytool_check_key(kt, key, record, &r) != KEYTOOL_OK)
		return KEYTOOL_FAIL;
	printf("%s._domainkey.%s: %s: %s\n", key->selector, key->domain,
	    dkimrecord_verdict_name(r.verdict), r.detail);
	return keytool_verdict_status(r.verdict);
}

int
keytool_cmd_check(struct keytool *kt)
{
	char domain[KEYSTORE_DOMAIN_MAX + 1];
	const struct keystore_key *k;
	struct keystore *store;
	size_t first, n, i, checked = 0;
	int rc = KEYTOOL_OK, record;

	if (keytool_domain(kt->pos[1], domain) != KEYTOOL_OK)
		return KEYTOOL_FAIL;
	record = keytool_lock_optional(kt);
	if ((store = keytool_load(kt)) == NULL)
		return KEYTOOL_FAIL;
	n = keytool_domain_keys(store, domain, &first);
	for (i = first; i < first + n; i++) {
		k = keystore_key_at(store, i);
		if (kt->npos == 3 ? strcasecmp(k->selector, kt->pos[2]) != 0 : !in_dns(k->state))
			continue;
		rc = worse(rc, check_one(kt, k, record));
		checked++;
	}
	keystore_free(store);
	if (checked == 0 && kt->npos == 3)
		return keytool_fail("%s has no key %s in %s", domain, kt->pos[2], kt->keystore);
	if (checked == 0)
		return keytool_fail("%s has no key that is pending, active or retiring in %s",
		    domain, kt->keystore);
	return rc;
}

/* ---- status ------------------------------------------------------------------------ */

static void
status_pending(struct keytool *kt, const struct keystore_key *k)
{
	struct keycheck_result r;
	const char *d = k->domain, *s = k->selector;

	printf("%s %s pending: ", d, s);
	fflush(stdout);
	if (keytool_check_key(kt, k, 0, &r) != KEYTOOL_OK) {
		printf("cannot check its record (see above)\n");
		return;
	}
	switch (r.verdict) {
	case DKIMREC_OK:
		printf("activate %s (DNS matches): signet-keys activate %s %s\n", s, d, s);
		break;
	case DKIMREC_PROPAGATING:
		if (k->dns_match != 0)
			printf("activate %s after %s (DNS matches, propagating)\n", s,
			    keytool_time(r.settled, 0));
		else
			printf("DNS matches; run: signet-keys check %s %s (the propagation "
			    "wait counts from the first check)\n", d, s);
		break;
	case DKIMREC_MISSING:
		printf("publish %s then run: signet-keys check %s %s\n", s, d, s);
		break;
	case DKIMREC_DNS_FAILURE:
		printf("cannot check DNS now: %s\n", r.detail);
		break;
	default:
		printf("fix the record of %s (%s: %s), then run: signet-keys check %s %s\n", s,
		    dkimrecord_verdict_name(r.verdict), r.detail, d, s);
		break;
	}
}

static void
status_key(struct keytool *kt, const struct keystore_key *k)
{
	time_t due;

	switch (k->state) {
	case KEY_STATE_PENDING:
		status_pending(kt, k);
		break;
	case KEY_STATE_ACTIVE:
		printf("%s %s active: signs (%s) since %s\n", k->domain, k->selector,
		    keystore_algorithm_name(k->algorithm), keytool_time(k->since[KEY_STATE_ACTIVE],
		    0));
		break;
	case KEY_STATE_RETIRING:
		due = k->since[KEY_STATE_RETIRING] + kt->conf->retire_grace;
		if (kt->now < due)
			printf("%s %s retiring: retire %s after %s (grace)\n", k->domain,
			    k->selector, k->selector, keytool_time(due, 0));
		else
			printf("%s %s retiring: retire %s now (grace over since %s): signet-keys "
			    "retire %s %s\n", k->domain, k->selector, k->selector,
			    keytool_time(due, 0), k->domain, k->selector);
		break;
	case KEY_STATE_RETIRED:
		printf("%s %s retired: remove %s from DNS: it is retired; optional revoked "
		    "record: %s._domainkey.%s. IN TXT \"v=DKIM1; k=%s; p=\"\n", k->domain,
		    k->selector, k->selector, k->selector, k->domain,
		    keystore_dns_key_type(k->algorithm));
		break;
	}
}

/* The newest active key of the family of k among keys[first, first+n), and whether a
 * pending key of that family exists. */
static const struct keystore_key *
family_newest(const struct keystore *store, size_t first, size_t n,
    enum key_algorithm algorithm, int *pending)
{
	const struct keystore_key *newest = NULL, *k;
	size_t i;

	*pending = 0;
	for (i = first; i < first + n; i++) {
		k = keystore_key_at(store, i);
		if (!keytool_same_family(k->algorithm, algorithm))
			continue;
		if (k->state == KEY_STATE_PENDING)
			*pending = 1;
		if (k->state == KEY_STATE_ACTIVE && (newest == NULL
		    || k->since[KEY_STATE_ACTIVE] > newest->since[KEY_STATE_ACTIVE]))
			newest = k;
	}
	return newest;
}

static void
status_rotation(struct keytool *kt, const struct keystore *store, size_t first, size_t n)
{
	static const enum key_algorithm families[] = { KEY_ALG_RSA_2048, KEY_ALG_ED25519 };
	const struct keystore_key *newest;
	size_t f;
	time_t due;
	int pending;

	for (f = 0; f < 2; f++) {
		newest = family_newest(store, first, n, families[f], &pending);
		if (newest == NULL)
			continue;
		due = newest->since[KEY_STATE_ACTIVE] + kt->conf->rotate_interval;
		if (pending)
			printf("%s: %s rotation under way (a pending key replaces %s)\n",
			    newest->domain, families[f] == KEY_ALG_ED25519 ? "ed25519" : "rsa",
			    newest->selector);
		else if (kt->now < due)
			printf("%s: next %s rotation due %s\n", newest->domain, families[f] ==
			    KEY_ALG_ED25519 ? "ed25519" : "rsa", keytool_time(due, 0));
		else
			printf("%s: %s rotation due since %s: signet-keys rotate %s -a %s\n",
			    newest->domain, families[f] == KEY_ALG_ED25519 ? "ed25519" : "rsa",
			    keytool_time(due, 0), newest->domain,
			    keystore_algorithm_name(newest->algorithm));
	}
}

static void
status_domain(struct keytool *kt, const struct keystore *store, size_t first, size_t n)
{
	size_t i, active = 0;

	for (i = first; i < first + n; i++) {
		status_key(kt, keystore_key_at(store, i));
		active += keystore_key_at(store, i)->state == KEY_STATE_ACTIVE;
	}
	if (active == 0)
		printf("%s: no active key: nothing is signed for it\n",
		    keystore_key_at(store, first)->domain);
	status_rotation(kt, store, first, n);
}

int
keytool_cmd_status(struct keytool *kt)
{
	char domain[KEYSTORE_DOMAIN_MAX + 1];
	struct keystore *store;
	size_t first, n, i;

	if (kt->npos == 2 && keytool_domain(kt->pos[1], domain) != KEYTOOL_OK)
		return KEYTOOL_FAIL;
	if ((store = keytool_load(kt)) == NULL)
		return KEYTOOL_FAIL;
	if (kt->npos == 2) {
		if ((n = keytool_domain_keys(store, domain, &first)) == 0) {
			keystore_free(store);
			return keytool_fail("%s has no key in %s", domain, kt->keystore);
		}
		status_domain(kt, store, first, n);
	}
	for (i = 0; kt->npos == 1 && i < keystore_count(store); i += n) {
		n = keytool_domain_keys(store, keystore_key_at(store, i)->domain, &first);
		status_domain(kt, store, first, n);
	}
	keystore_free(store);
	return KEYTOOL_OK;
}
