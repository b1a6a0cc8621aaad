/*
 * NAME
 *	proctitle.c - process titles: "signet: milter", "signet: keeper", "signet: signer"
 * DESCRIPTION
 *	The kernel shows /proc/PID/cmdline from the argument strings, which lie end to end
 *	in memory; overwriting them (and clearing the rest) changes what ps prints.  The
 *	strings are copied by main() before anything reads them after this, so nothing of
 *	ours uses argv once a title is set (getopt has run, the configuration path is
 *	copied).
 */
#include <string.h>
#include <sys/prctl.h>

#include "milter/proctitle.h"

static char *area;
static size_t area_len;

void	proctitle_init(int argc, char **argv)
{
	if (argc < 1 || argv[0] == NULL)
		return;
	area = argv[0];
	area_len = strlen(argv[0]) + 1;
	for (int i = 1; i < argc; i++) {
		if (argv[i] != area + area_len)	/* not contiguous: use what we have */
			break;
		area_len += strlen(argv[i]) + 1;
	}
}

void	proctitle_set(const char *title)
{
	prctl(PR_SET_NAME, title, 0, 0, 0);
	if (area == NULL || area_len < 2)
		return;
	size_t	n = strlen(title);

	if (n > area_len - 1)
		n = area_len - 1;
	memset(area, 0, area_len);
	memcpy(area, title, n);
}
