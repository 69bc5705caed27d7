#!/usr/bin/env bash
# Hygiene: after any run of a command that makes shared memory or child
# processes -- one that finishes, one interrupted by SIGINT, one whose parent
# is killed with SIGKILL -- `ipcs -m`, /dev/shm and the process list hold
# nothing of cohmap's. While a run goes on, every SysV segment is already
# marked for removal ("dest") and no POSIX name lives longer than a moment.
#
#   tests/hygiene.sh ./cohmap
#
# The checks run inside private IPC, mount and PID namespaces when the
# machine allows it (root, or unprivileged user namespaces), so that nothing
# else on the machine -- other users, other tests running at the same time --
# can make them pass or fail: there, "nothing" means exactly nothing.
# Elsewhere (or with HYGIENE_NO_NAMESPACES=1) they compare with the state
# before each run.
set -uo pipefail
cohmap=$(realpath "$1")

if [[ ${HYGIENE_INSIDE:-} != 1 && -z ${HYGIENE_NO_NAMESPACES:-} ]] && command -v unshare >/dev/null; then
	for how in "" "--user --map-root-user"; do
		# shellcheck disable=SC2086
		if unshare $how --ipc --mount --pid --fork --mount-proc true 2>/dev/null; then
			exec unshare $how --ipc --mount --pid --fork --mount-proc \
				env HYGIENE_INSIDE=1 bash "$0" "$@"
		fi
	done
fi
isolated=0
# Only as PID 1 of the new namespace: never over the machine's own /dev/shm.
if [[ ${HYGIENE_INSIDE:-} == 1 && $$ == 1 ]] && mount -t tmpfs -o mode=1777 cohmap-hygiene /dev/shm; then
	isolated=1
	echo "== isolated: private IPC namespace, /dev/shm and PID namespace"
else
	echo "== not isolated (no namespaces here): comparing with the state before each run"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
check() { # description, command...
	local what=$1
	shift
	if "$@"; then echo "ok    $what"; else echo "FAIL  $what"; failures=$((failures + 1)); fi
}

is_png() { [[ $(od -An -tx1 -N8 "$1" 2>/dev/null | tr -d ' \n') == 89504e470d0a1a0a ]]; }
segments() { ipcs -m 2>/dev/null | awk '$1 ~ /^0x/ {print $2}' | sort; }
shm_files() { find /dev/shm -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort; }
snapshot() { segments >"$tmp/segments.before"; shm_files >"$tmp/shm.before"; }
new_segments() { comm -13 "$tmp/segments.before" <(segments); }
new_shm_files() { comm -13 "$tmp/shm.before" <(shm_files); }
# Processes of the run's session (it was started with setsid), zombies too.
# (From /proc: after the ") " that ends the command name, field 4 is the
# session.)
session_processes() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v s="$1" '{
		rest = $0; sub(/^.*\) /, "", rest); split(rest, f, " ")
		if (f[4] == s) print}'
}

# Waits for an event (a command that succeeds), however loaded the machine
# is. The bound, ten minutes, only keeps a hang from stalling the check.
wait_until() { local i; for ((i = 0; i < 6000; i++)); do "$@" && return 0; sleep 0.1; done; return 1; }
no_session_processes() { [[ -z $(session_processes "$1") ]]; }
# The run ($pid) has a process of its own besides itself (an agent, a
# measured child; had_child=1 then), or has ended.
has_child_or_gone() {
	# gnuplot is not the run's own: it draws after the measurement ended,
	# when a signal no longer interrupts anything.
	[[ $(session_processes "$pid" | grep -vc ' (gnuplot) ') -ge 2 ]] && had_child=1 && return 0
	! kill -0 "$pid" 2>/dev/null
}

# Everything of the run must be gone: processes (PDEATHSIG; a zombie is
# reaped by init, which on a loaded machine can take a while), memory with
# them.
all_clean() { # session
	wait_until no_session_processes "$1"
	check "no process of the run is left" test -z "$(session_processes "$1")"
	check "ipcs -m holds no segment of the run" test -z "$(new_segments)"
	check "/dev/shm holds no file of the run" test -z "$(new_shm_files)"
	[[ -z $(new_segments) ]] || ipcs -m
}

# Starts cohmap in its own session (so its processes can be found, and a
# SIGINT can go to its process group as Ctrl-C would); sets $pid.
start() { setsid "$cohmap" "$@" >"$tmp/out" 2>"$tmp/err" & pid=$!; }

