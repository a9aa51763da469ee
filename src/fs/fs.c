/*
 * The FUSE operations (see fs.h for why the low-level API).
 *
 * Dispatch is in two steps, as in lxcfs: the inode number says which
 * area a request is for (a fixed file, a host directory, a host file) and
 * the area picks one renderer.
 *
 * No OPEN: `open` is answered ENOSYS, so the kernel never sends OPEN,
 * FLUSH or RELEASE for a file again and reads go through its page cache
 * (a warm `cat` costs the daemon nothing).  What keeps one `cat` to one
 * version of a record is that every readable file's inode is one
 * immutable version of its content: a lookup renders the content and
 * answers the inode of that version (the same inode as before while the
 * content is unchanged, a new one when it changed).  An inode's size and
 * bytes can then never disagree in the kernel, whatever races between
 * lookups, attribute requests, reads and refreshes: an old inode keeps
 * serving the old version whole to whoever still holds it.  When a record
 * changes, the notifier thread drops the kernel's entries for the host's
 * files, so that the next path walk looks them up again and finds the
 * new version.  Generated files (doctor, stats, ...) are looked up again
 * on every path walk (entry timeout 0) and rendered then; `wait` gets a
 * fresh inode per lookup, so that readers never share its page.
 */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs_write.h"
#include "parts.h"
#include "isotime.h"
#include "render.h"
#include "render_stats.h"

/* Attribute and entry timeout of what never changes: a version's
 * attributes are those of its content. */
#define VERSION_TTL 86400.0
/* How long a handler waits for the notifier to have told the kernel
 * about its own change (a renew, a refresh) before it answers.  Bounded:
 * the kernel may hold a lock the notifier needs until we answer. */
#define DRAIN_SECONDS 1.0

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

static drukfs_fs *counted(fuse_req_t req, enum drukfs_fuse_op op)
{
	drukfs_fs *fs = fs_of(req);

	if (fs->counts)
		atomic_fetch_add(&fs->counts->n[op], 1);
	return fs;
}

static void notify_inode(drukfs_fs *fs, uint64_t ino);
static uint64_t notify_seq(drukfs_fs *fs);
static void notify_drain(drukfs_fs *fs, uint64_t seq, int outer_only);
static void notify_wait_reply(drukfs_fs *fs, fuse_req_t req, int err);

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

/* What the file `field` of hosts/<handle> holds, for the record `h`,
 * the private key this mount holds (or NULL) and whether ssh_config may
 * alias the host's name (no other host has it as a handle): the one place
 * that decides it. */
static int render_host_content(drukfs_fs *fs, const char *handle,
			       const drukbox_host *h, const char *key,
			       int with_name, unsigned field, char **out,
			       size_t *len)
{
	switch (field) {
	case FIELD_PRIVATE_KEY:
		*out = strdup(key ? key : "");
		*len = *out ? strlen(*out) : 0;
		return *out ? 0 : -ENOMEM;
	case FIELD_KNOWN_HOSTS:
		return drukfs_known_hosts_filter(out, len, h->known_hosts);
	case FIELD_SSH_CONFIG:
		return render_ssh_block(fs, handle, h, key != NULL, with_name,
					out, len);
	default:
		return drukfs_render_field(out, len, h, (drukfs_field)field);
	}
}

/* The mode of a host's directory (field 0) or one of its files. */
static mode_t host_mode(unsigned field)
{
	if (field == FIELD_DIR)
		return S_IFDIR | 0555;
	if (field == FIELD_PRIVATE_KEY)
		return S_IFREG | 0600;
	if (field == FIELD_EXPIRES_AT)
		return S_IFREG | 0644; /* writing a time renews the lease */
	return S_IFREG | 0444;
}

/* Attributes with the record's times. */
static void attr_record(drukfs_fs *fs, struct stat *st, uint64_t ino,
			mode_t mode, const drukbox_host *h)
{
	attr_base(fs, st, ino, mode);
	st->st_mtime = st->st_atime = record_time(h->updated_at, fs->started);
	st->st_ctime = record_time(h->created_at, st->st_mtime);
}

/* ---- file versions --------------------------------------------------------- */

typedef enum fv_kind { FV_HOST, FV_WAIT, FV_FIXED, FV_SSH } fv_kind;

/* One immutable version of a file's content, carried by a tree node: for
 * a host, every file of one version of its record; for `wait`, one
 * reader's handle; for a generated file, its text; for ssh_config, the
 * hosts it has a block for (each block rendered for the READs that cover
 * it: parts.h).  A host's files are
 * rendered from the record the version holds, to size them at lookup and
 * again for each READ, and not kept: the kernel's page cache keeps what
 * was read, and at 10 000 hosts the rendered files cost 10 MB more. */
typedef struct file_version {
	drukfs_tree_item base;
	fv_kind kind;
	char *handle;           /* FV_HOST, FV_WAIT */
	drukfs_rec *rec;        /* FV_HOST */
	char *key;              /* FV_HOST: the private key held, or NULL */
	int with_name;          /* FV_HOST: ssh_config may alias the name */
	uint64_t fixed;         /* FV_FIXED, FV_SSH: which file (enum
				   drukfs_fixed_ino) */
	atomic_int retired;     /* written to: never served to a new lookup */
	pthread_mutex_t lock;   /* sized[], len[] and the write text below */
	char *text;             /* FV_FIXED */
	size_t text_len;
	drukfs_listing *ssh;    /* FV_SSH: the hosts listed (may be NULL) */
	unsigned char *alias;   /* FV_SSH: per host, whether its block may
				   alias the service's name */
	drukfs_parts parts;     /* FV_SSH: a header, a part per host */
	uint32_t len[FIELD_COUNT]; /* FV_HOST: the size of each file ... */
	int16_t sized[FIELD_COUNT]; /* ... once 1; < 0 the render's errno */
	char *wbuf;             /* text written to expires_at */
	size_t wlen;
} file_version;

/* What a lookup would serve, to compare with the current version. */
typedef struct fv_want {
	fv_kind kind;
	const drukbox_host *host;
	const char *key;
	int with_name;
	const char *text;
	size_t len;
	const drukfs_listing *ssh;
	const unsigned char *alias;
} fv_want;

