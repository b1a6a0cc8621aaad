#!/bin/bash
# NAME
#	run.sh - signet-keys(8) end to end: every command against a real NSD (check,
#	activate, status, rotate --auto) and a real Knot DNS (publish), TAP
# SYNOPSIS
#	top_srcdir=... top_builddir=... tests/keys/run.sh
# DESCRIPTION
#	Builds a keystore with keys/signet-keys, writes zone records from "signet-keys dns"
#	plus deliberately broken variants (another key, truncated p=, wrong k=, missing k=
#	for Ed25519, empty p=, two records, NODATA, quotes and spaces inside), serves them
#	with a private NSD (tests/lib/dnsserver.sh) and checks every verdict, exit status
#	and message; then the lifecycle (activate, retire, rotate, status, rotate --auto
#	with backdated .meta files), the daemon reload (a stand-in process named signet
#	that records SIGHUP), the keystore lock, publish against a private knotd with a
#	TSIG key (tests/keys/knot.sh) and against a fake server that answers NOERROR
#	unsigned (tests/keys/fake-update.py), and import-opendkim against keys made by
#	opendkim-genkey.  A missing nsd, knotd, kdig, opendkim-genkey or flock is a failure
#	("not ok"), never a skip.  top_srcdir and top_builddir default to the repository
#	root.  SIGNET_TEST_KEEP=1 keeps the temporary directory and says where.
# FILES
#	tests/lib/dnsserver.sh, tests/keys/knot.sh, tests/keys/fake-update.py

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/lib/dnsserver.sh"
. "$top_srcdir/tests/keys/knot.sh"
. "$top_srcdir/tests/lib/tap.sh"

SK=$top_builddir/keys/signet-keys
tap_workdir keys
FAKE_PID=
FAKE_UPDATE_PID=
cleanup() {
	dns_stop
	knot_stop
	[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null
	[ -n "$FAKE_UPDATE_PID" ] && kill "$FAKE_UPDATE_PID" 2>/dev/null
	tap_rmwork
}
trap cleanup EXIT
trap 'exit 1' INT TERM

n=0
failed=0
ok() {		# NAME: passes
	n=$((n + 1)); echo "ok $n - $1"
}
notok() {	# NAME WHY: fails, with what we got
	n=$((n + 1)); failed=1; echo "not ok $n - $1"
	printf '%s\n' "$2" | sed 's/^/#   /'
}
# run NAME WANT_STATUS PATTERN signet-keys-args...: runs signet-keys, wants the exit
# status and a line of stdout+stderr matching the extended regular expression PATTERN.
run() {
	local name=$1 want=$2 pattern=$3 got
	shift 3
	"$SK" "$@" >"$work/out" 2>&1
	got=$?
	if [ "$got" -ne "$want" ]; then
		notok "$name" "exit $got, wanted $want; output:
$(cat "$work/out")"
	elif [ -n "$pattern" ] && ! grep -Eq -- "$pattern" "$work/out"; then
		notok "$name" "no line matches /$pattern/; output:
$(cat "$work/out")"
	else
		ok "$name"
	fi
}
# wait_for COMMAND...: true once COMMAND succeeds, false after 30 s.  A wait for a
# condition, never a pause that a busy machine could outrun.
wait_for() {
	local _
	for _ in $(seq 300); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}
bail() {	# NAME FILE: a set-up step failed; nothing after it can run
	notok "$1" "$(cat "$2" 2>/dev/null)"
	echo "1..$n"
	exit 1
}

K=$work/keys
CONF=$work/signet.conf
sk() { "$SK" -c "$CONF" -k "$K" "$@"; }

# ---- set-up ----------------------------------------------------------------------------
for tool in nsd kdig knotd opendkim-genkey flock; do
	if command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ]; then
		ok "the tool $tool is installed"
	else
		notok "the tool $tool is installed" "apt-get install nsd knot-dnsutils knot opendkim-tools util-linux"
	fi
done
[ -x "$SK" ] || bail "signet-keys is built at $SK" /dev/null
: > "$CONF"

D=keys.test
for s in good absent nodata other spare trunc wrongk revoked two quoted spaced; do
	sk generate "$D" -s "$s" >/dev/null 2>>"$work/setup.err" || bail "generate $s" "$work/setup.err"
done
sk generate "$D" -s edk -a ed25519 >/dev/null 2>>"$work/setup.err" &&
sk generate "$D" -s edgood -a ed25519 >/dev/null 2>>"$work/setup.err" &&
sk generate elsewhere.test -s s1 >/dev/null 2>>"$work/setup.err" &&
sk generate "$D" -s later >/dev/null 2>>"$work/setup.err" ||
	bail "generate the Ed25519 keys" "$work/setup.err"

