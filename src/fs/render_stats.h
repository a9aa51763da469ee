/*
 * The .drukfs/stats renderer: pure, like every renderer.
 */
#ifndef DRUKFS_RENDER_STATS_H
#define DRUKFS_RENDER_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "cache.h"

/* FUSE requests the kernel sent, per kind, for .drukfs/stats: what the
 * page cache and the dentry cache spare shows here. */
enum drukfs_fuse_op {
	FOP_LOOKUP, FOP_GETATTR, FOP_OPEN, FOP_READ, FOP_WRITE, FOP_OPENDIR,
	FOP_READDIR, FOP_COUNT
};
typedef struct drukfs_fuse_counts {
	_Atomic uint64_t n[FOP_COUNT];
} drukfs_fuse_counts;

/* "requests GET /hosts 3\n" ... lines of `key value`, one per counter,
 * easy to grep and to parse; `fuse` may be NULL.  0 or -ENOMEM. */
int drukfs_render_stats(char **out, size_t *len, const drukfs_cache_stats *s,
			const drukfs_fuse_counts *fuse, size_t waiting);

#endif
