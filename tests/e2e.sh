#!/usr/bin/env bash
# End to end on this machine: a real latency matrix on its first two CPUs,
# the files it must leave, an interrupted run, and a redraw.
set -uo pipefail
cohmap=$(realpath "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
check() { # description, command...
	local what=$1
	shift
	if "$@"; then echo "ok    $what"; else echo "FAIL  $what"; failures=$((failures + 1)); fi
}

# PNG: 8-byte signature, then the IHDR chunk with width and height.
png_size() { od -An -tu1 -j16 -N8 "$1" | awk '{printf "%dx%d", $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}'; }
is_png() { [[ $(od -An -tx1 -N8 "$1" | tr -d ' \n') == 89504e470d0a1a0a ]]; }
# Waits for an event (a command that succeeds: a row on disk, a process
# gone), however loaded the machine is. The bound, ten minutes, only keeps a
# hang from stalling the check: nothing here needs more than seconds.
wait_until() { local i; for ((i = 0; i < 6000; i++)); do "$@" && return 0; sleep 0.1; done; return 1; }
# FILE has at least N lines, or process PID has ended (nothing more will come).
lines_or_gone() { [[ -f $1 && $(wc -l <"$1") -ge $2 ]] || ! kill -0 "$3" 2>/dev/null; }
# Processes still alive (zombies are dead) whose command line names $1.
alive_with() {
	local n=0 pid
	for pid in $(pgrep -f -- "$1"); do
		grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null || n=$((n + 1))
	done
	echo "$n"
}
none_alive_with() { test "$(alive_with "$1")" = 0; }
# Process PID has children (their pids are then in $children), or has ended.
children_or_gone() { children=$(pgrep -P "$1" | tr '\n' ' '); [[ -n $children ]] || ! kill -0 "$1" 2>/dev/null; }
# SysV segments whose creator (cpid, column 3 of ipcs -m -p) is one of the
# pids given: another program's segments (another cohmap beside this test)
# are not ours to count.
segments_of() { ipcs -m -p 2>/dev/null | awk -v p=" $* " 'index(p, " " $3 " ")' | wc -l; }

# Every run that must measure ok rows gets --watchdog 60: the watchdog (1 s by
# default) is a hang guard, and on a loaded machine an agent can wait for its
# CPU longer than a second (seen: 799 ms of a 1000 ms wait).
cpus=$(taskset -pc $$ | sed 's/.*: //')
echo "== latency matrix on CPUs 0,1 (this process may use: $cpus)"
"$cohmap" latency --watchdog 60 -c 0,1 -q -o "$tmp/run" --seed 42
code=$?
check "latency exits 0" test "$code" = 0
csv=$tmp/run/latency.csv
check "latency.csv written" test -s "$csv"
check "header has units in the names" grep -q '^kernel,agents,cpu_a,cpu_b,pair_class,home_node,status,samples,round_trips_per_sample,min_ns,p10_ns,median_ns,p90_ns,mean_ns,stddev_ns,ci95_low_ns,ci95_high_ns,line,address_class,perf_CPU_MIGRATIONS_per_handoff,perf_CONTEXT_SWITCHES_per_handoff,disturbed_samples,reason$' "$csv"
for kernel in $("$cohmap" list | awk '$2 == "latency" {print $1}'); do
	for pair in "0 1" "1 0"; do
		set -- $pair
		row=$(awk -F, -v k="$kernel" -v a="$1" -v b="$2" '$1==k && $3==a && $4==b' "$csv")
		check "$kernel $1->$2 has one ok row" test "$(printf '%s' "$row" | grep -c ',ok,')" = 1
		median=$(printf '%s' "$row" | cut -d, -f12)
		check "$kernel $1->$2 median $median ns is plausible (0 < x < 10000)" \
			awk -v m="$median" 'BEGIN {exit !(m > 0 && m < 10000)}'
	done
done
check "exactly 8 rows (4 kernels x 2 ordered pairs)" test "$(($(wc -l <"$csv") - 1))" = 8
check "meta.json says complete" grep -q '"status": "complete"' "$tmp/run/meta.json"
check "meta.json records the seed" grep -q '"seed": 42' "$tmp/run/meta.json"
check "meta.json records where the lines were" grep -q '"home": "first"' "$tmp/run/meta.json"
check "topology.txt written" test -s "$tmp/run/topology.txt"
for kernel in load_store cas_bounce faa_bounce xchg_bounce; do
	png=$tmp/run/latency-$kernel.png
	check "$kernel heatmap is a PNG" is_png "$png"
	# heatmap.gp: side = max(640, 24 n + 200) = 640 for 2 CPUs; image (side + 40) x (side - 40)
	check "$kernel heatmap is 680x600" test "$(png_size "$png")" = 680x600
	check "$kernel SVG written" grep -q '<svg' "$tmp/run/latency-$kernel.svg"
done

echo "== the same seed gives the same pair order"
"$cohmap" latency --watchdog 60 -c 0,1 -q -o "$tmp/again" --seed 42 -n 5
check "pair order replays" test "$(cut -d, -f1,3,4 "$csv")" = "$(cut -d, -f1,3,4 "$tmp/again/latency.csv")"

echo "== redraw without measuring"
rm "$tmp/run"/latency-*.png
check "plot redraws" "$cohmap" plot "$tmp/run" --stat min
check "heatmap back" is_png "$tmp/run/latency-load_store.png"

echo "== Ctrl-C keeps the finished pairs"
"$cohmap" latency --watchdog 60 -c 0,1 -q -o "$tmp/cut" -n 5000 --sample-us 200 &
pid=$!
# Interrupt once a pair is on disk (however long that takes on a loaded
# machine), well before the 8th: each pair takes 5000 samples of 200 us, at
# least 1 s (a --precision run can converge in milliseconds when the clock
# quantises its samples), so the signal has 7 s to land.
wait_until lines_or_gone "$tmp/cut/latency.csv" 2 $pid
kill -INT $pid
wait $pid
code=$?
check "interrupted run exits 130" test "$code" = 130
check "meta.json says interrupted" grep -q '"status": "interrupted"' "$tmp/cut/meta.json"
rows=$(($(wc -l <"$tmp/cut/latency.csv") - 1))
check "some pairs finished before the interrupt ($rows rows)" test "$rows" -ge 1
check "every kept row is whole" \
	awk -F, 'NR == 1 {n = NF} NR > 1 && NF != n {bad=1} END {exit bad}' "$tmp/cut/latency.csv"
check "no temporary files left" test -z "$(find "$tmp/cut" -name '*.tmp')"

echo "== --resume measures only what is missing"
before=$(awk -F, 'NR > 1 && $7 == "ok" {print $1, $3, $4, $12}' "$tmp/cut/latency.csv" | sort)
"$cohmap" latency --resume "$tmp/cut" -q
check "resume exits 0" test $? = 0
check "meta.json says complete" grep -q '"status": "complete"' "$tmp/cut/meta.json"
check "all 8 pairs present, each once" test "$(awk -F, 'NR > 1 && $7 == "ok" {print $1, $3, $4}' "$tmp/cut/latency.csv" | sort -u | wc -l)" = 8
check "no duplicate rows" test "$(($(wc -l <"$tmp/cut/latency.csv") - 1))" = 8
after=$(awk -F, 'NR > 1 && $7 == "ok" {print $1, $3, $4, $12}' "$tmp/cut/latency.csv" | sort)
check "pairs measured before the interrupt kept as they were" \
	test -z "$(comm -23 <(printf '%s\n' "$before") <(printf '%s\n' "$after"))"
check "heatmaps drawn after resume" is_png "$tmp/cut/latency-xchg_bounce.png"
"$cohmap" latency --resume "$tmp/cut" -q 2>/dev/null
check "resuming a complete run is refused" test $? = 2

echo "== a requeued fleet node step finishes its node's unfinished directory"
# What Slurm's requeue leaves: nodeA's directory killed mid-run (meta.json
# still says running, 3 rows on disk), and a node whose name starts the same.
fl=$tmp/fleet-requeue
mkdir -p "$fl/nodeA-20261205T070000Z" "$fl/nodeAB-20261205T060000Z"
cp "$tmp/cut/topology.txt" "$fl/nodeA-20261205T070000Z/"
head -4 "$tmp/cut/latency.csv" >"$fl/nodeA-20261205T070000Z/latency.csv"
jq '.status = "running" | .experiments.latency.status = "running"' "$tmp/cut/meta.json" \
	>"$fl/nodeA-20261205T070000Z/meta.json"
cp "$fl/nodeA-20261205T070000Z/meta.json" "$fl/nodeAB-20261205T060000Z/"
SLURMD_NODENAME=nodeA "$cohmap" fleet node "$fl" -- latency -q 2>"$tmp/requeue.err"
check "the node step exits 0" test $? = 0
check "it says which directory it resumes" grep -q "nodeA: resuming $fl/nodeA-20261205T070000Z" "$tmp/requeue.err"
check "no second directory for nodeA, nodeAB's left alone" \
	test "$(ls "$fl" | tr '\n' ' ')" = "nodeA-20261205T070000Z nodeAB-20261205T060000Z "
check "nodeA's directory is complete: 8 pairs, the 3 measured before kept" \
	test "$(jq -r .status "$fl/nodeA-20261205T070000Z/meta.json")" = complete -a \
	"$(($(wc -l <"$fl/nodeA-20261205T070000Z/latency.csv") - 1))" = 8 -a \
	"$(head -4 "$fl/nodeA-20261205T070000Z/latency.csv")" = "$(head -4 "$tmp/cut/latency.csv")"
# A complete directory is not resumed: the next step starts a new one.
SLURMD_NODENAME=nodeA "$cohmap" fleet node "$fl" -- latency -c 0,1 -k null -n 5 -q 2>/dev/null
check "after a complete run, a new step writes a new directory" test "$(ls -d "$fl"/nodeA-* | wc -l)" = 2

echo "== --parallel: lanes of disjoint pairs, a serial control subset, the same CSV"
# jq -e as a check, its output dropped (a redirect after check would drop
# the check's own verdict line too).
jq_true() { jq -e "$@" >/dev/null; }
# This machine has room for one pair at a time; the engine, the control
# subset and the ratio per class run all the same. A whole run first: what
# the control subset records does not depend on when a signal lands.
"$cohmap" latency --watchdog 60 -c 0,1 --parallel auto -q -o "$tmp/parfull" -n 5 --seed 3
check "a --parallel run exits 0" test $? = 0
fmeta=$tmp/parfull/meta.json
check "meta.json records --parallel 1 (auto on 2 CPUs)" test "$(jq -r .experiments.latency.parallel "$fmeta")" = 1
check "all 8 pairs ok, each once" \
	test "$(awk -F, 'NR > 1 && $7 == "ok" {print $1, $3, $4}' "$tmp/parfull/latency.csv" | sort -u | wc -l)" = 8 -a \
	"$(($(wc -l <"$tmp/parfull/latency.csv") - 1))" = 8
check "the same columns as a serial run" test "$(head -1 "$tmp/parfull/latency.csv")" = "$(head -1 "$tmp/cut/latency.csv")"
check "a serial control pair was measured" test "$(jq -r .experiments.latency.serial_control_pairs "$fmeta")" -ge 1
check "meta.json: 1 lane, drained at least once (the end), at most 1 pair at a time on average" \
	jq_true '.experiments.latency | .parallel_lanes == 1 and .parallel_drains >= 1 and
		.parallel_mean_concurrency > 0 and .parallel_mean_concurrency <= 1' "$fmeta"
check "a parallel/serial ratio with its CI per class measured" \
	jq_true '.experiments.latency.interference | to_entries | length > 0 and
		all(.value.ratio_median | type == "number")' "$fmeta"
check "the headline gives the ratio" jq_true '.experiments.latency.headline | test("parallel/serial median ratio")' "$fmeta"

# A class out of the [0.95, 1.05] band is measured again alone, its rows
# replacing the parallel ones; forced by the test hook, because on this
# machine one lane disturbs nothing.
COHMAP_TEST_INTERFERENCE=remeasure "$cohmap" latency --watchdog 60 -c 0,1 --parallel auto -q \
	-o "$tmp/parre" -n 5 --seed 3 2>"$tmp/parre.err"
check "remeasured: the run exits 0" test $? = 0
check "remeasured: still 8 rows, every pair ok once" \
	test "$(awk -F, 'NR > 1 && $7 == "ok" {print $1, $3, $4}' "$tmp/parre/latency.csv" | sort -u | wc -l)" = 8 -a \
	"$(($(wc -l <"$tmp/parre/latency.csv") - 1))" = 8
check "remeasured: meta.json says each class was measured again alone, and warns of the hook" \
	jq_true '(.experiments.latency.interference | to_entries | length > 0 and all(.value.remeasured_serially)) and
		(.warnings | any(test("COHMAP_TEST_INTERFERENCE")))' "$tmp/parre/meta.json"

# Ctrl-C once a row is on disk, then --resume: 1 s pairs leave the signal
# time to land mid-run; on a machine so slow that the run ends first, the
# resume has nothing to do and the matrix must still be whole.
"$cohmap" latency --watchdog 60 -c 0,1 --parallel auto -q -o "$tmp/par" -n 5000 --sample-us 200 &
pid=$!
wait_until lines_or_gone "$tmp/par/latency.csv" 2 $pid
kill -INT $pid 2>/dev/null
wait $pid
code=$?
check "an interrupted --parallel run exits 130, or 0 when it ended first ($code)" test "$code" = 130 -o "$code" = 0
"$cohmap" latency --watchdog 60 --resume "$tmp/par" -q 2>"$tmp/par.err"
rcode=$?
check "resumed --parallel run exits 0, or 2 when nothing was left ($code, $rcode)" \
	test "$rcode" = 0 -o \( "$code" = 0 -a "$rcode" = 2 \)
check "all 8 pairs present after resume, each once" \
	test "$(awk -F, 'NR > 1 && $7 == "ok" {print $1, $3, $4}' "$tmp/par/latency.csv" | sort -u | wc -l)" = 8 -a \
	"$(($(wc -l <"$tmp/par/latency.csv") - 1))" = 8
check "the resumed run keeps --parallel" test "$(jq -r .experiments.latency.parallel "$tmp/par/meta.json")" = 1

echo "== --lines: each pair on 4 cache lines, homed on every node, at 4 address classes"
"$cohmap" latency --watchdog 60 -c 0,1 -k load_store --lines 4 -n 5 --seed 4 -o "$tmp/lines" >"$tmp/lines.out" 2>&1
check "a --lines 4 run exits 0" test $? = 0
lcsv=$tmp/lines/latency.csv
lcol() { awk -F, -v name="$1" 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == name) c = i} NR > 1 {print $c}' "$2"; }
check "2 pairs x 4 lines = 8 ok rows, each (pair, line) once" \
	test "$(awk -F, 'NR > 1 && $7 == "ok" {print $3, $4, $18}' "$lcsv" | sort -u | wc -l)" = 8 -a \
	"$(($(wc -l <"$lcsv") - 1))" = 8