# The keystore of rotate --auto: on keys.test an active key 100 days old, a retiring
# key past RetireGrace and a pending key whose record matched a day ago; on gen.test an
# active key 100 days old and nothing in DNS.
A=$work/auto-keys
sa() { "$SK" -c "$CONF" -k "$A" "$@"; }
backdate() {	# FILE STATE DAYS: moves the transition to STATE DAYS days back
	local when
	when=$(date -u -d "-$3 days" +%Y-%m-%dT%H:%M:%SZ)
	sed -i "s/^transition $2 .*/transition $2 $when/" "$1"
}
{
	sa generate "$D" -s autoret && sa activate "$D" autoret --force &&
	sa generate "$D" -s autoold && sa activate "$D" autoold --force &&
	sa generate "$D" -s autonew && sa generate gen.test -s genold &&
	sa activate gen.test genold --force
} >/dev/null 2>>"$work/setup.err" || bail "the rotate --auto keystore" "$work/setup.err"
backdate "$A/$D/autoret.meta" retiring 8
backdate "$A/$D/autoold.meta" active 100
backdate "$A/gen.test/genold.meta" active 100
echo "dns-match $(date -u -d '-1 days' +%Y-%m-%dT%H:%M:%SZ)" >> "$A/$D/autonew.meta"

rec() { sk dns "$D" "$1"; }
{
	rec good; rec edgood; rec two; rec later
	sa dns "$D" autonew
	echo "two._domainkey.$D. IN TXT \"v=spf1 -all\""
	echo "nodata._domainkey.$D. IN A 127.0.0.1"
	rec spare | sed "s/^spare\./other./"
	rec spare
	rec trunc | sed 's/" ".*$/"/'
	rec wrongk | sed 's/"v=DKIM1; k=rsa; p=/"v=DKIM1; k=ed25519; " "p=/'
	rec edk | sed 's/k=ed25519; //'
	echo "revoked._domainkey.$D. IN TXT \"v=DKIM1; k=rsa; p=\""
	rec quoted | sed 's/"v=DKIM1; k=rsa; p=/"v=DKIM1; k=rsa; p=\\"" "/'
	rec spaced | sed 's/" "/" " /'
} > "$work/records" 2>"$work/setup.err" || bail "records from signet-keys dns" "$work/setup.err"
# An OpenDKIM set-up as opendkim-genkey makes it: its own records go in DNS as they are.
O=$work/opendkim
mkdir -p "$O/keys"
{
	opendkim-genkey -D "$O/keys" -d odkim.test -s mail &&
	opendkim-genkey -D "$O/keys" -d odshare1.test -s shared &&
	opendkim-genkey -D "$O/keys" -b 1024 -d odkim.test -s weak
} 2>>"$work/setup.err" || bail "opendkim-genkey makes keys" "$work/setup.err"
cat > "$O/KeyTable" <<EOF
# name      domain:selector:keyfile
mailkey     odkim.test:mail:$O/keys/mail.private
sharedkey   %:shared:$O/keys/shared.private
weakkey     weak.test:weak:$O/keys/weak.private
fixedkey    odkim.test:mail:$O/keys/mail.private
gonekey     gone.test:g:$O/keys/gone.private
unusedkey   odkim.test:spare:$O/keys/mail.private
EOF
cat > "$O/SigningTable" <<EOF
*@odkim.test     mailkey
*@odshare1.test  sharedkey
*@odshare2.test  sharedkey
*@weak.test      weakkey
*@alias.test     fixedkey
*@*.odkim.test   mailkey
boss@odkim.test  mailkey
*@gone.test      gonekey
*@nokey.test     nosuchkey
EOF
printf 'Syslog yes\nKeyTable file:%s\nSigningTable refile:%s\n' "$O/KeyTable" "$O/SigningTable" \
	> "$O/opendkim.conf"
printf 'Domain single.test\nSelector mail\nKeyFile %s\n' "$O/keys/mail.private" > "$O/single.conf"
echo 'k nocolons' > "$O/BadKeyTable"

: > "$work/empty"
dns_start "$work/nsd" "$D" "$work/records" gen.test "$work/empty" odkim.test "$O/keys/mail.txt" \
	odshare1.test "$O/keys/shared.txt" odshare2.test "$O/keys/shared.txt" 2>"$work/dns.err" ||

	bail "a private NSD serves $D" "$work/dns.err"
ok "a private NSD serves $D"
NS=127.0.0.1@$DNS_PORT
printf 'Nameservers %s\nPidFile %s\n' "$NS" "$work/signet.pid" > "$CONF"

# ---- existing commands keep their output ----------------------------------------------
run "generate prints the selector alone" 0 '^s[0-9]{6}[a-z]$' -c "$CONF" -k "$K" generate fresh.test
run "list prints DOMAIN SELECTOR ALGORITHM STATE" 0 "^$D good rsa-2048 pending$" -c "$CONF" -k "$K" list
run "dns prints zone-file lines cut in 255-byte strings" 0 \
	"^good\._domainkey\.$D\. IN TXT \"v=DKIM1; k=rsa; p=[A-Za-z0-9+/]{237}\" \"[A-Za-z0-9+/=]+\"$" \
	-c "$CONF" -k "$K" dns "$D" good
