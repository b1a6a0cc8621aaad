# NAME
#	knot.sh - a private Knot DNS (knotd) on a loopback port that accepts TSIG-signed
#	RFC 2136 updates, for the tests of signet-keys publish
# SYNOPSIS
#	. "$top_srcdir/tests/keys/knot.sh"
#	knot_start DIR ZONE KEYNAME BASE64SECRET [RECORDS_FILE]
#	... signet-keys publish ... (UpdateServer 127.0.0.1@$KNOT_PORT)
#	knot_stop
# DESCRIPTION
#	knot_start writes DIR/knot.conf (listen on 127.0.0.1 only, on a free port; rundir,
#	storage and journal inside DIR; an hmac-sha256 TSIG key KEYNAME; an acl that allows
#	updates of ZONE signed with it) and a zone file ZONE ($TTL 5: SOA, NS, A, then the
#	lines of RECORDS_FILE verbatim, absolute names), starts
#	knotd in the foreground in the background and waits until it answers the SOA.  It
#	sets KNOT_PORT and KNOT_PID.  Nothing outside DIR is written.
# DIAGNOSTICS
#	knot_start returns 1 with one line on stderr when knotd or kdig is missing or the
#	server does not answer in 10 s; DIR/knot.log then says why.

KNOT_PORT=
KNOT_PID=

knot_start() {	# DIR ZONE KEYNAME SECRET [RECORDS_FILE]
	local dir=$1 zone=$2 keyname=$3 secret=$4 records=${5:-/dev/null} knotd_bin i
	knotd_bin=$(command -v knotd || echo /usr/sbin/knotd)
	if [ ! -x "$knotd_bin" ]; then
		echo "knot_start: knotd not found (apt-get install knot)" >&2
		return 1
	fi
	mkdir -p "$dir/run" "$dir/db" "$dir/zones" || return 1
	KNOT_PORT=$(dns_free_port)
	cat > "$dir/zones/$zone.zone" <<ZONE
\$ORIGIN $zone.
\$TTL 5
@ IN SOA ns.$zone. hostmaster.$zone. 1 5 5 60 5
@ IN NS ns.$zone.
ns IN A 127.0.0.1
ZONE
	cat "$records" >> "$dir/zones/$zone.zone" || return 1
	cat > "$dir/knot.conf" <<CONF
server:
    rundir: "$dir/run"
    listen: 127.0.0.1@$KNOT_PORT
log:
  - target: "$dir/knot.log"
    any: info
database:
    storage: "$dir/db"
key:
  - id: $keyname
    algorithm: hmac-sha256
    secret: $secret
acl:
  - id: signet_update
    key: $keyname
    action: update
template:
  - id: default
    storage: "$dir/zones"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: changes
zone:
  - domain: $zone
    acl: signet_update
CONF
	"$knotd_bin" -c "$dir/knot.conf" >>"$dir/knot.log" 2>&1 &
	KNOT_PID=$!
	i=0
	while [ $i -lt 100 ]; do
		kill -0 "$KNOT_PID" 2>/dev/null || break
		if kdig +timeout=1 +retry=0 @127.0.0.1 -p "$KNOT_PORT" "$zone" SOA 2>/dev/null |
		    grep -q 'status: NOERROR'; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	echo "knot_start: knotd did not answer on 127.0.0.1:$KNOT_PORT; see $dir/knot.log:" >&2
	sed 's/^/    /' "$dir/knot.log" >&2 2>/dev/null
	knot_stop
	return 1
}

knot_stop() {
	if [ -n "$KNOT_PID" ]; then
		kill "$KNOT_PID" 2>/dev/null
		wait "$KNOT_PID" 2>/dev/null
		KNOT_PID=
	fi
}
