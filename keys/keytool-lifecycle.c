/*
 * NAME
 *	keytool-lifecycle.c - "signet-keys activate", "retire" and "rotate"
 * SYNOPSIS
 *	#include "keys/keytool.h"
 *
 *	int keytool_cmd_activate(struct keytool *kt);
 *	int keytool_cmd_retire(struct keytool *kt);
 *	int keytool_cmd_rotate(struct keytool *kt);
 * DESCRIPTION
 *	The transitions of signet-keys(8):
 *
 *	    pending --activate--> active --(another key of its family activated)--> retiring
 *	    active, retiring --retire--> retired
 *
 *	A domain signs with at most one active key per family (RSA, Ed25519): activating a
 *	key moves the family's other active keys to retiring, after the new key is active,
 *	so that at no moment is there none.  activate refuses unless the DNS check passes
 *	(--force: a warning instead); retire refuses the last active key of a domain unless
 *	--force.  Every command here holds the keystore lock, and those that change what
 *	the daemon signs with tell it to reload.
 *
 *	rotate --auto does, for every domain, whatever is due, in this order: retiring keys
 *	older than RetireGrace become retired; pending keys whose record passes the check
 *	(propagation included) are activated; a family whose newest active key is older
 *	than RotateInterval and has no pending key gets one (published when UpdateServer is
 *	set).  A pending key whose record is missing is published again when UpdateServer
 *	is set.  Running it twice does nothing the second time.
 * DIAGNOSTICS
 *	rotate --auto prints one line per thing done, "nothing due" when there was none,
 *	and exits 1 if any step failed (a wrong record, a failed update or lookup).
 * SEE ALSO
 *	keytool.h, keytool-check.c, signet-keys(8)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keys/keystore.h"
#include "keys/keystore-write.h"
#include "keys/keytool.h"

/* ---- activate ---------------------------------------------------------------------- */

int
keytool_activate_key(struct keytool *kt, const char *domain, const char *selector)
{
	struct keystore_error err;
	struct keystore_key key;
	const struct keystore_key *k;
	struct keystore *store;
	size_t first, n, i;
	int rc = KEYTOOL_OK;

	if (keystore_read_meta(kt->keystore, domain, selector, &key, NULL, NULL, &err) < 0
	    || keystore_set_state(kt->keystore, domain, selector, KEY_STATE_ACTIVE, kt->now,
	    &err) < 0)
		return keytool_fail("%s", err.text);
	if ((store = keytool_load(kt)) == NULL)
		return KEYTOOL_FAIL;
	n = keytool_domain_keys(store, domain, &first);
	for (i = first; i < first + n; i++) {
		k = keystore_key_at(store, i);
		if (k->state != KEY_STATE_ACTIVE || strcmp(k->selector, key.selector) == 0
		    || !keytool_same_family(k->algorithm, key.algorithm))
			continue;
		if (keystore_set_state(kt->keystore, domain, k->selector, KEY_STATE_RETIRING,
		    kt->now, &err) < 0) {
			rc = keytool_fail("%s", err.text);
			continue;
		}
		keytool_note("%s._domainkey.%s is now retiring (replaced by %s)", k->selector,
		    domain, selector);
	}
	keystore_free(store);
	return rc;
}

/* Refuses unless the record passes the check; with --force, warns instead. */
static int
activate_check(struct keytool *kt, const struct keystore_key *key)
{
	struct keycheck_result r;
	int rc;

	if (kt->force) {
		keytool_note("warning: activating %s._domainkey.%s without checking that its "
		    "DNS record is published (--force)", key->selector, key->domain);
		return KEYTOOL_OK;
	}
	if (keytool_check_key(kt, key, 1, &r) != KEYTOOL_OK)
		return KEYTOOL_FAIL;
	if ((rc = keytool_verdict_status(r.verdict)) == KEYTOOL_OK)
		return KEYTOOL_OK;
	keytool_fail("not activating %s._domainkey.%s: %s: %s (--force activates anyway)",
	    key->selector, key->domain, dkimrecord_verdict_name(r.verdict), r.detail);
	return rc;
}