check "lines 0-3, each on both pairs" test "$(lcol line "$lcsv" | sort | uniq -c | awk '{print $1 ":" $2}' | tr '\n' ' ')" = "2:0 2:1 2:2 2:3 "
check "4 distinct address classes, line 0 at class 0" \
	test "$(awk -F, 'NR > 1 {print $18 ":" $19}' "$lcsv" | sort -u | wc -l)" = 4 -a \
	"$(awk -F, 'NR > 1 && $18 == 0 {print $19}' "$lcsv" | sort -u)" = 0
# The nodes this machine has: every one homes a line (one node here: all on node 0).
nodes=$(ls -d /sys/devices/system/node/node[0-9]* 2>/dev/null | sed 's/.*node//' | sort -n | head -4 | tr '\n' ' ')
check "the lines' observed home nodes are the machine's nodes ($nodes)" \
	test "$(lcol home_node "$lcsv" | sort -n -u | tr '\n' ' ')" = "$nodes"
check "meta.json records --lines 4" test "$(jq -r .experiments.latency.lines "$tmp/lines/meta.json")" = 4
check "the summary gives the spread by address" grep -q '^where the line lives' "$tmp/lines.out"
check "a spread row for the pair class" grep -Eq '^load_store +[a-z-]+ +2 ' "$tmp/lines.out"
check "latency-load_store-homes.png is a PNG" is_png "$tmp/lines/latency-load_store-homes.png"
check "one data set per home node in the homes .dat" \
	test "$(grep -c '^# home node' "$tmp/lines/latency-load_store-homes.dat")" = "$(echo $nodes | wc -w)"