run "an unknown command is a usage error" 2 'unknown command' -c "$CONF" -k "$K" frobnicate
run "an option of another command is a usage error" 2 '--force does not belong to list' \
	-c "$CONF" -k "$K" list --force
run "an explicit -c FILE that is missing is an error" 1 "$work/nope.conf.*cannot open" \
	-c "$work/nope.conf" -k "$K" list
echo "Frobnicate yes" > "$work/bad.conf"
run "a broken configuration file is an error naming the file and line" 1 "bad.conf:1:" \
	-c "$work/bad.conf" -k "$K" list
printf 'Keystore %s\n' "$K" > "$work/keystore.conf"
run "Keystore comes from the configuration without -k" 0 "^$D good rsa-2048 pending$" \
	-c "$work/keystore.conf" list

# ---- check: one verdict per broken record ---------------------------------------------
C=(-c "$CONF" -k "$K")
run "check: the first match is still propagating (exit 3)" 3 \
	"^good\._domainkey\.$D: propagating: the record matches.*TTL 5 s, negative TTL 5 s" \
	"${C[@]}" check "$D" good
run "check: a name that does not exist is missing (NXDOMAIN)" 1 \
	"^absent\._domainkey\.$D: missing: no such name \(NXDOMAIN\)" "${C[@]}" check "$D" absent
run "check: a name without TXT is missing (NODATA)" 1 \
	"^nodata\._domainkey\.$D: missing: the name has no TXT record \(NODATA\)" \
	"${C[@]}" check "$D" nodata
run "check: another key's record is other-key" 1 "^other\._domainkey\.$D: other-key: p= holds another key" \
	"${C[@]}" check "$D" other
run "check: the first string alone is truncated" 1 \
	"^trunc\._domainkey\.$D: truncated: p= holds only the first [0-9]+ of the key's [0-9]+ base64" \
	"${C[@]}" check "$D" trunc
run "check: k=ed25519 on an RSA key is wrong-type" 1 \
	"^wrongk\._domainkey\.$D: wrong-type: k=ed25519, but the key is k=rsa" "${C[@]}" check "$D" wrongk
run "check: no k= on an Ed25519 key is wrong-type" 1 \
	"^edk\._domainkey\.$D: wrong-type: the record has no k= tag" "${C[@]}" check "$D" edk
run "check: an empty p= is revoked" 1 "^revoked\._domainkey\.$D: revoked: p= is empty" \
	"${C[@]}" check "$D" revoked
run "check: two TXT records are several" 1 \
	"^two\._domainkey\.$D: several: 2 TXT records at the name \(one is ours\)" "${C[@]}" check "$D" two
run "check: a literal quote is malformed (quoted badly)" 1 \
	"^quoted\._domainkey\.$D: malformed: the record holds a double quote.*quoted badly" \
	"${C[@]}" check "$D" quoted
run "check: white space inside p= is malformed (split badly)" 1 \
	"^spaced\._domainkey\.$D: malformed: p= holds the key with white space inside" \
	"${C[@]}" check "$D" spaced
run "check: a zone the server does not serve is a DNS failure (exit 3)" 3 \
	"^s1\._domainkey\.elsewhere\.test: dns-failure: the lookup failed" "${C[@]}" check elsewhere.test s1
run "check: --nameserver overrides Nameservers" 3 "dns-failure" \
	-c "$CONF" -k "$K" check "$D" good --nameserver 127.0.0.1@1
run "check: --nameserver must be an address" 1 "want IP or IP@PORT" \
	"${C[@]}" check "$D" good --nameserver nowhere
run "check: an unknown selector is an error" 1 "has no key nosuch" "${C[@]}" check "$D" nosuch
sleep 6
run "check: after TTL and negative TTL the match has settled (exit 0)" 0 \
	"^good\._domainkey\.$D: ok: the record matches the key$" "${C[@]}" check "$D" good
"$SK" "${C[@]}" check "$D" > "$work/all" 2>&1
lines=$(grep -c "\._domainkey\.$D: " "$work/all")
if [ "$lines" -eq 14 ] && [ "$(grep -c ': ok: ' "$work/all")" -ge 1 ]; then
	ok "check without SELECTOR checks every key of the domain"
else
	notok "check without SELECTOR checks every key of the domain" "$(cat "$work/all")"
fi
if grep -q '^dns-match ' "$K/$D/good.meta" && ! grep -q '^dns-match ' "$K/$D/absent.meta"; then
	ok "check records the first match in the .meta (dns-match) and nothing for a miss"
