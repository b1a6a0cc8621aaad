/*
 * NAME
 *	nullmilter - a milter that does nothing, on Signet's own engine (benchmarks only)
 * SYNOPSIS
 *	contrib/bench/nullmilter SOCKET
 * DESCRIPTION
 *	The floor under Signet through a real MTA: what any milter costs the MTA and the
 *	machine when it takes the steps Signet takes, over the same engine, and does no work.
 *	postfix-bench.py and sendmail-bench.py run it beside Signet (unless --no-null-milter),
 *	so that "Signet against no milter" can be read against "nothing against no milter".
 *
 *	It negotiates as milter/adapter.c does with the own engine in Mode sv without
 *	RateLimits (the defaults): the same actions, the leading space of header values,
 *	unknown commands skipped, no reply asked for connect, HELO, MAIL, RCPT, DATA, each
 *	header, end of headers and each body chunk (on unix and TCP sockets alike), the same
 *	macro lists for MAIL, RCPT and DATA.  At end of message, the one step answered, it
 *	adds one header field as long as an RSA-2048 DKIM-Signature (X-Null-Milter, so the
 *	benchmarks' check for a signature holds it for unsigned) and accepts.  SOCKET is libmilter's syntax (unix:PATH,
 *	inet:PORT@HOST); a unix socket is made writable by all.  SIGTERM stops it.  Never
 *	installed.
 *
 *	NULLMILTER_STEPS in its environment changes that: "answered" answers MAIL, RCPT and
 *	end of headers too (Signet before 22e98b9); "mail" answers MAIL (Signet at 22e98b9);
 *	"noreply" is the default (its name before); "minimal" skips RCPT, DATA and end of
 *	headers, answering MAIL: the fewest steps a DKIM signer could take.
 *
 *	With NULLMILTER_BURN_US=N (microseconds, at most 100000) it spins on the CPU for N
 *	microseconds of its thread's CPU time at end of message before it answers: a milter
 *	that costs the machine what Signet costs it, and answers what the null milter
 *	answers.  Against Signet, that tells the MTA's cost of sharing the cores from the
 *	MTA's cost of Signet's answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"
#include "milter/engine-mfapi.h"

#define STEPS	(SMFIP_HDR_LEADSPC | SMFIP_NOUNKNOWN | SMFIP_NR_CONN | SMFIP_NR_HELO | \
	SMFIP_NR_DATA | SMFIP_NR_HDR | SMFIP_NR_BODY)
#define QUIET	(SMFIP_NR_RCPT | SMFIP_NR_EOH)	/* as Signet in Mode sv, no RateLimits */

static unsigned long steps = STEPS | QUIET | SMFIP_NR_MAIL;	/* NULLMILTER_STEPS */

static long burn_us;		/* NULLMILTER_BURN_US, or 0 */

static char added[512];		/* the field's value: 'x' as long as a DKIM-Signature */

static sfsistat null_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0, unsigned long *pf1,
    unsigned long *pf2, unsigned long *pf3)
{
	(void)f2;
	(void)f3;
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE);
	if ((f0 & SMFIF_SETSYMLIST) != 0 &&
	    smfi_setsymlist(ctx, SMFIM_ENVFROM, "i {auth_type} {auth_authen} {tls_version} "
	    "{cipher}") == MI_SUCCESS && smfi_setsymlist(ctx, SMFIM_ENVRCPT, "") == MI_SUCCESS &&
	    smfi_setsymlist(ctx, SMFIM_DATA, "") == MI_SUCCESS)
		*pf0 |= SMFIF_SETSYMLIST;
	*pf1 = f1 & steps;
	*pf2 = 0;
	*pf3 = 0;
	return SMFIS_CONTINUE;
}

static sfsistat null_no_reply(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_NOREPLY;
}

static sfsistat null_connect(SMFICTX *ctx, char *host, struct sockaddr *addr)
{
	(void)host;
	(void)addr;
	return null_no_reply(ctx);
}

static sfsistat null_string(SMFICTX *ctx, char *s)
{
	(void)s;
	return null_no_reply(ctx);
}

static sfsistat null_argv(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return SMFIS_CONTINUE;
}

static sfsistat null_header(SMFICTX *ctx, char *name, char *value)
{
	(void)name;
	(void)value;
	return null_no_reply(ctx);
}

static sfsistat null_continue(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat null_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
	(void)data;
	(void)len;
	return null_no_reply(ctx);
}

/* burn - spins until this thread has used us microseconds more of CPU time */
static void burn(long us)
{
	struct timespec now;
	long long start, end;

	if (us <= 0 || clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now) != 0)
		return;
	start = now.tv_sec * 1000000LL + now.tv_nsec / 1000;
	end = start + us;
	while (start < end && clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now) == 0)
		start = now.tv_sec * 1000000LL + now.tv_nsec / 1000;
}

static sfsistat null_eom(SMFICTX *ctx)
{
	burn(burn_us);
	return smfi_insheader(ctx, 0, "X-Null-Milter", added) == MI_SUCCESS ? SMFIS_ACCEPT :
	    SMFIS_TEMPFAIL;
}

int	main(int argc, char **argv)
{
	struct smfiDesc desc = {
		.xxfi_name = "nullmilter",
		.xxfi_version = SMFI_VERSION,
		.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST,
		.xxfi_connect = null_connect,
		.xxfi_helo = null_string,
		.xxfi_envfrom = null_argv,
		.xxfi_envrcpt = null_argv,
		.xxfi_data = null_no_reply,
		.xxfi_header = null_header,
		.xxfi_eoh = null_continue,
		.xxfi_body = null_body,
		.xxfi_eom = null_eom,
		.xxfi_abort = null_continue,
		.xxfi_close = null_continue,
		.xxfi_negotiate = null_negotiate,
	};
	const char *choice;

	if (argc != 2) {
		fprintf(stderr, "usage: nullmilter SOCKET\n");
		return 2;
	}
	if ((choice = getenv("NULLMILTER_STEPS")) == NULL)
		choice = "";
	if (strcmp(choice, "answered") == 0)
		steps = STEPS;
	else if (strcmp(choice, "mail") == 0)
		steps = STEPS | QUIET;
	else if (strcmp(choice, "minimal") == 0)
		steps = STEPS | SMFIP_NORCPT | SMFIP_NODATA | SMFIP_NOEOH;
	else if (choice[0] != '\0' && strcmp(choice, "noreply") != 0) {
		fprintf(stderr, "nullmilter: NULLMILTER_STEPS must be answered, mail, noreply "
		    "or minimal\n");
		return 2;
	}
	if (getenv("NULLMILTER_BURN_US") != NULL) {
		char   *end;

		burn_us = strtol(getenv("NULLMILTER_BURN_US"), &end, 10);
		if (*end != '\0' || burn_us < 0 || burn_us > 100000) {
			fprintf(stderr, "nullmilter: NULLMILTER_BURN_US must be 0 to 100000\n");
			return 2;
		}
	}
	memset(added, 'x', sizeof(added) - 1);
	added[0] = ' ';		/* the leading space, as Signet writes its fields */
	(void)umask(0);		/* a unix socket the MTA's user may connect to */
	if (smfi_register(desc) != MI_SUCCESS || smfi_setconn(argv[1]) != MI_SUCCESS ||
	    smfi_opensocket(1) != MI_SUCCESS) {
		fprintf(stderr, "nullmilter: cannot listen on %s\n", argv[1]);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
