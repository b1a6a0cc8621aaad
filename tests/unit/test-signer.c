/*
 * NAME
 *	test-signer.c - the signer's protocol, both sides: what the signer signs, what it
 *	refuses, and what the milter's client does with a signer that lies or hangs
 * DESCRIPTION
 *	Builds a keystore in a mkdtemp(3) directory (active RSA-2048 and Ed25519 keys of
 *	example.com, a pending and a retiring one) and a signet.conf naming it, then:
 *	  - serves one SOCK_SEQPACKET channel with signer_serve_channel() in a thread and
 *	    writes packets to it by hand: LIST, SIGN for each key (OpenSSL verifies the
 *	    signatures with the public keys), and every kind of malformed or unauthorized
 *	    request (wrong magic, short header, unknown type, lengths past the end, bytes
 *	    left over, an oversized packet, a name that breaks the keystore's rules, an
 *	    unknown domain or selector, a key not active, the wrong algorithm): each gets
 *	    an ERROR and a log line, never a signature, and the channel goes on serving;
 *	  - generations: after a RELOAD that rotates the RSA key, a request naming the old
 *	    generation is signed with the old key (a message in flight), one naming the new
 *	    generation is refused for it; once released, the old generation is gone; a
 *	    RELOAD of a broken signet.conf fails and the keys in use keep signing;
 *	  - the client (signerclient.c) against a keeper played by this test over the
 *	    control socket (SCM_RIGHTS, as signer.c sends): key list and signatures through
 *	    real channels; a signer that never answers makes signer_sign_digest() fail after
 *	    SignerTimeout and ask the keeper for a restart naming that signer's pid; a signer
 *	    that answers with an oversized or garbled signature is an error, never a
 *	    signature; a new set of channels is used at once.
 *	Emits TAP.
 */
#define _GNU_SOURCE		/* mkdtemp(3), nftw(3) */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "keys/keystore-write.h"
#include "lib/log.h"
#include "milter/signer.h"
#include "milter/signerclient.h"
#include "milter/signerproto.h"
#include "tests/unit/tap.h"

static char dir[] = "/tmp/signet-signer-XXXXXX";
static char path_keys[600], path_conf[600], path_log[600];
static EVP_PKEY *rsa_old, *rsa_new, *ed;

/* ---- set-up ------------------------------------------------------------------------ */

static int
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return 0;
	fputs(text, f);
	return fclose(f) == 0;
}

static int
add_key(const char *selector, enum key_algorithm alg, EVP_PKEY *pkey, enum key_state state)
{
	struct keystore_error err;
	time_t t0 = time(NULL) - 3600;

	if (keystore_create(path_keys, "example.com", selector, alg, pkey, t0, &err) < 0 ||
	    (state != KEY_STATE_PENDING && keystore_set_state(path_keys, "example.com",
	    selector, KEY_STATE_ACTIVE, t0 + 1, &err) < 0) ||
	    (state == KEY_STATE_RETIRING && keystore_set_state(path_keys, "example.com",
	    selector, KEY_STATE_RETIRING, t0 + 2, &err) < 0)) {
		printf("# keystore %s: %s\n", selector, err.text);
		return 0;
	}
	return 1;
}

static int
set_state(const char *selector, enum key_state state)
{
	struct keystore_error err;

	if (keystore_set_state(path_keys, "example.com", selector, state, time(NULL), &err) < 0) {
		printf("# keystore_set_state %s: %s\n", selector, err.text);
		return 0;
	}
	return 1;
}

static int
unlink_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

/* ---- talking to the signer by hand ------------------------------------------------- */

struct served {
	struct signer_state *st;
	int	fd;
};

static void *
serve(void *arg)
{
	struct served *s = arg;

	signer_serve_channel(s->st, s->fd);
	return NULL;
}

/* One reply, waited for up to 10 s; its length, or -1. */
static ssize_t
get_reply(int fd, unsigned char *buf, size_t size)
{
	struct pollfd pfd = {fd, POLLIN, 0};

	if (poll(&pfd, 1, 10000) != 1)
		return -1;
	return recv(fd, buf, size, 0);
}

struct reply {
	uint32_t id;
	unsigned type;
	char	error[SIGNER_ERROR_MAX + 1];
	unsigned char sig[KEYSIGN_MAX];
	size_t	sig_len;
	int	well_formed;
};

