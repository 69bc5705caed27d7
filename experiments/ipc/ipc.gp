# ipc.gp: the same kernel with its agents as threads and as processes over
# each kind of shared memory, one cluster of bars per CPU pair class, straight
# from ipc-summary.csv: the one-way latency of the handoff kernel, or the
# bandwidth of the stream copy.
#
#   gnuplot -e "data='DIR/ipc-summary.csv'; out='ipc.png'" ipc.gp
#   gnuplot -e "data='DIR/ipc-summary.csv'; out='ipc-bandwidth.png'; metric='bandwidth'" ipc.gp
#
# Variables (set with -e):
#   data    required. ipc-summary.csv as `cohmap ipc` writes it.
#   out     required. Output PNG (pngcairo).
#   metric  latency (default: median_ns ...) or bandwidth (median_gbps ...).
# Two panels. Top: each bar is the median over rounds of each round's
# median, the whisker spans the lowest and highest round. Bottom: the
# difference to threads measured in the same round (median over rounds,
# whiskers: smallest and largest), labelled with the sign test's p: a
# whisker crossing 0 means no difference could be measured in this run.

if (!exists("data") || !exists("out")) {
	print "ipc.gp: set data='ipc-summary.csv' and out='FILE.png' with -e"
	exit status 2
}
if (!exists("metric")) metric = "latency"
if (metric ne "latency" && metric ne "bandwidth") {
	print "ipc.gp: metric must be latency or bandwidth"
	exit status 2
}
unit = metric eq "latency" ? "ns" : "gbps"
set datafile separator ","
set datafile missing "NA"
set terminal pngcairo size 900,760 noenhanced font "Sans,11"
set output out
if (metric eq "latency") {
	what = "one-way latency of the same handoff"
	axis = "one-way latency [ns]"
	slower = "above 0: slower"
} else {
	what = "bandwidth of the same stream copy (producer writes, consumer copies)"
	axis = "bandwidth seen by the consumer [GB/s]"
	slower = "below 0: slower"
}

word_in(w, list) = strstrt(" " . list . " ", " " . w . " ") > 0
index_of(w, list, i) = i > words(list) ? 0 : (word(list, i) eq w ? i : index_of(w, list, i + 1))

# The kinds and the classes, in the order the file lists them.
kinds = ""
classes = ""
stats data using (word_in(strcol(1), kinds) ? 0 : (kinds = kinds . " " . strcol(1), 0)) every ::1 nooutput
stats data using (word_in(strcol(2), classes) ? 0 : (classes = classes . " " . strcol(2), 0)) every ::1 nooutput
K = words(kinds)
bw = 0.8 / K
colours = "#4477aa #ee6677 #228833 #ccbb44 #66ccee #aa3377"
# Only the rows of this metric (column "metric"); the others are NaN, not drawn.
x(kind, class) = strcol(1) eq kind && strcol("metric") eq metric ? index_of(class, classes, 1) + (index_of(kind, kinds, 1) - 1 - (K - 1) / 2.0) * bw : NaN
# The reference itself has no difference to draw.
xd(kind, class) = kind eq "thread" ? NaN : x(kind, class)

set multiplot layout 2,1 title "threads against processes: " . what . "\nwhiskers: lowest and highest round"
# The same margins in both panels, so a class's bars stand above each other.
set lmargin at screen 0.10
set rmargin at screen 0.80
set grid ytics lc rgb "#dddddd"
set style fill solid 0.85 border -1
set key outside right top
set xtics nomirror
set xrange [0.4:words(classes) + 0.6]
set xtics ()
do for [c = 1:words(classes)] {
	set xtics add (word(classes, c) c)
}

# Top: what each kind measured. On a machine whose vCPUs move between host
# cores the rounds differ far more than the kinds do, so the whiskers are wide.
set title "each kind: median over rounds of each round's median"
set ylabel axis
set yrange [0:*]
# column("...") makes gnuplot read the first line as the header itself.
plot for [k = 1:K] data \
	using (x(word(kinds, k), strcol(2))):(column("median_" . unit)):(column("round_min_" . unit)):(column("round_max_" . unit)):(bw) \
	with boxerrorbars title word(kinds, k) lc rgb word(colours, k)

# Bottom: the difference to threads in the same round, which the machine's
# drift cancels out of; whiskers crossing 0 mean no difference was measured.
set title "difference to threads in the same round: median over rounds; label: sign test p"
set ylabel "kind - thread [" . (metric eq "latency" ? "ns" : "GB/s") . "]\n" . slower
set yrange [*:*]
set xlabel "CPU pair class (one representative pair each)"
set xzeroaxis lt -1
set offsets 0, 0, graph 0.12, graph 0.05  # room for the labels above the whiskers
plot for [k = 1:K] data \
	using (xd(word(kinds, k), strcol(2))):(column("diff_to_thread_" . unit)):(column("diff_min_" . unit)):(column("diff_max_" . unit)):(bw) \
	with boxerrorbars notitle lc rgb word(colours, k), \
	for [k = 1:K] data \
	using (xd(word(kinds, k), strcol(2))):(column("diff_max_" . unit)):(sprintf("p=%.2f", column("sign_test_p"))) \
	with labels offset 0,0.8 font ",9" notitle
unset multiplot
