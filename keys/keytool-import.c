/*
 * NAME
 *	keytool-import.c - "signet-keys import-opendkim": take over OpenDKIM's keys
 *	without touching DNS
 * SYNOPSIS
 *	#include "keys/keytool.h"
 *
 *	int keytool_cmd_import(struct keytool *kt);
 * DESCRIPTION
 *	Reads the KeyTable and SigningTable (from --key-table and --signing-table, or the
 *	paths opendkim.conf names with --conf; or opendkim.conf's Domain, Selector and
 *	KeyFile when it has no tables), plans the imports (opendkim.c) and writes each key
 *	into the keystore as active, under its OpenDKIM selector: its DNS record is already
 *	published, so the operator switches without changing DNS.  The private key is read
 *	once and written again as PKCS#8, mode 0600.
 *
 *	An entry is skipped, with its reason, when its pattern is not one whole domain,
 *	its key is not one Signet signs with (RSA of 2048, 3072 or 4096 bits, or Ed25519),
 *	the selector is in the keystore already (the same key: "already imported"), or the
 *	domain already has an active key of that family in Signet.  Running the import
 *	twice imports nothing the second time.
 * DIAGNOSTICS
 *	One line per entry on stdout: "imported DOMAIN SELECTOR ALGORITHM from FILE (WHERE)"
 *	or "skipped WHERE DOMAIN SELECTOR: reason".  Exit status 1 when a table or a key
 *	file could not be read or used, else 0.
 * SEE ALSO
 *	opendkim.c, signet-keys(8), README.md ("Coming from OpenDKIM")
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "keys/keystore-write.h"
#include "keys/keytool.h"
#include "keys/opendkim.h"

#define KEY_FILE_MAX	65536

struct import {
	struct keytool *kt;
	int	imported;
	int	failed;
};

static void
skip(struct import *im, const struct odkim_item *it, int failure, const char *why)
{
	printf("skipped %s %s %s: %s\n", it->where, it->domain[0] ? it->domain : "-",
	    it->selector[0] ? it->selector : "-", why);
	if (failure)
		im->failed = 1;
}

/* Reads an OpenDKIM key file (PKCS#1 or PKCS#8 PEM); NULL with why[] filled. */
static EVP_PKEY *
read_key(const char *path, char *why, size_t size)
{
	EVP_PKEY *pkey = NULL;
	struct stat st;
	BIO *bio;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		snprintf(why, size, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > KEY_FILE_MAX) {
		snprintf(why, size, "%s is not a regular file of at most 64 KiB", path);
		close(fd);
		return NULL;
	}
	if ((bio = BIO_new_fd(fd, BIO_CLOSE)) == NULL) {
		close(fd);
		snprintf(why, size, "out of memory reading %s", path);
		return NULL;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, keystore_no_passphrase, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (pkey == NULL)
		snprintf(why, size, "%s is not an unencrypted PEM private key", path);
	return pkey;
}

/* The keystore algorithm of a key; -1 with why[] filled when Signet does not sign with
 * it. */
static int
key_algorithm(EVP_PKEY *pkey, enum key_algorithm *out, char *why, size_t size)
{
	int bits = EVP_PKEY_get_bits(pkey);

	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519) {
		*out = KEY_ALG_ED25519;
		return 0;
	}
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA && (bits == 2048 || bits == 3072
	    || bits == 4096)) {
		*out = bits == 2048 ? KEY_ALG_RSA_2048 : bits == 3072 ? KEY_ALG_RSA_3072
		    : KEY_ALG_RSA_4096;
		return 0;
	}
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA)
		snprintf(why, size, "an RSA key of %d bits: Signet signs with 2048, 3072 or 4096 "
		    "bits; make a new key (signet-keys generate) and publish it", bits);
	else
		snprintf(why, size, "not an RSA or Ed25519 key");
	return -1;
}

/* What the keystore has under the domain: a reason to skip, or NULL to import. */
static const char *
keystore_conflict(struct import *im, const struct odkim_item *it, enum key_algorithm alg,
    EVP_PKEY *pkey, char *why, size_t size)
{
	struct keystore_error err;
	struct keystore_key have;
	char *ours, *theirs;
	const struct keystore_key *k;
	struct keystore *store;
	size_t first, n, i;

	if (keystore_read_meta(im->kt->keystore, it->domain, it->selector, &have, NULL, NULL,
	    &err) == 0) {
		ours = keytool_record(im->kt, it->domain, it->selector, have.algorithm);
		theirs = keystore_dns_txt(pkey, alg, &err);
		snprintf(why, size, "%s", ours != NULL && theirs != NULL && strcmp(ours, theirs)
		    == 0 ? "already imported (the keystore holds this key)" : "the keystore "
		    "holds another key under this selector");
		free(ours);
		free(theirs);
		return why;
	}
	if ((store = keystore_load(im->kt->keystore, 0, &err)) == NULL)
		return NULL;	/* an empty or new keystore */
	n = keytool_domain_keys(store, it->domain, &first);
	for (i = first; i < first + n; i++) {
		k = keystore_key_at(store, i);
		if (k->state == KEY_STATE_ACTIVE && keytool_same_family(k->algorithm, alg)) {
			snprintf(why, size, "%s signs with %s in Signet already (%s)", it->domain,
			    k->selector, keystore_algorithm_name(k->algorithm));
			keystore_free(store);
			return why;
		}
	}
	keystore_free(store);
	return NULL;
}

