/*
 * NAME
 *	report-make.c - signet-reports make: one gzip'd XML file per report whose day has
 *	ended
 * SYNOPSIS
 *	signet-reports [-c FILE] make [--now TIME] --out DIR
 * DESCRIPTION
 *	For every report in the store whose UTC day has ended by --now (done ones too: a
 *	file made again is the same file), builds it (reportbuild.h) and writes
 *	DIR/receiver!domain!begin!end!unique-id.xml.gz, then records in the store that it
 *	was made.  Each file is written beside its final name, synced and renamed, so DIR
 *	never holds half a report; a second make replaces each file with the same name (and
 *	the same bytes while no counts were added).  Prints the path of each file written.
 *
 *	A report that cannot be built (see reportbuild.h) is reported and skipped; the
 *	others are still made, and the exit status says 1.  Rows left out because the
 *	schema cannot hold them are reported too, with their messages.
 * DIAGNOSTICS
 *	"signet-reports: DIR/NAME: message" for a file, the builder's sentence for a
 *	report; exit status 1 when anything failed.
 * SEE ALSO
 *	signet-reports(8), reportbuild.h
 */
#define _GNU_SOURCE		/* O_DIRECTORY */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reports/reporttool.h"

#define REPORT_FILE_MODE	0640

/* Writes all of len bytes to fd. */
static int
write_all(int fd, const unsigned char *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		data += n;
		len -= (size_t)n;
	}
	return 1;
}

/* DIR/.NAME.XXXXXX written, synced and renamed to DIR/NAME. */
static int
write_report_file(const char *dir, const struct report_build *b)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	int fd, ok;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, b->filename) >= sizeof(path)
	    || (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, b->filename)
	    >= sizeof(tmp)) {
		reporttool_fail("%s/%s: path too long", dir, b->filename);
		return 0;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		reporttool_fail("cannot create a file in %s: %s", dir, strerror(errno));
		return 0;
	}
	ok = fchmod(fd, REPORT_FILE_MODE) == 0 && write_all(fd, b->gzip, b->gzip_len)
	    && fsync(fd) == 0;
	if (close(fd) != 0)
		ok = 0;
	if (!ok || rename(tmp, path) != 0) {
		reporttool_fail("%s: cannot write it: %s", path, strerror(errno));
		unlink(tmp);
		return 0;
	}
	printf("%s\n", path);
	return 1;
}

static void
note_refused(const struct report_build *b)
{
	if (b->rows_refused > 0)
		reporttool_note("%s: %zu rows (%lu messages) left out: they do not decode or "
		    "hold values the schema refuses", b->filename, b->rows_refused,
		    b->messages_refused);
	if (b->values_dropped > 0)
		reporttool_note("%s: %u DKIM/SPF results or reason types the schema refuses "
		    "were left out or written as \"other\"", b->filename, b->values_dropped);
}

static int
make_one(struct reporttool *rt, const char *receiver, const struct reportstore_report *r)
{
	struct report_build b;
	char err[768];
	int ok;

	if (!report_build(rt->store, rt->conf, receiver, r->begin, r->domain, &b, err,
	    sizeof(err))) {
		reporttool_fail("%s", err);
		return 0;
	}
	note_refused(&b);
	ok = write_report_file(rt->out_dir, &b);
	if (ok && !reportstore_made(rt->store, r->begin, r->domain, rt->now, err,
	    sizeof(err))) {
		reporttool_fail("%s", err);
		ok = 0;
	}
	report_build_free(&b);
	return ok && b.rows_refused == 0;
}

/* fsync(2) of the folder, so that the renames survive a crash. */
static int
sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY), ok;

	if (fd < 0)
		return 0;
	ok = fsync(fd) == 0;
	close(fd);
	return ok;
}

int
reporttool_cmd_make(struct reporttool *rt)
{
	struct reportstore_report *reports;
	const char *receiver;
	struct stat st;
	size_t i, n, failed = 0;

	if (stat(rt->out_dir, &st) != 0)
		return reporttool_fail("--out %s: %s", rt->out_dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return reporttool_fail("--out %s: not a folder", rt->out_dir);
	if ((receiver = reporttool_receiver(rt)) == NULL
	    || reporttool_ended(rt, &reports, &n) != REPORTTOOL_OK)
		return REPORTTOOL_FAIL;
	for (i = 0; i < n; i++)
		if (!make_one(rt, receiver, &reports[i]))
			failed++;
	free(reports);
	if (n > 0 && !sync_dir(rt->out_dir))
		return reporttool_fail("%s: cannot sync the folder: %s", rt->out_dir,
		    strerror(errno));
	return failed == 0 ? REPORTTOOL_OK : REPORTTOOL_FAIL;
}
