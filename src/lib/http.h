/*
 * http.h — the private HTTP layer (the only module that includes libcurl).
 *
 * A drukbox_http holds the connection settings and a pool of curl easy
 * handles.  drukbox_http_send() performs one request and either returns 0
 * with a 2xx response, or classifies the failure into the thread's last
 * error following the contract's table, so callers above it deal only in
 * drukbox_err classes and parsed bodies.
 */
#ifndef DRUKBOX_LIB_HTTP_H
#define DRUKBOX_LIB_HTTP_H

#include "common.h"

#include <stdbool.h>

#include "buf.h"

typedef struct drukbox_http drukbox_http;

typedef struct drukbox_http_config {
	const char *base_url;    /* normalised: no trailing '/' */
	const char *token;       /* NULL: no Authorization header */
	long timeout_ms;         /* > 0 */
	long connect_timeout_ms; /* > 0 */
	const char *cafile;      /* NULL: the system store */
	bool insecure;
	drukbox_debug_fn debug;  /* NULL: no debug lines */
	void *debug_ctx;
} drukbox_http_config;

typedef struct drukbox_http_request {
	const char *method;          /* "GET", "POST" or "DELETE" */
	const char *const *segments; /* path segments, percent-escaped here */
	size_t segment_count;
	const char *body;            /* JSON text, or NULL for no body */
	const char *const *headers;  /* extra "Name: value" lines, or NULL */
	size_t header_count;
	bool no_auth;                /* leave out Authorization (healthz) */
	/* When set, a 2xx body goes to body_fn as it arrives instead of into
	 * resp->body (the body of any other status is still kept, for its
	 * detail).  body_fn returns 0, or a negative DRUKBOX error that
	 * fails the transfer and becomes drukbox_http_send's result. */
	int (*body_fn)(void *ctx, const char *data, size_t len);
	void *body_ctx;
} drukbox_http_request;

typedef struct drukbox_http_response {
	long status;       /* HTTP status, 0 when none was received */
	drukbox_buf body;  /* capped at DRUKBOX_RESPONSE_MAX */
} drukbox_http_response;

/* Copies everything it keeps from cfg.  0, -DRUKBOX_ENOMEM. */
int drukbox_http_new(drukbox_http **out, const drukbox_http_config *cfg);

/* Frees the pool; no request may be in flight.  Accepts NULL. */
void drukbox_http_free(drukbox_http *http);

/* The base URL it was made with; owned by http. */
const char *drukbox_http_base_url(const drukbox_http *http);

/* Sends req and fills resp (which the caller must free with
 * drukbox_http_response_free whatever the result).  Returns 0 for a 2xx
 * status; otherwise the class of the failure (-DRUKBOX_ETIMEOUT,
 * -DRUKBOX_ETRANSPORT, a status class with the server's detail, or
 * -DRUKBOX_EPROTOCOL for a response over the size cap, -DRUKBOX_ENOMEM).
 * Safe to call from several threads at once. */
int drukbox_http_send(drukbox_http *http, const drukbox_http_request *req,
		      drukbox_http_response *resp);

/* Releases the body.  Accepts a response that was never sent. */
void drukbox_http_response_free(drukbox_http_response *resp);

#endif
