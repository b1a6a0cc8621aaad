/*
 * NAME
 *	fuzz-parsers - every parser that reads bytes from the network or a file, and the DKIM
 *	verifier, fed mutated input under AddressSanitizer and UBSan
 * SYNOPSIS
 *	fuzz-parsers [ITERATIONS]		(make check: a fixed seed, TAP output)
 *	fuzz-parsers --write-seeds DIR		(every target's own seeds, DIR/TARGET/seed-NN)
 *	clang -fsanitize=fuzzer,address -DSIGNET_LIBFUZZER -DFUZZ_TARGET=n ...	(libFuzzer)
 * DESCRIPTION
 *	Targets: the From parser, Authentication-Results recognition and writing, DKIM
 *	header and body canonicalization, InternalHosts lists, DMARC records, SPF records
 *	(check, selection, rewrite), the DKIM key record comparison of signet-keys, the
 *	configuration file parser, whole messages through the DKIM verifier
 *	(fuzz-verify.c) and through a session (fuzz-session.c), resolver answers
 *	(fuzz-dns.c), signet-keys' OpenDKIM and TSIG parsers (fuzz-keys.c), and the text
 *	of a DMARC report row and policy (reportrow.c: what decodes encodes back the
 *	same), ARC chains through the validator (fuzz-arc.c), and a trusted ARC sealer's
 *	ARC-Authentication-Results (arctrust.c: a vouch only where the text names the
 *	Author Domain).  Seeds are each target's own plus the files of tests/fuzz/corpus/TARGET ($top_srcdir),
 *	every one run unmutated first: regressions live there.  Each starts from valid seeds and mutates them with a fixed-seed
 *	generator (bit flips, byte changes towards the characters parsers care about,
 *	insertions, deletions, truncation, splicing), so a run is reproducible.
 *
 *	A crash or sanitizer report fails the run (the process dies).  Beyond "no crash",
 *	each target checks what must hold for any input: our Authentication-Results never
 *	carries a CR or a line that is not a fold; a From domain is lower-case ASCII; the
 *	body canonicalization does not depend on how the body is cut into chunks; a DKIM
 *	pass names the domain whose key verified it, and nothing else (issue 13: one key is
 *	served, attacker.example's, so every pass must be for attacker.example), with one
 *	result per signature field up to MaximumSignatures and one summary result after.
 *	An input that breaks an invariant is printed, escaped as a C string (the first
 *	three of each target).
 *
 *	The verify seeds are messages signed at start-up with that key, among them the two
 *	DMARC bypasses of issue 13; before the fuzzing, each must give its expected results
 *	(so the harness is shown to reach a pass).  Three mutations in four change only the
 *	lines above a seed's genuine signature, so that it still passes while the forged
 *	fields around it vary; about 30 % of the mutated messages keep a pass.
 *
 *	Built with -DSIGNET_LIBFUZZER the same targets serve as libFuzzer entry points
 *	(FUZZ_TARGET picks one) for longer, coverage-guided runs by developers.
 */
#include <ctype.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "conf/addrlist.h"
#include "conf/conf.h"
#include "keys/dkimrecord.h"
#include "milter/arctrust.h"
#include "milter/authres.h"
#include "milter/canon.h"
#include "lib/dmarcrecord.h"
#include "lib/reportrow.h"
#include "milter/milterwire.h"
#include "milter/msgheaders.h"
#include "milter/spfrecord.h"
#include "tests/fuzz/fuzz-arc.h"
#include "tests/fuzz/fuzz-dns.h"
#include "tests/fuzz/fuzz-keys.h"
#include "tests/fuzz/fuzz-session.h"
#include "tests/fuzz/fuzz-verify.h"
#include "tests/unit/tap.h"

#define FUZZ_MAX_INPUT 4096
#define VERIFY_SHARE 150	/* percent of ITERATIONS: see README.md for its cost */
#define SESSION_SHARE 5
#define DNS_SHARE 3
#define OPENDKIM_SHARE 10
#define ARC_SHARE 20

