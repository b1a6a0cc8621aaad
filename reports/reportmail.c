/*
 * NAME
 *	reportmail.c - the mail of one aggregate report (see reportmail.h)
 */
#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "reports/reportmail.h"

#define SUBJECT_FOLD_AT	78		/* RFC 5322 section 2.1.1 */
#define BASE64_LINE_IN	57		/* bytes that make 76 characters */

/* Printable ASCII without blanks: what may stand in a header field unquoted here. */
static int header_safe(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/* FNV-1a, 32 bits: a short stable tag of the destination for the Message-ID. */
static uint32_t address_tag(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

/* RFC 5322 section 3.3, in UTC, whatever the locale. */
static int date_field(struct buffer *m, long long now)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
		"Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t	t = (time_t)now;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		return 0;
	return buffer_printf(m, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
}

/* Report Domain: D Submitter: S Report-ID: <R>, folded where it would be too long. */
static int subject_field(struct buffer *m, const struct report_build *b)
{
	size_t	line = strlen("Subject: Report Domain: ") + strlen(b->domain);
	size_t	submitter = strlen(" Submitter: ") + strlen(b->receiver);
	size_t	rid = strlen(" Report-ID: <>") + strlen(b->report_id);
	const char *fold1 = " ", *fold2 = " ";

	if (line + submitter > SUBJECT_FOLD_AT) {
		fold1 = "\r\n ";
		line = submitter;
	} else {
		line += submitter;
	}
	if (line + rid > SUBJECT_FOLD_AT)
		fold2 = "\r\n ";
	return buffer_printf(m, "Subject: Report Domain: %s%sSubmitter: %s%sReport-ID: <%s>\r\n",
	    b->domain, fold1, b->receiver, fold2, b->report_id);
}

static int day_text(long long t, char *out, size_t size)
{
	time_t	tt = (time_t)t;
	struct tm tm;

	return gmtime_r(&tt, &tm) != NULL && strftime(out, size, "%Y-%m-%d", &tm) > 0;
}

static int base64_lines(struct buffer *m, const unsigned char *data, size_t len)
{
	char	line[80];
	size_t	i, n;

	for (i = 0; i < len; i += n) {
		n = len - i < BASE64_LINE_IN ? len - i : BASE64_LINE_IN;
		EVP_EncodeBlock((unsigned char *)line, data + i, (int)n);
		if (!buffer_append_str(m, line) || !buffer_append(m, "\r\n", 2))
			return 0;
	}
	return 1;
}

static int compose(const struct report_build *b, const char *from, const char *to,
	    long long now, struct buffer *m)
{
	char	day[16];

	if (!day_text(b->begin, day, sizeof(day)))
		return 0;
	return buffer_printf(m, "From: <%s>\r\nTo: <%s>\r\n", from, to) &&
	    date_field(m, now) &&
	    buffer_printf(m, "Message-ID: <%s.%08x@%s>\r\n", b->report_id,
		(unsigned)address_tag(to), b->receiver) &&
	    subject_field(m, b) &&
	    buffer_printf(m, "MIME-Version: 1.0\r\n"
		"Auto-Submitted: auto-generated\r\n"
		"Content-Type: multipart/mixed; boundary=\"=_%s\"\r\n"
		"\r\n"
		"This is a DMARC aggregate report in MIME format.\r\n"
		"\r\n--=_%s\r\n"
		"Content-Type: text/plain; charset=us-ascii\r\n"
		"Content-Transfer-Encoding: 7bit\r\n"
		"\r\n"
		"This is a DMARC aggregate report (RFC 9990) from %s\r\n"
		"about mail from %s received on %s (00:00:00 to 23:59:59 UTC).\r\n"
		"The report is the attached file %s.\r\n"
		"\r\n--=_%s\r\n"
		"Content-Type: application/gzip; name=\"%s\"\r\n"
		"Content-Transfer-Encoding: base64\r\n"
		"Content-Disposition: attachment; filename=\"%s\"\r\n"
		"\r\n",
		b->report_id, b->report_id, b->receiver, b->domain, day, b->filename,
		b->report_id, b->filename, b->filename) &&
	    base64_lines(m, b->gzip, b->gzip_len) &&
	    buffer_printf(m, "\r\n--=_%s--\r\n", b->report_id);
}

int	report_mail(const struct report_build *b, const char *from, const char *to,
	    long long now, struct buffer *mail)
{
	struct buffer m = {0};

	if (b == NULL || mail == NULL || !header_safe(from) || !header_safe(to) ||
	    !header_safe(b->domain) || !header_safe(b->receiver) ||
	    !header_safe(b->report_id) || !header_safe(b->filename) ||
	    strchr(b->filename, '"') != NULL || strchr(b->filename, '\\') != NULL)
		return 0;
	if (!compose(b, from, to, now, &m)) {
		buffer_free(&m);
		return 0;
	}
	*mail = m;
	return 1;
}