else
	notok "check records the first match in the .meta" "$(cat "$K/$D/good.meta")"
fi

# ---- activate --------------------------------------------------------------------------
mkdir -p "$work/bin"
# It says when its trap is set: a SIGHUP before that would end it.
printf '#!/bin/sh\ntrap "echo hup >> %s/hup.log" HUP\n: > %s/fake.ready\nwhile :; do sleep 0.1; done\n' \
	"$work" "$work" > "$work/bin/signet"
chmod +x "$work/bin/signet"
run "activate: no PidFile file is said, not an error" 0 "signet-keys: .*signet.pid does not exist: signet is not running" \
	"${C[@]}" activate "$D" good
"$work/bin/signet" & FAKE_PID=$!
echo "$FAKE_PID" > "$work/signet.pid"
wait_for test -e "$work/fake.ready" || bail "the stand-in signet sets its SIGHUP trap" /dev/null
run "activate: refuses a record that is missing" 1 "not activating absent\._domainkey\.$D: missing" \
	"${C[@]}" activate "$D" absent
run "activate: refuses another key" 1 "not activating other\._domainkey\.$D: other-key" \
	"${C[@]}" activate "$D" other
run "activate: refuses a record still propagating (exit 3)" 3 \
	"not activating edgood\._domainkey\.$D: propagating" "${C[@]}" activate "$D" edgood
run "activate: --force overrides with a warning" 0 "warning: activating spare\._domainkey\.$D without checking" \
	"${C[@]}" activate "$D" spare --force
if grep -q "^$D good rsa-2048 retiring$" <(sk list) && grep -q "^$D spare rsa-2048 active$" <(sk list); then
	ok "activate moves the previous active key of the family to retiring"
else
	notok "activate moves the previous active key of the family to retiring" "$(sk list)"
fi
if wait_for test -s "$work/hup.log"; then
	ok "activate sends SIGHUP to the signet named by PidFile"
else
	notok "activate sends SIGHUP to the signet named by PidFile" "$(cat "$work/out")"
fi
grep -q "told signet (pid $FAKE_PID) to reload" "$work/out" && ok "activate says it told signet to reload" ||
	notok "activate says it told signet to reload" "$(cat "$work/out")"
sleep 6
run "activate: an Ed25519 key once its record settled" 0 "" "${C[@]}" activate "$D" edgood
if grep -q "^$D spare rsa-2048 active$" <(sk list) && grep -q "^$D edgood ed25519 active$" <(sk list); then
	ok "activating an Ed25519 key leaves the RSA key active"
else
	notok "activating an Ed25519 key leaves the RSA key active" "$(sk list)"
fi
run "activate: an active key is refused" 1 "is active already" "${C[@]}" activate "$D" spare
echo "$$" > "$work/signet.pid"
run "reload: a PidFile naming another program is not signalled" 0 "is not a running signet" \
	"${C[@]}" activate "$D" two --force
echo "$FAKE_PID" > "$work/signet.pid"
sk generate "$D" -s nopid >/dev/null 2>&1
run "reload: no PidFile in the configuration is said, not an error" 0 "no PidFile in .*keystore.conf" \
	-c "$work/keystore.conf" activate "$D" nopid --force

# ---- rotate, retire --------------------------------------------------------------------
sk generate rot.test -s r1 >/dev/null 2>&1 && sk activate rot.test r1 --force >/dev/null 2>&1
run "rotate -a: a new pending key of another algorithm" 0 '^s[0-9]{6}[a-z]+$' \
	"${C[@]}" rotate rot.test -a ed25519
ROT=$(tail -n 1 "$work/out")
grep -q "^rot.test $ROT ed25519 pending$" <(sk list) && ok "rotate -a sets the algorithm" ||
	notok "rotate -a sets the algorithm" "$(sk list)"
run "rotate: refuses while the family has a pending key" 1 "$ROT._domainkey.rot.test is pending already" \
	"${C[@]}" rotate rot.test -a ed25519
run "rotate: a domain signing with RSA and Ed25519 needs -a" 1 "say which to rotate with -a" \
	"${C[@]}" rotate "$D"
run "rotate -a ed25519 with a pending Ed25519 key is refused" 1 "edk._domainkey.$D is pending already" \
	"${C[@]}" rotate "$D" -a ed25519
sk generate solo.test -s a1 >/dev/null 2>&1 && sk activate solo.test a1 --force >/dev/null 2>&1
run "rotate: same algorithm as the active key by default" 0 '^s[0-9]{6}[a-z]+$' "${C[@]}" rotate solo.test
grep -Eq "^solo.test s[0-9]{6}[a-z]+ rsa-2048 pending$" <(sk list) && ok "rotate made an rsa-2048 pending key" ||
	notok "rotate made an rsa-2048 pending key" "$(sk list)"
