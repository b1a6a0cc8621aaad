/*
 * NAME
 *	fakedns.h - a fake DNS for struct dmarc_dns (lib/dmarc.h), for unit tests
 * SYNOPSIS
 *	#include "tests/unit/fakedns.h"
 *
 *	static const struct fake_txt zone[] = { {"_dmarc.example.com", {"v=DMARC1"}},
 *	    {NULL, {NULL}} };
 *	struct fake f = { .zone = zone, .tempfail = tempfail };
 *	struct dmarc_dns dns;
 *
 *	fake_dns(&dns, &f);
 * DESCRIPTION
 *	TXT lookups answer from a table of whole names: a name listed with no record is
 *	NODATA, a name not listed NXDOMAIN, a name in tempfail times out.  The first record
 *	of nul_name is nul_len bytes long, NUL included, as dns_query_txt() passes what the
 *	wire had; the others end at their first NUL.  Existence tests (np=) answer NXDOMAIN
 *	for the domains in missing and fail for those in exists_fail.  Every TXT name
 *	asked is logged, so tests can check what was (not) asked.  fake_dns() resets the
 *	log and the counters, not the tables.  test-dmarc.c and test-reportdest.c use it.
 */
#ifndef SIGNET_TESTS_FAKEDNS_H
#define SIGNET_TESTS_FAKEDNS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dmarc.h"

struct fake_txt {
	const char *name;		/* the whole name, "_dmarc.example.com" */
	const char *records[3];
};

struct fake {
	const struct fake_txt *zone;
	const char *const *tempfail;	/* TXT names whose lookup times out */
	const char *const *missing;	/* domains that do not exist */
	const char *const *exists_fail;	/* domains whose existence test fails */
	char	log[32][600];
	size_t	queries;
	size_t	exists_queries;
	const char *nul_name;		/* the first record of this name is nul_len bytes */
	size_t	nul_len;		/* ... with a NUL inside */
};

static int listed(const char *const *list, const char *name)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(*list, name) == 0)
			return 1;
	return 0;
}

static enum dns_status fake_txt(void *ctx, const char *name, struct dns_txt **out)
{
	struct fake *f = ctx;
	const struct fake_txt *z;
	size_t	n = 0;

	*out = NULL;
	if (f->queries < sizeof(f->log) / sizeof(f->log[0]))
		snprintf(f->log[f->queries], sizeof(f->log[0]), "%s", name);
	f->queries++;
	if (listed(f->tempfail, name))
		return DNS_TEMPFAIL;
	for (z = f->zone; z != NULL && z->name != NULL && strcmp(z->name, name) != 0; z++)
		;
	if (z == NULL || z->name == NULL)
		return DNS_NXDOMAIN;
	while (n < 3 && z->records[n] != NULL)
		n++;
	if (n == 0)
		return DNS_NODATA;
	if ((*out = calloc(1, sizeof(**out))) == NULL ||
	    ((*out)->records = calloc(n, sizeof(char *))) == NULL ||
	    ((*out)->lengths = calloc(n, sizeof(size_t))) == NULL)
		abort();
	for ((*out)->count = 0; (*out)->count < n; (*out)->count++) {
		size_t	i = (*out)->count;

		(*out)->records[i] = (char *)z->records[i];
		(*out)->lengths[i] = i == 0 && f->nul_name != NULL &&
		    strcmp(name, f->nul_name) == 0 ? f->nul_len : strlen(z->records[i]);
	}
	return DNS_OK;
}

static void fake_txt_free(void *ctx, struct dns_txt *txt)
{
	(void)ctx;
	free(txt->records);
	free(txt->lengths);
	free(txt);
}

static enum dns_status fake_exists(void *ctx, const char *domain)
{
	struct fake *f = ctx;

	f->exists_queries++;
	if (listed(f->exists_fail, domain))
		return DNS_TEMPFAIL;
	return listed(f->missing, domain) ? DNS_NXDOMAIN : DNS_OK;
}

static void fake_dns(struct dmarc_dns *dns, struct fake *f)
{
	memset(dns, 0, sizeof(*dns));
	dns->txt = fake_txt;
	dns->exists = fake_exists;
	dns->txt_free = fake_txt_free;
	dns->ctx = f;
	f->queries = 0;
	f->exists_queries = 0;
}

#endif
