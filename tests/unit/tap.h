/*
 * NAME
 *	tap.h - the smallest Test Anything Protocol producer, for Signet's unit tests
 * SYNOPSIS
 *	TAP_OK(cond, "name %d", n);   TAP_STR_EQ(got, want, "name");   return tap_done();
 * DESCRIPTION
 *	Each check prints "ok N - name" or "not ok N - name" with what it got and what it
 *	wanted; tap_done() prints the plan and returns the exit status for main().
 *	automake's tap-driver.sh counts every check as one test.
 */
#ifndef SIGNET_TAP_H
#define SIGNET_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_count, tap_failed;

__attribute__((format(printf, 2, 3), unused))
static int tap_ok(int passed, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	if (!passed)
		tap_failed++;
	printf("%sok %d - ", passed ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return passed;
}

#define TAP_OK(cond, ...) tap_ok((cond) != 0, __VA_ARGS__)

#define TAP_STR_EQ(got, want, ...) do { \
	const char *tap_g_ = (got), *tap_w_ = (want); \
	int tap_p_ = tap_g_ != NULL && tap_w_ != NULL ? strcmp(tap_g_, tap_w_) == 0 : tap_g_ == tap_w_; \
	if (!tap_ok(tap_p_, __VA_ARGS__)) \
		printf("#   got:  \"%s\"\n#   want: \"%s\"\n", tap_g_ ? tap_g_ : "(null)", \
		    tap_w_ ? tap_w_ : "(null)"); \
} while (0)

#define TAP_INT_EQ(got, want, ...) do { \
	long long tap_g_ = (long long)(got), tap_w_ = (long long)(want); \
	if (!tap_ok(tap_g_ == tap_w_, __VA_ARGS__)) \
		printf("#   got:  %lld\n#   want: %lld\n", tap_g_, tap_w_); \
} while (0)

__attribute__((unused))
static int tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed == 0 ? 0 : 1;
}

#endif
