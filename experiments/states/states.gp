# states.gp: the cost of an access by the state of the line, as grouped bars:
# one panel per pair class, one group per state, one bar per operation.
#
#   gnuplot -e "data='DIR/states-bars.dat'; vars='DIR/states-bars.gpvars'; out='x.png'" states.gp
#
# `cohmap states` (and `cohmap plot DIR`) writes the two input files and runs
# this script; it works on its own too. Variables (set with -e):
#   data    required. One block per pair class, blocks separated by two blank
#           lines; each line: a state name, then for load, store, cas and faa
#           three numbers: the value (ns per access), its p10 and its p90.
#           NaN where a kernel was not measured.
#   out     required. Output file: *.svg selects the svg terminal, any other
#           name pngcairo.
#   vars    optional. gnuplot commands loaded first: `nclasses`, `ymax`,
#           `array class_title[nclasses]` (one panel title per class),
#           `figure_title`, `stat` (which statistic the bars show) and
#           `ops_plotted` (which operations have values, e.g. "1 3" for load
#           and CAS; default all four).
#   ymax    optional. Top of the y axis, the same in every panel so they
#           compare; default from vars, else each panel autoscales.
#   width   optional. Image width in pixels (default 1000).

if (!exists("data") || !exists("out")) {
	print "states.gp: set data='FILE.dat' and out='FILE.png' (or .svg) with -e"
	exit status 2
}
if (exists("vars")) { load vars }
if (!exists("nclasses")) {
	stats data using 0 nooutput
	nclasses = STATS_blocks
}
if (!exists("stat")) { stat = "median" }
if (!exists("ops_plotted")) { ops_plotted = "1 2 3 4" }
nops = words(ops_plotted)
if (!exists("width")) { width = 1000 }
# Layout in pixels: the figure title, then per class its title, plot and
# tick labels, then the x label.
header = 64.0
block = 340.0
plot_px = 270.0
title_px = 34.0
footer = 40.0
height = int(header + block * nclasses + footer)

svg = strlen(out) >= 4 && out[strlen(out) - 3:] eq ".svg"
if (svg) {
	set terminal svg size width, height dynamic noenhanced font "Sans,11" background rgb "white"
} else {
	set terminal pngcairo size width, height noenhanced font "Sans,11" background rgb "white"
}
set output out

ops = "load store CAS fetch-and-add"
# Okabe-Ito colours: distinct for most colour-blind readers, and in grey.
colours = "#0072B2 #E69F00 #009E73 #CC79A7"
# A bar's centre within its group: histograms give each of the n bars 1/(n+gap)
# of the group's width, centred on the group's index; j counts from 1.
gap = 1   # as in `set style histogram ... gap 1` below
bar_x(j) = $0 + (j - (nops + 1) / 2.0) / (nops + gap)
label(v) = v < 10 ? sprintf("%.1f", v) : sprintf("%.0f", v)

set style data histograms
set style histogram errorbars gap 1 lw 1.2
set style fill solid 0.85 border rgb "#333333"
set boxwidth 0.9
set grid ytics lc rgb "#dddddd"
set border 3
set tics nomirror out scale 0.5
set xtics scale 0
set key outside right top vertical Left reverse samplen 1.5 spacing 1.2 title "operation"
set ylabel sprintf("ns per access (%s of samples)", stat)
if (exists("ymax")) { set yrange [0:ymax] } else { set yrange [0:*] }
# Groups sit at 0, 1, ...: half a group of room on either side.
stats data index 0 using 0 nooutput
set xrange [-0.6 : STATS_records - 0.4]

# The figure title goes above all panels; each panel names its class.
if (!exists("figure_title")) { figure_title = "cost of an access by the state of the line" }
set multiplot title sprintf("%s\nbars: %s ns per access; whiskers: p10 to p90 of the samples", figure_title, stat) font ",12"
set lmargin at screen 90.0 / width
set rmargin at screen 1 - 190.0 / width
do for [i = 1:nclasses] {
	top = header + (i - 1) * block + title_px
	set tmargin at screen 1 - top / height
	set bmargin at screen 1 - (top + plot_px) / height
	if (exists("class_title")) { set title class_title[i] font ",12" } else { set title sprintf("pair class %d", i) }
	set xlabel (i == nclasses ? "state of the line when the requester B accesses it" : "")
	if (i > 1) { unset key }   # one key, beside the first panel
	plot for [j = 1:nops] data index (i - 1) \
		using (column(3 * int(word(ops_plotted, j)) - 1)):(column(3 * int(word(ops_plotted, j)))):(column(3 * int(word(ops_plotted, j)) + 1)):xtic(1) \
		title word(ops, int(word(ops_plotted, j))) lc rgb word(colours, int(word(ops_plotted, j))), \
	     for [j = 1:nops] data index (i - 1) \
		using (bar_x(j)):(column(3 * int(word(ops_plotted, j)) + 1)):(label(column(3 * int(word(ops_plotted, j)) - 1))) \
		with labels offset 0, 0.6 font ",8" notitle
}
unset multiplot
