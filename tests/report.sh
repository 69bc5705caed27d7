#!/usr/bin/env bash
# The HTML reports as a reader sees them, and `cohmap compare`.
#
#   tests/report.sh COHMAP PNGCHECK [SCREENSHOT_DIR]
#
# Three pages: a real run on CPUs 0,1 (index.html written by the run itself),
# a fixture run with every kind of warning, a skipped experiment and text
# that must be escaped (tests/report/make-fixture.sh, redrawn with `cohmap
# plot` and written by `cohmap report`), and the comparison of that fixture
# with a copy whose latencies are exactly twice as long.
#
# How a page is checked in Chromium (headless, no JavaScript in the reports):
# one harness page, made here, holds each report in an iframe 1280 px and
# 760 px wide; after its load event (which waits for every frame and image)
# a script in the harness reads each frame's DOM and prints, through
# --dump-dom, the number of sections, images, broken images (not complete,
# or naturalWidth 0: the browser could not decode it) and the frame's
# document scrollWidth against its clientWidth. A page wider than its
# window (a table or an image that does not shrink, a long word) has
# scrollWidth > clientWidth. A control page with a broken image and a
# 2000 px wide block must be reported as broken and overflowing, so the
# check itself is shown to work. Then a screenshot of the real run's report
# must not be blank (tests/report/pngcheck counts its non-background pixels
# and colours) and is kept in SCREENSHOT_DIR for a person to look at.
set -uo pipefail
cohmap=$(realpath "$1")
pngcheck=$(realpath "$2")
shots=${3:-}
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passes=0 failures=0
check() { # description, command...
	local what=$1
	shift
	if "$@"; then
		echo "ok    $what"
		passes=$((passes + 1))
	else
		echo "FAIL  $what"
		failures=$((failures + 1))
	fi
}
has() { grep -qF -- "$2" "$1"; }
lacks() { ! grep -qF -- "$2" "$1"; }

echo "== a real run writes index.html and says where"
out=$("$cohmap" latency -c 0,1 -k load_store,cas_bounce -n 5 --seed 1 -o "$tmp/run" 2>&1)
code=$?
check "latency exits 0" test $code = 0
[[ $code == 0 ]] || printf '%s\n' "$out" | tail -5 | sed 's/^/      /'
check "the last line names index.html" test "$(printf '%s\n' "$out" | tail -1)" = "report: $tmp/run/index.html"
page=$tmp/run/index.html
check "index.html written" test -s "$page"
check "it has the latency section" has "$page" 'id="exp-latency"'
check "it names the CPU model" has "$page" "$(sed -n 's/^cpu_model //p' "$tmp/run/topology.txt" | sed 's/&/\&amp;/g')"
check "it shows the table by pair class" has "$page" "One-way latency by pair class"
check "it links the CSV" has "$page" 'href="./latency.csv"'

echo "== the contention section: the curve explained, the ladder beside it"
"$cohmap" contention -c 0,1 --op fetch_add,fetch_add_padded --lock ticket,tas --rounds 1 --run-ms 2 \
	--seed 1 -q -o "$tmp/ct" >/dev/null 2>&1
check "contention exits 0 (or 4 without gnuplot)" grep -qx '[04]' <<<"$?"
page=$tmp/ct/index.html
check "it has the contention section" has "$page" 'id="exp-contention"'
check "titled" has "$page" "Contention: many threads on one line"
check "it explains the curve" has "$page" "each step of the ladder crosses one level of the machine"
check "the ladder shown whole, a row per step" has "$page" "<th>level_crossed</th>"
check "the headline names the step that hurt most" has "$page" "hurt most"
check "it links contention.csv" has "$page" 'href="./contention.csv"'
check "contention.png shown" has "$page" 'src="./contention.png"'
check "contention-fairness.png shown" has "$page" 'src="./contention-fairness.png"'

echo "== a fixture run: warnings, skipped and unknown experiments, escaping"
# 16 CPUs of the two-socket SMT fixture: both sockets, SMT siblings
topo=$src/topology/fixtures/intel-2s-smt.topo
cpus="0 1 2 3 10 11 12 13 20 21 22 23 30 31 32 33"
fx=$tmp/fixture
"$src/tests/report/make-fixture.sh" "$fx" "$topo" 1 "load_store cas_bounce" "$cpus"
check "cohmap plot draws the fixture" "$cohmap" plot "$fx" >/dev/null
check "cohmap report writes it" "$cohmap" report "$fx" -q
page=$fx/index.html
for id in warnings machine exp-latency exp-fork exp-mystery; do
	check "section $id" has "$page" "id=\"$id\""
