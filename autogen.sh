#!/bin/sh
# autogen.sh -- create ./configure from a git checkout (needs autoconf, automake, pkg-config).
set -e
cd "$(dirname "$0")"
mkdir -p build-aux m4
autoreconf -fi
# The TAP driver ships with automake but autoreconf does not install it.
cp "$(automake --print-libdir)/tap-driver.sh" build-aux/tap-driver.sh
