/*
 * NAME
 *	test-sendermap - unit tests of SenderMap: patterns, the default rule, file errors
 * DESCRIPTION
 *	Each case writes a small map and asks sendermap_allows() about a user and a From
 *	address, or checks the exact "FILE:LINE: message" an operator would see from
 *	"signet -n".  A map of a million users checks that load and lookups stay fast.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "milter/sendermap.h"
#include "tests/unit/tap.h"
#include "tests/unit/torture.h"

static char map_path[] = "/tmp/signet-test-sendermap-XXXXXX";

static void write_map(const char *text, size_t len)
{
	FILE   *fp = fopen(map_path, "w");

	if (fp == NULL || fwrite(text, 1, len, fp) != len || fclose(fp) != 0) {
		perror(map_path);
		exit(1);
	}
}

static struct sendermap *load_text(const char *text, char *err, size_t errlen)
{
	write_map(text, strlen(text));
	err[0] = '\0';
	return sendermap_load(map_path, err, errlen);
}

static const char example_map[] =
    "# USER             PATTERN...\n"
    "bob@example.com    *@example.org  sales@example.com   # bob also sells\n"
    "carol              @example.net\n"
    "\n"
    "   # an indented comment\n"
    "news@Example.COM   *@*.example.com\n"
    "role@example.com   role@example.com\r\n"
    "hash@example.com   a#b@example.com @Example.EDU\n"
    "svc@Corp_AD        svc@example.com\n";

static void check_allows(const struct sendermap *map, const char *user, const char *from,
    enum sender_verdict want)
{
	enum sender_verdict got = sendermap_allows(map, user, from);

	if (!TAP_OK(got == want, "user %s sending as %s: %s", user, from,
	    sender_verdict_text(want)))
		printf("#   got: %s\n", sender_verdict_text(got));
}

static void patterns_and_rules(void)
{
	char	err[512];
	struct sendermap *map = load_text(example_map, err, sizeof(err));

	if (!TAP_OK(map != NULL, "the example map loads")) {
		printf("#   err: %s\n", err);
		return;
	}
	TAP_INT_EQ(sendermap_users(map), 6, "six users listed");
	/* exact address */
	check_allows(map, "bob@example.com", "sales@example.com", SENDER_LISTED);
	check_allows(map, "bob@example.com", "sales2@example.com", SENDER_UNAUTHORIZED);
	check_allows(map, "role@example.com", "role@example.com", SENDER_LISTED);
	check_allows(map, "role@example.com", "other@example.com", SENDER_UNAUTHORIZED);
	/* *@domain and @domain: the domain itself, not its subdomains */
	check_allows(map, "bob@example.com", "anyone@example.org", SENDER_LISTED);
	check_allows(map, "bob@example.com", "anyone@sub.example.org", SENDER_UNAUTHORIZED);
	check_allows(map, "carol", "c@example.net", SENDER_LISTED);
	check_allows(map, "carol", "c@www.example.net", SENDER_UNAUTHORIZED);
	/* *@*.domain: subdomains at any depth, not the domain itself nor a mere suffix */
	check_allows(map, "news@example.com", "n@lists.example.com", SENDER_LISTED);
	check_allows(map, "news@example.com", "n@a.b.example.com", SENDER_LISTED);
	check_allows(map, "news@example.com", "n@example.com", SENDER_UNAUTHORIZED);
	check_allows(map, "news@example.com", "n@badexample.com", SENDER_UNAUTHORIZED);
	check_allows(map, "news@example.com", "n@example.com.evil", SENDER_UNAUTHORIZED);
	/* a listed user gets its line only, not the default rule as well */
	check_allows(map, "bob@example.com", "bob@example.com", SENDER_UNAUTHORIZED);
	/* the default rule: an unlisted user's own domain, not its subdomains */
	check_allows(map, "alice@example.com", "alice@example.com", SENDER_OWN_DOMAIN);
	check_allows(map, "alice@example.com", "ceo@example.com", SENDER_OWN_DOMAIN);
	check_allows(map, "alice@example.com", "alice@sub.example.com", SENDER_UNAUTHORIZED);
	check_allows(map, "alice@example.com", "alice@example.org", SENDER_UNAUTHORIZED);
	/* a user name without a domain matches nothing unless listed */
	check_allows(map, "dave", "dave@example.com", SENDER_UNAUTHORIZED);
	check_allows(map, "dave", "dave", SENDER_BAD_ADDRESS);
	/* case: domains fold, local parts and login names do not */
	check_allows(map, "BOB@EXAMPLE.COM", "x@example.org", SENDER_UNAUTHORIZED);
	check_allows(map, "BOB@EXAMPLE.COM", "bob@example.com", SENDER_OWN_DOMAIN);
	check_allows(map, "bob@EXAMPLE.com", "sales@Example.COM", SENDER_LISTED);
	check_allows(map, "bob@example.com", "Sales@example.com", SENDER_UNAUTHORIZED);
	check_allows(map, "bob@example.com", "X@EXAMPLE.ORG", SENDER_LISTED);
	check_allows(map, "news@example.com", "n@Lists.Example.Com", SENDER_LISTED);
	check_allows(map, "Carol", "c@example.net", SENDER_UNAUTHORIZED);
	check_allows(map, "alice@EXAMPLE.com", "x@example.COM", SENDER_OWN_DOMAIN);
	/* a '#' inside a word is not a comment; a CRLF line reads as LF */
	check_allows(map, "hash@example.com", "a#b@example.com", SENDER_LISTED);
	check_allows(map, "hash@example.com", "x@example.edu", SENDER_LISTED);
	/* a login whose '@' part is no domain is opaque: byte for byte, no default rule */
	check_allows(map, "svc@Corp_AD", "svc@example.com", SENDER_LISTED);
	check_allows(map, "svc@corp_ad", "svc@example.com", SENDER_UNAUTHORIZED);
	check_allows(map, "svc@corp_ad", "svc@corp_ad", SENDER_BAD_ADDRESS);
	/* From addresses that are not LOCAL@DOMAIN */
	check_allows(map, "alice@example.com", "@example.com", SENDER_BAD_ADDRESS);
	check_allows(map, "alice@example.com", "alice@", SENDER_BAD_ADDRESS);
	check_allows(map, "alice@example.com", "a@b@example.com", SENDER_BAD_ADDRESS);
	check_allows(map, "alice@example.com", "alice@example.com.", SENDER_BAD_ADDRESS);
	check_allows(map, "alice@example.com", "a lice@example.com", SENDER_BAD_ADDRESS);
	check_allows(map, "alice@example.com", "", SENDER_BAD_ADDRESS);
	check_allows(map, "", "alice@example.com", SENDER_UNAUTHORIZED);
	sendermap_free(map);
	/* no map: the default rule alone */
	check_allows(NULL, "alice@example.com", "x@example.com", SENDER_OWN_DOMAIN);
	check_allows(NULL, "alice@example.com", "x@example.org", SENDER_UNAUTHORIZED);
	check_allows(NULL, "carol", "carol@example.com", SENDER_UNAUTHORIZED);
	TAP_OK(sender_verdict_allowed(SENDER_LISTED) && sender_verdict_allowed(SENDER_OWN_DOMAIN) &&
	    !sender_verdict_allowed(SENDER_UNAUTHORIZED) &&
	    !sender_verdict_allowed(SENDER_BAD_ADDRESS), "listed and own domain are allowed");
}

