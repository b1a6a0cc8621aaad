#!/bin/sh
# deps.sh -- install what Signet needs on Debian 12, from Debian's archive only.
#   contrib/deps.sh          build dependencies
#   contrib/deps.sh --test   build dependencies and everything the test suite talks to
# Runs apt-get as root, or through sudo when started by another user.
set -e
build="build-essential autoconf automake pkg-config libmilter-dev libopendkim-dev libssl-dev \
libunbound-dev libspf2-dev libpsl-dev"
# The test suite uses real parts: NSD serves DNS, dkimpy and Mail::DKIM verify.
test="nsd knot-dnsutils python3 python3-dkim python3-nacl python3-dnspython \
libmail-dkim-perl libcryptx-perl libnet-dns-perl python3-yaml publicsuffix curl"
pkgs=$build
[ "${1:-}" = "--test" ] && pkgs="$build $test"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $pkgs
