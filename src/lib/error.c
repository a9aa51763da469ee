/*
 * error.c — error classes, the errno table and the per-thread last error.
 *
 * Everything known about a class lives in one static table indexed by the
 * class number: its stable name, the reference SDK class it folds into, the
 * errno the filesystem reports, and the fallback text used when the server
 * sent no usable detail.  Adding a class means adding one row.
 *
 * The last error is a _Thread_local struct in static storage: setting it
 * never allocates, so running out of memory can be reported like any other
 * failure, and threads never see each other's errors.
 */
#include "common.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

typedef struct err_class {
	const char *name;
	drukbox_sdk_class sdk;
	int errnum;
	const char *fallback;
} err_class;

static const err_class classes[] = {
	[DRUKBOX_OK] = { "ok", DRUKBOX_SDK_NONE, 0, "success" },
	[DRUKBOX_EAUTH] = { "auth", DRUKBOX_SDK_AUTH, EACCES,
			    "service token missing or rejected" },
	[DRUKBOX_ENOTFOUND] = { "not_found", DRUKBOX_SDK_NOT_FOUND, ENOENT,
				"not found" },
	[DRUKBOX_ECONFLICT] = { "conflict", DRUKBOX_SDK_CONFLICT, EBUSY,
				"the host's state does not allow this" },
	[DRUKBOX_EVALIDATION] = { "validation", DRUKBOX_SDK_VALIDATION, EINVAL,
				  "the service rejected the request as "
				  "invalid" },
	[DRUKBOX_EPROVISION] = { "provisioning_failed",
				 DRUKBOX_SDK_PROVISIONING_FAILED, EIO,
				 "provisioning failed" },
	[DRUKBOX_EUNAVAILABLE] = { "unavailable", DRUKBOX_SDK_UNAVAILABLE,
				   EAGAIN, "service unavailable" },
	[DRUKBOX_ETRANSPORT] = { "transport", DRUKBOX_SDK_UNAVAILABLE,
				 EHOSTUNREACH, "could not reach the service" },
	[DRUKBOX_ETIMEOUT] = { "timeout", DRUKBOX_SDK_UNAVAILABLE, ETIMEDOUT,
			       "the request timed out" },
	[DRUKBOX_EBADREQUEST] = { "bad_request", DRUKBOX_SDK_RESPONSE, EINVAL,
				  "the service rejected the request" },
	[DRUKBOX_ERESPONSE] = { "response", DRUKBOX_SDK_RESPONSE, EIO,
				"unexpected response from the service" },
	[DRUKBOX_EPROTOCOL] = { "protocol", DRUKBOX_SDK_RESPONSE, EPROTO,
				"malformed response from the service" },
	[DRUKBOX_ENOMEM] = { "nomem", DRUKBOX_SDK_CLIENT, ENOMEM,
			     "out of memory" },
	[DRUKBOX_EINVAL] = { "invalid_argument", DRUKBOX_SDK_CLIENT, EINVAL,
			     "invalid argument" },
};

#define CLASS_COUNT (sizeof(classes) / sizeof(classes[0]))

static _Thread_local drukbox_error last_error;

/* The table row for code, or NULL when code is not a class. */
static const err_class *class_of(int code)
{
	if (code < 0 || (size_t)code >= CLASS_COUNT)
		return NULL;
	return &classes[code];
}

/* Never NULL; the thread's own storage. */
const drukbox_error *drukbox_error_last(void)
{
	return &last_error;
}

/* Cannot fail. */
void drukbox_error_copy(drukbox_error *dst)
{
	if (dst)
		memcpy(dst, &last_error, sizeof(*dst));
}

/* Static string; "unknown" for a value that is not a class. */
const char *drukbox_err_name(drukbox_err code)
{
	const err_class *c = class_of((int)code);

	return c ? c->name : "unknown";
}

/* An unknown value folds into the SDK's catch-all response class. */
drukbox_sdk_class drukbox_err_sdk_class(drukbox_err code)
{
	const err_class *c = class_of((int)code);

	return c ? c->sdk : DRUKBOX_SDK_RESPONSE;
}

/* Accepts a class or its negation; EIO for anything unknown. */
int drukbox_err_errno(int code)
{
	/* -INT_MIN overflows: it is no class anyway. */
	const err_class *c = code == INT_MIN ? NULL :
					      class_of(code < 0 ? -code : code);

	return c ? c->errnum : EIO;
}

/* Static text; "unknown error" for a value that is not a class. */
const char *drukbox_error_fallback(drukbox_err code)
{
	const err_class *c = class_of((int)code);

	return c ? c->fallback : "unknown error";
}

/* Cannot fail. */
void drukbox_error_clear(void)
{
	last_error.code = DRUKBOX_OK;
	last_error.http_status = 0;
	last_error.error_code[0] = '\0';
	last_error.detail[0] = '\0';
}

/* Returns -code; truncates the detail; never allocates. */
int drukbox_error_set(drukbox_err code, int http_status, const char *fmt, ...)
{
	va_list ap;

	last_error.code = code;
	last_error.http_status = http_status;
	last_error.error_code[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(last_error.detail, sizeof(last_error.detail), fmt, ap);
	va_end(ap);
	return -(int)code;
}

/* Returns -code; never allocates. */
int drukbox_error_set_fallback(drukbox_err code, int http_status)
{
	return drukbox_error_set(code, http_status, "%s",
				 drukbox_error_fallback(code));
}

/* Returns -DRUKBOX_ENOMEM; never allocates, so it works when nothing
 * else can. */
int drukbox_error_nomem(void)
{
	return drukbox_error_set_fallback(DRUKBOX_ENOMEM, 0);
}

/* Truncates to the field; NULL clears it.  Cannot fail. */
void drukbox_error_set_server_code(const char *error_code)
{
	snprintf(last_error.error_code, sizeof(last_error.error_code), "%s",
		 error_code ? error_code : "");
}

/* Cannot fail. */
void drukbox_error_set_http_status(int http_status)
{
	last_error.http_status = http_status;
}
