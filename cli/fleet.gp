# fleet.gp: one experiment across the nodes of a fleet (`cohmap fleet report
# DIR` writes the inputs and runs this).
#
#   gnuplot -e "data='DIR/fleet-latency.dat'; vars='DIR/fleet-latency.gpvars'; out='x.png'" fleet.gp
#
# Variables (set with -e):
#   data    required. Lines "category x value outlier node": category 1..N (a
#           measure and pair class), x the category with a little sideways
#           jitter per node, value that node's median, outlier 1 when its
#           robust z-score is beyond the threshold, node its name (quoted).
#   out     required. *.svg selects the svg terminal, any other name pngcairo.
#   vars    optional. `ncategories`, `logscale` (1 when every value is
#           positive), the x tick labels, title and y label.
#
# Per category a box from the first to the third quartile of the nodes (the
# nodes' spread, not a run's), whiskers to the extremes within 1.5 box
# heights, and every node as a point: grey inside the threshold, red and
# named beyond it.

if (!exists("data") || !exists("out")) {
	print "fleet.gp: set data='FILE.dat' and out='FILE.png' (or .svg) with -e"
	exit status 2
}
if (exists("vars")) { load vars }
if (!exists("ncategories")) {
	stats data using 1 nooutput
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
set style boxplot nooutliers

plot for [k = 1:ncategories] data using (k):($1 == k ? $3 : NaN) with boxplot \
	lc rgb "#4a6fa5" notitle, \
     data using 2:($4 == 0 ? $3 : NaN) with points pt 7 ps 0.8 lc rgb "#555555" notitle, \
     data using 2:($4 == 1 ? $3 : NaN) with points pt 7 ps 1.4 lc rgb "#d62728" notitle, \
     data using 2:($4 == 1 ? $3 : NaN):5 with labels offset 0,1 font ",9" tc rgb "#d62728" notitle
