# attach.gp: what getting memory costs, per GiB, against the size asked for,
# log-log, one line per way of getting it, straight from attach.csv.
#
#   gnuplot -e "data='DIR/attach.csv'; out='attach.png'" attach.gp
#   gnuplot -e "data='DIR/attach.csv'; out='phases.png'; figure='phases'; variant='plain'" attach.gp
#
# Variables (set with -e):
#   data      required. attach.csv as `cohmap attach` writes it.
#   out       required. Output PNG (pngcairo).
#   figure    total (default): create + first touch, one panel per variant
#             (plain, populate, thp, hugetlb); phases: create, first touch
#             and release side by side, for one variant.
#   variant   the variant of the phases figure (default: plain).
#   stat      median (default) or min over samples.
#   mappings  the mappings to draw, in legend order (default: all six).

if (!exists("data") || !exists("out")) {
	print "attach.gp: set data='attach.csv' and out='FILE.png' with -e"
	exit status 2
}
if (!exists("figure")) { figure = "total" }
if (!exists("variant")) { variant = "plain" }
if (!exists("stat")) { stat = "median" }
if (!exists("mappings")) { mappings = "malloc mmap_private mmap_shared sysv posix memfd" }
if (figure ne "total" && figure ne "phases") {
	print "attach.gp: figure must be total or phases"
	exit status 2
}
if (stat ne "median" && stat ne "min") {
	print "attach.gp: stat must be median or min"
	exit status 2
}

set datafile separator ","
array colour[6] = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#000000"]
array point[6] = [7, 5, 9, 11, 13, 3]
col(i) = colour[(i - 1) % 6 + 1]
pt(i) = point[(i - 1) % 6 + 1]
gib = 1024.0 * 1024 * 1024

if (figure eq "total") {
	panels = "plain populate thp hugetlb"
	array panel_title[4] = ["plain: what the call gives", "MAP_POPULATE: the kernel faults pages in at mmap", \
		"THP: madvise(MADV_HUGEPAGE)", "hugetlb: the reserved huge page pool"]
	set terminal pngcairo size 1300, 1080 noenhanced font "Sans,11" background rgb "white"
} else {
	panels = "create_ touch_ release_"
	array panel_title[3] = ["create or attach", "first touch (one write per page)", "release (free, munmap, shmdt)"]
	set terminal pngcairo size 1500, 680 noenhanced font "Sans,11" background rgb "white"
}
set output out

set logscale xy
set xtics ("4 KiB" 4096, "16 KiB" 16384, "64 KiB" 65536, "256 KiB" 262144, "1 MiB" 1048576, \
	"4 MiB" 4194304, "16 MiB" 16777216, "64 MiB" 67108864, "256 MiB" 268435456, "1 GiB" 1073741824, \
	"4 GiB" 4294967296.0, "16 GiB" 17179869184.0, "64 GiB" 68719476736.0) rotate by -35
set mxtics 2
set format y "%.10g"
set grid xtics ytics mytics lc rgb "#dddddd"
# Below each panel: inside, it would hide a line in one panel or another.
set key below horizontal Left reverse samplen 2 spacing 1.1 width 1 height 1.5 font ",10"
set xlabel "size" offset 0,-0.4
# The same bottom margin in every panel, whatever its legend holds, so the
# panels line up.
set bmargin 8

# One scale for every panel, so panels compare by eye: whole decades around
# everything the figure shows.
ymin = 1e300
ymax = 0
do for [p = 1:words(panels)] {
	what = word(panels, p)
	ycol = figure eq "total" ? "total_" . stat . "_ns" : what . stat . "_ns"
	vfilter = figure eq "total" ? "" : variant
	# Only positive times: the axis is logarithmic, and a phase can take
	# 0 ns at the clock's resolution (a populated mapping's first touch).
	stats data using ((strcol("status") eq "ok" && (strlen(vfilter) == 0 || strcol("variant") eq vfilter) \
		&& column(ycol) > 0) ? column(ycol) / 1e6 / (column("bytes") / gib) : NaN) nooutput
	if (STATS_records > 0 && STATS_min < ymin) { ymin = STATS_min }
	if (STATS_records > 0 && STATS_max > ymax) { ymax = STATS_max }
}
stats data using ((strcol("status") eq "ok") ? column("bytes") : NaN) nooutput
set xrange [STATS_min / 1.5 : STATS_max * 1.5]
if (ymax > 0) { set yrange [10 ** floor(log10(ymin)) : 10 ** ceil(log10(ymax))] }

if (figure eq "total") {
	set multiplot layout 2, 2 title sprintf("create + first touch of every page, per GiB (%s of samples, each sample a fresh process)", stat) font ",13"
} else {
	set multiplot layout 1, 3 title sprintf("the %s variant, per GiB (%s of samples, each sample a fresh process)", variant, stat) font ",13"
}
do for [p = 1:words(panels)] {
	what = word(panels, p)
	v = figure eq "total" ? what : variant
	ycol = figure eq "total" ? "total_" . stat . "_ns" : what . stat . "_ns"
	set title panel_title[p]
	set ylabel "ms per GiB"
	# One block per mapping, two blank lines apart (what `index` counts);
	# each starts with an undefined point, so a mapping with no rows still
	# has its block and the blocks stay in legend order.
	undefine $series
	array rows[words(mappings)]
	total_rows = 0
	do for [i = 1:words(mappings)] {
		m = word(mappings, i)
		rows[i] = 0
		set print $series append
		print "NaN NaN"
		unset print
		set table $series append
		plot data using "bytes":(column(ycol) / 1e6 / (column("bytes") / gib)) with table \
			if (strcol("mapping") eq m && strcol("variant") eq v && strcol("status") eq "ok" \
			    && (rows[i] = rows[i] + 1) > 0)
		unset table
		set print $series append
		print ""
		print ""
		unset print
		total_rows = total_rows + rows[i]
	}
	set datafile separator whitespace
	if (total_rows > 0) {
		unset label 1
		plot for [i = 1:words(mappings)] $series index (i - 1) using 1:2 smooth unique \
			with linespoints lw 2 pt pt(i) ps 0.8 lc rgb col(i) \
			title (rows[i] > 0 ? word(mappings, i) : "")
	} else {
		# Nothing measured (skipped here: meta.json's experiments.attach.skipped says why).
		set label 1 "not measured here: meta.json's\nexperiments.attach.skipped says why" at graph 0.5, 0.5 center
		plot NaN notitle
		unset label 1
	}
	set datafile separator ","
}
unset multiplot
