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

cpus=$(taskset -pc $$ | sed 's/.*: //')
echo "== latency matrix on CPUs 0,1 (this process may use: $cpus)"
"$cohmap" latency -c 0,1 -q -o "$tmp/run" --seed 42
code=$?
check "latency exits 0" test "$code" = 0
csv=$tmp/run/latency.csv
check "latency.csv written" test -s "$csv"
check "header has units in the names" grep -q '^kernel,agents,cpu_a,cpu_b,pair_class,home_node,status,samples,round_trips_per_sample,min_ns,p10_ns,median_ns,p90_ns,mean_ns,stddev_ns,ci95_low_ns,ci95_high_ns,perf_CPU_MIGRATIONS_per_handoff,perf_CONTEXT_SWITCHES_per_handoff,disturbed_samples,reason$' "$csv"
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
"$cohmap" latency -c 0,1 -q -o "$tmp/again" --seed 42 -n 5
check "pair order replays" test "$(cut -d, -f1,3,4 "$csv")" = "$(cut -d, -f1,3,4 "$tmp/again/latency.csv")"

echo "== redraw without measuring"
rm "$tmp/run"/latency-*.png
check "plot redraws" "$cohmap" plot "$tmp/run" --stat min
check "heatmap back" is_png "$tmp/run/latency-load_store.png"

echo "== Ctrl-C keeps the finished pairs"
"$cohmap" latency -c 0,1 -q -o "$tmp/cut" --time-limit 0.3 --precision 0.1 &
pid=$!
# Interrupt once a pair is on disk (however loaded the machine is), well
# before the 8th: each pair takes up to 0.3 s.
for _ in $(seq 200); do
	[[ $(wc -l <"$tmp/cut/latency.csv" 2>/dev/null || echo 0) -ge 2 ]] && break
	sleep 0.05
done
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

echo "== counters: software events count, unavailable ones are NA with a reason"
"$cohmap" latency -c 0,1 -k load_store -q -o "$tmp/events" -n 20 --events perf::PAGE-FAULTS,PAPI_TOT_CYC 2>"$tmp/events.err"
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
shm_before=$(ipcs -m | grep -c '^0x' || true)
"$cohmap" ipc -c 0,1 --rounds 2 -n 10 -q -o "$tmp/ipc"
check "ipc exits 0" test $? = 0
for kind in thread fork-shared sysv posix memfd; do
	check "ipc.csv has 2 ok rounds for $kind" test "$(awk -F, -v k="$kind" '$2 == k && $8 == "ok"' "$tmp/ipc/ipc.csv" | wc -l)" = 2
done
if [[ $(id -u) == 0 ]]; then
	check "as root, every process kind maps the same physical page" \
		test "$(awk -F, 'NR > 1 && $2 != "thread" {print $14}' "$tmp/ipc/ipc.csv" | sort -u)" = yes
fi
check "ipc-summary.csv has one row per kind" test "$(($(wc -l <"$tmp/ipc/ipc-summary.csv") - 1))" = 5
check "ipc chart drawn" is_png "$tmp/ipc/ipc.png"
"$cohmap" latency -c 0,1 -k load_store --agents memfd --time-limit 2 --precision 0.01 -q -o "$tmp/killed" &
pid=$!
sleep 1
kill -KILL $pid
wait $pid 2>/dev/null
sleep 0.3
check "SIGKILL of the parent leaves no agent process" test -z "$(pgrep -f "$tmp/killed" || true)"
check "no SysV segment left" test "$(ipcs -m | grep -c '^0x' || true)" = "$shm_before"
check "no POSIX shm name left" test -z "$(ls /dev/shm | grep cohmap || true)"

echo "== null kernel: the harness alone"
"$cohmap" latency -c 0,1 -k null -q -o "$tmp/null" -n 20
check "null kernel runs" grep -q '^null,thread,0,1,.*,ok,20,' "$tmp/null/latency.csv"

echo "e2e: $failures failed"
[[ $failures == 0 ]]
