/*
 * A string-keyed hash map: open addressing, linear probing, power-of-two
 * capacity, grown at 70% load.  Keys are copied in, or borrowed (a map
 * made with STRMAP_INIT_BORROWED keeps the caller's pointer, which must
 * stay valid while the key is in the map: a key that is a field of its
 * own value costs no second copy); values are the caller's.  Not
 * thread-safe: the owner locks.
 */
#ifndef DRUKFS_STRMAP_H
#define DRUKFS_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct strmap_slot {
	char *key;      /* NULL: empty; STRMAP_TOMB: deleted */
	void *value;
} strmap_slot;

typedef struct strmap {
	strmap_slot *slots;
	size_t cap;     /* 0 or a power of two */
	size_t used;    /* live keys */
	size_t filled;  /* live keys + tombstones */
	int borrowed;   /* keys are the caller's, not copied or freed */
} strmap;

#define STRMAP_INIT {NULL, 0, 0, 0, 0}
#define STRMAP_INIT_BORROWED {NULL, 0, 0, 0, 1}

/* FNV-1a, 64 bits: the hash of the map and of state directory names.
 * Pure. */
uint64_t drukfs_fnv1a(const void *data, size_t len);

/* The value for key, or NULL. */
void *strmap_get(const strmap *m, const char *key);

/* Sets key to value (replacing; a borrowed map then keeps the new
 * key pointer).  *old gets the replaced value or NULL
 * (old may be NULL).  0 or -ENOMEM (map unchanged). */
int strmap_put(strmap *m, const char *key, void *value, void **old);

/* Removes key; returns its value or NULL. */
void *strmap_del(strmap *m, const char *key);

/* Frees the map's own memory (copied keys, table), not the values; the
 * map stays borrowed or not. */
void strmap_clear(strmap *m);

/* Iteration: for (size_t i = 0; strmap_next(m, &i, &k, &v);) ... */
int strmap_next(const strmap *m, size_t *pos, const char **key, void **value);

#endif
