/*
 * NAME
 *	dnsupdate.c - RFC 2136 dynamic update of one TXT RRset, signed with TSIG (RFC 8945)
 * SYNOPSIS
 *	#include "keys/dnsupdate.h"
 *
 *	int dnsupdate_txt(const struct nameserver *server, const struct tsig_key *key,
 *	    const char *zone, const char *name, unsigned ttl, const char *txt,
 *	    struct dnsupdate_answer *out, char *err, size_t errlen);
 * DESCRIPTION
 *	The message (RFC 2136 section 2): header with opcode UPDATE; the zone section
 *	holds ZONE SOA IN; the prerequisite section is empty; the update section holds
 *	"NAME ANY TXT" with TTL 0 and no data (delete the RRset, section 2.5.2) followed by
 *	"NAME IN TXT" with the new record, cut into character-strings of at most 255 bytes.
 *	RFC 2136 section 3.4.2 applies the updates in order, so the name ends with exactly
 *	our record.
 *
 *	TSIG (RFC 8945 section 4.3.3): the MAC covers the whole message without the TSIG
 *	record, then the key name and algorithm name in canonical (lower-case, uncompressed)
 *	wire form, class ANY, TTL 0, time signed, fudge, error and other data.  The answer's
 *	MAC covers the request MAC (with its 2-byte length), the answer without its TSIG
 *	record and with ARCOUNT one less, and the answer's TSIG variables (section 4.3.2).
 *	An answer counts as the server's word only with that MAC present at full length,
 *	verified, under our key name and algorithm, for our message ID and within the
 *	fudge; an answer without a MAC (section 5.3.2: what a server that cannot verify
 *	us sends, and what anyone on the path can) is believed only as a refusal.
 *
 *	Everything read from the wire is bounds-checked: names are walked label by label,
 *	compression pointers only backwards and at most 64 of them, every length against
 *	what is left.  TCP (section 2.2 of RFC 7766: a 2-byte length before each message)
 *	because an RSA-4096 record and a TSIG do not always fit 512 bytes of UDP.
 * SEE ALSO
 *	RFC 2136, RFC 8945, RFC 1035 section 4, keytool-publish.c
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "keys/dnsupdate.h"

#define TYPE_SOA	6
#define TYPE_TXT	16
#define TYPE_TSIG	250
#define CLASS_IN	1
#define CLASS_ANY	255
#define OPCODE_UPDATE	5
#define TSIG_FUDGE	300
#define MSG_MAX		65535
#define IO_TIMEOUT_S	10
#define MAC_MAX		EVP_MAX_MD_SIZE

/* ---- keys -------------------------------------------------------------------------- */

static const EVP_MD *
tsig_md(const char *algorithm)
{
	if (strcmp(algorithm, "hmac-sha256") == 0)
		return EVP_sha256();
	if (strcmp(algorithm, "hmac-sha384") == 0)
		return EVP_sha384();
	if (strcmp(algorithm, "hmac-sha512") == 0)
		return EVP_sha512();
	if (strcmp(algorithm, "hmac-sha224") == 0)
		return EVP_sha224();
	if (strcmp(algorithm, "hmac-sha1") == 0)
		return EVP_sha1();
	return NULL;
}

static int
decode_secret(const char *b64, struct tsig_key *out)
{
	unsigned char buf[DNSUPDATE_SECRET_MAX + 3];
	size_t len = strlen(b64), pad = 0;
	int n;

	if (len == 0 || len % 4 != 0 || len / 4 * 3 > sizeof(buf))
		return -1;
	if ((n = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)len)) < 0)
		return -1;
	if (b64[len - 1] == '=')
		pad++;
	if (b64[len - 2] == '=')
		pad++;
	if ((size_t)n < pad || (size_t)n - pad == 0 || (size_t)n - pad > DNSUPDATE_SECRET_MAX)
		return -1;
	out->secret_len = (size_t)n - pad;
	memcpy(out->secret, buf, out->secret_len);
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

