/*
 * Unit tests for src/fs/freshness.c: the cache policy, driven by a fake
 * clock.
 *
 * Every test builds a drukfs_freshness by hand, asks for a decision at a
 * chosen `now`, and checks all three fields of the answer exactly.  The
 * times are small integers and halves, which doubles represent exactly, so
 * the comparisons are exact too.  The constants below are the ones drukfs
 * runs with by default (cache_ttl 2 s), a grace of 0.25 s and a request
 * timeout of 300 s.
 */
#include <stdbool.h>

#include "freshness.h"

#include "../support/cunit_main.h"

#define TTL 2.0
#define GRACE 0.25
#define TIMEOUT 300.0

static drukfs_freshness state(double fetched_at, double attempt_at,
			      bool fetching)
{
	drukfs_freshness f = { fetched_at, attempt_at, fetching };

	return f;
}

static drukfs_decision decide(drukfs_freshness f, double now)
{
	return drukfs_freshness_decide(&f, now, TTL, GRACE, TIMEOUT);
}

/* ---- drukfs_freshness_fresh ----------------------------------------------- */

static void test_fresh_boundaries(void)
{
	/* Within the window, from its first instant to just before its end. */
	CU_ASSERT_TRUE(drukfs_freshness_fresh(100.0, 100.0, TTL));
	CU_ASSERT_TRUE(drukfs_freshness_fresh(100.0, 101.5, TTL));
	CU_ASSERT_TRUE(drukfs_freshness_fresh(100.0, 101.999, TTL));
	/* Exactly ttl old is stale. */
	CU_ASSERT_FALSE(drukfs_freshness_fresh(100.0, 102.0, TTL));
	CU_ASSERT_FALSE(drukfs_freshness_fresh(100.0, 102.5, TTL));
	/* Never fetched: never fresh, whatever the clock says. */
	CU_ASSERT_FALSE(drukfs_freshness_fresh(-1.0, 0.0, TTL));
	CU_ASSERT_FALSE(drukfs_freshness_fresh(-1.0, -1.0, TTL));
	/* A fetch at time 0 is a real fetch (only < 0 means never). */
	CU_ASSERT_TRUE(drukfs_freshness_fresh(0.0, 1.0, TTL));
	/* ttl 0: nothing is ever fresh. */
	CU_ASSERT_FALSE(drukfs_freshness_fresh(100.0, 100.0, 0.0));
}

/* ---- drukfs_freshness_decide ---------------------------------------------- */

/* Fresh data is served as it is: no fetch, no wait. */
static void test_fresh_serves_without_fetch(void)
{
	drukfs_decision d = decide(state(100.0, 100.0, false), 101.0);

	CU_ASSERT_FALSE(d.start);
	CU_ASSERT_TRUE(d.have_data);
	CU_ASSERT_DOUBLE_EQUAL(d.wait_until, 101.0, 0.0);
	CU_ASSERT_TRUE(d.wait_until <= 101.0);
}

/* Fresh data is served even while a fetch runs: no wait for it. */
static void test_fresh_while_fetching_does_not_wait(void)
{
	drukfs_decision d = decide(state(100.0, 101.0, true), 101.5);

	CU_ASSERT_FALSE(d.start);
	CU_ASSERT_TRUE(d.have_data);
	CU_ASSERT_DOUBLE_EQUAL(d.wait_until, 101.5, 0.0);
}

/* Stale data, no fetch running, last attempt outside the window: start one
 * and wait at most `grace` for it. */
static void test_stale_starts_and_waits_grace(void)
{
	drukfs_decision d = decide(state(100.0, 100.0, false), 103.0);

	CU_ASSERT_TRUE(d.start);
	CU_ASSERT_TRUE(d.have_data);
	CU_ASSERT_DOUBLE_EQUAL(d.wait_until, 103.0 + GRACE, 0.0);
}

