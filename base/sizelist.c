#include "base/sizelist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/memory.h"

static int ascending(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int sizes_parse(const char *text, uint64_t *sizes, int max, char *err)
{
	char copy[256], why[ERRLEN];
	int n;
	if (strlen(text) >= sizeof copy) {
		set_error(err, "--sizes is too long");
		return -1;
	}
	snprintf(copy, sizeof copy, "%s", text);
	char *dash = strchr(copy, '-');
	if (dash && dash != copy && strchr(copy, ',') == NULL) {
		uint64_t lo, hi;
		*dash = '\0';
		if (parse_bytes(copy, &lo, why) != 0 || parse_bytes(dash + 1, &hi, why) != 0 ||
		    lo == 0 || hi < lo) {
			set_error(err, "--sizes must be MIN-MAX (e.g. 64-64M) or a list (e.g. 64,4K,1M); "
				  "got '%s'", text);
			return -1;
		}
		n = 0;
		for (uint64_t s = lo; s < hi && n < max; s = s * 2 > s ? s * 2 : hi)
			sizes[n++] = s;
		if (n == max) {
			set_error(err, "--sizes '%s' gives more than %d sizes", text, max);
			return -1;
		}
		sizes[n++] = hi;
		return n;
	}
	if ((n = parse_bytes_list(text, sizes, max, why)) < 0) {
		set_error(err, "--sizes: %s", why);
		return -1;
	}
	for (int i = 0; i < n; i++)
		if (sizes[i] == 0) {
			set_error(err, "--sizes: a size must be more than 0 bytes");
			return -1;
		}
	qsort(sizes, (size_t)n, sizeof *sizes, ascending);
	return n;
}
