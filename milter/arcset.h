/*
 * NAME
 *	arcset.h - a message's ARC header fields, grouped into ARC Sets and checked for shape
 * SYNOPSIS
 *	#include "milter/arcset.h"
 *
 *	struct arcset *arc = arcset_new();
 *	kind = arcset_kind_of(name);			... for each header field
 *	if (kind != ARCSET_NOT_ARC)
 *		arcset_note(arc, kind, field);		... field: its number in the header
 *	status = arcset_read(arc, &header, time(NULL));	... once the header has ended
 *	... arc->sets, arc->set[i - 1].as_sig.d, arc->set[i - 1].payload, arc->reason ...
 *	arcset_free(arc);
 * DESCRIPTION
 *	The three ARC fields (RFC 8617 section 4.1): ARC-Authentication-Results (AAR),
 *	ARC-Message-Signature (AMS) and ARC-Seal (AS).  arcset_note() remembers where each
 *	is in the header, for at most ARCSET_MAX_FIELDS fields (50 sets of three); more are
 *	only counted, and make the chain fail.  arcset_read() reads them from the header as
 *	dkimhdr.c keeps it, and checks the structure as RFC 8617 section 5.2 steps 1 to 3
 *	say:
 *	  - no ARC field: ARCSET_NONE;
 *	  - every field has an instance: an AAR begins with "i=" 1*2DIGIT ";" (section
 *	    4.1.1, CFWS allowed around), an AMS or AS is a valid tag list with an i= of 1 to
 *	    2 digits; instances are 1 to 50 (section 4.2.1).  The ABNF of sections 4.1.2
 *	    and 4.1.3 writes an AMS's and an AS's i= first; Signet takes it anywhere in the
 *	    list, as the tag-list grammar they import does (RFC 6376 section 3.2: order is
 *	    not significant) and as draft-era sealers wrote it;
 *	  - the seal of the highest instance N does not say cv=fail (step 2);
 *	  - each instance 1..N has exactly one field of each kind (step 3);
 *	  - every seal reads as an ARC-Seal (dkimsig_parse_kind: a, b, d, s required, no
 *	    h=), its cv= is none for instance 1 and pass above it;
 *	  - the AMS of instance N reads as an ARC-Message-Signature, and its h= does not
 *	    name ARC-Seal (section 4.1.2; it forbids sealers to sign any ARC field, but
 *	    draft-era sealers signed ARC-Authentication-Results, and signing it or an AMS
 *	    breaks nothing a validator relies on, so only a signed seal is refused).
 *	    Older AMS fields that do not read are no reason for the chain to fail: their
 *	    status is kept for "oldest-pass".
 *	Any failure is ARCSET_INVALID with a short reason (for an A-R comment) in reason.
 *
 *	One chain per message: two seals of one instance (RFC 8617's [ARC-MULTI] with two
 *	algorithms, experimental) fail as any duplicate does.
 *
 *	set[i - 1] is instance i, with the field numbers of its AAR, AMS and AS, the AAR's
 *	authres-payload (the text after "i=N;", a span into the header), the fields read by
 *	dkimsig.c, and cv=.  Nothing in it is allocated apart from the struct itself.
 */
#ifndef SIGNET_ARCSET_H
#define SIGNET_ARCSET_H

#include <stddef.h>
#include <time.h>

#include "lib/span.h"
#include "milter/dkimhdr.h"
#include "milter/dkimsig.h"

#define ARCSET_MAX_SETS		50	/* RFC 8617 section 4.2.1 and 5.2 */
#define ARCSET_MAX_FIELDS	(3 * ARCSET_MAX_SETS)
#define ARCSET_REASON_MAX	128

enum arcset_kind {
	ARCSET_NOT_ARC,
	ARCSET_AAR,
	ARCSET_AMS,
	ARCSET_AS,
};

enum arcset_cv {
	ARCSET_CV_NONE,
	ARCSET_CV_PASS,
	ARCSET_CV_FAIL,
};

enum arcset_status {
	ARCSET_NONE,		/* no ARC field */
	ARCSET_VALID,		/* the structure holds: the signatures are to be checked */
	ARCSET_INVALID,		/* the chain fails; reason says why */
};

struct arcset_instance {
	size_t	aar, ams, as;		/* field numbers in the header */
	struct span payload;		/* the AAR after "i=N;" */
	struct dkimsig ams_sig;		/* status DKIMSIG_OK when the AMS reads */
	struct dkimsig as_sig;
	enum arcset_cv cv;
};

struct arcset_field {
	enum arcset_kind kind;
	size_t	field;
	unsigned instance;		/* 0 until read, or when the field has none */
};

struct arcset {
	struct arcset_field fields[ARCSET_MAX_FIELDS];
	size_t	count;
	size_t	beyond;			/* ARC fields past ARCSET_MAX_FIELDS */
	unsigned sets;			/* N, once arcset_read() said ARCSET_VALID */
	struct arcset_instance set[ARCSET_MAX_SETS];
	char	reason[ARCSET_REASON_MAX];
};

/* The kind of a field by its name (ASCII case and blanks before the colon aside). */
enum arcset_kind arcset_kind_of(const char *name);

/* NULL when memory runs out. */
struct arcset *arcset_new(void);
void	arcset_free(struct arcset *arc);

/* 1 when kept; 0 when over ARCSET_MAX_FIELDS (counted: the chain will fail). */
int	arcset_note(struct arcset *arc, enum arcset_kind kind, size_t field);

/* header must hold every noted field (dkimhdr_add's must_keep) and outlive arc. */
enum arcset_status arcset_read(struct arcset *arc, const struct dkimhdr *header, time_t now);

/* The highest instance any noted field names, fields without a readable one aside; 0
 * when none has one.  For a sealer of a chain whose structure failed: its set is one
 * above (RFC 8617 section 5.1, step 2). */
unsigned arcset_highest_instance(const struct arcset *arc, const struct dkimhdr *header);

#endif
