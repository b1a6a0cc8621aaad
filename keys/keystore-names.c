/*
 * NAME
 *	keystore-names.c - names and syntax of the key store: algorithms, states, domains,
 *	selectors
 * SYNOPSIS
 *	#include "keys/keystore.h"
 *
 *	const char *keystore_algorithm_name(enum key_algorithm algorithm);
 *	int keystore_state_parse(const char *name, enum key_state *out);
 *	int keystore_domain_normalize(const char *name, char *out, size_t size);
 *	int keystore_selector_valid(const char *selector);
 * DESCRIPTION
 *	The words that .meta files, signet-keys(8) and its output use for algorithms and
 *	states, and the checks that keep a domain or selector from naming anything but one
 *	directory or file inside the key store (no "..", no "/", no empty labels).
 * SEE ALSO
 *	keystore.c, keystore-meta.c
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "keys/keystore.h"
#include "lib/domain.h"

static const char *const algorithm_names[] = {
	[KEY_ALG_RSA_2048] = "rsa-2048",
	[KEY_ALG_RSA_3072] = "rsa-3072",
	[KEY_ALG_RSA_4096] = "rsa-4096",
	[KEY_ALG_ED25519] = "ed25519",
};

static const char *const state_names[] = {
	[KEY_STATE_PENDING] = "pending",
	[KEY_STATE_ACTIVE] = "active",
	[KEY_STATE_RETIRING] = "retiring",
	[KEY_STATE_RETIRED] = "retired",
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- names ------------------------------------------------------------------------- */

const char *
keystore_algorithm_name(enum key_algorithm algorithm)
{
	if ((size_t)algorithm >= NELEM(algorithm_names))
		return "unknown";
	return algorithm_names[algorithm];
}

int
keystore_algorithm_parse(const char *name, enum key_algorithm *out)
{
	size_t i;

	for (i = 0; i < NELEM(algorithm_names); i++) {
		if (strcmp(name, algorithm_names[i]) == 0) {
			*out = (enum key_algorithm)i;
			return 0;
		}
	}
	return -1;
}

const char *
keystore_state_name(enum key_state state)
{
	if ((size_t)state >= NELEM(state_names))
		return "unknown";
	return state_names[state];
}

int
keystore_state_parse(const char *name, enum key_state *out)
{
	size_t i;

	for (i = 0; i < NELEM(state_names); i++) {
		if (strcmp(name, state_names[i]) == 0) {
			*out = (enum key_state)i;
			return 0;
		}
	}
	return -1;
}

const char *
keystore_dkim_algorithm(enum key_algorithm algorithm)
{
	return algorithm == KEY_ALG_ED25519 ? "ed25519-sha256" : "rsa-sha256";
}

const char *
keystore_dns_key_type(enum key_algorithm algorithm)
{
	return algorithm == KEY_ALG_ED25519 ? "ed25519" : "rsa";
}

void
keystore_error_set(struct keystore_error *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
}

/* ---- name syntax ------------------------------------------------------------------- */

int
keystore_domain_normalize(const char *name, char *out, size_t size)
{
	size_t len = strlen(name);

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len > KEYSTORE_DOMAIN_MAX || domain_check(name, len, 0, out, size) == 0)
		return -1;
	return 0;
}

int
keystore_selector_valid(const char *selector)
{
	size_t len = strlen(selector);

	return len <= KEYSTORE_SELECTOR_MAX &&
	    domain_check(selector, len, DOMAIN_UNDERSCORE, NULL, 0) > 0;
}


int
keystore_algorithm_bits(enum key_algorithm algorithm)
{
	switch (algorithm) {
	case KEY_ALG_RSA_2048:
		return 2048;
	case KEY_ALG_RSA_3072:
		return 3072;
	case KEY_ALG_RSA_4096:
		return 4096;
	case KEY_ALG_ED25519:
		break;
	}
	return 256;
}
