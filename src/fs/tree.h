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
 */
#ifndef DRUKFS_TREE_H
#define DRUKFS_TREE_H

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

#endif
