/*
 * NAME
 *	detach.h - into the background, the starting process ending only once ready
 * SYNOPSIS
 *	detach_start(err, len);	fork; returns in the child only
 *	...			PID file, socket, privileges, services
 *	detach_ready(err, len);	the starting process now exits 0
 * DESCRIPTION
 *	detach_start() forks.  The starting process waits until the child calls
 *	detach_ready() and then exits 0; if the child exits first, the starting process
 *	exits 1.  The child becomes a session leader and returns 0; -1 with err set when
 *	nothing could be forked.  detach_ready() moves the working directory to "/", puts
 *	/dev/null on standard input, output and error, and tells the starting process;
 *	0 on success, -1 with err set.  Call detach_start() before any thread exists.
 */
#ifndef SIGNET_DETACH_H
#define SIGNET_DETACH_H

#include <stddef.h>

int	detach_start(char *err, size_t len);
int	detach_ready(char *err, size_t len);

#endif
