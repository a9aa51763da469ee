/*
 * Unit tests for src/fs/tree.c (compiled with strmap.c): inode numbers and
 * the node table with its kernel lookup counts.
 *
 * Node numbers are the point of several tests, so each test starts with
 * a table of its own (fresh()).  CUnit's fixtures run per suite, not per
 * test, and a failed fatal assertion leaves the test function early, so
 * the previous table is freed by the next fresh() or by the suite
 * teardown: nodes a test leaves behind are freed by drukfs_tree_free(),
 * never leaked.  The last test hammers one table from several threads;
 * under ASan or valgrind it also checks the locking.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tree.h"

#include "../support/cunit_main.h"

static drukfs_tree *tree;

/* Replaces the table with an empty one. */
static void fresh(void)
{
	drukfs_tree_free(tree);
	tree = drukfs_tree_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(tree);
}

static int teardown(void)
{
	drukfs_tree_free(tree);
	tree = NULL;
	return 0;
}

/* The handle of node, or NULL; the caller frees. */
static char *handle_of(uint64_t node)
{
	char *h = (char *)"untouched";
	int rc = drukfs_tree_handle(tree, node, &h);

	if (rc != 0) {
		CU_ASSERT_PTR_NULL(h);
		return NULL;
	}
	return h;
}

/* ---- inode numbers -------------------------------------------------------- */

static void test_fixed_inodes(void)
{
	CU_ASSERT_EQUAL(INO_ROOT, 1);
	CU_ASSERT_EQUAL(INO_FIXED_END, 1 << DRUKFS_FIELD_BITS);
	/* Node 1's first inode is the first past the fixed ones. */
	CU_ASSERT_EQUAL(drukfs_ino(1, 0), (uint64_t)INO_FIXED_END);
	CU_ASSERT_TRUE(drukfs_ino(1, 0) > INO_REFRESH);
}

static void test_ino_round_trip(void)
{
	const uint64_t nodes[] = { 1, 2, 3, 31, 32, 1000, UINT64_C(1) << 40,
				   (UINT64_MAX >> DRUKFS_FIELD_BITS) };

	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++)
		for (unsigned f = 0; f < (1u << DRUKFS_FIELD_BITS); f++) {
			uint64_t ino = drukfs_ino(nodes[i], f);

			CU_ASSERT_EQUAL(drukfs_ino_node(ino), nodes[i]);
			CU_ASSERT_EQUAL(drukfs_ino_field(ino), f);
		}
	CU_ASSERT_EQUAL(drukfs_ino(3, 5), UINT64_C(3) * 32 + 5);
	CU_ASSERT_EQUAL(drukfs_ino_node(UINT64_C(101)), 3);
	CU_ASSERT_EQUAL(drukfs_ino_field(UINT64_C(101)), 5);
	/* Fixed inodes belong to node 0. */
	CU_ASSERT_EQUAL(drukfs_ino_node(INO_STATS), 0);
	CU_ASSERT_EQUAL(drukfs_ino_field(INO_STATS), (unsigned)INO_STATS);
}

/* ---- ref / find / handle -------------------------------------------------- */

