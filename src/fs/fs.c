/*
 * The FUSE operations (see fs.h for why the low-level API).
 *
 * Dispatch is in two steps, as in lxcfs: the inode number says which
 * area a request is for (a fixed file, a host directory, a host file) and
 * the area picks one renderer.  Every file's content is rendered once at
 * open into the file handle, so one `cat` sees one version of a record;
 * reads copy from that snapshot.  Content that changes is pushed out of
 * the kernel's caches by the notifier thread.
 */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs_write.h"
#include "isotime.h"
#include "render.h"
#include "render_stats.h"

#define WAIT_ACTIVE "active\n"

typedef struct fixed_file {
	uint64_t ino;
	uint64_t parent;
	const char *name;
	mode_t mode;
} fixed_file;

static const fixed_file fixed_files[] = {
	{ INO_ROOT, INO_ROOT, "", S_IFDIR | 0755 },
	{ INO_HOSTS, INO_ROOT, "hosts", S_IFDIR | 0755 },
	{ INO_DOCTOR, INO_ROOT, "doctor", S_IFREG | 0444 },
	{ INO_DOCTOR_JSON, INO_ROOT, "doctor.json", S_IFREG | 0444 },
	{ INO_SSH_CONFIG, INO_ROOT, "ssh_config", S_IFREG | 0444 },
	{ INO_SPECS, INO_ROOT, "specs", S_IFDIR | 0755 },
	{ INO_META, INO_ROOT, ".drukfs", S_IFDIR | 0755 },
	{ INO_LOG, INO_META, "log", S_IFREG | 0444 },
	{ INO_STATS, INO_META, "stats", S_IFREG | 0444 },
	{ INO_REFRESH, INO_META, "refresh", S_IFREG | 0200 },
};
#define FIXED_COUNT (sizeof(fixed_files) / sizeof(fixed_files[0]))

/* What an open directory handle holds. */
typedef struct open_dir {
	drukfs_listing *listing;        /* hosts/ */
	drukfs_resolved host;           /* hosts/<handle>/ */
	char *handle;
	char **specs;                   /* specs/ */
	size_t spec_count;
} open_dir;

static drukfs_fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static const fixed_file *fixed_by_ino(uint64_t ino)
{
	for (size_t i = 0; i < FIXED_COUNT; i++)
		if (fixed_files[i].ino == ino)
			return &fixed_files[i];
	return NULL;
}

static const fixed_file *fixed_by_name(uint64_t parent, const char *name)
{
	for (size_t i = 1; i < FIXED_COUNT; i++)
		if (fixed_files[i].parent == parent &&
		    strcmp(fixed_files[i].name, name) == 0)
			return &fixed_files[i];
	return NULL;
}

/* ---- attributes ----------------------------------------------------------- */

static void attr_base(drukfs_fs *fs, struct stat *st, uint64_t ino,
		      mode_t mode)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = mode;
	st->st_nlink = S_ISDIR(mode) ? 2 : 1;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_blksize = 4096;
	st->st_atime = st->st_mtime = st->st_ctime = fs->started;
}

static void attr_fixed(drukfs_fs *fs, const fixed_file *f, struct stat *st)
{
	attr_base(fs, st, f->ino, f->mode);
}

static time_t record_time(const char *iso, time_t fallback)
{
	int64_t t;

	return iso && drukfs_isotime_parse(iso, &t) == 0 ? (time_t)t : fallback;
}

/* Whether reading `field` must never wait for the service: what ssh
 * reads on every connection (and every git push) on the machine. */
static int ssh_field(unsigned field)
{
	return field == FIELD_KNOWN_HOSTS || field == FIELD_PRIVATE_KEY ||
	       field == FIELD_SSH_CONFIG;
}

/* Logs once per host and reason why a host is left out of ssh_config. */
static void ssh_log_once(drukfs_fs *fs, const char *handle, const char *why)
{
	char key[512];
	int fresh = 0;

	snprintf(key, sizeof(key), "%s\t%s", handle, why);
	pthread_mutex_lock(&fs->slock);
	if (!strmap_get(&fs->ssh_logged, key)) {
		if (fs->ssh_logged.used >= 10000)
			strmap_clear(&fs->ssh_logged);
		fresh = strmap_put(&fs->ssh_logged, key, (void *)1, NULL) == 0;
	}
	pthread_mutex_unlock(&fs->slock);
	if (fresh)
		drukfs_log_add(fs->log, time(NULL),
			       "ssh_config: left out %s: %s", handle, why);
}

/* One host's ssh_config block, or "" when it cannot be reached (yet) or
 * a value fails its allowlist (logged).  with_name: see sshconf.h.
 * 0 or -ENOMEM. */
