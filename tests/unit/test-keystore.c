/*
 * NAME
 *	test-keystore - unit tests of keys/keystore.c and keys/keystore-write.c
 * SYNOPSIS
 *	tests/unit/test-keystore
 * DESCRIPTION
 *	Builds key stores in mkdtemp(3) directories under $TMPDIR (default /tmp) and checks
 *	what keystore_load() makes of them: generation and file modes, .meta contents,
 *	default selectors, states, private-key loading, lookups, refusal of unsafe or
 *	corrupt files with the file named, DNS record data, and sorting.  One RSA-2048 key
 *	and one Ed25519 key are generated and reused under several selectors, so the whole
 *	run takes milliseconds.
 * DIAGNOSTICS
 *	TAP on stdout; exit status 1 if any check failed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* nftw(3), mkdtemp(3), timegm(3) */
#endif
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "keys/keystore.h"
#include "keys/keystore-write.h"
#include "tests/unit/tap.h"
#include "tests/unit/torture.h"

static EVP_PKEY *rsa_key, *ed_key;
static time_t t0;		/* 2026-11-27T07:21:00Z */

/* ---- fixtures ---------------------------------------------------------------------- */

static char *
make_store(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[512];
	char *dir;

	snprintf(path, sizeof(path), "%s/test-keystore.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if ((dir = mkdtemp(path)) == NULL) {
		perror("mkdtemp");
		exit(99);
	}
	return strdup(dir);
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
remove_store(char *dir)
{
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* Writes DIR/REL with the given mode, creating REL's directory. */
static void
put(const char *dir, const char *domain, const char *name, const char *text, mode_t mode)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, domain);
	mkdir(path, 0750);
	snprintf(path, sizeof(path), "%s/%s/%s", dir, domain, name);
	if ((f = fopen(path, "w")) == NULL || fputs(text, f) == EOF || fclose(f) != 0) {
		perror(path);
		exit(99);
	}
	chmod(path, mode);
}

static int
mode_of(const char *dir, const char *domain, const char *name)
{
	char path[1024];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s%s%s%s", dir, domain ? "/" : "", domain ? domain : "",
	    name ? "/" : "", name ? name : "");
	return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static char *
slurp(const char *dir, const char *domain, const char *name)
{
	static char buf[4096];
	char path[1024];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, domain, name);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static int
create(const char *dir, const char *domain, const char *sel, enum key_algorithm alg)
{
	struct keystore_error err;
	EVP_PKEY *pkey = alg == KEY_ALG_ED25519 ? ed_key : rsa_key;

	if (keystore_create(dir, domain, sel, alg, pkey, t0, &err) < 0) {
		printf("# keystore_create %s %s: %s\n", domain, sel, err.text);
		return -1;
	}
	return 0;
}

static int
activate(const char *dir, const char *domain, const char *sel)
{
	struct keystore_error err;

	if (keystore_set_state(dir, domain, sel, KEY_STATE_ACTIVE, t0 + 3600, &err) < 0) {
		printf("# keystore_set_state %s %s: %s\n", domain, sel, err.text);
		return -1;
	}
	return 0;
}

/* keystore_load() that must fail; returns its error text. */
static const char *
load_error(const char *dir, unsigned flags)
{
	static struct keystore_error err;
	struct keystore *store;

	memset(&err, 0, sizeof(err));
	if ((store = keystore_load(dir, flags, &err)) != NULL) {
		keystore_free(store);
		return "(loaded)";
	}
	return err.text;
}

/* ---- generation and files ---------------------------------------------------------- */