# While a run goes on: any SysV segment seen must be marked "dest" (or be gone
# by the time the run looks again: between shmget and IPC_RMID there are only
# a few instructions, however long the scheduler keeps them waiting), and any
# /dev/shm file must be gone likewise, and have mode 0600. Watches for at
# least SECONDS and until a segment has been seen, as long as the run goes on.
unmarked_segment() { ipcs -m | awk -v id="$1" '$2 == id && $7 != "dest" {f = 1} END {exit !f}'; }
# Gone, or marked, or the run has ended (then all_clean judges what is left).
settled_segment() { ! unmarked_segment "$1" || ! kill -0 "$pid" 2>/dev/null; }
settled_file() { [[ ! -e /dev/shm/$1 ]] || ! kill -0 "$pid" 2>/dev/null; }
watch_while_running() { # seconds
	local end=$((SECONDS + $1)) bad=0 seen_seg=0 seen_file=0
	while { ((SECONDS < end)) || ((seen_seg == 0)); } && kill -0 "$pid" 2>/dev/null; do
		while read -r id status; do
			seen_seg=1
			[[ $status == dest ]] && continue
			wait_until settled_segment "$id"
			unmarked_segment "$id" && { echo "segment $id is not marked for removal"; bad=1; }
		done < <(ipcs -m 2>/dev/null | awk -v before="$(tr '\n' ' ' <"$tmp/segments.before")" '
			BEGIN {n = split(before, ids, " "); for (i = 1; i <= n; i++) old[ids[i]] = 1}
			$1 ~ /^0x/ && !($2 in old) {print $2, $7}')
		for f in $(new_shm_files); do
			seen_file=1
			mode=$(stat -c %a "/dev/shm/$f" 2>/dev/null) && [[ $mode != 600 ]] && {
				echo "/dev/shm/$f has mode $mode"; bad=1; }
			wait_until settled_file "$f"
			[[ -e /dev/shm/$f ]] && { echo "/dev/shm/$f outlived its creation"; bad=1; }
		done
		sleep 0.01
	done
	check "every SysV segment seen during the run was marked for removal" test $bad = 0
	check "segments were seen while the run went on (else the check above proves nothing)" \
		test $seen_seg = 1
	echo "      (short-lived /dev/shm names seen: $seen_file)"
}

# Ctrl-C to the run's process group once the event has happened (a command
# that succeeds), then wait.
interrupt_when() { # command...
	wait_until "$@"
	local running="yes"
	kill -0 "$pid" 2>/dev/null || running="no, it had ended"
	kill -INT -- "-$pid" 2>/dev/null
	wait "$pid"
	code=$?
	check "interrupted run exits 130 (got $code; running when signalled: $running)" test "$code" = 130
	[[ $code = 130 ]] || sed 's/^/      stderr: /' "$tmp/err"
}

# SIGKILL to cohmap's parent process only, once it has a process of its own
# (the processes and memory that must not outlive it exist then).
kill_parent_when_running() {
	had_child=0
	wait_until has_child_or_gone
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	check "the run had a process of its own when killed" test "$had_child" = 1
}

# --watchdog 60: a hang guard; on a loaded machine an agent can wait for its
# CPU longer than the default second.
chan=(channels -c 0,1 -q --sample-us 20 --watchdog 60)
att=(attach -q --watchdog 60)

echo "== channels, run to the end"
snapshot
start "${chan[@]}" --sizes 16K -n 5 -o "$tmp/c1"
wait "$pid"
check "channels exits 0" test $? = 0
check "every channel delivered ok rows, all rounds" \
	test "$(awk -F, 'NR > 1 && $8 == "ok" && $9 == 3' "$tmp/c1/channels.csv" | wc -l)" = 24
for png in channels-latency channels-bandwidth; do
	check "$png.png drawn" is_png "$tmp/c1/$png.png"
done
all_clean "$pid"

echo "== attach, run to the end (SysV and POSIX among the kinds)"
snapshot
start "${att[@]}" --sizes 1M --variant plain -n 5 -o "$tmp/a1"
wait "$pid"
check "attach exits 0" test $? = 0
check "sysv and posix were measured" test "$(grep -cE '^(sysv|posix),plain,.*,ok,' "$tmp/a1/attach.csv")" = 2
for png in attach attach-phases; do
	check "$png.png drawn" is_png "$tmp/a1/$png.png"
done
all_clean "$pid"
# A phase can take 0 ns at the clock's resolution (seen: the first touch of a
# 4 KiB malloc, whose page the allocator had already touched); the log axes
# must skip it, not fail the figure.
awk -F, -v OFS=, 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == "touch_median_ns") c = i}
	NR == 2 {$c = 0} {print}' "$tmp/a1/attach.csv" >"$tmp/a1/attach.csv.new" &&
	mv "$tmp/a1/attach.csv.new" "$tmp/a1/attach.csv"
rm -f "$tmp/a1/attach-phases.png"
check "cohmap plot draws the phases with a 0 ns phase in the CSV" "$cohmap" plot "$tmp/a1"
check "attach-phases.png back" is_png "$tmp/a1/attach-phases.png"

