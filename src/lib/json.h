/*
 * json.h — private JSON helpers (the only module that includes json-c).
 *
 * The public parsers and drukbox_create_body() live in json.c as well; what
 * is declared here is what the HTTP layer and the client need beyond them:
 * reading an error body and building the smaller request bodies.
 */
#ifndef DRUKBOX_LIB_JSON_H
#define DRUKBOX_LIB_JSON_H

#include "common.h"

#include <stdbool.h>
#include <stddef.h>

/* Reads an error body.  Copies its "detail" into detail (a string as is; a
 * 422-style list as its "msg" parts joined with "; "), truncated, and its
 * "error_code" string into code ("" when absent).  Returns true when a
 * usable detail was found; false (detail set to "") for a body that is not
 * JSON, not an object or has no usable detail.  Never sets the last error
 * and never fails otherwise. */
bool drukbox_json_error_info(const char *body, size_t len, char *detail,
			     size_t detail_size, char *code, size_t code_size);

/* 0 when body is a JSON object and, if field is not NULL, its `field` is
 * the string `expect`.  Otherwise -DRUKBOX_EPROTOCOL (or -DRUKBOX_ENOMEM)
 * with a detail that names `what`. */
int drukbox_json_expect_object(const char *body, size_t len, const char *what,
			       const char *field, const char *expect);

/* The body of POST /hosts/{id}/renew: {"expires_at": "<ts>"}.  0, or
 * -DRUKBOX_ENOMEM.  Caller frees *out with free(). */
int drukbox_json_renew_body(char **out, const char *expires_at);

/* The body of POST /http-proxies:
 * {"name": .., "target": .., "headers": {..}}.  -DRUKBOX_EINVAL for a NULL
 * string or no headers, -DRUKBOX_ENOMEM.  Caller frees *out. */
int drukbox_json_proxy_body(char **out, const char *name, const char *target,
			    const drukbox_env_var *headers, size_t count);

#endif