static void
test_generate_writes_private_files(void)
{
	char *dir = make_store(), root[1024], sel[64];
	struct keystore_error err;

	snprintf(root, sizeof(root), "%s/var/keys", dir);
	TAP_INT_EQ(keystore_default_selector(root, "example.com", t0, sel, sizeof(sel), &err),
	    0, "default_selector_in_missing_keystore");
	TAP_STR_EQ(sel, "s202611a", "default_selector_is_s_yyyymm_a");
	TAP_INT_EQ(create(root, "Example.COM.", sel, KEY_ALG_RSA_2048), 0,
	    "create_rsa_key_normalises_domain");
	TAP_INT_EQ(mode_of(root, NULL, NULL), 0750, "create_makes_keystore_root_0750");
	TAP_INT_EQ(mode_of(dir, "var", NULL), 0755, "create_makes_root_parents_0755");
	TAP_INT_EQ(mode_of(root, "example.com", NULL), 0750, "create_makes_domain_dir_0750");
	TAP_INT_EQ(mode_of(root, "example.com", "s202611a.key"), 0600, "key_file_is_0600");
	TAP_INT_EQ(mode_of(root, "example.com", "s202611a.meta"), 0640, "meta_file_is_0640");
	TAP_STR_EQ(slurp(root, "example.com", "s202611a.meta"),
	    "algorithm rsa-2048\nstate pending\ntransition pending 2026-11-27T07:21:00Z\n",
	    "meta_of_new_key_is_pending_with_transition");
	TAP_OK(strncmp(slurp(root, "example.com", "s202611a.key"),
	    "-----BEGIN PRIVATE KEY-----\n", 28) == 0, "key_file_is_pkcs8_pem");

	TAP_INT_EQ(create(root, "example.com", "ed", KEY_ALG_ED25519), 0, "create_ed25519_key");
	TAP_STR_EQ(slurp(root, "example.com", "ed.meta"),
	    "algorithm ed25519\nstate pending\ntransition pending 2026-11-27T07:21:00Z\n",
	    "meta_of_ed25519_key");
	TAP_INT_EQ(mode_of(root, "example.com", "ed.key"), 0600, "ed25519_key_file_is_0600");

	TAP_OK(keystore_create(root, "example.com", "S202611A", KEY_ALG_ED25519, ed_key, t0,
	    &err) < 0 && strstr(err.text, "exists already") != NULL,
	    "create_refuses_existing_selector_in_any_case: %s", err.text);
	TAP_OK(keystore_create(root, "example.com", "../x", KEY_ALG_ED25519, ed_key, t0,
	    &err) < 0 && strstr(err.text, "invalid selector") != NULL,
	    "create_refuses_selector_with_slash: %s", err.text);
	TAP_OK(keystore_create(root, "exa_mple.com", "a", KEY_ALG_ED25519, ed_key, t0,
	    &err) < 0 && strstr(err.text, "invalid domain") != NULL,
	    "create_refuses_bad_domain: %s", err.text);
	remove_store(dir);
}

static void
test_default_selector_skips_used(void)
{
	char *dir = make_store(), sel[64], name[32];
	struct keystore_error err;
	char c;

	create(dir, "example.org", "s202611a", KEY_ALG_ED25519);
	create(dir, "example.org", "S202611C", KEY_ALG_ED25519);
	keystore_default_selector(dir, "example.org", t0, sel, sizeof(sel), &err);
	TAP_STR_EQ(sel, "s202611b", "default_selector_takes_first_free_letter");
	create(dir, "example.org", sel, KEY_ALG_ED25519);
	keystore_default_selector(dir, "EXAMPLE.org.", t0, sel, sizeof(sel), &err);
	TAP_STR_EQ(sel, "s202611d", "default_selector_ignores_case_of_used_ones");
	for (c = 'd'; c <= 'z'; c++) {
		snprintf(name, sizeof(name), "s202611%c.key", c);
		put(dir, "example.org", name, "", 0600);
	}
	keystore_default_selector(dir, "example.org", t0, sel, sizeof(sel), &err);
	TAP_STR_EQ(sel, "s202611aa", "default_selector_goes_to_two_letters_after_z");
	keystore_default_selector(dir, "example.org", t0 + 40 * 86400, sel, sizeof(sel), &err);
	TAP_STR_EQ(sel, "s202701a", "default_selector_restarts_each_month");
	keystore_default_selector(dir, "example.net", t0, sel, sizeof(sel), &err);
	TAP_STR_EQ(sel, "s202611a", "default_selector_is_per_domain");
	remove_store(dir);
}