static void
import_one(struct import *im, const struct odkim_item *it)
{
	struct keystore_error err;
	enum key_algorithm alg;
	char why[PATH_MAX + 512];
	EVP_PKEY *pkey;
	int rc;

	if ((pkey = read_key(it->path, why, sizeof(why))) == NULL
	    || key_algorithm(pkey, &alg, why, sizeof(why)) < 0) {
		EVP_PKEY_free(pkey);
		skip(im, it, 1, why);
		return;
	}
	if (keystore_conflict(im, it, alg, pkey, why, sizeof(why)) != NULL) {
		EVP_PKEY_free(pkey);
		skip(im, it, 0, why);
		return;
	}
	rc = keystore_create(im->kt->keystore, it->domain, it->selector, alg, pkey,
	    im->kt->now, &err);
	EVP_PKEY_free(pkey);
	if (rc < 0 || keystore_set_state(im->kt->keystore, it->domain, it->selector,
	    KEY_STATE_ACTIVE, im->kt->now, &err) < 0) {
		skip(im, it, 1, err.text);
		return;
	}
	im->imported++;
	printf("imported %s %s %s from %s (%s)\n", it->domain, it->selector,
	    keystore_algorithm_name(alg), it->path, it->where);
}

/* ---- where the tables are ---------------------------------------------------------- */

struct sources {
	struct odkim_config conf;
	char	key_table[PATH_MAX];
	char	signing_table[PATH_MAX];
	int	refile;
};

static int
find_sources(struct keytool *kt, struct sources *src)
{
	char err[PATH_MAX + 128];
	int ignored;

	memset(src, 0, sizeof(*src));
	if (kt->opendkim_conf != NULL && odkim_read_config(kt->opendkim_conf, &src->conf, err,
	    sizeof(err)) < 0)
		return keytool_fail("%s", err);
	memcpy(src->key_table, src->conf.key_table, sizeof(src->key_table));
	memcpy(src->signing_table, src->conf.signing_table, sizeof(src->signing_table));
	src->refile = src->conf.signing_refile;
	if (kt->key_table != NULL && odkim_table_path(kt->key_table, src->key_table,
	    sizeof(src->key_table), &ignored) < 0)
		return keytool_fail("--key-table %s: only plain files, file: and refile: can be "
		    "imported", kt->key_table);
	if (kt->signing_table != NULL && odkim_table_path(kt->signing_table,
	    src->signing_table, sizeof(src->signing_table), &src->refile) < 0)
		return keytool_fail("--signing-table %s: only plain files, file: and refile: can "
		    "be imported", kt->signing_table);
	return KEYTOOL_OK;
}

static int
make_plan(const struct sources *src, const char *conf_path, struct odkim_plan *plan)
{
	struct odkim_key *keys = NULL;
	struct odkim_sign *signs = NULL;
	size_t nkeys = 0, nsigns = 0;
	char err[PATH_MAX + 128];
	int rc;

	if (src->key_table[0] == '\0' && src->signing_table[0] == '\0'
	    && src->conf.key_file[0] != '\0' && src->conf.domain[0] != '\0')
		return odkim_plan_single(&src->conf, conf_path, plan) < 0 ?
		    keytool_fail("out of memory") : KEYTOOL_OK;
	if (src->key_table[0] == '\0' || src->signing_table[0] == '\0')
		return keytool_fail("import-opendkim needs a KeyTable and a SigningTable: "
		    "--key-table FILE --signing-table FILE, or --conf opendkim.conf naming them");
	if (odkim_read_keytable(src->key_table, &keys, &nkeys, err, sizeof(err)) < 0
	    || odkim_read_signingtable(src->signing_table, &signs, &nsigns, err,
	    sizeof(err)) < 0) {
		free(keys);
		return keytool_fail("%s", err);
	}
	rc = odkim_plan(keys, nkeys, signs, nsigns, src->refile, src->key_table,
	    src->signing_table, plan);
	free(keys);
	free(signs);
	return rc < 0 ? keytool_fail("out of memory") : KEYTOOL_OK;
}

int
keytool_cmd_import(struct keytool *kt)
{
	struct import im = { .kt = kt };
	struct odkim_plan plan;
	struct sources src;
	size_t i;

	if (find_sources(kt, &src) != KEYTOOL_OK
	    || make_plan(&src, kt->opendkim_conf, &plan) != KEYTOOL_OK)
		return KEYTOOL_FAIL;
	if (keytool_lock(kt) != KEYTOOL_OK) {
		odkim_plan_free(&plan);
		return KEYTOOL_FAIL;
	}
	for (i = 0; i < plan.count; i++) {
		if (plan.items[i].why[0] != '\0')
			skip(&im, &plan.items[i], 0, plan.items[i].why);
		else
			import_one(&im, &plan.items[i]);
	}
	if (plan.count == 0)
		printf("nothing to import: the SigningTable is empty\n");
	odkim_plan_free(&plan);
	if (im.imported > 0)
		keytool_reload(kt);
	return im.failed ? KEYTOOL_FAIL : KEYTOOL_OK;
}
