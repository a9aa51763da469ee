/*
 * The state directory (layout in state.h).
 *
 * Everything below the state directory is reached with *at() calls
 * relative to one O_DIRECTORY descriptor opened at drukfs_state_open(),
 * and every open, mkdir and rename inside it refuses to follow a symlink:
 * whatever is planted in the directory, drukfs only ever creates, replaces
 * or removes entries of the directory itself.  A value file is replaced by
 * rename(2), which swaps the directory entry, so a symlink sitting where
 * private_key goes is replaced, never written through.  The directory is
 * refused unless we own it and nobody else may enter it, since it holds
 * private keys.  The descriptor is the only state, so calls from many
 * threads need no lock.
 *
 * Writes are atomic: a temporary ".<file>.tmp.<pid>.<random>" is made with
 * O_EXCL, written whole, fsynced and renamed over the file, then the
 * directory is fsynced.  Forgetting NAME first renames names/NAME to a
 * "#forget.*" grave (not a valid NAME, so never listed) and then empties
 * it: the NAME is free at once, and a crash half-way leaves a grave that
 * the next drukfs_state_open() sweeps instead of half a handle.
 *
 * Reads are capped at STATE_FILE_MAX and refuse anything but a regular
 * file (a FIFO planted there must not hang a FUSE thread).
 */
#include "state.h"
#include "strmap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define STATE_FILE_MAX (1024 * 1024)
#define STATE_NAME_MAX 255
/* Readable part of a default directory's key. */
#define STATE_KEY_MAX 64
#define STATE_DIR_MODE 0700
#define STATE_FILE_MODE 0600
/* Attempts at a fresh temporary or grave name before giving up. */
#define STATE_TMP_TRIES 16

#define GRAVE_PREFIX "#forget."

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_CLOEXEC)

struct drukfs_state {
	int fd;    /* the state directory, O_DIRECTORY */
	char *dir; /* its path as given, for people */
};

/* ---- small helpers --------------------------------------------------------- */

/* -errno of the failure just seen; -EIO should errno not be set. */
static int neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

static void close_keep_errno(int fd)
{
	int saved = errno;

	if (fd >= 0)
		close(fd);
	errno = saved;
}

/* Random bits for temporary names.  Uniqueness comes from O_EXCL and
 * retries; this only makes collisions rare.  Cannot fail. */
static uint32_t state_random(void)
{
	struct timespec ts;
	uint32_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == (ssize_t)sizeof(r))
		return r;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)ts.tv_nsec ^ (uint32_t)(uintptr_t)&r;
}

/* Opens directory `name` under `at` without following a symlink.  fd or
 * -errno (-ELOOP or -ENOTDIR when something else sits there). */
static int open_dir_nofollow(int at, const char *name)
{
	int fd = openat(at, name, DIR_FLAGS | O_NOFOLLOW);

	return fd < 0 ? neg_errno() : fd;
}

/* Makes directory `name` under `at` and returns it opened, with mode 0700
 * exactly whatever the umask.  Sets *made once the mkdir succeeded, so a
 * caller can undo it after a later failure.  fd, -EEXIST when it already
 * exists, or -errno. */
static int make_dir(int at, const char *name, int *made)
{
	int fd;

	*made = 0;
	if (mkdirat(at, name, STATE_DIR_MODE) < 0)
		return neg_errno();
	*made = 1;
	fd = open_dir_nofollow(at, name);
	if (fd < 0)
		return fd;
	if (fchmod(fd, STATE_DIR_MODE) < 0) {
		int rc = neg_errno();

		close(fd);
		return rc;
	}
	return fd;
}

/* Writes all of `data`, retrying short writes and EINTR.  0 or -errno. */
static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return neg_errno();
		if (n == 0)
			return -EIO;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Creates a fresh ".<name>.tmp.<pid>.<random>" under `at` with `mode`
 * exactly, its name left in `tmp`.  fd or -errno. */
static int create_tmp(int at, const char *name, mode_t mode, char *tmp,
		      size_t size)
{
	for (int i = 0; i < STATE_TMP_TRIES; i++) {
		int fd, n;

		n = snprintf(tmp, size, ".%s.tmp.%ld.%08" PRIx32, name,
			     (long)getpid(), state_random());
		if (n < 0 || (size_t)n >= size)
			return -ENAMETOOLONG;
		fd = openat(at, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
				     O_NOFOLLOW, mode);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd < 0)
			return neg_errno();
		if (fchmod(fd, mode) < 0) {
			int rc = neg_errno();

			close(fd);
			unlinkat(at, tmp, 0);
			return rc;
		}
		return fd;
	}
	return -EEXIST;
}

