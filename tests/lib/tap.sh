# NAME
#	tap.sh - TAP helpers the shell test harnesses share
# SYNOPSIS
#	. "$top_srcdir/tests/lib/tap.sh"
#	tap_workdir NAME
#	cleanup() { ...; tap_rmwork; }
#	tap_fail NAME FILE
#	diag TEXT...
# DESCRIPTION
#	tap_workdir sets work to a new directory signet-NAME.XXXXXX under $TMPDIR (or /tmp);
#	when it cannot, that is the only test, failed, and the script exits 1.
#	tap_rmwork removes $work, or with SIGNET_TEST_KEEP=1 keeps it and says where; the
#	caller's exit trap calls it after stopping what it started.
#	tap_fail reports a set-up step that failed as the only test, with FILE's
#	lines as comments, and exits 1: nothing after it can run.
#	diag prints each argument's lines as TAP comments.
#	POSIX sh, for the sh and the bash scripts alike.

tap_workdir() {	# NAME
	work=$(mktemp -d "${TMPDIR:-/tmp}/signet-$1.XXXXXX") || {
		echo "not ok 1 - a temporary directory"; echo "1..1"; exit 1; }
}

tap_rmwork() {
	if [ "${SIGNET_TEST_KEEP:-0}" = 1 ]; then
		echo "# kept $work"
	else
		rm -rf "$work"
	fi
}

tap_fail() {	# NAME FILE
	echo "not ok 1 - $1"
	[ -f "$2" ] && sed 's/^/#   /' "$2"
	echo "1..1"
	exit 1
}

diag() {	# TEXT...
	local s
	for s in "$@"; do
		printf '%s\n' "$s" | sed 's/^/# /'
	done
}
