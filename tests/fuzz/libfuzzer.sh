#!/bin/sh
# NAME
#	libfuzzer.sh - build the libFuzzer targets with clang and run each for a while
#	("make fuzz")
# SYNOPSIS
#	FUZZ_CC=clang FUZZ_SECONDS=60 FUZZ_JOBS=2 FUZZ_SOURCES='lib/dns.c ...' \
#	FUZZ_CFLAGS='...' FUZZ_LIBS='-lopendkim ...' \
#	libfuzzer.sh SRCDIR OUTDIR TARGET... -- CPPFLAGS...
# DESCRIPTION
#	Compiles the library sources (FUZZ_SOURCES, relative to SRCDIR) and the fuzz
#	harnesses once with -fsanitize=fuzzer-no-link,address,undefined, then links one
#	program per TARGET: tests/fuzz/fuzz-parsers.c with -DSIGNET_LIBFUZZER and
#	-DFUZZ_TARGET=n, n being the target's position in targets[] of fuzz-parsers.c
#	(FUZZ_TARGETS may name a few of them only).  FUZZ_CC is used whatever compiler configure chose; without it,
#	or without its libFuzzer runtime, this fails at once saying what to install.
#
#	Each target runs FUZZ_SECONDS (default 60), FUZZ_JOBS at a time (default 2), from
#	the seeds in SRCDIR/tests/fuzz/corpus/TARGET (read only; what it finds goes to
#	OUTDIR/corpus-TARGET, new each run), inputs up to 4096 bytes, with leak detection.
#	A crash, a sanitizer report, a leak, a broken invariant (the target aborts), a
#	timeout (25 s for one input) or running out of memory is a failure; libFuzzer saves
#	the input as OUTDIR/crash-TARGET-*, leak-..., timeout-... or oom-...  Add it to
#	tests/fuzz/corpus/TARGET/ under a name that says what it broke: make check then
#	runs it on every build.
#
#	Prints one TAP line per target with its runs, executions per second and final
#	coverage (libFuzzer's "cov", edges, and "ft", features), and writes them to
#	OUTDIR/results.tap; each target's libFuzzer output is in OUTDIR/TARGET.log.  Exits
#	1 when any target failed.
set -u
srcdir=$1 out=$2
shift 2
targets=
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
	targets="$targets $1"
	shift
done
[ $# -gt 0 ] && shift	# the rest: CPPFLAGS
CC=${FUZZ_CC:-clang}
SECONDS_EACH=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-2}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
CFLAGS="-g -O1 -fno-omit-frame-pointer $SAN ${FUZZ_CFLAGS:-}"

mkdir -p "$out/obj" && rm -f "$out/results.tap" || exit 1
if ! command -v "$CC" >/dev/null 2>&1; then
	echo "make fuzz: $CC not found; install clang and its libFuzzer runtime" \
	    "(Debian: apt-get install clang libclang-rt-dev)" >&2
	exit 1
fi
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ return d && n; }\n' \
    > "$out/probe.c"
if ! "$CC" -fsanitize=fuzzer,address,undefined -o "$out/probe" "$out/probe.c" \
    > "$out/probe.log" 2>&1; then
	cat "$out/probe.log" >&2
	echo "make fuzz: $CC cannot build a libFuzzer program; install its libFuzzer" \
	    "runtime (Debian: apt-get install libclang-rt-dev)" >&2
	exit 1
fi

# ---- build ------------------------------------------------------------------------------
start=$(date +%s)
harness="tests/fuzz/fuzz-verify.c tests/fuzz/fuzz-session.c tests/fuzz/fuzz-dns.c \
tests/fuzz/fuzz-keys.c tests/fuzz/fuzz-arc.c"
objs=
for src in ${FUZZ_SOURCES:-} $harness; do
	case $src in *.c) ;; *) continue ;; esac
	obj="$out/obj/$(echo "$src" | tr / _ | sed 's/\.c$/.o/')"
	objs="$objs $obj"
	printf '%s %s\n' "$srcdir/$src" "$obj"
