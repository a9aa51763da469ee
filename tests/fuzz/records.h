/*
 * Checks on what libdrukbox's parsers hand back, shared by the JSON
 * targets.  Each aborts (fuzz_fail) when the invariant does not hold.
 */
#ifndef DRUKFS_FUZZ_RECORDS_H
#define DRUKFS_FUZZ_RECORDS_H

#include <drukbox/drukbox.h>

/* Whether `s` is non-empty and ends in '\n'. */
int fuzz_ends_in_newline(const char *s);

/* A parser's failure: *out left NULL, rc one of the two documented
 * errors, and the thread's last error saying the same, with a detail. */
void fuzz_check_failure(int rc, const void *out);

/* host.json of h (drukbox_host_json, which must succeed or fail only
 * for ENOMEM): a malloc'd string, or NULL when out of memory. */
char *fuzz_host_json(const drukbox_host *h);

/* A parsed record: a non-empty id, a port in range (22 when not sent),
 * disk_gb only when present, `extra` an object, and host.json an object
 * ending in '\n'. */
void fuzz_check_host(const drukbox_host *h);

/* Every field of a and b equal, presence, unknown fields and host.json
 * included, and drukbox_host_equal() agreeing. */
void fuzz_check_same_host(const drukbox_host *a, const drukbox_host *b);

/* Parses host.json of h again: it must give the same record back, but
 * without the private key, and the same host.json. */
void fuzz_check_reparse(const drukbox_host *h);

#endif
