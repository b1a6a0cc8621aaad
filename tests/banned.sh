#!/bin/sh
# banned.sh -- fail when C sources use functions we do not allow (as curl's checksrc does):
# unbounded copies and formats, and non-reentrant tokenizers.  Emits TAP.
cd "${top_srcdir:-$(dirname "$0")/..}" || exit 1
banned='\<(strcpy|strcat|sprintf|vsprintf|gets|strtok|strncpy|strncat|stpcpy|atoi|atol|tmpnam|mktemp)[[:space:]]*\('
n=0; failed=0
for f in $(find milter keys conf -name '*.c' -o -name '*.h' | sort); do
  n=$((n + 1))
  hits=$(grep -nE "$banned" "$f" | grep -v '^\s*/\?\*')
  if [ -n "$hits" ]; then
    echo "not ok $n - $f uses no banned function"
    echo "$hits" | sed 's/^/#   /'
    failed=1
  else
    echo "ok $n - $f uses no banned function"
  fi
done
echo "1..$n"
exit $failed
