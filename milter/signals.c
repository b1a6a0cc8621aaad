/*
 * NAME
 *	signals.c - make SIGHUP a reload although the milter engine reads it as "stop"
 * DESCRIPTION
 *	Said here of libmilter, and true of Signet's own engine too (enginelisten.c does the
 *	same, on purpose, so that this file serves both).
 *	smfi_main() blocks SIGHUP, SIGTERM and SIGINT in every thread and starts a thread
 *	that takes them with sigwait(3); on SIGHUP or SIGTERM it stops the milter.  There is
 *	no libmilter setting to change that, and a second thread waiting for SIGHUP would race
 *	libmilter's for each signal.
 *
 *	So Signet defines sigwait() itself.  The program's definition takes precedence over
 *	the C library's for every caller, libmilter included (ordinary ELF symbol
 *	interposition: the executable is searched first).  It waits with sigwaitinfo(2) and,
 *	when the signal is SIGHUP and a reload function is set, runs the reload and waits
 *	again.  On SIGTERM it first runs the drain function -- new messages are tempfailed,
 *	those in flight finish -- and only then returns SIGTERM to libmilter.  The drain must
 *	happen before libmilter hears of it: once stopped, libmilter's session dispatcher
 *	(its worker pool) no longer serves open connections, so a message caught in flight
 *	would hang.  SIGINT keeps its libmilter meaning (stop at once).  Nothing else in
 *	Signet calls sigwait().
 *
 *	libmilter blocks the three signals only in the thread that calls smfi_main(), just
 *	before it starts its signal thread.  Threads made earlier (libunbound's and the DNS
 *	dispatcher, built at start-up) would keep them unblocked, and the kernel hands a
 *	process-directed signal to any thread that does not block it: default action, the
 *	process ends.  Hence signals_block(), called first thing in main(): before the first
 *	thread, and before the socket listens and the PID file exists, when anyone may send
 *	a signal (systemd knows the pid of "signet -f" from the start).  A signal sent while
 *	Signet starts stays pending until libmilter's signal thread waits here, by which
 *	time the reload and drain functions are set: it is acted on, not fatal.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>

#include "milter/signals.h"

static void (*_Atomic reload_function)(void);
static void (*_Atomic drain_function)(void);

int	signals_block(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	return pthread_sigmask(SIG_BLOCK, &set, NULL) == 0;
}

void	signals_on_reload(void (*reload)(void))
{
	reload_function = reload;
}

void	signals_on_terminate(void (*drain)(void))
{
	drain_function = drain;
}

int	sigwait(const sigset_t *set, int *sig)
{
	for (;;) {
		int	got = sigwaitinfo(set, NULL);
		void	(*reload)(void) = reload_function;

		if (got < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (got == SIGHUP && reload != NULL) {
			reload();
			continue;
		}
		if (got == SIGTERM) {
			void	(*drain)(void) = drain_function;

			if (drain != NULL)
				drain();
		}
		*sig = got;
		return 0;
	}
}
