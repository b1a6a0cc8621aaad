/*
 * NAME
 *	signet - mail-authentication milter: start-up, socket, privileges, main loop
 * SYNOPSIS
 *	signet -c FILE -f	run in the foreground, logging to stderr
 *	signet -c FILE -n	check the configuration (and keystore), print errors, exit
 *	signet -V		print the version
 *	signet --sample-config	print the sample signet.conf generated from the key table
 * DESCRIPTION
 *	Order of start-up: block SIGHUP, SIGTERM and SIGINT, read and check the
 *	configuration, load the keystore (private keys parsed once, here), fork unless -f
 *	(detach.c: the starting process waits), write PidFile, open the milter socket (unix:
 *	only in a directory others cannot write, SocketMode through the umask, SocketGroup
 *	set on the socket itself: unixsock.c), set TCP_NODELAY on it, drop privileges to
 *	UserID, build the resolver and verifier, let the starting process exit, then hand
 *	over to the milter engine's loop (Signet's own or libmilter: adapter.c).
 *	The moment the socket listens, an MTA may connect and anyone who saw the socket (or
 *	systemd, which knows the pid of a -f daemon from the first instant) may send SIGHUP
 *	or SIGTERM: by then PidFile holds the final pid, and the signals have been blocked
 *	since the first line of main(), so one sent early waits for the engine's signal
 *	thread (signals.c) and is acted on, a SIGHUP as a reload, a SIGTERM as a drain.
 *	Keys are read before privileges are dropped at start; a reload reads them as UserID,
 *	so with UserID set they must be readable by that user (0640, group signet).
 *
 *	SIGHUP reloads the configuration and keystore: a new runtime is built beside the old
 *	and swapped in whole; messages in flight finish with the one they started with.  A
 *	configuration or keystore that does not load is refused with a log line and the old
 *	one keeps serving.  Socket, UserID, PidFile, SignerUserID and SignerTimeout
 *	changes need a restart.
 *	SIGTERM stops accepting connections, tempfails new messages on open ones, lets those
 *	in flight finish (up to 60 seconds), writes the DMARC report counts to ReportStore,
 *	then exits.  SIGHUP writes them too, to the ReportStore in force before the reload.
 * DIAGNOSTICS
 *	Configuration errors as FILE:LINE: message on stderr; exit status 1 for a bad
 *	configuration or a start-up failure, 2 for bad usage.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "config.h"
#include "conf/conf.h"
#include "keys/keyload.h"
#include "keys/keystore.h"
#include "milter/adapter.h"
#include "milter/detach.h"
#include "lib/dns.h"
#include "lib/log.h"
#include "milter/metrics.h"
#include "milter/pidfile.h"
#include "milter/runtime.h"
#include "milter/failreport.h"
#include "milter/flight.h"
#include "milter/proctitle.h"
#include "milter/reportcollect.h"
#include "milter/signals.h"
#include "milter/signer.h"
#include "milter/signerclient.h"
#include "milter/unixsock.h"

#ifndef SYSCONF_DIR
#define SYSCONF_DIR "/etc"
#endif
#define DEFAULT_CONF SYSCONF_DIR "/signet.conf"

struct options {
	const char *conf_path;
	int	foreground;
	int	check_only;
};

static void usage(FILE *out)
{
	fprintf(out, "usage: signet [-c FILE] [-f | -n]\n"
	    "       signet -V | --sample-config\n"
	    "  -c FILE   configuration file (default %s)\n"
	    "  -f        stay in the foreground and log to stderr\n"
	    "  -n        check the configuration and keystore, then exit\n"
	    "  -V        print the version\n", DEFAULT_CONF);
}

static void report_to_stderr(void *context, const char *message)
{
	(void)context;
	fprintf(stderr, "%s\n", message);
}

/* Returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, struct options *opt)
{
	int	c;

	opt->conf_path = DEFAULT_CONF;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--sample-config") == 0) {
			conf_write_sample(stdout);
			return fflush(stdout) == 0 ? 0 : 1;
		}
		if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		}
	}
	while ((c = getopt(argc, argv, "c:fnVh")) != -1) {
		switch (c) {
		case 'c':
			opt->conf_path = optarg;
			break;
		case 'f':
			opt->foreground = 1;
			break;
		case 'n':
			opt->check_only = 1;
			break;
		case 'V':
			printf("signet %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/* Warns about active keys too short to be used. */
