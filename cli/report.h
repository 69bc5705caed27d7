/* index.html: the results directory as a page a student can read. It is made
 * from meta.json alone (plus the CSV and topology files it names), so it can
 * be rewritten at any time (`cohmap report DIR`) and shows any experiment
 * that follows the experiments.<name> convention of experiments/experiment.h:
 * "status", "headline", "plots", "csv", or "reason" when skipped. */
#ifndef COHMAP_REPORT_H
#define COHMAP_REPORT_H

#include <jansson.h>

/* Writes dir/index.html from meta (the run's meta.json). Returns 0, or -1
 * with the reason in err. */
int report_write(const char *dir, const json_t *meta, char *err);

/* Rewrites dir/index.html from the files in dir: meta.json for a run,
 * compare.json for a comparison. Returns 0, -1 with the reason in err. */
int report_rewrite(const char *dir, char *err);

#endif
