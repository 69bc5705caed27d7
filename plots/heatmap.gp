# heatmap.gp: core-to-core latency as a matrix, CPUs in topology order.
#
#   gnuplot -e "data='DIR/latency-load_store.dat'; vars='DIR/latency-load_store.gpvars'; out='x.png'" heatmap.gp
#
# `cohmap plot DIR` writes the two input files and runs this script; it works
# on its own too, e.g. to restyle a figure. Variables (set with -e):
#   data    required. Lines "x y value": x = responder index, y = initiator
#           index, both in topology order; NaN where there is no value (the
#           diagonal, failed pairs). Blank lines between rows are allowed.
#   out     required. Output file: *.svg selects the svg terminal, any other
#           name pngcairo.
#   vars    optional. gnuplot commands loaded before plotting: `ncpus`, `cbmin`,
#           `cbmax`, tick labels with the CPU ids, socket / L3-group names on
#           the top axis, border lines (`set arrow ... as 1` for sockets, `as 2`
#           for L3 groups; the styles are defined here), title, axis and
#           colour-bar labels (which statistic, in which unit).
#   ncpus   optional. Side of the matrix; default from vars, else from data.
#   size    optional. Image width in pixels; default max(640, 24*ncpus+200),
#           i.e. about 24 px per cell.
#   values  optional. 1 prints each cell's value (rounded ns), 0 does not;
#           default 1 when ncpus <= 32.
#   cbmin, cbmax   optional. Colour range; default 0 (or the data's minimum
#           when negative) to the data's maximum.

if (!exists("data") || !exists("out")) {
	print "heatmap.gp: set data='FILE.dat' and out='FILE.png' (or .svg) with -e"
	exit status 2
}

# Missing cells (diagonal, failed pairs) are NaN: `with image` leaves them
# transparent, so this grey shows through, distinct from every palette colour.
set object 1 rectangle from graph 0,0 to graph 1,1 behind \
	fillcolor rgb "#d9d9d9" fillstyle solid 1.0 noborder
set tics out scale 0.5 nomirror
set style arrow 1 nohead front linewidth 3 linecolor rgb "black"
set style arrow 2 nohead front linewidth 1.5 linecolor rgb "black" dashtype (5,3)

# Defaults for a run without vars; the vars file names the CPUs and the statistic.
set xlabel "responder (index in topology order)"
set ylabel "initiator (index in topology order)"
set cblabel "one-way latency [ns]"

if (exists("vars")) { load vars }
if (!exists("ncpus")) {
	stats data using 1 nooutput
	ncpus = int(STATS_max) + 1
}
# The colour range starts at 0 ns, so that colours compare like the numbers
# do: 48 and 52 ns look alike, 9 and 140 ns do not.
if (!exists("cbmin") || !exists("cbmax")) {
	stats data using 3 nooutput
	if (!exists("cbmin")) { cbmin = STATS_min < 0 ? STATS_min : 0 }
	if (!exists("cbmax")) { cbmax = STATS_max }
}
# Up to 32 CPUs a cell is 24 px, wide enough for its value; past that the
# cells are colour only (no values, axes named by socket or die), so the
# image grows slowly and stops at 2400 px (6 px cells at 384 CPUs).
if (!exists("size")) {
	size = (ncpus <= 32) ? ((24 * ncpus + 200 > 640) ? 24 * ncpus + 200 : 640) \
	     : ((6 * ncpus + 400 < 968) ? 968 : ((6 * ncpus + 400 > 2400) ? 2400 : 6 * ncpus + 400))
}
if (!exists("values")) { values = (ncpus <= 32) }

# A flat matrix (all values equal, or one pair) still needs a colour range.
if (cbmax <= cbmin) { cbmin = cbmin - 1; cbmax = cbmax + 1 }

# The plot is square; the extra width holds the colour bar and its label,
# the extra height the title and the (possibly rotated) x tick labels.
width = size + 40
height = size - 40
cell = (size - 200.0) / ncpus
# Titles, axis labels and the colour bar grow with the image, so they stay
# readable when a big matrix is shown scaled down; tick labels cannot (one
# per 24 px cell).
fontpt = (size > 1100) ? int(size / 100) : 11
fontspec = sprintf("Sans,%d", fontpt)
lwscale = (size > 2000) ? size / 2000.0 : 1
# gnuplot substrings are 1-based and inclusive: this is the last 4 characters.
svg = strlen(out) >= 4 && out[strlen(out) - 3:] eq ".svg"
# An SVG embeds `with image` as a tiny bitmap that viewers blur when they
# scale it up; `pixels` draws one rectangle per cell instead (crisp, but the
# file grows with ncpus^2, so only for matrices of moderate size).
image = (svg && ncpus <= 128) ? "with image pixels" : "with image"
if (svg) {
	set terminal svg size width, height dynamic noenhanced font fontspec fontscale 1.25 linewidth lwscale background rgb "white"
} else {
	set terminal pngcairo size width, height noenhanced font fontspec linewidth lwscale background rgb "white"
}
set output out

set size ratio -1
set xrange [-0.5 : ncpus - 0.5]
set yrange [ncpus - 0.5 : -0.5]        # initiator 0 on top, like a matrix
set link x2                             # block names (vars: set x2tics) align with cells
set cbrange [cbmin : cbmax]
set cbtics out nomirror
set cblabel offset char 1.5, 0          # clear of the tic labels; keeps vars' text
set format cb "%g"
set colorbox vertical default noborder
set border linewidth 1

# Viridis (matplotlib): perceptually uniform, ordered dark to light, readable
# in grey and by most colour-blind readers.
set palette defined ( \
	0.0 "#440154", 0.1 "#482475", 0.2 "#414487", 0.3 "#355f8d", \
	0.4 "#2a788e", 0.5 "#21918c", 0.6 "#22a884", 0.7 "#44bf70", \
	0.8 "#7ad151", 0.9 "#bddf26", 1.0 "#fde725")

# Cell text: white on the dark half of viridis, black on the light half.
labelpt = cell / 3.2
labelpt = labelpt > 14 ? 14 : (labelpt < 6 ? 6 : labelpt)
ink(v) = ((v - cbmin) / (cbmax - cbmin) < 0.55) ? 0xffffff : 0x000000
labelfont = sprintf(",%d", int(labelpt))

if (values) {
	plot data using 1:2:3 @image notitle, \
	     data using 1:($3 == $3 ? $2 : NaN):(sprintf("%.0f", $3)):(ink($3)) \
	          with labels textcolor rgb variable font labelfont notitle
} else {
	plot data using 1:2:3 @image notitle
}
