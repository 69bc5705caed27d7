#!/usr/bin/env bash
# Writes a results directory that no measurement made, for the report and
# compare tests: topology.txt from a topology fixture, a latency.csv whose
# values follow from the pair class (so a test knows every number), and a
# meta.json with every kind of thing a report must show: a virtual machine,
# a slow governor, drift and counter warnings, a skipped experiment, an
# experiment the report has no notes for, an interrupted status, and text
# that must be escaped.
#
#   make-fixture.sh DIR TOPOLOGY_FILE FACTOR [KERNELS] [CPUS]
#
# FACTOR scales every latency (B = 2 x A makes every ratio exactly 2).
# KERNELS defaults to "load_store cas_bounce"; CPUS (a space-separated list)
# to every CPU of the topology.
set -euo pipefail
dir=$1 topo=$2 factor=$3 kernels=${4:-load_store cas_bounce} only=${5:-}
mkdir -p "$dir"
cp "$topo" "$dir/topology.txt"

# class of a pair, as topology/topology.c decides it (columns: cpu socket die
# numa l3 l2 core smt)
awk -v factor="$factor" -v kernels="$kernels" -v only="$only" '
$1 == "cpu" {
	id = $2
	if (only != "" && index(" " only " ", " " id " ") == 0) next
	n++; cpu[n] = id; socket[n] = $3; die[n] = $4; numa[n] = $5; l3[n] = $6; l2[n] = $7; core[n] = $8
}
END {
	print "kernel,agents,cpu_a,cpu_b,pair_class,home_node,status,samples,round_trips_per_sample,min_ns,p10_ns,median_ns,p90_ns,mean_ns,stddev_ns,ci95_low_ns,ci95_high_ns,reason"
	base["smt"] = 12; base["l2"] = 20; base["l3"] = 40; base["die"] = 60; base["socket"] = 80
	base["numa"] = 100; base["cross-socket"] = 140
	nk = split(kernels, k, " ")
	for (j = 1; j <= nk; j++)
		for (a = 1; a <= n; a++)
			for (b = 1; b <= n; b++) {
				if (a == b) continue
				if (socket[a] != socket[b]) c = "cross-socket"
				else if (numa[a] != numa[b]) c = "numa"
				else if (core[a] == core[b]) c = "smt"
				else if (l2[a] == l2[b]) c = "l2"
				else if (l3[a] == l3[b]) c = "l3"
				else if (die[a] == die[b]) c = "die"
				else c = "socket"
				# a fixed pattern inside each class, and atomics 20% dearer
				m = (base[c] + (a + b) % 5) * (1 + 0.2 * (j - 1)) * factor
				printf "%s,thread,%d,%d,%s,%d,ok,100,128,%.2f,%.2f,%.2f,%.2f,%.2f,1.00,%.2f,%.2f,\n",
					k[j], cpu[a], cpu[b], c, numa[a], m * 0.9, m * 0.95, m, m * 1.1, m, m * 0.99, m * 1.01
			}
}' "$topo" >"$dir/latency.csv"

plots="" first=1
for kernel in $kernels; do
	plots+="$([[ $first == 1 ]] || echo ", ")\"latency-$kernel.png\""
	first=0
done
cpus=$(awk '$1 == "cpu" {printf "%s{\"cpu\": %d, \"socket\": %d, \"die\": %d, \"numa_node\": %d, \"l3_group\": %d, \"l2_group\": %d, \"core\": %d, \"smt\": %d, \"online\": true, \"allowed\": true}", n++ ? ", " : "", $2, $3, $4, $5, $6, $7, $8, $9}' "$topo")
model=$(sed -n 's/^cpu_model //p' "$topo")
cat >"$dir/meta.json" <<JSON
{
  "tool": {"name": "cohmap", "version": "fixture"},
  "command": ["cohmap", "run", "--budget", "60", "-o", "<b>fixture</b> & co"],
  "status": "interrupted",
  "started_utc": "2026-11-20T10:00:00Z",
  "finished_utc": "2026-11-20T10:02:00Z",
  "machine": {"host": "fixture-host", "cpu_model": "$model", "vendor": "GenuineIntel",
              "family": 6, "model": 85, "stepping": 4, "kernel": "6.1.0-fixture",
              "architecture": "x86_64", "governor": "powersave", "smt": "on",
              "hypervisor": "KVMKVMKVM", "line_size": 64},
  "clock": {"source": "invariant TSC", "ns_per_tick": 0.5, "read_overhead_median_ns": 12.0,
            "read_overhead_min_ns": 10.0},
  "topology": {"source": "fixture", "l1d_bytes": 32768, "l2_bytes": 1048576,
               "l3_bytes": 14417920, "cpus": [$cpus]},
  "warnings": [
    "drift: reference pair 0->1 (load_store) moved from 40.0 to 52.0 ns (+30%) during the run",
    "counter NA: PAPI_L1_DCM: <script>alert('not escaped')</script> & no hardware counters"
  ],
  "experiments": {
    "latency": {"status": "complete", "statistic_plotted": "median",
                "csv": ["latency.csv"], "plots": [$plots],
                "headline": "load_store: median one-way latency 12 ns (smt) to 142 ns (cross-socket)",
                "counters": {"unavailable": {"PAPI_L2_TCM": "no such event on this CPU"}}},
    "fork": {"status": "skipped", "reason": "no hugetlb pages reserved (echo 64 > /proc/sys/vm/nr_hugepages)"},
    "mystery": {"status": "complete", "csv": ["mystery.csv"], "plots": ["mystery-missing.png"],
                "headline": "an experiment the report has no notes for: 3 rows"}
  }
}
JSON
printf 'size_bytes,median_ns,note\n64,10.5,fits in L1\n4096,11.25,<small> & fits\n1048576,80,beyond L2\n' >"$dir/mystery.csv"
