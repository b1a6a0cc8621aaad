/*
 * NAME
 *	token.c - DKIM keys in a PKCS#11 token (the only file that knows pkcs11.h)
 * SYNOPSIS
 *	#include "keys/token.h"
 * DESCRIPTION
 *	The module named by PKCS11Module is loaded with dlopen(3) and driven through its
 *	CK_FUNCTION_LIST; the types come from p11-kit's pkcs11.h, no library is linked.
 *
 *	One open token per (module, label) in the process.  PKCS#11 allows one
 *	C_Initialize per module and one login per token per application, and C_Logout on
 *	any session logs out all of them.  So an open token is shared and reference
 *	counted: a reload that opens the token while the running keystore still holds it
 *	gets the same struct token, after its PIN file is read again and checked against
 *	the SHA-256 of the PIN that logged in (the PIN itself is not kept).  A PIN that
 *	differs cannot be tried without logging the running keys out, so it is refused
 *	with a sentence that says to restart; the running keys stay.  The last
 *	token_close() logs out, closes the session and finalizes and unloads the module.
 *
 *	Threads.  A PKCS#11 session runs one signing operation at a time, so each token has
 *	one session and a mutex held from C_SignInit to the end of C_Sign (and around the
 *	other calls on the session).  A session per call would let signatures run in
 *	parallel, but costs a C_OpenSession per message and runs into the session limits
 *	of hardware tokens; a signing engine of a token works one signature at a time
 *	anyway, and SoftHSM's RSA-2048 signature takes about a millisecond.  The module is
 *	initialized with CKF_OS_LOCKING_OK so that it protects its own state.  The registry
 *	of open tokens has a mutex of its own, taken before a token's.
 * DIAGNOSTICS
 *	One sentence in err, naming the setting (PKCS11Module, PKCS11Token,
 *	PKCS11PinFile) or the URI at fault, with the PKCS#11 return value's name.
 * SEE ALSO
 *	token.h, tokenuri.c, keyload.c, RFC 7512, PKCS#11 v2.40
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>
#include <p11-kit/pkcs11.h>

#include "keys/token.h"
#include "keys/tokenuri.h"
#include "lib/alloc.h"

#define PIN_MAX		256	/* bytes of a PIN file worth reading */
#define SIG_MAX		512

struct module {
	struct module *next;
	char   *path;
	void   *dl;
	CK_FUNCTION_LIST_PTR f;
	int	finalize;	/* we initialized it, so we finalize it */
	unsigned refs;
};

