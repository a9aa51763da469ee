/*
 * fuzz_list: the input is a GET /hosts body.
 *
 * drukbox_host_list_parse() either fails cleanly or returns every record
 * that parses, in order, and counts the rest as skipped.  Checked against
 * the single-record parser: each element of the array, its exact bytes
 * cut out by an independent JSON recogniser (tests/support/json_rfc.c),
 * parses with drukbox_host_parse() exactly when the list kept it, and to
 * the same record.  A list that parsed leaves no error behind, and was
 * RFC 8259 JSON.  (fuzz_list_diff compares with the old json-c parser.)
 * And drukbox_list_reader fed the input in pieces gives the same result
 * as the whole parse: piece sizes from the input's own bytes (so the
 * fuzzer steers the cuts), and one byte at a time for short inputs.
 */
#include "fuzz.h"
#include "records.h"

#include <stdlib.h>
#include <string.h>

#include "json_rfc.h"
#include "pieces.h"

/* Skipped records whose reason the list keeps. */
#define SKIPPED_NOTED 8

typedef struct elements {
	const drukbox_host_list *list;
	size_t seen, kept;
	bool nomem;
} elements;

/* One element alone: kept by the list exactly when it parses alone. */
static void check_element(void *ctx, const char *text, size_t len)
{
	elements *e = ctx;
	drukbox_host *h = NULL;
	int rc;

	e->seen++;
	if (e->nomem)
		return;
	rc = drukbox_host_parse(&h, text, len);
	if (rc == -DRUKBOX_ENOMEM) {
		e->nomem = true;
		return;
	}
	if (rc) {
		FUZZ_CHECK(h == NULL);
		return;
	}
	FUZZ_CHECK(e->kept < e->list->count);
	fuzz_check_same_host(e->list->hosts[e->kept], h);
	e->kept++;
	drukbox_host_free(h);
}

static void check_elements(const drukbox_host_list *list,
			   const uint8_t *data, size_t size)
{
	elements e = { list, 0, 0, false };

	FUZZ_CHECK(rfc_json_elements((const char *)data, size, check_element,
				     &e));
	if (e.nomem)
		return;
	FUZZ_CHECK(e.kept == list->count);
	FUZZ_CHECK(list->skipped == e.seen - e.kept);
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

/* The reader in pieces agrees with the whole parse (pieces.h). */
static void check_pieces(const uint8_t *data, size_t size)
{
	size_t sizes[4];
	const char *why = NULL;

	for (size_t i = 0; i < 4; i++)
		sizes[i] = 1 + (size > i ? data[size - 1 - i] % 24 : i);
	FUZZ_CHECK(pieces_check((const char *)data, size, sizes, 4, &why) != 0);
	if (size <= 2048)
		FUZZ_CHECK(pieces_check((const char *)data, size, NULL, 0,
					&why) != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static drukbox_host_list sentinel; /* a failed parse must reset *out */
	drukbox_host_list *list = &sentinel;
	int rc;

	check_pieces(data, size);
	rc = drukbox_host_list_parse(&list, (const char *)data, size);
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
	check_elements(list, data, size);
	if (list->count)
		fuzz_check_reparse(list->hosts[0]);
	drukbox_host_list_free(list);
	return 0;
}
