/*
 * NAME
 *	tokenuri.h - PKCS#11 URIs (RFC 7512) of token keys, as the keystore records them
 * SYNOPSIS
 *	#include "keys/tokenuri.h"
 * DESCRIPTION
 *	token_uri_format() writes "pkcs11:token=LABEL;id=ID;object=NAME;type=private",
 *	every byte outside RFC 3986's unreserved set percent-encoded.  token_uri_parse()
 *	reads the path attributes token, id, object and type of such a URI (any others, and
 *	a query part, are ignored: they cannot make a key easier to find); it wants token and
 *	at least one of id and object, and type private when type is given.
 * DIAGNOSTICS
 *	token_uri_parse() returns -1 with why[size] saying what is wrong.
 */
#ifndef SIGNET_TOKENURI_H
#define SIGNET_TOKENURI_H

#include <stddef.h>

#define TOKEN_LABEL_MAX		32	/* CK_TOKEN_INFO.label */
#define TOKEN_OBJECT_MAX	320	/* "DOMAIN/SELECTOR" and then some */
#define TOKEN_ID_MAX		320

struct token_uri {
	char	token[TOKEN_LABEL_MAX + 1];
	char	object[TOKEN_OBJECT_MAX + 1];	/* "" when absent */
	unsigned char id[TOKEN_ID_MAX];
	size_t	id_len;				/* 0 when absent */
};

int	token_uri_parse(const char *uri, struct token_uri *out, char *why, size_t size);
int	token_uri_format(const char *token, const unsigned char *id, size_t id_len,
	    const char *object, char *out, size_t size);

#endif