static void
test_set_state_appends_transition(void)
{
	char *dir = make_store();
	struct keystore_error err;

	create(dir, "example.com", "a", KEY_ALG_ED25519);
	TAP_INT_EQ(activate(dir, "example.com", "a"), 0, "set_state_active");
	TAP_STR_EQ(slurp(dir, "example.com", "a.meta"),
	    "algorithm ed25519\nstate active\ntransition pending 2026-11-27T07:21:00Z\n"
	    "transition active 2026-11-27T08:21:00Z\n", "set_state_rewrites_state_and_appends");
	TAP_INT_EQ(mode_of(dir, "example.com", "a.meta"), 0640, "set_state_keeps_meta_0640");
	TAP_OK(keystore_set_state(dir, "example.com", "a", KEY_STATE_ACTIVE, t0, &err) < 0
	    && strstr(err.text, "active already") != NULL,
	    "set_state_refuses_same_state: %s", err.text);
	TAP_OK(keystore_set_state(dir, "example.com", "zz", KEY_STATE_ACTIVE, t0, &err) < 0
	    && strstr(err.text, "zz.meta") != NULL,
	    "set_state_of_missing_key_names_file: %s", err.text);
	remove_store(dir);
}

/* ---- loading ----------------------------------------------------------------------- */

static void
test_load_sorts_and_parses_active_only(void)
{
	char *dir = make_store();
	struct keystore_error err;
	struct keystore *store;
	const struct keystore_key *k, *found[4];
	static const char *const want[] = {
		"a.example a", "a.example M", "a.example z", "b.example s1", "b.example s2",
	};
	char got[320];
	size_t i;

	create(dir, "b.example", "s2", KEY_ALG_ED25519);
	create(dir, "a.example", "z", KEY_ALG_ED25519);
	create(dir, "b.example", "s1", KEY_ALG_RSA_2048);
	create(dir, "a.example", "M", KEY_ALG_ED25519);
	create(dir, "a.example", "a", KEY_ALG_ED25519);
	activate(dir, "b.example", "s1");
	activate(dir, "b.example", "s2");
	activate(dir, "a.example", "z");
	put(dir, "a.example", "orphan.key", "not a key", 0600);
	put(dir, "a.example", ".tmp.meta.XXXXXX", "garbage", 0600);
	put(dir, ".", "README", "not a domain", 0644);

	store = keystore_load(dir, 0, &err);
	TAP_OK(store != NULL, "load_without_private: %s", store ? "" : err.text);
	if (store == NULL)
		goto out;
	TAP_INT_EQ(keystore_count(store), 5, "load_ignores_orphan_key_and_dot_files");
	for (i = 0; i < 5 && i < keystore_count(store); i++) {
		k = keystore_key_at(store, i);
		snprintf(got, sizeof(got), "%s %s", k->domain, k->selector);
		TAP_STR_EQ(got, want[i], "load_sorts_by_domain_then_selector[%zu]", i);
	}
	k = keystore_key_at(store, 0);
	TAP_OK(k->pkey == NULL && k->bits == 0 && k->created == t0,
	    "load_without_private_leaves_pkey_null_and_sets_created");
	TAP_OK(keystore_key_at(store, 5) == NULL, "key_at_past_end_is_null");
	keystore_free(store);

	store = keystore_load(dir, KEYSTORE_LOAD_PRIVATE, &err);
	TAP_OK(store != NULL, "load_with_private: %s", store ? "" : err.text);
	if (store == NULL)
		goto out;
	for (i = 0; i < keystore_count(store); i++) {
		k = keystore_key_at(store, i);
		TAP_OK((k->pkey != NULL) == (k->state == KEY_STATE_ACTIVE),
		    "load_private_parses_active_keys_only %s %s", k->domain, k->selector);
	}
	TAP_INT_EQ(keystore_find_active(store, "B.Example.", found, 4), 2,
	    "find_active_ignores_case_and_trailing_dot");
	TAP_OK(found[0]->bits == 2048 && strcmp(found[0]->selector, "s1") == 0,
	    "find_active_rsa_bits_2048");
	TAP_OK(found[1]->bits == 256 && strcmp(found[1]->selector, "s2") == 0,
	    "find_active_ed25519_bits_256");
	TAP_INT_EQ(keystore_find_active(store, "b.example", found, 1), 2,
	    "find_active_counts_beyond_max");
	TAP_INT_EQ(keystore_find_active(store, "a.example", found, 4), 1,
	    "find_active_skips_pending");
	TAP_INT_EQ(keystore_find_active(store, "c.example", found, 4), 0,
	    "find_active_unknown_domain");
	TAP_INT_EQ(keystore_find_active(store, "example", found, 4), 0,
	    "find_active_parent_domain_is_not_a_match");
	TAP_INT_EQ(keystore_find_active(store, "bad..name", found, 4), 0,
	    "find_active_invalid_name");
	keystore_free(store);
out:
	remove_store(dir);
}

