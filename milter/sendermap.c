/*
 * NAME
 *	sendermap.c - SenderMap: From addresses allowed to each authenticated user
 * DESCRIPTION
 *	See sendermap.h for the file and the rules.  Each pattern is checked once, at load
 *	time, and kept in a normal form that a lookup compares with strcmp():
 *
 *	    local@domain	an exact address (domain lower-cased)
 *	    @domain		any address at domain
 *	    @*.domain		any address at a proper subdomain of domain
 *
 *	A user's patterns lie one after another in one block, each ended by a NUL and the
 *	list by an empty string; the user table (usertable.h) holds where they begin.
 * SEE ALSO
 *	sendermap.h, usertable.h, mailuser.h
 */
#include <stdlib.h>
#include <string.h>

#include "lib/alloc.h"
#include "lib/buffer.h"
#include "lib/domain.h"
#include "milter/mailuser.h"
#include "milter/sendermap.h"
#include "milter/usertable.h"

struct sendermap {
	struct usertable users;
	struct buffer patterns;
};

#define PATTERN_FORMS	"want ADDRESS, @DOMAIN, *@DOMAIN or *@*.DOMAIN"

/* Writes the normal form of word into out (MAILUSER_MAX + 1 bytes); 0 with why set. */
static int pattern_normalize(const char *word, char *out, const char **why)
{
	const char *at = strrchr(word, '@');
	char	domain[DOMAIN_TEXT_MAX + 1];
	int	labels, any_local, subdomains;
	size_t	local_len;

	*why = PATTERN_FORMS;
	if (at == NULL || strlen(word) > MAILUSER_MAX)
		return 0;
	local_len = (size_t)(at - word);
	any_local = local_len == 0 || (local_len == 1 && word[0] == '*');
	subdomains = strncmp(at + 1, "*.", 2) == 0;
	labels = domain_check(at + 1 + 2 * subdomains, strlen(at + 1 + 2 * subdomains), 0,
	    domain, sizeof(domain));
	if (labels == 0)
		return 0;
	if (subdomains && !any_local) {
		*why = "a subdomain wildcard takes any local part: *@*.DOMAIN";
		return 0;
	}
	if (subdomains && labels < 2) {
		*why = "*@*.TLD would allow a whole top-level domain";
		return 0;
	}
	if (any_local) {
		memcpy(out, subdomains ? "@*." : "@", subdomains ? 4 : 2);
		memcpy(out + (subdomains ? 3 : 1), domain, strlen(domain) + 1);
		return 1;
	}
	if (memchr(word, '*', local_len) != NULL) {
		*why = "a wildcard stands only for a whole local part: *@DOMAIN";
		return 0;
	}
	return mailaddr_key(word, out, MAILUSER_MAX + 1);
}

/* One "USER PATTERN..." line: the patterns go to map->patterns. */
static int read_user(void *context, const struct linefile *lf, const char *user, char *rest,
    size_t *value, char *err, size_t errlen)
{
	struct sendermap *map = context;
	char	pattern[MAILUSER_MAX + 1];
	const char *why;
	char   *word;
	int	count = 0;

	if (strcmp(user, "*") == 0) {
		linefile_fail(lf, err, errlen, "no line for \"*\": a user without a line may "
		    "send from the domain of its name");
		return -1;
	}
	*value = map->patterns.len;
	while ((word = usertable_word(&rest)) != NULL) {
		if (!pattern_normalize(word, pattern, &why)) {
			linefile_fail(lf, err, errlen, "bad pattern \"%.80s\" (%s)", word, why);
			return -1;
		}
		if (!buffer_append(&map->patterns, pattern, strlen(pattern) + 1)) {
			linefile_fail(lf, err, errlen, "out of memory");
			return -1;
		}
		count++;
	}
	if (count == 0) {
		linefile_fail(lf, err, errlen, "user \"%.80s\" has no pattern", user);
		return -1;
	}
	if (!buffer_append(&map->patterns, "", 1)) {
		linefile_fail(lf, err, errlen, "out of memory");
		return -1;
	}
	return 1;
}

struct sendermap *sendermap_load(const char *path, char *err, size_t errlen)
{
	struct sendermap *map = mem_calloc(1, sizeof(*map));

	if (map == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	if (!usertable_load(&map->users, path, read_user, map, err, errlen)) {
		sendermap_free(map);
		return NULL;
	}
	return map;
}

void	sendermap_free(struct sendermap *map)
{
	if (map == NULL)
		return;
	usertable_free(&map->users);
	buffer_free(&map->patterns);
	free(map);
}

size_t	sendermap_users(const struct sendermap *map)
{
	return map != NULL ? map->users.count : 0;
}

/* address is normal (mailaddr_key()), domain points into it. */
static int pattern_matches(const char *pattern, const char *address, const char *domain)
{
	size_t	len, parent;

	if (pattern[0] != '@')
		return strcmp(pattern, address) == 0;
	if (strncmp(pattern, "@*.", 3) != 0)
		return strcmp(pattern + 1, domain) == 0;
	parent = strlen(pattern + 3);
	len = strlen(domain);
	return len > parent + 1 && domain[len - parent - 1] == '.' &&
	    strcmp(domain + len - parent, pattern + 3) == 0;
}

enum sender_verdict sendermap_allows(const struct sendermap *map, const char *user,
    const char *from_address)
{
	char	address[MAILUSER_MAX + 1], key[MAILUSER_MAX + 1];
	const struct usertable_entry *entry;
	const char *domain, *own, *p;

	if (!mailaddr_key(from_address, address, sizeof(address)))
		return SENDER_BAD_ADDRESS;
	domain = strrchr(address, '@') + 1;
	if (!mailuser_key(user, key, sizeof(key)))
		return SENDER_UNAUTHORIZED;
	entry = map != NULL ? usertable_find(&map->users, key) : NULL;
	if (entry == NULL) {
		own = mailuser_domain(key);
		return own != NULL && strcmp(own, domain) == 0 ? SENDER_OWN_DOMAIN :
		    SENDER_UNAUTHORIZED;
	}
	for (p = map->patterns.data + entry->value; *p != '\0'; p += strlen(p) + 1)
		if (pattern_matches(p, address, domain))
			return SENDER_LISTED;
	return SENDER_UNAUTHORIZED;
}

int	sender_verdict_allowed(enum sender_verdict verdict)
{
	return verdict == SENDER_LISTED || verdict == SENDER_OWN_DOMAIN;
}

const char *sender_verdict_text(enum sender_verdict verdict)
{
	switch (verdict) {
	case SENDER_LISTED:
		return "listed";
	case SENDER_OWN_DOMAIN:
		return "own domain";
	case SENDER_UNAUTHORIZED:
		return "not authorized";
	case SENDER_BAD_ADDRESS:
		return "not an address";
	}
	return "unknown";
}