static void fv_free(drukfs_tree_item *item)
{
	file_version *v = (file_version *)item;

	free(v->handle);
	drukfs_rec_unref(v->rec);
	free(v->key);
	free(v->text);
	drukfs_listing_free(v->ssh);
	free(v->alias);
	drukfs_parts_clear(&v->parts);
	free(v->wbuf);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

static file_version *fv_new(fv_kind kind, const char *handle)
{
	file_version *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	atomic_init(&v->base.ref, 1);
	v->base.free = fv_free;
	v->kind = kind;
	pthread_mutex_init(&v->lock, NULL);
	if (handle && !(v->handle = strdup(handle))) {
		fv_free(&v->base);
		return NULL;
	}
	return v;
}

static int same_text(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Whether ssh_config's version v lists the same hosts, each with the
 * same record (the same pointer, as a refresh leaves unchanged records),
 * key and alias rule, in the same order: then it has the same bytes. */
static int ssh_same(const file_version *v, const fv_want *w)
{
	size_t n = v->ssh ? v->ssh->count : 0;

	if (n != (w->ssh ? w->ssh->count : 0))
		return 0;
	for (size_t i = 0; i < n; i++) {
		const drukfs_entry *a = &v->ssh->entries[i];
		const drukfs_entry *b = &w->ssh->entries[i];

		if (v->alias[i] != w->alias[i] || a->has_key != b->has_key ||
		    strcmp(a->handle, b->handle) != 0 ||
		    (a->rec != b->rec &&
		     !drukbox_host_equal(a->rec->host, b->rec->host)))
			return 0;
	}
	return 1;
}

/* drukfs_tree_match_fn: the record (its whole JSON), the key and the
 * alias rule, the generated text, or ssh_config's hosts, are the same. */
static int fv_match(const drukfs_tree_item *item, const void *ctx)
{
	const file_version *v = (const file_version *)item;
	const fv_want *w = ctx;

	if (atomic_load(&v->retired) || v->kind != w->kind)
		return 0;
	if (v->kind == FV_SSH)
		return ssh_same(v, w);
	if (v->kind == FV_FIXED)
		return v->text_len == w->len && memcmp(v->text, w->text, w->len) == 0;
	return v->with_name == w->with_name && same_text(v->key, w->key) &&
	       drukbox_host_equal(v->rec->host, w->host);
}

/* The content of `field` of a host version (the caller frees *data):
 * rendered from what the version holds, which never changes, so that
 * every call gives the same bytes.  0 or -errno. */
static int fv_render(drukfs_fs *fs, const file_version *v, unsigned field,
		     char **data, size_t *len)
{
	return render_host_content(fs, v->handle, v->rec->host, v->key,
				   v->with_name, field, data, len);
}

/* The size of `field` of a host version, rendered once to learn it.  0
 * or -errno. */
static int fv_size(drukfs_fs *fs, file_version *v, unsigned field,
		   size_t *len)
{
	char *data = NULL;
	size_t n = 0;
	int rc;

	pthread_mutex_lock(&v->lock);
	if (!v->sized[field]) {
		rc = fv_render(fs, v, field, &data, &n);
		if (rc == 0 && n > UINT32_MAX)
			rc = -EFBIG;
		free(data);
		v->len[field] = rc < 0 ? 0 : (uint32_t)n;
		v->sized[field] = (int16_t)(rc < 0 ? rc : 1);
	}
	rc = v->sized[field] < 0 ? v->sized[field] : 0;
	*len = v->len[field];
	pthread_mutex_unlock(&v->lock);
	return rc;
}

/* The version of hosts/<handle> for the resolved record r, made the
 * current one of host node `owner` unless it already is: its node's
 * lookup count is raised by one.  0 with *node and *out (a reference),
 * or -errno. */
static int host_version(drukfs_fs *fs, uint64_t owner, const char *handle,
			const drukfs_resolved *r, uint64_t *node,
			file_version **out)
{
	const drukbox_host *h = r->rec->host;
	fv_want w = { .kind = FV_HOST, .host = h, .key = r->private_key,
		      /* the name may not be another host's handle */
		      .with_name = !h->name ||
				   !drukfs_handles_taken(fs->handles, h->name) };
	drukfs_tree_item *item = NULL;
	file_version *v;
	int rc;

	if (drukfs_tree_reuse(fs->tree, owner, fv_match, &w, node, &item) == 0) {
		*out = (file_version *)item;
		return 0;
	}
	v = fv_new(FV_HOST, handle);
	if (!v || (r->private_key && !(v->key = strdup(r->private_key)))) {
		if (v)
			fv_free(&v->base);
		return -ENOMEM;
	}
	v->rec = drukfs_rec_ref(r->rec);
	v->with_name = w.with_name;
	rc = drukfs_tree_add(fs->tree, &v->base, owner, node);
	if (rc < 0) {
		fv_free(&v->base);
		return rc;
	}
	*out = v;
	return 0;
}

/* The attributes of field `field` of version v at node `node`. */
static int attr_version(drukfs_fs *fs, uint64_t node, file_version *v,
			unsigned field, struct stat *st)
{
	size_t len = 0;
	int rc = 0;

	if (v->kind == FV_FIXED || v->kind == FV_SSH) {
		const fixed_file *f = fixed_by_ino(v->fixed);

		attr_base(fs, st, drukfs_ino(node, (unsigned)v->fixed),
			  f ? f->mode : S_IFREG | 0444);
		len = v->kind == FV_SSH ? drukfs_parts_total(&v->parts)
					: v->text_len;
	} else if (v->kind == FV_WAIT) {
		attr_base(fs, st, drukfs_ino(node, FIELD_WAIT), S_IFREG | 0444);
		len = strlen(WAIT_ACTIVE);
	} else {
		attr_record(fs, st, drukfs_ino(node, field), host_mode(field),
			    v->rec->host);
		rc = fv_size(fs, v, field, &len);
	}
	st->st_size = (off_t)len;
	st->st_blocks = (blkcnt_t)((len + 511) / 512);
	return rc;
}

/* The version a version inode stands for.  0 with *out (a reference),
 * 1 when ino is a host node's inode (a directory or a spec), -ENOENT. */
static int version_of(drukfs_fs *fs, uint64_t ino, file_version **out)
{
	drukfs_tree_item *item = NULL;
	int rc = drukfs_tree_item_get(fs->tree, drukfs_ino_node(ino), &item);

	*out = (file_version *)item;
	return rc < 0 ? rc : item ? 0 : 1;
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

static void reply_entry_ttl(fuse_req_t req, const struct stat *st,
			    double entry_ttl, double attr_ttl)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.ino = st->st_ino;
	e.attr = *st;
	e.attr_timeout = attr_ttl;
	e.entry_timeout = entry_ttl;
	fuse_reply_entry(req, &e);
}

static void reply_entry(fuse_req_t req, drukfs_fs *fs, const struct stat *st)
{
	reply_entry_ttl(req, st, fs->ttl, fs->ttl);
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
static int entry_host(drukfs_fs *fs, const char *handle, struct stat *st)
{
	drukfs_resolved r;
	uint64_t node;
	int rc = drukfs_handles_resolve(fs->handles, handle, DRUKFS_NOWAIT, &r);

	if (rc < 0)
		return rc;
	rc = drukfs_tree_ref(fs->tree, handle, &node);
	if (rc == 0)
		attr_record(fs, st, drukfs_ino(node, FIELD_DIR),
			    host_mode(FIELD_DIR), r.rec->host);
	drukfs_resolved_clear(&r);
	return rc;
}

/* Takes a lookup reference on the version of hosts/<handle>/<field> that
 * the record holds now, and fills its attributes.  A value file waits for
 * a due refresh as opening one used to (the grace), since the lookup is
 * the last request a `cat` sends; what ssh reads never waits. */
static int entry_host_file(drukfs_fs *fs, uint64_t owner, const char *handle,
			   unsigned field, struct stat *st)
{
	drukfs_resolved r;
	file_version *v = NULL;
	uint64_t node;
	int rc = drukfs_handles_resolve(fs->handles, handle,
					ssh_field(field) || field == FIELD_WAIT ?
						DRUKFS_NOWAIT : 0, &r);

	if (rc < 0)
		return rc;
	if (!field_exists(&r, field)) {
		rc = -ENOENT;
	} else if (field == FIELD_WAIT) {
		/* A node per lookup: readers never share wait's page. */
		v = fv_new(FV_WAIT, handle);
		rc = v ? drukfs_tree_add(fs->tree, &v->base, 0, &node) : -ENOMEM;
	} else {
		rc = host_version(fs, owner, handle, &r, &node, &v);
	}
	if (rc == 0 && attr_version(fs, node, v, field, st) < 0) {
		drukfs_tree_forget(fs->tree, node, 1);
		rc = -ENOMEM;
	}
	if (v)
		drukfs_tree_item_unref(&v->base);
	drukfs_resolved_clear(&r);
	return rc;
}

/* Renders a generated file (doctor, .drukfs/log, ...). */
static int render_fixed(drukfs_fs *fs, uint64_t ino, char **out, size_t *len);

/* ssh_config's entry (see entry_ssh). */
static int entry_ssh(drukfs_fs *fs, struct stat *st);

/* Answers a lookup of generated file `ino` with the current version when
 * it has the content w describes, else with `v`, a new version holding
 * that content (consumed; NULL: out of memory), completed by `finish`
 * (may be NULL) before it is added.  0 or -errno. */
static int entry_generated(drukfs_fs *fs, uint64_t ino, file_version *v,
			   const fv_want *w,
			   int (*finish)(drukfs_fs *fs, file_version *v),
			   struct stat *st)
{
	drukfs_tree_item *item = NULL;
	uint64_t owner = fs->fixed_owner[ino], node;
	int rc = 0;

	if (!v)
		return -ENOMEM;
	v->fixed = ino;
	if (drukfs_tree_reuse(fs->tree, owner, fv_match, w, &node,
			      &item) == 0) {
		drukfs_tree_item_unref(&v->base);
		v = (file_version *)item;
	} else {
		rc = finish ? finish(fs, v) : 0;
		if (rc == 0)
			rc = drukfs_tree_add(fs->tree, &v->base, owner, &node);
	}
	if (rc == 0)
		attr_version(fs, node, v, 0, st);
	drukfs_tree_item_unref(&v->base);
	return rc;
}

/* Takes a lookup reference on the version of the generated file `ino`
 * rendered now.  0, or the errno of the render. */
static int entry_fixed(drukfs_fs *fs, uint64_t ino, struct stat *st)
{
	file_version *v;
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (ino == INO_SSH_CONFIG)
		return entry_ssh(fs, st);
	rc = render_fixed(fs, ino, &text, &len);
	if (rc < 0)
		return rc;
	v = fv_new(FV_FIXED, NULL);
	if (!v) {
		free(text);
		return -ENOMEM;
	}
	v->text = text;
	v->text_len = len;
	return entry_generated(fs, ino, v,
			       &(fv_want){ .kind = FV_FIXED, .text = text,
					   .len = len },
			       NULL, st);
}

/* Whether a fixed file is made on each read (not a directory or refresh). */
static int generated(uint64_t ino)
{
	return ino == INO_DOCTOR || ino == INO_DOCTOR_JSON ||
	       ino == INO_SSH_CONFIG || ino == INO_LOG || ino == INO_STATS;
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

/* At most this many names are remembered as maybe negative in the
 * kernel (fs.h: negatives); about 100 bytes each. */
#define NEGATIVES_MAX 4096

static uintptr_t now_ms(void)
{
	return (uintptr_t)(drukfs_now() * 1000.0);
}

static void negative_note(drukfs_fs *fs, const char *name)
{
	pthread_mutex_lock(&fs->slock);
	if (fs->negatives.used >= NEGATIVES_MAX &&
	    !strmap_get(&fs->negatives, name)) {
		strmap_clear(&fs->negatives);
		fs->neg_all_until = drukfs_now() + fs->ttl + 1.0;
	}
	/* Out of memory: the name is not remembered, and a host appearing
	 * under it shows once the kernel's negative entry times out. */
	strmap_put(&fs->negatives, name, (void *)(1 + now_ms()), NULL);
	pthread_mutex_unlock(&fs->slock);
}

static void negative_forget(drukfs_fs *fs, const char *name)
{
	pthread_mutex_lock(&fs->slock);
	strmap_del(&fs->negatives, name);
	pthread_mutex_unlock(&fs->slock);
}

/* Whether the kernel may still keep a negative entry for hosts/<name>:
 * looked up within the entry timeout (and a second of slack). */
static int negative_recent(drukfs_fs *fs, const char *name)
{
	uintptr_t at, limit = (uintptr_t)((fs->ttl + 1.0) * 1000.0);
	int recent;

	pthread_mutex_lock(&fs->slock);
	at = (uintptr_t)strmap_get(&fs->negatives, name);
	recent = drukfs_now() < fs->neg_all_until ||
		 (at && now_ms() - (at - 1) <= limit);
	if (at && !recent)
		strmap_del(&fs->negatives, name);
	pthread_mutex_unlock(&fs->slock);
	return recent;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	drukfs_fs *fs = counted(req, FOP_LOOKUP);
	const fixed_file *f = fixed_by_name(parent, name);
	double entry_ttl = fs->ttl, attr_ttl = fs->ttl;
	struct stat st;
	int rc;

	if (f && generated(f->ino)) {
		rc = entry_fixed(fs, f->ino, &st);
		entry_ttl = 0; /* made on each read: looked up on each */
		attr_ttl = VERSION_TTL;
	} else if (f) {
		attr_fixed(fs, f, &st);
		rc = 0;
	} else if (parent == INO_HOSTS) {
		/* Noted before the answer, so that a host the notifier sees
		 * appear meanwhile has its entry dropped after. */
		negative_note(fs, name);
		rc = entry_host(fs, name, &st);
		if (rc == 0)
			negative_forget(fs, name);
	} else if (parent >= INO_FIXED_END &&
		   drukfs_ino_field(parent) == FIELD_DIR) {
		int field = drukfs_field_lookup(name);
		char *handle = NULL;

		rc = field <= 0 ? -ENOENT :
				  drukfs_tree_handle(fs->tree,
						     drukfs_ino_node(parent), &handle);
		if (rc == 0)
			rc = entry_host_file(fs, drukfs_ino_node(parent), handle,
					     (unsigned)field, &st);
		free(handle);
		if (field == FIELD_WAIT)
			entry_ttl = attr_ttl = 0;
	} else if (parent == INO_SPECS) {
		rc = entry_spec(fs, name, &st);
		entry_ttl = attr_ttl = 0; /* specs change by writes */
	} else {
		rc = -ENOENT;
	}
	if (rc == -ENOENT)
		reply_negative(req, fs);
	else if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		reply_entry_ttl(req, &st, entry_ttl, attr_ttl);
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

/* Attributes of any inode; *ttl how long the kernel may keep them. */
static int getattr_ino(drukfs_fs *fs, fuse_ino_t ino, struct stat *st,
		       double *ttl)
{
	const fixed_file *f = fixed_by_ino(ino);
	file_version *v = NULL;
	drukfs_resolved r;
	char *handle = NULL;
	int rc;

	*ttl = fs->ttl;
	if (f) {
		attr_fixed(fs, f, st);
		return 0;
	}
	if (ino < INO_FIXED_END)
		return -ENOENT;
	rc = version_of(fs, ino, &v);
	if (rc == 0) {
		*ttl = v->kind == FV_WAIT ? 0 : VERSION_TTL;
		rc = attr_version(fs, drukfs_ino_node(ino), v,
				  drukfs_ino_field(ino), st);
		drukfs_tree_item_unref(&v->base);
		return rc;
	}
	if (rc < 0)
		return rc;
	if (drukfs_ino_field(ino) == DRUKFS_SPEC_FIELD) {
		*ttl = 0;
		rc = drukfs_tree_handle(fs->tree, drukfs_ino_node(ino), &handle);
		if (rc == 0)
			rc = drukfs_spec_attr(fs, handle, drukfs_ino_node(ino), st);
		free(handle);
		return rc;
	}
	rc = resolve_ino(fs, ino, DRUKFS_NOWAIT, &r, &handle);
	if (rc < 0)
		return rc;
	attr_record(fs, st, ino, host_mode(FIELD_DIR), r.rec->host);
	drukfs_resolved_clear(&r);
	free(handle);
	return 0;
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	drukfs_fs *fs = counted(req, FOP_GETATTR);
	struct stat st;
	double ttl;
	int rc = getattr_ino(fs, ino, &st, &ttl);

	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, ttl);
}

/* Nothing's attributes can be changed: modes, owners and times are the
 * service's.  Truncating a value file is refused like writing it. */
#define SET_TIMES (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | \
		   FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW | \
		   FUSE_SET_ATTR_CTIME)

/* What setattr may do: `touch hosts/X` renews the lease; truncating
 * expires_at is how `>` starts rewriting it (O_TRUNC arrives as a setattr:
 * atomic_o_trunc is off, see op_init), truncating a spec empties it, and
 * `>` on .drukfs/refresh is harmless.  Modes, owners and other times are
 * the service's; times and sizes of other files are refused the way
 * opening them for writing used to be (EACCES). */
static int setattr_ino(drukfs_fs *fs, fuse_ino_t ino, int to_set,
		       const struct stat *attr)
{
	unsigned field = drukfs_ino_field(ino);
	file_version *v = NULL;
	char *handle = NULL;
	int rc, size = !!(to_set & FUSE_SET_ATTR_SIZE);

	if (to_set & ~(FUSE_SET_ATTR_SIZE | SET_TIMES))
		return -EPERM;
	if (ino < INO_FIXED_END)
		return ino == INO_REFRESH && size ? 0 : size ? -EACCES : -EPERM;
	rc = version_of(fs, ino, &v);
	if (rc == 0) {
		int writable = v->kind == FV_HOST && field == FIELD_EXPIRES_AT;

		drukfs_tree_item_unref(&v->base);
		if (size)
			return writable ? 0 : -EACCES;
		/* touch (times set to now) needs write access; set times
		 * need ownership of what is the service's */
		return ((to_set & FUSE_SET_ATTR_ATIME) &&
			!(to_set & FUSE_SET_ATTR_ATIME_NOW)) ||
			       ((to_set & FUSE_SET_ATTR_MTIME) &&
				!(to_set & FUSE_SET_ATTR_MTIME_NOW)) ?
			       -EPERM : -EACCES;
	}
	if (rc < 0)
		return rc;
	if (field == DRUKFS_SPEC_FIELD && !size)
		return -EPERM;
	if (field == DRUKFS_SPEC_FIELD && attr->st_size != 0)
		return -EINVAL; /* a spec is emptied or written, never cut */
	if (field != FIELD_DIR && field != DRUKFS_SPEC_FIELD)
		return -EPERM;
	rc = drukfs_tree_handle(fs->tree, drukfs_ino_node(ino), &handle);
	if (rc == 0 && field == DRUKFS_SPEC_FIELD)
		rc = drukfs_spec_truncate(fs, handle);
	else if (rc == 0)
		rc = drukfs_handles_renew(fs->handles, handle, NULL);
	free(handle);
	/* `touch hosts/X; cat hosts/X/expires_at` shows the new time: the
	 * renew queued the invalidation of hosts/X; wait until it is done
	 * (not for the files below X: the kernel holds X locked until this
	 * setattr is answered). */
	if (rc == 0 && field == FIELD_DIR)
		notify_drain(fs, notify_seq(fs), 1);
	return rc;
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	drukfs_fs *fs = fs_of(req);
	struct stat st;
	double ttl;
	int rc = setattr_ino(fs, ino, to_set, attr);

	if (rc == 0)
		rc = getattr_ino(fs, ino, &st, &ttl);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, ttl);
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
	drukfs_fs *fs = counted(req, FOP_OPENDIR);
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
	/* A host directory lists the same files until its record changes,
	 * and then the notifier drops the listing with the directory's
	 * inode: the kernel may keep it (find | xargs cat costs no READDIR). */
	if (ino >= INO_FIXED_END) {
		fi->cache_readdir = 1;
		fi->keep_cache = 1;
	}
	fi->fh = (uintptr_t)d;
	fuse_reply_open(req, fi);
}

/* A listing of hosts/ at least this long is worth a malloc_trim() when
 * its directory is closed. */
#define TRIM_LISTING_MIN 1000

static void op_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	open_dir *d = (open_dir *)(uintptr_t)fi->fh;
	int big = d && d->listing && d->listing->count >= TRIM_LISTING_MIN;

	open_dir_free(d);
	fuse_reply_err(req, 0);
	/* `ls -l` of 10 000 hosts leaves a megabyte of freed entries in
	 * this thread's malloc arena, kept for good otherwise; give it
	 * back, after the reply, so that no one waits for it. */
	if (big)
		malloc_trim(0);
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
			/* Generated files are sized by a lookup, which renders
			 * them: readdirplus gives no entry for them (0). */
			if (plus && generated(fixed_files[k].ino))
				return 2;
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
		attr_record(fs, st, drukfs_ino(node, FIELD_DIR),
			    host_mode(FIELD_DIR), r.rec->host);
		return 1;
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
		file_version *v = NULL;
		int rc = host_version(fs, drukfs_ino_node(ino), d->handle,
				      &d->host, &node, &v);

		if (rc == 0 && attr_version(fs, node, v, f, st) < 0) {
			drukfs_tree_forget(fs->tree, node, 1);
			rc = -ENOMEM;
		}
		if (v)
			drukfs_tree_item_unref(&v->base);
		return rc < 0 ? rc : 1;
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
	drukfs_fs *fs = counted(req, FOP_READDIR);
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

			/* 2: a name without an entry (no lookup taken) */
			e.ino = rc == 2 ? 0 : st.st_ino;
			e.attr = st;
			e.attr_timeout = e.entry_timeout = fs->ttl;
			if (ino >= INO_FIXED_END)
				e.attr_timeout = VERSION_TTL;
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
		rc = entry_host(fs, name, &st);
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

/* Only specs/NAME can be created: it is stored empty at once (and
 * removed again if the writes that follow fail, fs_write.h).  The kernel
 * gets no file handle: writes are acted on one by one. */
static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	drukfs_fs *fs = fs_of(req);
	struct fuse_entry_param e;
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
		rc = drukfs_spec_create(fs, name);
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
	fi->fh = 0;
	fi->noflush = 1;
	if (fuse_reply_create(req, &e, fi) != 0)
		drukfs_tree_forget(fs->tree, node, 1);
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
#define SSH_CONFIG_HEADER \
	"# drukfs: one Host block per reachable host (made on each read).\n" \
	"# Include this file at the top of ~/.ssh/config.\n"

/* The hosts ssh_config lists now (*out NULL: none, the file is still
 * valid), and for each whether its block may alias the service's name.
 * 0 or -ENOMEM. */
static int ssh_hosts(drukfs_fs *fs, drukfs_listing **out,
		     unsigned char **alias)
{
	strmap names = STRMAP_INIT_BORROWED;
	drukfs_listing *l = NULL;
	int rc = 0;

	*out = NULL;
	*alias = NULL;
	if (drukfs_handles_list(fs->handles, DRUKFS_NOWAIT, &l) < 0 || !l)
		return 0;
	*alias = calloc(l->count ? l->count : 1, 1);
	if (!*alias || name_aliases(l, &names) < 0)
		rc = -ENOMEM;
	for (size_t i = 0; rc == 0 && i < l->count; i++) {
		const char *name = l->entries[i].rec->host->name;

		(*alias)[i] = name && strmap_get(&names, name) == (void *)1;
	}
	strmap_clear(&names);
	if (rc < 0) {
		drukfs_listing_free(l);
		free(*alias);
		*alias = NULL;
		return rc;
	}
	*out = l;
	return 0;
}

typedef struct ssh_ctx {
	drukfs_fs *fs;
	const file_version *v;
} ssh_ctx;

/* drukfs_part_fn: host i's block with the blank line before it, or
 * nothing when it cannot be reached (yet). */
static int ssh_part(void *ctx, size_t i, char **out, size_t *len)
{
	const ssh_ctx *c = ctx;
	const drukfs_entry *e = &c->v->ssh->entries[i];
	char *blk = NULL;
	size_t n = 0;
	int rc = render_ssh_block(c->fs, e->handle, e->rec->host, e->has_key,
				  c->v->alias[i], &blk, &n);

	*out = NULL;
	*len = 0;
	if (rc == 0 && n) {
		*out = malloc(n + 1);
		if (*out) {
			(*out)[0] = '\n';
			memcpy(*out + 1, blk, n);
			*len = n + 1;
		} else {
			rc = -ENOMEM;
		}
	}
	free(blk);
	return rc;
}

/* entry_generated's finish for ssh_config: each block rendered once, to
 * learn where it starts. */
static int ssh_size(drukfs_fs *fs, file_version *v)
{
	return drukfs_parts_size(&v->parts, ssh_part, &(ssh_ctx){ fs, v });
}

/* Takes a lookup reference on ssh_config's version for the hosts listed
 * now: the current one when they are the same (nothing is rendered),
 * else a new one.  Every ssh on the machine looks it up: at 10 000 hosts
 * the text is 3.8 MB, and it is neither kept nor rendered whole.  0 or
 * -ENOMEM. */
static int entry_ssh(drukfs_fs *fs, struct stat *st)
{
	drukfs_listing *l = NULL;
	unsigned char *alias = NULL;
	file_version *v;
	int rc = ssh_hosts(fs, &l, &alias);

	if (rc < 0)
		return rc;
	v = fv_new(FV_SSH, NULL);
	if (!v) {
		drukfs_listing_free(l);
		free(alias);
		return -ENOMEM;
	}
	v->ssh = l;
	v->alias = alias;
	v->parts = (drukfs_parts){ SSH_CONFIG_HEADER, strlen(SSH_CONFIG_HEADER),
				   l ? l->count : 0, NULL };
	return entry_generated(fs, INO_SSH_CONFIG, v,
			       &(fv_want){ .kind = FV_SSH, .ssh = l,
					   .alias = alias },
			       ssh_size, st);
}

/* A READ of ssh_config: the blocks it covers, rendered again. */
static void read_ssh(fuse_req_t req, drukfs_fs *fs, const file_version *v,
		     size_t size, off_t off)
{
	char *data = NULL;
	size_t len = 0;
	int rc = drukfs_parts_read(&v->parts, ssh_part, &(ssh_ctx){ fs, v },
				   (uint64_t)off, size, &data, &len);

	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, data, len);
	free(data);
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
	case INO_LOG:
		return drukfs_log_render(fs->log, out, len);
	case INO_STATS:
		drukfs_cache_stats_get(fs->cache, &s);
		return drukfs_render_stats(out, len, &s, fs->counts,
					   drukfs_handles_waiting(fs->handles));
	}
	return -EISDIR;
}