static void
test_load_empty_and_missing(void)
{
	char *dir = make_store(), missing[1024];
	struct keystore_error err;
	struct keystore *store;

	store = keystore_load(dir, KEYSTORE_LOAD_PRIVATE, &err);
	TAP_OK(store != NULL && keystore_count(store) == 0, "load_empty_keystore");
	keystore_free(store);
	snprintf(missing, sizeof(missing), "%s/nonexistent", dir);
	TAP_OK(strstr(load_error(missing, 0), missing) != NULL, "load_missing_dir_is_error: %s",
	    load_error(missing, 0));
	remove_store(dir);
}

static void
test_load_refuses_unsafe_key_files(void)
{
	char *dir = make_store(), path[1024], target[1024];
	const char *e;

	create(dir, "example.com", "a", KEY_ALG_ED25519);
	activate(dir, "example.com", "a");
	snprintf(path, sizeof(path), "%s/example.com/a.key", dir);

	chmod(path, 0644);
	e = load_error(dir, KEYSTORE_LOAD_PRIVATE);
	TAP_OK(strstr(e, path) != NULL && strstr(e, "mode 0644") != NULL,
	    "world_readable_key_refused_with_file_and_mode: %s", e);
	e = load_error(dir, 0);
	TAP_OK(strstr(e, path) != NULL, "world_readable_key_refused_without_private: %s", e);
	chmod(path, 0620);
	e = load_error(dir, KEYSTORE_LOAD_PRIVATE);
	TAP_OK(strstr(e, "mode 0620") != NULL, "group_writable_key_refused: %s", e);
	chmod(path, 0640);
	TAP_STR_EQ(load_error(dir, KEYSTORE_LOAD_PRIVATE), "(loaded)", "group_readable_key_ok");
	chmod(path, 0600);

	snprintf(target, sizeof(target), "%s/example.com/a.real", dir);
	rename(path, target);
	if (symlink(target, path) < 0)
		perror("symlink");
	e = load_error(dir, KEYSTORE_LOAD_PRIVATE);
	TAP_OK(strstr(e, path) != NULL && strstr(e, "symbolic link") != NULL,
	    "symlinked_key_refused: %s", e);
	unlink(path);
	e = load_error(dir, 0);
	TAP_OK(strstr(e, "a.meta") != NULL && strstr(e, "a.key") != NULL,
	    "meta_without_key_refused: %s", e);
	put(dir, "example.com", "a.meta", "algorithm ed25519\nstate retired\n", 0640);
	TAP_STR_EQ(load_error(dir, 0), "(loaded)", "retired_meta_without_key_is_skipped");
	remove_store(dir);
}

