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

#include "spec.h"

#define WRITE_MAX 65536
/* How long after a create or truncation a failing write still puts the
 * earlier spec back: the writes of one `echo` or `cat >` come at once. */
#define UNDO_SECONDS 5.0

int drukfs_write_append(char **buf, size_t *len, const char *data,
			size_t size, off_t off)
{
	char *n;

	if (off != 0 && off != (off_t)*len)
		return -EINVAL; /* only sequential writes make sense here */
	if (off == 0)
		*len = 0;
	if (*len + size > WRITE_MAX)
		return -EFBIG;
	n = realloc(*buf, *len + size + 1);
	if (!n)
		return -ENOMEM;
	memcpy(n + *len, data, size);
	*len += size;
	n[*len] = '\0';
	*buf = n;
	return 0;
}

static int space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int drukfs_write_renew(drukfs_fs *fs, const char *handle, const char *text,
		       size_t len)
{
	size_t b = 0, e = len;
	char *when;
	int rc;

	while (b < e && space(text[b]))
		b++;
	while (e > b && space(text[e - 1]))
		e--;
	when = strndup(text + b, e - b);
	if (!when)
		return -ENOMEM;
	rc = drukfs_handles_renew(fs->handles, handle, when);
	free(when);
	return rc;
}

/* ---- specs/ ---------------------------------------------------------------- */

/* What a create or truncation replaced, to put back if the writes that
 * follow fail (fs->spec_undo: name -> spec_undo, under fs->slock). */
typedef struct spec_undo {
	char *text;             /* NULL: there was no spec */
	double at;              /* monotonic time of the last step */
	size_t written;         /* bytes written since: the next offset */
} spec_undo;

static void undo_free(spec_undo *u)
{
	if (u) {
		free(u->text);
		free(u);
	}
}

void drukfs_spec_undo_clear(drukfs_fs *fs)
{
	const char *k;
	void *v;

	for (size_t i = 0; strmap_next(&fs->spec_undo, &i, &k, &v);)
		undo_free(v);
	strmap_clear(&fs->spec_undo);
}

/* Stores "" for NAME and remembers what it replaced (slock held). */
static int store_empty(drukfs_fs *fs, const char *name)
{
	spec_undo *u = calloc(1, sizeof(*u));
	char *old = NULL;
	int rc = drukfs_state_spec_get(fs->state, name, &old);

	if (!u || (rc < 0 && rc != -ENOENT && rc != -EINVAL)) {
		free(u);
		free(old);
		return u ? rc : -ENOMEM;
	}
	u->text = old;
	u->at = drukfs_now();
	rc = drukfs_state_spec_set(fs->state, name, "");
	if (rc == 0)
		rc = strmap_put(&fs->spec_undo, name, u, (void **)&old);
	else
		old = (char *)u;
	if (rc < 0)
		undo_free(u);
	else
		undo_free((spec_undo *)old);
	return rc < 0 ? rc : 0;
}

int drukfs_spec_create(drukfs_fs *fs, const char *name)
{
	int rc;

	pthread_mutex_lock(&fs->slock);
	rc = store_empty(fs, name);
	pthread_mutex_unlock(&fs->slock);
	return rc;
}

int drukfs_spec_truncate(drukfs_fs *fs, const char *name)
{
	char *text = NULL;
	int rc;

	pthread_mutex_lock(&fs->slock);
	rc = drukfs_state_spec_get(fs->state, name, &text);
	if (rc == 0)
		rc = store_empty(fs, name);
	pthread_mutex_unlock(&fs->slock);
	free(text);
	return rc == -EINVAL ? -ENOENT : rc;
}

/* The undo record of NAME if the write at `off` continues the writes
 * that followed a create or truncation (slock held), else NULL. */
static spec_undo *undo_for(drukfs_fs *fs, const char *name, off_t off)
{
	spec_undo *u = strmap_get(&fs->spec_undo, name);

	if (u && (drukfs_now() - u->at > UNDO_SECONDS || off != (off_t)u->written)) {
		strmap_del(&fs->spec_undo, name);
		undo_free(u);
		u = NULL;
	}
	return u;
}