int
keytool_cmd_activate(struct keytool *kt)
{
	char domain[KEYSTORE_DOMAIN_MAX + 1];
	const char *selector = kt->pos[2];
	struct keystore_error err;
	struct keystore_key key;
	int rc;

	if (keytool_domain(kt->pos[1], domain) != KEYTOOL_OK || keytool_lock(kt) != KEYTOOL_OK)
		return KEYTOOL_FAIL;
	if (keystore_read_meta(kt->keystore, domain, selector, &key, NULL, NULL, &err) < 0)
		return keytool_fail("%s", err.text);
	if (key.state == KEY_STATE_ACTIVE)
		return keytool_fail("%s._domainkey.%s is active already", selector, domain);
	if (key.state == KEY_STATE_RETIRED)
		return keytool_fail("%s._domainkey.%s is retired and may be gone from DNS: "
		    "generate a new key instead", selector, domain);
	/* The daemon refuses a whole keystore with one unreadable active key: check first. */
	if (keytool_check_private(kt, &key) != KEYTOOL_OK)
		return KEYTOOL_FAIL;
	if ((rc = activate_check(kt, &key)) != KEYTOOL_OK)
		return rc;
	if ((rc = keytool_activate_key(kt, domain, selector)) == KEYTOOL_OK)
		keytool_reload(kt);
	return rc;
}

/* ---- retire ------------------------------------------------------------------------ */

static size_t
count_active(const struct keystore *store, const char *domain)
{
	size_t first, n, i, active = 0;

	n = keytool_domain_keys(store, domain, &first);
	for (i = first; i < first + n; i++)
		active += keystore_key_at(store, i)->state == KEY_STATE_ACTIVE;
	return active;
}

int
keytool_cmd_retire(struct keytool *kt)
{
	char domain[KEYSTORE_DOMAIN_MAX + 1];
	const char *selector = kt->pos[2];
	struct keystore_error err;
	struct keystore_key key;
	struct keystore *store;
	size_t active;

	if (keytool_domain(kt->pos[1], domain) != KEYTOOL_OK || keytool_lock(kt) != KEYTOOL_OK)
		return KEYTOOL_FAIL;
	if (keystore_read_meta(kt->keystore, domain, selector, &key, NULL, NULL, &err) < 0)
		return keytool_fail("%s", err.text);
	if (key.state != KEY_STATE_ACTIVE && key.state != KEY_STATE_RETIRING)
		return keytool_fail("%s._domainkey.%s is %s: only active and retiring keys can "
		    "be retired", selector, domain, keystore_state_name(key.state));
	if ((store = keytool_load(kt)) == NULL)
		return KEYTOOL_FAIL;
	active = count_active(store, domain);
	keystore_free(store);
	if (key.state == KEY_STATE_ACTIVE && active == 1 && !kt->force)
		return keytool_fail("%s._domainkey.%s is the last active key of %s: its mail "
		    "would go unsigned; activate another key first (or --force)", selector,
		    domain, domain);
	if (key.state == KEY_STATE_ACTIVE && active == 1)
		keytool_note("warning: retiring the last active key of %s: its mail goes "
		    "unsigned (--force)", domain);
	if (keystore_set_state(kt->keystore, domain, selector, KEY_STATE_RETIRED, kt->now,
	    &err) < 0)
		return keytool_fail("%s", err.text);
	keytool_note("%s._domainkey.%s is retired: remove its record from DNS (signet-keys "
	    "dns %s %s shows the optional revoked form)", selector, domain, domain, selector);
	keytool_reload(kt);
	return KEYTOOL_OK;
}

/* ---- rotate ------------------------------------------------------------------------ */

/* Generates a pending key of the algorithm with the default selector into sel[]; on the
 * token when on_token (the key it replaces is there, or --token). */
static int
new_pending(struct keytool *kt, const char *domain, enum key_algorithm algorithm,
    int on_token, char *sel, size_t size)
{
	struct keystore_error err;

	if (keystore_default_selector(kt->keystore, domain, kt->now, sel, size, &err) < 0)
		return keytool_fail("%s", err.text);
	return keytool_make_key(kt, domain, sel, algorithm, on_token || kt->on_token);
}

/* The algorithm of the next key: -a, else that of the domain's active key(s); *on_token
 * when the active key of that family is on a token. */
static int
rotate_algorithm(struct keytool *kt, const struct keystore *store, const char *domain,
    enum key_algorithm *out, int *on_token)
{
	const struct keystore_key *k, *active = NULL;
	size_t first, n, i;

	if (kt->algorithm != NULL) {
		if (keystore_algorithm_parse(kt->algorithm, out) < 0)
			return keytool_fail("unknown algorithm \"%s\" (rsa-2048, rsa-3072, "
			    "rsa-4096, ed25519)", kt->algorithm);
	}
	n = keytool_domain_keys(store, domain, &first);
	for (i = first; i < first + n; i++) {
		k = keystore_key_at(store, i);
		if (k->state != KEY_STATE_ACTIVE)
			continue;
		if (kt->algorithm != NULL && !keytool_same_family(*out, k->algorithm))
			continue;
		*on_token |= k->uri[0] != '\0';
		if (kt->algorithm != NULL)
			continue;
		if (active != NULL && !keytool_same_family(active->algorithm, k->algorithm))
			return keytool_fail("%s signs with an RSA and an Ed25519 key: say which "
			    "to rotate with -a", domain);
		active = k;
	}
	if (kt->algorithm != NULL)
		return KEYTOOL_OK;
	if (active == NULL)
		return keytool_fail("%s has no active key to rotate: use signet-keys generate",
		    domain);
	*out = active->algorithm;
	return KEYTOOL_OK;
}

