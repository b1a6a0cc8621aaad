/*
 * NAME
 *	fuzz-arc.h - the "arc" target of fuzz-parsers: whole messages through the ARC
 *	validator (see fuzz-arc.c)
 * SYNOPSIS
 *	#include "tests/fuzz/fuzz-arc.h"
 * DESCRIPTION
 *	fuzz_arc_run() is the target: 1 when the invariants hold for the message, else 0
 *	after printing why as a TAP comment.  It makes its key and verifier on first use.
 *	fuzz_arc_seeds is its own seeds, a NULL-terminated list.
 */
#ifndef SIGNET_FUZZ_ARC_H
#define SIGNET_FUZZ_ARC_H

#include <stddef.h>
#include <stdint.h>

extern const char *const fuzz_arc_seeds[];

int	fuzz_arc_run(const uint8_t *data, size_t len);

#endif
