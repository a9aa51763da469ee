/*
 * strmap: the one hash table drukfs needs (id -> record, handle -> node).
 *
 * Open addressing keeps a lookup to one or two cache lines; tombstones
 * keep deletion O(1) and are swept out whenever the table is rebuilt on
 * growth.  FNV-1a is plenty for ids and names, which are not attacker-
 * chosen in a way that matters here (a hostile server can only slow its
 * own mount).
 */
#include "strmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char strmap_tomb;
#define STRMAP_TOMB (&strmap_tomb)

uint64_t drukfs_fnv1a(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL; /* the FNV-1a offset basis */

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static uint64_t strmap_hash(const char *s)
{
	return drukfs_fnv1a(s, strlen(s));
}

/* Index of key's slot, or of the slot where it would go (first tombstone
 * or empty on its probe path).  Requires cap > 0. */
static size_t strmap_find(const strmap *m, const char *key, int *found)
{
	size_t mask = m->cap - 1, i = strmap_hash(key) & mask;
	size_t tomb = SIZE_MAX;

	for (;; i = (i + 1) & mask) {
		char *k = m->slots[i].key;

		if (!k) {
			*found = 0;
			return tomb != SIZE_MAX ? tomb : i;
		}
		if (k == STRMAP_TOMB) {
			if (tomb == SIZE_MAX)
				tomb = i;
			continue;
		}
		if (strcmp(k, key) == 0) {
			*found = 1;
			return i;
		}
	}
}

void *strmap_get(const strmap *m, const char *key)
{
	int found;
	size_t i;

	if (!m->cap)
		return NULL;
	i = strmap_find(m, key, &found);
	return found ? m->slots[i].value : NULL;
}

/* Rebuilds into a table of `cap` slots, dropping tombstones. */
static int strmap_rehash(strmap *m, size_t cap)
{
	strmap_slot *old = m->slots;
	size_t oldcap = m->cap;

	m->slots = calloc(cap, sizeof(*m->slots));
	if (!m->slots) {
		m->slots = old;
		return -ENOMEM;
	}
	m->cap = cap;
	m->filled = m->used;
	for (size_t i = 0; i < oldcap; i++) {
		int found;
		char *k = old[i].key;

		if (!k || k == STRMAP_TOMB)
			continue;
		size_t j = strmap_find(m, k, &found);
		m->slots[j] = old[i];
	}
	free(old);
	return 0;
}

int strmap_put(strmap *m, const char *key, void *value, void **old)
{
	int found;
	size_t i;

	if (old)
		*old = NULL;
	if ((m->filled + 1) * 10 >= m->cap * 7) {
		size_t cap = m->cap ? m->cap : 16;

		while ((m->used + 1) * 10 >= cap * 5)
			cap *= 2;
		if (strmap_rehash(m, cap) < 0)
			return -ENOMEM;
	}
	i = strmap_find(m, key, &found);
	if (found) {
		if (old)
			*old = m->slots[i].value;
		m->slots[i].value = value;
		if (m->borrowed)
			m->slots[i].key = (char *)key;
		return 0;
	}
	char *k = m->borrowed ? (char *)key : strdup(key);
	if (!k)
		return -ENOMEM;
	if (m->slots[i].key != STRMAP_TOMB)
		m->filled++;
	m->slots[i].key = k;
	m->slots[i].value = value;
	m->used++;
	return 0;
}

void *strmap_del(strmap *m, const char *key)
{
	int found;
	size_t i;
	void *v;

	if (!m->cap)
		return NULL;
	i = strmap_find(m, key, &found);
	if (!found)
		return NULL;
	v = m->slots[i].value;
	if (!m->borrowed)
		free(m->slots[i].key);
	m->slots[i].key = STRMAP_TOMB;
	m->slots[i].value = NULL;
	m->used--;
	return v;
}

void strmap_clear(strmap *m)
{
	int borrowed = m->borrowed;

	for (size_t i = 0; !borrowed && i < m->cap; i++)
		if (m->slots[i].key && m->slots[i].key != STRMAP_TOMB)
			free(m->slots[i].key);
	free(m->slots);
	*m = (strmap)STRMAP_INIT;
	m->borrowed = borrowed;
}

int strmap_next(const strmap *m, size_t *pos, const char **key, void **value)
{
	for (; *pos < m->cap; (*pos)++) {
		char *k = m->slots[*pos].key;

		if (k && k != STRMAP_TOMB) {
			*key = k;
			*value = m->slots[*pos].value;
			(*pos)++;
			return 1;
		}
	}
	return 0;
}