check "the report has the spread table" grep -q 'Where the line lives' "$tmp/lines/index.html"
check "a --lines 1 run draws no homes figure" test ! -e "$tmp/run/latency-load_store-homes.png"
# --resume keeps the (pair, line) rows it has: cut to 3 rows, marked interrupted.
cp -r "$tmp/lines" "$tmp/lines-cut"
head -4 "$lcsv" >"$tmp/lines-cut/latency.csv"
jq '.status = "interrupted" | .experiments.latency.status = "interrupted"' "$tmp/lines/meta.json" >"$tmp/lines-cut/meta.json"
"$cohmap" latency --watchdog 60 --resume "$tmp/lines-cut" -q
check "a --lines run resumes (exit 0)" test $? = 0
check "after resume: 8 rows, each (pair, line) once, the first 3 kept" \
	test "$(awk -F, 'NR > 1 && $7 == "ok" {print $3, $4, $18}' "$tmp/lines-cut/latency.csv" | sort -u | wc -l)" = 8 -a \
	"$(($(wc -l <"$tmp/lines-cut/latency.csv") - 1))" = 8 -a \
	"$(head -4 "$tmp/lines-cut/latency.csv")" = "$(head -4 "$lcsv")"
# A run from before --lines (no line columns, no lines in meta.json) resumes
# with the new columns: its rows become line 0.
cp -r "$tmp/lines" "$tmp/lines-old"
awk -F, 'BEGIN {OFS = ","} NR <= 2 {$18 = $19 = ""; print}' "$lcsv" | sed 's/,,,/,/' >"$tmp/lines-old/latency.csv"
jq 'del(.experiments.latency.lines) | .status = "interrupted"' "$tmp/lines/meta.json" >"$tmp/lines-old/meta.json"
"$cohmap" latency --watchdog 60 --resume "$tmp/lines-old" -q
check "a run from before --lines resumes (exit 0)" test $? = 0
check "... into the new columns, 2 rows of line 0, the old row kept" \
	test "$(head -1 "$tmp/lines-old/latency.csv")" = "$(head -1 "$lcsv")" -a \
	"$(lcol line "$tmp/lines-old/latency.csv" | tr '\n' ' ')" = "0 0 " -a \
	"$(sed -n 2p "$tmp/lines-old/latency.csv" | cut -d, -f1-17)" = "$(sed -n 2p "$lcsv" | cut -d, -f1-17)"

