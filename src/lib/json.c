/*
 * json.c — libdrukbox's JSON through json-c: the doctor report, error
 * bodies, host.json, and the request bodies.
 *
 * Host records are read elsewhere (hostparse.c, without a document tree,
 * because a host list is large); what is read here is small.  Reading goes
 * through one strict json-c tokener with an explicit nesting limit, and a
 * document must end where its value ends (only white space may follow),
 * so "{}garbage" and a depth bomb are both protocol errors rather than
 * surprises further up.  The doctor report is parsed tolerantly, as the
 * contract asks: unknown fields are ignored (but kept in the pretty-printed
 * `json` copy), an optional field that is missing or null becomes NULL or
 * its default, and only a known field of the wrong JSON type is an error,
 * one that names the field.
 *
 * host.json is rendered on demand from the record (drukbox_host_json)
 * rather than kept with it: a list of ten thousand pretty-printed records
 * was most of the memory a mount held.  json-c prints it, from the known
 * fields and the unknown ones kept verbatim in `extra`, so it reads the
 * way it always has.
 *
 * Writing request bodies is done by hand rather than with json-c's
 * serialiser: they must be byte-exact (an omitted field is absent, a
 * permanent host is `"expires_at": null`), in a fixed key order and with
 * the same spacing as the reference SDK (`{"key": value, ...}`), so that
 * tests can assert on the exact bytes sent.
 */
#include "common.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "jscan.h"
#include "json.h"
#include "record.h"

/* Request bodies are small; the cap only stops runaway input. */
#define BODY_MAX ((size_t)1 << 20)

#define PRINT_FLAGS                                                    \
	(JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |          \
	 JSON_C_TO_STRING_NOSLASHESCAPE)

/* ---- reading ------------------------------------------------------------ */

/* True when text[from..len) is only JSON white space. */
static bool only_space(const char *text, size_t from, size_t len)
{
	for (size_t i = from; i < len; i++)
		if (!strchr(" \t\r\n", text[i]) || text[i] == '\0')
			return false;
	return true;
}

/* Parses one complete JSON document of len bytes.  0 with *out owned by
 * the caller (json_object_put), or -DRUKBOX_EPROTOCOL naming `what`
 * (invalid, truncated, too deep, trailing data), or -DRUKBOX_ENOMEM. */
static int parse_document(json_object **out, const char *text, size_t len,
			  const char *what)
{
	json_tokener *tok = NULL;
	json_object *obj = NULL;
	enum json_tokener_error jerr;
	int rc = 0;

	*out = NULL;
	if (!text || len > INT_MAX) {
		rc = drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
				       "%s: no usable JSON body", what);
		goto out;
	}
	tok = json_tokener_new_ex(JSCAN_DEPTH_MAX);
	if (!tok) {
		rc = drukbox_error_nomem();
		goto out;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
					    JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue) {
		rc = drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
				       "%s: JSON ends too early", what);
	} else if (jerr == json_tokener_error_depth) {
		rc = drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
				       "%s: JSON nested deeper than %d levels",
				       what, JSCAN_DEPTH_MAX);
	} else if (jerr != json_tokener_success) {
		rc = drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
				       "%s: not valid JSON (%s)", what,
				       json_tokener_error_desc(jerr));
	} else if (!only_space(text, json_tokener_get_parse_end(tok), len)) {
		rc = drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
				       "%s: unexpected data after the JSON value",
				       what);
	}
out:
	if (rc)
		json_object_put(obj);
	else
		*out = obj;
	if (tok)
		json_tokener_free(tok);
	return rc;
}

/* strdup that reports ENOMEM.  NULL in → NULL out, returns 0. */
static int dup_string(char **out, const char *s)
{
	*out = NULL;
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : drukbox_error_nomem();
}

/* Reads obj[key] as an optional string into *out (NULL when missing or
 * null).  -DRUKBOX_EPROTOCOL naming `what`.key for another type,
 * -DRUKBOX_ENOMEM. */