struct token {
	struct token *next;
	struct module *mod;
	char	label[TOKEN_LABEL_MAX + 1];
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE session;
	pthread_mutex_t lock;		/* the session: one operation at a time */
	unsigned char pin_hash[32];	/* SHA-256 of the PIN that logged in */
	unsigned refs;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct module *modules;
static struct token *tokens;

/* ---- messages ---------------------------------------------------------------------- */

static const char *
rv_name(CK_RV rv)
{
	switch (rv) {
	case CKR_OK: return "CKR_OK";
	case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT";
	case CKR_PIN_LOCKED: return "CKR_PIN_LOCKED";
	case CKR_PIN_LEN_RANGE: return "CKR_PIN_LEN_RANGE";
	case CKR_USER_PIN_NOT_INITIALIZED: return "CKR_USER_PIN_NOT_INITIALIZED";
	case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
	case CKR_DEVICE_REMOVED: return "CKR_DEVICE_REMOVED";
	case CKR_SESSION_HANDLE_INVALID: return "CKR_SESSION_HANDLE_INVALID";
	case CKR_USER_NOT_LOGGED_IN: return "CKR_USER_NOT_LOGGED_IN";
	case CKR_MECHANISM_INVALID: return "CKR_MECHANISM_INVALID";
	case CKR_ATTRIBUTE_SENSITIVE: return "CKR_ATTRIBUTE_SENSITIVE";
	case CKR_ATTRIBUTE_TYPE_INVALID: return "CKR_ATTRIBUTE_TYPE_INVALID";
	case CKR_ATTRIBUTE_VALUE_INVALID: return "CKR_ATTRIBUTE_VALUE_INVALID";
	case CKR_TEMPLATE_INCONSISTENT: return "CKR_TEMPLATE_INCONSISTENT";
	case CKR_KEY_HANDLE_INVALID: return "CKR_KEY_HANDLE_INVALID";
	case CKR_DEVICE_ERROR: return "CKR_DEVICE_ERROR";
	case CKR_GENERAL_ERROR: return "CKR_GENERAL_ERROR";
	case CKR_FUNCTION_FAILED: return "CKR_FUNCTION_FAILED";
	case CKR_HOST_MEMORY: return "CKR_HOST_MEMORY";
	}
	return "a PKCS#11 error";
}

/* ---- the module -------------------------------------------------------------------- */

static void
module_release(struct module *m)
{
	struct module **pp;

	if (--m->refs > 0)
		return;
	for (pp = &modules; *pp != m; pp = &(*pp)->next)
		continue;
	*pp = m->next;
	if (m->finalize)
		m->f->C_Finalize(NULL);
	dlclose(m->dl);
	free(m->path);
	free(m);
}

static struct module *
module_load(const char *path, char *err, size_t errlen)
{
	CK_C_INITIALIZE_ARGS args = { .flags = CKF_OS_LOCKING_OK };
	CK_C_GetFunctionList get;
	struct module *m;
	struct stat st;
	CK_RV rv;

	for (m = modules; m != NULL; m = m->next) {
		if (strcmp(m->path, path) == 0) {
			m->refs++;
			return m;
		}
	}
	if (path[0] != '/') {
		snprintf(err, errlen, "PKCS11Module %s: must be an absolute path", path);
		return NULL;
	}
	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "PKCS11Module %s: %s", path, strerror(errno));
		return NULL;
	}
	if ((m = mem_calloc(1, sizeof(*m))) == NULL || (m->path = mem_strdup(path)) == NULL) {
		free(m);
		snprintf(err, errlen, "PKCS11Module %s: out of memory", path);
		return NULL;
	}
	/* NODELETE: a module's atexit handlers and thread-local destructors (SoftHSM has
	 * them, through OpenSSL) must find its code mapped at exit, after the last
	 * token_close(). */
	if ((m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)) == NULL) {
		snprintf(err, errlen, "PKCS11Module %s: cannot load it: %s", path, dlerror());
		goto fail;
	}
	*(void **)&get = dlsym(m->dl, "C_GetFunctionList");
	if (get == NULL || get(&m->f) != CKR_OK || m->f == NULL) {
		snprintf(err, errlen, "PKCS11Module %s: not a PKCS#11 module (no "
		    "C_GetFunctionList)", path);
		goto fail;
	}
	rv = m->f->C_Initialize(&args);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		snprintf(err, errlen, "PKCS11Module %s: C_Initialize failed: %s", path,
		    rv_name(rv));
		goto fail;
	}
	m->finalize = rv == CKR_OK;
	m->refs = 1;
	m->next = modules;
	modules = m;
	return m;
fail:
	if (m->dl != NULL)
		dlclose(m->dl);
	free(m->path);
	free(m);
	return NULL;
}

/* ---- the token --------------------------------------------------------------------- */

/* The blank-padded label of CK_TOKEN_INFO as a string in out[TOKEN_LABEL_MAX + 1]. */
static void
label_text(const CK_UTF8CHAR *label, char *out)
{
	size_t n = TOKEN_LABEL_MAX;

	memcpy(out, label, n);
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

static int
find_slot(struct module *m, const char *label, CK_SLOT_ID *slot, char *err, size_t errlen)
{
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0, i;
	CK_TOKEN_INFO info;
	char have[TOKEN_LABEL_MAX + 1];
	CK_RV rv;
	int found = 0;

	if ((rv = m->f->C_GetSlotList(CK_TRUE, NULL, &n)) == CKR_OK && n > 0
	    && (slots = mem_calloc(n, sizeof(*slots))) != NULL)
		rv = m->f->C_GetSlotList(CK_TRUE, slots, &n);
	for (i = 0; rv == CKR_OK && slots != NULL && i < n && !found; i++) {
		if (m->f->C_GetTokenInfo(slots[i], &info) != CKR_OK)
			continue;
		label_text(info.label, have);
		if (strcmp(have, label) == 0) {
			*slot = slots[i];
			found = 1;
		}
	}
	free(slots);
	if (!found)
		snprintf(err, errlen, "PKCS11Token \"%s\": no token with that label in "
		    "PKCS11Module %s%s%s", label, m->path, rv == CKR_OK ? "" : ": ",
		    rv == CKR_OK ? "" : rv_name(rv));
	return found ? 0 : -1;
}

/* Reads the first line of the PIN file into pin[PIN_MAX + 1], refusing a file that
 * others may read. */
static int
read_pin(const char *path, char *pin, char *err, size_t errlen)
{
	struct stat st;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "PKCS11PinFile %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "PKCS11PinFile %s: not a regular file", path);
		close(fd);
		return -1;
	}
	if ((st.st_mode & 0077) != 0) {
		snprintf(err, errlen, "PKCS11PinFile %s: mode %04o lets group or others at "
		    "the PIN; it must be 0600 or 0400", path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	n = read(fd, pin, PIN_MAX);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "PKCS11PinFile %s: %s", path, strerror(errno));
		return -1;
	}
	pin[n] = '\0';
	pin[strcspn(pin, "\r\n")] = '\0';
	if (pin[0] == '\0') {
		snprintf(err, errlen, "PKCS11PinFile %s: no PIN on its first line", path);
		return -1;
	}
	return 0;
}