done
check "virtual machine warned" has "$page" "This is a virtual machine (hypervisor: KVMKVMKVM)"
check "governor warned" has "$page" "governor is &#39;powersave&#39;"
check "interrupted run said" has "$page" "The run was interrupted"
check "drift warning, tagged" has "$page" '<span class="tag">drift</span> reference pair 0-&gt;1'
check "unavailable counter listed" has "$page" "latency: PAPI_L2_TCM is not counted (NA): no such event on this CPU"
check "skipped experiment with its reason" has "$page" "Skipped on this machine: no hugetlb pages reserved (echo 64 &gt; /proc/sys/vm/nr_hugepages)"
check "markup in a warning is escaped" has "$page" "&lt;script&gt;alert(&#39;not escaped&#39;)&lt;/script&gt; &amp; no hardware counters"
check "no raw markup from the data" lacks "$page" "<script"
check "command line escaped" has "$page" "&lt;b&gt;fixture&lt;/b&gt; &amp; co"
check "missing plot said in words, not drawn" has "$page" "Plot listed but not found: mystery-missing.png"
check "no img for the missing plot" lacks "$page" 'src="./mystery-missing.png"'
check "a small CSV shown whole" has "$page" "<td>&lt;small&gt; &amp; fits</td>"
check "pair counts from topology.txt (all 40 CPUs)" has "$page" '<td class="n">800</td><td>other socket</td>'
check "class table from latency.csv" has "$page" '<td>cross-socket</td><td>other socket</td><td class="n">128</td><td class="n">140.0</td><td class="n">142.0</td><td class="n">144.0</td>'
check "nothing external is loaded" lacks "$page" "http"

echo "== a 384-CPU fixture (2 x EPYC 9654 with SMT): a heatmap that stays readable"
big=$tmp/big
"$src/tests/report/make-fixture.sh" "$big" "$src/topology/fixtures/amd-2s-9654-smt.topo" 1 "load_store cas_bounce"
check "cohmap plot draws the 384-CPU fixture (2 kernels)" "$cohmap" plot "$big" >/dev/null
check "cohmap report writes it" "$cohmap" report "$big" -q
vars=$big/latency-load_store.gpvars
check "the axes name the sockets" has "$vars" 'set xtics ("socket 0" 95.5, "socket 1" 287.5)'
check "no tick label per CPU" lacks "$vars" '"0" 0'
check "socket and L3 borders drawn" test "$(grep -c 'as 1$' "$vars")" = 2 -a "$(grep -c 'as 2$' "$vars")" = 44
check "no value in the cells (heatmap.gp prints none past 32 CPUs)" lacks "$vars" "values"
check "latency-load_store.png is a valid PNG" "$pngcheck" valid "$big/latency-load_store.png" >/dev/null
width=$(od -An -tu1 -j16 -N4 "$big/latency-load_store.png" | awk '{print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4}')
check "the picture stays at most 2440 px wide ($width)" test "$width" -le 2440
page=$big/index.html
check "the class table is under the picture" test "$(grep -n 'latency-load_store.png' "$page" | head -1 | cut -d: -f1)" -lt "$(grep -n 'One-way latency by pair class' "$page" | cut -d: -f1)"
check "the table counts the cross-socket pairs (2 x 192 x 192)" has "$page" '<td>cross-socket</td><td>other socket</td><td class="n">73728</td><td class="n">140.0</td><td class="n">142.0</td><td class="n">144.0</td>'
check "the table says the cells carry no values" has "$page" "The heatmaps above have 384 CPUs"

echo "== cohmap compare: B = 2 x A"
"$src/tests/report/make-fixture.sh" "$tmp/double" "$topo" 2 "load_store cas_bounce" "$cpus"
(cd "$tmp" && "$cohmap" compare fixture double -q)
check "compare exits 0" test $? = 0
cmp=$tmp/results/compare-fixture-vs-double
check "default output directory results/compare-A-vs-B" test -d "$cmp"
check "compare.csv: one row per kernel and ordered pair (2 x 16 x 15)" \
	test "$(($(wc -l <"$cmp/compare.csv") - 1))" = 480