/* ---- targets: each takes bytes, returns 1 when its invariants hold -------------------- */

/* A NUL-terminated copy, for the parsers that take C strings (as the milter gets them). */
static char *as_string(const uint8_t *data, size_t len)
{
	char   *s = malloc(len + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

static int target_from(const uint8_t *data, size_t len)
{
	char   *value = as_string(data, len), domain[256];
	size_t	mailboxes;
	int	ok = 1;

	if (from_value_parse(value, domain, sizeof(domain), &mailboxes) == FROM_OK)
		for (const char *p = domain; *p; p++)
			if ((unsigned char)*p >= 0x80 || (*p >= 'A' && *p <= 'Z'))
				ok = 0;
	free(value);
	return ok;
}

static int folds_only(const char *v)
{
	for (const char *p = v; *p; p++) {
		if (*p == '\r' || ((unsigned char)*p < 32 && *p != '\n' && *p != '\t') ||
		    (unsigned char)*p >= 127)
			return 0;
		if (*p == '\n' && p[1] != '\t')
			return 0;
	}
	return 1;
}

static int target_authres(const uint8_t *data, size_t len)
{
	char   *value = as_string(data, len), *out;
	size_t	half = len / 2;
	struct authres ar;
	int	ok;

	(void)authres_is_ours(value, "mx.example.com");
	(void)authres_is_ours(value, value + half);
	authres_begin(&ar, value + half);
	authres_add(&ar, "dkim", "pass", value, "header.d", value + half, "header.s", value,
	    NULL);
	authres_add(&ar, "spf", "none", NULL, "smtp.mailfrom", value, NULL);
	out = authres_finish(&ar);
	ok = out != NULL && folds_only(out);
	free(out);
	free(value);
	return ok;
}

/* ARC-Authentication-Results as a trusted sealer's (arctrust.c): a vouch needs a pass
 * that names the Author Domain, so the text must hold it; the report comment stays
 * printable, without a blank inside a token.  The text names example.org as A-R values
 * are read: a quoted-pair ("\l") stands for its second character, so
 * "examp\le.org" names it too. */
static int names_author(const char *text)
{
	static const char want[] = "example.org";

	for (; *text != '\0'; text++) {
		const char *p = text;
		size_t	n = 0;

		while (n < sizeof(want) - 1 && *p != '\0') {
			if (*p == '\\' && p[1] != '\0')
				p++;
			if (tolower((unsigned char)*p) != want[n])
				break;
			p++;
			n++;
		}
		if (n == sizeof(want) - 1)
			return 1;
	}
	return 0;
}

static int target_arcaar(const uint8_t *data, size_t len)
{
	static char *trusted_names[] = {"sealer.example"};
	static const struct name_list trusted = {trusted_names, 1};
	char   *value = as_string(data, len), why[160], result[32], comment[160];
	struct arctrust_set sets[2] = {
		{1, "other.example", "s", value},
		{2, "Sealer.Example", "s2", value},
	};
	unsigned vouched = arctrust_vouch(&trusted, sets, 2, "example.org", why, sizeof(why));
	int	ok = vouched == 0 || (vouched == 2 && names_author(value));

	arctrust_result_of(value, "arc", result, sizeof(result));
	arctrust_report_comment(sets, 2, comment, sizeof(comment));
	for (const char *p = comment; *p != '\0'; p++)
		ok = ok && (unsigned char)*p >= ' ' && (unsigned char)*p < 0x7f;
	free(value);
	return ok;
}

static int hash_in_chunks(enum canon_kind kind, const uint8_t *data, size_t len, size_t chunk,
    unsigned char out[CANON_HASH_LEN])
{
	struct body_canon *c = body_canon_new(kind);
	int	ok = c != NULL;

	for (size_t off = 0; ok && off < len; off += chunk)
		ok = body_canon_update(c, data + off, len - off < chunk ? len - off : chunk);
	ok = ok && body_canon_final(c, out);
	body_canon_free(c);
	return ok;
}

static int target_canon(const uint8_t *data, size_t len)
{
	unsigned char whole[CANON_HASH_LEN], pieces[CANON_HASH_LEN];
	enum canon_kind kinds[2] = {CANON_SIMPLE, CANON_RELAXED};
	char   *value = as_string(data, len);
	int	ok = 1;

	for (int k = 0; k < 2; k++) {
		struct buffer out = {0};

		ok = ok && hash_in_chunks(kinds[k], data, len, len ? len : 1, whole) &&
		    hash_in_chunks(kinds[k], data, len, 1 + len % 7, pieces) &&
		    memcmp(whole, pieces, sizeof(whole)) == 0;
		ok = ok && header_canon(&out, kinds[k], "Subject", value, 1);
		buffer_free(&out);
	}
	free(value);
	return ok;
}

static int target_addrlist(const uint8_t *data, size_t len)
{
	char   *text = as_string(data, len), err[256];
	struct addrlist *list = addrlist_parse(text, err, sizeof(err));

	if (list != NULL) {
		(void)addrlist_contains_text(list, "192.0.2.1");
		(void)addrlist_contains_text(list, "2001:db8::1");
	}
	addrlist_free(list);
	free(text);
	return 1;
}

static int target_dmarc(const uint8_t *data, size_t len)
{
	struct dmarc_record record;
	char	err[256];

	(void)dmarc_record_parse((const char *)data, len, &record, err, sizeof(err));
	return 1;
}

static int target_spf(const uint8_t *data, size_t len)
{
	char	why[256], *rewritten;
	const char *txts[2] = {(const char *)data, (const char *)data};
	size_t	lens[2] = {len, len / 2}, index;
	char   *domain = as_string(data, len);

	(void)spfrecord_is_spf((const char *)data, len);
	(void)spfrecord_select(txts, lens, 2, &index);
	if (spfrecord_check((const char *)data, len, why, sizeof(why)) &&
	    (rewritten = spfrecord_rewrite((const char *)data, len, len % 2)) != NULL)
		free(rewritten);
	(void)spfrecord_domain_ok(domain);
	free(domain);
	return 1;
}

static int target_dkimrecord(const uint8_t *data, size_t len)
{
	char   *records[1] = {(char *)data};
	size_t	lengths[1] = {len};
	char	detail[256];

	(void)dkimrecord_compare(records, lengths, 1,
	    "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", detail,
	    sizeof(detail));
	return 1;
}

static void ignore_report(void *context, const char *message)
{
	(void)context;
	(void)message;
}

static int target_conf(const uint8_t *data, size_t len)
{
	char	path[] = "/tmp/signet-fuzz-conf-XXXXXX";
	int	fd = mkstemp(path);
	struct conf *conf;

	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
	conf = conf_load(path, ignore_report, NULL);
	conf_free(conf);
	unlink(path);
	return 1;
}

/* Any text: decoded from an exact-size copy (a read past len is caught); what decodes
 * encodes back to the same text, and decodes again to the same struct. */
static int target_reportrow(const uint8_t *data, size_t len)
{
	static struct report_row row, again;
	static struct report_policy policy, pagain;
	static char text[REPORT_ROW_TEXT_MAX];
	uint8_t *copy = malloc(len ? len : 1);
	size_t	n;
	int	ok = 1;

	if (copy == NULL)
		abort();
	memcpy(copy, data, len);
	if (report_row_decode((const char *)copy, len, &row)) {
		n = report_row_encode(&row, text, sizeof(text));
		ok = n == len && memcmp(text, data, len) == 0 &&
		    report_row_decode(text, n, &again) && memcmp(&row, &again, sizeof(row)) == 0;
	}
	if (report_policy_decode((const char *)copy, len, &policy)) {
		n = report_policy_encode(&policy, text, sizeof(text));
		ok = ok && n == len && memcmp(text, data, len) == 0 &&
		    report_policy_decode(text, n, &pagain) &&
		    memcmp(&policy, &pagain, sizeof(policy)) == 0;
	}
	free(copy);
	return ok;
}

/* Inside [base, base + len), and its NUL too. */
static int within(const char *s, const unsigned char *base, size_t len)
{
	const char *b = (const char *)base;

	return s >= b && s < b + len && memchr(s, '\0', (size_t)(b + len - s)) != NULL;
}

/* One frame's command decoded as engine.c decodes it; 0 when a decoder pointed outside. */
static int milterwire_frame_ok(const struct mw_frame *f)
{
	struct mw_optneg o;
	struct mw_connect c;
	char   *a, *b, *argv[8];
	size_t	count, len;
	int	stage;

	switch (f->cmd) {
	case MW_CMD_OPTNEG:
		return mw_decode_optneg(f, &o) != MW_OK || f->len >= 12;
	case MW_CMD_CONNECT:
		return mw_decode_connect(f, &c) != MW_OK || within(c.hostname, f->data, f->len);
	case MW_CMD_MACRO:
		return mw_decode_macros(f, &stage, &a, &len) != MW_OK ||
		    (stage >= 0 && stage < MW_STAGES && len + 1 == f->len);
	case MW_CMD_HELO:
	case MW_CMD_UNKNOWN:
		return mw_decode_string(f, &a) != MW_OK || within(a, f->data, f->len);
	case MW_CMD_HEADER:
		return mw_decode_header(f, &a, &b) != MW_OK ||
		    (within(a, f->data, f->len) && within(b, f->data, f->len));
	case MW_CMD_MAIL:
	case MW_CMD_RCPT:
		if (mw_decode_argv(f, argv, 8, &count) != MW_OK)
			return 1;
		for (size_t i = 0; i < count && i < 8; i++)
			if (!within(argv[i], f->data, f->len))
				return 0;
		return count > 0;
	}
	return 1;
}

/* A byte stream from an MTA: every frame split off and decoded; and the first string
 * encoded as each reply, which must split back into the same frame. */
static int target_milterwire(const uint8_t *data, size_t len)
{
	unsigned char *copy = malloc(len > 0 ? len : 1);
	struct buffer out = {0};
	struct mw_frame f;
	size_t	at = 0, used;
	int	ok = 1, rc;
	char   *text;

	if (copy == NULL)
		return 1;
	memcpy(copy, data, len);
	while (ok && (rc = mw_frame_next(copy + at, len - at, &f, &used)) == MW_OK) {
		ok = used >= 5 && used <= len - at && f.len == used - 5 && milterwire_frame_ok(&f);
		at += used;
	}
	text = as_string(data, len);
	if (ok && text != NULL && mw_put_header(&out, MW_REPLY_INSHEADER, 7, text, text) == MW_OK) {
		ok = mw_frame_next((unsigned char *)out.data, out.len, &f, &used) == MW_OK &&
		    used == out.len && f.cmd == MW_REPLY_INSHEADER && f.len == 4 + 2 * (strlen(text) + 1);
	}
	free(text);
	buffer_free(&out);
	free(copy);
	return ok;
}

struct target {
	const char *name;
	const char *corpus;		/* tests/fuzz/corpus/CORPUS: more seeds, regressions */
	int	(*run)(const uint8_t *data, size_t len);
	const char *const *seeds;
	unsigned iterations_share;	/* of ITERATIONS, in percent (file-based ones are slow) */
	int	spare_signed;		/* mutate mostly above the seed's signature (verify) */
};

static const char *const from_seeds[] = {
	" Alice <alice@example.com>", " \"Doe, J (x)\" <j@Example.ORG> (c@d)",
	" a@b.example, c@b.example", " group: a@x.example, b@x.example;",
	" alice@b\xc3\xbc" "cher.example", " <@route:a@b.c>", NULL};
static const char *const authres_seeds[] = {
	"mx.example.com; dkim=pass header.d=x", "(c (n)) \"mx.example.com\" 1; none",
	"\r\n\tmx.example.com;", "a\"b\\c(d)e\r\nf", NULL};
static const char *const canon_seeds[] = {
	" C \r\nD \t E\r\n\r\n\r\n", "a\rb\nc\r\n\r", "\xff\xfe\x00x\r\n", "", NULL};
static const char *const addrlist_seeds[] = {
	"127.0.0.0/8, ::1", "10.0.0.0/8 192.168.1.0/25,2001:db8::/32", "::ffff:1.2.3.4/128",
	NULL};
static const char *const dmarc_seeds[] = {
	"v=DMARC1; p=reject; sp=none; np=quarantine; psd=n; t=y; adkim=s; aspf=r",
	"v=DMARC1;p=none;rua=mailto:a@b.example,mailto:c@d.example!10m;fo=1:d:s", NULL};
static const char *const spf_seeds[] = {
	"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a:%{d}/24//64 mx -all",
	"v=spf1 include:_spf.%{o} exists:%{ir}.%{l1r+-}._spf.%{d} redirect=x.example",
	"v=spf1 ptr:%{p} exp=%{h}.exp ?all", NULL};
static const char *const dkimrecord_seeds[] = {
	"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
	"v=DKIM1; k=rsa; p=\"MIIB\" t=y", NULL};
static const char *const conf_seeds[] = {
	"Socket inet:8895@127.0.0.1\nMode sv\nInternalHosts 10.0.0.0/8\nRotateInterval 2w\n",
	"# c\nSignHeaders From,To\nNameservers 127.0.0.1@53, ::1\nSocketMode 0640\r\n", NULL};
static const char *const reportrow_seeds[] = {
	"1\t192.0.2.1\tnone\tpass\tfail\t1\tlocal_policy\ttrusted%20forwarder%25\t"
	"example.com\t1\tbounce.example.com\texample.net\t2\texample.com\ts1\tpass\t"
	"esp.example\tk%09%0A%C3%A9\tfail\tbounce.example.com\tsoftfail",
	"1\t\t\t\t\t0\t\t0\t\t\t0\t\t",
	"1\texample.com\ttreewalk\treject\t\tquarantine\ts\tr\tn\t1:d\t"
	"mailto:dmarc@example.com,mailto:x@y.example!10m\t", NULL};
static const char *const arcaar_seeds[] = {
	" lists.example; arc=pass; dmarc=pass header.from=example.org",
	" fw (c (n)); dkim=pass header.d=\"example.org\" header.i=@example.org; spf=pass "
	"smtp.mailfrom=\"a b\"@example.org; smtp.remote-ip=192.0.2.1",
	" x 1; none", " x; dkim/1=pass (x header.b=ab+/=", NULL};
/* Signed at start-up (fuzz-verify.c); filled in by main(). */
static const char *verify_seeds[16];

/* The seeds of the targets whose inputs are binary come from their corpus only. */
static const char *const no_seeds[] = {NULL};

/* The order is the libFuzzer target numbers' (FUZZ_TARGET; Makefile.am's FUZZ_TARGETS). */
static const struct target targets[] = {
	{"From parser", "from", target_from, from_seeds, 100, 0},
	{"Authentication-Results", "authres", target_authres, authres_seeds, 100, 0},
	{"canonicalization", "canon", target_canon, canon_seeds, 50, 0},
	{"InternalHosts list", "addrlist", target_addrlist, addrlist_seeds, 100, 0},
	{"DMARC record", "dmarc", target_dmarc, dmarc_seeds, 100, 0},
	{"SPF record", "spf", target_spf, spf_seeds, 100, 0},
	{"DKIM key record comparison", "dkimrecord", target_dkimrecord, dkimrecord_seeds, 100,
	    0},
	{"configuration file", "conf", target_conf, conf_seeds, 5, 0},
	{"verify: a pass only for the domain whose key verified it", "verify", fuzz_verify_run,
	    verify_seeds, VERIFY_SHARE, 1},
	{"session: whole messages, signed and checked", "session", fuzz_session_run, no_seeds,
	    SESSION_SHARE, 0},
	{"DNS answers: cache, TXT, SPF and DMARC lookups", "dns", fuzz_dns_run, no_seeds,
	    DNS_SHARE, 0},
	{"OpenDKIM tables and opendkim.conf", "opendkim", fuzz_opendkim_run, no_seeds,
	    OPENDKIM_SHARE, 0},
	{"TSIG key and DNS UPDATE answer", "tsig", fuzz_tsig_run, no_seeds, 100, 0},
	{"DMARC report row and policy text", "reportrow", target_reportrow, reportrow_seeds,
	    100, 0},
	{"ARC chains: structure, seals, message signatures", "arc", fuzz_arc_run,
	    fuzz_arc_seeds, ARC_SHARE, 0},
	{"ARC-Authentication-Results of a trusted sealer", "arcaar", target_arcaar,
	    arcaar_seeds, 100, 0},
	{"milter protocol frames from the MTA", "milterwire", target_milterwire, no_seeds, 100,
	    0},
};

#define TARGET_COUNT (sizeof(targets) / sizeof(targets[0]))

#ifdef SIGNET_LIBFUZZER
#ifndef FUZZ_TARGET
#define FUZZ_TARGET 0
#endif
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size <= FUZZ_MAX_INPUT && !targets[FUZZ_TARGET].run(data, size))
		abort();
	return 0;
}
#else

