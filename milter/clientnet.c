/*
 * NAME
 *	clientnet.c - client networks (/24, /64) and new-network warnings (see clientnet.h)
 */
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "milter/clientnet.h"
#include "milter/mailuser.h"

int	clientnet_of(const struct sockaddr *sa, char *out, size_t size)
{
	static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	char	text[INET6_ADDRSTRLEN];
	unsigned char addr[16];

	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET) {
		memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const unsigned char *a6 = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;

		if (memcmp(a6, v4_mapped, 12) != 0) {
			memcpy(addr, a6, 8);
			memset(addr + 8, 0, 8);
			inet_ntop(AF_INET6, addr, text, sizeof(text));
			return snprintf(out, size, "%s/64", text) < (int)size;
		}
		memcpy(addr, a6 + 12, 4);
	} else {
		return 0;
	}
	addr[3] = 0;
	inet_ntop(AF_INET, addr, text, sizeof(text));
	return snprintf(out, size, "%s/24", text) < (int)size;
}

int	clientnet_check(struct ratestore *store, const char *user, const struct sockaddr *client,
    uint32_t window, time_t now, int *is_new, char *err, size_t errlen)
{
	char	key[MAILUSER_MAX + 1], network[RATESTORE_NETWORK_MAX];
	struct ratestore_seen q = {.user = key, .network = network, .window = window, .now = now};

	*is_new = 0;
	if (!clientnet_of(client, network, sizeof(network))) {
		snprintf(err, errlen, "client address without a network");
		return 0;
	}
	if (!mailuser_key(user, key, sizeof(key))) {
		snprintf(err, errlen, "user name unusable");
		return 0;
	}
	if (!ratestore_client_seen(store, &q, err, errlen))
		return 0;
	*is_new = !q.seen;
	return 1;
}
