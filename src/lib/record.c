/*
 * record.c — making, copying, comparing and freeing records.
 *
 * Kept apart from the parsers because none of it reads JSON.  A host
 * record is one allocation: the struct, then every string it points to,
 * back to back.  With ten thousand hosts in a list that is one malloc per
 * host instead of eighteen, and none of the per-allocation overhead and
 * rounding of seventeen small strings; it also makes freeing a record a
 * single free() and copying it a single pack.  The price is that a field
 * cannot be freed or replaced on its own, which drukbox.h states (the
 * strings are const).
 *
 * Every _free() accepts NULL, which lets callers use a single cleanup
 * path.  The private key is wiped before its memory is returned.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "record.h"

#define STRING_KEY(key, field)                                               \
	[DRUKBOX_HOST_##key] = { #field, sizeof(#field) - 1, RECORD_STRING,   \
				 offsetof(drukbox_host, field) }

const record_key drukbox_record_keys[DRUKBOX_HOST_KEY_COUNT] = {
	STRING_KEY(ID, id),
	STRING_KEY(NAME, name),
	STRING_KEY(STATUS, status),
	STRING_KEY(PROVIDER, provider),
	STRING_KEY(IMAGE, image),
	STRING_KEY(INSTANCE_TYPE, instance_type),
	[DRUKBOX_HOST_DISK_GB] = { "disk_gb", 7, RECORD_DISK_GB, 0 },
	STRING_KEY(EXTERNAL_SSH_HOST, external_ssh_host),
	[DRUKBOX_HOST_EXTERNAL_SSH_PORT] = { "external_ssh_port", 17,
					     RECORD_PORT, 0 },
	STRING_KEY(SSH_USERNAME, ssh_username),
	STRING_KEY(INTERNAL_SSH_HOST, internal_ssh_host),
	STRING_KEY(KNOWN_HOSTS, known_hosts),
	STRING_KEY(TAILSCALE_DEVICE_ID, tailscale_device_id),
	STRING_KEY(PRIVATE_KEY, private_key),
	STRING_KEY(LAST_ERROR, last_error),
	STRING_KEY(CREATED_AT, created_at),
	STRING_KEY(UPDATED_AT, updated_at),
	STRING_KEY(ACTIVATED_AT, activated_at),
	STRING_KEY(EXPIRES_AT, expires_at),
};

/* k must be a string key. */
const char **drukbox_record_string(drukbox_host *host, drukbox_host_key k)
{
	return (const char **)((char *)host + drukbox_record_keys[k].offset);
}

const char *drukbox_record_string_of(const drukbox_host *host,
				     drukbox_host_key k)
{
	return *drukbox_record_string((drukbox_host *)host, k);
}

/* Pure. */
bool drukbox_record_shows(const drukbox_host *host, drukbox_host_key k)
{
	if (host->present & DRUKBOX_HOST_BIT(k))
		return true;
	switch (drukbox_record_keys[k].type) {
	case RECORD_DISK_GB: return host->has_disk_gb;
	case RECORD_PORT: return host->has_external_ssh_port;
	default: return drukbox_record_string_of(host, k) != NULL;
	}
}

/* Bytes the strings of tmpl need, terminators included. */
static size_t strings_size(const drukbox_host *tmpl)
{
	size_t total = tmpl->extra ? strlen(tmpl->extra) + 1 : 0;

	for (int k = 0; k < DRUKBOX_HOST_KEY_COUNT; k++) {
		const char *s;

		if (drukbox_record_keys[k].type != RECORD_STRING)
			continue;
		s = drukbox_record_string_of(tmpl, (drukbox_host_key)k);
		if (s)
			total += strlen(s) + 1;
	}
	return total;
}

/* Copies s to *dst and returns the copy; *dst moves past it. */
static const char *put_string(char **dst, const char *s)
{
	size_t n = strlen(s) + 1;
	char *copy = *dst;

	memcpy(copy, s, n);
	*dst += n;
	return copy;
}

/* 0 or -DRUKBOX_ENOMEM. */
int drukbox_record_pack(drukbox_host **out, const drukbox_host *tmpl)
{
	drukbox_host *host;
	char *dst;

	*out = NULL;
	host = malloc(sizeof(*host) + strings_size(tmpl));
	if (!host)
		return drukbox_error_nomem();
	*host = *tmpl;
	dst = (char *)(host + 1);
	for (int k = 0; k < DRUKBOX_HOST_KEY_COUNT; k++) {
		const char **field;

		if (drukbox_record_keys[k].type != RECORD_STRING)
			continue;
		field = drukbox_record_string(host, (drukbox_host_key)k);
		if (*field)
			*field = put_string(&dst, *field);
	}
	if (host->extra)
		host->extra = put_string(&dst, host->extra);
	*out = host;
	return 0;
}

