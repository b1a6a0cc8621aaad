/*
 * NAME
 *	conf.c - the configuration table, its parser and the sample file
 * DESCRIPTION
 *	conf_table[] is the one place a configuration key is declared: its name, type,
 *	default (as the text a user would write), bounds, where it is stored and its help
 *	text.  Parsing, "signet -n" checking and "signet --sample-config" all walk this
 *	table, so a key cannot be documented in one place and parsed differently in another.
 *	Each type's parser, and where its value is stored, is in confvalue.c.
 *	Defaults go through the same parser as the file, so a bad default fails every test.
 *
 *	Errors are collected, not fatal: conf_load() reports each one as FILE:LINE: message
 *	and goes on, so "signet -n" shows an operator every mistake at once.
 * SEE ALSO
 *	conf.h, signet.conf(5)
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "conf/confkey.h"
#include "lib/alloc.h"

#ifndef KEYSTORE_DIR
#define KEYSTORE_DIR "/var/lib/signet/keys"
#endif

#ifndef REPORT_DB
#define REPORT_DB "/var/lib/signet/reports.db"
#endif

#define CONF_LINE_MAX	4096


#define AT(field) {offsetof(struct conf, field), 0}
#define AT2(field, second) {offsetof(struct conf, field), offsetof(struct conf, second)}

static const struct conf_key conf_table[] = {
	{"Socket", T_SOCKET, "inet:8895@127.0.0.1", 0, 0, AT(socket),
	 "Where the MTA reaches Signet: inet:PORT@HOST, inet6:PORT@HOST or unix:PATH."},
	{"Mode", T_MODE, "sv", 0, 0, AT(mode),
	 "s signs outbound mail, v verifies inbound mail, sv does both."},
	{"AuthservID", T_OPTIONAL, "", 0, 0, AT(authserv_id),
	 "The authserv-id of our Authentication-Results headers; empty means this host's name."},
	{"Keystore", T_STRING, KEYSTORE_DIR, 0, 0, AT(keystore),
	 "Directory of DKIM keys, as managed by signet-keys(8)."},
	{"InternalHosts", T_ADDRLIST, "127.0.0.0/8, ::1", 0, 0, AT(internal_hosts),
	 "Clients whose mail is outbound (signed): IPv4/IPv6 addresses and CIDR blocks,\n"
	 "comma separated.  Mail from a client that authenticated (SMTP AUTH) is outbound too."},
	{"Nameservers", T_NAMESERVERS, "", 0, 0, AT2(nameservers, nameserver_count),
	 "DNS servers to ask, IP[@PORT] comma separated; empty means /etc/resolv.conf."},
	{"UserID", T_OPTIONAL, "", 0, 0, AT(user_id),
	 "User (and group, as USER:GROUP) to run as after opening the socket; empty: do not change."},
	{"SignerUserID", T_OPTIONAL, "", 0, 0, AT(signer_user_id),
	 "User (and group, as USER:GROUP) of the signer process, the only one that reads the\n"
	 "private keys; empty: the owner of Keystore.  Only a daemon started as root changes it."},
	{"SignerTimeout", T_INTEGER, "5", 1, 60, AT(signer_timeout),
	 "Seconds to wait for the signer process to sign; past that it is restarted and the\n"
	 "message is handled as OnInternalError says."},
	{"PidFile", T_OPTIONAL, "", 0, 0, AT(pid_file),
	 "File to write the daemon's process id to; empty: none."},
	{"LogLevel", T_LOGLEVEL, "info", 0, 0, AT(log_level),
	 "Least severity logged: error, warning, notice, info or debug."},
	{"SignHeaders", T_NAMES,
	 "From, Reply-To, Subject, Date, To, Cc, Resent-Date, Resent-From, Resent-To, Resent-Cc, "
	 "In-Reply-To, References, List-Id, List-Help, List-Unsubscribe, List-Subscribe, "
	 "List-Post, List-Owner, List-Archive, Message-ID, Sender, MIME-Version, Content-Type, "
	 "Content-Transfer-Encoding, Content-ID, Content-Description", 0, 0, AT(sign_headers),
	 "Header fields signed when present (RFC 6376 section 5.4.1), comma separated."},
	{"OversignHeaders", T_NAMES,
	 "From, To, Cc, Subject, Date, Reply-To, Message-ID, MIME-Version, Content-Type, "
	 "Content-Transfer-Encoding", 0, 0, AT(oversign_headers),
	 "Header fields signed once more than they occur, so that adding one breaks the\n"
	 "signature; each is signed even when missing from SignHeaders."},
	{"Canonicalization", T_CANON, "relaxed/relaxed", 0, 0, AT2(canon_header, canon_body),
	 "DKIM canonicalization HEADER/BODY, each simple or relaxed (RFC 6376 section 3.4)."},
	{"MinimumKeyBits", T_INTEGER, "1024", 1024, 16384, AT(minimum_key_bits),
	 "RSA keys shorter than this are not used for signing (RFC 8301 forbids under 1024)."},
	{"OnInternalError", T_ON_ERROR, "tempfail", 0, 0, AT(on_internal_error),
	 "What to do with a message when Signet itself fails (out of memory, a library error):\n"
	 "tempfail (the MTA retries later) or accept (deliver it unsigned/unchecked)."},
	{"DNSTimeout", T_INTEGER, "5", 1, 60, AT(dns_timeout),
	 "Seconds to wait for one DNS answer; a query that times out is a temperror."},
	{"DNSMessageQueries", T_INTEGER, "60", 1, 1000, AT(dns_message_queries),
	 "At most this many DNS queries for one message's DKIM keys and SPF together, and as\n"
	 "many again for its DMARC policy discovery."},
	{"DNSMessageTime", T_INTEGER, "20", 1, 300, AT(dns_message_time),
	 "At most this many seconds of DNS for one message's DKIM keys and SPF together, and\n"
	 "as many again for its DMARC policy.  A DKIM key not looked up for want of budget\n"
	 "is dkim=policy; once it is spent, no DKIM or SPF temperror makes DMARC temperror."},
	{"TrustAnchorFile", T_OPTIONAL, "", 0, 0, AT(trust_anchor_file),
	 "DNSSEC trust anchor file (e.g. /usr/share/dns/root.key); empty: no validation."},
	{"MaximumSignatures", T_INTEGER, "10", 1, 100, AT(maximum_signatures),
	 "DKIM signatures verified per message; the rest are counted in one policy result."},
	{"DMARCEnforce", T_BOOL, "no", 0, 0, AT(dmarc_enforce),
	 "yes: reject mail failing DMARC under p=reject (550 5.7.1) and quarantine it under\n"
	 "p=quarantine; no: only record the result in Authentication-Results."},
	{"DNSErrorAction", T_ON_ERROR, "accept", 0, 0, AT(on_dns_error),
	 "When DMARCEnforce is on and DNS trouble leaves DMARC undecided (temperror):\n"
	 "accept (default) or tempfail the message."},
	{"DMARCPublicSuffixList", T_OPTIONAL, "", 0, 0, AT(dmarc_public_suffix_list),
	 "Empty: organizational domains by the DNS tree walk of RFC 9989.  A file (e.g.\n"
	 "/usr/share/publicsuffix/public_suffix_list.dat): the public suffix list, as RFC 7489."},
	/* Submission protection: what an authenticated user may send (issue 18) */
	{"SenderMap", T_OPTIONAL, "", 0, 0, AT(sender_map),
	 "File of the From addresses each authenticated user may use, one line per user:\n"
	 "USER PATTERN... with PATTERN an address, @domain or *@*.domain ('#' comments).\n"
	 "A user without a line may use @ the domain of its own name (alice@example.com:\n"
	 "@example.com).  Empty: no sender authorization, every From is signed as before."},
	{"SenderMismatch", T_MISMATCH, "nosign", 0, 0, AT(sender_mismatch),
	 "An authenticated message whose From its user may not use: nosign (passed unsigned,\n"
	 "logged) or reject (550 5.7.1 naming the From)."},
	{"RateLimits", T_OPTIONAL, "", 0, 0, AT(rate_limits),
	 "File of rate limits per authenticated user, one line per user and * for the\n"
	 "default: USER msg/min=N msg/hour=N msg/day=N rcpt/hour=N rcpt/day=N (a user line\n"
	 "overrides only what it names).  Over a limit: 451 4.7.1; empty: no limits."},
	{"RateLimitStore", T_STORE, "memory", 0, 0, AT(rate_limit_store),
	 "Where the rate counters and client networks are kept: memory (this daemon), or\n"
	 "redis://HOST:PORT/DB or unix:/PATH (a Redis server shared by a fleet).  A reload\n"
	 "that changes it starts with empty counters."},
	{"RateLimitStoreDown", T_ON_ERROR, "accept", 0, 0, AT(rate_limit_store_down),
	 "When the RateLimitStore does not answer: accept (the message is not limited, and\n"
	 "that is logged) or tempfail (451 4.3.0, the MTA retries)."},
	{"AuditLog", T_OPTIONAL, "", 0, 0, AT(audit_log),
	 "File that gets one JSON line per authenticated submission, besides syslog; it is\n"
	 "reopened on SIGHUP (logrotate); empty: syslog only."},
	{"NewClientWindow", T_DURATION, "24h", 60, 365L * 86400, AT(new_client_window),
	 "Warn when a user submits from a client network (/24, /64) not seen for it this long."},
	/* DMARC aggregate and failure reports (issue 19; signet-reports(8)) */
	{"DMARCReports", T_BOOL, "no", 0, 0, AT(dmarc_reports),
	 "yes: count every inbound message whose DMARC record asks for aggregate reports\n"
	 "(rua=) into ReportStore, for signet-reports to make and send (RFC 9990)."},
	{"ReportStore", T_REPORTSTORE, "sqlite:" REPORT_DB, 0, 0, AT(report_store),
	 "Where report counts are kept: sqlite:PATH (SQLite, this host), or redis://HOST:PORT/DB\n"
	 "or unix:/PATH (a Redis server shared by a fleet, whose reports are the fleet's sum)."},
	{"ReportFlushInterval", T_DURATION, "60s", 1, 3600, AT(report_flush_interval),
	 "Counts are kept in memory and written to ReportStore this often, and on SIGHUP and\n"
	 "SIGTERM; a crash (kill -9) loses at most this long's counts."},
	{"ReportMemoryRows", T_INTEGER, "100000", 100, 10000000, AT(report_memory_rows),
	 "At most this many distinct report rows wait in memory (while ReportStore is away);\n"
	 "messages that would need more are not counted, and a metric and the log say so."},
	{"ReportOrgName", T_OPTIONAL, "", 0, 0, AT(report_org_name),
	 "<org_name> of aggregate reports; empty: ReportDomain."},
	{"ReportEmail", T_OPTIONAL, "", 0, 0, AT(report_email),
	 "From address of report mail, and <email> of aggregate reports (e.g.\n"
	 "dmarc-noreply@example.com); signet-reports will not send without it.  Mail to it\n"
	 "is never counted."},
	{"ReportDomain", T_OPTIONAL, "", 0, 0, AT(report_domain),
	 "The receiver's domain in report file names, Report-IDs and Subject: Submitter;\n"
	 "empty: the host name."},
	{"ReportKeep", T_DURATION, "14d", 0, 3650L * 86400, AT(report_keep),
	 "signet-reports expire drops reports sent (or skipped) this long after their period."},
	{"ReportMaxSize", T_INTEGER, "10485760", 1024, 1073741824L, AT(report_max_size),
	 "A report mail larger than this many bytes (or than a destination's !size) is not\n"
	 "sent: signet-reports logs it and the report is marked skipped for it."},
	{"ReportSendmail", T_STRING, "/usr/sbin/sendmail -oi", 0, 0, AT(report_sendmail),
	 "Command report mail is piped to (aggregate reports, unless signet-reports send\n"
	 "--smtp is given, and failure reports), with \"-f ReportEmail -- RECIPIENT\" added:\n"
	 "the recipient is never read from the mail (a -t given here is dropped)."},
	{"ReportSkipRecipients", T_ADDRESSES, "", 0, 0, AT(report_skip_recipients),
	 "Addresses (local@domain) whose incoming mail is never counted or reported: the\n"
	 "addresses that receive DMARC reports here, so reports never cause reports."},
	{"DMARCFailureReports", T_BOOL, "no", 0, 0, AT(dmarc_failure_reports),
	 "yes: send failure reports (RFC 9991) to the authorized ruf= destinations of records\n"
	 "whose fo= asks for them, with the header redacted; never the body by default."},
	{"FailureReportRate", T_INTEGER, "10", 1, 100000, AT(failure_report_rate),
	 "At most this many failure reports per destination per hour; the rest are dropped\n"
	 "and counted."},
	{"FailureReportBody", T_BOOL, "no", 0, 0, AT(failure_report_body),
	 "yes: failure reports carry the message body too (off: headers only, as RFC 9991\n"
	 "recommends for privacy)."},
	/* ARC (RFC 8617; issue 20) */
	{"ARCSeal", T_ARCSEAL, "none", 0, 0, AT(arc_seal),
	 "Which messages get an ARC set (ARC-Authentication-Results, ARC-Message-Signature,\n"
	 "ARC-Seal) sealed by ARCSealDomain: none, inbound (as mail arrives: a forwarding\n"
	 "host), outbound (mail leaving from internal hosts: a mailing list re-sending what\n"
	 "came in) or both.  ARC chains of inbound mail are verified whatever this says."},
	{"ARCSealDomain", T_OPTIONAL, "", 0, 0, AT(arc_seal_domain),
	 "d= of our ARC seals; its active key of ARCSealAlgorithm in the Keystore signs them\n"
	 "(rotated like any other).  Needed when ARCSeal is not none."},
	{"ARCSealAlgorithm", T_ARCALG, "rsa-sha256", 0, 0, AT(arc_seal_algorithm),
	 "Algorithm of our ARC seals: rsa-sha256, or ed25519-sha256 (RFC 8463; not every\n"
	 "receiver validates it yet)."},
	{"ARCTrustedSealers", T_DOMAINS, "", 0, 0, AT(arc_trusted_sealers),
	 "Domains whose ARC seals are trusted: when DMARC fails, the ARC chain passes and\n"
	 "such a sealer's ARC-Authentication-Results shows an authentication that passed\n"
	 "DMARC, the policy is not enforced (RFC 8617 section 7.2); comma separated."},
	{"SocketMode", T_OCTAL, "0660", 0, 0777, AT(socket_mode),
	 "Permissions of a unix Socket, in octal (the MTA's user must be able to connect)."},
	{"SocketGroup", T_OPTIONAL, "", 0, 0, AT(socket_group),
	 "Group of a unix Socket (e.g. postfix); empty: the daemon's own group."},
	{"MetricsListen", T_HOSTPORT, "", 0, 0, AT(metrics_listen),
	 "Serve Prometheus metrics over HTTP (GET /metrics only) on PORT, which listens on\n"
	 "127.0.0.1 only (e.g. 9795), or on HOST:PORT or [IPV6]:PORT; empty: off."},
	{"RotateInterval", T_DURATION, "90d", 3600, 3650L * 86400, AT(rotate_interval),
	 "signet-keys rotate --auto makes a new key this long after the active one was\n"
	 "activated (NUMBER with s, m, h, d or w)."},
	{"RetireGrace", T_DURATION, "7d", 0, 365L * 86400, AT(retire_grace),
	 "How long a replaced key stays published (retiring) before it may be removed."},
	{"UpdateServer", T_OPTIONAL, "", 0, 0, AT(update_server),
	 "Primary DNS server for signet-keys publish (RFC 2136 update), IP[@PORT]; empty: none."},
	{"UpdateKey", T_OPTIONAL, "", 0, 0, AT(update_key),
	 "TSIG key for UpdateServer as ALGORITHM:NAME:SECRET (e.g. hmac-sha256:signet:BASE64)."},
	/* Keys in a PKCS#11 token (signet-keys generate --token) */
	{"PKCS11Module", T_OPTIONAL, "", 0, 0, AT(pkcs11_module),
	 "PKCS#11 module (shared object, absolute path) of the token that holds keys made with\n"
	 "signet-keys generate --token, e.g. /usr/lib/softhsm/libsofthsm2.so; empty: none."},
	{"PKCS11Token", T_OPTIONAL, "", 0, 0, AT(pkcs11_token),
	 "Label of that token."},
	{"PKCS11PinFile", T_OPTIONAL, "", 0, 0, AT(pkcs11_pin_file),
	 "File whose first line is the token's user PIN; mode 0600 or 0400, since a file that\n"
	 "group or others may read is refused."},
};

