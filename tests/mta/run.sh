#!/bin/bash
# NAME
#	run.sh - Signet behind a real Postfix and a real Sendmail, end to end (TAP)
# SYNOPSIS
#	top_srcdir=... top_builddir=... tests/mta/run.sh
#	SIGNET_TEST_ONLY=REGEX SIGNET_TEST_KEEP=1 tests/mta/run.sh
# DESCRIPTION
#	Everything runs on loopback addresses, in one temporary directory; nothing of the
#	system's mail set-up is read or changed, and no system MTA is started or stopped.
#	Run as root, the whole suite runs in a network namespace of its own (unshare -n,
#	loopback only), where the kernel's TCP counters are the suite's alone; Sendmail's
#	packages are downloaded before, outside it.
#
#	- a private NSD (tests/lib/dnsserver.sh) serves the zone "test": Signet's keys for
#	  out.signet.test (RSA and Ed25519), a key of a foreign sender sender.test, and
#	  SPF ("v=spf1 ip4:127.0.0.2 -all") and DMARC (p=reject) records for sender.test;
#	- milter/signet -f on a loopback port, InternalHosts 127.0.0.1 only, asking only
#	  that NSD; and a second one, configured alike, on a unix socket;
#	- smtpsink.py, an SMTP server that writes each message it receives to a file: the
#	  MTAs' relay host;
#	- a private Postfix (postfix -c DIR start: its own main.cf and master.cf, queue,
#	  data directory and log file, every service unchrooted, smtpd on one loopback
#	  port and a submission smtpd with Cyrus SASL (sasldb) on another, relayhost the
#	  sink), with the lines of contrib/postfix/main.cf;
#	- a private Sendmail: Debian's sendmail-bin, sendmail-base and sendmail-cf
#	  fetched with "apt-get download" and unpacked with dpkg -x (never installed: they
#	  conflict with postfix), sendmail.cf built with m4 from an .mc that includes
#	  contrib/sendmail/signet.mc, run as root in the foreground (-bD) with its own
#	  queue, SMART_HOST the sink.  It runs in its own UTS and mount namespaces
#	  (unshare): the host name there is mta.signet.test (an unqualified host name
#	  makes Sendmail sleep 60 s at start), and a private directory is bind-mounted
#	  on /usr/lib/sasl2 so that Cyrus SASL reads our Sendmail.conf and sasldb (Sendmail
#	  clears the environment, so SASL_CONF_PATH cannot point elsewhere).
#	- for submission protection (issue 18): a private redis-server on a loopback port
#	  (--save '' --appendonly no) and three more Signets, all with a SenderMap (alice
#	  may send as alice@out.signet.test only, the other users as anyone there), a
#	  RateLimits file (msg/min=2 for MTA-carol and MTA-erin, rcpt/hour=2 for MTA-dave)
#	  and the test clock SIGNET_TEST_NOW_FILE of signet(8), a file the test rewrites
#	  to move time: "submit" (RateLimitStore memory, SenderMismatch nosign),
#	  "fleet-a" and "fleet-b" (both on that Redis; fleet-b with SenderMismatch
#	  reject), each with its own AuditLog.  Each MTA has one more SASL listener per Signet, that
#	  Signet its only milter (Postfix: smtpd_milters in master.cf; Sendmail:
#	  MAIL_FILTER and DAEMON_OPTIONS I=), and its own users in sasldb.
#
#	For each MTA, with swaks as the client:
#	  a client on 127.0.0.3 that authenticates (AUTH PLAIN) gets its mail signed;
#	  a client on 127.0.0.1 (InternalHosts) gets its mail signed;
#	  at the sink, both signatures (RSA, Ed25519) verify with dkimpy and Mail::DKIM;
#	  mail from 127.0.0.2 (not internal, not authenticated), signed beforehand by
#	  dkimpy for sender.test and carrying a forged Authentication-Results with our
#	  AuthservID and a foreign one, arrives unsigned by us with exactly one
#	  Authentication-Results of ours (dkim=pass, spf=pass, dmarc=pass for
#	  sender.test) and the foreign one, the forged one gone;
#	  40 messages over one SMTP session through Signet's inet socket, and 40 through
#	  its unix socket: the kernel's count of ACKs sent late by the delayed-ACK timer
#	  (TcpExt DelayedACKs) grows by far less than one per message more over TCP
#	  than over the unix socket, else the MTA's next write waits for our delayed ACK
#	  under Nagle (issue 17: Postfix sends the macros of events a milter skips;
#	  Sendmail writes a macro frame and its command apart; Signet's engine asks for
#	  no reply to several steps and ACKs what it reads at once).  Built with
#	  libmilter (configure --with-milter-engine=libmilter), Sendmail's case is a
#	  known failure, "# TODO" in TAP: libmilter leaves those ACKs to the kernel;
#	  two messages through a listener whose milter is the Signet on the unix socket,
#	  where Signet asks for no reply to the steps that only continue: both signed.
#	Then, for each MTA, authenticated from 127.0.0.3 on those listeners:
#	  a From the SenderMap allows for the user is signed (both verifiers pass);
#	  a From it does not allow is delivered unsigned and logged by "submit", and
#	  refused by fleet-b with 550 5.7.1 and a text naming the From;
#	  MTA-carol's third message in a minute gets 451 4.7.1 (msg/min) at the end of
#	  DATA, and after the test clock moves two minutes the fourth is signed;
#	  MTA-dave's third recipient gets 451 4.7.1 (rcpt/hour) at RCPT, the first two
#	  get the message, signed;
#	  MTA-erin's two messages through fleet-a and a third through fleet-b: fleet-b
#	  refuses it with 451 4.7.1 (msg/min), the counters being in the shared Redis;
#	  the AuditLog of each of the three holds exactly one JSON line per submission to
#	  it above, in order (time by the test clock, user, PLAIN, client, TLS none, From,
#	  recipients, Message-ID, queue id, verdict: signed, not signed: unauthorized From,
#	  rejected: unauthorized From, rate-limited).
#
#	A missing tool or MTA is a failure with the reason, never a skip.  Each case prints,
#	when it fails, what it got and what it wanted and the logs written meanwhile.
#	top_srcdir and top_builddir default to the repository root.  SIGNET_TEST_ONLY runs
#	only the cases whose name matches the extended regular expression REGEX (set-up
#	always runs).  SIGNET_TEST_KEEP=1 keeps the temporary directory and says where.
#	SIGNET_SENDMAIL_DEBS=DIR takes the three .deb files from DIR instead of
#	downloading them.
# FILES
#	contrib/postfix/main.cf, contrib/sendmail/signet.mc, tests/mta/smtpsink.py,
#	tests/lib/dnsserver.sh, verify-dkimpy.py, verify-maildkim.pl,
#	tests/daemon/submission.py (issue 18 through the daemon alone, more cases)
# SEE ALSO
#	README.md ("Use with Postfix", "Use with Sendmail")

set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=$(cd "${top_srcdir:-$here/../..}" && pwd)
top_builddir=${top_builddir:-$top_srcdir}
top_builddir=$(cd "$top_builddir" 2>/dev/null && pwd || echo "$top_builddir")
PY=/usr/bin/python3
SIGNET=$top_builddir/milter/signet
SIGNET_KEYS=$top_builddir/keys/signet-keys
LIB=$top_srcdir/tests/lib
ONLY=${SIGNET_TEST_ONLY:-}
AUTHSERV=mx.signet.test
OUR=out.signet.test		# the domain Signet signs for
THEIR=sender.test		# a foreign sender, checked inbound
SASL_USER=alice@signet.test
SASL_PASS=signet-test-password

# As root, this script runs itself again in a network namespace of its own, loopback
# only, so that the kernel's TCP counters read by case_unanswered are the suite's alone.
# Sendmail's packages come from Debian's archive, so they are fetched first, out here.
# NETNS_PROBLEM says, inside, why the suite is not in a namespace of its own.
if [ -z "${SIGNET_MTA_NETNS:-}" ]; then
	NETNS_PROBLEM=''
	if [ "$(id -u)" != 0 ]; then
		NETNS_PROBLEM="not run as root"
	elif ! unshare -n true 2>/dev/null; then
		NETNS_PROBLEM="unshare -n failed: $(unshare -n true 2>&1)"
	fi
	if [ -z "$NETNS_PROBLEM" ]; then
		fetched=''
		if [ -z "${SIGNET_SENDMAIL_DEBS:-}" ]; then
			fetched=$(mktemp -d "${TMPDIR:-/tmp}/signet-mta-debs.XXXXXX") || exit 99
			(cd "$fetched" && apt-get download sendmail-bin sendmail-base sendmail-cf) \
			    >"$fetched/apt-get.out" 2>&1
			export SIGNET_SENDMAIL_DEBS=$fetched
		fi
		# Loopback up with ip(8), or with SIOCSIFFLAGS where iproute2 is missing.
		SIGNET_MTA_NETNS=1 unshare -n /bin/sh -c '
			ip link set lo up 2>/dev/null || "$1" -c "import socket, fcntl, struct