static int get_string(json_object *obj, const char *key, char **out,
		      const char *what)
{
	json_object *v = NULL;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
					 "%s: field \"%s\" is not a string",
					 what, key);
	/* A NUL inside would make C see a shorter (maybe valid) value than
	 * the one the service sent. */
	if ((size_t)json_object_get_string_len(v) !=
	    strlen(json_object_get_string(v)))
		return drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
					 "%s: field \"%s\" contains a NUL byte",
					 what, key);
	return dup_string(out, json_object_get_string(v));
}

/* Reads obj[key] as an optional integer: 0 with *has false when missing or
 * null; -DRUKBOX_EPROTOCOL naming the field for another type. */
static int get_int(json_object *obj, const char *key, int64_t *out, bool *has,
		   const char *what)
{
	json_object *v = NULL;

	*out = 0;
	*has = false;
	if (!json_object_object_get_ex(obj, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
					 "%s: field \"%s\" is not an integer",
					 what, key);
	*out = json_object_get_int64(v);
	*has = true;
	return 0;
}

/* Reads obj[key] as an optional boolean (false when missing or null). */
static int get_bool(json_object *obj, const char *key, bool *out,
		    const char *what)
{
	json_object *v = NULL;

	*out = false;
	if (!json_object_object_get_ex(obj, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
					 "%s: field \"%s\" is not a boolean",
					 what, key);
	*out = json_object_get_boolean(v);
	return 0;
}

/* obj pretty-printed plus "\n", into *out (caller frees) and its length
 * into *len.  0 or ENOMEM. */
static int pretty_copy(char **out, size_t *len, json_object *obj)
{
	const char *s = json_object_to_json_string_length(obj, PRINT_FLAGS,
							  len);

	*out = NULL;
	if (!s)
		return drukbox_error_nomem();
	*out = malloc(*len + 2);
	if (!*out)
		return drukbox_error_nomem();
	memcpy(*out, s, *len);
	(*out)[(*len)++] = '\n';
	(*out)[*len] = '\0';
	return 0;
}

/* ---- host.json ---------------------------------------------------------- */

/* The JSON value host.json shows for known key k of host (NULL is null):
 * never the private key.  0 or -DRUKBOX_ENOMEM. */
static int known_value(json_object **out, const drukbox_host *host,
		       drukbox_host_key k)
{
	const char *s;

	*out = NULL;
	switch (drukbox_record_keys[k].type) {
	case RECORD_DISK_GB:
		if (host->has_disk_gb)
			*out = json_object_new_int64(host->disk_gb);
		return host->has_disk_gb && !*out ? drukbox_error_nomem() : 0;
	case RECORD_PORT:
		if (host->has_external_ssh_port)
			*out = json_object_new_int(host->external_ssh_port);
		return host->has_external_ssh_port && !*out
			       ? drukbox_error_nomem() : 0;
	default:
		s = drukbox_record_string_of(host, k);
		if (s && k != DRUKBOX_HOST_PRIVATE_KEY)
			*out = json_object_new_string(s);
		return s && k != DRUKBOX_HOST_PRIVATE_KEY && !*out
			       ? drukbox_error_nomem() : 0;
	}
}

/* Adds obj[key] = value, taking value over.  0 or -DRUKBOX_ENOMEM. */
static int add_member(json_object *obj, const char *key, json_object *value)
{
	if (json_object_object_add(obj, key, value) != 0) {
		json_object_put(value);
		return drukbox_error_nomem();
	}
	return 0;
}

/* Adds the known keys host.json shows, in the contract's order. */
static int add_known_members(json_object *obj, const drukbox_host *host)
{
	json_object *v;
	int rc = 0;

	for (int k = 0; !rc && k < DRUKBOX_HOST_KEY_COUNT; k++) {
		if (!drukbox_record_shows(host, (drukbox_host_key)k))
			continue;
		rc = known_value(&v, host, (drukbox_host_key)k);
		if (!rc)
			rc = add_member(obj, drukbox_record_keys[k].name, v);
	}
	return rc;
}

/* Adds the members of the JSON object `extra`, in order.  0,
 * -DRUKBOX_ENOMEM, or -DRUKBOX_EPROTOCOL when extra is not an object. */
static int add_extra_members(json_object *obj, const char *extra)
{
	json_object *x = NULL;
	int rc = parse_document(&x, extra, strlen(extra), "host record");

	if (!rc && !json_object_is_type(x, json_type_object))
		rc = drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
				       "host record: extra is not a JSON "
				       "object");
	if (!rc) {
		/* the iterator, not json_object_object_foreach(), which is a
		 * GNU statement expression that -Wpedantic refuses */
		struct json_object_iterator it = json_object_iter_begin(x);
		struct json_object_iterator end = json_object_iter_end(x);

		for (; !rc && !json_object_iter_equal(&it, &end);
		     json_object_iter_next(&it))
			rc = add_member(obj, json_object_iter_peek_name(&it),
					json_object_get(
						json_object_iter_peek_value(&it)));
	}
	json_object_put(x);
	return rc;
}

/* 0, -DRUKBOX_ENOMEM or -DRUKBOX_EPROTOCOL (a foreign `extra`); *out is
 * the caller's and NULL on failure. */
int drukbox_host_json(char **out, size_t *len, const drukbox_host *host)
{
	json_object *obj = NULL;
	size_t n = 0;
	int rc;

	drukbox_error_clear();
	if (!out || !host)
		return drukbox_error_set(DRUKBOX_EINVAL, 0,
					 "out and host are required");
	*out = NULL;
	obj = json_object_new_object();
	rc = obj ? add_known_members(obj, host) : drukbox_error_nomem();
	if (!rc && host->extra)
		rc = add_extra_members(obj, host->extra);
	if (!rc)
		rc = pretty_copy(out, &n, obj);
	if (len)
		*len = rc ? 0 : n;
	json_object_put(obj);
	return rc;
}

/* Fills one doctor check from checks[index].  0, -DRUKBOX_EPROTOCOL naming
 * the field, or -DRUKBOX_ENOMEM; partial contents are freed by the caller
 * along with the doctor. */
static int doctor_check_fill(drukbox_doctor_check *check, json_object *obj,
			     size_t index)
{
	char what[48];
	int rc;

	snprintf(what, sizeof(what), "doctor: checks[%zu]", index);
	if (!json_object_is_type(obj, json_type_object))
		return drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
					 "%s is not a JSON object", what);
	rc = get_string(obj, "name", &check->name, what);
	if (!rc)
		rc = get_string(obj, "status", &check->status, what);
	if (!rc)
		rc = get_string(obj, "detail", &check->detail, what);
	if (!rc)
		rc = get_string(obj, "hint", &check->hint, what);
	if (!rc)
		rc = get_int(obj, "latency_ms", &check->latency_ms,
			     &check->has_latency, what);
	return rc;
}

