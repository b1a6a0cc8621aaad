/*
 * NAME
 *	test-token.c - keys in a PKCS#11 token (SoftHSM): made there, loaded by
 *	keyload_private(), signing through keysign_digest(), never given out
 * DESCRIPTION
 *	Makes a private SoftHSM token (SOFTHSM2_CONF in a temporary directory,
 *	softhsm2-util --init-token), an RSA-2048 and an Ed25519 key on it recorded in a
 *	keystore by URI, and checks:
 *	  - keyload_private() finds both; keysign_digest() signs digests through the token
 *	    that OpenSSL verifies against the public key read from the token, also from
 *	    several threads at once;
 *	  - the private keys are sensitive, not extractable, and the token refuses their
 *	    value;
 *	  - a wrong PIN, a missing token, a missing module, a PIN file open to others: NULL
 *	    with a sentence naming the setting;
 *	  - a reload with a PIN file holding another PIN fails while the running keys go on
 *	    signing.
 *	SoftHSM missing is a failure, never a skip.  Emits TAP.
 */
#define _GNU_SOURCE
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "conf/conf.h"
#include "keys/keyload.h"
#include "keys/keysign.h"
#include "keys/keystore-write.h"
#include "keys/token.h"
#include "tests/unit/tap.h"

#define MODULE		"/usr/lib/softhsm/libsofthsm2.so"
#define LABEL		"signet-unit"
#define PIN		"4711"
#define THREADS		4
#define PER_THREAD	25

/* Under the sanitizers: SoftHSM 2.6.1 leaks an OpenSSL ASN.1 string at every C_SignInit
 * with an EdDSA key, inside its own code (tests/lsan.supp says the same for the daemon).
 * The full unwinder is needed for the suppression to see the module in the stack. */
const char *__asan_default_options(void);
const char *__lsan_default_suppressions(void);

const char *
__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}

const char *
__lsan_default_suppressions(void)
{
	return "leak:libsofthsm2.so\n";
}

static char tmp[] = "/tmp/signet-token-XXXXXX";
static char path_conf[512], path_pin[512], path_keys[512];

static void
report(void *context, const char *message)
{
	(void)context;
	printf("# conf: %s\n", message);
}

static int
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	if (fclose(f) != 0)
		return -1;
	return chmod(path, mode);
}

/* A configuration with these token settings, loaded through the table like a file. */
static struct conf *
conf_with(const char *module, const char *label, const char *pin_file)
{
	char text[2048];

	snprintf(text, sizeof(text), "Keystore %s\nPKCS11Module %s\nPKCS11Token %s\n"
	    "PKCS11PinFile %s\n", path_keys, module, label, pin_file);
	if (write_file(path_conf, text, 0600) < 0)
		return NULL;
	return conf_load(path_conf, report, NULL);
}

static int
make_token(void)
{
	char text[1024], cmd[1024];

	snprintf(text, sizeof(text), "directories.tokendir = %s/tokens\n"
	    "objectstore.backend = file\nlog.level = ERROR\n", tmp);
	snprintf(cmd, sizeof(cmd), "%s/softhsm2.conf", tmp);
	if (write_file(cmd, text, 0600) < 0 || setenv("SOFTHSM2_CONF", cmd, 1) < 0)
		return 0;
	snprintf(cmd, sizeof(cmd), "%s/tokens", tmp);
	if (mkdir(cmd, 0700) < 0)
		return 0;
	snprintf(cmd, sizeof(cmd), "softhsm2-util --init-token --free --label %s --pin %s "
	    "--so-pin 0000 >/dev/null", LABEL, PIN);
	return system(cmd) == 0;
}

/* Makes the key on the token, records it and activates it. */
static int
make_key(struct token *tok, const char *selector, enum key_algorithm alg)
{
	char uri[KEYSTORE_URI_MAX + 1], err[512];
	struct keystore_error kerr;

	if (token_generate(tok, alg, "example.com", selector, uri, sizeof(uri), err,
	    sizeof(err)) < 0) {
		printf("# token_generate: %s\n", err);
		return 0;
	}
	if (keystore_create_token(path_keys, "example.com", selector, alg, uri, time(NULL),
	    &kerr) < 0 || keystore_set_state(path_keys, "example.com", selector,
	    KEY_STATE_ACTIVE, time(NULL), &kerr) < 0) {
		printf("# keystore: %s\n", kerr.text);
		return 0;
	}
	return 1;
}

