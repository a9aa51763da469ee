/*
 * json.c — everything libdrukbox reads or writes as JSON.
 *
 * Reading goes through one strict json-c tokener with an explicit nesting
 * limit, and a document must end where its value ends (only white space may
 * follow), so "{}garbage" and a depth bomb are both protocol errors rather
 * than surprises further up.  Records are parsed tolerantly, as the contract
 * asks: unknown fields are ignored (but kept in the pretty-printed `json`
 * copy), an optional field that is missing or null becomes NULL or its
 * default, and only a known field of the wrong JSON type is an error, one
 * that names the field.  The list parser skips such records and counts them
 * instead, so one odd row cannot hide every other host.
 *
 * Writing is done by hand rather than with json-c's serialiser: request
 * bodies must be byte-exact (an omitted field is absent, a permanent host is
 * `"expires_at": null`), in a fixed key order and with the same spacing as
 * the reference SDK (`{"key": value, ...}`), so that tests can assert on
 * the exact bytes sent.
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
#include "json.h"

/* Deepest nesting accepted in a response; records need 3 levels. */
#define JSON_DEPTH_MAX 64

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
	tok = json_tokener_new_ex(JSON_DEPTH_MAX);
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
				       what, JSON_DEPTH_MAX);
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

/* obj pretty-printed plus "\n", into *out (caller frees).  0 or ENOMEM. */
static int pretty_copy(char **out, json_object *obj)
{
	size_t len = 0;
	const char *s = json_object_to_json_string_length(obj, PRINT_FLAGS,
							  &len);

	*out = NULL;
	if (!s)
		return drukbox_error_nomem();
	*out = malloc(len + 2);
	if (!*out)
		return drukbox_error_nomem();
	memcpy(*out, s, len);
	(*out)[len] = '\n';
	(*out)[len + 1] = '\0';
	return 0;
}

/* The string fields of a host record, read by one loop. */
static const struct {
	const char *key;
	size_t offset;
} host_strings[] = {
	{ "id", offsetof(drukbox_host, id) },
	{ "name", offsetof(drukbox_host, name) },
	{ "status", offsetof(drukbox_host, status) },
	{ "provider", offsetof(drukbox_host, provider) },
	{ "image", offsetof(drukbox_host, image) },
	{ "instance_type", offsetof(drukbox_host, instance_type) },
	{ "external_ssh_host", offsetof(drukbox_host, external_ssh_host) },
	{ "ssh_username", offsetof(drukbox_host, ssh_username) },
	{ "internal_ssh_host", offsetof(drukbox_host, internal_ssh_host) },
	{ "known_hosts", offsetof(drukbox_host, known_hosts) },
	{ "tailscale_device_id", offsetof(drukbox_host, tailscale_device_id) },
	{ "private_key", offsetof(drukbox_host, private_key) },
	{ "last_error", offsetof(drukbox_host, last_error) },
	{ "created_at", offsetof(drukbox_host, created_at) },
	{ "updated_at", offsetof(drukbox_host, updated_at) },
	{ "activated_at", offsetof(drukbox_host, activated_at) },
	{ "expires_at", offsetof(drukbox_host, expires_at) },
};

/* Fills the integer fields; the port defaults to 22 and must fit a port. */
static int host_read_numbers(drukbox_host *host, json_object *obj)
{
	int64_t port = 0;
	bool has_port = false;
	int rc;

	rc = get_int(obj, "disk_gb", &host->disk_gb, &host->has_disk_gb,
		     "host record");
	if (rc)
		return rc;
	rc = get_int(obj, "external_ssh_port", &port, &has_port,
		     "host record");
	if (rc)
		return rc;
	if (has_port && (port < 1 || port > 65535))
		return drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
					 "host record: field "
					 "\"external_ssh_port\" is out of "
					 "range");
	host->external_ssh_port = has_port ? (int)port : 22;
	return 0;
}

/* Builds a host from a parsed object.  0 with *out owned by the caller
 * (drukbox_host_free), -DRUKBOX_EPROTOCOL naming the field, or
 * -DRUKBOX_ENOMEM. */
