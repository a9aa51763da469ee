/*
 * The filesystem: libfuse's low-level operations over the handles, the
 * cache and the renderers.
 *
 * Why the low-level API: reads of `wait` are answered later from another
 * thread (fuse_reply_* after the handler returned), so a hundred blocked
 * waits cost a hundred list entries, not a hundred worker threads; and the
 * inode numbers (tree.h) and kernel invalidations are ours to control.
 */
#ifndef DRUKFS_FS_H
#define DRUKFS_FS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "cache.h"
#include "handles.h"
#include "log.h"
#include "sshconf.h"
#include "state.h"
#include "strmap.h"
#include "tree.h"

typedef struct drukfs_fs {
	struct fuse_session *se;
	drukbox_client *client;
	drukfs_cache *cache;
	drukfs_handles *handles;
	drukfs_state *state;
	drukfs_log *log;
	drukfs_tree *tree;
	const char *url;
	uid_t uid;
	gid_t gid;
	double ttl;             /* kernel entry/attr timeouts */
	time_t started;
	atomic_uint_fast64_t next_wait;
	drukfs_ssh_opts ssh;    /* mountpoint, alias suffix, address choice */

	/* Hosts left out of ssh_config are logged once per reason. */
	pthread_mutex_t slock;
	strmap ssh_logged;
	strmap spec_undo;       /* spec name -> what a create or truncation
				   replaced (fs_write.c; under slock) */
	/* Names of hosts/ the kernel may keep a negative entry for (looked
	 * up lately: name -> 1 + the time in ms), so that a host appearing
	 * under one has that entry dropped; under slock.  When it would grow
	 * past its cap it is emptied and every name counts until
	 * neg_all_until. */
	strmap negatives;
	double neg_all_until;
	uint64_t fixed_owner[INO_FIXED_END]; /* generated files: the node
				   whose current version they are */
	int single_thread;      /* -s: handlers never wait for the notifier */
	struct drukfs_fuse_counts *counts;

	/* Kernel invalidations are sent from their own thread: never from a
	 * handler, and never from a thread a handler may wait for. */
	pthread_mutex_t nlock;
	pthread_cond_t ncond;
	pthread_cond_t ndone;   /* a notice was handled */
	/* What to tell the kernel, in order: [0] every notice but N_INNER,
	 * [1] N_INNER (handled only when [0] is empty).  FIFOs with a tail,
	 * so a refresh of 100 000 known hosts queues in linear time. */
	struct notice_fifo {
		struct notice *head, *tail;
	} nq[2];
	uint64_t nseq;          /* the last notice queued */
	unsigned eintr_pending; /* interrupted waits' replies in flight */
	uint64_t nbusy;         /* the notice being handled, or 0 */
	int nstop;
	pthread_t notifier;
	int notifier_started;
} drukfs_fs;

extern const struct fuse_lowlevel_ops drukfs_ops;

/* Starts / stops the invalidation thread.  0 or -errno.  Stopping also
 * waits for the replies to interrupted waits still being sent: call it
 * after the session loop ended, before the session is destroyed. */
int drukfs_fs_notifier_start(drukfs_fs *fs);
void drukfs_fs_notifier_stop(drukfs_fs *fs);

/* The handles' change callback: queues the kernel invalidations for
 * hosts/<handle> and the files below it.  It only queues, so it may be
 * called with the cache's or the handles' lock held (and is, so that
 * nothing can see a change before its invalidation is queued). */
void drukfs_fs_changed(void *fs, const char *handle);

#endif
