#!/usr/bin/env bash
# `make check` on a loaded machine (issue 17): the full check, CHECK_LOADED_RUNS
# times in a row, while stress-ng keeps both CPUs busy and holds 4 GiB
# (--cpu 2 --vm 1 --vm-bytes 4G) and a second cohmap maps and touches 4 GiB
# over and over (`cohmap fork --sizes 4G`). Timing may make a test slower,
# never make it fail: every run must pass.
#
#   tests/check-loaded.sh ./cohmap        (make check-loaded CHECK_LOADED_RUNS=5)
#
# The load is bounded: each stress-ng lasts CHECK_LOADED_STRESS_S seconds
# (--timeout) and is started again only while this script is alive, and the
# fork loop also stops when this script is gone; on every exit (end, failure,
# Ctrl-C, SIGTERM) the EXIT trap stops both by pid and waits for them.
# Each run's output is kept in build/check-loaded/run-N.log.
set -uo pipefail
cohmap=$(realpath "$1")
src=$(cd "$(dirname "$0")/.." && pwd)
runs=${CHECK_LOADED_RUNS:-5}
stress_s=${CHECK_LOADED_STRESS_S:-600}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "check-loaded: CHECK_LOADED_RUNS must be a whole number from 1 (got '$runs')" >&2; exit 2; }
command -v stress-ng >/dev/null || { echo "check-loaded: stress-ng is missing (make deps installs it)" >&2; exit 1; }
logs=$src/build/check-loaded
mkdir -p "$logs"
tmp=$(mktemp -d)
# The load runs its own copy of the binary: make check (install-check) relinks
# build/release/cohmap while the load goes on.
cp "$cohmap" "$tmp/cohmap"
export COHMAP_PLOTS_DIR=$src/plots
me=$$

# Each loop runs one bounded child at a time; on SIGTERM it stops that child
# by pid, waits for it and ends. It also ends by itself once this script is
# gone (killed with SIGKILL, say), after at most one more round.
stress_loop() {
	local child=""
	trap '[[ -n $child ]] && kill -TERM "$child" 2>/dev/null && wait "$child"; exit 0' TERM
	while kill -0 "$me" 2>/dev/null; do
		stress-ng --cpu 2 --vm 1 --vm-bytes 4G --timeout "${stress_s}s" --quiet >>"$logs/stress.log" 2>&1 &
		child=$!
		wait "$child"
		child=""
	done
}
stop_child() {
	local i
	[[ -n $child ]] || return 0
	kill -TERM "$child" 2>/dev/null
	for ((i = 0; i < 300; i++)); do kill -0 "$child" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$child" 2>/dev/null
	wait "$child"
}
fork_loop() {
	local child="" i=0
	# SIGTERM, not SIGINT: a command started with & in a script ignores SIGINT
	# until cohmap installs its handler. cohmap stops between measurements,
	# and one 4 GiB pass can take minutes on a loaded machine: after 30 s it
	# gets SIGKILL (its children die with it, its memory is already unlinked:
	# what tests/hygiene.sh checks).
	trap 'stop_child; exit 0' TERM
	while kill -0 "$me" 2>/dev/null; do
		i=$((i + 1))
		"$tmp/cohmap" fork --sizes 4G --repeat 3 -q -o "$tmp/fork-$i" >>"$logs/fork-load.log" 2>&1 &
		child=$!
		wait "$child"
		echo "fork load round $i: exit $?" >>"$logs/fork-load.log"
		child=""
		rm -rf "$tmp/fork-$i"
	done
}

stress_pid="" fork_pid="" check_pid=""
cleanup() {
	local pid
	# A run of make check cut short (SIGTERM, Ctrl-C): its process group.
	[[ -n $check_pid ]] && kill -TERM -- "-$check_pid" 2>/dev/null && wait "$check_pid"
	for pid in $stress_pid $fork_pid; do kill -TERM "$pid" 2>/dev/null; done
	for pid in $stress_pid $fork_pid; do wait "$pid" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

: >"$logs/fork-load.log"
stress_loop &
stress_pid=$!
fork_loop &
fork_pid=$!
echo "check-loaded: load on (stress-ng pid loop $stress_pid, cohmap fork loop $fork_pid); $runs runs of make check"

passed=0 streak=0 best=0 started=$SECONDS
for ((run = 1; run <= runs; run++)); do
	t0=$SECONDS
	# In the background and waited for, so that a signal to this script
	# runs its traps at once, not after the run; in its own process group
	# (setsid), so that cleanup can stop all of it.
	setsid "${MAKE:-make}" -C "$src" --no-print-directory check >"$logs/run-$run.log" 2>&1 &
	check_pid=$!
	wait "$check_pid"
	code=$?
	check_pid=""
	if [[ $code == 0 ]]; then
		passed=$((passed + 1)) streak=$((streak + 1))
		((streak > best)) && best=$streak
		echo "run $run: pass ($((SECONDS - t0)) s)"
	else
		streak=0
		echo "run $run: FAIL (exit $code, $((SECONDS - t0)) s; build/check-loaded/run-$run.log)"
		grep -E '^FAIL|Error [0-9]|failed$' "$logs/run-$run.log" | head -20 | sed 's/^/      /'
	fi
done
echo "check-loaded: $passed of $runs runs passed under load, $best in a row, $((SECONDS - started)) s" \
	"(fork load rounds: $(grep -c '^fork load round' "$logs/fork-load.log"))"
[[ $passed == "$runs" ]]
