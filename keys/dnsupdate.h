/*
 * NAME
 *	dnsupdate.h - RFC 2136 dynamic update of one TXT RRset, signed with TSIG (RFC 8945)
 * SYNOPSIS
 *	#include "keys/dnsupdate.h"
 * DESCRIPTION
 *	What "signet-keys publish" sends to the zone's primary server: one UPDATE message
 *	over TCP that deletes every TXT record at the name and adds ours, so the name ends
 *	with exactly one record whatever was there before.  The message is signed with the
 *	TSIG key of UpdateKey ("ALGORITHM:NAME:BASE64SECRET"; hmac-sha256, hmac-sha384,
 *	hmac-sha512, hmac-sha224 or hmac-sha1) and the answer's TSIG is verified.
 * DIAGNOSTICS
 *	dnsupdate_txt() returns 0 when an answer came back that can be believed, and -1
 *	with err filled when there was none: connection, time-out, a malformed answer, or
 *	one that does not pass every TSIG check (err names the check).  An answer is
 *	believed when its TSIG names our key, algorithm and message, its MAC has the
 *	digest's full length and verifies, and it was signed within its fudge of our
 *	clock (signed_ok is then set); an answer without a MAC is believed only as a
 *	refusal (rcode other than NOERROR), never as success.  So NOERROR with TSIG
 *	error 0 comes back only with signed_ok set.
 */
#ifndef SIGNET_DNSUPDATE_H
#define SIGNET_DNSUPDATE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf/conf.h"

#define DNSUPDATE_NAME_MAX	255	/* wire form */
#define DNSUPDATE_SECRET_MAX	128

struct tsig_key {
	char	name[DNSUPDATE_NAME_MAX + 1];	/* presentation form, no trailing dot */
	char	algorithm[32];			/* "hmac-sha256" ... */
	unsigned char secret[DNSUPDATE_SECRET_MAX];
	size_t	secret_len;
};

/* Parses "ALGORITHM:NAME:BASE64SECRET"; -1 with err filled if it is not one. */
int	tsig_key_parse(const char *text, struct tsig_key *out, char *err, size_t errlen);

struct dnsupdate_answer {
	int	rcode;		/* NOERROR 0, SERVFAIL 2, NOTAUTH 9, NOTZONE 10 ... */
	int	tsig_error;	/* TSIG error field of the answer: BADSIG 16, BADKEY 17 ... */
	int	signed_ok;	/* the answer carried a TSIG whose MAC verified */
};

/* Replaces the TXT RRset at name (in zone) by one record holding txt, with ttl. */
int	dnsupdate_txt(const struct nameserver *server, const struct tsig_key *key,
	    const char *zone, const char *name, unsigned ttl, const char *txt,
	    struct dnsupdate_answer *out, char *err, size_t errlen);

/* Builds the signed UPDATE message into buf[size]; returns its length, or 0 if it does
 * not fit.  mac[*mac_len] receives the request MAC (needed to verify the answer).  For
 * unit tests: id and now are the caller's. */
size_t	dnsupdate_build(unsigned char *buf, size_t size, uint16_t id, time_t now,
	    const struct tsig_key *key, const char *zone, const char *name, unsigned ttl,
	    const char *txt, unsigned char *mac, size_t *mac_len);

/* Checks an answer to a message built by dnsupdate_build() (ID, QR, opcode, then the
 * TSIG checks above, against time(NULL)); 0 or -1 as dnsupdate_txt(). */
int	dnsupdate_parse_answer(const unsigned char *msg, size_t len, uint16_t id,
	    const struct tsig_key *key, const unsigned char *request_mac, size_t mac_len,
	    struct dnsupdate_answer *out, char *err, size_t errlen);

/* "NOERROR", "REFUSED", "NOTAUTH", ... or "RCODE%d". */
const char *dnsupdate_rcode_name(int rcode, char *buf, size_t size);
/* "BADSIG (wrong secret)", "BADKEY (...)", "BADTIME (...)", ... */
const char *dnsupdate_tsig_error_name(int error);

#endif
