# bandwidth.gp: producer -> consumer bandwidth against buffer size, one line
# per pair class, read straight from a bandwidth.csv.
#
#   gnuplot -e "data='DIR/bandwidth.csv'; out='x.png'" bandwidth.gp
#   gnuplot -e "data='DIR/bandwidth.csv'; out='x.png'; consumer='read'; stat='min'; l1=49152; l2=1048576" bandwidth.gp
#
# `cohmap bandwidth` runs this script with every variable set; it works on its
# own too. Variables (set with -e):
#   data      required. A bandwidth.csv: the rows with series "sweep", status
#             "ok" and this consumer are drawn.
#   out       required. Output PNG (pngcairo).
#   consumer  optional. Consumer kernel to draw; default "copy".
#   stat      optional. "median" (median_gbps, the default) or "min": the
#             fastest sample, i.e. the shortest time (max_gbps).
#   classes   optional. Pair classes to draw, space-separated, in legend order;
#             default every class cohmap knows ("self" is the same-core
#             baseline); classes without rows are left out.
#   pairs     optional. The CPUs of each class, one word per class ("0",
#             "0->1"), shown in the legend.
#   l1, l2, l3  optional. Cache sizes in bytes (one instance each): dashed
#             lines mark them. 0 or unset: no line.
#   title     optional. Title of the figure.
#
# The line is the chosen statistic; the bars span p10 to p90 of the samples.

if (!exists("data") || !exists("out")) {
	print "bandwidth.gp: set data='DIR/bandwidth.csv' and out='FILE.png' with -e"
	exit status 2
}
if (!exists("consumer")) { consumer = "copy" }
if (!exists("stat")) { stat = "median" }
if (!exists("classes")) { classes = "self smt l2 l3 die socket numa cross-socket" }
if (!exists("pairs")) { pairs = "" }
if (!exists("l1")) { l1 = 0 }
if (!exists("l2")) { l2 = 0 }
if (!exists("l3")) { l3 = 0 }
if (!exists("title")) { title = "producer -> consumer bandwidth" }
column_shown = (stat eq "min") ? "max_gbps" : "median_gbps"
stat_text = (stat eq "min") ? "fastest sample (shortest time)" : "median of samples"

# Legend text per class, in the vocabulary of `cohmap topo`.
describe(c) = (c eq "self") ? "same core (A = B: the consumer kernel alone)" : \
	(c eq "smt") ? "SMT siblings" : \
	(c eq "l2") ? "same L2, other core" : \
	(c eq "l3") ? "same L3, other L2" : \
	(c eq "die") ? "same die, other L3" : \
	(c eq "socket") ? "same socket" : \
	(c eq "numa") ? "same socket, other NUMA node" : \
	(c eq "cross-socket") ? "other socket" : c
# One colour per class whatever subset is drawn, so figures compare.
colour(c) = (c eq "self") ? 0x000000 : (c eq "smt") ? 0xe69f00 : (c eq "l2") ? 0x56b4e9 : \
	(c eq "l3") ? 0x009e73 : (c eq "die") ? 0x0072b2 : (c eq "socket") ? 0xd55e00 : \
	(c eq "numa") ? 0xcc79a7 : 0xb2182b
legend(i) = describe(word(classes, i)) . \
	((words(pairs) >= i) ? sprintf(" (CPU %s)", word(pairs, i)) : "")

# Rows of each class into a datablock of its own (x, value, p10, p90):
# `with table if` filters the CSV by name, whatever the column order.
set datafile separator comma
nclasses = words(classes)
do for [i = 1:nclasses] {
	eval sprintf("set print $C%d", i)
	print "# buffer_bytes value p10 p90"
	unset print
	eval sprintf("set table $C%d append", i)
	plot data using (column("buffer_bytes")):(column(column_shown)):(column("p10_gbps")):(column("p90_gbps")) \
		with table if (strcol("series") eq "sweep" && strcol("status") eq "ok" && \
			       strcol("consumer") eq consumer && strcol("pair_class") eq word(classes, i))
	unset table
}
set datafile separator whitespace
# Classes without rows (header line only) are left out of the plot and key.
drawn = ""
do for [i = 1:nclasses] { eval sprintf("rows = |$C%d|", i); if (rows > 1) { drawn = drawn . sprintf(" %d", i) } }
if (words(drawn) == 0) {
	print sprintf("bandwidth.gp: no sweep rows with status ok for consumer '%s' in %s", consumer, data)
	exit status 1
}

# Sizes in binary units on a log2 axis, one tick per power of 4.
bytes_label(b) = (b >= 2**30) ? sprintf("%g GiB", b / 2.0**30) : \
	(b >= 2**20) ? sprintf("%g MiB", b / 2.0**20) : \
	(b >= 2**10) ? sprintf("%g KiB", b / 2.0**10) : sprintf("%g B", b)
set logscale x 2
set xtics ()
do for [e = 0:50:2] { set xtics add (bytes_label(2.0**e) 2.0**e) }
set xtics rotate by 30 right nomirror
set offsets graph 0.02, graph 0.02, 0, 0
# Bandwidth on a log axis: the same-core baseline and a stream between
# cores may differ by 10x or more, and a log axis shows both, and their
# ratio, at a glance.
set logscale y 10
set ytics nomirror ()
do for [e = -3:4] { set ytics add (sprintf("%g", 10.0**e) 10.0**e, \
	sprintf("%g", 2 * 10.0**e) 2 * 10.0**e, sprintf("%g", 5 * 10.0**e) 5 * 10.0**e) }
set grid xtics ytics lc rgb "#e4e4e4"
set key top right inside Left reverse noenhanced samplen 2 box opaque
set xlabel "buffer (ring) size"
set ylabel sprintf("GB/s seen by the consumer (%s)", stat_text)
set title sprintf("%s\nbars: p10 to p90 of the samples; dashed: the size of one cache of each level", title) noenhanced

# Cache sizes as dashed verticals, labelled at the bottom (the key is at the top).
if (l1 > 0) { set arrow from l1, graph 0 to l1, graph 1 nohead dt 2 lc rgb "#888888" back
	set label "L1d" at l1, graph 0 offset 0.3, 0.8 left textcolor rgb "#666666" }
if (l2 > 0) { set arrow from l2, graph 0 to l2, graph 1 nohead dt 2 lc rgb "#888888" back
	set label "L2" at l2, graph 0 offset 0.3, 0.8 left textcolor rgb "#666666" }
if (l3 > 0) { set arrow from l3, graph 0 to l3, graph 1 nohead dt 2 lc rgb "#888888" back
	set label "L3" at l3, graph 0 offset 0.3, 0.8 left textcolor rgb "#666666" }

set terminal pngcairo size 1000, 640 noenhanced font "Sans,11" background rgb "white"
set output out
# Lines through the sorted points (smooth unique sorts by size); the points
# themselves are drawn by the error bars, which need no sorting.
plot for [w in drawn] sprintf("$C%s", w) using 1:2 smooth unique with lines \
		lw 2 lc rgb colour(word(classes, int(w))) title legend(int(w)), \
     for [w in drawn] sprintf("$C%s", w) using 1:2:3:4 with yerrorbars \
		lw 1 pt 7 ps 0.8 lc rgb colour(word(classes, int(w))) notitle
