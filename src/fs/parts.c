/* See parts.h. */
#include "parts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int drukfs_parts_size(drukfs_parts *p, drukfs_part_fn fn, void *ctx)
{
	uint64_t *off = calloc(p->count + 1, sizeof(*off));
	uint64_t at = p->header_len;

	if (!off)
		return -ENOMEM;
	for (size_t i = 0; i < p->count; i++) {
		char *part = NULL;
		size_t n = 0;
		int rc = fn(ctx, i, &part, &n);

		free(part);
		if (rc < 0) {
			free(off);
			return rc;
		}
		off[i] = at;
		at += n;
	}
	off[p->count] = at;
	free(p->off);
	p->off = off;
	return 0;
}

uint64_t drukfs_parts_total(const drukfs_parts *p)
{
	return p->off ? p->off[p->count] : 0;
}

/* The first part that ends after `pos` (count when none does). */
static size_t part_at(const drukfs_parts *p, uint64_t pos)
{
	size_t lo = 0, hi = p->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->off[mid + 1] > pos)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* Copies the overlap of [from, from + n) of the file, held in src, with
 * the wanted range [off, end) into dst (dst[0] is byte off). */
static void copy_overlap(char *dst, uint64_t off, uint64_t end,
			 const char *src, uint64_t from, size_t n)
{
	uint64_t a = from > off ? from : off;
	uint64_t b = from + n < end ? from + n : end;

	if (a < b)
		memcpy(dst + (a - off), src + (a - from), (size_t)(b - a));
}

int drukfs_parts_read(const drukfs_parts *p, drukfs_part_fn fn, void *ctx,
		      uint64_t off, size_t size, char **out, size_t *len)
{
	uint64_t total = drukfs_parts_total(p), end;
	char *buf;
	int rc = 0;

	*out = NULL;
	*len = 0;
	if (!p->off || off >= total)
		return 0;
	end = total - off < size ? total : off + size;
	buf = malloc((size_t)(end - off) + 1);
	if (!buf)
		return -ENOMEM;
	copy_overlap(buf, off, end, p->header, 0, p->header_len);
	for (size_t i = part_at(p, off); rc == 0 && i < p->count &&
					 p->off[i] < end; i++) {
		char *part = NULL;
		size_t n = 0;

		if (p->off[i + 1] == p->off[i])
			continue; /* empty: nothing to render */
		rc = fn(ctx, i, &part, &n);
		if (rc == 0 && n != p->off[i + 1] - p->off[i])
			rc = -EIO;
		if (rc == 0)
			copy_overlap(buf, off, end, part, p->off[i], n);
		free(part);
	}
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	*len = (size_t)(end - off);
	return 0;
}

void drukfs_parts_clear(drukfs_parts *p)
{
	free(p->off);
	p->off = NULL;
}