run "rotate: a domain without an active key is refused" 1 "has no active key" "${C[@]}" rotate fresh.test
run "retire: the last active key is refused" 1 "is the last active key of solo.test" \
	"${C[@]}" retire solo.test a1
run "retire: a pending key is refused" 1 "is pending: only active and retiring" \
	"${C[@]}" retire "$D" absent
run "retire: a retiring key becomes retired" 0 "is retired: remove its record" "${C[@]}" retire "$D" good
run "retire: --force retires the last active key with a warning" 0 "warning: retiring the last active key" \
	"${C[@]}" retire solo.test a1 --force
grep -q "^solo.test a1 rsa-2048 retired$" <(sk list) && ok "retire --force made the key retired" ||
	notok "retire --force made the key retired" "$(sk list)"

# ---- list -l, dns of retired keys, status ---------------------------------------------
run "list -l prints when each state began" 0 \
	"^$D good rsa-2048 retired pending=[0-9T:-]+Z active=[0-9T:-]+Z retiring=[0-9T:-]+Z retired=[0-9T:-]+Z dns-match=" \
	"${C[@]}" list -l
run "dns: a retired key is a comment saying it may be deleted" 0 \
	"^; good\._domainkey\.$D: retired, its record may be deleted" "${C[@]}" dns "$D"
run "dns: the revoked form is a comment" 0 "^; good\._domainkey\.$D\. IN TXT \"v=DKIM1; k=rsa; p=\"$" \
	"${C[@]}" dns "$D"
if ! sk dns "$D" | grep -v '^;' | grep -qv '\._domainkey\.'; then
	ok "dns: every line that is not a comment is a record line"
else
	notok "dns: every line that is not a comment is a record line" "$(sk dns "$D")"
fi
run "status: a pending key to publish" 0 \
	"^$D absent pending: publish absent then run: signet-keys check $D absent$" "${C[@]}" status "$D"
run "status: a retiring key and its grace" 0 \
	"^$D spare retiring: retire spare after [0-9T:-]+Z \(grace\)$" "${C[@]}" status "$D"
run "status: a retired key to remove from DNS" 0 \
	"^$D good retired: remove good from DNS: it is retired; optional revoked record: good\._domainkey\.$D\. IN TXT \"v=DKIM1; k=rsa; p=\"$" \
	"${C[@]}" status "$D"
run "status: a pending key whose record matches" 0 \
	"^$D later pending: activate later \(DNS matches\): signet-keys activate $D later$" "${C[@]}" status
run "status: a pending key whose record is wrong" 0 \
	"^$D other pending: fix the record of other \(other-key: " "${C[@]}" status "$D"
sk generate calm.test -s c1 >/dev/null 2>&1 && sk activate calm.test c1 --force >/dev/null 2>&1
run "status: when the next rotation is due" 0 "^calm.test: next rsa rotation due [0-9T:-]+Z$" \
	"${C[@]}" status calm.test
sed -i "s/^transition active .*/transition active $(date -u -d '-100 days' +%Y-%m-%dT%H:%M:%SZ)/" \
	"$K/calm.test/c1.meta"
run "status: a rotation that is due" 0 \
	"^calm.test: rsa rotation due since [0-9T:-]+Z: signet-keys rotate calm.test -a rsa-2048$" \
	"${C[@]}" status calm.test
run "status: a rotation under way" 0 "^$D: ed25519 rotation under way \(a pending key replaces edgood\)$" \
	"${C[@]}" status "$D"
run "status: an unknown domain is an error" 1 "has no key" "${C[@]}" status nosuch.test

# ---- safety ----------------------------------------------------------------------------
# The lock is held until the command has said it waits, however long either takes to start.
flock "$K/.lock" sh -c ': > "$1"; while [ ! -e "$2" ]; do sleep 0.05; done' sh \
	"$work/locked" "$work/unlock" &
lockpid=$!
wait_for test -e "$work/locked" || bail "flock takes the keystore lock" /dev/null
"$SK" "${C[@]}" generate "$D" -s afterlock > "$work/out" 2>&1 &
genpid=$!
wait_for grep -Eq 'waiting: .*\.lock is locked by another signet-keys' "$work/out"
: > "$work/unlock"
wait "$genpid"
got=$?
wait "$lockpid"
if [ "$got" -eq 0 ] && grep -Eq 'waiting: .*\.lock is locked by another signet-keys' "$work/out"; then
	ok "a writing command waits for the keystore lock"
else
	notok "a writing command waits for the keystore lock" "exit $got; output:
$(cat "$work/out")"
fi
cp "$K/$D/absent.meta" "$work/absent.meta"
echo "bogus line" >> "$K/$D/absent.meta"
run "a corrupt .meta is an error naming the file" 1 "$K/$D/absent.meta:[0-9]+: unknown name" "${C[@]}" list
cp "$work/absent.meta" "$K/$D/absent.meta"
chmod 0644 "$K/$D/absent.key"
run "a private key readable by others is refused" 1 "absent.key is mode 0644" "${C[@]}" list
chmod 0600 "$K/$D/absent.key"