echo "== attach (SysV), watched while it runs, then Ctrl-C"
snapshot
start "${att[@]}" --mapping sysv --variant plain --sizes 8M,32M -n 1000 --time-limit 60 -o "$tmp/a2"
watch_while_running 3
interrupt_when true
check "meta.json says interrupted" grep -q '"status": "interrupted"' "$tmp/a2/meta.json"
all_clean "$pid"

echo "== channels, Ctrl-C"
snapshot
# -n 2000: long enough (seconds, even quiet) that the signal lands while
# channels measures; with the default stopping rule a fast run could end
# between two looks of the loaded test and exit 0 before any Ctrl-C.
start "${chan[@]}" --sizes 64-4M -n 2000 -o "$tmp/c2"
interrupt_when has_child_or_gone # (channels writes its rows at the end)
check "meta.json says interrupted" grep -q '"status": "interrupted"' "$tmp/c2/meta.json"
check "kept rows are whole" awk -F, 'NR > 1 && NF != 19 {bad = 1} END {exit bad}' "$tmp/c2/channels.csv"
all_clean "$pid"

echo "== channels, parent killed with SIGKILL"
snapshot
start "${chan[@]}" --sizes 1M-16M -o "$tmp/c3"
kill_parent_when_running
all_clean "$pid"

echo "== attach, parent killed with SIGKILL while SysV, POSIX and memfd memory is held"
snapshot
start "${att[@]}" --mapping sysv,posix,memfd --variant plain --sizes 64M -n 1000 --time-limit 60 -o "$tmp/a3"
kill_parent_when_running
all_clean "$pid"

# The agents of the latency kernels as processes (issue 7, part 1), when
# this cohmap has them: every kind of shared memory, SIGINT and SIGKILL.
if "$cohmap" latency --help 2>/dev/null | grep -q -- '--agents'; then
	for kind in fork-shared sysv posix memfd; do
		echo "== latency --agents $kind, parent killed with SIGKILL"
		snapshot
		start latency -c 0,1 -q --agents "$kind" -n 10000 --sample-us 200 -o "$tmp/l-$kind"
		kill_parent_when_running
		all_clean "$pid"
	done
	echo "== latency --agents sysv, Ctrl-C"
	snapshot
	# -n 20000 samples of 100 us: at least 2 s per pair, so the run cannot
	# end before the signal (a --precision run may converge in milliseconds
	# when the clock quantises the samples).
	start latency -c 0,1 -q --agents sysv -n 20000 --sample-us 100 -o "$tmp/l-sysv-int"
	interrupt_when has_child_or_gone
	all_clean "$pid"
fi

# False sharing with its threads as processes: the counters live in the
# shared memory of the kind, every child's counter is checked by the parent
# (status ok), and nothing is left when the run ends or its parent is killed.
if "$cohmap" falseshare --help 2>/dev/null | grep -q -- '--agents'; then
	fs=(falseshare -c 0,1 -q --watchdog 60 --kind fetch_add,store --distances 0,8,128 --pairs none --rounds 1 --run-ms 2)
	for kind in sysv memfd; do
		echo "== falseshare --agents $kind, run to the end"
		snapshot
		start "${fs[@]}" --agents "$kind" -o "$tmp/fs-$kind"
		wait "$pid"
		check "falseshare --agents $kind exits 0" test $? = 0
		csv=$tmp/fs-$kind/falseshare.csv
		c_agents=$(head -1 "$csv" | tr ',' '\n' | grep -nx agents | cut -d: -f1)
		c_status=$(head -1 "$csv" | tr ',' '\n' | grep -nx status | cut -d: -f1)
		c_ops=$(head -1 "$csv" | tr ',' '\n' | grep -nx false_shared_ops | cut -d: -f1)
		# 2 kinds x 3 distances x 2 threads, and the fix demo's 2 rows
		check "14 rows, each agents=$kind, status ok and with operations" test "$(awk -F, \
			-v a="$c_agents" -v s="$c_status" -v o="$c_ops" -v k="$kind" \
			'NR > 1 && $a == k && $s == "ok" && $o + 0 > 0' "$csv" | wc -l)" = 14
		check "meta.json records the agents" \
			test "$(jq -r .experiments.falseshare.agents "$tmp/fs-$kind/meta.json")" = "$kind"
		all_clean "$pid"
	done
	echo "== falseshare --agents posix, parent killed with SIGKILL"
	snapshot
	start falseshare -c 0,1 -q --agents posix --rounds 50 --run-ms 20 -o "$tmp/fs-killed"
	kill_parent_when_running
	all_clean "$pid"
fi

echo "hygiene: $failures failed"
[[ $failures == 0 ]]
