/*
 * fuzz_error_body: the input is the body of an error response (or of a
 * response that must be a JSON object), as the HTTP layer reads it.
 *
 * drukbox_json_error_info() fills fixed buffers from whatever the server
 * sent: it must stay inside them (they are allocated to their exact size
 * here), NUL-terminate them, say true exactly when it found a detail, give
 * with a small buffer a prefix of what it gives with a large one, and
 * leave the thread's last error as it was.  drukbox_json_expect_object()
 * must accept exactly the JSON objects (and, with a field, exactly those
 * whose field is the expected string), compared with json-c used directly.
 */
#include "fuzz.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "json.h"

/* Runs drukbox_json_error_info() with buffers of exactly ds and cs bytes.
 * The detail (malloc'd) in *detail. */
static void error_info(const uint8_t *data, size_t size, size_t ds,
		       size_t cs, char **detail)
{
	char *code = malloc(cs);
	bool found;

	*detail = malloc(ds);
	FUZZ_CHECK(*detail && code);
	found = drukbox_json_error_info((const char *)data, size, *detail, ds,
					code, cs);
	FUZZ_CHECK(memchr(*detail, '\0', ds) && memchr(code, '\0', cs));
	FUZZ_CHECK(found == ((*detail)[0] != '\0'));
	free(code);
}

/* With the sizes the HTTP layer uses, and with small ones (picked by the
 * input's last byte): the small detail is a prefix of the large one. */
static void check_error_info(const uint8_t *data, size_t size)
{
	size_t small = size ? (size_t)data[size - 1] % 40 + 1 : 1;
	char *large = NULL, *cut = NULL;
	drukbox_error before, after;

	drukbox_error_set(DRUKBOX_ETIMEOUT, 504, "before");
	drukbox_error_set_server_code("CODE_BEFORE");
	drukbox_error_copy(&before);
	error_info(data, size, DRUKBOX_DETAIL_MAX, 64, &large);
	error_info(data, size, small, small, &cut);
	FUZZ_CHECK(strncmp(large, cut, strlen(cut)) == 0);
	free(large);
	free(cut);
	drukbox_error_copy(&after);
	FUZZ_CHECK(after.code == before.code);
	FUZZ_CHECK(after.http_status == before.http_status);
	FUZZ_CHECK(strcmp(after.detail, before.detail) == 0);
	FUZZ_CHECK(strcmp(after.error_code, before.error_code) == 0);
}

/* The document as json-c reads it with the library's settings; NULL
 * when it is not one complete document (only white space may follow). */
static json_object *parse_reference(const uint8_t *data, size_t size)
{
	json_tokener *tok = json_tokener_new_ex(64);
	json_object *obj;
	size_t end;

	FUZZ_CHECK(tok != NULL);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
					    JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(obj);
		obj = NULL;
	}
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	for (; obj && end < size; end++) {
		if (!data[end] || !strchr(" \t\r\n", data[end])) {
			json_object_put(obj);
			obj = NULL;
		}
	}
	return obj;
}

static void check_expect_object(const uint8_t *data, size_t size)
{
	json_object *ref = parse_reference(data, size), *v = NULL;
	int is_object = json_object_is_type(ref, json_type_object);
	int is_ok = is_object &&
		    json_object_object_get_ex(ref, "status", &v) &&
		    json_object_is_type(v, json_type_string) &&
		    strcmp(json_object_get_string(v), "ok") == 0;
	int rc;

	json_object_put(ref);
	rc = drukbox_json_expect_object((const char *)data, size, "healthz",
					NULL, NULL);
	if (rc != -DRUKBOX_ENOMEM)
		FUZZ_CHECK(rc == (is_object ? 0 : -DRUKBOX_EPROTOCOL));
	rc = drukbox_json_expect_object((const char *)data, size, "healthz",
					"status", "ok");
	if (rc != -DRUKBOX_ENOMEM)
		FUZZ_CHECK(rc == (is_ok ? 0 : -DRUKBOX_EPROTOCOL));
	if (rc == -DRUKBOX_EPROTOCOL)
		FUZZ_CHECK(strstr(drukbox_error_last()->detail, "healthz"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_error_info(data, size);
	check_expect_object(data, size);
	return 0;
}
