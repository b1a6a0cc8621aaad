/*
 * NAME
 *	alloc.c - allocation wrappers with one injectable failure, for tests
 * DESCRIPTION
 *	See alloc.h.  The countdown is process-wide and atomic, so a test may arm it while
 *	other threads allocate; only the allocation that takes it to zero fails.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "lib/alloc.h"

static atomic_ulong countdown;		/* 0: disarmed */
static atomic_int fired;

/* 1 when this allocation is the one that must fail; errno is then ENOMEM, as POSIX has
 * the C library set it, so that messages built from strerror(errno) read as they would. */
static int must_fail(void)
{
	unsigned long left = atomic_load_explicit(&countdown, memory_order_relaxed);

	while (left != 0) {
		if (atomic_compare_exchange_weak(&countdown, &left, left - 1)) {
			if (left == 1) {
				atomic_store(&fired, 1);
				errno = ENOMEM;
				return 1;
			}
			return 0;
		}
	}
	return 0;
}

void   *mem_malloc(size_t size)
{
	return must_fail() ? NULL : malloc(size);
}

void   *mem_calloc(size_t count, size_t size)
{
	return must_fail() ? NULL : calloc(count, size);
}

void   *mem_realloc(void *ptr, size_t size)
{
	return must_fail() ? NULL : realloc(ptr, size);
}

char   *mem_strdup(const char *s)
{
	return must_fail() ? NULL : strdup(s);
}

void	alloc_fail_at(unsigned long nth)
{
	atomic_store(&fired, 0);
	atomic_store(&countdown, nth);
}

int	alloc_failed(void)
{
	return atomic_load(&fired);
}
