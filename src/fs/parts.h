/*
 * A generated file made of a fixed header and parts rendered on demand,
 * so that a READ renders only the parts it covers.  ssh_config at 10 000
 * hosts is 3.8 MB (38 MB at 100 000): kept whole for as long as the
 * kernel holds its inode, and rendered whole on every lookup, it cost
 * more than the host list itself.  Here each part is rendered once to
 * learn where it starts, and again only when a READ covers it; the
 * callback must give the same bytes every time (a READ that finds
 * otherwise fails with EIO rather than return a torn file).  Pure.
 */
#ifndef DRUKFS_PARTS_H
#define DRUKFS_PARTS_H

#include <stddef.h>
#include <stdint.h>

/* Part i (0 <= i < count) into *out (the caller frees; may be NULL when
 * *len is 0).  0 or -errno. */
typedef int (*drukfs_part_fn)(void *ctx, size_t i, char **out, size_t *len);

typedef struct drukfs_parts {
	const char *header;     /* static text, before the parts */
	size_t header_len;
	size_t count;
	uint64_t *off;          /* count + 1: where part i starts; off[count]
				   is the file's size.  NULL until sized */
} drukfs_parts;

/* Renders every part once to learn the offsets.  0, -ENOMEM, or the
 * callback's error. */
int drukfs_parts_size(drukfs_parts *p, drukfs_part_fn fn, void *ctx);

/* The file's size; 0 before drukfs_parts_size(). */
uint64_t drukfs_parts_total(const drukfs_parts *p);

/* Bytes [off, off + size) of the file (fewer at its end) into *out,
 * which the caller frees, *len their count.  0, -ENOMEM, -EIO when a
 * part renders to another length than when sized, or the callback's
 * error. */
int drukfs_parts_read(const drukfs_parts *p, drukfs_part_fn fn, void *ctx,
		      uint64_t off, size_t size, char **out, size_t *len);

/* Frees the offsets. */
void drukfs_parts_clear(drukfs_parts *p);

#endif