static int
login(struct token *tok, const char *pin, const char *pin_file, char *err, size_t errlen)
{
	CK_FUNCTION_LIST_PTR f = tok->mod->f;
	CK_RV rv;

	rv = f->C_OpenSession(tok->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
	    &tok->session);
	if (rv != CKR_OK) {
		snprintf(err, errlen, "PKCS11Token \"%s\": cannot open a session: %s",
		    tok->label, rv_name(rv));
		return -1;
	}
	rv = f->C_Login(tok->session, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
		return 0;
	if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE)
		snprintf(err, errlen, "PKCS11PinFile %s: token \"%s\" refused the PIN (wrong "
		    "PIN)", pin_file, tok->label);
	else
		snprintf(err, errlen, "PKCS11PinFile %s: cannot log in to token \"%s\": %s",
		    pin_file, tok->label, rv_name(rv));
	f->C_CloseSession(tok->session);
	return -1;
}

/* A reload: the token must still be there, and the PIN the one that logged in. */
static int
check_again(struct token *tok, const unsigned char *hash, const char *pin_file, char *err,
    size_t errlen)
{
	CK_SLOT_ID slot;

	if (find_slot(tok->mod, tok->label, &slot, err, errlen) < 0)
		return -1;
	if (CRYPTO_memcmp(hash, tok->pin_hash, sizeof(tok->pin_hash)) != 0) {
		snprintf(err, errlen, "PKCS11PinFile %s: not the PIN that token \"%s\" is "
		    "logged in with; the running keys stay (restart signet to change the PIN)",
		    pin_file, tok->label);
		return -1;
	}
	return 0;
}

static struct token *
token_new(struct module *m, const char *label, const char *pin, const char *pin_file,
    char *err, size_t errlen)
{
	struct token *tok = mem_calloc(1, sizeof(*tok));

	if (tok == NULL) {
		snprintf(err, errlen, "PKCS11Token \"%s\": out of memory", label);
		return NULL;
	}
	tok->mod = m;
	snprintf(tok->label, sizeof(tok->label), "%s", label);
	if (find_slot(m, label, &tok->slot, err, errlen) < 0
	    || login(tok, pin, pin_file, err, errlen) < 0) {
		free(tok);
		return NULL;
	}
	pthread_mutex_init(&tok->lock, NULL);
	tok->refs = 1;
	tok->next = tokens;
	tokens = tok;
	return tok;
}

static int
check_settings(const struct conf *conf, char *err, size_t errlen)
{
	if (conf->pkcs11_module == NULL || conf->pkcs11_module[0] == '\0')
		snprintf(err, errlen, "PKCS11Module is not set, so no key can be on a token");
	else if (conf->pkcs11_token == NULL || conf->pkcs11_token[0] == '\0')
		snprintf(err, errlen, "PKCS11Token is not set: name the token by its label");
	else if (strlen(conf->pkcs11_token) > TOKEN_LABEL_MAX)
		snprintf(err, errlen, "PKCS11Token \"%s\": longer than %d bytes",
		    conf->pkcs11_token, TOKEN_LABEL_MAX);
	else if (conf->pkcs11_pin_file == NULL || conf->pkcs11_pin_file[0] == '\0')
		snprintf(err, errlen, "PKCS11PinFile is not set: the token needs its user PIN");
	else
		return 0;
	return -1;
}