echo "== counters: software events count, unavailable ones are NA with a reason"
"$cohmap" latency --watchdog 60 -c 0,1 -k load_store -q -o "$tmp/events" -n 20 --events perf::PAGE-FAULTS,PAPI_TOT_CYC 2>"$tmp/events.err"
check "a run with counters exits 0" test $? = 0
col() { awk -F, -v name="$1" 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == name) c = i} NR > 1 {print $c}' "$tmp/events/latency.csv"; }
check "page faults per handoff is a number" bash -c "[[ \$(echo '$(col perf_PAGE_FAULTS_per_handoff | head -1)') =~ ^[0-9.e+-]+$ ]]"
# Without a core PMU the kernel registers no "cpu" (Intel/AMD) or armv8 event source.
if ! ls /sys/bus/event_source/devices/ | grep -qE '^(cpu|cpu_core|armv8.*)$'; then
	check "PAPI_TOT_CYC is NA without hardware counters" test "$(col PAPI_TOT_CYC_per_handoff | sort -u)" = NA
	check "stderr says why in one line" test "$(grep -c 'PAPI_TOT_CYC' "$tmp/events.err")" = 1
	check "meta.json records why" grep -q '"PAPI_TOT_CYC": "PAPI_TOT_CYC' "$tmp/events/meta.json"
fi

echo "== threads against processes"
shm_names_before=$(ls /dev/shm | grep cohmap | sort)
"$cohmap" ipc --watchdog 60 -c 0,1 --rounds 2 -n 10 -q -o "$tmp/ipc" &
ipc_pid=$!
wait $ipc_pid
check "ipc exits 0" test $? = 0
ipc_csv=$tmp/ipc/ipc.csv ipc_sum=$tmp/ipc/ipc-summary.csv
check "ipc.csv: one row per measurement, latency and bandwidth columns with units" \
	grep -q '^round,agents,metric,kernel,cpu_a,cpu_b,pair_class,home_node,status,samples,buffer_bytes,min_ns,p10_ns,median_ns,p90_ns,min_gbps,p10_gbps,median_gbps,p90_gbps,same_physical_page,reason$' "$ipc_csv"
