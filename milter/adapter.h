/*
 * NAME
 *	adapter.h - the one module that knows the milter API (libmilter's, or Signet's engine)
 * SYNOPSIS
 *	#include "milter/adapter.h"
 *
 *	adapter_register();  adapter_open_socket(spec, err, sizeof(err));
 *	adapter_set_nodelay(err, sizeof(err));  adapter_run();
 * DESCRIPTION
 *	adapter_register() hands the callback table to the engine; adapter_open_socket()
 *	binds and listens on the milter socket (unix:PATH, inet:PORT@HOST, ...);
 *	adapter_set_nodelay() sets TCP_NODELAY on a TCP one, before anything else listens;
 *	adapter_run() runs the engine's loop (smfi_main) until it stops, and returns 1 when it stopped
 *	cleanly.  Each returns 0 with err filled (or logged, for
 *	adapter_run) on failure.  Nothing else in the daemon calls smfi_* or includes
 *	<libmilter/mfapi.h> or milter/engine-mfapi.h (the engine itself aside).
 */
#ifndef SIGNET_ADAPTER_H
#define SIGNET_ADAPTER_H

#include <stddef.h>

int	adapter_register(void);
int	adapter_open_socket(const char *spec, char *err, size_t errlen);
int	adapter_set_nodelay(char *err, size_t errlen);
int	adapter_run(void);

#endif
