#!/usr/bin/env bash
# A large machine, run for real: a QEMU TCG guest with 32 vCPUs over 4 sockets
# (4 cores of 2 threads each, one NUMA node per socket) on this 2-CPU host
# runs `cohmap latency --parallel auto` on every CPU (tests/vm/init-large),
# and the matrix must come back complete: every ordered pair ok, lanes of
# disjoint pairs, the serial control subset, the heatmap drawn on the host.
# Up to 8 agents spin on vCPUs that the host runs a fraction of the time, so
# this is also the test that cohmap's waiters back off (kernels/kernel.h)
# instead of starving the partner they wait for. Timings mean nothing here.
#
#   tests/vm/check-vm-large.sh ./cohmap       (make check-vm-large)
#
# Kernel, initramfs and boot as in tests/vm/check-vm.sh, whose functions this
# reuses, and so is the wait: for the guest's progress, not for a time (it
# took 71 s on a quiet host, 486 s while other builds ran, more than 900 s
# beside make check-loaded's stress-ng); only a guest whose progress stops for
# COHMAP_VM_STALL_TIMEOUT seconds (default 600) fails as hung.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
vm_init=$here/init-large
# shellcheck source=tests/vm/check-vm.sh
source "$here/check-vm.sh" "$1"
work=$src/build/vm-large
# 32 emulated vCPUs boot far slower than 8 on a loaded host: the boot bound
# (no "== guest: cohmap" line yet) is longer here.
boot_timeout_s=${COHMAP_VM_BOOT_TIMEOUT:-900}
sockets=4 cores=4 threads=2
ncpus=$((sockets * cores * threads))

mkdir -p "$work"
kernel=$(fetch_kernel) || exit 1
echo "== kernel $kernel"
build_initramfs
numa=()
for ((s = 0; s < sockets; s++)); do
	first=$((s * cores * threads))
	numa+=(-object "memory-backend-ram,id=m$s,size=512M"
	       -numa "node,nodeid=$s,cpus=$first-$((first + cores * threads - 1)),memdev=m$s")
done
rm -f "$work/console.log" "$work/data.txt"
echo "== booting the guest ($sockets sockets x $cores cores x $threads threads)"
started=$(date +%s)
qemu-system-x86_64 \
	-accel tcg,thread=multi -cpu Skylake-Server \
	-smp $ncpus,sockets=$sockets,cores=$cores,threads=$threads -m 2G "${numa[@]}" \
	-kernel "$kernel" -initrd "$work/initramfs.gz" \
	-append "console=ttyS0 loglevel=4 panic=-1 no_timer_check" \
	-nographic -no-reboot -monitor none \
	-serial "file:$work/console.log" -serial "file:$work/data.txt" 2>"$work/qemu.log" &
qemu_pid=$!
watch_guest "$started"
if [[ $qemu_code != 0 ]]; then
	grep -v "TCG doesn't support requested feature" "$work/qemu.log" >&2
	[[ $qemu_code == 124 ]] && echo "check-vm-large: the guest hung $hung" >&2
	echo "check-vm-large: qemu exited with $qemu_code; last console lines:" >&2
	# From the guest's thread dump on, when it wrote one (tests/vm/init-large).
	if grep -q "no new row for" "$work/console.log"; then
		tac "$work/console.log" | sed '/no new row for/q' | tac | head -80 >&2
	else
		tail -20 "$work/console.log" >&2
	fi
	exit 1
fi
out=$work/out
rm -rf "$out"
mkdir -p "$out"
tr -d '\r' <"$work/data.txt" | sed -n '/^COHMAP-RESULTS-BEGIN$/,/^COHMAP-RESULTS-END$/p' |
	sed '1d;$d' | base64 -d | tar -xz -C "$out" 2>/dev/null
if [[ ! -s $out/exit-codes ]]; then
	echo "check-vm-large: no results came out of the guest; last console lines:" >&2
	tail -30 "$work/console.log" >&2
	exit 1
fi
echo "== results from the guest in $out ($(awk '$1 == "parallel" {print $2}' "$out/seconds") s for the matrix)"
exit_of() { awk -v s="$1" '$1 == s {print $2}' "$out/exit-codes"; }

check "guest kernel sees $ncpus CPUs" test "$(cat "$out/nproc")" = $ncpus
check "guest kernel sees $sockets sockets" \
	test "$(awk '{print $2}' "$out/sysfs-cpus" | sort -u | wc -l)" = $sockets
