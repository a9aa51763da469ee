/*
 * The cache of API calls that every read is served from.
 *
 *  - The host list: one GET /hosts per TTL window at most, fetched by a
 *    worker thread on demand; readers share immutable, reference-counted
 *    snapshots, so a reader never sees a half-updated list and never holds
 *    a lock while it renders.
 *  - Hosts looked up by id that the list lacks: one GET /hosts/{id} each,
 *    positive and negative answers kept for a TTL.
 *  - The doctor report, with its own TTL.
 *  - An overlay of local mutations (a create's answer, a delete) that is
 *    applied to every list fetched before the mutation, so that a slow
 *    list fetch can never bring back a deleted host or an old state.
 *
 * Layering: the cache calls the client (libdrukbox) and nothing above it;
 * it reports changes upward through the `changed` callback, which the
 * filesystem turns into kernel invalidations.
 */
#ifndef DRUKFS_CACHE_H
#define DRUKFS_CACHE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <drukbox/drukbox.h>

#include "log.h"

/* A host record shared between snapshots and readers. */
typedef struct drukfs_rec {
	atomic_int ref;
	drukbox_host *host;
} drukfs_rec;

/* Wraps host (taking ownership) in a record with one reference.  NULL on
 * ENOMEM (host is then freed). */
drukfs_rec *drukfs_rec_new(drukbox_host *host);
drukfs_rec *drukfs_rec_ref(drukfs_rec *r);
void drukfs_rec_unref(drukfs_rec *r);

/* An immutable host list. */
typedef struct drukfs_snapshot {
	atomic_int ref;
	size_t count;
	drukfs_rec **recs;      /* service order: newest first */
	size_t cap;             /* private: room in recs */
	double fetched_at;      /* monotonic seconds */
	uint64_t generation;
	void *index;            /* private: id -> rec */
} drukfs_snapshot;

void drukfs_snapshot_unref(drukfs_snapshot *s);

/* The record with `id` in s, borrowed (valid while s is held), or NULL. */
drukfs_rec *drukfs_snapshot_find(const drukfs_snapshot *s, const char *id);

typedef struct drukfs_cache drukfs_cache;

/* Called when the record of host `id` changed or disappeared, with the
 * cache's lock held (the change is visible to readers from then on): it
 * must only queue what it does, and take no lock but its own. */
typedef void (*drukfs_changed_fn)(void *ctx, const char *id);

typedef struct drukfs_cache_opts {
	double ttl;             /* host list and per-id answers, seconds */
	double doctor_ttl;
	double timeout;         /* the client's request timeout */
	double grace;           /* how long a reader with stale data waits
				   for a refresh before it is served stale */
	drukfs_changed_fn changed;
	void *changed_ctx;
} drukfs_cache_opts;

/* The cache.  Starts its list worker thread.  0 or -errno. */
int drukfs_cache_new(drukfs_cache **out, drukbox_client *client,
		     drukfs_log *log, const drukfs_cache_opts *opts);
void drukfs_cache_free(drukfs_cache *c);

/* Waits until no fetch thread is running.  A finished list fetch calls
 * opts.changed: whoever owns what that callback reaches must call this,
 * once nothing can start a new fetch, before freeing it. */
void drukfs_cache_wait_idle(drukfs_cache *c);

/* Flags for the read calls. */
enum {
	/* Answer from what the cache holds; a refresh that is due starts in
	 * the background instead of being waited for.  For whatever ssh
	 * reads, and for names and attributes. */
	DRUKFS_NOWAIT = 1,
	/* Only what the cache holds, with no request, no wait and no
	 * refresh started: -EAGAIN when it does not know.  For the
	 * notifier, which must never wait on the service. */
	DRUKFS_CACHED = 2,
};

/* The current host list, refreshed per the policy in freshness.h (with
 * DRUKFS_NOWAIT: a grace of zero).  0 with *out (the caller unrefs), or
 * the negative errno of the failure that left no data at all. */
int drukfs_cache_list(drukfs_cache *c, int flags, drukfs_snapshot **out);

/* The mount-time check: GET /hosts now, in the caller's thread, the list
 * installed as a fetch would install it.  0, or the library's negative
 * error (drukbox_error_last() says what; nothing is installed). */
int drukfs_cache_prime(drukfs_cache *c);

/* A smoothed response time of the service's quick requests (list, get,
 * doctor), in seconds; < 0 before the first one.  It tells mkdir and
 * rmdir how long a rejection takes to arrive. */
double drukfs_cache_rtt(drukfs_cache *c);

/* The record of host `id`: from the list, else one GET /hosts/{id} (the
 * answer, found or not, kept for a TTL).  0 with *out (caller unrefs),
 * -ENOENT, or the negative errno of a failure. */
int drukfs_cache_get(drukfs_cache *c, const char *id, int flags,
		     drukfs_rec **out);

/* Forces the next read of the list to fetch (a waiter polling). */
void drukfs_cache_expire(drukfs_cache *c);

/* Applies a local mutation: `host` (ownership taken, may be NULL for a
 * delete) replaces or removes host `id` in the current list and in every
 * list still being fetched, and reports it through `changed`.  0 or
 * -ENOMEM. */
int drukfs_cache_apply(drukfs_cache *c, const char *id, drukbox_host *host);

/* Drops every cached answer (.drukfs/refresh, SIGHUP). */
void drukfs_cache_drop(drukfs_cache *c);

/* The doctor report (shared; caller unrefs with drukfs_doctor_unref), or
 * a negative errno with no report. */
typedef struct drukfs_doctor_ref {
	atomic_int ref;
	drukbox_doctor *doctor;
} drukfs_doctor_ref;
int drukfs_cache_doctor(drukfs_cache *c, drukfs_doctor_ref **out);
void drukfs_doctor_unref(drukfs_doctor_ref *d);

/* What the doctor file says about drukfs's own view. */
typedef struct drukfs_cache_status {
	int reachable;          /* 1, 0, -1 unknown */
	int token_accepted;     /* 1, 0, -1 unknown */
	double list_age;        /* seconds; < 0 none */
	size_t host_count;
	char last_error[DRUKBOX_DETAIL_MAX + 64];
} drukfs_cache_status;
void drukfs_cache_status_get(drukfs_cache *c, drukfs_cache_status *out);

/* Counters for .drukfs/stats. */
enum drukfs_route {
	ROUTE_LIST, ROUTE_GET, ROUTE_CREATE, ROUTE_DELETE, ROUTE_RENEW,
	ROUTE_DOCTOR, ROUTE_HEALTHZ, ROUTE_COUNT
};
typedef struct drukfs_cache_stats {
	uint64_t requests[ROUTE_COUNT];
	uint64_t failures[ROUTE_COUNT];
	uint64_t hits, misses, stale_served;
	double last_refresh_age; /* seconds; < 0 never */
} drukfs_cache_stats;
void drukfs_cache_stats_get(drukfs_cache *c, drukfs_cache_stats *out);

/* Counts a request made outside the cache (creates, deletes, ...). */
void drukfs_cache_count(drukfs_cache *c, enum drukfs_route route, int failed);

/* Monotonic seconds, and such a time as a timespec for
 * pthread_cond_timedwait() on a CLOCK_MONOTONIC condition variable. */
double drukfs_now(void);
struct timespec drukfs_timespec(double at);

#endif