static void warn_short_keys(const struct conf *conf, const struct keystore *keys)
{
	for (size_t i = 0; keys != NULL && i < keystore_count(keys); i++) {
		const struct keystore_key *k = keystore_key_at(keys, i);

		if (k->state == KEY_STATE_ACTIVE && k->algorithm != KEY_ALG_ED25519 &&
		    k->bits < conf->minimum_key_bits)
			log_msg(LOG_LEVEL_WARNING, "key %s/%s has %d bits, under MinimumKeyBits %ld: "
			    "not used for signing", k->domain, k->selector, k->bits,
			    conf->minimum_key_bits);
	}
}

/* signet -n: loads the keystore with its private keys, as the signer would, into *out;
 * 0 after reporting an error.  Without signing (Mode v) *out stays NULL. */
static int check_keys(const struct conf *conf, struct keystore **out)
{
	struct keystore_error err;

	*out = NULL;
	if (!(conf->mode & CONF_MODE_SIGN))
		return 1;
	if ((*out = keyload_private(conf, &err)) == NULL) {
		log_msg(LOG_LEVEL_ERROR, "%s: keystore: %s", conf->file ? conf->file : "signet",
		    err.text);
		return 0;
	}
	return 1;
}

/* The signer process's client: NULL in Mode v (no signer is started). */
static struct signer_client *signer;

/* The key list of the signer (a new generation when reload is set) into *keys and
 * *ref; 0 after logging why not.  Without signing *keys stays NULL. */
static int signer_keys(const struct conf *conf, int reload, struct keystore **keys,
    struct signer_ref *ref)
{
	char	err[512];

	*keys = NULL;
	*ref = (struct signer_ref){0};
	if (!(conf->mode & CONF_MODE_SIGN))
		return 1;
	if (signer == NULL) {
		log_msg(LOG_LEVEL_ERROR, "Mode %s signs, but signet was started without signing: "
		    "the signer process starts only with signet", conf->mode & CONF_MODE_VERIFY ?
		    "sv" : "s");
		return 0;
	}
	if ((*keys = signer_client_keys(signer, reload, ref, err, sizeof(err))) == NULL) {
		log_msg(LOG_LEVEL_ERROR, "signer: %s", err);
		return 0;
	}
	warn_short_keys(conf, *keys);
	return 1;
}

static int drop_privileges(const char *spec)
{
	char	user[256];
	const char *colon = strchr(spec, ':');
	struct passwd *pw;
	gid_t	gid;

	snprintf(user, sizeof(user), "%.*s", colon ? (int)(colon - spec) : (int)strlen(spec), spec);
	if ((pw = getpwnam(user)) == NULL) {
		log_msg(LOG_LEVEL_ERROR, "UserID: no such user \"%s\"", user);
		return 0;
	}
	gid = pw->pw_gid;
	if (colon) {
		struct group *gr = getgrnam(colon + 1);

		if (gr == NULL) {
			log_msg(LOG_LEVEL_ERROR, "UserID: no such group \"%s\"", colon + 1);
			return 0;
		}
		gid = gr->gr_gid;
	}
	if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid)
		return 1;
	if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(pw->pw_uid) != 0) {
		log_msg(LOG_LEVEL_ERROR, "UserID: cannot become %s: %s", spec, strerror(errno));
		return 0;
	}
	if (setuid(0) == 0) {
		log_msg(LOG_LEVEL_ERROR, "UserID: privileges could be regained after dropping them");
		return 0;
	}
	return 1;
}

/* The configuration file, for reloads. */
static const char *reload_path;

static void report_to_log(void *context, const char *message)
{
	(void)context;
	log_msg(LOG_LEVEL_ERROR, "reload: %s", message);
}

