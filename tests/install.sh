#!/usr/bin/env bash
# make install / make uninstall, as a packager and a user would use them:
# a real PREFIX (the binary must find its gnuplot scripts there at run time,
# run from a directory that has nothing to do with the source tree), and a
# staged DESTDIR install. The build is left as it was found: the last step
# rebuilds plots/plot.o for the PREFIX of the calling make.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
passes=0 failures=0
cleanup() {
	make -C "$src" --no-print-directory cohmap >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
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
files_under() { find "$1" -type f 2>/dev/null | sort; }

echo "== make install PREFIX=$tmp/inst"
prefix=$tmp/inst
make -C "$src" --no-print-directory install PREFIX="$prefix" >"$tmp/install.log" 2>&1
check "make install exits 0" test $? = 0
check "binary installed" test -x "$prefix/bin/cohmap"
check "man page installed" test -s "$prefix/share/man/man1/cohmap.1"
for gp in "$src"/plots/*.gp "$src"/cli/*.gp "$src"/experiments/*/*.gp; do
	check "$(basename "$gp") installed" cmp -s "$gp" "$prefix/share/cohmap/plots/$(basename "$gp")"
done
check "man renders the installed page" \
	bash -c "MANWIDTH=80 man -l '$prefix/share/man/man1/cohmap.1' 2>/dev/null | grep -q 'cohmap compare'"

echo "== the installed binary, run from elsewhere, finds its scripts under PREFIX"
mkdir -p "$tmp/elsewhere"
"$src/tests/report/make-fixture.sh" "$tmp/elsewhere/run" "$src/topology/fixtures/laptop-1s.topo" 1 load_store
out=$(cd "$tmp/elsewhere" && env -u COHMAP_PLOTS_DIR PATH=/usr/bin:/bin "$prefix/bin/cohmap" plot run 2>&1)
check "cohmap plot draws with the installed heatmap.gp ($out)" test -s "$tmp/elsewhere/run/latency-load_store.png"
check "cohmap report works installed" "$prefix/bin/cohmap" report "$tmp/elsewhere/run" -q
mv "$prefix/share/cohmap/plots/heatmap.gp" "$tmp/heatmap.gp.away"
out=$(cd "$tmp/elsewhere" && env -u COHMAP_PLOTS_DIR "$prefix/bin/cohmap" plot run 2>&1)
check "without it, the error names where it looked: $prefix/share/cohmap/plots" \
	grep -qF "$prefix/share/cohmap/plots" <<<"$out"
mv "$tmp/heatmap.gp.away" "$prefix/share/cohmap/plots/heatmap.gp"

echo "== make uninstall PREFIX=$tmp/inst"
make -C "$src" --no-print-directory uninstall PREFIX="$prefix" >>"$tmp/install.log" 2>&1
check "make uninstall exits 0" test $? = 0
check "no file left under PREFIX" test -z "$(files_under "$prefix")"

# The same PREFIX as above (as a package build would use /usr), so the
# binary is not rebuilt once more.
echo "== make install DESTDIR=$tmp/stage PREFIX=$prefix (a package build)"
stage=$tmp/stage
make -C "$src" --no-print-directory install DESTDIR="$stage" PREFIX="$prefix" >>"$tmp/install.log" 2>&1
check "staged install exits 0" test $? = 0
check "binary staged at DESTDIR/PREFIX/bin" test -x "$stage$prefix/bin/cohmap"
check "man page staged" test -s "$stage$prefix/share/man/man1/cohmap.1"
check "scripts staged" test -s "$stage$prefix/share/cohmap/plots/heatmap.gp"
check "nothing installed outside DESTDIR" test -z "$(files_under "$prefix")"
check "the staged binary will look in PREFIX/share/cohmap" \
	grep -aqF "$prefix/share/cohmap" "$stage$prefix/bin/cohmap"
check "... and knows nothing of DESTDIR" bash -c "! grep -aqF '$stage' '$stage$prefix/bin/cohmap'"
make -C "$src" --no-print-directory uninstall DESTDIR="$stage" PREFIX="$prefix" >>"$tmp/install.log" 2>&1
check "staged uninstall leaves no file" test -z "$(files_under "$stage")"

[[ $failures == 0 ]] || sed 's/^/      /' "$tmp/install.log" | tail -20
echo "install: $passes passed, $failures failed"
[[ $failures == 0 ]]