struct token *
token_open(const struct conf *conf, char *err, size_t errlen)
{
	char pin[PIN_MAX + 1];
	unsigned char hash[32];
	struct module *m;
	struct token *tok;

	if (check_settings(conf, err, errlen) < 0
	    || read_pin(conf->pkcs11_pin_file, pin, err, errlen) < 0)
		return NULL;
	SHA256((const unsigned char *)pin, strlen(pin), hash);
	pthread_mutex_lock(&registry_lock);
	for (tok = tokens; tok != NULL; tok = tok->next)
		if (strcmp(tok->mod->path, conf->pkcs11_module) == 0
		    && strcmp(tok->label, conf->pkcs11_token) == 0)
			break;
	if (tok != NULL) {
		if (check_again(tok, hash, conf->pkcs11_pin_file, err, errlen) < 0)
			tok = NULL;
		else
			tok->refs++;
	} else if ((m = module_load(conf->pkcs11_module, err, errlen)) != NULL) {
		if ((tok = token_new(m, conf->pkcs11_token, pin, conf->pkcs11_pin_file, err,
		    errlen)) == NULL)
			module_release(m);
		else
			memcpy(tok->pin_hash, hash, sizeof(hash));
	}
	pthread_mutex_unlock(&registry_lock);
	OPENSSL_cleanse(pin, sizeof(pin));
	return tok;
}

void
token_close(struct token *tok)
{
	struct token **pp;

	if (tok == NULL)
		return;
	pthread_mutex_lock(&registry_lock);
	if (--tok->refs == 0) {
		for (pp = &tokens; *pp != tok; pp = &(*pp)->next)
			continue;
		*pp = tok->next;
		tok->mod->f->C_Logout(tok->session);
		tok->mod->f->C_CloseSession(tok->session);
		module_release(tok->mod);
		pthread_mutex_destroy(&tok->lock);
		free(tok);
	}
	pthread_mutex_unlock(&registry_lock);
}

const char *
token_label(const struct token *tok)
{
	return tok->label;
}

/* ---- objects ----------------------------------------------------------------------- */

/* Finds the one object of the class that u names; 1 found, 0 none, -1 error. */
static int
find_object(struct token *tok, const struct token_uri *u, CK_OBJECT_CLASS class,
    CK_OBJECT_HANDLE *out, char *err, size_t errlen)
{
	CK_FUNCTION_LIST_PTR f = tok->mod->f;
	CK_ATTRIBUTE tmpl[3];
	CK_OBJECT_HANDLE found[2];
	CK_ULONG n = 0, count = 0;
	CK_RV rv;

	tmpl[n++] = (CK_ATTRIBUTE){ CKA_CLASS, &class, sizeof(class) };
	if (u->id_len > 0)
		tmpl[n++] = (CK_ATTRIBUTE){ CKA_ID, (void *)u->id, u->id_len };
	if (u->object[0] != '\0')
		tmpl[n++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)u->object, strlen(u->object) };
	pthread_mutex_lock(&tok->lock);
	if ((rv = f->C_FindObjectsInit(tok->session, tmpl, n)) == CKR_OK) {
		rv = f->C_FindObjects(tok->session, found, 2, &count);
		f->C_FindObjectsFinal(tok->session);
	}
	pthread_mutex_unlock(&tok->lock);
	if (rv != CKR_OK) {
		snprintf(err, errlen, "token \"%s\": cannot search for keys: %s", tok->label,
		    rv_name(rv));
		return -1;
	}
	if (count > 1) {
		snprintf(err, errlen, "token \"%s\" holds more than one such key", tok->label);
		return -1;
	}
	if (count == 1)
		*out = found[0];
	return (int)count;
}

/* Reads one attribute of any length into a buffer the caller frees. */
static unsigned char *
get_attr(struct token *tok, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type, size_t *len,
    CK_RV *rvp)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	unsigned char *buf;
	CK_RV rv;

	pthread_mutex_lock(&tok->lock);
	rv = tok->mod->f->C_GetAttributeValue(tok->session, obj, &a, 1);
	if (rv == CKR_OK && a.ulValueLen != CK_UNAVAILABLE_INFORMATION
	    && (buf = mem_malloc(a.ulValueLen + 1)) != NULL) {
		a.pValue = buf;
		rv = tok->mod->f->C_GetAttributeValue(tok->session, obj, &a, 1);
		if (rv == CKR_OK) {
			pthread_mutex_unlock(&tok->lock);
			*len = a.ulValueLen;
			return buf;
		}
		free(buf);
	}
	pthread_mutex_unlock(&tok->lock);
	if (rvp != NULL)
		*rvp = rv == CKR_OK ? CKR_HOST_MEMORY : rv;
	return NULL;
}