/* Fills the checks array of doctor from obj["checks"] (missing or null:
 * none).  Same errors as doctor_check_fill. */
static int doctor_checks_fill(drukbox_doctor *doctor, json_object *obj)
{
	json_object *checks = NULL;
	size_t n;
	int rc;

	if (!json_object_object_get_ex(obj, "checks", &checks) || !checks)
		return 0;
	if (!json_object_is_type(checks, json_type_array))
		return drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
					 "doctor: field \"checks\" is not an "
					 "array");
	n = json_object_array_length(checks);
	if (n == 0)
		return 0;
	doctor->checks = calloc(n, sizeof(*doctor->checks));
	if (!doctor->checks)
		return drukbox_error_nomem();
	doctor->check_count = n;
	for (size_t i = 0; i < n; i++) {
		rc = doctor_check_fill(&doctor->checks[i],
				       json_object_array_get_idx(checks, i), i);
		if (rc)
			return rc;
	}
	return 0;
}

/* Builds a doctor report from a parsed object; "ok" is required. */
static int doctor_from_object(drukbox_doctor *doctor, json_object *obj)
{
	json_object *ok = NULL;
	size_t len;
	int rc;

	if (!json_object_is_type(obj, json_type_object))
		return drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
					 "doctor report is not a JSON object");
	if (!json_object_object_get_ex(obj, "ok", &ok) ||
	    !json_object_is_type(ok, json_type_boolean))
		return drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
					 "doctor: field \"ok\" is missing or "
					 "not a boolean");
	doctor->ok = json_object_get_boolean(ok);
	rc = get_string(obj, "active_provider", &doctor->active_provider,
			"doctor");
	if (!rc)
		rc = get_bool(obj, "tailscale_enabled",
			      &doctor->tailscale_enabled, "doctor");
	if (!rc)
		rc = doctor_checks_fill(doctor, obj);
	if (!rc)
		rc = pretty_copy(&doctor->json, &len, obj);
	return rc;
}

