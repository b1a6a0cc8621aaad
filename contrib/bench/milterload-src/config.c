/*
 * NAME
 *	config.c - milterload's command line: options, milter sockets, derived values
 *
 * DESCRIPTION
 *	config_parse() fills a struct config from argv or exits: 2 and the usage on a bad
 *	option or value, 0 and the usage on stdout for --help.  Socket addresses are
 *	resolved here, once, so a worker never calls getaddrinfo().  config_derive()
 *	computes what Postfix's smtpd would say about the client (its name in
 *	SMFIC_CONNECT, {_}, {client_addr}).
 */
#include "milterload.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

static const char *const verdict_names[] = { "continue", "accept", "reject", "tempfail",
    "discard" };

static void usage(FILE *fp)
{
	fputs("usage: milterload [options] SOCKET [SOCKET...]\n"
	    "  SOCKET           unix:/path | local:/path | inet:PORT@HOST; several = a chain\n"
	    "  -c N             worker threads, one connection (per milter) each (1)\n"
	    "  -n N             messages in all (1000); or -t SECONDS to run that long\n"
	    "  -m N             messages per connection before QUIT and reconnect (10)\n"
	    "  -s BYTES         size of the generated message (4096); or -f FILE\n"
	    "  --auth USER      send {auth_authen}=USER, {auth_type}=PLAIN at MAIL\n"
	    "  --client IP      client address (127.0.0.1); --client-name NAME ([IP])\n"
	    "  --helo NAME      (bench.example); --from ADDR (bench@bench.example)\n"
	    "  --rcpt ADDR      repeatable (rcpt@example.net)\n"
	    "  --pid PID        repeatable: measure CPU and peak RSS of PID and descendants\n"
	    "  --expect HEADER  repeatable: a message without this header added is missing\n"
	    "  --expect-reply C continue|accept|reject|tempfail|discard (continue or accept)\n"
	    "  --warmup N       messages per worker before timing (2)\n"
	    "  --nodelay        TCP_NODELAY on inet sockets (Postfix does not)\n"
	    "  --timeout SEC    per-read timeout (30)\n"
	    "  -q               only the summary line\n", fp);
}

static void complain(const char *fmt, va_list ap) PRINTF_LIKE(1, 0);
static void usage_error(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* "milterload: " and the message, a line on stderr. */
static void complain(const char *fmt, va_list ap)
{
	fputs("milterload: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs("\n", stderr);
}

static void usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	complain(fmt, ap);
	va_end(ap);
	usage(stderr);
	exit(2);
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	complain(fmt, ap);
	va_end(ap);
	exit(2);
}

static unsigned long parse_number(const char *opt, const char *arg, unsigned long min,
    unsigned long max)
{
	char   *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' || v < min || v > max)
		usage_error("%s %s: want a whole number from %lu to %lu", opt, arg, min, max);
	return v;
}

static int parse_verdict(const char *arg)
{
	for (size_t i = 0; i < sizeof(verdict_names) / sizeof(verdict_names[0]); i++)
		if (strcmp(arg, verdict_names[i]) == 0)
			return (int)i;
	usage_error("--expect-reply %s: want continue, accept, reject, tempfail or discard",
	    arg);
	return V_DEFAULT;
}

static int resolve(struct endpoint *ep, const char *host, const char *port, int family)
{
	struct addrinfo hints, *res;
	int	err;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((err = getaddrinfo(host, port, &hints, &res)) != 0)
		fatal("%s: %s", ep->spec, gai_strerror(err));
	memcpy(&ep->addr, res->ai_addr, res->ai_addrlen);
	ep->addr_len = res->ai_addrlen;
	ep->family = res->ai_family;
	freeaddrinfo(res);
	return 0;
}

/* unix:/path, local:/path, inet:PORT@HOST, inet6:PORT@HOST, inet:HOST:PORT. */
static void endpoint_parse(struct endpoint *ep, const char *spec)
{
	const char *colon = strchr(spec, ':');
	char	host[256], port[16];
	const char *rest, *at, *sep;
	int	family = AF_UNSPEC;

	ep->spec = spec;
	if (colon == NULL)
		usage_error("%s: want unix:/path or inet:PORT@HOST", spec);
	rest = colon + 1;
	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ep->addr;

		if (*rest == '\0' || strlen(rest) >= sizeof(sun->sun_path))
			usage_error("%s: bad socket path", spec);
		memset(sun, 0, sizeof(*sun));
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, rest, strlen(rest));
		ep->family = AF_UNIX;
		ep->addr_len = (socklen_t)sizeof(*sun);
		return;
	}
	if (strncmp(spec, "inet6:", 6) == 0)
		family = AF_INET6;
	else if (strncmp(spec, "inet:", 5) != 0)
		usage_error("%s: want unix:/path or inet:PORT@HOST", spec);
	if ((at = strchr(rest, '@')) != NULL) {		/* libmilter: PORT@HOST */
		snprintf(port, sizeof(port), "%.*s", (int)(at - rest), rest);
		snprintf(host, sizeof(host), "%s", at + 1);
	} else if ((sep = strrchr(rest, ':')) != NULL) {	/* Postfix: HOST:PORT */
		snprintf(host, sizeof(host), "%.*s", (int)(sep - rest), rest);
		snprintf(port, sizeof(port), "%s", sep + 1);
	} else {
		snprintf(port, sizeof(port), "%s", rest);
		snprintf(host, sizeof(host), "%s", family == AF_INET6 ? "::1" : "127.0.0.1");
	}
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	parse_number(spec, port, 1, 65535);
	resolve(ep, host[0] ? host : "127.0.0.1", port, family);
}