static void
test_load_checks_key_against_meta(void)
{
	char *dir = make_store(), path[1024];
	const char *e;

	create(dir, "example.com", "a", KEY_ALG_RSA_2048);
	activate(dir, "example.com", "a");
	snprintf(path, sizeof(path), "%s/example.com/a.key", dir);
	put(dir, "example.com", "a.meta", "algorithm rsa-3072\nstate active\n", 0640);
	e = load_error(dir, KEYSTORE_LOAD_PRIVATE);
	TAP_OK(strstr(e, path) != NULL && strstr(e, "2048 bits") != NULL,
	    "rsa_key_size_must_match_meta: %s", e);
	put(dir, "example.com", "a.meta", "algorithm ed25519\nstate active\n", 0640);
	e = load_error(dir, KEYSTORE_LOAD_PRIVATE);
	TAP_OK(strstr(e, path) != NULL && strstr(e, "not an Ed25519 key") != NULL,
	    "key_type_must_match_meta: %s", e);
	put(dir, "example.com", "a.meta", "algorithm ed25519\nstate pending\n", 0640);
	TAP_STR_EQ(load_error(dir, KEYSTORE_LOAD_PRIVATE), "(loaded)",
	    "pending_keys_are_not_parsed");
	put(dir, "example.com", "a.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n"
	    "-----END PRIVATE KEY-----\n", 0600);
	put(dir, "example.com", "a.meta", "algorithm ed25519\nstate active\n", 0640);
	e = load_error(dir, KEYSTORE_LOAD_PRIVATE);
	TAP_OK(strstr(e, path) != NULL && strstr(e, "PEM") != NULL,
	    "corrupt_pem_refused: %s", e);
	remove_store(dir);
}

/* One load decodes every key with a decoder per type (keys/pemdecode.c): keys of both
 * types, in any order, come out equal to what was written; a PKCS#1 "RSA PRIVATE KEY"
 * file, which that decoder does not take, still loads the general way. */
static void
test_load_decodes_every_key_and_pkcs1(void)
{
	char *dir = make_store(), sel[16], *pem = NULL;
	struct keystore_error err;
	struct keystore *store;
	BIO *bio = BIO_new(BIO_s_mem());
	int ok = 1, equal = 1;
	long len;

	for (int i = 0; i < 6; i++) {
		snprintf(sel, sizeof(sel), "k%d", i);
		ok = ok && create(dir, "mixed.example", sel, i % 3 == 1 ? KEY_ALG_RSA_2048 :
		    KEY_ALG_ED25519) == 0 && activate(dir, "mixed.example", sel) == 0;
	}
	ok = ok && bio != NULL && PEM_write_bio_PrivateKey_traditional(bio, rsa_key,
	    NULL, NULL, 0, NULL, NULL) == 1 && (len = BIO_get_mem_data(bio, &pem)) > 0;
	if (ok) {
		char text[4096];

		snprintf(text, sizeof(text), "%.*s", (int)len, pem);
		ok = strstr(text, "BEGIN RSA PRIVATE KEY") != NULL;
		create(dir, "pkcs1.example", "a", KEY_ALG_RSA_2048);
		activate(dir, "pkcs1.example", "a");
		put(dir, "pkcs1.example", "a.key", text, 0600);
	}
	BIO_free(bio);
	store = ok ? keystore_load(dir, KEYSTORE_LOAD_PRIVATE, &err) : NULL;
	TAP_OK(store != NULL && keystore_count(store) == 7, "mixed_store_loads: %s",
	    store ? "" : err.text);
	for (size_t i = 0; store != NULL && i < keystore_count(store); i++) {
		const struct keystore_key *k = keystore_key_at(store, i);
		EVP_PKEY *want = k->algorithm == KEY_ALG_ED25519 ? ed_key : rsa_key;

		equal = equal && k->pkey != NULL && EVP_PKEY_eq(k->pkey, want) == 1;
	}
	TAP_OK(store != NULL && equal, "every_key_decoded_equal_to_the_one_written");
	keystore_free(store);
	remove_store(dir);
}