/* -DRUKBOX_EPROTOCOL naming the field, or -DRUKBOX_ENOMEM. */
int drukbox_doctor_parse(drukbox_doctor **out, const char *json, size_t len)
{
	drukbox_doctor *doctor = NULL;
	json_object *obj = NULL;
	int rc;

	drukbox_error_clear();
	if (!out)
		return drukbox_error_set(DRUKBOX_EINVAL, 0, "out is NULL");
	*out = NULL;
	rc = parse_document(&obj, json, len, "doctor report");
	if (rc)
		goto out;
	doctor = calloc(1, sizeof(*doctor));
	if (!doctor) {
		rc = drukbox_error_nomem();
		goto out;
	}
	rc = doctor_from_object(doctor, obj);
	if (rc)
		goto out;
	*out = doctor;
	doctor = NULL;
out:
	drukbox_doctor_free(doctor);
	json_object_put(obj);
	return rc;
}

/* Appends "; " + s to detail unless it is full.  Cannot fail. */
static void join_message(char *detail, size_t size, const char *s)
{
	size_t used = strlen(detail);

	if (used + 1 >= size)
		return;
	snprintf(detail + used, size - used, "%s%s", used ? "; " : "", s);
}

/* Joins the "msg" parts of a 422 detail list (bare strings count too). */
static void join_detail_list(json_object *list, char *detail, size_t size)
{
	size_t n = json_object_array_length(list);

	for (size_t i = 0; i < n; i++) {
		json_object *item = json_object_array_get_idx(list, i);
		json_object *msg = NULL;

		if (json_object_is_type(item, json_type_string))
			msg = item;
		else if (json_object_is_type(item, json_type_object))
			json_object_object_get_ex(item, "msg", &msg);
		if (json_object_is_type(msg, json_type_string))
			join_message(detail, size, json_object_get_string(msg));
	}
}

/* Never fails: anything unusable yields false and "".  Saves and restores
 * the last error, which the parse would otherwise overwrite. */
bool drukbox_json_error_info(const char *body, size_t len, char *detail,
			     size_t detail_size, char *code, size_t code_size)
{
	drukbox_error saved;
	json_object *obj = NULL, *v = NULL;

	detail[0] = '\0';
	code[0] = '\0';
	/* Parsing must not disturb the error the caller is about to set. */
	drukbox_error_copy(&saved);
	if (parse_document(&obj, body, len, "error body") ||
	    !json_object_is_type(obj, json_type_object))
		goto out;
	if (json_object_object_get_ex(obj, "error_code", &v) &&
	    json_object_is_type(v, json_type_string))
		snprintf(code, code_size, "%s", json_object_get_string(v));
	if (!json_object_object_get_ex(obj, "detail", &v) || !v)
		goto out;
	if (json_object_is_type(v, json_type_string))
		snprintf(detail, detail_size, "%s", json_object_get_string(v));
	else if (json_object_is_type(v, json_type_array))
		join_detail_list(v, detail, detail_size);
out:
	json_object_put(obj);
	drukbox_error_set(saved.code, saved.http_status, "%s", saved.detail);
	drukbox_error_set_server_code(saved.error_code);
	return detail[0] != '\0';
}

