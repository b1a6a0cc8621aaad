#!/bin/sh
# sample-config.sh -- the committed conf/signet.conf must be exactly what the key table in
# conf/conf.c generates ("make sample-config" regenerates it), and must pass "signet -n".
# Emits TAP.
top_srcdir=${top_srcdir:-$(dirname "$0")/..}
top_builddir=${top_builddir:-$top_srcdir}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
"$top_builddir/milter/signet" --sample-config > "$tmp/generated.conf"
if cmp -s "$tmp/generated.conf" "$top_srcdir/conf/signet.conf"; then
  echo "ok 1 - conf/signet.conf matches the key table"
else
  echo "not ok 1 - conf/signet.conf matches the key table (run make sample-config)"
  diff "$top_srcdir/conf/signet.conf" "$tmp/generated.conf" | sed 's/^/#   /'
fi
mkdir "$tmp/keys"
{ cat "$top_srcdir/conf/signet.conf"; echo "Keystore $tmp/keys"; } > "$tmp/check.conf"
if out=$("$top_builddir/milter/signet" -c "$tmp/check.conf" -n 2>&1); then
  echo "ok 2 - the sample passes signet -n"
else
  echo "not ok 2 - the sample passes signet -n"; echo "$out" | sed 's/^/#   /'
fi
printf 'Mode x\nNoSuchKey 1\n' > "$tmp/bad.conf"
out=$("$top_builddir/milter/signet" -c "$tmp/bad.conf" -n 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "^$tmp/bad.conf:1: " && echo "$out" | grep -q "^$tmp/bad.conf:2: unknown key"; then
  echo "ok 3 - signet -n prints FILE:LINE: for each error and exits non-zero"
else
  echo "not ok 3 - signet -n prints FILE:LINE: for each error and exits non-zero (rc=$rc)"; echo "$out" | sed 's/^/#   /'
fi
if "$top_builddir/milter/signet" -V | grep -Eq '^signet [0-9]+\.[0-9]+'; then
  echo "ok 4 - signet -V prints the version"
else
  echo "not ok 4 - signet -V prints the version"
fi
echo "1..4"
