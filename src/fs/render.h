/*
 * Pure renderers: every file drukfs shows is made here from a record (and
 * `now` where age matters).  No I/O, no clock reads, no locks; each call
 * returns a freshly allocated buffer the caller frees with free().
 *
 * Value files hold the value and a newline; a null or empty value is an
 * empty file; a value that already ends in '\n' (known_hosts, private_key)
 * gets no second one.
 */
#ifndef DRUKFS_RENDER_H
#define DRUKFS_RENDER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <drukbox/drukbox.h>

/* The files of a host directory.  The numbers are part of the inode
 * numbering (tree.h): never reorder, add new ones before FIELD_COUNT.
 * Index 0 is the directory itself. */
typedef enum drukfs_field {
	FIELD_DIR = 0,
	FIELD_STATE,
	FIELD_WAIT,
	FIELD_ID,
	FIELD_NAME,
	FIELD_PROVIDER,
	FIELD_IMAGE,
	FIELD_INSTANCE_TYPE,
	FIELD_DISK_GB,
	FIELD_EXTERNAL_SSH_HOST,
	FIELD_EXTERNAL_SSH_PORT,
	FIELD_SSH_USERNAME,
	FIELD_INTERNAL_SSH_HOST,
	FIELD_KNOWN_HOSTS,
	FIELD_PRIVATE_KEY,
	FIELD_LAST_ERROR,
	FIELD_CREATED_AT,
	FIELD_UPDATED_AT,
	FIELD_ACTIVATED_AT,
	FIELD_EXPIRES_AT,
	FIELD_HOST_JSON,
	FIELD_SSH_CONFIG,       /* rendered by the filesystem (sshconf.h) */
	FIELD_COUNT
} drukfs_field;

/* "state", "host.json", ...; NULL for FIELD_DIR or out of range. */
const char *drukfs_field_name(drukfs_field f);

/* The field called `name`, or -1.  Cannot fail otherwise. */
int drukfs_field_lookup(const char *name);

/* Whether the field is listed by readdir (wait is not; private_key only
 * when the mount holds the key, decided by the caller). */
int drukfs_field_listed(drukfs_field f);

/* Renders a value file of `host`.  FIELD_STATE is the status;
 * FIELD_HOST_JSON the record's json; FIELD_PRIVATE_KEY renders
 * host->private_key.  FIELD_WAIT and FIELD_DIR are not renderable
 * (-EINVAL).  Returns 0 with *out (malloc'd, NUL-terminated, may be "")
 * and *len, or -ENOMEM. */
int drukfs_render_field(char **out, size_t *len, const drukbox_host *host,
			drukfs_field f);

/* What drukfs itself knows about the service, for the doctor file. */
typedef struct drukfs_service_view {
	const char *url;
	int reachable;          /* 1 yes, 0 no, -1 not asked yet */
	int token_accepted;     /* 1 yes, 0 no, -1 not known */
	int64_t list_age_ms;    /* age of the cached host list; -1 none */
	size_t host_count;      /* hosts in the cached list */
	const char *last_error; /* last failure line, or NULL */
	const char *doctor_error; /* why there is no report, or NULL */
} drukfs_service_view;

/* The human doctor report: a first line "drukbox: ok" / "drukbox: FAIL",
 * active provider, tailscale, one aligned line per check (name, status,
 * latency, detail, hint), then drukfs's own view.  `doctor` may be NULL
 * (service not reachable) and then the report says so.  0 or -ENOMEM. */
int drukfs_render_doctor(char **out, size_t *len, const drukbox_doctor *doctor,
			 const drukfs_service_view *view);

#endif
