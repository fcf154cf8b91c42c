# SPDX-License-Identifier: MIT
# What the guest scenarios of run-qemu (hived-deny.sh, hived-cluster.sh)
# share, sourced by them: one "HIVE: ok/not ok - $WHO: ..." line per check,
# what the failed command said ($WHY) after it, and on_failure (theirs, may
# do nothing) at each failure.
ok() { echo "HIVE: ok - $WHO: $*"; }
not_ok() { echo "HIVE: not ok - $WHO: $*"; }
check() {
	what=$1
	shift
	: >"$WHY"
	if "$@"; then ok "$what"; else
		not_ok "$what"
		sed 's/^/HIVE: said: /' "$WHY"
		on_failure
	fi
}
# How many lines of file $2 match $1 (0 while it is not there).
count() {
	n=$(grep -c "$1" "$2" 2>/dev/null)
	echo "${n:-0}"
}
# Up to $4 seconds until file $3 has $2 lines matching $1.
wait_lines() {
	i=0
	while [ "$(count "$1" "$3")" -lt "$2" ]; do
		i=$((i + 1))
		[ $i -gt "$4" ] && return 1
		sleep 1
	done
}