# Columns by name: field N of the header.
ipc_col() { head -1 "$1" | tr ',' '\n' | grep -nx "$2" | cut -d: -f1; }
i_agents=$(ipc_col "$ipc_csv" agents) i_metric=$(ipc_col "$ipc_csv" metric) i_status=$(ipc_col "$ipc_csv" status)
i_ns=$(ipc_col "$ipc_csv" median_ns) i_gbps=$(ipc_col "$ipc_csv" median_gbps) i_bytes=$(ipc_col "$ipc_csv" buffer_bytes)
i_kernel=$(ipc_col "$ipc_csv" kernel) i_page=$(ipc_col "$ipc_csv" same_physical_page)
for kind in thread fork-shared sysv posix memfd; do
	check "ipc.csv has 2 ok latency rounds for $kind, each with a latency in ns" test "$(awk -F, \
		-v a="$i_agents" -v m="$i_metric" -v s="$i_status" -v ns="$i_ns" -v g="$i_gbps" -v k="$kind" \
		'$a == k && $m == "latency" && $s == "ok" && $ns + 0 > 0 && $g == "NA"' "$ipc_csv" | wc -l)" = 2
	check "ipc.csv has 2 ok bandwidth rounds for $kind: the copy kernel, a 1 MiB ring, GB/s > 0" test "$(awk -F, \
		-v a="$i_agents" -v m="$i_metric" -v s="$i_status" -v ns="$i_ns" -v g="$i_gbps" -v b="$i_bytes" \
		-v kn="$i_kernel" -v k="$kind" \
		'$a == k && $m == "bandwidth" && $s == "ok" && $kn == "copy" && $b == 1048576 && $g + 0 > 0 && $ns == "NA"' \
		"$ipc_csv" | wc -l)" = 2
done
if [[ $(id -u) == 0 ]]; then
	check "as root, every process kind maps the same physical page (latency and bandwidth)" \
		test "$(awk -F, -v a="$i_agents" -v c="$i_page" 'NR > 1 && $a != "thread" {print $c}' "$ipc_csv" | sort -u)" = yes
fi
check "ipc-summary.csv has one row per kind and metric" test "$(($(wc -l <"$ipc_sum") - 1))" = 10
s_metric=$(ipc_col "$ipc_sum" metric) s_agents=$(ipc_col "$ipc_sum" agents)
s_dns=$(ipc_col "$ipc_sum" diff_to_thread_ns) s_dg=$(ipc_col "$ipc_sum" diff_to_thread_gbps)
s_gmin=$(ipc_col "$ipc_sum" round_min_gbps) s_gmax=$(ipc_col "$ipc_sum" round_max_gbps)
check "bandwidth summary: every kind has a difference to threads in GB/s (threads: 0) and a spread" \
	test "$(awk -F, -v m="$s_metric" -v a="$s_agents" -v d="$s_dg" -v lo="$s_gmin" -v hi="$s_gmax" \
		'$m == "bandwidth" && $d + 0 == $d && $lo + 0 > 0 && $hi + 0 >= $lo + 0 && ($a != "thread" || $d + 0 == 0)' \
		"$ipc_sum" | wc -l)" = 5
check "latency summary: every kind has a difference to threads in ns" \
	test "$(awk -F, -v m="$s_metric" -v d="$s_dns" '$m == "latency" && $d + 0 == $d' "$ipc_sum" | wc -l)" = 5
check "ipc latency chart drawn" is_png "$tmp/ipc/ipc.png"
check "ipc bandwidth chart drawn" is_png "$tmp/ipc/ipc-bandwidth.png"
rm -f "$tmp/ipc/ipc.png" "$tmp/ipc/ipc-bandwidth.png"
check "cohmap plot redraws both ipc charts" sh -c "'$cohmap' plot '$tmp/ipc' | grep -qx '2 images drawn in .*'"
check "ipc charts back" is_png "$tmp/ipc/ipc.png"
check "ipc bandwidth chart back" is_png "$tmp/ipc/ipc-bandwidth.png"
check "meta.json: the stream copy's ring" test "$(jq .experiments.ipc.stream.buffer_bytes "$tmp/ipc/meta.json")" = 1048576
"$cohmap" ipc --watchdog 60 -c 0,1 --agents thread,sysv --sizes 256K --rounds 1 -n 5 -q -o "$tmp/ipc256"
check "ipc --sizes 256K streams through a 256 KiB ring" test "$(awk -F, -v m="$i_metric" -v b="$i_bytes" \
	'$m == "bandwidth" {print $b}' "$tmp/ipc256/ipc.csv" | sort -u)" = 262144
"$cohmap" latency --watchdog 60 -c 0,1 -k load_store --agents memfd -n 10000 --sample-us 200 -q -o "$tmp/killed" &
pid=$!
# The kill lands while the agent processes run: once one is seen.
wait_until children_or_gone $pid
agents=$children
check "the memfd run's agent processes are seen before the kill ($agents)" test -n "$agents"
kill -KILL $pid
wait $pid 2>/dev/null
check "SIGKILL of the parent leaves no agent process (agents were: $agents)" \
	wait_until none_alive_with "$tmp/killed"
check "no SysV segment of the ipc run or the killed run left" test "$(segments_of $ipc_pid $pid $agents)" = 0
check "no POSIX shm name left" test "$(ls /dev/shm | grep cohmap | sort)" = "$shm_names_before"

echo "== null kernel: the harness alone"
"$cohmap" latency --watchdog 60 -c 0,1 -k null -q -o "$tmp/null" -n 20 2>"$tmp/null.err"
null_rc=$?
cat "$tmp/null.err" >&2
# "samples" counts the samples kept: one disturbed by a context switch on a
# loaded machine is dropped and counted in disturbed_samples, so -n 20 means
# kept + dropped = 20 (or 20 kept when too few were undisturbed to drop any).
null_taken() {
	awk -F, '$1 == "null" && $3 == 0 && $4 == 1 && $7 == "ok" {
		print ($8 == 20 ? 20 : $8 + $(NF - 1)) }' "$tmp/null/latency.csv"
}
check "null kernel runs: 20 samples taken (exit $null_rc; 0->1: $(grep -s '^null,thread,0,1,' "$tmp/null/latency.csv" | cut -d, -f5-9,20,21))" \
	test "$null_rc" = 0 -a "$(null_taken)" = 20
