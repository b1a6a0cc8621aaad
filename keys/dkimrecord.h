/*
 * NAME
 *	dkimrecord.h - compare the DKIM key records found in DNS with the one we publish
 * SYNOPSIS
 *	#include "keys/dkimrecord.h"
 * DESCRIPTION
 *	dkimrecord_compare() is the pure part of "signet-keys check": given the TXT records
 *	at SELECTOR._domainkey.DOMAIN (each record's strings already joined) and the record
 *	signet-keys dns prints for the key ("v=DKIM1; k=TYPE; p=BASE64"), it says whether
 *	they match and, if not, precisely how they differ.  The verdicts that need DNS
 *	rather than record text (missing, DNS failure, still propagating) are set by the
 *	caller; they are here so that every verdict has one name.
 * DIAGNOSTICS
 *	The verdict, and one sentence in detail[] saying what is wrong and what to do.
 */
#ifndef SIGNET_DKIMRECORD_H
#define SIGNET_DKIMRECORD_H

#include <stddef.h>

enum dkimrecord_verdict {
	DKIMREC_OK,		/* exactly one record, and it is ours */
	DKIMREC_MISSING,	/* NXDOMAIN, or no TXT record at the name */
	DKIMREC_OTHER_KEY,	/* p= holds a different key */
	DKIMREC_TRUNCATED,	/* p= holds the start of our key only */
	DKIMREC_MALFORMED,	/* split or quoted badly, not a tag list, v= wrong, no p= */
	DKIMREC_WRONG_TYPE,	/* k= (or its absence) does not fit the key */
	DKIMREC_REVOKED,	/* p= is empty */
	DKIMREC_SEVERAL,	/* more than one TXT record at the name */
	DKIMREC_DNS_FAILURE,	/* temporary: SERVFAIL, timeout, REFUSED... */
	DKIMREC_PROPAGATING,	/* matches, but older cached answers may still be served */
};

/* "ok", "missing", "other-key", "truncated", "malformed", "wrong-type", "revoked",
 * "several", "dns-failure", "propagating". */
const char *dkimrecord_verdict_name(enum dkimrecord_verdict verdict);

/* 1 for the verdicts that may clear up by themselves (DNS failure, propagating). */
int	dkimrecord_verdict_temporary(enum dkimrecord_verdict verdict);

/* Compares count records (records[i] of lengths[i] bytes, which may hold a NUL byte)
 * with expected, a record as keystore_dns_txt() makes it.  count 0 is DKIMREC_MISSING. */
enum dkimrecord_verdict dkimrecord_compare(char *const *records, const size_t *lengths,
	    size_t count, const char *expected, char *detail, size_t detail_size);

#endif
