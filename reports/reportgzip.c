/*
 * NAME
 *	reportgzip.c - gzip in memory with zlib
 * SYNOPSIS
 *	#include "reports/reportgzip.h"
 * DESCRIPTION
 *	deflateInit2() with windowBits 15 + 16 writes the gzip wrapper (RFC 1952) itself;
 *	without deflateSetHeader() its header has MTIME 0 and no name.  Output grows in a
 *	struct buffer, doubling.
 * DIAGNOSTICS
 *	1, or 0 (zlib error or out of memory).
 * SEE ALSO
 *	reportgzip.h
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lib/alloc.h"
#include "lib/buffer.h"
#include "reports/reportgzip.h"

#define GZIP_WINDOW	(15 + 16)	/* 32 KiB window, gzip wrapper */
#define GZIP_MEMLEVEL	8
#define GZIP_CHUNK	16384

struct reportgzip {
	z_stream z;
	struct buffer out;
	int	broken;
};

struct reportgzip *
reportgzip_new(void)
{
	struct reportgzip *gz = mem_calloc(1, sizeof(*gz));

	if (gz == NULL)
		return NULL;
	if (deflateInit2(&gz->z, Z_BEST_COMPRESSION, Z_DEFLATED, GZIP_WINDOW, GZIP_MEMLEVEL,
	    Z_DEFAULT_STRATEGY) != Z_OK) {
		free(gz);
		return NULL;
	}
	return gz;
}

/* Runs deflate over the pending input with flush, appending all it gives. */
static int
pump(struct reportgzip *gz, int flush)
{
	unsigned char chunk[GZIP_CHUNK];
	int rc;

	do {
		gz->z.next_out = chunk;
		gz->z.avail_out = sizeof(chunk);
		rc = deflate(&gz->z, flush);
		if (rc == Z_STREAM_ERROR || (rc == Z_BUF_ERROR && gz->z.avail_out != 0))
			return 0;
		if (!buffer_append(&gz->out, chunk, sizeof(chunk) - gz->z.avail_out))
			return 0;
	} while (gz->z.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
	return 1;
}

int
reportgzip_write(struct reportgzip *gz, const void *data, size_t len)
{
	const unsigned char *p = data;
	uInt n;

	while (!gz->broken && len > 0) {
		n = len > GZIP_CHUNK ? GZIP_CHUNK : (uInt)len;
		gz->z.next_in = (Bytef *)(uintptr_t)p;
		gz->z.avail_in = n;
		if (!pump(gz, Z_NO_FLUSH) || gz->z.avail_in != 0)
			gz->broken = 1;
		p += n;
		len -= n;
	}
	return !gz->broken;
}

int
reportgzip_finish(struct reportgzip *gz, unsigned char **out, size_t *len)
{
	gz->z.next_in = NULL;
	gz->z.avail_in = 0;
	if (gz->broken || !pump(gz, Z_FINISH)) {
		gz->broken = 1;
		return 0;
	}
	*out = (unsigned char *)gz->out.data;
	*len = gz->out.len;
	memset(&gz->out, 0, sizeof(gz->out));
	gz->broken = 1;			/* finished: nothing more may be written */
	return 1;
}

void
reportgzip_free(struct reportgzip *gz)
{
	if (gz == NULL)
		return;
	deflateEnd(&gz->z);
	buffer_free(&gz->out);
	free(gz);
}