/* The map text refused with exactly "PATH:" want. */
static void check_error(const char *what, const char *text, size_t len, const char *want)
{
	char	err[512], full[512];
	struct sendermap *map;

	write_map(text, len);
	err[0] = '\0';
	map = sendermap_load(map_path, err, sizeof(err));
	snprintf(full, sizeof(full), "%s:%s", map_path, want);
	TAP_OK(map == NULL, "%s: refused", what);
	TAP_STR_EQ(err, full, "%s: the error names the file and line", what);
	sendermap_free(map);
}

#define ERROR_CASE(what, text, want) check_error(what, text, sizeof(text) - 1, want)
#define FORMS "(want ADDRESS, @DOMAIN, *@DOMAIN or *@*.DOMAIN)"

static void errors(void)
{
	char	line[5000], err[512];

	ERROR_CASE("an address without a domain",
	    "# signet.senders\n\n\n\n\nbob@example.com  @example.com\nbob2@example.com x@\n",
	    "7: bad pattern \"x@\" " FORMS);
	ERROR_CASE("no '@'", "bob@example.com example.com\n",
	    "1: bad pattern \"example.com\" " FORMS);
	ERROR_CASE("'@' alone", "bob@example.com @\n", "1: bad pattern \"@\" " FORMS);
	ERROR_CASE("a bare '*' domain", "bob@example.com *@*\n", "1: bad pattern \"*@*\" " FORMS);
	ERROR_CASE("a wildcard inside a domain", "bob@example.com *@ex*.com\n",
	    "1: bad pattern \"*@ex*.com\" " FORMS);
	ERROR_CASE("a wildcard inside a local part", "bob@example.com s*@example.com\n",
	    "1: bad pattern \"s*@example.com\" (a wildcard stands only for a whole local "
	    "part: *@DOMAIN)");
	ERROR_CASE("a subdomain wildcard with a local part", "bob@example.com s@*.example.com\n",
	    "1: bad pattern \"s@*.example.com\" (a subdomain wildcard takes any local part: "
	    "*@*.DOMAIN)");
	ERROR_CASE("a whole top-level domain", "bob@example.com *@*.com\n",
	    "1: bad pattern \"*@*.com\" (*@*.TLD would allow a whole top-level domain)");
	ERROR_CASE("two '@'", "bob@example.com a@b@example.com\n",
	    "1: bad pattern \"a@b@example.com\" " FORMS);
	ERROR_CASE("a domain with a bad label", "bob@example.com *@exa_mple.com\n",
	    "1: bad pattern \"*@exa_mple.com\" " FORMS);
	ERROR_CASE("a line without a pattern", "ok@example.com @example.com\nbob@example.com\n",
	    "2: user \"bob@example.com\" has no pattern");
	ERROR_CASE("a pattern-less line with a comment", "bob@example.com # nothing\n",
	    "1: user \"bob@example.com\" has no pattern");
	ERROR_CASE("a line for *", "* @example.com\n", "1: no line for \"*\": a user without a "
	    "line may send from the domain of its name");
	ERROR_CASE("a duplicate user", "a@example.com @example.com\nbob@example.com @x.org\n"
	    "c@example.com @example.com\nbob@example.com @y.org\n",
	    "4: user \"bob@example.com\" listed again (first on line 2)");
	ERROR_CASE("a duplicate user, domain in another case",
	    "bob@Example.com @x.org\nbob@EXAMPLE.COM @y.org\n",
	    "2: user \"bob@example.com\" listed again (first on line 1)");
	ERROR_CASE("the earliest of several duplicates",
	    "z@x.org @x.org\na@x.org @x.org\nz@x.org @x.org\na@x.org @x.org\n",
	    "3: user \"z@x.org\" listed again (first on line 1)");
	ERROR_CASE("a NUL byte", "bob@example.com @exa\0mple.com\n",
	    "1: DEL or control character in line");
	ERROR_CASE("a control character", "ok@x.org @x.org\nbob@example.com\x1b[2J @x.org\n",
	    "2: DEL or control character in line");
	ERROR_CASE("a lone CR", "bob@example.com @x.org\rcarol @y.org\n",
	    "1: DEL or control character in line");
	memset(line, 'a', sizeof(line));
	memcpy(line, "bob@example.com @", 17);
	memcpy(line + 4097, "\n", 2);
	check_error("a line over 4096 bytes", line, strlen(line), "1: line longer than 4096 bytes");
	memcpy(line + 4096, "\n", 2);
	write_map(line, strlen(line));
	TAP_OK(sendermap_load(map_path, err, sizeof(err)) == NULL && strstr(err, ":1: bad pattern")
	    != NULL, "a line of 4096 bytes is read whole (its 4079-byte domain is refused: %s)",
	    err);
	TAP_OK(sendermap_load("/nonexistent/senders", err, sizeof(err)) == NULL &&
	    strcmp(err, "/nonexistent/senders: cannot open: No such file or directory") == 0,
	    "a missing file is named (%s)", err);
}