#define CONF_KEY_COUNT (sizeof(conf_table) / sizeof(conf_table[0]))

static const struct conf_key *find_key(const char *name)
{
	for (size_t i = 0; i < CONF_KEY_COUNT; i++)
		if (strcasecmp(conf_table[i].name, name) == 0)
			return &conf_table[i];
	return NULL;
}

static void report_at(conf_report_fn report, void *context, const char *file, unsigned line,
    const char *message)
{
	char	text[CONF_LINE_MAX + 256];

	if (line)
		snprintf(text, sizeof(text), "%s:%u: %s", file, line, message);
	else
		snprintf(text, sizeof(text), "%s: %s", file, message);
	report(context, text);
}

static struct conf *conf_defaults(conf_report_fn report, void *context)
{
	struct conf *conf = mem_calloc(1, sizeof(*conf));
	char	err[512];
	int	ok = conf != NULL;

	if (conf == NULL)
		report_at(report, context, "(built-in default)", 0, "out of memory");
	for (size_t i = 0; ok && i < CONF_KEY_COUNT; i++) {
		if (!conf_set_value(conf, &conf_table[i], conf_table[i].default_value, err,
		    sizeof(err))) {
			report_at(report, context, "(built-in default)", 0, err);
			ok = 0;
		}
	}
	if (!ok) {
		conf_free(conf);
		return NULL;
	}
	return conf;
}

