/*
 * The event log behind .drukfs/log: a fixed ring of line pointers under
 * one mutex.
 *
 * A line is formatted and cleaned on the caller's stack (at most
 * LOG_LINE_MAX bytes, cut on a UTF-8 character boundary) and copied to the
 * heap before the lock is taken, so the critical section is a pointer swap
 * and a reader rendering the log never waits on vsnprintf.  When the ring
 * is full the oldest line is freed, after the lock is released.
 *
 * Adding must not fail: the log is what people read when something went
 * wrong, and ENOMEM is something going wrong.  A line that cannot be
 * copied is dropped and counted, and the render says how many were lost.
 *
 * Cleaning replaces ASCII control characters other than tab, DEL, and the
 * UTF-8 encoded C1 controls (U+0080-U+009F, which some terminals obey like
 * ESC) with '?': server detail text can hold anything, and one event must
 * stay one line that is safe to cat.
 */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tests build this file with -DDRUKFS_LOG_ALLOC=<a failing allocator> to
 * reach the drop path; everyone else gets malloc. */
#ifndef DRUKFS_LOG_ALLOC
#define DRUKFS_LOG_ALLOC malloc
#endif
void *DRUKFS_LOG_ALLOC(size_t size);

/* Longest line kept, timestamp included, newline excluded. */
#define LOG_LINE_MAX 1024
/* Room for the "2026-11-30T22:57:44Z " stamp, or "@<seconds> ". */
#define LOG_STAMP_MAX 32

struct drukfs_log {
	pthread_mutex_t lock;
	char **lines;  /* max slots; the oldest line is lines[head] */
	size_t max;
	size_t head;
	size_t count;
	unsigned long long dropped; /* lines lost to ENOMEM */
	int echo;
};

/* A log keeping the newest `max_lines` lines (0 is taken as 1).  NULL on
 * ENOMEM; free with drukfs_log_free(). */
drukfs_log *drukfs_log_new(size_t max_lines, int echo)
{
	drukfs_log *log = calloc(1, sizeof(*log));

	if (!log)
		return NULL;
	log->max = max_lines ? max_lines : 1;
	log->echo = echo;
	log->lines = calloc(log->max, sizeof(*log->lines));
	if (!log->lines || pthread_mutex_init(&log->lock, NULL) != 0) {
		free(log->lines);
		free(log);
		return NULL;
	}
	return log;
}

/* Frees the log and its lines.  NULL is a no-op. */
void drukfs_log_free(drukfs_log *log)
{
	if (!log)
		return;
	for (size_t i = 0; i < log->count; i++)
		free(log->lines[(log->head + i) % log->max]);
	free(log->lines);
	pthread_mutex_destroy(&log->lock);
	free(log);
}

/* Writes the "YYYY-MM-DDTHH:MM:SSZ " prefix for `now` into `buf` (at least
 * LOG_STAMP_MAX bytes) and returns its length.  A time gmtime_r cannot
 * represent is written as "@<seconds> " instead.  Cannot fail. */
static size_t log_stamp(char *buf, time_t now)
{
	struct tm tm;
	size_t n = 0;
	int len;

	if (gmtime_r(&now, &tm))
		n = strftime(buf, LOG_STAMP_MAX, "%Y-%m-%dT%H:%M:%SZ ", &tm);
	if (n > 0)
		return n;
	len = snprintf(buf, LOG_STAMP_MAX, "@%lld ", (long long)now);
	return len > 0 && len < LOG_STAMP_MAX ? (size_t)len : 0;
}

/* Length of `s[0..len)` after dropping a multibyte character cut short at
 * its end. */
static size_t utf8_trim_partial(const char *s, size_t len)
{
	size_t i = len, need;
	unsigned char lead;

	while (i > 0 && len - i < 4 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0)
		return len;
	lead = (unsigned char)s[i - 1];
	if (lead < 0xc0)
		return len;
	need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
	return len - (i - 1) < need ? i - 1 : len;
}

/* Replaces, in place, the bytes that could break a line or drive a
 * terminal (see the top of the file) with '?'. */
static void log_clean(char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			s[i] = '?';
		} else if (c == 0xc2 && i + 1 < len &&
			   (unsigned char)s[i + 1] >= 0x80 &&
			   (unsigned char)s[i + 1] <= 0x9f) {
			s[i] = s[i + 1] = '?';
			i++;
		}
	}
}

