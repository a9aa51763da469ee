/*
 * fuzz_spec: the input is the text of a create spec (specs/<name>).
 *
 * drukfs_spec_parse() either refuses it (a line number inside the text,
 * a reason, nothing left allocated) or gives a spec that keeps its own
 * promises: known keys once each, no control character in a value, env
 * names valid and not reserved, numbers in range.  The spec is then merged
 * over a mount's defaults and turned into the POST /hosts body, as mkdir
 * does; a valid spec must always give a body, the body must be one JSON
 * object that says exactly what the merged options say, and it must be
 * one that drukbox_host_create_json() (the resume after a crash) accepts.
 */
#include "fuzz.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "spec.h"

/* The longest lease drukfs_parse_lease() accepts (options.c). */
#define LEASE_MAX (10L * 366 * 86400)

static const drukbox_env_var default_env[] = {
	{ "FOO", "from the mount" },
	{ "LANG", "C.UTF-8" },
};

static const drukbox_create_opts defaults = {
	.image = "debian-12",
	.instance_type = "small",
	.disk_gb = 10,
	.env = default_env,
	.env_count = 2,
};

static int control_free(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static int env_name_valid(const char *k)
{
	if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') ||
	      *k == '_'))
		return 0;
	for (; *k; k++)
		if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') ||
		      (*k >= '0' && *k <= '9') || *k == '_'))
			return 0;
	return 1;
}

static size_t count_lines(const char *text)
{
	size_t n = 1;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

static void check_spec(const drukfs_spec *s)
{
	const char *single[] = { s->image, s->provider, s->instance_type };

	for (size_t i = 0; i < 3; i++)
		FUZZ_CHECK(!single[i] || (single[i][0] && control_free(single[i])));
	FUZZ_CHECK(s->disk_gb >= 0);
	FUZZ_CHECK(s->lease == 0 || s->lease == -1 ||
		   (s->lease > 0 && s->lease <= LEASE_MAX));
	FUZZ_CHECK(s->env_count == 0 || s->env != NULL);
	for (size_t i = 0; i < s->env_count; i++) {
		FUZZ_CHECK(env_name_valid(s->env[i].key));
		FUZZ_CHECK(strcmp(s->env[i].key, "TAILSCALE_AUTHKEY") != 0);
		FUZZ_CHECK(s->env[i].value[0] && control_free(s->env[i].value));
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(s->env[i].key, s->env[j].key) != 0);
	}
}

/* The merged env: every spec pair, and every default the spec does not
 * name; no name twice. */
static void check_merge(const drukfs_spec *s, const drukbox_create_opts *o)
{
	size_t expected = s->env_count;

	for (size_t i = 0; i < defaults.env_count; i++) {
		int named = 0;

		for (size_t j = 0; j < s->env_count; j++)
			named |= strcmp(s->env[j].key, default_env[i].key) == 0;
		expected += !named;
	}
	FUZZ_CHECK(o->env_count == expected);
	for (size_t i = 0; i < o->env_count; i++) {
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(o->env[i].key, o->env[j].key) != 0);
		for (size_t j = 0; j < s->env_count; j++)
			if (strcmp(o->env[i].key, s->env[j].key) == 0)
				FUZZ_CHECK(o->env[i].value == s->env[j].value);
	}
	FUZZ_CHECK(o->image == (s->image ? s->image : defaults.image));
	FUZZ_CHECK(o->provider == (s->provider ? s->provider : defaults.provider));
	FUZZ_CHECK(o->instance_type ==
		   (s->instance_type ? s->instance_type : defaults.instance_type));
	FUZZ_CHECK(o->disk_gb == (s->disk_gb ? s->disk_gb : defaults.disk_gb));
}

/* obj[key] is the string `want`, or absent when want is NULL. */
static void check_member(json_object *obj, const char *key, const char *want)
{
	json_object *v = NULL;
	int has = json_object_object_get_ex(obj, key, &v);

	if (!want) {
		FUZZ_CHECK(!has);
		return;
	}
	FUZZ_CHECK(has && json_object_is_type(v, json_type_string));
	FUZZ_CHECK(strcmp(json_object_get_string(v), want) == 0);
}

