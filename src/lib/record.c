/*
 * record.c — ownership of the record types: free and deep copy.
 *
 * Kept apart from json.c because none of it needs JSON: a record is plain
 * heap strings, so freeing is a walk over its pointers and copying is a
 * strdup per field.  The field list is written once (HOST_STRINGS) so that
 * a new field cannot be freed but forgotten by the copy.  Every _free()
 * accepts NULL, which lets callers use a single cleanup path.  The private
 * key is wiped before its memory is returned.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

#define HOST_STRINGS(X)                                                      \
	X(id) X(name) X(status) X(provider) X(image) X(instance_type)        \
	X(external_ssh_host) X(ssh_username) X(internal_ssh_host)            \
	X(known_hosts) X(tailscale_device_id) X(private_key) X(last_error)   \
	X(created_at) X(updated_at) X(activated_at) X(expires_at) X(json)

/* Wipes and frees a secret string.  Accepts NULL. */
static void free_secret(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

/* Accepts NULL. */
void drukbox_host_free(drukbox_host *host)
{
	if (!host)
		return;
	free_secret(host->private_key);
	host->private_key = NULL;
	/* the pretty copy holds the key too when the create response had it */
	free_secret(host->json);
	host->json = NULL;
#define FREE_FIELD(f) free(host->f);
	HOST_STRINGS(FREE_FIELD)
#undef FREE_FIELD
	free(host);
}

/* *dst = strdup(src) for a non-NULL src.  0 or -DRUKBOX_ENOMEM. */
static int dup_field(char **dst, const char *src)
{
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : drukbox_error_nomem();
}

/* 0 or -DRUKBOX_ENOMEM; *out NULL on failure. */
int drukbox_host_dup(drukbox_host **out, const drukbox_host *host)
{
	drukbox_host *copy = NULL;
	int rc = 0;

	drukbox_error_clear();
	if (!out || !host)
		return drukbox_error_set(DRUKBOX_EINVAL, 0,
					 "out and host are required");
	*out = NULL;
	copy = malloc(sizeof(*copy));
	if (!copy)
		return drukbox_error_nomem();
	*copy = *host;
#define CLEAR_FIELD(f) copy->f = NULL;
	HOST_STRINGS(CLEAR_FIELD)
#undef CLEAR_FIELD
#define DUP_FIELD(f) if (!rc) rc = dup_field(&copy->f, host->f);
	HOST_STRINGS(DUP_FIELD)
#undef DUP_FIELD
	if (rc)
		drukbox_host_free(copy);
	else
		*out = copy;
	return rc;
}

/* Accepts NULL; frees every host in the list. */
void drukbox_host_list_free(drukbox_host_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
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