/* Overwrites the key's bytes; they are the record's own memory. */
static void wipe_key(drukbox_host *host)
{
	if (host->private_key)
		explicit_bzero((char *)host->private_key,
			       strlen(host->private_key));
	host->private_key = NULL;
}

/* Accepts NULL. */
void drukbox_host_free(drukbox_host *host)
{
	if (!host)
		return;
	wipe_key(host);
	free(host);
}

/* 0 or -DRUKBOX_ENOMEM; *out NULL on failure. */
int drukbox_host_dup(drukbox_host **out, const drukbox_host *host)
{
	drukbox_error_clear();
	if (!out || !host)
		return drukbox_error_set(DRUKBOX_EINVAL, 0,
					 "out and host are required");
	return drukbox_record_pack(out, host);
}

/* 0 or -DRUKBOX_ENOMEM; *out (caller frees) has only status and
 * last_error, and host.json shows just those two (null when NULL). */
int drukbox_host_placeholder(drukbox_host **out, const char *status,
			     const char *last_error)
{
	drukbox_host tmpl = {
		.status = status,
		.last_error = last_error,
		.external_ssh_port = 22,
		.present = DRUKBOX_HOST_BIT(DRUKBOX_HOST_STATUS) |
			   DRUKBOX_HOST_BIT(DRUKBOX_HOST_LAST_ERROR),
	};

	drukbox_error_clear();
	if (!out)
		return drukbox_error_set(DRUKBOX_EINVAL, 0, "out is NULL");
	return drukbox_record_pack(out, &tmpl);
}

/* 0, or -DRUKBOX_EINVAL for NULL.  The presence bit stays: host.json
 * goes on showing "private_key": null, as for any record. */
int drukbox_host_strip_private_key(drukbox_host *host)
{
	drukbox_error_clear();
	if (!host)
		return drukbox_error_set(DRUKBOX_EINVAL, 0, "host is NULL");
	wipe_key(host);
	return 0;
}

/* Whether two strings are equal, NULL equal only to NULL. */
static bool same_string(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Whether key k is shown the same way with the same value in a and b. */
static bool same_key(const drukbox_host *a, const drukbox_host *b,
		     drukbox_host_key k)
{
	if (drukbox_record_shows(a, k) != drukbox_record_shows(b, k))
		return false;
	switch (drukbox_record_keys[k].type) {
	case RECORD_DISK_GB:
		return a->has_disk_gb == b->has_disk_gb &&
		       (!a->has_disk_gb || a->disk_gb == b->disk_gb);
	case RECORD_PORT:
		return a->has_external_ssh_port == b->has_external_ssh_port &&
		       a->external_ssh_port == b->external_ssh_port;
	default:
		return same_string(drukbox_record_string_of(a, k),
				   drukbox_record_string_of(b, k));
	}
}

/* Pure. */
bool drukbox_host_equal(const drukbox_host *a, const drukbox_host *b)
{
	if (!a || !b)
		return a == b;
	for (int k = 0; k < DRUKBOX_HOST_KEY_COUNT; k++)
		if (!same_key(a, b, (drukbox_host_key)k))
			return false;
	return same_string(a->extra, b->extra);
}

/* Accepts NULL; frees every host in the list (none when hosts is NULL:
 * a list whose records went to a sink). */
void drukbox_host_list_free(drukbox_host_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; list->hosts && i < list->count; i++)
		drukbox_host_free(list->hosts[i]);
	free(list->hosts);
	free(list->skipped_detail);
	free(list);
}

/* Accepts NULL. */
void drukbox_doctor_free(drukbox_doctor *doctor)
{
	if (!doctor)
		return;
	for (size_t i = 0; i < doctor->check_count; i++) {
		free(doctor->checks[i].name);
		free(doctor->checks[i].status);
		free(doctor->checks[i].detail);
		free(doctor->checks[i].hint);
	}
	free(doctor->checks);
	free(doctor->active_provider);
	free(doctor->json);
	free(doctor);
}