/* open(2) never reaches the daemon: the first OPEN is answered ENOSYS,
 * and the kernel then opens every file of the mount without asking and
 * keeps its page cache (FUSE_CAP_NO_OPEN_SUPPORT).  Counted, to show in
 * .drukfs/stats that it happened once. */
static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	counted(req, FOP_OPEN);
	fuse_reply_err(req, ENOSYS);
}

/* Only files made by create() are released, and they hold nothing. */
static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

/* ---- wait ----------------------------------------------------------------- */

typedef struct wait_ctx {
	fuse_req_t req;
} wait_ctx;

/* The answer to a read of `wait`.  It is queued behind the notifier's
 * invalidations, all of them (notify_push): whatever made the host active
 * was queued before anyone could see it, so `cat wait; cat state` never
 * shows the old state. */
static void wait_done(void *arg, int err)
{
	wait_ctx *w = arg;

	notify_wait_reply(fs_of(w->req), w->req, err);
	free(w);
}

static void *reply_eintr(void *arg)
{
	wait_ctx *w = arg;
	drukfs_fs *fs = fs_of(w->req);

	fuse_reply_err(w->req, EINTR);
	free(w);
	pthread_mutex_lock(&fs->nlock);
	fs->eintr_pending--;
	pthread_cond_broadcast(&fs->ndone);
	pthread_mutex_unlock(&fs->nlock);
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
	/* Counted, so that the teardown waits for the reply to be sent
	 * before the session it writes to is destroyed. */
	pthread_mutex_lock(&fs->nlock);
	fs->eintr_pending++;
	pthread_mutex_unlock(&fs->nlock);
	if (pthread_create(&t, NULL, reply_eintr, ctx) == 0)
		pthread_detach(t);
	else
		reply_eintr(ctx); /* only from find_interrupted's path */
}

