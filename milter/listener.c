/*
 * NAME
 *	listener.c - no Nagle stall between Signet's replies
 * DESCRIPTION
 *	At end of message Signet answers with several small writes (one per header change,
 *	then accept).  With Nagle's algorithm on, the second write waits for the MTA to ACK
 *	the first, and the MTA, having nothing to send, delays that ACK (~40 ms on Linux):
 *	OpenDKIM pays this on every message over TCP (DEPENDENCIES.md).  libmilter never sets
 *	TCP_NODELAY and does not expose its sockets.
 *
 *	On Linux, a connection returned by accept() inherits TCP_NODELAY from the listening
 *	socket.  So once libmilter has opened its listening socket (smfi_opensocket), we find
 *	it among our descriptors -- a TCP socket with SO_ACCEPTCONN set -- and set the option
 *	there; every MTA connection then has it, with no change to libmilter.  This runs at
 *	start-up, before the metrics or any other listener exists, so the only listening TCP
 *	socket is libmilter's.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "milter/listener.h"
#include "lib/log.h"

static int is_tcp_listener(int fd)
{
	int	value = 0, type = 0, domain = 0;
	socklen_t len = sizeof(value);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &len) != 0 || !value)
		return 0;
	len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM)
		return 0;
	len = sizeof(domain);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0)
		return 0;
	return domain == AF_INET || domain == AF_INET6;
}

int	listener_set_nodelay(void)
{
	struct rlimit lim;
	int	changed = 0, limit = 1024;

	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY &&
	    lim.rlim_cur < 65536)
		limit = (int)lim.rlim_cur;
	for (int fd = 0; fd < limit; fd++) {
		int	one = 1;

		if (!is_tcp_listener(fd))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
			log_msg(LOG_LEVEL_ERROR, "setting TCP_NODELAY on the milter socket: %s",
			    strerror(errno));
			return -1;
		}
		changed++;
	}
	return changed;
}
