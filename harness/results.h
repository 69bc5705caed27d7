/* A run's results directory and its meta.json. Results are files first:
 * CSV rows are appended as measurements finish, meta.json is replaced
 * atomically whenever it changes, pictures are drawn from both at the end. */
#ifndef COHMAP_RESULTS_H
#define COHMAP_RESULTS_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>

#include "base/common.h"
#include "base/timing.h"
#include "topology/topology.h"

/* Writes data to path through path.tmp + fsync + rename: readers see the old
 * file or the new one, never half of one. */
int write_file_atomic(const char *path, const char *data, size_t len, char *err);
int json_save_atomic(const char *path, const json_t *json, char *err);
/* Loads and checks the top level is an object. */
json_t *json_load_object(const char *path, char *err);

/* The state of one invocation that writes results. */
struct run {
	char dir[PATH_MAX];
	json_t *meta;
	struct topology topology;
	struct clock_info clock;
	bool quiet;
	bool progress;   /* stderr is a terminal and not quiet */
	char meta_error[ERRLEN]; /* the last failure to write meta.json, already said */
};

/* Creates the directory (requested, or results/<host>-<UTC time>), refusing an
 * existing one, and writes meta.json with status "running" and topology.txt.
 * Takes ownership of *topology. */
int run_begin(struct run *r, const char *requested_dir, struct topology *topology,
	      const struct clock_info *clock, int argc, char **argv, bool quiet, char *err);
/* Reopens the results directory of an interrupted run (for --resume): its
 * meta.json (status back to "running", the resumption recorded) and
 * topology.txt, which the caller loaded into *topology. */
int run_reopen(struct run *r, const char *dir, struct topology *topology,
	       const struct clock_info *clock, int argc, char **argv, bool quiet, char *err);
/* A warning goes to stderr (one line) and into meta.json's warnings. */
void run_warn(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Rewrites meta.json; on failure prints the reason (unless it is the one the
 * previous attempt printed) and returns -1. */
int run_save_meta(struct run *r);
/* Final status ("complete", "interrupted", "failed"), end time, meta.json. */
int run_end(struct run *r, const char *status);
void run_free(struct run *r);
/* Path of a file inside the results directory. */
const char *run_path(const struct run *r, const char *name, char *buf, size_t size);

/* The "machine" object of meta.json: model, vendor/family/model, kernel,
 * governor, SMT, hypervisor, host. */
json_t *machine_description(const struct topology *t);

/* Records an experiment's files and headline in meta.json's
 * experiments.<name>. */
void experiment_describe(struct run *r, const char *name, const char *const *csv_files,
			 const char *const *plot_files, const char *headline);

#endif