/* ---- the fixed-seed mutator ------------------------------------------------------------ */

static uint64_t rng_state = 0x5167e7c0ffee1234ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Bytes that parsers of mail, DNS records and configuration treat specially. */
static const char interesting[] = "\0\r\n\t \"\\()<>@,;:=/.%{}[]!+-_*?~'#\xff\x80\xc3";

/* Mutates buf (len bytes, never more than max); seeds (lens[i] bytes each, or strings
 * when lens is NULL) are spliced in. */
static size_t mutate(uint8_t *buf, size_t len, size_t max, const char *const *seeds,
    const size_t *lens, size_t nseeds)
{
	unsigned rounds = 1 + (unsigned)(rng() % 8);

	for (unsigned r = 0; r < rounds; r++) {
		size_t	pos = len ? (size_t)(rng() % (len + 1)) : 0;

		switch (rng() % 7) {
		case 0:		/* flip a bit */
			if (len)
				buf[pos % len] ^= (uint8_t)(1u << (rng() % 8));
			break;
		case 1:		/* a special byte in place */
			if (len)
				buf[pos % len] = (uint8_t)interesting[rng() % (sizeof(interesting) - 1)];
			break;
		case 2:		/* insert a special or random byte */
			if (len < max) {
				memmove(buf + pos + 1, buf + pos, len - pos);
				buf[pos] = rng() % 2 ? (uint8_t)interesting[rng() %
				    (sizeof(interesting) - 1)] : (uint8_t)rng();
				len++;
			}
			break;
		case 3:		/* delete a run */
			if (len) {
				size_t	n = 1 + (size_t)(rng() % 8);

				if (n > len - pos % len)
					n = len - pos % len;
				memmove(buf + pos % len, buf + pos % len + n, len - pos % len - n);
				len -= n;
			}
			break;
		case 4:		/* truncate */
			len = pos;
			break;
		case 5:		/* duplicate a run (long repeated structures) */
			if (len && len * 2 <= max) {
				static uint8_t run[FUZZ_MAX_INPUT];
				size_t	from = (size_t)(rng() % len);
				size_t	n = 1 + (size_t)(rng() % (len - from));

				memcpy(run, buf + from, n);
				memmove(buf + pos + n, buf + pos, len - pos);
				memcpy(buf + pos, run, n);
				len += n;
			}
			break;
		default: {	/* splice in another seed */
			size_t	pick = (size_t)(rng() % nseeds);
			const char *seed = seeds[pick];
			size_t	n = lens != NULL ? lens[pick] : strlen(seed);

			if (len + n <= max) {
				memmove(buf + pos + n, buf + pos, len - pos);
				memcpy(buf + pos, seed, n);
				len += n;
			}
		}
		}
	}
	return len;
}