# ---- rotate --auto ----------------------------------------------------------------------
: > "$work/hup.log"
run "rotate --auto: a retiring key past RetireGrace becomes retired" 0 \
	"^$D autoret retired \(retiring since [0-9T:-]+Z, RetireGrace over\)" -c "$CONF" -k "$A" rotate --auto
cp "$work/out" "$work/auto1"
grep -q "^$D autonew activated (DNS matches)$" "$work/auto1" &&
	ok "rotate --auto: a pending key whose record settled is activated" ||
	notok "rotate --auto: a pending key whose record settled is activated" "$(cat "$work/auto1")"
grep -q "^$D autoold rsa-2048 retiring$" <(sa list) &&
	ok "rotate --auto: the key it replaces becomes retiring" ||
	notok "rotate --auto: the key it replaces becomes retiring" "$(sa list)"
grep -Eq "^gen.test s[0-9]{6}[a-z]+ generated \(rsa-2048\), to replace genold" "$work/auto1" &&
	ok "rotate --auto: an active key older than RotateInterval gets a pending successor" ||
	notok "rotate --auto: an active key older than RotateInterval gets a pending successor" "$(cat "$work/auto1")"
if ! grep -q "^$D .* generated" "$work/auto1"; then
	ok "rotate --auto: no successor for a domain whose key was just activated"
else
	notok "rotate --auto: no successor for a domain whose key was just activated" "$(cat "$work/auto1")"
fi
wait_for test -s "$work/hup.log" && ok "rotate --auto that changed keys tells signet to reload" ||
	notok "rotate --auto that changed keys tells signet to reload" "$(cat "$work/auto1")"
GEN=$(sed -n "s/^gen.test \(s[0-9]*[a-z]*\) generated.*/\1/p" "$work/auto1")
: > "$work/hup.log"
run "rotate --auto again: the new key waits for its record, exit 0" 0 \
	"^gen.test $GEN pending: missing: no such name" -c "$CONF" -k "$A" rotate --auto
if ! grep -Eq "generated|activated|retired \(" "$work/out"; then
	ok "rotate --auto is idempotent"
else
	notok "rotate --auto is idempotent" "$(cat "$work/out")"
fi
# A pause, in a check that something did not happen: a busy machine can make it miss a
# stray SIGHUP, never fail for lack of one.
sleep 0.3
[ ! -s "$work/hup.log" ] && ok "rotate --auto that changed nothing does not signal signet" ||
	notok "rotate --auto that changed nothing does not signal signet" "$(cat "$work/out")"
"$SK" -c "$CONF" -k "$work/quiet" generate quiet.test -s q1 >/dev/null 2>&1 &&
	"$SK" -c "$CONF" -k "$work/quiet" activate quiet.test q1 --force >/dev/null 2>&1
run "rotate --auto with nothing due says so" 0 "^nothing due$" -c "$CONF" -k "$work/quiet" rotate --auto
run "rotate --auto takes no domain" 1 "takes no domain" -c "$CONF" -k "$A" rotate --auto "$D"

# ---- import-opendkim --------------------------------------------------------------------
I=$work/imported
IC=(-c "$CONF" -k "$I")
run "import-opendkim: a key of the SigningTable is imported, active, under its selector" 1 \
	"^imported odkim.test mail rsa-2048 from $O/keys/mail.private \($O/SigningTable:1\)$" \
	"${IC[@]}" import-opendkim --key-table "$O/KeyTable" --signing-table "refile:$O/SigningTable"
cp "$work/out" "$work/import1"
expect_line() {	# NAME PATTERN FILE
	if grep -Eq -- "$2" "$3"; then ok "$1"; else notok "$1" "$(cat "$3")"; fi
}
expect_line "import-opendkim: a key shared through % is imported once per domain" \
	"^imported odshare2.test shared rsa-2048" "$work/import1"
expect_line "import-opendkim: ... and for the first domain too" "^imported odshare1.test shared rsa-2048" \
	"$work/import1"
expect_line "import-opendkim: a 1024-bit key is skipped with the reason" \
	"^skipped $O/SigningTable:4 weak.test weak: an RSA key of 1024 bits" "$work/import1"
expect_line "import-opendkim: a key kept for another d= is skipped with the reason" \
	"^skipped $O/SigningTable:5 alias.test mail: OpenDKIM signs this with d=odkim.test" "$work/import1"
expect_line "import-opendkim: a pattern for many domains is skipped" \
	"^skipped $O/SigningTable:6 .*matches many domains" "$work/import1"