static void read_wait(fuse_req_t req, drukfs_fs *fs, const char *handle,
		      off_t off)
{
	uint64_t key = atomic_fetch_add(&fs->next_wait, 1) + 1;
	wait_ctx *w;
	int rc, err = 0;
	void *ctx;

	if (off > 0) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		fuse_reply_err(req, ENOMEM);
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
	if (rc != 0) {
		wait_done(w, rc < 0 ? -rc : err);
		return;
	}
	/* An interrupt that came between the check and the registration. */
	if (fuse_req_interrupted(req) &&
	    drukfs_handles_wait_cancel(fs->handles, key, &ctx))
		wait_done(ctx, EINTR);
}

/* Replies with the part of data[0, len) at off. */
static void reply_slice(fuse_req_t req, const char *data, size_t len,
			size_t size, off_t off)
{
	if (off < 0 || (size_t)off >= len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > len - (size_t)off)
		size = len - (size_t)off;
	fuse_reply_buf(req, data + off, size);
}

/* A spec is read from the state directory: it changes only by writes,
 * which the kernel has in its page cache already. */
static void read_spec(fuse_req_t req, drukfs_fs *fs, fuse_ino_t ino,
		      size_t size, off_t off)
{
	char *name = NULL, *text = NULL;
	int rc = drukfs_tree_handle(fs->tree, drukfs_ino_node(ino), &name);

	if (rc == 0)
		rc = drukfs_spec_text(fs, name, &text);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		reply_slice(req, text, strlen(text), size, off);
	free(name);
	free(text);
}

