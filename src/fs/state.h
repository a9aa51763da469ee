/*
 * The state directory: what this mount must not forget across restarts.
 *
 *   <state_dir>/                       0700
 *     url                              the service URL, for people
 *     names/<NAME>/                    0700, one per local handle
 *       request.json                   the create body sent for NAME
 *       id                             the host id, once the service said
 *       private_key                    0600, the key from the create reply
 *       failed                         the failure text of a create that
 *                                      failed after mkdir returned
 *     specs/<NAME>                     0600, a create spec (KEY=VALUE lines)
 *
 * Making names/<NAME> is the atomic "is this NAME taken" step: two mkdirs
 * of one NAME race on mkdir(2) and exactly one wins.  Every file is written
 * to a temporary file, fsynced, renamed into place, and the directory is
 * fsynced, so a crash leaves the old or the new content, never a mix.
 *
 * Every function returns 0 or a negative errno; strings handed back are
 * the caller's to free().
 */
#ifndef DRUKFS_STATE_H
#define DRUKFS_STATE_H

#include <stddef.h>

typedef struct drukfs_state drukfs_state;

/* The default directory for `url`: $XDG_STATE_HOME/drukfs/<key> or
 * ~/.local/state/drukfs/<key>, where <key> is the URL's host, port and
 * path made filename-safe plus a 16-hex-digit FNV-1a hash of the whole
 * URL (so two services never share a directory).  Pure apart from getenv
 * and getpwuid for HOME.  0, -ENOENT (no home), -ENOMEM. */
int drukfs_state_default_dir(char **out, const char *url);

/* Opens (creating with mode 0700, parents too) the state directory and
 * writes `url`.  Refuses a directory that is group/world accessible or not
 * owned by us (-EPERM) — it will hold private keys — and one that another
 * drukfs holds open (-EBUSY: an flock on the directory, released when
 * `st` is freed or the process ends). */
int drukfs_state_open(drukfs_state **out, const char *dir, const char *url);
void drukfs_state_free(drukfs_state *st);
const char *drukfs_state_dir(const drukfs_state *st);

/* Whether NAME may be used: 1-255 chars of [A-Za-z0-9_:.-], not "." or
 * "..".  Pure. */
int drukfs_state_name_valid(const char *name);

/* Claims NAME (mkdir names/NAME) and stores the create body.  -EEXIST when
 * NAME is taken, -EINVAL for an invalid name. */
int drukfs_state_claim(drukfs_state *st, const char *name,
		       const char *request_json);

/* Records the id the service gave NAME. */
int drukfs_state_set_id(drukfs_state *st, const char *name, const char *id);

/* Stores the private key for NAME (0600, fsynced). */
int drukfs_state_set_key(drukfs_state *st, const char *name, const char *key);

/* Records / clears a failure text for NAME. */
int drukfs_state_set_failed(drukfs_state *st, const char *name,
			    const char *text);

/* Forgets NAME and everything kept for it (key included). -ENOENT if it
 * was not there. */
int drukfs_state_forget(drukfs_state *st, const char *name);

/* Create specs (specs/NAME at the mount's root), kept as
 * <state_dir>/specs/NAME (0600, written atomically) until the host made
 * from one is deleted.  set: 0 or -errno; get: 0 with *out (caller
 * frees), -ENOENT; del: 0, -ENOENT; list: like drukfs_state_list(). */
int drukfs_state_spec_set(drukfs_state *st, const char *name, const char *text);
int drukfs_state_spec_get(drukfs_state *st, const char *name, char **out);
int drukfs_state_spec_del(drukfs_state *st, const char *name);
int drukfs_state_spec_list(drukfs_state *st, char ***out, size_t *count);

/* One local handle as loaded from disk. */
typedef struct drukfs_state_entry {
	char *name;
	char *id;           /* NULL while the create is pending */
	char *request_json; /* NULL if missing */
	char *private_key;  /* NULL if none kept */
	char *failed;       /* NULL unless the create failed */
} drukfs_state_entry;

void drukfs_state_entry_free(drukfs_state_entry *e);

/* Reads NAME.  -ENOENT if unknown. */
int drukfs_state_load(drukfs_state *st, const char *name,
		      drukfs_state_entry **out);

/* Every NAME kept, in no particular order: *out is an array of *count
 * malloc'd names, freed with drukfs_state_names_free().  Entries that are
 * not valid names are skipped. */
int drukfs_state_list(drukfs_state *st, char ***out, size_t *count);
void drukfs_state_names_free(char **names, size_t count);

#endif
