#!/usr/bin/env bash
# The aarch64 build (make ARCH=aarch64) under QEMU's user mode (make
# check-aarch64): the unit tests, latency, states and falseshare end to end
# with the properties tests/e2e.sh asserts on x86 (rows complete and ok, data
# checked, PNGs drawn by the host's gnuplot), both forms of the atomic
# kernels (LSE and LL/SC), a CPU without LSE, and a smoke run of bandwidth,
# channels, attach, fork and contention.
#
# QEMU runs the arm64 binaries directly: the host's /lib/ld-linux-aarch64.so.1
# and arm64 libraries come from DEB_PACKAGES_ARM64 (make deps). No
# QEMU_LD_PREFIX: with it, agent threads were seen to hang. Two CPU models:
# neoverse-n1 (ARMv8.2, LSE, 64-byte lines, as Graviton 2 and Ampere Altra),
# and cortex-a53 (ARMv8.0: no LSE). QEMU's default model ("max") reports
# 32-byte lines, which no arm64 server has. QEMU's timing says nothing about
# hardware: no time is asserted beyond "a number".
#
# usage: tests/aarch64.sh BUILD_DIR     (from the source root; build/aarch64)
set -uo pipefail
build=$(realpath "${1:?usage: tests/aarch64.sh BUILD_DIR}")
src=$(pwd)
bin=$build/cohmap
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0
check() { # description, command...
	local what=$1
	shift
	checks=$((checks + 1))
	if "$@"; then echo "ok    $what"; else echo "FAIL  $what"; failures=$((failures + 1)); fi
}
is_png() { [[ -f $1 && $(od -An -tx1 -N8 "$1" | tr -d ' \n') == 89504e470d0a1a0a ]]; }
col() { head -1 "$1" | tr ',' '\n' | grep -nx "$2" | cut -d: -f1; }
# rows of CSV $1 whose column $2 is not $3 (after the header)
rows_not() { awk -F, -v c="$(col "$1" "$2")" -v v="$3" 'NR > 1 && $c != v' "$1" | wc -l; }
rows() { echo $(($(wc -l <"$1") - 1)); }
n1() { qemu-aarch64 -cpu neoverse-n1 "$@"; }
a53() { qemu-aarch64 -cpu cortex-a53 "$@"; }
# meta.json field, by a Python expression on m
meta() { python3 -c "import json,sys; m=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1"; }

command -v qemu-aarch64 >/dev/null || { echo "aarch64: qemu-aarch64 is missing (make deps installs qemu-user)" >&2; exit 2; }
[[ -x $bin ]] || { echo "aarch64: no $bin (make ARCH=aarch64)" >&2; exit 2; }

echo "== the build"
check "cohmap is an aarch64 executable" sh -c "file -L '$bin' | grep -q 'ARM aarch64'"
check "it runs under qemu-aarch64" n1 "$bin" --help >/dev/null
list=$(n1 "$bin" list)
for k in cas_bounce faa_bounce xchg_bounce; do
	check "list: $k in two forms, ${k}_lse and ${k}_llsc" \
		sh -c "printf '%s\n' \"\$1\" | awk '\$2 == \"latency\" {print \$1}' | grep -qx ${k}_lse &&
		       printf '%s\n' \"\$1\" | awk '\$2 == \"latency\" {print \$1}' | grep -qx ${k}_llsc" _ "$list"
	check "list: no plain $k on aarch64" sh -c "! printf '%s\n' \"\$1\" | awk '{print \$1}' | grep -qx $k" _ "$list"
done
check "list: the LSE kernels say their instruction" grep -q "(LSE: casal)" <<<"$list"
check "list: the LL/SC kernels say theirs" grep -q "(LL/SC: ldaxr, cmp, stlxr loop)" <<<"$list"
topo=$(n1 "$bin" topo 2>&1)
check "topology from sysfs, saying why not likwid" grep -q "^source  *sysfs (likwid: this build has no liblikwid" <<<"$topo"
check "topology: 64-byte lines (neoverse-n1)" grep -q "^line size  *64 bytes" <<<"$topo"
out=$(n1 "$bin" latency -c S0:0-1 -q -o "$tmp/expr" 2>&1)
check "a likwid expression is a usage error (exit 2) that says why" test $? = 2
check "... naming liblikwid" grep -q "needs liblikwid, which is not available" <<<"$out"

