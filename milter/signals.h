/*
 * NAME
 *	signals.h - SIGHUP reloads, SIGTERM drains: signals around libmilter's own handling
 * SYNOPSIS
 *	signals_on_reload(reload_function);
 * DESCRIPTION
 *	libmilter's signal thread treats SIGHUP like SIGTERM (stop).  Signet wants SIGHUP to
 *	reload the configuration and keystore, and SIGTERM to let messages in flight finish
 *	before libmilter stops; see signals.c for how.  Both functions run in libmilter's
 *	signal thread, one at a time; after the drain function returns, SIGTERM goes on to
 *	libmilter, which stops.
 */
#ifndef SIGNET_SIGNALS_H
#define SIGNET_SIGNALS_H

void	signals_on_reload(void (*reload)(void));
void	signals_on_terminate(void (*drain)(void));

#endif
