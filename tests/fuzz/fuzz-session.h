/*
 * NAME
 *	fuzz-session.h - whole messages through a session (see fuzz-session.c)
 * SYNOPSIS
 *	#include "tests/fuzz/fuzz-session.h"
 * DESCRIPTION
 *	fuzz_session_init() builds the runtime once (0 and a line on stderr when it cannot);
 *	fuzz_session_run() is the target: 1 when the invariants hold.
 */
#ifndef SIGNET_FUZZ_SESSION_H
#define SIGNET_FUZZ_SESSION_H

#include <stddef.h>
#include <stdint.h>

int	fuzz_session_init(void);
int	fuzz_session_run(const uint8_t *data, size_t len);

#endif
