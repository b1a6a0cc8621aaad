#!/bin/bash
# NAME
#	run.sh - Signet's milter-level integration suite (TAP)
# SYNOPSIS
#	top_srcdir=... top_builddir=... tests/milter/run.sh
#	SIGNET_TEST_ONLY=REGEX SIGNET_TEST_KEEP=1 tests/milter/run.sh
# DESCRIPTION
#	Starts the real daemon (milter/signet -f) on a loopback port, serves the keys that
#	keys/signet-keys generated from a private NSD (tests/lib/dnsserver.sh), sends
#	messages through it with tests/milter/sendmsg.py (a milter client that behaves like
#	Postfix) and verifies every DKIM-Signature of the delivered message with dkimpy and
#	with Mail::DKIM, both asking only that NSD.  Nothing is mocked.
#
#	Each case is one TAP test named after the behaviour it checks; a failing case prints
#	what it got and what it wanted, the verifiers' lines and the daemon's log lines
#	written during the case, as "#" comments.  The plan comes last.  A missing tool is a
#	failure with the reason, never a skip.
#
#	top_srcdir and top_builddir default to the repository root.  SIGNET_TEST_ONLY runs
#	only the cases whose name matches the extended regular expression REGEX (the set-up
#	steps always run).  SIGNET_TEST_KEEP=1 keeps the temporary directory and says where.
# FILES
#	tests/milter/messages/*.eml	messages; @DOMAIN@ and @QUEUE@ are filled in per case
#	tests/lib/dnsserver.sh, verify-dkimpy.py, verify-maildkim.pl
# SEE ALSO
#	tests/milter/README.md

set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=$(cd "${top_srcdir:-$here/../..}" && pwd)
top_builddir=${top_builddir:-$top_srcdir}
top_builddir=$(cd "$top_builddir" 2>/dev/null && pwd || echo "$top_builddir")
PY=/usr/bin/python3
SIGNET=$top_builddir/milter/signet
SIGNET_KEYS=$top_builddir/keys/signet-keys
MSGS=$top_srcdir/tests/milter/messages
LIB=$top_srcdir/tests/lib
ONLY=${SIGNET_TEST_ONLY:-}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/signet-milter.XXXXXX") || exit 99
. "$LIB/dnsserver.sh"
. "$LIB/tap.sh"

