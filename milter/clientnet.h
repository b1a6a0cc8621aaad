/*
 * NAME
 *	clientnet.h - the client network of a submission, and whether its user is new there
 * SYNOPSIS
 *	#include "milter/clientnet.h"
 *
 *	int is_new;
 *	if (!clientnet_check(store, auth_authen, client, 86400, time(NULL), &is_new, err,
 *	    sizeof(err))) ... store down: no warning either way ...
 *	else if (is_new) ... warn: user submits from a network not seen for it in 24 h ...
 * DESCRIPTION
 *	A stolen password is typically used from somewhere its owner never is.  A client
 *	is counted in its network, the /24 of an IPv4 address (an IPv4-mapped IPv6 address
 *	counts as IPv4) or the /64 of an IPv6 address, written as text ("192.0.2.0/24",
 *	"2001:db8:1:2::/64") by clientnet_of(); other address families have none (0).
 *
 *	clientnet_check() asks the rate store (ratestore.h) whether user submitted from that
 *	network within the last window seconds (NewClientWindow), and records that it does
 *	now; *is_new is set when it did not.  Being in the store, a fleet sharing Redis
 *	sees a network one daemon saw.  It returns 0 with err when the client has no
 *	network, the user name is unusable (mailuser.h) or the store did not answer.
 */
#ifndef SIGNET_CLIENTNET_H
#define SIGNET_CLIENTNET_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/socket.h>

#include "milter/ratestore.h"

int	clientnet_of(const struct sockaddr *sa, char *out, size_t size);
int	clientnet_check(struct ratestore *store, const char *user, const struct sockaddr *client,
	    uint32_t window, time_t now, int *is_new, char *err, size_t errlen);

#endif
