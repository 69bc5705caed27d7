#!/bin/bash
# tests/slurm.sh COHMAP: cohmap fleet against a real Slurm on this host.
#
# Starts munged (a temporary key), slurmctld and one slurmd per node name
# (NODES of them, all on this host, each on its own port: Debian's
# slurm-wlm 22.05 runs several slurmd on one host with `slurmd -N NAME`),
# all configured in a temporary directory; submits a short fleet run with
# `cohmap fleet submit`, which waits for the job and merges; then checks the
# report: every node present, an altered node flagged as an outlier, a
# node that did not finish listed and not merged, a node of another cohmap
# version refused. Every daemon it started is stopped by its pid, and every
# process still holding a file in the temporary directory (job steps) is
# ended, even when a check fails.
#
# Waits for events (a socket, a node state, a pid), never for time; the
# deadlines are hang guards of minutes.
set -u
cohmap=$(realpath "${1:?usage: tests/slurm.sh COHMAP}")
NODES=${SLURM_TEST_NODES:-3}
DEADLINE_S=${SLURM_TEST_DEADLINE_S:-600}

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
	echo "slurm: skipped: slurmctld, slurmd or munged is not installed (make deps installs slurm-wlm and munge)"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "slurm: skipped: slurmd must run as root to start job steps"
	exit 0
fi

tmp=$(mktemp -d /tmp/cohmap-slurm.XXXXXX)
chmod 755 "$tmp"
pids=()
failed=0

say() { echo "slurm: $*"; }
fail() { echo "slurm: FAIL: $*"; failed=1; }

# Processes holding a file in $tmp (job steps, cohmap on a node): ours by
# construction, since nothing else knows the directory.
holders() {
	local p
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" = "$$" ] && continue
		if ls -l "$p/fd" 2>/dev/null | grep -q -- "$tmp" ||
		   [ "$(readlink "$p/cwd" 2>/dev/null)" = "$tmp" ] ||
		   readlink "$p/cwd" 2>/dev/null | grep -q -- "^$tmp/"; then
			echo "${p#/proc/}"
		fi
	done
}