/* Formats the message into `line` (LOG_LINE_MAX + 1 bytes) after the
 * `stamp` bytes already there, and returns the whole line's length.
 * Cannot fail: an encoding error leaves "?" as the message. */
__attribute__((format(printf, 3, 0)))
static size_t log_format(char *line, size_t stamp, const char *fmt,
			 va_list ap)
{
	size_t room = LOG_LINE_MAX + 1 - stamp;
	char *msg = line + stamp;
	int n = vsnprintf(msg, room, fmt, ap);
	size_t len;

	if (n < 0) {
		memcpy(msg, "?", 2);
		return stamp + 1;
	}
	len = (size_t)n < room ? (size_t)n : room - 1;
	if ((size_t)n >= room)
		len = utf8_trim_partial(msg, len);
	msg[len] = '\0';
	log_clean(msg, len);
	return stamp + len;
}

/* Puts `copy` in the ring; returns the line it pushed out, or NULL.
 * Called with the lock held. */
static char *log_push(drukfs_log *log, char *copy)
{
	char *evicted = NULL;

	if (log->count == log->max) {
		evicted = log->lines[log->head];
		log->lines[log->head] = copy;
		log->head = (log->head + 1) % log->max;
	} else {
		log->lines[(log->head + log->count) % log->max] = copy;
		log->count++;
	}
	return evicted;
}

/* Appends one line; see log.h.  A NULL log or format is a no-op.  Cannot
 * fail: on ENOMEM the line is counted in `dropped`. */
void drukfs_log_add(drukfs_log *log, time_t now, const char *fmt, ...)
{
	char line[LOG_LINE_MAX + 1];
	char *copy, *evicted;
	va_list ap;
	size_t len;

	if (!log || !fmt)
		return;
	len = log_stamp(line, now);
	va_start(ap, fmt);
	len = log_format(line, len, fmt, ap);
	va_end(ap);
	if (log->echo)
		fprintf(stderr, "%s\n", line);
	copy = DRUKFS_LOG_ALLOC(len + 1);
	pthread_mutex_lock(&log->lock);
	if (!copy) {
		log->dropped++;
		pthread_mutex_unlock(&log->lock);
		return;
	}
	memcpy(copy, line, len + 1);
	evicted = log_push(log, copy);
	pthread_mutex_unlock(&log->lock);
	free(evicted);
}

/* The "(N lines dropped...)" notice into `buf`, or "" when none were.
 * Returns its length. */
static size_t log_drop_notice(const drukfs_log *log, char *buf, size_t size)
{
	int n;

	if (!log->dropped) {
		buf[0] = '\0';
		return 0;
	}
	n = snprintf(buf, size, "(%llu line%s dropped: out of memory)\n",
		     log->dropped, log->dropped == 1 ? "" : "s");
	return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

/* Copies the notice and the lines, oldest first, into one new buffer.
 * Called with the lock held.  0 or -ENOMEM. */
static int log_render_locked(drukfs_log *log, char **out, size_t *len)
{
	char notice[96];
	size_t total = log_drop_notice(log, notice, sizeof(notice)), o;
	char *buf;

	for (size_t i = 0; i < log->count; i++)
		total += strlen(log->lines[(log->head + i) % log->max]) + 1;
	buf = malloc(total + 1);
	if (!buf)
		return -ENOMEM;
	o = strlen(notice);
	memcpy(buf, notice, o);
	for (size_t i = 0; i < log->count; i++) {
		const char *l = log->lines[(log->head + i) % log->max];
		size_t n = strlen(l);

		memcpy(buf + o, l, n);
		buf[o + n] = '\n';
		o += n + 1;
	}
	buf[o] = '\0';
	*out = buf;
	*len = o;
	return 0;
}

/* The whole log; see log.h.  0 with *out (free()) and *len, -EINVAL for a
 * NULL log, or -ENOMEM; *out is NULL on failure. */
int drukfs_log_render(drukfs_log *log, char **out, size_t *len)
{
	int rc;

	*out = NULL;
	*len = 0;
	if (!log)
		return -EINVAL;
	pthread_mutex_lock(&log->lock);
	rc = log_render_locked(log, out, len);
	pthread_mutex_unlock(&log->lock);
	return rc;
}