/* Splits one line into key and value in place; returns 0 for a blank or comment line. */
static int split_line(char *line, char **key, char **value)
{
	char   *p = line;
	size_t	len = strlen(line);

	while (len > 0 && isspace((unsigned char)line[len - 1]))
		line[--len] = '\0';
	p += strspn(p, " \t");
	if (*p == '\0' || *p == '#')
		return 0;
	*key = p;
	p += strcspn(p, " \t");
	if (*p) {
		*p++ = '\0';
		p += strspn(p, " \t");
	}
	*value = p;
	return 1;
}

static int has_control_chars(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 32 && *p != '\t')
			return 1;
	return 0;
}

struct conf *conf_load(const char *path, conf_report_fn report, void *context)
{
	struct conf *conf = conf_defaults(report, context);
	unsigned char seen[CONF_KEY_COUNT] = {0};
	unsigned seen_line[CONF_KEY_COUNT] = {0};
	char	line[CONF_LINE_MAX + 2];
	unsigned lineno = 0;
	int	errors = 0;
	FILE   *fp;

	if (conf == NULL)
		return NULL;
	if (path == NULL)
		return conf;
	if ((conf->file = mem_strdup(path)) == NULL || (fp = fopen(path, "r")) == NULL) {
		char	msg[256];

		snprintf(msg, sizeof(msg), "cannot open: %s", conf->file == NULL ?
		    "out of memory" : strerror(errno));
		report_at(report, context, path, 0, msg);
		conf_free(conf);
		return NULL;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		char   *key_text, *value, err[CONF_LINE_MAX + 128];
		const struct conf_key *key;
		size_t	len = strlen(line);

		lineno++;
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			report_at(report, context, path, lineno, "line too long");
			errors++;
			int	c;
			while ((c = fgetc(fp)) != EOF && c != '\n')
				;
			continue;
		}
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (strlen(line) != len || has_control_chars(line)) {
			report_at(report, context, path, lineno, "NUL or control character in line");
			errors++;
			continue;
		}
		if (!split_line(line, &key_text, &value))
			continue;
		if ((key = find_key(key_text)) == NULL) {
			snprintf(err, sizeof(err), "unknown key \"%s\"", key_text);
			report_at(report, context, path, lineno, err);
			errors++;
			continue;
		}
		size_t	index = (size_t)(key - conf_table);
		if (seen[index]) {
			snprintf(err, sizeof(err), "duplicate key %s (first set on line %u)", key->name,
			    seen_line[index]);
			report_at(report, context, path, lineno, err);
			errors++;
			continue;
		}
		seen[index] = 1;
		seen_line[index] = lineno;
		if (*value == '\0' && key->type != T_OPTIONAL && key->type != T_NAMESERVERS &&
		    key->type != T_NAMES && key->type != T_ADDRLIST && key->type != T_HOSTPORT &&
		    key->type != T_DOMAINS) {
			snprintf(err, sizeof(err), "%s needs a value", key->name);
			report_at(report, context, path, lineno, err);
			errors++;
			continue;
		}
		if (!conf_set_value(conf, key, value, err, sizeof(err))) {
			report_at(report, context, path, lineno, err);
			errors++;
		}
	}
	if (ferror(fp)) {
		report_at(report, context, path, 0, "read error");
		errors++;
	}
	if (!name_list_contains(&conf->sign_headers, "From") &&
	    !name_list_contains(&conf->oversign_headers, "From")) {
		report_at(report, context, path, seen_line[find_key("SignHeaders") - conf_table],
		    "SignHeaders must include From (RFC 6376 section 5.4)");
		errors++;
	}
	if (conf->arc_seal != ARC_SEAL_NONE && conf->arc_seal_domain[0] == '\0') {
		report_at(report, context, path, seen_line[find_key("ARCSeal") - conf_table],
		    "ARCSeal needs ARCSealDomain: whose key would seal?");
		errors++;
	}
	if (conf->arc_seal != ARC_SEAL_NONE && !(conf->mode & CONF_MODE_SIGN)) {
		report_at(report, context, path, seen_line[find_key("ARCSeal") - conf_table],
		    "ARCSeal needs Mode s or sv: the signer process, which holds the keys, runs "
		    "only then");
		errors++;
	}
	fclose(fp);
	if (errors) {
		conf_free(conf);
		return NULL;
	}
	return conf;
}