/* Reads a fixed-size attribute (CK_ULONG, CK_BBOOL) into out[len]. */
static int
get_fixed(struct token *tok, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type, void *out,
    size_t len)
{
	CK_ATTRIBUTE a = { type, out, len };
	CK_RV rv;

	pthread_mutex_lock(&tok->lock);
	rv = tok->mod->f->C_GetAttributeValue(tok->session, obj, &a, 1);
	pthread_mutex_unlock(&tok->lock);
	return rv == CKR_OK && a.ulValueLen == len ? 0 : -1;
}

/* Parses uri and checks that it names our token. */
static int
parse_uri(struct token *tok, const char *uri, struct token_uri *u, char *err,
    size_t errlen)
{
	char why[128];

	if (token_uri_parse(uri, u, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: not a usable PKCS#11 URI: %s", uri, why);
		return -1;
	}
	if (strcmp(u->token, tok->label) != 0) {
		snprintf(err, errlen, "%s: the key is on token \"%s\", but PKCS11Token is "
		    "\"%s\"", uri, u->token, tok->label);
		return -1;
	}
	return 0;
}

/* Checks the key type (and RSA size) of a key object; its bits into *bits. */
static int
check_type(struct token *tok, CK_OBJECT_HANDLE obj, enum key_algorithm algorithm,
    const char *uri, int *bits, char *err, size_t errlen)
{
	CK_ULONG type;
	unsigned char *mod;
	size_t len = 0;

	if (get_fixed(tok, obj, CKA_KEY_TYPE, &type, sizeof(type)) < 0) {
		snprintf(err, errlen, "%s: cannot read its key type", uri);
		return -1;
	}
	if (algorithm == KEY_ALG_ED25519) {
		if (type != CKK_EC_EDWARDS) {
			snprintf(err, errlen, "%s: not an Ed25519 key, but the .meta says "
			    "ed25519", uri);
			return -1;
		}
		*bits = 256;
		return 0;
	}
	if (type != CKK_RSA) {
		snprintf(err, errlen, "%s: not an RSA key, but the .meta says %s", uri,
		    keystore_algorithm_name(algorithm));
		return -1;
	}
	if ((mod = get_attr(tok, obj, CKA_MODULUS, &len, NULL)) == NULL) {
		snprintf(err, errlen, "%s: cannot read its modulus", uri);
		return -1;
	}
	free(mod);
	*bits = (int)len * 8;
	if (*bits != keystore_algorithm_bits(algorithm)) {
		snprintf(err, errlen, "%s: RSA key of %d bits, but the .meta says %s", uri,
		    *bits, keystore_algorithm_name(algorithm));
		return -1;
	}
	return 0;
}

int
token_find_private(struct token *tok, const char *uri, enum key_algorithm algorithm,
    unsigned long *object, int *bits, char *err, size_t errlen)
{
	struct token_uri u;
	CK_OBJECT_HANDLE obj;
	int rc;

	if (parse_uri(tok, uri, &u, err, errlen) < 0)
		return -1;
	if ((rc = find_object(tok, &u, CKO_PRIVATE_KEY, &obj, err, errlen)) < 0)
		return -1;
	if (rc == 0) {
		snprintf(err, errlen, "%s: token \"%s\" holds no such private key", uri,
		    tok->label);
		return -1;
	}
	if (check_type(tok, obj, algorithm, uri, bits, err, errlen) < 0)
		return -1;
	*object = obj;
	return 0;
}

int
token_key_protected(struct token *tok, unsigned long object, char *err, size_t errlen)
{
	CK_BBOOL sensitive = CK_FALSE, extractable = CK_TRUE;
	unsigned char *value;
	size_t len;
	CK_RV rv = CKR_OK;

	if (get_fixed(tok, object, CKA_SENSITIVE, &sensitive, sizeof(sensitive)) < 0
	    || !sensitive) {
		snprintf(err, errlen, "the private key is not CKA_SENSITIVE");
		return 0;
	}
	if (get_fixed(tok, object, CKA_EXTRACTABLE, &extractable,
	    sizeof(extractable)) < 0 || extractable) {
		snprintf(err, errlen, "the private key is CKA_EXTRACTABLE");
		return 0;
	}
	/* RSA's secret is CKA_PRIVATE_EXPONENT, an EdDSA key's CKA_VALUE. */
	value = get_attr(tok, object, CKA_PRIVATE_EXPONENT, &len, &rv);
	if (value == NULL && rv == CKR_ATTRIBUTE_TYPE_INVALID)
		value = get_attr(tok, object, CKA_VALUE, &len, &rv);
	if (value != NULL) {
		OPENSSL_clear_free(value, len);
		snprintf(err, errlen, "the token gave out the private key's value");
		return 0;
	}
	if (rv != CKR_ATTRIBUTE_SENSITIVE) {
		snprintf(err, errlen, "reading the private key's value failed with %s, not "
		    "CKR_ATTRIBUTE_SENSITIVE", rv_name(rv));
		return 0;
	}
	snprintf(err, errlen, "the token refuses to give out the private key (%s)",
	    rv_name(rv));
	return 1;
}

/* ---- public keys ------------------------------------------------------------------- */

static EVP_PKEY *
rsa_public(const unsigned char *n, size_t nlen, const unsigned char *e, size_t elen)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL), *be = BN_bin2bn(e, (int)elen, NULL);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	OSSL_PARAM *params = NULL;
	EVP_PKEY *pkey = NULL;

	if (bld != NULL && bn != NULL && be != NULL && ctx != NULL
	    && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) == 1
	    && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1
	    && (params = OSSL_PARAM_BLD_to_param(bld)) != NULL
	    && EVP_PKEY_fromdata_init(ctx) == 1
	    && EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return pkey;
}

