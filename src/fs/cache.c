/*
 * The cache (see cache.h for what it promises).
 *
 * One mutex guards the cache's bookkeeping; it is never held across an
 * HTTP request.  The `changed` callback is called with it held, when a
 * change is installed, so that nothing can read a new record before the
 * callback has queued its invalidation (the callback only queues).  A
 * fetch runs in a short-lived detached thread so that a reader holding
 * stale data can stop waiting for it after `grace` and answer from the
 * stale snapshot while the fetch goes on.  Readers that must wait sleep on one condition variable that every
 * finished fetch broadcasts.
 */
#include "cache.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "freshness.h"
#include "strmap.h"

/* One local mutation waiting to be applied to lists fetched before it. */
typedef struct overlay {
	char *id;
	drukfs_rec *rec;        /* NULL: deleted */
	double at;
} overlay;

/* A per-id answer: a record, or "not found" (rec NULL). */
typedef struct id_answer {
	drukfs_rec *rec;
	double at;
} id_answer;

struct drukfs_cache {
	drukbox_client *client;
	drukfs_log *log;
	drukfs_cache_opts opts;

	pthread_mutex_t lock;
	pthread_cond_t done;    /* a fetch finished */
	int running;            /* fetch threads alive */

	drukfs_snapshot *snap;
	drukfs_freshness list_f;
	int list_err;           /* negative errno of the last failed fetch */
	uint64_t generation;
	overlay *ov;
	size_t ov_count;

	strmap ids;             /* id -> id_answer */

	drukfs_doctor_ref *doctor;
	drukfs_freshness doctor_f;
	int doctor_err;

	int reachable, token_ok;
	char last_error[DRUKBOX_DETAIL_MAX + 64];
	drukfs_cache_stats stats;
	double last_refresh;
	double rtt;             /* smoothed seconds; < 0 unknown */
};

double drukfs_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct timespec drukfs_timespec(double at)
{
	struct timespec ts;

	ts.tv_sec = (time_t)at;
	ts.tv_nsec = (long)((at - (double)ts.tv_sec) * 1e9);
	return ts;
}

/* ---- records and snapshots ---------------------------------------------- */

drukfs_rec *drukfs_rec_new(drukbox_host *host)
{
	drukfs_rec *r = malloc(sizeof(*r));

	if (!r) {
		drukbox_host_free(host);
		return NULL;
	}
	atomic_init(&r->ref, 1);
	r->host = host;
	return r;
}

drukfs_rec *drukfs_rec_ref(drukfs_rec *r)
{
	if (r)
		atomic_fetch_add(&r->ref, 1);
	return r;
}

void drukfs_rec_unref(drukfs_rec *r)
{
	if (r && atomic_fetch_sub(&r->ref, 1) == 1) {
		drukbox_host_free(r->host);
		free(r);
	}
}

void drukfs_snapshot_unref(drukfs_snapshot *s)
{
	if (!s || atomic_fetch_sub(&s->ref, 1) != 1)
		return;
	for (size_t i = 0; i < s->count; i++)
		drukfs_rec_unref(s->recs[i]);
	free(s->recs);
	if (s->index) {
		strmap_clear(s->index);
		free(s->index);
	}
	free(s);
}

drukfs_rec *drukfs_snapshot_find(const drukfs_snapshot *s, const char *id)
{
	return s && s->index ? strmap_get(s->index, id) : NULL;
}

static drukfs_snapshot *snapshot_alloc(size_t cap)
{
	drukfs_snapshot *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	atomic_init(&s->ref, 1);
	strmap *index = malloc(sizeof(*index));

	s->cap = cap ? cap : 1;
	s->recs = calloc(s->cap, sizeof(*s->recs));
	if (!s->recs || !index) {
		free(s->recs);
		free(index);
		free(s);
		return NULL;
	}
	/* Keyed by each record's own id: the snapshot holds the records. */
	*index = (strmap)STRMAP_INIT_BORROWED;
	s->index = index;
	return s;
}

