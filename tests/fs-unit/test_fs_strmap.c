/*
 * Unit tests for src/fs/strmap.c: the string-keyed hash map.
 *
 * Values are pointers into a static array (or small integers cast to
 * pointers) so that a test can tell exactly which value came back.  The
 * growth test keeps a shadow table of which keys should be live and
 * compares the map with it after every phase; the iteration check counts
 * visits per key, so a key seen twice or never shows up.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

#include "../support/cunit_main.h"

static int values[8];

#define V(i) ((void *)&values[(i)])
#define NUM(i) ((void *)(uintptr_t)(i))

static strmap map = STRMAP_INIT;

/* Empties the map of the previous test (see test_fs_tree.c: fixtures run
 * per suite, and a fatal assertion skips a test's own cleanup). */
static void fresh(void)
{
	strmap_clear(&map);
}

static int teardown(void)
{
	strmap_clear(&map);
	return 0;
}

static size_t count_live(const strmap *m)
{
	const char *k;
	void *v;
	size_t n = 0;

	for (size_t i = 0; strmap_next(m, &i, &k, &v);)
		n++;
	return n;
}

/* ---- basics --------------------------------------------------------------- */

static void test_empty_map(void)
{
	strmap empty = STRMAP_INIT;
	const char *k = NULL;
	void *v = NULL;
	size_t pos = 0;

	CU_ASSERT_PTR_NULL(strmap_get(&empty, "a"));
	CU_ASSERT_PTR_NULL(strmap_del(&empty, "a"));
	CU_ASSERT_EQUAL(strmap_next(&empty, &pos, &k, &v), 0);
	strmap_clear(&empty);
	CU_ASSERT_EQUAL(empty.cap, 0);
	CU_ASSERT_EQUAL(empty.used, 0);
}

static void test_put_get_del(void)
{
	void *old = V(7);

	fresh();
	CU_ASSERT_EQUAL(strmap_put(&map, "a", V(0), &old), 0);
	CU_ASSERT_PTR_NULL(old);
	CU_ASSERT_EQUAL(strmap_put(&map, "b", V(1), NULL), 0);
	CU_ASSERT_EQUAL(strmap_put(&map, "", V(2), NULL), 0);
	CU_ASSERT_EQUAL(map.used, 3);

	CU_ASSERT_PTR_EQUAL(strmap_get(&map, "a"), V(0));
	CU_ASSERT_PTR_EQUAL(strmap_get(&map, "b"), V(1));
	CU_ASSERT_PTR_EQUAL(strmap_get(&map, ""), V(2));
	CU_ASSERT_PTR_NULL(strmap_get(&map, "c"));
	CU_ASSERT_PTR_NULL(strmap_get(&map, "A"));
	CU_ASSERT_PTR_NULL(strmap_get(&map, "a "));

	CU_ASSERT_PTR_EQUAL(strmap_del(&map, "a"), V(0));
	CU_ASSERT_PTR_NULL(strmap_get(&map, "a"));
	CU_ASSERT_PTR_NULL(strmap_del(&map, "a"));
	CU_ASSERT_PTR_NULL(strmap_del(&map, "never"));
	CU_ASSERT_PTR_EQUAL(strmap_get(&map, "b"), V(1));
	CU_ASSERT_EQUAL(map.used, 2);

	/* A deleted key can come back. */
	CU_ASSERT_EQUAL(strmap_put(&map, "a", V(3), &old), 0);
	CU_ASSERT_PTR_NULL(old);
	CU_ASSERT_PTR_EQUAL(strmap_get(&map, "a"), V(3));
	CU_ASSERT_EQUAL(map.used, 3);
}

/* The key is copied in: the caller's buffer may change afterwards. */
static void test_key_is_copied(void)
{
	char key[8] = "key";

	fresh();
	CU_ASSERT_EQUAL(strmap_put(&map, key, V(0), NULL), 0);
	key[0] = 'X';
	CU_ASSERT_PTR_EQUAL(strmap_get(&map, "key"), V(0));
	CU_ASSERT_PTR_NULL(strmap_get(&map, key));
}

/* A borrowed map keeps the caller's pointer: the key it compares is the
 * caller's buffer, replacing takes the new pointer, and neither del nor
 * clear frees it (the buffers here are on the stack: freeing one would
 * abort under ASan, and valgrind would report it). */
