/* The fork experiment's figures: experiments/fork/fork.gp, fork-touch.gp, fork-spawn.gp
 * (from fork.csv) and pagetables.gp (from pagetables.csv), each usable on
 * its own; this runs them on a results directory. */
#ifndef COHMAP_FORK_PLOTS_H
#define COHMAP_FORK_PLOTS_H

#define FORK_FIGURES 4

/* Draws DIR/fork.png, fork-touch.png, fork-spawn.png and pagetables.png from
 * the CSVs in DIR, each one whose CSV has rows to show (a run of the
 * baseline alone has nothing to touch). drawn, when not NULL, receives the
 * file names drawn, NULL-terminated (room for FORK_FIGURES + 1). Returns the
 * number drawn, -1 with gnuplot's error line in err. */
int plot_fork_figures(const char *dir, const char **drawn, char *err);

#endif
