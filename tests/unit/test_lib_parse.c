/*
 * test_lib_parse.c — the pure parts of libdrukbox: record parsers, the
 * request bodies it builds, and the record helpers.  No server, no I/O.
 *
 * Bodies are compared as whole strings: the exact bytes sent are the
 * contract (an omitted field absent, a permanent host "expires_at": null).
 */
#include <drukbox/drukbox.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "pieces.h"

#define FULL_RECORD                                                        \
	"{\"id\": \"0190a0b0-0000-7000-8000-000000000001\","                 \
	" \"name\": \"sb-0123456789ab\", \"status\": \"active\","            \
	" \"provider\": \"docker\", \"image\": \"debian-12\","               \
	" \"instance_type\": \"small\", \"disk_gb\": 20,"                    \
	" \"external_ssh_host\": \"198.51.100.7\", \"external_ssh_port\": 2222," \
	" \"ssh_username\": \"root\", \"internal_ssh_host\": \"sb.tail\","    \
	" \"known_hosts\": \"[198.51.100.7]:2222 ssh-ed25519 AAAA\\n\","      \
	" \"tailscale_device_id\": \"ts-1\","                                \
	" \"private_key\": \"-----BEGIN OPENSSH PRIVATE KEY-----\\nabc\\n\"," \
	" \"last_error\": \"\", \"created_at\": \"2025-01-01T00:00:00+00:00\"," \
	" \"updated_at\": \"2025-01-01T00:00:05+00:00\","                     \
	" \"activated_at\": \"2025-01-01T00:00:04+00:00\","                   \
	" \"expires_at\": null}"

/* Parses text (strlen) and returns the host, or NULL with rc stored. */
static drukbox_host *parse(const char *text, int *rc)
{
	drukbox_host *host = (drukbox_host *)1;

	*rc = drukbox_host_parse(&host, text, strlen(text));
	if (*rc)
		CU_ASSERT_PTR_NULL(host); /* *out is NULL on failure */
	return *rc ? NULL : host;
}

/* host.json of h (drukbox_host_json), which must succeed; caller frees. */
static char *json_of(const drukbox_host *h)
{
	char *json = NULL;
	size_t len = 0;

	CU_ASSERT_EQUAL(drukbox_host_json(&json, &len, h), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(json);
	CU_ASSERT_EQUAL(len, strlen(json));
	return json;
}

/* ---- host parser -------------------------------------------------------- */

static void test_host_full_record(void)
{
	int rc;
	drukbox_host *h = parse(FULL_RECORD, &rc);

	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_STRING_EQUAL(h->id, "0190a0b0-0000-7000-8000-000000000001");
	CU_ASSERT_STRING_EQUAL(h->name, "sb-0123456789ab");
	CU_ASSERT_STRING_EQUAL(h->status, "active");
	CU_ASSERT_STRING_EQUAL(h->provider, "docker");
	CU_ASSERT_STRING_EQUAL(h->image, "debian-12");
	CU_ASSERT_STRING_EQUAL(h->instance_type, "small");
	CU_ASSERT(h->has_disk_gb);
	CU_ASSERT_EQUAL(h->disk_gb, 20);
	CU_ASSERT_STRING_EQUAL(h->external_ssh_host, "198.51.100.7");
	CU_ASSERT_EQUAL(h->external_ssh_port, 2222);
	CU_ASSERT_STRING_EQUAL(h->ssh_username, "root");
	CU_ASSERT_STRING_EQUAL(h->internal_ssh_host, "sb.tail");
	CU_ASSERT_STRING_EQUAL(h->known_hosts,
			       "[198.51.100.7]:2222 ssh-ed25519 AAAA\n");
	CU_ASSERT_STRING_EQUAL(h->tailscale_device_id, "ts-1");
	CU_ASSERT_STRING_EQUAL(h->private_key,
			       "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n");
	CU_ASSERT_STRING_EQUAL(h->last_error, "");
	CU_ASSERT_STRING_EQUAL(h->created_at, "2025-01-01T00:00:00+00:00");
	CU_ASSERT_STRING_EQUAL(h->updated_at, "2025-01-01T00:00:05+00:00");
	CU_ASSERT_STRING_EQUAL(h->activated_at, "2025-01-01T00:00:04+00:00");
	CU_ASSERT_PTR_NULL(h->expires_at);
	CU_ASSERT_EQUAL(drukbox_error_last()->code, DRUKBOX_OK);
	drukbox_host_free(h);
}

/* host.json: pretty-printed, newline-terminated, reparses to the same
 * record (but for the key, which it never shows), slashes not escaped,
 * one field a line, the contract's order. */
static void test_host_json_member(void)
{
	int rc;
	drukbox_host *h = parse(FULL_RECORD, &rc), *again = NULL;
	char *json, *json2;
	size_t len;

	CU_ASSERT_EQUAL_FATAL(rc, 0);
	json = json_of(h);
	len = strlen(json);
	CU_ASSERT(len > 2 && json[len - 1] == '\n' && json[len - 2] == '}');
	CU_ASSERT(strncmp(json, "{\n  \"id\": \"0190a0b0", 19) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(json, "\n  \"expires_at\": null\n"));
	CU_ASSERT_PTR_NULL(strstr(json, "\\/"));
	CU_ASSERT_PTR_NULL(strstr(json, "OPENSSH"));
	CU_ASSERT_PTR_NOT_NULL(strstr(json, "\n  \"private_key\": null,\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"disk_gb\": 20,\n  "
					    "\"external_ssh_host\""));
	CU_ASSERT_EQUAL_FATAL(drukbox_host_parse(&again, json, len), 0);
	json2 = json_of(again);
	CU_ASSERT_STRING_EQUAL(json2, json);
	CU_ASSERT_STRING_EQUAL(again->known_hosts, h->known_hosts);
	CU_ASSERT_PTR_NULL(again->private_key);
	CU_ASSERT_FALSE(drukbox_host_equal(again, h));
	CU_ASSERT_EQUAL(drukbox_host_strip_private_key(h), 0);
	CU_ASSERT(drukbox_host_equal(again, h));
	free(json2);
	free(json);
	drukbox_host_free(again);
	drukbox_host_free(h);
}

/* Older servers lack most fields: only id is required. */
static void test_host_missing_optional_fields(void)
{
	int rc;
	drukbox_host *h = parse("{\"id\": \"x\"}", &rc);

	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_STRING_EQUAL(h->id, "x");
	CU_ASSERT_PTR_NULL(h->name);
	CU_ASSERT_PTR_NULL(h->status);
	CU_ASSERT_PTR_NULL(h->provider);
	CU_ASSERT_PTR_NULL(h->instance_type);
	CU_ASSERT_FALSE(h->has_disk_gb);
	CU_ASSERT_EQUAL(h->external_ssh_port, 22);
	CU_ASSERT_PTR_NULL(h->known_hosts);
	CU_ASSERT_PTR_NULL(h->private_key);
	CU_ASSERT_PTR_NULL(h->expires_at);
	CU_ASSERT_EQUAL(h->present, DRUKBOX_HOST_BIT(DRUKBOX_HOST_ID));
	CU_ASSERT_PTR_NULL(h->extra);
	{
		char *json = json_of(h);

		CU_ASSERT_STRING_EQUAL(json, "{\n  \"id\": \"x\"\n}\n");
		free(json);
	}
	drukbox_host_free(h);
}

static void test_host_nulls(void)
{
	int rc;
	drukbox_host *h = parse(
		"{\"id\": \"x\", \"name\": null, \"status\": null, "
		"\"provider\": null, \"image\": null, \"instance_type\": null, "
		"\"disk_gb\": null, \"external_ssh_host\": null, "
		"\"external_ssh_port\": null, \"ssh_username\": null, "
		"\"internal_ssh_host\": null, \"known_hosts\": null, "
		"\"tailscale_device_id\": null, \"private_key\": null, "
		"\"last_error\": null, \"created_at\": null, "
		"\"updated_at\": null, \"activated_at\": null, "
		"\"expires_at\": null}", &rc);

	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_PTR_NULL(h->name);
	CU_ASSERT_PTR_NULL(h->instance_type);
	CU_ASSERT_FALSE(h->has_disk_gb);
	CU_ASSERT_EQUAL(h->external_ssh_port, 22);
	CU_ASSERT_FALSE(h->has_external_ssh_port);
	CU_ASSERT_PTR_NULL(h->internal_ssh_host);
	CU_ASSERT_PTR_NULL(h->activated_at);
	CU_ASSERT_PTR_NULL(h->expires_at);
	/* every key was there, as null: host.json keeps them all */
	CU_ASSERT_EQUAL(h->present,
			(uint32_t)((1u << DRUKBOX_HOST_KEY_COUNT) - 1));
	{
		char *json = json_of(h);

		CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"disk_gb\": null,\n"));
		CU_ASSERT_PTR_NOT_NULL(strstr(json,
					      "\"external_ssh_port\": null,\n"));
		CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"name\": null,\n"));
		free(json);
	}
	drukbox_host_free(h);
}

