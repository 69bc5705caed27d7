/* The experiments, from the one list in experiments/experiment.h. */
#include "cli/commands.h"

#include "base/common.h"

#define EXPERIMENT_ENTRY(name) &experiment_##name,
const struct experiment *const experiment_registry[] = { COHMAP_EXPERIMENTS(EXPERIMENT_ENTRY) };
#undef EXPERIMENT_ENTRY
const int experiment_count = ARRAY_SIZE(experiment_registry);