check "every ratio is 2" awk -F, 'NR > 1 && $8 != "2.0000" {bad = 1} END {exit bad}' "$cmp/compare.csv"
check "every difference is A" awk -F, 'NR > 1 && $9 != $6 {bad = 1} END {exit bad}' "$cmp/compare.csv"
check "class table: load_store cross-socket A 142, B 284, ratio 2" \
	grep -qx 'load_store,cross-socket,median,128,140.00,142.00,144.00,280.00,284.00,288.00,2.0000' "$cmp/compare-classes.csv"
for k in load_store cas_bounce; do
	for kind in ratio diff; do
		check "compare-$k-$kind.png is a valid PNG" "$pngcheck" valid "$cmp/compare-$k-$kind.png" >/dev/null
	done
done
check "compare index.html has the class table" has "$cmp/index.html" "<td>cross-socket</td><td class=\"n\">128</td>"
check "cohmap report rewrites a comparison" "$cohmap" report "$cmp" -q

echo "== compare refuses what it cannot compare (one line, exit 2, nothing written)"
refuse() { # description, expected text, dir_a, dir_b
	local what=$1 text=$2
	local out code
	out=$(cd "$tmp" && "$cohmap" compare "$3" "$4" -o "$tmp/refused" 2>&1)
	code=$?
	check "$what: exit 2" test "$code" = 2
	check "$what: one line naming the problem" test "$(printf '%s\n' "$out" | wc -l)" = 1 -a -n "$(printf '%s' "$out" | grep -F -- "$text")"
	check "$what: nothing written" test ! -e "$tmp/refused"
}
"$src/tests/report/make-fixture.sh" "$tmp/onekernel" "$topo" 1 load_store "$cpus"
refuse "other kernels" "different kernels (A: load_store,cas_bounce; B: load_store)" fixture onekernel
"$src/tests/report/make-fixture.sh" "$tmp/fewer" "$topo" 1 "load_store cas_bounce" "0 1 2 3 20 21"
refuse "other CPUs" "different CPUs (A: 0-3,10-13,20-23,30-33; B: 0-3,20-21)" fixture fewer
mkdir "$tmp/broken" && cp "$fx"/{topology.txt,meta.json} "$tmp/broken/" && head -5 "$fx/latency.csv" >"$tmp/broken/latency.csv"
echo "load_store,thread,0,1,l3,0,ok,100,128,1,1,not-a-number,1,1,1,1,1," >>"$tmp/broken/latency.csv"
refuse "malformed latency.csv" "latency.csv:6: median_ns 'not-a-number' is not a latency" fixture broken
mkdir "$tmp/notopo" && cp "$fx/latency.csv" "$tmp/notopo/"
refuse "no topology.txt" "run B: " fixture notopo
refuse "not a directory" "run A: $tmp/nowhere is not a results directory" "$tmp/nowhere" fixture
cp -r "$fx" "$tmp/badmeta" && echo '{"status": ' >"$tmp/badmeta/meta.json"
refuse "malformed meta.json" "run B: " fixture badmeta

echo "== static check: every <img> of every page is a file here and a valid PNG"
pages=("$tmp/run/index.html" "$fx/index.html" "$cmp/index.html" "$big/index.html")
for page in "${pages[@]}"; do
	dir=$(dirname "$page")
	imgs=$(grep -o '<img src="[^"]*"' "$page" | sed 's/<img src="\.\///; s/"$//')
	check "$(basename "$dir"): has images" test -n "$imgs"
	for img in $imgs; do
		check "$(basename "$dir")/$img decodes" "$pngcheck" valid "$dir/$img" >/dev/null
	done
done

echo "== rendered in headless Chromium"
chromium_flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
	--disable-background-networking --disable-component-update --disable-sync
	--disable-extensions --hide-scrollbars)
browser() { # args... : a fresh profile each time, so no state carries over
	local profile
	profile=$(mktemp -d)
	# a hang guard only: a loaded machine starts Chromium slowly
	timeout 600 chromium "${chromium_flags[@]}" --user-data-dir="$profile" "$@" 2>"$tmp/chromium.log"
	local code=$?
	rm -rf "$profile"
	return $code
}
cannot_start() { # why
	if [[ ${CI:-} == true ]]; then
		echo "FAIL  chromium cannot start in CI: $1"
		failures=$((failures + 1))
	else
		echo "SKIP  rendering in Chromium: it cannot start here: $1"
	fi
}
if ! command -v chromium >/dev/null; then
	cannot_start "chromium is not installed (make deps installs it)"
