/*
 * Unit tests for src/fs/u64map.c: the node number -> node map.
 *
 * Backward-shift deletion is where such a map goes wrong (an entry left
 * unreachable behind a gap), so the churn test deletes in random order
 * from long probe runs and checks every key against a shadow array after
 * every step; keys are random (so that they collide) as well as
 * sequential like inode numbers.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "u64map.h"

#include "../support/cunit_main.h"

#define NUM(i) ((void *)(uintptr_t)(i))

static u64map map = U64MAP_INIT;

static int teardown(void)
{
	u64map_clear(&map);
	return 0;
}

static void test_empty(void)
{
	u64map m = U64MAP_INIT;
	uint64_t k;
	void *v;
	size_t pos = 0;

	CU_ASSERT_PTR_NULL(u64map_get(&m, 1));
	CU_ASSERT_PTR_NULL(u64map_del(&m, 1));
	CU_ASSERT_EQUAL(u64map_next(&m, &pos, &k, &v), 0);
	u64map_clear(&m);
}

static void test_put_get_del(void)
{
	u64map_clear(&map);
	CU_ASSERT_EQUAL(u64map_put(&map, 1, NUM(10)), 0);
	CU_ASSERT_EQUAL(u64map_put(&map, 2, NUM(20)), 0);
	CU_ASSERT_PTR_EQUAL(u64map_get(&map, 1), NUM(10));
	CU_ASSERT_PTR_EQUAL(u64map_get(&map, 2), NUM(20));
	CU_ASSERT_PTR_NULL(u64map_get(&map, 3));
	/* Replacing keeps one key. */
	CU_ASSERT_EQUAL(u64map_put(&map, 1, NUM(11)), 0);
	CU_ASSERT_EQUAL(map.used, 2);
	CU_ASSERT_PTR_EQUAL(u64map_get(&map, 1), NUM(11));
	CU_ASSERT_PTR_EQUAL(u64map_del(&map, 1), NUM(11));
	CU_ASSERT_PTR_NULL(u64map_get(&map, 1));
	CU_ASSERT_PTR_NULL(u64map_del(&map, 1));
	CU_ASSERT_EQUAL(map.used, 1);
}

/* 0 is the empty slot's mark: never a key. */
static void test_zero_key(void)
{
	u64map_clear(&map);
	CU_ASSERT_EQUAL(u64map_put(&map, 0, NUM(1)), -EINVAL);
	CU_ASSERT_EQUAL(map.used, 0);
	CU_ASSERT_PTR_NULL(u64map_get(&map, 0));
	CU_ASSERT_PTR_NULL(u64map_del(&map, 0));
}

#define CHURN 5000

static void check_all(const uint64_t *keys, const int *live, size_t n)
{
	size_t bad = 0, count = 0;

	for (size_t i = 0; i < n; i++) {
		void *want = live[i] ? NUM(i + 1) : NULL;

		if (u64map_get(&map, keys[i]) != want)
			bad++;
		count += live[i] != 0;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(map.used, count);
}

static void churn(const uint64_t *keys)
{
	static int live[CHURN];
	unsigned seed = 7;

	u64map_clear(&map);
	for (size_t i = 0; i < CHURN; i++) {
		CU_ASSERT_EQUAL_FATAL(u64map_put(&map, keys[i], NUM(i + 1)), 0);
		live[i] = 1;
	}
	check_all(keys, live, CHURN);
	/* Delete about half in random order, checking every key as we go
	 * for the first few hundred (long runs are shifted then). */
	for (size_t step = 0; step < CHURN; step++) {
		size_t i = (size_t)rand_r(&seed) % CHURN;

		CU_ASSERT_PTR_EQUAL(u64map_del(&map, keys[i]),
				    live[i] ? NUM(i + 1) : NULL);
		live[i] = 0;
		if (step < 300 || step % 500 == 0)
			check_all(keys, live, CHURN);
	}
	check_all(keys, live, CHURN);
	/* Put them all back: nothing lost, nothing doubled. */
	for (size_t i = 0; i < CHURN; i++) {
		CU_ASSERT_EQUAL(u64map_put(&map, keys[i], NUM(i + 1)), 0);
		live[i] = 1;
	}
	check_all(keys, live, CHURN);
}

static void test_churn_sequential(void)
{
	static uint64_t keys[CHURN];

	for (size_t i = 0; i < CHURN; i++)
		keys[i] = i + 1;
	churn(keys);
}

/* Random 64-bit keys: at 60% load they collide and form the long probe
 * runs that deletion must shift back.  (Sequential keys hardly ever
 * collide under Fibonacci hashing: the test above covers the inode
 * pattern, this one the deletion logic.) */
static void test_churn_random(void)
{
	static uint64_t keys[CHURN];
	uint64_t x = 0x2545F4914F6CDD1DULL;

	for (size_t i = 0; i < CHURN; i++) {
		/* splitmix64 */
		uint64_t z = (x += 0x9E3779B97F4A7C15ULL);

		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
		keys[i] = (z ^ (z >> 31)) | 1;
	}
	churn(keys);
}

static void test_iteration(void)
{
	static unsigned seen[1001];
	uint64_t k;
	void *v;
	size_t n = 0;

	u64map_clear(&map);
	for (uint64_t i = 1; i <= 1000; i++)
		CU_ASSERT_EQUAL(u64map_put(&map, i, NUM(i)), 0);
	for (uint64_t i = 2; i <= 1000; i += 2)
		u64map_del(&map, i);
	for (size_t pos = 0; u64map_next(&map, &pos, &k, &v);) {
		CU_ASSERT(k >= 1 && k <= 1000);
		CU_ASSERT_PTR_EQUAL(v, NUM(k));
		if (k >= 1 && k <= 1000)
			seen[k]++;
		n++;
	}
	CU_ASSERT_EQUAL(n, 500);
	for (uint64_t i = 1; i <= 1000; i++)
		CU_ASSERT_EQUAL(seen[i], i % 2);
}

static const drukbox_test basic_tests[] = {
	{ "empty map", test_empty },
	{ "put, get, replace, del", test_put_get_del },
	{ "key 0 is refused", test_zero_key },
	{ NULL, NULL },
};

static const drukbox_test churn_tests[] = {
	{ "5000 sequential keys, random deletes", test_churn_sequential },
	{ "5000 random keys, random deletes", test_churn_random },
	{ "iteration visits each live key once", test_iteration },
	{ NULL, NULL },
};

static const drukbox_test_suite suites[] = {
	{ "u64map_basic", NULL, teardown, basic_tests },
	{ "u64map_churn", NULL, teardown, churn_tests },
};

DRUKBOX_TEST_MAIN(suites)
