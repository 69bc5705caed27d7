# compare.gp: two runs' latency matrices against each other, CPUs in
# topology order (`cohmap compare A B` writes the inputs and runs this).
#
#   gnuplot -e "data='DIR/compare-load_store-ratio.dat'; vars='DIR/compare-load_store-ratio.gpvars'; mode='ratio'; out='x.png'" compare.gp
#
# Variables (set with -e):
#   data    required. Lines "x y value": x = responder index, y = initiator
#           index (topology order of run A); NaN where there is no value.
#   out     required. Output file: *.svg selects the svg terminal, any other
#           name pngcairo.
#   mode    'ratio' (value = B / A, default) or 'diff' (value = B - A, ns).
#   vars    optional. gnuplot commands loaded first: `ncpus`, `span`, tick
#           labels with the CPU ids, socket / L3-group borders (`set arrow
#           ... as 1` / `as 2`), title and colour-bar label.
#   span    optional. Half-width of the colour range: in ratio mode in
#           natural-log units (log(2) shows 0.5 .. 2), in diff mode in ns;
#           default: the largest deviation in the data.
#   values  optional. 1 prints each cell's value, 0 does not; default 1 when
#           ncpus <= 32.
#
# The colours diverge from white at "no change" (ratio 1, difference 0):
# blue where B is faster, red where B is slower. Ratios are drawn on a log
# scale, so that twice as slow and twice as fast are equally far from white.

if (!exists("data") || !exists("out")) {
	print "compare.gp: set data='FILE.dat' and out='FILE.png' (or .svg) with -e"
	exit status 2
}
if (!exists("mode")) { mode = 'ratio' }
ratio = (mode eq 'ratio')

set object 1 rectangle from graph 0,0 to graph 1,1 behind \
	fillcolor rgb "#d9d9d9" fillstyle solid 1.0 noborder
set tics out scale 0.5 nomirror
set style arrow 1 nohead front linewidth 3 linecolor rgb "black"
set style arrow 2 nohead front linewidth 1.5 linecolor rgb "black" dashtype (5,3)
set xlabel "responder (index in topology order)"
set ylabel "initiator (index in topology order)"
if (ratio) {
	set cblabel "B / A (below 1: B faster, above 1: B slower)"
} else {
	set cblabel "B - A [ns] (below 0: B faster, above 0: B slower)"
}

if (exists("vars")) { load vars }
if (!exists("ncpus")) {
	stats data using 1 nooutput
	ncpus = int(STATS_max) + 1
}
if (!exists("span")) {
	if (ratio) {
		stats data using (abs(log($3))) nooutput
	} else {
		stats data using (abs($3)) nooutput
	}
	span = STATS_max
}
if (!(span > 0)) { span = ratio ? log(1.1) : 1 }
if (ratio && !exists("ratio_tics")) {
	set cbtics ("0.25" log(0.25), "0.5" log(0.5), "0.67" log(2.0/3), "0.8" log(0.8), \
		"0.9" log(0.9), "1" 0, "1.11" log(1/0.9), "1.25" log(1.25), "1.5" log(1.5), \
		"2" log(2), "4" log(4))
}
if (!exists("values")) { values = (ncpus <= 32) }
# as plots/heatmap.gp: 24 px cells with values up to 32 CPUs, then colour only, at most 2400 px
size = (ncpus <= 32) ? ((24 * ncpus + 200 > 640) ? 24 * ncpus + 200 : 640) \
     : ((6 * ncpus + 400 < 968) ? 968 : ((6 * ncpus + 400 > 2400) ? 2400 : 6 * ncpus + 400))
width = size + 60
height = size - 40
cell = (size - 200.0) / ncpus
fontpt = (size > 1100) ? int(size / 100) : 11
fontspec = sprintf("Sans,%d", fontpt)
svg = strlen(out) >= 4 && out[strlen(out) - 3:] eq ".svg"
image = (svg && ncpus <= 128) ? "with image pixels" : "with image"
if (svg) {
	set terminal svg size width, height dynamic noenhanced font fontspec background rgb "white"
} else {
	set terminal pngcairo size width, height noenhanced font fontspec background rgb "white"
}
set output out

set size ratio -1
set xrange [-0.5 : ncpus - 0.5]
set yrange [ncpus - 0.5 : -0.5]
set link x2
set cbrange [-span : span]
set cbtics out nomirror
set cblabel offset char 1.5, 0
set colorbox vertical default noborder

# ColorBrewer RdBu, reversed: diverging, readable by most colour-blind readers.
set palette defined ( \
	0.0 "#2166ac", 0.17 "#67a9cf", 0.33 "#d1e5f0", 0.5 "#f7f7f7", \
	0.67 "#fddbc7", 0.83 "#ef8a62", 1.0 "#b2182b")

z(v) = ratio ? log(v) : v
# Cell text: white on the saturated ends, black near white.
ink(v) = (abs(z(v)) / span > 0.6) ? 0xffffff : 0x000000
labelpt = cell / 3.2
labelpt = labelpt > 14 ? 14 : (labelpt < 6 ? 6 : labelpt)
labelfont = sprintf(",%d", int(labelpt))
text(v) = ratio ? sprintf("%.2f", v) : sprintf("%+.0f", v)

if (values) {
	plot data using 1:2:(z($3)) @image notitle, \
	     data using 1:($3 == $3 ? $2 : NaN):(text($3)):(ink($3)) \
	          with labels textcolor rgb variable font labelfont notitle
} else {
	plot data using 1:2:(z($3)) @image notitle
}
