/*
 * NAME
 *	reportgzip.h - gzip (RFC 1952) in memory, written a piece at a time
 * SYNOPSIS
 *	#include "reports/reportgzip.h"
 *
 *	struct reportgzip *gz = reportgzip_new();
 *	reportgzip_write(gz, xml, len);		(any number of times)
 *	reportgzip_finish(gz, &bytes, &size);	(bytes is the caller's to free)
 *	reportgzip_free(gz);
 * DESCRIPTION
 *	Aggregate reports are "SHOULD be subjected to GZIP" (RFC 9990 section 3.6); the
 *	report is compressed as it is written, so only the compressed form is held whole.
 *	The gzip header carries no file name and a zero time, so the same XML always gives
 *	the same bytes (a report made twice is the same file).  Only this file knows zlib.
 * DIAGNOSTICS
 *	Functions return 1, or 0 when zlib fails or memory runs out; the stream is then
 *	unusable and reportgzip_free() is all that is left to do.
 * SEE ALSO
 *	reportbuild.c, zlib.h
 */
#ifndef SIGNET_REPORTGZIP_H
#define SIGNET_REPORTGZIP_H

#include <stddef.h>

struct reportgzip;

struct reportgzip *reportgzip_new(void);
int	reportgzip_write(struct reportgzip *gz, const void *data, size_t len);
/* Ends the stream and hands its bytes over: *out (malloc'd), *len. */
int	reportgzip_finish(struct reportgzip *gz, unsigned char **out, size_t *len);
void	reportgzip_free(struct reportgzip *gz);

#endif