static enum torture_outcome load_example(void *context)
{
	char	err[512] = "";
	struct sendermap *map;
	int	right;

	(void)context;
	write_map(example_map, strlen(example_map));
	map = sendermap_load(map_path, err, sizeof(err));
	if (map == NULL) {
		if (strstr(err, "out of memory") != NULL)
			return TORTURE_ERROR;
		printf("#   err: \"%s\"\n", err);
		return TORTURE_WRONG;
	}
	right = sendermap_allows(map, "news@example.com", "n@x.example.com") == SENDER_LISTED;
	sendermap_free(map);
	return right ? TORTURE_DONE : TORTURE_WRONG;
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (now.tv_nsec - start->tv_nsec) / 1e9;
}

/* A million users, written in a shuffled order: loads in seconds and answers fast. */
static void million_users(void)
{
	const unsigned users = 1000000, lookups = 200000;
	FILE   *fp = fopen(map_path, "w");
	struct timespec start;
	char	err[512], user[64], from[64];
	struct sendermap *map;
	unsigned right = 0;
	double	load, lookup;

	for (unsigned i = 0; i < users; i++) {
		unsigned n = (unsigned)(i * 7919ull % users);	/* prime to users: a permutation */

		fprintf(fp, "user%u@d%u.example  *@d%u.example  user%u@shared.example\n", n,
		    n % 1000, n % 1000, n);
	}
	fclose(fp);
	clock_gettime(CLOCK_MONOTONIC, &start);
	map = sendermap_load(map_path, err, sizeof(err));
	load = seconds_since(&start);
	if (!TAP_OK(map != NULL && sendermap_users(map) == users, "a map of %u users loads in "
	    "%.2f s", users, load))
		printf("#   err: %s\n", map == NULL ? err : "wrong count");
	if (map == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (unsigned i = 0; i < lookups; i++) {
		unsigned n = (unsigned)(i * 104729ull % users);

		snprintf(user, sizeof(user), "user%u@d%u.example", n, n % 1000);
		snprintf(from, sizeof(from), i % 2 ? "user%u@shared.example" : "x@d%u.example",
		    i % 2 ? n : n % 1000);
		right += sendermap_allows(map, user, from) == SENDER_LISTED;
		snprintf(from, sizeof(from), "user%u@shared.example", n + 1);
		right += sendermap_allows(map, user, from) == SENDER_UNAUTHORIZED;
	}
	lookup = seconds_since(&start);
	TAP_INT_EQ(right, 2 * lookups, "%u lookups among %u users answer right", 2 * lookups,
	    users);
	/* A binary search costs ~20 cache misses (4 times as many under AddressSanitizer,
	 * whose shadow memory is read beside every access); a scan would cost milliseconds. */
	TAP_OK(lookup / (2 * lookups) < 500e-6, "a lookup takes %.2f us (a search, not a scan "
	    "of the million)", lookup / (2 * lookups) * 1e6);
	TAP_OK(load < 30, "loading took %.2f s (under 30 s even with the sanitizers)", load);
	sendermap_free(map);
}

int	main(void)
{
	int	fd = mkstemp(map_path);

	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(fd);
	patterns_and_rules();
	errors();
	torture("sendermap_load of the example map", load_example, NULL, TORTURE_NO_RECOVERY);
	million_users();
	unlink(map_path);
	return tap_done();
}