done > "$out/objects"
# The CPPFLAGS as make gave them, split again at blanks only (-DX="..." keeps its
# quotes, as the compiler wants them).
FUZZ_CPPFLAGS="$*"
export CC CFLAGS FUZZ_CPPFLAGS
xargs -P "$JOBS" -n 2 sh -c '"$CC" $CFLAGS -fsanitize=fuzzer-no-link $FUZZ_CPPFLAGS \
    -c -o "$2" "$1"' compile < "$out/objects" > "$out/build.log" 2>&1
status=$?
if [ $status -ne 0 ]; then
	cat "$out/build.log" >&2
	echo "make fuzz: compiling the sources failed" >&2
	exit 1
fi
# n is the target's position in targets[] of fuzz-parsers.c (its corpus name is the
# second string of its entry), so that a few targets may be asked for alone.
all=$(sed -n '/^static const struct target targets\[\] = {/,/^};/p' \
    "$srcdir/tests/fuzz/fuzz-parsers.c" | sed -n 's/^	{"[^"]*", "\([a-z0-9]*\)".*/\1/p')
for t in $targets; do
	n=0
	for a in $all; do
		[ "$a" = "$t" ] && break
		n=$((n + 1))
	done
	if [ "$a" != "$t" ]; then
		echo "make fuzz: no target $t in tests/fuzz/fuzz-parsers.c" >&2
		exit 1
	fi
	echo "$n $t"
done > "$out/targets"
export srcdir out objs
export FUZZ_LIBS="${FUZZ_LIBS:-}"
if ! xargs -P "$JOBS" -n 2 sh -c 'n=$1 t=$2
	"$CC" $CFLAGS -fsanitize=fuzzer -DSIGNET_LIBFUZZER -DFUZZ_TARGET="$n" $FUZZ_CPPFLAGS \
	    -o "$out/fuzz-$t" "$srcdir/tests/fuzz/fuzz-parsers.c" $objs $FUZZ_LIBS \
	    > "$out/link-$t.log" 2>&1 || { cat "$out/link-$t.log" >&2; exit 255; }' \
	    link < "$out/targets"; then
	echo "make fuzz: linking the targets failed" >&2
	exit 1
fi
echo "# make fuzz: built $(wc -l < "$out/targets") targets with $CC in $(($(date +%s) - start)) s"

# ---- run --------------------------------------------------------------------------------
start=$(date +%s)
export SECONDS_EACH
xargs -P "$JOBS" -n 2 sh -c 't=$2
	rm -rf "$out/corpus-$t" "$out/crash-$t-"* "$out/leak-$t-"* "$out/timeout-$t-"* \
	    "$out/oom-$t-"*
	mkdir -p "$out/corpus-$t"
	"$out/fuzz-$t" -max_total_time="$SECONDS_EACH" -max_len=4096 -timeout=25 \
	    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$out/$t-" \
	    "$out/corpus-$t" "$srcdir/tests/fuzz/corpus/$t" > "$out/$t.log" 2>&1
	echo $? > "$out/$t.status"' run < "$out/targets"
# libFuzzer names what it saves crash-, leak-, timeout-, oom- + the hash, after the prefix.
fail=0 i=0
: > "$out/results.tap"
for t in $targets; do
	i=$((i + 1))
	st=$(cat "$out/$t.status" 2>/dev/null || echo 1)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/$t.log" | tail -1)
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$out/$t.log" | tail -1)
	saved=$(ls "$out/$t-"* 2>/dev/null | head -1)
	if [ "$st" -eq 0 ] && [ -z "$saved" ]; then
		line="ok $i - fuzz $t: ${SECONDS_EACH} s, ${runs:-?} runs, ${rate:-?} exec/s, ${cov:-no coverage line}"
	else
		fail=1
		line="not ok $i - fuzz $t: exit $st, input saved as ${saved:-nothing}; see $out/$t.log"
	fi
	echo "$line" | tee -a "$out/results.tap"
	if [ "$st" -ne 0 ]; then
		grep -E '^(==[0-9]+==ERROR|SUMMARY|#  )' "$out/$t.log" | head -10 | sed 's/^/#   /'
	fi
done
echo "1..$i" >> "$out/results.tap"
echo "1..$i"
echo "# make fuzz: ran $i targets for $SECONDS_EACH s each, $JOBS at a time, in" \
    "$(($(date +%s) - start)) s"
exit $fail
