/* How an experiment spends the share of a time budget it is given. The
 * margins are named once here: every experiment plans with them, so a run
 * with --budget ends near it whatever the mix of experiments. */
#ifndef COHMAP_BUDGET_H
#define COHMAP_BUDGET_H

/* The part of its budget an experiment plans to spend measuring when it
 * knows what one point costs (samples x sample length, runs x run length):
 * the rest is for what it cannot plan, such as thread start-up, the
 * watchdog's arming, the CSV and the plots. */
#define BUDGET_PLANNED_SHARE 0.8
/* The same when the cost of a point comes from a probe measured at run time
 * (channels, attach, fork): a probe on a VM can be off by a quarter, so more
 * is held back. */
#define BUDGET_PROBED_SHARE 0.7

/* Points a sampler has not reached by this many times its budget are left
 * out (attach, channels): a late point costs the suite more than it adds. */
#define BUDGET_DEADLINE_FACTOR 1.2
/* A step-by-step experiment (contention) starts no new step once this
 * share of its budget is spent: the steps it has are kept whole. */
#define BUDGET_LAST_STEP_SHARE 0.95

#endif
