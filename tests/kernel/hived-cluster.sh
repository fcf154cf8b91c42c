#!/bin/busybox sh
# SPDX-License-Identifier: MIT
# hived in cluster mode in run-qemu's guest, against the host's API server
# (tests/integration/test_qemu_cluster.py): two agents of two nodes on this
# one kernel, as co-located nodes are, each refusing reads of a file of its
# own. The lease holder refuses with its access hooks' BPF LSM program, the
# other with a loader of that program alone; the refusals move with the
# lease (kill -9 of the holder, the lease handed to the other, the holder
# stopped) and none is let through meanwhile. One "HIVE: ok/not ok - ..."
# line per check; the last says it ran to its end.
C=/tmp/hived-cluster

. /guest-checks.sh
WHO=cluster
WHY=$C/why
# The agents' logs at the first failure, while they tell why.
on_failure() {
	[ -e $C/dumped ] || for n in a b; do sed "s/^/HIVE: log ($n): /" $C/$n/hived.log | tail -40; done
	: >$C/dumped
}
# Up to $4 seconds for $3 lines of pattern $2 in node $1's log.
wait_log() { wait_lines "$2" "$3" $C/$1/hived.log "$4"; }
# Up to 60 seconds for $3 records of node $1 matching $2.
wait_records() { wait_lines "$2" "$3" $C/$1/out.json 60; }
# What only the API server's admin can do, done by the host (run-qemu's
# hook), which answers on the console.
host() {
	echo "HIVE: host $*"
	read -r reply </dev/console
	[ "$reply" = go ]
}
# A read of node $1's file refused with EACCES (the BPF LSM program's; $2:
# where the error goes).
refused() { ! cat $C/$1/secret >/dev/null 2>"${2:-$C/why}" && grep -q "Permission denied" "${2:-$C/why}"; }
reads() { [ "$(cat $C/$1/secret 2>/dev/null)" = "$1-s3cret" ]; }
denied() { count '"action":"denied".*"attach":"lsm"' $C/$1/out.json; }
# How many times node $1's agents took the lease.
acquired() { count "Acquired the lease" $C/$1/hived.log; }
# The pid of node $1's agent (its keeper's child).
agent() {
	for p in $(pidof hived); do
		tr '\0' ' ' </proc/$p/cmdline | grep -q -- "--node-name node-$1 " && echo $p
	done
}
READY="inodes watched; output to json"

# Node $1's agent under its keeper; its log lines stamped with the guest's
# uptime, to tell how long a load or a lease move took.
start() {
	rm -f $C/$1/fifo
	mkfifo $C/$1/fifo
	(while IFS= read -r l; do echo "$(cut -d' ' -f1 /proc/uptime) $l"; done <$C/$1/fifo >>$C/$1/hived.log) &
	LD_LIBRARY_PATH=/lib/x86_64-linux-gnu /fdstore-keeper /hived --config $C/hive.conf \
		--policy-dir $C/$1/policies --output json --dedup-window 0 --node-name node-$1 \
		--kubeconfig /cluster/node-$1.kubeconfig >>$C/$1/out.json 2>$C/$1/fifo &
	eval "keeper_$1=$!"
}
# Reads of the files of nodes $@, each refused, in the background until
# hammer_stop, which sets tries and through (reads that were not refused).
hammer_start() {
	rm -f $C/stop
	(
		t=0
		f=0
		while [ ! -e $C/stop ]; do
			for n in "$@"; do refused $n $C/hammer.why || f=$((f + 1)); done
			t=$((t + 1))
			echo "$t $f" >$C/hammer
		done
	) &
	hammer=$!
}
hammer_stop() {
	touch $C/stop
	wait $hammer
	read -r tries through <$C/hammer
}
give_up() {
	for n in a b; do sed "s/^/HIVE: log ($n): /" $C/$n/hived.log | tail -30; done
	echo "HIVE: hived scenario done"
	exit 0
}

# What systemd makes for hive.service (RuntimeDirectory=): where a lease
# holder answers the others' presence probes.
mkdir -p $C/a/policies $C/b/policies /run/hive
# kprobe mode: auto would move there from fentry on this preemptible kernel,
# and each move is one more "Attached in" line. The lease outlasts a load:
# under QEMU's emulation one takes 20 to 50 s, in which the loading agent
# cannot renew, and a shorter lease would move to the other node meanwhile,
# a move this script does not make. Every move here is a release or a
# hand-over; none waits for the lease to expire.
printf "[agent]\nattach = kprobe\n[kubernetes]\nlease_duration_s = 300\nrenew_deadline_s = 240\nretry_period_s = 1\n" \
	>$C/hive.conf
