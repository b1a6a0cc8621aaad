/*
 * NAME
 *	alloc.h - allocation that tests can make fail
 * SYNOPSIS
 *	#include "lib/alloc.h"
 * DESCRIPTION
 *	mem_malloc(), mem_calloc(), mem_realloc() and mem_strdup() behave as the C library
 *	functions they wrap (NULL when memory runs out).  Code on the message path allocates
 *	through them so that a unit test can make the Nth allocation from now fail
 *	(alloc_fail_at()) and check that every path reports the error and leaks nothing,
 *	curl's "torture" idea.  Disarmed, the cost is one relaxed atomic load.
 */
#ifndef SIGNET_ALLOC_H
#define SIGNET_ALLOC_H

#include <stddef.h>

void   *mem_malloc(size_t size);
void   *mem_calloc(size_t count, size_t size);
void   *mem_realloc(void *ptr, size_t size);
char   *mem_strdup(const char *s);

/* Tests: the nth allocation from now fails (1: the next one), and only that one; 0
 * disarms.  alloc_failed() says whether the armed failure has happened. */
void	alloc_fail_at(unsigned long nth);
int	alloc_failed(void);

#endif
