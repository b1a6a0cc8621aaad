#!/bin/sh
# NAME
#	run.sh - milter/dns.c against a private NSD (TAP)
# SYNOPSIS
#	top_srcdir=... top_builddir=... tests/dns/run.sh
# DESCRIPTION
#	Starts NSD on a loopback port (tests/lib/dnsserver.sh) with the zone signet.example
#	from tests/dns/test.zone plus h0 ... h99 (A 192.0.2.N, for the threads test),
#	then runs tests/dns/test-dns against it and passes its TAP through.  A missing
#	nsd or kdig, or a zone that does not load, is a failure ("not ok"), never a skip.
#	top_srcdir and top_builddir default to the repository root.  SIGNET_TEST_KEEP=1
#	keeps the temporary directory and says where.
# FILES
#	tests/dns/test.zone, tests/lib/dnsserver.sh

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/lib/dnsserver.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/signet-dns.XXXXXX") || {
	echo "not ok 1 - a temporary directory"; echo "1..1"; exit 1; }
cleanup() {
	dns_stop
	if [ "${SIGNET_TEST_KEEP:-0}" = 1 ]; then
		echo "# kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {	# NAME FILE: a failed set-up step, with FILE's lines as comments
	echo "not ok 1 - $1"
	[ -f "$2" ] && sed 's/^/#   /' "$2"
	echo "1..1"
	exit 1
}

{
	cat "$top_srcdir/tests/dns/test.zone"
	i=0
	while [ $i -lt 100 ]; do
		echo "h$i.signet.example. IN A 192.0.2.$i"
		i=$((i + 1))
	done
} > "$work/records" || fail "the test zone is written" /dev/null

dns_start "$work/nsd" signet.example "$work/records" 2>"$work/dns_start.err" ||
	fail "a private NSD serves signet.example" "$work/dns_start.err"

binary=$top_builddir/tests/dns/test-dns
[ -x "$binary" ] || fail "the test program $binary is built" /dev/null
"$binary" "$DNS_PORT" "$work"
rc=$?
[ $rc -eq 0 ] || echo "# test-dns exited with $rc"
exit $rc