/* Where an option's argument goes in struct config. */
enum opt_kind {
	K_FLAG,			/* int: 1, no argument */
	K_TEXT,			/* const char *: the argument */
	K_TEXTS,		/* const char *[], counted at count_at: the argument added */
	/* K_PIDS .. K_MS take a whole number within min .. max */
	K_PIDS,			/* pid_t[], counted at count_at: a number added */
	K_UINT,			/* unsigned: a number */
	K_ULONG,		/* unsigned long: a number */
	K_SECONDS,		/* double: a number */
	K_MS,			/* int: a number of seconds, times 1000 */
	K_VERDICT		/* int: an enum verdict by its name */
};

#define AT(field) offsetof(struct config, field)

/*
 * Every option but -h/--help: its name ("-c": short; "--auth": long, and getopt_long()
 * returns LONG_BASE + its index), where its argument goes, and the bounds of a number;
 * for K_TEXTS, max is how many at most (0: as many as argv holds).  The getopt strings
 * are made from it, long options in this order (getopt_long() names ambiguous ones so).
 */
static const struct opt_spec {
	const char *name;
	enum opt_kind kind;
	size_t	at, count_at;
	unsigned long min, max;
} opt_specs[] = {
	{ "-c", K_UINT, AT(workers), 0, 1, 4096 },
	{ "-n", K_ULONG, AT(total), 0, 1, 1000000000UL },
	{ "-t", K_SECONDS, AT(duration_s), 0, 1, 86400 },
	{ "-m", K_UINT, AT(per_conn), 0, 1, 100000000UL },
	{ "-s", K_ULONG, AT(size), 0, 1, 1024UL * 1024 * 1024 },
	{ "-f", K_TEXT, AT(file), 0, 0, 0 },
	{ "-q", K_FLAG, AT(quiet), 0, 0, 0 },
	{ "--auth", K_TEXT, AT(auth), 0, 0, 0 },
	{ "--client", K_TEXT, AT(client), 0, 0, 0 },
	{ "--client-name", K_TEXT, AT(client_name), 0, 0, 0 },
	{ "--helo", K_TEXT, AT(helo), 0, 0, 0 },
	{ "--from", K_TEXT, AT(from), 0, 0, 0 },
	{ "--rcpt", K_TEXTS, AT(rcpts), AT(nrcpts), 0, 0 },
	{ "--pid", K_PIDS, AT(pids), AT(npids), 1, INT32_MAX },
	{ "--expect", K_TEXTS, AT(expect), AT(nexpect), 0, MAX_EXPECT },
	{ "--expect-reply", K_VERDICT, AT(expect_reply), 0, 0, 0 },
	{ "--warmup", K_UINT, AT(warmup), 0, 0, 1000000 },
	{ "--nodelay", K_FLAG, AT(nodelay), 0, 0, 0 },
	{ "--timeout", K_MS, AT(timeout_ms), 0, 1, 86400 },
};

#define NOPTS		(sizeof(opt_specs) / sizeof(opt_specs[0]))
#define LONG_BASE	256

/* "c:n:...qh" and the long options with --help, from opt_specs. */
static void getopt_tables(char *shorts, struct option *longs)
{
	size_t	ns = 0, nl = 0;

	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt_spec *o = &opt_specs[i];
		int	has_arg = o->kind == K_FLAG ? no_argument : required_argument;

		if (o->name[1] != '-') {
			shorts[ns++] = o->name[1];
			if (has_arg)
				shorts[ns++] = ':';
			continue;
		}
		longs[nl++] = (struct option){ o->name + 2, has_arg, NULL, LONG_BASE + (int)i };
	}
	memcpy(shorts + ns, "h", 2);
	longs[nl++] = (struct option){ "help", no_argument, NULL, 'h' };
	longs[nl] = (struct option){ NULL, 0, NULL, 0 };
}

/* The option getopt_long() returned as c, or NULL. */
static const struct opt_spec *opt_find(int c)
{
	if (c >= LONG_BASE && c < LONG_BASE + (int)NOPTS)
		return &opt_specs[c - LONG_BASE];
	for (size_t i = 0; i < NOPTS; i++)
		if (opt_specs[i].name[1] == c)
			return &opt_specs[i];
	return NULL;
}

