/*
 * NAME
 *	fuzz-keys.h - signet-keys' parsers as fuzz targets (see fuzz-keys.c)
 * SYNOPSIS
 *	#include "tests/fuzz/fuzz-keys.h"
 */
#ifndef SIGNET_FUZZ_KEYS_H
#define SIGNET_FUZZ_KEYS_H

#include <stddef.h>
#include <stdint.h>

int	fuzz_opendkim_run(const uint8_t *data, size_t len);
int	fuzz_tsig_run(const uint8_t *data, size_t len);

#endif
