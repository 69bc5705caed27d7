#ifndef COHMAP_ATTACH_PLOT_H
#define COHMAP_ATTACH_PLOT_H

/* DIR/attach.csv -> DIR/attach.png, DIR/attach-phases.png (attach.gp); mappings limits the
 * lines drawn (NULL: all). Returns how many images, or -1 with a message. */
int plot_attach_figures(const char *dir, const char *mappings, const char *stat,
			const char **images, char *err);

#endif
