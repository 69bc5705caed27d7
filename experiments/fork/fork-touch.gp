# fork-touch.gp: the other side of fork()'s bargain, what touching the
# inherited mapping costs afterwards, per GiB, against mapping size, one line
# per mapping kind. Panels: the child reads every page; the child writes
# every page (copy-on-write for private kinds); the parent writes every page
# again after the fork (its private pages were write-protected too).
#
#   gnuplot -e "data='DIR/fork.csv'; out='fork-touch.png'" experiments/fork/fork-touch.gp
#
# Variables (set with -e):
#   data    required. fork.csv as cohmap fork writes it (named columns).
#   out     required. Output file: *.svg selects the svg terminal, else pngcairo.
#   kinds   optional. Space-separated mapping kinds (default: all that have rows).

if (!exists("data") || !exists("out")) {
	print "fork-touch.gp: set data='fork.csv' and out='FILE.png' with -e"
	exit status 2
}
if (!exists("kinds")) {
	kinds = "private_untouched private_touched private_thp shared_anon sysv_shm tmpfs_shared hugetlb_shared"
}

kind_color(k) = k eq "private_untouched" ? "#e6a000" : k eq "private_touched" ? "#d62728" : \
	k eq "private_thp" ? "#8c2d04" : k eq "shared_anon" ? "#1f77b4" : \
	k eq "sysv_shm" ? "#17becf" : k eq "tmpfs_shared" ? "#2ca02c" : \
	k eq "hugetlb_shared" ? "#7b4ea3" : "#555555"
kind_point(k) = k eq "private_untouched" ? 4 : k eq "private_touched" ? 5 : \
	k eq "private_thp" ? 9 : k eq "shared_anon" ? 7 : k eq "sysv_shm" ? 11 : \
	k eq "tmpfs_shared" ? 13 : 15

measures = "child_read child_write parent_write"
# A table that matches no row makes no datablock at all, so each starts
# with a comment line and the rows are appended: |$x| > 1 means rows.
fresh(name) = sprintf("set print %s; print '# %s'; unset print; set table %s append", name, name, name)
set datafile separator comma
set datafile columnheaders
# One datablock per (measure, kind) with rows, $m<j>_<i>: bytes, ms per GiB
# (gnuplot cannot draw lines through rows interleaved with other kinds').
array shown[3 * words(kinds)]
array count[3]
do for [j = 1:3] {
	count[j] = 0
	m = word(measures, j)
	do for [k in kinds] {
		eval fresh("$probe")
		plot data using (column("bytes")):(column("median_ns_per_gib") / 1e6) with table \
			if (strcol("kind") eq k && strcol("measure") eq m && strcol("status") eq "ok")
		unset table
		if (|$probe| > 1) {
			count[j] = count[j] + 1
			shown[(j - 1) * words(kinds) + count[j]] = k
			eval fresh(sprintf("$m%d_%d", j, count[j]))
			plot data using (column("bytes")):(column("median_ns_per_gib") / 1e6) with table \
				if (strcol("kind") eq k && strcol("measure") eq m && strcol("status") eq "ok")
			unset table
		}
	}
}
set datafile separator whitespace
set datafile nocolumnheaders
if (count[1] + count[2] + count[3] == 0) {
	print "fork-touch.gp: no ok child_read/child_write/parent_write rows in ", data
	exit status 1
}

svg = strlen(out) >= 4 && out[strlen(out) - 3:] eq ".svg"
if (svg) {
	set terminal svg size 1650, 640 dynamic noenhanced font "Sans,12" background rgb "white"
} else {
	set terminal pngcairo size 1650, 640 noenhanced font "Sans,11" background rgb "white"
}
set output out

set multiplot title "what the processes pay later: time to touch one word in every page, per GiB of mapping (median)" font ",14"
set logscale xy
set logscale x 2
set xtics 4
set format x "%.0b %BB"
set format y "%g"
set grid xtics ytics mytics lc rgb "#dddddd"
set xlabel "mapping size"
set ylabel "time [ms per GiB]"
unset key
# Three panels side by side above one key for all of them (a kind has one
# colour throughout); gnuplot fits a key into its own plot's width, so the
# key is a fourth, empty plot across the whole bottom.
do for [j = 1:3] {
	set origin (j - 1) / 3.0, 0.12
	set size 1 / 3.0, 0.8
	set title sprintf("%s", j == 1 ? "child reads every page" : j == 2 ? "child writes every page (private: copy-on-write)" : "parent writes every page after fork()")
	if (count[j] > 0) {
		plot for [i = 1:count[j]] sprintf("$m%d_%d", j, i) using 1:2 with linespoints lw 2 \
			pt kind_point(shown[(j - 1) * words(kinds) + i]) ps 1.2 \
			lc rgb kind_color(shown[(j - 1) * words(kinds) + i]) notitle
	} else {
		set label 1 "no rows" at graph 0.5, 0.5 center
		plot 1/0 notitle
		unset label 1
	}
}
# The key: every kind drawn in any panel, once.
legend = ""
do for [k in kinds] {
	found = 0
	do for [j = 1:3] { do for [i = 1:count[j]] { if (shown[(j - 1) * words(kinds) + i] eq k) { found = 1 } } }
	if (found) { legend = legend . " " . k }
}
set origin 0, 0
set size 1, 0.12
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
plot for [k in legend] NaN with linespoints lw 2 pt kind_point(k) ps 1.2 lc rgb kind_color(k) title k
unset multiplot