/* SIGHUP: build a whole new runtime; install it only if everything loaded. */
static void reload(void)
{
	struct conf *conf = conf_load(reload_path, report_to_log, NULL);
	struct runtime *old = runtime_acquire();
	struct keystore *keys;
	struct signer_ref ref;
	struct runtime *rt;
	char	err[512];

	if (conf == NULL) {
		log_msg(LOG_LEVEL_ERROR, "reload refused: %s has errors; the running configuration "
		    "stays", reload_path);
		metrics_error(METRICS_ERROR_CONFIG_RELOAD);
		goto done;
	}
	if (old != NULL && (strcmp(conf->socket, old->conf->socket) != 0 ||
	    strcmp(conf->user_id, old->conf->user_id) != 0 ||
	    strcmp(conf->pid_file, old->conf->pid_file) != 0 ||
	    strcmp(conf->signer_user_id, old->conf->signer_user_id) != 0 ||
	    conf->signer_timeout != old->conf->signer_timeout))
		log_msg(LOG_LEVEL_WARNING, "reload: Socket, UserID, PidFile, SignerUserID and "
		    "SignerTimeout changes take effect only after a restart");
	if (!signer_keys(conf, 1, &keys, &ref)) {
		log_msg(LOG_LEVEL_ERROR, "reload refused: the keystore did not load; the running "
		    "configuration stays");
		metrics_error(METRICS_ERROR_CONFIG_RELOAD);
		conf_free(conf);
		goto done;
	}
	if ((rt = runtime_rebuild(old, conf, keys, err, sizeof(err))) == NULL) {
		log_msg(LOG_LEVEL_ERROR, "reload refused: %s; the running configuration stays", err);
		metrics_error(METRICS_ERROR_CONFIG_RELOAD);
		signer_client_release(&ref);
		goto done;
	}
	rt->signer = ref;
	runtime_install(rt);
	log_set_level(rt->conf->log_level);
	log_msg(LOG_LEVEL_NOTICE, "reloaded %s: %zu key(s), generation %lu%s", reload_path,
	    rt->keys ? keystore_count(rt->keys) : 0, rt->generation,
	    rt->dns_service == NULL ? "" : old != NULL && rt->dns_service == old->dns_service ?
	    ", DNS resolver and cache kept" : ", new DNS resolver");
	if (old != NULL && old->store != NULL && rt->store != NULL && rt->store != old->store)
		log_msg(LOG_LEVEL_WARNING, "reload: RateLimitStore changed to %s: rate counters "
		    "and client networks start afresh", rt->conf->rate_limit_store);
	/* DMARC report counts so far go to the old ReportStore, then it may change. */
	reportcollect_reload(rt->conf);
	if (rt->conf->dmarc_reports)
		metrics_set_report_source(reportcollect_metrics);
	failreport_configure(rt->conf);
	runtime_release(old);
	return;
done:
	reportcollect_reload(NULL);	/* a SIGHUP flushes the report counts whatever */
	runtime_release(old);
}

/* The metrics thread reads the DNS counters of the resolver in force. */
static void dns_for_metrics(struct dns_stats *out)
{
	struct runtime *rt = runtime_acquire();

	if (rt != NULL && rt->dns != NULL)
		dns_stats_get(rt->dns, out);
	runtime_release(rt);
}

/* Set by drain(): a stop was asked for (see main(), after adapter_run()). */
static atomic_int stopping;

/* SIGTERM, before the milter engine stops: no new messages, those in flight finish. */
static void drain(void)
{
	unsigned left;

	atomic_store(&stopping, 1);
	flight_stop_accepting();
	log_msg(LOG_LEVEL_NOTICE, "signet stopping: letting messages in flight finish");
	if ((left = flight_wait_idle(60)) > 0)
		log_msg(LOG_LEVEL_WARNING, "%u message(s) still in flight after 60 s: the MTA will "
		    "retry them", left);
}

/* unix:PATH or local:PATH: the socket path, else NULL. */
static const char *unix_socket_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	return NULL;
}

/* SocketGroup's id into *gid, (gid_t)-1 when none is set; 0 after reporting an unknown
 * group. */
static int socket_group_id(const struct conf *conf, gid_t *gid)
{
	struct group *gr;

	*gid = (gid_t)-1;
	if (conf->socket_group[0] == '\0')
		return 1;
	if ((gr = getgrnam(conf->socket_group)) == NULL) {
		log_msg(LOG_LEVEL_ERROR, "SocketGroup: no such group \"%s\"", conf->socket_group);
		return 0;
	}
	*gid = gr->gr_gid;
	return 1;
}

