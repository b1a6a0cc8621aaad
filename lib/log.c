/*
 * NAME
 *	log.c - logging to syslog or stderr, one sanitised line per call
 * DESCRIPTION
 *	The level is an atomic so a reload can change it while other threads log.
 *	On stderr each line carries a UTC timestamp and the level, which is what an operator
 *	running "signet -f" under a supervisor wants to read.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "lib/printable.h"
#include "lib/log.h"

static _Atomic int current_level = LOG_LEVEL_INFO;
static enum log_target current_target = LOG_TO_STDERR;

const char *log_level_name(enum log_level level)
{
	static const char *const names[] = {"error", "warning", "notice", "info", "debug"};

	return (unsigned)level < sizeof(names) / sizeof(names[0]) ? names[level] : "?";
}

void	log_init(enum log_target target, enum log_level level)
{
	current_target = target;
	current_level = level;
	if (target == LOG_TO_SYSLOG)
		openlog("signet", LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void	log_suspend(void)
{
	if (current_target == LOG_TO_SYSLOG)
		closelog();
}

void	log_resume(void)
{
	if (current_target == LOG_TO_SYSLOG)
		openlog("signet", LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void	log_set_level(enum log_level level)
{
	current_level = level;
}

int	log_enabled(enum log_level level)
{
	return (int)level <= current_level;
}

static int syslog_priority(enum log_level level)
{
	static const int priorities[] = {LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG};

	return priorities[level];
}

void	log_msg(enum log_level level, const char *fmt, ...)
{
	char	line[2048];
	va_list	ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	printable_in_place(line, NULL);
	if (current_target == LOG_TO_SYSLOG) {
		syslog(syslog_priority(level), "%s", line);
		return;
	}
	char	stamp[32];
	time_t	now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s signet[%s]: %s\n", stamp, log_level_name(level), line);
}
