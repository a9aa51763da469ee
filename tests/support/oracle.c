/*
 * oracle.c — the json-c host parser, as libdrukbox had it (see oracle.h).
 *
 * The logic is the library's before the streaming reader, kept as it was:
 * one strict json-c tokener (depth 64, UTF-8 checked) over the whole
 * body, then each record read from the document, string fields first,
 * then the id, then the two integers.  Only the plumbing differs: errors
 * go to a thread-local text instead of the library's last error, and the
 * record is the oracle's own (host.json made by the current rules).
 */
#include "oracle.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH_MAX 64

#define PRINT_FLAGS                                                    \
	(JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |          \
	 JSON_C_TO_STRING_NOSLASHESCAPE)

static __thread char last_error[DRUKBOX_DETAIL_MAX];

const char *oracle_error(void)
{
	return last_error;
}

__attribute__((format(printf, 2, 3)))
static int set_error(drukbox_err code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return -(int)code;
}

static int nomem(void)
{
	return set_error(DRUKBOX_ENOMEM, "out of memory");
}

/* ---- the document ------------------------------------------------------- */

static bool only_space(const char *text, size_t from, size_t len)
{
	for (size_t i = from; i < len; i++)
		if (!strchr(" \t\r\n", text[i]) || text[i] == '\0')
			return false;
	return true;
}

/* One complete, strict JSON document, as the library parsed it. */
static int parse_document(json_object **out, const char *text, size_t len,
			  const char *what)
{
	json_tokener *tok = json_tokener_new_ex(DEPTH_MAX);
	enum json_tokener_error jerr;
	json_object *obj;
	int rc = 0;

	*out = NULL;
	if (!tok)
		return nomem();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
					    JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue)
		rc = set_error(DRUKBOX_EPROTOCOL, "%s: JSON ends too early",
			       what);
	else if (jerr == json_tokener_error_depth)
		rc = set_error(DRUKBOX_EPROTOCOL,
			       "%s: JSON nested deeper than %d levels", what,
			       DEPTH_MAX);
	else if (jerr != json_tokener_success)
		rc = set_error(DRUKBOX_EPROTOCOL, "%s: not valid JSON (%s)",
			       what, json_tokener_error_desc(jerr));
	else if (!only_space(text, json_tokener_get_parse_end(tok), len))
		rc = set_error(DRUKBOX_EPROTOCOL,
			       "%s: unexpected data after the JSON value", what);
	json_tokener_free(tok);
	if (rc)
		json_object_put(obj);
	else
		*out = obj;
	return rc;
}

/* ---- one record ----------------------------------------------------------- */

/* The string fields in the order the library checked them. */
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
#define HOST_STRING_COUNT (sizeof(host_strings) / sizeof(host_strings[0]))

/* The keys in the contract's order: host.json's order now. */
static const char *const contract_keys[] = {
	"id", "name", "status", "provider", "image", "instance_type",
	"disk_gb", "external_ssh_host", "external_ssh_port", "ssh_username",
	"internal_ssh_host", "known_hosts", "tailscale_device_id",
	"private_key", "last_error", "created_at", "updated_at",
	"activated_at", "expires_at",
};
#define CONTRACT_KEY_COUNT (sizeof(contract_keys) / sizeof(contract_keys[0]))

static int get_string(json_object *obj, const char *key, const char **out)
{
	json_object *v = NULL;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return set_error(DRUKBOX_EPROTOCOL,
				 "host record: field \"%s\" is not a string",
				 key);
	if ((size_t)json_object_get_string_len(v) !=
	    strlen(json_object_get_string(v)))
		return set_error(DRUKBOX_EPROTOCOL,
				 "host record: field \"%s\" contains a NUL "
				 "byte", key);
	*out = strdup(json_object_get_string(v));
	return *out ? 0 : nomem();
}

