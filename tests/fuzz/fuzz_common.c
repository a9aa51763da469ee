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

void fuzz_check_host(const drukbox_host *h)
{
	FUZZ_CHECK(h != NULL);
	FUZZ_CHECK(h->id && h->id[0]);
	FUZZ_CHECK(h->external_ssh_port >= 1 && h->external_ssh_port <= 65535);
	FUZZ_CHECK(h->has_disk_gb || h->disk_gb == 0);
	/* host.json is what a person reads: one document and a newline */
	FUZZ_CHECK(fuzz_ends_in_newline(h->json));
	FUZZ_CHECK(h->json[0] == '{');
}

void fuzz_check_same_host(const drukbox_host *a, const drukbox_host *b)
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
	FUZZ_CHECK(fuzz_streq(a->ssh_username, b->ssh_username));
	FUZZ_CHECK(fuzz_streq(a->internal_ssh_host, b->internal_ssh_host));
	FUZZ_CHECK(fuzz_streq(a->known_hosts, b->known_hosts));
	FUZZ_CHECK(fuzz_streq(a->tailscale_device_id, b->tailscale_device_id));
	FUZZ_CHECK(fuzz_streq(a->private_key, b->private_key));
	FUZZ_CHECK(fuzz_streq(a->last_error, b->last_error));
	FUZZ_CHECK(fuzz_streq(a->created_at, b->created_at));
	FUZZ_CHECK(fuzz_streq(a->updated_at, b->updated_at));
	FUZZ_CHECK(fuzz_streq(a->activated_at, b->activated_at));
	FUZZ_CHECK(fuzz_streq(a->expires_at, b->expires_at));
	FUZZ_CHECK(fuzz_streq(a->json, b->json));
}

void fuzz_check_reparse(const drukbox_host *h)
{
	drukbox_host *again = NULL;
	int rc = drukbox_host_parse(&again, h->json, strlen(h->json));

	if (rc == -DRUKBOX_ENOMEM)
		return;
	/* host.json must be JSON the library itself accepts, and must say
	 * the same as the record it was printed from */
	FUZZ_CHECK(rc == 0);
	fuzz_check_host(again);
	fuzz_check_same_host(h, again);
	drukbox_host_free(again);
}