/* Each .meta text must fail with "DIR/example.com/x.meta<want>". */
static void
test_load_names_corrupt_meta_lines(void)
{
	static const struct {
		const char *name, *meta, *want;
	} cases[] = {
		{ "unknown_algorithm", "state pending\n# note\nalgorithm rsa-1024\n",
		  ":3: unknown algorithm \"rsa-1024\"" },
		{ "unknown_state", "algorithm ed25519\nstate sleeping\n",
		  ":2: unknown state \"sleeping\"" },
		{ "unknown_name", "algorithm ed25519\nstate active\ncolour blue\n",
		  ":3: unknown name \"colour\"" },
		{ "missing_value", "algorithm\nstate active\n", ":1: want \"algorithm VALUE\"" },
		{ "extra_value", "algorithm ed25519 rsa-2048\n", ":1: want \"algorithm VALUE\"" },
		{ "second_state", "algorithm ed25519\nstate active\nstate pending\n",
		  ":3: second state line" },
		{ "no_state", "algorithm ed25519\n", ": no state line" },
		{ "no_algorithm", "state active\n", ": no algorithm line" },
		{ "bad_time", "algorithm ed25519\nstate pending\n"
		  "transition pending 2026-02-30T00:00:00Z\n",
		  ":3: bad time \"2026-02-30T00:00:00Z\" (want UTC like 2026-11-27T07:21:00Z)" },
		{ "local_time", "algorithm ed25519\nstate pending\n"
		  "transition pending 2026-11-27T07:21:00+01:00\n", ":3: bad time" },
		{ "transition_state", "algorithm ed25519\nstate pending\n"
		  "transition asleep 2026-11-27T07:21:00Z\n", ":3: unknown state \"asleep\"" },
		{ "last_transition", "algorithm ed25519\nstate active\n"
		  "transition pending 2026-11-27T07:21:00Z\n",
		  ": state is active but the last transition is to pending" },
		{ "control_byte", "algorithm ed25519\r\nstate active\n", ":1: unexpected byte 0x0d" },
	};
	char *dir = make_store(), want[1024], longline[KEYSTORE_URI_MAX + 100];
	const char *e;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		create(dir, "example.com", "x", KEY_ALG_ED25519);
		put(dir, "example.com", "x.meta", cases[i].meta, 0640);
		snprintf(want, sizeof(want), "%s/example.com/x.meta%s", dir, cases[i].want);
		e = load_error(dir, 0);
		TAP_OK(strncmp(e, want, strlen(want)) == 0, "corrupt_meta_%s", cases[i].name);
		if (strncmp(e, want, strlen(want)) != 0)
			printf("#   got:  \"%s\"\n#   want: \"%s\"\n", e, want);
		snprintf(want, sizeof(want), "%s/example.com/x.key", dir);
		remove(want);
		snprintf(want, sizeof(want), "%s/example.com/x.meta", dir);
		remove(want);
	}
	memset(longline, '#', sizeof(longline) - 2);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = '\0';
	create(dir, "example.com", "x", KEY_ALG_ED25519);
	put(dir, "example.com", "x.meta", longline, 0640);
	e = load_error(dir, 0);
	TAP_OK(strstr(e, "x.meta:1: line longer than 1016 bytes") != NULL,
	    "corrupt_meta_long_line: %s", e);
	remove_store(dir);
}

static void
test_load_refuses_bad_names(void)
{
	char *dir = make_store();
	const char *e;

	put(dir, "Example.com", "a.meta", "algorithm ed25519\nstate retired\n", 0640);
	e = load_error(dir, 0);
	TAP_OK(strstr(e, "Example.com") != NULL && strstr(e, "lower case") != NULL,
	    "upper_case_domain_dir_refused: %s", e);
	remove_store(dir);

	dir = make_store();
	put(dir, "example.com", "bad!sel.meta", "algorithm ed25519\nstate retired\n", 0640);
	e = load_error(dir, 0);
	TAP_OK(strstr(e, "bad!sel.meta") != NULL && strstr(e, "not a valid selector") != NULL,
	    "bad_selector_file_refused: %s", e);
	remove_store(dir);

	dir = make_store();
	create(dir, "example.com", "sel", KEY_ALG_ED25519);
	put(dir, "example.com", "SEL.meta", "algorithm ed25519\nstate pending\n", 0640);
	put(dir, "example.com", "SEL.key", "x", 0600);
	e = load_error(dir, 0);
	TAP_OK(strstr(e, "differ only in case") != NULL, "selectors_differing_in_case: %s", e);
	remove_store(dir);
}

