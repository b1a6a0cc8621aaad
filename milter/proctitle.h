/*
 * NAME
 *	proctitle.h - name each of the daemon's processes for ps(1) and top(1)
 * SYNOPSIS
 *	proctitle_init(argc, argv);  ...  proctitle_set("signet: signer");
 * DESCRIPTION
 *	proctitle_set() sets the thread name (comm, what "ps -e" and top show; 15
 *	characters) and writes the title over the memory of the command-line arguments
 *	(what "ps -ef" shows), cut to the room the original arguments had.
 */
#ifndef SIGNET_PROCTITLE_H
#define SIGNET_PROCTITLE_H

void	proctitle_init(int argc, char **argv);
void	proctitle_set(const char *title);

#endif
