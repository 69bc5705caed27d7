# pagetables.gp: page-table memory of N processes that each map one shared
# segment and fault all of it in, against N: the measured growth of VmPTE
# summed over the processes, for base pages and for hugetlb pages, beside
# the model (every process its own tables) and what one shared copy of the
# tables would take (what sharing page tables would save is the gap).
#
#   gnuplot -e "data='DIR/pagetables.csv'; out='pagetables.png'" experiments/fork/pagetables.gp
#
# Variables (set with -e):
#   data    required. pagetables.csv as cohmap fork writes it (named columns).
#   out     required. Output file: *.svg selects the svg terminal, else pngcairo.

if (!exists("data") || !exists("out")) {
	print "pagetables.gp: set data='pagetables.csv' and out='FILE.png' with -e"
	exit status 2
}

# A table that matches no row makes no datablock at all, so each starts
# with a comment line and the rows are appended: |$x| > 1 means rows.
fresh(name) = sprintf("set print %s; print '# %s'; unset print; set table %s append", name, name, name)
set datafile separator comma
set datafile columnheaders
ok(p) = strcol("pages") eq p && strcol("status") eq "ok"
# columns: processes, measured sum, model for N, one copy, later faults
eval fresh("$base")
plot data using (column("processes")):(column("vmpte_growth_bytes")):(column("processes") * column("model_per_process_bytes")):(column("model_per_process_bytes")) with table if (ok("base"))
unset table
eval fresh("$huge")
plot data using (column("processes")):(column("vmpte_growth_bytes")):(column("processes") * column("model_per_process_bytes")):(column("model_per_process_bytes")) with table if (ok("hugetlb"))
unset table
stats data using (column("segment_bytes")) name "SEG" nooutput
# Whether any hugetlb row found its tables shared, or was skipped.
eval fresh("$shared")
plot data using (column("processes")):(1) with table if (ok("hugetlb") && strcol("page_tables_shared") eq "yes")
unset table
eval fresh("$hskip")
plot data using (column("processes")):(1) with table if (strcol("pages") eq "hugetlb" && strcol("status") eq "skipped")
unset table
set datafile separator whitespace
set datafile nocolumnheaders
if (|$base| + |$huge| == 2) {
	print "pagetables.gp: no ok rows in ", data
	exit status 1
}

svg = strlen(out) >= 4 && out[strlen(out) - 3:] eq ".svg"
if (svg) {
	set terminal svg size 1000, 650 dynamic noenhanced font "Sans,12" background rgb "white"
} else {
	set terminal pngcairo size 1000, 650 noenhanced font "Sans,11" background rgb "white"
}
set output out

# Binary units spelled as people write them (KiB, not gnuplot's "ki").
bytes_text(b) = b >= 2**30 ? sprintf("%.3g GiB", b / 2.0**30) : b >= 2**20 ? \
	sprintf("%.3g MiB", b / 2.0**20) : b >= 2**10 ? sprintf("%.3g KiB", b / 2.0**10) : sprintf("%.0f B", b)
segment = SEG_max
set title sprintf("page tables of N processes each mapping one shared %s segment (VmPTE growth, summed)", \
	bytes_text(segment)) font ",13"
set logscale x 2
set logscale y 2
set ytics ()
do for [e = 10:44:2] { set ytics add (bytes_text(2**e) 2**e) }
set offsets graph 0.04, graph 0.10, 0, 0
set xlabel "processes mapping the segment"
set ylabel "page-table memory"
set grid xtics ytics lc rgb "#dddddd"
# Headroom above the highest line for the key.
if (|$base| > 1) { stats $base using 2 name "B" nooutput }
if (|$huge| > 1) { stats $huge using 2 name "H" nooutput }
top = exists("B_max") ? B_max * 256 : 1 << 30
low = exists("H_min") ? H_min / 2 : (exists("B_min") ? B_min / 4 : 1024)
set yrange [low:top]
set key top left opaque box lc rgb "#bbbbbb" font ",10"
if (|$hskip| > 1 && |$huge| == 1) {
	set label 1 "hugetlb: skipped (no huge pages reserved; see the reason in pagetables.csv)" at graph 0.98, 0.05 right tc rgb "#7b4ea3"
}
if (|$shared| > 1) {
	set label 2 "hugetlb: processes after the first found the PMD table already built: the kernel shares it, yet counts it in every VmPTE" at graph 0.98, 0.35 right tc rgb "#7b4ea3" font ",10"
}
# The models are drawn first, wide and pale, so the measured points lie on
# them; a page kind without rows (hugetlb with no pages reserved) is left out.
base_lines = '$base using 1:3 with lines lw 7 lc rgb "#f4b6b6" title "base pages, model: each process its own tables", ' . \
	'$base using 1:4 with lines lw 2 dt 2 lc rgb "#d62728" title "base pages, one shared copy (what sharing would take)", ' . \
	'$base using 1:2 with linespoints lw 2 pt 5 ps 1.2 lc rgb "#d62728" title "base pages, measured", ' . \
	'$base using 1:2:(bytes_text($2)) with labels offset 0, 1.1 font ",9" tc rgb "#d62728" notitle'
huge_lines = '$huge using 1:3 with lines lw 7 lc rgb "#d9c8e8" title "hugetlb, model: each process its own tables", ' . \
	'$huge using 1:4 with lines lw 2 dt 2 lc rgb "#7b4ea3" title "hugetlb, one shared copy", ' . \
	'$huge using 1:2 with linespoints lw 2 pt 7 ps 1.2 lc rgb "#7b4ea3" title "hugetlb, measured", ' . \
	'$huge using 1:2:(bytes_text($2)) with labels offset 0, 1.1 font ",9" tc rgb "#7b4ea3" notitle'
lines = (|$base| > 1 ? base_lines : "") . (|$base| > 1 && |$huge| > 1 ? ", " : "") . (|$huge| > 1 ? huge_lines : "")
eval "plot " . lines
