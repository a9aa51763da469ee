/*
 * buf.c — growable, capped byte buffer (see buf.h).
 *
 * Growth doubles the allocation so appends are amortised O(1), and a
 * reservation of a known size (a response's Content-Length) gets exactly
 * that; the cap is checked before any arithmetic that could overflow, so a
 * hostile length can only ever produce the "too large" error.
 */
#include "common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"

/* Cannot fail; allocates nothing until the first append. */
void drukbox_buf_init(drukbox_buf *buf, size_t max, const char *what)
{
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
	buf->max = max;
	buf->what = what ? what : "buffer";
}

/* Idempotent; leaves an empty, reusable buffer. */
void drukbox_buf_free(drukbox_buf *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
}

/* Makes room for `need` bytes plus the terminator: at least double the
 * old size, so that appends are amortised O(1), but exactly `need` when
 * that is more (a reservation of a known size wastes nothing).  0, or
 * -ENOMEM with the buffer untouched (the caller frees it). */
static int buf_grow(drukbox_buf *buf, size_t need)
{
	size_t cap = buf->cap ? buf->cap : 128;
	char *data;

	if (need < buf->cap)
		return 0;
	cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
	if (cap < need + 1)
		cap = need + 1;
	data = realloc(buf->data, cap);
	if (!data)
		return drukbox_error_nomem();
	buf->data = data;
	buf->cap = cap;
	return 0;
}

/* 0; or frees the buffer and returns -DRUKBOX_EPROTOCOL past the cap,
 * -DRUKBOX_ENOMEM when growing fails. */
int drukbox_buf_reserve(drukbox_buf *buf, size_t more)
{
	int rc;

	if (more > buf->max || buf->len > buf->max - more) {
		rc = drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
				       "%s too large (more than %zu bytes)",
				       buf->what, buf->max);
		goto out;
	}
	rc = buf_grow(buf, buf->len + more);
out:
	if (rc)
		drukbox_buf_free(buf);
	return rc;
}

/* As drukbox_buf_reserve. */
int drukbox_buf_append(drukbox_buf *buf, const void *data, size_t len)
{
	int rc = drukbox_buf_reserve(buf, len);

	if (rc)
		return rc;
	if (len)
		memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
	return 0;
}

/* As drukbox_buf_append. */
int drukbox_buf_puts(drukbox_buf *buf, const char *s)
{
	return drukbox_buf_append(buf, s, strlen(s));
}

/* Never NULL; owned by buf. */
const char *drukbox_buf_cstr(const drukbox_buf *buf)
{
	return buf->data ? buf->data : "";
}

/* The caller frees the result; NULL only when "" cannot be allocated. */
char *drukbox_buf_detach(drukbox_buf *buf)
{
	char *s = buf->data;

	if (!s) {
		s = calloc(1, 1);
		if (!s)
			drukbox_error_nomem();
	}
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
	return s;
}