static int host_from_object(drukbox_host **out, json_object *obj)
{
	drukbox_host *host = NULL;
	int rc = 0;

	*out = NULL;
	if (!json_object_is_type(obj, json_type_object)) {
		rc = drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
				       "host record is not a JSON object");
		goto out;
	}
	host = calloc(1, sizeof(*host));
	if (!host) {
		rc = drukbox_error_nomem();
		goto out;
	}
	for (size_t i = 0; i < sizeof(host_strings) / sizeof(host_strings[0]);
	     i++) {
		char **dst = (char **)((char *)host + host_strings[i].offset);

		rc = get_string(obj, host_strings[i].key, dst, "host record");
		if (rc)
			goto out;
	}
	if (!host->id || !host->id[0]) {
		rc = drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
				       "host record: field \"id\" is missing "
				       "or empty");
		goto out;
	}
	rc = host_read_numbers(host, obj);
	if (rc)
		goto out;
	rc = pretty_copy(&host->json, obj);
out:
	if (rc)
		drukbox_host_free(host);
	else
		*out = host;
	return rc;
}

/* -DRUKBOX_EPROTOCOL or -DRUKBOX_ENOMEM; *out NULL on failure. */
int drukbox_host_parse(drukbox_host **out, const char *json, size_t len)
{
	json_object *obj = NULL;
	int rc;

	drukbox_error_clear();
	if (!out)
		return drukbox_error_set(DRUKBOX_EINVAL, 0, "out is NULL");
	*out = NULL;
	rc = parse_document(&obj, json, len, "host record");
	if (rc)
		goto out;
	rc = host_from_object(out, obj);
out:
	json_object_put(obj);
	return rc;
}

/* Sets obj[key] to a string, or to null for NULL.  0 or ENOMEM. */
static int set_string_or_null(json_object *obj, const char *key,
			      const char *value)
{
	json_object *v = NULL;

	if (value) {
		v = json_object_new_string(value);
		if (!v)
			return drukbox_error_nomem();
	}
	if (json_object_object_add(obj, key, v) != 0) {
		json_object_put(v);
		return drukbox_error_nomem();
	}
	return 0;
}

/* 0 or -DRUKBOX_ENOMEM; *out (caller frees) has only status and
 * last_error, and json shows just those two (null when NULL). */
int drukbox_host_placeholder(drukbox_host **out, const char *status,
			     const char *last_error)
{
	drukbox_host *host = NULL;
	json_object *obj = NULL;
	int rc;

	drukbox_error_clear();
	if (!out)
		return drukbox_error_set(DRUKBOX_EINVAL, 0, "out is NULL");
	*out = NULL;
	host = calloc(1, sizeof(*host));
	obj = json_object_new_object();
	if (!host || !obj) {
		rc = drukbox_error_nomem();
		goto out;
	}
	host->external_ssh_port = 22;
	rc = dup_string(&host->status, status);
	if (!rc)
		rc = dup_string(&host->last_error, last_error);
	if (!rc)
		rc = set_string_or_null(obj, "status", status);
	if (!rc)
		rc = set_string_or_null(obj, "last_error", last_error);
	if (!rc)
		rc = pretty_copy(&host->json, obj);
out:
	json_object_put(obj);
	if (rc)
		drukbox_host_free(host);
	else
		*out = host;
	return rc;
}

/* The json member re-rendered with "private_key": null, into *out (caller
 * frees).  0, -DRUKBOX_ENOMEM, or -DRUKBOX_EPROTOCOL if json is not a
 * record this library printed. */
static int json_without_key(char **out, const char *json)
{
	json_object *obj = NULL;
	int rc;

	*out = NULL;
	rc = parse_document(&obj, json, strlen(json), "host record");
	if (!rc && !json_object_is_type(obj, json_type_object))
		rc = drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
				       "host record is not a JSON object");
	if (!rc && json_object_object_get_ex(obj, "private_key", NULL))
		rc = set_string_or_null(obj, "private_key", NULL);
	if (!rc)
		rc = pretty_copy(out, obj);
	json_object_put(obj);
	return rc;
}

/* 0 or -DRUKBOX_ENOMEM; on failure the record is unchanged. */
int drukbox_host_strip_private_key(drukbox_host *host)
{
	char *json = NULL;
	int rc;

	drukbox_error_clear();
	if (!host)
		return drukbox_error_set(DRUKBOX_EINVAL, 0, "host is NULL");
	if (host->json) {
		rc = json_without_key(&json, host->json);
		if (rc)
			return rc;
		explicit_bzero(host->json, strlen(host->json));
		free(host->json);
		host->json = json;
	}
	if (host->private_key) {
		explicit_bzero(host->private_key, strlen(host->private_key));
		free(host->private_key);
		host->private_key = NULL;
	}
	return 0;
}

/* Appends host to list (growing the array).  0 or -DRUKBOX_ENOMEM; on
 * failure host is still the caller's. */