/* Adds rec (a new reference taken) unless its id is already there: a
 * hostile server's duplicate ids show once.  The array grows when full.
 * 0, 1 (duplicate), -ENOMEM. */
static int snapshot_add(drukfs_snapshot *s, drukfs_rec *rec)
{
	const char *id = rec->host->id;

	if (strmap_get(s->index, id))
		return 1;
	if (s->count == s->cap) {
		size_t cap = s->cap + s->cap / 2 + 16;
		drukfs_rec **recs = realloc(s->recs, cap * sizeof(*recs));

		if (!recs)
			return -ENOMEM;
		s->recs = recs;
		s->cap = cap;
	}
	if (strmap_put(s->index, id, rec, NULL) < 0)
		return -ENOMEM;
	s->recs[s->count++] = drukfs_rec_ref(rec);
	return 0;
}

/* A copy of `base` (may be NULL) with host `id` replaced by `rec` (added
 * in front when new) or removed (rec NULL).  NULL on ENOMEM. */
static drukfs_snapshot *snapshot_with(const drukfs_snapshot *base,
				      const char *id, drukfs_rec *rec)
{
	size_t n = base ? base->count : 0;
	drukfs_snapshot *s = snapshot_alloc(n + 1);
	int replaced = 0;

	if (!s)
		return NULL;
	if (rec && (!base || !drukfs_snapshot_find(base, id))) {
		if (snapshot_add(s, rec) < 0)
			goto fail;
		replaced = 1;
	}
	for (size_t i = 0; i < n; i++) {
		drukfs_rec *r = base->recs[i];

		if (strcmp(r->host->id, id) == 0) {
			if (!rec || replaced)
				continue;
			r = rec;
			replaced = 1;
		}
		if (snapshot_add(s, r) < 0)
			goto fail;
	}
	s->fetched_at = base ? base->fetched_at : -1;
	s->generation = base ? base->generation : 0;
	return s;
fail:
	drukfs_snapshot_unref(s);
	return NULL;
}

/* ---- bookkeeping under the lock ----------------------------------------- */

static void note_failure(drukfs_cache *c, const char *what,
			 const drukbox_error *e)
{
	if (e->code == DRUKBOX_ETRANSPORT || e->code == DRUKBOX_ETIMEOUT)
		c->reachable = 0;
	else
		c->reachable = 1;
	if (e->code == DRUKBOX_EAUTH)
		c->token_ok = 0;
	snprintf(c->last_error, sizeof(c->last_error), "%s: %s (%s)", what,
		 e->detail, drukbox_err_name(e->code));
}

static void note_success(drukfs_cache *c)
{
	c->reachable = 1;
	c->token_ok = 1;
}

/* Folds one response time into the smoothed one (lock held). */
static void note_rtt(drukfs_cache *c, double seconds)
{
	c->rtt = c->rtt < 0 ? seconds : 0.75 * c->rtt + 0.25 * seconds;
}

double drukfs_cache_rtt(drukfs_cache *c)
{
	double rtt;

	pthread_mutex_lock(&c->lock);
	rtt = c->rtt;
	pthread_mutex_unlock(&c->lock);
	return rtt;
}

static void count_request(drukfs_cache *c, enum drukfs_route r, int failed)
{
	c->stats.requests[r]++;
	if (failed)
		c->stats.failures[r]++;
}

void drukfs_cache_count(drukfs_cache *c, enum drukfs_route route, int failed)
{
	pthread_mutex_lock(&c->lock);
	count_request(c, route, failed);
	pthread_mutex_unlock(&c->lock);
}

/* Sets the per-id answer for id (rec may be NULL: not found); a GET
 * that brings a different record reports it. */
static void ids_set(drukfs_cache *c, const char *id, drukfs_rec *rec,
		    double now)
{
	id_answer *a = strmap_get(&c->ids, id);

	if (a && a->rec && c->opts.changed &&
	    (!rec || !drukbox_host_equal(a->rec->host, rec->host)))
		c->opts.changed(c->opts.changed_ctx, id);

	if (!a) {
		a = calloc(1, sizeof(*a));
		if (!a || strmap_put(&c->ids, id, a, NULL) < 0) {
			free(a);
			drukfs_rec_unref(rec);
			return;
		}
	}
	drukfs_rec_unref(a->rec);
	a->rec = rec;
	a->at = now;
}

