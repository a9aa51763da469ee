/*
 * The writable corners of the tree, apart from mkdir and rmdir:
 *
 *   hosts/<handle>/expires_at   0644: writing an ISO 8601 time renews the
 *                               lease to it (POST /hosts/{id}/renew)
 *   specs/NAME                  0644: KEY=VALUE create specs (spec.h),
 *                               checked when written, kept in the state
 *                               directory, used by `mkdir hosts/NAME`
 *
 * The kernel sends no OPEN, FLUSH or RELEASE (fs.c answers open with
 * ENOSYS), so there is no per-open state and nothing happens at close:
 * every write(2) is acted on when it arrives and carries its own error.
 * A spec is a plain file kept in the state directory: a write lands at
 * its offset, and the text that results must parse, or the write fails
 * with EINVAL and the spec is left as it was.  Creating or truncating a
 * spec stores it empty at once; if the writes that follow fail, the spec
 * is put back as it was before (a malformed `echo ... > specs/NAME`
 * keeps the old spec).
 */
#ifndef DRUKFS_FS_WRITE_H
#define DRUKFS_FS_WRITE_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fs.h"

/* The inode field of a spec file (node of NAME, this field). */
#define DRUKFS_SPEC_FIELD 31u

/* Appends a write at `off` to the text *buf of *len bytes: a write at 0
 * starts over, one at *len continues it.  0, -EINVAL (any other offset),
 * -EFBIG (over 64 KiB), -ENOMEM. */
int drukfs_write_append(char **buf, size_t *len, const char *data,
			size_t size, off_t off);

/* Renews hosts/<handle> to the time in text (white space around it
 * ignored).  0 or -errno (EINVAL: not a time, or refused). */
int drukfs_write_renew(drukfs_fs *fs, const char *handle, const char *text,
		       size_t len);

/* specs/NAME: created (create(2)), truncated to zero, written at `off`.
 * *restored is set when a failed write put the earlier spec back (the
 * kernel's idea of the file is then wrong and must be dropped).  0 or
 * the bytes taken, or -errno. */
int drukfs_spec_create(drukfs_fs *fs, const char *name);
int drukfs_spec_truncate(drukfs_fs *fs, const char *name);
ssize_t drukfs_spec_write(drukfs_fs *fs, const char *name, const char *buf,
			  size_t size, off_t off, int *restored);

/* specs/: attributes of NAME's spec file (0 or -ENOENT), the names kept,
 * and removing one. */
int drukfs_spec_attr(drukfs_fs *fs, const char *name, uint64_t node,
		     struct stat *st);
int drukfs_spec_names(drukfs_fs *fs, char ***names, size_t *count);
int drukfs_spec_unlink(drukfs_fs *fs, const char *name);

/* The text of specs/NAME (caller frees).  0 or -errno. */
int drukfs_spec_text(drukfs_fs *fs, const char *name, char **out);

/* Forgets what spec writes kept for undoing (drukfs_fs teardown). */
void drukfs_spec_undo_clear(drukfs_fs *fs);

#endif