fcntl.ioctl(socket.socket(), 0x8914, struct.pack(\"16sH22x\", b\"lo\", 0x41))" || exit 99
			shift
			exec "$@"' sh "$PY" /bin/bash "$0" "$@"
		status=$?
		[ -z "$fetched" ] || rm -rf "$fetched"
		exit $status
	fi
	export SIGNET_MTA_NETNS="$NETNS_PROBLEM"
fi
# Inside the namespace SIGNET_MTA_NETNS is 1; otherwise it says what prevented it.
NETNS_PROBLEM=${SIGNET_MTA_NETNS#1}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/signet-mta.XXXXXX") || exit 99
# Postfix's daemons run as user postfix and must reach their queue under $TMP.
chmod 755 "$TMP"
. "$LIB/dnsserver.sh"
. "$LIB/tap.sh"

SIGNET_PID='' SINK_PID='' SENDMAIL_PID='' POSTFIX_UP='' DNS_PORT=''
SIGNET_UNIX_PID='' SIGNET_PORT='' SINK_PORT=''
# Sendmail refuses a milter socket below a world-writable directory such as /tmp.
SOCK_DIR=$(mktemp -d /run/signet-mta.XXXXXX) && chmod 755 "$SOCK_DIR" || exit 99
SIGNET_SOCK=$SOCK_DIR/signet.sock
PF_DIR=$TMP/postfix SM_DIR=$TMP/sendmail SINK_DIR=$TMP/sink
PF_SMTP_PORT='' PF_SUBMIT_PORT='' PF_UNIX_PORT='' SM_PORT='' SM_UNIX_PORT=''
declare -A LOGS LOGOFF
cleanup() {
	if [ -n "$POSTFIX_UP" ]; then
		postfix -c "$PF_DIR/etc" stop >/dev/null 2>&1 ||
		    postfix -c "$PF_DIR/etc" abort >/dev/null 2>&1
		# "postfix stop" only signals the master: let it and its children go
		# before their queue directory is removed.
		local master _
		master=$(sed -n 's/^ *\([0-9][0-9]*\).*/\1/p' "$PF_DIR/queue/pid/master.pid" 2>/dev/null)
		for _ in $(seq 1 50); do
			if [ -z "$master" ] || ! kill -0 "$master" 2>/dev/null; then
				break
			fi
			sleep 0.1
		done
	fi
	local pid
	# Sendmail's pid file, in case the process we started is not Sendmail itself.
	[ -s "$SM_DIR/sendmail.pid" ] && kill "$(head -n 1 "$SM_DIR/sendmail.pid")" 2>/dev/null
	for pid in "$SENDMAIL_PID" "$SIGNET_PID" "$SIGNET_UNIX_PID" "$SINK_PID" \
	    "${SUB_PID[@]}" "$REDIS_PID"; do
		[ -n "$pid" ] || continue
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	dns_stop
	rm -rf "$SOCK_DIR"
	if [ -n "${SIGNET_TEST_KEEP:-}" ]; then
		echo "# kept $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 99' INT TERM HUP

# ---- TAP -----------------------------------------------------------------------------
ntest=0 npass=0 nfail=0 nknown=0 KNOWN=
errors=()
CASE='' CASE_DIR=''

# begin NAME: returns 1 when SIGNET_TEST_ONLY filters the case out.
begin() {
	CASE=$1
	errors=()
	KNOWN=''
	if [ -n "$ONLY" ] && ! printf '%s\n' "$CASE" | grep -Eq -- "$ONLY"; then
		return 1
	fi
	CASE_DIR=$TMP/cases/$CASE
	mkdir -p "$CASE_DIR"
	local name
	for name in "${!LOGS[@]}"; do
		LOGOFF[$name]=$(wc -c < "${LOGS[$name]}" 2>/dev/null || echo 0)
	done
	return 0
}

err() {
	local IFS=$'\n'
	errors+=("$*")
}

# A case that fails for a known reason sets KNOWN to it before finish: its TAP line
# carries "# TODO KNOWN" (automake counts XFAIL), and passing anyway (XPASS) counts as
# a failure here, so that the reason is looked at again.
finish() {
	ntest=$((ntest + 1))
	local todo=${KNOWN:+ # TODO $KNOWN}
	if [ ${#errors[@]} -eq 0 ]; then
		if [ -n "$todo" ]; then
			nfail=$((nfail + 1))
		else
			npass=$((npass + 1))
		fi
		echo "ok $ntest - $CASE$todo"
		return
	fi
	if [ -n "$todo" ]; then
		nknown=$((nknown + 1))
	else
		nfail=$((nfail + 1))
	fi
	echo "not ok $ntest - $CASE$todo"
	diag "${errors[@]}"
	local name text
	for name in "${!LOGS[@]}"; do
		text=$(tail -c +$((${LOGOFF[$name]:-0} + 1)) "${LOGS[$name]}" 2>/dev/null |
		    tail -n 40)
		[ -n "$text" ] && diag "$name log during this case:" "$text"
	done
}

# setup NAME FUNCTION: a set-up step as a test; later steps and cases need it to pass.
SETUP_FAILED=
setup() {
	CASE=$1
	errors=()
	local name
	for name in "${!LOGS[@]}"; do
		LOGOFF[$name]=$(wc -c < "${LOGS[$name]}" 2>/dev/null || echo 0)
	done
	if [ -n "$SETUP_FAILED" ]; then
		err "not run: set-up step '$SETUP_FAILED' failed"
	else
		"$2" || { [ ${#errors[@]} -gt 0 ] || err "$2 failed"; }
		[ ${#errors[@]} -eq 0 ] || SETUP_FAILED=$CASE
	fi
	finish
}

# ---- set-up --------------------------------------------------------------------------
free_port() {
	dns_free_port
}

# wait_smtp PORT SECONDS: something answers "220" on 127.0.0.1:PORT.
wait_smtp() {
	"$PY" - "$1" "$2" <<'EOF'
import socket, sys, time
port, end = int(sys.argv[1]), time.time() + float(sys.argv[2])
while time.time() < end:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            if s.recv(512).startswith(b"220"):
                s.sendall(b"QUIT\r\n")
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit(1)
EOF
}

check_tools() {
	local missing=() f
	[ -x "$SIGNET" ] || missing+=("$SIGNET (build it: make)")
	[ -x "$SIGNET_KEYS" ] || missing+=("$SIGNET_KEYS (build it: make)")
	command -v nsd >/dev/null || [ -x /usr/sbin/nsd ] || missing+=("nsd (apt-get install nsd)")
	command -v kdig >/dev/null || missing+=("kdig (apt-get install knot-dnsutils)")
	[ -x "$PY" ] || missing+=("$PY (apt-get install python3)")
	"$PY" -c 'import dkim, dns.resolver, nacl.signing' 2>/dev/null ||
	    missing+=("dkimpy/dnspython/PyNaCl (apt-get install python3-dkim python3-dnspython python3-nacl)")
	perl -MMail::DKIM::Verifier -MNet::DNS -MCrypt::PK::Ed25519 -e 1 2>/dev/null ||
	    missing+=("Mail::DKIM/Net::DNS/CryptX (apt-get install libmail-dkim-perl libnet-dns-perl libcryptx-perl)")
	command -v swaks >/dev/null || missing+=("swaks (apt-get install swaks)")
	for f in postfix postconf; do
		command -v $f >/dev/null || [ -x /usr/sbin/$f ] ||
		    missing+=("$f (apt-get install postfix)")
	done
	id postfix >/dev/null 2>&1 || missing+=("user postfix (apt-get install postfix)")
	command -v saslpasswd2 >/dev/null || [ -x /usr/sbin/saslpasswd2 ] ||
	    missing+=("saslpasswd2 (apt-get install sasl2-bin)")
	ls /usr/lib/*/sasl2/libplain.so /usr/lib/sasl2/libplain.so >/dev/null 2>&1 ||
	    ls /usr/lib/*/sasl2/libsasldb.so >/dev/null 2>&1 ||
	    missing+=("Cyrus SASL plain and sasldb plug-ins (apt-get install libsasl2-modules libsasl2-modules-db)")
	for f in m4 unshare mount dpkg apt-get; do
		command -v $f >/dev/null || missing+=("$f")
	done
	[ "$(id -u)" -eq 0 ] || missing+=("root (the private Postfix and Sendmail need it)")
	if [ ${#missing[@]} -gt 0 ]; then
		err "missing: ${missing[*]}"
		return 1
	fi
}

keys() {	# KEYSTORE signet-keys arguments...
	local store=$1
	shift
	"$SIGNET_KEYS" -k "$store" "$@" 2>>"$TMP/signet-keys.log"
}

setup_dns() {
	local k=$TMP/keys f=$TMP/foreign-keys
	mkdir -p "$k" "$f"
	{
		keys "$k" generate "$OUR" -a rsa-2048 -s rsa1 &&
		keys "$k" generate "$OUR" -a ed25519 -s ed1 &&
		keys "$k" activate "$OUR" rsa1 --force &&
		keys "$k" activate "$OUR" ed1 --force &&
		keys "$f" generate "$THEIR" -a rsa-2048 -s mail &&
		keys "$f" activate "$THEIR" mail --force
	} >/dev/null || {
		err "signet-keys failed:" "$(tail -n 5 "$TMP/signet-keys.log")"
		return 1
	}
	{
		keys "$k" dns "$OUR" && keys "$f" dns "$THEIR" &&
		printf '%s. IN TXT "v=spf1 ip4:127.0.0.2 -all"\n' "$THEIR" &&
		printf '_dmarc.%s. IN TXT "v=DMARC1; p=reject"\n' "$THEIR" &&
		printf '%s. IN TXT "v=spf1 ip4:127.0.0.1 -all"\n' "$OUR" &&
		printf '_dmarc.%s. IN TXT "v=DMARC1; p=none"\n' "$OUR"
	} > "$TMP/records" || {
		err "signet-keys dns failed:" "$(tail -n 5 "$TMP/signet-keys.log")"
		return 1
	}
	if ! dns_start "$TMP/dns" test "$TMP/records" 2>"$TMP/dns.err"; then
		err "NSD: $(cat "$TMP/dns.err")"
		return 1
	fi
	LOGS[nsd]=$TMP/dns/nsd.log
	local got
	got=$(kdig +short +timeout=2 @127.0.0.1 -p "$DNS_PORT" TXT "_dmarc.$THEIR" 2>&1)
	case $got in
	*v=DMARC1*) ;;
	*) err "NSD does not serve _dmarc.$THEIR: got '$got'"; return 1 ;;
	esac
}

# start_signet NAME SOCKET [CONFIG LINES]: one Signet with the test's configuration on
# SOCKET; sets STARTED_PID once it accepts connections.
start_signet() {
	local name=$1 spec=$2 _
	cat > "$TMP/$name.conf" <<EOF
# Written by tests/mta/run.sh
Socket $spec
Mode sv
AuthservID $AUTHSERV
Keystore $TMP/keys
InternalHosts 127.0.0.1
Nameservers 127.0.0.1@$DNS_PORT
LogLevel debug
${3:-}
EOF
	LOGS[$name]=$TMP/$name.log
	"$SIGNET" -c "$TMP/$name.conf" -f >"$TMP/$name.log" 2>&1 &
	STARTED_PID=$!
	for _ in $(seq 1 100); do
		if ! kill -0 "$STARTED_PID" 2>/dev/null; then
			wait "$STARTED_PID"
			err "$name exited with status $? at start-up:" "$(tail -n 20 "$TMP/$name.log")"
			STARTED_PID=
			return 1
		fi
		if "$PY" - "$spec" 2>/dev/null <<'EOF'
import socket, sys
spec = sys.argv[1]
if spec.startswith("unix:"):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(1)
    s.connect(spec[5:])
else:
    port, host = spec[5:].split("@")
    socket.create_connection((host, int(port)), 1).close()
EOF
		then
			return 0
		fi
		sleep 0.1
	done
	err "$name does not listen on $spec after 10 s:" "$(tail -n 20 "$TMP/$name.log")"
	return 1
}

setup_signet() {
	SIGNET_PORT=$(free_port)
	# ARC (issue 20): mail from InternalHosts leaves sealed by $OUR's RSA key.
	start_signet signet "inet:$SIGNET_PORT@127.0.0.1" \
	    "$(printf 'ARCSeal outbound\nARCSealDomain %s' "$OUR")"
	SIGNET_PID=$STARTED_PID
	[ -n "$SIGNET_PID" ]
}

# A second Signet on a unix socket: there it asks for no reply to the steps that only
# continue (milter/adapter.c), which each MTA must honour.
setup_signet_unix() {
	start_signet signet-unix "unix:$SIGNET_SOCK" "SocketMode 0666"
	SIGNET_UNIX_PID=$STARTED_PID
	[ -n "$SIGNET_UNIX_PID" ]
}

# ---- submission protection (issue 18) --------------------------------------------------
# Three more Signets, each behind one more SASL listener of each MTA, with SenderMap,
# RateLimits and an AuditLog, and the test clock of signet(8) (SIGNET_TEST_NOW_FILE, read
# at every use): "submit" keeps its counters in memory and lets a mismatched From pass
# unsigned; "fleet-a" and "fleet-b" share a private redis-server, and fleet-b refuses a
# mismatched From.  Each MTA has its own users, so that its limits start from nothing.
SUB_DIR=$TMP/submission
NOW_FILE=$SUB_DIR/now
SUB_NAMES='submit fleet-a fleet-b'
SUB_USERS=''
for mta in postfix sendmail; do
	SUB_USERS+=" $mta-carol@signet.test $mta-dave@signet.test $mta-erin@signet.test"
done
declare -A SUB_SIGNET_PORT SUB_PID PF_PORT_OF SM_PORT_OF
REDIS_PID='' REDIS_PORT='' SUB_FAILED=''

# other_port PORT...: a free loopback port that is none of PORT...
other_port() {
	local p
	while :; do
		p=$(free_port)
		case " $* " in
		*" $p "*) ;;
		*) echo "$p"; return ;;
		esac
	done
}

# set_clock SECONDS: the daemons' clock from now on (written whole, then renamed).
set_clock() {
	NOW=$1
	echo "$NOW" > "$NOW_FILE.tmp" && mv "$NOW_FILE.tmp" "$NOW_FILE"
}

start_redis() {
	command -v redis-server >/dev/null ||
	    { err "missing: redis-server (apt-get install redis-server)"; return 1; }
	REDIS_PORT=$(free_port)
	LOGS[redis]=$TMP/redis.log
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
	    --dir "$SUB_DIR" >"$TMP/redis.log" 2>&1 &
	REDIS_PID=$!
	local _
	for _ in $(seq 1 100); do
		if "$PY" -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)
s.sendall(b"PING\r\n")
sys.exit(s.recv(16) != b"+PONG\r\n")' "$REDIS_PORT" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	err "redis-server does not answer PING on 127.0.0.1:$REDIS_PORT after 10 s:" \
	    "$(tail -n 20 "$TMP/redis.log")"
	return 1
}

setup_submission() {
	local name user store extra
	mkdir -p "$SUB_DIR" || return 1
	set_clock 1790000000
	{
		echo "# alice may send as herself only; the others as anyone at $OUR"
		echo "$SASL_USER  alice@$OUR"
		for user in $SUB_USERS; do
			echo "$user  @$OUR"
		done
	} > "$SUB_DIR/sendermap"
	{
		echo "*  msg/min=100 rcpt/hour=100"
		for mta in postfix sendmail; do
			echo "$mta-carol@signet.test  msg/min=2"
			echo "$mta-dave@signet.test  rcpt/hour=2"
			echo "$mta-erin@signet.test  msg/min=2"
		done
	} > "$SUB_DIR/ratelimits"
	start_redis || return 1
	for name in $SUB_NAMES; do
		store=memory extra='SenderMismatch nosign'
		[ "$name" = submit ] || store=redis://127.0.0.1:$REDIS_PORT/0
		[ "$name" = fleet-b ] && extra='SenderMismatch reject'
		SUB_SIGNET_PORT[$name]=$(free_port)
		SIGNET_TEST_NOW_FILE=$NOW_FILE start_signet "signet-$name" \
		    "inet:${SUB_SIGNET_PORT[$name]}@127.0.0.1" "SenderMap $SUB_DIR/sendermap
RateLimits $SUB_DIR/ratelimits
RateLimitStore $store
AuditLog $SUB_DIR/audit-$name.json
$extra"
		SUB_PID[$name]=$STARTED_PID
		[ -n "$STARTED_PID" ] || return 1
	done
}

# sasl_users SASLDB: every test user, with the one password, in SASLDB.
sasl_users() {
	local user
	for user in $SASL_USER $SUB_USERS; do
		printf '%s' "$SASL_PASS" | saslpasswd2 -f "$1" -p -c \
		    -u "${user#*@}" "${user%@*}" 2>"$TMP/saslpasswd2.err" || {
			err "saslpasswd2 failed for $user: $(cat "$TMP/saslpasswd2.err")"
			return 1
		}
	done
}

# port_from FILE: the port a helper writes to FILE once it listens (5 s at most).
port_from() {
	local _
	for _ in $(seq 1 50); do
		[ -s "$1" ] && break
		sleep 0.1
	done
	cat "$1" 2>/dev/null
}

setup_sink() {
	mkdir -p "$SINK_DIR"
	LOGS[sink]=$TMP/sink.log
	"$PY" "$here/smtpsink.py" "$SINK_DIR" "$TMP/sink.port" >"$TMP/sink.log" 2>&1 &
	SINK_PID=$!
	SINK_PORT=$(port_from "$TMP/sink.port")
	if [ -z "$SINK_PORT" ] || ! wait_smtp "$SINK_PORT" 5; then
		err "the SMTP sink did not start:" "$(cat "$TMP/sink.log")"
		return 1
	fi
}

# The lines of a contrib snippet with Signet's port in place of the documented 8895.
contrib_lines() {	# FILE
	sed -e "s/127\.0\.0\.1:8895/127.0.0.1:$SIGNET_PORT/g" \
	    -e "s/inet:8895@127\.0\.0\.1/inet:$SIGNET_PORT@127.0.0.1/g" "$1"
}

# pf_submission PORT SYSLOG_NAME [MILTER]: a master.cf smtpd with SASL on PORT, for
# authenticated clients only; its milter MILTER instead of main.cf's smtpd_milters.
pf_submission() {
	cat <<EOF
127.0.0.1:$1 inet n - n - - smtpd
  -o syslog_name=postfix/$2
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
EOF
	[ -z "${3:-}" ] || echo "  -o smtpd_milters=$3"
}

# wait_sub_ports ARRAY: the MTA answers on each port of the named array (5 s each).
wait_sub_ports() {
	local -n ports=$1
	local name
	for name in $SUB_NAMES; do
		wait_smtp "${ports[$name]}" 5 || return 1
	done
}

setup_postfix() {
	local etc=$PF_DIR/etc
	mkdir -p "$etc/sasl" "$PF_DIR/queue" "$PF_DIR/data" || return 1
	chown postfix "$PF_DIR/data"
	PF_SMTP_PORT=$(free_port)
	PF_SUBMIT_PORT=$(free_port)
	while [ "$PF_SUBMIT_PORT" = "$PF_SMTP_PORT" ]; do PF_SUBMIT_PORT=$(free_port); done
	PF_UNIX_PORT=$(free_port)
	while [ "$PF_UNIX_PORT" = "$PF_SMTP_PORT" ] || [ "$PF_UNIX_PORT" = "$PF_SUBMIT_PORT" ]; do
		PF_UNIX_PORT=$(free_port)
	done
	local name used="$PF_SMTP_PORT $PF_SUBMIT_PORT $PF_UNIX_PORT"
	for name in $SUB_NAMES; do
		PF_PORT_OF[$name]=$(other_port $used)
		used+=" ${PF_PORT_OF[$name]}"
	done
	{
		cat <<EOF
# Written by tests/mta/run.sh: a private Postfix on loopback ports.
compatibility_level = 3.6
queue_directory = $PF_DIR/queue
data_directory = $PF_DIR/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $PF_DIR/maillog
maillog_file_prefixes = $PF_DIR
myhostname = mta.signet.test
mydomain = signet.test
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
local_transport = error:no local delivery here
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
relay_domains = example.net
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
relayhost = [127.0.0.1]:$SINK_PORT
smtp_host_lookup = native
smtpd_peername_lookup = no
smtputf8_enable = no
biff = no
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 10s
cyrus_sasl_config_path = $etc/sasl
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
smtpd_sasl_security_options = noanonymous
# ---- contrib/postfix/main.cf, Signet's port in place of 8895 ----
EOF
		contrib_lines "$top_srcdir/contrib/postfix/main.cf"
	} > "$etc/main.cf"
	cat > "$etc/master.cf" <<EOF
# Written by tests/mta/run.sh: no chroot, so that paths are the same everywhere.
127.0.0.1:$PF_SMTP_PORT inet n - n - - smtpd
$(pf_submission "$PF_SUBMIT_PORT" submission)
127.0.0.1:$PF_UNIX_PORT inet n - n - - smtpd
  -o syslog_name=postfix/unix-milter
  -o smtpd_milters=unix:$SIGNET_SOCK
EOF
	for name in $SUB_NAMES; do
		pf_submission "${PF_PORT_OF[$name]}" "submission-$name" \
		    "inet:127.0.0.1:${SUB_SIGNET_PORT[$name]}"
	done >> "$etc/master.cf"
	cat "$here/postfix-services.cf" >> "$etc/master.cf"
	cat > "$etc/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $PF_DIR/sasldb2
EOF
	sasl_users "$PF_DIR/sasldb2" || return 1
	chgrp postfix "$PF_DIR/sasldb2" && chmod 640 "$PF_DIR/sasldb2"
	: > "$PF_DIR/maillog"
	LOGS[postfix]=$PF_DIR/maillog
	if ! postfix -c "$etc" start >"$PF_DIR/start.out" 2>&1; then
		err "postfix -c $etc start failed:" "$(cat "$PF_DIR/start.out")" \
		    "$(tail -n 20 "$PF_DIR/maillog")"
		postfix -c "$etc" abort >/dev/null 2>&1
		return 1
	fi
	POSTFIX_UP=1
	if ! wait_smtp "$PF_SMTP_PORT" 15 || ! wait_smtp "$PF_SUBMIT_PORT" 5 ||
	    ! wait_smtp "$PF_UNIX_PORT" 5 ||
	    ! wait_sub_ports PF_PORT_OF; then
		err "Postfix does not answer on 127.0.0.1:$PF_SMTP_PORT, :$PF_SUBMIT_PORT and :$PF_UNIX_PORT:" \
		    "$(tail -n 20 "$PF_DIR/maillog")"
		return 1
	fi
}

# The three packages, downloaded with apt-get (never installed: sendmail-bin conflicts
# with postfix), or taken from $SIGNET_SENDMAIL_DEBS.
sendmail_debs() {
	local debs=$SM_DIR/debs p
	mkdir -p "$debs"
	if [ -n "${SIGNET_SENDMAIL_DEBS:-}" ]; then
		cp "$SIGNET_SENDMAIL_DEBS"/sendmail-bin_*.deb "$SIGNET_SENDMAIL_DEBS"/sendmail-base_*.deb \
		    "$SIGNET_SENDMAIL_DEBS"/sendmail-cf_*.deb "$debs/" 2>"$SM_DIR/debs.err" || {
			# apt-get.out: what apt-get download said, before the namespace (top).
			err "no sendmail-bin, sendmail-base, sendmail-cf .deb in $SIGNET_SENDMAIL_DEBS" \
			    "(Debian's archive must be reachable, or set SIGNET_SENDMAIL_DEBS):" \
			    "$(cat "$SM_DIR/debs.err")" \
			    "$(tail -n 5 "$SIGNET_SENDMAIL_DEBS/apt-get.out" 2>/dev/null)"
			return 1
		}
	else
		(cd "$debs" && apt-get download sendmail-bin sendmail-base sendmail-cf) \
		    >"$SM_DIR/debs.err" 2>&1 || {
			err "apt-get download sendmail-bin sendmail-base sendmail-cf failed" \
			    "(Debian's archive must be reachable, or set SIGNET_SENDMAIL_DEBS):" \
			    "$(tail -n 5 "$SM_DIR/debs.err")"
			return 1
		}
	fi
	for p in "$debs"/*.deb; do
		dpkg -x "$p" "$SM_DIR/root" || { err "dpkg -x $p failed"; return 1; }
	done
	SENDMAIL=$SM_DIR/root/usr/libexec/sendmail/sendmail
	[ -x "$SENDMAIL" ] || SENDMAIL=$SM_DIR/root/usr/lib/sm.bin/sendmail
	if [ ! -x "$SENDMAIL" ]; then
		err "no sendmail binary in the unpacked sendmail-bin"
		return 1
	fi
	local missing
	missing=$(ldd "$SENDMAIL" 2>&1 | grep 'not found')
	if [ -n "$missing" ]; then
		err "sendmail needs libraries that are not installed (contrib/deps.sh --test):" "$missing"
		return 1
	fi
}

# Sendmail in its own UTS and mount namespaces, in the foreground: ARGS...  Run in the
# background, $! is Sendmail's own process id (exec all the way down).
sendmail_ns() {
	exec unshare --uts --mount --propagation private /bin/sh -c '
		hostname mta.signet.test || exit 1
		mount --bind "$0" /usr/lib/sasl2 || exit 1
		exec "$@"' "$SM_DIR/sasl" "$SENDMAIL" "$@"
}

setup_sendmail() {
	sendmail_debs || return 1
	local cf=$SM_DIR/root/usr/share/sendmail/cf
	mkdir -p "$SM_DIR/queue" "$SM_DIR/sasl" && chmod 700 "$SM_DIR/queue" || return 1
	SM_PORT=$(free_port)
	SM_UNIX_PORT=$(free_port)
	while [ "$SM_UNIX_PORT" = "$SM_PORT" ]; do SM_UNIX_PORT=$(free_port); done
	local name used="$SM_PORT $SM_UNIX_PORT"
	for name in $SUB_NAMES; do
		SM_PORT_OF[$name]=$(other_port $used)
		used+=" ${SM_PORT_OF[$name]}"
	done
	printf 'hosts files\naliases files\n' > "$SM_DIR/service.switch"
	# Cyrus SASL looks for Sendmail.conf in /usr/lib/sasl2 (among system paths); in
	# Sendmail's mount namespace that directory is $SM_DIR/sasl.
	cat > "$SM_DIR/sasl/Sendmail.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: /usr/lib/sasl2/sasldb2
EOF
	sasl_users "$SM_DIR/sasl/sasldb2" || return 1
	chmod 600 "$SM_DIR/sasl/sasldb2"
	{
		cat <<EOF
divert(-1)
# Written by tests/mta/run.sh: a private Sendmail on a loopback port.
divert(0)dnl
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`mta.signet.test')dnl
define(\`QUEUE_DIR', \`$SM_DIR/queue')dnl
define(\`confPID_FILE', \`$SM_DIR/sendmail.pid')dnl
define(\`STATUS_FILE', \`$SM_DIR/statistics')dnl
define(\`confSERVICE_SWITCH_FILE', \`$SM_DIR/service.switch')dnl
define(\`confHOSTS_FILE', \`/etc/hosts')dnl
define(\`ALIAS_FILE', \`')dnl
define(\`confHELP_FILE', \`')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confDELIVERY_MODE', \`background')dnl
define(\`confLOG_LEVEL', \`14')dnl
define(\`SMART_HOST', \`[127.0.0.1]')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $SINK_PORT')dnl
define(\`confAUTH_MECHANISMS', \`PLAIN LOGIN')dnl
TRUST_AUTH_MECH(\`PLAIN LOGIN')dnl
define(\`confAUTH_OPTIONS', \`A')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`accept_unresolvable_domains')dnl
RELAY_DOMAIN(\`example.net')dnl
DAEMON_OPTIONS(\`Family=inet, Name=MTA, Port=$SM_PORT, Addr=127.0.0.1')dnl
dnl ---- contrib/sendmail/signet.mc, Signet's port in place of 8895 ----
EOF
		contrib_lines "$top_srcdir/contrib/sendmail/signet.mc"
		# One more listener whose only filter is the Signet on the unix socket (I=
		# overrides InputMailFilters for that daemon); the macro lists above apply to
		# it too.
		cat <<EOF
MAIL_FILTER(\`signetunix', \`S=unix:$SIGNET_SOCK, F=T, T=S:30s;R:60s;E:5m')dnl
DAEMON_OPTIONS(\`Family=inet, Name=MTA-unix, Port=$SM_UNIX_PORT, Addr=127.0.0.1, I=signetunix')dnl
EOF
		# One listener per submission Signet (issue 18), that Signet its only filter.
		for name in $SUB_NAMES; do
			cat <<EOF
MAIL_FILTER(\`$name', \`S=inet:${SUB_SIGNET_PORT[$name]}@127.0.0.1, F=T, T=S:30s;R:60s;E:5m')dnl
DAEMON_OPTIONS(\`Family=inet, Name=MTA-$name, Port=${SM_PORT_OF[$name]}, Addr=127.0.0.1, I=$name')dnl
EOF
		done
		printf "MAILER(\`smtp')dnl\n"
	} > "$SM_DIR/sendmail.mc"
	if ! m4 -D_CF_DIR_="$cf/" "$cf/m4/cf.m4" "$SM_DIR/sendmail.mc" \
	    >"$SM_DIR/sendmail.cf" 2>"$SM_DIR/m4.err"; then
		err "m4 could not build sendmail.cf:" "$(cat "$SM_DIR/m4.err")"
		return 1
	fi
	grep -q "^Xsignet, S=inet:$SIGNET_PORT@127.0.0.1" "$SM_DIR/sendmail.cf" || {
		err "sendmail.cf has no Xsignet line for port $SIGNET_PORT:" \
		    "$(grep -n '^X\|InputMailFilters' "$SM_DIR/sendmail.cf")"
		return 1
	}
	: > "$SM_DIR/sendmail.out"
	LOGS[sendmail]=$SM_DIR/sendmail.out
	LOGS[sendmail-smtp-traffic]=$SM_DIR/traffic.log
	sendmail_ns -C "$SM_DIR/sendmail.cf" -bD -X "$SM_DIR/traffic.log" \
	    >"$SM_DIR/sendmail.out" 2>&1 </dev/null &
	SENDMAIL_PID=$!
	if ! wait_smtp "$SM_PORT" 20 || ! wait_smtp "$SM_UNIX_PORT" 5 || ! wait_sub_ports SM_PORT_OF; then
		err "Sendmail does not answer on 127.0.0.1:$SM_PORT after 20 s:" \
		    "$(tail -n 20 "$SM_DIR/sendmail.out")"
		return 1
	fi
}

# ---- helpers for cases ---------------------------------------------------------------
# message FILE FROM_DOMAIN TAG [LOCAL]: a plain message; TAG goes into Subject and Message-ID.
# LOCAL (default alice) is the From's local part.
message() {
	cat > "$1" <<EOF
From: Alice <${4:-alice}@$2>
To: Bob <bob@example.net>
Subject: MTA test $3
Date: $(date -R)
Message-ID: <$3@$2>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Hello Bob,

this message went through a real MTA with Signet attached ($3).
A line with a leading dot follows, for the SMTP dot-stuffing:
.hidden
Alice
EOF
}

# submit PORT LOCAL_IP FROM FILE [swaks options...]: one message with swaks.
submit() {
	local port=$1 ip=$2 from=$3 file=$4
	shift 4
	if ! swaks --server "127.0.0.1:$port" --local-interface "$ip" \
	    --ehlo "client.$THEIR" --from "$from" --to bob@example.net \
	    --data "$file" --timeout 60 "$@" >"$CASE_DIR/swaks.out" 2>&1; then
		err "swaks failed (exit $?):" "$(grep -E '^(<~?|\*\*\*|=== )' "$CASE_DIR/swaks.out" | tail -n 15)"
		return 1
	fi
}

# delivered TAG: waits (30 s at most) for the sink's message with Subject "MTA test TAG"
# and sets DELIVERED to its file.
delivered() {
	local _ f
	DELIVERED=
	for _ in $(seq 1 300); do
		f=$(grep -l "^Subject: MTA test $1" "$SINK_DIR"/*.eml 2>/dev/null | head -n 1)
		if [ -n "$f" ]; then
			DELIVERED=$f
			cp "$f" "$CASE_DIR/delivered.eml"
			return 0
		fi
		sleep 0.1
	done
	err "no message with Subject 'MTA test $1' reached the sink in 30 s;" \
	    "swaks said:" "$(grep -E '^<~? ' "$CASE_DIR/swaks.out" | tail -n 4)"
	return 1
}

# The header fields named NAME of FILE, unfolded, one per line.
fields() {	# FILE NAME
	"$PY" - "$1" "$2" <<'EOF'
import email.parser, email.policy, sys
raw = open(sys.argv[1], "rb").read()
msg = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
for v in msg.get_all(sys.argv[2]) or []:
    print(" ".join(str(v).split()))
EOF
}

# verify FILE NSIG: both verifiers pass all NSIG signatures.
verify() {
	local file=$1 nsig=$2 v out rc n
	for v in dkimpy maildkim; do
		if [ $v = dkimpy ]; then
			out=$("$PY" "$LIB/verify-dkimpy.py" 127.0.0.1 "$DNS_PORT" "$file" 2>&1)
		else
			out=$(perl "$LIB/verify-maildkim.pl" 127.0.0.1 "$DNS_PORT" "$file" 2>&1)
		fi
		rc=$?
		n=$(printf '%s\n' "$out" | grep -c ' pass$')
		if [ $rc -ne 0 ] || [ "$n" -ne "$nsig" ]; then
			err "$v: $n passing signature(s) (exit $rc), want $nsig:" "$out"
		fi
	done
}

# expect_our_signatures FILE: one RSA and one Ed25519 signature of ours, both verify.
expect_our_signatures() {
	local sigs got
	sigs=$(fields "$1" DKIM-Signature)
	got=$(printf '%s\n' "$sigs" | grep -c "d=$OUR;")
	if [ "$got" -ne 2 ] ||
	    ! printf '%s\n' "$sigs" | grep -q "a=rsa-sha256;.*d=$OUR;.*s=rsa1;\|a=rsa-sha256;.*s=rsa1;.*d=$OUR;" ||
	    ! printf '%s\n' "$sigs" | grep -q "a=ed25519-sha256;"; then
		err "want two DKIM-Signature fields with d=$OUR (rsa-sha256 s=rsa1, ed25519-sha256 s=ed1), got:" \
		    "${sigs:-(none)}"
		return 1
	fi
	verify "$1" 2
}

# ---- cases ---------------------------------------------------------------------------
# set_up FAILED_SETUP: when a set-up step the case needs failed, the case fails saying so.
set_up() {
	[ -z "$1" ] && return 0
	err "not run: set-up step '$1' failed"
	finish
	return 1
}

# The three cases, for MTA NAME whose SMTP port is PORT and whose AUTH port is APORT.
case_auth() {	# NAME APORT [FAILED_SETUP]
	begin "$1_signs_mail_of_smtp_auth_client_both_verifiers_pass" || return
	set_up "${3:-}" || return
	local tag="$1-auth-$RANDOM"
	message "$CASE_DIR/msg" "$OUR" "$tag"
	submit "$2" 127.0.0.3 "alice@$OUR" "$CASE_DIR/msg" \
	    --auth PLAIN --auth-user "$SASL_USER" --auth-password "$SASL_PASS" &&
	    delivered "$tag" && expect_our_signatures "$DELIVERED"
	finish
}

case_internal() {	# NAME PORT [FAILED_SETUP]
	begin "$1_signs_mail_of_internal_host_both_verifiers_pass" || return
	set_up "${3:-}" || return
	local tag="$1-internal-$RANDOM"
	message "$CASE_DIR/msg" "$OUR" "$tag"
	submit "$2" 127.0.0.1 "alice@$OUR" "$CASE_DIR/msg" &&
	    delivered "$tag" && expect_our_signatures "$DELIVERED"
	finish
}

# Over Signet's unix socket, where it asks for no reply to header, body, connect, HELO
# and DATA steps: two sessions of one message each, both signed and verified (a reply
# the MTA does not expect, or one it waits for in vain, would fail or hang them).
case_unix_socket() {	# NAME PORT [FAILED_SETUP]
	begin "$1_over_a_unix_socket_steps_without_replies_stay_in_step_and_sign" || return
	set_up "${3:-}" || return
	local i tag
	for i in 1 2; do
		tag="$1-unix-$i-$RANDOM"
		message "$CASE_DIR/msg$i" "$OUR" "$tag"
		submit "$2" 127.0.0.1 "alice@$OUR" "$CASE_DIR/msg$i" && delivered "$tag" &&
		    expect_our_signatures "$DELIVERED" || break
	done
	finish
}

# An inbound message as sender.test would send it: signed with its key by dkimpy,
# a forged Authentication-Results with our AuthservID and a foreign one above it.
inbound_message() {	# FILE TAG
	message "$1.plain" "$THEIR" "$2"
	"$PY" - "$1.plain" "$1" "$TMP/foreign-keys/$THEIR/mail.key" "$THEIR" "$AUTHSERV" <<'EOF'
import sys, dkim
plain, out, keyfile, domain, ours = sys.argv[1:]
msg = open(plain, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
sig = dkim.sign(msg, b"mail", domain.encode(), open(keyfile, "rb").read(),
                canonicalize=(b"relaxed", b"relaxed"),
                include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
forged = ("Authentication-Results: %s; dkim=pass header.d=bank.example;\r\n"
          "\tspf=pass smtp.mailfrom=bank.example; dmarc=pass header.from=bank.example\r\n" % ours)
foreign = "Authentication-Results: relay.example.org; spf=pass smtp.mailfrom=%s\r\n" % domain
open(out, "wb").write(forged.encode() + foreign.encode() + sig + msg)
EOF
}

case_inbound() {	# NAME PORT [FAILED_SETUP]
	begin "$1_checks_inbound_mail_one_authentication_results_forged_one_removed" || return
	set_up "${3:-}" || return
	local tag="$1-inbound-$RANDOM" ar ours foreign sigs
	if ! inbound_message "$CASE_DIR/msg" "$tag" 2>"$CASE_DIR/sign.err"; then
		err "dkimpy could not sign the inbound message:" "$(cat "$CASE_DIR/sign.err")"
		finish
		return
	fi
	if submit "$2" 127.0.0.2 "alice@$THEIR" "$CASE_DIR/msg" && delivered "$tag"; then
		ar=$(fields "$DELIVERED" Authentication-Results)
		ours=$(printf '%s\n' "$ar" | grep -E "^$AUTHSERV;")
		foreign=$(printf '%s\n' "$ar" | grep -c '^relay\.example\.org; spf=pass')
		if [ "$(printf '%s\n' "$ours" | grep -c .)" -ne 1 ]; then
			err "want exactly one Authentication-Results of $AUTHSERV, got:" "${ar:-(none)}"
		else
			printf '%s\n' "$ours" | grep -q 'bank\.example' &&
			    err "the forged Authentication-Results is still there:" "$ar"
			printf '%s\n' "$ours" | grep -Eq "dkim=pass .*header\.d=$THEIR" ||
			    err "want dkim=pass header.d=$THEIR in ours, got:" "$ours"
			printf '%s\n' "$ours" | grep -Eq "spf=pass .*smtp\.mailfrom=alice@$THEIR" ||
			    err "want spf=pass smtp.mailfrom=alice@$THEIR in ours, got:" "$ours"
			printf '%s\n' "$ours" | grep -Eq "dmarc=pass .*header\.from=$THEIR" ||
			    err "want dmarc=pass header.from=$THEIR in ours, got:" "$ours"
			# HELO client.sender.test has no SPF record: none, although the client
			# is on loopback (libspf2 alone would pass every loopback client).
			printf '%s\n' "$ours" | grep -Eq "spf=none .*smtp\.helo=client\.$THEIR" ||
			    err "want spf=none smtp.helo=client.$THEIR in ours, got:" "$ours"
		fi
		[ "$foreign" -eq 1 ] ||
		    err "want the foreign Authentication-Results (relay.example.org) kept, got:" "${ar:-(none)}"
		sigs=$(fields "$DELIVERED" DKIM-Signature)
		printf '%s\n' "$sigs" | grep -q "d=$OUR;" &&
		    err "inbound mail was signed by us:" "$sigs"
		# The sender's signature still verifies after the MTA and Signet handled it.
		verify "$DELIVERED" 1
	fi
	finish
}

# Issue 17: a milter frame that gets no reply, followed by another write of the MTA.
# The MTA's socket has Nagle's algorithm on, so that write waits for the TCP ACK of
# the unanswered frame, which the milter's kernel delays (~40 ms) unless the milter
# sends it at once: Postfix 3.7 over TCP fell from 221 to 77 messages/s.  Postfix sends
# the macros of an event even when the milter skips the event; Sendmail writes each
# macro frame apart from its command; Signet's engine asks for no reply to the steps
# that only continue, and sets TCP_QUICKACK whenever it waits with nothing to answer.
# No time is measured: the suite runs in a network namespace of its own (top of this
# file), where TcpExt DelayedACKs counts the ACKs our loopback sent late.  The same
# messages go once through the listener whose milter is the Signet on the unix socket
# (no TCP there: the count is the SMTP traffic's own), once through the one on Signet's
# inet socket; a stall per message would add at least one late ACK per message.
N_UNANSWERED=40
case_unanswered() {	# NAME INET_PORT UNIX_PORT [FAILED_SETUP]
	begin "$1_over_tcp_no_milter_frame_waits_for_a_delayed_ack" || return
	set_up "${4:-}" || return
	if [ -n "$NETNS_PROBLEM" ]; then
		err "not run: the suite is not in a network namespace of its own, so the" \
		    "kernel's delayed-ACK count is not ours alone: $NETNS_PROBLEM"
		finish
		return
	fi
	# libmilter leaves the ACK of what it reads to the kernel's timer, and Sendmail
	# writes each macro frame apart from its command (engine.c, TCP_QUICKACK).
	if [ "$1" = sendmail ] && ! grep -q '^#define SIGNET_MILTER_ENGINE_OWN 1$' \
	    "$top_builddir/config.h" 2>/dev/null; then
		KNOWN="libmilter engine: Sendmail's macro frames wait for libmilter's delayed ACK"
	fi
	local port via out counts=()
	for via in unix inet; do
		port=$3
		[ $via = inet ] && port=$2
		if ! out=$("$PY" - "$port" "$N_UNANSWERED" "$OUR" "$SINK_DIR" \
		    "$1-unanswered-$via-$RANDOM" "$LIB" 2>&1 <<'EOF'
import glob, smtplib, sys, time
port, n, domain, sink, tag = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
sys.path.insert(0, sys.argv[6])
from signettest import delayed_acks
def arrived():
    count = 0
    for path in glob.glob(sink + "/*.eml"):
        with open(path, "rb") as f:
            count += ("Subject: MTA test %s " % tag).encode() in f.read()
    return count
before = delayed_acks()
start = time.monotonic()
with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
    s.ehlo("client.sender.test")
    for i in range(n):
        s.sendmail("alice@" + domain, ["bob@example.net"],
                   "From: alice@%s\r\nTo: bob@example.net\r\nSubject: MTA test %s %d\r\n"
                   "Message-ID: <%s-%d@%s>\r\n\r\n%s" % (domain, tag, i, tag, i, domain,
                                                    "A line of text.\r\n" * 200))
elapsed = time.monotonic() - start
# Delivery to the sink is SMTP traffic both listeners have: it counts in both.
deadline = time.monotonic() + 60
while arrived() < n and time.monotonic() < deadline:
    time.sleep(0.1)
if arrived() < n:
    sys.exit("%d of %d messages reached the sink in 60 s" % (arrived(), n))
time.sleep(0.5)
print(delayed_acks() - before, "%.2f" % elapsed)
EOF
		); then
			err "$N_UNANSWERED messages over one SMTP session to the listener whose" \
			    "milter is Signet's $via socket:" "$out"
			finish
			return
		fi
		counts+=("$out")
	done
	# Each count is "LATE_ACKS SECONDS": through the unix socket, then through TCP.
	local late_unix=${counts[0]%% *} late_inet=${counts[1]%% *}
	echo "# $1: $N_UNANSWERED messages; delayed ACKs: $late_unix through the unix socket" \
	    "(${counts[0]#* } s), $late_inet through TCP (${counts[1]#* } s)"
	if [ $((late_inet - late_unix)) -ge $((N_UNANSWERED / 4)) ]; then
		err "want fewer than $((N_UNANSWERED / 4)) delayed ACKs more over TCP than through" \
		    "the unix socket for $N_UNANSWERED messages, got $late_inet against $late_unix" \
		    "(each is a milter frame with no reply whose ACK waited for the kernel's timer)"
	fi
	finish
}

# ---- cases: submission protection (issue 18) -------------------------------------------
# auth_swaks PORT USER FROM FILE [swaks options...]: FILE sent by swaks from 127.0.0.3
# as USER (AUTH PLAIN), envelope sender FROM, to bob@example.net unless --to says
# otherwise; the transcript in $CASE_DIR/swaks.out and swaks' status returned (a refusal
# is what some cases want).
auth_swaks() {
	local port=$1 user=$2 from=$3 file=$4
	shift 4
	swaks --server "127.0.0.1:$port" --local-interface 127.0.0.3 --ehlo "client.$THEIR" \
	    --from "$from" --to bob@example.net --data "$file" --timeout 60 \
	    --auth PLAIN --auth-user "$user" --auth-password "$SASL_PASS" "$@" \
	    >"$CASE_DIR/swaks.out" 2>&1
}

transcript() {
	grep -E '^(<~?|<\*\*|\*\*\*|=== | -> (AUTH|MAIL|RCPT|DATA|\.$))' "$CASE_DIR/swaks.out" |
	    grep -v '^<-  250-' | tail -n 20
}

# reply_after REGEX: the first line of the server's reply to the client line of
# swaks.out that matches REGEX (" -> ." ends DATA).
reply_after() {
	awk -v pat="$1" 'found && /^<(-|\*\*) / { sub(/^<(-|\*\*) +/, ""); print; exit }
	    $0 ~ pat { found = 1 }' "$CASE_DIR/swaks.out"
}

# send_as PORT USER FROM FILE [swaks options...]: auth_swaks, and the message accepted.
send_as() {
	auth_swaks "$@" && [ -n "$(queue_id)" ] && return 0
	err "swaks as $2 from $3: want the message accepted, got:" "$(transcript)"
	return 1
}

# The queue id of the reply to the end of DATA, Postfix's or Sendmail's.
queue_id() {
	reply_after '^ -> \.$' | sed -n -e 's/^250 .*queued as \([^ ]*\).*/\1/p' \
	    -e 's/^250 2\.0\.0 \([^ ]*\) Message accepted.*/\1/p'
}

# expect_reply REGEX WHAT WANT: the reply to the client line REGEX matches WANT.
expect_reply() {
	local got
	got=$(reply_after "$1")
	printf '%s\n' "$got" | grep -Eq -- "$3" && return 0
	err "want $2 to match '$3', got '${got:-no reply}'; transcript:" "$(transcript)"
	return 1
}

# want_audit MTA SIGNET USER FROM RCPTS MESSAGE_ID VERDICT QUEUE_ID: the line the
# AuditLog of Signet SIGNET must hold for this submission, now; QUEUE_ID "*" is any
# non-empty one (the client was not told it).
want_audit() {
	local mta=$1 name=$2
	shift 2
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$NOW" "$@" >> "$SUB_DIR/audit-want-$mta-$name"
}

# not_delivered TAG: no message with Subject "MTA test TAG" at the sink (after 2 s).
not_delivered() {
	sleep 2
	local f
	f=$(grep -l "^Subject: MTA test $1" "$SINK_DIR"/*.eml 2>/dev/null | head -n 1)
	[ -z "$f" ] || err "the refused message reached the sink:" "$(cat "$f")"
}

# sub_port MTA NAME: the port of MTA's listener whose milter is Signet NAME.
sub_port() {
	if [ "$1" = postfix ]; then
		echo "${PF_PORT_OF[$2]}"
	else
		echo "${SM_PORT_OF[$2]}"
	fi
}

case_sub_authorized() {	# MTA [FAILED_SETUP]
	begin "$1_submission_signs_a_from_the_sender_map_allows_for_the_user" || return
	set_up "${2:-}" || return
	local tag="$1-authorized-$RANDOM"
	message "$CASE_DIR/msg" "$OUR" "$tag"
	if send_as "$(sub_port "$1" submit)" "$SASL_USER" "alice@$OUR" "$CASE_DIR/msg"; then
		want_audit "$1" submit "$SASL_USER" "alice@$OUR" 1 "<$tag@$OUR>" signed \
		    "$(queue_id)"
		delivered "$tag" && expect_our_signatures "$DELIVERED"
	fi
	finish
}

case_sub_mismatch_nosign() {	# MTA [FAILED_SETUP]
	begin "$1_submission_mismatched_from_is_delivered_unsigned_and_logged" || return
	set_up "${2:-}" || return
	local tag="$1-mismatch-$RANDOM" sigs
	message "$CASE_DIR/msg" "$OUR" "$tag" ceo
	if send_as "$(sub_port "$1" submit)" "$SASL_USER" "ceo@$OUR" "$CASE_DIR/msg"; then
		want_audit "$1" submit "$SASL_USER" "ceo@$OUR" 1 "<$tag@$OUR>" \
		    "not signed: unauthorized From" "$(queue_id)"
		if delivered "$tag"; then
			sigs=$(fields "$DELIVERED" DKIM-Signature)
			[ -z "$sigs" ] || err "want no DKIM-Signature (SenderMismatch nosign), got:" "$sigs"
		fi
		grep -q "From <ceo@$OUR> is not authorized for user $SASL_USER" \
		    "$TMP/signet-submit.log" ||
		    err "Signet's log does not say 'From <ceo@$OUR> is not authorized for user $SASL_USER'"
	fi
	finish
}

# fleet-b has SenderMismatch reject.
case_sub_mismatch_reject() {	# MTA [FAILED_SETUP]
	begin "$1_submission_mismatched_from_refused_550_5_7_1_naming_the_from" || return
	set_up "${2:-}" || return
	local tag="$1-reject-$RANDOM"
	message "$CASE_DIR/msg" "$OUR" "$tag" ceo
	if auth_swaks "$(sub_port "$1" fleet-b)" "$SASL_USER" "ceo@$OUR" "$CASE_DIR/msg"; then
		err "swaks: want the message refused, it was accepted:" "$(transcript)"
	else
		expect_reply '^ -> \.$' "the reply to the end of DATA" "^550 5\.7\.1 .*ceo@$OUR" &&
		    want_audit "$1" fleet-b "$SASL_USER" "ceo@$OUR" 1 "<$tag@$OUR>" \
			"rejected: unauthorized From" '*' &&
		    not_delivered "$tag"
	fi
	finish
}

# msg/min=2 for MTA-carol: the third message in the test clock's minute is refused at the
# end of DATA; two minutes later by the clock, the fourth is signed.
case_sub_msg_limit() {	# MTA [FAILED_SETUP]
	begin "$1_submission_third_message_in_a_minute_451_4_7_1_then_signed_after_the_window" ||
	    return
	set_up "${2:-}" || return
	local user="$1-carol@signet.test" port i tag
	port=$(sub_port "$1" submit)
	for i in 1 2 3 4; do
		tag="$1-msglimit-$i-$RANDOM"
		message "$CASE_DIR/msg$i" "$OUR" "$tag" carol
		if [ $i = 3 ]; then
			if auth_swaks "$port" "$user" "carol@$OUR" "$CASE_DIR/msg$i"; then
				err "message 3: want 451 4.7.1 (msg/min=2), it was accepted:" "$(transcript)"
				break
			fi
			expect_reply '^ -> \.$' "message 3's reply to the end of DATA" \
			    '^451 4\.7\.1 .*msg/min' || break
			want_audit "$1" submit "$user" "carol@$OUR" 1 "<$tag@$OUR>" rate-limited '*'
			set_clock $((NOW + 120))
			continue
		fi
		send_as "$port" "$user" "carol@$OUR" "$CASE_DIR/msg$i" || break
		want_audit "$1" submit "$user" "carol@$OUR" 1 "<$tag@$OUR>" signed "$(queue_id)"
	done
	[ ${#errors[@]} -eq 0 ] && delivered "$tag" && expect_our_signatures "$DELIVERED"
	finish
}

# rcpt/hour=2 for MTA-dave: of three recipients, the third is refused at RCPT, the
# message goes to the first two, signed.
case_sub_rcpt_limit() {	# MTA [FAILED_SETUP]
	begin "$1_submission_third_recipient_in_an_hour_451_4_7_1_at_rcpt_two_delivered" || return
	set_up "${2:-}" || return
	local user="$1-dave@signet.test" tag="$1-rcptlimit-$RANDOM" env
	message "$CASE_DIR/msg" "$OUR" "$tag" dave
	send_as "$(sub_port "$1" submit)" "$user" "dave@$OUR" "$CASE_DIR/msg" \
	    --to r1@example.net,r2@example.net,r3@example.net &&
	    want_audit "$1" submit "$user" "dave@$OUR" 2 "<$tag@$OUR>" signed "$(queue_id)" &&
	    expect_reply '^ -> RCPT TO:<r1@' "the reply to RCPT TO:<r1@example.net>" '^250 ' &&
	    expect_reply '^ -> RCPT TO:<r2@' "the reply to RCPT TO:<r2@example.net>" '^250 ' &&
	    expect_reply '^ -> RCPT TO:<r3@' "the reply to RCPT TO:<r3@example.net>" \
		'^451 4\.7\.1 .*rcpt/hour' &&
	    delivered "$tag" && expect_our_signatures "$DELIVERED" && {
		env=$(grep '^to ' "${DELIVERED%.eml}.env" | sort)
		[ "$env" = $'to <r1@example.net>\nto <r2@example.net>' ] ||
		    err "want the sink's envelope to be r1 and r2 only, got:" "$env"
	}
	finish
}

# Two Signets sharing one Redis, msg/min=2 for MTA-erin: two messages through fleet-a,
# the third through fleet-b is refused.
case_sub_shared_redis() {	# MTA [FAILED_SETUP]
	begin "$1_submission_msg_limit_held_across_two_signets_sharing_one_redis" || return
	set_up "${2:-}" || return
	local user="$1-erin@signet.test" i tag
	for i in 1 2; do
		tag="$1-fleet-$i-$RANDOM"
		message "$CASE_DIR/msg$i" "$OUR" "$tag" erin
		send_as "$(sub_port "$1" fleet-a)" "$user" "erin@$OUR" "$CASE_DIR/msg$i" || break
		want_audit "$1" fleet-a "$user" "erin@$OUR" 1 "<$tag@$OUR>" signed "$(queue_id)"
	done
	if [ ${#errors[@]} -eq 0 ]; then
		tag="$1-fleet-3-$RANDOM"
		message "$CASE_DIR/msg3" "$OUR" "$tag" erin
		if auth_swaks "$(sub_port "$1" fleet-b)" "$user" "erin@$OUR" "$CASE_DIR/msg3"; then
			err "message 3 through fleet-b: want 451 4.7.1 (msg/min=2 in Redis), it was" \
			    "accepted:" "$(transcript)"
		else
			expect_reply '^ -> \.$' "fleet-b's reply to the end of DATA" \
			    '^451 4\.7\.1 .*msg/min' &&
			    want_audit "$1" fleet-b "$user" "erin@$OUR" 1 "<$tag@$OUR>" rate-limited '*'
		fi
	fi
	finish
}

# audit_start MTA: where each AuditLog stands before MTA's submission cases (AUDIT_FROM).
declare -A AUDIT_FROM
audit_start() {
	local name
	for name in $SUB_NAMES; do
		AUDIT_FROM[$name]=$(cat "$SUB_DIR/audit-$name.json" 2>/dev/null | wc -l)
		: 2>/dev/null > "$SUB_DIR/audit-want-$1-$name"
	done
}

# The AuditLog of each submission Signet: exactly one line per submission of this MTA's
# cases above, in order, as want_audit wrote them down.
case_sub_audit() {	# MTA [FAILED_SETUP]
	begin "$1_submission_audit_logs_hold_exactly_the_expected_lines" || return
	set_up "${2:-}" || return
	local name out
	for name in $SUB_NAMES; do
		out=$(audit_diff "$SUB_DIR/audit-$name.json" "${AUDIT_FROM[$name]}" \
		    "$SUB_DIR/audit-want-$1-$name" 2>&1) ||
		    err "the AuditLog of signet-$name ($SUB_DIR/audit-$name.json) from line $((${AUDIT_FROM[$name]} + 1)):" \
			"$out"
	done
	finish
}

# audit_diff FILE SKIP WANT: the JSON lines of FILE after the first SKIP are those that
# the lines of WANT (want_audit's) describe; else says how they differ.
audit_diff() {
	"$PY" - "$@" <<'EOF'
import json, sys, time
path, skip, wantfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
got = [json.loads(line) for line in open(path).read().splitlines()[skip:]]
want = []
for line in open(wantfile).read().splitlines():
    now, user, from_, rcpts, msgid, verdict, qid = line.split("\t")
    want.append({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(now))),
                 "user": user, "mechanism": "PLAIN", "client": "127.0.0.3",
                 "tls_version": "none", "cipher": "none", "from": from_,
                 "recipients": int(rcpts), "message_id": msgid, "queue_id": qid,
                 "verdict": verdict})
bad = [] if len(got) == len(want) else ["%d line(s), want %d" % (len(got), len(want))]
for i, (g, w) in enumerate(zip(got, want)):
    if w["queue_id"] == "*":
        w["queue_id"] = g.get("queue_id") or "(a queue id)"
    if g != w:
        bad.append("line %d: got  %s\n  want %s" % (skip + i + 1, json.dumps(g), json.dumps(w)))
bad += ["line %d: got  %s\n  want nothing more" % (skip + len(want) + i + 1, json.dumps(g))
        for i, g in enumerate(got[len(want):])]
bad += ["missing: %s" % json.dumps(w) for w in want[len(got):]]
print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF
}

# Issue 20, the mailing-list flow.  A message whose author (sender.test) signed it and
# that a forwarder sealed (one ARC set, dkimpy, with sender.test's key) comes in from
# outside: Signet writes arc=pass and dkim=pass in its Authentication-Results.  The
# test then plays the list server: Subject tagged, a footer added (the author's DKIM
# signature breaks), our Authentication-Results kept, and the message sent again from
# 127.0.0.1 (InternalHosts).  Signet seals it on the way out (ARCSeal outbound) as
# i=2 with cv=pass, its AAR the results it wrote when the message came in, and removes
# its Authentication-Results; at the sink dkimpy validates the whole chain as pass.
arc_inbound_message() {	# FILE TAG
	message "$1.plain" "$THEIR" "$2"
	"$PY" - "$1.plain" "$1" "$TMP/foreign-keys/$THEIR/mail.key" "$THEIR" <<'EOF'
import sys, dkim
plain, out, keyfile, domain = sys.argv[1:]
key = open(keyfile, "rb").read()
msg = open(plain, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
msg = dkim.sign(msg, b"mail", domain.encode(), key, canonicalize=(b"relaxed", b"relaxed"),
                include_headers=[b"from", b"to", b"subject", b"date", b"message-id"]) + msg
msg = (b"Authentication-Results: fwd.sender.test; arc=none; dkim=pass header.d=" +
       domain.encode() + b"; dmarc=pass header.from=" + domain.encode() + b"\r\n" + msg)
arc = dkim.arc_sign(msg, b"mail", domain.encode(), key, b"fwd.sender.test",
                    include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
open(out, "wb").write(b"".join(arc) + msg)
EOF
}

# The list server's changes to FILE, written to OUT: Subject "MTA test TAG-list [list]",
# a footer; our Authentication-Results stays.
arc_list_changes() {	# FILE OUT TAG
	"$PY" - "$@" <<'EOF'
import sys
src, out, tag = sys.argv[1:]
head, body = open(src, "rb").read().split(b"\r\n\r\n", 1)
head = head.replace(b"Subject: MTA test " + tag.encode(),
                    b"Subject: MTA test " + tag.encode() + b"-list [list]")
open(out, "wb").write(head + b"\r\n\r\n" + body + b"-- \r\nlist footer\r\n")
EOF
}

# arc_verify FILE: dkimpy's ARC validation, keys from our NSD; prints
# "CV N AAR-OF-N COMMENT" (N the newest set) and succeeds when cv is pass.
arc_verify() {
	"$PY" - "$1" "$DNS_PORT" <<'EOF'
import re, sys, dkim, dns.resolver
path, port = sys.argv[1], int(sys.argv[2])
res = dns.resolver.Resolver(configure=False)
res.nameservers, res.port = ["127.0.0.1"], port
def txt(name, timeout=5):
    try:
        return b"".join(res.resolve(name.decode().rstrip("."), "TXT")[0].strings)
    except Exception:
        return None
msg = open(path, "rb").read()
cv, results, comment = dkim.arc_verify(msg, dnsfunc=txt)
text = msg.split(b"\r\n\r\n", 1)[0].replace(b"\r\n\t", b" ").replace(b"\r\n ", b" ")
aars = re.findall(rb"^ARC-Authentication-Results: *i=(\d+);(.*)$", text, re.M | re.I)
top = max(aars, key=lambda a: int(a[0])) if aars else (b"0", b"")
print(cv.decode(), top[0].decode(), " ".join(top[1].decode().split()), comment)
sys.exit(0 if cv == b"pass" else 1)
EOF
}

case_arc_list() {	# NAME PORT [FAILED_SETUP]
	begin "$1_mailing_list_flow_arc_sealed_on_the_way_out_dkimpy_validates" || return
	set_up "${3:-}" || return
	local tag="$1-arclist-$RANDOM" ours out seal
	if ! arc_inbound_message "$CASE_DIR/msg" "$tag" 2>"$CASE_DIR/sign.err"; then
		err "dkimpy could not sign and seal the inbound message:" "$(cat "$CASE_DIR/sign.err")"
		finish
		return
	fi
	if submit "$2" 127.0.0.2 "alice@$THEIR" "$CASE_DIR/msg" && delivered "$tag"; then
		ours=$(fields "$DELIVERED" Authentication-Results | grep -E "^$AUTHSERV;")
		printf '%s\n' "$ours" | grep -Eq "arc=pass smtp\.remote-ip=127\.0\.0\.2 header\.oldest-pass=0" ||
		    err "coming in: want arc=pass smtp.remote-ip=127.0.0.2 header.oldest-pass=0 in ours, got:" "${ours:-(none)}"
		printf '%s\n' "$ours" | grep -Eq "dkim=pass .*header\.d=$THEIR" ||
		    err "coming in: want dkim=pass header.d=$THEIR in ours, got:" "${ours:-(none)}"
		cp "$DELIVERED" "$CASE_DIR/in.eml"
		arc_list_changes "$CASE_DIR/in.eml" "$CASE_DIR/listed" "$tag"
		if submit "$2" 127.0.0.1 "list-bounces@$OUR" "$CASE_DIR/listed" &&
		    delivered "$tag-list"; then
			out=$(arc_verify "$DELIVERED" 2>&1) ||
			    err "dkimpy: the chain does not validate as pass:" "$out"
			case $out in
			"pass 2 $AUTHSERV; "*"dkim=pass "*"header.d=$THEIR"*) ;;
			*) err "want cv pass and our AAR (i=2, $AUTHSERV) showing the original" \
			    "dkim=pass, got:" "$out" ;;
			esac
			seal=$(fields "$DELIVERED" ARC-Seal | grep -E "(^|[ ;])i=2;")
			for want in "cv=pass" "d=$OUR" "s=rsa1"; do
				printf '%s\n' "$seal" | grep -Eq "(^|[ ;])$want(;|$)" ||
				    err "want $want in our ARC-Seal i=2, got:" "${seal:-(none)}"
			done
			fields "$DELIVERED" Authentication-Results | grep -Eq "^$AUTHSERV;" &&
			    err "our Authentication-Results left with the re-sent message:" \
				"$(fields "$DELIVERED" Authentication-Results)"
			head -n 1 "$DELIVERED" | grep -q '^ARC-Seal:' ||
			    err "want our ARC-Seal on top of the delivered header, got:" \
				"$(head -n 6 "$DELIVERED")"
		fi
	fi
	finish
}

# ---- run -----------------------------------------------------------------------------
setup setup_tools_present check_tools
setup setup_nsd_serves_keys_spf_and_dmarc setup_dns
setup setup_signet_starts setup_signet
setup setup_signet_on_a_unix_socket_starts setup_signet_unix
setup setup_smtp_sink_starts setup_sink
COMMON_FAILED=$SETUP_FAILED
setup setup_submission_signets_and_private_redis_start setup_submission
SUB_FAILED=$SETUP_FAILED
[ -z "$SUB_FAILED" ] || SUB_NAMES=''	# the MTAs get no listener for them
SETUP_FAILED=$COMMON_FAILED
setup setup_private_postfix_starts setup_postfix
PF_FAILED=$SETUP_FAILED
SETUP_FAILED=$COMMON_FAILED	# Sendmail does not need Postfix
setup setup_private_sendmail_starts setup_sendmail
SM_FAILED=$SETUP_FAILED

for mta in postfix sendmail; do
	if [ $mta = postfix ]; then
		set -- "$PF_SMTP_PORT" "$PF_SUBMIT_PORT" "$PF_FAILED" "$PF_UNIX_PORT"
	else
		set -- "$SM_PORT" "$SM_PORT" "$SM_FAILED" "$SM_UNIX_PORT"
	fi
	case_auth $mta "$2" "$3"
	case_internal $mta "$1" "$3"
	case_inbound $mta "$1" "$3"
	case_unanswered $mta "$1" "$4" "$3"
	case_unix_socket $mta "$4" "$3"
	case_arc_list $mta "$1" "$3"
	audit_start $mta
	for c in authorized mismatch_nosign mismatch_reject msg_limit rcpt_limit shared_redis; do
		case_sub_$c $mta "${3:-$SUB_FAILED}"
	done
	case_sub_audit $mta "${3:-$SUB_FAILED}"
done

echo "# mta suite: $npass passed, $nfail failed, $nknown known failures (TODO)"
echo "1..$ntest"
[ $nfail -eq 0 ]