echo "== unit tests under qemu-aarch64 (neoverse-n1)"
# What QEMU's user mode cannot do, and the test that needs it; any other
# failure fails the check.
declare -A qemu_cannot=(
	[test_fork:the_census_matches_the_page_table_model]="QEMU maps guest memory itself: VmPTE does not follow the guest's mappings"
	[test_procs:children_die_with_their_parent]="QEMU does not emulate prctl(PR_SET_CHILD_SUBREAPER)"
)
for t in "$build"/tests/test_*; do
	name=$(basename "$t")
	COHMAP_SRCDIR=$src timeout 900 qemu-aarch64 -cpu neoverse-n1 "$t" >"$tmp/$name.log" 2>&1
	code=$?
	passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$tmp/$name.log" | head -1)
	unexpected=""
	for f in $(sed -n 's/^\[  FAILED  \] \([a-z_0-9]*\)$/\1/p' "$tmp/$name.log" | sort -u); do
		if [[ -n ${qemu_cannot[$name:$f]:-} ]]; then
			echo "      $name: $f fails under QEMU, as expected: ${qemu_cannot[$name:$f]}"
		else
			unexpected="$unexpected $f"
		fi
	done
	if [[ $code != 0 && -z $unexpected && $code -gt 100 ]]; then unexpected=" (killed: exit $code)"; fi
	check "$name: ${passed:-0} passed, no unexpected failure${unexpected:+:$unexpected}" \
		test -z "$unexpected" -a -n "$passed"
	# what failed, from cmocka's own lines, for whoever reads the log
	if [[ -n $unexpected ]]; then grep -E 'error:|Failure|ERROR|FAILED' "$tmp/$name.log" | head -12 | sed 's/^/      /'; fi
done

echo "== latency on CPUs 0,1: load_store and both forms of every atomic kernel"
n1 "$bin" latency --watchdog 60 -c 0,1 -n 5 -q -o "$tmp/lat" --seed 42 2>"$tmp/lat.err"
check "latency exits 0" test $? = 0
csv=$tmp/lat/latency.csv
check "latency.csv: 14 rows (7 kernels x 2 ordered pairs)" test "$(rows "$csv")" = 14
check "every row ok" test "$(rows_not "$csv" status ok)" = 0
for form in lse llsc; do
	check "$form rows: 6 (3 kernels x 2 pairs)" \
		test "$(awk -F, -v f="_$form" 'NR > 1 && substr($1, length($1) - length(f) + 1) == f' "$csv" | wc -l)" = 6
done
c_med=$(col "$csv" median_ns)
check "every median a number (0 <= x < 1e6; QEMU times nothing real)" \
	test "$(awk -F, -v m="$c_med" 'NR > 1 && !($m + 0 == $m && $m >= 0 && $m < 1e6)' "$csv" | wc -l)" = 0
check "every kernel's handoffs checked (no wrong_data, no failed)" test "$(grep -c 'wrong\|failed' "$csv")" = 0
for k in load_store cas_bounce_lse cas_bounce_llsc faa_bounce_llsc xchg_bounce_lse; do
	check "latency-$k.png drawn" is_png "$tmp/lat/latency-$k.png"
done
check "meta.json: complete" meta "$tmp/lat/meta.json" "m['experiments']['latency']['status'] == 'complete'"
check "meta.json: architecture aarch64" meta "$tmp/lat/meta.json" "m['machine']['architecture'] == 'aarch64'"
check "meta.json: the clock names the arm timer (used, or refused with the reason)" \
	meta "$tmp/lat/meta.json" "m['clock']['timer'] == 'cntvct_el0' or m['clock'].get('rejected_timer', '').startswith('cntvct_el0: ')"
check "meta.json: timer resolution and read overhead recorded" \
	meta "$tmp/lat/meta.json" "m['clock']['resolution_ns'] > 0 and m['clock']['read_overhead_median_ns'] >= 0 and m['clock']['observed_step_ns'] > 0"
