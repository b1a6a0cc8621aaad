#!/bin/sh
# banned.sh -- fail when C sources use functions we do not allow (as curl's checksrc does):
# unbounded copies and formats, and non-reentrant tokenizers.  Emits TAP.
#
# Comments do not count: a name in a comment is not a call.  The sources are read with
# their comments (/* ... */ over any number of lines, // to the end of the line) blanked
# out, string and character literals kept as they are, so "http://" in a string does
# not hide the code after it; a hit is reported with its line number and original text.
cd "${top_srcdir:-$(dirname "$0")/..}" || exit 1
banned='(strcpy|strcat|sprintf|vsprintf|gets|strtok|strncpy|strncat|stpcpy|atoi|atol|tmpnam|mktemp)'

# hits FILE: "N: line" for every line whose code (comments removed) calls a banned name.
hits() {
  awk -v names="$banned" '
  BEGIN { re = "(^|[^A-Za-z0-9_])" names "[[:space:]]*\\(" }
  {
    code = ""; n = length($0)
    for (i = 1; i <= n; i++) {
      c = substr($0, i, 1); c2 = substr($0, i, 2)
      if (state == "block") {
        if (c2 == "*/") { state = ""; i++; code = code " " }
      } else if (state == "\"" || state == "\x27") {
        code = code c
        if (c == "\\") { code = code substr($0, i + 1, 1); i++ }
        else if (c == state) state = ""
      } else if (c2 == "/*") {
        state = "block"; i++
      } else if (c2 == "//") {
        break
      } else {
        if (c == "\"" || c == "\x27") state = c
        code = code c
      }
    }
    if (state != "block") state = ""
    if (code ~ re) print FNR ": " $0
  }' "$1"
}

n=0; failed=0
for f in $(find milter keys conf lib reports -name '*.c' -o -name '*.h' 2>/dev/null | sort); do
  n=$((n + 1))
  found=$(hits "$f")
  if [ -n "$found" ]; then
    echo "not ok $n - $f uses no banned function"
    echo "$found" | sed 's/^/#   /'
    failed=1
  else
    echo "ok $n - $f uses no banned function"
  fi
done
echo "1..$n"
exit $failed
