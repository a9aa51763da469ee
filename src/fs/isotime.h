/*
 * ISO 8601 timestamps as the service writes them
 * ("2026-11-30T22:57:44.123456+00:00", "...Z").  Pure.
 */
#ifndef DRUKFS_ISOTIME_H
#define DRUKFS_ISOTIME_H

#include <stdint.h>

/* Seconds since the epoch of `s` (fractions dropped, offset applied).
 * 0, or -EINVAL for anything that is not such a timestamp with an
 * offset. */
int drukfs_isotime_parse(const char *s, int64_t *out);

#endif