stop_pid() { # TERM, wait for it to go (hang guard 60 s), then KILL
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

cleanup() {
	local rc=$? i p
	export SLURM_CONF="$tmp/slurm.conf"
	if [ -n "${ctld_pid:-}" ] && kill -0 "$ctld_pid" 2>/dev/null; then
		scancel --quiet --full --user=root 2>/dev/null
		for ((i = 0; i < 600; i++)); do
			[ -z "$(squeue --noheader 2>/dev/null)" ] && break
			sleep 0.1
		done
	fi
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		stop_pid "${pids[i]}"
	done
	for p in $(holders); do
		kill -KILL "$p" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		if kill -0 "$p" 2>/dev/null; then
			echo "slurm: FAIL: pid $p still running after cleanup"
			rc=1
		fi
	done
	if [ -n "$(holders)" ]; then
		echo "slurm: FAIL: processes still hold files in $tmp: $(holders)"
		rc=1
	fi
	if [ "$rc" = 0 ] && [ "$failed" = 0 ]; then
		rm -rf "$tmp"
	else
		echo "slurm: logs and the fleet kept in $tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for WHAT COMMAND...: until COMMAND succeeds, or the hang guard.
wait_for() {
	local what=$1 i
	shift
	for ((i = 0; i < DEADLINE_S * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	fail "no $what after ${DEADLINE_S} s"
	exit 1
}

# A TCP port nobody listens on (from /proc/net/tcp*), at or above $1.
free_port() {
	local port=$1 hex
	while :; do
		hex=$(printf ':%04X ' "$port")
		if ! cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$4 == "0A" {print $2}' |
			sed 's/.*\(:[0-9A-F]*\)$/\1 /' | grep -q -- "$hex"; then
			echo "$port"
			return
		fi
		port=$((port + 1))
	done
}

# ---- munge with a temporary key ----
mkdir -m 700 "$tmp/munge"
head -c 1024 /dev/urandom >"$tmp/munge/munge.key"
chmod 400 "$tmp/munge/munge.key"
munged --foreground --force --key-file="$tmp/munge/munge.key" --socket="$tmp/munge/munge.socket" \
	--pid-file="$tmp/munge/munged.pid" --log-file="$tmp/munge/munged.log" \
	--seed-file="$tmp/munge/munged.seed" >"$tmp/munge/out" 2>&1 &
pids+=($!)
munged_pid=$!
wait_for "munge socket" test -S "$tmp/munge/munge.socket"
say "munged $munged_pid, socket $tmp/munge/munge.socket"

# ---- slurm.conf: one controller, NODES node names on this host ----
host=$(hostname -s)
base=$(( 20000 + ($$ % 1000) * 20 ))
ctld_port=$(free_port "$base")
slurmd_port=$(free_port $((ctld_port + 1)))
mkdir -p "$tmp/state" "$tmp/spool" "$tmp/fleet"
cpus=$(nproc)
{
	echo "ClusterName=cohmaptest"
	echo "SlurmctldHost=$host(127.0.0.1)"
	echo "SlurmctldPort=$ctld_port"
	echo "SlurmdPort=$slurmd_port"
	echo "SlurmUser=root"
	echo "SlurmdUser=root"
	echo "AuthType=auth/munge"
	echo "AuthInfo=socket=$tmp/munge/munge.socket"
	echo "CredType=cred/munge"
	echo "StateSaveLocation=$tmp/state"
	echo "SlurmdSpoolDir=$tmp/spool/%n"
	echo "SlurmctldPidFile=$tmp/slurmctld.pid"
	echo "SlurmdPidFile=$tmp/slurmd-%n.pid"
	echo "SlurmctldLogFile=$tmp/slurmctld.log"
	echo "SlurmdLogFile=$tmp/slurmd-%n.log"
	# no cgroups in a container or a CI runner: plain process tracking
	echo "ProctrackType=proctrack/linuxproc"
	echo "TaskPlugin=task/none"
	echo "SelectType=select/cons_tres"
	echo "SelectTypeParameters=CR_Core"
	echo "JobAcctGatherType=jobacct_gather/none"
	echo "AccountingStorageType=accounting_storage/none"
	echo "MpiDefault=none"
	echo "SwitchType=switch/none"
	echo "ReturnToService=2"
	port=$slurmd_port
	for ((i = 0; i < NODES; i++)); do
		port=$(free_port $((port + 1)))
		mkdir -p "$tmp/spool/node$i"
		echo "NodeName=node$i NodeHostname=$host NodeAddr=127.0.0.1 Port=$port CPUs=$cpus State=UNKNOWN"
	done
	echo "PartitionName=fleet Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
} >"$tmp/slurm.conf"
export SLURM_CONF="$tmp/slurm.conf"

slurmctld -D -i -f "$tmp/slurm.conf" >"$tmp/slurmctld.out" 2>&1 &
pids+=($!)
ctld_pid=$!
for ((i = 0; i < NODES; i++)); do
	slurmd -D -N "node$i" -f "$tmp/slurm.conf" >"$tmp/slurmd-node$i.out" 2>&1 &
	pids+=($!)
done
say "slurmctld $ctld_pid, slurmd ${pids[*]:2} (node0..node$((NODES - 1)) on $host)"

all_idle() {
	local p
	for p in "${pids[@]}"; do
		kill -0 "$p" 2>/dev/null || { fail "daemon $p exited; see $tmp/*.out"; tail -3 "$tmp"/*.out; exit 1; }
	done
	[ "$(sinfo --noheader --states=idle --format=%D 2>/dev/null | head -1)" = "$NODES" ]
}
wait_for "$NODES idle nodes" all_idle
say "$NODES nodes idle: $(sinfo --noheader --format='%P %D %T %N')"

# ---- the fleet run: what a user types ----
fleet="$tmp/fleet"
submit_cmd=("$cohmap" fleet submit -N "$NODES" --time=30 --fleet "$fleet" -- run --budget 10 -q)
say "${submit_cmd[*]}"
"${submit_cmd[@]}" >"$tmp/submit.out" 2>"$tmp/submit.err"
rc=$?
cat "$tmp/submit.out"
say "submit exit $rc"
[ "$rc" = 0 ] || [ "$rc" = 4 ] || { fail "cohmap fleet submit exit $rc"; cat "$tmp/submit.err"; }

nodes=$(cat "$fleet/nodes.txt" 2>/dev/null | wc -l)
[ "$nodes" = "$NODES" ] || fail "nodes.txt lists $nodes nodes, not $NODES"
for ((i = 0; i < NODES; i++)); do
	d=$(ls -d "$fleet/node$i-"* 2>/dev/null | head -1)
	[ -n "$d" ] || { fail "node$i wrote no directory"; continue; }
	[ "$(jq -r .status "$d/meta.json")" = complete ] || fail "node$i: status $(jq -r .status "$d/meta.json")"
	grep -q "^node$i,.*,latency," "$fleet/fleet.csv" || fail "node$i has no latency rows in fleet.csv"
	grep -q "href=\"\(\./\)\?$(basename "$d")/index.html\"" "$fleet/index.html" || fail "index.html does not link node$i's report"
done
[ "$(jq -r .state "$fleet/fleet.jsonl" | grep -c '^done$')" = "$NODES" ] ||
	fail "fleet.jsonl has not $NODES done nodes: $(jq -r .state "$fleet/fleet.jsonl" | tr '\n' ' ')"
jq -e 'select(.fingerprint.cpu_model and .fingerprint.microcode and .fingerprint.numa_nodes)' \
	"$fleet/fleet.jsonl" >/dev/null || fail "fleet.jsonl has no fingerprint"
"$cohmap" fleet status "$fleet" >"$tmp/status.out"
grep -q "$NODES done, 0 running, 0 failed" "$tmp/status.out" || { fail "fleet status:"; cat "$tmp/status.out"; }

# ---- outliers: one node's latency made 20 times slower ----
if [ "$NODES" -ge 3 ]; then
	slow=$(ls -d "$fleet/node1-"*)
	awk -F, -v OFS=, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "median_ns") c = i; print; next }
	                  { $c = $c * 20; print }' "$slow/latency.csv" >"$slow/latency.csv.new" &&
		mv "$slow/latency.csv.new" "$slow/latency.csv"
	"$cohmap" fleet report "$fleet" >"$tmp/report.out" 2>&1 || fail "fleet report exit $?"
	cat "$tmp/report.out"
	flagged=$(awk -F, '$1 == "node1" && $4 == "latency" && $7 == "median" && $12 == "yes"' "$fleet/fleet.csv" | wc -l)
	[ "$flagged" -gt 0 ] || fail "node1's slowed latency is not flagged in fleet.csv"
	others=$(awk -F, '$1 != "node1" && $4 == "latency" && $12 == "yes"' "$fleet/fleet.csv" | wc -l)
	[ "$others" = 0 ] || fail "$others latency values of unaltered nodes flagged"
	grep -q "|z| &gt; 3.50" "$fleet/index.html" || fail "index.html does not show the threshold"
	ls "$fleet"/fleet-latency.png >/dev/null || fail "no fleet-latency.png"
	cmp_dir=$(ls -d "$fleet"/compare-*-vs-* 2>/dev/null | head -1)
	[ -n "$cmp_dir" ] && [ -f "$cmp_dir/index.html" ] || fail "no comparison of the most deviant node"
	say "flagged: $flagged latency values of node1; comparison: $(basename "${cmp_dir:-none}")"
fi

# ---- a node that did not finish: listed, not merged ----
cp -r "$(ls -d "$fleet/node0-"*)" "$fleet/node9-20990101T000000Z"
jq '.status = "running"' "$fleet/node9-20990101T000000Z/meta.json" >"$tmp/m" && mv "$tmp/m" "$fleet/node9-20990101T000000Z/meta.json"
"$cohmap" fleet report "$fleet" -q || fail "fleet report with an unfinished node: exit $?"
[ "$(jq -r 'select(.node == "node9") | .state' "$fleet/fleet.jsonl")" = failed ] ||
	fail "node9 (says running, its job ended) is not listed as failed"
! grep -q '^node9,' "$fleet/fleet.csv" || fail "node9 was merged"
rm -rf "$fleet/node9-20990101T000000Z"

# ---- another cohmap version: refused, one line naming the directory ----
cp -r "$(ls -d "$fleet/node0-"*)" "$fleet/node8-20990101T000000Z"
jq '.tool.version = "0.0.1"' "$fleet/node8-20990101T000000Z/meta.json" >"$tmp/m" && mv "$tmp/m" "$fleet/node8-20990101T000000Z/meta.json"
"$cohmap" fleet report "$fleet" >/dev/null 2>"$tmp/refused.err"
rc=$?
[ "$rc" = 2 ] && [ "$(wc -l <"$tmp/refused.err")" = 1 ] && grep -q "node8-20990101T000000Z" "$tmp/refused.err" ||
	{ fail "mixed versions: exit $rc, stderr:"; cat "$tmp/refused.err"; }
rm -rf "$fleet/node8-20990101T000000Z"

[ "$failed" = 0 ] && say "ok ($NODES nodes)"
exit "$failed"
