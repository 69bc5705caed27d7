/* pngcheck: what the report test needs to know about PNG files, decoded
 * with libpng (so a truncated or corrupt file fails, as it would in a
 * browser).
 *
 *   pngcheck valid FILE...   every file decodes completely: "FILE WxH" each
 *   pngcheck ink FILE        one line: "width W height H ink F colours N"
 *
 * ink is the fraction of pixels that differ from the most common colour
 * (the page background); colours counts distinct colours at 4 bits per
 * channel. A blank or single-colour screenshot has ink 0 and 1 colour. */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct image {
	png_uint_32 width, height;
	unsigned char *rgba;
};

static int decode(const char *path, struct image *img)
{
	png_image pi;
	memset(&pi, 0, sizeof pi);
	pi.version = PNG_IMAGE_VERSION;
	img->rgba = NULL;
	if (!png_image_begin_read_from_file(&pi, path)) {
		fprintf(stderr, "%s: %s\n", path, pi.message);
		return -1;
	}
	pi.format = PNG_FORMAT_RGBA;
	img->width = pi.width;
	img->height = pi.height;
	img->rgba = malloc(PNG_IMAGE_SIZE(pi));
	if (img->rgba == NULL) {
		fprintf(stderr, "%s: out of memory\n", path);
		png_image_free(&pi);
		return -1;
	}
	if (!png_image_finish_read(&pi, NULL, img->rgba, 0, NULL)) {
		fprintf(stderr, "%s: %s\n", path, pi.message);
		free(img->rgba);
		img->rgba = NULL;
		return -1;
	}
	return 0;
}

static int ink(const char *path)
{
	struct image img;
	if (decode(path, &img) != 0)
		return 1;
	/* 4 bits per channel: 4096 colours, counted in one table. */
	static unsigned long count[4096];
	size_t n = (size_t)img.width * img.height;
	for (size_t i = 0; i < n; i++) {
		const unsigned char *p = img.rgba + 4 * i;
		count[(p[0] >> 4) << 8 | (p[1] >> 4) << 4 | (p[2] >> 4)]++;
	}
	unsigned long most = 0, colours = 0;
	for (int c = 0; c < 4096; c++) {
		colours += count[c] > 0;
		if (count[c] > most)
			most = count[c];
	}
	printf("width %u height %u ink %.4f colours %lu\n", (unsigned)img.width,
	       (unsigned)img.height, n ? (double)(n - most) / (double)n : 0.0, colours);
	free(img.rgba);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "valid") == 0) {
		int bad = 0;
		for (int i = 2; i < argc; i++) {
			struct image img;
			if (decode(argv[i], &img) != 0) {
				bad = 1;
				continue;
			}
			printf("%s %ux%u\n", argv[i], (unsigned)img.width, (unsigned)img.height);
			free(img.rgba);
		}
		return bad;
	}
	if (argc == 3 && strcmp(argv[1], "ink") == 0)
		return ink(argv[2]);
	fprintf(stderr, "usage: pngcheck valid FILE... | pngcheck ink FILE\n");
	return 2;
}
