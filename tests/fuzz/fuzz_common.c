/*
 * The helpers of fuzz.h and the record checks every JSON target shares
 * (records.h).  Nothing here calls the code under test except to compare
 * two of its results with each other.
 */
#include "fuzz.h"
#include "records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "fuzz: invariant broken at %s:%d: %s\n", file, line,
		what);
	fflush(stderr);
	abort();
}

char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		fuzz_fail(__FILE__, __LINE__, "out of memory");
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

int fuzz_streq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

int fuzz_ends_in_newline(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && s[n - 1] == '\n';
}

void fuzz_check_failure(int rc, const void *out)
{
	const drukbox_error *e = drukbox_error_last();

	FUZZ_CHECK(out == NULL);
	FUZZ_CHECK(rc == -DRUKBOX_EPROTOCOL || rc == -DRUKBOX_ENOMEM);
	FUZZ_CHECK((int)e->code == -rc);
	FUZZ_CHECK(e->http_status == 0);
	FUZZ_CHECK(memchr(e->detail, '\0', sizeof(e->detail)) != NULL);
	FUZZ_CHECK(e->detail[0] != '\0');
}

char *fuzz_host_json(const drukbox_host *h)
{
	char *json = (char *)"unset";
	size_t len = 1;
	int rc = drukbox_host_json(&json, &len, h);

	if (rc == -DRUKBOX_ENOMEM) {
		FUZZ_CHECK(json == NULL && len == 0);
		return NULL;
	}
	FUZZ_CHECK(rc == 0 && json != NULL);
	FUZZ_CHECK(strlen(json) == len);
	return json;
}

void fuzz_check_host(const drukbox_host *h)
{
	char *json;

	FUZZ_CHECK(h != NULL);
	FUZZ_CHECK(h->id && h->id[0]);
	FUZZ_CHECK(h->external_ssh_port >= 1 && h->external_ssh_port <= 65535);
	FUZZ_CHECK(h->has_external_ssh_port || h->external_ssh_port == 22);
	FUZZ_CHECK(h->has_disk_gb || h->disk_gb == 0);
	FUZZ_CHECK(h->present & DRUKBOX_HOST_BIT(DRUKBOX_HOST_ID));
	FUZZ_CHECK(!h->extra || (h->extra[0] == '{' &&
				 h->extra[strlen(h->extra) - 1] == '}'));
	FUZZ_CHECK(drukbox_host_equal(h, h));
	/* host.json is what a person reads: one document and a newline */
	json = fuzz_host_json(h);
	if (!json)
		return;
	FUZZ_CHECK(fuzz_ends_in_newline(json));
	FUZZ_CHECK(json[0] == '{');
	free(json);
}

/* The known fields of a and b equal, but for the private key. */
static void check_same_fields(const drukbox_host *a, const drukbox_host *b)
{
	FUZZ_CHECK(fuzz_streq(a->id, b->id));
	FUZZ_CHECK(fuzz_streq(a->name, b->name));
	FUZZ_CHECK(fuzz_streq(a->status, b->status));
	FUZZ_CHECK(fuzz_streq(a->provider, b->provider));
	FUZZ_CHECK(fuzz_streq(a->image, b->image));
	FUZZ_CHECK(fuzz_streq(a->instance_type, b->instance_type));
	FUZZ_CHECK(a->has_disk_gb == b->has_disk_gb);
	FUZZ_CHECK(a->disk_gb == b->disk_gb);
	FUZZ_CHECK(fuzz_streq(a->external_ssh_host, b->external_ssh_host));
	FUZZ_CHECK(a->external_ssh_port == b->external_ssh_port);
	FUZZ_CHECK(a->has_external_ssh_port == b->has_external_ssh_port);
	FUZZ_CHECK(fuzz_streq(a->ssh_username, b->ssh_username));
	FUZZ_CHECK(fuzz_streq(a->internal_ssh_host, b->internal_ssh_host));
	FUZZ_CHECK(fuzz_streq(a->known_hosts, b->known_hosts));
	FUZZ_CHECK(fuzz_streq(a->tailscale_device_id, b->tailscale_device_id));
	FUZZ_CHECK(fuzz_streq(a->last_error, b->last_error));
	FUZZ_CHECK(fuzz_streq(a->created_at, b->created_at));
	FUZZ_CHECK(fuzz_streq(a->updated_at, b->updated_at));
	FUZZ_CHECK(fuzz_streq(a->activated_at, b->activated_at));
	FUZZ_CHECK(fuzz_streq(a->expires_at, b->expires_at));
	FUZZ_CHECK(a->present == b->present);
}

void fuzz_check_same_host(const drukbox_host *a, const drukbox_host *b)
{
	char *ja, *jb;

	check_same_fields(a, b);
	FUZZ_CHECK(fuzz_streq(a->private_key, b->private_key));
	FUZZ_CHECK(fuzz_streq(a->extra, b->extra));
	FUZZ_CHECK(drukbox_host_equal(a, b));
	ja = fuzz_host_json(a);
	jb = fuzz_host_json(b);
	if (ja && jb)
		FUZZ_CHECK(strcmp(ja, jb) == 0);
	free(ja);
	free(jb);
}

void fuzz_check_reparse(const drukbox_host *h)
{
	drukbox_host *again = NULL;
	char *json = fuzz_host_json(h), *json2;
	int rc;

	if (!json)
		return;
	rc = drukbox_host_parse(&again, json, strlen(json));
	if (rc == -DRUKBOX_ENOMEM) {
		free(json);
		return;
	}
	/* host.json must be JSON the library itself accepts, must say the
	 * same as the record it was printed from, never the key, and print
	 * the same again */
	FUZZ_CHECK(rc == 0);
	fuzz_check_host(again);
	check_same_fields(h, again);
	FUZZ_CHECK(again->private_key == NULL);
	FUZZ_CHECK((h->extra == NULL) == (again->extra == NULL));
	json2 = fuzz_host_json(again);
	if (json2)
		FUZZ_CHECK(strcmp(json, json2) == 0);
	free(json2);
	free(json);
	drukbox_host_free(again);
}
