# Sourced by tests/e2e.sh (uses its check, is_png, png_size, wait_until,
# alive_with, segments_of, children_or_gone, lines_or_gone, $cohmap, $tmp):
# `cohmap fork` at small sizes on this machine, the files it writes, and what
# it must never leave behind: a SysV segment, a child process.
src_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The column number of a named column of a CSV file.
fork_col() { head -1 "$1" | tr , '\n' | grep -nx "$2" | cut -d: -f1; }
echo "== fork: every mapping kind at 1 and 4 MiB, a census of 1, 2, 4 processes"
fk=$tmp/fork
"$cohmap" fork --sizes 1M,4M --repeat 3 --processes 4 --segment 8M -q -o "$fk" &
fork_pid=$!
wait $fork_pid
code=$?
check "fork exits 0" test "$code" = 0
fcsv=$fk/fork.csv
check "fork.csv header has units in the names" grep -qx 'kind,page_bytes,bytes,measure,status,samples,min_ns,median_ns,max_ns,median_ns_per_gib,minor_faults,major_faults,parent_vmpte_bytes,child_vmpte_bytes,huge_backed_bytes,data_check,reason' "$fcsv"
f_kind=$(fork_col "$fcsv" kind) f_bytes=$(fork_col "$fcsv" bytes) f_measure=$(fork_col "$fcsv" measure)
f_status=$(fork_col "$fcsv" status) f_med=$(fork_col "$fcsv" median_ns) f_check=$(fork_col "$fcsv" data_check)
f_reason=$(fork_col "$fcsv" reason) f_samples=$(fork_col "$fcsv" samples)
frow() { # kind bytes measure -> the row
	awk -F, -v k="$1" -v b="$2" -v m="$3" -v ck="$f_kind" -v cb="$f_bytes" -v cm="$f_measure" \
		'$ck == k && $cb == b && $cm == m' "$fcsv"
}
fcell() { printf '%s' "$1" | cut -d, -f"$2"; }
check "the no-mapping baseline: fork timed 3 times" \
	test "$(fcell "$(frow none 0 fork_return)" "$f_samples")" = 3
hugepages_free=$(awk '/^HugePages_Free/ {f = $2} /^HugePages_Rsvd/ {r = $2} END {print f - r}' /proc/meminfo)
thp_off=$(grep -c '\[never\]' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo 1)
kinds=$(python3 -c "import json,sys; print(' '.join(k['name'] for k in json.load(open(sys.argv[1]))['experiments']['fork']['kinds']))" "$fk/meta.json")
check "meta.json lists the 7 mapping kinds" test "$(echo $kinds | wc -w)" = 7
for kind in $kinds; do
	row=$(frow "$kind" 4194304 fork_return)
	status=$(fcell "$row" "$f_status")
	if [[ $kind == hugetlb_shared && $hugepages_free -lt 2 ]]; then
		check "hugetlb_shared 4 MiB skipped: no huge pages reserved ($hugepages_free free)" test "$status" = skipped
		check "... and the reason says how to reserve them" grep -q "hugetlb_shared,.*nr_hugepages" "$fcsv"
		continue
	fi
	if [[ $kind == private_thp && $thp_off == 1 ]]; then
		check "private_thp 4 MiB skipped: transparent huge pages are off" test "$status" = skipped
		continue
	fi
	check "$kind 4 MiB: fork timed 3 times" test "$status,$(fcell "$row" "$f_samples")" = ok,3
	median=$(fcell "$row" "$f_med")
	check "$kind 4 MiB: fork median $median ns is plausible (0 < x < 10 s)" \
		awk -v m="$median" 'BEGIN {exit !(m > 0 && m < 1e10)}'
	for m in fork_child_start child_read child_write fork_exec vfork_exec posix_spawn; do
		check "$kind 4 MiB: $m ok" test "$(fcell "$(frow "$kind" 4194304 $m)" "$f_status")" = ok
	done
	for m in child_read child_write; do
		check "$kind 4 MiB: $m data check ok" test "$(fcell "$(frow "$kind" 4194304 $m)" "$f_check")" = ok
	done
done
check "the huge-page kinds skip 1 MiB: not a whole number of huge pages" \
	test "$(awk -F, -v ck="$f_kind" -v cb="$f_bytes" -v cs="$f_status" -v cr="$f_reason" \
		'($ck == "private_thp" || $ck == "hugetlb_shared") && $cb == 1048576 && $cs == "skipped" && $cr ~ /whole number/' "$fcsv" | wc -l)" = 16
check "no row failed" test "$(awk -F, -v cs="$f_status" 'NR > 1 && $cs == "failed"' "$fcsv" | wc -l)" = 0
check "no data check failed" test "$(awk -F, -v c="$f_check" 'NR > 1 && $c == "failed"' "$fcsv" | wc -l)" = 0

