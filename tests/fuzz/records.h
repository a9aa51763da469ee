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

/* A parsed record: a non-empty id, a port in range, disk_gb only when
 * present, and host.json an object ending in '\n'. */
void fuzz_check_host(const drukbox_host *h);

/* Every field of a and b equal, host.json included. */
void fuzz_check_same_host(const drukbox_host *a, const drukbox_host *b);

/* Parses h->json again: it must give the same record back. */
void fuzz_check_reparse(const drukbox_host *h);

#endif