/* The body says what the options say, and nothing else. */
static void check_body(const char *body, const drukbox_create_opts *o)
{
	json_tokener *tok = json_tokener_new();
	json_object *obj, *env = NULL, *v = NULL;
	size_t members = 0;

	FUZZ_CHECK(tok != NULL);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, body, (int)strlen(body));
	FUZZ_CHECK(json_tokener_get_error(tok) == json_tokener_success);
	FUZZ_CHECK(json_tokener_get_parse_end(tok) == strlen(body));
	json_tokener_free(tok);
	FUZZ_CHECK(json_object_is_type(obj, json_type_object));
	check_member(obj, "image", o->image);
	check_member(obj, "provider", o->provider);
	check_member(obj, "instance_type", o->instance_type);
	members += !!o->image + !!o->provider + !!o->instance_type;
	FUZZ_CHECK(json_object_object_get_ex(obj, "disk_gb", &v) ==
		   (o->disk_gb > 0));
	if (o->disk_gb > 0) {
		FUZZ_CHECK(json_object_is_type(v, json_type_int));
		FUZZ_CHECK(json_object_get_int64(v) == o->disk_gb);
		members++;
	}
	FUZZ_CHECK(json_object_object_get_ex(obj, "env", &env) ==
		   (o->env_count > 0));
	if (o->env_count) {
		FUZZ_CHECK(json_object_is_type(env, json_type_object));
		FUZZ_CHECK((size_t)json_object_object_length(env) == o->env_count);
		for (size_t i = 0; i < o->env_count; i++)
			check_member(env, o->env[i].key, o->env[i].value);
		members++;
	}
	FUZZ_CHECK(json_object_object_get_ex(obj, "expires_at", &v) ==
		   (o->expiry != DRUKBOX_EXPIRY_DEFAULT));
	if (o->expiry == DRUKBOX_EXPIRY_NEVER)
		FUZZ_CHECK(v == NULL);
	if (o->expiry == DRUKBOX_EXPIRY_AT)
		check_member(obj, "expires_at", o->expires_at);
	members += o->expiry != DRUKBOX_EXPIRY_DEFAULT;
	FUZZ_CHECK((size_t)json_object_object_length(obj) == members);
	json_object_put(obj);
}

/* What mkdir does with a parsed spec (handles.c create_body()). */
static void check_create(const drukfs_spec *s)
{
	drukbox_create_opts o;
	drukbox_env_var *env = NULL;
	char *body = NULL;
	long lease = 0;
	int rc = drukfs_spec_merge(s, &defaults, 3600, &o, &lease, &env);

	if (rc == -ENOMEM)
		return;
	FUZZ_CHECK(rc == 0 && env != NULL && o.env == env);
	FUZZ_CHECK(lease == (s->lease ? s->lease : 3600));
	check_merge(s, &o);
	o.idempotency_key = "web-1";
	if (lease < 0) {
		o.expiry = DRUKBOX_EXPIRY_NEVER;
	} else {
		o.expiry = DRUKBOX_EXPIRY_AT;
		o.expires_at = "2030-01-02T03:04:05+00:00";
	}
	rc = drukbox_create_body(&body, &o);
	if (rc != -DRUKBOX_ENOMEM) {
		/* whatever a spec let through, the body can carry */
		FUZZ_CHECK(rc == 0 && body != NULL);
		check_body(body, &o);
		/* and a create interrupted by a crash can be resumed with it:
		 * drukbox_host_create_json() sends only what this accepts */
		rc = drukbox_json_expect_object(body, strlen(body),
						"create body", NULL, NULL);
		FUZZ_CHECK(rc == 0 || rc == -DRUKBOX_ENOMEM);
	}
	free(body);
	free(env);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	const char *why = "unset";
	size_t line = 12345;
	drukfs_spec s;
	int rc = drukfs_spec_parse(text, &s, &line, &why);

	if (rc == -EINVAL) {
		FUZZ_CHECK(why != NULL && why[0]);
		FUZZ_CHECK(line >= 1 && line <= count_lines(text));
		/* nothing is left to free after a refusal */
		FUZZ_CHECK(!s.buf && !s.env && !s.env_count && !s.image);
	} else if (rc == 0) {
		FUZZ_CHECK(why == NULL && line == 0 && s.buf != NULL);
		check_spec(&s);
		check_create(&s);
		drukfs_spec_clear(&s);
	} else {
		FUZZ_CHECK(rc == -ENOMEM);
	}
	free(text);
	return 0;
}