for n in a b; do
	echo "$n-s3cret" >$C/$n/secret
	: >$C/$n/out.json
	: >$C/$n/hived.log
	cat >$C/$n/policies/deny.json <<EOF
{"name": "secret-$n", "host": true, "paths": ["$C/$n/secret"], "access": ["read"], "action": "deny"}
EOF
done
# The nodes, as their kubelets would report them: on this kernel.
if ! host boot-id "$(cat /proc/sys/kernel/random/boot_id)"; then
	not_ok "the host registered both nodes"
	give_up
fi

# node-a takes the lease; node-b, started once it has, follows.
start a
check "node-a is its kernel's loader" wait_log a "Attached in kprobe mode" 1 180
check "node-a is up" wait_log a "$READY" 1 120
start b
check "node-b is up" wait_log b "$READY" 1 180
check "node-b finds node-a's hooks on this kernel" wait_log b "answered this agent's presence probe" 1 120
check "and attaches none" [ "$(count "Attached in kprobe mode" $C/b/hived.log)" -eq 0 ]
check "node-a refuses in the kernel" grep -q "Deny policies are enforced in the kernel" $C/a/hived.log
check "node-b refuses in the kernel too" grep -q "Deny policies are enforced in the kernel" $C/b/hived.log
check "node-a's file is refused (EACCES)" refused a
check "node-b's file is refused (EACCES)" refused b
check "by its BPF LSM program alone" grep -q "Attached the BPF LSM program" $C/b/hived.log
check "each refusal is a record of its node" wait_records b '"action":"denied".*"attach":"lsm"' 1
expect_a=1
expect_b=1

# kill -9 of the holder: its refusals hold (the keeper keeps its program's
# link); the next agent takes the lease again (its own) and them over.
check "node-a's agent is killed" kill -9 "$(agent a)"
hammer_start a b
check "node-a's next agent is up" wait_log a "$READY" 2 180
check "and is the loader again" wait_log a "Attached in kprobe mode" 2 180
sleep 2
hammer_stop
check "no read got through while node-a restarted ($tries tries, $through through)" [ $tries -gt 0 -a $through -eq 0 ]
check "the next agent adopted the kept maps" wait_log a "Adopted the BPF maps kept across the restart" 1 60
expect_a=$((expect_a + tries))
expect_b=$((expect_b + tries))

# The lease handed to node-b: node-a's refusals move to a program alone,
# node-b's to its access hooks' one, none let through.
check "node-a held the lease throughout" [ "$(acquired a)" -eq 2 -a "$(acquired b)" -eq 0 ]
hammer_start a b
if host hand-over node-b; then
	check "node-b becomes the loader" wait_log b "Attached in kprobe mode" 1 180
	check "node-a detaches" wait_log a "Detaching: not this kernel's loader" 1 180
else
	not_ok "the host handed the lease to node-b"
fi
sleep 2
hammer_stop
check "no read got through while the lease moved ($tries tries, $through through)" [ $tries -gt 0 -a $through -eq 0 ]
expect_a=$((expect_a + tries))
expect_b=$((expect_b + tries))

# node-b stopped: nothing of it is refused any more; node-a takes the lease
# over and its refusals go back to its hooks' program.
hammer_start a
kill "$keeper_b"
wait "$keeper_b"
check "node-a is the loader again" wait_log a "Attached in kprobe mode" 3 180
sleep 2
hammer_stop
check "no read of node-a's file got through meanwhile ($tries tries, $through through)" [ $tries -gt 0 -a $through -eq 0 ]
check "node-b's file is read after its stop" reads b
expect_a=$((expect_a + tries))

check "the lease moved only when it was handed over or released" [ "$(acquired a)" -eq 3 -a "$(acquired b)" -eq 1 ]

# Every refusal one record of its node, whichever program made it.
wait_records a '"action":"denied".*"attach":"lsm"' $expect_a
wait_records b '"action":"denied".*"attach":"lsm"' $expect_b
check "node-a's refusals are records, one each ($(denied a) of $expect_a)" [ "$(denied a)" -eq $expect_a ]
check "node-b's refusals are records, one each ($(denied b) of $expect_b)" [ "$(denied b)" -eq $expect_b ]

kill "$keeper_a"
wait "$keeper_a"
check "after node-a's stop nothing is refused" reads a
for n in a b; do sed "s/^/HIVE: log ($n): /" $C/$n/hived.log; done
echo "HIVE: hived scenario done"