static const struct keystore_key *
find_key(const struct keystore *store, const char *selector)
{
	for (size_t i = 0; i < keystore_count(store); i++)
		if (strcmp(keystore_key_at(store, i)->selector, selector) == 0)
			return keystore_key_at(store, i);
	return NULL;
}

/* Verifies sig over digest with the public key: PKCS#1 v1.5 with SHA-256's DigestInfo,
 * or Ed25519 over the 32 bytes. */
static int
verify(EVP_PKEY *pub, enum key_algorithm alg, const unsigned char *digest,
    const unsigned char *sig, size_t len)
{
	int ok;

	if (alg == KEY_ALG_ED25519) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();

		ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pub) == 1
		    && EVP_DigestVerify(ctx, sig, len, digest, KEYSIGN_DIGEST_LEN) == 1;
		EVP_MD_CTX_free(ctx);
	} else {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);

		ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1
		    && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1
		    && EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1
		    && EVP_PKEY_verify(ctx, sig, len, digest, KEYSIGN_DIGEST_LEN) == 1;
		EVP_PKEY_CTX_free(ctx);
	}
	return ok;
}

/* Signs a random digest with key and verifies it; 1 when it verifies. */
static int
sign_and_verify(const struct keystore_key *key, EVP_PKEY *pub)
{
	unsigned char digest[KEYSIGN_DIGEST_LEN], sig[KEYSIGN_MAX];
	size_t len;
	char err[512];

	if (RAND_bytes(digest, sizeof(digest)) != 1)
		return 0;
	if (!keysign_digest(key, digest, sig, &len, err, sizeof(err))) {
		printf("# keysign_digest: %s\n", err);
		return 0;
	}
	return verify(pub, key->algorithm, digest, sig, len);
}

struct worker {
	const struct keystore_key *key;
	EVP_PKEY *pub;
	int	good;
};

static void *
work(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < PER_THREAD; i++)
		w->good += sign_and_verify(w->key, w->pub);
	return NULL;
}

static int
threads_sign(const struct keystore_key *rsa, const struct keystore_key *ed, EVP_PKEY *rsa_pub,
    EVP_PKEY *ed_pub)
{
	pthread_t t[THREADS];
	struct worker w[THREADS];
	int good = 0;

	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ i % 2 ? ed : rsa, i % 2 ? ed_pub : rsa_pub, 0 };
		pthread_create(&t[i], NULL, work, &w[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		good += w[i].good;
	}
	return good;
}