check "meta.json: atomics are LSE on neoverse-n1" meta "$tmp/lat/meta.json" "m['machine']['atomics'].startswith('LSE')"
check "meta.json: no kernel skipped" meta "$tmp/lat/meta.json" "'skipped_kernels' not in m['experiments']['latency']"
check "the run's meta.json is valid" "$src/cohmap" report "$tmp/lat" >/dev/null 2>&1
rm "$tmp/lat"/*.png
check "the host's cohmap redraws the aarch64 run" "$src/cohmap" plot "$tmp/lat"
check "heatmap back" is_png "$tmp/lat/latency-cas_bounce_llsc.png"

echo "== a CPU without LSE (cortex-a53): LSE kernels skipped, never a SIGILL"
a53 "$bin" latency --watchdog 60 -c 0,1 -n 5 -q -o "$tmp/a53" --seed 42 2>"$tmp/a53.err"
check "latency with every kernel exits 0" test $? = 0
csv=$tmp/a53/latency.csv
check "8 rows: load_store and the three LL/SC kernels" test "$(rows "$csv")" = 8
check "every row ok" test "$(rows_not "$csv" status ok)" = 0
check "no LSE row" test "$(grep -c '_lse,' "$csv")" = 0
check "one line on stderr names the skipped kernels and why" \
	test "$(grep -c 'skipped cas_bounce_lse, faa_bounce_lse, xchg_bounce_lse: this CPU has no LSE atomics' "$tmp/a53.err")" = 1
check "meta.json: the skipped kernels and the reason" \
	meta "$tmp/a53/meta.json" "[s['kernel'] for s in m['experiments']['latency']['skipped_kernels']] == ['cas_bounce_lse', 'faa_bounce_lse', 'xchg_bounce_lse'] and all('HWCAP_ATOMICS' in s['reason'] for s in m['experiments']['latency']['skipped_kernels'])"
check "meta.json: atomics are LL/SC" meta "$tmp/a53/meta.json" "m['machine']['atomics'].startswith('LL/SC')"
a53 "$bin" latency --watchdog 60 -c 0,1 -n 5 -q -k cas_bounce_lse,faa_bounce_lse -o "$tmp/a53-lse" 2>"$tmp/a53-lse.err"
code=$?
check "only LSE kernels asked: exit 3 (skipped), not 132 (SIGILL)" test "$code" = 3
check "... one line saying why" test "$(wc -l <"$tmp/a53-lse.err")" = 1
check "... naming HWCAP_ATOMICS" grep -q "cas_bounce_lse, faa_bounce_lse: this CPU has no LSE atomics (ARMv8.1; HWCAP_ATOMICS is not set)" "$tmp/a53-lse.err"
check "... and no results directory" test ! -e "$tmp/a53-lse"
a53 "$bin" ipc -c 0,1 -k xchg_bounce_lse -q -o "$tmp/a53-ipc" 2>"$tmp/a53-ipc.err"
check "ipc with an LSE kernel: exit 3 (skipped), not a SIGILL" test $? = 3
check "... saying why" grep -q "skipped: xchg_bounce_lse: this CPU has no LSE atomics" "$tmp/a53-ipc.err"
a53 "$bin" states --watchdog 60 -c 0,1 -q -o "$tmp/a53-states" -n 5 --seed 5 -k cas_on_modified,faa_on_shared 2>/dev/null
check "states' CAS and FAA walks run on a CPU without LSE" test $? = 0
check "... ok rows" test "$(rows_not "$tmp/a53-states/states.csv" status ok)" = 0

echo "== states on CPUs 0,1: every state and operation, lines flushed with dc civac"
n1 "$bin" states --watchdog 60 -c 0,1 -q -o "$tmp/states" --seed 5 -n 12 2>/dev/null
check "states exits 0" test $? = 0
scsv=$tmp/states/states.csv
check "20 rows (5 states x 4 operations)" test "$(rows "$scsv")" = 20
check "every row ok (each walk checked its chain)" test "$(rows_not "$scsv" status ok)" = 0
check "rows of E, S and I were invalidated with dc_civac" \
	test "$(awk -F, 'NR > 1 && ($2 == "exclusive" || $2 == "shared" || $2 == "invalid") && $10 == "dc_civac"' "$scsv" | wc -l)" = 12
check "states.png drawn" is_png "$tmp/states/states.png"
check "meta.json: states complete, invalidation dc_civac" \
	meta "$tmp/states/meta.json" "m['experiments']['states']['status'] == 'complete' and m['experiments']['states']['invalidation_method'] == 'dc_civac'"
out=$(n1 "$bin" states -c 0,1 -q --invalidate clflush -o "$tmp/states-clflush" 2>&1)
check "states --invalidate clflush: a usage error on aarch64 (exit 2)" test $? = 2
check "... listing what this architecture has" grep -q -- "--invalidate must be auto, dc_civac or evict (got 'clflush')" <<<"$out"
n1 "$bin" topo --save "$tmp/small-llc.topo" >/dev/null
sed -i 's/^l3_bytes .*/l3_bytes 1048576/' "$tmp/small-llc.topo"
n1 "$bin" states --watchdog 60 -c 0,1 -q -o "$tmp/states-evict" --invalidate evict -n 5 --seed 5 \
	-k load_local,load_from_invalid --topology "$tmp/small-llc.topo" 2>/dev/null
check "states --invalidate evict exits 0" test $? = 0

echo "== falseshare on CPUs 0,1: every kind and distance, each thread's counter checked"
n1 "$bin" falseshare --watchdog 60 -c 0,1 -q -o "$tmp/fs" --rounds 1 --run-ms 2 --seed 5 2>/dev/null
check "falseshare exits 0" test $? = 0
fs=$tmp/fs/falseshare.csv
check "the three update kinds ran" \
	test "$(awk -F, -v k="$(col "$fs" kind)" -v s="$(col "$fs" sweep)" 'NR > 1 && $s == "distance" {print $k}' "$fs" | sort -u | tr '\n' ' ')" = "fetch_add store writer_readers "
