/*
 * Handles (see handles.h for the model).
 *
 * Locking: one mutex, h->lock, guards the name map, the hidden set, the
 * waiter list and every lname field.  It is never held across a request
 * to the service, a state-directory write, a cache call or a callback.
 * Workers (one thread per create or delete in flight) hand results over
 * under the lock and signal h->cond, on which mkdir/rmdir wait for their
 * window.
 */
#include "handles.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "isotime.h"
#include "spec.h"
#include "strmap.h"

#define CREATE_RETRIES 8
#define BACKOFF_MAX 60.0

enum ln_state { LN_PENDING, LN_READY, LN_FAILED };

/* A local NAME. */
typedef struct lname {
	char *name;
	char *id;               /* NULL until the service answered */
	char *key;              /* the private key this mount holds */
	char *request;          /* the create body */
	enum ln_state st;
	int err;                /* LN_FAILED: the errno */
	drukfs_rec *placeholder; /* shown while there is no id */
	int window_open;        /* mkdir still waiting for the worker */
	int deleting;           /* rmdir in flight: hidden */
} lname;

struct drukfs_waiter {
	uint64_t key;
	char *handle;
	drukfs_wait_fn fn;
	void *ctx;
	struct drukfs_waiter *next;
};

struct drukfs_handles {
	drukbox_client *client;
	drukfs_cache *cache;
	drukfs_state *state;
	drukfs_log *log;
	drukfs_handles_opts opts;

	pthread_mutex_t lock;
	pthread_cond_t cond;    /* worker results, waiters, stop */
	strmap names;           /* NAME -> lname */
	strmap by_id;           /* id -> lname (borrowed) */
	strmap hidden;          /* ids being deleted -> (void *)1 */
	struct drukfs_waiter *waiters;
	size_t nwaiters;
	int workers;            /* create/delete threads in flight */
	int stop;
	/* Waiters are answered with rlock held, and not at all once
	 * replies_stopped (under lock) is set: the session they answer
	 * through is going away (drukfs_handles_stop_replies()). */
	pthread_mutex_t rlock;
	int replies_stopped;
	pthread_t poller;
	int poller_started;
};

/* ---- small helpers ------------------------------------------------------- */

static void worker_done(drukfs_handles *h);

/* How long mkdir and rmdir wait for an answer.  The kernel holds hosts/
 * locked while they run, so every other mkdir, rmdir and new lookup there
 * waits too: stop waiting once a rejection would have arrived — ten times
 * the service's recent response time, at least 250 ms — and never later
 * than mkdir_wait. */
static double answer_window(drukfs_handles *h)
{
	double rtt = drukfs_cache_rtt(h->cache);
	double w = h->opts.mkdir_wait;

	if (rtt >= 0 && 10 * rtt + 0.25 < w)
		w = 10 * rtt + 0.25;
	return w;
}

/* Waits on h->cond until *flag becomes zero or `seconds` pass. */
static void wait_window(drukfs_handles *h, const int *flag, double seconds)
{
	struct timespec ts;

	ts = drukfs_timespec(drukfs_now() + seconds);
	while (*flag && !h->stop)
		if (pthread_cond_timedwait(&h->cond, &h->lock, &ts) == ETIMEDOUT)
			break;
}

static void changed(drukfs_handles *h, const char *handle)
{
	if (h->opts.changed && handle)
		h->opts.changed(h->opts.changed_ctx, handle);
}

/* An id can be a directory entry only if it is a plain file name. */
static int id_usable(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 255 || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (id[i] == '/' || (unsigned char)id[i] < 0x20)
			return 0;
	return 1;
}

/* Whether s has the shape of a UUID: 8-4-4-4-12 hex digits. */
static int uuid_shaped(const char *s)
{
	if (strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;
		char ch = s[i];

		if (dash ? ch != '-' :
			   !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
			     (ch >= 'A' && ch <= 'F')))
			return 0;
	}
	return 1;
}

static void lname_free(lname *ln)
{
	if (!ln)
		return;
	free(ln->name);
	free(ln->id);
	free(ln->key);
	free(ln->request);
	drukfs_rec_unref(ln->placeholder);
	free(ln);
}

static drukfs_rec *placeholder(const char *status, const char *last_error)
{
	drukbox_host *host = NULL;

	if (drukbox_host_placeholder(&host, status, last_error) < 0)
		return NULL;
	return drukfs_rec_new(host);
}

/* Removes NAME from the maps (lock held); the caller frees it. */
static void lname_unlink(drukfs_handles *h, lname *ln)
{
	strmap_del(&h->names, ln->name);
	if (ln->id && strmap_get(&h->by_id, ln->id) == ln)
		strmap_del(&h->by_id, ln->id);
}

/* ---- waiters ------------------------------------------------------------- */

/* Calls every waiter on `handle` with err, outside the lock (under rlock).
 * Once replies are stopped the waiters stay listed, for
 * drukfs_handles_free(). */