/* The bytes of file `field` of version v for a READ: a generated file's
 * text, or a host's file rendered again (into *owned, which the caller
 * frees) -- the same bytes whose size the kernel was given. */
static int fv_read(drukfs_fs *fs, file_version *v, unsigned field,
		   const char **data, size_t *len, char **owned)
{
	size_t want = 0;
	int rc;

	*owned = NULL;
	if (v->kind == FV_FIXED) {
		*data = v->text;
		*len = v->text_len;
		return 0;
	}
	rc = fv_size(fs, v, field, &want);
	if (rc == 0)
		rc = fv_render(fs, v, field, owned, len);
	if (rc == 0 && *len != want) {
		/* The same record renders the same bytes: never short-read a
		 * file whose size the kernel holds. */
		free(*owned);
		*owned = NULL;
		rc = -EIO;
	}
	*data = *owned;
	return rc;
}

/* A read is answered from the version its inode stands for: the same
 * bytes whose size the kernel was given. */
static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	drukfs_fs *fs = counted(req, FOP_READ);
	file_version *v = NULL;
	const char *data = NULL;
	char *owned = NULL;
	size_t len = 0;
	int rc;

	if (ino < INO_FIXED_END) {
		/* .drukfs/refresh (size 0), or a directory */
		if (ino == INO_REFRESH)
			fuse_reply_buf(req, NULL, 0);
		else
			fuse_reply_err(req, EISDIR);
		return;
	}
	rc = version_of(fs, ino, &v);
	if (rc == 1 && drukfs_ino_field(ino) == DRUKFS_SPEC_FIELD) {
		read_spec(req, fs, ino, size, off);
		return;
	}
	if (rc != 0) {
		fuse_reply_err(req, rc < 0 ? -rc : EISDIR);
		return;
	}
	if (v->kind == FV_WAIT) {
		read_wait(req, fs, v->handle, off);
	} else if (v->kind == FV_SSH) {
		read_ssh(req, fs, v, size, off);
	} else {
		rc = fv_read(fs, v, drukfs_ino_field(ino), &data, &len, &owned);
		if (rc < 0)
			fuse_reply_err(req, -rc);
		else
			reply_slice(req, data, len, size, off);
		free(owned);
	}
	drukfs_tree_item_unref(&v->base);
}