expect_line "import-opendkim: a pattern for one address is skipped" \
	"^skipped $O/SigningTable:7 .*signs for one address only" "$work/import1"
expect_line "import-opendkim: a missing key file is skipped, and is a failure" \
	"^skipped $O/SigningTable:8 gone.test g: cannot open $O/keys/gone.private" "$work/import1"
expect_line "import-opendkim: an unknown key name is skipped" \
	"^skipped $O/SigningTable:9 nokey.test -: no KeyTable entry \"nosuchkey\"" "$work/import1"
expect_line "import-opendkim: an unused KeyTable entry is reported" \
	"^skipped $O/KeyTable:7 odkim.test spare: KeyTable entry \"unusedkey\" is not used" "$work/import1"
expect_line "import-opendkim: signet is told to reload" "told signet \(pid [0-9]+\) to reload" "$work/import1"
if grep -q "^odkim.test mail rsa-2048 active$" <("$SK" "${IC[@]}" list) &&
    [ "$(stat -c %a "$I/odkim.test/mail.key")" = 600 ]; then
	ok "import-opendkim: the imported key is active and mode 0600"
else
	notok "import-opendkim: the imported key is active and mode 0600" "$("$SK" "${IC[@]}" list -l)"
fi
run "import-opendkim: the record opendkim-genkey published matches the imported key" 3 \
	"^mail\._domainkey\.odkim\.test: propagating: the record matches" "${IC[@]}" check odkim.test mail
run "import-opendkim: the shared key matches the second domain's record too" 3 \
	"^shared\._domainkey\.odshare2\.test: propagating: the record matches" \
	"${IC[@]}" check odshare2.test shared
run "import-opendkim --conf: tables from opendkim.conf; a second run imports nothing" 1 \
	"^skipped $O/SigningTable:1 odkim.test mail: already imported" \
	"${IC[@]}" import-opendkim --conf "$O/opendkim.conf"
if ! grep -q '^imported' "$work/out"; then ok "import-opendkim is idempotent"; else
	notok "import-opendkim is idempotent" "$(cat "$work/out")"; fi
run "import-opendkim --conf: Domain, Selector and KeyFile of a single-key set-up" 0 \
	"^imported single.test mail rsa-2048 from $O/keys/mail.private" \
	"${IC[@]}" import-opendkim --conf "$O/single.conf"
run "import-opendkim: without tables it says what it needs" 1 "needs a KeyTable and a SigningTable" \
	"${IC[@]}" import-opendkim --key-table "$O/KeyTable"
run "import-opendkim: a data set type it cannot read is refused" 1 "only plain files, file: and refile:" \
	"${IC[@]}" import-opendkim --key-table "db:$O/KeyTable" --signing-table "$O/SigningTable"
run "import-opendkim: a broken KeyTable line is an error naming the file and line" 1 \
	"$O/BadKeyTable:1: want \"NAME DOMAIN:SELECTOR:KEYFILE\"" \
	"${IC[@]}" import-opendkim --key-table "$O/BadKeyTable" --signing-table "$O/SigningTable"

# ---- publish: RFC 2136 with TSIG to a private Knot ---------------------------------------
P=$work/pub-keys
PZ=pub.test
SECRET=$(head -c 32 /dev/urandom | base64)
echo "manual._domainkey.$PZ. IN TXT \"left over\"" > "$work/knot-records"
knot_start "$work/knot" "$PZ" signet-update "$SECRET" "$work/knot-records" 2>"$work/knot.err" ||
	bail "a private knotd serves $PZ and takes TSIG-signed updates" "$work/knot.err"
ok "a private knotd serves $PZ and takes TSIG-signed updates"
KS=127.0.0.1@$KNOT_PORT
printf 'Nameservers %s\nUpdateServer %s\nUpdateKey hmac-sha256:signet-update:%s\nPidFile %s\n' \
	"$KS" "$KS" "$SECRET" "$work/signet.pid" > "$work/update.conf"
UC=(-c "$work/update.conf" -k "$P")
"$SK" "${UC[@]}" generate "$PZ" -s manual >/dev/null 2>&1
run "publish: the update is applied (NOERROR)" 0 \
	"^manual\._domainkey\.$PZ: published to $KS \(zone $PZ, TTL 5\): NOERROR$" "${UC[@]}" publish "$PZ" manual
got=$(kdig +short @127.0.0.1 -p "$KNOT_PORT" "manual._domainkey.$PZ" TXT)
if [ "$(printf '%s\n' "$got" | grep -c .)" -eq 1 ] && printf '%s' "$got" | grep -q 'v=DKIM1; k=rsa; p='; then
	ok "publish replaced the old TXT record: Knot serves exactly ours"
else
	notok "publish replaced the old TXT record: Knot serves exactly ours" "$got"
fi
run "check against Knot: the published record propagates" 3 "^manual\._domainkey\.$PZ: propagating" \
	"${UC[@]}" check "$PZ" manual
