#!/bin/sh
# quickstart.sh -- from a fresh Debian 12 machine to a signed message, in one command.
#
# Installs the dependencies, builds Signet, creates demo keys (RSA-2048 and Ed25519) for
# example.com, serves their DNS records from a private NSD on a loopback port, starts the
# daemon on the default socket inet:8895@127.0.0.1, sends one message through it the way
# an MTA does, prints the DKIM-Signature headers it added, and has an independent
# verifier (dkimpy) check them against that DNS server.  Then it says how to attach
# Signet to Postfix.  Everything it makes is in ./quickstart-demo; nothing is installed
# outside the build tree and the Debian packages.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
demo="$top/quickstart-demo"
domain=example.com

say() { printf '\n==> %s\n' "$*"; }

say "Installing dependencies (Debian packages)"
contrib/deps.sh --test >/dev/null

say "Building"
[ -x configure ] || ./autogen.sh >/dev/null 2>&1
[ -f Makefile ] || ./configure >/dev/null
make -j"$(nproc)" >/dev/null

say "Creating demo keys for $domain in $demo/keys"
rm -rf "$demo"
mkdir -p "$demo"
keys="$top/keys/signet-keys -k $demo/keys"
rsa=$($keys generate "$domain" -a rsa-2048)
ed=$($keys generate "$domain" -a ed25519)
$keys dns "$domain" > "$demo/records.zone"
$keys activate "$domain" "$rsa" --force 2>/dev/null
$keys activate "$domain" "$ed" --force 2>/dev/null
$keys list

say "Serving the public keys from a private NSD on 127.0.0.1"
. "$top/tests/lib/dnsserver.sh"
dns_start "$demo/dns" "$domain" "$demo/records.zone"
echo "NSD on 127.0.0.1 port $DNS_PORT"

cat > "$demo/signet.conf" <<CONF
# Demo configuration written by contrib/quickstart.sh; see signet.conf(5).
Socket          inet:8895@127.0.0.1
Mode            sv
Keystore        $demo/keys
InternalHosts   127.0.0.0/8, ::1
CONF
"$top/milter/signet" -c "$demo/signet.conf" -n

say "Starting signet on inet:8895@127.0.0.1"
"$top/milter/signet" -c "$demo/signet.conf" -f 2> "$demo/signet.log" &
signet_pid=$!
trap 'kill $signet_pid 2>/dev/null; dns_stop' EXIT
i=0
until /usr/bin/python3 -c 'import socket; socket.create_connection(("127.0.0.1", 8895), 1)' 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 50 ] || { cat "$demo/signet.log"; exit 1; }; sleep 0.1
done

say "Sending one message through it, as Postfix would, from 127.0.0.1 (an internal host)"
cat > "$demo/message.eml" <<MSG
From: Demo Sender <demo@$domain>
To: someone@example.net
Subject: Signet quickstart
Date: $(date -R)
Message-ID: <quickstart.$$@$domain>

Hello from Signet.
MSG
/usr/bin/python3 "$top/tests/milter/milterclient.py" -s inet:8895@127.0.0.1 -i 127.0.0.1 \
	-f "demo@$domain" -o "$demo/signed.eml" "$demo/message.eml" >/dev/null
tr -d '\r' < "$demo/signed.eml" | awk '/^DKIM-Signature:/ {p = 1; print; next}
	/^[ \t]/ {if (p) print; next} {p = 0}'
echo "Signet logged: $(grep 'signed' "$demo/signet.log" | tail -n 1)"

say "Verifying with dkimpy (independent verifier), keys looked up in DNS"
/usr/bin/python3 "$top/tests/lib/verify-dkimpy.py" 127.0.0.1 "$DNS_PORT" "$demo/signed.eml"

cat <<TXT

==> Done.  The signed message is $demo/signed.eml.

To attach Signet to Postfix (see contrib/postfix/main.cf and README.md):
    $top/milter/signet -c /etc/signet.conf -f       # your keystore and InternalHosts
    postconf -e 'smtpd_milters = inet:127.0.0.1:8895' \\
                'non_smtpd_milters = inet:127.0.0.1:8895' \\
                'milter_default_action = accept' \\
                'milter_mail_macros = i {auth_type} {auth_authen} {auth_author} {mail_addr}'
    postfix reload
Then make your own keys (signet-keys(8)):
    signet-keys generate yourdomain            # prints SELECTOR
    signet-keys dns yourdomain                 # add this record to your zone (or: publish)
    signet-keys check yourdomain SELECTOR      # says exactly what is wrong, if anything
    signet-keys activate yourdomain SELECTOR   # refuses until the record is right
TXT
