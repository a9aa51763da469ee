/*
 * The .drukfs/stats renderer: pure, like every renderer.
 */
#ifndef DRUKFS_RENDER_STATS_H
#define DRUKFS_RENDER_STATS_H

#include <stddef.h>

#include "cache.h"

/* "requests GET /hosts 3\n" ... lines of `key value`, one per counter,
 * easy to grep and to parse.  0 or -ENOMEM. */
int drukfs_render_stats(char **out, size_t *len, const drukfs_cache_stats *s,
			size_t waiting);

#endif
