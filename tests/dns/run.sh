#!/bin/sh
# NAME
#	run.sh - lib/dns.c against a private NSD (TAP)
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
. "$top_srcdir/tests/lib/tap.sh"

tap_workdir dns
cleanup() {
	dns_stop
	tap_rmwork
}
trap cleanup EXIT
trap 'exit 1' INT TERM

{
	cat "$top_srcdir/tests/dns/test.zone"
	i=0
	while [ $i -lt 100 ]; do
		echo "h$i.signet.example. IN A 192.0.2.$i"
		i=$((i + 1))
	done
} > "$work/records" || tap_fail "the test zone is written" /dev/null

dns_start "$work/nsd" signet.example "$work/records" 2>"$work/dns_start.err" ||
	tap_fail "a private NSD serves signet.example" "$work/dns_start.err"

binary=$top_builddir/tests/dns/test-dns
[ -x "$binary" ] || tap_fail "the test program $binary is built" /dev/null
"$binary" "$DNS_PORT" "$work"
rc=$?
[ $rc -eq 0 ] || echo "# test-dns exited with $rc"
exit $rc