declare -A DPORT DPID DLOG LOGOFF DFAILED
DERR=
RSA_SEL= ED_SEL= BOTH_RSA_SEL= BOTH_ED_SEL= DNS_PORT=
cleanup() {
	local name
	for name in "${!DPID[@]}"; do
		kill "${DPID[$name]}" 2>/dev/null
		wait "${DPID[$name]}" 2>/dev/null
	done
	dns_stop
	if [ -n "${SIGNET_TEST_KEEP:-}" ]; then
		echo "# kept $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 99' INT TERM HUP

# ---- TAP -----------------------------------------------------------------------------
ntest=0
npass=0
nfail=0
SETUP_ERR=
errors=()
CASE_DIR=

# begin NAME: returns 1 when the case is filtered out by SIGNET_TEST_ONLY.
begin() {
	CASE=$1
	errors=()
	if [ -n "$ONLY" ] && ! printf '%s\n' "$CASE" | grep -Eq -- "$ONLY"; then
		return 1
	fi
	CASE_DIR=$TMP/cases/$CASE
	mkdir -p "$CASE_DIR/out"
	local name
	for name in "${!DLOG[@]}"; do
		LOGOFF[$name]=$(wc -c < "${DLOG[$name]}")
	done
	return 0
}

# err TEXT...: records a failure of the current case.
err() {
	local IFS=$'\n'
	errors+=("$*")
}

finish() {
	ntest=$((ntest + 1))
	local name status
	for name in "${!DPID[@]}"; do
		if ! kill -0 "${DPID[$name]}" 2>/dev/null; then
			wait "${DPID[$name]}"
			status=$?
			err "daemon '$name' died during this case (exit status $status);" \
			    "it is started again for the next case that needs it"
			unset "DPID[$name]"
		fi
	done
	if [ -n "$SETUP_ERR" ]; then
		errors=("setup failed: $SETUP_ERR")
	fi
	if [ ${#errors[@]} -eq 0 ]; then
		npass=$((npass + 1))
		echo "ok $ntest - $CASE"
		return
	fi
	nfail=$((nfail + 1))
	echo "not ok $ntest - $CASE"
	diag "${errors[@]}"
	[ -n "$SETUP_ERR" ] && return
	local name
	for name in "${!DLOG[@]}"; do
		local off=${LOGOFF[$name]:-0}
		local text
		text=$(tail -c +$((off + 1)) "${DLOG[$name]}" 2>/dev/null | tail -n 60)
		if [ -n "$text" ]; then
			diag "daemon '$name' log during this case:" "$text"
		fi
	done
}

# ---- set-up --------------------------------------------------------------------------
check_tools() {
	local missing=()
	[ -x "$SIGNET" ] || missing+=("$SIGNET (build it: make)")
	[ -x "$SIGNET_KEYS" ] || missing+=("$SIGNET_KEYS (build it: make)")
	command -v nsd >/dev/null || [ -x /usr/sbin/nsd ] || missing+=("nsd (apt-get install nsd)")
	command -v kdig >/dev/null || missing+=("kdig (apt-get install knot-dnsutils)")
	[ -x "$PY" ] || missing+=("$PY (apt-get install python3)")
	"$PY" -c 'import dkim, dns.resolver, nacl.signing' 2>/dev/null ||
	    missing+=("dkimpy/dnspython/PyNaCl for $PY (apt-get install python3-dkim python3-dnspython python3-nacl)")
	perl -MMail::DKIM::Verifier -MNet::DNS -MCrypt::PK::Ed25519 -e 1 2>/dev/null ||
	    missing+=("Mail::DKIM/Net::DNS/CryptX (apt-get install libmail-dkim-perl libnet-dns-perl libcryptx-perl)")
	if [ ${#missing[@]} -gt 0 ]; then
		SETUP_ERR="missing: ${missing[*]}"
		return 1
	fi
}

keys() {
	"$SIGNET_KEYS" -k "$TMP/keys" "$@" 2>>"$TMP/signet-keys.log"
}

# new_key DOMAIN ALGORITHM [SELECTOR]: generates and activates; prints the selector.
new_key() {
	local sel
	if [ $# -ge 3 ]; then
		sel=$(keys generate "$1" -a "$2" -s "$3") || return 1
	else
		sel=$(keys generate "$1" -a "$2") || return 1
	fi
	sel=$(printf '%s\n' "$sel" | tail -n 1)
	[ -n "$sel" ] || return 1
	keys activate "$1" "$sel" --force >/dev/null || return 1
	printf '%s\n' "$sel"
}

setup_keys() {
	mkdir -p "$TMP/keys" || return 1
	RSA_SEL=$(new_key rsa.signet.test rsa-2048) &&
	ED_SEL=$(new_key ed.signet.test ed25519) &&
	BOTH_RSA_SEL=$(new_key both.signet.test rsa-2048 rsa1) &&
	BOTH_ED_SEL=$(new_key both.signet.test ed25519 ed1) || {
		SETUP_ERR="signet-keys failed: $(tail -n 5 "$TMP/signet-keys.log")"
		return 1
	}
	: > "$TMP/records"
	local d
	for d in rsa.signet.test ed.signet.test both.signet.test; do
		keys dns "$d" >> "$TMP/records" || {
			SETUP_ERR="signet-keys dns $d failed: $(tail -n 5 "$TMP/signet-keys.log")"
			return 1
		}
	done
}

setup_dns() {
	if ! dns_start "$TMP/dns" signet.test "$TMP/records" 2>"$TMP/dns.err"; then
		SETUP_ERR="NSD: $(cat "$TMP/dns.err")"
		return 1
	fi
	local pair got
	for pair in "rsa.signet.test $RSA_SEL rsa" "ed.signet.test $ED_SEL ed25519" \
	    "both.signet.test $BOTH_RSA_SEL rsa" "both.signet.test $BOTH_ED_SEL ed25519"; do
		set -- $pair
		got=$(kdig +short +timeout=2 @127.0.0.1 -p "$DNS_PORT" TXT "$2._domainkey.$1" 2>&1)
		case $got in
		*"v=DKIM1"*"k=$3"*"p="*) ;;
		*)	SETUP_ERR="NSD does not serve $2._domainkey.$1 (k=$3): got '$got'; records:
$(cat "$TMP/records")"
			return 1 ;;
		esac
	done
}

# start_daemon NAME CANONICALIZATION: one daemon instance with its own config and port.
start_daemon() {
	local name=$1 canon=$2 port conf log i
	port=$(dns_free_port)
	conf=$TMP/signet-$name.conf
	log=$TMP/signet-$name.log
	cat > "$conf" <<EOF
# Written by tests/milter/run.sh
Socket inet:$port@127.0.0.1
Mode sv
AuthservID test.signet
Keystore $TMP/keys
InternalHosts 127.0.0.1, ::1, 10.0.0.0/8
Canonicalization $canon
LogLevel debug
EOF
	if [ -e "$log" ]; then
		echo "==== run.sh: starting again after it died" >> "$log"
	else
		: > "$log"
	fi
	"$SIGNET" -c "$conf" -f 2>>"$log" >>"$log" &
	DPID[$name]=$!
	DLOG[$name]=$log
	LOGOFF[$name]=${LOGOFF[$name]:-0}
	DPORT[$name]=$port
	for i in $(seq 1 100); do
		if ! kill -0 "${DPID[$name]}" 2>/dev/null; then
			wait "${DPID[$name]}"
			DERR="daemon '$name' exited with status $? at start-up; its log:
$(tail -n 30 "$log")"
			unset "DPID[$name]"
			return 1
		fi
		if "$PY" -c "import sys; sys.path.insert(0, '$here'); import milterclient
s = milterclient.Session('inet:$port@127.0.0.1', timeout=2).open(); s.close()" \
		    2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	DERR="daemon '$name' does not answer OPTNEG on 127.0.0.1:$port after 10 s; its log:
$(tail -n 30 "$log")"
	return 1
}

# ensure_daemon NAME CANON: that instance runs, started on first use.  The main one not
# starting is a set-up failure (every case fails); another one fails its cases only.
ensure_daemon() {
	[ -n "$SETUP_ERR" ] && { err "set-up failed"; return 1; }
	[ -n "${DPID[$1]:-}" ] && return 0
	[ -n "${DFAILED[$1]:-}" ] && { err "${DFAILED[$1]}"; return 1; }
	DERR=
	start_daemon "$1" "$2" && return 0
	DFAILED[$1]=$DERR
	if [ "$1" = main ]; then
		SETUP_ERR=$DERR
	else
		err "$DERR"
	fi
	return 1
}

# ---- helpers for cases ---------------------------------------------------------------
# prep SOURCE DOMAIN DEST [crlf]: a message file with @DOMAIN@ and @QUEUE@ filled in.
prep() {
	sed -e "s/@DOMAIN@/$2/g" -e "s/@QUEUE@/$CASE.$RANDOM/g" "$1" > "$3"
	if [ "${4:-}" = crlf ]; then
		"$PY" -c 'import re,sys; d=open(sys.argv[1],"rb").read(); open(sys.argv[1],"wb").write(re.sub(rb"\r?\n", b"\r\n", d))' "$3"
	fi
}

# send INSTANCE [sendmsg.py options] FILE...: report in $CASE_DIR/report.
send() {
	local inst=$1
	shift
	if ! "$PY" "$here/sendmsg.py" -s "inet:${DPORT[$inst]}@127.0.0.1" \
	    -d "$CASE_DIR/out" "$@" > "$CASE_DIR/report" 2> "$CASE_DIR/send.err"; then
		err "milter conversation failed: $(cat "$CASE_DIR/send.err")"
		return 1
	fi
}

# expect_action N WANT: accept also takes "continue" at end of message.
expect_action() {
	local got
	got=$(awk -v n="$1" '$1 == "message" && $2 == n && $3 == "action" { print $4 }' \
	    "$CASE_DIR/report")
	case "$2:$got" in
	accept:accept | accept:continue) return 0 ;;
	"$2:$2") return 0 ;;
	esac
	err "message $1: got action '${got:-none}', want '$2'" \
	    "$(grep "^message $1 reply" "$CASE_DIR/report")"
	return 1
}

# expect_sigs N CANON "ALG DOMAIN SELECTOR"...: exactly those DKIM-Signature headers,
# each inserted at index 0 with c=CANON.  No spec means no signature at all.
expect_sigs() {
	local n=$1 canon=$2 got want spec
	shift 2
	got=$(awk -v n="$n" '$1 == "message" && $2 == n && $3 == "sig" { print $5, $7, $8 }' \
	    "$CASE_DIR/report" | sort)
	want=$(for spec in "$@"; do echo "$spec"; done | sort)
	if [ "$got" != "$want" ]; then
		err "message $n: DKIM-Signature headers (a= d= s=) got:" "${got:-(none)}" \
		    "want:" "${want:-(none)}"
		return 1
	fi
	if [ $# -gt 0 ]; then
		local bad
		bad=$(awk -v n="$n" -v c="$canon" '$1 == "message" && $2 == n && $3 == "sig" &&
		    ($4 != "ins@0" || ($6 != c && !(c ~ /\/simple$/ && $6 == substr(c, 1, index(c, "/") - 1))))' \
		    "$CASE_DIR/report")
		if [ -n "$bad" ]; then
			err "message $n: want every signature inserted at index 0 (SMFIR_INSHEADER) with c=$canon; got:" "$bad"
			return 1
		fi
	fi
}

# verify FILE NSIG: both verifiers pass all NSIG signatures.
verify() {
	local file=$1 nsig=$2 v out rc npass
	if [ ! -s "$file" ]; then
		err "no delivered message $file"
		return 1
	fi
	for v in dkimpy maildkim; do
		if [ $v = dkimpy ]; then
			out=$("$PY" "$LIB/verify-dkimpy.py" 127.0.0.1 "$DNS_PORT" "$file" 2>&1)
		else
			out=$(perl "$LIB/verify-maildkim.pl" 127.0.0.1 "$DNS_PORT" "$file" 2>&1)
		fi
		rc=$?
		npass=$(printf '%s\n' "$out" | grep -c ' pass$')
		if [ $rc -ne 0 ] || [ "$npass" -ne "$nsig" ]; then
			err "$v: got $npass passing signature(s) (exit $rc), want $nsig:" "$out"
		fi
	done
}

# verify_fails FILE: both verifiers find signatures and none passes.
verify_fails() {
	local file=$1 v out rc
	for v in dkimpy maildkim; do
		if [ $v = dkimpy ]; then
			out=$("$PY" "$LIB/verify-dkimpy.py" 127.0.0.1 "$DNS_PORT" "$file" 2>&1)
		else
			out=$(perl "$LIB/verify-maildkim.pl" 127.0.0.1 "$DNS_PORT" "$file" 2>&1)
		fi
		rc=$?
		if [ $rc -eq 0 ] || printf '%s\n' "$out" | grep -q ' pass$' ||
		    ! printf '%s\n' "$out" | grep -q '^d='; then
			err "$v: want every signature to fail, got (exit $rc):" "$out"
		fi
	done
}

SIG_RSA() { echo "rsa-sha256 rsa.signet.test $RSA_SEL"; }
SIG_ED() { echo "ed25519-sha256 ed.signet.test $ED_SEL"; }
SIG_BOTH_RSA() { echo "rsa-sha256 both.signet.test $BOTH_RSA_SEL"; }
SIG_BOTH_ED() { echo "ed25519-sha256 both.signet.test $BOTH_ED_SEL"; }

# signs CANON_INSTANCE CANON MSGFILE DOMAIN CLIENT_IP [sendmsg options...] -- SIG...
# The common case: one message, accepted, signed as listed, both verifiers pass.
signs() {
	local inst=$1 canon=$2 msg=$3 domain=$4 ip=$5
	shift 5
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	ensure_daemon "$inst" "$canon" || return
	send "$inst" -i "$ip" -f "alice@$domain" "${opts[@]}" "$msg" || return
	expect_action 1 accept || return
	expect_sigs 1 "$canon" "$@" || return
	verify "$CASE_DIR/out/1.eml" $#
}

# not_signed MSGFILE DOMAIN CLIENT_IP [sendmsg options]: accepted, nothing signed.
not_signed() {
	local msg=$1 domain=$2 ip=$3
	shift 3
	ensure_daemon main relaxed/relaxed || return
	send main -i "$ip" -f "alice@$domain" "$@" "$msg" || return
	expect_action 1 accept || return
	expect_sigs 1 relaxed/relaxed || return
	[ -s "$CASE_DIR/out/1.eml" ] || err "no delivered message"
}

# ---- cases ---------------------------------------------------------------------------
RR=relaxed/relaxed

case_rsa_only() {
	begin signs_rsa_only_domain_with_one_rsa_signature_both_verify || return
	prep "$MSGS/plain.eml" rsa.signet.test "$CASE_DIR/msg"
	signs main $RR "$CASE_DIR/msg" rsa.signet.test 127.0.0.1 -- "$(SIG_RSA)"
	finish
}

case_ed_only() {
	begin signs_ed25519_only_domain_with_one_ed25519_signature_both_verify || return
	prep "$MSGS/plain.eml" ed.signet.test "$CASE_DIR/msg"
	signs main $RR "$CASE_DIR/msg" ed.signet.test 127.0.0.1 -- "$(SIG_ED)"
	finish
}

case_both() {
	begin signs_rsa_and_ed25519_both_verify || return
	prep "$MSGS/plain.eml" both.signet.test "$CASE_DIR/msg"
	signs main $RR "$CASE_DIR/msg" both.signet.test 127.0.0.1 -- \
	    "$(SIG_BOTH_RSA)" "$(SIG_BOTH_ED)"
	finish
}

# case_both_canon NAME_PREFIX MESSAGE CANON: MESSAGE signed with both.signet.test's two
# keys by the instance that canonicalizes with CANON.
case_both_canon() {
	local canon=$3 tag
	tag=$(echo "$canon" | tr / _)
	begin "${1}_${tag}_both_verify" || return
	prep "$MSGS/$2" both.signet.test "$CASE_DIR/msg"
	signs "$tag" "$canon" "$CASE_DIR/msg" both.signet.test 127.0.0.1 -- \
	    "$(SIG_BOTH_RSA)" "$(SIG_BOTH_ED)"
	finish
}

case_canon() {	# CANON
	case_both_canon signs_with_canonicalization folded.eml "$1"
}

case_lf_input() {
	begin signs_message_with_lf_line_endings_both_verify || return
	prep "$MSGS/plain.eml" both.signet.test "$CASE_DIR/msg"
	signs main $RR "$CASE_DIR/msg" both.signet.test 127.0.0.1 -- \
	    "$(SIG_BOTH_RSA)" "$(SIG_BOTH_ED)"
	finish
}

case_crlf_input() {
	begin signs_message_with_crlf_line_endings_both_verify || return
	prep "$MSGS/plain.eml" both.signet.test "$CASE_DIR/msg" crlf
	signs main $RR "$CASE_DIR/msg" both.signet.test 127.0.0.1 -- \
	    "$(SIG_BOTH_RSA)" "$(SIG_BOTH_ED)"
	finish
}

case_postfix_body() {
	begin signs_lf_message_sent_with_crlf_body_as_postfix_does_both_verify || return
	prep "$MSGS/folded.eml" both.signet.test "$CASE_DIR/msg"
	signs main $RR "$CASE_DIR/msg" both.signet.test 127.0.0.1 -c -- \
	    "$(SIG_BOTH_RSA)" "$(SIG_BOTH_ED)"
	finish
}

case_folded() {
	begin signs_long_folded_subject_and_to_headers_both_verify || return
	prep "$MSGS/folded.eml" both.signet.test "$CASE_DIR/msg"
	signs main $RR "$CASE_DIR/msg" both.signet.test 127.0.0.1 -- \
	    "$(SIG_BOTH_RSA)" "$(SIG_BOTH_ED)"
	finish
}

case_utf8() {
	begin signs_8bit_utf8_body_both_verify || return
	prep "$MSGS/utf8.eml" both.signet.test "$CASE_DIR/msg"
	signs main $RR "$CASE_DIR/msg" both.signet.test 127.0.0.1 -- \
	    "$(SIG_BOTH_RSA)" "$(SIG_BOTH_ED)"
	finish
}

case_latin1() {
	begin signs_8bit_raw_latin1_body_both_verify || return
	{
		printf 'From: Alice <alice@both.signet.test>\nTo: bob@example.net\n'
		printf 'Subject: Latin-1\nMIME-Version: 1.0\n'
		printf 'Content-Type: text/plain; charset=iso-8859-1\n'
		printf 'Content-Transfer-Encoding: 8bit\n\n'
		printf 'Gr\xfc\xdfe aus K\xf6ln, na\xefve fa\xe7ade, \xa3 \xa9 \xff\xfe\x80\n'
		printf 'Line two \xe9\xe8\xe0.\n'
	} > "$CASE_DIR/msg"
	signs main $RR "$CASE_DIR/msg" both.signet.test 127.0.0.1 -- \
	    "$(SIG_BOTH_RSA)" "$(SIG_BOTH_ED)"
	finish
}

case_empty_body() {
	begin signs_empty_body_both_verify || return
	prep "$MSGS/empty-body.eml" both.signet.test "$CASE_DIR/msg"
	signs main $RR "$CASE_DIR/msg" both.signet.test 127.0.0.1 -- \
	    "$(SIG_BOTH_RSA)" "$(SIG_BOTH_ED)"
	finish
}

case_empty_body_simple() {
	begin signs_empty_body_with_simple_body_canonicalization_both_verify || return
	prep "$MSGS/empty-body.eml" both.signet.test "$CASE_DIR/msg"
	signs simple_simple simple/simple "$CASE_DIR/msg" both.signet.test 127.0.0.1 -- \
	    "$(SIG_BOTH_RSA)" "$(SIG_BOTH_ED)"
	finish
}

case_big_body() {
	begin signs_1mib_body_both_verify || return
	{
		printf 'From: Alice <alice@both.signet.test>\nTo: bob@example.net\n'
		printf 'Subject: One mebibyte\n\n'
		"$PY" -c '
import sys
line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_+=.,:; !?\n"
out = bytearray()
while len(out) < 1024 * 1024:
    out += b"%06d " % (len(out) // len(line)) + line
sys.stdout.buffer.write(bytes(out[:1024 * 1024 - 1]) + b"\n")'
	} > "$CASE_DIR/msg"
	signs main $RR "$CASE_DIR/msg" both.signet.test 127.0.0.1 -- \
	    "$(SIG_BOTH_RSA)" "$(SIG_BOTH_ED)"
	finish
}

case_trailing_blank() {	# CANON
	case_both_canon signs_body_with_trailing_blank_lines trailing-blank-lines.eml "$1"
}

case_external() {
	begin skips_unauthenticated_external_client_and_accepts || return
	prep "$MSGS/plain.eml" both.signet.test "$CASE_DIR/msg"
	not_signed "$CASE_DIR/msg" both.signet.test 192.0.2.7
	finish
}

case_no_key() {
	begin skips_domain_without_key_and_accepts || return
	prep "$MSGS/plain.eml" nokey.signet.test "$CASE_DIR/msg"
	not_signed "$CASE_DIR/msg" nokey.signet.test 127.0.0.1
	finish
}

case_auth() {
	begin signs_authenticated_external_client_both_verify || return
	prep "$MSGS/plain.eml" both.signet.test "$CASE_DIR/msg"
	signs main $RR "$CASE_DIR/msg" both.signet.test 192.0.2.7 -a alice -- \
	    "$(SIG_BOTH_RSA)" "$(SIG_BOTH_ED)"
	finish
}

case_ipv6() {
	begin signs_internal_ipv6_client_both_verify || return
	prep "$MSGS/plain.eml" rsa.signet.test "$CASE_DIR/msg"
	signs main $RR "$CASE_DIR/msg" rsa.signet.test ::1 -- "$(SIG_RSA)"
	finish
}

case_internal_net() {
	begin signs_client_in_internal_network_10_0_0_0_8_both_verify || return
	prep "$MSGS/plain.eml" ed.signet.test "$CASE_DIR/msg"
	signs main $RR "$CASE_DIR/msg" ed.signet.test 10.20.30.40 -- "$(SIG_ED)"
	finish
}

case_oversign() {	# HEADER VALUE
	local header=$1 value=$2 lower
	lower=$(echo "$header" | tr A-Z a-z)
	begin "oversigned_${lower}_added_after_signing_fails_both_verifiers" || return
	prep "$MSGS/plain.eml" both.signet.test "$CASE_DIR/msg"
	signs main $RR "$CASE_DIR/msg" both.signet.test 127.0.0.1 -- \
	    "$(SIG_BOTH_RSA)" "$(SIG_BOTH_ED)"
	if [ ${#errors[@]} -eq 0 ]; then
		# On top, where a verifier that does not oversign would not look.
		{ printf '%s: %s\r\n' "$header" "$value"; cat "$CASE_DIR/out/1.eml"; } \
		    > "$CASE_DIR/tampered.eml"
		verify_fails "$CASE_DIR/tampered.eml"
	fi
	finish
}

case_bad_from() {	# NAME MESSAGE
	begin "$1" || return
	prep "$MSGS/$2" both.signet.test "$CASE_DIR/msg"
	not_signed "$CASE_DIR/msg" both.signet.test 127.0.0.1
	finish
}

case_several() {
	begin signs_several_messages_on_one_connection_both_verify || return
	local d i=0 files=()
	for d in rsa.signet.test ed.signet.test both.signet.test nokey.signet.test \
	    both.signet.test rsa.signet.test; do
		i=$((i + 1))
		prep "$MSGS/plain.eml" "$d" "$CASE_DIR/msg$i"
		files+=("$CASE_DIR/msg$i")
	done
	if ensure_daemon main $RR && send main -i 127.0.0.1 "${files[@]}"; then
		grep -q '^messages 6$' "$CASE_DIR/report" ||
		    err "got $(grep '^messages' "$CASE_DIR/report"), want messages 6"
		for i in 1 2 3 4 5 6; do
			expect_action $i accept
		done
		expect_sigs 1 $RR "$(SIG_RSA)" && verify "$CASE_DIR/out/1.eml" 1
		expect_sigs 2 $RR "$(SIG_ED)" && verify "$CASE_DIR/out/2.eml" 1
		expect_sigs 3 $RR "$(SIG_BOTH_RSA)" "$(SIG_BOTH_ED)" &&
		    verify "$CASE_DIR/out/3.eml" 2
		expect_sigs 4 $RR
		expect_sigs 5 $RR "$(SIG_BOTH_RSA)" "$(SIG_BOTH_ED)" &&
		    verify "$CASE_DIR/out/5.eml" 2
		expect_sigs 6 $RR "$(SIG_RSA)" && verify "$CASE_DIR/out/6.eml" 1
	fi
	finish
}

# ---- run -----------------------------------------------------------------------------
CASE=setup_tools_present
errors=()
check_tools
finish

CASE=setup_keys_generated_and_served_by_nsd
errors=()
if [ -z "$SETUP_ERR" ]; then
	setup_keys && setup_dns
fi
finish

CASE=setup_daemon_starts_and_negotiates
errors=()
ensure_daemon main relaxed/relaxed
finish

case_rsa_only
case_ed_only
case_both
case_canon relaxed/relaxed
case_canon simple/simple
case_canon relaxed/simple
case_canon simple/relaxed
case_lf_input
case_crlf_input
case_postfix_body
case_folded
case_utf8
case_latin1
case_empty_body
case_empty_body_simple
case_big_body
case_trailing_blank relaxed/relaxed
case_trailing_blank simple/simple
case_external
case_no_key
case_auth
case_ipv6
case_internal_net
case_oversign From 'Mallory <mallory@evil.example>'
case_oversign Subject 'Pay this invoice now'
case_bad_from skips_message_without_from_and_accepts no-from.eml
case_bad_from skips_message_with_two_from_headers_and_accepts two-from.eml
case_bad_from skips_from_without_domain_and_accepts from-no-domain.eml
case_several

echo "# milter suite: $npass passed, $nfail failed"
echo "1..$ntest"
[ $nfail -eq 0 ]