static int render_ssh_block(drukfs_fs *fs, const char *handle,
			    const drukbox_host *h, int has_key, int with_name,
			    char **out, size_t *len)
{
	const char *why = NULL;
	int rc = drukfs_ssh_block(out, len, h, handle, has_key, with_name,
				  &fs->ssh, &why);

	if (rc == -ENOMEM)
		return rc;
	if (rc < 0 && why)
		ssh_log_once(fs, handle, why);
	if (rc != 0) {
		*out = strdup("");
		*len = 0;
		return *out ? 0 : -ENOMEM;
	}
	return 0;
}

/* What the file `field` of hosts/<handle> holds: the one place that
 * decides it, so that getattr sizes and opens agree. */
static int render_host_content(drukfs_fs *fs, const char *handle,
			       const drukfs_resolved *r, unsigned field,
			       char **out, size_t *len)
{
	const drukbox_host *h = r->rec->host;

	switch (field) {
	case FIELD_PRIVATE_KEY:
		*out = strdup(r->private_key);
		*len = *out ? strlen(*out) : 0;
		return *out ? 0 : -ENOMEM;
	case FIELD_KNOWN_HOSTS:
		return drukfs_known_hosts_filter(out, len, h->known_hosts);
	case FIELD_SSH_CONFIG:
		/* The name may not be another host's handle. */
		return render_ssh_block(fs, handle, h, r->private_key != NULL,
					!h->name || !drukfs_handles_taken(fs->handles,
									  h->name),
					out, len);
	default:
		return drukfs_render_field(out, len, h, (drukfs_field)field);
	}
}

/* The attributes of a host's directory (field 0) or one of its files. */
static int attr_host(drukfs_fs *fs, uint64_t node, unsigned field,
		     const char *handle, const drukfs_resolved *r,
		     struct stat *st)
{
	const drukbox_host *h = r->rec->host;
	mode_t mode = S_IFREG | 0444;

	if (field == FIELD_DIR)
		mode = S_IFDIR | 0555;
	else if (field == FIELD_PRIVATE_KEY)
		mode = S_IFREG | 0600;
	else if (field == FIELD_EXPIRES_AT)
		mode = S_IFREG | 0644; /* writing a time renews the lease */
	attr_base(fs, st, drukfs_ino(node, field), mode);
	st->st_mtime = st->st_atime = record_time(h->updated_at, fs->started);
	st->st_ctime = record_time(h->created_at, st->st_mtime);
	if (field == FIELD_DIR || field == FIELD_WAIT)
		return 0;
	char *buf = NULL;
	size_t len = 0;
	int rc = render_host_content(fs, handle, r, field, &buf, &len);

	free(buf);
	st->st_size = (off_t)len;
	st->st_blocks = (blkcnt_t)((len + 511) / 512);
	return rc;
}

/* Whether `field` exists for this host. */
static int field_exists(const drukfs_resolved *r, unsigned field)
{
	if (field >= FIELD_COUNT)
		return 0;
	return field != FIELD_PRIVATE_KEY || r->private_key != NULL;
}

/* Resolves a host inode: the handle of its node (*handle, the caller
 * frees), then the host.  0 with *r filled, -ENOENT for a node that is
 * gone, -errno. */
static int resolve_ino(drukfs_fs *fs, uint64_t ino, int flags,
		       drukfs_resolved *r, char **handle)
{
	int rc = drukfs_tree_handle(fs->tree, drukfs_ino_node(ino), handle);

	memset(r, 0, sizeof(*r));
	if (rc == 0)
		rc = drukfs_handles_resolve(fs->handles, *handle, flags, r);
	if (rc == 0 && !field_exists(r, drukfs_ino_field(ino))) {
		drukfs_resolved_clear(r);
		rc = -ENOENT;
	}
	if (rc < 0) {
		free(*handle);
		*handle = NULL;
	}
	return rc;
}

static void reply_entry(fuse_req_t req, drukfs_fs *fs, const struct stat *st)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.ino = st->st_ino;
	e.attr = *st;
	e.attr_timeout = fs->ttl;
	e.entry_timeout = fs->ttl;
	fuse_reply_entry(req, &e);
}

static void reply_negative(fuse_req_t req, drukfs_fs *fs)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.entry_timeout = fs->ttl;
	fuse_reply_entry(req, &e);
}

/* ---- lookup / forget / getattr ------------------------------------------- */

/* Takes a lookup reference on hosts/<handle> and fills its attributes. */
static int entry_host(drukfs_fs *fs, const char *handle, unsigned field,
		      struct stat *st)
{
	drukfs_resolved r;
	uint64_t node;
	int rc = drukfs_handles_resolve(fs->handles, handle, DRUKFS_NOWAIT, &r);