check "every row verified (status ok)" test "$(rows_not "$fs" status ok)" = 0
check "falseshare distance plot drawn" is_png "$tmp/fs/falseshare-distance.png"
check "falseshare pair heatmap drawn" is_png "$tmp/fs/falseshare-pairs.png"
check "meta.json: falseshare complete" meta "$tmp/fs/meta.json" "m['experiments']['falseshare']['status'] == 'complete'"

echo "== smoke: bandwidth (with stnp non-temporal stores), channels, attach, fork, contention"
n1 "$bin" bandwidth --watchdog 60 -c 0,1 --sizes 64K --producer write_nt --consumer read,copy,copy_nt -n 5 -q \
	-o "$tmp/bw" 2>/dev/null
check "bandwidth exits 0" test $? = 0
check "bandwidth: every row ok (data checked)" test "$(rows_not "$tmp/bw/bandwidth.csv" status ok)" = 0
check "bandwidth: meta.json names the vector ISA" meta "$tmp/bw/meta.json" "m['experiments']['bandwidth']['vector_isa'].startswith('asimd')"
n1 "$bin" channels --watchdog 60 -c 0,1 --channel ring,pipe,vmsplice,socket,handover --sizes 64,4K -n 5 -q \
	-o "$tmp/ch" 2>/dev/null
check "channels exits 0 (process_vm_readv left out: QEMU lacks it)" test $? = 0
check "channels: every row ok" test "$(rows_not "$tmp/ch/channels.csv" status ok)" = 0
n1 "$bin" attach --watchdog 60 -c 0,1 --sizes 64K -n 5 -q -o "$tmp/at" 2>/dev/null
check "attach exits 0" test $? = 0
check "attach: meta.json complete" meta "$tmp/at/meta.json" "m['experiments']['attach']['status'] == 'complete'"
n1 "$bin" fork --sizes 1M --repeat 3 --processes 2 --segment 8M -q -o "$tmp/fk" 2>/dev/null
check "fork exits 0" test $? = 0
check "fork: meta.json complete" meta "$tmp/fk/meta.json" "m['experiments']['fork']['status'] == 'complete'"

n1 "$bin" contention --watchdog 60 -c 0,1 --rounds 1 --run-ms 2 --seed 5 -q -o "$tmp/ct" 2>/dev/null
check "contention exits 0" test $? = 0
ct=$tmp/ct/contention.csv
check "contention: every row ok or skipped" \
	test "$(awk -F, -v c="$(col "$ct" status)" 'NR > 1 && $c != "ok" && $c != "skipped"' "$ct" | wc -l)" = 0
check "contention: the split locks skipped (an x86 matter), the rest ok" \
	test "$(awk -F, -v c="$(col "$ct" status)" 'NR > 1 && $c == "skipped" && $0 !~ /(split|aligned)_lock_add/' "$ct" | wc -l)" = 0
for op in fetch_add cas_loop exchange fetch_add_padded; do
	check "contention: $op ran in both forms (${op}_lse, ${op}_llsc)" \
		test "$(awk -F, -v o="$(col "$ct" op_or_lock)" -v c="$(col "$ct" status)" -v op="$op" \
			'NR > 1 && $c == "ok" && ($o == op "_lse" || $o == op "_llsc")' "$ct" | wc -l)" = 4
done
check "contention: the ladder's fetch_add column found its op" \
	test "$(awk -F, 'NR == 2 {print $4}' "$tmp/ct/contention-ladder.csv")" != NA
check "contention.png drawn" is_png "$tmp/ct/contention.png"
a53 "$bin" contention --watchdog 60 -c 0,1 --rounds 1 --run-ms 2 --seed 5 -q -o "$tmp/ct53" 2>/dev/null
check "contention on a CPU without LSE exits 0" test $? = 0
check "contention without LSE: every _lse op skipped with the reason, every _llsc op ok" \
	test "$(awk -F, -v o="$(col "$tmp/ct53/contention.csv" op_or_lock)" -v c="$(col "$tmp/ct53/contention.csv" status)" \
		'NR > 1 && (($o ~ /_lse$/ && !($c == "skipped" && $0 ~ /HWCAP_ATOMICS/)) || ($o ~ /_llsc$/ && $c != "ok"))' \
		"$tmp/ct53/contention.csv" | wc -l)" = 0

echo "aarch64: $((checks - failures)) of $checks checks passed"
[[ $failures == 0 ]]
