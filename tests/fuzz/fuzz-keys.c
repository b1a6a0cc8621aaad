/*
 * NAME
 *	fuzz-keys - the parsers of signet-keys: OpenDKIM's tables and opendkim.conf
 *	(import-opendkim), the TSIG key and the answer to a DNS UPDATE (publish)
 * SYNOPSIS
 *	fuzz_opendkim_run(data, len); fuzz_tsig_run(data, len)	(targets of fuzz-parsers.c)
 * DESCRIPTION
 *	opendkim: the input is cut at its first two lines "---" into opendkim.conf, the
 *	KeyTable and the SigningTable (missing parts are empty files); each goes through its
 *	reader from a memfd (no file system), then odkim_plan() and, as keytool-import.c
 *	does when opendkim.conf has Domain and KeyFile, odkim_plan_single().  Invariants:
 *	a plan has at most one entry per SigningTable line plus one per KeyTable line (per
 *	name of Domain); an entry to import names a domain, a selector and a key file.
 *
 *	tsig: the first line is an UpdateKey value (ALGORITHM:NAME:BASE64SECRET) for
 *	tsig_key_parse(); the rest is a server's answer for dnsupdate_parse_answer(),
 *	checked against the parsed key (or a fixed one) and a fixed request MAC, with the
 *	answer's own ID so that the parsing goes past the ID check.  Invariant: NOERROR
 *	with TSIG error 0 is believed only with a verified MAC (dnsupdate.h), which fuzz
 *	input cannot make: so never.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* memfd_create(2) */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "keys/dnsupdate.h"
#include "keys/opendkim.h"
#include "tests/fuzz/fuzz-keys.h"

/* ---- opendkim ---------------------------------------------------------------------- */

/* A memfd holding data[0..len), named by its /proc path in path[size]. */
static int memfile(const uint8_t *data, size_t len, char *path, size_t size)
{
	int	fd = memfd_create("signet-fuzz", MFD_CLOEXEC);

	if (fd < 0 || (len > 0 && write(fd, data, len) != (ssize_t)len))
		abort();
	snprintf(path, size, "/proc/self/fd/%d", fd);
	return fd;
}

/* The part of data up to a line "---" (or the end); *rest after that line. */
static size_t part(const uint8_t *data, size_t len, size_t *rest)
{
	for (size_t i = 0; i + 3 <= len; i++)
		if ((i == 0 || data[i - 1] == '\n') && memcmp(data + i, "---", 3) == 0 &&
		    (i + 3 == len || data[i + 3] == '\n')) {
			*rest = i + 3 < len ? i + 4 : len;
			return i;
		}
	*rest = len;
	return len;
}

static int plan_ok(const struct odkim_plan *plan, size_t most)
{
	if (plan->count > most) {
		printf("# a plan of %zu entries from %zu table lines\n", plan->count, most);
		return 0;
	}
	for (size_t i = 0; i < plan->count; i++) {
		const struct odkim_item *it = &plan->items[i];

		if (it->why[0] == '\0' && (it->domain[0] == '\0' || it->selector[0] == '\0' ||
		    it->path[0] == '\0')) {
			printf("# an entry to import without domain, selector or key file (%s)\n",
			    it->where);
			return 0;
		}
	}
	return 1;
}

int	fuzz_opendkim_run(const uint8_t *data, size_t len)
{
	char	conf_path[64], key_path[64], sign_path[64], err[512], table[PATH_MAX];
	size_t	n1, r1, n2, r2, n3, nkeys = 0, nsigns = 0;
	struct odkim_key *keys = NULL;
	struct odkim_sign *signs = NULL;
	struct odkim_config conf;
	struct odkim_plan plan;
	int	fds[3], refile = 0, ok = 1;

	n1 = part(data, len, &r1);
	n2 = part(data + r1, len - r1, &r2);
	r2 += r1;
	n3 = len - r2;
	fds[0] = memfile(data, n1, conf_path, sizeof(conf_path));
	fds[1] = memfile(data + r1, n2, key_path, sizeof(key_path));
	fds[2] = memfile(data + r2, n3, sign_path, sizeof(sign_path));
	if (odkim_read_config(conf_path, &conf, err, sizeof(err)) == 0) {
		(void)odkim_table_path(conf.signing_table, table, sizeof(table), &refile);
		(void)odkim_table_path(conf.key_table, table, sizeof(table), &refile);
		/* as keytool-import.c calls it: only with a Domain and a KeyFile */
		if (conf.key_file[0] != '\0' && conf.domain[0] != '\0' &&
		    odkim_plan_single(&conf, conf_path, &plan) == 0) {
			ok = plan_ok(&plan, strlen(conf.domain));	/* one entry per name */
			odkim_plan_free(&plan);
		}
	}
	if (odkim_read_keytable(key_path, &keys, &nkeys, err, sizeof(err)) == 0 &&
	    odkim_read_signingtable(sign_path, &signs, &nsigns, err, sizeof(err)) == 0) {
		for (int rf = 0; rf < 2; rf++) {
			if (odkim_plan(keys, nkeys, signs, nsigns, rf, key_path, sign_path,
			    &plan) == 0) {
				ok = plan_ok(&plan, nkeys + nsigns) && ok;
				odkim_plan_free(&plan);
			}
		}
	}
	free(keys);
	free(signs);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	return ok;
}

/* ---- TSIG ---------------------------------------------------------------------------- */

int	fuzz_tsig_run(const uint8_t *data, size_t len)
{
	static const unsigned char request_mac[32] = "a request MAC, 32 bytes long...";
	struct tsig_key key;
	struct dnsupdate_answer out;
	char	err[512], *line;
	size_t	eol;
	int	rc;

	for (eol = 0; eol < len && data[eol] != '\n'; eol++)
		;
	if ((line = strndup((const char *)data, eol)) == NULL)
		abort();
	if (tsig_key_parse(line, &key, err, sizeof(err)) != 0 &&
	    tsig_key_parse("hmac-sha256:update.example:c2lnbmV0IGZ1enogdHNpZyBzZWNyZXQ=", &key,
	    err, sizeof(err)) != 0)
		abort();
	free(line);
	data += eol < len ? eol + 1 : eol;
	len -= eol < len ? eol + 1 : eol;
	rc = dnsupdate_parse_answer(data, len, len >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 0,
	    &key, request_mac, sizeof(request_mac), &out, err, sizeof(err));
	if (rc == 0 && out.rcode == 0 && out.tsig_error == 0) {
		printf("# NOERROR believed without a verified MAC (signed_ok %d)\n", out.signed_ok);
		return 0;
	}
	return 1;
}
