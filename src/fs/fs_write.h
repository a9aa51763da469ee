/*
 * The writable corners of the tree, apart from mkdir and rmdir:
 *
 *   hosts/<handle>/expires_at   0644: writing an ISO 8601 time renews the
 *                               lease to it (POST /hosts/{id}/renew)
 *   specs/NAME                  0644: KEY=VALUE create specs (spec.h),
 *                               checked when written, kept in the state
 *                               directory, used by `mkdir hosts/NAME`
 *
 * A write is acted on as soon as a line is complete (so `echo ... >`
 * reports the error from write(2)), and what is left at close is acted on
 * by flush (reported by close(2)).
 */
#ifndef DRUKFS_FS_WRITE_H
#define DRUKFS_FS_WRITE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fs.h"

/* The inode field of a spec file (node of NAME, this field). */
#define DRUKFS_SPEC_FIELD 31u

enum open_kind { OPEN_READ = 0, OPEN_EXPIRES, OPEN_SPEC };

/* What an open file handle holds. */
typedef struct open_file {
	atomic_int refs;        /* the handle's, and each reply in flight */
	size_t len;             /* OPEN_READ: the rendered content */
	char *data;
	enum open_kind kind;
	char *name;             /* the handle or spec name written to */
	pthread_mutex_t lock;   /* the write state below */
	char *wbuf;
	size_t wlen;
	int dirty;              /* written since the last flush */
	int written;            /* written at all */
	int truncate;           /* opened with O_TRUNC (or created) */
	int failed;             /* a write failed: nothing is stored */
} open_file;

/* A new handle with one reference (NULL on ENOMEM). */
open_file *drukfs_open_file_new(enum open_kind kind);

/* Takes / drops a reference; the last one frees the handle.  A read holds
 * one while its reply is written, because the kernel may complete the
 * request and send RELEASE from another thread before writev() returns
 * to us. */
open_file *drukfs_open_file_ref(open_file *f);
void drukfs_open_file_unref(open_file *f);

/* Ends a write handle (before drukfs_open_file_free): a spec opened with
 * O_TRUNC and never written is stored empty (`: > specs/NAME`). */
void drukfs_write_release(drukfs_fs *fs, open_file *f);

/* Opens hosts/<h>/expires_at or specs/NAME for writing (what is written
 * replaces the value; `truncate`: O_TRUNC or a create, so that a spec
 * closed without a write is stored empty).  0 or -errno. */
int drukfs_write_open(drukfs_fs *fs, uint64_t ino, int truncate,
		      open_file **out);

/* A write at `off`: appended (offsets must be contiguous).  Returns the
 * bytes taken or -errno (EINVAL: a complete line is not valid; EFBIG). */
ssize_t drukfs_write_data(drukfs_fs *fs, open_file *f, const char *buf,
			  size_t size, off_t off);

/* Acts on what is left.  0 or -errno. */
int drukfs_write_flush(drukfs_fs *fs, open_file *f);

/* specs/: attributes of NAME's spec file (0 or -ENOENT), the names kept,
 * and removing one. */
int drukfs_spec_attr(drukfs_fs *fs, const char *name, uint64_t node,
		     struct stat *st);
int drukfs_spec_names(drukfs_fs *fs, char ***names, size_t *count);
int drukfs_spec_unlink(drukfs_fs *fs, const char *name);

/* Reads specs/NAME into f (read opens).  0 or -errno. */
int drukfs_spec_read(drukfs_fs *fs, const char *name, open_file *f);

#endif
