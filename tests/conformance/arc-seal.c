/*
 * NAME
 *	arc-seal - add one ARC Set to a message with arcseal_make(), for the ARC tests
 * SYNOPSIS
 *	arc-seal -d DOMAIN -s SELECTOR -k KEY.pem -a AUTHSERV-ID -c none|pass|fail
 *	    [-r RESULTS] [-t TIME] [-h NAME:NAME...] [-o NAME:NAME...] [MESSAGE]
 *	arc-seal		(TAP: the driver's own reading of a message)
 * DESCRIPTION
 *	Reads a message (a file, or standard input), finds its ARC Sets by their i= and
 *	hands them to arcseal_make() in sealing order with the chain validation status -c
 *	(what the caller's validator said: the tests take it from dkimpy or the suite), the
 *	A-R payload -r (what follows the authserv-id), the time -t, the names to sign -h
 *	(and oversign -o) and the private key in KEY.pem (RSA or Ed25519; DOMAIN/SELECTOR
 *	are d= and s=).  The message's relaxed body hash is computed here, as the daemon
 *	does.  It prints the message with the new ARC-Seal, ARC-Message-Signature and
 *	ARC-Authentication-Results on top, in that order, with the message's line ends.
 *
 *	A chain whose sets cannot be put in order (an i= missing or repeated) is handed
 *	over as found, which arcseal_make() accepts with -c fail only.
 * DIAGNOSTICS
 *	Exit 0 with the sealed message; 3 when arcseal_make() refused to add a Set (its
 *	status and reason on standard error, nothing on standard output); 2 on bad
 *	arguments or input; 1 when the seal failed.
 * SEE ALSO
 *	milter/arcseal.h, arc-sign-suite.py, tests/conformance/arc-interop.py
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "lib/buffer.h"
#include "lib/taglist.h"
#include "milter/arcseal.h"
#include "milter/canon.h"
#include "tests/unit/tap.h"

#define MAX_SETS ARCSEAL_MAX_INSTANCE

struct message {
	struct buffer text;
	size_t	header_end;		/* offset of the body */
	int	crlf;			/* the first line ends with CRLF */
	struct msgheaders headers;
};

static int read_all(FILE *in, struct buffer *out)
{
	char	chunk[8192];
	size_t	n;

	while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
		if (!buffer_append(out, chunk, n))
			return 0;
	return !ferror(in) && buffer_append(out, "", 0) && out->data != NULL;
}

/* Splits the header into fields (value after the colon, folds joined by LF). */
static int parse_message(struct message *m)
{
	const char *p = m->text.data, *end = p + m->text.len;
	struct buffer name = {0}, value = {0};
	int	ok = 1, have = 0;

	m->crlf = memchr(p, '\n', m->text.len) != NULL && strstr(p, "\r\n") != NULL &&
	    strstr(p, "\r\n") < strchr(p, '\n') + 1;
	while (ok && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl : end;
		size_t	len = (size_t)(line_end - p);

		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len == 0 || (p[0] != ' ' && p[0] != '\t')) {
			if (have)
				ok = msgheaders_add(&m->headers, name.data, value.data) ==
				    MSGHEADERS_OK;
			have = 0;
			if (len == 0) {
				p = nl ? nl + 1 : end;
				break;
			}
			const char *colon = memchr(p, ':', len);
			if (colon == NULL) {
				ok = 0;
				break;
			}
			name.len = value.len = 0;
			ok = ok && buffer_append(&name, p, (size_t)(colon - p)) &&
			    buffer_append(&value, colon + 1, len - (size_t)(colon - p) - 1);
			have = 1;
		} else {
			ok = buffer_append(&value, "\n", 1) && buffer_append(&value, p, len);
		}
		p = nl ? nl + 1 : end;
	}
	if (ok && have)
		ok = msgheaders_add(&m->headers, name.data, value.data) == MSGHEADERS_OK;
	m->header_end = (size_t)(p - m->text.data);
	buffer_free(&name);
	buffer_free(&value);
	return ok;
}

/* The i= of an ARC field, or 0. */
static unsigned long instance_of(const char *name, const char *value)
{
	struct tag tags[TAGLIST_MAX];
	size_t	count = 0;
	char	err[128], number[16];

	if (strcasecmp(name, "ARC-Authentication-Results") == 0) {
		/* "i=N;" then the authserv-id: not a tag list. */
		while (*value == ' ' || *value == '\t' || *value == '\r' || *value == '\n')
			value++;
		if (value[0] != 'i' && value[0] != 'I')
			return 0;
		for (value++; *value == ' ' || *value == '\t'; value++)
			;
		return *value == '=' ? strtoul(value + 1, NULL, 10) : 0;
	}
	(void)taglist_parse(value, strlen(value), TAGLIST_SKIP_EMPTY, tags, TAGLIST_MAX, &count,
	    err, sizeof(err));
	const struct tag *i = taglist_find(tags, count, "i");
	if (i == NULL || i->value.len == 0 || i->value.len >= sizeof(number))
		return 0;
	memcpy(number, i->value.p, i->value.len);
	number[i->value.len] = '\0';
	return strtoul(number, NULL, 10);
}