meta=$out/par/meta.json csv=$out/par/latency.csv
pairs=$((ncpus * (ncpus - 1)))
check "latency --parallel auto exits 4 (partial: no gnuplot in the guest)" test "$(exit_of parallel)" = 4
check "meta.json says complete" test "$(jq -r .status "$meta")" = complete
width=$(jq -r .experiments.latency.parallel "$meta")
check "auto measured pairs side by side (--parallel $width: one per socket's L3)" test "$width" = $sockets
lanes=$(jq -r .experiments.latency.parallel_lanes "$meta")
check "$lanes lanes ran the pairs (one per pair measured at once)" test "$lanes" = "$width"
concurrency=$(jq -r .experiments.latency.parallel_mean_concurrency "$meta")
drains=$(jq -r .experiments.latency.parallel_drains "$meta")
check "on average $concurrency pairs measuring at once: more than 0, at most $lanes" \
	awk -v c="$concurrency" -v n="$lanes" 'BEGIN { exit !(c > 0 && c <= n) }'
check "drained $drains times for the controls (at least once, at the end)" test "$drains" -ge 1
check "$pairs rows: every ordered pair once" \
	test "$(awk -F, 'NR > 1 {print $1, $3, $4}' "$csv" | sort -u | wc -l)" = $pairs -a \
	"$(($(wc -l <"$csv") - 1))" = $pairs
check "every pair ok (no watchdog failure)" test "$(awk -F, 'NR > 1 && $7 != "ok"' "$csv" | wc -l)" = 0
controls=$(jq -r .experiments.latency.serial_control_pairs "$meta")
check "serial control subset: $controls pairs, at least 5 %" test $((controls * 20)) -ge $pairs
classes=$(awk -F, 'NR > 1 {print $5}' "$csv" | sort -u | tr '\n' ' ')
controlled=$(jq -r '.experiments.latency.interference | keys | join(" ")' "$meta")
check "a parallel/serial ratio for every class ($classes)" \
	test "$(tr ' ' '\n' <<<"$classes" | grep . | sort | tr '\n' ' ')" = \
	"$(tr ' ' '\n' <<<"$controlled" | grep . | sort | tr '\n' ' ')"
jq -r '.experiments.latency.interference | to_entries[] |
	"      \(.key): ratio \(.value.ratio_median) [\(.value.ci95_low), \(.value.ci95_high)] remeasured alone: \(.value.remeasured_serially)"' "$meta"
for class in smt l3 cross-socket; do
	check "class $class present" grep -qw "$class" <<<"$classes"
done
if COHMAP_PLOTS_DIR=$src/plots "$cohmap" plot "$out/par" >/dev/null 2>"$work/plot.err"; then
	check "heatmap of the $ncpus-CPU guest drawn on the host" test -s "$out/par/latency-load_store.png"
else
	check "cohmap plot redraws the guest's results ($(cat "$work/plot.err"))" false
fi
# --lines 4 on the pairs 0->8 and 8->0 (sockets 0 and 1): each of the 4
# nodes homes one line of each pair, as move_pages observed it.
lcsv=$out/lines/latency.csv
check "latency --lines 4 exits 4 (partial: no gnuplot in the guest)" test "$(exit_of lines)" = 4
check "2 pairs x 4 lines = 8 ok rows" \
	test "$(awk -F, 'NR > 1 && $7 == "ok" {print $3, $4, $18}' "$lcsv" | sort -u | wc -l)" = 8
for pair in "0 8" "8 0"; do
	check "pair ${pair/ /->}: its 4 lines homed on nodes 0 1 2 3" \
		test "$(awk -F, -v p="$pair" 'NR > 1 && $3 " " $4 == p {print $6}' "$lcsv" | sort -n | tr '\n' ' ')" = "0 1 2 3 "
done
if COHMAP_PLOTS_DIR=$src/plots "$cohmap" plot "$out/lines" >/dev/null 2>"$work/plot-lines.err"; then
	check "the matrix per home node drawn on the host" test -s "$out/lines/latency-load_store-homes.png"
	check "4 panels: one data set per node" test "$(grep -c '^# home node' "$out/lines/latency-load_store-homes.dat")" = 4
else
	check "cohmap plot draws the --lines results ($(cat "$work/plot-lines.err"))" false
fi
stalls=$(grep -c 'rcu.*stall\|kthread starved' "$work/console.log")
echo "      RCU stall reports on the guest console: $stalls (TCG on 2 host CPUs; reported, not asserted)"
echo "check-vm-large: $failures failed"
[[ $failures == 0 ]]
