/*
 * NAME
 *	engine.h - between Signet's milter engine's listener and its connections
 * SYNOPSIS
 *	engine_serve(fd, is_tcp);	a new MTA connection, on a thread of its own
 *	engine_stop_connections(30);	after the listener closed
 * DESCRIPTION
 *	enginelisten.c accepts MTA connections; engine.c speaks the milter protocol on
 *	each, one detached thread per connection at a time (a thread whose connection ended
 *	waits a while for the next one), and implements the smfi_*() functions of
 *	engine-mfapi.h.  engine_serve() returns 0 when no thread could be started (the
 *	descriptor is then closed).  engine_stop_connections() shuts down the
 *	read side of the connections still open (replies already gathered still go out;
 *	the filter's abort and close callbacks run in their threads) and waits up to
 *	SECONDS for those connections to end; it returns how many are still open.
 */
#ifndef SIGNET_ENGINE_H
#define SIGNET_ENGINE_H

int	engine_serve(int fd, int is_tcp);
unsigned engine_stop_connections(unsigned seconds);

#endif