/* Opens the milter socket, as the starting user: unix sockets are checked and given their
 * mode and group (unixsock.c), TCP ones TCP_NODELAY (adapter.c).  0 after logging why
 * not. */
static int open_socket(const struct conf *conf)
{
	const char *sock_path = unix_socket_path(conf->socket);
	gid_t	sock_gid = (gid_t)-1;
	int	sock_dir = -1;
	char	err[512];

	/* Before the engine (smfi_opensocket) removes an old socket at the path and binds a new
	 * one there. */
	if (sock_path != NULL) {
		if (!socket_group_id(conf, &sock_gid))
			return 0;
		if ((sock_dir = unixsock_dir_open(sock_path, err, sizeof(err))) < 0) {
			log_msg(LOG_LEVEL_ERROR, "%s", err);
			return 0;
		}
	}
	/* A unix socket is born with SocketMode, and nothing changes its mode later. */
	mode_t	old_umask = umask((mode_t)(0777 & ~conf->socket_mode));
	if (!adapter_open_socket(conf->socket, err, sizeof(err))) {
		log_msg(LOG_LEVEL_ERROR, "%s", err);
		return 0;
	}
	umask(old_umask);
	if ((sock_path != NULL && !unixsock_finish(sock_dir, sock_path,
	    (mode_t)conf->socket_mode, sock_gid, err, sizeof(err))) ||
	    !adapter_set_nodelay(err, sizeof(err))) {
		log_msg(LOG_LEVEL_ERROR, "%s", err);
		return 0;
	}
	return 1;
}

/* Everything between the PID file and the milter engine's loop; 0 after logging a failure. */
static int start(struct conf *conf, int signer_control, const struct options *opt,
    const char *user_id)
{
	struct keystore *keys;
	struct signer_ref ref;
	struct runtime *rt;
	char	err[512];

	if (!open_socket(conf))
		goto fail;
	/* After fork (its thread would not survive it), before privileges go (it may bind a
	 * low port), after TCP_NODELAY (which looks for the only TCP listener). */
	if (conf->metrics_listen[0] != '\0' && !metrics_start(conf->metrics_listen, err,
	    sizeof(err))) {
		log_msg(LOG_LEVEL_ERROR, "MetricsListen %s: %s", conf->metrics_listen, err);
		goto fail;
	}
	if (user_id != NULL && !drop_privileges(user_id))
		goto fail;
	if (signer_control >= 0 && (signer = signer_client_new(signer_control,
	    conf->signer_timeout, err, sizeof(err))) == NULL) {
		log_msg(LOG_LEVEL_ERROR, "signer: %s", err);
		goto fail;
	}
	if (!signer_keys(conf, 0, &keys, &ref))
		goto fail;
	/* The resolver's threads do not survive fork(): build the services only now. */
	if ((rt = runtime_build(conf, keys, err, sizeof(err))) == NULL) {
		log_msg(LOG_LEVEL_ERROR, "%s: %s", opt->conf_path, err);
		return 0;
	}
	rt->signer = ref;
	runtime_install(rt);
	/* As UserID, so that a new SQLite ReportStore is the daemon's own. */
	if (!reportcollect_start(rt->conf, err, sizeof(err))) {
		log_msg(LOG_LEVEL_ERROR, "%s", err);
		return 0;
	}
	if (rt->conf->dmarc_reports)
		metrics_set_report_source(reportcollect_metrics);
	failreport_configure(rt->conf);
	signals_on_reload(reload);
	signals_on_terminate(drain);
	metrics_set_dns_source(dns_for_metrics);
	if (!opt->foreground && detach_ready(err, sizeof(err)) != 0) {
		log_msg(LOG_LEVEL_ERROR, "%s", err);
		return 0;
	}
	return 1;
fail:
	conf_free(conf);	/* runtime_build() did not take it */
	return 0;
}

