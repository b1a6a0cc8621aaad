/*
 * NAME
 *	mailuser.c - one comparison of user names and addresses (see mailuser.h)
 */
#include <string.h>

#include "lib/domain.h"
#include "milter/mailuser.h"

static int plain_bytes(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == 0x7f)
			return 0;
	}
	return 1;
}

/* Copies text into out with its domain lower-cased when it has a valid one; at is its
 * last '@' or NULL.  1 when the domain was valid. */
static int copy_key(const char *text, size_t len, const char *at, char *out, size_t size)
{
	size_t	local = at != NULL ? (size_t)(at - text) : 0;

	memcpy(out, text, len + 1);
	if (at == NULL || local == 0)
		return 0;
	return domain_check(at + 1, len - local - 1, 0, out + local + 1, size - local - 1) != 0;
}

int	mailuser_key(const char *user, char *out, size_t size)
{
	size_t	len = user != NULL ? strlen(user) : 0;

	if (len == 0 || len > MAILUSER_MAX || size <= len || !plain_bytes(user, len))
		return 0;
	if (!copy_key(user, len, strrchr(user, '@'), out, size))
		memcpy(out, user, len + 1);	/* domain_check() may have written half */
	return 1;
}

int	mailaddr_key(const char *address, char *out, size_t size)
{
	size_t	len = address != NULL ? strlen(address) : 0;
	const char *at = len ? strchr(address, '@') : NULL;

	if (len == 0 || len > MAILUSER_MAX || size <= len || !plain_bytes(address, len) ||
	    at == NULL || at == address || strchr(at + 1, '@') != NULL)
		return 0;
	return copy_key(address, len, at, out, size);
}

const char *mailuser_domain(const char *key)
{
	const char *at = strrchr(key, '@');

	if (at == NULL || at == key || domain_check(at + 1, strlen(at + 1), 0, NULL, 0) == 0)
		return NULL;
	return at + 1;
}
