/*
 * Unit tests for src/fs/render.c: the value files of a host directory and
 * the doctor report.  Every expectation is the exact byte string a reader
 * of the mount would see.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"

#include "../support/cunit_main.h"

/* Renders field `f` of `h` and checks it is exactly `want`. */
static void expect_field(const drukbox_host *h, drukfs_field f,
			 const char *want)
{
	char *out = NULL;
	size_t len = 0;

	CU_ASSERT_EQUAL_FATAL(drukfs_render_field(&out, &len, h, f), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL(len, strlen(want));
	CU_ASSERT_EQUAL(strlen(out), len);
	CU_ASSERT_STRING_EQUAL(out, want);
	free(out);
}

/* Renders the doctor report and checks it is exactly `want`. */
static void expect_doctor(const drukbox_doctor *d, const drukfs_service_view *v,
			  const char *want)
{
	char *out = NULL;
	size_t len = 0;

	CU_ASSERT_EQUAL_FATAL(drukfs_render_doctor(&out, &len, d, v), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL(len, strlen(out));
	CU_ASSERT_STRING_EQUAL(out, want);
	free(out);
}

/* A host with a distinct value in every field. */
static drukbox_host full_host(void)
{
	drukbox_host h;

	memset(&h, 0, sizeof(h));
	h.id = (char *)"0190c3e2-7a1b-7c00-8000-00000000abcd";
	h.name = (char *)"sb-0123456789ab";
	h.status = (char *)"active";
	h.provider = (char *)"hetzner";
	h.image = (char *)"ubuntu-24.04";
	h.instance_type = (char *)"cx22";
	h.disk_gb = 40;
	h.has_disk_gb = true;
	h.external_ssh_host = (char *)"203.0.113.7";
	h.external_ssh_port = 2222;
	h.ssh_username = (char *)"drukbox";
	h.internal_ssh_host = (char *)"sb-0123456789ab.tail1234.ts.net";
	h.known_hosts = (char *)"[203.0.113.7]:2222 ssh-ed25519 AAAAC3Nz\n"
				"sb-0123456789ab ssh-ed25519 AAAAC3Nz\n";
	h.private_key = (char *)"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n"
				"-----END OPENSSH PRIVATE KEY-----\n";
	h.last_error = (char *)"";
	h.created_at = (char *)"2026-11-30T22:57:44+00:00";
	h.updated_at = (char *)"2026-11-30T22:58:10+00:00";
	h.activated_at = (char *)"2026-11-30T22:58:09+00:00";
	h.expires_at = (char *)"2026-12-01T22:57:44+00:00";
	return h;
}

/* ---- field names --------------------------------------------------------- */

static const char *const want_names[FIELD_COUNT] = {
	NULL, "state", "wait", "id", "name", "provider", "image",
	"instance_type", "disk_gb", "external_ssh_host", "external_ssh_port",
	"ssh_username", "internal_ssh_host", "known_hosts", "private_key",
	"last_error", "created_at", "updated_at", "activated_at",
	"expires_at", "host.json", "ssh_config",
};

static void test_field_name_lookup_round_trip(void)
{
	for (int f = FIELD_DIR + 1; f < FIELD_COUNT; f++) {
		const char *name = drukfs_field_name((drukfs_field)f);

		CU_ASSERT_PTR_NOT_NULL_FATAL(name);
		CU_ASSERT_STRING_EQUAL(name, want_names[f]);
		CU_ASSERT_EQUAL(drukfs_field_lookup(name), f);
	}
}

static void test_field_name_out_of_range(void)
{
	CU_ASSERT_PTR_NULL(drukfs_field_name(FIELD_DIR));
	CU_ASSERT_PTR_NULL(drukfs_field_name(FIELD_COUNT));
	CU_ASSERT_PTR_NULL(drukfs_field_name((drukfs_field)-1));
	CU_ASSERT_PTR_NULL(drukfs_field_name((drukfs_field)1000));
}

static void test_field_lookup_unknown(void)
{
	CU_ASSERT_EQUAL(drukfs_field_lookup(NULL), -1);
	CU_ASSERT_EQUAL(drukfs_field_lookup(""), -1);
	CU_ASSERT_EQUAL(drukfs_field_lookup("status"), -1);
	CU_ASSERT_EQUAL(drukfs_field_lookup("State"), -1);
	CU_ASSERT_EQUAL(drukfs_field_lookup("state "), -1);
	CU_ASSERT_EQUAL(drukfs_field_lookup("host"), -1);
	CU_ASSERT_EQUAL(drukfs_field_lookup("host.json.swp"), -1);
	CU_ASSERT_EQUAL(drukfs_field_lookup("tailscale_device_id"), -1);
}

static void test_field_listed(void)
{
	CU_ASSERT_EQUAL(drukfs_field_listed(FIELD_DIR), 0);
	CU_ASSERT_EQUAL(drukfs_field_listed(FIELD_WAIT), 0);
	CU_ASSERT_EQUAL(drukfs_field_listed(FIELD_COUNT), 0);
	CU_ASSERT_EQUAL(drukfs_field_listed((drukfs_field)-1), 0);
	for (int f = FIELD_DIR + 1; f < FIELD_COUNT; f++)
		if (f != FIELD_WAIT)
			CU_ASSERT_EQUAL(drukfs_field_listed((drukfs_field)f), 1);
}

/* ---- value files ---------------------------------------------------------- */

static void test_render_every_field(void)
{
	drukbox_host h = full_host();

	expect_field(&h, FIELD_STATE, "active\n");
	expect_field(&h, FIELD_ID, "0190c3e2-7a1b-7c00-8000-00000000abcd\n");
	expect_field(&h, FIELD_NAME, "sb-0123456789ab\n");
	expect_field(&h, FIELD_PROVIDER, "hetzner\n");
	expect_field(&h, FIELD_IMAGE, "ubuntu-24.04\n");
	expect_field(&h, FIELD_INSTANCE_TYPE, "cx22\n");
	expect_field(&h, FIELD_DISK_GB, "40\n");
	expect_field(&h, FIELD_EXTERNAL_SSH_HOST, "203.0.113.7\n");
	expect_field(&h, FIELD_EXTERNAL_SSH_PORT, "2222\n");
	expect_field(&h, FIELD_SSH_USERNAME, "drukbox\n");
	expect_field(&h, FIELD_INTERNAL_SSH_HOST,
		     "sb-0123456789ab.tail1234.ts.net\n");
	expect_field(&h, FIELD_KNOWN_HOSTS,
		     "[203.0.113.7]:2222 ssh-ed25519 AAAAC3Nz\n"
		     "sb-0123456789ab ssh-ed25519 AAAAC3Nz\n");
	expect_field(&h, FIELD_PRIVATE_KEY,
		     "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n"
		     "-----END OPENSSH PRIVATE KEY-----\n");
	expect_field(&h, FIELD_LAST_ERROR, "");
	expect_field(&h, FIELD_CREATED_AT, "2026-11-30T22:57:44+00:00\n");
	expect_field(&h, FIELD_UPDATED_AT, "2026-11-30T22:58:10+00:00\n");
	expect_field(&h, FIELD_ACTIVATED_AT, "2026-11-30T22:58:09+00:00\n");
	expect_field(&h, FIELD_EXPIRES_AT, "2026-12-01T22:57:44+00:00\n");
}

/* A record whose optional strings are all null renders empty files. */
static void test_render_null_fields_empty(void)
{
	static const drukfs_field strings[] = {
		FIELD_STATE, FIELD_ID, FIELD_NAME, FIELD_PROVIDER, FIELD_IMAGE,
		FIELD_INSTANCE_TYPE, FIELD_EXTERNAL_SSH_HOST,
		FIELD_SSH_USERNAME, FIELD_INTERNAL_SSH_HOST, FIELD_KNOWN_HOSTS,
		FIELD_PRIVATE_KEY, FIELD_LAST_ERROR, FIELD_CREATED_AT,
		FIELD_UPDATED_AT, FIELD_ACTIVATED_AT, FIELD_EXPIRES_AT,
		FIELD_DISK_GB,
	};
	drukbox_host h;

	memset(&h, 0, sizeof(h));
	h.external_ssh_port = 22;
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		expect_field(&h, strings[i], "");
	expect_field(&h, FIELD_EXTERNAL_SSH_PORT, "22\n");
}

static void test_render_empty_strings_empty(void)
{
	drukbox_host h = full_host();

	h.external_ssh_host = (char *)"";
	h.ssh_username = (char *)"";
	h.known_hosts = (char *)"";
	expect_field(&h, FIELD_EXTERNAL_SSH_HOST, "");
	expect_field(&h, FIELD_SSH_USERNAME, "");
	expect_field(&h, FIELD_KNOWN_HOSTS, "");
}

/* A value ending in '\n' gets no second one; one without gets exactly one;
 * inner and doubled newlines are left alone. */
static void test_render_trailing_newline_rule(void)
{
	drukbox_host h = full_host();

	h.known_hosts = (char *)"a ssh-ed25519 AAAA";
	h.private_key = (char *)"KEY\n\n";
	h.last_error = (char *)"provider said:\nquota exceeded";
	h.image = (char *)"\n";
	expect_field(&h, FIELD_KNOWN_HOSTS, "a ssh-ed25519 AAAA\n");
	expect_field(&h, FIELD_PRIVATE_KEY, "KEY\n\n");
	expect_field(&h, FIELD_LAST_ERROR, "provider said:\nquota exceeded\n");
	expect_field(&h, FIELD_IMAGE, "\n");
}

static void test_render_integers(void)
{
	drukbox_host h = full_host();

	h.has_disk_gb = false;
	h.disk_gb = 40;
	expect_field(&h, FIELD_DISK_GB, "");
	h.has_disk_gb = true;
	h.disk_gb = 0;
	expect_field(&h, FIELD_DISK_GB, "0\n");
	h.disk_gb = INT64_MAX;
	expect_field(&h, FIELD_DISK_GB, "9223372036854775807\n");
	h.disk_gb = -1;
	expect_field(&h, FIELD_DISK_GB, "-1\n");
	h.external_ssh_port = 22;
	expect_field(&h, FIELD_EXTERNAL_SSH_PORT, "22\n");
	h.external_ssh_port = 65535;
	expect_field(&h, FIELD_EXTERNAL_SSH_PORT, "65535\n");
}

/* host.json is what the library renders for the record, byte for byte:
 * nothing added, nothing cleaned, and never the private key. */
static void test_render_host_json(void)
{
	drukbox_host h = full_host();
	char *want = NULL;
	size_t len = 0;

	h.extra = "{\"zone\": \"\\u001b\"}";
	CU_ASSERT_EQUAL_FATAL(drukbox_host_json(&want, &len, &h), 0);
	expect_field(&h, FIELD_HOST_JSON, want);
	CU_ASSERT_PTR_NULL(strstr(want, "OPENSSH"));
	CU_ASSERT_PTR_NOT_NULL(strstr(want, "\"private_key\": null"));
	CU_ASSERT_PTR_NOT_NULL(strstr(want, "\"zone\": \"\\u001b\"\n}\n"));
	free(want);
	/* a placeholder-like record: only what it has */
	memset(&h, 0, sizeof(h));
	h.status = "provisioning";
	expect_field(&h, FIELD_HOST_JSON,
		     "{\n  \"status\": \"provisioning\"\n}\n");
	/* a foreign extra that is not an object cannot be shown */
	h.extra = "[1]";
	{
		char *out = (char *)"sentinel";

		len = 9;
		CU_ASSERT_EQUAL(drukfs_render_field(&out, &len, &h,
						    FIELD_HOST_JSON), -EPROTO);
		CU_ASSERT_PTR_NULL(out);
		CU_ASSERT_EQUAL(len, 0);
	}
}

static void test_render_not_renderable(void)
{
	drukbox_host h = full_host();
	char *out = (char *)"sentinel";
	size_t len = 99;

	CU_ASSERT_EQUAL(drukfs_render_field(&out, &len, &h, FIELD_WAIT), -EINVAL);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_EQUAL(drukfs_render_field(&out, &len, &h, FIELD_DIR), -EINVAL);
	/* ssh_config needs the mount's view (sshconf.h), not just a record */
	CU_ASSERT_EQUAL(drukfs_render_field(&out, &len, &h, FIELD_SSH_CONFIG),
			-EINVAL);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_EQUAL(drukfs_render_field(&out, &len, &h, FIELD_COUNT),
			-EINVAL);
	CU_ASSERT_EQUAL(drukfs_render_field(&out, &len, NULL, FIELD_STATE),
			-EINVAL);
	CU_ASSERT_PTR_NULL(out);
}

/* ---- doctor ----------------------------------------------------------------- */

static drukbox_doctor_check check(const char *name, const char *status,
				  const char *detail, int64_t latency,
				  const char *hint)
{
	drukbox_doctor_check c;

	memset(&c, 0, sizeof(c));
	c.name = (char *)name;
	c.status = (char *)status;
	c.detail = (char *)detail;
	c.latency_ms = latency;
	c.has_latency = latency >= 0;
	c.hint = (char *)hint;
	return c;
}

static drukfs_service_view good_view(void)
{
	drukfs_service_view v;

	memset(&v, 0, sizeof(v));
	v.url = "http://127.0.0.1:8080";
	v.reachable = 1;
	v.token_accepted = 1;
	v.list_age_ms = 1400;
	v.host_count = 12;
	v.last_error = NULL;
	return v;
}

static void test_doctor_ok(void)
{
	drukbox_doctor_check checks[3];
	drukbox_doctor d;
	drukfs_service_view v = good_view();

	checks[0] = check("db", "ok", NULL, 3, NULL);
	checks[1] = check("provider", "ok", NULL, 120, NULL);
	checks[2] = check("tailscale", "ok", "disabled", -1, NULL);
	memset(&d, 0, sizeof(d));
	d.ok = true;
	d.active_provider = (char *)"docker";
	d.tailscale_enabled = false;
	d.check_count = 3;
	d.checks = checks;
	v.list_age_ms = 250;
	v.host_count = 1;
	expect_doctor(&d, &v,
		      "drukbox: ok (all 3 checks ok)\n"
		      "provider:   docker\n"
		      "tailscale:  disabled\n"
		      "\n"
		      "check      status  latency  detail\n"
		      "db         ok      3 ms\n"
		      "provider   ok      120 ms\n"
		      "tailscale  ok      -        disabled\n"
		      "\n"
		      "drukfs:\n"
		      "service:    http://127.0.0.1:8080 (reachable, token accepted)\n"
		      "hosts:      1 cached, list 250 ms old\n"
		      "last error: -\n");
}

static void test_doctor_failing(void)
{
	drukbox_doctor_check checks[3];
	drukbox_doctor d;
	drukfs_service_view v = good_view();

	checks[0] = check("db", "ok", NULL, 3, NULL);
	checks[1] = check("provider", "fail", "timed out after 5s", -1,
			  "check_provider_credentials");
	checks[2] = check("tailscale", "ok", NULL, 0, NULL);
	memset(&d, 0, sizeof(d));
	d.ok = false;
	d.active_provider = (char *)"docker";
	d.check_count = 3;
	d.checks = checks;
	expect_doctor(&d, &v,
		      "drukbox: FAIL (1 of 3 checks failing)\n"
		      "provider:   docker\n"
		      "tailscale:  disabled\n"
		      "\n"
		      "check      status  latency  detail\n"
		      "db         ok      3 ms\n"
		      "provider   FAIL    -        timed out after 5s  "
		      "hint: check_provider_credentials\n"
		      "tailscale  ok      0 ms\n"
		      "\n"
		      "drukfs:\n"
		      "service:    http://127.0.0.1:8080 (reachable, token accepted)\n"
		      "hosts:      12 cached, list 1.4 s old\n"
		      "last error: -\n");
}

/* No checks, tailscale on, a failing service with drukfs's own error, and
 * the longer age formats. */
static void test_doctor_no_checks_and_ages(void)
{
	drukbox_doctor d;
	drukfs_service_view v = good_view();

	memset(&d, 0, sizeof(d));
	d.ok = false;
	d.active_provider = NULL;
	d.tailscale_enabled = true;
	v.reachable = -1;
	v.token_accepted = -1;
	v.list_age_ms = 185000;
	v.last_error = "GET /hosts: timeout";
	expect_doctor(&d, &v,
		      "drukbox: FAIL\n"
		      "provider:   -\n"
		      "tailscale:  enabled\n"
		      "\n"
		      "(the service reported no checks)\n"
		      "\n"
		      "drukfs:\n"
		      "service:    http://127.0.0.1:8080 (not checked yet, "
		      "token not checked yet)\n"
		      "hosts:      12 cached, list 3 min 5 s old\n"
		      "last error: GET /hosts: timeout\n");
	v.list_age_ms = 7260000;
	v.host_count = 0;
	v.token_accepted = 0;
	v.reachable = 1;
	expect_doctor(&d, &v,
		      "drukbox: FAIL\n"
		      "provider:   -\n"
		      "tailscale:  enabled\n"
		      "\n"
		      "(the service reported no checks)\n"
		      "\n"
		      "drukfs:\n"
		      "service:    http://127.0.0.1:8080 (reachable, "
		      "token rejected)\n"
		      "hosts:      0 cached, list 2 h 1 min old\n"
		      "last error: GET /hosts: timeout\n");
}

static void test_doctor_null(void)
{
	drukfs_service_view v = good_view();

	v.reachable = 0;
	v.token_accepted = -1;
	v.list_age_ms = -1;
	v.host_count = 0;
	v.last_error = "connect to 127.0.0.1 port 8080 failed: refused";
	expect_doctor(NULL, &v,
		      "drukbox: unknown (no doctor report: service not reachable)\n"
		      "\n"
		      "drukfs:\n"
		      "service:    http://127.0.0.1:8080 (not reachable, "
		      "token not checked yet)\n"
		      "hosts:      no list fetched yet\n"
		      "last error: connect to 127.0.0.1 port 8080 failed: "
		      "refused\n");
	v.reachable = 1;
	v.token_accepted = 0;
	expect_doctor(NULL, &v,
		      "drukbox: unknown (no doctor report: token rejected)\n"
		      "\n"
		      "drukfs:\n"
		      "service:    http://127.0.0.1:8080 (reachable, "
		      "token rejected)\n"
		      "hosts:      no list fetched yet\n"
		      "last error: connect to 127.0.0.1 port 8080 failed: "
		      "refused\n");
	v.token_accepted = 1;
	v.list_age_ms = 999;
	expect_doctor(NULL, &v,
		      "drukbox: unknown (no doctor report: not fetched yet)\n"
		      "\n"
		      "drukfs:\n"
		      "service:    http://127.0.0.1:8080 (reachable, "
		      "token accepted)\n"
		      "hosts:      0 cached, list 999 ms old\n"
		      "last error: connect to 127.0.0.1 port 8080 failed: "
		      "refused\n");
	expect_doctor(NULL, NULL,
		      "drukbox: unknown (no doctor report: service not reachable)\n");
}

/* Counts the bytes of `s` that are C0 controls other than '\n', DEL, or the
 * start of a UTF-8 C1 control. */
static size_t unsafe_bytes(const char *s)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p < 0x20 && *p != '\n') || *p == 0x7f ||
		    (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
			n++;
	return n;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Every server string carries line breaks, escapes and C1 controls; the
 * report keeps its shape and none of them survive. */
static void test_doctor_hostile_strings(void)
{
	drukbox_doctor_check checks[2];
	drukbox_doctor d;
	drukfs_service_view v = good_view();
	char *out = NULL;
	size_t len = 0;

	checks[0] = check("db\nFAKE ok", "ok\r\x1b[2J", "x\x1b]0;pwned\x07y",
			  1, "\x1b[31mred\x1b[0m\n");
	checks[1] = check("pro\xc2\x9bvider", "fail\n", "a\rb\x7f\tc", -1,
			  "h\xe2\x80\xaeint");
	memset(&d, 0, sizeof(d));
	d.ok = false;
	d.active_provider = (char *)"docker\ndrukbox: ok";
	d.check_count = 2;
	d.checks = checks;
	v.url = "http://evil\r\n\x1b[1A";
	v.last_error = "boom\n\x1b[0m\xc2\x85";
	CU_ASSERT_EQUAL_FATAL(drukfs_render_doctor(&out, &len, &d, &v), 0);
	CU_ASSERT_EQUAL(unsafe_bytes(out), 0);
	CU_ASSERT_PTR_NULL(strchr(out, '\x1b'));
	CU_ASSERT_PTR_NULL(strchr(out, '\r'));
	CU_ASSERT_PTR_NULL(strchr(out, '\t'));
	CU_ASSERT_PTR_NULL(strstr(out, "\xe2\x80\xae"));
	/* 3 summary lines, blank, heading, 2 checks, blank, 4 drukfs lines */
	CU_ASSERT_EQUAL(count_lines(out), 12);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "provider:   docker?drukbox: ok\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out,
		"db?FAKE ok  ok??[2J  1 ms     x?]0;pwned?y  hint: ?[31mred?[0m?\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out,
		"pro?vider   fail?    -        a?b??c        hint: h?int\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out,
		"service:    http://evil???[1A (reachable, token accepted)\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "last error: boom??[0m?\n"));
	free(out);
}

/* Overlong, truncated and invalid UTF-8 become '?'; valid non-ASCII text
 * stays, and columns are counted in characters. */
static void test_doctor_utf8(void)
{
	drukbox_doctor_check checks[2];
	drukbox_doctor d;

	checks[0] = check("d\xc3\xa9j\xc3\xa0", "ok", "\xc0\xaf\xed\xa0\x80", 1,
			  NULL);
	checks[1] = check("db", "ok", "\xe2\x82", 2, NULL);
	memset(&d, 0, sizeof(d));
	d.ok = true;
	d.active_provider = (char *)"\xf0\x9f\x90\xb3";
	d.check_count = 2;
	d.checks = checks;
	expect_doctor(&d, NULL,
		      "drukbox: ok (all 2 checks ok)\n"
		      "provider:   \xf0\x9f\x90\xb3\n"
		      "tailscale:  disabled\n"
		      "\n"
		      "check  status  latency  detail\n"
		      "d\xc3\xa9j\xc3\xa0   ok      1 ms     ?????\n"
		      "db     ok      2 ms     ??\n");
}

/* A server string is cut after 256 bytes and marked with "...". */
static void test_doctor_long_string_capped(void)
{
	char longname[1000], want[400];
	drukbox_doctor d;
	char *out = NULL;
	size_t len = 0;

	memset(longname, 'p', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memset(&d, 0, sizeof(d));
	d.ok = true;
	d.active_provider = longname;
	memcpy(want, "provider:   ", 12);
	memset(want + 12, 'p', 256);
	memcpy(want + 12 + 256, "...\n", 5);
	CU_ASSERT_EQUAL_FATAL(drukfs_render_doctor(&out, &len, &d, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	CU_ASSERT_EQUAL(len, strlen("drukbox: ok\n") + strlen(want) +
				     strlen("tailscale:  disabled\n\n"
					    "(the service reported no checks)\n"));
	free(out);
}

/* More checks than the report lists: the rest are counted. */
static void test_doctor_many_checks(void)
{
	static drukbox_doctor_check checks[70];
	drukbox_doctor d;
	char *out = NULL;
	size_t len = 0;

	for (size_t i = 0; i < 70; i++)
		checks[i] = check("c", i == 69 ? "fail" : "ok", NULL, 1, NULL);
	memset(&d, 0, sizeof(d));
	d.ok = false;
	d.active_provider = (char *)"exe";
	d.check_count = 70;
	d.checks = checks;
	CU_ASSERT_EQUAL_FATAL(drukfs_render_doctor(&out, &len, &d, NULL), 0);
	CU_ASSERT_EQUAL(strncmp(out, "drukbox: FAIL (1 of 70 checks failing)\n",
				39), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "c      ok      1 ms\n"
					   "(6 more checks not shown)\n"));
	/* 3 summary, blank, heading, 64 rows, the "more" line */
	CU_ASSERT_EQUAL(count_lines(out), 3 + 1 + 1 + 64 + 1);
	free(out);
}

static const drukbox_test field_tests[] = {
	{"name/lookup round trip for every field",
	 test_field_name_lookup_round_trip},
	{"name of FIELD_DIR and out of range is NULL",
	 test_field_name_out_of_range},
	{"lookup of unknown names is -1", test_field_lookup_unknown},
	{"listed: all but dir and wait", test_field_listed},
	{NULL, NULL},
};

static const drukbox_test value_tests[] = {
	{"every field renders value + newline", test_render_every_field},
	{"null fields render empty files", test_render_null_fields_empty},
	{"empty strings render empty files", test_render_empty_strings_empty},
	{"trailing newline rule", test_render_trailing_newline_rule},
	{"integers and missing disk_gb", test_render_integers},
	{"host.json is the library's rendering", test_render_host_json},
	{"wait, dir, out of range, NULL host: -EINVAL",
	 test_render_not_renderable},
	{NULL, NULL},
};

static const drukbox_test doctor_tests[] = {
	{"all ok", test_doctor_ok},
	{"one check failing, with hint", test_doctor_failing},
	{"no checks; age formats; reachability words",
	 test_doctor_no_checks_and_ages},
	{"NULL doctor says why", test_doctor_null},
	{"hostile server strings are neutralised", test_doctor_hostile_strings},
	{"UTF-8: kept when valid, columns in characters", test_doctor_utf8},
	{"long strings are capped", test_doctor_long_string_capped},
	{"more than 64 checks", test_doctor_many_checks},
	{NULL, NULL},
};

static const drukbox_test_suite suites[] = {
	{"fs-render fields", NULL, NULL, field_tests},
	{"fs-render values", NULL, NULL, value_tests},
	{"fs-render doctor", NULL, NULL, doctor_tests},
};

DRUKBOX_TEST_MAIN(suites)
