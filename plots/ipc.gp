# ipc.gp: one-way latency of the same handoff kernel with its agents as
# threads and as processes over each kind of shared memory, one cluster of
# bars per CPU pair class, straight from ipc-summary.csv.
#
#   gnuplot -e "data='DIR/ipc-summary.csv'; out='ipc.png'" ipc.gp
#
# Variables (set with -e):
#   data   required. ipc-summary.csv as `cohmap ipc` writes it.
#   out    required. Output PNG (pngcairo).
# Each bar is the median over rounds of each round's median one-way latency;
# the whisker spans the lowest and highest round, so bars whose whiskers
# overlap the thread bar's are not distinguishable from it in this run.

if (!exists("data") || !exists("out")) {
	print "ipc.gp: set data='ipc-summary.csv' and out='FILE.png' with -e"
	exit status 2
}
set datafile separator ","
set terminal pngcairo size 900,520 noenhanced font "Sans,11"
set output out
set title "threads against processes: one-way latency of the same handoff\nbars: median over rounds of each round's median; whiskers: lowest and highest round"
set ylabel "one-way latency [ns]"
set yrange [0:*]
set grid ytics lc rgb "#dddddd"
set style fill solid 0.85 border -1
set key outside right top
set xtics nomirror

word_in(w, list) = strstrt(" " . list . " ", " " . w . " ") > 0
index_of(w, list, i) = i > words(list) ? 0 : (word(list, i) eq w ? i : index_of(w, list, i + 1))

# The kinds and the classes, in the order the file lists them.
kinds = ""
classes = ""
stats data using (word_in(strcol(1), kinds) ? 0 : (kinds = kinds . " " . strcol(1), 0)) every ::1 nooutput
stats data using (word_in(strcol(2), classes) ? 0 : (classes = classes . " " . strcol(2), 0)) every ::1 nooutput
K = words(kinds)
bw = 0.8 / K
set xrange [0.4:words(classes) + 0.6]
set xtics ()
do for [c = 1:words(classes)] {
	set xtics add (word(classes, c) c)
}
set xlabel "CPU pair class (one representative pair each)"

colours = "#4477aa #ee6677 #228833 #ccbb44 #66ccee #aa3377"
x(kind, class) = strcol(1) eq kind ? index_of(class, classes, 1) + (index_of(kind, kinds, 1) - 1 - (K - 1) / 2.0) * bw : NaN
# column("...") makes gnuplot read the first line as the header itself.
plot for [k = 1:K] data \
	using (x(word(kinds, k), strcol(2))):(column("median_ns")):(column("round_min_ns")):(column("round_max_ns")):(bw) \
	with boxerrorbars title word(kinds, k) lc rgb word(colours, k)
