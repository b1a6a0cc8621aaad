/*
 * NAME
 *	fuzz-verify.h - the "verify" target of fuzz-parsers: whole messages through the DKIM
 *	verifier, one key served, and what may count for DMARC checked
 * SYNOPSIS
 *	#include "tests/fuzz/fuzz-verify.h"
 * DESCRIPTION
 *	fuzz_verify_init() makes the key, the verifier and the seeds (once; 0 and a line on
 *	stderr when OpenSSL or the verifier fail).  fuzz_verify_run() is the target: 1 when
 *	the invariants hold for the message, else 0 after printing why as TAP comments.
 *	fuzz_verify_summary() writes a message's results on one line, for the seed checks.
 */
#ifndef SIGNET_FUZZ_VERIFY_H
#define SIGNET_FUZZ_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#define FUZZ_VERIFY_MAX_SIGNATURES 4	/* MaximumSignatures of the verifier under test */

struct fuzz_verify_seed {
	const char *name;	/* what it is shaped like */
	char   *message;	/* the whole message, CRLF line ends */
	size_t	signed_from;	/* fields above this offset are forged: mutate mostly there */
	const char *expect;	/* its results as fuzz_verify_summary() writes them */
};

int	fuzz_verify_init(void);
const struct fuzz_verify_seed *fuzz_verify_seeds(size_t *count);
/* Pieces worth splicing into a header block (forged fields, syntax errors, b= values). */
const char *const *fuzz_verify_splices(size_t *count);
int	fuzz_verify_run(const uint8_t *data, size_t len);
/* How many inputs given to fuzz_verify_run() so far had a passing signature. */
unsigned long fuzz_verify_passes(void);
void	fuzz_verify_summary(const uint8_t *data, size_t len, char *out, size_t outlen);

#endif
