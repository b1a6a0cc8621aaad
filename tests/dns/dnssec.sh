#!/bin/sh
# NAME
#	dnssec.sh - lib/dns.c validating answers from a real signing server (TAP)
# SYNOPSIS
#	top_srcdir=... top_builddir=... tests/dns/dnssec.sh
# DESCRIPTION
#	Starts a private knotd on a loopback port serving three zones: signed.test and
#	nsec3.test, which knotd signs itself (dnssec-signing: on, ECDSA P-256, keys in a
#	KASP directory of its own; NSEC for the first, NSEC3 without iterations or salt for
#	the second), and plain.test, unsigned.  Waits until both signed zones answer a query
#	with the DO bit with their DNSKEYs and RRSIGs, which is also what libunbound, using
#	knotd as its forwarder, needs to validate.  Then exports the trust anchors from the
#	running server, in unbound's format, to WORKDIR/ds.anchor (keymgr's DS lines, SHA-256
#	digests) and WORKDIR/dnskey.anchor (the KSKs, flags 257, as kdig sees them), and runs
#	tests/dns/test-dnssec PORT WORKDIR, passing its TAP through.  Each zone also holds
#	an Ed25519 DKIM key record, sel._domainkey, for test-dnssec's verify.c checks.
#
#	A missing knotd, keymgr or kdig, a zone that is not signed in 10 s or an anchor that
#	cannot be exported is a failure ("not ok"), never a skip.  top_srcdir and
#	top_builddir default to the repository root.  SIGNET_TEST_KEEP=1 keeps the temporary
#	directory and says where.
# FILES
#	tests/lib/dnsserver.sh (dns_free_port), tests/keys/knot.sh (knot_stop)

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/lib/dnsserver.sh"
. "$top_srcdir/tests/keys/knot.sh"
. "$top_srcdir/tests/lib/tap.sh"

SIGNED_ZONES="signed.test nsec3.test"

tap_workdir dnssec
cleanup() {
	knot_stop
	tap_rmwork
}
trap cleanup EXIT
trap 'exit 1' INT TERM

need() {	# PROGRAM: on PATH or in /usr/sbin
	command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] ||
		tap_fail "$1 is installed (apt-get install knot knot-dnsutils)" /dev/null
}

write_zone() {	# ZONE
	cat > "$work/zones/$1.zone" <<ZONE
\$ORIGIN $1.
\$TTL 300
@ IN SOA ns.$1. hostmaster.$1. 1 300 300 3600 300
@ IN NS ns.$1.
ns IN A 127.0.0.1
www IN A 192.0.2.1
txt IN TXT "v=spf1 -all"
sel._domainkey IN TXT "v=DKIM1; k=ed25519; p=HwNhBUd4+uc9A1ehDyrUClCiZg6tDYzk6rCdkudfrk8="
ZONE
}

write_conf() {	# PORT
	cat > "$work/knot.conf" <<CONF
server:
    rundir: "$work/run"
    listen: 127.0.0.1@$1
log:
  - target: "$work/knot.log"
    any: info
database:
    storage: "$work/db"
    kasp-db: "$work/kasp"
policy:
  - id: nsec
    algorithm: ecdsap256sha256
    nsec3: off
  - id: nsec3
    algorithm: ecdsap256sha256
    nsec3: on
    nsec3-iterations: 0
    nsec3-salt-length: 0
template:
  - id: default
    storage: "$work/zones"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: changes
zone:
  - domain: signed.test
    dnssec-signing: on
    dnssec-policy: nsec
  - domain: nsec3.test
    dnssec-signing: on
    dnssec-policy: nsec3
  - domain: plain.test
CONF
}