	if (rc < 0)
		return rc;
	if (!field_exists(&r, field)) {
		drukfs_resolved_clear(&r);
		return -ENOENT;
	}
	rc = drukfs_tree_ref(fs->tree, handle, &node);
	if (rc == 0)
		rc = attr_host(fs, node, field, handle, &r, st);
	drukfs_resolved_clear(&r);
	return rc;
}

/* Takes a lookup reference on specs/NAME and fills its attributes. */
static int entry_spec(drukfs_fs *fs, const char *name, struct stat *st)
{
	uint64_t node;
	int rc;

	if (!drukfs_state_name_valid(name))
		return -ENOENT;
	rc = drukfs_tree_ref(fs->tree, name, &node);
	if (rc < 0)
		return rc;
	rc = drukfs_spec_attr(fs, name, node, st);
	if (rc < 0)
		drukfs_tree_forget(fs->tree, node, 1);
	return rc;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	drukfs_fs *fs = fs_of(req);
	const fixed_file *f = fixed_by_name(parent, name);
	struct stat st;
	int rc;

	if (f) {
		attr_fixed(fs, f, &st);
		reply_entry(req, fs, &st);
		return;
	}
	if (parent == INO_HOSTS) {
		rc = entry_host(fs, name, FIELD_DIR, &st);
	} else if (parent >= INO_FIXED_END &&
		   drukfs_ino_field(parent) == FIELD_DIR) {
		int field = drukfs_field_lookup(name);
		char *handle = NULL;

		rc = field <= 0 ? -ENOENT :
				  drukfs_tree_handle(fs->tree,
						     drukfs_ino_node(parent), &handle);
		if (rc == 0)
			rc = entry_host(fs, handle, (unsigned)field, &st);
		free(handle);
	} else if (parent == INO_SPECS) {
		rc = entry_spec(fs, name, &st);
	} else {
		rc = -ENOENT;
	}
	if (rc == -ENOENT)
		reply_negative(req, fs);
	else if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		reply_entry(req, fs, &st);
}

static void forget_one(drukfs_fs *fs, fuse_ino_t ino, uint64_t n)
{
	if (ino >= INO_FIXED_END)
		drukfs_tree_forget(fs->tree, drukfs_ino_node(ino), n);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	forget_one(fs_of(req), ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		forget_one(fs_of(req), forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static int getattr_ino(drukfs_fs *fs, fuse_ino_t ino, struct stat *st)
{
	const fixed_file *f = fixed_by_ino(ino);
	drukfs_resolved r;
	char *handle = NULL;
	int rc;

	if (f) {
		attr_fixed(fs, f, st);
		return 0;
	}
	if (ino < INO_FIXED_END)
		return -ENOENT;
	if (drukfs_ino_field(ino) == DRUKFS_SPEC_FIELD) {
		rc = drukfs_tree_handle(fs->tree, drukfs_ino_node(ino), &handle);
		if (rc == 0)
			rc = drukfs_spec_attr(fs, handle, drukfs_ino_node(ino), st);
		free(handle);
		return rc;
	}
	rc = resolve_ino(fs, ino, DRUKFS_NOWAIT, &r, &handle);
	if (rc < 0)
		return rc;
	rc = attr_host(fs, drukfs_ino_node(ino), drukfs_ino_field(ino), handle,
		       &r, st);
	drukfs_resolved_clear(&r);
	free(handle);
	return rc;
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	drukfs_fs *fs = fs_of(req);
	struct stat st;
	int rc = getattr_ino(fs, ino, &st);

	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, fs->ttl);
}

/* Nothing's attributes can be changed: modes, owners and times are the
 * service's.  Truncating a value file is refused like writing it. */
#define SET_TIMES (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | \
		   FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW | \
		   FUSE_SET_ATTR_CTIME)

/* What setattr may do: `touch hosts/X` renews the lease; truncating
 * expires_at or a spec is how `>` starts rewriting it.  Modes, owners
 * and other times are the service's. */
static int setattr_ino(drukfs_fs *fs, fuse_ino_t ino, int to_set)
{
	unsigned field = drukfs_ino_field(ino);
	char *handle = NULL;
	int rc;

	if (ino < INO_FIXED_END)
		return (to_set & FUSE_SET_ATTR_SIZE) ? -EACCES : -EPERM;
	if (to_set & FUSE_SET_ATTR_SIZE)
		return (to_set & ~(FUSE_SET_ATTR_SIZE | SET_TIMES)) ? -EPERM :
		       field == FIELD_EXPIRES_AT || field == DRUKFS_SPEC_FIELD ?
									0 :
									-EACCES;
	if (field != FIELD_DIR || (to_set & ~SET_TIMES))
		return -EPERM;
	rc = drukfs_tree_handle(fs->tree, drukfs_ino_node(ino), &handle);
	if (rc == 0)
		rc = drukfs_handles_renew(fs->handles, handle, NULL);
	free(handle);
	return rc;
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	drukfs_fs *fs = fs_of(req);
	struct stat st;
	int rc = setattr_ino(fs, ino, to_set);

	if (rc == 0)
		rc = getattr_ino(fs, ino, &st);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, fs->ttl);
}