static void
test_names(void)
{
	static const struct {
		const char *in, *want;
	} domains[] = {
		{ "Example.COM", "example.com" }, { "example.com.", "example.com" },
		{ "a-b.c0", "a-b.c0" }, { "", NULL }, { ".", NULL }, { "a..b", NULL },
		{ ".a", NULL }, { "a_b.com", NULL }, { "a b", NULL }, { "a/b", NULL },
		{ "\xc3\xa9.com", NULL },
	};
	char out[KEYSTORE_DOMAIN_MAX + 1], big[300];
	size_t i;

	for (i = 0; i < sizeof(domains) / sizeof(domains[0]); i++) {
		int rc = keystore_domain_normalize(domains[i].in, out, sizeof(out));

		TAP_STR_EQ(rc == 0 ? out : NULL, domains[i].want, "domain_normalize \"%s\"",
		    domains[i].in);
	}
	memset(big, 'a', sizeof(big));
	for (i = 63; i < sizeof(big); i += 64)
		big[i] = '.';
	big[253] = '\0';
	TAP_INT_EQ(keystore_domain_normalize(big, out, sizeof(out)), 0, "domain_of_253_ok");
	big[253] = 'a';
	big[254] = '\0';
	TAP_INT_EQ(keystore_domain_normalize(big, out, sizeof(out)), -1, "domain_of_254_refused");
	memset(big, 'a', 64);
	big[64] = '\0';
	TAP_INT_EQ(keystore_domain_normalize(big, out, sizeof(out)), -1, "label_of_64_refused");

	TAP_OK(keystore_selector_valid("s202611a"), "selector_plain");
	TAP_OK(keystore_selector_valid("a_b-c.D2"), "selector_dots_underscore");
	TAP_OK(!keystore_selector_valid(""), "selector_empty_refused");
	TAP_OK(!keystore_selector_valid("a..b"), "selector_empty_label_refused");
	TAP_OK(!keystore_selector_valid("../etc"), "selector_path_refused");
	big[63] = '\0';
	TAP_OK(keystore_selector_valid(big), "selector_of_63_ok");
	big[63] = 'a';
	TAP_OK(!keystore_selector_valid(big), "selector_of_64_refused");

	for (i = 0; i <= KEY_ALG_ED25519; i++) {
		enum key_algorithm alg;

		TAP_OK(keystore_algorithm_parse(keystore_algorithm_name(i), &alg) == 0
		    && alg == i, "algorithm_name_round_trip %s", keystore_algorithm_name(i));
	}
	TAP_STR_EQ(keystore_dkim_algorithm(KEY_ALG_ED25519), "ed25519-sha256", "dkim_a_ed25519");
	TAP_STR_EQ(keystore_dkim_algorithm(KEY_ALG_RSA_4096), "rsa-sha256", "dkim_a_rsa");
	TAP_STR_EQ(keystore_dns_key_type(KEY_ALG_RSA_3072), "rsa", "dns_k_rsa");
}

/* ---- DNS --------------------------------------------------------------------------- */

static void
test_dns_txt(void)
{
	static const char rsa_prefix[] = "v=DKIM1; k=rsa; p=", ed_prefix[] = "v=DKIM1; k=ed25519; p=";
	struct keystore_error err;
	unsigned char der[1024];
	const unsigned char *p = der;
	const char *b64;
	EVP_PKEY *pub;
	char *txt;
	int n;

	txt = keystore_dns_txt(rsa_key, KEY_ALG_RSA_2048, &err);
	TAP_OK(txt != NULL && strncmp(txt, rsa_prefix, strlen(rsa_prefix)) == 0,
	    "dns_txt_rsa_prefix: %s", txt ? txt : err.text);
	if (txt != NULL) {
		b64 = txt + strlen(rsa_prefix);
		n = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)strlen(b64));
		n -= (int)(strlen(b64) - strcspn(b64, "="));	/* padding decodes to zeros */
		pub = n > 0 ? d2i_PUBKEY(NULL, &p, n) : NULL;
		TAP_OK(pub != NULL && EVP_PKEY_eq(pub, rsa_key) == 1 && p == der + n,
		    "dns_txt_rsa_p_is_spki_of_the_key");
		EVP_PKEY_free(pub);
		TAP_OK(strpbrk(b64, " \n\"") == NULL, "dns_txt_rsa_has_no_blanks_or_quotes");
	}
	free(txt);

	txt = keystore_dns_txt(ed_key, KEY_ALG_ED25519, &err);
	TAP_OK(txt != NULL && strncmp(txt, ed_prefix, strlen(ed_prefix)) == 0,
	    "dns_txt_ed25519_prefix: %s", txt ? txt : err.text);
	if (txt != NULL) {
		unsigned char raw[32];
		size_t rawlen = sizeof(raw);

		b64 = txt + strlen(ed_prefix);
		TAP_INT_EQ(strlen(b64), 44, "dns_txt_ed25519_p_is_44_chars");
		EVP_PKEY_get_raw_public_key(ed_key, raw, &rawlen);
		TAP_OK(EVP_DecodeBlock(der, (const unsigned char *)b64, 44) == 33
		    && memcmp(der, raw, 32) == 0, "dns_txt_ed25519_p_is_raw_public_key");
	}
	free(txt);
	TAP_OK(keystore_dns_txt(ed_key, KEY_ALG_RSA_2048, &err) == NULL,
	    "dns_txt_refuses_algorithm_mismatch");
}