/* A pending key of the family, if any. */
static const struct keystore_key *
family_pending(const struct keystore *store, const char *domain, enum key_algorithm algorithm)
{
	const struct keystore_key *k;
	size_t first, n, i;

	n = keytool_domain_keys(store, domain, &first);
	for (i = first; i < first + n; i++) {
		k = keystore_key_at(store, i);
		if (k->state == KEY_STATE_PENDING && keytool_same_family(k->algorithm, algorithm))
			return k;
	}
	return NULL;
}

static int
rotate_domain(struct keytool *kt, const char *domain)
{
	char sel[KEYSTORE_SELECTOR_MAX + 1];
	const struct keystore_key *pending;
	enum key_algorithm algorithm;
	struct keystore *store;
	int rc, on_token = 0;

	if ((store = keytool_load(kt)) == NULL)
		return KEYTOOL_FAIL;
	if ((rc = rotate_algorithm(kt, store, domain, &algorithm, &on_token)) == KEYTOOL_OK
	    && (pending = family_pending(store, domain, algorithm)) != NULL)
		rc = keytool_fail("%s._domainkey.%s is pending already: publish and activate it "
		    "(signet-keys status %s)", pending->selector, domain, domain);
	keystore_free(store);
	if (rc != KEYTOOL_OK || (rc = new_pending(kt, domain, algorithm, on_token, sel,
	    sizeof(sel))) != KEYTOOL_OK)
		return rc;
	printf("%s\n", sel);
	return KEYTOOL_OK;
}

/* ---- rotate --auto ----------------------------------------------------------------- */

struct autorun {
	int	changed;	/* the daemon's signing keys changed: reload */
	int	failed;
	int	did;		/* lines printed */
};

static void
auto_retire(struct keytool *kt, const struct keystore_key *k, struct autorun *ar)
{
	struct keystore_error err;
	time_t due = k->since[KEY_STATE_RETIRING] + kt->conf->retire_grace;

	if (kt->now < due)
		return;
	ar->did++;
	if (keystore_set_state(kt->keystore, k->domain, k->selector, KEY_STATE_RETIRED,
	    kt->now, &err) < 0) {
		ar->failed = keytool_fail("%s", err.text);
		return;
	}
	ar->changed = 1;
	printf("%s %s retired (retiring since %s, RetireGrace over); remove it from DNS\n",
	    k->domain, k->selector, keytool_time(k->since[KEY_STATE_RETIRING], 0));
}

static int
has_update_server(const struct keytool *kt)
{
	return kt->conf->update_server != NULL && kt->conf->update_server[0] != '\0';
}

/* Publishes, then checks once so that the propagation wait starts counting. */
static void
auto_publish(struct keytool *kt, const struct keystore_key *k, struct autorun *ar)
{
	struct keycheck_result r;

	ar->did++;
	if (keytool_publish_key(kt, k->domain, k->selector, k->algorithm) != KEYTOOL_OK) {
		ar->failed = 1;
		return;
	}
	if (keytool_check_key(kt, k, 1, &r) == KEYTOOL_OK)
		printf("%s %s checked after publishing: %s\n", k->domain, k->selector,
		    dkimrecord_verdict_name(r.verdict));
}

static void
auto_pending(struct keytool *kt, const struct keystore_key *k, struct autorun *ar)
{
	struct keycheck_result r;

	if (keytool_check_key(kt, k, 1, &r) != KEYTOOL_OK) {
		ar->failed = 1;
		return;
	}
	ar->did++;
	if (r.verdict == DKIMREC_OK) {
		if (keytool_activate_key(kt, k->domain, k->selector) != KEYTOOL_OK) {
			ar->failed = 1;
			return;
		}
		ar->changed = 1;
		printf("%s %s activated (DNS matches)\n", k->domain, k->selector);
	} else if (r.verdict == DKIMREC_PROPAGATING) {
		printf("%s %s pending: DNS matches, propagating until %s\n", k->domain,
		    k->selector, keytool_time(r.settled, 0));
	} else if (r.verdict == DKIMREC_MISSING && has_update_server(kt)) {
		auto_publish(kt, k, ar);
	} else {
		printf("%s %s pending: %s: %s\n", k->domain, k->selector,
		    dkimrecord_verdict_name(r.verdict), r.detail);
		if (r.verdict != DKIMREC_MISSING)
			ar->failed = 1;
	}
}