void	conf_free(struct conf *conf)
{
	if (conf == NULL)
		return;
	for (size_t i = 0; i < CONF_KEY_COUNT; i++)
		conf_free_value(conf, &conf_table[i]);
	free(conf->file);
	free(conf);
}

int	name_list_contains(const struct name_list *list, const char *name)
{
	for (size_t i = 0; i < list->count; i++)
		if (strcasecmp(list->names[i], name) == 0)
			return 1;
	return 0;
}

const char *conf_canon_name(enum canon_kind kind)
{
	return kind == CANON_RELAXED ? "relaxed" : "simple";
}

/* Prints text as "# " comment lines, one per line of text. */
static void write_comment(FILE *out, const char *text)
{
	while (*text) {
		size_t	len = strcspn(text, "\n");

		fprintf(out, "# %.*s\n", (int)len, text);
		text += len;
		if (*text == '\n')
			text++;
	}
}

/* A duration in the largest unit that divides it: 3600 as "1h", 7776000 as "90d". */
static const char *duration_text(long seconds, char *buf, size_t size)
{
	static const struct {
		char	unit;
		long	seconds;
	} units[] = {{'w', 7 * 86400}, {'d', 86400}, {'h', 3600}, {'m', 60}};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (seconds != 0 && seconds % units[i].seconds == 0) {
			snprintf(buf, size, "%ld%c", seconds / units[i].seconds, units[i].unit);
			return buf;
		}
	snprintf(buf, size, "%lds", seconds);
	return buf;
}

void	conf_write_sample(FILE *out)
{
	fputs("# signet.conf -- Signet configuration (see signet.conf(5)).\n"
	    "#\n"
	    "# Generated from the key table in conf/conf.c by \"signet --sample-config\".\n"
	    "# Each line is \"Key Value\"; '#' starts a comment.  Every key below is shown with\n"
	    "# its default, commented out; uncomment and change what your site needs.\n"
	    "# Check a file with \"signet -c FILE -n\".\n", out);
	for (size_t i = 0; i < CONF_KEY_COUNT; i++) {
		const struct conf_key *key = &conf_table[i];

		fputs("\n", out);
		write_comment(out, key->help);
		if (key->type == T_INTEGER) {
			fprintf(out, "# Range: %ld to %ld.\n", key->min, key->max);
		} else if (key->type == T_DURATION) {
			char	min[32], max[32];

			fprintf(out, "# Range: %s to %s.\n", duration_text(key->min, min,
			    sizeof(min)), duration_text(key->max, max, sizeof(max)));
		} else if (key->type == T_OCTAL) {
			fprintf(out, "# Range: %04lo to %04lo.\n", key->min, key->max);
		}
		fprintf(out, "#%s %s\n", key->name, key->default_value);
	}
}
