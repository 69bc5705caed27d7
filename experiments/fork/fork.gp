# fork.gp: fork() time against the size of what the parent has mapped, one
# line per mapping kind; left: until fork() returns in the parent, right:
# until the child runs. Log-log; the dashed line is fork() with no mapping.
#
#   gnuplot -e "data='DIR/fork.csv'; out='fork.png'" experiments/fork/fork.gp
#
# Variables (set with -e):
#   data    required. fork.csv as cohmap fork writes it (named columns).
#   out     required. Output file: *.svg selects the svg terminal, else pngcairo.
#   kinds   optional. Space-separated mapping kinds to draw (default: all that
#           have rows).
#   stat    optional. The column drawn: min_ns (default) or median_ns. fork()
#           does a fixed amount of work for a given mapping, so the fastest
#           sample is its cost; slower ones are other processes taking the
#           CPU (on a small shared VM, often several times the cost).

if (!exists("data") || !exists("out")) {
	print "fork.gp: set data='fork.csv' and out='FILE.png' with -e"
	exit status 2
}
if (!exists("kinds")) {
	kinds = "private_untouched private_touched private_thp shared_anon sysv_shm tmpfs_shared hugetlb_shared"
}
if (!exists("stat")) { stat = "min_ns" }

# One colour per kind in every fork figure: private kinds warm, shared cool.
kind_color(k) = k eq "private_untouched" ? "#e6a000" : k eq "private_touched" ? "#d62728" : \
	k eq "private_thp" ? "#8c2d04" : k eq "shared_anon" ? "#1f77b4" : \
	k eq "sysv_shm" ? "#17becf" : k eq "tmpfs_shared" ? "#2ca02c" : \
	k eq "hugetlb_shared" ? "#7b4ea3" : "#555555"
kind_point(k) = k eq "private_untouched" ? 4 : k eq "private_touched" ? 5 : \
	k eq "private_thp" ? 9 : k eq "shared_anon" ? 7 : k eq "sysv_shm" ? 11 : \
	k eq "tmpfs_shared" ? 13 : 15

# A table that matches no row makes no datablock at all, so each starts
# with a comment line and the rows are appended: |$x| > 1 means rows.
fresh(name) = sprintf("set print %s; print '# %s'; unset print; set table %s append", name, name, name)
set datafile separator comma
set datafile columnheaders
# Rows of one kind and measure into a datablock $<measure>_<i>, with the kinds
# that had rows in `shown`; gnuplot cannot draw lines through rows that are
# interleaved with other kinds', so each kind gets its own block.
array shown_left[words(kinds)]
array shown_right[words(kinds)]
nleft = 0; nright = 0
do for [k in kinds] {
	eval fresh("$probe")
	plot data using (column("bytes")):(column(stat) / 1000.0) with table \
		if (strcol("kind") eq k && strcol("measure") eq "fork_return" && strcol("status") eq "ok")
	unset table
	if (|$probe| > 1) {
		nleft = nleft + 1; shown_left[nleft] = k
		eval fresh(sprintf("$left%d", nleft))
		plot data using (column("bytes")):(column(stat) / 1000.0) with table \
			if (strcol("kind") eq k && strcol("measure") eq "fork_return" && strcol("status") eq "ok")
		unset table
	}
	eval fresh("$probe")
	plot data using (column("bytes")):(column(stat) / 1000.0) with table \
		if (strcol("kind") eq k && strcol("measure") eq "fork_child_start" && strcol("status") eq "ok")
	unset table
	if (|$probe| > 1) {
		nright = nright + 1; shown_right[nright] = k
		eval fresh(sprintf("$right%d", nright))
		plot data using (column("bytes")):(column(stat) / 1000.0) with table \
			if (strcol("kind") eq k && strcol("measure") eq "fork_child_start" && strcol("status") eq "ok")
		unset table
	}
}
# The no-mapping baseline and the sample count, through tables (which, unlike
# stats, say nothing when no row matches).
eval fresh("$base_ret")
plot data using (column(stat) / 1000.0):(1) with table \
	if (strcol("kind") eq "none" && strcol("measure") eq "fork_return" && strcol("status") eq "ok")