/* Stores arg as o says; exits 2 when it is out of bounds. */
static void opt_store(struct config *cfg, const struct opt_spec *o, const char *arg)
{
	char   *field = (char *)cfg + o->at;
	size_t *count = (size_t *)((char *)cfg + o->count_at);
	unsigned long n = 0;

	if (o->kind >= K_PIDS && o->kind <= K_MS)
		n = parse_number(o->name, arg, o->min, o->max);
	switch (o->kind) {
	case K_FLAG:
		*(int *)field = 1;
		break;
	case K_TEXT:
		*(const char **)field = arg;
		break;
	case K_TEXTS:
		if (o->max != 0 && *count == o->max)
			usage_error("at most %lu %s", o->max, o->name);
		(*(const char ***)field)[(*count)++] = arg;
		break;
	case K_PIDS:
		(*(pid_t **)field)[(*count)++] = (pid_t)n;
		break;
	case K_UINT:
		*(unsigned *)field = (unsigned)n;
		break;
	case K_ULONG:
		*(unsigned long *)field = n;
		break;
	case K_SECONDS:
		*(double *)field = (double)n;
		break;
	case K_MS:
		*(int *)field = (int)n * 1000;
		break;
	case K_VERDICT:
		*(int *)field = parse_verdict(arg);
		break;
	}
}

static void config_derive(struct config *cfg)
{
	unsigned char addr[sizeof(struct in6_addr)];
	size_t	len;

	if (inet_pton(AF_INET, cfg->client, addr) == 1)
		cfg->client_family = '4';
	else if (inet_pton(AF_INET6, cfg->client, addr) == 1)
		cfg->client_family = '6';
	else
		usage_error("--client %s: not an IPv4 or IPv6 address", cfg->client);
	cfg->daemon_addr = cfg->client_family == '6' ? "::1" : "127.0.0.1";
	len = strlen(cfg->client) + 16 + (cfg->client_name ? strlen(cfg->client_name) : 8);
	cfg->connect_name = malloc(len);
	cfg->underscore = malloc(len);
	cfg->client_rfc_addr = malloc(len);
	if (!cfg->connect_name || !cfg->underscore || !cfg->client_rfc_addr)
		fatal("out of memory");
	/* Postfix's smtpd: an unknown name goes out as [addr], "unknown" in {_}. */
	snprintf(cfg->connect_name, len, cfg->client_name ? "%s" : "[%s]",
	    cfg->client_name ? cfg->client_name : cfg->client);
	snprintf(cfg->underscore, len, "%s [%s]",
	    cfg->client_name ? cfg->client_name : "unknown", cfg->client);
	snprintf(cfg->client_rfc_addr, len, "%s%s", cfg->client_family == '6' ? "IPv6:" : "",
	    cfg->client);
}

void config_parse(struct config *cfg, int argc, char **argv)
{
	char	shorts[2 * NOPTS + 2];
	struct option longs[NOPTS + 2];
	const struct opt_spec *o;
	int	c;
	int	have_n = 0, have_s = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->workers = 1;
	cfg->total = 1000;
	cfg->per_conn = 10;
	cfg->size = 4096;
	cfg->client = "127.0.0.1";
	cfg->helo = "bench.example";
	cfg->from = "bench@bench.example";
	cfg->expect_reply = V_DEFAULT;
	cfg->warmup = 2;
	cfg->timeout_ms = 30000;
	cfg->rcpts = calloc((size_t)argc, sizeof(*cfg->rcpts));
	cfg->expect = calloc((size_t)argc, sizeof(*cfg->expect));
	cfg->pids = calloc((size_t)argc, sizeof(*cfg->pids));
	if (!cfg->rcpts || !cfg->expect || !cfg->pids)
		fatal("out of memory");
	getopt_tables(shorts, longs);
	while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			exit(0);
		}
		if ((o = opt_find(c)) == NULL) {
			usage(stderr);
			exit(2);
		}
		opt_store(cfg, o, optarg);
		have_n |= c == 'n';
		have_s |= c == 's';
	}
	if (have_n && cfg->duration_s > 0)
		usage_error("-n and -t exclude each other");
	if (cfg->file != NULL && have_s)
		usage_error("-s and -f exclude each other");
	if (optind == argc)
		usage_error("no SOCKET");
	if (cfg->nrcpts == 0)
		cfg->rcpts[cfg->nrcpts++] = "rcpt@example.net";
	cfg->nendpoints = (size_t)(argc - optind);
	if ((cfg->endpoints = calloc(cfg->nendpoints, sizeof(*cfg->endpoints))) == NULL)
		fatal("out of memory");
	for (size_t i = 0; i < cfg->nendpoints; i++)
		endpoint_parse(&cfg->endpoints[i], argv[optind + (int)i]);
	config_derive(cfg);
}

void config_free(struct config *cfg)
{
	free(cfg->endpoints);
	free(cfg->rcpts);
	free(cfg->expect);
	free(cfg->pids);
	free(cfg->connect_name);
	free(cfg->underscore);
	free(cfg->client_rfc_addr);
	free(cfg->msg.text);
	free(cfg->msg.store);
	free(cfg->msg.headers);
}