static void ids_clear(drukfs_cache *c)
{
	const char *k;
	void *v;

	for (size_t i = 0; strmap_next(&c->ids, &i, &k, &v);) {
		id_answer *a = v;

		drukfs_rec_unref(a->rec);
		free(a);
	}
	strmap_clear(&c->ids);
}

/* ---- fetch threads ------------------------------------------------------ */

typedef struct changed_list {
	char **ids;
	size_t count;
} changed_list;

static void changed_add(changed_list *cl, const char *id)
{
	char **n = realloc(cl->ids, (cl->count + 1) * sizeof(*n));

	if (!n)
		return;
	cl->ids = n;
	if ((n[cl->count] = strdup(id)))
		cl->count++;
}

/* Ids whose record differs between old and new (changed, gone, or new:
 * a host new to the list may have been read by id before). */
static void diff_snapshots(const drukfs_snapshot *old,
			   const drukfs_snapshot *new, changed_list *cl)
{
	if (!old)
		return;
	for (size_t i = 0; i < old->count; i++) {
		const drukbox_host *h = old->recs[i]->host;
		drukfs_rec *n = drukfs_snapshot_find(new, h->id);

		/* A record reused from the old list is the same pointer. */
		if (!n || (n != old->recs[i] &&
			   !drukbox_host_equal(n->host, h)))
			changed_add(cl, h->id);
	}
	for (size_t i = 0; i < new->count; i++)
		if (!drukfs_snapshot_find(old, new->recs[i]->host->id))
			changed_add(cl, new->recs[i]->host->id);
}

static void changed_fire(drukfs_cache *c, changed_list *cl)
{
	for (size_t i = 0; i < cl->count; i++) {
		if (c->opts.changed)
			c->opts.changed(c->opts.changed_ctx, cl->ids[i]);
		free(cl->ids[i]);
	}
	free(cl->ids);
}

/* A list being read off the wire into a snapshot (drukbox_host_sink).
 * A record equal to the one the installed list has is not kept twice:
 * the old one is referenced and the new copy freed at once, so that a
 * refresh of 10 000 mostly unchanged hosts holds little more than the
 * list it replaces, and a host's version in the tree stays the same. */
typedef struct list_build {
	drukfs_snapshot *old;   /* installed when the fetch began, or NULL */
	drukfs_snapshot *s;
} list_build;

static int build_sink(void *ctx, drukbox_host *host)
{
	list_build *b = ctx;
	drukfs_rec *old = drukfs_snapshot_find(b->old, host->id);
	drukfs_rec *r;
	int rc;

	if (old && drukbox_host_equal(old->host, host)) {
		drukbox_host_free(host);
		r = drukfs_rec_ref(old);
	} else if (!(r = drukfs_rec_new(host))) {
		return -DRUKBOX_ENOMEM;
	}
	rc = snapshot_add(b->s, r);
	drukfs_rec_unref(r);
	return rc < 0 ? -DRUKBOX_ENOMEM : 0;
}

/* GET /hosts into a new snapshot (*out), read as it arrives; *info
 * (caller frees) counts what was skipped.  No lock held.  0, or the
 * library's negative error. */
static int fetch_snapshot(drukfs_cache *c, drukfs_snapshot **out,
			  drukbox_host_list **info)
{
	list_build b = { NULL, NULL };
	int rc;

	pthread_mutex_lock(&c->lock);
	if (c->snap) {
		b.old = c->snap;
		atomic_fetch_add(&b.old->ref, 1);
	}
	pthread_mutex_unlock(&c->lock);
	b.s = snapshot_alloc(b.old ? b.old->count : 0);
	rc = b.s ? drukbox_host_list_each(c->client, build_sink, &b, info)
		 : -DRUKBOX_ENOMEM;
	drukfs_snapshot_unref(b.old);
	if (rc) {
		drukfs_snapshot_unref(b.s);
		return rc;
	}
	*out = b.s;
	return 0;
}