static void test_ref_numbers_from_one(void)
{
	uint64_t a = 0, b = 0, c = 0;

	fresh();
	CU_ASSERT_EQUAL(drukfs_tree_ref(tree, "alpha", &a), 0);
	CU_ASSERT_EQUAL(drukfs_tree_ref(tree, "beta", &b), 0);
	CU_ASSERT_EQUAL(drukfs_tree_ref(tree, "gamma", &c), 0);
	CU_ASSERT_EQUAL(a, 1);
	CU_ASSERT_EQUAL(b, 2);
	CU_ASSERT_EQUAL(c, 3);

	char *h = handle_of(b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_STRING_EQUAL(h, "beta");
	free(h);

	uint64_t found = 0;
	CU_ASSERT_EQUAL(drukfs_tree_find(tree, "gamma", &found), 0);
	CU_ASSERT_EQUAL(found, 3);
}

static void test_ref_same_handle_same_node(void)
{
	uint64_t a = 0, again = 0;

	fresh();
	CU_ASSERT_EQUAL(drukfs_tree_ref(tree, "same", &a), 0);
	CU_ASSERT_EQUAL(drukfs_tree_ref(tree, "same", &again), 0);
	CU_ASSERT_EQUAL(a, 1);
	CU_ASSERT_EQUAL(again, a);
	/* The handle is copied in: the caller's buffer may change. */
	char buf[8];
	uint64_t other = 0;
	snprintf(buf, sizeof(buf), "%s", "buf");
	CU_ASSERT_EQUAL(drukfs_tree_ref(tree, buf, &other), 0);
	CU_ASSERT_EQUAL(other, 2);
	buf[0] = 'X';
	uint64_t found = 0;
	CU_ASSERT_EQUAL(drukfs_tree_find(tree, "buf", &found), 0);
	CU_ASSERT_EQUAL(found, 2);
	CU_ASSERT_EQUAL(drukfs_tree_find(tree, "Xuf", &found), -ENOENT);
}

static void test_unknown_lookups(void)
{
	uint64_t found = 12345;

	fresh();
	CU_ASSERT_EQUAL(drukfs_tree_find(tree, "nobody", &found), -ENOENT);
	CU_ASSERT_EQUAL(found, 12345);
	CU_ASSERT_PTR_NULL(handle_of(1));
	CU_ASSERT_PTR_NULL(handle_of(0));
	CU_ASSERT_PTR_NULL(handle_of(UINT64_MAX));
	char *h = (char *)"untouched";
	CU_ASSERT_EQUAL(drukfs_tree_handle(tree, 7, &h), -ENOENT);
	CU_ASSERT_PTR_NULL(h);
}

/* ---- forget --------------------------------------------------------------- */

static void test_forget_to_zero_drops(void)
{
	uint64_t a = 0, found = 0;
	char *h = (char *)"untouched";

	fresh();
	CU_ASSERT_EQUAL(drukfs_tree_ref(tree, "host", &a), 0);
	CU_ASSERT_EQUAL(drukfs_tree_ref(tree, "host", &a), 0);
	CU_ASSERT_EQUAL(a, 1);
	drukfs_tree_forget(tree, a, 2);
	CU_ASSERT_EQUAL(drukfs_tree_handle(tree, a, &h), -ENOENT);
	CU_ASSERT_PTR_NULL(h);
	CU_ASSERT_EQUAL(drukfs_tree_find(tree, "host", &found), -ENOENT);
}

static void test_new_ref_after_drop_gets_new_number(void)
{
	uint64_t first = 0, second = 0, third = 0;

	fresh();
	CU_ASSERT_EQUAL(drukfs_tree_ref(tree, "host", &first), 0);
	drukfs_tree_forget(tree, first, 1);
	CU_ASSERT_EQUAL(drukfs_tree_ref(tree, "host", &second), 0);
	CU_ASSERT_EQUAL(first, 1);
	CU_ASSERT_EQUAL(second, 2);
	/* The old number stays dead: it does not alias the new node. */
	CU_ASSERT_PTR_NULL(handle_of(first));
	char *h = handle_of(second);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_STRING_EQUAL(h, "host");
	free(h);
	/* Another handle does not get the freed number either. */
	CU_ASSERT_EQUAL(drukfs_tree_ref(tree, "other", &third), 0);
	CU_ASSERT_EQUAL(third, 3);
}

static void test_partial_forget_keeps(void)
{
	uint64_t a = 0, found = 0;

	fresh();
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(drukfs_tree_ref(tree, "kept", &a), 0);
	drukfs_tree_forget(tree, a, 2);
	CU_ASSERT_EQUAL(drukfs_tree_find(tree, "kept", &found), 0);
	CU_ASSERT_EQUAL(found, a);
	char *h = handle_of(a);
	CU_ASSERT_PTR_NOT_NULL(h);
	free(h);
	/* A ref now raises the count from 1 to 2: it takes two forgets of
	 * one to drop. */
	uint64_t again = 0;
	CU_ASSERT_EQUAL(drukfs_tree_ref(tree, "kept", &again), 0);
	CU_ASSERT_EQUAL(again, a);
	drukfs_tree_forget(tree, a, 1);
	CU_ASSERT_EQUAL(drukfs_tree_find(tree, "kept", &found), 0);
	drukfs_tree_forget(tree, a, 1);
	CU_ASSERT_EQUAL(drukfs_tree_find(tree, "kept", &found), -ENOENT);
}

/* Forgetting more than was looked up drops the node; no underflow. */
static void test_forget_more_than_count(void)
{
	uint64_t a = 0, found = 0;

	fresh();
	CU_ASSERT_EQUAL(drukfs_tree_ref(tree, "over", &a), 0);
	drukfs_tree_forget(tree, a, 1000);
	CU_ASSERT_EQUAL(drukfs_tree_find(tree, "over", &found), -ENOENT);
	CU_ASSERT_PTR_NULL(handle_of(a));
}

static void test_forget_unknown_is_harmless(void)
{
	uint64_t a = 0, found = 0;

	fresh();
	CU_ASSERT_EQUAL(drukfs_tree_ref(tree, "live", &a), 0);
	drukfs_tree_forget(tree, 999, 1);
	drukfs_tree_forget(tree, 0, 1);
	drukfs_tree_forget(tree, UINT64_MAX, UINT64_MAX);
	/* Twice on a dropped node. */
	uint64_t gone = 0;
	CU_ASSERT_EQUAL(drukfs_tree_ref(tree, "gone", &gone), 0);
	drukfs_tree_forget(tree, gone, 1);
	drukfs_tree_forget(tree, gone, 1);
	/* The live node is untouched. */
	CU_ASSERT_EQUAL(drukfs_tree_find(tree, "live", &found), 0);
	CU_ASSERT_EQUAL(found, a);
	CU_ASSERT_EQUAL(drukfs_tree_find(tree, "gone", &found), -ENOENT);
}

/* Many nodes at once (the maps grow), then all forgotten. */
static void test_many_nodes(void)
{
	enum { N = 5000 };
	char name[32];
	uint64_t node;

	fresh();
	for (unsigned i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "host-%u", i);
		CU_ASSERT_EQUAL_FATAL(drukfs_tree_ref(tree, name, &node), 0);
		CU_ASSERT_EQUAL_FATAL(node, (uint64_t)i + 1);
	}
	for (unsigned i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "host-%u", i);
		CU_ASSERT_EQUAL_FATAL(drukfs_tree_find(tree, name, &node), 0);
		CU_ASSERT_EQUAL_FATAL(node, (uint64_t)i + 1);
		char *h = handle_of(node);
		CU_ASSERT_PTR_NOT_NULL_FATAL(h);
		CU_ASSERT_STRING_EQUAL(h, name);
		free(h);
	}
	for (unsigned i = 0; i < N; i += 2)
		drukfs_tree_forget(tree, (uint64_t)i + 1, 1);
	for (unsigned i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "host-%u", i);
		CU_ASSERT_EQUAL_FATAL(drukfs_tree_find(tree, name, &node),
				      i % 2 ? 0 : -ENOENT);
	}
	/* The rest are left for drukfs_tree_free() in the teardown. */
}

