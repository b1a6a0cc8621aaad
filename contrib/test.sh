#!/bin/sh
# test.sh -- the whole test suite, exactly as CI runs it: install dependencies, build with
# warnings as errors and with AddressSanitizer + UBSan, run "make check", and end with a
# line "N passed, N failed".  Exit status is make check's.
set -u
cd "$(dirname "$0")/.." || exit 1
contrib/deps.sh --test || exit 1
./autogen.sh || exit 1
./configure --enable-werror --enable-sanitizers || exit 1
make -j"$(nproc)" || exit 1
make -j1 check VERBOSE=1
status=$?
# The public conformance suites report their own pass counts.
grep -h '^# .*suite: ' $(find tests -name '*.log') 2>/dev/null | sed 's/^# /conformance: /'
# Every TAP line is one test; automake's summary counts them.
passed=$(grep -hc '^:test-result: PASS' $(find tests -name '*.trs') 2>/dev/null | awk '{s+=$1} END {print s+0}')
failed=$(grep -hcE '^:test-result: (FAIL|XPASS|ERROR)' $(find tests -name '*.trs') 2>/dev/null | awk '{s+=$1} END {print s+0}')
echo "$passed passed, $failed failed"
exit $status