/* Sends len bytes as one packet and decodes the one reply. */
static struct reply
ask_raw(int fd, const void *data, size_t len)
{
	static unsigned char buf[SIGNER_PACKET_MAX];
	struct reply out = {0};
	struct signer_reader r;
	ssize_t	n;

	if (send(fd, data, len, 0) != (ssize_t)len || (n = get_reply(fd, buf, sizeof(buf))) < 0 ||
	    !signer_read_header(&r, buf, (size_t)n, &out.id, &out.type))
		return out;
	if (out.type == SIGNER_ERROR)
		out.well_formed = signer_get_error(&r, out.error, sizeof(out.error)) &&
		    signer_read_done(&r);
	else if (out.type == SIGNER_SIGNATURE) {
		out.sig_len = signer_get_u16(&r);
		out.well_formed = out.sig_len <= KEYSIGN_MAX &&
		    signer_get_bytes(&r, out.sig, out.sig_len) && signer_read_done(&r);
	}
	return out;
}

static struct reply
ask(int fd, const struct signer_packet *p)
{
	return ask_raw(fd, p->data, p->len);
}

static void
sign_packet(struct signer_packet *p, uint32_t id, uint32_t epoch, uint32_t generation,
    const char *selector, enum key_algorithm alg, const unsigned char digest[32])
{
	struct signer_sign_request req = {.epoch = epoch, .generation = generation,
	    .algorithm = alg};

	snprintf(req.domain, sizeof(req.domain), "example.com");
	snprintf(req.selector, sizeof(req.selector), "%s", selector);
	memcpy(req.digest, digest, 32);
	signer_packet_start(p, id, SIGNER_SIGN);
	signer_put_sign(p, &req);
}

/* 1 when sig is a valid signature of digest by pkey, as DKIM verifiers check it. */
static int
verifies(EVP_PKEY *pkey, const unsigned char digest[32], const unsigned char *sig,
    size_t sig_len)
{
	int	ok = 0;

	if (EVP_PKEY_get_id(pkey) == EVP_PKEY_ED25519) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();

		ok = md != NULL && EVP_DigestVerifyInit(md, NULL, NULL, NULL, pkey) == 1 &&
		    EVP_DigestVerify(md, sig, sig_len, digest, 32) == 1;
		EVP_MD_CTX_free(md);
	} else {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);

		ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
		    EVP_PKEY_verify(ctx, sig, sig_len, digest, 32) == 1;
		EVP_PKEY_CTX_free(ctx);
	}
	return ok;
}

/* The whole log so far. */
static char *
log_text(void)
{
	static char text[65536];
	int	fd = open(path_log, O_RDONLY);
	ssize_t	n = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);

	if (fd >= 0)
		close(fd);
	text[n > 0 ? n : 0] = '\0';
	return text;
}

static size_t log_seen;	/* what earlier checks read of the log */

/* A refusal: an ERROR for this id whose text and a new log line contain want. */
static void
check_refused(struct reply r, uint32_t id, const char *want, const char *name)
{
	const char *text = log_text();
	int	logged = strstr(text + log_seen, want) != NULL;

	log_seen = strlen(text);

	if (!TAP_OK(r.type == SIGNER_ERROR && r.well_formed && r.id == id &&
	    strstr(r.error, want) != NULL && logged, "%s", name))
		printf("#   type 0x%x id %u error \"%s\" logged %d (want \"%s\")\n", r.type,
		    (unsigned)r.id, r.error, logged, want);
}

static void
check_signed(struct reply r, uint32_t id, EVP_PKEY *pkey, const unsigned char digest[32],
    const char *name)
{
	if (!TAP_OK(r.type == SIGNER_SIGNATURE && r.well_formed && r.id == id &&
	    verifies(pkey, digest, r.sig, r.sig_len), "%s", name))
		printf("#   type 0x%x id %u len %zu error \"%s\"\n", r.type, (unsigned)r.id,
		    r.sig_len, r.error);
}

/* ---- the signer's side --------------------------------------------------------------- */

