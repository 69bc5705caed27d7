#!/usr/bin/env bash
# The import graph of cohmap's product code, read from the objects the build
# made: file A imports file B when A's object uses a symbol B's object defines
# (headers can hide a dependency, the linker cannot). Fails on a cycle between
# two product files and on an import that goes up a layer:
#   cli -> experiments -> harness -> plots, kernels, topology -> base
# With --levels it also prints each file's import level (0 = imports nothing
# of cohmap) and the deepest chain.
#
# usage: tests/imports.sh [--levels] BUILD_DIR     (from the source root;
#        BUILD_DIR e.g. build/release)
set -euo pipefail

self=$(realpath "$0")
levels=0
if [ "${1:-}" = --levels ]; then levels=1; shift; fi
# --self-test: the check must fail on a cycle and on an upward import.
if [ "${1:-}" = --self-test ]; then
	t=$(mktemp -d)
	trap 'rm -rf "$t"' EXIT
	mkdir -p "$t/src/base" "$t/src/cli" "$t/build/base" "$t/build/cli"
	echo 'int b(void); int a(void) { return b(); }' >"$t/src/base/a.c"
	echo 'int a(void); int b(void) { return a(); }' >"$t/src/base/b.c"
	echo 'int c(void) { return 0; }' >"$t/src/cli/c.c"
	echo 'int c(void); int d(void) { return c(); }' >"$t/src/base/d.c"
	for f in base/a base/b cli/c base/d; do cc -c "$t/src/$f.c" -o "$t/build/$f.o"; done
	out=$(cd "$t/src" && "$self" "$t/build" 2>&1) && { echo "imports: self-test: a cycle passed" >&2; exit 1; }
	grep -q 'cycle between product files' <<<"$out" || { echo "imports: self-test: no cycle reported: $out" >&2; exit 1; }
	grep -q 'base/d.c imports cli/c.c, a layer above it' <<<"$out" ||
		{ echo "imports: self-test: upward import not reported: $out" >&2; exit 1; }
	echo "imports: self-test: a cycle and an upward import are caught"
	exit 0
fi
build=${1:?usage: tests/imports.sh [--levels] BUILD_DIR}
src=$(pwd)
cd "$build"
# Objects of the sources that exist (a removed file's object may linger).
mapfile -t objs < <(find . -name '*.o' ! -path './tests/*' ! -path './bench/*' ! -name 'fuzz_*' \
	| sed 's|^\./||' | sort | while read -r o; do [ -f "$src/${o%.o}.c" ] && echo "$o"; done)
[ "${#objs[@]}" -gt 0 ] || { echo "imports: no objects under $build (build first)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for o in "${objs[@]}"; do
	f=${o%.o}.c
	nm --defined-only -g "$o" | awk -v f="$f" 'NF == 3 { print $3, f }' >>"$tmp/defs"
	nm --undefined-only "$o" | awk -v f="$f" '{ print $NF, f }' >>"$tmp/uses"
done
# edges "user definer", one per pair of files
sort -k1,1 "$tmp/defs" >"$tmp/defs.s"
sort -k1,1 "$tmp/uses" >"$tmp/uses.s"
join "$tmp/uses.s" "$tmp/defs.s" | awk '$2 != $3 { print $2, $3 }' | sort -u >"$tmp/edges"

# The layer of a file is the folder it sits in.
layer_rank() {
	case $1 in
	base/*) echo 0 ;;
	plots/* | kernels/* | topology/*) echo 1 ;;
	harness/*) echo 2 ;;
	experiments/*) echo 3 ;;
	cli/*) echo 4 ;;
	*) echo 9 ;;
	esac
}
status=0
while read -r user definer; do
	ru=$(layer_rank "$user") rd=$(layer_rank "$definer")
	if [ "$rd" -gt "$ru" ]; then
		echo "imports: $user imports $definer, a layer above it" >&2
		status=1
	fi
	# experiments import each other only through what a layer below holds
	if [ "$ru" = 3 ] && [ "$rd" = 3 ]; then
		eu=$(echo "$user" | cut -d/ -f2) ed=$(echo "$definer" | cut -d/ -f2)
		if [ "$eu" != "$ed" ] && [ "$(dirname "$definer")" != experiments ]; then
			echo "imports: $user imports $definer, another experiment's file" >&2
			status=1
		fi
	fi
done <"$tmp/edges"

# tsort reports every loop it finds on stderr.
if ! tsort "$tmp/edges" >/dev/null 2>"$tmp/loops"; then
	echo "imports: cycle between product files:" >&2
	grep -v 'input contains a loop' "$tmp/loops" | sed 's/^tsort: /  /' >&2
	status=1
fi

if [ $levels = 1 ] && [ $status = 0 ]; then
	# level(f) = 1 + max level of what f imports; computed in reverse
	# topological order (tsort prints users before definers).
	tsort "$tmp/edges" | tac | awk -v edges="$tmp/edges" '
		BEGIN { while ((getline l < edges) > 0) { split(l, e, " "); dep[e[1]] = dep[e[1]] " " e[2] } }
		{ f = $1; lv = 0; n = split(dep[f], d, " ")
		  for (i = 1; i <= n; i++) if (level[d[i]] + 1 > lv) lv = level[d[i]] + 1
		  level[f] = lv; print lv, f }' | sort -n >"$tmp/levels"
	for o in "${objs[@]}"; do grep -q " ${o%.o}.c$" "$tmp/levels" || echo "0 ${o%.o}.c"; done \
		>>"$tmp/levels"
	sort -n "$tmp/levels"
	echo "files: ${#objs[@]}, import levels: $(($(sort -n "$tmp/levels" | tail -1 | cut -d' ' -f1) + 1))"
fi
exit $status
