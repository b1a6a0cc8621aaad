/*
 * NAME
 *	listener.h - socket options on the listening socket libmilter opened
 * DESCRIPTION
 *	listener_set_nodelay() sets TCP_NODELAY on every TCP listening socket of the process;
 *	call it after smfi_opensocket() and before anything else listens.  Returns how many
 *	sockets it changed (0 for a unix socket), -1 on error.
 */
#ifndef SIGNET_LISTENER_H
#define SIGNET_LISTENER_H

int	listener_set_nodelay(void);

#endif