eval fresh("$base_start")
plot data using (column(stat) / 1000.0):(1) with table \
	if (strcol("kind") eq "none" && strcol("measure") eq "fork_child_start" && strcol("status") eq "ok")
eval fresh("$samples")
plot data using (column("samples")):(1) with table if (strcol("measure") eq "fork_return" && strcol("status") eq "ok")
unset table
set datafile separator whitespace
set datafile nocolumnheaders
if (|$base_ret| > 1) { stats $base_ret using 1 name "BASE_RET" nooutput }
if (|$base_start| > 1) { stats $base_start using 1 name "BASE_START" nooutput }
if (|$samples| > 1) { stats $samples using 1 name "N" nooutput }
if (nleft == 0) {
	print "fork.gp: no ok fork_return rows in ", data
	exit status 1
}

svg = strlen(out) >= 4 && out[strlen(out) - 3:] eq ".svg"
if (svg) {
	set terminal svg size 1400, 660 dynamic noenhanced font "Sans,12" background rgb "white"
} else {
	set terminal pngcairo size 1400, 660 noenhanced font "Sans,11" background rgb "white"
}
set output out

statname = stat eq "median_ns" ? "median" : stat eq "min_ns" ? "minimum" : stat
samples = exists("N_min") ? sprintf("%s of %d forks each", statname, int(N_min)) : statname
samples = stat eq "min_ns" && exists("N_min") ? sprintf("the fastest of %d forks each", int(N_min)) : samples
set multiplot title sprintf("fork() against the size of what the parent has mapped (%s)", samples) font ",14"
set logscale xy
set logscale x 2
set xtics 4
set format x "%.0b %BB"
set format y "%g"
set grid xtics ytics mytics lc rgb "#dddddd"
set xlabel "mapping size"
set ylabel "time [us]"
unset key
set style line 100 lc rgb "#555555" dt (6, 4) lw 1.5

# Two panels above one key for both (gnuplot fits a key into its own plot's
# width, so the key is a third, empty plot across the bottom).
set origin 0, 0.1
set size 0.5, 0.82
set title "parent: from the call until fork() returns"
if (exists("BASE_RET_min")) {
	set arrow 1 from graph 0, first BASE_RET_min to graph 1, first BASE_RET_min nohead ls 100 back
	set title sprintf("parent: from the call until fork() returns (no mapping: %.0f us)", BASE_RET_min)
}
plot for [i = 1:nleft] sprintf("$left%d", i) using 1:2 with linespoints lw 2 pt kind_point(shown_left[i]) ps 1.2 \
	lc rgb kind_color(shown_left[i]) notitle
unset arrow 1

set origin 0.5, 0.1
set title "from the call until the child runs (its first timestamp)"
if (exists("BASE_START_min")) {
	set arrow 2 from graph 0, first BASE_START_min to graph 1, first BASE_START_min nohead ls 100 back
	set title sprintf("from the call until the child runs, its first timestamp (no mapping: %.0f us)", BASE_START_min)
}
if (nright > 0) {
	plot for [i = 1:nright] sprintf("$right%d", i) using 1:2 with linespoints lw 2 pt kind_point(shown_right[i]) ps 1.2 \
		lc rgb kind_color(shown_right[i]) notitle
}
unset arrow 2

set origin 0, 0
set size 1, 0.1
unset title
unset xlabel
unset ylabel
unset tics
unset grid
unset border
unset logscale
set xrange [0:1]
set yrange [0:1]
set key center center horizontal maxrows 1 font ",10" samplen 2.5 width 1
plot for [i = 1:nleft] NaN with linespoints lw 2 pt kind_point(shown_left[i]) ps 1.2 \
	lc rgb kind_color(shown_left[i]) title shown_left[i], \
	NaN with lines ls 100 title "no mapping"
unset multiplot
