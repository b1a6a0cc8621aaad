/*
 * NAME
 *	linefile.c - bounded line reading for operators' table files (see linefile.h)
 * DESCRIPTION
 *	A line longer than the buffer is read to its end and reported, so a following call
 *	would start on the next line; the callers stop at the first error anyway.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "lib/linefile.h"
#include "lib/printable.h"

int	linefile_open(struct linefile *lf, const char *path, char *err, size_t errlen)
{
	lf->path = path;
	lf->line = 0;
	if ((lf->fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		printable_in_place(err, NULL);
		return 0;
	}
	return 1;
}

static void fail_at(const struct linefile *lf, unsigned line, char *err, size_t errlen,
    const char *fmt, va_list ap)
{
	int	n = snprintf(err, errlen, "%s:%u: ", lf->path, line);

	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	if (errlen > 0)
		printable_in_place(err, NULL);
}

void	linefile_fail(const struct linefile *lf, char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	fail_at(lf, lf->line, err, errlen, fmt, ap);
	va_end(ap);
}

void	linefile_fail_at(const struct linefile *lf, unsigned line, char *err, size_t errlen,
    const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	fail_at(lf, line, err, errlen, fmt, ap);
	va_end(ap);
}

/* Reads bytes up to the next LF byte by byte, so that a NUL is seen as a byte like any
 * other (fgets() would hide what follows it); keeps at most LINEFILE_MAX + 1 of them. */
int	linefile_next(struct linefile *lf, char **line, char *err, size_t errlen)
{
	size_t	len = 0, seen = 0;
	int	c, control = 0;

	while ((c = getc(lf->fp)) != EOF && c != '\n') {
		if (seen++ <= LINEFILE_MAX)
			lf->text[len++] = (char)c;
		if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f)
			control = 1;
	}
	if (ferror(lf->fp)) {
		linefile_fail(lf, err, errlen, "read error");
		return -1;
	}
	if (c == EOF && seen == 0)
		return 0;
	lf->line++;
	if (len > 0 && lf->text[len - 1] == '\r' && seen == len)
		len--;
	if (len > LINEFILE_MAX) {
		linefile_fail(lf, err, errlen, "line longer than %d bytes", LINEFILE_MAX);
		return -1;
	}
	lf->text[len] = '\0';
	if (control || memchr(lf->text, '\r', len) != NULL) {
		linefile_fail(lf, err, errlen, "DEL or control character in line");
		return -1;
	}
	*line = lf->text;
	return 1;
}

void	linefile_close(struct linefile *lf)
{
	if (lf->fp != NULL)
		fclose(lf->fp);
	lf->fp = NULL;
}