/* ---- allocation failures ------------------------------------------------------------ */

/* The keystore's own message, or the C library's for ENOMEM ("cannot read X: ..."). */
static int
says_out_of_memory(const char *text)
{
	return strstr(text, "out of memory") != NULL || strstr(text, strerror(ENOMEM)) != NULL;
}

static enum torture_outcome
load_private(void *context)
{
	struct keystore_error err;
	struct keystore *store;
	const struct keystore_key *found[4];
	int right;

	memset(&err, 0, sizeof(err));
	if ((store = keystore_load(context, KEYSTORE_LOAD_PRIVATE, &err)) == NULL) {
		if (says_out_of_memory(err.text))
			return TORTURE_ERROR;
		printf("#   err: %s\n", err.text);
		return TORTURE_WRONG;
	}
	right = keystore_count(store) == 10 &&
	    keystore_find_active(store, "c.example", found, 4) == 3 &&
	    found[0]->pkey != NULL && found[2]->pkey != NULL;
	keystore_free(store);
	return right ? TORTURE_DONE : TORTURE_WRONG;
}

/* Ten keys in three domains (the key array grows past eight), six active, one RSA. */
static void
test_load_under_allocation_failures(void)
{
	static const char *const domains[] = { "a.example", "b.example", "c.example" };
	char *dir = make_store(), sel[16];
	int ok = 1;

	for (int i = 0; i < 10; i++) {
		snprintf(sel, sizeof(sel), "s%d", i);
		ok = ok && create(dir, domains[i % 3], sel, i == 5 ? KEY_ALG_RSA_2048 :
		    KEY_ALG_ED25519) == 0 && (i % 3 == 1 || activate(dir, domains[i % 3], sel) == 0);
	}
	if (TAP_OK(ok, "a keystore of ten keys, six active"))
		torture("keystore_load of ten keys, private keys parsed", load_private, dir,
		    TORTURE_NO_RECOVERY);
	remove_store(dir);
}

int
main(void)
{
	struct keystore_error err;
	struct tm tm = { .tm_year = 126, .tm_mon = 10, .tm_mday = 27, .tm_hour = 7,
	    .tm_min = 21 };

	t0 = timegm(&tm);
	umask(077);	/* what signet-keys runs with: modes must not depend on it */
	rsa_key = keystore_generate(KEY_ALG_RSA_2048, &err);
	ed_key = keystore_generate(KEY_ALG_ED25519, &err);
	if (!TAP_OK(rsa_key != NULL && ed_key != NULL, "generate_rsa_and_ed25519: %s",
	    rsa_key && ed_key ? "" : err.text))
		return tap_done();
	TAP_INT_EQ(EVP_PKEY_get_bits(rsa_key), 2048, "generate_rsa_2048_bits");

	test_generate_writes_private_files();
	test_default_selector_skips_used();
	test_set_state_appends_transition();
	test_load_sorts_and_parses_active_only();
	test_load_empty_and_missing();
	test_load_refuses_unsafe_key_files();
	test_load_checks_key_against_meta();
	test_load_decodes_every_key_and_pkcs1();
	test_load_names_corrupt_meta_lines();
	test_load_refuses_bad_names();
	test_names();
	test_dns_txt();
	test_load_under_allocation_failures();

	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(ed_key);
	return tap_done();
}
