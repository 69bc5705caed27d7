# fleet.gp: one experiment across the nodes of a fleet (`cohmap fleet report
# DIR` writes the inputs and runs this).
#
#   gnuplot -e "data='DIR/fleet-latency.dat'; vars='DIR/fleet-latency.gpvars'; out='x.png'" fleet.gp
#
# Variables (set with -e):
#   data    required. Index 0, lines "category x value outlier node": category 1..N (a
#           measure and pair class), x the category with a little sideways
#           jitter per node, value that node's median, outlier 1 when its
#           robust z-score is beyond the threshold, node its name (quoted).
#           Index 1, lines "category q1 min max q3 median" over the nodes.
#   out     required. *.svg selects the svg terminal, any other name pngcairo.
#   vars    optional. `ncategories`, `logscale` (1 when every value is
#           positive), the x tick labels, title and y label.
#
# Per category a box from the first to the third quartile of the nodes (the
# nodes' spread, not a run's), whiskers to the extremes, a line at the
# median, and every node as a point: grey inside the threshold, red and
# named beyond it.

if (!exists("data") || !exists("out")) {
	print "fleet.gp: set data='FILE.dat' and out='FILE.png' (or .svg) with -e"
	exit status 2
}
if (exists("vars")) { load vars }
if (!exists("ncategories")) {
	stats data index 0 using 1 nooutput
	ncategories = int(STATS_max)
}
if (!exists("logscale")) { logscale = 0 }

width = 640 + 40 * ncategories
svg = strlen(out) >= 4 && out[strlen(out) - 3:] eq ".svg"
if (svg) {
	set terminal svg size width, 620 dynamic noenhanced font "sans,11" background rgb "white"
} else {
	set terminal pngcairo size width, 620 noenhanced font "sans,11" background rgb "white"
}
set output out

set key off
set grid ytics lc rgb "#dddddd"
set tics out nomirror
set xtics rotate by 30 right font ",9"
set xrange [0.4 : ncategories + 0.6]
set bmargin 11
if (logscale) { set logscale y }
set style fill solid 0.25 border lc rgb "#4a6fa5"
set boxwidth 0.5

# index 0: the nodes; index 1: per category q1 min max q3 median
plot data index 1 using 1:2:3:4:5 with candlesticks whiskerbars lc rgb "#4a6fa5" notitle, \
     data index 1 using 1:6:6:6:6 with candlesticks lc rgb "#4a6fa5" lw 2 notitle, \
     data index 0 using 2:($4 == 0 ? $3 : NaN) with points pt 7 ps 0.8 lc rgb "#555555" notitle, \
     data index 0 using 2:($4 == 1 ? $3 : NaN) with points pt 7 ps 1.4 lc rgb "#d62728" notitle, \
     data index 0 using 2:($4 == 1 ? $3 : NaN):5 with labels offset 0,1 font ",9" tc rgb "#d62728" notitle
