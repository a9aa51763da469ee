/*
 * buf.h — a growable byte buffer with a hard size cap.
 *
 * Used for response bodies and for the request bodies built by hand.  The
 * contents are always NUL-terminated (the terminator is not counted in
 * len), so a body can be handed to a parser as a string.  A failed append
 * frees the buffer: callers never see a half-built body, and one cleanup
 * path (drukbox_buf_free, which is idempotent) covers every exit.
 */
#ifndef DRUKBOX_LIB_BUF_H
#define DRUKBOX_LIB_BUF_H

#include <stddef.h>

typedef struct drukbox_buf {
	char *data;       /* NULL until the first append */
	size_t len;       /* bytes used, without the terminator */
	size_t cap;       /* bytes allocated */
	size_t max;       /* largest len allowed */
	const char *what; /* names the contents in the "too large" error */
} drukbox_buf;

/* Starts an empty buffer that may grow to max bytes.  `what` (a static
 * string such as "response") names it in errors.  Cannot fail. */
void drukbox_buf_init(drukbox_buf *buf, size_t max, const char *what);

/* Appends len bytes.  Returns 0; or frees the buffer and returns
 * -DRUKBOX_EPROTOCOL ("<what> too large") past the cap, or
 * -DRUKBOX_ENOMEM. */
int drukbox_buf_append(drukbox_buf *buf, const void *data, size_t len);

/* Makes room for `more` bytes after the contents (and the terminator), so
 * that appending them will not reallocate; a caller may also write them
 * at data + len itself and then add them to len.  Same contract as
 * drukbox_buf_append (past the cap or on ENOMEM the buffer is freed). */
int drukbox_buf_reserve(drukbox_buf *buf, size_t more);

/* Appends a NUL-terminated string; same contract as drukbox_buf_append. */
int drukbox_buf_puts(drukbox_buf *buf, const char *s);

/* The contents as a string ("" when empty, never NULL).  Owned by buf. */
const char *drukbox_buf_cstr(const drukbox_buf *buf);

/* Hands the contents to the caller (free with free()) and leaves buf
 * empty.  Returns NULL and sets -DRUKBOX_ENOMEM when an empty buffer's
 * string cannot be allocated. */
char *drukbox_buf_detach(drukbox_buf *buf);

/* Releases the contents; buf stays usable as an empty buffer.  Safe to
 * call twice. */
void drukbox_buf_free(drukbox_buf *buf);

#endif
