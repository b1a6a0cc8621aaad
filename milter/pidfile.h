/*
 * NAME
 *	pidfile.h - the PID file: written before the socket listens, locked while we run
 * SYNOPSIS
 *	struct pidfile *pf = pidfile_create(path, err, len);
 *	...
 *	pidfile_remove(pf);
 * DESCRIPTION
 *	pidfile_create() writes the process id to path and keeps the file open and locked
 *	for the life of the process; NULL with err set when it cannot, or when another
 *	running process holds the lock (that file is left alone).  A relative path is taken
 *	from the working directory now.  pidfile_remove() removes the file and frees pf
 *	(NULL is allowed).
 */
#ifndef SIGNET_PIDFILE_H
#define SIGNET_PIDFILE_H

#include <stddef.h>

struct pidfile;

struct pidfile *pidfile_create(const char *path, char *err, size_t len);
void	pidfile_remove(struct pidfile *pf);

#endif