static void
test_signer_side(void)
{
	struct signer_state *st = signer_state_new(path_conf);
	struct signer_packet *p = calloc(1, sizeof(*p));
	unsigned char digest[32], *big = calloc(1, SIGNER_PACKET_MAX + 100);
	int	sv[2], buf_size = 4 * SIGNER_PACKET_MAX;
	uint32_t me = (uint32_t)getpid();
	struct served served;
	pthread_t tid;
	struct reply r;

	RAND_bytes(digest, sizeof(digest));
	if (st == NULL || p == NULL || big == NULL ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0) {
		TAP_OK(0, "signer state and channel");
		return;
	}
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &buf_size, sizeof(buf_size));
	served = (struct served){st, sv[1]};
	pthread_create(&tid, NULL, serve, &served);

	/* LIST: the public facts of the newest generation, our pid as the epoch. */
	signer_packet_start(p, 7, SIGNER_LIST);
	{
		static unsigned char buf[SIGNER_PACKET_MAX];
		struct signer_reader rd;
		uint32_t id = 0, epoch, gen;
		unsigned type = 0, last, count;
		ssize_t	n;
		int	keys_ok = 1;

		send(sv[0], p->data, p->len, 0);
		n = get_reply(sv[0], buf, sizeof(buf));
		TAP_OK(n > 0 && signer_read_header(&rd, buf, (size_t)n, &id, &type) &&
		    type == SIGNER_KEYS && id == 7, "LIST is answered with KEYS and its id");
		epoch = signer_get_u32(&rd);
		gen = signer_get_u32(&rd);
		last = signer_get_u8(&rd);
		count = signer_get_u16(&rd);
		TAP_OK(epoch == me && gen == 1 && last == 1 && count == 4,
		    "the list names this process's epoch, generation 1, 4 keys in one packet "
		    "(epoch %u generation %u last %u count %u)", (unsigned)epoch, (unsigned)gen,
		    last, count);
		for (unsigned k = 0; k < count && keys_ok; k++) {
			struct keystore_key key;
			char	why[256];

			keys_ok = signer_get_key(&rd, &key, why, sizeof(why)) && key.pkey == NULL &&
			    strcmp(key.domain, "example.com") == 0;
		}
		TAP_OK(keys_ok && signer_read_done(&rd), "each key of the list decodes, with no "
		    "key material, and nothing is left over");
	}

	/* Signatures that verify. */
	sign_packet(p, 11, me, 1, "rsa1", KEY_ALG_RSA_2048, digest);
	check_signed(ask(sv[0], p), 11, rsa_old, digest, "SIGN with the active RSA-2048 key: "
	    "a PKCS#1 v1.5 SHA-256 signature of the digest that OpenSSL verifies");
	sign_packet(p, 12, me, 1, "ed1", KEY_ALG_ED25519, digest);
	check_signed(ask(sv[0], p), 12, ed, digest, "SIGN with the active Ed25519 key: a "
	    "PureEdDSA signature of the 32 digest bytes that OpenSSL verifies");
	sign_packet(p, 13, me ^ 1, 77, "ed1", KEY_ALG_ED25519, digest);
	check_signed(ask(sv[0], p), 13, ed, digest, "SIGN naming another epoch (a signer "
	    "restarted since) is checked against the newest generation and signed");

	/* What it holds but must not sign with. */
	sign_packet(p, 20, me, 1, "pend1", KEY_ALG_ED25519, digest);
	check_refused(ask(sv[0], p), 20, "no active ed25519 key example.com/pend1",
	    "a pending key is refused, and the refusal is logged with its names");
	sign_packet(p, 21, me, 1, "old1", KEY_ALG_ED25519, digest);
	check_refused(ask(sv[0], p), 21, "example.com/old1", "a retiring key is refused");
	sign_packet(p, 22, me, 1, "ed1", KEY_ALG_RSA_2048, digest);
	check_refused(ask(sv[0], p), 22, "no active rsa-2048 key example.com/ed1",
	    "the Ed25519 key asked for as RSA is refused (the algorithm must match)");
	sign_packet(p, 23, me, 1, "nosuch", KEY_ALG_RSA_2048, digest);
	check_refused(ask(sv[0], p), 23, "example.com/nosuch", "an unknown selector is refused");
	{
		struct signer_sign_request req = {.epoch = me, .generation = 1,
		    .algorithm = KEY_ALG_RSA_2048};

		snprintf(req.domain, sizeof(req.domain), "example.org");
		snprintf(req.selector, sizeof(req.selector), "rsa1");
		signer_packet_start(p, 24, SIGNER_SIGN);
		signer_put_sign(p, &req);
		check_refused(ask(sv[0], p), 24, "example.org/rsa1", "a domain it holds no key "
		    "for is refused, even with a selector that exists elsewhere");
	}

	/* Malformed packets. */
	{
		unsigned char raw[64] = {'S', 'G', 'N', '2', 0, 0, 0, 30, SIGNER_LIST};

		check_refused(ask_raw(sv[0], raw, 9), 0, "wrong magic", "a wrong magic number is "
		    "refused");
		check_refused(ask_raw(sv[0], raw, 5), 0, "malformed packet of 5 bytes",
		    "a packet shorter than the header is refused");
	}
	signer_packet_start(p, 31, 0x7f);
	check_refused(ask(sv[0], p), 31, "unknown request type 127", "an unknown request type "
	    "is refused");
	signer_packet_start(p, 32, SIGNER_LIST);
	signer_put_u8(p, 0);
	check_refused(ask(sv[0], p), 32, "malformed list", "a LIST with a byte left over is "
	    "refused");
	sign_packet(p, 33, me, 1, "rsa1", KEY_ALG_RSA_2048, digest);
	signer_put_u8(p, 0);
	check_refused(ask(sv[0], p), 33, "malformed", "a SIGN with a byte left over is refused");
	sign_packet(p, 34, me, 1, "rsa1", KEY_ALG_RSA_2048, digest);
	p->len -= 1;
	check_refused(ask(sv[0], p), 34, "malformed", "a SIGN one digest byte short is refused");
	{
		/* The domain's length byte says 200: past the end of the packet. */
		sign_packet(p, 35, me, 1, "rsa1", KEY_ALG_RSA_2048, digest);
		p->data[SIGNER_HEADER_LEN + 9] = 200;
		check_refused(ask(sv[0], p), 35, "malformed", "a name length past the end of "
		    "the packet is refused");
		sign_packet(p, 36, me, 1, "rsa1", 99, digest);
		check_refused(ask(sv[0], p), 36, "unknown algorithm 99", "an unknown algorithm number is "
		    "refused");
	}
	{
		struct signer_sign_request req = {.epoch = me, .generation = 1,
		    .algorithm = KEY_ALG_RSA_2048};

		memcpy(req.digest, digest, 32);
		snprintf(req.domain, sizeof(req.domain), "example.com");
		snprintf(req.selector, sizeof(req.selector), "../rsa1");
		signer_packet_start(p, 37, SIGNER_SIGN);
		signer_put_sign(p, &req);
		check_refused(ask(sv[0], p), 37, "invalid domain or selector", "a selector with a path in it is "
		    "refused before any lookup");
		snprintf(req.selector, sizeof(req.selector), "rsa1");
		snprintf(req.domain, sizeof(req.domain), "EXAMPLE.com");
		signer_packet_start(p, 38, SIGNER_SIGN);
		signer_put_sign(p, &req);
		check_refused(ask(sv[0], p), 38, "invalid domain or selector", "a domain not in lower case is "
		    "refused (the milter sends the keystore's own names)");
	}
	memcpy(big, "SGN1\0\0\0\x28\x03", 9);
	check_refused(ask_raw(sv[0], big, SIGNER_PACKET_MAX + 100), 0, "over 65536",
	    "a packet over the maximum size is refused");
	sign_packet(p, 40, me, 1, "rsa1", KEY_ALG_RSA_2048, digest);
	check_signed(ask(sv[0], p), 40, rsa_old, digest, "after all that the channel still "
	    "signs");
	TAP_OK(strstr(log_text(), "-----BEGIN") == NULL && strstr(log_text(), "PRIVATE") ==
	    NULL, "the log holds no key material");

	/* Generations: the RSA key is rotated on disk, then RELOAD. */
	set_state("rsa1", KEY_STATE_RETIRING);
	add_key("rsa2", KEY_ALG_RSA_2048, rsa_new, KEY_STATE_ACTIVE);
	{
		static unsigned char buf[SIGNER_PACKET_MAX];
		struct signer_reader rd;
		uint32_t id = 0, epoch, gen;
		unsigned type = 0;
		ssize_t	n;

		signer_packet_start(p, 50, SIGNER_RELOAD);
		send(sv[0], p->data, p->len, 0);
		n = get_reply(sv[0], buf, sizeof(buf));
		TAP_OK(n > 0 && signer_read_header(&rd, buf, (size_t)n, &id, &type) &&
		    type == SIGNER_KEYS && id == 50 && (epoch = signer_get_u32(&rd)) == me &&
		    (gen = signer_get_u32(&rd)) == 2, "RELOAD answers with the keys of "
		    "generation 2");
	}
	sign_packet(p, 51, me, 1, "rsa1", KEY_ALG_RSA_2048, digest);
	check_signed(ask(sv[0], p), 51, rsa_old, digest, "a message that started with "
	    "generation 1 is signed with the key active then, after the rotation");
	sign_packet(p, 52, me, 2, "rsa1", KEY_ALG_RSA_2048, digest);
	check_refused(ask(sv[0], p), 52, "in generation 2", "generation 2 refuses the "
	    "retiring key");
	sign_packet(p, 53, me, 2, "rsa2", KEY_ALG_RSA_2048, digest);
	check_signed(ask(sv[0], p), 53, rsa_new, digest, "generation 2 signs with the new key");
	signer_packet_start(p, 0, SIGNER_RELEASE);
	signer_put_u32(p, me);
	signer_put_u32(p, 1);
	send(sv[0], p->data, p->len, 0);
	sign_packet(p, 54, me, 1, "rsa1", KEY_ALG_RSA_2048, digest);
	check_refused(ask(sv[0], p), 54, "in generation 2", "once generation 1 is released, "
	    "a request naming it is checked against the newest, which refuses the old key");

	/* A broken signet.conf: RELOAD fails, the running keys go on. */
	write_text(path_conf, "Keystore\nNoSuchSetting 1\n");
	signer_packet_start(p, 60, SIGNER_RELOAD);
	r = ask(sv[0], p);
	TAP_OK(r.type == SIGNER_ERROR && r.id == 60 && strstr(r.error, path_conf) != NULL,
	    "RELOAD of a broken signet.conf is an error naming the file (\"%s\")", r.error);
	sign_packet(p, 61, me, 2, "rsa2", KEY_ALG_RSA_2048, digest);
	check_signed(ask(sv[0], p), 61, rsa_new, digest, "after the failed reload the keys in "
	    "use still sign");
	{
		char	conf_text[700];

		snprintf(conf_text, sizeof(conf_text), "Keystore %s\n", path_keys);
		write_text(path_conf, conf_text);
	}

	close(sv[0]);
	pthread_join(tid, NULL);
	TAP_OK(1, "the channel's loop ends when the milter's end is closed");
	close(sv[1]);
	signer_state_free(st);
	free(big);
	free(p);
}

