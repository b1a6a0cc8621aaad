/*
 * NAME
 *	test-addrlist - unit tests of InternalHosts address lists
 */
#include <stdlib.h>
#include <string.h>

#include "conf/addrlist.h"
#include "tests/unit/tap.h"
#include "tests/unit/torture.h"

static void check_contains(const char *list_text, const char *addr, int want)
{
	char	err[256] = "";
	struct addrlist *list = addrlist_parse(list_text, err, sizeof(err));

	TAP_INT_EQ(list ? addrlist_contains_text(list, addr) : -1, want, "\"%s\" %s %s",
	    list_text, want ? "contains" : "does not contain", addr);
	addrlist_free(list);
}

static void check_rejects(const char *list_text)
{
	char	err[256] = "";
	struct addrlist *list = addrlist_parse(list_text, err, sizeof(err));

	TAP_OK(list == NULL && err[0] != '\0', "\"%s\" is refused (%s)", list_text, err);
	addrlist_free(list);
}

/* Ten entries: the list and its array, grown once past eight. */
static enum torture_outcome parse_ten(void *context)
{
	char	err[256] = "";
	struct addrlist *list = addrlist_parse("10.0.0.0/8, ::1, 192.0.2.1, 192.0.2.2, "
	    "192.0.2.3, 192.0.2.4, 192.0.2.5, 192.0.2.6, 2001:db8::/32, 198.51.100.0/24", err,
	    sizeof(err));
	int	right;

	(void)context;
	if (list == NULL) {
		if (strcmp(err, "out of memory") == 0)
			return TORTURE_ERROR;
		printf("#   err: \"%s\"\n", err);
		return TORTURE_WRONG;
	}
	right = addrlist_count(list) == 10 && addrlist_contains_text(list, "198.51.100.7");
	addrlist_free(list);
	return right ? TORTURE_DONE : TORTURE_WRONG;
}

int	main(void)
{
	check_contains("127.0.0.1", "127.0.0.1", 1);
	check_contains("127.0.0.1", "127.0.0.2", 0);
	check_contains("127.0.0.0/8, ::1", "127.9.8.7", 1);
	check_contains("127.0.0.0/8, ::1", "::1", 1);
	check_contains("127.0.0.0/8, ::1", "::2", 0);
	check_contains("10.0.0.0/8", "::ffff:10.1.2.3", 1);
	check_contains("192.168.1.0/25", "192.168.1.127", 1);
	check_contains("192.168.1.0/25", "192.168.1.128", 0);
	check_contains("2001:db8::/32", "2001:db8:ffff::1", 1);
	check_contains("2001:db8::/32", "2001:db9::1", 0);
	check_contains("0.0.0.0/0", "203.0.113.9", 1);
	check_contains("", "127.0.0.1", 0);
	check_contains("10.0.0.0/8", "not-an-address", 0);
	check_rejects("10.0.0.1/8");
	check_rejects("10.0.0.0/33");
	check_rejects("10.0.0.0/");
	check_rejects("10.0.0.0/08");
	check_rejects("300.1.1.1");
	check_rejects("example.com");
	check_rejects("::1/129");
	torture("a list of ten entries", parse_ten, NULL, TORTURE_NO_RECOVERY);
	return tap_done();
}
