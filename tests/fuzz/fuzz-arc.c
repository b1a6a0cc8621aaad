/*
 * NAME
 *	fuzz-arc.c - whole messages through the ARC validator, and what must hold of its
 *	outcome
 * SYNOPSIS
 *	fuzz_arc_run(data, len)		(a target of fuzz-parsers.c)
 * DESCRIPTION
 *	The message goes to arcverify.c as a milter client hands it over (msgfeed.h), one
 *	key being served: an RSA key at sel._domainkey.example.org, the name the seeds'
 *	signatures use, so that mutated chains reach the hashing and the RSA check (they
 *	do not verify: the seeds are not signed).  Every other name is NXDOMAIN.
 *
 *	Invariants, for any input:
 *	  - the result is none exactly when no field is named (case and trailing blanks
 *	    aside) ARC-Seal, ARC-Message-Signature or ARC-Authentication-Results; the rule
 *	    is written here again, not taken from arcset.c;
 *	  - nothing passes (no key signs anything here);
 *	  - a fail has a reason, without a control byte;
 *	  - when the structure held (sets > 0), there are at most 50 sets, the 3N fields
 *	    come in the order AAR, AMS, AS, each with its instance's set description.
 * SEE ALSO
 *	fuzz-parsers.c, milter/arcverify.h
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>

#include "milter/arcverify.h"
#include "milter/verify.h"
#include "tests/fuzz/fuzz-arc.h"
#include "tests/unit/keyserve.h"
#include "tests/unit/msgfeed.h"

#define SEAL(i, cv)	"ARC-Seal: i=" #i "; a=rsa-sha256; cv=" cv "; d=example.org;\r\n" \
			"\ts=sel; t=12345; b=AAAA\r\n"
#define AMS(i)		"ARC-Message-Signature: i=" #i "; a=rsa-sha256;\r\n" \
			"\tc=relaxed/relaxed;\r\n" \
			"\td=example.org; s=sel; h=from:to:subject;\r\n" \
			"\tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\r\n"
#define AAR(i)		"ARC-Authentication-Results: i=" #i "; mx.example.org; spf=pass\r\n"
#define MESSAGE		"From: a@example.org\r\nTo: b@example.net\r\n" \
			"Subject: x\r\n\r\nHi.\r\n"

const char *const fuzz_arc_seeds[] = {
	SEAL(1, "none") AMS(1) AAR(1) MESSAGE,
	SEAL(2, "pass") AMS(2) AAR(2) SEAL(1, "none") AMS(1) AAR(1) MESSAGE,
	AAR(1) "arc-seal : i=1; cv=none; a=ed25519-sha256; d=example.org; s=sel; b=AAAA\r\n"
	    AMS(1) MESSAGE,
	SEAL(3, "fail") AMS(3) AAR(3) SEAL(1, "none") MESSAGE,
	"ARC-Authentication-Results: (c) i = 1 (d) ; x\r\n" AMS(1) SEAL(1, "none") MESSAGE,
	NULL,
};

static struct verifier *verifier;

static int init(void)
{
	EVP_PKEY *key;
	char	err[128];

	if (verifier != NULL)
		return 1;
	if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024)) == NULL ||
	    (verifier = verifier_new(NULL, 0, err, sizeof(err))) == NULL)
		abort();
	publish("sel._domainkey.example.org", "v=DKIM1; k=rsa; p=", key, NULL);
	EVP_PKEY_free(key);
	verifier_set_key_lookup(verifier, serve, NULL);
	return 1;
}

static void on_header(void *m, const char *name, const char *value)
{
	arcverify_header(m, name, value);
}

static void on_end_of_headers(void *m)
{
	arcverify_end_of_headers(m);
}

static void on_body(void *m, const unsigned char *data, size_t len)
{
	arcverify_body(m, data, len);
}

/* An ARC field's name, as RFC 8617 section 4.1 names them; blanks before the colon and
 * ASCII case aside (a milter client may pass them). */
static int is_arc_name(const char *name)
{
	static const char *const names[] = {"ARC-Seal", "ARC-Message-Signature",
	    "ARC-Authentication-Results"};
	size_t	len = strlen(name);

	while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t'))
		len--;
	for (size_t i = 0; i < 3; i++)
		if (len == strlen(names[i]) && strncasecmp(name, names[i], len) == 0)
			return 1;
	return 0;
}

static void count_header(void *count, const char *name, const char *value)
{
	(void)value;
	*(size_t *)count += is_arc_name(name);
}

static void ignore_end(void *context)
{
	(void)context;
}

static void ignore_body(void *context, const unsigned char *data, size_t len)
{
	(void)context;
	(void)data;
	(void)len;
}

static const char *check_fields(const struct arcverify_message *m, unsigned sets)
{
	static const char *const order[] = {"ARC-Authentication-Results",
	    "ARC-Message-Signature", "ARC-Seal"};
	const char *name, *value;

	if (sets > 50)
		return "more than 50 sets";
	for (size_t i = 0; i < 3 * (size_t)sets; i++)
		if (!arcverify_field(m, i, &name, &value) || !is_arc_name(name) ||
		    strncasecmp(name, order[i % 3], strlen(order[i % 3])) != 0)
			return "the fields are not AAR, AMS, AS in turn";
	if (arcverify_field(m, 3 * (size_t)sets, &name, &value))
		return "a field past 3N";
	for (unsigned i = 1; i <= sets; i++)
		if (arcverify_set(m, i) == NULL)
			return "a set without its description";
	return NULL;
}

int	fuzz_arc_run(const uint8_t *data, size_t len)
{
	struct arcverify_message *m;
	const struct arc_outcome *out;
	struct dns_budget budget;
	size_t	arc_fields = 0;
	struct msgfeed counter = {count_header, ignore_end, ignore_body, &arc_fields},
	    feeder = {on_header, on_end_of_headers, on_body, NULL};
	const char *why = NULL;

	init();
	dns_budget_init(&budget, 64, 60000);
	if ((m = arcverify_begin(verifier, &budget, "FUZZ")) == NULL)
		abort();
	feeder.context = m;
	msgfeed(&counter, data, len);
	msgfeed(&feeder, data, len);
	if (!arcverify_finish(m, &out))
		abort();		/* only memory can fail it */
	if ((out->result == ARC_NONE) != (arc_fields == 0))
		why = "none exactly when there is no ARC field";
	else if (out->result == ARC_PASS)
		why = "a pass without a key that signs";
	else if (out->result == ARC_FAIL && out->reason[0] == '\0')
		why = "a fail without a reason";
	for (const char *p = out->reason; why == NULL && *p != '\0'; p++)
		if (iscntrl((unsigned char)*p))
			why = "a control byte in the reason";
	if (why == NULL)
		why = check_fields(m, out->sets);
	if (why != NULL)
		printf("# arc: %s (%s: %s)\n", why, arc_result_name(out->result), out->reason);
	arcverify_free(m);
	return why == NULL;
}