int	main(int argc, char **argv)
{
	struct options opt = {0};
	struct conf *conf;
	struct keystore *keys;
	int	status = parse_args(argc, argv, &opt);

	if (status >= 0)
		return status;
	/* The process titles are written over argv: keep what we need of it. */
	static char conf_path_copy[PATH_MAX];

	snprintf(conf_path_copy, sizeof(conf_path_copy), "%s", opt.conf_path);
	opt.conf_path = conf_path_copy;
	proctitle_init(argc, argv);
	/* First of all: a SIGHUP or SIGTERM sent while we start (systemctl reload, signet-keys
	 * after reading PidFile) stays pending until the engine's signal thread takes it,
	 * instead of ending the process with its default action.  Every thread and the
	 * detached child inherit the mask. */
	if (!opt.check_only && !signals_block()) {
		fprintf(stderr, "signet: cannot block SIGHUP, SIGTERM and SIGINT\n");
		return 1;
	}
	if ((conf = conf_load(opt.conf_path, report_to_stderr, NULL)) == NULL)
		return 1;
	log_init(opt.foreground || opt.check_only ? LOG_TO_STDERR : LOG_TO_SYSLOG,
	    conf->log_level);
	char	err[512];
	struct runtime *rt;

	if (opt.check_only) {
		if (!check_keys(conf, &keys)) {
			conf_free(conf);
			return 1;
		}
		if ((rt = runtime_build(conf, keys, err, sizeof(err))) == NULL) {
			fprintf(stderr, "%s: %s\n", opt.conf_path, err);
			return 1;
		}
		printf("%s: configuration OK; %zu key(s) in %s\n", opt.conf_path,
		    rt->keys ? keystore_count(rt->keys) : 0, rt->conf->keystore);
		runtime_install(rt);
		runtime_shutdown();
		return 0;
	}

	static char absolute_conf_path[PATH_MAX];

	if (realpath(opt.conf_path, absolute_conf_path) == NULL)
		snprintf(absolute_conf_path, sizeof(absolute_conf_path), "%s", opt.conf_path);
	/* Absolute, since detaching moves the working directory to "/". */
	reload_path = absolute_conf_path;
	/* conf lives on in the runtime built by start(), so socket_spec stays valid. */
	const char *socket_spec = conf->socket;
	char   *user_id = conf->user_id[0] ? strdup(conf->user_id) : NULL;
	struct pidfile *pid_file = NULL;

	if (!adapter_register()) {
		log_msg(LOG_LEVEL_ERROR, "cannot register with the milter engine");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Detach first, so that the PID file holds the final pid before the socket exists;
	 * the starting process exits only when start() is done. */
	if (!opt.foreground && detach_start(err, sizeof(err)) != 0) {
		log_msg(LOG_LEVEL_ERROR, "%s", err);
		return 1;
	}
	if (conf->pid_file[0] != '\0' &&
	    (pid_file = pidfile_create(conf->pid_file, err, sizeof(err))) == NULL) {
		log_msg(LOG_LEVEL_ERROR, "%s", err);
		return 1;
	}
	/* The keeper and the signer, forked while this process is one thread and has read
	 * no key: from here on only the signer reads them. */
	int	signer_control = -1;

	if ((conf->mode & CONF_MODE_SIGN) &&
	    (signer_control = signer_spawn(reload_path, conf, err, sizeof(err))) < 0) {
		log_msg(LOG_LEVEL_ERROR, "%s", err);
		pidfile_remove(pid_file);
		return 1;
	}
	proctitle_set("signet: milter");
	if (!start(conf, signer_control, &opt, user_id)) {
		pidfile_remove(pid_file);
		free(user_id);
		return 1;
	}
	log_msg(LOG_LEVEL_NOTICE, "signet %s listening on %s", PACKAGE_VERSION, socket_spec);
	/* A SIGTERM taken by libmilter's signal thread before its listener loop runs (one
	 * sent during start-up waits for exactly that moment) closes the socket under
	 * libmilter's loop (adapter_run()), which then tries to open it again and fails (as
	 * root, a unix socket is still there): after a drain, that is the stop that was asked
	 * for.  Signet's engine starts its signal thread inside that loop and just stops. */
	status = adapter_run() || atomic_load(&stopping) ? 0 : 1;
	reportcollect_stop();	/* the last DMARC report counts, once messages are done */
	failreport_stop();
	metrics_stop();
	log_msg(LOG_LEVEL_NOTICE, "signet stopped");
	pidfile_remove(pid_file);
	runtime_shutdown();
	signer_client_free(signer);
	free(user_id);
	return status;
}
