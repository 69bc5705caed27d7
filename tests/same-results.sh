#!/usr/bin/env bash
# Two builds of cohmap on the same command lines: the same exit codes, the
# same files in the results directories and the same CSV columns. For a
# change that must not change behaviour (a refactoring): build the commit
# before it in a worktree and run
#   tests/same-results.sh OLD_BINARY NEW_BINARY
# Values differ from run to run (timing); names, columns and codes may not.
set -uo pipefail
old=$(realpath "$1") new=$(realpath "$2")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0 runs=0

# Short runs of every experiment on CPUs 0 and 1, then bad input.
cases=(
	"latency -c 0,1 -n 5 --seed 1"
	"states -c 0,1 -n 5 --seed 1"
	"ipc -c 0,1 --rounds 1 -n 5 --sizes 64K --seed 1"
	"falseshare -c 0,1 --distances 0,64 --rounds 2 --run-ms 5 --seed 3"
	"bandwidth -c 0,1 --sizes 16K,64K -n 5 --matrix-size 16K --seed 1"
	"channels -c 0,1 --sizes 64,4K -n 5 --seed 1"
	"attach --sizes 4K,1M -n 6 --seed 1"
	"fork --sizes 1M --repeat 2 --processes 2 --segment 4M"
	"latency -c 0 -n 5"
	"latency --stat mean"
	"fork --sizes 1M --max-size 4M"
	"falseshare --rounds 0"
	"ipc --sizes 1K,2K"
	"bandwidth --consumer nope"
	"attach --mapping sysv,sysv"
	"channels --channel pigeon"
	"states --invalidate sometimes"
	"plot /nonexistent"
	"nosuchcommand"
)
for i in "${!cases[@]}"; do
	read -ra args <<<"${cases[$i]}"
	for which in old new; do
		bin=$old
		[ $which = new ] && bin=$new
		dir=$tmp/$which-$i
		"$bin" "${args[@]}" -q -o "$dir" >"$tmp/$which-$i.out" 2>"$tmp/$which-$i.err"
		echo $? >"$tmp/$which-$i.code"
		# "-q -o" after a command that takes neither is itself bad input:
		# both builds must say so alike.
		if [ -d "$dir" ]; then
			(cd "$dir" && find . -type f | sort) >"$tmp/$which-$i.files"
			for csv in "$dir"/*.csv; do
				[ -f "$csv" ] && echo "$(basename "$csv"): $(head -1 "$csv")"
			done >"$tmp/$which-$i.columns"
		else
			: >"$tmp/$which-$i.files"
			: >"$tmp/$which-$i.columns"
		fi
	done
	runs=$((runs + 1))
	same=1
	for part in code files columns err; do
		if ! cmp -s "$tmp/old-$i.$part" "$tmp/new-$i.$part"; then
			# stderr may differ only where it names a path of the run
			[ $part = err ] && [ "$(sed "s|$tmp/[a-z]*-$i|DIR|g" "$tmp/old-$i.err")" = \
				"$(sed "s|$tmp/[a-z]*-$i|DIR|g" "$tmp/new-$i.err")" ] && continue
			# a measurement's own warnings (drift, a slow sample) are timing
			[ $part = err ] && [ "$(cat "$tmp/old-$i.code")" = 0 ] && continue
			same=0
			echo "DIFF  cohmap ${cases[$i]}: $part"
			diff "$tmp/old-$i.$part" "$tmp/new-$i.$part" | head -8 | sed 's/^/      /'
		fi
	done
	if [ $same = 1 ]; then
		echo "same  cohmap ${cases[$i]} (exit $(cat "$tmp/new-$i.code"), $(wc -l <"$tmp/new-$i.files") files)"
	else
		failures=$((failures + 1))
	fi
done
echo "same-results: $((runs - failures)) passed, $failures failed"
[ $failures = 0 ]
