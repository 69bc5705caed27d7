/* `cohmap fleet`: cohmap on every node of a cluster through Slurm, merged
 * into one report.
 *
 * A fleet directory is one shared directory that holds one ordinary results
 * directory per node, named <node>-<UTC time> (what `cohmap run -o` writes,
 * meta.json replaced atomically), plus what the fleet adds:
 *   fleet.json      written by `fleet submit`: the cohmap command, sbatch's
 *                   options, when
 *   fleet.sbatch    the batch script it submitted
 *   slurm-job       the job id (written by the batch script, on the nodes)
 *   nodes.txt       the nodes Slurm gave the job, one a line (same)
 *   fleet.csv, fleet.jsonl, fleet-<experiment>.png, index.html
 *                   written by `fleet report`
 * Nothing but the node directories is required: a layout made by ReFrame or
 * likwid-mpirun (docs/fleet.md) is merged the same way.
 *
 * cli/fleet_scan.c reads a fleet directory (node states, the refusals),
 * cli/fleet_slurm.c submits and runs the node step, cli/fleet_merge.c turns
 * the nodes' CSV files into one table and finds outliers, cli/fleet_report.c
 * writes the files and the page. */
#ifndef COHMAP_FLEET_H
#define COHMAP_FLEET_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

enum node_state {
	NODE_DONE,        /* meta.json says complete: merged */
	NODE_RUNNING,     /* meta.json says running and the job is (or may be) alive */
	NODE_FAILED,      /* failed, interrupted, or running in a job that has ended */
	NODE_INCOMPLETE,  /* a directory without a readable meta.json */
	NODE_MISSING,     /* Slurm gave the job this node; it wrote no directory */
	NODE_SUPERSEDED,  /* an older directory of a node that has a newer one */
};

struct fleet_node {
	char name[128];       /* the node (the directory name without -<time>) */
	char base[256];       /* the directory's name inside the fleet; "" when missing */
	char dir[PATH_MAX];   /* fleet/base */
	enum node_state state;
	char why[256];        /* for every state but done: what the directory says */
	json_t *meta;         /* meta.json, when there is one */
};

struct fleet {
	char dir[PATH_MAX];
	int n;
	struct fleet_node *nodes; /* sorted by name, then directory */
	char job_id[32];          /* "" when the fleet was not submitted through Slurm */
	/* -1: unknown (no squeue), 0: the job has ended, 1: queued or running */
	int job_active;
};

/* Reads the fleet directory dir. Returns EXIT_DONE, or EXIT_USAGE after one
 * line on stderr naming the directory: dir is no fleet directory, or one of
 * its node directories has a meta.json of another cohmap version or one that
 * is not cohmap's (a "schema" this version does not read). */
int fleet_scan(const char *cmd, const char *dir, struct fleet *f);
void fleet_free(struct fleet *f);
const char *fleet_state_name(enum node_state s);
/* The node name in a directory name "<node>-YYYYmmddTHHMMSSZ" (the whole
 * name when it does not end in a time). */
void fleet_node_name(const char *base, char *name, size_t size);

/* An executable called name in one of PATH's directories. */
bool fleet_find_program(const char *name, char *path, size_t size);
/* Runs argv (no shell) and keeps the first size-1 bytes of its stdout.
 * Returns its exit status, -1 when it could not be run. */
int fleet_capture(char *const argv[], char *out, size_t size);

/* ---- the merge (cli/fleet_merge.c) ---- */

/* One number of one node: the statistic over the node's rows of one
 * measure (a kernel, an operation and size ...) in one pair class. */
struct fleet_value {
	int node;              /* index into fleet.nodes */
	int group;             /* index into merge.groups */
	const char *experiment;
	char measure[160];     /* "load_store", "copy 262144 B" ... */
	char pair_class[32];   /* "l3", "socket", ..., or "node" where rows have no pair */
	const char *statistic; /* "min", "median", "max" over the rows */
	double value;
	const char *unit;
	int rows;
	double z;              /* robust z-score in its group (median statistic), NaN */
};

struct fleet_group {
	char key[1024];   /* the fingerprint as one string */
	json_t *fingerprint;
	int nodes;
	int median_node;  /* index into fleet.nodes: the most typical node */
};

struct fleet_merge {
	int nvalues;
	struct fleet_value *values;
	int ngroups;
	struct fleet_group *groups;
	int *node_group;      /* per fleet node: its group, -1 when not merged */
	double threshold;
	int outliers;         /* values with |z| > threshold */
	int deviant_node;     /* the node of the largest |z| over threshold, -1 */
	double deviant_z;
};

/* The default threshold on |robust z| (Iglewicz and Hoaglin's 3.5). */
#define FLEET_Z_THRESHOLD 3.5

/* Reads every done node's CSV files into values, groups the nodes by
 * fingerprint, computes the robust z-scores. EXIT_USAGE after one line on
 * stderr naming the directory when a node's CSV header differs from the
 * others' (mixed schemas); EXIT_RUNTIME when out of memory. */
int fleet_merge(const char *cmd, const struct fleet *f, double threshold, struct fleet_merge *m);
void fleet_merge_free(struct fleet_merge *m);
/* The hardware fingerprint of a node's meta.json: CPU model, microcode,
 * sockets, cores, SMT, NUMA nodes, kernel, governor, hypervisor. */
json_t *fleet_fingerprint(const json_t *meta);

/* ---- the commands ---- */

struct fleet_submit_request {
	const char *cmd;
	const char *fleet_dir;        /* NULL: results/fleet-<UTC time> */
	int nsbatch;
	char **sbatch;                /* the user's sbatch options */
	int nrun;
	char **run;                   /* cohmap command and options for each node */
	bool wait;                    /* sbatch --wait, then the report */
	double threshold;
	bool quiet;
};
int fleet_submit(const struct fleet_submit_request *q);
/* `cohmap fleet node DIR -- CMD ...`, the job step on every node: creates
 * DIR/<node>-<time> and runs the cohmap command into it. */
int fleet_node(const char *cmd, const char *dir, int argc, char **argv);
int fleet_status(const char *cmd, const char *dir, bool quiet);
int fleet_report(const char *cmd, const char *dir, double threshold, bool quiet);

#endif