int
tsig_key_parse(const char *text, struct tsig_key *out, char *err, size_t errlen)
{
	const char *c1 = strchr(text, ':'), *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
	size_t alen, nlen;

	memset(out, 0, sizeof(*out));
	if (c1 == NULL || c2 == NULL) {
		snprintf(err, errlen, "UpdateKey: want ALGORITHM:NAME:BASE64SECRET");
		return -1;
	}
	alen = (size_t)(c1 - text);
	nlen = (size_t)(c2 - c1 - 1);
	if (alen == 0 || alen >= sizeof(out->algorithm) || nlen == 0
	    || nlen >= sizeof(out->name)) {
		snprintf(err, errlen, "UpdateKey: want ALGORITHM:NAME:BASE64SECRET");
		return -1;
	}
	memcpy(out->algorithm, text, alen);
	memcpy(out->name, c1 + 1, nlen);
	if (out->name[nlen - 1] == '.')
		out->name[nlen - 1] = '\0';
	if (tsig_md(out->algorithm) == NULL) {
		snprintf(err, errlen, "UpdateKey: unknown algorithm \"%s\" (hmac-sha256, "
		    "hmac-sha384, hmac-sha512, hmac-sha224, hmac-sha1)", out->algorithm);
		return -1;
	}
	if (decode_secret(c2 + 1, out) < 0) {
		snprintf(err, errlen, "UpdateKey: the secret is not base64 of 1 to %d bytes",
		    DNSUPDATE_SECRET_MAX);
		return -1;
	}
	return 0;
}

/* ---- writing messages -------------------------------------------------------------- */

struct wbuf {
	unsigned char *p;
	size_t	size, len;
	int	ok;
};

static void
put(struct wbuf *w, const void *data, size_t n)
{
	if (!w->ok || n > w->size - w->len) {
		w->ok = 0;
		return;
	}
	memcpy(w->p + w->len, data, n);
	w->len += n;
}

static void
put16(struct wbuf *w, unsigned v)
{
	unsigned char b[2] = { (unsigned char)(v >> 8), (unsigned char)v };

	put(w, b, 2);
}

static void
put32(struct wbuf *w, unsigned long v)
{
	unsigned char b[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
	    (unsigned char)(v >> 8), (unsigned char)v };

	put(w, b, 4);
}

static void
put48(struct wbuf *w, unsigned long long v)
{
	put16(w, (unsigned)(v >> 32) & 0xffff);
	put32(w, (unsigned long)(v & 0xffffffffUL));
}

/* A presentation name ("a.b.c", no escapes) in wire form; lower when canonical. */
static void
put_name(struct wbuf *w, const char *name, int lower)
{
	const char *at = name, *dot;
	unsigned char label[64];
	size_t n, i;

	while (*at != '\0') {
		dot = strchr(at, '.');
		n = dot != NULL ? (size_t)(dot - at) : strlen(at);
		if (n == 0 || n > 63) {
			w->ok = 0;
			return;
		}
		label[0] = (unsigned char)n;
		for (i = 0; i < n; i++)
			label[i + 1] = (unsigned char)(lower ? tolower((unsigned char)at[i]) : at[i]);
		put(w, label, n + 1);
		at += n + (dot != NULL);
	}
	put(w, "", 1);
}

static void
put_txt_rdata(struct wbuf *w, const char *txt)
{
	size_t len = strlen(txt), at, n;
	unsigned char b;

	for (at = 0; at < len || at == 0; at += n) {
		n = len - at < 255 ? len - at : 255;
		b = (unsigned char)n;
		put(w, &b, 1);
		put(w, txt + at, n);
		if (len == 0)
			break;
	}
}

/* The TSIG variables of RFC 8945 section 4.3.3, after the message bytes. */
static void
put_tsig_variables(struct wbuf *w, const struct tsig_key *key, unsigned long long signed_at,
    unsigned fudge, unsigned error, const unsigned char *other, size_t other_len)
{
	put_name(w, key->name, 1);
	put16(w, CLASS_ANY);
	put32(w, 0);
	put_name(w, key->algorithm, 1);
	put48(w, signed_at);
	put16(w, fudge);
	put16(w, error);
	put16(w, (unsigned)other_len);
	if (other_len > 0)
		put(w, other, other_len);
}