pcsv=$fk/pagetables.csv
check "pagetables.csv: base pages with 1, 2, 4 processes" \
	test "$(awk -F, 'NR > 1 && $1 == "base" && $5 == "ok" {printf "%s ", $4}' "$pcsv")" = "1 2 4 "
check "pagetables.csv: every process's VmPTE grew by the model (8 MiB: PTE pages + a PMD page)" \
	test "$(awk -F, 'NR > 1 && $1 == "base" && $5 == "ok" && $9 != $10' "$pcsv" | wc -l)" = 0
check "pagetables.csv: every census process read the parent's values" \
	test "$(awk -F, 'NR > 1 && $5 == "ok" && $15 != "ok"' "$pcsv" | wc -l)" = 0
if [[ $hugepages_free -ge 4 ]]; then
	check "pagetables.csv: hugetlb rows measured" \
		test "$(awk -F, 'NR > 1 && $1 == "hugetlb" && $5 == "ok"' "$pcsv" | wc -l)" = 3
else
	check "pagetables.csv: hugetlb rows skipped with the command to reserve pages" \
		test "$(awk -F, 'NR > 1 && $1 == "hugetlb" && $5 == "skipped" && /nr_hugepages/' "$pcsv" | wc -l)" = 3
fi
for png in fork fork-touch fork-spawn pagetables; do
	check "$png.png is a PNG" is_png "$fk/$png.png"
done
check "fork.png is 1400x660" test "$(png_size "$fk/fork.png")" = 1400x660
check "meta.json: fork complete, 4 plots, a headline" \
	python3 -c "import json,sys; e=json.load(open(sys.argv[1]))['experiments']['fork']; sys.exit(e['status'] != 'complete' or len(e['plots']) != 4 or 'fork()' not in e['headline'])" "$fk/meta.json"
check "experiments/fork/fork.gp draws from the CSV alone" \
	gnuplot -e "data='$fcsv'; out='$tmp/fork-standalone.png'" "$src_dir/experiments/fork/fork.gp"
check "experiments/fork/pagetables.gp draws from the CSV alone" \
	gnuplot -e "data='$pcsv'; out='$tmp/pagetables-standalone.png'" "$src_dir/experiments/fork/pagetables.gp"
rm -f "$fk"/*.png
check "cohmap plot redraws the fork figures" "$cohmap" plot "$fk"
check "... fork.png is back" is_png "$fk/fork.png"
check "... pagetables.png is back" is_png "$fk/pagetables.png"
check "no SysV segment of the run is left (ipcs -m)" test "$(segments_of $fork_pid)" = 0
check "no process of the run is left" test "$(alive_with "$fk")" = 0

echo "== fork: killed with SIGKILL mid-run, its children die with it (PR_SET_PDEATHSIG)"
"$cohmap" fork --sizes 64M --mapping private_untouched,sysv_shm --repeat 1000 -q -o "$tmp/fork-killed" &
killed_pid=$!
# The kill lands once a child is there (1000 forks of each kind: the run is
# far from its end by then).
wait_until children_or_gone $killed_pid
child=${children%% *}
check "a child of the run is seen before the kill ($child)" test -n "$child"
kill -9 $killed_pid
wait $killed_pid 2>/dev/null
dead() { [[ ! -d /proc/$1 ]] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
[[ -n $child ]] && check "the child $child died with its parent" wait_until dead "$child"
none_left() { test "$(alive_with "$1")" = 0; }
check "no process of the killed run is left" wait_until none_left "$tmp/fork-killed"
# The segment of a killed run disappears with its last attachment (IPC_RMID at once).
check "no SysV segment of the killed run is left" test "$(segments_of $killed_pid)" = 0

echo "== fork: Ctrl-C keeps the finished rows"
"$cohmap" fork --sizes 1M,4M,16M,64M --repeat 20 -q -o "$tmp/fork-cut" &
cut_pid=$!
# Interrupted once a row is on disk (header + 1 line), long before the last.
wait_until lines_or_gone "$tmp/fork-cut/fork.csv" 2 $cut_pid
kill -INT $cut_pid
wait $cut_pid
code=$?
check "interrupted fork exits 130" test "$code" = 130
check "meta.json says interrupted" \
	python3 -c "import json,sys; sys.exit(json.load(open(sys.argv[1]))['experiments']['fork']['status'] != 'interrupted')" "$tmp/fork-cut/meta.json"
check "some rows were kept" test "$(($(wc -l <"$tmp/fork-cut/fork.csv") - 1))" -ge 1
check "every kept row is whole" awk -F, 'NR > 1 && NF != 17 {bad = 1} END {exit bad}' "$tmp/fork-cut/fork.csv"
check "no process of the interrupted run is left" wait_until none_left "$tmp/fork-cut"
check "no SysV segment of the interrupted run is left" test "$(segments_of $cut_pid)" = 0