/* ---- directories ------------------------------------------------------------ */

static void open_dir_free(open_dir *d)
{
	if (!d)
		return;
	drukfs_listing_free(d->listing);
	drukfs_resolved_clear(&d->host);
	free(d->handle);
	drukfs_state_names_free(d->specs, d->spec_count);
	free(d);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	drukfs_fs *fs = fs_of(req);
	open_dir *d = calloc(1, sizeof(*d));
	int rc = 0;

	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (ino == INO_HOSTS) {
		rc = drukfs_handles_list(fs->handles, 0, &d->listing);
	} else if (ino >= INO_FIXED_END) {
		if (drukfs_ino_field(ino) != FIELD_DIR)
			rc = -ENOTDIR;
		else
			rc = drukfs_tree_handle(fs->tree, drukfs_ino_node(ino),
						&d->handle);
		if (rc == 0)
			rc = drukfs_handles_resolve(fs->handles, d->handle, 0,
						    &d->host);
	} else if (ino == INO_SPECS) {
		rc = drukfs_spec_names(fs, &d->specs, &d->spec_count);
	} else if (ino != INO_ROOT && ino != INO_META) {
		rc = -ENOTDIR;
	}
	if (rc < 0) {
		open_dir_free(d);
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uintptr_t)d;
	fuse_reply_open(req, fi);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	open_dir_free((open_dir *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* One directory entry at index i of directory ino: its name and, for
 * readdirplus, its attributes with a lookup reference taken.
 * 1 there is one, 0 end of directory, -errno. */
static int dir_entry(drukfs_fs *fs, fuse_ino_t ino, open_dir *d, size_t i,
		     int plus, const char **name, struct stat *st)
{
	if (i < 2) {
		*name = i == 0 ? "." : "..";
		attr_base(fs, st, i == 0 ? ino : INO_ROOT, S_IFDIR | 0755);
		return 1;
	}
	i -= 2;
	if (ino == INO_ROOT || ino == INO_META) {
		for (size_t k = 1; k < FIXED_COUNT; k++) {
			if (fixed_files[k].parent != ino || i-- != 0)
				continue;
			*name = fixed_files[k].name;
			attr_fixed(fs, &fixed_files[k], st);
			return 1;
		}
		return 0;
	}
	if (ino == INO_SPECS) {
		uint64_t node;

		if (i >= d->spec_count)
			return 0;
		*name = d->specs[i];
		if (!plus) {
			attr_base(fs, st, 0, S_IFREG | 0644);
			return 1;
		}
		if (drukfs_tree_ref(fs->tree, *name, &node) < 0)
			return -ENOMEM;
		if (drukfs_spec_attr(fs, *name, node, st) < 0) {
			/* removed since opendir: show it without size */
			attr_base(fs, st, drukfs_ino(node, DRUKFS_SPEC_FIELD),
				  S_IFREG | 0644);
		}
		return 1;
	}
	if (ino == INO_HOSTS) {
		uint64_t node;
		drukfs_resolved r = { 0 };

		if (i >= d->listing->count)
			return 0;
		drukfs_entry *e = &d->listing->entries[i];
		*name = e->handle;
		if (!plus) {
			attr_base(fs, st, 0, S_IFDIR | 0555);
			return 1;
		}
		if (drukfs_tree_ref(fs->tree, e->handle, &node) < 0)
			return -ENOMEM;
		r.rec = e->rec;
		return attr_host(fs, node, FIELD_DIR, e->handle, &r, st) < 0 ?
			       -ENOMEM : 1;
	}
	for (unsigned f = 1; f < FIELD_COUNT; f++) {
		if (!drukfs_field_listed((drukfs_field)f) ||
		    !field_exists(&d->host, f) || i-- != 0)
			continue;
		*name = drukfs_field_name((drukfs_field)f);
		if (!plus) {
			attr_base(fs, st, 0, S_IFREG | 0444);
			return 1;
		}
		uint64_t node;
		if (drukfs_tree_ref(fs->tree, d->handle, &node) < 0)
			return -ENOMEM;
		return attr_host(fs, node, f, d->handle, &d->host, st) < 0 ?
			       -ENOMEM : 1;
	}
	return 0;
}

/* The lookup reference dir_entry took for an entry that did not fit. */
static void dir_entry_unref(drukfs_fs *fs, fuse_ino_t ino, size_t i,
			    const struct stat *st)
{
	if (i >= 2 && ino != INO_ROOT && ino != INO_META)
		forget_one(fs, st->st_ino, 1);
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, int plus)
{
	drukfs_fs *fs = fs_of(req);
	open_dir *d = (open_dir *)(uintptr_t)fi->fh;
	char *buf = malloc(size);
	size_t used = 0;
	int rc = 0;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (size_t i = (size_t)off;; i++) {
		const char *name;
		struct stat st;
		size_t n;

		rc = dir_entry(fs, ino, d, i, plus, &name, &st);
		if (rc <= 0)
			break;
		if (plus) {
			struct fuse_entry_param e = { 0 };

			e.ino = st.st_ino;
			e.attr = st;
			e.attr_timeout = e.entry_timeout = fs->ttl;
			n = fuse_add_direntry_plus(req, buf + used, size - used,
						   name, &e, (off_t)i + 1);
		} else {
			n = fuse_add_direntry(req, buf + used, size - used, name,
					      &st, (off_t)i + 1);
		}
		if (n > size - used) {
			if (plus)
				dir_entry_unref(fs, ino, i, &st);
			break;
		}
		used += n;
	}
	if (rc < 0 && used == 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 0);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 1);
}

/* ---- mkdir / rmdir ------------------------------------------------------ */

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	drukfs_fs *fs = fs_of(req);
	struct stat st;
	int rc;

	if (parent != INO_HOSTS) {
		fuse_reply_err(req, EPERM);
		return;
	}
	rc = drukfs_handles_create(fs->handles, name);
	if (rc == 0)
		rc = entry_host(fs, name, FIELD_DIR, &st);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		reply_entry(req, fs, &st);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	drukfs_fs *fs = fs_of(req);

	if (parent != INO_HOSTS) {
		fuse_reply_err(req, EPERM);
		return;
	}
	fuse_reply_err(req, -drukfs_handles_delete(fs->handles, name));
}

/* The tree's shape is the service's: no files, links or renames. */
static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	fuse_reply_err(req, EPERM);
}