static int
hmac(const struct tsig_key *key, const unsigned char *data, size_t len, unsigned char *mac,
    size_t *mac_len)
{
	unsigned int n = 0;

	if (HMAC(tsig_md(key->algorithm), key->secret, (int)key->secret_len, data, len, mac,
	    &n) == NULL)
		return -1;
	*mac_len = n;
	return 0;
}

static void
put_update(struct wbuf *w, uint16_t id, const char *zone, const char *name, unsigned ttl,
    const char *txt)
{
	size_t rdlen_at;

	put16(w, id);
	put16(w, OPCODE_UPDATE << 11);
	put16(w, 1);		/* ZOCOUNT */
	put16(w, 0);		/* PRCOUNT */
	put16(w, 2);		/* UPCOUNT */
	put16(w, 0);		/* ADCOUNT, 1 once the TSIG is added */
	put_name(w, zone, 0);
	put16(w, TYPE_SOA);
	put16(w, CLASS_IN);
	put_name(w, name, 0);	/* delete the TXT RRset */
	put16(w, TYPE_TXT);
	put16(w, CLASS_ANY);
	put32(w, 0);
	put16(w, 0);
	put_name(w, name, 0);	/* add ours */
	put16(w, TYPE_TXT);
	put16(w, CLASS_IN);
	put32(w, ttl);
	rdlen_at = w->len;
	put16(w, 0);
	put_txt_rdata(w, txt);
	if (w->ok) {
		size_t rdlen = w->len - rdlen_at - 2;

		w->p[rdlen_at] = (unsigned char)(rdlen >> 8);
		w->p[rdlen_at + 1] = (unsigned char)rdlen;
	}
}

size_t
dnsupdate_build(unsigned char *buf, size_t size, uint16_t id, time_t now,
    const struct tsig_key *key, const char *zone, const char *name, unsigned ttl,
    const char *txt, unsigned char *mac, size_t *mac_len)
{
	unsigned char signing[MSG_MAX];
	struct wbuf w = { buf, size, 0, 1 }, s = { signing, sizeof(signing), 0, 1 };
	size_t body, rdlen_at;

	put_update(&w, id, zone, name, ttl, txt);
	if (!w.ok)
		return 0;
	body = w.len;
	put(&s, buf, body);
	put_tsig_variables(&s, key, (unsigned long long)now, TSIG_FUDGE, 0, NULL, 0);
	if (!s.ok || hmac(key, signing, s.len, mac, mac_len) < 0)
		return 0;
	put_name(&w, key->name, 1);
	put16(&w, TYPE_TSIG);
	put16(&w, CLASS_ANY);
	put32(&w, 0);
	rdlen_at = w.len;
	put16(&w, 0);
	put_name(&w, key->algorithm, 1);
	put48(&w, (unsigned long long)now);
	put16(&w, TSIG_FUDGE);
	put16(&w, (unsigned)*mac_len);
	put(&w, mac, *mac_len);
	put16(&w, id);
	put16(&w, 0);		/* error */
	put16(&w, 0);		/* other len */
	if (!w.ok)
		return 0;
	w.p[rdlen_at] = (unsigned char)((w.len - rdlen_at - 2) >> 8);
	w.p[rdlen_at + 1] = (unsigned char)(w.len - rdlen_at - 2);
	w.p[11] = 1;		/* ARCOUNT */
	return w.len;
}

/* ---- reading answers --------------------------------------------------------------- */

