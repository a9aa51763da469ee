/*
 * The mount's event log (.drukfs/log): a bounded ring of timestamped lines
 * for mutations and failures, with the server's detail text — what an
 * errno cannot say.  Thread-safe.  Lines never hold the token or a key:
 * callers pass server detail text and names only.
 */
#ifndef DRUKFS_LOG_H
#define DRUKFS_LOG_H

#include <stddef.h>
#include <time.h>

typedef struct drukfs_log drukfs_log;

/* A ring that keeps the newest `max_lines` lines (each cut to 1 KiB).
 * `echo` non-zero also writes each line to stderr (foreground mode).
 * NULL on ENOMEM. */
drukfs_log *drukfs_log_new(size_t max_lines, int echo);
void drukfs_log_free(drukfs_log *log);

/* Appends "2026-11-30T22:57:44Z " + the formatted text (control characters
 * other than tab replaced by '?', so one event stays one line).  `now` is
 * wall-clock seconds.  Cannot fail: on ENOMEM the line is dropped and
 * counted. */
void drukfs_log_add(drukfs_log *log, time_t now, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The whole log as one buffer, oldest line first, each ending in '\n'.
 * 0 or -ENOMEM. */
int drukfs_log_render(drukfs_log *log, char **out, size_t *len);

#endif
