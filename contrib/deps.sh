#!/bin/sh
# deps.sh -- install what Signet needs on Debian 12, from Debian's archive only.
#   contrib/deps.sh          build dependencies
#   contrib/deps.sh --test   build dependencies and everything the test suite talks to
# Runs apt-get as root, or through sudo when started by another user.
set -e
# libopendkim-dev: only the unit test that checks our signatures with another verifier.
build="build-essential autoconf automake pkg-config libmilter-dev libopendkim-dev libssl-dev \
libunbound-dev libspf2-dev libpsl-dev libidn2-dev libp11-kit-dev libhiredis-dev \
libsqlite3-dev zlib1g-dev"
# The test suite uses real parts: NSD serves DNS, dkimpy and Mail::DKIM verify.
test="nsd knot-dnsutils python3 python3-dkim python3-authres python3-nacl python3-dnspython \
libmail-dkim-perl libcryptx-perl libnet-dns-perl python3-yaml publicsuffix curl \
postfix swaks sasl2-bin libsasl2-modules libsasl2-modules-db m4 \
libdb5.3 libldap-2.5-0 liblockfile1 libnsl2 libwrap0 knot opendkim-tools util-linux openssl \
clang libclang-rt-dev softhsm2 opensc redis-server \
libxml2-utils libmail-dmarc-perl sqlite3"
# DMARC reports: SQLite is the store, zlib gzips the reports; xmllint checks them against
# RFC 9990's schema and Mail::DMARC (libmail-dmarc-perl) reads them back independently.
# Rate limits shared by a fleet: hiredis is the client; the tests start a private
# redis-server on a unix socket.
# Keys in a PKCS#11 token: SoftHSM is the token, opensc's pkcs11-tool a second opinion.
# make fuzz: clang and its libFuzzer runtime (libclang-rt-dev is only recommended by clang).
# tests/mta: above, a private Postfix (swaks as client, Cyrus SASL's sasldb for SMTP AUTH)
# and, for a private Sendmail, m4 (to build sendmail.cf) and the libraries its binary
# links against.  sendmail-bin itself conflicts with postfix and is not installed: the
# test fetches it with "apt-get download" and unpacks it with dpkg -x.
pkgs=$build
[ "${1:-}" = "--test" ] && pkgs="$build $test"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# Postfix "No configuration": its postinst writes no /etc/postfix/main.cf, so no system
# Postfix is set up and none can start (nothing listens on port 25); tests/mta runs its
# own instance with "postfix -c DIR".  A machine with a configured Postfix keeps it as is.
if [ "${1:-}" = "--test" ]; then
	echo "postfix postfix/main_mailer_type select No configuration" |
	    $SUDO debconf-set-selections
fi
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $pkgs