static void complete_waiters(drukfs_handles *h, const char *handle, int err)
{
	struct drukfs_waiter *done = NULL, **pp;

	pthread_mutex_lock(&h->rlock);
	pthread_mutex_lock(&h->lock);
	for (pp = &h->waiters; *pp && !h->replies_stopped;) {
		struct drukfs_waiter *w = *pp;

		if (strcmp(w->handle, handle) == 0) {
			*pp = w->next;
			w->next = done;
			done = w;
			h->nwaiters--;
		} else {
			pp = &w->next;
		}
	}
	pthread_mutex_unlock(&h->lock);
	while (done) {
		struct drukfs_waiter *w = done;

		done = w->next;
		w->fn(w->ctx, err);
		free(w->handle);
		free(w);
	}
	pthread_mutex_unlock(&h->rlock);
}

void drukfs_handles_stop_replies(drukfs_handles *h)
{
	/* Taking rlock waits for a reply in progress and orders it before
	 * whatever the caller does next (unmounting, destroying the
	 * session). */
	pthread_mutex_lock(&h->rlock);
	pthread_mutex_lock(&h->lock);
	h->replies_stopped = 1;
	pthread_mutex_unlock(&h->lock);
	pthread_mutex_unlock(&h->rlock);
}

/* ---- resolving ------------------------------------------------------------ */

void drukfs_resolved_clear(drukfs_resolved *r)
{
	drukfs_rec_unref(r->rec);
	free(r->private_key);
	memset(r, 0, sizeof(*r));
}

/* Forgets a READY name whose host the service no longer has. */
static void forget_vanished(drukfs_handles *h, const char *name, const char *id)
{
	lname *ln;

	pthread_mutex_lock(&h->lock);
	ln = strmap_get(&h->names, name);
	if (!ln || ln->st != LN_READY || ln->deleting || !ln->id ||
	    strcmp(ln->id, id) != 0) {
		pthread_mutex_unlock(&h->lock);
		return;
	}
	lname_unlink(h, ln);
	pthread_mutex_unlock(&h->lock);
	drukfs_state_forget(h->state, name);
	drukfs_log_add(h->log, time(NULL),
		       "host %s (%s) is gone from the service; forgot the name",
		       name, id);
	lname_free(ln);
	complete_waiters(h, name, ENOENT);
}

/* The record of host id: from the list, else (for UUID-shaped ids only)
 * from one GET.  0, -ENOENT, -errno. */
static int record_by_id(drukfs_handles *h, const char *id, int flags,
			drukfs_rec **out)
{
	drukfs_snapshot *s = NULL;
	int rc = drukfs_cache_list(h->cache, flags, &s);

	*out = NULL;
	if (rc == 0) {
		*out = drukfs_rec_ref(drukfs_snapshot_find(s, id));
		drukfs_snapshot_unref(s);
		if (*out)
			return 0;
	}
	if (!uuid_shaped(id))
		return rc < 0 ? rc : -ENOENT;
	return drukfs_cache_get(h->cache, id, flags, out);
}

int drukfs_handles_resolve(drukfs_handles *h, const char *handle, int flags,
			   drukfs_resolved *out)
{
	char *id = NULL;
	int rc = 0, local = 0;
	lname *ln;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&h->lock);
	ln = strmap_get(&h->names, handle);
	if (ln) {
		local = 1;
		if (ln->deleting) {
			rc = -ENOENT;
		} else if (!ln->id) {
			out->rec = drukfs_rec_ref(ln->placeholder);
			out->local = 1;
			rc = out->rec ? 0 : -ENOMEM;
			pthread_mutex_unlock(&h->lock);
			return rc;
		} else {
			id = strdup(ln->id);
			if (ln->key && !(out->private_key = strdup(ln->key)))
				rc = -ENOMEM;
		}
	} else if (strmap_get(&h->hidden, handle) || !id_usable(handle)) {
		rc = -ENOENT;
	} else {
		id = strdup(handle);
	}
	pthread_mutex_unlock(&h->lock);
	if (rc == 0 && !id)
		rc = -ENOMEM;
	if (rc == 0)
		rc = record_by_id(h, id, flags, &out->rec);
	if (rc == -ENOENT && local)
		forget_vanished(h, handle, id);
	out->local = local;
	free(id);
	if (rc < 0)
		drukfs_resolved_clear(out);
	return rc;
}

/* ---- listing -------------------------------------------------------------- */

void drukfs_listing_free(drukfs_listing *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->count; i++) {
		free(l->entries[i].handle);
		drukfs_rec_unref(l->entries[i].rec);
	}
	free(l->entries);
	free(l);
}

static int listing_add(drukfs_listing *l, size_t cap, const char *handle,
		       drukfs_rec *rec, int has_key)
{
	drukfs_entry *e;

	if (l->count >= cap)
		return 0;
	e = &l->entries[l->count];
	e->handle = strdup(handle);
	if (!e->handle)
		return -ENOMEM;
	e->rec = drukfs_rec_ref(rec);
	e->has_key = has_key;
	l->count++;
	return 0;
}