/* ---- threads -------------------------------------------------------------- */

enum { THREADS = 8, ROUNDS = 10000, HANDLES = 5 };

static const char *const shared_handles[HANDLES] = { "h0", "h1", "h2", "h3",
						      "h4" };

typedef struct worker {
	unsigned id;
	unsigned errors;   /* wrong answers seen while holding a ref */
	uint64_t max_node;
} worker;

/* Ref, check the node while holding it, forget.  Threads share the
 * handles, so nodes are made and dropped under each other's feet. */
static void *work(void *arg)
{
	worker *w = arg;

	for (unsigned r = 0; r < ROUNDS; r++) {
		const char *handle = shared_handles[(w->id + r) % HANDLES];
		uint64_t node = 0, found = 0;
		char *h = NULL;

		if (drukfs_tree_ref(tree, handle, &node) != 0 || node == 0) {
			w->errors++;
			continue;
		}
		if (node > w->max_node)
			w->max_node = node;
		/* While we hold a ref the node cannot go away or change. */
		if (drukfs_tree_handle(tree, node, &h) != 0 || !h ||
		    strcmp(h, handle) != 0)
			w->errors++;
		free(h);
		if (drukfs_tree_find(tree, handle, &found) != 0 ||
		    found != node)
			w->errors++;
		drukfs_tree_forget(tree, node, 1);
	}
	return NULL;
}