/* `echo TIME > hosts/X/expires_at`: every write renews, with the text
 * written since offset 0.  The version written to is retired (the kernel
 * has the written bytes in its pages) and dropped from the kernel once
 * this write is answered; the answer waits until the kernel has forgotten
 * the host's old files, so that a `cat` right after shows the new time. */
static int write_expires(drukfs_fs *fs, fuse_ino_t ino, file_version *v,
			 const char *buf, size_t size, off_t off)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	pthread_mutex_lock(&v->lock);
	rc = drukfs_write_append(&v->wbuf, &v->wlen, buf, size, off);
	if (rc == 0)
		text = strndup(v->wbuf, v->wlen), len = v->wlen;
	pthread_mutex_unlock(&v->lock);
	if (rc == 0 && !text)
		rc = -ENOMEM;
	if (rc == 0)
		rc = drukfs_write_renew(fs, v->handle, text, len);
	free(text);
	if (rc < 0)
		return rc;
	atomic_store(&v->retired, 1);
	drukfs_fs_changed(fs, v->handle);
	notify_drain(fs, notify_seq(fs), 0);
	notify_inode(fs, ino);
	return 0;
}

/* .drukfs/refresh: drop every cache, and every entry the kernel keeps
 * for a host's files, so that the next read of anything looks it up and
 * waits for the list as after a TTL.  Answered once the kernel was told
 * (at most DRAIN_SECONDS). */