# Signed: a DO query for the DNSKEYs gets a KSK (257) and an RRSIG over them, and one
# for the SOA gets its RRSIG.
zone_signed() {	# ZONE
	kdig +dnssec +timeout=1 +retry=0 @127.0.0.1 -p "$KNOT_PORT" "$1" DNSKEY \
	    > "$work/$1.dnskey" 2>&1 &&
	    grep -q "IN[[:space:]]*DNSKEY[[:space:]]*257 3 13 " "$work/$1.dnskey" &&
	    grep -q "IN[[:space:]]*RRSIG[[:space:]]*DNSKEY " "$work/$1.dnskey" &&
	    kdig +dnssec +timeout=1 +retry=0 @127.0.0.1 -p "$KNOT_PORT" "$1" SOA 2>&1 |
	    grep -q "IN[[:space:]]*RRSIG[[:space:]]*SOA "
}

need knotd
need keymgr
need kdig
knotd_bin=$(command -v knotd || echo /usr/sbin/knotd)
keymgr_bin=$(command -v keymgr || echo /usr/sbin/keymgr)

mkdir -p "$work/run" "$work/db" "$work/kasp" "$work/zones" ||
	tap_fail "the server directories are made" /dev/null
for zone in $SIGNED_ZONES plain.test; do
	write_zone "$zone" || tap_fail "the zone $zone is written" /dev/null
done
KNOT_PORT=$(dns_free_port)
[ -n "$KNOT_PORT" ] || tap_fail "a free loopback port" /dev/null
write_conf "$KNOT_PORT" || tap_fail "knot.conf is written" /dev/null
"$knotd_bin" -c "$work/knot.conf" >>"$work/knot.log" 2>&1 &
KNOT_PID=$!

i=0
while :; do
	signed=0
	for zone in $SIGNED_ZONES; do
		zone_signed "$zone" && signed=$((signed + 1))
	done
	[ $signed -eq 2 ] && break
	kill -0 "$KNOT_PID" 2>/dev/null || tap_fail "knotd keeps running" "$work/knot.log"
	i=$((i + 1))
	[ $i -lt 100 ] || tap_fail "knotd signs $SIGNED_ZONES within 10 s" "$work/knot.log"
	sleep 0.1
done
for zone in $SIGNED_ZONES; do
	echo "# $zone: $(grep -c 'RRSIG' "$work/$zone.dnskey") RRSIG(s) with the DNSKEYs," \
	    "signed by knotd on 127.0.0.1@$KNOT_PORT"
done

# unbound's trust anchor format wants the class; keymgr leaves it out.  Only the SHA-256
# digests: every validator has them.
: > "$work/ds.anchor"
for zone in $SIGNED_ZONES; do
	"$keymgr_bin" -c "$work/knot.conf" "$zone" ds > "$work/$zone.ds" 2>&1 ||
		tap_fail "keymgr exports the DS of $zone" "$work/$zone.ds"
	awk '$2 == "DS" && $5 == "2" { $2 = "IN DS"; print }' "$work/$zone.ds" \
	    >> "$work/ds.anchor"
	grep -q "^$zone\. IN DS [0-9]* 13 2 [0-9a-f]*$" "$work/ds.anchor" ||
		tap_fail "keymgr's DS of $zone is a SHA-256 DS line" "$work/$zone.ds"
done

# From kdig's answers: name, class, type and RDATA, without the TTL.
: > "$work/dnskey.anchor"
for zone in $SIGNED_ZONES; do
	awk '$4 == "DNSKEY" && $5 == "257" { $2 = ""; print }' "$work/$zone.dnskey" |
	    sed 's/  */ /g' >> "$work/dnskey.anchor"
	grep -q "^$zone\. IN DNSKEY 257 3 13 " "$work/dnskey.anchor" ||
		tap_fail "the KSK of $zone is exported from kdig's answer" "$work/$zone.dnskey"
done
sed 's/^/# anchor: /' "$work/ds.anchor" "$work/dnskey.anchor"

binary=$top_builddir/tests/dns/test-dnssec
[ -x "$binary" ] || tap_fail "the test program $binary is built" /dev/null
"$binary" "$KNOT_PORT" "$work"
rc=$?
[ $rc -eq 0 ] || echo "# test-dnssec exited with $rc"
exit $rc