/* 0, -DRUKBOX_EPROTOCOL naming `what`, or -DRUKBOX_ENOMEM. */
int drukbox_json_expect_object(const char *body, size_t len, const char *what,
			       const char *field, const char *expect)
{
	json_object *obj = NULL, *v = NULL;
	int rc;

	rc = parse_document(&obj, body, len, what);
	if (rc)
		goto out;
	if (!json_object_is_type(obj, json_type_object)) {
		rc = drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
				       "%s is not a JSON object", what);
		goto out;
	}
	if (field && (!json_object_object_get_ex(obj, field, &v) ||
		      !json_object_is_type(v, json_type_string) ||
		      strcmp(json_object_get_string(v), expect) != 0))
		rc = drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
				       "%s: field \"%s\" is not \"%s\"", what,
				       field, expect);
out:
	json_object_put(obj);
	return rc;
}

/* ---- writing ------------------------------------------------------------ */

/* The escape for byte c inside a JSON string ("\\n", "\\u001f", ...)
 * into esc, or "" when c may stand as itself.  Bytes >= 0x80 (UTF-8) pass
 * through unchanged. */
static void escape_byte(char esc[8], unsigned char c)
{
	switch (c) {
	case '"': snprintf(esc, 8, "\\\""); return;
	case '\\': snprintf(esc, 8, "\\\\"); return;
	case '\b': snprintf(esc, 8, "\\b"); return;
	case '\f': snprintf(esc, 8, "\\f"); return;
	case '\n': snprintf(esc, 8, "\\n"); return;
	case '\r': snprintf(esc, 8, "\\r"); return;
	case '\t': snprintf(esc, 8, "\\t"); return;
	default:
		if (c < 0x20 || c == 0x7f)
			snprintf(esc, 8, "\\u%04x", c);
		else
			esc[0] = '\0';
	}
}

/* Appends s as a JSON string literal, copying runs of plain bytes at once.
 * Same contract as drukbox_buf_append (a failure frees the buffer). */
static int put_string(drukbox_buf *b, const char *s)
{
	char esc[8];
	size_t run = 0;
	int rc = drukbox_buf_puts(b, "\"");

	for (; !rc && *s; s++) {
		escape_byte(esc, (unsigned char)*s);
		if (!esc[0]) {
			run++;
			continue;
		}
		rc = drukbox_buf_append(b, s - run, run);
		run = 0;
		if (!rc)
			rc = drukbox_buf_puts(b, esc);
	}
	if (!rc)
		rc = drukbox_buf_append(b, s - run, run);
	if (!rc)
		rc = drukbox_buf_puts(b, "\"");
	return rc;
}

/* Appends the separator (unless *first) and `"key": `. */
static int put_key(drukbox_buf *b, bool *first, const char *key)
{
	int rc = *first ? 0 : drukbox_buf_puts(b, ", ");

	*first = false;
	if (!rc)
		rc = put_string(b, key);
	if (!rc)
		rc = drukbox_buf_puts(b, ": ");
	return rc;
}

/* Appends `"key": "value"` when value is not NULL. */
static int put_opt_string(drukbox_buf *b, bool *first, const char *key,
			  const char *value)
{
	int rc;

	if (!value)
		return 0;
	rc = put_key(b, first, key);
	if (!rc)
		rc = put_string(b, value);
	return rc;
}

/* Appends {"k": "v", ...} for count pairs (validated by the caller). */
static int put_string_map(drukbox_buf *b, const drukbox_env_var *vars,
			  size_t count)
{
	bool first = true;
	int rc = drukbox_buf_puts(b, "{");

	for (size_t i = 0; !rc && i < count; i++)
		rc = put_opt_string(b, &first, vars[i].key, vars[i].value);
	if (!rc)
		rc = drukbox_buf_puts(b, "}");
	return rc;
}

/* True for a name matching [A-Za-z_][A-Za-z0-9_]*. */
static bool env_key_valid(const char *key)
{
	if (!key || !(key[0] == '_' || (key[0] >= 'A' && key[0] <= 'Z') ||
		      (key[0] >= 'a' && key[0] <= 'z')))
		return false;
	for (const char *p = key + 1; *p; p++)
		if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return false;
	return true;
}