/*
 * The verify target: three mutations in four change only the lines above the seed's
 * genuine signature field, which its signature does not cover, and leave them whole lines,
 * so that the signature still passes and what varies is the forged fields around it
 * (spliced from fuzz-verify.c's pieces); the fourth may change anything.
 */
static size_t mutate_message(uint8_t *buf, size_t len, size_t seed)
{
	static uint8_t tail[FUZZ_MAX_INPUT];
	size_t	nseeds, nsplices, head, tail_len;
	const struct fuzz_verify_seed *seeds = fuzz_verify_seeds(&nseeds);
	const char *const *splices = fuzz_verify_splices(&nsplices);

	head = seeds[seed % nseeds].signed_from;
	if (rng() % 4 == 0 || head > len || len + 2 > FUZZ_MAX_INPUT)
		return mutate(buf, len, FUZZ_MAX_INPUT, splices, NULL, nsplices);
	tail_len = len - head;
	memcpy(tail, buf + head, tail_len);
	head = mutate(buf, head, FUZZ_MAX_INPUT - tail_len - 2, splices, NULL, nsplices);
	if (head > 0 && buf[head - 1] != '\n') {	/* whole lines: the signature stays a field */
		buf[head++] = '\r';
		buf[head++] = '\n';
	}
	memcpy(buf + head, tail, tail_len);
	return head + tail_len;
}

