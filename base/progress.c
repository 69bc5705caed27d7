#include "base/progress.h"

#include <stdio.h>

#include "base/timing.h"

void progress_start(struct progress *p, bool enabled, const char *label, long total)
{
	*p = (struct progress){ .enabled = enabled, .label = label, .total = total,
				.started_ns = monotonic_ns() };
	progress_update(p, 0);
}

void progress_update(const struct progress *p, long done)
{
	if (!p->enabled || p->total <= 0)
		return;
	enum { WIDTH = 30 };
	int filled = (int)(WIDTH * done / p->total);
	double elapsed = (double)(monotonic_ns() - p->started_ns) / 1e9;
	char eta[32] = "";
	if (done > 0 && done < p->total)
		snprintf(eta, sizeof eta, ", ETA %.0f s", elapsed / (double)done * (double)(p->total - done));
	fprintf(stderr, "\r\033[K%s [%.*s%*s] %ld/%ld%s", p->label, filled,
		"==============================", WIDTH - filled, "", done, p->total, eta);
	fflush(stderr);
}

void progress_end(const struct progress *p)
{
	if (p->enabled)
		fprintf(stderr, "\r\033[K");
}
