#include "base/notes.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void note_append(char *buf, size_t size, const char *fmt, ...)
{
	size_t used = strlen(buf);
	if (used > 0 && used + 2 < size)
		used += (size_t)snprintf(buf + used, size - used, "; ");
	if (used + 1 >= size)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + used, size - used, fmt, ap);
	va_end(ap);
}
