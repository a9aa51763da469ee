/*
 * error.h — private setters for the thread's last error.
 *
 * The failing function sets the error where it fails and returns
 * -code; callers pass that return value up unchanged.  Public entry points
 * call drukbox_error_clear() first so that a successful call leaves
 * DRUKBOX_OK behind.
 */
#ifndef DRUKBOX_LIB_ERROR_H
#define DRUKBOX_LIB_ERROR_H

#include "common.h"

/* Resets the calling thread's last error to DRUKBOX_OK.  Cannot fail. */
void drukbox_error_clear(void);

/* Sets the thread's last error: class, HTTP status (0 without a response)
 * and a printf-style detail, truncated to DRUKBOX_DETAIL_MAX - 1 bytes.
 * The error_code field is cleared.  Never allocates.  Returns -code so that callers can
 * write `return drukbox_error_set(...)`.  The arguments must not point into
 * the last error itself. */
int drukbox_error_set(drukbox_err code, int http_status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like drukbox_error_set() with the class's fixed fallback text as the
 * detail.  Returns -code; never allocates. */
int drukbox_error_set_fallback(drukbox_err code, int http_status);

/* Shorthand for an allocation failure: -DRUKBOX_ENOMEM.  Never allocates. */
int drukbox_error_nomem(void);

/* Copies the server's "error_code" into the last error (truncated).
 * Cannot fail. */
void drukbox_error_set_server_code(const char *error_code);

/* Records the HTTP status on the current last error (used when a 2xx
 * response turns out to be malformed).  Cannot fail. */
void drukbox_error_set_http_status(int http_status);

/* The fixed text used when the server gave no usable "detail".  Never
 * NULL; static storage. */
const char *drukbox_error_fallback(drukbox_err code);

#endif
