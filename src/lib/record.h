/*
 * record.h — the host record's keys, and how the library makes records.
 *
 * One table (drukbox_record_keys) names every known key with its type and
 * where it lives in drukbox_host, in the contract's order.  The parser,
 * the host.json renderer, the copy and the comparison all walk it, so a
 * new field is added in one place.
 */
#ifndef DRUKBOX_LIB_RECORD_H
#define DRUKBOX_LIB_RECORD_H

#include "common.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum record_type {
	RECORD_STRING,  /* a const char * member at `offset` */
	RECORD_DISK_GB, /* disk_gb / has_disk_gb */
	RECORD_PORT,    /* external_ssh_port / has_external_ssh_port */
} record_type;

typedef struct record_key {
	const char *name;
	size_t name_len;
	record_type type;
	size_t offset;  /* of the string member, for RECORD_STRING */
} record_key;

/* Indexed by drukbox_host_key. */
extern const record_key drukbox_record_keys[DRUKBOX_HOST_KEY_COUNT];

/* The string member of `host` for string key k. */
const char **drukbox_record_string(drukbox_host *host, drukbox_host_key k);
const char *drukbox_record_string_of(const drukbox_host *host,
				     drukbox_host_key k);

/* Whether host.json shows key k: the record had it, or has a value for
 * it.  Pure. */
bool drukbox_record_shows(const drukbox_host *host, drukbox_host_key k);

/* A new record with the fields of `tmpl`, whose strings may point
 * anywhere: they are copied, with `extra`, into the record's own single
 * allocation.  0 with *out the caller's (drukbox_host_free), or
 * -DRUKBOX_ENOMEM. */
int drukbox_record_pack(drukbox_host **out, const drukbox_host *tmpl);

/* A growing array of hosts: what drukbox_host_list_parse() and
 * drukbox_host_list_get() give their list reader as its sink. */
typedef struct drukbox_host_array {
	drukbox_host **hosts;
	size_t count, cap;
} drukbox_host_array;

/* drukbox_host_sink: appends host (ctx is the array).  0, or
 * -DRUKBOX_ENOMEM with host freed. */
int drukbox_host_array_push(void *ctx, drukbox_host *host);

/* Ends a collection whose result is rc: on 0 the hosts move into `list`
 * (whose count the reader already set; the array's unused tail given
 * back), otherwise they are freed.  Returns rc. */
int drukbox_host_array_end(drukbox_host_array *a, int rc,
			   drukbox_host_list *list);

#endif