/* Cannot fail. */
bool drukbox_idempotency_key_valid(const char *key)
{
	size_t n = 0;

	if (!key)
		return false;
	for (const char *p = key; *p; p++, n++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || strchr("_-:.", *p)))
			return false;
	return n >= 1 && n <= 255;
}

/* Pure; the same rules as the reader's (jscan.h). */
bool drukbox_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + strlen(s);
	size_t n;

	for (; p < end; p += n) {
		n = jscan_utf8_len(p, end);
		if (n == 0)
			return false;
	}
	return true;
}

/* The strings of a create that must be UTF-8 to be sent as JSON. */
static int create_opts_utf8(const drukbox_create_opts *o)
{
	const char *s[] = { o->image, o->provider, o->instance_type,
			    o->expires_at };

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (s[i] && !drukbox_utf8_valid(s[i]))
			return drukbox_error_set(DRUKBOX_EINVAL, 0,
						 "a create value is not UTF-8");
	for (size_t i = 0; i < o->env_count; i++)
		if (!drukbox_utf8_valid(o->env[i].value))
			return drukbox_error_set(DRUKBOX_EINVAL, 0,
						 "env value for %s is not UTF-8",
						 o->env[i].key);
	return 0;
}

/* Checks what drukbox_create_body cannot send.  0 or -DRUKBOX_EINVAL.
 * Details name env keys (never values) and never echo the idempotency
 * key, which may be derived from something private. */
static int create_opts_check(const drukbox_create_opts *o)
{
	if (o->env_count && !o->env)
		return drukbox_error_set(DRUKBOX_EINVAL, 0,
					 "env_count is set but env is NULL");
	for (size_t i = 0; i < o->env_count; i++) {
		if (!env_key_valid(o->env[i].key))
			return drukbox_error_set(DRUKBOX_EINVAL, 0,
						 "env key %zu is not a valid "
						 "variable name", i);
		if (!o->env[i].value)
			return drukbox_error_set(DRUKBOX_EINVAL, 0,
						 "env value for %s is NULL",
						 o->env[i].key);
	}
	if (o->idempotency_key && !drukbox_idempotency_key_valid(
					  o->idempotency_key))
		return drukbox_error_set(DRUKBOX_EINVAL, 0,
					 "idempotency key must be 1-255 "
					 "characters of A-Z a-z 0-9 _ - : .");
	if (o->expiry == DRUKBOX_EXPIRY_AT &&
	    (!o->expires_at || !o->expires_at[0]))
		return drukbox_error_set(DRUKBOX_EINVAL, 0,
					 "DRUKBOX_EXPIRY_AT needs expires_at");
	if (o->expiry != DRUKBOX_EXPIRY_DEFAULT &&
	    o->expiry != DRUKBOX_EXPIRY_NEVER && o->expiry != DRUKBOX_EXPIRY_AT)
		return drukbox_error_set(DRUKBOX_EINVAL, 0,
					 "unknown expiry mode %d",
					 (int)o->expiry);
	if (o->disk_gb < 0)
		return drukbox_error_set(DRUKBOX_EINVAL, 0,
					 "disk_gb must not be negative");
	return create_opts_utf8(o);
}

/* Appends the fields of a create body, in the contract's order. */
static int create_fields(drukbox_buf *b, const drukbox_create_opts *o)
{
	char num[32];
	bool first = true;
	int rc;

	rc = put_opt_string(b, &first, "image", o->image);
	if (!rc)
		rc = put_opt_string(b, &first, "provider", o->provider);
	if (!rc)
		rc = put_opt_string(b, &first, "instance_type",
				    o->instance_type);
	if (!rc && o->disk_gb > 0) {
		snprintf(num, sizeof(num), "%" PRId64, o->disk_gb);
		rc = put_key(b, &first, "disk_gb");
		if (!rc)
			rc = drukbox_buf_puts(b, num);
	}
	if (!rc && o->env_count) {
		rc = put_key(b, &first, "env");
		if (!rc)
			rc = put_string_map(b, o->env, o->env_count);
	}
	if (!rc && o->expiry == DRUKBOX_EXPIRY_NEVER) {
		rc = put_key(b, &first, "expires_at");
		if (!rc)
			rc = drukbox_buf_puts(b, "null");
	}
	if (!rc && o->expiry == DRUKBOX_EXPIRY_AT)
		rc = put_opt_string(b, &first, "expires_at", o->expires_at);
	return rc;
}