printf 'UpdateServer %s\nUpdateKey hmac-sha256:signet-update:%s\nNameservers %s\n' "$KS" \
	"$(head -c 32 /dev/urandom | base64)" "$KS" > "$work/badsecret.conf"
run "publish: a wrong TSIG secret is refused (BADSIG)" 1 "refused the update: NOTAUTH, TSIG BADSIG" \
	-c "$work/badsecret.conf" -k "$P" publish "$PZ" manual
printf 'UpdateServer %s\nUpdateKey hmac-sha256:nobody:%s\nNameservers %s\n' "$KS" "$SECRET" "$KS" \
	> "$work/badkey.conf"
run "publish: an unknown TSIG key is refused (BADKEY)" 1 "TSIG BADKEY" \
	-c "$work/badkey.conf" -k "$P" publish "$PZ" manual
# An answer that says NOERROR without a MAC that verifies (tests/keys/fake-update.py; the
# zone is still found through Knot) is never taken as success.
for mode in empty-mac no-tsig; do
	python3 "$top_srcdir/tests/keys/fake-update.py" "$mode" > "$work/fake-update.port" &
	FAKE_UPDATE_PID=$!
	wait_for test -s "$work/fake-update.port"
	[ -s "$work/fake-update.port" ] || bail "fake-update.py $mode listens" /dev/null
	printf 'UpdateServer 127.0.0.1@%s\nUpdateKey hmac-sha256:signet-update:%s\nNameservers %s\n' \
		"$(cat "$work/fake-update.port")" "$SECRET" "$KS" > "$work/fake-update.conf"
	case $mode in
	empty-mac) why="the answer's TSIG MAC is empty \(the answer is not signed\)" ;;
	no-tsig) why="the answer is not signed \(no TSIG record\)" ;;
	esac
	run "publish: NOERROR with $mode is an error naming the check" 1 "update to .* failed: $why" \
		-c "$work/fake-update.conf" -k "$P" publish "$PZ" manual
	if ! grep -q "published" "$work/out"; then
		ok "publish: NOERROR with $mode does not print published"
	else
		notok "publish: NOERROR with $mode does not print published" "$(cat "$work/out")"
	fi
	kill "$FAKE_UPDATE_PID" 2>/dev/null
	wait "$FAKE_UPDATE_PID" 2>/dev/null
	FAKE_UPDATE_PID=
done
printf 'UpdateServer %s\nNameservers %s\n' "$KS" "$KS" > "$work/nokey.conf"
run "publish: UpdateServer without UpdateKey is refused" 1 "UpdateKey is not" \
	-c "$work/nokey.conf" -k "$P" publish "$PZ" manual
run "publish without UpdateServer says to paste signet-keys dns" 1 \
	"no UpdateServer in .*signet.conf: paste the output of \"signet-keys dns $PZ manual\" into the zone" \
	-c "$CONF" -k "$P" publish "$PZ" manual
sleep 6
run "check against Knot: the published record matches" 0 "^manual\._domainkey\.$PZ: ok: " \
	"${UC[@]}" check "$PZ" manual

P2=$work/pub-auto
U2=(-c "$work/update.conf" -k "$P2")
"$SK" "${U2[@]}" generate "$PZ" -s pubold >/dev/null 2>&1 &&
	"$SK" "${U2[@]}" activate "$PZ" pubold --force >/dev/null 2>&1
backdate "$P2/$PZ/pubold.meta" active 100
run "rotate --auto with UpdateServer publishes the new key" 0 \
	"^s[0-9]{6}[a-z]+\._domainkey\.$PZ: published to $KS \(zone $PZ, TTL 5\): NOERROR$" "${U2[@]}" rotate --auto
PUBNEW=$(sed -n "s/^$PZ \(s[0-9]*[a-z]*\) generated.*/\1/p" "$work/out")
grep -q "^$PZ $PUBNEW checked after publishing: propagating$" "$work/out" &&
	ok "rotate --auto checks the published key so that propagation starts counting" ||
	notok "rotate --auto checks the published key so that propagation starts counting" "$(cat "$work/out")"
sed -i "s/^dns-match .*/dns-match $(date -u -d '-1 days' +%Y-%m-%dT%H:%M:%SZ)/" "$P2/$PZ/$PUBNEW.meta"
run "rotate --auto activates the published key once propagated" 0 "^$PZ $PUBNEW activated \(DNS matches\)$" \
	"${U2[@]}" rotate --auto
grep -q "^$PZ pubold rsa-2048 retiring$" <("$SK" "${U2[@]}" list) &&
	ok "rotate --auto moved the old key to retiring" ||
	notok "rotate --auto moved the old key to retiring" "$("$SK" "${U2[@]}" list)"

echo "1..$n"
exit $failed