/* An input that broke an invariant, as a C string, for a TAP comment. */
static void print_input(const uint8_t *data, size_t len)
{
	size_t	column = 0;

	printf("#   input (%zu bytes): \"", len);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = data[i];

		if (column > 90) {
			printf("\"\n#     \"");
			column = 0;
		}
		if (c == '\r' || c == '\n' || c == '\t')
			column += (size_t)printf("\\%c", c == '\r' ? 'r' : c == '\n' ? 'n' : 't');
		else if (c == '"' || c == '\\')
			column += (size_t)printf("\\%c", c);
		else if (c < 32 || c >= 127)
			column += (size_t)printf("\\x%02x\"\"", c);
		else
			column += (size_t)printf("%c", c);
	}
	printf("\"\n");
}

/* ---- seeds: the target's own, then its corpus files ------------------------------------ */

struct seedset {
	const char **data;
	size_t *len;
	size_t	count;
	size_t	owned_from;	/* data[i] from here on was read from a file: ours to free */
};

static void seed_add(struct seedset *set, const char *data, size_t len)
{
	set->data = realloc(set->data, (set->count + 1) * sizeof(*set->data));
	set->len = realloc(set->len, (set->count + 1) * sizeof(*set->len));
	if (set->data == NULL || set->len == NULL)
		abort();
	set->data[set->count] = data;
	set->len[set->count++] = len;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* DIR's files of at most FUZZ_MAX_INPUT bytes, in name order (kept for the whole run). */
static void seeds_from_dir(struct seedset *set, const char *dir)
{
	struct dirent **names;
	int	n = scandir(dir, &names, NULL, by_name);

	for (int i = 0; i < n; i++) {
		char	path[4096 + 256], *data = malloc(FUZZ_MAX_INPUT + 1);
		FILE   *f;
		size_t	len;

		if (data == NULL)
			abort();
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) <
		    sizeof(path) && names[i]->d_name[0] != '.' && (f = fopen(path, "rb")) != NULL) {
			len = fread(data, 1, FUZZ_MAX_INPUT + 1, f);
			fclose(f);
			if (len <= FUZZ_MAX_INPUT) {
				seed_add(set, data, len);
				data = NULL;
			}
		}
		free(data);
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

static struct seedset seeds_of(const struct target *target)
{
	const char *top = getenv("top_srcdir");
	struct seedset set = {0};
	char	dir[4096];

	for (size_t i = 0; target->seeds[i] != NULL; i++)
		seed_add(&set, target->seeds[i], strlen(target->seeds[i]));
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", top ? top : ".", target->corpus);
	set.owned_from = set.count;
	seeds_from_dir(&set, dir);
	return set;
}

static void seeds_free(struct seedset *set)
{
	for (size_t i = set->owned_from; i < set->count; i++)
		free((char *)set->data[i]);
	free(set->data);
	free(set->len);
}

/* Every target's own seeds as files, DIR/CORPUS/seed-NN: how tests/fuzz/corpus began. */
static int write_seeds(const char *dir)
{
	for (size_t t = 0; t < TARGET_COUNT; t++) {
		for (size_t i = 0; targets[t].seeds[i] != NULL; i++) {
			char	path[4096];
			FILE   *f;

			snprintf(path, sizeof(path), "%s/%s", dir, targets[t].corpus);
			(void)mkdir(path, 0777);
			snprintf(path, sizeof(path), "%s/%s/seed-%02zu", dir, targets[t].corpus, i);
			if ((f = fopen(path, "w")) == NULL || fputs(targets[t].seeds[i], f) == EOF ||
			    fclose(f) != 0) {
				perror(path);
				return 1;
			}
		}
	}
	return 0;
}

/* The verify seeds unmutated: what each must give proves the harness reaches a pass. */
static void check_verify_seeds(void)
{
	size_t	count;
	const struct fuzz_verify_seed *seeds = fuzz_verify_seeds(&count);

	for (size_t i = 0; i < count; i++) {
		char	got[1024];

		fuzz_verify_summary((const uint8_t *)seeds[i].message, strlen(seeds[i].message),
		    got, sizeof(got));
		TAP_STR_EQ(got, seeds[i].expect, "verify seed, %s: %s", seeds[i].name, got);
	}
}

int	main(int argc, char **argv)
{
	unsigned long iterations = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	uint8_t *buf = malloc(FUZZ_MAX_INPUT + 1);
	size_t	nverify;
	const struct fuzz_verify_seed *vseeds;

	if (buf == NULL || !fuzz_verify_init())
		return 1;
	vseeds = fuzz_verify_seeds(&nverify);
	for (size_t i = 0; i < nverify && i + 1 < sizeof(verify_seeds) / sizeof(verify_seeds[0]);
	    i++)
		verify_seeds[i] = vseeds[i].message;
	if (argc > 2 && strcmp(argv[1], "--write-seeds") == 0) {
		free(buf);
		return write_seeds(argv[2]);
	}
	check_verify_seeds();
	for (size_t t = 0; t < TARGET_COUNT; t++) {
		const struct target *target = &targets[t];
		struct seedset set = seeds_of(target);
		unsigned long runs = iterations * target->iterations_share / 100, bad = 0;

		if (!TAP_OK(set.count > 0, "%s: %zu seeds", target->name, set.count)) {
			seeds_free(&set);
			continue;
		}
		if (runs < set.count)
			runs = set.count;	/* every seed, unmutated, at least */
		for (unsigned long i = 0; i < runs; i++) {
			size_t	len = set.len[i % set.count];

			memcpy(buf, set.data[i % set.count], len);
			if (i >= set.count)
				len = target->spare_signed ? mutate_message(buf, len, i % set.count) :
				    mutate(buf, len, FUZZ_MAX_INPUT, set.data, set.len, set.count);
			if (!target->run(buf, len) && ++bad <= 3)
				print_input(buf, len);
		}
		TAP_OK(bad == 0, "%s: %lu inputs (the %zu seeds, then mutated), no crash, "
		    "invariants hold (%lu broke them)", target->name, runs, set.count, bad);
		seeds_free(&set);
		if (target->run == fuzz_verify_run)
			printf("# %lu of them had a passing signature\n", fuzz_verify_passes());
	}
	free(buf);
	return tap_done();
}
#endif
