/*
 * oracle.h — the json-c host parser libdrukbox used before its streaming
 * reader, kept as a test oracle.
 *
 * The differential tests (tests/unit/test_lib_diff.c, fuzz_list_diff)
 * parse the same text with both and require the same records, the same
 * skipped count and the same reasons, except where the library documents
 * that it is stricter (drukbox.h, src/lib/hostparse.c); diffcheck.h
 * knows those cases.  The oracle builds json-c's whole document, as the
 * library did, and its host.json with the rules host.json follows now
 * (the contract's key order, then unknown keys as received, the private
 * key as null), printed by json-c from that document: independently of
 * the library's renderer, which works from the record.
 */
#ifndef DRUKBOX_TESTS_ORACLE_H
#define DRUKBOX_TESTS_ORACLE_H

#include <drukbox/drukbox.h>

typedef struct oracle_host {
	drukbox_host host;  /* every string its own malloc() */
	char *json;         /* what host.json must show, ending in '\n' */
} oracle_host;

typedef struct oracle_list {
	size_t count;
	oracle_host **hosts;
	size_t skipped;
	char *skipped_detail; /* as drukbox_host_list's */
} oracle_list;

/* As drukbox_host_parse / drukbox_host_list_parse: 0, -DRUKBOX_EPROTOCOL
 * or -DRUKBOX_ENOMEM, with the reason in oracle_error(). */
int oracle_host_parse(oracle_host **out, const char *json, size_t len);
int oracle_list_parse(oracle_list **out, const char *json, size_t len);

/* Accept NULL. */
void oracle_host_free(oracle_host *host);
void oracle_list_free(oracle_list *list);

/* The reason of the calling thread's last oracle failure. */
const char *oracle_error(void);

#endif
