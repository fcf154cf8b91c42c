#!/bin/busybox sh
# SPDX-License-Identifier: MIT
# hived itself refusing in the kernel (BPF LSM), in run-qemu's guest: a deny
# policy with an excepted program and an audit-deny one, hived run by fdstore-keeper (systemd's fd
# store and restarts, for a guest without systemd), then kill -9 and a stop.
# One "HIVE: ok/not ok - ..." line per check; the last says it ran to its end.
. /guest-checks.sh
on_failure() { :; }
# Up to $3 seconds for $2 lines of pattern $1 in the log.
wait_log() { wait_lines "$1" "$2" $ERR "$3"; }
# Up to 60 seconds for $2 records matching $1 in the output.
wait_records() { wait_lines "$1" "$2" $OUT 60; }
refused() { ! "$@" $D/secret >/dev/null 2>$D/why && grep -q "Permission denied" $D/why; }
reads() { [ "$("$@" $D/secret 2>/dev/null)" = s3cret ]; }
reads_file() { [ "$(cat "$1" 2>/dev/null)" = "$2" ]; }
# Up to $1 seconds until a read of the denied file is refused.
wait_refused() {
	i=0
	until refused cat; do
		i=$((i + 1))
		[ $i -gt "$1" ] && return 1
		sleep 1
	done
}
refused_file() { ! cat "$1" >/dev/null 2>$D/why && grep -q "Permission denied" $D/why; }

# The scenario in attach mode $1: "auto" refuses with the access hooks'
# deny program; "tracepoint" (whose hooks cannot refuse) with a loader of
# that program alone, as a cluster's follower does.
scenario() {
MODE=$1
D=/tmp/hived-deny-$MODE
WHO="hived ($MODE)"
WHY=$D/why
OUT=$D/out.json
ERR=$D/hived.log
mkdir -p $D/policies $D/bin $D/copy $D/elsewhere
echo s3cret >$D/secret
printf "[agent]\nattach = %s\n" $MODE >$D/hive.conf
# The excepted program is a file of its own (busybox's applets are one
# file); a copy of it is another file; a hard link elsewhere is the same.
cp /bin/busybox $D/reader
cp /bin/busybox $D/copy/reader
ln -s $D/reader $D/bin/cat
ln -s $D/copy/reader $D/copy/cat
ln $D/reader $D/elsewhere/cat
echo trial >$D/trial
echo gone >$D/gone
cat >$D/policies/gone.json <<EOF
{"name": "gone", "host": true, "paths": ["$D/gone"], "access": ["read"], "action": "deny"}
EOF
cat >$D/policies/trial.json <<EOF
{"name": "trial", "host": true, "paths": ["$D/trial"], "access": ["read"], "action": "audit-deny"}
EOF
cat >$D/policies/deny.json <<EOF
{"name": "secret-readers", "host": true, "paths": ["$D/secret"], "access": ["read"], "action": "deny",
 "except": {"executables": ["$D/reader"]}}
EOF

READY="inodes watched; output to json"
: >$OUT
: >$ERR
LD_LIBRARY_PATH=/lib/x86_64-linux-gnu /fdstore-keeper /hived --config $D/hive.conf --policy-dir $D/policies \
	--output json --dedup-window 0 >>$OUT 2>>$ERR &
KEEPER=$!
if ! wait_log "$READY" 1 180; then
	not_ok "started"
	sed 's/^/HIVE: log: /' $ERR | tail -20
	kill $KEEPER
	return
fi
check "says it refuses in the kernel" wait_log "Deny policies are enforced in the kernel (BPF LSM)" 1 10
check "attached the deny program at the first rule" grep -q "Attached the BPF LSM program" $ERR
check "a read of the denied file is refused (EACCES)" refused cat
check "the excepted program reads" reads $D/bin/cat
check "a hard link to it elsewhere is the same program and reads" reads $D/elsewhere/cat
check "a copy of it is another program and is refused" refused $D/copy/cat
check "the refusals are records" wait_records '"action":"denied"' 2
check "made by the BPF LSM program" [ "$(count '"action":"denied".*"attach":"lsm"' $OUT)" -eq 2 ]
# Two refusals, two records: the excepted program's reads are none.
check "the excepted reads are no records" [ "$(count . $OUT)" -eq 2 ]
check "audit-deny refuses nothing" [ "$(cat $D/trial 2>/dev/null)" = trial ]
check "and records what it would have refused" wait_records '"action":"would-deny"' 1

# kill -9: every read until the next agent is up is refused (the keeper
# holds the program's link and maps, as systemd's fd store does).
check "a second deny policy refuses" refused_file $D/gone
# A deny policy goes while no agent runs: the next one must not keep the
# previous one's rule.
rm $D/policies/gone.json
HIVED=$(pidof hived)
kill -9 $HIVED
tries=0
through=0
while [ "$(count "$READY" $ERR)" -lt 2 ] && [ $tries -lt 5000 ]; do
	refused sh -c "echo \$\$ >>$D/pids; exec cat \"\$0\"" || through=$((through + 1))
	tries=$((tries + 1))
done
check "after kill -9, the next agent starts with the kept descriptors" wait_log "$READY" 2 120
check "no read got through while hived restarted ($tries tries, $through through)" [ $tries -gt 0 -a $through -eq 0 ]
check "the reads went on until the next agent was up" [ $tries -lt 5000 ]
check "the next agent adopted the kept maps" grep -q "Adopted the BPF maps kept across the restart" $ERR
check "the next agent refuses" refused cat
check "and lets the excepted program read" reads $D/bin/cat
check "a deny policy gone across the restart refuses nothing" reads_file $D/gone gone
# Each refusal one record (the first agent's 3, these, the one after), by
# whichever program made it while both were attached; a missing one named.
wait_records '"action":"denied"' $((4 + tries))
check "its refusals are records, one each" [ "$(count '"action":"denied"' $OUT)" -eq $((4 + tries)) ]
i=0
for p in $(cat $D/pids); do
	i=$((i + 1))
	grep -q "\"pid\":$p," $OUT || echo "HIVE: no record of try $i (pid $p)"
done

# A reload that leaves no deny policy refuses nothing; one that brings one
# back refuses again (the program stays attached: 5.10 cannot attach it a
# second time).
mv $D/policies/deny.json $D/deny.json.off
rm $D/policies/trial.json
kill -HUP "$(pidof hived)"
check "a reload without deny policies" wait_log "Reloaded 0 policies" 1 60
check "refuses nothing" reads cat
mv $D/deny.json.off $D/policies/deny.json
kill -HUP "$(pidof hived)"
check "a reload that brings one back" wait_log "Reloaded 1 policies" 1 60
# The rule is written right after the reload's turn of the loop.
check "refuses again" wait_refused 30

# A stop: the agent and everything it kept go; nothing is refused.
kill $KEEPER
wait $KEEPER
check "after a stop nothing is refused" reads cat
# What hived said, for whoever reads a failure.
sed "s/^/HIVE: log ($MODE): /" $ERR | head -60
}

scenario auto
scenario tracepoint
echo "HIVE: hived scenario done"