static int get_int(json_object *obj, const char *key, int64_t *out,
		   bool *has)
{
	json_object *v = NULL;

	*out = 0;
	*has = false;
	if (!json_object_object_get_ex(obj, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return set_error(DRUKBOX_EPROTOCOL,
				 "host record: field \"%s\" is not an integer",
				 key);
	*out = json_object_get_int64(v);
	*has = true;
	return 0;
}

static int read_numbers(drukbox_host *host, json_object *obj)
{
	int64_t port = 0;
	int rc = get_int(obj, "disk_gb", &host->disk_gb, &host->has_disk_gb);

	if (!rc)
		rc = get_int(obj, "external_ssh_port", &port,
			     &host->has_external_ssh_port);
	if (!rc && host->has_external_ssh_port && (port < 1 || port > 65535))
		rc = set_error(DRUKBOX_EPROTOCOL,
			       "host record: field \"external_ssh_port\" is "
			       "out of range");
	host->external_ssh_port = host->has_external_ssh_port ? (int)port : 22;
	return rc;
}

static bool is_contract_key(const char *key)
{
	for (size_t i = 0; i < CONTRACT_KEY_COUNT; i++)
		if (strcmp(contract_keys[i], key) == 0)
			return true;
	return false;
}

/* Adds obj[key] (a reference) to shown, the private key as null. */
static int show_member(json_object *shown, const char *key, json_object *v)
{
	if (strcmp(key, "private_key") == 0)
		v = NULL;
	if (json_object_object_add(shown, key, json_object_get(v)) != 0) {
		json_object_put(v);
		return nomem();
	}
	return 0;
}

/* host.json of obj by today's rules, printed by json-c, plus "\n". */
static int shown_json(char **out, json_object *obj)
{
	json_object *shown = json_object_new_object(), *v;
	const char *text;
	size_t len = 0;
	int rc = shown ? 0 : nomem();

	for (size_t i = 0; !rc && i < CONTRACT_KEY_COUNT; i++)
		if (json_object_object_get_ex(obj, contract_keys[i], &v))
			rc = show_member(shown, contract_keys[i], v);
	if (!rc) {
		struct json_object_iterator it = json_object_iter_begin(obj);
		struct json_object_iterator end = json_object_iter_end(obj);

		for (; !rc && !json_object_iter_equal(&it, &end);
		     json_object_iter_next(&it))
			if (!is_contract_key(json_object_iter_peek_name(&it)))
				rc = show_member(shown,
						 json_object_iter_peek_name(&it),
						 json_object_iter_peek_value(&it));
	}
	text = rc ? NULL : json_object_to_json_string_length(shown, PRINT_FLAGS,
							     &len);
	if (!rc && (!text || !(*out = malloc(len + 2))))
		rc = nomem();
	if (!rc)
		snprintf(*out, len + 2, "%s\n", text);
	json_object_put(shown);
	return rc;
}

static int host_from_object(oracle_host **out, json_object *obj)
{
	oracle_host *h = NULL;
	int rc = 0;

	*out = NULL;
	if (!json_object_is_type(obj, json_type_object))
		return set_error(DRUKBOX_EPROTOCOL,
				 "host record is not a JSON object");
	h = calloc(1, sizeof(*h));
	if (!h)
		return nomem();
	for (size_t i = 0; !rc && i < HOST_STRING_COUNT; i++)
		rc = get_string(obj, host_strings[i].key,
				(const char **)((char *)&h->host +
						host_strings[i].offset));
	if (!rc && (!h->host.id || !h->host.id[0]))
		rc = set_error(DRUKBOX_EPROTOCOL,
			       "host record: field \"id\" is missing or empty");
	if (!rc)
		rc = read_numbers(&h->host, obj);
	if (!rc)
		rc = shown_json(&h->json, obj);
	if (rc)
		oracle_host_free(h);
	else
		*out = h;
	return rc;
}

void oracle_host_free(oracle_host *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < HOST_STRING_COUNT; i++)
		free(*(char **)((char *)&h->host + host_strings[i].offset));
	free(h->json);
	free(h);
}

int oracle_host_parse(oracle_host **out, const char *json, size_t len)
{
	json_object *obj = NULL;
	int rc = parse_document(&obj, json, len, "host record");

	*out = NULL;
	if (!rc)
		rc = host_from_object(out, obj);
	json_object_put(obj);
	return rc;
}

/* ---- the list --------------------------------------------------------------- */

static bool printable_ascii(const char *s, size_t max)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (n >= max || (unsigned char)s[n] <= 0x20 ||
		    (unsigned char)s[n] >= 0x7f)
			return false;
	return n > 0;
}

static void note_skipped(oracle_list *list, json_object *rec, size_t i)
{
	json_object *id = NULL;
	char head[96], *n;
	size_t old = list->skipped_detail ? strlen(list->skipped_detail) : 0;
	int len;

	if (list->skipped > 8)
		return;
	if (json_object_is_type(rec, json_type_object) &&
	    json_object_object_get_ex(rec, "id", &id) &&
	    json_object_is_type(id, json_type_string) &&
	    printable_ascii(json_object_get_string(id), 80))
		snprintf(head, sizeof(head), "%s", json_object_get_string(id));
	else
		snprintf(head, sizeof(head), "#%zu", i);
	len = snprintf(NULL, 0, "%s: %s\n", head, last_error);
	n = realloc(list->skipped_detail, old + (size_t)len + 1);
	if (!n)
		return;
	snprintf(n + old, (size_t)len + 1, "%s: %s\n", head, last_error);
	list->skipped_detail = n;
}

static int list_fill(oracle_list *list, json_object *array)
{
	size_t n = json_object_array_length(array);

	list->hosts = calloc(n ? n : 1, sizeof(*list->hosts));
	if (!list->hosts)
		return nomem();
	for (size_t i = 0; i < n; i++) {
		json_object *rec = json_object_array_get_idx(array, i);
		int rc = host_from_object(&list->hosts[list->count], rec);

		if (rc == -DRUKBOX_ENOMEM)
			return rc;
		if (rc) {
			list->skipped++;
			note_skipped(list, rec, i);
			continue;
		}
		list->count++;
	}
	return 0;
}

void oracle_list_free(oracle_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		oracle_host_free(list->hosts[i]);
	free(list->hosts);
	free(list->skipped_detail);
	free(list);
}

int oracle_list_parse(oracle_list **out, const char *json, size_t len)
{
	oracle_list *list;
	json_object *obj = NULL;
	int rc = parse_document(&obj, json, len, "host list");

	*out = NULL;
	if (rc)
		return rc;
	list = calloc(1, sizeof(*list));
	if (!json_object_is_type(obj, json_type_array))
		rc = set_error(DRUKBOX_EPROTOCOL,
			       "host list is not a JSON array");
	else if (!list)
		rc = nomem();
	else
		rc = list_fill(list, obj);
	if (rc)
		oracle_list_free(list);
	else
		*out = list;
	json_object_put(obj);
	return rc;
}
