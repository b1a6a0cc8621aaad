/*
 * NAME
 *	addrlist.c - lists of IPv4/IPv6 addresses and CIDR blocks
 * DESCRIPTION
 *	Entries are stored as 16-byte addresses: IPv4 entries as IPv4-mapped IPv6
 *	(::ffff:a.b.c.d) with the prefix length raised by 96, so one comparison routine
 *	serves both families and a mapped client address matches an IPv4 entry.
 *	A CIDR whose host bits are set (10.1.2.3/8) is refused: it is almost always a typo.
 * SEE ALSO
 *	addrlist.h
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/addrlist.h"
#include "lib/alloc.h"
#include "lib/grow.h"
#include "conf/listitem.h"

struct addr_entry {
	unsigned char addr[16];
	unsigned prefix;		/* 0..128 */
};

struct addrlist {
	struct addr_entry *entries;
	size_t	count;
};

static const unsigned char v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static int parse_address(const char *text, unsigned char out[16], int *is_v4)
{
	struct in_addr a4;

	if (inet_pton(AF_INET, text, &a4) == 1) {
		memcpy(out, v4_mapped_prefix, 12);
		memcpy(out + 12, &a4, 4);
		*is_v4 = 1;
		return 1;
	}
	*is_v4 = 0;
	return inet_pton(AF_INET6, text, out) == 1;
}

static int host_bits_clear(const unsigned char addr[16], unsigned prefix)
{
	for (unsigned bit = prefix; bit < 128; bit++)
		if (addr[bit / 8] & (0x80 >> (bit % 8)))
			return 0;
	return 1;
}

/* One entry "ADDR" or "ADDR/LEN", already cut out of the list. */
static int parse_entry(const char *entry, struct addr_entry *out, char *err, size_t errlen)
{
	char	addr_text[64];
	const char *slash = strchr(entry, '/');
	size_t	addr_len = slash ? (size_t)(slash - entry) : strlen(entry);
	int	is_v4;

	if (addr_len == 0 || addr_len >= sizeof(addr_text)) {
		snprintf(err, errlen, "\"%s\" is not an IP address", entry);
		return 0;
	}
	memcpy(addr_text, entry, addr_len);
	addr_text[addr_len] = '\0';
	if (!parse_address(addr_text, out->addr, &is_v4)) {
		snprintf(err, errlen, "\"%s\" is not an IP address", addr_text);
		return 0;
	}
	unsigned max = is_v4 ? 32 : 128;
	out->prefix = max;
	if (slash) {
		const char *p = slash + 1;
		unsigned len = 0;

		if (*p == '\0' || strlen(p) > 3 || (p[0] == '0' && p[1] != '\0')) {
			snprintf(err, errlen, "\"%s\": bad prefix length", entry);
			return 0;
		}
		for (; *p; p++) {
			if (*p < '0' || *p > '9') {
				snprintf(err, errlen, "\"%s\": bad prefix length", entry);
				return 0;
			}
			len = len * 10 + (unsigned)(*p - '0');
		}
		if (len > max) {
			snprintf(err, errlen, "\"%s\": prefix length over %u", entry, max);
			return 0;
		}
		out->prefix = len;
	}
	if (is_v4)
		out->prefix += 96;
	if (!host_bits_clear(out->addr, out->prefix)) {
		snprintf(err, errlen, "\"%s\": address has bits set beyond the prefix length", entry);
		return 0;
	}
	return 1;
}

struct addrlist *addrlist_parse(const char *text, char *err, size_t errlen)
{
	struct addrlist *list = mem_calloc(1, sizeof(*list));
	size_t	cap = 0;
	const char *p = text;

	if (list == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	char	entry[128];
	int	status;

	while ((status = list_next_item(&p, entry, sizeof(entry))) != 0) {
		if (status < 0) {
			snprintf(err, errlen, "\"%.40s...\" is not an IP address", entry);
			goto fail;
		}
		struct addr_entry *grown = array_grow(list->entries, &cap, list->count + 1,
		    sizeof(*grown));

		if (grown == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		list->entries = grown;
		if (!parse_entry(entry, &list->entries[list->count], err, errlen))
			goto fail;
		list->count++;
	}
	return list;
fail:
	addrlist_free(list);
	return NULL;
}

void	addrlist_free(struct addrlist *list)
{
	if (list == NULL)
		return;
	free(list->entries);
	free(list);
}

size_t	addrlist_count(const struct addrlist *list)
{
	return list ? list->count : 0;
}

static int prefix_matches(const unsigned char a[16], const unsigned char b[16], unsigned prefix)
{
	unsigned whole = prefix / 8, rest = prefix % 8;

	if (memcmp(a, b, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

static int contains_addr(const struct addrlist *list, const unsigned char addr[16])
{
	for (size_t i = 0; list != NULL && i < list->count; i++)
		if (prefix_matches(list->entries[i].addr, addr, list->entries[i].prefix))
			return 1;
	return 0;
}

int	addrlist_contains(const struct addrlist *list, const struct sockaddr *sa)
{
	unsigned char addr[16];

	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		memcpy(addr, v4_mapped_prefix, 12);
		memcpy(addr + 12, &sin->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	} else {
		return 0;
	}
	return contains_addr(list, addr);
}

int	addrlist_contains_text(const struct addrlist *list, const char *address)
{
	unsigned char addr[16];
	int	is_v4;

	if (address == NULL || !parse_address(address, addr, &is_v4))
		return 0;
	return contains_addr(list, addr);
}