static void refresh(drukfs_fs *fs)
{
	char **handles = NULL;
	size_t n = 0;

	drukfs_cache_drop(fs->cache);
	drukfs_log_add(fs->log, time(NULL), "caches dropped (.drukfs/refresh)");
	if (drukfs_tree_handles(fs->tree, &handles, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (handles[i][0] != '\x01') /* not a generated file's node */
			drukfs_fs_changed(fs, handles[i]);
		free(handles[i]);
	}
	free(handles);
	notify_drain(fs, notify_seq(fs), 0);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	drukfs_fs *fs = counted(req, FOP_WRITE);
	file_version *v = NULL;
	char *name = NULL;
	ssize_t n = -EACCES;
	int restored = 0;
	int rc = ino < INO_FIXED_END ? 1 : version_of(fs, ino, &v);

	if (ino == INO_REFRESH) {
		refresh(fs);
		n = (ssize_t)size;
	} else if (rc == 0 && v->kind == FV_HOST &&
		   drukfs_ino_field(ino) == FIELD_EXPIRES_AT) {
		n = write_expires(fs, ino, v, buf, size, off);
		n = n < 0 ? n : (ssize_t)size;
	} else if (rc == 1 && ino >= INO_FIXED_END &&
		   drukfs_ino_field(ino) == DRUKFS_SPEC_FIELD) {
		n = drukfs_tree_handle(fs->tree, drukfs_ino_node(ino), &name);
		if (n == 0)
			n = drukfs_spec_write(fs, name, buf, size, off, &restored);
		free(name);
		/* The spec was put back as it was: the kernel's size of it
		 * (and, once this write is answered, its pages) are wrong. */
		if (restored) {
			fuse_lowlevel_notify_inval_inode(fs->se, ino, -1, 0);
			notify_inode(fs, ino);
		}
	} else if (rc < 0) {
		n = rc;
	}
	if (v)
		drukfs_tree_item_unref(&v->base);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
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
	drukfs_fs *fs = userdata;

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
	/* Reads of the page cache are sent from the reader's own thread, so
	 * that a blocked read of `wait` can be interrupted (a background
	 * readahead request cannot), and O_TRUNC arrives as a setattr that
	 * can be refused (there is no OPEN to refuse it). */
	conn->want &= ~(unsigned)(FUSE_CAP_ASYNC_READ | FUSE_CAP_ATOMIC_O_TRUNC);
	/* A new size or mtime from a lookup drops the pages of the inode. */
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	/* Each generated file's versions hang off a node of their own. */
	for (uint64_t ino = 0; ino < INO_FIXED_END; ino++) {
		char key[16];

		snprintf(key, sizeof(key), "\x01%" PRIu64, ino);
		if (generated(ino))
			drukfs_tree_ref(fs->tree, key, &fs->fixed_owner[ino]);
	}
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
	.release = op_release,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.statfs = op_statfs,
	.create = op_create,
};

/* ---- invalidation --------------------------------------------------------- */

/* What the notifier tells the kernel, in queue order, except that
 * N_INNER notices (the files below a host directory, which need that
 * directory's lock in the kernel) wait while others are queued: a
 * setattr of hosts/X holds X locked until it is answered, and it waits
 * for the notices before it.  Replies to `wait` queue with the N_INNER
 * ones, so that none goes out before the invalidations queued ahead of
 * it (`cat wait; cat state` must show the new state); they take no
 * lock, so nothing waits for them in turn. */
enum notice_kind {
	N_OUTER,        /* hosts/<handle>: the entry and the directory */
	N_INNER,        /* hosts/<handle>/<every file>: the entries */
	N_INODE,        /* one inode: attributes and pages */
	N_REPLY,        /* answer a read of wait */
};

struct notice {
	enum notice_kind kind;
	uint64_t seq;
	char *handle;
	uint64_t ino;
	fuse_req_t req;
	int err;
	struct notice *next;
};

static void notice_free(struct notice *n)
{
	free(n->handle);
	free(n);
}

/* Queues a notice (nlock held by no one).  Out of memory: the notice is
 * lost, except a reply, which is then sent at once. */
static uint64_t notify_push(drukfs_fs *fs, struct notice *n)
{
	struct notice_fifo *q;
	uint64_t seq;

	pthread_mutex_lock(&fs->nlock);
	if (fs->nstop) {
		/* The session is ending: nothing would send or free it. */
		pthread_mutex_unlock(&fs->nlock);
		if (n->kind == N_REPLY)
			fuse_reply_err(n->req, EINTR);
		notice_free(n);
		return 0;
	}
	seq = n->seq = ++fs->nseq;
	q = &fs->nq[n->kind == N_INNER || n->kind == N_REPLY];
	if (q->tail)
		q->tail->next = n;
	else
		q->head = n;
	q->tail = n;
	pthread_cond_signal(&fs->ncond);
	pthread_mutex_unlock(&fs->nlock);
	return seq;
}

static struct notice *notice_new(enum notice_kind kind, const char *handle)
{
	struct notice *n = calloc(1, sizeof(*n));

	if (n && handle && !(n->handle = strdup(handle))) {
		free(n);
		n = NULL;
	}
	if (n)
		n->kind = kind;
	return n;
}

void drukfs_fs_changed(void *arg, const char *handle)
{
	drukfs_fs *fs = arg;
	struct notice *outer = notice_new(N_OUTER, handle);
	struct notice *inner = notice_new(N_INNER, handle);

	if (outer)
		notify_push(fs, outer);
	if (inner)
		notify_push(fs, inner);
}

static void notify_inode(drukfs_fs *fs, uint64_t ino)
{
	struct notice *n = notice_new(N_INODE, NULL);

	if (n) {
		n->ino = ino;
		notify_push(fs, n);
	}
}

static void notify_wait_reply(drukfs_fs *fs, fuse_req_t req, int err)
{
	struct notice *n = notice_new(N_REPLY, NULL);

	if (!n) {
		if (err)
			fuse_reply_err(req, err);
		else
			fuse_reply_buf(req, WAIT_ACTIVE, strlen(WAIT_ACTIVE));
		return;
	}
	n->req = req;
	n->err = err;
	notify_push(fs, n);
}

static uint64_t notify_seq(drukfs_fs *fs)
{
	uint64_t seq;

	pthread_mutex_lock(&fs->nlock);
	seq = fs->nseq;
	pthread_mutex_unlock(&fs->nlock);
	return seq;
}

/* Whether a notice up to seq (outer_only: not one of the second queue,
 * N_INNER and replies) is still queued or being handled (nlock held). */
static int notify_pending(drukfs_fs *fs, uint64_t seq, int outer_only)
{
	if (fs->nbusy && fs->nbusy <= seq)
		return 1;
	/* Each FIFO is in seq order: its head is its oldest notice. */
	if (fs->nq[0].head && fs->nq[0].head->seq <= seq)
		return 1;
	return !outer_only && fs->nq[1].head && fs->nq[1].head->seq <= seq;
}

/* Waits until the notices queued up to seq are handled, at most
 * DRAIN_SECONDS: the kernel may hold a lock a notice needs until the
 * caller answers.  Not at all with -s, where nothing else runs. */
static void notify_drain(drukfs_fs *fs, uint64_t seq, int outer_only)
{
	struct timespec ts = drukfs_timespec(drukfs_now() + DRAIN_SECONDS);

	if (fs->single_thread || !fs->notifier_started)
		return;
	pthread_mutex_lock(&fs->nlock);
	while (!fs->nstop && notify_pending(fs, seq, outer_only))
		if (pthread_cond_timedwait(&fs->ndone, &fs->nlock, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&fs->nlock);
}

/* Whether hosts/<handle> still names a host, from what the cache holds
 * (no request: the notifier never waits on the service).  Not knowing
 * counts as no. */
static int still_there(drukfs_fs *fs, const char *handle)
{
	drukfs_resolved r;

	if (!fs->handles ||
	    drukfs_handles_resolve(fs->handles, handle, DRUKFS_CACHED, &r) < 0)
		return 0;
	drukfs_resolved_clear(&r);
	return 1;
}

/* Drops what the kernel keeps for hosts/<handle>: the directory's
 * attributes and cached listing, and the entry itself when what the name
 * refers to may have changed -- the host is gone, or it is new and the
 * kernel may hold a negative entry for the name.  A host that is still
 * there keeps its entry (its directory inode does not change; its files
 * are N_INNER's): dropping an entry takes hosts/ exclusively in the
 * kernel, behind every lookup in flight there (one may wait on the
 * service up to the timeout), and every later lookup and listing of
 * hosts/ queues behind it. */
static void invalidate_outer(drukfs_fs *fs, const char *handle)
{
	uint64_t node;
	int known = drukfs_tree_find(fs->tree, handle, &node) == 0;

	if (known ? !still_there(fs, handle) : negative_recent(fs, handle))
		fuse_lowlevel_notify_inval_entry(fs->se, INO_HOSTS, handle,
						 strlen(handle));
	if (known)
		fuse_lowlevel_notify_inval_inode(fs->se, drukfs_ino(node, FIELD_DIR),
						 0, 0);
}

/* Drops the entries of every file of hosts/<handle> (also those an open
 * file or a working directory keeps alive). */
static void invalidate_inner(drukfs_fs *fs, const char *handle)
{
	uint64_t node;

	if (drukfs_tree_find(fs->tree, handle, &node) < 0)
		return;
	for (unsigned f = 1; f < FIELD_COUNT; f++) {
		const char *name = drukfs_field_name((drukfs_field)f);

		fuse_lowlevel_notify_inval_entry(fs->se, drukfs_ino(node, FIELD_DIR),
						 name, strlen(name));
	}
}

static void notice_handle(drukfs_fs *fs, struct notice *n)
{
	switch (n->kind) {
	case N_OUTER:
		invalidate_outer(fs, n->handle);
		break;
	case N_INNER:
		invalidate_inner(fs, n->handle);
		break;
	case N_INODE:
		fuse_lowlevel_notify_inval_inode(fs->se, n->ino, 0, 0);
		break;
	case N_REPLY:
		if (n->err)
			fuse_reply_err(n->req, n->err);
		else
			fuse_reply_buf(n->req, WAIT_ACTIVE, strlen(WAIT_ACTIVE));
		break;
	}
}

/* The next notice to handle (nlock held): the oldest of the first queue,
 * else the oldest N_INNER or reply. */
static struct notice *notice_take(drukfs_fs *fs)
{
	struct notice_fifo *q = &fs->nq[fs->nq[0].head ? 0 : 1];
	struct notice *n = q->head;

	if (n) {
		q->head = n->next;
		if (!q->head)
			q->tail = NULL;
		n->next = NULL;
	}
	return n;
}

static void *notifier(void *arg)
{
	drukfs_fs *fs = arg;
	struct notice *n;

	pthread_mutex_lock(&fs->nlock);
	for (;;) {
		while (!fs->nq[0].head && !fs->nq[1].head && !fs->nstop)
			pthread_cond_wait(&fs->ncond, &fs->nlock);
		if (fs->nstop)
			break;
		n = notice_take(fs);
		if (!n)
			continue;
		fs->nbusy = n->seq;
		pthread_mutex_unlock(&fs->nlock);
		notice_handle(fs, n);
		notice_free(n);
		pthread_mutex_lock(&fs->nlock);
		fs->nbusy = 0;
		pthread_cond_broadcast(&fs->ndone);
	}
	pthread_mutex_unlock(&fs->nlock);
	return NULL;
}

int drukfs_fs_notifier_start(drukfs_fs *fs)
{
	pthread_condattr_t ca;
	int rc;

	pthread_mutex_init(&fs->nlock, NULL);
	pthread_cond_init(&fs->ncond, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&fs->ndone, &ca);
	pthread_condattr_destroy(&ca);
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
	pthread_cond_broadcast(&fs->ncond);
	pthread_cond_broadcast(&fs->ndone);
	pthread_mutex_unlock(&fs->nlock);
	pthread_join(fs->notifier, NULL);
	pthread_mutex_lock(&fs->nlock);
	while (fs->eintr_pending)
		pthread_cond_wait(&fs->ndone, &fs->nlock);
	pthread_mutex_unlock(&fs->nlock);
	/* Create and delete workers can still report changes: empty the
	 * queue under the lock (notify_push queues nothing once nstop is
	 * set).  Replies still queued go to a session that is ending. */
	pthread_mutex_lock(&fs->nlock);
	for (struct notice *n; (n = notice_take(fs));) {
		if (n->kind == N_REPLY)
			fuse_reply_err(n->req, EINTR);
		notice_free(n);
	}
	pthread_mutex_unlock(&fs->nlock);
	fs->notifier_started = 0;
}
