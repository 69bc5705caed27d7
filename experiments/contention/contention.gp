# contention.gp: the contention ladder from contention.csv. Throughput (all
# threads together) against the number of threads, one line per operation or
# lock, each step's x label naming the topology level the added CPU crosses;
# or Jain's fairness index of the threads' rates against the threads.
#
#   gnuplot -e "data='DIR/contention.csv'; out='contention.png'" contention.gp
#   gnuplot -e "data='DIR/contention.csv'; out='fair.png'; figure='fairness'" contention.gp
#
# Variables (set with -e):
#   data    required. contention.csv as `cohmap contention` writes it.
#   out     required. Output PNG (pngcairo).
#   figure  throughput (default) or fairness.
#   stat    median (default): the statistic over rounds (the only one kept).
#   items   the operations and locks to draw, in legend order (default: all).

if (!exists("data") || !exists("out")) {
	print "contention.gp: set data='contention.csv' and out='FILE.png' with -e"
	exit status 2
}
if (!exists("figure")) { figure = "throughput" }
if (!exists("stat")) { stat = "median" }
if (!exists("items")) {
	items = "load store fetch_add cas_loop exchange fetch_add_padded split_lock_add " . \
		"aligned_lock_add tas ttas_backoff ticket mcs pthread_mutex pthread_spin"
}
if (figure ne "throughput" && figure ne "fairness") {
	print "contention.gp: figure must be throughput or fairness"
	exit status 2
}

set datafile separator ","
set terminal pngcairo size 1200, 760 noenhanced font "Sans,11" background rgb "white"
set output out
array colour[8] = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#999999"]
col(i) = colour[(i - 1) % 8 + 1]
# Operations solid, locks dashed, the baseline and split locks dotted.
dash(kind) = kind eq "lock" ? 2 : (kind eq "atomic" ? 1 : 3)

ycol = figure eq "throughput" ? "total_ops_per_s" : "jain_index"
yscale = figure eq "throughput" ? 1e6 : 1

# One block per item, two blank lines apart; each starts with an undefined
# point so an item without rows keeps its block and the legend its order.
undefine $series
array kinds[words(items)]
do for [i = 1:words(items)] {
	name = word(items, i)
	kinds[i] = ""
	set print $series append
	print "NaN NaN none"
	unset print
	set table $series append
	plot data using "threads":(column(ycol) / yscale):(strcol("level_crossed")) with table \
		if (strcol("op_or_lock") eq name && strcol("status") eq "ok" && \
		    (kinds[i] = strcol("kind")) ne "")
	unset table
	set print $series append
	print ""
	print ""
	unset print
}
set datafile separator whitespace

stats $series using 1 nooutput
set xrange [STATS_min - 0.3 : STATS_max + 0.3]
set grid ytics mytics lc rgb "#dddddd"
set key outside right top Left reverse samplen 3 spacing 1.1 font ",10"
set xlabel offset 0,-0.8 "threads (and the level the added CPU crosses: its nearest class to the CPUs before it)"
if (figure eq "throughput") {
	set title sprintf("contention ladder: operations per second, all threads together (%s of interleaved rounds)", stat)
	set logscale y
	set ylabel "million operations per second (log)"
} else {
	set title sprintf("fairness: Jain's index of the threads' rates (%s of interleaved rounds)\n1 = equal shares, 1/threads = one thread got everything", stat)
	set yrange [0:1.05]
	set ylabel "Jain's fairness index"
}
array dashes[words(items)]
do for [i = 1:words(items)] { dashes[i] = kinds[i] eq "" ? 1 : dash(kinds[i]) }
plot for [i = 1:words(items)] $series index (i - 1) \
	using 1:2:xtic(sprintf("%d\n%s", int($1), strcol(3))) \
	with linespoints lw 2 pt 7 ps 0.9 dashtype dashes[i] lc rgb col(i) \
	title (kinds[i] eq "" ? "" : word(items, i))