else
	cat >"$tmp/control.html" <<'EOF'
<!DOCTYPE html><html><body><section>control</section>
<img src="./no-such-image.png" alt="broken on purpose"><div style="width:2000px">wide</div></body></html>
EOF
	# One browser start does both jobs (starting Chromium is the slow part):
	# the first frame, the real run at 1280 px, fills the window and is the
	# screenshot; --dump-dom prints what the harness script found.
	{
		echo '<!DOCTYPE html><html><body style="margin:0">'
		i=0
		for page in "${pages[@]}" "$tmp/control.html"; do
			for width in 1280 760; do
				height=$([[ $i == 0 ]] && echo 2400 || echo 800)
				echo "<iframe data-page=\"$page\" data-width=\"$width\" src=\"file://$page\" style=\"display:block;width:${width}px;height:${height}px;border:0\"></iframe>"
				i=$((i + 1))
			done
		done
		cat <<'EOF'
<pre id="result"></pre>
<script>
window.addEventListener('load', function () {
  var lines = [];
  document.querySelectorAll('iframe').forEach(function (f) {
    var d = f.contentDocument, broken = 0;
    for (var j = 0; j < d.images.length; j++)
      if (!d.images[j].complete || d.images[j].naturalWidth === 0) broken++;
    lines.push('RESULT ' + f.dataset.page + ' width=' + f.dataset.width +
      ' sections=' + d.querySelectorAll('section').length + ' images=' + d.images.length +
      ' broken=' + broken + ' scroll=' + d.documentElement.scrollWidth +
      ' client=' + d.documentElement.clientWidth);
  });
  document.getElementById('result').textContent = '\n' + lines.join('\n') + '\n';
});
</script></body></html>
EOF
	} >"$tmp/harness.html"
	browser --allow-file-access-from-files --window-size=1280,2400 --screenshot="$tmp/report.png" \
		--dump-dom "file://$tmp/harness.html" >"$tmp/dom.txt"
	started=$?
fi
if [[ -n ${started:-} && $started != 0 && ! -s $tmp/dom.txt ]]; then
	cannot_start "exit $started: $(tail -1 "$tmp/chromium.log")"
elif [[ -n ${started:-} ]]; then
	check "the harness page rendered" grep -q '^RESULT ' "$tmp/dom.txt"
	field() { grep "^RESULT $1 width=$2 " "$tmp/dom.txt" | tr ' ' '\n' | sed -n "s/^$3=//p"; }
	for width in 1280 760; do
		check "control at $width px: its broken image is seen" test "$(field "$tmp/control.html" $width broken)" = 1
		check "control at $width px: its overflow is seen" \
			test "$(field "$tmp/control.html" $width scroll)" -gt "$(field "$tmp/control.html" $width client)"
		for page in "${pages[@]}"; do
			name=$(basename "$(dirname "$page")")
			sections=$(field "$page" $width sections) images=$(field "$page" $width images)
			check "$name at $width px: sections shown ($sections)" test "${sections:-0}" -ge 2
			check "$name at $width px: images shown ($images)" test "${images:-0}" -ge 2
			check "$name at $width px: no broken image" test "$(field "$page" $width broken)" = 0
			check "$name at $width px: no horizontal overflow ($(field "$page" $width scroll) <= $(field "$page" $width client) px)" \
				test "$(field "$page" $width scroll)" -le "$(field "$page" $width client)"
		done
	done
	check "fixture: 3 experiment sections + machine + warnings" test "$(field "$fx/index.html" 1280 sections)" = 5

	read -r _ w _ h _ ink _ colours < <("$pngcheck" ink "$tmp/report.png")
	check "screenshot is 1280x2400 (${w}x${h})" test "${w}x${h}" = 1280x2400
	check "screenshot is not blank: $ink of the pixels differ from the background" \
		awk -v i="$ink" 'BEGIN {exit !(i > 0.05)}'
	check "screenshot shows the plots' colours ($colours colours)" test "$colours" -gt 50
	if [[ -n $shots ]]; then
		mkdir -p "$shots" && cp "$tmp/report.png" "$shots/report.png" && echo "      screenshot kept: $shots/report.png"
	fi
fi

echo "report: $passes passed, $failures failed"
[[ $failures == 0 ]]