# The null kernel's median is the clock's rounding (~0 ns): no drift warning
# may be computed from it (one said "moved from 0.0 to 0.0 ns (-100%)").
check "null kernel: no drift warning from a 0 ns reference" test "$(grep -c drift "$tmp/null.err")" = 0

echo "== falseshare on CPUs 0,1: every kind and distance, each thread's counter checked"
# Small on purpose (one round of 2 ms runs per point): this checks what is
# written, not how fast anything is.
"$cohmap" falseshare --watchdog 60 -c 0,1 -q -o "$tmp/fs" --rounds 1 --run-ms 2 --seed 5
check "falseshare exits 0" test $? = 0
fs=$tmp/fs/falseshare.csv
col() { head -1 "$1" | tr ',' '\n' | grep -nx "$2" | cut -d: -f1; }
check "falseshare.csv has units in the names" \
	grep -q '^sweep,placement,pair_class,threads,cpus,kind,role,thread,cpu,distance_bytes,padded_stride_bytes,counter_bytes,line_size_bytes,' "$fs"
c_sweep=$(col "$fs" sweep) c_kind=$(col "$fs" kind) c_d=$(col "$fs" distance_bytes)
c_status=$(col "$fs" status) c_slow=$(col "$fs" slowdown) c_ops=$(col "$fs" false_shared_ops)
c_event=$(col "$fs" false_shared_events_per_op) c_reason=$(col "$fs" counter_reason)
for kind in $(awk -F, -v k="$c_kind" -v s="$c_sweep" 'NR > 1 && $s == "distance" {print $k}' "$fs" | sort -u); do
	for d in 0 4 8 16 32 64 128 256; do
		n=$(awk -F, -v k="$c_kind" -v dd="$c_d" -v st="$c_status" -v s="$c_sweep" -v kind="$kind" -v d="$d" \
			'$s == "distance" && $k == kind && $dd == d && $st == "ok"' "$fs" | wc -l)
		check "$kind at d = $d B: one ok row per thread (2)" test "$n" = 2
	done
done
check "the three update kinds ran" \
	test "$(awk -F, -v k="$c_kind" -v s="$c_sweep" 'NR > 1 && $s == "distance" {print $k}' "$fs" | sort -u | tr '\n' ' ')" = "fetch_add store writer_readers "
check "every row verified (status ok: each thread's counter equalled its ops)" \
	test "$(awk -F, -v st="$c_status" 'NR > 1 && $st != "ok"' "$fs" | wc -l)" = 0
check "every thread did operations" \
	test "$(awk -F, -v o="$c_ops" 'NR > 1 && $o + 0 <= 0' "$fs" | wc -l)" = 0
check "coherence events per update: a number, or NA with a reason (never a silent 0)" \
	test "$(awk -F, -v e="$c_event" -v r="$c_reason" 'NR > 1 && !(($e == "NA" && $r != "") || ($e != "NA" && $e + 0 == $e))' "$fs" | wc -l)" = 0
check "the pair heatmap's pair: 2 rows" test "$(awk -F, -v s="$c_sweep" '$s == "pairs"' "$fs" | wc -l)" = 2
check "the fix demo: 2 rows" test "$(awk -F, -v s="$c_sweep" '$s == "fix"' "$fs" | wc -l)" = 2
check "falseshare distance plot is a PNG" is_png "$tmp/fs/falseshare-distance.png"
# falseshare.gp: 1000 wide, 660 + 24 per row of the 2-column key (4 series: 2 rows)
check "falseshare distance plot is 1000x708" test "$(png_size "$tmp/fs/falseshare-distance.png")" = 1000x708
check "falseshare pair heatmap is a PNG" is_png "$tmp/fs/falseshare-pairs.png"
check "meta.json: falseshare complete" \
	python3 -c "import json,sys; e=json.load(open(sys.argv[1]))['experiments']['falseshare']; sys.exit(e['status'] != 'complete' or 'worst slowdown' not in e['headline'])" "$tmp/fs/meta.json"
check "meta.json says which placements ran and why others did not" \
	python3 -c "import json,sys; p=json.load(open(sys.argv[1]))['experiments']['falseshare']['placements']; sys.exit(not all('cpus' in v or 'skipped' in v for v in p.values()))" "$tmp/fs/meta.json"

rm "$tmp/fs"/falseshare-*.png
check "cohmap plot redraws the false-sharing figures" "$cohmap" plot "$tmp/fs"
check "distance plot back" is_png "$tmp/fs/falseshare-distance.png"
check "pair heatmap back" is_png "$tmp/fs/falseshare-pairs.png"
check "experiments/falseshare/falseshare.gp draws on its own" \
	gnuplot -e "data='$tmp/fs/falseshare-distance.dat'; out='$tmp/fs-standalone.png'" "$(dirname "$0")/../experiments/falseshare/falseshare.gp"
check "experiments/falseshare/falseshare-pairs.gp draws on its own" \
	gnuplot -e "data='$tmp/fs/falseshare-pairs.dat'; out='$tmp/fs-pairs-standalone.png'" "$(dirname "$0")/../experiments/falseshare/falseshare-pairs.gp"