/* Only specs/NAME can be created; it is stored when closed, if valid. */
static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	drukfs_fs *fs = fs_of(req);
	struct fuse_entry_param e;
	open_file *f = NULL;
	uint64_t node;
	int rc;

	if (parent != INO_SPECS) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if (!drukfs_state_name_valid(name)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	rc = drukfs_tree_ref(fs->tree, name, &node);
	if (rc == 0) {
		rc = drukfs_write_open(fs, drukfs_ino(node, DRUKFS_SPEC_FIELD), 1,
				       &f);
		if (rc < 0)
			drukfs_tree_forget(fs->tree, node, 1);
	}
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	memset(&e, 0, sizeof(e));
	attr_base(fs, &e.attr, drukfs_ino(node, DRUKFS_SPEC_FIELD),
		  S_IFREG | 0644);
	e.ino = e.attr.st_ino;
	e.attr_timeout = e.entry_timeout = 0;
	fi->direct_io = 1;
	fi->fh = (uintptr_t)f;
	if (fuse_reply_create(req, &e, fi) != 0) {
		drukfs_write_release(fs, f);
		drukfs_open_file_unref(f);
	}
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	drukfs_fs *fs = fs_of(req);

	if (parent != INO_SPECS) {
		fuse_reply_err(req, EPERM);
		return;
	}
	fuse_reply_err(req, -drukfs_spec_unlink(fs, name));
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	fuse_reply_err(req, EPERM);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	fuse_reply_err(req, EPERM);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	fuse_reply_err(req, EPERM);
}

/* ---- files ---------------------------------------------------------------- */

static int render_doctor(drukfs_fs *fs, int as_json, char **out, size_t *len)
{
	drukfs_doctor_ref *d = NULL;
	drukfs_cache_status cs;
	int rc = drukfs_cache_doctor(fs->cache, &d);

	if (as_json) {
		if (rc < 0)
			return rc;
		*out = strdup(d->doctor->json);
		*len = *out ? strlen(*out) : 0;
		drukfs_doctor_unref(d);
		return *out ? 0 : -ENOMEM;
	}
	char why[128];

	snprintf(why, sizeof(why), "GET /doctor failed: %s", strerror(-rc));
	drukfs_cache_status_get(fs->cache, &cs);
	drukfs_service_view v = {
		.doctor_error = rc < 0 ? why : NULL,
		.url = fs->url,
		.reachable = cs.reachable,
		.token_accepted = cs.token_accepted,
		.list_age_ms = cs.list_age < 0 ? -1 : (int64_t)(cs.list_age * 1000),
		.host_count = cs.host_count,
		.last_error = cs.last_error[0] ? cs.last_error : NULL,
	};
	rc = drukfs_render_doctor(out, len, d ? d->doctor : NULL, &v);
	drukfs_doctor_unref(d);
	return rc;
}