/* CKA_EC_POINT of an Ed25519 key: the 32 bytes, bare or as a DER OCTET STRING. */
static EVP_PKEY *
ed25519_public(const unsigned char *p, size_t len)
{
	if (len == 34 && p[0] == 0x04 && p[1] == 32) {
		p += 2;
		len = 32;
	}
	if (len != 32)
		return NULL;
	return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, p, len);
}

EVP_PKEY *
token_public(struct token *tok, const char *uri, enum key_algorithm algorithm, char *err,
    size_t errlen)
{
	struct token_uri u;
	CK_OBJECT_HANDLE obj;
	unsigned char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	EVP_PKEY *pkey = NULL;
	int rc, bits;

	if (parse_uri(tok, uri, &u, err, errlen) < 0)
		return NULL;
	if ((rc = find_object(tok, &u, CKO_PUBLIC_KEY, &obj, err, errlen)) <= 0) {
		if (rc == 0)
			snprintf(err, errlen, "%s: token \"%s\" holds no public key of that name",
			    uri, tok->label);
		return NULL;
	}
	if (check_type(tok, obj, algorithm, uri, &bits, err, errlen) < 0)
		return NULL;
	if (algorithm == KEY_ALG_ED25519) {
		if ((a = get_attr(tok, obj, CKA_EC_POINT, &alen, NULL)) != NULL)
			pkey = ed25519_public(a, alen);
	} else if ((a = get_attr(tok, obj, CKA_MODULUS, &alen, NULL)) != NULL
	    && (b = get_attr(tok, obj, CKA_PUBLIC_EXPONENT, &blen, NULL)) != NULL) {
		pkey = rsa_public(a, alen, b, blen);
	}
	free(a);
	free(b);
	if (pkey == NULL)
		snprintf(err, errlen, "%s: cannot read the public key from token \"%s\"", uri,
		    tok->label);
	return pkey;
}

/* ---- generating -------------------------------------------------------------------- */

