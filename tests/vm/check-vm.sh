#!/usr/bin/env bash
# The multi-socket code paths, run for real: boots Debian's own kernel under
# QEMU (TCG; nested KVM does not boot on our machines) as a guest with two
# sockets, two NUMA nodes and two SMT threads per core, runs cohmap inside
# (tests/vm/init), brings the results directory out over a second serial port
# and checks what the topology, the placement and the run must be. Timings
# inside TCG mean nothing; nothing here looks at them.
#
#   tests/vm/check-vm.sh ./cohmap
#
# The kernel is fetched once with `apt-get download` and cached in
# $COHMAP_VM_CACHE (default ~/.cache/cohmap/vm); nothing of it is committed.
# COHMAP_VM_KERNEL=/path/to/vmlinuz skips the download. The run waits for
# events, not for a time: the guest's "== guest: cohmap" console line, its
# heartbeat (a "== guest: progress N steps, M rows" line every 10 s), then
# QEMU's exit when the guest powers off. A loaded host makes the guest slow,
# never failed: the bounds only catch a hang. A guest that has not started
# cohmap after COHMAP_VM_BOOT_TIMEOUT seconds (default 300) is booted again;
# one whose progress has not changed for COHMAP_VM_STALL_TIMEOUT seconds
# (default 600: a step's rows or its end) fails as hung; COHMAP_VM_TIMEOUT
# (default 10800) is a last bound on the whole guest.
set -uo pipefail
cohmap=$(realpath "$1")
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$src/build/vm
cache=${COHMAP_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cohmap/vm}
timeout_s=${COHMAP_VM_TIMEOUT:-10800}
boot_timeout_s=${COHMAP_VM_BOOT_TIMEOUT:-300}
stall_timeout_s=${COHMAP_VM_STALL_TIMEOUT:-600}
qemu_pid=""
# QEMU runs in the background: stopped by pid on every exit path.
trap '[[ -n $qemu_pid ]] && kill -KILL "$qemu_pid" 2>/dev/null' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
failures=0
check() { # description, command...
	local what=$1
	shift
	if "$@"; then echo "ok    $what"; else echo "FAIL  $what"; failures=$((failures + 1)); fi
}
die() { echo "check-vm: $*" >&2; exit 1; }

for tool in qemu-system-x86_64 busybox cpio gzip base64 jq; do
	command -v "$tool" >/dev/null || die "$tool is missing (make deps installs it)"
done