check "the standalone drawings are PNGs" is_png "$tmp/fs-standalone.png"

echo "== falseshare: slowdown at d = 0 and d = 8 on CPUs 0,1 (reported, not asserted)"
"$cohmap" falseshare --watchdog 60 -c 0,1 -q -o "$tmp/fs08" --kind store,fetch_add --distances 0,8 --pairs none \
	--rounds 3 --run-ms 5 --seed 6
check "falseshare d = 0, 8 exits 0" test $? = 0
awk -F, -v s="$c_sweep" -v k="$c_kind" -v dd="$c_d" -v sl="$c_slow" -v c="$(col "$tmp/fs08/falseshare.csv" cpu)" \
	'NR > 1 && $s == "distance" {printf "      %-10s d = %3s B  thread on CPU %s: slowdown %sx\n", $k, $dd, $c, $sl}' \
	"$tmp/fs08/falseshare.csv"

echo "== bandwidth: sweep and matrix on CPUs 0,1"
bw=$tmp/bw
"$cohmap" bandwidth --watchdog 60 -c 0,1 --sizes 16K,256K,8M --consumer copy,read -n 5 --sample-us 20 -q \
	-o "$bw" --seed 3
check "bandwidth exits 0" test $? = 0
bw_col() { head -1 "$1" | tr ',' '\n' | grep -nx "$2" | cut -d: -f1; }
bwcsv=$bw/bandwidth.csv
check "bandwidth.csv has units in the names" \
	grep -q '^series,producer,consumer,agents,cpu_a,cpu_b,pair_class,buffer_bytes,chunk_bytes,.*,median_gbps,.*,traffic_median_gbps,reason$' "$bwcsv"
b_series=$(bw_col "$bwcsv" series) b_cons=$(bw_col "$bwcsv" consumer) b_class=$(bw_col "$bwcsv" pair_class)
b_bytes=$(bw_col "$bwcsv" buffer_bytes) b_status=$(bw_col "$bwcsv" status) b_med=$(bw_col "$bwcsv" median_gbps)
b_samples=$(bw_col "$bwcsv" samples)
# The classes among CPUs 0,1 (as cohmap topo counts them), and the same-core baseline.
bw_classes="self $("$cohmap" topo -c 0,1 | awk '/^pairs by class/ {p = 1; next} p && $2 > 0 {print $1}' | tr '\n' ' ')"
for consumer in copy read; do
	for bytes in 16384 262144 8388608; do
		for class in $bw_classes; do
			n=$(awk -F, -v s="$b_series" -v k="$b_cons" -v c="$b_class" -v b="$b_bytes" -v st="$b_status" \
				-v m="$b_med" -v n="$b_samples" -v kk="$consumer" -v bb="$bytes" -v cc="$class" \
				'$s == "sweep" && $k == kk && $c == cc && $b == bb && $st == "ok" && $m > 0 && $n == 5' "$bwcsv" | wc -l)
			check "bandwidth $consumer $bytes B $class: one ok sweep row with 5 samples" test "$n" = 1
		done
	done
	check "bandwidth $consumer: matrix of 4 ok rows (2 x 2, diagonal = same core)" \
		test "$(awk -F, -v s="$b_series" -v k="$b_cons" -v st="$b_status" -v kk="$consumer" \
			'$s == "matrix" && $k == kk && $st == "ok"' "$bwcsv" | wc -l)" = 4
	check "bandwidth-$consumer.png is a 1000x640 PNG" test "$(png_size "$bw/bandwidth-$consumer.png")" = 1000x640
	check "bandwidth-matrix-$consumer.png is a 680x600 PNG" \
		test "$(png_size "$bw/bandwidth-matrix-$consumer.png")" = 680x600
done
check "meta.json: bandwidth complete with a headline in GB/s" \
	python3 -c "import json,sys; e=json.load(open(sys.argv[1]))['experiments']['bandwidth']; sys.exit(e['status'] != 'complete' or 'GB/s' not in e['headline'])" "$bw/meta.json"
check "experiments/bandwidth/bandwidth.gp draws from the CSV alone" \
	gnuplot -e "data='$bwcsv'; out='$tmp/bw-standalone.png'; consumer='read'" "$(dirname "$0")/../experiments/bandwidth/bandwidth.gp"
check "the standalone drawing is a PNG" is_png "$tmp/bw-standalone.png"

echo "== bandwidth: a corrupted chunk fails the run and gives no number"
COHMAP_TEST_CORRUPT=payload:3 "$cohmap" bandwidth --watchdog 60 -c 0,1 --sizes 64K --consumer read,copy -n 5 -q \
	-o "$tmp/bwbad" 2>"$tmp/bwbad.err"
check "wrong data exits 1" test $? = 1
check "every row says wrong_data, with NA for the bandwidth" \
	test "$(awk -F, -v st="$b_status" -v m="$b_med" 'NR > 1 && !($st == "wrong_data" && $m == "NA")' "$tmp/bwbad/bandwidth.csv" | wc -l)" = 0
check "stderr says where the data was wrong" grep -q 'wrong data: chunk' "$tmp/bwbad.err"
check "meta.json: bandwidth failed" \
	python3 -c "import json,sys; sys.exit(json.load(open(sys.argv[1]))['experiments']['bandwidth']['status'] != 'failed')" "$tmp/bwbad/meta.json"