static void test_threads_ref_forget(void)
{
	pthread_t th[THREADS];
	worker w[THREADS];
	uint64_t max_node = 0, node = 0;

	fresh();
	for (unsigned i = 0; i < THREADS; i++) {
		w[i] = (worker){ i, 0, 0 };
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, work, &w[i]),
				      0);
	}
	for (unsigned i = 0; i < THREADS; i++) {
		CU_ASSERT_EQUAL(pthread_join(th[i], NULL), 0);
		CU_ASSERT_EQUAL(w[i].errors, 0);
		if (w[i].max_node > max_node)
			max_node = w[i].max_node;
	}
	/* Every pair was balanced: the table is empty. */
	for (unsigned i = 0; i < HANDLES; i++)
		CU_ASSERT_EQUAL(drukfs_tree_find(tree, shared_handles[i], &node),
				-ENOENT);
	for (uint64_t k = 1; k <= max_node; k++) {
		char *h = handle_of(k);

		CU_ASSERT_PTR_NULL(h);
		free(h);
	}
	/* Numbers are still never reused. */
	CU_ASSERT_EQUAL(drukfs_tree_ref(tree, "h0", &node), 0);
	CU_ASSERT_TRUE(node > max_node);
}

static const drukbox_test ino_tests[] = {
	{ "fixed inodes stay below node 1", test_fixed_inodes },
	{ "ino packing round trip", test_ino_round_trip },
	{ NULL, NULL },
};

static const drukbox_test ref_tests[] = {
	{ "ref numbers nodes from 1, one per handle",
	  test_ref_numbers_from_one },
	{ "ref again on a handle: same node", test_ref_same_handle_same_node },
	{ "unknown handle and node: -ENOENT", test_unknown_lookups },
	{ NULL, NULL },
};

static const drukbox_test forget_tests[] = {
	{ "forget to zero drops the node", test_forget_to_zero_drops },
	{ "ref after drop: a new number, never reused",
	  test_new_ref_after_drop_gets_new_number },
	{ "partial forget keeps the node", test_partial_forget_keeps },
	{ "forget more than the count drops, no underflow",
	  test_forget_more_than_count },
	{ "forget of an unknown node is harmless",
	  test_forget_unknown_is_harmless },
	{ "5000 nodes, half forgotten", test_many_nodes },
	{ NULL, NULL },
};

static const drukbox_test thread_tests[] = {
	{ "8 threads x 10000 ref/forget on shared handles",
	  test_threads_ref_forget },
	{ NULL, NULL },
};

static const drukbox_test_suite suites[] = {
	{ "tree_ino", NULL, NULL, ino_tests },
	{ "tree_ref", NULL, teardown, ref_tests },
	{ "tree_forget", NULL, teardown, forget_tests },
	{ "tree_threads", NULL, teardown, thread_tests },
};

DRUKBOX_TEST_MAIN(suites)
