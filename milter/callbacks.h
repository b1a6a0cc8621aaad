/*
 * NAME
 *	callbacks.h - Signet's libmilter callbacks
 * DESCRIPTION
 *	callbacks_register() hands the callback table to libmilter.  This is the only module
 *	that includes <libmilter/mfapi.h> besides main.c's start-up calls.
 */
#ifndef SIGNET_CALLBACKS_H
#define SIGNET_CALLBACKS_H

int	callbacks_register(void);

#endif