echo "== states: every state and operation on CPUs 0,1"
"$cohmap" states --watchdog 60 -c 0,1 -q -o "$tmp/states" --seed 5 -n 12
check "states exits 0" test $? = 0
scsv=$tmp/states/states.csv
s_col() { head -1 "$scsv" | tr , '\n' | grep -nx "$1" | cut -d: -f1; }
check "states.csv header names the transition, the CPUs and units" \
	grep -q '^kernel,state,operation,cpu_owner,cpu_requester,cpu_sharer,pair_class,sharer_class,home_node,invalidation_method,agents,status,lines_per_sample,line_stride_bytes,samples,disturbed_samples,min_ns,p10_ns,median_ns,p90_ns,' "$scsv"
s_med=$(s_col median_ns) s_st=$(s_col status) s_k=$(s_col kernel)
for kernel in $("$cohmap" list | awk '$2 == "states" {print $1}'); do
	rows=$(awk -F, -v k="$kernel" -v kc="$s_k" -v sc="$s_st" '$kc == k && $sc == "ok"' "$scsv" | wc -l)
	median=$(awk -F, -v k="$kernel" -v kc="$s_k" -v mc="$s_med" '$kc == k {print $mc; exit}' "$scsv")
	check "states $kernel: one ok row" test "$rows" = 1
	check "states $kernel: median $median ns is plausible (0 < x < 10000)" \
		awk -v m="$median" 'BEGIN {exit !(m > 0 && m < 10000)}'
done
check "20 rows (5 states x 4 operations, one pair class here)" test "$(($(wc -l <"$scsv") - 1))" = 20
check "shared rows name the sharer (the requester: two CPUs)" \
	test "$(awk -F, 'NR > 1 && $2 == "shared" && $6 == $5' "$scsv" | wc -l)" = 4
check "rows of E, S and I name how lines were invalidated" \
	test "$(awk -F, 'NR > 1 && ($2 == "exclusive" || $2 == "shared" || $2 == "invalid") && $10 ~ /^clflush/' "$scsv" | wc -l)" = 12
local_ns=$(awk -F, -v mc="$s_med" '$1 == "load_local" {print $mc}' "$scsv")
flushed_ns=$(awk -F, -v mc="$s_med" '$1 == "load_from_invalid" {print $mc}' "$scsv")
echo "      cached local load: $local_ns ns; load of a flushed line: $flushed_ns ns (median per access)"
if awk -v l="$local_ns" -v f="$flushed_ns" 'BEGIN {exit !(f > 3 * l || l > 3 * f)}'; then
	check "a cached local load is cheaper than a load from memory" \
		awk -v l="$local_ns" -v f="$flushed_ns" 'BEGIN {exit !(l < f)}'
fi
check "states.png is a PNG" is_png "$tmp/states/states.png"
check "meta.json: states complete, invalidation method and headline recorded" \
	python3 -c "import json,sys; e=json.load(open(sys.argv[1]))['experiments']['states']; sys.exit(e['status'] != 'complete' or not e['invalidation_method'].startswith('clflush') or 'ns' not in e['headline'] or e['plots'] != ['states.png'])" "$tmp/states/meta.json"
check "experiments/states/states.gp draws on its own" \
	gnuplot -e "data='$tmp/states/states-bars.dat'; out='$tmp/states-standalone.png'" "$(dirname "$0")/../experiments/states/states.gp"
check "the standalone drawing is a PNG" is_png "$tmp/states-standalone.png"

echo "== states --all-pairs: a heatmap per kernel, and a redraw"
"$cohmap" states --watchdog 60 -c 0,1 -q -o "$tmp/states-all" --all-pairs -k load_local,load_from_modified -n 6 --seed 5
check "states --all-pairs exits 0" test $? = 0
check "2 kernels x 2 ordered pairs = 4 ok rows" \
	test "$(awk -F, 'NR > 1 && $12 == "ok"' "$tmp/states-all/states.csv" | wc -l)" = 4
for kernel in load_local load_from_modified; do
	check "states-$kernel.png is a 680x600 heatmap" test "$(png_size "$tmp/states-all/states-$kernel.png")" = 680x600
done
rm "$tmp/states-all"/*.png
check "cohmap plot redraws the states plots" "$cohmap" plot "$tmp/states-all" --stat min
check "bar chart and heatmaps back" is_png "$tmp/states-all/states-load_from_modified.png"

echo "== states --invalidate evict (a topology that says the LLC is 1 MiB, to keep it short)"
"$cohmap" topo --save "$tmp/small-llc.topo" >/dev/null
sed -i 's/^l3_bytes .*/l3_bytes 1048576/' "$tmp/small-llc.topo"
"$cohmap" states --watchdog 60 -c 0,1 -q -o "$tmp/states-evict" --topology "$tmp/small-llc.topo" --invalidate evict \
	-k load_local,load_from_exclusive,store_on_shared,faa_on_invalid -n 5 --seed 5
check "states --invalidate evict exits 0" test $? = 0
check "4 ok rows, invalidation_method evict where one is used" \
	test "$(awk -F, 'NR > 1 && $12 == "ok" && ($10 == "evict" || $2 == "local")' "$tmp/states-evict/states.csv" | wc -l)" = 4
check "meta.json records the eviction buffer (2 x LLC)" \
	python3 -c "import json,sys; e=json.load(open(sys.argv[1]))['experiments']['states']; sys.exit(e['evict_bytes'] != 2097152)" "$tmp/states-evict/meta.json"

# cohmap fork: its checks live in their own file.
source "$(dirname "$0")/e2e-fork.sh"

echo "e2e: $failures failed"
[[ $failures == 0 ]]