static void test_borrowed_keys(void)
{
	strmap b = STRMAP_INIT_BORROWED;
	char k1[8] = "key", k2[8] = "key", k3[8] = "other";
	const char *k;
	void *v;
	size_t pos = 0;

	CU_ASSERT_EQUAL(strmap_put(&b, k1, V(0), NULL), 0);
	CU_ASSERT_EQUAL(strmap_put(&b, k3, V(1), NULL), 0);
	CU_ASSERT_PTR_EQUAL(strmap_get(&b, "key"), V(0));
	/* Replacing under an equal key moves the map to the new pointer. */
	CU_ASSERT_EQUAL(strmap_put(&b, k2, V(2), NULL), 0);
	CU_ASSERT_EQUAL(b.used, 2);
	k1[0] = 'X';
	CU_ASSERT_PTR_EQUAL(strmap_get(&b, "key"), V(2));
	while (strmap_next(&b, &pos, &k, &v))
		CU_ASSERT(k == k2 || k == k3);
	CU_ASSERT_PTR_EQUAL(strmap_del(&b, "other"), V(1));
	CU_ASSERT_PTR_NULL(strmap_get(&b, "other"));
	strmap_clear(&b);
	CU_ASSERT_EQUAL(b.borrowed, 1);
	CU_ASSERT_EQUAL(b.used, 0);
	/* Still borrowed after clear, and usable. */
	CU_ASSERT_EQUAL(strmap_put(&b, k3, V(3), NULL), 0);
	CU_ASSERT_PTR_EQUAL(strmap_get(&b, "other"), V(3));
	k3[0] = 'O';
	CU_ASSERT_PTR_NULL(strmap_get(&b, "other"));
	strmap_clear(&b);
}

static void test_replace_returns_old(void)
{
	void *old = NULL;

	fresh();
	CU_ASSERT_EQUAL(strmap_put(&map, "k", V(0), &old), 0);
	CU_ASSERT_PTR_NULL(old);
	CU_ASSERT_EQUAL(strmap_put(&map, "k", V(1), &old), 0);
	CU_ASSERT_PTR_EQUAL(old, V(0));
	CU_ASSERT_EQUAL(strmap_put(&map, "k", V(2), &old), 0);
	CU_ASSERT_PTR_EQUAL(old, V(1));
	CU_ASSERT_PTR_EQUAL(strmap_get(&map, "k"), V(2));
	/* Replacing does not add a key. */
	CU_ASSERT_EQUAL(map.used, 1);
	CU_ASSERT_EQUAL(count_live(&map), 1);
	/* Replacing with old == NULL is allowed. */
	CU_ASSERT_EQUAL(strmap_put(&map, "k", V(3), NULL), 0);
	CU_ASSERT_PTR_EQUAL(strmap_get(&map, "k"), V(3));
	CU_ASSERT_PTR_EQUAL(strmap_del(&map, "k"), V(3));
}

/* A NULL value is stored like any other (get cannot tell it from a miss,
 * but the key is there: iteration sees it). */
static void test_null_value(void)
{
	fresh();
	CU_ASSERT_EQUAL(strmap_put(&map, "n", NULL, NULL), 0);
	CU_ASSERT_EQUAL(map.used, 1);
	CU_ASSERT_EQUAL(count_live(&map), 1);
}

/* ---- growth and tombstones ------------------------------------------------ */

enum { KEYS = 6000 };

static unsigned char live[KEYS];

static void key_of(char buf[32], unsigned i)
{
	snprintf(buf, 32, "key-%u", i);
}

/* Checks the map against `live`: every key's value, the live count, and
 * that iteration visits each live key exactly once. */