/* keyload_private() with these settings must fail naming want. */
static void
load_fails(const char *module, const char *label, const char *pin_file, const char *want,
    const char *name)
{
	struct conf *conf = conf_with(module, label, pin_file);
	struct keystore_error err = { "" };
	struct keystore *store = conf != NULL ? keyload_private(conf, &err) : NULL;

	if (!TAP_OK(conf != NULL && store == NULL && strstr(err.text, want) != NULL, "%s",
	    name))
		printf("#   got: \"%s\"\n#   want it to contain \"%s\"\n", err.text, want);
	keystore_free(store);
	conf_free(conf);
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
errors_at_start(void)
{
	char other[600];

	load_fails(MODULE, LABEL, path_pin, "refused the PIN", "wrong_pin_is_a_clear_error");
	load_fails(MODULE, "no-such-token", path_pin, "PKCS11Token \"no-such-token\"",
	    "missing_token_is_a_clear_error");
	load_fails("/nonexistent/libpkcs11.so", LABEL, path_pin, "PKCS11Module "
	    "/nonexistent/libpkcs11.so", "missing_module_is_a_clear_error");
	snprintf(other, sizeof(other), "%s/pin-open", tmp);
	write_file(other, PIN "\n", 0644);
	load_fails(MODULE, LABEL, other, "lets group or others at the PIN",
	    "pin_file_readable_by_others_is_refused");
	load_fails(MODULE, LABEL, "/nonexistent/pin", "PKCS11PinFile /nonexistent/pin",
	    "missing_pin_file_is_a_clear_error");
}

int
main(void)
{
	struct conf *conf = NULL;
	struct keystore *store = NULL, *again;
	struct keystore_error kerr = { "" };
	const struct keystore_key *rsa = NULL, *ed = NULL;
	EVP_PKEY *rsa_pub = NULL, *ed_pub = NULL;
	struct token *tok;
	char err[512];

	if (!TAP_OK(mkdtemp(tmp) != NULL && make_token(), "softhsm_token_made (softhsm2 "
	    "installed)"))
		return tap_done();
	snprintf(path_conf, sizeof(path_conf), "%s/signet.conf", tmp);
	snprintf(path_pin, sizeof(path_pin), "%s/pin", tmp);
	snprintf(path_keys, sizeof(path_keys), "%s/keys", tmp);
	write_file(path_pin, "0000\n", 0600);
	mkdir(path_keys, 0700);
	errors_at_start();
	write_file(path_pin, PIN "\n", 0600);
	conf = conf_with(MODULE, LABEL, path_pin);
	tok = conf != NULL ? token_open(conf, err, sizeof(err)) : NULL;
	if (!TAP_OK(tok != NULL, "token_opens"))
		printf("# %s\n", err);
	if (tok != NULL) {
		TAP_OK(make_key(tok, "rsa", KEY_ALG_RSA_2048), "rsa_2048_key_made_on_token");
		TAP_OK(make_key(tok, "ed", KEY_ALG_ED25519), "ed25519_key_made_on_token");
		rsa_pub = token_public(tok, "pkcs11:token=" LABEL ";object=example.com%2Frsa",
		    KEY_ALG_RSA_2048, err, sizeof(err));
		ed_pub = token_public(tok, "pkcs11:token=" LABEL ";id=example.com%2Fed",
		    KEY_ALG_ED25519, err, sizeof(err));
		TAP_OK(rsa_pub != NULL && ed_pub != NULL, "public_keys_read_from_token");
		token_close(tok);
	}
	store = conf != NULL ? keyload_private(conf, &kerr) : NULL;
	if (!TAP_OK(store != NULL, "keyload_private_finds_token_keys"))
		printf("# %s\n", kerr.text);
	if (store != NULL) {
		rsa = find_key(store, "rsa");
		ed = find_key(store, "ed");
	}
	TAP_OK(rsa != NULL && rsa->token != NULL && rsa->pkey == NULL && rsa->bits == 2048,
	    "rsa_key_is_a_token_key_of_2048_bits");
	TAP_OK(ed != NULL && ed->token != NULL && ed->bits == 256, "ed25519_key_is_a_token_key");
	if (rsa != NULL && ed != NULL && rsa_pub != NULL && ed_pub != NULL) {
		TAP_OK(sign_and_verify(rsa, rsa_pub), "rsa_signature_through_token_verifies");
		TAP_OK(sign_and_verify(ed, ed_pub), "ed25519_signature_through_token_verifies");
		TAP_INT_EQ(threads_sign(rsa, ed, rsa_pub, ed_pub), THREADS * PER_THREAD,
		    "signatures_from_%d_threads_all_verify", THREADS);
		TAP_OK(token_key_protected(rsa->token, rsa->token_object, err, sizeof(err)),
		    "rsa_private_key_sensitive_and_not_extractable (%s)", err);
		TAP_OK(token_key_protected(ed->token, ed->token_object, err, sizeof(err)),
		    "ed25519_private_key_sensitive_and_not_extractable (%s)", err);
		/* A reload whose PIN file holds another PIN: refused, the running keys sign. */
		write_file(path_pin, "0000\n", 0600);
		again = keyload_private(conf, &kerr);
		TAP_OK(again == NULL && strstr(kerr.text, "PKCS11PinFile") != NULL,
		    "reload_with_wrong_pin_fails (%s)", kerr.text);
		keystore_free(again);
		TAP_OK(sign_and_verify(rsa, rsa_pub) && sign_and_verify(ed, ed_pub),
		    "running_keys_sign_after_failed_reload");
		write_file(path_pin, PIN "\n", 0600);
		again = keyload_private(conf, &kerr);
		TAP_OK(again != NULL, "reload_with_right_pin_shares_the_login (%s)",
		    again ? "ok" : kerr.text);
		keystore_free(store);
		store = again;
		rsa = store != NULL ? find_key(store, "rsa") : NULL;
		TAP_OK(rsa != NULL && sign_and_verify(rsa, rsa_pub),
		    "new_keys_sign_after_old_store_freed");
	}
	keystore_free(store);
	conf_free(conf);
	EVP_PKEY_free(rsa_pub);
	EVP_PKEY_free(ed_pub);
	nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