/* Replaces file `name` under `at` with `len` bytes of `data`, atomically
 * and durably (see the top of the file).  The file gets `mode` exactly.
 * 0 or -errno; on failure the old file is untouched and no temporary is
 * left behind. */
static int write_atomic(int at, const char *name, const char *data,
			size_t len, mode_t mode)
{
	char tmp[NAME_MAX + 1];
	int fd, rc, renamed = 0;

	fd = create_tmp(at, name, mode, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	rc = write_all(fd, data, len);
	if (rc == 0 && fsync(fd) < 0)
		rc = neg_errno();
	if (close(fd) < 0 && rc == 0)
		rc = neg_errno();
	if (rc < 0)
		goto out;
	if (renameat(at, tmp, at, name) < 0) {
		rc = neg_errno();
		goto out;
	}
	renamed = 1;
	if (fsync(at) < 0)
		rc = neg_errno();
out:
	if (!renamed)
		unlinkat(at, tmp, 0);
	return rc;
}

static int write_string(int at, const char *name, const char *text)
{
	return write_atomic(at, name, text, strlen(text), STATE_FILE_MODE);
}

/* Reads regular file `name` under `at` (not through a symlink) into a new
 * NUL-terminated buffer.  0 with *out, -ENOENT, -ELOOP for a symlink,
 * -EINVAL for anything but a regular file, -EFBIG past STATE_FILE_MAX,
 * -ENOMEM or -errno; *out is NULL on failure. */
static int read_file(int at, const char *name, char **out)
{
	int fd, rc = 0;
	struct stat sb;
	size_t got = 0;
	char *buf = NULL;

	*out = NULL;
	fd = openat(at, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
				      O_NOCTTY);
	if (fd < 0)
		return neg_errno();
	if (fstat(fd, &sb) < 0) {
		rc = neg_errno();
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	if (sb.st_size > STATE_FILE_MAX) {
		rc = -EFBIG;
		goto out;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = neg_errno();
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

/* Like read_file(), but a missing file is 0 with *out NULL. */
static int read_optional(int at, const char *name, char **out)
{
	int rc = read_file(at, name, out);

	return rc == -ENOENT ? 0 : rc;
}

/* Removes the entries of directory `name` under `at`, then the directory.
 * A symlink or file at `name` is unlinked itself.  Subdirectories are
 * removed only when empty (drukfs never makes any).  0 or -errno. */
static int remove_dir(int at, const char *name)
{
	struct dirent *de;
	int fd, rc = 0;
	DIR *d;

	fd = openat(at, name, DIR_FLAGS | O_NOFOLLOW);
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR))
		return unlinkat(at, name, 0) < 0 ? neg_errno() : 0;
	if (fd < 0)
		return neg_errno();
	d = fdopendir(fd);
	if (!d) {
		close_keep_errno(fd);
		return neg_errno();
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			continue;
		if (errno == EISDIR &&
		    unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) == 0)
			continue;
		if (rc == 0)
			rc = neg_errno();
	}
	closedir(d);
	if (rc == 0 && unlinkat(at, name, AT_REMOVEDIR) < 0)
		rc = neg_errno();
	return rc;
}

/* ---- names ---------------------------------------------------------------- */

static int name_char_ok(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == ':' || c == '.' ||
	       c == '-';
}

/* 1 when `name` is 1-255 chars of [A-Za-z0-9_:.-] and not "." or "..",
 * else 0 (also for NULL).  Pure. */
int drukfs_state_name_valid(const char *name)
{
	size_t n;

	if (!name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	for (n = 0; name[n]; n++)
		if (n >= STATE_NAME_MAX || !name_char_ok(name[n]))
			return 0;
	return n > 0;
}

/* fd of names/.  fd or -errno. */
static int open_names(const drukfs_state *st)
{
	return open_dir_nofollow(st->fd, "names");
}

/* fd of names/NAME.  -EINVAL for an invalid NAME, -ENOENT when it is not
 * claimed, -ELOOP/-ENOTDIR when something else sits there, or -errno. */
static int open_name(const drukfs_state *st, const char *name)
{
	int names, fd;

	if (!drukfs_state_name_valid(name))
		return -EINVAL;
	names = open_names(st);
	if (names < 0)
		return names;
	fd = open_dir_nofollow(names, name);
	close(names);
	return fd;
}

/* Writes `text` to file `file` of claimed NAME.  0 or -errno. */
static int write_name_file(drukfs_state *st, const char *name,
			   const char *file, const char *text)
{
	int fd, rc;

	if (!st || !text)
		return -EINVAL;
	fd = open_name(st, name);
	if (fd < 0)
		return fd;
	rc = write_string(fd, file, text);
	close(fd);
	return rc;
}

/* ---- default directory ------------------------------------------------------- */

/* Where the URL's host part starts: after "scheme://" and any
 * "user:password@", which must not end up in a directory name. */
static const char *url_visible_part(const char *url)
{
	size_t scheme = strspn(url, "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
	const char *p = url, *at;
	size_t authority;

	if (scheme > 0 && strncmp(url + scheme, "://", 3) == 0)
		p = url + scheme + 3;
	authority = strcspn(p, "/?#");
	at = memchr(p, '@', authority);
	while (at) {
		p = at + 1;
		authority = strcspn(p, "/?#");
		at = memchr(p, '@', authority);
	}
	return p;
}

/* The directory key for `url` into `key` (STATE_KEY_MAX + 18 bytes).
 * Cannot fail. */
static void url_key(char *key, size_t size, const char *url)
{
	const char *p = url_visible_part(url);
	size_t n = 0;

	for (; *p && n < STATE_KEY_MAX; p++, n++) {
		int safe = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			   (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
			   *p == '-';

		key[n] = safe ? *p : '_';
	}
	snprintf(key + n, size - n, "-%016" PRIx64, drukfs_fnv1a(url, strlen(url)));
}

/* Our home directory as a new string: $HOME if it is absolute, else the
 * password database.  0, -ENOENT (no usable home) or -ENOMEM. */
static int home_dir(char **out)
{
	const char *home = getenv("HOME");
	struct passwd pw, *res = NULL;
	size_t size = 1024;
	char *buf = NULL;
	int rc = -ENOENT, err = 0;

	if (home && home[0] == '/')
		return (*out = strdup(home)) ? 0 : -ENOMEM;
	for (;;) {
		char *grown = realloc(buf, size);

		if (!grown) {
			rc = -ENOMEM;
			goto out;
		}
		buf = grown;
		err = getpwuid_r(geteuid(), &pw, buf, size, &res);
		if (err != ERANGE || size >= 1024 * 1024)
			break;
		size *= 2;
	}
	if (err == 0 && res && res->pw_dir && res->pw_dir[0] == '/')
		rc = (*out = strdup(res->pw_dir)) ? 0 : -ENOMEM;
out:
	free(buf);
	return rc;
}

/* "<base>/<middle>/<key>" with trailing slashes of base dropped, into a new
 * string.  0 or -ENOMEM. */
static int join_dir(char **out, const char *base, const char *middle,
		    const char *key)
{
	size_t blen = strlen(base);
	int n;

	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	if (blen > INT_MAX)
		return -ENOMEM;
	n = snprintf(NULL, 0, "%.*s/%s/%s", (int)blen, base, middle, key);
	if (n < 0 || !(*out = malloc((size_t)n + 1)))
		return -ENOMEM;
	snprintf(*out, (size_t)n + 1, "%.*s/%s/%s", (int)blen, base, middle,
		 key);
	return 0;
}

/* See state.h.  Also -EINVAL for a NULL or empty url; *out is NULL on
 * failure. */
int drukfs_state_default_dir(char **out, const char *url)
{
	char key[STATE_KEY_MAX + 18];
	const char *xdg = getenv("XDG_STATE_HOME");
	char *home = NULL;
	int rc;

	*out = NULL;
	if (!url || !*url)
		return -EINVAL;
	url_key(key, sizeof(key), url);
	if (xdg && xdg[0] == '/')
		return join_dir(out, xdg, "drukfs", key);
	rc = home_dir(&home);
	if (rc == 0)
		rc = join_dir(out, home, ".local/state/drukfs", key);
	free(home);
	return rc;
}

/* ---- open / free ------------------------------------------------------------- */

/* Opens component `comp` under `at`, making it if missing.  The last
 * component is not followed: a symlink there is -ELOOP (Linux says
 * ENOTDIR for O_DIRECTORY | O_NOFOLLOW, which would mislead).  fd or
 * -errno. */
static int open_component(int at, const char *comp, int last)
{
	int flags = DIR_FLAGS | (last ? O_NOFOLLOW : 0);
	int fd = openat(at, comp, flags), made;
	struct stat sb;

	if (fd < 0 && errno == ENOTDIR && last &&
	    fstatat(at, comp, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(sb.st_mode))
		return -ELOOP;
	if (fd >= 0 || errno != ENOENT)
		return fd >= 0 ? fd : neg_errno();
	fd = make_dir(at, comp, &made);
	if (fd != -EEXIST)
		return fd;
	fd = openat(at, comp, flags);
	return fd >= 0 ? fd : neg_errno();
}

/* Opens `path` as a directory like `mkdir -p` would make it (missing
 * components get mode 0700); the final component must not be a symlink.
 * fd or -errno. */
static int open_path(const char *path)
{
	char *copy, *save = NULL, *comp, *next;
	int at, fd;

	if (strnlen(path, PATH_MAX) >= PATH_MAX)
		return -ENAMETOOLONG;
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	at = open(path[0] == '/' ? "/" : ".", DIR_FLAGS);
	if (at < 0) {
		at = neg_errno();
		goto out;
	}
	for (comp = strtok_r(copy, "/", &save); comp; comp = next) {
		next = strtok_r(NULL, "/", &save);
		fd = open_component(at, comp, next == NULL);
		close(at);
		at = fd;
		if (at < 0)
			goto out;
	}
out:
	free(copy);
	return at;
}

/* -EPERM unless `fd` is a directory we own that group and others cannot
 * use; 0 or -errno. */
static int check_private(int fd)
{
	struct stat sb;

	if (fstat(fd, &sb) < 0)
		return neg_errno();
	if (!S_ISDIR(sb.st_mode))
		return -ENOTDIR;
	if (sb.st_uid != geteuid() || (sb.st_mode & 077))
		return -EPERM;
	return 0;
}

/* Removes graves a crash left in names/.  Best effort. */
static void sweep_graves(int names)
{
	struct dirent *de;
	int fd = dup(names);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);

	if (!d) {
		close_keep_errno(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, GRAVE_PREFIX,
			    strlen(GRAVE_PREFIX)) == 0)
			remove_dir(names, de->d_name);
	closedir(d);
}

/* Makes names/ if missing and sweeps it.  0 or -errno. */
static int prepare_names(int fd)
{
	int made, names = make_dir(fd, "names", &made);

	if (names == -EEXIST)
		names = open_dir_nofollow(fd, "names");
	if (names >= 0 && made && fsync(fd) < 0) {
		close_keep_errno(names);
		return neg_errno();
	}
	if (names < 0)
		return names;
	sweep_graves(names);
	close(names);
	return 0;
}

/* See state.h.  Also -EINVAL for a NULL or empty dir or a NULL url,
 * -ELOOP when dir itself is a symlink, -ENOMEM or -errno.  *out is NULL on
 * failure; free a state with drukfs_state_free(). */
int drukfs_state_open(drukfs_state **out, const char *dir, const char *url)
{
	drukfs_state *st = NULL;
	char *line = NULL;
	size_t n;
	int rc;

	*out = NULL;
	if (!dir || !*dir || !url)
		return -EINVAL;
	st = calloc(1, sizeof(*st));
	if (!st || !(st->dir = strdup(dir))) {
		rc = -ENOMEM;
		goto out;
	}
	st->fd = open_path(dir);
	if (st->fd < 0) {
		rc = st->fd;
		goto out;
	}
	rc = check_private(st->fd);
	/* One mount per state directory: two would each keep their own view
	 * of the names and resume each other's creates. */
	if (rc == 0 && flock(st->fd, LOCK_EX | LOCK_NB) < 0)
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
	if (rc == 0)
		rc = prepare_names(st->fd);
	if (rc < 0)
		goto out;
	n = strlen(url);
	line = malloc(n + 2);
	if (!line) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(line, url, n);
	memcpy(line + n, "\n", 2);
	rc = write_string(st->fd, "url", line);
out:
	free(line);
	if (rc < 0)
		drukfs_state_free(st);
	else
		*out = st;
	return rc;
}

/* Closes the directory and frees `st`.  NULL is a no-op. */
void drukfs_state_free(drukfs_state *st)
{
	if (!st)
		return;
	if (st->fd >= 0)
		close(st->fd);
	free(st->dir);
	free(st);
}

/* The directory as given to drukfs_state_open(); owned by `st`. */
const char *drukfs_state_dir(const drukfs_state *st)
{
	return st->dir;
}

/* ---- per-NAME operations -------------------------------------------------- */

/* See state.h.  `request_json` NULL stores no body.  On any failure after
 * the mkdir the claim is undone, so NAME is free again.  0, -EINVAL,
 * -EEXIST or -errno. */
int drukfs_state_claim(drukfs_state *st, const char *name,
		       const char *request_json)
{
	int names, fd, rc = 0, made;

	if (!st || !drukfs_state_name_valid(name))
		return -EINVAL;
	names = open_names(st);
	if (names < 0)
		return names;
	fd = make_dir(names, name, &made);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	if (request_json)
		rc = write_string(fd, "request.json", request_json);
	if (rc == 0 && fsync(names) < 0)
		rc = neg_errno();
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0 && made && remove_dir(names, name) == 0)
		fsync(names);
	close(names);
	return rc;
}

/* See state.h.  -EINVAL (bad name, NULL id), -ENOENT (not claimed) or
 * -errno. */
int drukfs_state_set_id(drukfs_state *st, const char *name, const char *id)
{
	return write_name_file(st, name, "id", id);
}

/* See state.h.  -EINVAL (bad name, NULL key), -ENOENT (not claimed) or
 * -errno. */
int drukfs_state_set_key(drukfs_state *st, const char *name, const char *key)
{
	return write_name_file(st, name, "private_key", key);
}

/* See state.h: `text` NULL removes the record.  0, -EINVAL, -ENOENT (not
 * claimed) or -errno. */
int drukfs_state_set_failed(drukfs_state *st, const char *name,
			    const char *text)
{
	int fd, rc = 0;

	if (text)
		return write_name_file(st, name, "failed", text);
	if (!st)
		return -EINVAL;
	fd = open_name(st, name);
	if (fd < 0)
		return fd;
	if (unlinkat(fd, "failed", 0) == 0) {
		if (fsync(fd) < 0)
			rc = neg_errno();
	} else if (errno != ENOENT) {
		rc = neg_errno();
	}
	close(fd);
	return rc;
}

/* Renames names/NAME to a fresh grave, whose name is left in `grave`.
 * 0, -ENOENT or -errno. */
static int bury(int names, const char *name, char *grave, size_t size)
{
	for (int i = 0; i < STATE_TMP_TRIES; i++) {
		snprintf(grave, size, GRAVE_PREFIX "%ld.%08" PRIx32,
			 (long)getpid(), state_random());
		if (renameat(names, name, names, grave) == 0)
			return 0;
		if (errno != EEXIST && errno != ENOTEMPTY)
			return neg_errno();
	}
	return -EEXIST;
}

/* See state.h.  0, -EINVAL, -ENOENT or -errno.  Once NAME is renamed away
 * it counts as forgotten even if removing its files fails; the grave is
 * swept at the next open. */
int drukfs_state_forget(drukfs_state *st, const char *name)
{
	char grave[64];
	int names, rc;

	if (!st || !drukfs_state_name_valid(name))
		return -EINVAL;
	names = open_names(st);
	if (names < 0)
		return names;
	rc = bury(names, name, grave, sizeof(grave));
	if (rc == 0 && fsync(names) < 0)
		rc = neg_errno();
	if (rc == 0 && remove_dir(names, grave) == 0)
		fsync(names);
	close(names);
	return rc;
}

/* Frees an entry and its strings.  NULL is a no-op. */
void drukfs_state_entry_free(drukfs_state_entry *e)
{
	if (!e)
		return;
	free(e->name);
	free(e->id);
	free(e->request_json);
	free(e->private_key);
	free(e->failed);
	free(e);
}

/* See state.h.  0 with *out (free with drukfs_state_entry_free()),
 * -EINVAL, -ENOENT, -ELOOP (a symlink where a file should be), -EFBIG,
 * -ENOMEM or -errno; *out is NULL on failure. */
int drukfs_state_load(drukfs_state *st, const char *name,
		      drukfs_state_entry **out)
{
	drukfs_state_entry *e = NULL;
	int fd, rc;

	*out = NULL;
	if (!st)
		return -EINVAL;
	fd = open_name(st, name);
	if (fd < 0)
		return fd;
	e = calloc(1, sizeof(*e));
	if (!e || !(e->name = strdup(name))) {
		rc = -ENOMEM;
		goto out;
	}
	rc = read_optional(fd, "id", &e->id);
	if (rc == 0)
		rc = read_optional(fd, "request.json", &e->request_json);
	if (rc == 0)
		rc = read_optional(fd, "private_key", &e->private_key);
	if (rc == 0)
		rc = read_optional(fd, "failed", &e->failed);
out:
	close(fd);
	if (rc < 0)
		drukfs_state_entry_free(e);
	else
		*out = e;
	return rc;
}

/* Frees `count` names and the array.  NULL is a no-op. */
void drukfs_state_names_free(char **names, size_t count)
{
	if (!names)
		return;
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

/* Appends a copy of `name` to the growing array.  0 or -ENOMEM. */
static int names_push(char ***names, size_t *count, size_t *cap,
		      const char *name)
{
	if (*count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		char **grown = realloc(*names, ncap * sizeof(**names));

		if (!grown)
			return -ENOMEM;
		*names = grown;
		*cap = ncap;
	}
	if (!((*names)[*count] = strdup(name)))
		return -ENOMEM;
	(*count)++;
	return 0;
}

/* The valid names in directory fd (taken over and closed) whose entries
 * are of type `type` (S_IFDIR or S_IFREG; links never count).  0 with
 * *out and *count (*out may be NULL when *count is 0), or -errno with
 * *out NULL and *count 0. */
static int list_names(int fd, mode_t type, char ***out, size_t *count)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	struct stat sb;
	int rc = 0;
	DIR *d;

	*out = NULL;
	*count = 0;
	if (fd < 0)
		return fd;
	d = fdopendir(fd);
	if (!d) {
		close_keep_errno(fd);
		return neg_errno();
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (!drukfs_state_name_valid(de->d_name) ||
		    fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    (sb.st_mode & S_IFMT) != type)
			continue;
		rc = names_push(&names, &n, &cap, de->d_name);
	}
	closedir(d);
	if (rc < 0) {
		drukfs_state_names_free(names, n);
		return rc;
	}
	*out = names;
	*count = n;
	return 0;
}

/* See state.h.  Only real directories with valid names count. */
int drukfs_state_list(drukfs_state *st, char ***out, size_t *count)
{
	if (!st) {
		*out = NULL;
		*count = 0;
		return -EINVAL;
	}
	return list_names(open_names(st), S_IFDIR, out, count);
}

/* ---- specs -------------------------------------------------------------- */

/* fd of specs/, made on first use.  -errno. */
static int open_specs(const drukfs_state *st)
{
	int made, fd = make_dir(st->fd, "specs", &made);

	if (fd == -EEXIST)
		fd = open_dir_nofollow(st->fd, "specs");
	if (fd >= 0 && made && fsync(st->fd) < 0) {
		close_keep_errno(fd);
		return neg_errno();
	}
	return fd;
}

/* See state.h. */
int drukfs_state_spec_set(drukfs_state *st, const char *name, const char *text)
{
	int fd, rc;

	if (!drukfs_state_name_valid(name))
		return -EINVAL;
	fd = open_specs(st);
	if (fd < 0)
		return fd;
	rc = write_string(fd, name, text);
	close(fd);
	return rc;
}

/* See state.h. */
int drukfs_state_spec_get(drukfs_state *st, const char *name, char **out)
{
	int fd, rc;

	*out = NULL;
	if (!drukfs_state_name_valid(name))
		return -EINVAL;
	fd = open_specs(st);
	if (fd < 0)
		return fd;
	rc = read_file(fd, name, out);
	close(fd);
	return rc;
}

/* See state.h. */
int drukfs_state_spec_del(drukfs_state *st, const char *name)
{
	int fd, rc = 0;

	if (!drukfs_state_name_valid(name))
		return -EINVAL;
	fd = open_specs(st);
	if (fd < 0)
		return fd;
	if (unlinkat(fd, name, 0) < 0)
		rc = neg_errno();
	else if (fsync(fd) < 0)
		rc = neg_errno();
	close(fd);
	return rc;
}

/* See state.h.  Only regular files with valid names count. */
int drukfs_state_spec_list(drukfs_state *st, char ***out, size_t *count)
{
	return list_names(open_specs(st), S_IFREG, out, count);
}