/* s with the overlay entries made after `started` applied (s is
 * consumed).  Called with the lock held.  NULL on ENOMEM. */
static drukfs_snapshot *with_overlays(drukfs_cache *c, drukfs_snapshot *s,
				      double started)
{
	for (size_t i = 0; i < c->ov_count; i++) {
		overlay *o = &c->ov[i];
		drukfs_snapshot *t;

		if (o->at < started)
			continue;
		t = snapshot_with(s, o->id, o->rec);
		drukfs_snapshot_unref(s);
		if (!t)
			return NULL;
		s = t;
	}
	return s;
}

/* Drops overlay entries that every future fetch will already reflect. */
static void overlay_prune(drukfs_cache *c, double started)
{
	size_t j = 0;

	for (size_t i = 0; i < c->ov_count; i++) {
		if (c->ov[i].at < started) {
			free(c->ov[i].id);
			drukfs_rec_unref(c->ov[i].rec);
		} else {
			c->ov[j++] = c->ov[i];
		}
	}
	c->ov_count = j;
}

/* One log line per record the list parser left out, naming it. */
static void log_skipped(drukfs_cache *c, const drukbox_host_list *list)
{
	const char *p = list->skipped_detail;

	drukfs_log_add(c->log, time(NULL),
		       "list: %zu host records were malformed and left out",
		       list->skipped);
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);

		drukfs_log_add(c->log, time(NULL), "list: left out %.*s", n, p);
		p += n + (nl ? 1 : 0);
	}
}

/* Installs a fetched snapshot (consumed).  Called with the lock held. */
static void install_snapshot(drukfs_cache *c, drukfs_snapshot *fetched,
			     const drukbox_host_list *info, double started)
{
	changed_list cl = { NULL, 0 };
	drukfs_snapshot *s = with_overlays(c, fetched, started);

	if (!s) {
		c->list_err = -ENOMEM;
		return;
	}
	if (info->skipped)
		log_skipped(c, info);
	s->fetched_at = drukfs_now();
	s->generation = ++c->generation;
	diff_snapshots(c->snap, s, &cl);
	drukfs_snapshot_unref(c->snap);
	c->snap = s;
	changed_fire(c, &cl);
	c->list_f.fetched_at = s->fetched_at;
	c->list_err = 0;
	c->last_refresh = s->fetched_at;
	overlay_prune(c, started);
	/* Per-id answers older than this list are superseded by it. */
	ids_clear(c);
}

/* Fetches and installs the list; `started` is when the attempt began.
 * Takes the lock itself.  0 or the library's negative error. */
static int refresh_list(drukfs_cache *c, double started)
{
	drukbox_host_list *info = NULL;
	drukfs_snapshot *s = NULL;
	int rc = fetch_snapshot(c, &s, &info);

	pthread_mutex_lock(&c->lock);
	note_rtt(c, drukfs_now() - started);
	count_request(c, ROUTE_LIST, rc < 0);
	if (rc < 0) {
		const drukbox_error *e = drukbox_error_last();
		const char *detail = e->code == (drukbox_err)-rc ? e->detail
								   : "out of memory";

		c->list_err = -drukbox_err_errno(rc);
		note_failure(c, "GET /hosts", e);
		drukfs_log_add(c->log, time(NULL), "refresh failed: %s: %s",
			       drukbox_err_name((drukbox_err)-rc), detail);
	} else {
		note_success(c);
		install_snapshot(c, s, info, started);
		if (c->list_err < 0)
			rc = -DRUKBOX_ENOMEM;
	}
	c->list_f.fetching = false;
	pthread_cond_broadcast(&c->done);
	pthread_mutex_unlock(&c->lock);
	drukbox_host_list_free(info);
	/* Parsing a large list leaves megabytes free in this thread's arena:
	 * give them back rather than keep the peak for good. */
	malloc_trim(0);
	return rc;
}