/* Local names with no id yet (pending or failed) come first: newest. */
static int list_local_pending(drukfs_handles *h, drukfs_listing *l, size_t cap)
{
	const char *k;
	void *v;
	int rc = 0;

	for (size_t i = 0; rc == 0 && strmap_next(&h->names, &i, &k, &v);) {
		lname *ln = v;

		if (!ln->id && !ln->deleting && ln->placeholder)
			rc = listing_add(l, cap, k, ln->placeholder, 0);
	}
	return rc;
}

static int list_service(drukfs_handles *h, drukfs_listing *l, size_t cap,
			const drukfs_snapshot *s)
{
	for (size_t i = 0; s && i < s->count; i++) {
		drukfs_rec *r = s->recs[i];
		const char *id = r->host->id;
		lname *ln = strmap_get(&h->by_id, id);
		int rc;

		if (strmap_get(&h->hidden, id) || (ln && ln->deleting))
			continue;
		if (ln)
			rc = listing_add(l, cap, ln->name, r, ln->key != NULL);
		else if (id_usable(id) && !strmap_get(&h->names, id))
			rc = listing_add(l, cap, id, r, 0);
		else
			continue;
		if (rc < 0)
			return rc;
	}
	return 0;
}

int drukfs_handles_list(drukfs_handles *h, int flags, drukfs_listing **out)
{
	drukfs_snapshot *s = NULL;
	drukfs_listing *l = NULL;
	int rc = drukfs_cache_list(h->cache, flags, &s);
	size_t cap;

	*out = NULL;
	pthread_mutex_lock(&h->lock);
	if (rc < 0 && h->names.used == 0)
		goto out;
	cap = (s ? s->count : 0) + h->names.used;
	rc = -ENOMEM;
	l = calloc(1, sizeof(*l));
	if (!l || !(l->entries = calloc(cap ? cap : 1, sizeof(*l->entries))))
		goto out;
	rc = list_local_pending(h, l, cap);
	if (rc == 0)
		rc = list_service(h, l, cap, s);
out:
	pthread_mutex_unlock(&h->lock);
	drukfs_snapshot_unref(s);
	if (rc < 0) {
		drukfs_listing_free(l);
		return rc;
	}
	*out = l;
	return 0;
}

void drukfs_handles_host_changed(void *arg, const char *id)
{
	drukfs_handles *h = arg;
	char *name = NULL;
	lname *ln;

	pthread_mutex_lock(&h->lock);
	ln = strmap_get(&h->by_id, id);
	if (ln)
		name = strdup(ln->name);
	pthread_mutex_unlock(&h->lock);
	changed(h, id);
	changed(h, name);
	free(name);
}

/* ---- creates -------------------------------------------------------------- */

typedef struct create_job {
	drukfs_handles *h;
	lname *ln;              /* owned by the map; the job only borrows */
	char *name;
	char *body;
} create_job;

static void create_job_free(create_job *j)
{
	free(j->name);
	free(j->body);
	free(j);
}

/* The create answered: keep the key first (before anyone can learn that
 * the host is up), then the id, then show the host. */
static void create_succeeded(create_job *j, drukbox_host *host)
{
	drukfs_handles *h = j->h;
	char *id = strdup(host->id), *key = NULL;
	int active = host->status && strcmp(host->status, "active") == 0;

	if (host->private_key) {
		if (drukfs_state_set_key(h->state, j->name, host->private_key) < 0)
			drukfs_log_add(h->log, time(NULL),
				       "create %s: could not keep the private key "
				       "in the state directory", j->name);
		key = strdup(host->private_key);
	}
	if (id)
		drukfs_state_set_id(h->state, j->name, id);
	drukbox_host_strip_private_key(host);
	if (id)
		drukfs_cache_apply(h->cache, id, host);
	else
		drukbox_host_free(host);

	pthread_mutex_lock(&h->lock);
	lname *ln = j->ln;
	ln->id = id;
	if (key) {
		free(ln->key);
		ln->key = key;
	}
	if (id)
		strmap_put(&h->by_id, id, ln, NULL);
	ln->st = LN_READY;
	ln->window_open = 0;
	/* Queued before anyone can see the name ready (the callback only
	 * queues). */
	changed(h, j->name);
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);

	drukfs_log_add(h->log, time(NULL), "created %s (%s)", j->name,
		       id ? id : "?");
	if (active)
		complete_waiters(h, j->name, 0);
}

/* The create failed for good after mkdir returned: the name stays, in
 * state "error", until rmdir. */
static void create_failed(create_job *j, const drukbox_error *e)
{
	drukfs_handles *h = j->h;
	char text[DRUKBOX_DETAIL_MAX + 64];
	int err = drukbox_err_errno(e->code);
	drukfs_rec *ph;

	snprintf(text, sizeof(text), "%s (%s)", e->detail,
		 drukbox_err_name(e->code));
	drukfs_state_set_failed(h->state, j->name, text);
	ph = placeholder("error", e->detail);
	pthread_mutex_lock(&h->lock);
	j->ln->st = LN_FAILED;
	j->ln->err = err;
	if (ph) {
		drukfs_rec_unref(j->ln->placeholder);
		j->ln->placeholder = ph;
	}
	pthread_mutex_unlock(&h->lock);
	drukfs_log_add(h->log, time(NULL), "create %s failed: %s", j->name, text);
	changed(h, j->name);
	complete_waiters(h, j->name, err);
}