/* Exactly ttl after the last good fetch (and attempt): stale, start. */
static void test_stale_at_exact_ttl_starts(void)
{
	drukfs_decision d = decide(state(100.0, 100.0, false), 102.0);

	CU_ASSERT_TRUE(d.start);
	CU_ASSERT_TRUE(d.have_data);
	CU_ASSERT_DOUBLE_EQUAL(d.wait_until, 102.0 + GRACE, 0.0);
}

/* Stale data while a fetch runs: join it, waiting until grace past its
 * start. */
static void test_stale_joins_running_fetch(void)
{
	drukfs_decision d = decide(state(100.0, 103.0, true), 103.125);

	CU_ASSERT_FALSE(d.start);
	CU_ASSERT_TRUE(d.have_data);
	CU_ASSERT_DOUBLE_EQUAL(d.wait_until, 103.0 + GRACE, 0.0);
	CU_ASSERT_TRUE(d.wait_until > 103.125);
}

/* A running fetch that began more than grace ago: serve stale data at
 * once, do not wait. */
static void test_stale_running_fetch_past_grace_no_wait(void)
{
	drukfs_decision d = decide(state(100.0, 103.0, true), 104.0);

	CU_ASSERT_FALSE(d.start);
	CU_ASSERT_TRUE(d.have_data);
	CU_ASSERT_DOUBLE_EQUAL(d.wait_until, 103.0 + GRACE, 0.0);
	CU_ASSERT_TRUE(d.wait_until <= 104.0);
}

/* Nothing cached, nothing running: start, and wait for the whole request
 * (timeout + 1 s). */
static void test_no_data_starts_and_waits_timeout(void)
{
	drukfs_decision d = decide(state(-1.0, -1.0, false), 50.0);

	CU_ASSERT_TRUE(d.start);
	CU_ASSERT_FALSE(d.have_data);
	CU_ASSERT_DOUBLE_EQUAL(d.wait_until, 50.0 + TIMEOUT + 1.0, 0.0);
}

/* Nothing cached, a fetch running: wait for it, counted from its start. */
static void test_no_data_joins_running_fetch(void)
{
	drukfs_decision d = decide(state(-1.0, 49.0, true), 50.0);

	CU_ASSERT_FALSE(d.start);
	CU_ASSERT_FALSE(d.have_data);
	CU_ASSERT_DOUBLE_EQUAL(d.wait_until, 49.0 + TIMEOUT + 1.0, 0.0);
}

/* A fetch failed (attempt_at set, fetched_at not): within the same TTL
 * window nothing is retried, and with no data there is nothing to wait
 * for either. */
static void test_failure_no_data_one_attempt_per_window(void)
{
	drukfs_freshness f = state(-1.0, 50.0, false);
	drukfs_decision d = decide(f, 50.0);

	CU_ASSERT_FALSE(d.start);
	CU_ASSERT_FALSE(d.have_data);
	CU_ASSERT_TRUE(d.wait_until <= 50.0);

	d = decide(f, 51.999);
	CU_ASSERT_FALSE(d.start);
	CU_ASSERT_FALSE(d.have_data);
	CU_ASSERT_TRUE(d.wait_until <= 51.999);

	/* The window is over: one new attempt. */
	d = decide(f, 52.0);
	CU_ASSERT_TRUE(d.start);
	CU_ASSERT_FALSE(d.have_data);
	CU_ASSERT_DOUBLE_EQUAL(d.wait_until, 52.0 + TIMEOUT + 1.0, 0.0);
}

/* A refresh of stale data failed: serve the stale data, do not retry until
 * the window of the failed attempt is over. */
static void test_failure_with_stale_data_no_retry(void)
{
	drukfs_freshness f = state(100.0, 103.0, false);
	drukfs_decision d = decide(f, 104.0);

	CU_ASSERT_FALSE(d.start);
	CU_ASSERT_TRUE(d.have_data);
	CU_ASSERT_TRUE(d.wait_until <= 104.0);

	d = decide(f, 105.0);
	CU_ASSERT_TRUE(d.start);
	CU_ASSERT_TRUE(d.have_data);
	CU_ASSERT_DOUBLE_EQUAL(d.wait_until, 105.0 + GRACE, 0.0);
}