/* Puts back what the create or truncation replaced (slock held). */
static void undo(drukfs_fs *fs, const char *name, spec_undo *u)
{
	if (u->text)
		drukfs_state_spec_set(fs->state, name, u->text);
	else
		drukfs_state_spec_del(fs->state, name);
	drukfs_log_add(fs->log, time(NULL), u->text ?
		       "specs/%s: the earlier spec is kept" :
		       "specs/%s: nothing is kept", name);
	strmap_del(&fs->spec_undo, name);
	undo_free(u);
}

/* The text after writing buf at off over old (caller frees).  0,
 * -EINVAL (a hole, or a NUL byte), -EFBIG, -ENOMEM. */
static int overlay(const char *old, const char *buf, size_t size, off_t off,
		   char **out)
{
	size_t n = strlen(old), end = (size_t)off + size;
	size_t total = end > n ? end : n;
	char *t;

	if ((size_t)off > n)
		return -EINVAL; /* no holes in a spec */
	if (total > WRITE_MAX)
		return -EFBIG;
	t = malloc(total + 1);
	if (!t)
		return -ENOMEM;
	memcpy(t, old, n);
	memcpy(t + off, buf, size);
	t[total] = '\0';
	*out = t;
	return memchr(t, '\0', total) ? -EINVAL : 0;
}

/* Parses text.  0 or -EINVAL (the line and reason logged). */
static int check_spec(drukfs_fs *fs, const char *name, const char *text)
{
	drukfs_spec spec;
	const char *why;
	size_t line;
	int rc = drukfs_spec_parse(text, &spec, &line, &why);

	if (rc == 0)
		drukfs_spec_clear(&spec);
	else if (rc == -EINVAL)
		drukfs_log_add(fs->log, time(NULL), "specs/%s line %zu: %s",
			       name, line, why);
	return rc;
}

ssize_t drukfs_spec_write(drukfs_fs *fs, const char *name, const char *buf,
			  size_t size, off_t off, int *restored)
{
	char *old = NULL, *text = NULL;
	spec_undo *u;
	int rc;

	*restored = 0;
	pthread_mutex_lock(&fs->slock);
	u = undo_for(fs, name, off);
	rc = drukfs_state_spec_get(fs->state, name, &old);
	/* Gone (a failed write undid its create, and the writer tries
	 * again): a write at 0 starts it anew. */
	if (rc == -ENOENT && off == 0)
		rc = (old = strdup("")) ? 0 : -ENOMEM;
	if (rc == 0)
		rc = overlay(old, buf, size, off, &text);
	if (rc == 0)
		rc = check_spec(fs, name, text);
	if (rc == 0)
		rc = drukfs_state_spec_set(fs->state, name, text);
	if (rc == 0) {
		drukfs_log_add(fs->log, time(NULL), "specs/%s written", name);
		if (u) {
			u->written = (size_t)off + size;
			u->at = drukfs_now();
		}
	} else if (u) {
		undo(fs, name, u);
		*restored = 1;
	}
	pthread_mutex_unlock(&fs->slock);
	free(old);
	free(text);
	return rc < 0 ? (rc == -EFBIG || rc == -ENOMEM ? rc : -EINVAL) :
			(ssize_t)size;
}

int drukfs_spec_attr(drukfs_fs *fs, const char *name, uint64_t node,
		     struct stat *st)
{
	char *text = NULL;
	int rc = drukfs_state_spec_get(fs->state, name, &text);

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
	int rc;

	pthread_mutex_lock(&fs->slock);
	undo_for(fs, name, -1);
	rc = drukfs_state_spec_del(fs->state, name);
	pthread_mutex_unlock(&fs->slock);
	if (rc == 0)
		drukfs_log_add(fs->log, time(NULL), "specs/%s removed", name);
	return rc == -EINVAL ? -ENOENT : rc;
}

int drukfs_spec_text(drukfs_fs *fs, const char *name, char **out)
{
	int rc = drukfs_state_spec_get(fs->state, name, out);

	return rc == -EINVAL ? -ENOENT : rc;
}
