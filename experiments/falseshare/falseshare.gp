# falseshare.gp: false-sharing slowdown against the distance between
# neighbouring counters, one line per placement and update kind (role).
#
#   gnuplot -e "data='DIR/falseshare-distance.dat'; out='x.png'" falseshare.gp
#
# `cohmap falseshare` (and `cohmap run`) write the data file from
# falseshare.csv and run this script; it works on its own too. Variables
# (set with -e):
#   data    required. One block per series (two blank lines between blocks);
#           each block starts with a header line whose first field is the
#           series' title in double quotes, then one line per distance:
#             x distance_bytes slowdown slowdown_min slowdown_max
#             events_per_op colour placement line_size_bytes "label"
#           x: position on the axis (log2 of the distance; the shared-word
#           point, d = 0, one and a half steps left of the smallest distance),
#           slowdown: median over the series' threads, min/max: their range,
#           events_per_op: coherence events per update (NaN: not counted),
#           colour: index of the kind and role, placement: style index of
#           the placement (0: solid line; dash and point type), label: the x
#           tick's text.
#   out     required. *.svg selects the svg terminal, any other name pngcairo.
#   vars    optional. gnuplot commands loaded before plotting; cohmap sets
#           `machine` (the CPU model, for the title) and `line_size` there.
#   line_size  optional. Bytes per cache line; default: from the data. The
#           distances of one line and of a 2-line pair are marked.
#   events  optional. 1 prints the coherence events per update above each
#           point, 0 does not; default 1 up to four series.

if (!exists("data") || !exists("out")) {
	print "falseshare.gp: set data='FILE.dat' and out='FILE.png' (or .svg) with -e"
	exit status 2
}

subject = "false sharing: slowdown against the distance between neighbouring counters"
if (exists("vars")) { load vars }
if (exists("machine")) { subject = subject . "\n" . machine }
set title subject . "\npoints: median over the threads, bars: their range " . \
	"(a thread's slowdown: median of interleaved rounds)"

stats data using 2 nooutput
nseries = STATS_blocks
if (!exists("line_size")) {
	stats data using 9 nooutput
	line_size = int(STATS_max)
}
stats data using 1 nooutput
xlo = STATS_min - 0.7
xhi = STATS_max + 0.7
stats data using 5 nooutput
yhi = STATS_max
stats data using 4 nooutput
ylo = STATS_min

# Per series: colour (kind and role) and placement (dash and point type).
array colour_of[nseries]
array place_of[nseries]
do for [i = 1:nseries] {
	stats data index (i - 1) using 7 nooutput
	colour_of[i] = int(STATS_min)
	stats data index (i - 1) using 8 nooutput
	place_of[i] = int(STATS_min)
}
# Colour-blind-safe (Okabe-Ito): store, fetch_add, writer, reader, others.
array palette[6] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]
array ptypes[5] = [7, 5, 9, 13, 11]
colour(i) = palette[(colour_of[i] % 6) + 1]
# Solid, dashed, dash-dot, dash-dot-dot: gnuplot's dotted type 3 is too faint.
array dashes[4] = [1, 2, 4, 5]
dash(i) = dashes[(place_of[i] % 4) + 1]
marker(i) = ptypes[(place_of[i] % 5) + 1]

# The key sits below the plot in two columns; the image grows with it.
keyrows = int((nseries + 1) / 2)
height = 660 + 24 * keyrows
svg = strlen(out) >= 4 && out[strlen(out) - 3:] eq ".svg"
if (svg) {
	set terminal svg size 1000, height dynamic noenhanced font "Sans,13" background rgb "white"
} else {
	set terminal pngcairo size 1000, height noenhanced font "Sans,13" background rgb "white"
}
set output out

# A log scale: a slowdown of 2 and one of 100 both need to be readable, and
# equal ratios look equal.
set logscale y
yfloor = ylo < 1 ? ylo / 1.3 : 0.8
set yrange [yfloor : (yhi > 2 ? yhi * 1.6 : 3)]
set xrange [xlo : xhi]
set ylabel "slowdown (padded ops/s / false-shared ops/s)"
set xlabel "distance between neighbouring counters [bytes] (0: all threads update one shared counter)"
set grid ytics lc rgb "#dddddd"
set key outside below center horizontal Left reverse noautotitle maxrows keyrows spacing 1.1
set xtics nomirror
set ytics nomirror
set format y "%g"
# Labelled ticks at 1-2-5 steps: gnuplot's log scale labels only decades.
set ytics (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 7, 10, 20, 30, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
set tics out

# Neighbours closer than one line share it: shade that region, and mark the
# distance of one line and of the 2-line pair the adjacent-line prefetcher
# couples.
xline = log(line_size) / log(2)
xpair = xline + 1
set object 1 rectangle from graph 0, graph 0 to first xline, graph 1 behind \
	fillcolor rgb "#fbe3d6" fillstyle solid 1.0 noborder
set object 2 rectangle from first xline, graph 0 to first xpair, graph 1 behind \
	fillcolor rgb "#fdf3d0" fillstyle solid 1.0 noborder
set arrow 1 from first xline, graph 0 to first xline, graph 1 nohead dashtype 2 lw 1.5 lc rgb "#7f3b08" front
set arrow 2 from first xpair, graph 0 to first xpair, graph 1 nohead dashtype 2 lw 1.5 lc rgb "#7f3b08" front
set label 1 sprintf("%d B: one line", line_size) at first xline, graph 0.98 rotate by 90 right offset -1.4, 0 front tc rgb "#7f3b08"
set label 2 sprintf("%d B: 2-line pair", 2 * line_size) at first xpair, graph 0.98 rotate by 90 right offset -1.4, 0 front tc rgb "#7f3b08"
set label 3 "neighbours share a line" at graph 0.015, graph 0.965 left front tc rgb "#7f3b08"
set arrow 3 from graph 0, first 1 to graph 1, first 1 nohead lw 1 lc rgb "#555555" back

# Points: the median over the threads; bars: the range over the threads.
# Numbers above points: coherence events per update, where counted; with more
# than four series they would cover each other, and are left to the CSV.
if (!exists("events")) { events = (nseries <= 4) }
plot for [i = 1:nseries] data index (i - 1) using 1:3:4:5:xtic(stringcolumn(10)) \
	with yerrorlines lw 2 lc rgb colour(i) dashtype dash(i) \
	pointtype marker(i) pointsize 1.3 title columnheader(1), \
     for [i = 1:(events ? nseries : 0)] data index (i - 1) \
	using 1:($6 == $6 ? $3 : NaN):(sprintf("%.1f", $6)) \
	with labels offset 0, 1.3 font ",10" tc rgb colour(i) notitle
