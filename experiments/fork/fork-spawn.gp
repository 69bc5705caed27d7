# fork-spawn.gp: starting a program while holding large mappings: fork + exec
# against vfork + exec and posix_spawn, time from the call until the program
# has run and been reaped, against mapping size. Colour: the method; solid:
# a private touched mapping (fork copies its page tables), dashed: a shared
# one (fork copies none). Dotted: the same with no mapping.
#
#   gnuplot -e "data='DIR/fork.csv'; out='fork-spawn.png'" experiments/fork/fork-spawn.gp
#
# Variables (set with -e):
#   data    required. fork.csv as cohmap fork writes it (named columns).
#   out     required. Output file: *.svg selects the svg terminal, else pngcairo.
#   kinds   optional. Up to two mapping kinds (default "private_touched shared_anon").
#   stat    optional. The column drawn: min_ns (default: the fastest of the
#           samples, the cost without interference) or median_ns.

if (!exists("data") || !exists("out")) {
	print "fork-spawn.gp: set data='fork.csv' and out='FILE.png' with -e"
	exit status 2
}
if (!exists("kinds")) { kinds = "private_touched shared_anon" }
if (!exists("stat")) { stat = "min_ns" }
methods = "fork_exec vfork_exec posix_spawn"
method_title(m) = m eq "fork_exec" ? "fork + exec" : m eq "vfork_exec" ? "vfork + exec" : "posix_spawn"
method_color(m) = m eq "fork_exec" ? "#d62728" : m eq "vfork_exec" ? "#1f77b4" : "#2ca02c"

# A table that matches no row makes no datablock at all, so each starts
# with a comment line and the rows are appended: |$x| > 1 means rows.
fresh(name) = sprintf("set print %s; print '# %s'; unset print; set table %s append", name, name, name)
set datafile separator comma
set datafile columnheaders
array blk_method[6]
array blk_kind[6]
n = 0
do for [k = 1:(words(kinds) < 2 ? words(kinds) : 2)] {
	do for [m in methods] {
		eval fresh("$probe")
		plot data using (column("bytes")):(column(stat) / 1e6) with table \
			if (strcol("kind") eq word(kinds, k) && strcol("measure") eq m && strcol("status") eq "ok")
		unset table
		if (|$probe| > 1) {
			n = n + 1; blk_method[n] = m; blk_kind[n] = k
			eval fresh(sprintf("$b%d", n))
			plot data using (column("bytes")):(column(stat) / 1e6) with table \
				if (strcol("kind") eq word(kinds, k) && strcol("measure") eq m && strcol("status") eq "ok")
			unset table
		}
	}
}
# The no-mapping baselines, through tables (which, unlike stats, say nothing
# when no row matches).
do for [i = 1:3] {
	eval fresh(sprintf("$base%d", i))
	plot data using (column(stat) / 1e6):(1) with table \
		if (strcol("kind") eq "none" && strcol("measure") eq word(methods, i) && strcol("status") eq "ok")
	unset table
}
set datafile separator whitespace
set datafile nocolumnheaders
if (|$base1| > 1) { stats $base1 using 1 name "B1" nooutput }
if (|$base2| > 1) { stats $base2 using 1 name "B2" nooutput }
if (|$base3| > 1) { stats $base3 using 1 name "B3" nooutput }
if (n == 0) {
	print "fork-spawn.gp: no ok fork_exec/vfork_exec/posix_spawn rows for ", kinds, " in ", data
	exit status 1
}

svg = strlen(out) >= 4 && out[strlen(out) - 3:] eq ".svg"
if (svg) {
	set terminal svg size 1000, 650 dynamic noenhanced font "Sans,12" background rgb "white"
} else {
	set terminal pngcairo size 1000, 650 noenhanced font "Sans,11" background rgb "white"
}
set output out

set title sprintf("starting a program (true) while holding a mapping: from the call until reaped\n(%s)", stat eq "min_ns" ? "the fastest of the samples" : stat eq "median_ns" ? "median" : stat) font ",13"
set logscale xy
set logscale x 2
set xtics 4
set format x "%.0b %BB"
set format y "%g"
set grid xtics ytics mytics lc rgb "#dddddd"
set xlabel "mapping size"
set ylabel "time [ms]"
set key top left opaque box lc rgb "#bbbbbb" font ",10"
if (exists("B1_min")) { set arrow 1 from graph 0, first B1_min to graph 1, first B1_min nohead lc rgb method_color("fork_exec") dt 3 lw 1.5 back }
if (exists("B2_min")) { set arrow 2 from graph 0, first B2_min to graph 1, first B2_min nohead lc rgb method_color("vfork_exec") dt 3 lw 1.5 back }
if (exists("B3_min")) { set arrow 3 from graph 0, first B3_min to graph 1, first B3_min nohead lc rgb method_color("posix_spawn") dt 3 lw 1.5 back }
plot for [i = 1:n] sprintf("$b%d", i) using 1:2 with linespoints lw 2 \
	dt blk_kind[i] pt (blk_kind[i] == 1 ? 7 : 6) ps 1.1 \
	lc rgb method_color(blk_method[i]) \
	title sprintf("%s, %s", method_title(blk_method[i]), word(kinds, blk_kind[i])), \
	1/0 with lines lc rgb "#555555" dt 3 lw 1.5 title "dotted: the same method, no mapping"
