/*
 * See fs_write.h.  Values are checked here, at the edge, so that nothing
 * invalid is stored or sent: a spec is parsed in full before it is kept,
 * a time must be ISO 8601 with an offset before a renew goes out.
 */
#include "fs_write.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "render.h"
#include "spec.h"

#define WRITE_MAX 65536

open_file *drukfs_open_file_new(enum open_kind kind)
{
	open_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	atomic_init(&f->refs, 1);
	f->kind = kind;
	pthread_mutex_init(&f->lock, NULL);
	return f;
}

open_file *drukfs_open_file_ref(open_file *f)
{
	if (f)
		atomic_fetch_add(&f->refs, 1);
	return f;
}

void drukfs_open_file_unref(open_file *f)
{
	if (!f || atomic_fetch_sub(&f->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&f->lock);
	free(f->data);
	free(f->name);
	free(f->wbuf);
	free(f);
}

/* Counts write handles of spec `name` (delta +1 / -1). */
static void specs_open_add(drukfs_fs *fs, const char *name, int delta)
{
	intptr_t n;

	pthread_mutex_lock(&fs->slock);
	n = (intptr_t)strmap_get(&fs->specs_open, name) + delta;
	if (n > 0)
		strmap_put(&fs->specs_open, name, (void *)n, NULL);
	else
		strmap_del(&fs->specs_open, name);
	pthread_mutex_unlock(&fs->slock);
}

static int specs_open_has(drukfs_fs *fs, const char *name)
{
	int has;

	pthread_mutex_lock(&fs->slock);
	has = strmap_get(&fs->specs_open, name) != NULL;
	pthread_mutex_unlock(&fs->slock);
	return has;
}

int drukfs_write_open(drukfs_fs *fs, uint64_t ino, int truncate,
		      open_file **out)
{
	unsigned field = drukfs_ino_field(ino);
	open_file *f;
	int rc;

	*out = NULL;
	if (ino < INO_FIXED_END ||
	    (field != FIELD_EXPIRES_AT && field != DRUKFS_SPEC_FIELD))
		return -EACCES;
	f = drukfs_open_file_new(field == FIELD_EXPIRES_AT ? OPEN_EXPIRES :
							     OPEN_SPEC);
	if (!f)
		return -ENOMEM;
	rc = drukfs_tree_handle(fs->tree, drukfs_ino_node(ino), &f->name);
	if (rc < 0) {
		drukfs_open_file_unref(f);
		return rc;
	}
	/* Nothing is stored until something is written: shells open, dup2
	 * and close the file (a flush) before the first write.  A spec being
	 * written exists for getattr meanwhile. */
	f->truncate = truncate;
	if (f->kind == OPEN_SPEC)
		specs_open_add(fs, f->name, 1);
	*out = f;
	return 0;
}

void drukfs_write_release(drukfs_fs *fs, open_file *f)
{
	if (!f || f->kind != OPEN_SPEC)
		return;
	if (f->truncate && !f->written && !f->failed &&
	    drukfs_state_spec_set(fs->state, f->name, "") == 0)
		drukfs_log_add(fs->log, time(NULL), "specs/%s written (empty)",
			       f->name);
	specs_open_add(fs, f->name, -1);
}

/* The text written so far, without surrounding white space (a copy). */
static char *trimmed(const open_file *f)
{
	size_t b = 0, e = f->wlen;
	char *s;

	while (b < e && (f->wbuf[b] == ' ' || f->wbuf[b] == '\t' ||
			 f->wbuf[b] == '\n' || f->wbuf[b] == '\r'))
		b++;
	while (e > b && (f->wbuf[e - 1] == ' ' || f->wbuf[e - 1] == '\t' ||
			 f->wbuf[e - 1] == '\n' || f->wbuf[e - 1] == '\r'))
		e--;
	s = malloc(e - b + 1);
	if (s) {
		memcpy(s, f->wbuf + b, e - b);
		s[e - b] = '\0';
	}
	return s;
}

static int renew_from(drukfs_fs *fs, open_file *f)
{
	char *when = trimmed(f);
	int rc;

	if (!when)
		return -ENOMEM;
	rc = drukfs_handles_renew(fs->handles, f->name, when);
	free(when);
	return rc;
}

/* Parses the spec text written so far.  0 or -EINVAL (logged). */
static int check_spec(drukfs_fs *fs, open_file *f, int store)
{
	drukfs_spec spec;
	const char *why;
	size_t line;
	char *text = malloc(f->wlen + 1);
	int rc;

	if (!text)
		return -ENOMEM;
	memcpy(text, f->wbuf ? f->wbuf : "", f->wlen);
	text[f->wlen] = '\0';
	rc = drukfs_spec_parse(text, &spec, &line, &why);
	if (rc == 0)
		drukfs_spec_clear(&spec);
	else if (rc == -EINVAL)
		drukfs_log_add(fs->log, time(NULL), "specs/%s line %zu: %s",
			       f->name, line, why);
	if (rc == 0 && store) {
		rc = drukfs_state_spec_set(fs->state, f->name, text);
		if (rc == 0)
			drukfs_log_add(fs->log, time(NULL), "specs/%s written",
				       f->name);
	}
	free(text);
	return rc;
}

static int append(open_file *f, const char *buf, size_t size, off_t off)
{
	char *n;

	if (off != (off_t)f->wlen)
		return -EINVAL; /* only sequential writes make sense here */
	if (f->wlen + size > WRITE_MAX)
		return -EFBIG;
	n = realloc(f->wbuf, f->wlen + size + 1);
	if (!n)
		return -ENOMEM;
	memcpy(n + f->wlen, buf, size);
	f->wbuf = n;
	f->wlen += size;
	return 0;
}

ssize_t drukfs_write_data(drukfs_fs *fs, open_file *f, const char *buf,
			  size_t size, off_t off)
{
	int rc;

	pthread_mutex_lock(&f->lock);
	rc = f->failed ? -EINVAL : append(f, buf, size, off);
	if (rc == 0)
		f->dirty = f->written = 1;
	/* A complete line: act now, so write(2) carries the error. */
	if (rc == 0 && f->wlen && f->wbuf[f->wlen - 1] == '\n') {
		if (f->kind == OPEN_EXPIRES) {
			rc = renew_from(fs, f);
			f->dirty = 0;
		} else {
			rc = check_spec(fs, f, 0);
		}
	}
	if (rc < 0)
		f->failed = 1;
	pthread_mutex_unlock(&f->lock);
	return rc < 0 ? rc : (ssize_t)size;
}

int drukfs_write_flush(drukfs_fs *fs, open_file *f)
{
	int rc = 0;

	pthread_mutex_lock(&f->lock);
	if (f->failed)
		rc = -EINVAL;
	else if (f->dirty && f->kind == OPEN_EXPIRES)
		rc = renew_from(fs, f);
	else if (f->dirty && f->kind == OPEN_SPEC)
		rc = check_spec(fs, f, 1);
	if (rc == 0)
		f->dirty = 0;
	else
		f->failed = 1;
	pthread_mutex_unlock(&f->lock);
	return rc;
}

/* ---- specs/ ---------------------------------------------------------------- */

int drukfs_spec_attr(drukfs_fs *fs, const char *name, uint64_t node,
		     struct stat *st)
{
	char *text = NULL;
	int rc = drukfs_state_spec_get(fs->state, name, &text);

	if (rc == -ENOENT && specs_open_has(fs, name))
		rc = (text = strdup("")) ? 0 : -ENOMEM;
	if (rc < 0)
		return rc == -EINVAL ? -ENOENT : rc;
	memset(st, 0, sizeof(*st));
	st->st_ino = drukfs_ino(node, DRUKFS_SPEC_FIELD);
	st->st_mode = S_IFREG | 0644;
	st->st_nlink = 1;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_size = (off_t)strlen(text);
	st->st_blksize = 4096;
	st->st_atime = st->st_mtime = st->st_ctime = fs->started;
	free(text);
	return 0;
}

int drukfs_spec_names(drukfs_fs *fs, char ***names, size_t *count)
{
	return drukfs_state_spec_list(fs->state, names, count);
}

int drukfs_spec_unlink(drukfs_fs *fs, const char *name)
{
	int rc = drukfs_state_spec_del(fs->state, name);

	if (rc == 0)
		drukfs_log_add(fs->log, time(NULL), "specs/%s removed", name);
	return rc == -EINVAL ? -ENOENT : rc;
}

int drukfs_spec_read(drukfs_fs *fs, const char *name, open_file *f)
{
	int rc = drukfs_state_spec_get(fs->state, name, &f->data);

	if (rc == 0)
		f->len = strlen(f->data);
	return rc == -EINVAL ? -ENOENT : rc;
}
