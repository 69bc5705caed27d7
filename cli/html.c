#include "cli/html.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/common.h"
#include "harness/results.h"

/* One style sheet for every cohmap page. Figures and tables never make the
 * page wider than the window: images scale down (max-width), wide tables
 * scroll inside their own box (.scroll), long words in warnings wrap. */
static const char style[] =
	"*{box-sizing:border-box}"
	"body{margin:0;background:#f4f5f7;color:#1d2330;"
	"font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif}"
	"main{max-width:1180px;margin:0 auto;padding:24px 20px 48px}"
	"h1{font-size:1.7em;margin:0 0 4px}"
	"h2{font-size:1.3em;margin:0 0 8px;display:flex;flex-wrap:wrap;align-items:center;gap:10px}"
	"h3{font-size:1.05em;margin:18px 0 6px}"
	"p{margin:6px 0}"
	"a{color:#1f5fbf}"
	"code{font:0.92em/1.4 'DejaVu Sans Mono',monospace;background:#eef0f4;padding:1px 4px;"
	"border-radius:3px;overflow-wrap:anywhere}"
	".sub{color:#566074;margin:0 0 16px}"
	"section{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:18px 22px;"
	"margin:18px 0;overflow-wrap:break-word}"
	"nav{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:10px 22px}"
	"nav ol{margin:4px 0;padding-left:20px;columns:2 260px}"
	".headline{font-size:1.08em;font-weight:600;background:#eef5ff;border-left:4px solid #1f5fbf;"
	"padding:8px 12px;margin:10px 0}"
	".how{color:#2d3445}"
	".badge{font-size:0.7em;font-weight:600;padding:2px 8px;border-radius:10px;"
	"text-transform:uppercase;letter-spacing:0.04em}"
	".complete{background:#dff3e4;color:#1d6b35}"
	".skipped{background:#eceef2;color:#4a5263}"
	".interrupted,.running,.partial{background:#fff1d6;color:#7a5200}"
	".failed{background:#fde2e1;color:#9b1c1c}"
	".warnings{background:#fff8e6;border-color:#f0d28c}"
	".warnings li{margin:5px 0;display:flex;gap:8px;align-items:baseline}"
	".warnings ul{list-style:none;padding-left:0}"
	".tag{flex:none;display:inline-block;min-width:118px;padding:0 6px;border-radius:4px;"
	"background:#fbe3a6;color:#5c3d00;font-size:0.78em;font-weight:600;text-align:center}"
	".figs{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,480px),1fr));"
	"gap:14px;margin:12px 0;align-items:start}"
	"figure{margin:0;border:1px solid #e3e6ec;border-radius:6px;padding:8px;background:#fff}"
	/* A landscape figure (several panels side by side) takes the whole row. */
	"figure.wide{grid-column:1/-1}"
	"figure img{display:block;width:100%;height:auto}"
	"figcaption{font-size:0.85em;color:#566074;margin-top:4px}"
	".scroll{overflow-x:auto;max-width:100%}"
	"table{border-collapse:collapse;margin:6px 0;font-size:0.92em}"
	"th,td{padding:3px 10px;border-bottom:1px solid #e6e8ee;text-align:left;vertical-align:top}"
	"th{background:#f3f4f7;font-weight:600}"
	"td.n{text-align:right;font-variant-numeric:tabular-nums}"
	"table.kv th{background:none;width:220px;color:#3a4254}"
	".files{font-size:0.9em;color:#566074}"
	"details summary{cursor:pointer;color:#1f5fbf}"
	"footer{color:#6a7386;font-size:0.85em;margin-top:24px}";

int html_begin(struct html *h, const char *title, char *err)
{
	*h = (struct html){ 0 };
	h->f = open_memstream(&h->buf, &h->len);
	if (h->f == NULL) {
		set_error(err, "cannot build the page: %s", strerror(errno));
		return -1;
	}
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
	      h->f);
	html_text(h->f, title);
	fprintf(h->f, "</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n", style);
	return 0;
}

void html_discard(struct html *h)
{
	if (h->f)
		fclose(h->f);
	free(h->buf);
	*h = (struct html){ 0 };
}

int html_save(struct html *h, const char *path, char *err)
{
	fputs("</main>\n</body>\n</html>\n", h->f);
	bool failed = ferror(h->f);
	/* fclose settles buf and len. */
	failed |= fclose(h->f) != 0;
	h->f = NULL;
	int ret = -1;
	if (failed || h->buf == NULL)
		set_error(err, "cannot build the page: out of memory");
	else
		ret = write_file_atomic(path, h->buf, h->len, err);
	html_discard(h);
	return ret;
}

void html_text(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default:
			/* Control characters other than tab and newline are not text. */
			if ((unsigned char)*s >= 0x20 || *s == '\t' || *s == '\n')
				fputc(*s, f);
		}
	}
}

void html_textf(FILE *f, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	html_text(f, buf);
}

void html_href(FILE *f, const char *file)
{
	static const char hex[] = "0123456789ABCDEF";
	/* "./" keeps a name such as "c:x.png" from reading as a URL scheme. */
	fputs("./", f);
	for (const unsigned char *p = (const unsigned char *)file; *p; p++) {
		bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9') || strchr("-_.~", *p);
		if (plain)
			fputc(*p, f);
		else
			fprintf(f, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
	}
}

void html_number_cell(FILE *f, double v, int decimals)
{
	if (isfinite(v))
		fprintf(f, "<td class=\"n\">%.*f</td>", decimals, v);
	else
		fputs("<td class=\"n\">NA</td>", f);
}

bool html_png_size(const char *dir, const char *file, unsigned *width, unsigned *height)
{
	static const unsigned char signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	unsigned char head[24];
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path)
		return false;
	FILE *f = fopen(path, "rbe");
	if (f == NULL)
		return false;
	bool ok = fread(head, 1, sizeof head, f) == sizeof head && memcmp(head, signature, 8) == 0 &&
		  memcmp(head + 12, "IHDR", 4) == 0;
	fclose(f);
	if (ok) {
		*width = (unsigned)head[16] << 24 | (unsigned)head[17] << 16 | (unsigned)head[18] << 8 | head[19];
		*height = (unsigned)head[20] << 24 | (unsigned)head[21] << 16 | (unsigned)head[22] << 8 | head[23];
	}
	return ok && *width > 0 && *height > 0;
}

bool html_file_exists(const char *dir, const char *file)
{
	char path[PATH_MAX];
	struct stat st;
	if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path)
		return false;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}