static int list_push(drukbox_host_list *list, drukbox_host *host)
{
	drukbox_host **hosts;

	hosts = realloc(list->hosts, (list->count + 1) * sizeof(*hosts));
	if (!hosts)
		return drukbox_error_nomem();
	list->hosts = hosts;
	list->hosts[list->count++] = host;
	return 0;
}

/* Whether s is 1..max bytes of printable ASCII (no space). */
static bool printable_ascii(const char *s, size_t max)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (n >= max || (unsigned char)s[n] <= 0x20 ||
		    (unsigned char)s[n] >= 0x7f)
			return false;
	return n > 0;
}

/* Notes why record `i` was left out (the first 8 only).  Cannot fail:
 * on ENOMEM the line is dropped. */
static void note_skipped(drukbox_host_list *list, json_object *rec, size_t i)
{
	json_object *id = NULL;
	char head[96], *n;
	const char *detail = drukbox_error_last()->detail;
	size_t old = list->skipped_detail ? strlen(list->skipped_detail) : 0;
	int len;

	if (list->skipped > 8)
		return;
	/* The id names the record only when it is short printable ASCII: the
	 * text goes into a log, one line per record. */
	if (json_object_is_type(rec, json_type_object) &&
	    json_object_object_get_ex(rec, "id", &id) &&
	    json_object_is_type(id, json_type_string) &&
	    printable_ascii(json_object_get_string(id), 80))
		snprintf(head, sizeof(head), "%s", json_object_get_string(id));
	else
		snprintf(head, sizeof(head), "#%zu", i);
	len = snprintf(NULL, 0, "%s: %s\n", head, detail);
	n = realloc(list->skipped_detail, old + (size_t)len + 1);
	if (!n)
		return;
	snprintf(n + old, (size_t)len + 1, "%s: %s\n", head, detail);
	list->skipped_detail = n;
}

/* Fills list from a JSON array, skipping records that do not parse.
 * 0, or -DRUKBOX_ENOMEM (the only error that stops it). */
static int list_fill(drukbox_host_list *list, json_object *array)
{
	size_t n = json_object_array_length(array);
	drukbox_host *host = NULL;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		rc = host_from_object(&host,
				      json_object_array_get_idx(array, i));
		if (rc == -DRUKBOX_ENOMEM)
			goto out;
		if (rc) {
			list->skipped++;
			note_skipped(list, json_object_array_get_idx(array, i), i);
			continue;
		}
		rc = list_push(list, host);
		if (rc)
			goto out;
		host = NULL;
	}
	rc = 0;
out:
	drukbox_host_free(host);
	return rc;
}

/* -DRUKBOX_EPROTOCOL when the document is not an array, -DRUKBOX_ENOMEM.
 * Records that do not parse are counted in skipped, not errors. */
int drukbox_host_list_parse(drukbox_host_list **out, const char *json,
			    size_t len)
{
	drukbox_host_list *list = NULL;
	json_object *obj = NULL;
	int rc;

	drukbox_error_clear();
	if (!out)
		return drukbox_error_set(DRUKBOX_EINVAL, 0, "out is NULL");
	*out = NULL;
	rc = parse_document(&obj, json, len, "host list");
	if (rc)
		goto out;
	if (!json_object_is_type(obj, json_type_array)) {
		rc = drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
				       "host list is not a JSON array");
		goto out;
	}
	list = calloc(1, sizeof(*list));
	if (!list) {
		rc = drukbox_error_nomem();
		goto out;
	}
	rc = list_fill(list, obj);
	if (rc)
		goto out;
	drukbox_error_clear(); /* skipped records left their errors behind */
	*out = list;
	list = NULL;
out:
	drukbox_host_list_free(list);
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
		rc = pretty_copy(&doctor->json, obj);
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

/* Checks what drukbox_create_body cannot send.  0 or -DRUKBOX_EINVAL.
 * Details name env keys (never values) and never echo the idempotency
 * key, which may be derived from something private. */
/* See drukbox.h. */
bool drukbox_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned c = *p, n = c < 0x80 ? 0 : c < 0xc2 ? 9 : c < 0xe0 ? 1 :
					    c < 0xf0 ? 2 : c < 0xf5 ? 3 : 9;
		uint32_t cp = n == 1 ? c & 0x1f : n == 2 ? c & 0x0f : c & 0x07;

		if (n == 9)
			return false;
		p++;
		for (unsigned k = 0; k < n; k++, p++) {
			if ((*p & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (*p & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
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