static void check_against_shadow(void)
{
	static unsigned visits[KEYS];
	char buf[32];
	size_t want = 0, bad = 0;
	const char *k;
	void *v;

	for (unsigned i = 0; i < KEYS; i++) {
		key_of(buf, i);
		void *got = strmap_get(&map, buf);

		want += live[i];
		if (got != (live[i] ? NUM(i + 1) : NULL))
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(map.used, want);

	memset(visits, 0, sizeof(visits));
	size_t seen = 0, strangers = 0;
	for (size_t pos = 0; strmap_next(&map, &pos, &k, &v);) {
		unsigned i;

		seen++;
		if (sscanf(k, "key-%u", &i) != 1 || i >= KEYS ||
		    v != NUM(i + 1)) {
			strangers++;
			continue;
		}
		visits[i]++;
	}
	CU_ASSERT_EQUAL(strangers, 0);
	CU_ASSERT_EQUAL(seen, want);
	bad = 0;
	for (unsigned i = 0; i < KEYS; i++)
		bad += visits[i] != live[i];
	CU_ASSERT_EQUAL(bad, 0);
}

static void test_growth_with_tombstones(void)
{
	char buf[32];

	fresh();
	memset(live, 0, sizeof(live));
	/* Insert all, deleting every third key right behind the insert. */
	for (unsigned i = 0; i < KEYS; i++) {
		key_of(buf, i);
		CU_ASSERT_EQUAL_FATAL(strmap_put(&map, buf, NUM(i + 1), NULL), 0);
		live[i] = 1;
		if (i % 3 == 0 && i >= 3) {
			key_of(buf, i - 3);
			CU_ASSERT_PTR_EQUAL_FATAL(strmap_del(&map, buf),
						  NUM(i - 3 + 1));
			live[i - 3] = 0;
		}
	}
	check_against_shadow();
	/* The table stays a power of two and under 70% full. */
	CU_ASSERT_TRUE(map.cap >= 16 && (map.cap & (map.cap - 1)) == 0);
	CU_ASSERT_TRUE(map.filled * 10 < map.cap * 7);
	CU_ASSERT_TRUE(map.used <= map.filled);

	/* Churn: delete and re-insert the same keys many times over, which
	 * fills the table with tombstones without adding live keys. */
	for (unsigned round = 0; round < 20; round++)
		for (unsigned i = 0; i < KEYS; i += 7) {
			key_of(buf, i);
			if (live[i]) {
				CU_ASSERT_PTR_EQUAL_FATAL(strmap_del(&map, buf),
							  NUM(i + 1));
				live[i] = 0;
			} else {
				CU_ASSERT_EQUAL_FATAL(
					strmap_put(&map, buf, NUM(i + 1), NULL),
					0);
				live[i] = 1;
			}
		}
	check_against_shadow();
	CU_ASSERT_TRUE(map.filled * 10 < map.cap * 7);

	/* Delete everything: lookups of all keys still terminate and miss. */
	for (unsigned i = 0; i < KEYS; i++) {
		key_of(buf, i);
		CU_ASSERT_PTR_EQUAL_FATAL(strmap_del(&map, buf),
					  live[i] ? NUM(i + 1) : NULL);
		live[i] = 0;
	}
	check_against_shadow();
	CU_ASSERT_EQUAL(map.used, 0);
	CU_ASSERT_EQUAL(count_live(&map), 0);
}

/* A small map filled and emptied over and over never runs out of empty
 * slots (which would make a miss probe forever). */
static void test_tombstones_swept(void)
{
	char buf[32];

	fresh();
	for (unsigned i = 0; i < 10; i++) {
		key_of(buf, i);
		CU_ASSERT_EQUAL_FATAL(strmap_put(&map, buf, NUM(i + 1), NULL), 0);
	}
	for (unsigned i = 10; i < 100000; i++) {
		key_of(buf, i - 10);
		CU_ASSERT_PTR_EQUAL_FATAL(strmap_del(&map, buf),
					  NUM(i - 10 + 1));
		key_of(buf, i);
		CU_ASSERT_EQUAL_FATAL(strmap_put(&map, buf, NUM(i + 1), NULL), 0);
	}
	CU_ASSERT_EQUAL(map.used, 10);
	/* The table is sized by the live keys, not by the churn: rebuilt at
	 * most 50% full, ten keys (plus the one coming) fit in 32 slots. */
	CU_ASSERT_TRUE(map.cap <= 32);
	CU_ASSERT_TRUE(map.filled * 10 < map.cap * 7);
	CU_ASSERT_PTR_NULL(strmap_get(&map, "missing"));
	key_of(buf, 99999);
	CU_ASSERT_PTR_EQUAL(strmap_get(&map, buf), NUM(100000));
	CU_ASSERT_EQUAL(count_live(&map), 10);
}

/* ---- iteration and clear -------------------------------------------------- */

static void test_iteration_each_once(void)
{
	const char *names[] = { "alpha", "beta", "gamma", "delta", "epsilon" };
	unsigned seen[5] = { 0 };
	const char *k;
	void *v;

	fresh();
	for (unsigned i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(strmap_put(&map, names[i], V(i), NULL), 0);
	CU_ASSERT_PTR_EQUAL(strmap_del(&map, "gamma"), V(2));
	for (size_t pos = 0; strmap_next(&map, &pos, &k, &v);) {
		int matched = 0;

		for (unsigned i = 0; i < 5; i++)
			if (strcmp(k, names[i]) == 0) {
				CU_ASSERT_PTR_EQUAL(v, V(i));
				seen[i]++;
				matched = 1;
			}
		CU_ASSERT_TRUE(matched);
	}
	CU_ASSERT_EQUAL(seen[0], 1);
	CU_ASSERT_EQUAL(seen[1], 1);
	CU_ASSERT_EQUAL(seen[2], 0);
	CU_ASSERT_EQUAL(seen[3], 1);
	CU_ASSERT_EQUAL(seen[4], 1);
}

/* Once done, strmap_next keeps answering 0. */
static void test_iteration_end_is_sticky(void)
{
	const char *k;
	void *v;
	size_t pos = 0;

	fresh();
	CU_ASSERT_EQUAL(strmap_put(&map, "only", V(0), NULL), 0);
	CU_ASSERT_EQUAL(strmap_next(&map, &pos, &k, &v), 1);
	CU_ASSERT_STRING_EQUAL(k, "only");
	CU_ASSERT_PTR_EQUAL(v, V(0));
	CU_ASSERT_EQUAL(strmap_next(&map, &pos, &k, &v), 0);
	CU_ASSERT_EQUAL(strmap_next(&map, &pos, &k, &v), 0);
}

static void test_clear(void)
{
	char buf[32];

	fresh();
	for (unsigned i = 0; i < 100; i++) {
		key_of(buf, i);
		CU_ASSERT_EQUAL(strmap_put(&map, buf, NUM(i + 1), NULL), 0);
	}
	strmap_clear(&map);
	CU_ASSERT_PTR_NULL(map.slots);
	CU_ASSERT_EQUAL(map.cap, 0);
	CU_ASSERT_EQUAL(map.used, 0);
	CU_ASSERT_EQUAL(map.filled, 0);
	CU_ASSERT_PTR_NULL(strmap_get(&map, "key-1"));
	CU_ASSERT_EQUAL(count_live(&map), 0);
	/* Clearing twice is fine, and the map is usable again. */
	strmap_clear(&map);
	CU_ASSERT_EQUAL(strmap_put(&map, "key-1", NUM(5), NULL), 0);
	CU_ASSERT_PTR_EQUAL(strmap_get(&map, "key-1"), NUM(5));
}

static const drukbox_test basic_tests[] = {
	{ "empty map", test_empty_map },
	{ "put, get, del", test_put_get_del },
	{ "key is copied in", test_key_is_copied },
	{ "borrowed keys are the caller's", test_borrowed_keys },
	{ "replace returns the old value", test_replace_returns_old },
	{ "NULL value is a live key", test_null_value },
	{ NULL, NULL },
};

static const drukbox_test growth_tests[] = {
	{ "6000 keys with interleaved deletes and churn",
	  test_growth_with_tombstones },
	{ "tombstones are swept, table does not grow",
	  test_tombstones_swept },
	{ NULL, NULL },
};

static const drukbox_test iter_tests[] = {
	{ "iteration visits each live key once", test_iteration_each_once },
	{ "iteration end is sticky", test_iteration_end_is_sticky },
	{ "clear", test_clear },
	{ NULL, NULL },
};

static const drukbox_test_suite suites[] = {
	{ "strmap_basic", NULL, teardown, basic_tests },
	{ "strmap_growth", NULL, teardown, growth_tests },
	{ "strmap_iteration", NULL, teardown, iter_tests },
};

DRUKBOX_TEST_MAIN(suites)
