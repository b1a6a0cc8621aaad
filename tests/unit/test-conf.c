/*
 * NAME
 *	test-conf - unit tests of the configuration parser
 * DESCRIPTION
 *	Each case writes a small file and checks the parsed values, or the exact
 *	"FILE:LINE: message" errors an operator would see from "signet -n".
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "tests/unit/tap.h"
#include "tests/unit/torture.h"

static char reported[8192];
static int report_count;

static void collect(void *context, const char *message)
{
	size_t	used = strlen(reported);

	(void)context;
	snprintf(reported + used, sizeof(reported) - used, "%s\n", message);
	report_count++;
}

static char conf_path[] = "/tmp/signet-test-conf-XXXXXX";

static struct conf *load_text(const char *text)
{
	FILE   *fp = fopen(conf_path, "w");

	fputs(text, fp);
	fclose(fp);
	reported[0] = '\0';
	report_count = 0;
	return conf_load(conf_path, collect, NULL);
}

static void check_error(const char *text, int line, const char *fragment)
{
	struct conf *conf = load_text(text);
	char	want[128];

	snprintf(want, sizeof(want), "%s:%d: ", conf_path, line);
	TAP_OK(conf == NULL && strstr(reported, want) != NULL && strstr(reported, fragment) != NULL,
	    "error at line %d mentions \"%s\"", line, fragment);
	if (conf != NULL || strstr(reported, fragment) == NULL)
		printf("#   reported: %s", reported);
	conf_free(conf);
}

/* Every key type that allocates: strings, address lists, nameservers, names. */
static const char full_file[] =
    "Socket unix:/run/signet.sock\nAuthservID mx.example.com\nKeystore /var/lib/k\n"
    "InternalHosts 10.0.0.0/8, 2001:db8::/32, 192.0.2.1\nNameservers 127.0.0.1@5353, ::1\n"
    "UserID signet:signet\nPidFile /run/signet.pid\nSignHeaders From, Subject, Date, To\n"
    "OversignHeaders From, To\nMetricsListen 127.0.0.1:9795\nUpdateServer 192.0.2.53\n";

/* conf_load of full_file: NULL with one "out of memory" report, or the right values. */
static enum torture_outcome load_full_file(void *context)
{
	struct conf *conf;
	int	right;

	(void)context;
	reported[0] = '\0';
	report_count = 0;
	conf = conf_load(conf_path, collect, NULL);
	if (conf == NULL) {
		if (report_count == 1 && strstr(reported, "out of memory") != NULL)
			return TORTURE_ERROR;
		printf("#   reported: %s", reported);
		return TORTURE_WRONG;
	}
	right = conf->nameserver_count == 2 && conf->oversign_headers.count == 2 &&
	    strcmp(conf->metrics_listen, "127.0.0.1:9795") == 0 &&
	    addrlist_contains_text(conf->internal_hosts, "192.0.2.1");
	conf_free(conf);
	return right ? TORTURE_DONE : TORTURE_WRONG;
}

static void torture_full_file(void)
{
	FILE   *fp = fopen(conf_path, "w");

	fputs(full_file, fp);
	fclose(fp);
	torture("conf_load of a full file", load_full_file, NULL, TORTURE_NO_RECOVERY);
}

