/*
 * Handles: the names under hosts/.
 *
 * A host is listed under the local NAME it was made with (mkdir), kept in
 * the state directory, or else under its id; every host can also be
 * reached by its id.  This module owns the NAME -> host map, the creates
 * and deletes in flight, and the readers blocked on `wait`.
 *
 * mkdir does not hold hosts/ for a whole provisioning: it claims the NAME
 * in the state directory, hands the POST to a worker thread and waits
 * only `mkdir_wait` for a fast answer.  A fast failure undoes the claim
 * and becomes mkdir's errno; anything slower completes in the background.
 * rmdir works the same way with DELETE.  A pending create survives a
 * crash: the next mount resends the same body with the same key.
 */
#ifndef DRUKFS_HANDLES_H
#define DRUKFS_HANDLES_H

#include <stddef.h>
#include <stdint.h>

#include <drukbox/drukbox.h>

#include "cache.h"
#include "log.h"
#include "state.h"

typedef struct drukfs_handles drukfs_handles;

/* Called (no lock held) when what `handle` shows changed. */
typedef void (*drukfs_handle_changed_fn)(void *ctx, const char *handle);

typedef struct drukfs_handles_opts {
	double mkdir_wait;      /* seconds mkdir/rmdir wait for an answer */
	double wait_poll;       /* seconds between polls for `wait` */
	const drukbox_create_opts *defaults; /* the create body template */
	long lease;             /* > 0: expires_at = now + lease seconds at
				   each mkdir (overrides defaults->expiry) */
	drukfs_handle_changed_fn changed;
	void *changed_ctx;
} drukfs_handles_opts;

/* Loads the names kept in `state` and resumes the creates they left
 * pending.  0 or -errno. */
int drukfs_handles_new(drukfs_handles **out, drukbox_client *client,
		       drukfs_cache *cache, drukfs_state *state,
		       drukfs_log *log, const drukfs_handles_opts *opts);

/* Stops the poller.  Create and delete workers still in flight are left
 * to the process exit: what they would have recorded is in the state
 * directory already and is resumed by the next mount. */
void drukfs_handles_free(drukfs_handles *h);

/* Whether `name` is a handle: a local NAME or the id of a listed host.
 * Answered from the cache without waiting. */
int drukfs_handles_taken(drukfs_handles *h, const char *name);

/* Whether create or delete workers are still in flight (they hold the
 * client and the cache). */
int drukfs_handles_busy(drukfs_handles *h);

/* The cache's change callback: maps a host id to its handles. */
void drukfs_handles_host_changed(void *h, const char *id);

typedef struct drukfs_entry {
	char *handle;
	drukfs_rec *rec;
	int has_key;
} drukfs_entry;

typedef struct drukfs_listing {
	size_t count;
	drukfs_entry *entries;
} drukfs_listing;

/* What hosts/ lists now.  0 with *out, or -errno when the host list
 * cannot be had and nothing local is known. */
int drukfs_handles_list(drukfs_handles *h, int flags, drukfs_listing **out);
void drukfs_listing_free(drukfs_listing *l);

typedef struct drukfs_resolved {
	drukfs_rec *rec;        /* a reference */
	char *private_key;      /* the key this mount holds, or NULL */
	int local;              /* the handle is a local NAME */
} drukfs_resolved;

/* Resolves hosts/<handle> (flags: see cache.h).  0, -ENOENT, or the
 * errno of a failure. */
int drukfs_handles_resolve(drukfs_handles *h, const char *handle, int flags,
			   drukfs_resolved *out);
void drukfs_resolved_clear(drukfs_resolved *r);

/* mkdir hosts/<name>.  0 (created, or still being created), -EINVAL (bad
 * name or create options), -EEXIST, or the errno of a fast failure. */
int drukfs_handles_create(drukfs_handles *h, const char *name);

/* rmdir hosts/<handle>.  0, -ENOENT, -EBUSY, or the errno of a fast
 * failure. */
int drukfs_handles_delete(drukfs_handles *h, const char *handle);

/* touch hosts/<handle> (expires_at NULL: the service's default lease)
 * or a write of hosts/<handle>/expires_at (an ISO 8601 time with an
 * offset, else -EINVAL and nothing sent): POST /hosts/{id}/renew, and
 * the answer replaces the cached record.  0, -EBUSY (pending create, or
 * 409), or the errno of the failure. */
int drukfs_handles_renew(drukfs_handles *h, const char *handle,
			 const char *expires_at);

/* Readers of `wait`. */
typedef void (*drukfs_wait_fn)(void *ctx, int err);

/* If the host behind `handle` is already active (returns 1, *err 0) or
 * failed (returns 1, *err the errno), answers at once.  Otherwise
 * registers `fn(ctx, err)` under `key` (unique, chosen by the caller) to
 * be called once, from another thread, when it is; returns 0.  Negative
 * errno when the waiter cannot be registered. */
int drukfs_handles_wait(drukfs_handles *h, const char *handle, uint64_t key,
			drukfs_wait_fn fn, void *ctx, int *err);

/* From now on no waiter is answered (their fns reply through the FUSE
 * session): call before unmounting.  Returns once a reply in progress
 * has finished.  Cannot fail. */
void drukfs_handles_stop_replies(drukfs_handles *h);

/* Withdraws the waiter registered under `key` (an interrupted read).
 * 1 when it was withdrawn: fn will not be called and *ctx is handed back
 * to the caller; 0 when there is no such waiter (fn has been or is being
 * called). */
int drukfs_handles_wait_cancel(drukfs_handles *h, uint64_t key, void **ctx);

/* Number of readers blocked on `wait`. */
size_t drukfs_handles_waiting(drukfs_handles *h);

#endif