/* Which service names may be aliases in the root ssh_config: value 1 for
 * a name that exactly one host has and that is no host's handle, 2 for
 * the rest (ssh takes the first block that matches, so a shared alias
 * would let one host capture another's connections and offer it the
 * other's key).  0 or -ENOMEM. */
static int name_aliases(const drukfs_listing *l, strmap *names)
{
	for (size_t i = 0; i < l->count; i++)
		if (strmap_put(names, l->entries[i].handle, (void *)2, NULL) < 0)
			return -ENOMEM;
	for (size_t i = 0; i < l->count; i++) {
		const char *name = l->entries[i].rec->host->name;
		void *seen;

		if (!name || !*name || strcmp(name, l->entries[i].handle) == 0)
			continue;
		seen = strmap_get(names, name);
		if (strmap_put(names, name, seen ? (void *)2 : (void *)1,
			       NULL) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The root ssh_config: a block for every host that can be reached.  It
 * never waits for the service: every ssh on the machine reads it. */
static int render_ssh_config(drukfs_fs *fs, char **out, size_t *len)
{
	strmap names = STRMAP_INIT;
	drukfs_listing *l = NULL;
	char *buf = NULL;
	size_t size = 0;
	FILE *f;
	int rc = drukfs_handles_list(fs->handles, DRUKFS_NOWAIT, &l);

	if (rc < 0)
		l = NULL; /* still a valid, empty file */
	rc = 0;
	f = open_memstream(&buf, &size);
	if (!f) {
		drukfs_listing_free(l);
		return -ENOMEM;
	}
	fputs("# drukfs: one Host block per reachable host (made on each read).\n"
	      "# Include this file at the top of ~/.ssh/config.\n", f);
	if (l && name_aliases(l, &names) < 0)
		rc = -ENOMEM;
	for (size_t i = 0; rc == 0 && l && i < l->count; i++) {
		const drukbox_host *h = l->entries[i].rec->host;
		char *blk = NULL;
		size_t n = 0;

		if (render_ssh_block(fs, l->entries[i].handle, h,
				     l->entries[i].has_key,
				     h->name && strmap_get(&names, h->name) ==
							(void *)1,
				     &blk, &n) == 0 && n) {
			fputc('\n', f);
			fwrite(blk, 1, n, f);
		}
		free(blk);
	}
	drukfs_listing_free(l);
	strmap_clear(&names);
	if (fclose(f) != 0 || !buf || rc < 0) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	*len = size;
	return 0;
}

/* Renders a fixed file into *out.  0 or -errno. */
static int render_fixed(drukfs_fs *fs, uint64_t ino, char **out, size_t *len)
{
	drukfs_cache_stats s;

	switch (ino) {
	case INO_DOCTOR:
		return render_doctor(fs, 0, out, len);
	case INO_DOCTOR_JSON:
		return render_doctor(fs, 1, out, len);
	case INO_SSH_CONFIG:
		return render_ssh_config(fs, out, len);
	case INO_LOG:
		return drukfs_log_render(fs->log, out, len);
	case INO_STATS:
		drukfs_cache_stats_get(fs->cache, &s);
		return drukfs_render_stats(out, len, &s,
					   drukfs_handles_waiting(fs->handles));
	case INO_REFRESH:
		*out = strdup("");
		*len = 0;
		return *out ? 0 : -ENOMEM;
	}
	return -EISDIR;
}

static int render_host_file(drukfs_fs *fs, uint64_t ino, char **out,
			    size_t *len)
{
	drukfs_resolved r;
	unsigned field = drukfs_ino_field(ino);
	char *handle = NULL;
	int rc = resolve_ino(fs, ino, ssh_field(field) ? DRUKFS_NOWAIT : 0, &r,
			     &handle);

	if (rc < 0)
		return rc;
	if (field == FIELD_DIR)
		rc = -EISDIR;
	else
		rc = render_host_content(fs, handle, &r, field, out, len);
	drukfs_resolved_clear(&r);
	free(handle);
	return rc;
}


static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	drukfs_fs *fs = fs_of(req);
	int write = (fi->flags & O_ACCMODE) != O_RDONLY;
	open_file *f;
	int rc;

	if (write && ino != INO_REFRESH) {
		rc = (fi->flags & O_ACCMODE) == O_WRONLY ?
			     drukfs_write_open(fs, ino, !!(fi->flags & O_TRUNC),
					       &f) :
			     -EACCES;
		if (rc < 0) {
			fuse_reply_err(req, -rc);
			return;
		}
		fi->direct_io = 1;
		fi->fh = (uintptr_t)f;
		fuse_reply_open(req, fi);
		return;
	}
	if (!write && ino == INO_REFRESH) {
		fuse_reply_err(req, EACCES);
		return;
	}
	if (ino >= INO_FIXED_END && drukfs_ino_field(ino) == FIELD_WAIT) {
		drukfs_resolved r;
		char *handle = NULL;

		rc = resolve_ino(fs, ino, 0, &r, &handle);
		drukfs_resolved_clear(&r);
		free(handle);
		if (rc < 0) {
			fuse_reply_err(req, -rc);
			return;
		}
		fi->direct_io = 1;
		fi->nonseekable = 1;
		fi->fh = 0;
		fuse_reply_open(req, fi);
		return;
	}
	f = drukfs_open_file_new(OPEN_READ);
	if (!f) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (ino < INO_FIXED_END) {
		rc = render_fixed(fs, ino, &f->data, &f->len);
	} else if (drukfs_ino_field(ino) == DRUKFS_SPEC_FIELD) {
		char *name = NULL;

		rc = drukfs_tree_handle(fs->tree, drukfs_ino_node(ino), &name);
		if (rc == 0)
			rc = drukfs_spec_read(fs, name, f);
		free(name);
	} else {
		rc = render_host_file(fs, ino, &f->data, &f->len);
	}
	if (rc < 0) {
		drukfs_open_file_unref(f);
		fuse_reply_err(req, -rc);
		return;
	}
	/* Every read is answered from this open's snapshot, never from the
	 * kernel's page cache: the kernel's cached size of a file can be one
	 * a concurrent lookup took from an older list, and a cached read is
	 * cut at that size (the soak test caught 'provisi').  Nothing to do
	 * at close for a read: spare the FLUSH round trip. */
	fi->direct_io = 1;
	fi->noflush = 1;
	fi->fh = (uintptr_t)f;
	fuse_reply_open(req, fi);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	drukfs_write_release(fs_of(req), (open_file *)(uintptr_t)fi->fh);
	drukfs_open_file_unref((open_file *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* ---- wait ----------------------------------------------------------------- */

typedef struct wait_ctx {
	fuse_req_t req;
} wait_ctx;

static void wait_done(void *arg, int err)
{
	wait_ctx *w = arg;

	if (err)
		fuse_reply_err(w->req, err);
	else
		fuse_reply_buf(w->req, WAIT_ACTIVE, strlen(WAIT_ACTIVE));
	free(w);
}

static void *reply_eintr(void *arg)
{
	wait_done(arg, EINTR);
	return NULL;
}

/* libfuse may call this while it holds the request's lock, or from inside
 * fuse_req_interrupt_func(): the reply is sent from another thread. */
static void wait_interrupted(fuse_req_t req, void *data)
{
	drukfs_fs *fs = fs_of(req);
	void *ctx = NULL;
	pthread_t t;

	if (!drukfs_handles_wait_cancel(fs->handles, (uint64_t)(uintptr_t)data,
					&ctx))
		return;
	if (pthread_create(&t, NULL, reply_eintr, ctx) == 0)
		pthread_detach(t);
	else
		reply_eintr(ctx); /* only from find_interrupted's path */
}

static void read_wait(fuse_req_t req, drukfs_fs *fs, fuse_ino_t ino, off_t off)
{
	uint64_t key = atomic_fetch_add(&fs->next_wait, 1) + 1;
	wait_ctx *w;
	char *handle = NULL;
	int rc, err = 0;
	void *ctx;

	if (off > 0) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	rc = drukfs_tree_handle(fs->tree, drukfs_ino_node(ino), &handle);
	w = rc == 0 ? calloc(1, sizeof(*w)) : NULL;
	if (!w) {
		free(handle);
		fuse_reply_err(req, rc < 0 ? -rc : ENOMEM);
		return;
	}
	w->req = req;
	fuse_req_interrupt_func(req, wait_interrupted, (void *)(uintptr_t)key);
	if (fuse_req_interrupted(req)) {
		rc = 1;
		err = EINTR;
	} else {
		rc = drukfs_handles_wait(fs->handles, handle, key, wait_done, w,
					 &err);
	}
	free(handle);
	if (rc != 0) {
		wait_done(w, rc < 0 ? -rc : err);
		return;
	}
	/* An interrupt that came between the check and the registration. */
	if (fuse_req_interrupted(req) &&
	    drukfs_handles_wait_cancel(fs->handles, key, &ctx))
		wait_done(ctx, EINTR);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	open_file *f = (open_file *)(uintptr_t)fi->fh;

	if (!f) {
		read_wait(req, fs_of(req), ino, off);
		return;
	}
	if (off < 0 || (size_t)off >= f->len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > f->len - (size_t)off)
		size = f->len - (size_t)off;
	drukfs_open_file_ref(f);
	fuse_reply_buf(req, f->data + off, size);
	drukfs_open_file_unref(f);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	drukfs_fs *fs = fs_of(req);
	open_file *f = (open_file *)(uintptr_t)fi->fh;
	ssize_t n;

	if (ino == INO_REFRESH) {
		drukfs_cache_drop(fs->cache);
		drukfs_log_add(fs->log, time(NULL),
			       "caches dropped (.drukfs/refresh)");
		fuse_reply_write(req, size);
		return;
	}
	if (!f || f->kind == OPEN_READ) {
		fuse_reply_err(req, EBADF);
		return;
	}
	n = drukfs_write_data(fs, f, buf, size, off);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

/* close(2): a write not acted on yet is acted on now. */
static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	open_file *f = (open_file *)(uintptr_t)fi->fh;

	if (!f || f->kind == OPEN_READ) {
		fuse_reply_err(req, 0);
		return;
	}
	fuse_reply_err(req, -drukfs_write_flush(fs_of(req), f));
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	/* Attributes come with the listing: `ls -l hosts` is one readdir, not
	 * one lookup per host. */
	if (conn->capable & FUSE_CAP_READDIRPLUS) {
		conn->want |= FUSE_CAP_READDIRPLUS;
		conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
	}
	/* A lookup that waits on the service must not hold up the other
	 * lookups and listings of its directory (see handshake.h: libfuse
	 * before 3.16 ignores this, drukfs_handshake() then adds it). */
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
}

const struct fuse_lowlevel_ops drukfs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.release = op_release,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.statfs = op_statfs,
	.create = op_create,
};

/* ---- invalidation --------------------------------------------------------- */

void drukfs_fs_changed(void *arg, const char *handle)
{
	drukfs_fs *fs = arg;
	char *copy = strdup(handle);
	char **q;

	if (!copy)
		return;
	pthread_mutex_lock(&fs->nlock);
	/* After the notifier stopped (the session is ending) nothing would
	 * send or free what is queued. */
	q = fs->nstop ? NULL : realloc(fs->nq, (fs->nq_len + 1) * sizeof(*q));
	if (q) {
		fs->nq = q;
		q[fs->nq_len++] = copy;
		copy = NULL;
		pthread_cond_signal(&fs->ncond);
	}
	pthread_mutex_unlock(&fs->nlock);
	free(copy);
}

static void invalidate_handle(drukfs_fs *fs, const char *handle)
{
	uint64_t node;

	fuse_lowlevel_notify_inval_entry(fs->se, INO_HOSTS, handle,
					 strlen(handle));
	if (drukfs_tree_find(fs->tree, handle, &node) < 0)
		return;
	for (unsigned f = 0; f < FIELD_COUNT; f++)
		fuse_lowlevel_notify_inval_inode(fs->se, drukfs_ino(node, f), 0, 0);
}

static void *notifier(void *arg)
{
	drukfs_fs *fs = arg;

	pthread_mutex_lock(&fs->nlock);
	for (;;) {
		while (!fs->nq_len && !fs->nstop)
			pthread_cond_wait(&fs->ncond, &fs->nlock);
		if (fs->nstop)
			break;
		char **q = fs->nq;
		size_t n = fs->nq_len;

		fs->nq = NULL;
		fs->nq_len = 0;
		pthread_mutex_unlock(&fs->nlock);
		for (size_t i = 0; i < n; i++) {
			invalidate_handle(fs, q[i]);
			free(q[i]);
		}
		free(q);
		pthread_mutex_lock(&fs->nlock);
	}
	pthread_mutex_unlock(&fs->nlock);
	return NULL;
}

int drukfs_fs_notifier_start(drukfs_fs *fs)
{
	int rc;

	pthread_mutex_init(&fs->nlock, NULL);
	pthread_cond_init(&fs->ncond, NULL);
	rc = pthread_create(&fs->notifier, NULL, notifier, fs);
	if (rc)
		return -rc;
	fs->notifier_started = 1;
	return 0;
}

void drukfs_fs_notifier_stop(drukfs_fs *fs)
{
	if (!fs->notifier_started)
		return;
	pthread_mutex_lock(&fs->nlock);
	fs->nstop = 1;
	pthread_cond_signal(&fs->ncond);
	pthread_mutex_unlock(&fs->nlock);
	pthread_join(fs->notifier, NULL);
	/* Create and delete workers can still report changes: empty the
	 * queue under the lock, so that they never see it half-freed. */
	pthread_mutex_lock(&fs->nlock);
	for (size_t i = 0; i < fs->nq_len; i++)
		free(fs->nq[i]);
	free(fs->nq);
	fs->nq = NULL;
	fs->nq_len = 0;
	pthread_mutex_unlock(&fs->nlock);
	fs->notifier_started = 0;
}