int	main(void)
{
	int	fd = mkstemp(conf_path);
	struct conf *conf;

	close(fd);

	conf = conf_load(NULL, collect, NULL);
	TAP_OK(conf != NULL, "defaults parse");
	if (conf) {
		TAP_STR_EQ(conf->socket, "inet:8895@127.0.0.1", "default Socket");
		TAP_INT_EQ(conf->mode, CONF_MODE_SIGN | CONF_MODE_VERIFY, "default Mode sv");
		TAP_INT_EQ(conf->canon_header, CANON_RELAXED, "default header canon relaxed");
		TAP_INT_EQ(conf->canon_body, CANON_RELAXED, "default body canon relaxed");
		TAP_OK(name_list_contains(&conf->sign_headers, "from"), "From signed by default");
		TAP_OK(name_list_contains(&conf->oversign_headers, "Message-ID"),
		    "Message-ID oversigned by default");
		TAP_INT_EQ(addrlist_contains_text(conf->internal_hosts, "127.0.0.1"), 1,
		    "localhost internal by default");
	}
	conf_free(conf);

	conf = load_text("# comment\n\nSocket unix:/run/signet.sock\nmode s\n"
	    "Canonicalization simple/relaxed\nInternalHosts 10.0.0.0/8, 2001:db8::/32\n"
	    "Nameservers 127.0.0.1@5353, ::1\nMinimumKeyBits 2048\nLogLevel debug\n"
	    "SignHeaders From, Subject\nOversignHeaders From\nAuthservID mx.example.com\r\n");
	TAP_OK(conf != NULL, "a full file parses");
	if (conf == NULL)
		printf("#   reported: %s", reported);
	if (conf) {
		TAP_STR_EQ(conf->socket, "unix:/run/signet.sock", "Socket");
		TAP_INT_EQ(conf->mode, CONF_MODE_SIGN, "key names ignore case");
		TAP_INT_EQ(conf->canon_header, CANON_SIMPLE, "header canon simple");
		TAP_INT_EQ(conf->canon_body, CANON_RELAXED, "body canon relaxed");
		TAP_INT_EQ(conf->nameserver_count, 2, "two nameservers");
		TAP_INT_EQ(conf->nameservers[0].port, 5353, "nameserver port");
		TAP_INT_EQ(conf->nameservers[1].port, 53, "nameserver default port");
		TAP_INT_EQ(conf->minimum_key_bits, 2048, "MinimumKeyBits");
		TAP_INT_EQ(conf->sign_headers.count, 2, "SignHeaders list");
		TAP_STR_EQ(conf->authserv_id, "mx.example.com", "CRLF line end trimmed");
		TAP_INT_EQ(addrlist_contains_text(conf->internal_hosts, "127.0.0.1"), 0,
		    "InternalHosts replaces the default");
	}
	conf_free(conf);

	conf = load_text("Canonicalization relaxed\n");
	TAP_OK(conf && conf->canon_header == CANON_RELAXED && conf->canon_body == CANON_SIMPLE,
	    "one canonicalization word leaves the body simple (RFC 6376 c=)");
	conf_free(conf);

	check_error("Mode s\nBogusKey 1\n", 2, "unknown key \"BogusKey\"");
	check_error("Mode s\nMode v\n", 2, "duplicate key Mode (first set on line 1)");
	check_error("Mode x\n", 1, "want s, v or sv");
	check_error("Socket 8895\n", 1, "not a socket");
	check_error("Socket inet:99999@127.0.0.1\n", 1, "bad port");
	check_error("Socket unix:relative.sock\n", 1, "must be absolute");
	check_error("InternalHosts 10.0.0.0/40\n", 1, "prefix length");
	check_error("Nameservers 127.0.0.1@0\n", 1, "bad port");
	check_error("Nameservers dns.example\n", 1, "not an IP address");
	check_error("MinimumKeyBits 512\n", 1, "out of range 1024..16384");
	check_error("MinimumKeyBits lots\n", 1, "not a whole number");
	check_error("Canonicalization fancy/relaxed\n", 1, "want simple or relaxed");
	check_error("LogLevel loud\n", 1, "LogLevel");
	check_error("Keystore\n", 1, "Keystore needs a value");
	check_error("SignHeaders Subject\nOversignHeaders Date\n", 1, "must include From");
	check_error("SignHeaders From, Bad:Name\n", 1, "not a header field name");
	check_error("Mode s\nAuthservID a\001b\n", 2, "control character");
	check_error("SocketMode 0999\n", 1, "octal mode");
	check_error("RotateInterval 90x\n", 1, "unit must be");
	check_error("RotateInterval 10m\n", 1, "out of range");
	check_error("MetricsListen 127.0.0.1\n", 1, "want PORT, HOST:PORT");
	check_error("MetricsListen 127.0.0.1:0\n", 1, "bad port");
	check_error("MetricsListen 65536\n", 1, "bad port");
	check_error("MetricsListen 0\n", 1, "bad port");
	check_error("MetricsListen :9795\n", 1, "want PORT, HOST:PORT");
	check_error("MetricsListen [::1\n", 1, "want PORT, HOST:PORT");
	check_error("MetricsListen 127.0.0.1:+80\n", 1, "bad port");
	check_error("DMARCEnforce maybe\n", 1, "want yes or no");
	check_error("SenderMismatch bounce\n", 1, "want nosign or reject");
	check_error("RateLimitStore redis\n", 1, "want memory, redis://HOST:PORT/DB or unix:/PATH");
	check_error("RateLimitStore unix:relative\n", 1, "want memory, redis://");
	check_error("RateLimitStoreDown drop\n", 1, "want tempfail or accept");
	check_error("NewClientWindow 10s\n", 1, "out of range");
	check_error("NewClientWindow 1y\n", 1, "unit must be");

	conf = conf_load(NULL, collect, NULL);
	TAP_OK(conf && conf->sender_map[0] == '\0' && conf->sender_mismatch == MISMATCH_NOSIGN &&
	    conf->rate_limits[0] == '\0' && strcmp(conf->rate_limit_store, "memory") == 0 &&
	    conf->rate_limit_store_down == ON_ERROR_ACCEPT && conf->audit_log[0] == '\0' &&
	    conf->new_client_window == 86400,
	    "submission protection defaults: no maps, nosign, memory, accept, no audit file, 24h");
	conf_free(conf);
	conf = load_text("SenderMap /etc/signet/sendermap\nSenderMismatch reject\n"
	    "RateLimits /etc/signet/ratelimits\nRateLimitStore redis://127.0.0.1:6379/2\n"
	    "RateLimitStoreDown tempfail\nAuditLog /var/log/signet/audit.json\n"
	    "NewClientWindow 7d\n");
	TAP_OK(conf && strcmp(conf->sender_map, "/etc/signet/sendermap") == 0 &&
	    conf->sender_mismatch == MISMATCH_REJECT &&
	    strcmp(conf->rate_limits, "/etc/signet/ratelimits") == 0 &&
	    strcmp(conf->rate_limit_store, "redis://127.0.0.1:6379/2") == 0 &&
	    conf->rate_limit_store_down == ON_ERROR_TEMPFAIL &&
	    strcmp(conf->audit_log, "/var/log/signet/audit.json") == 0 &&
	    conf->new_client_window == 7 * 86400, "submission protection keys parse");
	if (conf == NULL)
		printf("#   reported: %s", reported);
	conf_free(conf);
	/* ARC (issue 20) */
	check_error("ARCSeal forward\n", 1, "want none, inbound, outbound or both");
	check_error("ARCSeal both\n", 1, "ARCSeal needs ARCSealDomain");
	check_error("ARCSeal inbound\nARCSealDomain example.org\nMode v\n", 1,
	    "ARCSeal needs Mode s or sv");
	check_error("ARCSealAlgorithm rsa-sha1\n", 1, "want rsa-sha256 or ed25519-sha256");
	check_error("ARCTrustedSealers example.org, bad_domain!\n", 1, "is not a domain name");
	conf = conf_load(NULL, collect, NULL);
	TAP_OK(conf && conf->arc_seal == ARC_SEAL_NONE && conf->arc_seal_domain[0] == '\0' &&
	    conf->arc_seal_algorithm == ARC_SEAL_RSA_SHA256 &&
	    conf->arc_trusted_sealers.count == 0, "ARC defaults: no sealing, RSA, no trusted sealer");
	conf_free(conf);
	conf = load_text("ARCSeal Outbound\nARCSealDomain lists.example.org\n"
	    "ARCSealAlgorithm ed25519-sha256\nARCTrustedSealers Google.COM, lists.example.net.\n");
	TAP_OK(conf && conf->arc_seal == ARC_SEAL_OUTBOUND &&
	    strcmp(conf->arc_seal_domain, "lists.example.org") == 0 &&
	    conf->arc_seal_algorithm == ARC_SEAL_ED25519_SHA256 &&
	    conf->arc_trusted_sealers.count == 2 &&
	    strcmp(conf->arc_trusted_sealers.names[0], "google.com") == 0 &&
	    strcmp(conf->arc_trusted_sealers.names[1], "lists.example.net") == 0,
	    "ARC keys parse; trusted sealers kept lower case without a final dot");
	conf_free(conf);
	conf = load_text("RateLimitStore unix:/run/redis/redis.sock\n");
	TAP_OK(conf && strcmp(conf->rate_limit_store, "unix:/run/redis/redis.sock") == 0,
	    "RateLimitStore takes a unix socket");
	conf_free(conf);

	conf = load_text("RotateInterval 2w\nSocketMode 0640\nMetricsListen [::1]:9795\n"
	    "DMARCEnforce yes\nRetireGrace 36h\n");
	TAP_OK(conf && conf->rotate_interval == 14 * 86400 && conf->socket_mode == 0640 &&
	    conf->dmarc_enforce == 1 && conf->retire_grace == 36 * 3600 &&
	    strcmp(conf->metrics_listen, "[::1]:9795") == 0, "durations, modes, host:port, yes/no");
	conf_free(conf);
	conf = load_text("MetricsListen 9795\n");
	TAP_OK(conf && strcmp(conf->metrics_listen, "9795") == 0,
	    "a bare MetricsListen port is accepted (it means 127.0.0.1)");
	conf_free(conf);

	/* several errors are all reported, each with its own line */
	conf = load_text("Mode q\nMode s\nFoo bar\n");
	TAP_INT_EQ(report_count, 3, "every error is reported (bad Mode, duplicate, unknown key)");
	conf_free(conf);

	/* the sample file parses back to the defaults */
	FILE   *fp = fopen(conf_path, "w");
	conf_write_sample(fp);
	fclose(fp);
	reported[0] = '\0';
	conf = conf_load(conf_path, collect, NULL);
	TAP_OK(conf != NULL, "the generated sample parses");
	conf_free(conf);

	torture_full_file();
	unlink(conf_path);
	return tap_done();
}
