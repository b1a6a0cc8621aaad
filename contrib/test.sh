#!/bin/sh
# test.sh -- the whole test suite, exactly as CI runs it: install dependencies, build with
# warnings as errors and with AddressSanitizer + UBSan, run "make check", then "make fuzz"
# (each libFuzzer target 60 s, tests/fuzz/README.md), then the libmilter engine's build
# and its milter-protocol tests (below), and end with a line "N passed, N failed": every
# TAP line of both make checks, and one per fuzz target.  Exit status: the first that
# failed of make check, make fuzz and the libmilter build's check.
set -u
cd "$(dirname "$0")/.." || exit 1
contrib/deps.sh --test || exit 1
./autogen.sh || exit 1
./configure --enable-werror --enable-sanitizers || exit 1
make -j"$(nproc)" || exit 1
make -j1 check VERBOSE=1
status=$?
make fuzz
fuzz_status=$?
[ $status -eq 0 ] && status=$fuzz_status
# The other milter engine (configure --with-milter-engine=libmilter, milter/adapter.c on
# libmilter) stays buildable and working: a copy of the tree, built without sanitizers,
# runs the daemon tests that talk the milter protocol and the real Postfix and Sendmail.
alt=$(mktemp -d "${TMPDIR:-/tmp}/signet-libmilter.XXXXXX")
git ls-files -z | xargs -0 cp --parents -t "$alt" &&
    (cd "$alt" && ./autogen.sh >/dev/null && ./configure -q --enable-werror \
	--with-milter-engine=libmilter && make -j"$(nproc)" >/dev/null &&
     make -j1 check VERBOSE=1 TESTS="tests/daemon/run.py tests/tcp/nodelay.py tests/mta/run.sh")
alt_status=$?
[ $status -eq 0 ] && status=$alt_status
# The public conformance suites report their own pass counts.
grep -h '^# .*suite: ' $(find tests -name '*.log') 2>/dev/null | sed 's/^# /conformance: /'
# Every TAP line is one test; automake's summary counts them.
passed=$(grep -hc '^:test-result: PASS' $(find tests "$alt/tests" -name '*.trs') 2>/dev/null | awk '{s+=$1} END {print s+0}')
failed=$(grep -hcE '^:test-result: (FAIL|XPASS|ERROR)' $(find tests "$alt/tests" -name '*.trs') 2>/dev/null | awk '{s+=$1} END {print s+0}')
# make fuzz: one line per target in its results (none at all when it could not build).
fuzz_tap=tests/fuzz/libfuzzer/results.tap
fuzz_passed=$(grep -c '^ok ' "$fuzz_tap" 2>/dev/null)
fuzz_failed=$(grep -c '^not ok ' "$fuzz_tap" 2>/dev/null)
[ "$fuzz_status" -ne 0 ] && [ "${fuzz_failed:-0}" -eq 0 ] && fuzz_failed=1
# A libmilter build that failed before its tests ran counts as one failure.
[ "$alt_status" -ne 0 ] && [ ! -f "$alt/tests/mta/run.trs" ] && failed_alt=1
passed=$((passed + ${fuzz_passed:-0}))
failed=$((failed + ${fuzz_failed:-0} + ${failed_alt:-0}))
echo "make fuzz: ${fuzz_passed:-0} targets passed, ${fuzz_failed:-0} failed"
# The libmilter build's copy is kept only when it failed, for a look at its logs.
[ "$alt_status" -eq 0 ] && rm -rf "$alt"
echo "$passed passed, $failed failed"
exit $status
