# latency-homes.gp: the latency matrix once per home node of the line
# (`cohmap latency --lines N`), as small multiples in one figure.
#
#   gnuplot -e "data='DIR/latency-load_store-homes.dat'; vars='DIR/latency-load_store-homes.gpvars'; out='x.png'" latency-homes.gp
#
# `cohmap plot DIR` writes the two input files and runs this script.
# Variables (set with -e):
#   data    required. One data set per home node (gnuplot `index`, two blank
#           lines between them), each lines "x y value": x = responder index,
#           y = initiator index, both in topology order; NaN: no value.
#   out     required. Output file: *.svg selects the svg terminal, any other
#           name pngcairo.
#   vars    optional. gnuplot commands loaded first: `ncpus`, `nhomes`,
#           `homes` (the node of each data set, "0 1 2 3"), `maintitle`,
#           `cbtext` (what the colour is), `cbmin`, `cbmax`, tick labels and
#           socket / L3 borders (`set arrow ... as 1` / `as 2`), axis labels.
#   size    optional. Width of one panel in pixels; default as heatmap.gp's
#           image, at most 800.
#
# Every panel has the same colour range, so that a home node whose lines
# cost more is darker or lighter in the same way as the numbers.

if (!exists("data") || !exists("out")) {
	print "latency-homes.gp: set data='FILE.dat' and out='FILE.png' (or .svg) with -e"
	exit status 2
}

set tics out scale 0.5 nomirror
set style arrow 1 nohead front linewidth 3 linecolor rgb "black"
set style arrow 2 nohead front linewidth 1.5 linecolor rgb "black" dashtype (5,3)
set xlabel "responder (index in topology order)"
set ylabel "initiator (index in topology order)"
# The colour bars carry no label: beside each panel it would run into the
# next panel's axis; what the colour is goes under the title (cbtext).
cbtext = "colour: one-way latency [ns]"
maintitle = "core-to-core latency by the line's home node"

if (exists("vars")) { load vars }
if (!exists("ncpus")) {
	stats data index 0 using 1 nooutput
	ncpus = int(STATS_max) + 1
}
if (!exists("nhomes")) {
	stats data using 1 nooutput
	nhomes = STATS_blocks
}
if (!exists("homes")) {
	homes = ""
	do for [i = 0:nhomes - 1] { homes = homes . sprintf(" %d", i) }
}
if (!exists("cbmin") || !exists("cbmax")) {
	stats data using 3 nooutput
	if (!exists("cbmin")) { cbmin = 0 }
	if (!exists("cbmax")) { cbmax = STATS_max }
}
if (cbmax <= cbmin) { cbmin = cbmin - 1; cbmax = cbmax + 1 }

# Panels in a near-square grid: 4 nodes are 2 x 2, 8 are 3 x 3 (one empty).
cols = ceil(sqrt(nhomes))
rows = ceil(1.0 * nhomes / cols)
if (!exists("size")) {
	size = (ncpus <= 32) ? ((24 * ncpus + 200 > 480) ? 24 * ncpus + 200 : 480) \
	     : ((6 * ncpus + 400 > 800) ? 800 : 6 * ncpus + 400)
}
values = (ncpus <= 16)
svg = strlen(out) >= 4 && out[strlen(out) - 3:] eq ".svg"
# At least 900 px wide: the title names the kernel and the CPU model.
width = cols * (size + 40) < 900 ? 900 : cols * (size + 40)
height = rows * size + 60
if (svg) {
	set terminal svg size width, height dynamic noenhanced font "Sans,11" background rgb "white"
} else {
	set terminal pngcairo size width, height noenhanced font "Sans,11" background rgb "white"
}
set output out

set size ratio -1
set xrange [-0.5 : ncpus - 0.5]
set yrange [ncpus - 0.5 : -0.5]
set cbrange [cbmin : cbmax]
set cbtics out nomirror
set cblabel offset char 2, 0
set format cb "%g"
set colorbox vertical default noborder
set palette defined ( \
	0.0 "#440154", 0.1 "#482475", 0.2 "#414487", 0.3 "#355f8d", \
	0.4 "#2a788e", 0.5 "#21918c", 0.6 "#22a884", 0.7 "#44bf70", \
	0.8 "#7ad151", 0.9 "#bddf26", 1.0 "#fde725")
set object 1 rectangle from graph 0,0 to graph 1,1 behind \
	fillcolor rgb "#d9d9d9" fillstyle solid 1.0 noborder
ink(v) = ((v - cbmin) / (cbmax - cbmin) < 0.55) ? 0xffffff : 0x000000

unset cblabel
set multiplot layout rows, cols title maintitle . "\n" . cbtext
do for [i = 0:nhomes - 1] {
	set title sprintf("lines homed on node %s", word(homes, i + 1))
	if (values) {
		plot data index i using 1:2:3 with image notitle, \
		     data index i using 1:($3 == $3 ? $2 : NaN):(sprintf("%.0f", $3)):(ink($3)) \
		          with labels textcolor rgb variable font ",9" notitle
	} else {
		plot data index i using 1:2:3 with image notitle
	}
}
unset multiplot
