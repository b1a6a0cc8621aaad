/*
 * NAME
 *	proc.c - CPU time and peak memory of the milter's process trees, from /proc
 *
 * DESCRIPTION
 *	A sample scans /proc once and adds up every --pid process and its descendants, so
 *	a forked signer process counts; reaped children count through cutime+cstime.
 *	Peak memory is the sum of their VmHWM.
 *
 *	A process's own CPU time is read from its CPU-time clock (clock_getcpuclockid(3)),
 *	in nanoseconds, all its threads included, exited ones too: /proc's utime and stime
 *	come in clock ticks (10 ms), too coarse for a milter that handles a few dozen
 *	messages a second (OpenDKIM over TCP) in a round of a few seconds.  Only when that
 *	clock cannot be read are the ticks used.
 */
#include "milterload.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct proc_entry {
	pid_t	pid;
	pid_t	ppid;
	unsigned long long own_ticks;	/* utime + stime */
	unsigned long long child_ticks;	/* cutime + cstime: reaped children */
};

/*
 * ppid, and utime+stime plus cutime+cstime (so that a child reaped during the run still
 * counts): fields 4 and 14-17 of /proc/P/stat (proc(5)), after the ")" of the name.
 */
static int proc_stat(pid_t pid, struct proc_entry *e)
{
	char	path[64], text[4096], *p;
	long long field[14];		/* fields 4 .. 17 */
	FILE   *fp;
	size_t	n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	n = fread(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	text[n] = '\0';
	if ((p = strrchr(text, ')')) == NULL || p[1] != ' ' || p[2] == '\0' || p[3] != ' ')
		return -1;
	p += 3;				/* past ") S" */
	for (int i = 0; i < 14; i++) {
		char   *end;

		field[i] = strtoll(p, &end, 10);
		if (end == p)
			return -1;
		p = end;
	}
	e->pid = pid;
	e->ppid = (pid_t)field[0];
	e->own_ticks = e->child_ticks = 0;
	for (int i = 10; i < 14; i++)
		*(i < 12 ? &e->own_ticks : &e->child_ticks) += field[i] > 0 ?
		    (unsigned long long)field[i] : 0;
	return 0;
}

static unsigned long long ticks_ns(unsigned long long ticks)
{
	long	tck = sysconf(_SC_CLK_TCK);

	return tck > 0 ? ticks * (1000000000ULL / (unsigned long long)tck) : 0;
}

/* The process's own CPU time in ns from its CPU-time clock, else from its ticks. */
static unsigned long long proc_cpu_ns(const struct proc_entry *e)
{
	struct timespec ts;
	clockid_t clock;

	if (clock_getcpuclockid(e->pid, &clock) == 0 && clock_gettime(clock, &ts) == 0)
		return (unsigned long long)ts.tv_sec * 1000000000ULL +
		    (unsigned long long)ts.tv_nsec;
	return ticks_ns(e->own_ticks);
}

static unsigned long long proc_hwm_kb(pid_t pid)
{
	char	path[64], line[256];
	unsigned long long kb = 0;
	FILE   *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, "VmHWM:", 6) == 0) {
			kb = strtoull(line + 6, NULL, 10);
			break;
		}
	fclose(fp);
	return kb;
}

static int proc_entry_cmp(const void *a, const void *b)
{
	pid_t	x = ((const struct proc_entry *)a)->pid, y = ((const struct proc_entry *)b)->pid;

	return (x > y) - (x < y);
}

static struct proc_entry *proc_scan(size_t *count)
{
	struct proc_entry *v = NULL, e = { 0, 0, 0, 0 };
	size_t	n = 0, cap = 0;
	struct dirent *de;
	DIR    *d;

	if ((d = opendir("/proc")) == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9'
		    || de->d_name[strspn(de->d_name, "0123456789")] != '\0'
		    || proc_stat((pid_t)strtol(de->d_name, NULL, 10), &e) < 0)
			continue;
		if (n == cap) {
			struct proc_entry *nv;

			cap = cap ? cap * 2 : 512;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				break;
			v = nv;
		}
		v[n++] = e;
	}
	closedir(d);
	if (v != NULL)
		qsort(v, n, sizeof(*v), proc_entry_cmp);
	*count = n;
	return v;
}

static int pid_is_root(const struct config *cfg, pid_t pid)
{
	for (size_t i = 0; i < cfg->npids; i++)
		if (cfg->pids[i] == pid)
			return 1;
	return 0;
}

static int proc_in_trees(const struct config *cfg, const struct proc_entry *v, size_t n,
    const struct proc_entry *e)
{
	for (int depth = 0; e != NULL && depth < 256; depth++) {
		struct proc_entry key;

		if (pid_is_root(cfg, e->pid))
			return 1;
		if (e->ppid <= 0)
			return 0;
		key.pid = e->ppid;
		e = bsearch(&key, v, n, sizeof(*v), proc_entry_cmp);
	}
	return 0;
}

void tree_sample(const struct config *cfg, struct tree_sample *s, int with_hwm)
{
	size_t	n = 0;
	struct proc_entry *v;

	memset(s, 0, sizeof(*s));
	if (cfg->npids == 0)
		return;
	v = proc_scan(&n);
	for (size_t i = 0; i < n; i++) {
		if (!proc_in_trees(cfg, v, n, &v[i]))
			continue;
		s->cpu_ns += proc_cpu_ns(&v[i]) + ticks_ns(v[i].child_ticks);
		s->roots_found += (size_t)pid_is_root(cfg, v[i].pid);
		if (with_hwm)
			s->hwm_kb += proc_hwm_kb(v[i].pid);
	}
	free(v);
}