static int retryable(drukbox_err code)
{
	return code == DRUKBOX_ETRANSPORT || code == DRUKBOX_ETIMEOUT ||
	       code == DRUKBOX_EUNAVAILABLE;
}

/* Sleeps `seconds` unless the handles are being freed.  1 if stopping. */
static int backoff(drukfs_handles *h, double seconds)
{
	struct timespec ts;
	int stop;

	ts = drukfs_timespec(drukfs_now() + seconds);
	pthread_mutex_lock(&h->lock);
	while (!h->stop &&
	       pthread_cond_timedwait(&h->cond, &h->lock, &ts) != ETIMEDOUT)
		;
	stop = h->stop;
	pthread_mutex_unlock(&h->lock);
	return stop;
}

/* One attempt's failure.  Returns 1 when the worker is done. */
static int create_attempt_failed(create_job *j, int attempt, double *delay)
{
	drukfs_handles *h = j->h;
	drukbox_error e;

	drukbox_error_copy(&e);
	pthread_mutex_lock(&h->lock);
	if (j->ln->window_open) {
		/* mkdir is still waiting: the failure is its answer. */
		j->ln->st = LN_FAILED;
		j->ln->err = drukbox_err_errno(e.code);
		j->ln->window_open = 0;
		pthread_cond_broadcast(&h->cond);
		pthread_mutex_unlock(&h->lock);
		drukfs_log_add(h->log, time(NULL), "mkdir %s failed: %s (%s)",
			       j->name, e.detail, drukbox_err_name(e.code));
		return 1;
	}
	pthread_mutex_unlock(&h->lock);
	if (retryable(e.code) && attempt < CREATE_RETRIES) {
		drukfs_log_add(h->log, time(NULL),
			       "create %s: %s (%s); retrying in %.0f s",
			       j->name, e.detail, drukbox_err_name(e.code),
			       *delay);
		if (backoff(h, *delay))
			return 1;
		*delay = *delay * 2 > BACKOFF_MAX ? BACKOFF_MAX : *delay * 2;
		return 0;
	}
	create_failed(j, &e);
	return 1;
}

static void *create_worker(void *arg)
{
	create_job *j = arg;
	double delay = 1.0;

	for (int attempt = 1;; attempt++) {
		drukbox_host *host = NULL;
		int rc = drukbox_host_create_json(j->h->client, j->body, j->name,
						  &host);

		drukfs_cache_count(j->h->cache, ROUTE_CREATE, rc < 0);
		if (rc == 0) {
			create_succeeded(j, host);
			break;
		}
		if (create_attempt_failed(j, attempt, &delay))
			break;
	}
	drukfs_handles *h = j->h;
	create_job_free(j);
	worker_done(h);
	return NULL;
}

/* Starts a detached worker, counted in h->workers until it calls
 * worker_done(). */
