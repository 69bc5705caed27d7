# channels.gp: latency or bandwidth of each channel against message size,
# log-log, one line per channel, one panel per CPU pair, straight from
# channels.csv.
#
#   gnuplot -e "data='DIR/channels.csv'; out='lat.png'" channels.gp
#   gnuplot -e "data='DIR/channels.csv'; out='bw.png'; mode='bandwidth'; stat='min'" channels.gp
#
# Variables (set with -e):
#   data      required. channels.csv as `cohmap channels` writes it.
#   out       required. Output PNG (pngcairo).
#   mode      latency (default): one-way latency in microseconds, from the
#             ping-pong rows; bandwidth: GB/s (1e9 bytes/s), from the
#             streaming rows.
#   stat      median (default) or min: which statistic over samples is drawn
#             (for bandwidth, min time per message = max GB/s).
#   channels  the channels to draw, in legend order (default: all six).
#   pairs     the CPU pairs to draw, as "a-b" words (default: every pair in
#             data, one panel each, up to four).

if (!exists("data") || !exists("out")) {
	print "channels.gp: set data='channels.csv' and out='FILE.png' with -e"
	exit status 2
}
if (!exists("mode")) { mode = "latency" }
if (!exists("stat")) { stat = "median" }
if (!exists("channels")) { channels = "ring pipe vmsplice socket process_vm_readv handover" }
if (mode ne "latency" && mode ne "bandwidth") {
	print "channels.gp: mode must be latency or bandwidth"
	exit status 2
}
if (stat ne "median" && stat ne "min") {
	print "channels.gp: stat must be median or min"
	exit status 2
}

set datafile separator ","
# The CPU pairs measured, as "a-b" words: one pass over the rows.
if (!exists("pairs")) {
	pairs = ""
	pairclass = ""
	set table $pairlist
	plot data using (key = sprintf("%s-%s", strcol("cpu_a"), strcol("cpu_b")), \
		strstrt(pairs . " ", key . " ") == 0 && strlen(key) > 1 && strcol("status") eq "ok" \
		? (pairs = pairs . (strlen(pairs) ? " " : "") . key, \
		   pairclass = pairclass . (strlen(pairclass) ? " " : "") . strcol("pair_class"), 0) : 0):(0) \
		with table
	unset table
}
if (!exists("pairclass")) { pairclass = "" }
npairs = words(pairs)
if (npairs == 0) {
	print "channels.gp: no ok rows in ", data
	exit status 1
}
if (npairs > 4) { npairs = 4 }

# One colour and point per channel, the same in every panel and both plots.
array colour[6] = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#000000"]
array point[6] = [7, 5, 9, 11, 13, 3]
col(i) = colour[(i - 1) % 6 + 1]
pt(i) = point[(i - 1) % 6 + 1]

# The sizes measured, with a margin, so the first and last tick labels show.
stats data using ((strcol("status") eq "ok") ? column("bytes") : NaN) nooutput
xlow = STATS_min / 1.5
xhigh = STATS_max * 1.5

ycolumn = mode eq "latency" ? stat . "_ns" : (stat eq "median" ? "median_gb_per_s" : "max_gb_per_s")
yscale = mode eq "latency" ? 1e-3 : 1
statname = stat eq "median" ? "median" : (mode eq "latency" ? "min" : "max")

panel_w = 620
set terminal pngcairo size (panel_w * npairs + 40), 600 noenhanced font "Sans,11" background rgb "white"
set output out

set logscale xy 2
set logscale y 10
set xrange [xlow : xhigh]
set xtics ("64 B" 64, "256 B" 256, "1 KiB" 1024, "4 KiB" 4096, "16 KiB" 16384, "64 KiB" 65536, \
	"256 KiB" 262144, "1 MiB" 1048576, "4 MiB" 4194304, "16 MiB" 16777216, "64 MiB" 67108864, \
	"256 MiB" 268435456, "1 GiB" 1073741824) rotate by -35
set mxtics 2
set format y "%.10g"
set grid xtics ytics mytics lc rgb "#dddddd"
# Below the plot: inside, it would hide a line somewhere in one mode or the other.
set key below horizontal Left reverse samplen 2 spacing 1.1 width 1 height 2.5
set xlabel "message size" offset 0,-0.8
set bmargin 9
if (mode eq "latency") {
	set ylabel sprintf("one-way latency [us], %s of samples", statname)
} else {
	set ylabel sprintf("bandwidth [GB/s], %s of samples", statname)
}

set multiplot layout 1, npairs title (mode eq "latency" \
	? "one message from A to B: ping-pong round trip / 2 (log-log)" \
	: "a stream of messages from A to B (log-log)") font ",13"
do for [p = 1:npairs] {
	key = word(pairs, p)
	dash = strstrt(key, "-")
	a = key[1:dash - 1]
	b = key[dash + 1:]
	cls = words(pairclass) >= p ? word(pairclass, p) : ""
	set title sprintf("CPU %s -> CPU %s%s", a, b, a eq b ? " (the same CPU)" : (strlen(cls) ? " (" . cls . ")" : ""))
	# Rows of one series, sorted by size: `with table if` keeps only them.
	# Blocks separated by two blank lines are what `index` counts.
	# Each block starts with an undefined point, so a channel with no rows
	# still has its block and the blocks stay in legend order.
	undefine $series
	array rows[words(channels)]
	do for [i = 1:words(channels)] {
		c = word(channels, i)
		rows[i] = 0
		set print $series append
		print "NaN NaN"
		unset print
		set table $series append
		plot data using "bytes":(column(ycolumn) * yscale) with table \
			if (strcol("channel") eq c && strcol("mode") eq mode && strcol("cpu_a") eq a && \
			    strcol("cpu_b") eq b && strcol("status") eq "ok" && (rows[i] = rows[i] + 1) > 0)
		unset table
		set print $series append
		print ""
		print ""
		unset print
	}
	set datafile separator whitespace
	plot for [i = 1:words(channels)] $series index (i - 1) using 1:2 smooth unique \
		with linespoints lw 2 pt pt(i) ps 0.9 lc rgb col(i) title (rows[i] > 0 ? word(channels, i) : "")
	set datafile separator ","
}
unset multiplot