/* Fills err and returns -1: every check of an answer that fails says which one. */
__attribute__((format(printf, 3, 4)))
static int
refuse(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static unsigned
get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* Skips the name at *at; -1 if it runs off the message. */
static int
skip_name(const unsigned char *msg, size_t len, size_t *at)
{
	size_t p = *at;

	for (;;) {
		if (p >= len)
			return -1;
		if ((msg[p] & 0xc0) == 0xc0) {
			if (p + 2 > len)
				return -1;
			*at = p + 2;
			return 0;
		}
		if (msg[p] & 0xc0)
			return -1;
		if (msg[p] == 0) {
			*at = p + 1;
			return 0;
		}
		p += (size_t)msg[p] + 1;
	}
}

/* Reads the name at at into lower-case presentation form, following compression
 * pointers backwards only; -1 if malformed. */
static int
read_name(const unsigned char *msg, size_t len, size_t at, char *out, size_t size)
{
	size_t o = 0, n, i;
	int jumps = 0;

	for (;;) {
		if (at >= len)
			return -1;
		if ((msg[at] & 0xc0) == 0xc0) {
			size_t to;

			if (at + 2 > len || ++jumps > 64)
				return -1;
			to = (size_t)(msg[at] & 0x3f) << 8 | msg[at + 1];
			if (to >= at)
				return -1;
			at = to;
			continue;
		}
		if ((n = msg[at]) == 0)
			break;
		if ((msg[at] & 0xc0) || at + 1 + n > len || o + n + 2 > size)
			return -1;
		if (o > 0)
			out[o++] = '.';
		for (i = 0; i < n; i++)
			out[o++] = (char)tolower(msg[at + 1 + i]);
		at += n + 1;
	}
	out[o] = '\0';
	return 0;
}

/* Skips one resource record at *at, returning the offset of its type in *type_at. */
static int
skip_rr(const unsigned char *msg, size_t len, size_t *at, size_t *type_at)
{
	if (skip_name(msg, len, at) < 0 || *at + 10 > len)
		return -1;
	*type_at = *at;
	if (*at + 10 + get16(msg + *at + 8) > len)
		return -1;
	*at += 10 + get16(msg + *at + 8);
	return 0;
}

/* The TSIG record of an answer (RFC 8945 section 4.2): offsets into the message and the
 * fields read from it. */
struct tsig_rr {
	size_t	start;		/* offset of the TSIG record's owner name */
	size_t	rdata, rdlen;
	char	name[DNSUPDATE_NAME_MAX + 1], algorithm[DNSUPDATE_NAME_MAX + 1];
	unsigned long long signed_at;
	unsigned fudge, original_id, error;
	size_t	mac, mac_len, other, other_len;
};

/* Finds the TSIG record, which must be the last additional record: 1 when found, 0
 * when there is none, -1 when the message is malformed. */
static int
find_tsig(const unsigned char *msg, size_t len, struct tsig_rr *t)
{
	size_t zo = get16(msg + 4), rrs = (size_t)get16(msg + 6) + get16(msg + 8);
	size_t ar = get16(msg + 10), at = 12, type_at, i;

	for (i = 0; i < zo; i++)
		if (skip_name(msg, len, &at) < 0 || (at += 4) > len)
			return -1;
	if (ar == 0)
		return 0;
	for (i = 0; i < rrs + ar - 1; i++)
		if (skip_rr(msg, len, &at, &type_at) < 0)
			return -1;
	t->start = at;
	if (skip_rr(msg, len, &at, &type_at) < 0)
		return -1;
	if (get16(msg + type_at) != TYPE_TSIG)
		return 0;
	t->rdata = type_at + 10;
	t->rdlen = get16(msg + type_at + 8);
	return 1;
}

/* Reads the owner name, class, TTL and RDATA fields of the TSIG record that find_tsig()
 * found (skip_rr() saw its RDATA inside the message); -1 when a field runs past the RDATA
 * or the class and TTL are not ANY and 0. */
static int
parse_tsig(const unsigned char *msg, size_t len, struct tsig_rr *t)
{
	size_t at = t->rdata, end = t->rdata + t->rdlen;

	if (read_name(msg, len, t->start, t->name, sizeof(t->name)) < 0
	    || get16(msg + t->rdata - 8) != CLASS_ANY || get16(msg + t->rdata - 6) != 0
	    || get16(msg + t->rdata - 4) != 0)
		return -1;
	if (read_name(msg, len, at, t->algorithm, sizeof(t->algorithm)) < 0
	    || skip_name(msg, len, &at) < 0 || at > end || end - at < 10)
		return -1;
	t->signed_at = (unsigned long long)get16(msg + at) << 32
	    | (unsigned long long)get16(msg + at + 2) << 16 | get16(msg + at + 4);
	t->fudge = get16(msg + at + 6);
	t->mac_len = get16(msg + at + 8);
	t->mac = at + 10;
	if (end - t->mac < t->mac_len || end - t->mac - t->mac_len < 6)
		return -1;
	at = t->mac + t->mac_len;
	t->original_id = get16(msg + at);
	t->error = get16(msg + at + 2);
	t->other_len = get16(msg + at + 4);
	t->other = at + 6;
	return end - t->other == t->other_len ? 0 : -1;
}

/* Believes a signed answer only when its TSIG names our key and algorithm and our
 * message, carries a MAC of the digest's full length (we allow no truncation, RFC 8945
 * section 5.2.2.1) that verifies, and was signed within its fudge of our clock (section
 * 5.2.3).  The error names the first check that failed. */
static int
verify_tsig(const unsigned char *msg, const struct tsig_rr *t, uint16_t id,
    const struct tsig_key *key, const unsigned char *request_mac, size_t request_mac_len,
    struct dnsupdate_answer *out, char *err, size_t errlen)
{
	unsigned char signing[MSG_MAX + 512], mac[MAC_MAX];
	struct wbuf s = { signing, sizeof(signing), 0, 1 };
	size_t mac_len, want = (size_t)EVP_MD_get_size(tsig_md(key->algorithm));
	long long skew = (long long)time(NULL) - (long long)t->signed_at;

	if (strcasecmp(t->name, key->name) != 0)
		return refuse(err, errlen, "the answer is signed with another key name (%s, "
		    "not %s)", t->name, key->name);
	if (strcasecmp(t->algorithm, key->algorithm) != 0)
		return refuse(err, errlen, "the answer is signed with another algorithm (%s, "
		    "not %s)", t->algorithm, key->algorithm);
	if (t->original_id != id)
		return refuse(err, errlen, "the answer's TSIG is for message %u, not ours (%u)",
		    t->original_id, id);
	if (t->mac_len != want)
		return refuse(err, errlen, "the answer's TSIG MAC is %zu bytes, not the %zu of "
		    "%s", t->mac_len, want, key->algorithm);
	put16(&s, (unsigned)request_mac_len);
	put(&s, request_mac, request_mac_len);
	put(&s, msg, t->start);
	if (s.ok) {	/* ARCOUNT without the TSIG; find_tsig() saw it at least 1 */
		unsigned ar = get16(msg + 10) - 1;

		signing[2 + request_mac_len + 10] = (unsigned char)(ar >> 8);
		signing[2 + request_mac_len + 11] = (unsigned char)ar;
	}
	put_tsig_variables(&s, key, t->signed_at, t->fudge, t->error, msg + t->other,
	    t->other_len);
	if (!s.ok || hmac(key, signing, s.len, mac, &mac_len) < 0 || mac_len != want
	    || CRYPTO_memcmp(mac, msg + t->mac, mac_len) != 0)
		return refuse(err, errlen, "the answer's TSIG MAC does not verify (another "
		    "secret, or the answer was changed on the way)");
	if (skew > (long long)t->fudge || -skew > (long long)t->fudge)
		return refuse(err, errlen, "the answer's TSIG time is outside the fudge (%lld s "
		    "from our clock, fudge %u s)", skew, t->fudge);
	out->signed_ok = 1;
	return 0;
}

int
dnsupdate_parse_answer(const unsigned char *msg, size_t len, uint16_t id,
    const struct tsig_key *key, const unsigned char *request_mac, size_t mac_len,
    struct dnsupdate_answer *out, char *err, size_t errlen)
{
	struct tsig_rr t;
	int found;

	memset(out, 0, sizeof(*out));
	if (len < 12 || get16(msg) != id || !(msg[2] & 0x80)
	    || ((msg[2] >> 3) & 0x0f) != OPCODE_UPDATE)
		return refuse(err, errlen, "the answer is not a reply to our update");
	out->rcode = msg[3] & 0x0f;
	if ((found = find_tsig(msg, len, &t)) < 0)
		return refuse(err, errlen, "the answer is malformed");
	if (found && parse_tsig(msg, len, &t) < 0)
		return refuse(err, errlen, "the answer's TSIG record is malformed");
	if (found) {
		out->tsig_error = (int)t.error;
		if (t.mac_len > 0)
			return verify_tsig(msg, &t, id, key, request_mac, mac_len, out, err,
			    errlen);
	}
	/* Without a MAC anyone on the path could have sent it, and a server that cannot
	 * verify our request answers BADSIG or BADKEY so (RFC 8945 section 5.3.2): believe
	 * it as a refusal, never as success. */
	if (out->rcode != 0)
		return 0;
	if (!found)
		return refuse(err, errlen, "the answer is not signed (no TSIG record)");
	if (t.error != 0)
		return refuse(err, errlen, "the answer's TSIG MAC is empty (the server could not "
		    "verify our request: %s)", dnsupdate_tsig_error_name((int)t.error));
	return refuse(err, errlen, "the answer's TSIG MAC is empty (the answer is not signed)");
}

/* Names a TSIG error (RFC 8945 section 3) with what it usually means. */
const char *
dnsupdate_tsig_error_name(int error)
{
	switch (error) {
	case 16:
		return "BADSIG (wrong secret)";
	case 17:
		return "BADKEY (the server does not know the key name or algorithm)";
	case 18:
		return "BADTIME (clocks differ by more than 300 s)";
	case 22:
		return "BADTRUNC";
	}
	return "unknown TSIG error";
}

const char *
dnsupdate_rcode_name(int rcode, char *buf, size_t size)
{
	static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
	    "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE" };

	if (rcode >= 0 && (size_t)rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	snprintf(buf, size, "RCODE%d", rcode);
	return buf;
}

/* ---- TCP --------------------------------------------------------------------------- */

static int
connect_server(const struct nameserver *server, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	struct timeval tv = { IO_TIMEOUT_S, 0 };
	socklen_t sslen;
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, server->address, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)server->port);
		sslen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, server->address, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)server->port);
		sslen = sizeof(*sin6);
	} else {
		snprintf(err, errlen, "\"%s\" is not an IP address", server->address);
		return -1;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0
	    || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0
	    || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0
	    || connect(fd, (struct sockaddr *)&ss, sslen) < 0) {
		snprintf(err, errlen, "cannot connect to %s port %u: %s", server->address,
		    server->port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int
io_all(int fd, unsigned char *p, size_t len, int writing)
{
	ssize_t n;

	while (len > 0) {
		n = writing ? write(fd, p, len) : read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ECONNRESET;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Sends msg with its 2-byte length and reads one answer into ans[MSG_MAX]. */
static int
exchange(int fd, unsigned char *msg, size_t len, unsigned char *ans, size_t *anslen,
    char *err, size_t errlen)
{
	unsigned char hdr[2] = { (unsigned char)(len >> 8), (unsigned char)len };

	if (io_all(fd, hdr, 2, 1) < 0 || io_all(fd, msg, len, 1) < 0) {
		snprintf(err, errlen, "cannot send the update: %s", strerror(errno));
		return -1;
	}
	if (io_all(fd, hdr, 2, 0) < 0 || (*anslen = get16(hdr)) == 0
	    || io_all(fd, ans, *anslen, 0) < 0) {
		snprintf(err, errlen, "no answer to the update: %s", errno == EAGAIN
		    ? "timed out" : strerror(errno));
		return -1;
	}
	return 0;
}

int
dnsupdate_txt(const struct nameserver *server, const struct tsig_key *key, const char *zone,
    const char *name, unsigned ttl, const char *txt, struct dnsupdate_answer *out,
    char *err, size_t errlen)
{
	static unsigned char msg[MSG_MAX], ans[MSG_MAX];
	unsigned char mac[MAC_MAX], idb[2];
	size_t len, anslen, mac_len;
	uint16_t id;
	int fd, rc;

	if (RAND_bytes(idb, sizeof(idb)) != 1) {
		snprintf(err, errlen, "no random bytes for the message id");
		return -1;
	}
	id = (uint16_t)(idb[0] << 8 | idb[1]);
	if ((len = dnsupdate_build(msg, sizeof(msg), id, time(NULL), key, zone, name, ttl,
	    txt, mac, &mac_len)) == 0) {
		snprintf(err, errlen, "cannot build the update message for %s", name);
		return -1;
	}
	if ((fd = connect_server(server, err, errlen)) < 0)
		return -1;
	rc = exchange(fd, msg, len, ans, &anslen, err, errlen);
	close(fd);
	if (rc < 0)
		return -1;
	return dnsupdate_parse_answer(ans, anslen, id, key, mac, mac_len, out, err, errlen);
}
