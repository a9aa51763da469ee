/*
 * fuzz_host: the input is one host record as GET /hosts/{id} returns it.
 *
 * drukbox_host_parse() must either fail cleanly (nothing returned, the
 * thread's error naming a protocol error) or give a record whose
 * host.json parses back to the same record (without the private key,
 * which host.json never shows).  A record is then shown the
 * way the filesystem shows it: every value file (exactly the value and
 * one '\n', or empty), the ssh_config block under both handles the
 * filesystem may use (id, name) and every address choice, known_hosts
 * filtered, and the timestamps read by isotime.  It is also copied and
 * stripped of its private key, as the cache does before showing it.
 */
#include "fuzz.h"
#include "records.h"
#include "ssh.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "isotime.h"
#include "render.h"

/* A mount point with a '%' (it must come out doubled) and a space. */
static const drukfs_ssh_opts ssh_opts = {
	".drukbox", SSH_ADDRESS_AUTO, "/run/user/1000/druk fs%d"
};

/* The member each string value file shows, per render.h. */
static const char *field_value(const drukbox_host *h, drukfs_field f)
{
	switch (f) {
	case FIELD_STATE: return h->status;
	case FIELD_ID: return h->id;
	case FIELD_NAME: return h->name;
	case FIELD_PROVIDER: return h->provider;
	case FIELD_IMAGE: return h->image;
	case FIELD_INSTANCE_TYPE: return h->instance_type;
	case FIELD_EXTERNAL_SSH_HOST: return h->external_ssh_host;
	case FIELD_SSH_USERNAME: return h->ssh_username;
	case FIELD_INTERNAL_SSH_HOST: return h->internal_ssh_host;
	case FIELD_KNOWN_HOSTS: return h->known_hosts;
	case FIELD_PRIVATE_KEY: return h->private_key;
	case FIELD_LAST_ERROR: return h->last_error;
	case FIELD_CREATED_AT: return h->created_at;
	case FIELD_UPDATED_AT: return h->updated_at;
	case FIELD_ACTIVATED_AT: return h->activated_at;
	case FIELD_EXPIRES_AT: return h->expires_at;
	default: return NULL;
	}
}

/* Whether out (len bytes) is `value` plus one '\n' unless it already
 * ends in one; "" for NULL or "". */
static int is_value_file(const char *out, size_t len, const char *value)
{
	size_t n = value ? strlen(value) : 0;

	if (n == 0)
		return len == 0;
	if (value[n - 1] == '\n')
		return len == n && memcmp(out, value, n) == 0;
	return len == n + 1 && memcmp(out, value, n) == 0 && out[n] == '\n';
}

static void check_field(const drukbox_host *h, int f)
{
	char *out = (char *)"unset", num[32];
	size_t len = 1;
	int rc = drukfs_render_field(&out, &len, h, (drukfs_field)f);

	if (f <= FIELD_DIR || f == FIELD_WAIT || f >= FIELD_SSH_CONFIG) {
		FUZZ_CHECK(rc == -EINVAL && out == NULL && len == 0);
		return;
	}
	if (rc == -ENOMEM)
		return;
	FUZZ_CHECK(rc == 0 && out != NULL && strlen(out) == len);
	/* every value file is empty or ends its one line */
	FUZZ_CHECK(len == 0 || out[len - 1] == '\n');
	switch (f) {
	case FIELD_HOST_JSON: {
		char *json = fuzz_host_json(h);

		if (json)
			FUZZ_CHECK(strcmp(out, json) == 0);
		free(json);
		break;
	}
	case FIELD_DISK_GB:
		snprintf(num, sizeof(num), "%" PRId64, h->disk_gb);
		FUZZ_CHECK(is_value_file(out, len, h->has_disk_gb ? num : NULL));
		break;
	case FIELD_EXTERNAL_SSH_PORT:
		snprintf(num, sizeof(num), "%d", h->external_ssh_port);
		FUZZ_CHECK(is_value_file(out, len, num));
		break;
	default:
		FUZZ_CHECK(is_value_file(out, len,
					 field_value(h, (drukfs_field)f)));
	}
	free(out);
}

/* A timestamp that parses must name the same instant when printed back
 * (checked for whole-second forms without a leap second). */
static void check_isotime(const char *s)
{
	int64_t t = -1, off = 0;
	struct tm tm;
	time_t tt;
	char again[64];
	const char *p;
	int rc;

	if (!s)
		return;
	rc = drukfs_isotime_parse(s, &t);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	if (rc || s[17] == '6')
		return;
	p = s + 19;
	if (*p == '.')
		p += 1 + strspn(p + 1, "0123456789");
	if (*p != 'Z')
		off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 +
		      ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
	if (*p == '-')
		off = -off;
	tt = (time_t)(t + off);
	FUZZ_CHECK(gmtime_r(&tt, &tm) != NULL);
	snprintf(again, sizeof(again), "%04d-%02d-%02d%c%02d:%02d:%02d",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, s[10],
		 tm.tm_hour, tm.tm_min, tm.tm_sec);
	FUZZ_CHECK(strncmp(again, s, 19) == 0);
}

/* What drukfs does before it shows a record: copy it and drop the key.
 * host.json stays exactly what it was: it never showed the key. */
static void check_copy_and_strip(const drukbox_host *h)
{
	drukbox_host *copy = NULL;
	char *before, *after;
	int rc = drukbox_host_dup(&copy, h);

	if (rc == -DRUKBOX_ENOMEM)
		return;
	FUZZ_CHECK(rc == 0 && copy != NULL);
	fuzz_check_same_host(h, copy);
	before = fuzz_host_json(copy);
	FUZZ_CHECK(drukbox_host_strip_private_key(copy) == 0);
	FUZZ_CHECK(copy->private_key == NULL);
	FUZZ_CHECK(drukbox_host_equal(copy, h) == (h->private_key == NULL));
	after = fuzz_host_json(copy);
	if (before && after)
		FUZZ_CHECK(strcmp(before, after) == 0);
	free(before);
	free(after);
	drukbox_host_free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static drukbox_host sentinel; /* a failed parse must reset *out */
	drukbox_host *h = &sentinel;
	int rc = drukbox_host_parse(&h, (const char *)data, size);

	if (rc) {
		fuzz_check_failure(rc, h);
		return 0;
	}
	FUZZ_CHECK(drukbox_error_last()->code == DRUKBOX_OK);
	fuzz_check_host(h);
	fuzz_check_reparse(h);
	for (int f = -1; f <= FIELD_COUNT; f++)
		check_field(h, f);
	fuzz_ssh_blocks(h, h->id, &ssh_opts);
	fuzz_ssh_blocks(h, h->name, &ssh_opts);
	fuzz_known_hosts(h->known_hosts ? h->known_hosts : "");
	check_isotime(h->created_at);
	check_isotime(h->updated_at);
	check_isotime(h->activated_at);
	check_isotime(h->expires_at);
	check_copy_and_strip(h);
	drukbox_host_free(h);
	return 0;
}