/* ---- the client's side --------------------------------------------------------------- */

/* A set of channels: ours[] go to the client, theirs[] are the signer's ends. */
static int
make_set(int ours[SIGNER_CHANNELS], int theirs[SIGNER_CHANNELS])
{
	for (int i = 0; i < SIGNER_CHANNELS; i++) {
		int	sv[2];

		if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0)
			return 0;
		ours[i] = sv[0];
		theirs[i] = sv[1];
	}
	return 1;
}

/* A lying signer: answers every request with the packet made by its mode. */
struct liar {
	int	fd;
	int	mode;	/* 0: a 600-byte signature; 1: a signature with bytes left over */
};

static void *
lie(void *arg)
{
	struct liar *l = arg;
	unsigned char buf[SIGNER_PACKET_MAX];
	struct signer_packet *p = calloc(1, sizeof(*p));
	ssize_t	n;

	while (p != NULL && (n = recv(l->fd, buf, sizeof(buf), 0)) > 0) {
		struct signer_reader r;
		uint32_t id;
		unsigned type;

		if (!signer_read_header(&r, buf, (size_t)n, &id, &type))
			continue;
		signer_packet_start(p, id, SIGNER_SIGNATURE);
		signer_put_u16(p, l->mode == 0 ? 600 : 64);
		for (int i = 0; i < (l->mode == 0 ? 600 : 65); i++)
			signer_put_u8(p, 0x41);
		send(l->fd, p->data, p->len, 0);
	}
	free(p);
	return NULL;
}