/* A new pending key for a family whose newest active key is older than RotateInterval. */
static void
auto_generate(struct keytool *kt, const struct keystore *store, const char *domain,
    int ed25519, struct autorun *ar)
{
	const struct keystore_key *k, *newest = NULL;
	char sel[KEYSTORE_SELECTOR_MAX + 1];
	struct keystore_key created;
	struct keystore_error err;
	size_t first, n, i;

	n = keytool_domain_keys(store, domain, &first);
	for (i = first; i < first + n; i++) {
		k = keystore_key_at(store, i);
		if ((k->algorithm == KEY_ALG_ED25519) != ed25519)
			continue;
		if (k->state == KEY_STATE_PENDING)
			return;
		if (k->state == KEY_STATE_ACTIVE && (newest == NULL
		    || k->since[KEY_STATE_ACTIVE] > newest->since[KEY_STATE_ACTIVE]))
			newest = k;
	}
	if (newest == NULL || kt->now < newest->since[KEY_STATE_ACTIVE]
	    + kt->conf->rotate_interval)
		return;
	ar->did++;
	if (new_pending(kt, domain, newest->algorithm, newest->uri[0] != '\0', sel,
	    sizeof(sel)) != KEYTOOL_OK) {
		ar->failed = 1;
		return;
	}
	printf("%s %s generated (%s), to replace %s (active since %s)\n", domain, sel,
	    keystore_algorithm_name(newest->algorithm), newest->selector,
	    keytool_time(newest->since[KEY_STATE_ACTIVE], 0));
	if (!has_update_server(kt)) {
		printf("%s %s pending: publish it: signet-keys dns %s %s\n", domain, sel, domain,
		    sel);
		return;
	}
	if (keystore_read_meta(kt->keystore, domain, sel, &created, NULL, NULL, &err) < 0) {
		ar->failed = keytool_fail("%s", err.text);
		return;
	}
	auto_publish(kt, &created, ar);
}

static void
auto_domain(struct keytool *kt, const char *domain, struct autorun *ar)
{
	const struct keystore_key *k;
	struct keystore *store;
	size_t first, n, i;

	if ((store = keytool_load(kt)) == NULL) {
		ar->failed = 1;
		return;
	}
	n = keytool_domain_keys(store, domain, &first);
	for (i = first; i < first + n; i++) {
		k = keystore_key_at(store, i);
		if (k->state == KEY_STATE_RETIRING)
			auto_retire(kt, k, ar);
		else if (k->state == KEY_STATE_PENDING)
			auto_pending(kt, k, ar);
	}
	keystore_free(store);
	if ((store = keytool_load(kt)) == NULL) {	/* what activations changed */
		ar->failed = 1;
		return;
	}
	auto_generate(kt, store, domain, 0, ar);
	auto_generate(kt, store, domain, 1, ar);
	keystore_free(store);
}

static int
rotate_auto(struct keytool *kt)
{
	char domains[KEYSTORE_DOMAIN_MAX + 1];
	struct autorun ar = { 0 };
	struct keystore *store;
	size_t i, n, first;

	if (keytool_lock(kt) != KEYTOOL_OK || (store = keytool_load(kt)) == NULL)
		return KEYTOOL_FAIL;
	for (i = 0; i < keystore_count(store); i += n) {
		snprintf(domains, sizeof(domains), "%s", keystore_key_at(store, i)->domain);
		n = keytool_domain_keys(store, domains, &first);
		auto_domain(kt, domains, &ar);
	}
	keystore_free(store);
	if (ar.did == 0)
		printf("nothing due\n");
	if (ar.changed)
		keytool_reload(kt);
	return ar.failed ? KEYTOOL_FAIL : KEYTOOL_OK;
}

int
keytool_cmd_rotate(struct keytool *kt)
{
	char domain[KEYSTORE_DOMAIN_MAX + 1];

	if (kt->automatic) {
		if (kt->npos != 1 || kt->algorithm != NULL)
			return keytool_fail("rotate --auto takes no domain and no -a: it rotates "
			    "every domain as its keys are due");
		return rotate_auto(kt);
	}
	if (kt->npos != 2) {
		fprintf(stderr, "signet-keys: rotate needs a DOMAIN (or --auto)\n");
		return KEYTOOL_USAGE;
	}
	if (keytool_domain(kt->pos[1], domain) != KEYTOOL_OK || keytool_lock(kt) != KEYTOOL_OK)
		return KEYTOOL_FAIL;
	return rotate_domain(kt, domain);
}
