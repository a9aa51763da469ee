/*
 * fuzz_list: the input is a GET /hosts body.
 *
 * drukbox_host_list_parse() either fails cleanly or returns every record
 * that parses, in order, and counts the rest as skipped.  Checked against
 * the single-record parser: each element of the array, printed on its
 * own, parses with drukbox_host_parse() exactly when the list kept it,
 * and to the same record.  A list that parsed leaves no error behind.
 */
#include "fuzz.h"
#include "records.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

/* Skipped records whose reason the list keeps. */
#define SKIPPED_NOTED 8

/* The same tokener settings the library promises (strict, UTF-8, depth
 * 64); NULL when the text is not one such document. */
static json_object *parse_array(const uint8_t *data, size_t size)
{
	json_tokener *tok = json_tokener_new_ex(64);
	json_object *obj;

	FUZZ_CHECK(tok != NULL);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
					    JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	json_tokener_free(tok);
	return obj;
}

/* Each element alone: kept by the list exactly when it parses alone. */
static void check_elements(const drukbox_host_list *list, json_object *arr)
{
	size_t n = json_object_array_length(arr), kept = 0;

	for (size_t i = 0; i < n; i++) {
		json_object *el = json_object_array_get_idx(arr, i);
		const char *text = json_object_to_json_string_ext(
			el, JSON_C_TO_STRING_PLAIN);
		drukbox_host *h = NULL;
		int rc;

		FUZZ_CHECK(text != NULL);
		rc = drukbox_host_parse(&h, text, strlen(text));
		if (rc == -DRUKBOX_ENOMEM)
			return;
		if (rc) {
			FUZZ_CHECK(h == NULL);
			continue;
		}
		FUZZ_CHECK(kept < list->count);
		fuzz_check_same_host(list->hosts[kept], h);
		kept++;
		drukbox_host_free(h);
	}
	FUZZ_CHECK(kept == list->count);
	FUZZ_CHECK(list->skipped == n - kept);
}

/* One line per skipped record, for the first SKIPPED_NOTED (drukbox.h):
 * the filesystem logs each line as one event. */
static void check_skipped_detail(const drukbox_host_list *list)
{
	size_t want = list->skipped < SKIPPED_NOTED ? list->skipped
						    : SKIPPED_NOTED;
	size_t lines = 0;

	if (!list->skipped) {
		FUZZ_CHECK(list->skipped_detail == NULL);
		return;
	}
	if (!list->skipped_detail)
		return; /* out of memory: the lines are dropped */
	for (const char *p = list->skipped_detail; *p; p++)
		lines += *p == '\n';
	FUZZ_CHECK(fuzz_ends_in_newline(list->skipped_detail));
	FUZZ_CHECK(lines == want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static drukbox_host_list sentinel; /* a failed parse must reset *out */
	drukbox_host_list *list = &sentinel;
	json_object *arr;
	int rc = drukbox_host_list_parse(&list, (const char *)data, size);

	if (rc) {
		fuzz_check_failure(rc, list);
		return 0;
	}
	FUZZ_CHECK(list != NULL);
	FUZZ_CHECK(drukbox_error_last()->code == DRUKBOX_OK);
	FUZZ_CHECK(list->count == 0 || list->hosts != NULL);
	check_skipped_detail(list);
	for (size_t i = 0; i < list->count; i++)
		fuzz_check_host(list->hosts[i]);
	arr = parse_array(data, size);
	FUZZ_CHECK(json_object_is_type(arr, json_type_array));
	check_elements(list, arr);
	if (list->count)
		fuzz_check_reparse(list->hosts[0]);
	json_object_put(arr);
	drukbox_host_list_free(list);
	return 0;
}
