/*
 * The cache policy, as a pure function of the clock so that it can be
 * tested with a fake one.
 *
 * A cached value is fetched on demand only (an idle mount sends nothing),
 * at most once per TTL window whether the fetch succeeded or failed (a
 * dead service is not hammered), by one fetch at a time (concurrent misses
 * coalesce).  A reader with data in hand never waits longer than `grace`
 * past the start of a refresh: stale data beats a hang.  A reader with no
 * data at all waits for the fetch, bounded by the request timeout.
 */
#ifndef DRUKFS_FRESHNESS_H
#define DRUKFS_FRESHNESS_H

#include <stdbool.h>

typedef struct drukfs_freshness {
	double fetched_at;      /* monotonic seconds of the last good data;
				   < 0: never */
	double attempt_at;      /* start of the last fetch, good or bad;
				   < 0: never */
	bool fetching;          /* a fetch is under way */
} drukfs_freshness;

typedef struct drukfs_decision {
	bool start;             /* start a fetch now (sets attempt_at) */
	double wait_until;      /* wait for the fetch until this time (<=
				   now: do not wait) */
	bool have_data;         /* there is data to serve, fresh or stale */
} drukfs_decision;

/* Decides what a reader at `now` does.  Cannot fail. */
drukfs_decision drukfs_freshness_decide(const drukfs_freshness *f, double now,
					double ttl, double grace,
					double timeout);

/* Whether data fetched at `fetched_at` is still within its TTL. */
bool drukfs_freshness_fresh(double fetched_at, double now, double ttl);

#endif