static CK_RV
generate_pair(struct token *tok, enum key_algorithm algorithm, CK_ATTRIBUTE *name,
    CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
	static CK_BYTE ed25519_oid[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };	/* 1.3.101.112 */
	static CK_BYTE f4[] = { 0x01, 0x00, 0x01 };
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG bits = (CK_ULONG)keystore_algorithm_bits(algorithm);
	CK_MECHANISM mech = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	CK_ATTRIBUTE pubt[7] = {
		{ CKA_TOKEN, &yes, sizeof(yes) }, { CKA_PRIVATE, &no, sizeof(no) },
		{ CKA_VERIFY, &yes, sizeof(yes) }, name[0], name[1],
		{ CKA_MODULUS_BITS, &bits, sizeof(bits) },
		{ CKA_PUBLIC_EXPONENT, f4, sizeof(f4) },
	};
	CK_ATTRIBUTE privt[] = {
		{ CKA_TOKEN, &yes, sizeof(yes) }, { CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) }, { CKA_EXTRACTABLE, &no, sizeof(no) },
		{ CKA_SIGN, &yes, sizeof(yes) }, { CKA_DECRYPT, &no, sizeof(no) },
		{ CKA_UNWRAP, &no, sizeof(no) }, name[0], name[1],
	};
	CK_ULONG npub = 7;
	CK_RV rv;

	if (algorithm == KEY_ALG_ED25519) {
		mech.mechanism = CKM_EC_EDWARDS_KEY_PAIR_GEN;
		pubt[5] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, ed25519_oid, sizeof(ed25519_oid) };
		npub = 6;
	}
	pthread_mutex_lock(&tok->lock);
	rv = tok->mod->f->C_GenerateKeyPair(tok->session, &mech, pubt, npub, privt,
	    sizeof(privt) / sizeof(privt[0]), pub, priv);
	pthread_mutex_unlock(&tok->lock);
	return rv;
}

int
token_generate(struct token *tok, enum key_algorithm algorithm, const char *domain,
    const char *selector, char *uri, size_t size, char *err, size_t errlen)
{
	char label[TOKEN_OBJECT_MAX + 1];
	struct token_uri u;
	CK_OBJECT_HANDLE pub, priv, old;
	CK_ATTRIBUTE name[2];
	CK_RV rv;
	int n, found;

	n = snprintf(label, sizeof(label), "%s/%s", domain, selector);
	if (n < 0 || (size_t)n >= sizeof(label)) {
		snprintf(err, errlen, "%s/%s: name too long for a token key", domain, selector);
		return -1;
	}
	/* CKA_ID and CKA_LABEL are both "DOMAIN/SELECTOR": the key names itself. */
	memset(&u, 0, sizeof(u));
	snprintf(u.object, sizeof(u.object), "%s", label);
	memcpy(u.id, label, (size_t)n);
	u.id_len = (size_t)n;
	if ((found = find_object(tok, &u, CKO_PRIVATE_KEY, &old, err, errlen)) != 0) {
		if (found > 0)
			snprintf(err, errlen, "token \"%s\" holds a key named %s already",
			    tok->label, label);
		return -1;
	}
	name[0] = (CK_ATTRIBUTE){ CKA_ID, label, (CK_ULONG)n };
	name[1] = (CK_ATTRIBUTE){ CKA_LABEL, label, (CK_ULONG)n };
	if ((rv = generate_pair(tok, algorithm, name, &pub, &priv)) != CKR_OK) {
		snprintf(err, errlen, "token \"%s\": cannot generate a %s key pair: %s",
		    tok->label, keystore_algorithm_name(algorithm), rv_name(rv));
		return -1;
	}
	if (token_uri_format(tok->label, (const unsigned char *)label, (size_t)n, label, uri,
	    size) < 0) {
		snprintf(err, errlen, "%s: URI too long", label);
		return -1;
	}
	return 0;
}

/* ---- signing ----------------------------------------------------------------------- */

int
token_sign(struct token *tok, unsigned long object, enum key_algorithm algorithm,
    const unsigned char *in, size_t inlen, unsigned char *sig, size_t *sig_len, char *err,
    size_t errlen)
{
	CK_MECHANISM mech = { algorithm == KEY_ALG_ED25519 ? CKM_EDDSA : CKM_RSA_PKCS,
	    NULL, 0 };
	CK_ULONG len = (CK_ULONG)*sig_len;
	CK_RV rv;

	pthread_mutex_lock(&tok->lock);
	rv = tok->mod->f->C_SignInit(tok->session, &mech, object);
	if (rv == CKR_OK)
		rv = tok->mod->f->C_Sign(tok->session, (CK_BYTE_PTR)in, inlen, sig, &len);
	pthread_mutex_unlock(&tok->lock);
	if (rv != CKR_OK) {
		snprintf(err, errlen, "token \"%s\": signing failed: %s", tok->label,
		    rv_name(rv));
		return 0;
	}
	*sig_len = len;
	return 1;
}
