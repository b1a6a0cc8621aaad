/*
 * NAME
 *	torture.h - make every allocation of a unit fail in turn (curl's "torture" idea)
 * SYNOPSIS
 *	#include "tests/unit/tap.h"
 *	#include "tests/unit/torture.h"
 *
 *	static enum torture_outcome load_once(void *context)
 *	{
 *		... run the unit; TORTURE_ERROR when it reported the error it should,
 *		TORTURE_DONE when it succeeded with the right result, TORTURE_WRONG otherwise
 *		(an error without its message, a wrong result) ...
 *	}
 *	torture("conf_load of a full file", load_once, NULL, TORTURE_NO_RECOVERY);
 * DESCRIPTION
 *	torture() runs the callback with alloc_fail_at(n) (lib/alloc.h) for n = 1, 2, ...
 *	until a run completes without the failure firing; that last run must succeed
 *	(TORTURE_DONE).  A run in which the failure fired must return TORTURE_ERROR, unless
 *	the unit legitimately recovers from that allocation (it falls back, or a retry
 *	allocates again): with TORTURE_MAY_RECOVER it may then return TORTURE_DONE, and the
 *	callback is what checks that the result is still right.  Three TAP lines: the count
 *	of allocations made to fail, the runs that went wrong, and (under AddressSanitizer)
 *	that no allocation is left unreachable afterwards.  LeakSanitizer's report at exit
 *	says where a leak was allocated.
 */
#ifndef SIGNET_TORTURE_H
#define SIGNET_TORTURE_H

#include <stdio.h>

#include "lib/alloc.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define TORTURE_LEAK_CHECK() __lsan_do_recoverable_leak_check()
#else
#define TORTURE_LEAK_CHECK() 0
#endif

/* More allocations than any unit here makes for one input: a runaway loop, not a test. */
#define TORTURE_MAX_RUNS 100000UL

enum torture_outcome {
	TORTURE_ERROR,		/* the unit reported the error, as it should */
	TORTURE_DONE,		/* the unit succeeded, with the right result */
	TORTURE_WRONG,		/* anything else; the callback prints why as "# ..." */
};

enum torture_recovery {
	TORTURE_NO_RECOVERY,	/* every failed allocation must end in TORTURE_ERROR */
	TORTURE_MAY_RECOVER,	/* the unit may get round a failure, with a right result */
};

typedef enum torture_outcome (*torture_fn)(void *context);

/* Returns how many allocations were made to fail. */
__attribute__((unused))
static unsigned long torture(const char *what, torture_fn run, void *context,
    enum torture_recovery recovery)
{
	unsigned long nth, wrong = 0, recovered = 0;
	enum torture_outcome outcome = TORTURE_WRONG;
	int	fired = 1;

	for (nth = 1; fired && nth <= TORTURE_MAX_RUNS; nth++) {
		alloc_fail_at(nth);
		outcome = run(context);
		fired = alloc_failed();
		alloc_fail_at(0);
		if (!fired)
			break;
		if (outcome == TORTURE_DONE)
			recovered++;
		if (outcome == TORTURE_WRONG ||
		    (outcome == TORTURE_DONE && recovery == TORTURE_NO_RECOVERY)) {
			printf("# %s: allocation %lu failed: %s\n", what, nth, outcome ==
			    TORTURE_DONE ? "reported success" : "wrong outcome");
			wrong++;
		}
	}
	if (!TAP_OK(!fired && nth > 1 && outcome == TORTURE_DONE, "%s: %lu allocation%s made to "
	    "fail in turn, then a run without failure succeeds", what, nth - 1, nth == 2 ? "" :
	    "s"))
		printf("#   last run: %s\n", fired ? "still failing" : outcome == TORTURE_DONE ?
		    "no allocation at all" : "failed without an allocation failing");
	if (recovery == TORTURE_NO_RECOVERY)
		TAP_INT_EQ(wrong, 0, "%s: each failed allocation returned an error", what);
	else
		TAP_INT_EQ(wrong, 0, "%s: each failed allocation returned an error or, %lu times, "
		    "was got round with a right result", what, recovered);
	TAP_INT_EQ(TORTURE_LEAK_CHECK(), 0, "%s: nothing leaked (LeakSanitizer)", what);
	return nth - 1;
}

#endif
