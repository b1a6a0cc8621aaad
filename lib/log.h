/*
 * NAME
 *	log.h - Signet's logging: syslog when a daemon, stderr in the foreground
 * SYNOPSIS
 *	log_init(LOG_TO_STDERR, LOG_LEVEL_INFO);  log_msg(LOG_LEVEL_INFO, "%s: signed", qid);
 * DESCRIPTION
 *	Messages below the configured level are dropped.  Every line is cleaned of control
 *	characters before it is written, since parts of it (queue ids, domains) come from
 *	the network.  Safe to call from any thread.
 */
#ifndef SIGNET_LOG_H
#define SIGNET_LOG_H

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_NOTICE,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};
enum log_target {
	LOG_TO_STDERR,
	LOG_TO_SYSLOG,
};

const char *log_level_name(enum log_level level);
void	log_init(enum log_target target, enum log_level level);
/* Around closing a forked child's inherited descriptors: syslog's socket is closed
 * first (so that it cannot later close a descriptor that reused its number), then
 * opened again. */
void	log_suspend(void);
void	log_resume(void);
void	log_set_level(enum log_level level);
int	log_enabled(enum log_level level);
void	log_msg(enum log_level level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
