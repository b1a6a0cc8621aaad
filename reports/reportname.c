/*
 * NAME
 *	reportname.c - the names of an aggregate report: receiver, organization, unique-id
 *	and Report-ID, file name, and when a period has ended
 * SYNOPSIS
 *	#include "reports/reportbuild.h"
 * DESCRIPTION
 *	The rules are in reportbuild.h.  The unique-id's hash is FNV-1a (lib/hash.h): the
 *	names it hashes are in the file name beside it, so it only has to keep two
 *	receivers' reports on one domain and day apart, not resist anyone.
 * DIAGNOSTICS
 *	report_receiver() says what is wrong with the name it found; the others return 0.
 * SEE ALSO
 *	reportbuild.h, domain.h
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/domain.h"
#include "lib/hash.h"
#include "reports/reportbuild.h"

#define HOST_NAME_BUF	256

/* A domain-name (RFC 6376, from RFC 5321: letters, digits, hyphens), lower-cased. */
static int
domain_name(const char *name, char *out, size_t size)
{
	return domain_check(name, strlen(name), 0, out, size) > 0;
}

int
report_receiver(const struct conf *conf, char *out, size_t size, char *err, size_t errlen)
{
	char host[HOST_NAME_BUF];
	const char *name = conf->report_domain;

	if (name == NULL || name[0] == '\0') {
		if (gethostname(host, sizeof(host)) != 0) {
			snprintf(err, errlen, "ReportDomain is not set and the host name is "
			    "unknown: %s", strerror(errno));
			return 0;
		}
		host[sizeof(host) - 1] = '\0';
		name = host;
	}
	if (!domain_name(name, out, size)) {
		snprintf(err, errlen, "the receiver \"%s\" (%s) is not a domain name; set "
		    "ReportDomain", name, name == host ? "the host name" : "ReportDomain");
		return 0;
	}
	return 1;
}

const char *
report_org_name(const struct conf *conf, const char *receiver)
{
	if (conf->report_org_name != NULL && conf->report_org_name[0] != '\0')
		return conf->report_org_name;
	return receiver;
}

int
report_unique_id(const char *receiver, const char *domain, long long begin, char *out,
    size_t size)
{
	char r[REPORT_RECEIVER_MAX], d[REPORT_RECEIVER_MAX], when[24];
	time_t t = (time_t)begin;
	struct tm tm;
	uint64_t h;
	int n;

	if (!domain_name(receiver, r, sizeof(r)) || !domain_name(domain, d, sizeof(d))
	    || begin < 0 || gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999)
		return 0;
	snprintf(when, sizeof(when), "%lld", begin);
	h = hash_fnv1a64(HASH_FNV1A64_INIT, r, strlen(r) + 1);
	h = hash_fnv1a64(h, d, strlen(d) + 1);
	h = hash_fnv1a64(h, when, strlen(when));
	n = snprintf(out, size, "%04d%02d%02d%016llx", tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday, (unsigned long long)h);
	return n > 0 && (size_t)n < size;
}

int
report_filename(const char *receiver, const char *domain, long long begin,
    const char *unique_id, char *out, size_t size)
{
	char r[REPORT_RECEIVER_MAX], d[REPORT_RECEIVER_MAX];
	const char *p;
	int n;

	if (!domain_name(receiver, r, sizeof(r)) || !domain_name(domain, d, sizeof(d))
	    || begin < 0 || unique_id[0] == '\0')
		return 0;
	for (p = unique_id; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
		    || (*p >= '0' && *p <= '9')))
			return 0;
	n = snprintf(out, size, "%s!%s!%lld!%lld!%s.xml.gz", r, d, begin,
	    begin + REPORT_PERIOD - 1, unique_id);
	return n > 0 && (size_t)n < size;
}

int
report_period_ended(long long begin, long long now)
{
	return begin <= now - REPORT_PERIOD;
}
