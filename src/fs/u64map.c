/*
 * u64map: the tree's node number -> node map.  The keys are counters, so
 * a multiplicative hash (Fibonacci hashing) spreads them; deletion shifts
 * the rest of the probe run back instead of leaving tombstones, so a
 * mount that looks up and forgets millions of inodes never rehashes for
 * dead slots.
 */
#include "u64map.h"

#include <errno.h>
#include <stdlib.h>

static size_t home(const u64map *m, uint64_t key)
{
	return (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 32) & (m->cap - 1);
}

/* The slot holding key, or the empty slot ending its probe run.
 * Requires cap > 0 and a free slot. */
static size_t find(const u64map *m, uint64_t key)
{
	size_t i = home(m, key);

	while (m->slots[i].key && m->slots[i].key != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

void *u64map_get(const u64map *m, uint64_t key)
{
	size_t i;

	if (!m->cap || !key)
		return NULL;
	i = find(m, key);
	return m->slots[i].key ? m->slots[i].value : NULL;
}

static int grow(u64map *m)
{
	u64map_slot *old = m->slots;
	size_t oldcap = m->cap;

	m->cap = oldcap ? oldcap * 2 : 16;
	m->slots = calloc(m->cap, sizeof(*m->slots));
	if (!m->slots) {
		m->slots = old;
		m->cap = oldcap;
		return -ENOMEM;
	}
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key)
			m->slots[find(m, old[i].key)] = old[i];
	free(old);
	return 0;
}

int u64map_put(u64map *m, uint64_t key, void *value)
{
	size_t i;

	if (!key)
		return -EINVAL;
	if ((m->used + 1) * 10 >= m->cap * 7 && grow(m) < 0)
		return -ENOMEM;
	i = find(m, key);
	if (!m->slots[i].key) {
		m->slots[i].key = key;
		m->used++;
	}
	m->slots[i].value = value;
	return 0;
}

void *u64map_del(u64map *m, uint64_t key)
{
	size_t mask = m->cap - 1, i, j;
	void *v;

	if (!m->cap || !key)
		return NULL;
	i = find(m, key);
	if (!m->slots[i].key)
		return NULL;
	v = m->slots[i].value;
	/* Backward shift: move up every later entry of the run that may
	 * sit at i (its home is not cyclically within (i, j]). */
	for (j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
		size_t h = home(m, m->slots[j].key);

		if (((j - h) & mask) >= ((j - i) & mask)) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	m->slots[i].key = 0;
	m->slots[i].value = NULL;
	m->used--;
	return v;
}

void u64map_clear(u64map *m)
{
	free(m->slots);
	*m = (u64map)U64MAP_INIT;
}

int u64map_next(const u64map *m, size_t *pos, uint64_t *key, void **value)
{
	for (; *pos < m->cap; (*pos)++) {
		if (m->slots[*pos].key) {
			*key = m->slots[*pos].key;
			*value = m->slots[*pos].value;
			(*pos)++;
			return 1;
		}
	}
	return 0;
}