/* ttl 0: no caching at all; every reader starts a fetch unless one runs. */
static void test_ttl_zero_always_starts(void)
{
	drukfs_freshness f = state(100.0, 100.0, false);
	drukfs_decision d =
		drukfs_freshness_decide(&f, 100.0, 0.0, GRACE, TIMEOUT);

	CU_ASSERT_TRUE(d.start);
	CU_ASSERT_TRUE(d.have_data);
	CU_ASSERT_DOUBLE_EQUAL(d.wait_until, 100.0 + GRACE, 0.0);

	f = state(-1.0, 100.0, false);
	d = drukfs_freshness_decide(&f, 100.0, 0.0, GRACE, TIMEOUT);
	CU_ASSERT_TRUE(d.start);
	CU_ASSERT_FALSE(d.have_data);
	CU_ASSERT_DOUBLE_EQUAL(d.wait_until, 100.0 + TIMEOUT + 1.0, 0.0);

	/* ...but a running fetch is joined, not doubled. */
	f = state(100.0, 100.0, true);
	d = drukfs_freshness_decide(&f, 100.0, 0.0, GRACE, TIMEOUT);
	CU_ASSERT_FALSE(d.start);
	CU_ASSERT_TRUE(d.have_data);
	CU_ASSERT_DOUBLE_EQUAL(d.wait_until, 100.0 + GRACE, 0.0);
}

/* The input is not modified (the caller records attempt_at itself). */
static void test_decide_leaves_state_alone(void)
{
	drukfs_freshness f = state(100.0, 100.0, false);
	drukfs_decision d = drukfs_freshness_decide(&f, 103.0, TTL, GRACE,
						    TIMEOUT);

	CU_ASSERT_TRUE(d.start);
	CU_ASSERT_DOUBLE_EQUAL(f.fetched_at, 100.0, 0.0);
	CU_ASSERT_DOUBLE_EQUAL(f.attempt_at, 100.0, 0.0);
	CU_ASSERT_FALSE(f.fetching);
}

static const drukbox_test fresh_tests[] = {
	{ "fresh: boundaries (exactly ttl is stale, < 0 never)",
	  test_fresh_boundaries },
	{ NULL, NULL },
};

static const drukbox_test decide_tests[] = {
	{ "fresh data: serve, no start, no wait",
	  test_fresh_serves_without_fetch },
	{ "fresh data while fetching: no wait",
	  test_fresh_while_fetching_does_not_wait },
	{ "stale, idle: start, wait now+grace",
	  test_stale_starts_and_waits_grace },
	{ "stale at exactly ttl: start", test_stale_at_exact_ttl_starts },
	{ "stale, fetch running: join, wait attempt_at+grace",
	  test_stale_joins_running_fetch },
	{ "stale, fetch running past grace: no wait",
	  test_stale_running_fetch_past_grace_no_wait },
	{ "no data: start, wait timeout+1",
	  test_no_data_starts_and_waits_timeout },
	{ "no data, fetch running: wait attempt_at+timeout+1",
	  test_no_data_joins_running_fetch },
	{ "failure, no data: one attempt per window, no wait",
	  test_failure_no_data_one_attempt_per_window },
	{ "failure with stale data: serve stale, no retry in window",
	  test_failure_with_stale_data_no_retry },
	{ "ttl 0: always starts unless fetching",
	  test_ttl_zero_always_starts },
	{ "decide does not modify its input", test_decide_leaves_state_alone },
	{ NULL, NULL },
};

static const drukbox_test_suite suites[] = {
	{ "freshness_fresh", NULL, NULL, fresh_tests },
	{ "freshness_decide", NULL, NULL, decide_tests },
};

DRUKBOX_TEST_MAIN(suites)
