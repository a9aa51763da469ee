/*
 * A map from nonzero 64-bit integers (inode numbers) to pointers: open
 * addressing, linear probing with backward-shift deletion (no
 * tombstones), power-of-two capacity kept under 70% load.  Not
 * thread-safe: the owner locks.
 */
#ifndef DRUKFS_U64MAP_H
#define DRUKFS_U64MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct u64map_slot {
	uint64_t key;   /* 0: empty */
	void *value;
} u64map_slot;

typedef struct u64map {
	u64map_slot *slots;
	size_t cap;     /* 0 or a power of two */
	size_t used;
} u64map;

#define U64MAP_INIT {NULL, 0, 0}

/* The value for key, or NULL (also for key 0). */
void *u64map_get(const u64map *m, uint64_t key);

/* Sets key (nonzero) to value, replacing.  0, -EINVAL for key 0, or
 * -ENOMEM (map unchanged). */
int u64map_put(u64map *m, uint64_t key, void *value);

/* Removes key; returns its value or NULL. */
void *u64map_del(u64map *m, uint64_t key);

/* Frees the table, not the values. */
void u64map_clear(u64map *m);

/* Iteration, in no order; the map must not change meanwhile:
 * for (size_t i = 0; u64map_next(m, &i, &k, &v);) ... */
int u64map_next(const u64map *m, size_t *pos, uint64_t *key, void **value);

#endif
