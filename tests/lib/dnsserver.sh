# NAME
#	dnsserver.sh - a private NSD on a loopback port, for tests
# SYNOPSIS
#	. "$top_srcdir/tests/lib/dnsserver.sh"
#	dns_start DIR ZONE RECORDS_FILE [ZONE RECORDS_FILE]...
#	... kdig @127.0.0.1 -p "$DNS_PORT" ...
#	dns_stop
# DESCRIPTION
#	dns_start writes one zone file per ZONE into DIR (SOA and NS made up, $TTL 5, then
#	the lines of RECORDS_FILE verbatim: absolute names, e.g. the output of
#	"signet-keys dns DOMAIN"), an nsd.conf that listens on 127.0.0.1 only, on a port
#	free at run time, with no privilege drop, no chroot, no database, no remote control,
#	every file inside DIR; starts nsd in the foreground in the background and waits
#	until it answers the SOA of the first zone.  It sets DNS_PORT and DNS_PID.
#	Nothing outside DIR is read or written.  dns_stop kills that NSD (the caller's
#	exit trap should call it).  DNS_ALSO_LISTEN=ADDR@PORT (optional) makes NSD answer
#	on that address too: a benchmark points a resolver that cannot be given a port
#	(libresolv, port 53) at it.
# DIAGNOSTICS
#	dns_start returns 1 with one line on stderr when nsd or kdig is missing, a zone does
#	not load, or the server does not answer in 10 s; DIR/nsd.log then says why.

DNS_PORT=
DNS_PID=

# A port that is free for both UDP and TCP on 127.0.0.1 right now.
dns_free_port() {
	/usr/bin/python3 - <<'EOF'
import socket
for _ in range(50):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port))
    except OSError:
        t.close()
        continue
    print(port)
    break
EOF
}

dns_write_zone() {	# DIR ZONE RECORDS_FILE
	{
		printf '$ORIGIN %s.\n$TTL 5\n' "$2"
		printf '@ IN SOA ns.%s. hostmaster.%s. 1 5 5 60 5\n' "$2" "$2"
		printf '@ IN NS ns.%s.\n' "$2"
		printf 'ns IN A 127.0.0.1\n'
		cat "$3"
	} > "$1/$2.zone"
}

dns_start() {	# DIR ZONE RECORDS_FILE ...
	local dir=$1 first_zone=$2 try nsd_bin
	shift
	nsd_bin=$(command -v nsd || echo /usr/sbin/nsd)
	if [ ! -x "$nsd_bin" ]; then
		echo "dns_start: nsd not found (apt-get install nsd)" >&2
		return 1
	fi
	if ! command -v kdig >/dev/null; then
		echo "dns_start: kdig not found (apt-get install knot-dnsutils)" >&2
		return 1
	fi
	mkdir -p "$dir" || return 1
	local zones=""
	while [ $# -ge 2 ]; do
		dns_write_zone "$dir" "$1" "$2" || return 1
		zones="$zones
zone:
	name: \"$1\"
	zonefile: \"$1.zone\""
		shift 2
	done
	for try in 1 2 3 4 5; do
		DNS_PORT=$(dns_free_port)
		cat > "$dir/nsd.conf" <<EOF
server:
	ip-address: 127.0.0.1
	port: $DNS_PORT
${DNS_ALSO_LISTEN:+	ip-address: $DNS_ALSO_LISTEN
}	do-ip6: no
	username: ""
	chroot: ""
	zonesdir: "$dir"
	database: ""
	zonelistfile: "$dir/zone.list"
	xfrdfile: "$dir/xfrd.state"
	xfrdir: "$dir"
	pidfile: "$dir/nsd.pid"
	logfile: "$dir/nsd.log"
	server-count: 1
	verbosity: 1
	hide-version: yes
remote-control:
	control-enable: no
$zones
EOF
		"$nsd_bin" -p "$DNS_PORT" -c "$dir/nsd.conf" -d >>"$dir/nsd.log" 2>&1 &
		DNS_PID=$!
		local i=0
		while [ $i -lt 100 ]; do
			if ! kill -0 "$DNS_PID" 2>/dev/null; then
				break
			fi
			if kdig +timeout=1 +retry=0 @127.0.0.1 -p "$DNS_PORT" "$first_zone" SOA \
			    2>/dev/null | grep -q 'status: NOERROR'; then
				return 0
			fi
			sleep 0.1
			i=$((i + 1))
		done
		dns_stop
		# A port taken between our probe and NSD's bind: try another one.
		grep -q 'in use' "$dir/nsd.log" 2>/dev/null || break
	done
	echo "dns_start: nsd did not answer on 127.0.0.1:$DNS_PORT; see $dir/nsd.log:" >&2
	sed 's/^/    /' "$dir/nsd.log" >&2 2>/dev/null
	return 1
}

dns_stop() {
	if [ -n "$DNS_PID" ]; then
		kill "$DNS_PID" 2>/dev/null
		wait "$DNS_PID" 2>/dev/null
		DNS_PID=
	fi
}
