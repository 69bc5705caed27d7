#!/usr/bin/env bash
# Faults a run meets on shared servers and in student labs, provoked for real
# against the binary: signals in the middle of a matrix, the parent killed
# outright, an agent's CPU taken by another process, gnuplot missing, and the
# output file system read-only or full. What is checked is what must happen
# (files, statuses, exit codes, messages, nothing left behind), never how fast.
#
#   tests/faults.sh ./cohmap
#
# The read-only and full-disk cases mount small tmpfs file systems and need
# root; without it they are reported as skipped. Every helper process this
# script starts (a CPU hog, a run to be killed) is stopped by the EXIT trap.
set -uo pipefail
cohmap=$(realpath "$1")
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
# The scripts from this tree even when the binary is rebuilt while a test runs
# (its /proc/self/exe then reads "(deleted)" and the plots dir cannot be found).
export COHMAP_PLOTS_DIR=$src/plots
mounts=() helpers=()
cleanup() {
	local pid m
	for pid in "${helpers[@]}"; do kill -9 "$pid" 2>/dev/null; done
	for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
[[ -n ${FAULTS_KEEP:-} ]] && trap - EXIT && echo "faults: keeping $tmp"
pass=0 failures=0 skipped=0
check() { # description, command...
	local what=$1
	shift
	if "$@"; then
		echo "ok    $what"
		pass=$((pass + 1))
	else
		echo "FAIL  $what"
		failures=$((failures + 1))
	fi
}
skip() { echo "skip  $*"; skipped=$((skipped + 1)); }

# The first two CPUs this process may use.
read -r cpu_a cpu_b < <(taskset -pc $$ | sed 's/.*: //' | tr ',' '\n' |
	awk -F- '{for (c = $1; c <= ($2 == "" ? $1 : $2); c++) print c}' | head -2 | tr '\n' ' ')
if [[ -z ${cpu_b:-} ]]; then
	echo "faults: needs two CPUs (this process may use only $cpu_a); skipped: 0 passed, 0 failed"
	exit 0
fi
pair=$cpu_a,$cpu_b

rows() { [[ -f $1 ]] && echo $(($(wc -l <"$1") - 1)) || echo -1; }
# Waits until FILE has N rows, however loaded the machine is (at most ten
# minutes: a hang guard, not a timing test).
wait_rows() { # file, n, pid
	local i
	for ((i = 0; i < 6000; i++)); do
		[[ $(rows "$1") -ge $2 ]] && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
# Rows of a CSV as "cpu_a cpu_b status reason", columns found by name.
pair_rows() {
	awk -F, 'NR == 1 {for (i = 1; i <= NF; i++) c[$i] = i; next}
		{print $c["cpu_a"], $c["cpu_b"], $c["status"], $c["reason"]}' "$1"
}
whole_rows() { awk -F, 'NR == 1 {n = NF} NF != n {bad = 1} END {exit bad}' "$1"; }
no_tmp_files() { test -z "$(find "$1" -name '*.tmp*')"; }
one_line() { test "$(wc -l <"$1")" -le 1 && test -s "$1"; }

# ---- SIGTERM / SIGINT during a matrix --------------------------------------
# Long pairs (5000 samples of 200 us: at least 1 s each, whatever the
# precision would do) so the signal, sent once the
# first pair is on disk, lands mid-matrix: it has 7 s to arrive.
for sig in TERM INT; do
	dir=$tmp/sig$sig
	echo "== SIG$sig during a latency matrix"
	"$cohmap" latency -c "$pair" -q -o "$dir" -n 5000 --sample-us 200 2>"$tmp/err" &
	pid=$!
	helpers+=("$pid")
	wait_rows "$dir/latency.csv" 1 "$pid"
	kill -"$sig" "$pid"
	wait "$pid"
	code=$?
	n=$(rows "$dir/latency.csv")
	check "SIG$sig: exit 130" test "$code" = 130
	check "SIG$sig: meta.json status interrupted" test "$(jq -r .status "$dir/meta.json")" = interrupted
	check "SIG$sig: experiment status interrupted" \
		test "$(jq -r .experiments.latency.status "$dir/meta.json")" = interrupted
	check "SIG$sig: finished pairs on disk ($n of 8, as meta.json counts them)" \
		test "$n" -ge 1 -a "$n" = "$(jq -r .experiments.latency.pairs_measured "$dir/meta.json")"
	check "SIG$sig: every row whole" whole_rows "$dir/latency.csv"
	check "SIG$sig: no temporary file left" no_tmp_files "$dir"
	check "SIG$sig: says what it kept" grep -q "interrupted after $n of 8 pairs" "$tmp/err"
done

echo "== SIGINT during the suite (cohmap run)"
dir=$tmp/suite
"$cohmap" run -c "$pair" -q -o "$dir" --budget 600 2>"$tmp/err" &
pid=$!
helpers+=("$pid")
for ((i = 0; i < 6000; i++)); do
	[[ -n $(find "$dir" -name '*.csv' -size +300c 2>/dev/null) ]] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
kill -INT "$pid"
wait "$pid"
code=$?
check "run: exit 130" test "$code" = 130
check "run: meta.json status interrupted" test "$(jq -r .status "$dir/meta.json")" = interrupted
check "run: no temporary file left" no_tmp_files "$dir"

# ---- SIGKILL of the parent --------------------------------------------------
# Nothing can run after SIGKILL, so nothing may need to: agents must die with
# the process (threads do; process agents must be tied to it), and shared
# memory must not outlive it (anonymous, or unlinked as soon as it is mapped).
# Threads here; tests/hygiene.sh kills runs with process agents of every kind
# (in private namespaces). FAULTS_ALL_KINDS=1 runs every kind here as well.
kinds=thread
if [[ -n ${FAULTS_ALL_KINDS:-} ]]; then
	kinds+=" $("$cohmap" latency --help | sed -n 's/.*sharing memory by \(.*\); ipc.*/\1/p' | sed 's/,\| or / /g')"
fi
for kind in $kinds; do
	echo "== SIGKILL of the parent in the middle of a pair (agents: $kind)"
	shm_before=$(ls /dev/shm)
	dir=$tmp/killed-$kind
	setsid "$cohmap" latency -c "$pair" --agents "$kind" -q -o "$dir" \
		-n 5000 --sample-us 200 2>/dev/null &
	pid=$!
	helpers+=("$pid")
	wait_rows "$dir/latency.csv" 1 "$pid"
	# The processes of the run are its session (setsid made $pid the
	# leader); gather them and their SysV segments while a pair runs.
	ours="" segments=""
	for ((i = 0; i < 3; i++)); do
		ours+=" $(ps -o pid= -s "$pid" | tr '\n' ' ')"
		segments+=" $(ipcs -m -p 2>/dev/null | awk -v s=" $ours " 'index(s, " " $3 " ") {print $1}' | tr '\n' ' ')"
		sleep 0.03
	done
	nprocs=$(tr ' ' '\n' <<<"$ours" | sort -un | grep -c .)
	check "$kind: the run is alive before the kill" kill -0 "$pid"
	[[ $kind == thread ]] || check "$kind: agent processes seen ($((nprocs - 1)))" test "$nprocs" -gt 1
	[[ $kind == sysv ]] && check "sysv: the run's SysV segment seen ($segments)" test -n "${segments// }"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	for ((i = 0; i < 6000; i++)); do
		[[ -z $(ps -o pid= -s "$pid") ]] && break
		sleep 0.1
	done
	check "$kind: no process of the run remains ($(ps -o pid=,comm= -s "$pid" | tr '\n' ' '))" \
		test -z "$(ps -o pid= -s "$pid")"
	left=""
	for seg in $segments; do ipcs -m | awk -v s="$seg" '$2 == s {f = 1} END {exit !f}' && left+=" $seg"; done
	check "$kind: no SysV segment of the run remains ($left)" test -z "$left"
	new_shm=$(comm -13 <(echo "$shm_before" | sort) <(ls /dev/shm | sort) | grep -i cohmap)
	check "$kind: no /dev/shm object of cohmap remains ($new_shm)" test -z "$new_shm"
	check "$kind: the rows written before the kill are whole" whole_rows "$dir/latency.csv"
done

# ---- an agent starved of its CPU -------------------------------------------
# A busy process pinned to the second CPU that outweighs the agent there
# ~90:1 (nice -20 against nice 0 as root; nice 0 against SCHED_IDLE cohmap
# otherwise), so that agent runs a few ms every few hundred ms. Each pair
# samples for 200 ms (200 samples of 1 ms), longer than any such slice, so the
# agent goes silent mid-pair for longer than the watchdog. Unlike a real-time
# hog this leaves the CPU's other users their share, and the run's main thread
# and gnuplot move to the other CPU.
echo "== an agent starved of its CPU by a busy process pinned there"
if [[ $(id -u) == 0 ]]; then
	hog_nice=-20 idle=()
else
	hog_nice=0 idle=(chrt -i 0)
fi
dir=$tmp/starved
timeout 600 "${idle[@]}" "$cohmap" latency -c "$pair" -k load_store -n 200 --sample-us 1000 --watchdog 0.1 \
	-q -o "$dir" 2>"$tmp/err" &
pid=$!
helpers+=("$pid")
# The hog starts once the CSV exists, i.e. when the agents are about to run:
# starving the start-up (likwid reading the topology) only makes this slow.
wait_rows "$dir/latency.csv" 0 "$pid"
timeout 600 nice -n "$hog_nice" taskset -c "$cpu_b" sh -c 'while :; do :; done' &
hog=$!
helpers+=("$hog")
wait_rows "$dir/latency.csv" 2 "$pid" # then gnuplot need not compete with it
kill "$hog" 2>/dev/null
wait "$hog" 2>/dev/null
wait "$pid"
code=$?
csv=$dir/latency.csv
check "starved: the run completes (exit $code: 0, or 1 when every pair failed)" grep -qx '[01]' <<<"$code"
check "starved: meta.json has a final status" grep -qx 'complete\|failed' <<<"$(jq -r .status "$dir/meta.json")"
check "starved: both pairs have a row" test "$(rows "$csv")" = 2
pair_rows "$csv" | sed 's/^/      /'
check "starved: a pair with CPU $cpu_b failed with the watchdog's reason" \
	grep -Eq "^($cpu_a $cpu_b|$cpu_b $cpu_a) failed .*(watchdog|did not stop)" <(pair_rows "$csv")
check "starved: every failed row says why" test -z "$(pair_rows "$csv" | awk '$3 == "failed" && NF < 4')"
check "starved: the failure is a warning in meta.json" \
	jq -e '.warnings | map(select(test("failed: (watchdog|the agent)"))) | length > 0' "$dir/meta.json" >/dev/null

# The same starvation under --parallel: the pair that fails loses only its
# own measurement; every pair keeps its row (a class measured again alone
# afterwards replaces its rows, never adds or drops one).
echo "== --parallel: a starved agent fails its pair, not the others"
dir=$tmp/starved-parallel
timeout 120 "${idle[@]}" "$cohmap" latency -c "$pair" -k load_store -n 200 --sample-us 1000 --watchdog 0.1 \
	--parallel 1 -q -o "$dir" 2>"$tmp/err" &
pid=$!
helpers+=("$pid")
wait_rows "$dir/latency.csv" 0 "$pid"
timeout 60 nice -n "$hog_nice" taskset -c "$cpu_b" sh -c 'while :; do :; done' &
hog=$!
helpers+=("$hog")
wait_rows "$dir/latency.csv" 2 "$pid"
kill "$hog" 2>/dev/null
wait "$hog" 2>/dev/null
wait "$pid"
code=$?
csv=$dir/latency.csv
check "parallel starved: the run completes (exit $code: 0, or 1 when every pair failed)" grep -qx '[01]' <<<"$code"
check "parallel starved: both pairs have exactly one row" test "$(rows "$csv")" = 2 -a \
	"$(pair_rows "$csv" | awk '{print $1, $2}' | sort -u | wc -l)" = 2
pair_rows "$csv" | sed 's/^/      /'
check "parallel starved: every failed row says why" test -z "$(pair_rows "$csv" | awk '$3 == "failed" && NF < 4')"

# ---- gnuplot missing --------------------------------------------------------
# A PATH with every program of this machine but gnuplot (liblikwid still needs
# sh, bash, which and tr from it).
echo "== gnuplot missing"
mkdir -p "$tmp/nognuplot"
find /usr/bin /usr/local/bin -maxdepth 1 ! -type d ! -name 'gnuplot*' -exec ln -sf -t "$tmp/nognuplot" {} +
dir=$tmp/noplot
PATH=$tmp/nognuplot "$cohmap" latency -c "$pair" -k load_store -n 5 --watchdog 60 -q -o "$dir" 2>"$tmp/err"
code=$?
check "no gnuplot: exit 4 (partial)" test "$code" = 4
check "no gnuplot: the CSV is complete (2 ok rows)" test "$(grep -c ',ok,' "$dir/latency.csv")" = 2
check "no gnuplot: meta.json says complete" test "$(jq -r .status "$dir/meta.json")" = complete
check "no gnuplot: the message says how to install gnuplot" grep -q 'apt-get install gnuplot' "$tmp/err"
check "no gnuplot: ... and how to draw later (cohmap plot $dir)" grep -q "cohmap plot $dir" "$tmp/err"
check "no gnuplot: no image written" test -z "$(find "$dir" -name '*.png' -o -name '*.svg')"
PATH=$tmp/nognuplot "$cohmap" plot "$dir" >"$tmp/out" 2>&1
code=$?
check "no gnuplot: cohmap plot exits 3 (skipped) with one line" test "$code" = 3 -a "$(wc -l <"$tmp/out")" = 1
check "no gnuplot: ... saying how to install it" grep -q 'apt-get install gnuplot' "$tmp/out"
"$cohmap" plot "$dir" >/dev/null 2>&1
check "with gnuplot back, cohmap plot draws the heatmap" test -s "$dir/latency-load_store.png"

# ---- malformed results files: refused, and never written to ------------------
# tests/cli/cases.txt checks each message; here each command runs on a copy of
# the fixtures, and the copy must come out byte for byte as it went in.
echo "== malformed results files given to plot, compare, report, --resume"
cp -r "$src/tests/cli/results" "$tmp/fixtures"
fixtures_sum() { (cd "$tmp/fixtures" && find . -print0 | sort -z | xargs -0 md5sum 2>/dev/null; find . | sort) | md5sum; }
before=$(fixtures_sum)
refused=0 accepted=""
for d in "$tmp"/fixtures/*/; do
	d=${d%/}
	name=${d##*/}
	[[ $name == valid-partner ]] && continue
	commands=("compare $tmp/fixtures/valid-partner $d" "compare $d $tmp/fixtures/valid-partner")
	commands+=("plot $d")
	[[ $name == meta-* || $name == topo-* ]] && commands+=("latency --resume $d")
	# a kernel name that is no file name breaks the heatmaps' file names,
	# not the page, which only shows it
	[[ $name == csv-kernel-path ]] || commands+=("report $d")
	for c in "${commands[@]}"; do
		# shellcheck disable=SC2086
		(cd "$tmp" && "$cohmap" $c >"$tmp/out" 2>&1)
		code=$?
		if [[ $code == 2 && $(wc -l <"$tmp/out") == 1 ]]; then
			refused=$((refused + 1))
		else
			accepted+=" [${c//$tmp\//} -> exit $code]"
		fi
	done
done
check "compare created no output directory for malformed input" test ! -e "$tmp/results"
rm -rf "$tmp/results"
check "every malformed file refused with exit 2 and one line ($refused refused)${accepted:+; accepted:$accepted}" \
	test -z "${accepted// }"
check "no fixture was written to, nothing was created next to them" test "$before" = "$(fixtures_sum)"
# A directory without meta.json (CSV files put together by hand) is drawn:
# plot needs only the CSV and topology.txt, and says what it lacks.
mkdir "$tmp/no-meta"
cp "$src/tests/cli/results/valid-partner/latency.csv" "$src/tests/cli/results/valid-partner/topology.txt" "$tmp/no-meta"
"$cohmap" plot "$tmp/no-meta" >/dev/null 2>"$tmp/err"
code=$?
check "no meta.json: cohmap plot draws (exit $code) with a note" \
	test "$code" = 0 -a -s "$tmp/no-meta/latency-load_store.png" -a -n "$(grep 'note: .* has no meta.json' "$tmp/err")"

# ---- output file system read-only or full -----------------------------------
if [[ $(id -u) != 0 ]]; then
	skip "read-only and full output disks: skipped: mounting a small tmpfs needs root"
else
	echo "== output file system read-only"
	ro=$tmp/ro
	mkdir -p "$ro"
	mount -t tmpfs -o size=4m tmpfs "$ro" && mounts+=("$ro")
	# An earlier run, then the file system turns read-only under it.
	"$cohmap" latency -c "$pair" -k load_store -n 5 -q -o "$ro/old" 2>/dev/null
	sums=$(cd "$ro/old" && md5sum -- * | sort)
	mount -o remount,ro "$ro"
	"$cohmap" latency -c "$pair" -k load_store -n 5 -q -o "$ro/new" >"$tmp/out" 2>&1
	code=$?
	check "read-only: a new run fails at once (exit $code, not 0)" test "$code" != 0
	check "read-only: one clear line naming the cause" \
		test "$(wc -l <"$tmp/out")" = 1 -a -n "$(grep -i 'read-only' "$tmp/out")"
	"$cohmap" plot "$ro/old" >"$tmp/out" 2>&1
	code=$?
	check "read-only: cohmap plot fails (exit $code) with one line naming the cause" \
		test "$code" != 0 -a "$(wc -l <"$tmp/out")" = 1 -a -n "$(grep -i 'read-only' "$tmp/out")"
	"$cohmap" topo --save "$ro/x.topo" >"$tmp/out" 2>&1
	code=$?
	check "read-only: topo --save fails (exit $code) with one line" test "$code" = 2 && one_line "$tmp/out"
	check "read-only: the earlier results are intact" test "$sums" = "$(cd "$ro/old" && md5sum -- * | sort)"

	echo "== output file system full in the middle of a run"
	full=$tmp/full
	mkdir -p "$full"
	mount -t tmpfs -o size=1m tmpfs "$full" && mounts+=("$full")
	dir=$full/run
	"$cohmap" latency -c "$pair" -q -o "$dir" -n 5000 --sample-us 200 >"$tmp/out" 2>&1 &
	pid=$!
	helpers+=("$pid")
	wait_rows "$dir/latency.csv" 1 "$pid"
	cp "$dir/latency.csv" "$tmp/rows-before"
	dd if=/dev/zero of="$full/filler" bs=4k 2>/dev/null # until ENOSPC
	wait "$pid"
	code=$?
	# The final meta.json could not be written: a runtime failure, whatever
	# else happened (a plot not drawn would be "partial", exit 4), said once.
	check "full: exit 1, the run's record could not be finished (exit $code)" test "$code" = 1
	grep -v '^cohmap: warning: ' "$tmp/out" >"$tmp/errors"
	check "full: one error line, naming meta.json and the cause ($(wc -l <"$tmp/errors") lines)" \
		test "$(wc -l <"$tmp/errors")" = 1 -a -n "$(grep 'meta.json: No space left on device' "$tmp/errors")"
	check "full: meta.json is still whole JSON (the last version that fit)" jq -e . "$dir/meta.json" >/dev/null
	check "full: rows written before the disk filled are intact" \
		test "$(head -c "$(stat -c %s "$tmp/rows-before")" "$dir/latency.csv" | md5sum)" = "$(md5sum <"$tmp/rows-before")"
	check "full: every row whole" whole_rows "$dir/latency.csv"
	check "full: no temporary file left" no_tmp_files "$dir"
fi

echo "faults: $pass passed, $failures failed, $skipped skipped"
[[ $failures == 0 ]]