static int spawn(drukfs_handles *h, void *(*fn)(void *), void *arg)
{
	pthread_t t;
	pthread_attr_t attr;
	int rc;

	pthread_mutex_lock(&h->lock);
	h->workers++;
	pthread_mutex_unlock(&h->lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	if (rc) {
		pthread_mutex_lock(&h->lock);
		h->workers--;
		pthread_mutex_unlock(&h->lock);
	}
	return -rc;
}

static void worker_done(drukfs_handles *h)
{
	pthread_mutex_lock(&h->lock);
	h->workers--;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

int drukfs_handles_busy(drukfs_handles *h)
{
	int busy;

	pthread_mutex_lock(&h->lock);
	busy = h->workers > 0;
	pthread_mutex_unlock(&h->lock);
	return busy;
}

static int start_create(drukfs_handles *h, lname *ln)
{
	create_job *j = calloc(1, sizeof(*j));

	if (!j)
		return -ENOMEM;
	j->h = h;
	j->ln = ln;
	j->name = strdup(ln->name);
	j->body = strdup(ln->request ? ln->request : "{}");
	if (!j->name || !j->body) {
		create_job_free(j);
		return -ENOMEM;
	}
	int rc = spawn(h, create_worker, j);
	if (rc < 0)
		create_job_free(j);
	return rc;
}

static lname *lname_new(const char *name, const char *request)
{
	lname *ln = calloc(1, sizeof(*ln));

	if (!ln)
		return NULL;
	ln->name = strdup(name);
	ln->request = request ? strdup(request) : NULL;
	ln->placeholder = placeholder("provisioning", NULL);
	if (!ln->name || (request && !ln->request) || !ln->placeholder) {
		lname_free(ln);
		return NULL;
	}
	return ln;
}

/* Whether NAME is in use: a local name, or the id of a listed host. */
static int name_taken(drukfs_handles *h, const char *name, int flags)
{
	drukfs_snapshot *s = NULL;
	int taken;

	pthread_mutex_lock(&h->lock);
	taken = strmap_get(&h->names, name) != NULL;
	pthread_mutex_unlock(&h->lock);
	if (!taken && drukfs_cache_list(h->cache, flags, &s) == 0) {
		taken = drukfs_snapshot_find(s, name) != NULL;
		drukfs_snapshot_unref(s);
	}
	return taken;
}

int drukfs_handles_taken(drukfs_handles *h, const char *name)
{
	return name_taken(h, name, DRUKFS_NOWAIT);
}

/* The spec kept for NAME (specs/NAME), parsed; an empty spec when there
 * is none.  0, -EINVAL (logged), -errno. */
static int load_spec(drukfs_handles *h, const char *name, drukfs_spec *spec)
{
	char *text = NULL;
	const char *why;
	size_t line;
	int rc = drukfs_state_spec_get(h->state, name, &text);

	memset(spec, 0, sizeof(*spec));
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	rc = drukfs_spec_parse(text, spec, &line, &why);
	free(text);
	if (rc == -EINVAL)
		drukfs_log_add(h->log, time(NULL), "mkdir %s: specs/%s line %zu: %s",
			       name, name, line, why);
	return rc;
}

/* The create body of NAME: the mount's defaults, its spec merged over
 * them, the lease turned into a time from now.  0 or -errno. */
static int create_body(drukfs_handles *h, const char *name, char **body)
{
	drukbox_create_opts o;
	drukbox_env_var *env = NULL;
	drukfs_spec spec;
	char when[32];
	long lease;
	int rc = load_spec(h, name, &spec);

	if (rc < 0)
		return rc;
	rc = drukfs_spec_merge(&spec, h->opts.defaults, h->opts.lease, &o,
			       &lease, &env);
	if (rc == 0) {
		o.idempotency_key = name;
		if (lease < 0) {
			o.expiry = DRUKBOX_EXPIRY_NEVER;
		} else if (lease > 0) {
			time_t t = time(NULL) + lease;
			struct tm tm;

			gmtime_r(&t, &tm);
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S+00:00", &tm);
			o.expiry = DRUKBOX_EXPIRY_AT;
			o.expires_at = when;
		}
		rc = drukbox_create_body(body, &o) < 0 ? -EINVAL : 0;
	}
	free(env);
	drukfs_spec_clear(&spec);
	return rc;
}

/* Registers ln and waits for the worker's fast answer.  0 or -errno. */
static int create_and_wait(drukfs_handles *h, lname *ln)
{
	double window = answer_window(h);
	int rc;

	pthread_mutex_lock(&h->lock);
	if (strmap_put(&h->names, ln->name, ln, NULL) < 0) {
		pthread_mutex_unlock(&h->lock);
		return -ENOMEM;
	}
	ln->window_open = 1;
	pthread_mutex_unlock(&h->lock);

	rc = start_create(h, ln);
	pthread_mutex_lock(&h->lock);
	if (rc == 0)
		wait_window(h, &ln->window_open, window);
	ln->window_open = 0;
	if (rc == 0 && ln->st == LN_FAILED)
		rc = -ln->err;
	if (rc < 0)
		lname_unlink(h, ln);
	pthread_mutex_unlock(&h->lock);
	return rc;
}

int drukfs_handles_create(drukfs_handles *h, const char *name)
{
	char *body = NULL;
	lname *ln = NULL;
	int rc;

	if (!drukfs_state_name_valid(name))
		return -EINVAL;
	if (name_taken(h, name, 0))
		return -EEXIST;
	rc = create_body(h, name, &body);
	if (rc < 0)
		goto out;
	rc = drukfs_state_claim(h->state, name, body);
	if (rc < 0)
		goto out;
	ln = lname_new(name, body);
	drukfs_log_add(h->log, time(NULL), "mkdir %s: creating", name);
	rc = ln ? create_and_wait(h, ln) : -ENOMEM;
	if (rc < 0) {
		drukfs_state_forget(h->state, name);
		lname_free(ln);
		goto out;
	}
	changed(h, name);
out:
	free(body);
	return rc;
}

/* ---- deletes -------------------------------------------------------------- */

typedef struct delete_job {
	drukfs_handles *h;
	char *handle;
	char *name;             /* the local name, or NULL */
	char *id;
	int window_open;
	int done;
	int err;
	int refs;               /* worker + rmdir; under h->lock */
} delete_job;

static void delete_job_put(drukfs_handles *h, delete_job *j)
{
	int last;

	pthread_mutex_lock(&h->lock);
	last = --j->refs == 0;
	pthread_mutex_unlock(&h->lock);
	if (!last)
		return;
	free(j->handle);
	free(j->name);
	free(j->id);
	free(j);
}

/* Hides or shows the host while its DELETE runs (lock held). */
static void set_hidden(drukfs_handles *h, delete_job *j, int hidden)
{
	lname *ln = j->name ? strmap_get(&h->names, j->name) : NULL;

	if (ln)
		ln->deleting = hidden;
	if (hidden)
		strmap_put(&h->hidden, j->id, (void *)1, NULL);
	else
		strmap_del(&h->hidden, j->id);
}

/* The host is gone: forget everything this mount kept for it. */
static void delete_forget(delete_job *j)
{
	drukfs_handles *h = j->h;
	lname *ln = NULL;

	drukfs_cache_apply(h->cache, j->id, NULL);
	pthread_mutex_lock(&h->lock);
	if (j->name && (ln = strmap_get(&h->names, j->name)))
		lname_unlink(h, ln);
	strmap_del(&h->hidden, j->id);
	pthread_mutex_unlock(&h->lock);
	if (j->name) {
		drukfs_state_forget(h->state, j->name);
		drukfs_state_spec_del(h->state, j->name);
	}
	lname_free(ln);
}

static void *delete_worker(void *arg)
{
	delete_job *j = arg;
	drukfs_handles *h = j->h;
	int rc = drukbox_host_delete(h->client, j->id);
	drukbox_error e;
	int window;

	drukbox_error_copy(&e);
	drukfs_cache_count(h->cache, ROUTE_DELETE,
			   rc < 0 && rc != -DRUKBOX_ENOTFOUND);
	if (rc == 0 || rc == -DRUKBOX_ENOTFOUND)
		delete_forget(j);
	pthread_mutex_lock(&h->lock);
	if (rc < 0 && rc != -DRUKBOX_ENOTFOUND)
		set_hidden(h, j, 0);
	window = j->window_open;
	j->err = rc < 0 ? drukbox_err_errno(rc) : 0;
	j->done = 1;
	j->window_open = 0;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);

	if (rc == 0 || rc == -DRUKBOX_ENOTFOUND) {
		drukfs_log_add(h->log, time(NULL), "deleted %s (%s)%s", j->handle,
			       j->id, rc ? ": the service had no such host" : "");
		complete_waiters(h, j->handle, ENOENT);
	} else {
		drukfs_log_add(h->log, time(NULL), "rmdir %s failed%s: %s (%s)",
			       j->handle, window ? "" : "; it is back",
			       e.detail, drukbox_err_name(e.code));
	}
	changed(h, j->handle);
	delete_job_put(h, j);
	worker_done(h);
	return NULL;
}

/* Works out what rmdir of `handle` must delete (lock held).  0 with
 * j->id / j->name set, 1 when the name had no host (forgotten locally),
 * or -errno. */
static int delete_target(drukfs_handles *h, delete_job *j)
{
	lname *ln = strmap_get(&h->names, j->handle);

	/* hosts/<id> of a host that has a local name is that name. */
	if (!ln)
		ln = strmap_get(&h->by_id, j->handle);
	if (!ln)
		return strmap_get(&h->hidden, j->handle) ? -ENOENT : 0;
	if (ln->deleting)
		return -ENOENT;
	if (ln->st == LN_PENDING)
		return -EBUSY;
	if (!ln->id) {
		lname_unlink(h, ln);
		lname_free(ln);
		return 1;
	}
	free(j->id);
	j->id = strdup(ln->id);
	j->name = strdup(ln->name);
	return j->id && j->name ? 0 : -ENOMEM;
}

static int delete_and_wait(drukfs_handles *h, delete_job *j)
{
	double window = answer_window(h);
	int rc;

	pthread_mutex_lock(&h->lock);
	set_hidden(h, j, 1);
	j->window_open = 1;
	j->refs = 2;
	pthread_mutex_unlock(&h->lock);
	changed(h, j->handle);
	rc = spawn(h, delete_worker, j);
	pthread_mutex_lock(&h->lock);
	if (rc < 0) {
		set_hidden(h, j, 0);
		j->refs = 1;
	} else {
		wait_window(h, &j->window_open, window);
		j->window_open = 0;
		if (j->done)
			rc = -j->err;
	}
	pthread_mutex_unlock(&h->lock);
	return rc;
}

int drukfs_handles_delete(drukfs_handles *h, const char *handle)
{
	drukfs_resolved r;
	delete_job *j = calloc(1, sizeof(*j));
	int rc;

	if (!j)
		return -ENOMEM;
	j->h = h;
	j->refs = 1;
	j->handle = strdup(handle);
	j->id = strdup(handle);
	if (!j->handle || !j->id) {
		rc = -ENOMEM;
		goto out;
	}
	/* The host must exist (answers ENOENT from the cache). */
	rc = drukfs_handles_resolve(h, handle, 0, &r);
	if (rc < 0)
		goto out;
	drukfs_resolved_clear(&r);
	pthread_mutex_lock(&h->lock);
	rc = delete_target(h, j);
	pthread_mutex_unlock(&h->lock);
	if (rc == 1) {
		drukfs_state_forget(h->state, handle);
		drukfs_state_spec_del(h->state, handle);
		drukfs_log_add(h->log, time(NULL),
			       "rmdir %s: forgot a create that never made a host",
			       handle);
		changed(h, handle);
		complete_waiters(h, handle, ENOENT);
		rc = 0;
		goto out;
	}
	if (rc == 0)
		rc = delete_and_wait(h, j);
out:
	delete_job_put(h, j);
	return rc;
}

/* ---- waits ---------------------------------------------------------------- */

/* Where the host behind `handle` stands: 1 terminal (*err 0 active, else
 * the errno), 0 not yet. */
static int handle_terminal(drukfs_handles *h, const char *handle, int *err)
{
	drukfs_resolved r;
	lname *ln;
	int rc;

	pthread_mutex_lock(&h->lock);
	ln = strmap_get(&h->names, handle);
	if (ln && ln->st == LN_PENDING) {
		pthread_mutex_unlock(&h->lock);
		return 0;
	}
	if (ln && ln->st == LN_FAILED) {
		*err = ln->err;
		pthread_mutex_unlock(&h->lock);
		return 1;
	}
	pthread_mutex_unlock(&h->lock);
	rc = drukfs_handles_resolve(h, handle, 0, &r);
	if (rc == -ENOENT) {
		*err = ENOENT;
		return 1;
	}
	if (rc < 0)
		return 0; /* the service is down: keep waiting */
	const char *st = r.rec->host->status ? r.rec->host->status : "";
	rc = 0;
	if (strcmp(st, "active") == 0) {
		*err = 0;
		rc = 1;
	} else if (strcmp(st, "error") == 0) {
		*err = EIO;
		rc = 1;
	}
	drukfs_resolved_clear(&r);
	return rc;
}

int drukfs_handles_wait(drukfs_handles *h, const char *handle, uint64_t key,
			drukfs_wait_fn fn, void *ctx, int *err)
{
	struct drukfs_waiter *w;

	if (handle_terminal(h, handle, err))
		return 1;
	w = calloc(1, sizeof(*w));
	if (!w || !(w->handle = strdup(handle))) {
		free(w);
		return -ENOMEM;
	}
	w->fn = fn;
	w->ctx = ctx;
	pthread_mutex_lock(&h->lock);
	w->key = key;
	w->next = h->waiters;
	h->waiters = w;
	h->nwaiters++;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	/* The state may have settled between the check and the insert. */
	if (handle_terminal(h, handle, err))
		complete_waiters(h, handle, *err);
	return 0;
}

/* Waiters are found by key, never by pointer: the interrupt that asks
 * may come after the waiter was answered and freed. */
int drukfs_handles_wait_cancel(drukfs_handles *h, uint64_t key, void **ctx)
{
	struct drukfs_waiter **pp, *found = NULL;

	pthread_mutex_lock(&h->lock);
	for (pp = &h->waiters; *pp; pp = &(*pp)->next) {
		if ((*pp)->key == key) {
			found = *pp;
			*pp = found->next;
			h->nwaiters--;
			break;
		}
	}
	pthread_mutex_unlock(&h->lock);
	if (!found)
		return 0;
	*ctx = found->ctx;
	free(found->handle);
	free(found);
	return 1;
}

size_t drukfs_handles_waiting(drukfs_handles *h)
{
	size_t n;

	pthread_mutex_lock(&h->lock);
	n = h->nwaiters;
	pthread_mutex_unlock(&h->lock);
	return n;
}

/* The distinct handles waited on, copied (lock held). */
static char **waited_handles(drukfs_handles *h, size_t *count)
{
	char **v = calloc(h->nwaiters ? h->nwaiters : 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return NULL;
	for (struct drukfs_waiter *w = h->waiters; w; w = w->next) {
		size_t i;

		for (i = 0; i < n && strcmp(v[i], w->handle) != 0; i++)
			;
		if (i == n && (v[n] = strdup(w->handle)))
			n++;
	}
	*count = n;
	return v;
}

/* Polls, every wait_poll seconds while anyone waits, for hosts this mount
 * is not creating itself: one list fetch a round, however many wait. */
static void *poller(void *arg)
{
	drukfs_handles *h = arg;

	pthread_mutex_lock(&h->lock);
	while (!h->stop) {
		size_t n = 0;
		char **v;

		if (!h->waiters) {
			pthread_cond_wait(&h->cond, &h->lock);
			continue;
		}
		pthread_mutex_unlock(&h->lock);
		if (backoff(h, h->opts.wait_poll)) {
			pthread_mutex_lock(&h->lock);
			break;
		}
		pthread_mutex_lock(&h->lock);
		v = waited_handles(h, &n);
		pthread_mutex_unlock(&h->lock);
		drukfs_cache_expire(h->cache);
		for (size_t i = 0; v && i < n; i++) {
			int err = 0;

			if (handle_terminal(h, v[i], &err))
				complete_waiters(h, v[i], err);
			free(v[i]);
		}
		free(v);
		pthread_mutex_lock(&h->lock);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* ---- life cycle ----------------------------------------------------------- */

/* Loads one kept NAME; a pending one gets its create resumed. */
static int load_name(drukfs_handles *h, const char *name)
{
	drukfs_state_entry *e = NULL;
	lname *ln;
	int rc = drukfs_state_load(h->state, name, &e);

	if (rc < 0)
		return rc == -ENOENT ? 0 : rc;
	ln = lname_new(name, e->request_json);
	if (!ln) {
		drukfs_state_entry_free(e);
		return -ENOMEM;
	}
	ln->key = e->private_key;
	e->private_key = NULL;
	if (e->id) {
		ln->id = e->id;
		e->id = NULL;
		ln->st = LN_READY;
	} else if (e->failed) {
		drukfs_rec *ph = placeholder("error", e->failed);

		ln->st = LN_FAILED;
		ln->err = EIO;
		if (ph) {
			drukfs_rec_unref(ln->placeholder);
			ln->placeholder = ph;
		}
	}
	drukfs_state_entry_free(e);
	pthread_mutex_lock(&h->lock);
	strmap_put(&h->names, name, ln, NULL);
	if (ln->id)
		strmap_put(&h->by_id, ln->id, ln, NULL);
	pthread_mutex_unlock(&h->lock);
	if (ln->st == LN_PENDING) {
		drukfs_log_add(h->log, time(NULL),
			       "resuming the create of %s", name);
		return start_create(h, ln);
	}
	return 0;
}

static int load_names(drukfs_handles *h)
{
	char **names = NULL;
	size_t n = 0;
	int rc = drukfs_state_list(h->state, &names, &n);

	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = load_name(h, names[i]);
	drukfs_state_names_free(names, n);
	return rc;
}

int drukfs_handles_new(drukfs_handles **out, drukbox_client *client,
		       drukfs_cache *cache, drukfs_state *state,
		       drukfs_log *log, const drukfs_handles_opts *opts)
{
	drukfs_handles *h = calloc(1, sizeof(*h));
	pthread_condattr_t ca;
	int rc;

	*out = NULL;
	if (!h)
		return -ENOMEM;
	h->client = client;
	h->cache = cache;
	h->state = state;
	h->log = log;
	h->opts = *opts;
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->rlock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->cond, &ca);
	pthread_condattr_destroy(&ca);
	/* Published before any thread of ours starts: the create workers
	 * that load_names() resumes report changes through the owner's
	 * callback, which finds the handles through this pointer. */
	*out = h;
	rc = -pthread_create(&h->poller, NULL, poller, h);
	if (rc < 0)
		goto fail;
	h->poller_started = 1;
	rc = load_names(h);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	drukfs_handles_free(h);
	*out = NULL;
	return rc;
}

void drukfs_handles_free(drukfs_handles *h)
{
	const char *k;
	void *v;

	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->stop = 1;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	if (h->poller_started)
		pthread_join(h->poller, NULL);
	/* A list fetch still running calls drukfs_handles_host_changed when
	 * it ends; with the poller gone and the session over nothing starts
	 * another, so wait for those before freeing what they would use. */
	if (h->cache)
		drukfs_cache_wait_idle(h->cache);
	/* Readers still blocked on wait get EINTR-like closure: the session is
	 * ending, the kernel aborts them. */
	for (struct drukfs_waiter *w = h->waiters, *n; w; w = n) {
		n = w->next;
		free(w->handle);
		free(w);
	}
	for (size_t i = 0; strmap_next(&h->names, &i, &k, &v);)
		lname_free(v);
	strmap_clear(&h->names);
	strmap_clear(&h->by_id);
	strmap_clear(&h->hidden);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	pthread_mutex_destroy(&h->rlock);
	free(h);
}

/* ---- renewals ------------------------------------------------------------- */

/* The id behind handle, for a request that needs one.  0, -EBUSY while
 * the create is pending, -ENOENT, -errno. */
static int handle_id(drukfs_handles *h, const char *handle, char **id)
{
	drukfs_resolved r;
	int rc = drukfs_handles_resolve(h, handle, 0, &r);

	*id = NULL;
	if (rc < 0)
		return rc;
	if (!r.rec->host->id)
		rc = -EBUSY;
	else if (!(*id = strdup(r.rec->host->id)))
		rc = -ENOMEM;
	drukfs_resolved_clear(&r);
	return rc;
}

int drukfs_handles_renew(drukfs_handles *h, const char *handle,
			 const char *expires_at)
{
	drukbox_host *host = NULL;
	char *id = NULL;
	int64_t t;
	int rc;

	if (expires_at && drukfs_isotime_parse(expires_at, &t) < 0) {
		drukfs_log_add(h->log, time(NULL),
			       "renew %s: not an ISO 8601 time with an offset",
			       handle);
		return -EINVAL;
	}
	rc = handle_id(h, handle, &id);
	if (rc < 0)
		return rc;
	rc = drukbox_host_renew(h->client, id, expires_at, &host);
	drukfs_cache_count(h->cache, ROUTE_RENEW, rc < 0);
	if (rc < 0) {
		const drukbox_error *e = drukbox_error_last();

		drukfs_log_add(h->log, time(NULL), "renew %s failed: %s (%s)",
			       handle, e->detail, drukbox_err_name(e->code));
		rc = -drukbox_err_errno(rc);
	} else {
		drukfs_log_add(h->log, time(NULL), "renewed %s until %s", handle,
			       host->expires_at ? host->expires_at : "-");
		drukbox_host_strip_private_key(host);
		rc = drukfs_cache_apply(h->cache, id, host); /* reports it */
	}
	free(id);
	return rc;
}