static int arc_kind(const char *name)
{
	static const char *const kinds[3] = {
		"ARC-Authentication-Results", "ARC-Message-Signature", "ARC-Seal",
	};

	for (int k = 0; k < 3; k++)
		if (strcasecmp(name, kinds[k]) == 0)
			return k;
	return -1;
}

/* The ARC fields in sealing order; 1 when they form sets 1..N, else 0 with them in
 * message order (count holds how many).  *n is the highest instance. */
static int collect_chain(const struct msgheaders *h, struct arcseal_field *chain,
    size_t *count, size_t *n)
{
	const struct msgheader *slot[MAX_SETS * 3] = {0};
	size_t	found = 0, highest = 0;
	int	ordered = 1;

	for (size_t i = 0; i < h->count; i++) {
		int	kind = arc_kind(h->fields[i].name);
		if (kind < 0)
			continue;
		unsigned long inst = instance_of(h->fields[i].name, h->fields[i].value);
		if (found < MAX_SETS * 3) {
			chain[found].name = h->fields[i].name;
			chain[found].value = h->fields[i].value;
		}
		found++;
		if (inst == 0 || inst > MAX_SETS || slot[(inst - 1) * 3 + (size_t)kind]) {
			ordered = 0;
			continue;
		}
		slot[(inst - 1) * 3 + (size_t)kind] = &h->fields[i];
		if (inst > highest)
			highest = inst;
	}
	for (size_t i = 0; ordered && i < highest * 3; i++)
		ordered = slot[i] != NULL;
	if (ordered && found == highest * 3)
		for (size_t i = 0; i < found; i++) {
			chain[i].name = slot[i]->name;
			chain[i].value = slot[i]->value;
		}
	*count = found < MAX_SETS * 3 ? found : MAX_SETS * 3;
	*n = highest;
	return ordered && found == highest * 3;
}

static int split_names(char *text, struct name_list *list)
{
	size_t	n = 1;

	for (const char *p = text; *p; p++)
		n += *p == ':';
	if ((list->names = calloc(n, sizeof(*list->names))) == NULL)
		return 0;
	list->count = 0;
	for (char *save = NULL, *name = strtok_r(text, ":", &save); name;
	    name = strtok_r(NULL, ":", &save))
		list->names[list->count++] = name;
	return 1;
}

static int load_key(const char *path, const char *domain, const char *selector,
    struct keystore_key *key)
{
	FILE   *f = fopen(path, "r");

	memset(key, 0, sizeof(*key));
	if (f == NULL)
		return 0;
	key->pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (key->pkey == NULL)
		return 0;
	snprintf(key->domain, sizeof(key->domain), "%s", domain);
	snprintf(key->selector, sizeof(key->selector), "%s", selector);
	key->algorithm = EVP_PKEY_get_base_id(key->pkey) == EVP_PKEY_ED25519 ?
	    KEY_ALG_ED25519 : KEY_ALG_RSA_2048;
	key->bits = EVP_PKEY_get_bits(key->pkey);
	key->state = KEY_STATE_ACTIVE;
	return 1;
}

/* Writes a field, its LF folds as the message's line ends. */
static void put_field(FILE *out, const char *name, const char *value, int crlf)
{
	fprintf(out, "%s:", name);
	for (const char *p = value; *p; p++)
		if (*p == '\n')
			fputs(crlf ? "\r\n" : "\n", out);
		else
			fputc(*p, out);
	fputs(crlf ? "\r\n" : "\n", out);
}

static int self_test(void)
{
	static const char text[] =
	    "ARC-Seal: i=2; cv=pass; a=rsa-sha256; d=x; s=y; b=\r\n"
	    "ARC-Message-Signature: a=rsa-sha256;\r\n i=2; b=\r\n"
	    "ARC-Authentication-Results: i=2; x; none\r\n"
	    "ARC-Authentication-Results: i = 1; x; none\r\n"
	    "ARC-Message-Signature: i=1; b=\r\n"
	    "ARC-Seal: i=1; cv=none; b=\r\n"
	    "Subject: hi\r\n\r\nbody\r\n";
	struct message m = {0};
	struct arcseal_field chain[MAX_SETS * 3];
	size_t	count = 0, n = 0;

	buffer_append(&m.text, text, sizeof(text) - 1);
	TAP_OK(parse_message(&m), "reads a CRLF message");
	TAP_INT_EQ(m.headers.count, 7, "seven fields");
	TAP_OK(m.crlf, "the message's line ends are CRLF");
	TAP_STR_EQ(m.headers.fields[1].value, " a=rsa-sha256;\n i=2; b=", "folds joined by LF");
	TAP_STR_EQ(m.text.data + m.header_end, "body\r\n", "the body starts after the blank line");
	TAP_OK(collect_chain(&m.headers, chain, &count, &n), "two sets in order");
	TAP_INT_EQ(n, 2, "N is 2");
	TAP_STR_EQ(chain[0].value, " i = 1; x; none", "AAR 1 first");
	TAP_STR_EQ(chain[2].name, "ARC-Seal", "AS 1 third");
	TAP_STR_EQ(chain[4].value, " a=rsa-sha256;\n i=2; b=", "AMS 2 fifth");
	msgheaders_add(&m.headers, "ARC-Seal", " i=2; cv=fail; b=");
	TAP_OK(!collect_chain(&m.headers, chain, &count, &n), "a repeated instance is no order");
	TAP_INT_EQ(count, 7, "the fields are handed over as found");
	msgheaders_clear(&m.headers);
	buffer_free(&m.text);
	return tap_done();
}

