/*
 * NAME
 *	printable.h - make bytes from the network safe for a header field or a log line
 * SYNOPSIS
 *	#include "lib/printable.h"
 *
 *	printable_copy(out, sizeof(out), value, "()\\");	(for an RFC 8601 comment)
 *	printable_in_place(line, NULL);
 * DESCRIPTION
 *	Every byte outside printable ASCII (0x20 to 0x7e) becomes '?', and so does every
 *	byte listed in also (e.g. "%" for libmilter's reply text, "()\\" for a comment, " "
 *	where a blank would end a token).  What comes out can never end a header field,
 *	start another, or carry a control character into syslog.
 *
 *	printable_copy() writes at most size - 1 bytes and a NUL; it returns 1 when all of
 *	text fit, 0 when out holds only a prefix.
 */
#ifndef SIGNET_PRINTABLE_H
#define SIGNET_PRINTABLE_H

#include <stddef.h>

int	printable_copy(char *out, size_t size, const char *text, const char *also);
void	printable_in_place(char *text, const char *also);

#endif
