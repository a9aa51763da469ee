/*
 * diffcheck.h — libdrukbox's host parsers against the json-c oracle.
 *
 * For one input text, the rules the differential tests hold the two to:
 *  - a text that is not RFC 8259 JSON (json_rfc.h) is refused by the
 *    library, whatever json-c made of it: that is where the library is
 *    documented to be stricter;
 *  - otherwise both accept or both refuse it, and when both accept they
 *    give the same records (every field, and host.json byte for byte),
 *    the same skipped count and the same skipped_detail; for a single
 *    record refused by both, the same reason when it is a record's
 *    fault rather than the text's;
 *  - the one documented difference on valid JSON: a disk_gb beyond
 *    int64_t, which json-c clamped, makes the library skip (or refuse)
 *    the record.  It is allowed only where the oracle's disk_gb is
 *    INT64_MIN or INT64_MAX (and then skipped_detail is not compared),
 *    or where the oracle went on to find the port wrong (the library
 *    names disk_gb, which it checks first).
 */
#ifndef DRUKBOX_TESTS_DIFFCHECK_H
#define DRUKBOX_TESTS_DIFFCHECK_H

#include <stddef.h>

/* NULL when drukbox_host_list_parse and the oracle agree on the text by
 * the rules above, else what differs (static storage, this thread's). */
const char *diff_list(const char *text, size_t len);

/* The same for drukbox_host_parse. */
const char *diff_host(const char *text, size_t len);

#endif