static const struct keystore_key *
find_key(const struct keystore *keys, const char *selector)
{
	for (size_t i = 0; i < keystore_count(keys); i++)
		if (strcmp(keystore_key_at(keys, i)->selector, selector) == 0)
			return keystore_key_at(keys, i);
	return NULL;
}

static void
test_client_side(void)
{
	struct signer_state *st = signer_state_new(path_conf);
	int	control[2], ours[SIGNER_CHANNELS], theirs[SIGNER_CHANNELS];
	struct served served[SIGNER_CHANNELS];
	pthread_t tids[SIGNER_CHANNELS];
	struct signer_client *client;
	struct signer_ref ref = {0};
	struct keystore *keys;
	const struct keystore_key *rsa, *edk;
	unsigned char digest[32], sig[KEYSIGN_MAX], req[16];
	size_t	sig_len = 0;
	char	err[512] = "";
	int	ok;

	RAND_bytes(digest, sizeof(digest));
	if (st == NULL || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, control) != 0 ||
	    !make_set(ours, theirs)) {
		TAP_OK(0, "client set-up");
		return;
	}
	for (int i = 0; i < SIGNER_CHANNELS; i++) {
		served[i] = (struct served){st, theirs[i]};
		pthread_create(&tids[i], NULL, serve, &served[i]);
	}
	signer_send_channels(control[1], ours, 4242);
	for (int i = 0; i < SIGNER_CHANNELS; i++)
		close(ours[i]);
	client = signer_client_new(control[0], 1, err, sizeof(err));
	TAP_OK(client != NULL, "the client takes the first set of channels from the keeper "
	    "(%s)", err);
	if (client == NULL)
		return;

	keys = signer_client_keys(client, 0, &ref, err, sizeof(err));
	rsa = keys != NULL ? find_key(keys, "rsa2") : NULL;
	edk = keys != NULL ? find_key(keys, "ed1") : NULL;
	TAP_OK(keys != NULL && rsa != NULL && edk != NULL && rsa->state == KEY_STATE_ACTIVE &&
	    rsa->pkey == NULL && ref.epoch == (uint32_t)getpid() && ref.generation == 1,
	    "the key list comes back as a keystore of public facts with its generation (%s)",
	    err);
	if (rsa == NULL || edk == NULL)
		return;
	ok = signer_sign_digest(&ref, rsa, digest, sig, &sig_len, err, sizeof(err));
	TAP_OK(ok && sig_len == 256 && verifies(rsa_new, digest, sig, sig_len),
	    "signer_sign_digest: an RSA signature through a channel that verifies (%s)", err);
	ok = 1;
	for (int i = 0; i < 8 && ok; i++)	/* every channel in turn */
		ok = signer_sign_digest(&ref, edk, digest, sig, &sig_len, err, sizeof(err)) &&
		    verifies(ed, digest, sig, sig_len);
	TAP_OK(ok, "eight Ed25519 signatures over the four channels verify (%s)", err);

	/* A signer that hangs: channels nobody reads. */
	{
		int	hung_ours[SIGNER_CHANNELS], hung_theirs[SIGNER_CHANNELS];
		struct pollfd pfd = {control[1], POLLIN, 0};
		uint32_t asked = 0;
		ssize_t	n;

		make_set(hung_ours, hung_theirs);
		signer_send_channels(control[1], hung_ours, 5151);
		for (int i = 0; i < SIGNER_CHANNELS; i++)
			close(hung_ours[i]);
		/* The client reads a new set only when it finds the current one dead: kill
		 * the working one by closing the signer's ends. */
		for (int i = 0; i < SIGNER_CHANNELS; i++)
			shutdown(theirs[i], SHUT_RDWR);
		for (int i = 0; i < SIGNER_CHANNELS; i++)
			pthread_join(tids[i], NULL);
		ok = signer_sign_digest(&ref, rsa, digest, sig, &sig_len, err, sizeof(err));
		TAP_OK(!ok && strstr(err, "did not answer within 1 s") != NULL &&
		    strstr(err, "example.com/rsa2") != NULL, "a signer that does not answer: "
		    "signing fails after SignerTimeout, naming the key (\"%s\")", err);
		n = poll(&pfd, 1, 1000) == 1 ? recv(control[1], req, sizeof(req), 0) : -1;
		if (n == 5)
			memcpy(&asked, req + 1, 4);
		TAP_OK(n == 5 && req[0] == 'R' && asked == 5151, "... and the keeper is asked to "
		    "restart that signer, by its pid (%zd bytes, pid %u)", n, (unsigned)asked);
		ok = signer_sign_digest(&ref, rsa, digest, sig, &sig_len, err, sizeof(err));
		TAP_OK(!ok, "with no new signer yet the next request fails too (\"%s\")", err);
		for (int i = 0; i < SIGNER_CHANNELS; i++)
			close(hung_theirs[i]);
	}

	/* Lying signers: oversized, then garbled signatures. */
	for (int mode = 0; mode < 2; mode++) {
		int	lo[SIGNER_CHANNELS], lt[SIGNER_CHANNELS];
		struct liar liars[SIGNER_CHANNELS];
		pthread_t lt_tids[SIGNER_CHANNELS];

		make_set(lo, lt);
		signer_send_channels(control[1], lo, 6000 + mode);
		for (int i = 0; i < SIGNER_CHANNELS; i++) {
			close(lo[i]);
			liars[i] = (struct liar){lt[i], mode};
			pthread_create(&lt_tids[i], NULL, lie, &liars[i]);
		}
		sig_len = 0;
		ok = signer_sign_digest(&ref, rsa, digest, sig, &sig_len, err, sizeof(err));
		TAP_OK(!ok && strstr(err, "malformed signature") != NULL, "a signer that answers "
		    "with %s is an error, not a signature (\"%s\")", mode == 0 ?
		    "600 signature bytes (over 512)" : "bytes left over after the signature", err);
		for (int i = 0; i < SIGNER_CHANNELS; i++)
			shutdown(lt[i], SHUT_RDWR);
		for (int i = 0; i < SIGNER_CHANNELS; i++) {
			pthread_join(lt_tids[i], NULL);
			close(lt[i]);
		}
	}

	/* A working signer again: the next request uses it at once. */
	err[0] = '\0';
	{
		int	o[SIGNER_CHANNELS], t[SIGNER_CHANNELS];

		make_set(o, t);
		signer_send_channels(control[1], o, 7000);
		for (int i = 0; i < SIGNER_CHANNELS; i++) {
			close(o[i]);
			served[i] = (struct served){st, t[i]};
			pthread_create(&tids[i], NULL, serve, &served[i]);
		}
		ok = signer_sign_digest(&ref, rsa, digest, sig, &sig_len, err, sizeof(err)) &&
		    verifies(rsa_new, digest, sig, sig_len);
		TAP_OK(ok, "a new set of channels from the keeper is used by the next request "
		    "(%s)", err);
		signer_client_release(&ref);
		keystore_free(keys);
		signer_client_free(client);
		for (int i = 0; i < SIGNER_CHANNELS; i++) {
			shutdown(t[i], SHUT_RDWR);
			pthread_join(tids[i], NULL);
			close(t[i]);
		}
	}
	close(control[1]);
	signer_state_free(st);
}