static void *list_fetch_thread(void *arg)
{
	drukfs_cache *c = arg;
	double started;

	pthread_mutex_lock(&c->lock);
	started = c->list_f.attempt_at;
	pthread_mutex_unlock(&c->lock);
	refresh_list(c, started);
	pthread_mutex_lock(&c->lock);
	c->running--;
	pthread_cond_broadcast(&c->done);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

static void *doctor_fetch_thread(void *arg)
{
	drukfs_cache *c = arg;
	drukbox_doctor *d = NULL;
	drukfs_doctor_ref *ref = NULL;
	double started = drukfs_now();
	int rc = drukbox_doctor_get(c->client, &d);

	if (rc == 0) {
		ref = malloc(sizeof(*ref));
		if (ref) {
			atomic_init(&ref->ref, 1);
			ref->doctor = d;
		} else {
			drukbox_doctor_free(d);
			rc = -DRUKBOX_ENOMEM;
		}
	}
	pthread_mutex_lock(&c->lock);
	note_rtt(c, drukfs_now() - started);
	count_request(c, ROUTE_DOCTOR, rc < 0);
	if (rc < 0) {
		c->doctor_err = -drukbox_err_errno(rc);
		note_failure(c, "GET /doctor", drukbox_error_last());
	} else {
		note_success(c);
		drukfs_doctor_unref(c->doctor);
		c->doctor = ref;
		c->doctor_f.fetched_at = drukfs_now();
		c->doctor_err = 0;
	}
	c->doctor_f.fetching = false;
	c->running--;
	pthread_cond_broadcast(&c->done);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* Starts a fetch thread; with the lock held.  On failure to start, the
 * fetch counts as failed with ENOMEM / EAGAIN. */
static int start_fetch(drukfs_cache *c, drukfs_freshness *f,
		       void *(*fn)(void *), double now)
{
	pthread_t t;
	pthread_attr_t attr;
	int rc;

	f->attempt_at = now;
	f->fetching = true;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, fn, c);
	pthread_attr_destroy(&attr);
	if (rc) {
		f->fetching = false;
		return -rc;
	}
	c->running++;
	return 0;
}

/* Waits on `done` until `until` (monotonic) or `*fetching` clears. */
static void wait_fetch(drukfs_cache *c, const bool *fetching, double until)
{
	struct timespec ts = drukfs_timespec(until);

	while (*fetching)
		if (pthread_cond_timedwait(&c->done, &c->lock, &ts) == ETIMEDOUT)
			return;
}

/* The policy step shared by the list and the doctor: decide, maybe start
 * a fetch, maybe wait.  With the lock held. */
static int freshen(drukfs_cache *c, drukfs_freshness *f, double ttl,
		   void *(*fn)(void *), int flags)
{
	double now = drukfs_now();
	double grace = (flags & DRUKFS_NOWAIT) ? 0 : c->opts.grace;
	drukfs_decision d = drukfs_freshness_decide(f, now, ttl, grace,
						    c->opts.timeout);

	if (d.start) {
		int rc = start_fetch(c, f, fn, now);

		if (rc < 0)
			return rc;
	}
	if (d.wait_until > now)
		wait_fetch(c, &f->fetching, d.wait_until);
	return 0;
}

/* ---- public ------------------------------------------------------------- */

int drukfs_cache_list(drukfs_cache *c, int flags, drukfs_snapshot **out)
{
	int rc;

	*out = NULL;
	pthread_mutex_lock(&c->lock);
	if (flags & DRUKFS_CACHED) {
		/* A peek: no refresh, and not a hit or miss of any reader. */
		if (c->snap)
			atomic_fetch_add(&c->snap->ref, 1);
		*out = c->snap;
		pthread_mutex_unlock(&c->lock);
		return *out ? 0 : -EAGAIN;
	}
	int fresh = drukfs_freshness_fresh(c->list_f.fetched_at, drukfs_now(),
					   c->opts.ttl);
	rc = freshen(c, &c->list_f, c->opts.ttl, list_fetch_thread, flags);
	if (c->snap) {
		if (fresh)
			c->stats.hits++;
		else
			c->stats.misses++;
		if (!drukfs_freshness_fresh(c->snap->fetched_at, drukfs_now(),
					    c->opts.ttl))
			c->stats.stale_served++;
		atomic_fetch_add(&c->snap->ref, 1);
		*out = c->snap;
		rc = 0;
	} else if (rc == 0) {
		rc = c->list_err ? c->list_err : -EAGAIN;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int drukfs_cache_prime(drukfs_cache *c)
{
	double started = drukfs_now();

	pthread_mutex_lock(&c->lock);
	c->list_f.attempt_at = started;
	c->list_f.fetching = true;
	pthread_mutex_unlock(&c->lock);
	return refresh_list(c, started);
}

/* The per-id answer for id if it is still fresh: 1 found (ref in *out),
 * 0 known absent, -1 unknown.  With the lock held. */
static int ids_lookup(drukfs_cache *c, const char *id, drukfs_rec **out)
{
	id_answer *a = strmap_get(&c->ids, id);

	if (!a || !drukfs_freshness_fresh(a->at, drukfs_now(), c->opts.ttl))
		return -1;
	*out = drukfs_rec_ref(a->rec);
	return a->rec ? 1 : 0;
}

int drukfs_cache_get(drukfs_cache *c, const char *id, int flags,
		     drukfs_rec **out)
{
	drukfs_snapshot *s = NULL;
	drukbox_host *h = NULL;
	int rc, known;

	*out = NULL;
	if (drukfs_cache_list(c, flags, &s) == 0) {
		drukfs_rec *r = drukfs_snapshot_find(s, id);

		*out = drukfs_rec_ref(r);
		drukfs_snapshot_unref(s);
		if (*out)
			return 0;
	}
	pthread_mutex_lock(&c->lock);
	known = ids_lookup(c, id, out);
	pthread_mutex_unlock(&c->lock);
	if (known >= 0)
		return known ? 0 : -ENOENT;
	if (flags & DRUKFS_CACHED)
		return -EAGAIN;

	double started = drukfs_now();
	rc = drukbox_host_get(c->client, id, &h);
	pthread_mutex_lock(&c->lock);
	note_rtt(c, drukfs_now() - started);
	count_request(c, ROUTE_GET, rc < 0 && rc != -DRUKBOX_ENOTFOUND);
	if (rc == 0) {
		drukfs_rec *r = drukfs_rec_new(h);

		note_success(c);
		if (!r) {
			rc = -ENOMEM;
		} else {
			ids_set(c, id, drukfs_rec_ref(r), drukfs_now());
			*out = r;
		}
	} else if (rc == -DRUKBOX_ENOTFOUND) {
		note_success(c);
		ids_set(c, id, NULL, drukfs_now());
		rc = -ENOENT;
	} else {
		note_failure(c, "GET /hosts/{id}", drukbox_error_last());
		rc = -drukbox_err_errno(rc);
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void drukfs_cache_expire(drukfs_cache *c)
{
	pthread_mutex_lock(&c->lock);
	c->list_f.fetched_at = -1;
	c->list_f.attempt_at = -1;
	pthread_mutex_unlock(&c->lock);
}

int drukfs_cache_apply(drukfs_cache *c, const char *id, drukbox_host *host)
{
	drukfs_rec *rec = NULL;
	overlay *ov;
	int rc = -ENOMEM;

	if (host && !(rec = drukfs_rec_new(host)))
		return -ENOMEM;
	pthread_mutex_lock(&c->lock);
	ov = realloc(c->ov, (c->ov_count + 1) * sizeof(*ov));
	if (!ov)
		goto out;
	c->ov = ov;
	ov[c->ov_count].id = strdup(id);
	if (!ov[c->ov_count].id)
		goto out;
	ov[c->ov_count].rec = drukfs_rec_ref(rec);
	ov[c->ov_count].at = drukfs_now();
	c->ov_count++;
	if (c->snap) {
		drukfs_snapshot *s = snapshot_with(c->snap, id, rec);

		if (s) {
			drukfs_snapshot_unref(c->snap);
			c->snap = s;
		}
	}
	ids_set(c, id, drukfs_rec_ref(rec), drukfs_now());
	if (c->opts.changed)
		c->opts.changed(c->opts.changed_ctx, id);
	rc = 0;
out:
	pthread_mutex_unlock(&c->lock);
	drukfs_rec_unref(rec);
	return rc;
}

void drukfs_cache_drop(drukfs_cache *c)
{
	pthread_mutex_lock(&c->lock);
	c->list_f.fetched_at = -1;
	c->list_f.attempt_at = -1;
	c->doctor_f.fetched_at = -1;
	c->doctor_f.attempt_at = -1;
	ids_clear(c);
	pthread_mutex_unlock(&c->lock);
}

void drukfs_doctor_unref(drukfs_doctor_ref *d)
{
	if (d && atomic_fetch_sub(&d->ref, 1) == 1) {
		drukbox_doctor_free(d->doctor);
		free(d);
	}
}

int drukfs_cache_doctor(drukfs_cache *c, drukfs_doctor_ref **out)
{
	int rc;

	*out = NULL;
	pthread_mutex_lock(&c->lock);
	rc = freshen(c, &c->doctor_f, c->opts.doctor_ttl, doctor_fetch_thread, 0);
	if (c->doctor && c->doctor_f.fetched_at >= 0) {
		atomic_fetch_add(&c->doctor->ref, 1);
		*out = c->doctor;
		rc = 0;
	} else if (rc == 0) {
		rc = c->doctor_err ? c->doctor_err : -EAGAIN;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void drukfs_cache_status_get(drukfs_cache *c, drukfs_cache_status *out)
{
	pthread_mutex_lock(&c->lock);
	out->reachable = c->reachable;
	out->token_accepted = c->token_ok;
	out->list_age = c->snap && c->snap->fetched_at >= 0 ?
				drukfs_now() - c->snap->fetched_at : -1;
	out->host_count = c->snap ? c->snap->count : 0;
	snprintf(out->last_error, sizeof(out->last_error), "%s", c->last_error);
	pthread_mutex_unlock(&c->lock);
}

void drukfs_cache_stats_get(drukfs_cache *c, drukfs_cache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->stats;
	out->last_refresh_age = c->last_refresh >= 0 ?
					drukfs_now() - c->last_refresh : -1;
	pthread_mutex_unlock(&c->lock);
}

int drukfs_cache_new(drukfs_cache **out, drukbox_client *client,
		     drukfs_log *log, const drukfs_cache_opts *opts)
{
	drukfs_cache *c = calloc(1, sizeof(*c));
	pthread_condattr_t ca;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->client = client;
	c->log = log;
	c->opts = *opts;
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->done, &ca);
	pthread_condattr_destroy(&ca);
	c->list_f = (drukfs_freshness){ -1, -1, false };
	c->doctor_f = (drukfs_freshness){ -1, -1, false };
	c->reachable = -1;
	c->token_ok = -1;
	c->last_refresh = -1;
	c->rtt = -1;
	*out = c;
	return 0;
}

void drukfs_cache_wait_idle(drukfs_cache *c)
{
	/* Fetch threads end within the request timeout. */
	pthread_mutex_lock(&c->lock);
	while (c->running)
		pthread_cond_wait(&c->done, &c->lock);
	pthread_mutex_unlock(&c->lock);
}

void drukfs_cache_free(drukfs_cache *c)
{
	if (!c)
		return;
	/* Fetch threads hold the cache. */
	drukfs_cache_wait_idle(c);
	drukfs_snapshot_unref(c->snap);
	for (size_t i = 0; i < c->ov_count; i++) {
		free(c->ov[i].id);
		drukfs_rec_unref(c->ov[i].rec);
	}
	free(c->ov);
	ids_clear(c);
	drukfs_doctor_unref(c->doctor);
	pthread_cond_destroy(&c->done);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