# ---- the kernel: Debian's linux-image-amd64, NUMA and the 8250 UART built in
fetch_kernel() {
	if [[ -n ${COHMAP_VM_KERNEL:-} ]]; then
		echo "$COHMAP_VM_KERNEL"
		return
	fi
	local pkg
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
	if [[ -z $pkg ]]; then
		# No package lists yet (a fresh machine): use what the cache has.
		pkg=$(find "$cache" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' 2>/dev/null | sort -V | tail -1)
		[[ -n $pkg ]] || die "apt-cache knows no linux-image-amd64 (run apt-get update)"
		echo "$cache/$pkg"
		return
	fi
	local version=${pkg#linux-image-}
	if [[ ! -s $cache/vmlinuz-$version ]]; then
		mkdir -p "$cache"
		local tmp
		tmp=$(mktemp -d "$cache/download.XXXXXX")
		(cd "$tmp" && apt-get download -q "$pkg" >&2) || { rm -rf "$tmp"; die "apt-get download $pkg failed"; }
		dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$tmp" "./boot/vmlinuz-$version" ||
			{ rm -rf "$tmp"; die "no ./boot/vmlinuz-$version in $pkg"; }
		mv "$tmp/boot/vmlinuz-$version" "$cache/vmlinuz-$version"
		rm -rf "$tmp"
	fi
	echo "$cache/vmlinuz-$version"
}

# ---- the initramfs: cohmap, its shared libraries, busybox, bash ----------
# liblikwid's topology_init() runs `bash -c "which likwid-accessD"` and calls
# exit(1) when either is missing, so bash and the daemon go in too (the daemon
# only has to exist: topology needs no MSR access).
copy_with_libs() { # binary, destination inside the root
	local bin=$1 dest=$2
	install -D -m 755 "$bin" "$root$dest"
	ldd "$bin" | awk '/=>/ {print $3} /^[[:space:]]*\/.*ld-linux/ {print $1}' | while read -r lib; do
		[[ -e $root$lib ]] || install -D -m 755 "$(realpath "$lib")" "$root$lib"
	done
}

build_initramfs() {
	root=$work/root
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,etc,root,tmp}
	install -m 755 "$(command -v busybox)" "$root/bin/busybox"
	for applet in $("$root/bin/busybox" --list); do
		[[ -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
	done
	copy_with_libs "$(command -v bash)" /bin/bash
	ln -s ../../bin/bash "$root/usr/bin/bash"
	copy_with_libs "$cohmap" /bin/cohmap
	local daemon
	daemon=$(PATH=$PATH:/usr/sbin:/sbin command -v likwid-accessD) || die "likwid-accessD not found (package likwid)"
	copy_with_libs "$daemon" /usr/sbin/likwid-accessD
	install -m 755 "${vm_init:-$src/tests/vm/init}" "$root/init"
	# Static, so it needs no library; see the file for why it exists.
	cc -static -O2 -o "$root/bin/perf-hold" "$src/tests/vm/perf-hold.c" || die "cannot build tests/vm/perf-hold.c"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initramfs.gz"
}

started_cohmap() { grep -q '^== guest: cohmap' "$work/console.log" 2>/dev/null; }
# What the guest has done so far: its step lines and its last heartbeat
# (the heartbeat's own count is left out: it grows whether or not the guest
# gets anywhere).
progress_of() {
	grep '^== guest' "$work/console.log" 2>/dev/null | grep -v '^== guest: progress' | wc -l
	grep '^== guest: progress' "$work/console.log" 2>/dev/null | tail -1
}
# Waits for QEMU ($qemu_pid, started at $1) to exit; kills it only when it
# hangs: no cohmap after boot_timeout_s, no progress for stall_timeout_s, or
# past timeout_s in all. Sets qemu_code (124: killed as hung) and hung.
watch_guest() {
	local started=$1 now seen="" last_change=$1 progress
	hung=""
	while kill -0 "$qemu_pid" 2>/dev/null; do
		now=$(date +%s)
		progress=$(progress_of)
		if [[ $progress != "$seen" ]]; then
			seen=$progress last_change=$now
		fi
		if ! started_cohmap && ((now - started >= boot_timeout_s)); then
			hung="before cohmap started (${boot_timeout_s}s)"
		elif started_cohmap && ((now - last_change >= stall_timeout_s)); then
			hung="with no progress for ${stall_timeout_s}s (last: $(tail -1 <<<"$seen"))"
		elif ((now - started >= timeout_s)); then
			hung="after ${timeout_s}s in all"
		fi
		if [[ -n $hung ]]; then
			kill -KILL "$qemu_pid" 2>/dev/null
			break
		fi
		sleep 1
	done
	wait "$qemu_pid"
	qemu_code=$?
	qemu_pid=""
	[[ -n $hung ]] && qemu_code=124
	echo "== guest finished in $(($(date +%s) - started))s (qemu exit $qemu_code)"
}

# tests/vm/check-vm-large.sh sources this file for the functions above.
(return 0 2>/dev/null) && return 0

mkdir -p "$work"
kernel=$(fetch_kernel) || exit 1
echo "== kernel $kernel"
build_initramfs
echo "== initramfs $(du -h "$work/initramfs.gz" | cut -f1)"

# ---- boot ------------------------------------------------------------------
# Skylake-Server: with an AMD model TCG hides the SMT siblings. Two sockets of
# two cores of two threads; one NUMA node per socket.
boot() {
	rm -f "$work/console.log" "$work/data.txt"
	echo "== booting the guest (2 sockets x 2 cores x 2 threads, 2 NUMA nodes)"
	local started now
	started=$(date +%s)
	qemu-system-x86_64 \
		-accel tcg,thread=multi -cpu Skylake-Server \
		-smp 8,sockets=2,cores=2,threads=2 -m 2G \
		-object memory-backend-ram,id=m0,size=1G -object memory-backend-ram,id=m1,size=1G \
		-numa node,nodeid=0,cpus=0-3,memdev=m0 -numa node,nodeid=1,cpus=4-7,memdev=m1 \
		-kernel "$kernel" -initrd "$work/initramfs.gz" \
		-append "console=ttyS0 loglevel=4 panic=-1 no_timer_check" \
		-nographic -no-reboot -monitor none \
		-serial "file:$work/console.log" -serial "file:$work/data.txt" 2>"$work/qemu.log" &
	qemu_pid=$!
	watch_guest "$started"
}

# no_timer_check (on the kernel line above): the guest kernel's check that
# the IO-APIC timer ticks within a few of its jiffies fails when a loaded host
# runs the emulated CPU slowly ("IO-APIC + timer doesn't work!", a panic at
# 0.07 s, seen beside make check-loaded); the check is for broken hardware,
# which an emulated board is not. Any boot that ends before cohmap started
# is tried again below.
# Eight emulated vCPUs on a two-CPU host sometimes livelock in the guest
# kernel before anything of ours runs (seen in about 1 of 7 boots: soft
# lockups in init and nproc, no "== guest: cohmap" line on the console). That
# is the emulator, not cohmap, so such a boot is tried again (three boots in
# all); a guest that hangs once cohmap has started fails at once.
for attempt in 1 2 3; do
	boot
	! started_cohmap || break
	echo "check-vm: the guest hung before cohmap started (emulator livelock); booting it again"
	tail -3 "$work/console.log"
done
if [[ $qemu_code != 0 ]]; then
	# TCG's "doesn't support requested feature" lines are expected noise.
	grep -v "TCG doesn't support requested feature" "$work/qemu.log" >&2
	[[ $qemu_code == 124 ]] && echo "check-vm: the guest hung $hung" >&2
	echo "check-vm: qemu exited with $qemu_code; last console lines:" >&2
	tail -20 "$work/console.log" >&2
	exit 1
fi

out=$work/out
rm -rf "$out"
mkdir -p "$out"
tr -d '\r' <"$work/data.txt" | sed -n '/^COHMAP-RESULTS-BEGIN$/,/^COHMAP-RESULTS-END$/p' |
	sed '1d;$d' | base64 -d | tar -xz -C "$out" 2>/dev/null
if [[ ! -s $out/exit-codes ]]; then
	echo "check-vm: no results came out of the guest; last console lines:" >&2
	tail -30 "$work/console.log" >&2
	exit 1
fi
echo "== results from the guest in $out"
exit_of() { awk -v s="$1" '$1 == s {print $2}' "$out/exit-codes"; }

# ---- what the kernel says the guest is ----------------------------------
check "guest kernel sees 8 CPUs" test "$(cat "$out/nproc")" = 8
check "guest kernel sees NUMA nodes 0-1" test "$(cat "$out/nodes-online")" = 0-1
check "guest kernel sees 2 sockets" test "$(awk '{print $2}' "$out/sysfs-cpus" | sort -u | wc -l)" = 2
check "guest kernel sees SMT pairs" grep -q '[0-9][-,][0-9]' "$out/sysfs-cpus"

# ---- what cohmap (likwid) says -------------------------------------------
topo=$out/guest.topo
check "cohmap topo exits 0" test "$(exit_of topo)" = 0
check "cohmap topo --save exits 0" test "$(exit_of topo-save)" = 0
distinct() { awk -v f="$1" '$1 == "cpu" {print $f}' "$topo" | sort -u | wc -l; }
# cpu socket die numa l3 l2 core smt online allowed
check "likwid finds 8 CPUs" test "$(grep -c '^cpu ' "$topo")" = 8
check "likwid finds 2 sockets" test "$(distinct 3)" = 2
check "likwid finds 2 NUMA nodes" test "$(distinct 5)" = 2
check "likwid finds 4 cores with 2 SMT threads each" \
	test "$(awk '$1 == "cpu" {n[$8]++} END {for (c in n) if (n[c] == 2) k++; print k}' "$topo")" = 4
check "each socket is one NUMA node" \
	test "$(awk '$1 == "cpu" {print $3, $5}' "$topo" | sort -u | wc -l)" = 2
check "likwid agrees with the kernel on sockets" \
	test "$(awk '$1 == "cpu" {print $2, $3}' "$topo" | sort)" = \
	"$(awk '{print $1, $2}' "$out/sysfs-cpus" | sort)"

# ---- the latency matrix: every class, every pair, one block per socket ----
csv=$out/lat/latency.csv
check "latency run exits 4 (partial: no gnuplot in the guest)" test "$(exit_of latency)" = 4
check "it says how to install gnuplot and redraw later" \
	grep -q 'apt-get install gnuplot-nox.*cohmap plot lat' "$out/latency.err"
check "latency meta.json says complete" test "$(jq -r .status "$out/lat/meta.json")" = complete
check "56 rows: every ordered pair of 8 CPUs" test "$(($(wc -l <"$csv") - 1))" = 56
check "every pair ok (no watchdog failure)" \
	test "$(awk -F, 'NR > 1 && $7 != "ok"' "$csv" | wc -l)" = 0
expected=$("$cohmap" topo --topology "$topo" | awk '/^pairs by class/ {on = 1; next} on && NF >= 2 {print $1, $2}' | sort)
measured=$(awk -F, 'NR > 1 {n[$5]++} END {for (c in n) print c, n[c]}' "$csv" | sort)
echo "      pair classes of the guest: $(echo $expected)"
check "every pair class of the guest measured, as often as it occurs" test "$expected" = "$measured"
for class in smt l3 cross-socket; do
	check "class $class present" grep -q "^$class " <<<"$measured"
done
order=$(jq -r '.experiments.latency.cpus_topology_order | map(tostring) | join(" ")' "$out/lat/meta.json")
sockets_in_order() { # CPU ids -> their sockets, in that order
	local cpu
	for cpu in "$@"; do awk -v c="$cpu" '$1 == "cpu" && $2 == c {printf "%s ", $3}' "$topo"; done
}
one_block_per_socket() { # sockets in order: each value in one contiguous run
	awk '{for (i = 1; i <= NF; i++) { if (i > 1 && $i != $(i-1)) { if ($i in seen) exit 1 } seen[$(i-1)]; } }' <<<"$*"
}
# shellcheck disable=SC2086
check "meta.json topology order keeps each socket in one block ($order)" \
	one_block_per_socket "$(sockets_in_order $order)"
if COHMAP_PLOTS_DIR=$src/plots "$cohmap" plot "$out/lat" >/dev/null 2>"$work/plot.err"; then
	dat=$out/lat/latency-load_store.dat
	heat_order=$(sed -n 's/^# index:cpu //p' "$dat" | tr ' ' '\n' | cut -d: -f2 | tr '\n' ' ')
	# shellcheck disable=SC2086
	check "heatmap axis keeps each socket in one block ($heat_order)" \
		one_block_per_socket "$(sockets_in_order $heat_order)"
	check "heatmap draws one socket border (2 socket arrows)" \
		test "$(grep -c 'as 1$' "$out/lat/latency-load_store.gpvars")" = 2
	check "heatmap of the guest drawn on the host" test -s "$out/lat/latency-load_store.png"
else
	check "cohmap plot redraws the guest's results on the host ($(cat "$work/plot.err"))" false
fi

# ---- placement: lines asked for on node 1 are on node 1 -----------------
check "--home 1 run exits 4 (partial: no gnuplot)" test "$(exit_of home)" = 4
check "--home 1: meta.json records node 1" \
	test "$(jq -r .experiments.latency.home_node "$out/home/meta.json")" = 1
check "--home 1: every row's lines really are on node 1 (move_pages)" \
	test "$(awk -F, 'NR > 1 {print $6}' "$out/home/latency.csv" | sort -u)" = 1
check "--home 1: CPUs 0 and 1 are on node 0 (so the memory is remote)" \
	test "$(awk '$1 == "cpu" && ($2 == 0 || $2 == 1) {print $5}' "$topo" | sort -u)" = 0
misplaced=$(awk 'FNR == NR {if ($1 == "cpu") node[$2] = $5; next}
	FNR > 1 {split($0, f, ","); if (f[6] != node[f[3]]) bad++} END {print bad + 0}' "$topo" "$csv")
check "--home first: every row's lines on the initiator's node ($misplaced misplaced)" test "$misplaced" = 0

# ---- the suite finishes ----------------------------------------------------
check "cohmap run finishes (exit $(exit_of run): 0, or 4 without gnuplot)" \
	grep -qx '[04]' <<<"$(exit_of run)"
check "cohmap run meta.json says complete" test "$(jq -r .status "$out/run/meta.json")" = complete

# ---- an offline CPU ------------------------------------------------------
check "-c with an offline CPU: exit 2" test "$(exit_of offline-select)" = 2
check "... one line saying CPU 7 is offline" \
	test "$(wc -l <"$out/offline-select.err")" = 1 -a -n "$(grep 'CPU 7 is offline' "$out/offline-select.err")"
check "... and no results directory" test ! -e "$out/offline"
cpu_rows() { awk '$NF == "yes" && $1 ~ /^[0-9]+$/ {print $1}' "$out/offline-topo.out" | tr '\n' ' '; }
check "cohmap topo lists the 7 online CPUs, not CPU 7 ($(cpu_rows))" test "$(cpu_rows)" = "0 1 2 3 4 5 6 "

# ---- the contention ladder on 4 CPUs (one step per level) -----------------
check "cohmap contention finishes (exit $(exit_of contention): 0, or 4 without gnuplot)" \
	grep -qx '[04]' <<<"$(exit_of contention)"
ct_rows=$(awk -F, 'NR > 1' "$out/contention-csv.out" 2>/dev/null | wc -l)
check "contention: 14 items x 4 steps = 56 rows ($ct_rows)" test "$ct_rows" = 56
ct_bad=$(awk -F, 'NR == 1 {for (i = 1; i <= NF; i++) c[$i] = i; next}
	$c["status"] != "ok" && !($c["kind"] == "split_lock" && $c["status"] == "skipped") {n++}
	END {print n + 0}' "$out/contention-csv.out" 2>/dev/null)
check "contention: every row ok, counters exact (a lost update fails the run) ($ct_bad not ok)" test "$ct_bad" = 0
ct_levels=$(awk -F, 'NR > 1 {printf "%s ", $3}' "$out/contention-ladder.out" 2>/dev/null)
check "contention: the ladder crosses smt first, the other socket last ($ct_levels)" \
	grep -q '^none smt .* cross-socket $' <<<"$ct_levels"
sed 's/^/      /' "$out/contention-ladder.out" 2>/dev/null

echo "check-vm: $failures failed"
[[ $failures == 0 ]]
