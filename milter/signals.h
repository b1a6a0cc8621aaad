/*
 * NAME
 *	signals.h - SIGHUP reloads, SIGTERM drains: signals around the milter engine's own handling
 * SYNOPSIS
 *	signals_block();	first thing in main(), before the first thread is made
 *	signals_on_reload(reload_function);
 * DESCRIPTION
 *	libmilter's signal thread (and Signet's engine's, which copies it) treats SIGHUP like
 *	SIGTERM (stop).  Signet wants SIGHUP to
 *	reload the configuration and keystore, and SIGTERM to let messages in flight finish
 *	before libmilter stops; see signals.c for how.  Both functions run in libmilter's
 *	signal thread, one at a time; after the drain function returns, SIGTERM goes on to
 *	libmilter, which stops.
 *
 *	signals_block() blocks SIGHUP, SIGTERM and SIGINT in the calling thread, so that
 *	every thread made after it inherits the mask and only libmilter's signal thread
 *	takes them; 0 on failure.  Call it before any thread starts (the resolver's, the
 *	metrics server's) and before the socket listens: a thread that leaves them unblocked,
 *	or a start-up still running with them unblocked, gets them with their default
 *	action, and the process dies of a SIGHUP meant as a reload.
 */
#ifndef SIGNET_SIGNALS_H
#define SIGNET_SIGNALS_H

int	signals_block(void);
void	signals_on_reload(void (*reload)(void));
void	signals_on_terminate(void (*drain)(void));

#endif
