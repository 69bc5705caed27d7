/* contention.png and contention-fairness.png, drawn by contention.gp from
 * contention.csv. */
#include <stdio.h>
#include <string.h>

#include "base/common.h"
#include "base/csv.h"
#include "experiments/contention/contention.h"
#include "plots/csvplot.h"

/* Appends name to the space-separated list unless it is there already. */
static void add_item(char *list, size_t size, const char *name)
{
	size_t len = strlen(name), used = strlen(list);
	for (const char *at = list; (at = strstr(at, name)) != NULL; at += len)
		if ((at == list || at[-1] == ' ') && (at[len] == ' ' || at[len] == '\0'))
			return;
	if (used + len + 2 < size)
		snprintf(list + used, size - used, "%s%s", used ? " " : "", name);
}

/* The items in legend order: this build's ops (every atomic form) and locks,
 * then any other item the CSV holds (a run of another architecture redrawn
 * here: fetch_add_lse on x86, fetch_add on aarch64). */
static void legend_items(const char *dir, char *list, size_t size)
{
	char path[4096], ignored[ERRLEN];
	struct csv rows;
	list[0] = '\0';
	for (int i = 0; i < ct_op_count; i++)
		add_item(list, size, ct_op_registry[i]->name);
	for (int i = 0; i < ct_lock_count; i++)
		add_item(list, size, ct_lock_registry[i]->name);
	snprintf(path, sizeof path, "%s/contention.csv", dir);
	if (csv_read(path, &rows, ignored) != 0)
		return;
	int c = csv_column(&rows, "op_or_lock");
	for (int r = 0; c >= 0 && r < rows.nrows; r++)
		add_item(list, size, rows.cells[r][c]);
	csv_free(&rows);
}

int plot_contention(const char *dir, const char *stat, const char **images, char *err)
{
	static const char *const names[] = { "contention.png", "contention-fairness.png" };
	static const char *const figures[] = { "figure='throughput'", "figure='fairness'" };
	char items[512];
	legend_items(dir, items, sizeof items);
	images[0] = NULL;
	return plot_csv_figures("contention.gp", dir, "contention.csv", "items", items,
				stat ? stat : "median", names, figures, ARRAY_SIZE(names), images, err);
}