static void usage(void)
{
	fprintf(stderr, "usage: arc-seal -d DOMAIN -s SELECTOR -k KEY.pem -a AUTHSERV-ID "
	    "-c none|pass|fail [-r RESULTS] [-t TIME] [-h NAMES] [-o NAMES] [MESSAGE]\n");
	exit(2);
}

static int parse_cv(const char *s, enum arcseal_cv *cv)
{
	for (enum arcseal_cv c = ARCSEAL_CV_NONE; c <= ARCSEAL_CV_FAIL; c++)
		if (strcmp(s, arcseal_cv_name(c)) == 0) {
			*cv = c;
			return 1;
		}
	return 0;
}

static int seal(struct message *m, struct arcseal_request *req, const struct keystore_key *key)
{
	struct arcseal_field chain[MAX_SETS * 3];
	struct arcseal_set set;
	unsigned char bh[CANON_HASH_LEN];
	struct body_canon *body = body_canon_new(CANON_RELAXED);
	char	err[512];

	if (body == NULL || !body_canon_update(body, (const unsigned char *)m->text.data +
	    m->header_end, m->text.len - m->header_end) || !body_canon_final(body, bh)) {
		body_canon_free(body);
		fprintf(stderr, "arc-seal: body hash failed\n");
		return 1;
	}
	body_canon_free(body);
	if (!collect_chain(&m->headers, chain, &req->chain_count, &req->instances) &&
	    req->cv != ARCSEAL_CV_FAIL) {
		fprintf(stderr, "arc-seal: the ARC sets are not in order 1..N\n");
		return 2;
	}
	req->headers = &m->headers;
	req->chain = chain;
	req->body_hash = bh;
	enum arcseal_status status = arcseal_make(req, key, &set, err, sizeof(err));
	if (status != ARCSEAL_OK) {
		fprintf(stderr, "arc-seal: status %d: %s\n", (int)status, err);
		return status == ARCSEAL_ERROR ? 1 : 3;
	}
	put_field(stdout, "ARC-Seal", set.seal, m->crlf);
	put_field(stdout, "ARC-Message-Signature", set.signature, m->crlf);
	put_field(stdout, "ARC-Authentication-Results", set.results, m->crlf);
	fwrite(m->text.data, 1, m->text.len, stdout);
	arcseal_set_free(&set);
	return fflush(stdout) == 0 ? 0 : 1;
}

int	main(int argc, char **argv)
{
	const char *domain = NULL, *selector = NULL, *keyfile = NULL;
	char	default_names[] = "From:To:Subject:Date:Message-ID:MIME-Version:Content-Type";
	char   *sign_names = default_names, *oversign_names = NULL;
	struct name_list sign = {0}, oversign = {0};
	struct arcseal_request req = {0};
	struct keystore_key key;
	struct message m = {0};
	int	opt, have_cv = 0, rc;

	if (argc == 1)
		return self_test();
	req.timestamp = time(NULL);
	while ((opt = getopt(argc, argv, "d:s:k:a:c:r:t:h:o:")) != -1) {
		switch (opt) {
		case 'd': domain = optarg; break;
		case 's': selector = optarg; break;
		case 'k': keyfile = optarg; break;
		case 'a': req.authserv_id = optarg; break;
		case 'c': have_cv = parse_cv(optarg, &req.cv); break;
		case 'r': req.results = optarg; break;
		case 't': req.timestamp = (time_t)strtoll(optarg, NULL, 10); break;
		case 'h': sign_names = optarg; break;
		case 'o': oversign_names = optarg; break;
		default: usage();
		}
	}
	if (!domain || !selector || !keyfile || !req.authserv_id || !have_cv || argc - optind > 1)
		usage();
	FILE   *in = optind < argc ? fopen(argv[optind], "rb") : stdin;
	if (in == NULL || !read_all(in, &m.text) || !parse_message(&m)) {
		fprintf(stderr, "arc-seal: cannot read the message\n");
		return 2;
	}
	if (in != stdin)
		fclose(in);
	if (!load_key(keyfile, domain, selector, &key)) {
		fprintf(stderr, "arc-seal: cannot read a private key from %s\n", keyfile);
		return 2;
	}
	if (!split_names(sign_names, &sign) ||
	    (oversign_names != NULL && !split_names(oversign_names, &oversign)))
		return 1;
	req.sign_headers = &sign;
	req.oversign_headers = &oversign;
	rc = seal(&m, &req, &key);
	EVP_PKEY_free(key.pkey);
	free(sign.names);
	free(oversign.names);
	msgheaders_clear(&m.headers);
	buffer_free(&m.text);
	return rc;
}
