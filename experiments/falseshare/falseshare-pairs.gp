# falseshare-pairs.gp: false-sharing slowdown of every CPU pair as a matrix,
# CPUs in topology order. A sibling of heatmap.gp (same layout, borders and
# palette) for a value that is a ratio, not a latency: cells show one decimal,
# and the colour range starts at 1 (no slowdown).
#
#   gnuplot -e "data='DIR/falseshare-pairs.dat'; vars='DIR/falseshare-pairs.gpvars'; out='x.png'" falseshare-pairs.gp
#
# Variables (set with -e):
#   data    required. Lines "x y value": y = index of the CPU whose thread's
#           slowdown the cell shows, x = index of the CPU running the thread
#           whose counter is its neighbour, both in topology order; NaN where
#           there is no value (the diagonal, pairs not measured).
#   out     required. *.svg selects the svg terminal, any other name pngcairo.
#   vars    optional. gnuplot commands loaded before plotting: `ncpus`, tick
#           labels with the CPU ids, socket / L3-group names on the top axis,
#           border lines (`set arrow ... as 1` sockets, `as 2` L3 groups),
#           title, axis and colour-bar labels.
#   ncpus   optional. Side of the matrix; default from vars, else from data.
#   size    optional. Image width in pixels; default max(640, 24*ncpus+200).
#   values  optional. 1 prints each cell's value, 0 does not; default 1 when
#           ncpus <= 32.
#   cbmin, cbmax   optional. Colour range; default min(1, data) to max(2, data).

if (!exists("data") || !exists("out")) {
	print "falseshare-pairs.gp: set data='FILE.dat' and out='FILE.png' (or .svg) with -e"
	exit status 2
}

set object 1 rectangle from graph 0,0 to graph 1,1 behind \
	fillcolor rgb "#d9d9d9" fillstyle solid 1.0 noborder
set tics out scale 0.5 nomirror
set style arrow 1 nohead front linewidth 3 linecolor rgb "black"
set style arrow 2 nohead front linewidth 1.5 linecolor rgb "black" dashtype (5,3)

set xlabel "CPU of the neighbouring counter's thread (topology order)"
set ylabel "CPU whose slowdown is shown"
set cblabel "slowdown (padded ops/s / false-shared ops/s)"

if (exists("vars")) { load vars }
if (!exists("ncpus")) {
	stats data using 1 nooutput
	ncpus = int(STATS_max) + 1
}
# The colour range starts at 1, where false sharing costs nothing, and reaches
# at least 2, so that noise around 1 (0.9, 1.05) stays one colour while a
# real slowdown stands out; values below 1 are noise.
if (!exists("cbmin") || !exists("cbmax")) {
	stats data using 3 nooutput
	if (!exists("cbmin")) { cbmin = STATS_min < 1 ? STATS_min : 1 }
	if (!exists("cbmax")) { cbmax = STATS_max > 2 ? STATS_max : 2 }
}
if (!exists("size")) { size = (24 * ncpus + 200 > 640) ? 24 * ncpus + 200 : 640 }
if (!exists("values")) { values = (ncpus <= 32) }
if (cbmax <= cbmin) { cbmin = cbmin - 1; cbmax = cbmax + 1 }

width = size + 40
height = size - 40
cell = (size - 200.0) / ncpus
fontpt = (size > 1100) ? int(size / 100) : 11
fontspec = sprintf("Sans,%d", fontpt)
lwscale = (size > 2000) ? size / 2000.0 : 1
svg = strlen(out) >= 4 && out[strlen(out) - 3:] eq ".svg"
image = (svg && ncpus <= 128) ? "with image pixels" : "with image"
if (svg) {
	set terminal svg size width, height dynamic noenhanced font fontspec fontscale 1.25 linewidth lwscale background rgb "white"
} else {
	set terminal pngcairo size width, height noenhanced font fontspec linewidth lwscale background rgb "white"
}
set output out

set size ratio -1
set xrange [-0.5 : ncpus - 0.5]
set yrange [ncpus - 0.5 : -0.5]
set link x2
if (ncpus > 32) { set xtics font ",9"; set ytics font ",9" }
set cbrange [cbmin : cbmax]
set cbtics out nomirror
set cblabel offset char 1.5, 0
set format cb "%g"
set colorbox vertical default noborder
set border linewidth 1

# Viridis, as heatmap.gp.
set palette defined ( \
	0.0 "#440154", 0.1 "#482475", 0.2 "#414487", 0.3 "#355f8d", \
	0.4 "#2a788e", 0.5 "#21918c", 0.6 "#22a884", 0.7 "#44bf70", \
	0.8 "#7ad151", 0.9 "#bddf26", 1.0 "#fde725")

labelpt = cell / 3.2
labelpt = labelpt > 14 ? 14 : (labelpt < 6 ? 6 : labelpt)
ink(v) = ((v - cbmin) / (cbmax - cbmin) < 0.55) ? 0xffffff : 0x000000
labelfont = sprintf(",%d", int(labelpt))

if (values) {
	plot data using 1:2:3 @image notitle, \
	     data using 1:($3 == $3 ? $2 : NaN):(sprintf("%.1f", $3)):(ink($3)) \
	          with labels textcolor rgb variable font labelfont notitle
} else {
	plot data using 1:2:3 @image notitle
}
