/*
 * The inode numbers of the tree.
 *
 * Fixed files have fixed numbers below 32.  A host directory seen under a
 * handle gets a node number k >= 1, and its directory and files are
 * k * 32 + field (render.h's drukfs_field), so that one lookup in a map
 * takes an inode to its handle and field.  Node numbers are never reused:
 * a 64-bit counter shifted by 5 cannot run out, so generation is always 0
 * and a stale inode can never alias a newer host.
 *
 * A node lives while the kernel holds a lookup count on any of its
 * inodes (every entry reply, readdirplus entry included, adds one; forget
 * takes them away); then it is dropped.  Thread-safe.
 *
 * Besides host nodes (one per handle), a node can carry an item: one
 * immutable version of a file's content (see fs_read.h).  Its inode is
 * k * 32 + field like a host's files, so the field still says what the
 * inode is; the item says which content.  A host node remembers its
 * current version so that lookups of unchanged content keep the same
 * inode, and with it the kernel's page cache.
 */
#ifndef DRUKFS_TREE_H
#define DRUKFS_TREE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum drukfs_fixed_ino {
	INO_ROOT = 1,
	INO_HOSTS = 2,
	INO_DOCTOR = 3,
	INO_DOCTOR_JSON = 4,
	INO_META = 5,          /* .drukfs/ */
	INO_LOG = 6,
	INO_STATS = 7,
	INO_REFRESH = 8,
	INO_SSH_CONFIG = 9,
	INO_SPECS = 10,        /* specs/ */
	INO_FIXED_END = 32
};

#define DRUKFS_FIELD_BITS 5

static inline uint64_t drukfs_ino(uint64_t node, unsigned field)
{
	return (node << DRUKFS_FIELD_BITS) | field;
}

static inline uint64_t drukfs_ino_node(uint64_t ino)
{
	return ino >> DRUKFS_FIELD_BITS;
}

static inline unsigned drukfs_ino_field(uint64_t ino)
{
	return (unsigned)(ino & ((1u << DRUKFS_FIELD_BITS) - 1));
}

typedef struct drukfs_tree drukfs_tree;

/* What a node can carry: reference-counted, freed by its own `free`. */
typedef struct drukfs_tree_item {
	atomic_int ref;
	void (*free)(struct drukfs_tree_item *item);
} drukfs_tree_item;

static inline drukfs_tree_item *drukfs_tree_item_ref(drukfs_tree_item *i)
{
	if (i)
		atomic_fetch_add(&i->ref, 1);
	return i;
}

static inline void drukfs_tree_item_unref(drukfs_tree_item *i)
{
	if (i && atomic_fetch_sub(&i->ref, 1) == 1)
		i->free(i);
}

/* Whether `item` (the current version of a host node) may serve again;
 * called with the tree's lock held: no locks, no I/O. */
typedef int (*drukfs_tree_match_fn)(const drukfs_tree_item *item,
				    const void *ctx);

drukfs_tree *drukfs_tree_new(void);
void drukfs_tree_free(drukfs_tree *t);

/* The node of `handle`, made if new, with its lookup count raised by one.
 * 0 with *node, or -ENOMEM. */
int drukfs_tree_ref(drukfs_tree *t, const char *handle, uint64_t *node);

/* Lowers a node's lookup count by n; the node goes at zero. */
void drukfs_tree_forget(drukfs_tree *t, uint64_t node, uint64_t n);

/* A copy of the node's handle (caller frees).  -ENOENT for a node that is
 * gone, -ENOMEM. */
int drukfs_tree_handle(drukfs_tree *t, uint64_t node, char **out);

/* The node of `handle` if the kernel knows one: 0 with *node, or -ENOENT. */
int drukfs_tree_find(drukfs_tree *t, const char *handle, uint64_t *node);

/* Copies of the handles of every host node (caller frees each and the
 * array).  0 or -ENOMEM. */
int drukfs_tree_handles(drukfs_tree *t, char ***out, size_t *count);

/* A new node carrying `item` (a reference is taken), with a lookup count
 * of one.  With `owner` (a host node, or 0 for none) it becomes that
 * node's current version.  0 with *node, -ENOENT (owner gone), -ENOMEM. */
int drukfs_tree_add(drukfs_tree *t, drukfs_tree_item *item, uint64_t owner,
		    uint64_t *node);

/* The current version of host node `owner` if it is still known to the
 * kernel and `match` accepts it: its lookup count is raised by one.
 * 0 with *node and *item (a reference), or -ENOENT. */
int drukfs_tree_reuse(drukfs_tree *t, uint64_t owner, drukfs_tree_match_fn match,
		      const void *ctx, uint64_t *node, drukfs_tree_item **item);

/* The item a node carries (a reference; NULL for a host node).
 * 0, or -ENOENT for a node that is gone. */
int drukfs_tree_item_get(drukfs_tree *t, uint64_t node,
			 drukfs_tree_item **item);

/* Raises a node's lookup count by one (a readdirplus entry of a node
 * already found).  0 or -ENOENT. */
int drukfs_tree_relookup(drukfs_tree *t, uint64_t node);

#endif