int
main(void)
{
	char	conf_text[700];
	struct keystore_error err;
	int	log_fd;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path_keys, sizeof(path_keys), "%s/keys", dir);
	snprintf(path_conf, sizeof(path_conf), "%s/signet.conf", dir);
	snprintf(path_log, sizeof(path_log), "%s/log", dir);
	snprintf(conf_text, sizeof(conf_text), "Keystore %s\n", path_keys);
	rsa_old = keystore_generate(KEY_ALG_RSA_2048, &err);
	rsa_new = keystore_generate(KEY_ALG_RSA_2048, &err);
	ed = keystore_generate(KEY_ALG_ED25519, &err);
	if (rsa_old == NULL || rsa_new == NULL || ed == NULL || !write_text(path_conf, conf_text) ||
	    !add_key("rsa1", KEY_ALG_RSA_2048, rsa_old, KEY_STATE_ACTIVE) ||
	    !add_key("ed1", KEY_ALG_ED25519, ed, KEY_STATE_ACTIVE) ||
	    !add_key("pend1", KEY_ALG_ED25519, ed, KEY_STATE_PENDING) ||
	    !add_key("old1", KEY_ALG_ED25519, ed, KEY_STATE_RETIRING)) {
		TAP_OK(0, "keystore set-up");
		return tap_done();
	}
	/* The signer's log lines go to a file this test reads. */
	fflush(stderr);
	if ((log_fd = open(path_log, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 ||
	    dup2(log_fd, 2) < 0) {
		TAP_OK(0, "log file");
		return tap_done();
	}
	close(log_fd);
	log_init(LOG_TO_STDERR, LOG_LEVEL_INFO);

	test_signer_side();
	test_client_side();

	EVP_PKEY_free(rsa_old);
	EVP_PKEY_free(rsa_new);
	EVP_PKEY_free(ed);
	nftw(dir, unlink_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
