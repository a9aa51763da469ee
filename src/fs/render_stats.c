/*
 * See render_stats.h.  One `key value` pair per line so that scripts can
 * read a counter with awk and tests can assert on exact numbers.
 */
#include "render_stats.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const route_names[ROUTE_COUNT] = {
	[ROUTE_LIST] = "GET /hosts",
	[ROUTE_GET] = "GET /hosts/{id}",
	[ROUTE_CREATE] = "POST /hosts",
	[ROUTE_DELETE] = "DELETE /hosts/{id}",
	[ROUTE_RENEW] = "POST /hosts/{id}/renew",
	[ROUTE_DOCTOR] = "GET /doctor",
	[ROUTE_HEALTHZ] = "GET /healthz",
};

static const char *const fuse_names[FOP_COUNT] = {
	[FOP_LOOKUP] = "LOOKUP", [FOP_GETATTR] = "GETATTR", [FOP_OPEN] = "OPEN",
	[FOP_READ] = "READ", [FOP_WRITE] = "WRITE", [FOP_OPENDIR] = "OPENDIR",
	[FOP_READDIR] = "READDIR",
};

int drukfs_render_stats(char **out, size_t *len, const drukfs_cache_stats *s,
			const drukfs_fuse_counts *fuse, size_t waiting)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	*out = NULL;
	*len = 0;
	if (!f)
		return -ENOMEM;
	for (int r = 0; r < ROUTE_COUNT; r++)
		fprintf(f, "requests %s %" PRIu64 "\n", route_names[r],
			s->requests[r]);
	for (int r = 0; r < ROUTE_COUNT; r++)
		fprintf(f, "failures %s %" PRIu64 "\n", route_names[r],
			s->failures[r]);
	fprintf(f, "cache_hits %" PRIu64 "\n", s->hits);
	fprintf(f, "cache_misses %" PRIu64 "\n", s->misses);
	fprintf(f, "stale_served %" PRIu64 "\n", s->stale_served);
	if (s->last_refresh_age < 0)
		fprintf(f, "last_refresh_age -\n");
	else
		fprintf(f, "last_refresh_age %.3f\n", s->last_refresh_age);
	fprintf(f, "waiting %zu\n", waiting);
	for (int i = 0; fuse && i < FOP_COUNT; i++)
		fprintf(f, "fuse %s %" PRIu64 "\n", fuse_names[i], fuse->n[i]);
	if (fclose(f) != 0 || !buf) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	*len = size;
	return 0;
}