/* Pure.  -DRUKBOX_EINVAL (see the header) or -DRUKBOX_ENOMEM; the caller
 * frees *out with free(). */
int drukbox_create_body(char **out, const drukbox_create_opts *opts)
{
	static const drukbox_create_opts defaults;
	drukbox_buf b;
	int rc;

	drukbox_error_clear();
	drukbox_buf_init(&b, BODY_MAX, "request body");
	if (!out)
		return drukbox_error_set(DRUKBOX_EINVAL, 0, "out is NULL");
	*out = NULL;
	if (!opts)
		opts = &defaults;
	rc = create_opts_check(opts);
	if (!rc)
		rc = drukbox_buf_puts(&b, "{");
	if (!rc)
		rc = create_fields(&b, opts);
	if (!rc)
		rc = drukbox_buf_puts(&b, "}");
	if (!rc) {
		*out = drukbox_buf_detach(&b);
		rc = *out ? 0 : -DRUKBOX_ENOMEM;
	}
	drukbox_buf_free(&b);
	return rc;
}

/* {"expires_at": ts}, or {} for a NULL ts.  0 or -DRUKBOX_ENOMEM. */
int drukbox_json_renew_body(char **out, const char *expires_at)
{
	drukbox_buf b;
	bool first = true;
	int rc;

	*out = NULL;
	drukbox_buf_init(&b, BODY_MAX, "request body");
	rc = drukbox_buf_puts(&b, "{");
	if (!rc)
		rc = put_opt_string(&b, &first, "expires_at", expires_at);
	if (!rc)
		rc = drukbox_buf_puts(&b, "}");
	if (!rc) {
		*out = drukbox_buf_detach(&b);
		rc = *out ? 0 : -DRUKBOX_ENOMEM;
	}
	drukbox_buf_free(&b);
	return rc;
}

/* Checks the proxy arguments.  0 or -DRUKBOX_EINVAL. */
static int proxy_args_check(const char *name, const char *target,
			    const drukbox_env_var *headers, size_t count)
{
	if (!name || !name[0] || !target || !target[0])
		return drukbox_error_set(DRUKBOX_EINVAL, 0,
					 "proxy name and target are required");
	if (!headers || count == 0)
		return drukbox_error_set(DRUKBOX_EINVAL, 0,
					 "a proxy needs at least one header");
	for (size_t i = 0; i < count; i++)
		if (!headers[i].key || !headers[i].key[0] || !headers[i].value)
			return drukbox_error_set(DRUKBOX_EINVAL, 0,
						 "proxy header %zu has no "
						 "name or no value", i);
	return 0;
}

/* -DRUKBOX_EINVAL for missing parts, -DRUKBOX_ENOMEM; *out is the
 * caller's. */
int drukbox_json_proxy_body(char **out, const char *name, const char *target,
			    const drukbox_env_var *headers, size_t count)
{
	drukbox_buf b;
	bool first = true;
	int rc;

	*out = NULL;
	drukbox_buf_init(&b, BODY_MAX, "request body");
	rc = proxy_args_check(name, target, headers, count);
	if (!rc)
		rc = drukbox_buf_puts(&b, "{");
	if (!rc)
		rc = put_opt_string(&b, &first, "name", name);
	if (!rc)
		rc = put_opt_string(&b, &first, "target", target);
	if (!rc)
		rc = put_key(&b, &first, "headers");
	if (!rc)
		rc = put_string_map(&b, headers, count);
	if (!rc)
		rc = drukbox_buf_puts(&b, "}");
	if (!rc) {
		*out = drukbox_buf_detach(&b);
		rc = *out ? 0 : -DRUKBOX_ENOMEM;
	}
	drukbox_buf_free(&b);
	return rc;
}