/* Unknown fields are kept as sent and shown after the known ones, in the
 * order received. */
static void test_host_unknown_fields_kept_in_json(void)
{
	int rc;
	drukbox_host *h = parse("{\"zone\": \"eu\", \"id\": \"x\", "
				"\"future\": {\"a\": [1, 2]}, \"n\":1e400}",
				&rc);
	char *json;

	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_STRING_EQUAL(h->extra, "{\"zone\": \"eu\", "
					 "\"future\": {\"a\": [1, 2]}, "
					 "\"n\": 1e400}");
	json = json_of(h);
	CU_ASSERT_STRING_EQUAL(json, "{\n  \"id\": \"x\",\n"
				     "  \"zone\": \"eu\",\n"
				     "  \"future\": {\n    \"a\": [\n"
				     "      1,\n      2\n    ]\n  },\n"
				     "  \"n\": 1e400\n}\n");
	free(json);
	drukbox_host_free(h);
}

/* Every known field with the wrong JSON type is EPROTOCOL naming it. */
static void test_host_wrong_types(void)
{
	static const char *const cases[][2] = {
		{ "{\"id\": 7}", "id" },
		{ "{\"id\": \"x\", \"name\": 1}", "name" },
		{ "{\"id\": \"x\", \"status\": true}", "status" },
		{ "{\"id\": \"x\", \"provider\": []}", "provider" },
		{ "{\"id\": \"x\", \"image\": {}}", "image" },
		{ "{\"id\": \"x\", \"instance_type\": 2}", "instance_type" },
		{ "{\"id\": \"x\", \"disk_gb\": \"20\"}", "disk_gb" },
		{ "{\"id\": \"x\", \"disk_gb\": 20.5}", "disk_gb" },
		{ "{\"id\": \"x\", \"external_ssh_host\": 1}",
		  "external_ssh_host" },
		{ "{\"id\": \"x\", \"external_ssh_port\": \"22\"}",
		  "external_ssh_port" },
		{ "{\"id\": \"x\", \"external_ssh_port\": 70000}",
		  "external_ssh_port" },
		{ "{\"id\": \"x\", \"ssh_username\": false}", "ssh_username" },
		{ "{\"id\": \"x\", \"known_hosts\": [\"a\"]}", "known_hosts" },
		{ "{\"id\": \"x\", \"private_key\": 0}", "private_key" },
		{ "{\"id\": \"x\", \"last_error\": {}}", "last_error" },
		{ "{\"id\": \"x\", \"expires_at\": 1700000000}", "expires_at" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;
		drukbox_host *h = parse(cases[i][0], &rc);
		char quoted[64];

		snprintf(quoted, sizeof(quoted), "\"%s\"", cases[i][1]);
		CU_ASSERT_EQUAL(rc, -DRUKBOX_EPROTOCOL);
		CU_ASSERT_EQUAL(drukbox_error_last()->code, DRUKBOX_EPROTOCOL);
		if (!strstr(drukbox_error_last()->detail, quoted))
			fprintf(stderr, "%s: detail \"%s\"\n", cases[i][0],
				drukbox_error_last()->detail);
		CU_ASSERT_PTR_NOT_NULL(strstr(drukbox_error_last()->detail,
					      quoted));
		drukbox_host_free(h);
	}
}

static void test_host_id_required(void)
{
	static const char *const cases[] = {
		"{}", "{\"id\": \"\"}", "{\"id\": null}", "{\"name\": \"a\"}",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		CU_ASSERT_PTR_NULL(parse(cases[i], &rc));
		CU_ASSERT_EQUAL(rc, -DRUKBOX_EPROTOCOL);
		CU_ASSERT_PTR_NOT_NULL(strstr(drukbox_error_last()->detail,
					      "\"id\""));
	}
}

static void test_host_not_an_object(void)
{
	static const char *const cases[] = {
		"[]", "\"x\"", "null", "42 ", "true", "[{\"id\": \"x\"}]",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		CU_ASSERT_PTR_NULL(parse(cases[i], &rc));
		CU_ASSERT_EQUAL(rc, -DRUKBOX_EPROTOCOL);
	}
}

static void test_host_not_json(void)
{
	static const char *const cases[] = {
		"", "   ", "<html>502 Bad Gateway</html>", "{\"id\": \"x\"",
		"{\"id\": \"x\",}", "{'id': 'x'}", "{\"id\": \"\xff\"}",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		CU_ASSERT_PTR_NULL(parse(cases[i], &rc));
		CU_ASSERT_EQUAL(rc, -DRUKBOX_EPROTOCOL);
	}
	/* a length that cuts a valid document is a truncated document */
	{
		drukbox_host *h = NULL;

		CU_ASSERT_EQUAL(drukbox_host_parse(&h, "{\"id\": \"x\"}", 8),
				-DRUKBOX_EPROTOCOL);
		CU_ASSERT_PTR_NULL(h);
	}
}

/* 10 000 nested arrays must be refused, not recursed into. */
static void test_host_depth_bomb(void)
{
	enum { DEPTH = 10000 };
	static char text[2 * DEPTH + 32];
	drukbox_host *h = NULL;
	size_t n = (size_t)snprintf(text, sizeof(text), "{\"id\": \"x\", \"a\": ");

	for (size_t i = 0; i < DEPTH; i++) {
		text[n + i] = '[';
		text[n + DEPTH + i] = ']';
	}
	n += 2 * DEPTH;
	text[n++] = '}';
	CU_ASSERT_EQUAL(drukbox_host_parse(&h, text, n), -DRUKBOX_EPROTOCOL);
	CU_ASSERT_PTR_NOT_NULL(strstr(drukbox_error_last()->detail, "deep"));
	CU_ASSERT_PTR_NULL(h);
}

static void test_host_trailing_garbage(void)
{
	int rc;
	drukbox_host *h;

	CU_ASSERT_PTR_NULL(parse("{\"id\": \"x\"} x", &rc));
	CU_ASSERT_EQUAL(rc, -DRUKBOX_EPROTOCOL);
	CU_ASSERT_PTR_NULL(parse("{\"id\": \"x\"}{}", &rc));
	CU_ASSERT_EQUAL(rc, -DRUKBOX_EPROTOCOL);
	/* an embedded NUL after the value is garbage too */
	h = (drukbox_host *)1;
	CU_ASSERT_EQUAL(drukbox_host_parse(&h, "{\"id\": \"x\"}\0", 12),
			-DRUKBOX_EPROTOCOL);
	CU_ASSERT_PTR_NULL(h);
	/* white space after the value is fine */
	h = parse("{\"id\": \"x\"} \r\n\t", &rc);
	CU_ASSERT_EQUAL(rc, 0);
	drukbox_host_free(h);
}

/* ---- list parser --------------------------------------------------------- */

static void test_list_parse_and_skip(void)
{
	const char *text =
		"[{\"id\": \"a\"}, 17, {\"id\": \"b\", \"disk_gb\": \"x\"},"
		" {\"name\": \"no-id\"}, {\"id\": \"c\", \"extra\": 1}, null,"
		" {\"id\": \"d\", \"status\": \"active\"}]";
	drukbox_host_list *list = NULL;

	CU_ASSERT_EQUAL_FATAL(drukbox_host_list_parse(&list, text,
						      strlen(text)), 0);
	CU_ASSERT_EQUAL_FATAL(list->count, 3);
	CU_ASSERT_EQUAL(list->skipped, 4);
	CU_ASSERT_STRING_EQUAL(list->hosts[0]->id, "a");
	CU_ASSERT_STRING_EQUAL(list->hosts[1]->id, "c");
	CU_ASSERT_STRING_EQUAL(list->hosts[2]->id, "d");
	CU_ASSERT_STRING_EQUAL(list->hosts[2]->status, "active");
	/* the skipped records' errors do not leak out of a success */
	CU_ASSERT_EQUAL(drukbox_error_last()->code, DRUKBOX_OK);
	/* ... but each one is named, with why */
	CU_ASSERT_PTR_NOT_NULL_FATAL(list->skipped_detail);
	CU_ASSERT_STRING_EQUAL(list->skipped_detail,
		"#1: host record is not a JSON object\n"
		"b: host record: field \"disk_gb\" is not an integer\n"
		"#3: host record: field \"id\" is missing or empty\n"
		"#5: host record is not a JSON object\n");
	drukbox_host_list_free(list);
}

/* A NUL inside a string would show C a shorter value than the one sent
 * (e.g. an address that passes ssh_config's allowlist): the record is
 * malformed. */
static void test_host_string_with_nul(void)
{
	const char text[] = "{\"id\": \"a\", \"ssh_username\": \"root\\u0000x\"}";
	drukbox_host *h = NULL;

	CU_ASSERT_EQUAL(drukbox_host_parse(&h, text, sizeof(text) - 1),
			-DRUKBOX_EPROTOCOL);
	CU_ASSERT_PTR_NULL(h);
	CU_ASSERT_PTR_NOT_NULL(strstr(drukbox_error_last()->detail,
				      "\"ssh_username\" contains a NUL byte"));
}

static void test_list_empty_and_invalid(void)
{
	drukbox_host_list *list = NULL;

	CU_ASSERT_EQUAL(drukbox_host_list_parse(&list, "[]", 2), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(list);
	CU_ASSERT_EQUAL(list->count, 0);
	CU_ASSERT_EQUAL(list->skipped, 0);
	drukbox_host_list_free(list);
	list = NULL;
	CU_ASSERT_EQUAL(drukbox_host_list_parse(&list, "{\"hosts\": []}", 13),
			-DRUKBOX_EPROTOCOL);
	CU_ASSERT_PTR_NULL(list);
	CU_ASSERT_EQUAL(drukbox_host_list_parse(&list, "[{\"id\": \"a\"}", 12),
			-DRUKBOX_EPROTOCOL);
	CU_ASSERT_PTR_NULL(list);
}

/* ---- doctor parser ------------------------------------------------------- */

#define DOCTOR_SAMPLE                                                      \
	"{\"ok\": false, \"active_provider\": \"docker\","                  \
	" \"tailscale_enabled\": false, \"checks\": ["                      \
	"{\"name\": \"db\", \"status\": \"fail\", \"detail\": \"timed out"  \
	" after 5s\", \"latency_ms\": 5000, \"hint\": "                     \
	"\"check_database_url_and_engine\"},"                                \
	" {\"name\": \"provider\", \"status\": \"ok\", \"detail\": null,"   \
	" \"latency_ms\": 3, \"hint\": null},"                               \
	" {\"name\": \"tailscale\", \"status\": \"ok\", \"detail\": null,"  \
	" \"latency_ms\": null, \"hint\": null}]}"

static void test_doctor_parse(void)
{
	drukbox_doctor *d = NULL;

	CU_ASSERT_EQUAL_FATAL(drukbox_doctor_parse(&d, DOCTOR_SAMPLE,
						   strlen(DOCTOR_SAMPLE)), 0);
	CU_ASSERT_FALSE(d->ok);
	CU_ASSERT_STRING_EQUAL(d->active_provider, "docker");
	CU_ASSERT_FALSE(d->tailscale_enabled);
	CU_ASSERT_EQUAL_FATAL(d->check_count, 3);
	CU_ASSERT_STRING_EQUAL(d->checks[0].name, "db");
	CU_ASSERT_STRING_EQUAL(d->checks[0].status, "fail");
	CU_ASSERT_STRING_EQUAL(d->checks[0].detail, "timed out after 5s");
	CU_ASSERT(d->checks[0].has_latency);
	CU_ASSERT_EQUAL(d->checks[0].latency_ms, 5000);
	CU_ASSERT_STRING_EQUAL(d->checks[0].hint,
			       "check_database_url_and_engine");
	CU_ASSERT_PTR_NULL(d->checks[1].detail);
	CU_ASSERT_PTR_NULL(d->checks[1].hint);
	CU_ASSERT_FALSE(d->checks[2].has_latency);
	CU_ASSERT(d->json[strlen(d->json) - 1] == '\n');
	drukbox_doctor_free(d);
}

static void test_doctor_invalid(void)
{
	static const char *const cases[][2] = {
		{ "{\"checks\": []}", "\"ok\"" },
		{ "{\"ok\": \"yes\"}", "\"ok\"" },
		{ "{\"ok\": true, \"checks\": {}}", "\"checks\"" },
		{ "{\"ok\": true, \"checks\": [{\"name\": \"db\", "
		  "\"latency_ms\": \"3\"}]}", "checks[0]" },
		{ "{\"ok\": true, \"checks\": [1]}", "checks[0]" },
		{ "{\"ok\": true, \"tailscale_enabled\": 1}",
		  "\"tailscale_enabled\"" },
		{ "[]", "object" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		drukbox_doctor *d = NULL;

		CU_ASSERT_EQUAL(drukbox_doctor_parse(&d, cases[i][0],
						     strlen(cases[i][0])),
				-DRUKBOX_EPROTOCOL);
		CU_ASSERT_PTR_NULL(d);
		if (!strstr(drukbox_error_last()->detail, cases[i][1]))
			fprintf(stderr, "%s: detail \"%s\"\n", cases[i][0],
				drukbox_error_last()->detail);
		CU_ASSERT_PTR_NOT_NULL(strstr(drukbox_error_last()->detail,
					      cases[i][1]));
	}
}

/* ---- create bodies -------------------------------------------------------- */

/* Asserts the body for opts is exactly want. */
static void assert_body(const drukbox_create_opts *opts, const char *want)
{
	char *body = NULL;
	int rc = drukbox_create_body(&body, opts);

	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(body);
	if (strcmp(body, want) != 0)
		fprintf(stderr, "body: got  %s\n      want %s\n", body, want);
	CU_ASSERT_STRING_EQUAL(body, want);
	free(body);
}

static void test_body_all_omitted(void)
{
	drukbox_create_opts opts = { 0 };

	assert_body(&opts, "{}");
	assert_body(NULL, "{}");
	/* the idempotency key is a header, never part of the body */
	opts.idempotency_key = "k-1";
	assert_body(&opts, "{}");
}

static void test_body_expiry_never(void)
{
	drukbox_create_opts opts = { .expiry = DRUKBOX_EXPIRY_NEVER };

	assert_body(&opts, "{\"expires_at\": null}");
	/* a stray time is ignored unless EXPIRY_AT asks for it */
	opts.expires_at = "2030-01-01T00:00:00+00:00";
	assert_body(&opts, "{\"expires_at\": null}");
	opts.expiry = DRUKBOX_EXPIRY_DEFAULT;
	assert_body(&opts, "{}");
}

static void test_body_expiry_at(void)
{
	drukbox_create_opts opts = { .expiry = DRUKBOX_EXPIRY_AT,
				     .expires_at = "2030-01-01T00:00:00+00:00" };

	assert_body(&opts,
		    "{\"expires_at\": \"2030-01-01T00:00:00+00:00\"}");
}

static void test_body_env(void)
{
	static const drukbox_env_var env[] = {
		{ "A", "1" }, { "_b2", "x y" }, { "QUOTE", "say \"hi\"\\\n" },
	};
	drukbox_create_opts opts = { .env = env, .env_count = 3 };

	assert_body(&opts, "{\"env\": {\"A\": \"1\", \"_b2\": \"x y\", "
			   "\"QUOTE\": \"say \\\"hi\\\"\\\\\\n\"}}");
}

static void test_body_sizes(void)
{
	drukbox_create_opts opts = { .provider = "aws",
				     .instance_type = "t3.small",
				     .disk_gb = 20 };

	assert_body(&opts, "{\"provider\": \"aws\", \"instance_type\": "
			   "\"t3.small\", \"disk_gb\": 20}");
}

static void test_body_everything(void)
{
	static const drukbox_env_var env[] = { { "K", "v" } };
	drukbox_create_opts opts = {
		.image = "ubuntu-24.04", .provider = "hetzner",
		.instance_type = "cx22", .disk_gb = 40, .env = env,
		.env_count = 1, .expiry = DRUKBOX_EXPIRY_AT,
		.expires_at = "2031-02-03T04:05:06Z",
		.idempotency_key = "make:1",
	};

	assert_body(&opts, "{\"image\": \"ubuntu-24.04\", \"provider\": "
			   "\"hetzner\", \"instance_type\": \"cx22\", "
			   "\"disk_gb\": 40, \"env\": {\"K\": \"v\"}, "
			   "\"expires_at\": \"2031-02-03T04:05:06Z\"}");
}

/* Asserts that opts is refused with EINVAL and *out stays NULL. */
static void assert_body_einval(const drukbox_create_opts *opts)
{
	char *body = (char *)1;

	CU_ASSERT_EQUAL(drukbox_create_body(&body, opts), -DRUKBOX_EINVAL);
	CU_ASSERT_PTR_NULL(body);
	CU_ASSERT_EQUAL(drukbox_error_last()->code, DRUKBOX_EINVAL);
}

static void test_body_invalid_env(void)
{
	static const char *const keys[] = { "1X", "A-B", "", "A B", "É" };
	drukbox_env_var env[1] = { { NULL, "v" } };
	drukbox_create_opts opts = { .env = env, .env_count = 1 };

	assert_body_einval(&opts); /* NULL key */
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		env[0].key = keys[i];
		assert_body_einval(&opts);
	}
	env[0].key = "OK";
	env[0].value = NULL;
	assert_body_einval(&opts);
	opts.env = NULL;
	assert_body_einval(&opts);
}

/* Env values may be secrets: they never show up in an error. */
static void test_body_error_hides_env_values(void)
{
	drukbox_env_var env[] = { { "GOOD", "s3cret-value" },
				  { "9BAD", "other-s3cret" } };
	drukbox_create_opts opts = { .env = env, .env_count = 2 };

	assert_body_einval(&opts);
	CU_ASSERT_PTR_NULL(strstr(drukbox_error_last()->detail, "s3cret"));
}

static void test_body_invalid_idempotency_key(void)
{
	char long_key[300];
	drukbox_create_opts opts = { 0 };

	memset(long_key, 'k', sizeof(long_key));
	long_key[256] = '\0';
	opts.idempotency_key = "";
	assert_body_einval(&opts);
	opts.idempotency_key = "has space";
	assert_body_einval(&opts);
	opts.idempotency_key = "slash/no";
	assert_body_einval(&opts);
	opts.idempotency_key = long_key;
	assert_body_einval(&opts);
	long_key[255] = '\0';
	assert_body(&opts, "{}");
}

static void test_body_other_invalid(void)
{
	drukbox_create_opts at = { .expiry = DRUKBOX_EXPIRY_AT };
	drukbox_create_opts disk = { .disk_gb = -5 };
	drukbox_create_opts mode = { .expiry = (drukbox_expiry)9 };

	assert_body_einval(&at);
	at.expires_at = "";
	assert_body_einval(&at);
	assert_body_einval(&disk);
	assert_body_einval(&mode);
	CU_ASSERT_EQUAL(drukbox_create_body(NULL, NULL), -DRUKBOX_EINVAL);
}

static void test_idempotency_key_valid(void)
{
	CU_ASSERT(drukbox_idempotency_key_valid("a"));
	CU_ASSERT(drukbox_idempotency_key_valid("A-z_0:9.x"));
	CU_ASSERT_FALSE(drukbox_idempotency_key_valid(NULL));
	CU_ASSERT_FALSE(drukbox_idempotency_key_valid(""));
	CU_ASSERT_FALSE(drukbox_idempotency_key_valid("a b"));
	CU_ASSERT_FALSE(drukbox_idempotency_key_valid("a\n"));
	CU_ASSERT_FALSE(drukbox_idempotency_key_valid("ü"));
}

/* ---- record helpers ------------------------------------------------------- */

static void test_host_dup(void)
{
	int rc;
	drukbox_host *h = parse(FULL_RECORD, &rc), *copy = NULL;

	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL_FATAL(drukbox_host_dup(&copy, h), 0);
	CU_ASSERT_PTR_NOT_EQUAL(copy->id, h->id);
	CU_ASSERT_STRING_EQUAL(copy->id, h->id);
	CU_ASSERT_STRING_EQUAL(copy->private_key, h->private_key);
	CU_ASSERT(drukbox_host_equal(copy, h));
	CU_ASSERT_PTR_NULL(copy->expires_at);
	CU_ASSERT_EQUAL(copy->disk_gb, 20);
	CU_ASSERT_EQUAL(copy->external_ssh_port, 2222);
	drukbox_host_free(h);
	CU_ASSERT_STRING_EQUAL(copy->name, "sb-0123456789ab");
	drukbox_host_free(copy);
}

static void test_host_placeholder(void)
{
	drukbox_host *h = NULL;
	char *json;

	CU_ASSERT_EQUAL_FATAL(drukbox_host_placeholder(&h, "creating", NULL),
			      0);
	CU_ASSERT_PTR_NULL(h->id);
	CU_ASSERT_STRING_EQUAL(h->status, "creating");
	CU_ASSERT_PTR_NULL(h->last_error);
	json = json_of(h);
	CU_ASSERT_STRING_EQUAL(json, "{\n  \"status\": \"creating\",\n"
				     "  \"last_error\": null\n}\n");
	free(json);
	drukbox_host_free(h);
	CU_ASSERT_EQUAL_FATAL(drukbox_host_placeholder(&h, "error",
						       "quota \"x\""), 0);
	CU_ASSERT_STRING_EQUAL(h->last_error, "quota \"x\"");
	json = json_of(h);
	CU_ASSERT_PTR_NOT_NULL(strstr(json,
				      "\"last_error\": \"quota \\\"x\\\"\""));
	free(json);
	drukbox_host_free(h);
}

/* host.json never shows the key; stripping drops it from the record and
 * leaves host.json as it was. */
static void test_host_strip_private_key(void)
{
	int rc;
	drukbox_host *h = parse(FULL_RECORD, &rc);
	char *before, *after;

	CU_ASSERT_EQUAL_FATAL(rc, 0);
	before = json_of(h);
	CU_ASSERT_PTR_NULL(strstr(before, "BEGIN OPENSSH"));
	CU_ASSERT_PTR_NOT_NULL(strstr(before, "\"private_key\": null"));
	CU_ASSERT_EQUAL(drukbox_host_strip_private_key(h), 0);
	CU_ASSERT_PTR_NULL(h->private_key);
	after = json_of(h);
	CU_ASSERT_STRING_EQUAL(after, before);
	free(before);
	free(after);
	CU_ASSERT_STRING_EQUAL(h->id, "0190a0b0-0000-7000-8000-000000000001");
	/* twice is harmless */
	CU_ASSERT_EQUAL(drukbox_host_strip_private_key(h), 0);
	drukbox_host_free(h);
}

/* When a key comes twice the last one counts, for the typed fields and
 * in host.json alike; a key spelt with escapes is the same key. */
static void test_host_duplicate_and_escaped_keys(void)
{
	int rc;
	drukbox_host *h = parse("{\"id\": \"a\", \"name\": 1, \"name\": \"n\","
				" \"disk_gb\": \"x\", \"disk_gb\": 5,"
				" \"\\u0069d\": \"b\", \"zone\": 1, \"zone\": 2}",
				&rc);
	char *json;

	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_STRING_EQUAL(h->id, "b");
	CU_ASSERT_STRING_EQUAL(h->name, "n");
	CU_ASSERT(h->has_disk_gb && h->disk_gb == 5);
	json = json_of(h);
	CU_ASSERT_STRING_EQUAL(json, "{\n  \"id\": \"b\",\n  \"name\": \"n\",\n"
				     "  \"disk_gb\": 5,\n  \"zone\": 2\n}\n");
	free(json);
	drukbox_host_free(h);
	/* the last one decides for the worse too */
	CU_ASSERT_PTR_NULL(parse("{\"id\": \"a\", \"name\": \"n\", "
				 "\"name\": []}", &rc));
	CU_ASSERT_EQUAL(rc, -DRUKBOX_EPROTOCOL);
	CU_ASSERT_PTR_NOT_NULL(strstr(drukbox_error_last()->detail,
				      "\"name\" is not a string"));
	/* json-c saw a key up to its first NUL; so does the parser, so that
	 * host.json (printed by json-c) and the record agree */
	h = parse("{\"id\\u0000x\": \"c\"}", &rc);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_STRING_EQUAL(h->id, "c");
	CU_ASSERT_PTR_NULL(h->extra);
	drukbox_host_free(h);
}

/* disk_gb and the port are integers: no fraction, no exponent, within
 * int64_t; the port within 1..65535. */
static void test_host_integers(void)
{
	static const struct {
		const char *text, *detail;
		int64_t disk;
	} cases[] = {
		{ "{\"id\": \"x\", \"disk_gb\": -0}", NULL, 0 },
		{ "{\"id\": \"x\", \"disk_gb\": 9223372036854775807}", NULL,
		  INT64_MAX },
		{ "{\"id\": \"x\", \"disk_gb\": -9223372036854775808}", NULL,
		  INT64_MIN },
		{ "{\"id\": \"x\", \"disk_gb\": 9223372036854775808}",
		  "\"disk_gb\" is not an integer", 0 },
		{ "{\"id\": \"x\", \"disk_gb\": -99999999999999999999}",
		  "\"disk_gb\" is not an integer", 0 },
		{ "{\"id\": \"x\", \"disk_gb\": 2e1}",
		  "\"disk_gb\" is not an integer", 0 },
		{ "{\"id\": \"x\", \"disk_gb\": 20.0}",
		  "\"disk_gb\" is not an integer", 0 },
		{ "{\"id\": \"x\", \"disk_gb\": true}",
		  "\"disk_gb\" is not an integer", 0 },
		{ "{\"id\": \"x\", \"external_ssh_port\": 65535}", NULL, 0 },
		{ "{\"id\": \"x\", \"external_ssh_port\": 0}",
		  "\"external_ssh_port\" is out of range", 0 },
		{ "{\"id\": \"x\", \"external_ssh_port\": 65536}",
		  "\"external_ssh_port\" is out of range", 0 },
		{ "{\"id\": \"x\", \"external_ssh_port\": 18446744073709551616}",
		  "\"external_ssh_port\" is out of range", 0 },
		{ "{\"id\": \"x\", \"external_ssh_port\": 22.5}",
		  "\"external_ssh_port\" is not an integer", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;
		drukbox_host *h = parse(cases[i].text, &rc);

		if (!cases[i].detail) {
			CU_ASSERT_EQUAL(rc, 0);
			if (h && h->has_disk_gb)
				CU_ASSERT_EQUAL(h->disk_gb, cases[i].disk);
			drukbox_host_free(h);
			continue;
		}
		CU_ASSERT_EQUAL(rc, -DRUKBOX_EPROTOCOL);
		if (!strstr(drukbox_error_last()->detail, cases[i].detail))
			fprintf(stderr, "%s: detail \"%s\"\n", cases[i].text,
				drukbox_error_last()->detail);
		CU_ASSERT_PTR_NOT_NULL(strstr(drukbox_error_last()->detail,
					      cases[i].detail));
	}
}

/* What RFC 8259 and RFC 3629 refuse is refused, even where json-c let it
 * through: the whole document, not one record. */
static void test_host_strict_json(void)
{
	static const char *const cases[] = {
		"{\"id\": \"x\", \"name\": \"\\ud800\"}",
		"{\"id\": \"x\", \"name\": \"\\udc00\\ud800\"}",
		"{\"id\": \"x\", \"name\": \"\xc0\x80\"}",
		"{\"id\": \"x\", \"name\": \"\xed\xa0\x80\"}",
		"{\"id\": \"x\", \"name\": \"\xf4\x90\x80\x80\"}",
		"{\"id\": \"x\", \"name\": \"tab\there\"}",
		"{\"id\": \"x\", \"zone\": 01}",
		"{\"id\": \"x\", \"zone\": 1.}",
		"{\"id\": \"x\", \"zone\": -.5}",
		"{\"id\": \"x\", \"zone\": NaN}",
		"{\"id\": \"x\", \"zone\": Infinity}",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		CU_ASSERT_PTR_NULL(parse(cases[i], &rc));
		CU_ASSERT_EQUAL(rc, -DRUKBOX_EPROTOCOL);
		CU_ASSERT_PTR_NOT_NULL(strstr(drukbox_error_last()->detail,
					      "not valid JSON"));
	}
}

/* A record is at depth 2 of a list: its values may nest 62 more levels. */
static void test_list_depth(void)
{
	char text[256];
	drukbox_host_list *list = NULL;
	int n;

	n = snprintf(text, sizeof(text), "[{\"id\": \"a\", \"x\": ");
	for (int i = 0; i < 62; i++)
		text[n++] = '[';
	for (int i = 0; i < 62; i++)
		text[n++] = ']';
	n += snprintf(text + n, sizeof(text) - (size_t)n, "}]");
	CU_ASSERT_EQUAL_FATAL(drukbox_host_list_parse(&list, text, (size_t)n),
			      0);
	CU_ASSERT_EQUAL(list->count, 1);
	drukbox_host_list_free(list);
	/* one more is 65 */
	n = snprintf(text, sizeof(text), "[{\"id\": \"a\", \"x\": ");
	for (int i = 0; i < 63; i++)
		text[n++] = '[';
	for (int i = 0; i < 63; i++)
		text[n++] = ']';
	n += snprintf(text + n, sizeof(text) - (size_t)n, "}]");
	list = (drukbox_host_list *)1;
	CU_ASSERT_EQUAL(drukbox_host_list_parse(&list, text, (size_t)n),
			-DRUKBOX_EPROTOCOL);
	CU_ASSERT_PTR_NULL(list);
	CU_ASSERT_PTR_NOT_NULL(strstr(drukbox_error_last()->detail,
				      "nested deeper than 64 levels"));
}

/* A record reads the same in a list as alone, and compares equal. */
static void test_list_and_single_agree(void)
{
	char text[sizeof(FULL_RECORD) + 8];
	drukbox_host_list *list = NULL;
	drukbox_host *h;
	int rc;

	snprintf(text, sizeof(text), "[%s]", FULL_RECORD);
	h = parse(FULL_RECORD, &rc);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL_FATAL(drukbox_host_list_parse(&list, text,
						      strlen(text)), 0);
	CU_ASSERT_EQUAL_FATAL(list->count, 1);
	CU_ASSERT(drukbox_host_equal(list->hosts[0], h));
	drukbox_host_list_free(list);
	drukbox_host_free(h);
}

/* Equality looks at every field, at presence and at the unknown fields. */
static void test_host_equal(void)
{
	static const char *const variants[] = {
		"{\"id\": \"x\", \"name\": \"m\"}",
		"{\"id\": \"x\", \"name\": null}",
		"{\"id\": \"x\"}",
		"{\"id\": \"x\", \"name\": \"n\", \"zone\": 1}",
		"{\"id\": \"x\", \"name\": \"n\", \"disk_gb\": 1}",
		"{\"id\": \"x\", \"name\": \"n\", \"external_ssh_port\": 22}",
		"{\"id\": \"x\", \"name\": \"n\", \"external_ssh_port\": null}",
		"{\"id\": \"x\", \"name\": \"n\", \"private_key\": \"k\"}",
	};
	int rc;
	drukbox_host *base = parse("{\"id\": \"x\", \"name\": \"n\"}", &rc);
	drukbox_host *same = parse("{\"name\": \"n\",\"id\":\"x\"}", &rc);

	CU_ASSERT_FATAL(base && same);
	CU_ASSERT(drukbox_host_equal(base, same));
	CU_ASSERT(drukbox_host_equal(NULL, NULL));
	CU_ASSERT_FALSE(drukbox_host_equal(base, NULL));
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		drukbox_host *v = parse(variants[i], &rc);

		CU_ASSERT_FATAL(v != NULL);
		if (drukbox_host_equal(base, v))
			fprintf(stderr, "equal: %s\n", variants[i]);
		CU_ASSERT_FALSE(drukbox_host_equal(base, v));
		CU_ASSERT_FALSE(drukbox_host_equal(v, base));
		drukbox_host_free(v);
	}
	drukbox_host_free(base);
	drukbox_host_free(same);
}


/* ---- the list reader (drukbox_list_reader) ------------------------------------ */

/* Texts where a cut could go wrong: escapes and brackets inside strings,
 * nesting, white space everywhere, scalars and skipped records, errors in
 * an element, between elements and after the array, and texts that are
 * not arrays at all. */
static const char *const reader_texts[] = {
	"[]",
	" \n[ ]\t",
	"[{\"id\": \"a\"}]",
	"[{\"id\": \"a\", \"name\": \"x,]}\\\"[{\"}, {\"id\": \"b\"}]",
	"[{\"id\": \"a\\\\\"}, {\"id\": \"\\\\\\\"b\"}]",
	"[{\"id\": \"a\\\"],\"}, {\"id\": \"b\\\"]}],\"}]",
	"[{\"id\": \"a\", \"x\": [1, [2, {\"y\": \"]\"}], 3]}, 7, \"s,]\", null,"
	" true, {\"id\": 5}, {\"id\": \"c\", \"disk_gb\": 1.5}]",
	"[{\"id\": \"\\u00e9\\ud83d\\ude00\"}, {\"id\": \"z\"}]  ",
	"[{\"id\": \"a\"} {\"id\": \"b\"}]",
	"[{\"id\": \"a\"},]",
	"[,{\"id\": \"a\"}]",
	"[{\"id\": \"a\"}, {\"id\": \"b\"]",
	"[{\"id\": \"a\"}, {\"id\": \"b\"}",
	"[{\"id\": \"a\"}, {\"id\": \"b\"}] x",
	"[{\"id\": \"a\"}]]",
	"[1x, 2]",
	"[tru, 1]",
	"[\"unterminated, {\"id\": \"a\"}]",
	"[{\"id\": \"a\x01\"}]",
	"[{\"id\": \"\xc3\"}]",
	"{\"hosts\": [{\"id\": \"a\"}]}",
	"\"[\"",
	"",
	"   ",
	"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
};

/* Every text, cut in two at every byte, and fed a byte at a time, gives
 * what the whole parse gives (pieces.h compares records, counts, skipped
 * detail and error detail). */
static void test_reader_every_cut(void)
{
	size_t bad = 0, runs = 0;

	for (size_t i = 0; i < sizeof(reader_texts) / sizeof(*reader_texts);
	     i++) {
		const char *t = reader_texts[i], *why = NULL;
		size_t len = strlen(t);

		for (size_t cut = 0; cut <= len; cut++) {
			size_t sizes[2] = { cut ? cut : len + 1, len + 1 };

			runs++;
			if (pieces_check(t, len, sizes, 2, &why) != 1) {
				bad++;
				fprintf(stderr, "cut at %zu of %s: %s\n", cut,
					t, why);
			}
		}
		if (pieces_check(t, len, NULL, 0, &why) != 1) {
			bad++;
			fprintf(stderr, "bytewise %s: %s\n", t, why);
		}
	}
	CU_ASSERT(runs > 500);
	CU_ASSERT_EQUAL(bad, 0);
}

typedef struct sink_log {
	size_t got;
	size_t fail_at;         /* fail the record with this number (1-based) */
	char ids[8][8];
} sink_log;

static int log_sink(void *ctx, drukbox_host *host)
{
	sink_log *l = ctx;

	l->got++;
	if (l->got <= 8)
		snprintf(l->ids[l->got - 1], sizeof(l->ids[0]), "%s", host->id);
	drukbox_host_free(host);
	if (l->got == l->fail_at)
		return -DRUKBOX_ECONFLICT; /* any error the sink likes */
	return 0;
}

/* A record reaches the sink as soon as what follows it shows that it is
 * complete, not at the end of the text. */
static void test_reader_streams(void)
{
	sink_log l = { 0 };
	drukbox_list_reader *r = NULL;
	drukbox_host_list *list = NULL;
	static const char a[] = "[{\"id\": \"a\"}, {\"id\": \"b\"",
			  b[] = "}, {\"id\": \"c\"}", c[] = "]\n";

	CU_ASSERT_EQUAL_FATAL(drukbox_list_reader_new(&r, log_sink, &l), 0);
	CU_ASSERT_EQUAL(drukbox_list_reader_feed(r, a, strlen(a)), 0);
	CU_ASSERT_EQUAL(l.got, 1);
	CU_ASSERT_EQUAL(drukbox_list_reader_feed(r, b, strlen(b)), 0);
	CU_ASSERT_EQUAL(l.got, 2);
	CU_ASSERT_STRING_EQUAL(l.ids[1], "b");
	CU_ASSERT_EQUAL(drukbox_list_reader_feed(r, c, strlen(c)), 0);
	CU_ASSERT_EQUAL(l.got, 3);
	CU_ASSERT_EQUAL(drukbox_list_reader_end(r, &list), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(list);
	CU_ASSERT_EQUAL(list->count, 3);
	CU_ASSERT_PTR_NULL(list->hosts);
	CU_ASSERT_STRING_EQUAL(l.ids[2], "c");
	drukbox_host_list_free(list);
	drukbox_list_reader_free(r);
}

/* A sink's error stops the parse: it is what feed (and every call after
 * it) returns, and no record comes after it. */
static void test_reader_sink_error(void)
{
	sink_log l = { .fail_at = 2 };
	drukbox_list_reader *r = NULL;
	drukbox_host_list *list = NULL;
	static const char t[] = "[{\"id\": \"a\"}, {\"id\": \"b\"}, {\"id\": "
				"\"c\"}, {\"id\": \"d\"}]";

	CU_ASSERT_EQUAL_FATAL(drukbox_list_reader_new(&r, log_sink, &l), 0);
	CU_ASSERT_EQUAL(drukbox_list_reader_feed(r, t, strlen(t)),
			-DRUKBOX_ECONFLICT);
	CU_ASSERT_EQUAL(l.got, 2);
	CU_ASSERT_EQUAL(drukbox_list_reader_feed(r, "x", 1), -DRUKBOX_ECONFLICT);
	CU_ASSERT_EQUAL(drukbox_list_reader_end(r, &list), -DRUKBOX_ECONFLICT);
	CU_ASSERT_PTR_NULL(list);
	CU_ASSERT_EQUAL(l.got, 2);
	drukbox_list_reader_free(r);
}

/* A text that breaks is refused by the feed that shows it, not at the
 * end: a caller reading from the network stops there. */
static void test_reader_fails_early(void)
{
	sink_log l = { 0 };
	drukbox_list_reader *r = NULL;
	drukbox_host_list *list = NULL;
	static const char t[] = "[{\"id\": \"a\"}, {\"id\" \"b\"}, ";

	CU_ASSERT_EQUAL_FATAL(drukbox_list_reader_new(&r, log_sink, &l), 0);
	CU_ASSERT_EQUAL(drukbox_list_reader_feed(r, t, strlen(t)),
			-DRUKBOX_EPROTOCOL);
	CU_ASSERT_PTR_NOT_NULL(strstr(drukbox_error_last()->detail,
				      "at byte 20"));
	CU_ASSERT_EQUAL(l.got, 1);
	CU_ASSERT_EQUAL(drukbox_list_reader_end(r, &list), -DRUKBOX_EPROTOCOL);
	CU_ASSERT_PTR_NULL(list);
	drukbox_list_reader_free(r);
}

/* A reader given up before its end frees what it holds (the sink's
 * records are the sink's); valgrind and ASan check the rest. */
static void test_reader_abandoned(void)
{
	sink_log l = { 0 };
	drukbox_list_reader *r = NULL;
	static const char t[] = "[{\"id\": \"a\"}, {\"id\": \"b\", \"name\": \"n";

	CU_ASSERT_EQUAL_FATAL(drukbox_list_reader_new(&r, log_sink, &l), 0);
	CU_ASSERT_EQUAL(drukbox_list_reader_feed(r, t, strlen(t)), 0);
	CU_ASSERT_EQUAL(l.got, 1);
	drukbox_list_reader_free(r);
	drukbox_list_reader_free(NULL);
	CU_ASSERT_EQUAL(drukbox_list_reader_new(NULL, log_sink, &l),
			-DRUKBOX_EINVAL);
	CU_ASSERT_EQUAL(drukbox_list_reader_new(&r, NULL, &l), -DRUKBOX_EINVAL);
}

static const drukbox_test reader_tests[] = {
	{ "every cut gives the whole parse", test_reader_every_cut },
	{ "records reach the sink as they complete", test_reader_streams },
	{ "a sink's error stops the parse", test_reader_sink_error },
	{ "broken text fails at the feed", test_reader_fails_early },
	{ "abandoned reader, bad arguments", test_reader_abandoned },
	{ NULL, NULL },
};

static const drukbox_test host_tests[] = {
	{ "full record", test_host_full_record },
	{ "json member", test_host_json_member },
	{ "missing optional fields", test_host_missing_optional_fields },
	{ "nulls", test_host_nulls },
	{ "unknown fields kept in json", test_host_unknown_fields_kept_in_json },
	{ "wrong types name the field", test_host_wrong_types },
	{ "id required", test_host_id_required },
	{ "not an object", test_host_not_an_object },
	{ "not JSON or truncated", test_host_not_json },
	{ "depth bomb", test_host_depth_bomb },
	{ "trailing garbage", test_host_trailing_garbage },
	{ "duplicate and escaped keys", test_host_duplicate_and_escaped_keys },
	{ "integers", test_host_integers },
	{ "strict JSON", test_host_strict_json },
	{ "equality", test_host_equal },
	{ NULL, NULL },
};

static const drukbox_test list_tests[] = {
	{ "parse and skip", test_list_parse_and_skip },
	{ "a string with a NUL is malformed", test_host_string_with_nul },
	{ "empty and invalid", test_list_empty_and_invalid },
	{ "depth 64 vs 65", test_list_depth },
	{ "a record reads the same alone", test_list_and_single_agree },
	{ NULL, NULL },
};

static const drukbox_test doctor_tests[] = {
	{ "parse", test_doctor_parse },
	{ "invalid", test_doctor_invalid },
	{ NULL, NULL },
};

/* Bytes that are not UTF-8 would make the body not JSON: refused. */
static void test_body_not_utf8(void)
{
	drukbox_env_var env[] = { { "A", "ok\xc3\xa9" } };
	drukbox_create_opts o = { .image = "deb\xff\xfe" };
	char *body = NULL;

	CU_ASSERT_EQUAL(drukbox_create_body(&body, &o), -DRUKBOX_EINVAL);
	CU_ASSERT_PTR_NULL(body);
	o.image = "debian-12";
	o.env = env;
	o.env_count = 1;
	CU_ASSERT_EQUAL_FATAL(drukbox_create_body(&body, &o), 0);
	CU_ASSERT_STRING_EQUAL(body, "{\"image\": \"debian-12\", \"env\": "
				     "{\"A\": \"ok\xc3\xa9\"}}");
	free(body);
	body = NULL;
	env[0].value = "\xed\xa0\x80"; /* a surrogate */
	CU_ASSERT_EQUAL(drukbox_create_body(&body, &o), -DRUKBOX_EINVAL);
	CU_ASSERT_EQUAL(drukbox_utf8_valid(""), true);
	CU_ASSERT_EQUAL(drukbox_utf8_valid("\xf0\x9f\x98\x80"), true);
	CU_ASSERT_EQUAL(drukbox_utf8_valid("\xc0\x80"), false); /* overlong */
	CU_ASSERT_EQUAL(drukbox_utf8_valid("\xf4\x90\x80\x80"), false);
	CU_ASSERT_EQUAL(drukbox_utf8_valid("\xe2\x82"), false); /* cut */
}

static const drukbox_test body_tests[] = {
	{ "not UTF-8", test_body_not_utf8 },
	{ "all omitted", test_body_all_omitted },
	{ "expiry never", test_body_expiry_never },
	{ "expiry at", test_body_expiry_at },
	{ "env", test_body_env },
	{ "provider, instance type, disk", test_body_sizes },
	{ "everything", test_body_everything },
	{ "invalid env", test_body_invalid_env },
	{ "errors hide env values", test_body_error_hides_env_values },
	{ "invalid idempotency key", test_body_invalid_idempotency_key },
	{ "other invalid options", test_body_other_invalid },
	{ "idempotency key charset", test_idempotency_key_valid },
	{ NULL, NULL },
};

static const drukbox_test record_tests[] = {
	{ "dup", test_host_dup },
	{ "placeholder", test_host_placeholder },
	{ "strip private key", test_host_strip_private_key },
	{ NULL, NULL },
};

static const drukbox_test_suite suites[] = {
	{ "host parser", NULL, NULL, host_tests },
	{ "list parser", NULL, NULL, list_tests },
	{ "list reader", NULL, NULL, reader_tests },
	{ "doctor parser", NULL, NULL, doctor_tests },
	{ "create body", NULL, NULL, body_tests },
	{ "records", NULL, NULL, record_tests },
};

DRUKBOX_TEST_MAIN(suites)
