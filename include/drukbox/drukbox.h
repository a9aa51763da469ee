/*
 * libdrukbox — a C client for the Drukbox host API.
 *
 * The wire contract is docs/drukbox-api.md (mirrored from the service).  This
 * header is the whole public surface: drukfs and the tests link against it
 * and never include libcurl or json-c themselves.
 *
 * Conventions (libgit2 style):
 *  - Every fallible call returns 0 on success or a negative drukbox_err
 *    (-DRUKBOX_Exxx).  On failure the calling thread's last error
 *    (drukbox_error_last()) holds the class, the HTTP status and the
 *    server's detail text.  Error state is per thread.
 *  - Results come back through an out-parameter named `out`, owned by the
 *    caller and released with the type's own _free().  On failure *out is
 *    left NULL.
 *  - A client is safe to share between threads; each call borrows a pooled
 *    connection.  The only global state is curl_global_init(), done once
 *    by drukbox_global_init().
 *  - The service token never appears in an error message, a log line or
 *    debug output.
 */
#ifndef DRUKBOX_DRUKBOX_H
#define DRUKBOX_DRUKBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DRUKBOX_VERSION "0.1.0"

/* Error classes.  The numbers never change; new classes go last. */
typedef enum drukbox_err {
	DRUKBOX_OK = 0,
	DRUKBOX_EAUTH = 1,        /* 401, 403: token missing or rejected */
	DRUKBOX_ENOTFOUND = 2,    /* 404 */
	DRUKBOX_ECONFLICT = 3,    /* 409: the host's state forbids it */
	DRUKBOX_EVALIDATION = 4,  /* 422: fix the input, retrying won't help */
	DRUKBOX_EPROVISION = 5,   /* 502: provisioning failed, row left in error */
	DRUKBOX_EUNAVAILABLE = 6, /* 503: service or teardown unavailable */
	DRUKBOX_ETRANSPORT = 7,   /* no usable response: DNS, refused, TLS,
				     connection dropped or cut short */
	DRUKBOX_ETIMEOUT = 8,     /* the request timeout ran out */
	DRUKBOX_EBADREQUEST = 9,  /* 400 (e.g. unknown provider) */
	DRUKBOX_ERESPONSE = 10,   /* any other status >= 400 */
	DRUKBOX_EPROTOCOL = 11,   /* malformed response: not JSON where JSON
				     was due, wrong types, missing fields */
	DRUKBOX_ENOMEM = 12,      /* out of memory */
	DRUKBOX_EINVAL = 13,      /* the caller's argument is invalid; nothing
				     was sent */
} drukbox_err;

/* The classes the reference SDK exposes; several drukbox_err values fold
 * into one (transport and timeout are "unavailable" there, 400 / other /
 * malformed are "response"). */
typedef enum drukbox_sdk_class {
	DRUKBOX_SDK_NONE = 0,
	DRUKBOX_SDK_AUTH,
	DRUKBOX_SDK_NOT_FOUND,
	DRUKBOX_SDK_CONFLICT,
	DRUKBOX_SDK_VALIDATION,
	DRUKBOX_SDK_PROVISIONING_FAILED,
	DRUKBOX_SDK_UNAVAILABLE,
	DRUKBOX_SDK_RESPONSE,
	DRUKBOX_SDK_CLIENT, /* ENOMEM, EINVAL: never reached the service */
} drukbox_sdk_class;

#define DRUKBOX_DETAIL_MAX 1024

typedef struct drukbox_error {
	drukbox_err code;
	int http_status;                 /* 0 when there was no response */
	char error_code[64];             /* the server's "error_code", or "" */
	char detail[DRUKBOX_DETAIL_MAX]; /* server's detail (422 lists joined
					    with "; "), else our fallback
					    text; truncated, NUL-terminated */
} drukbox_error;

/* The calling thread's last error.  Never NULL; code is DRUKBOX_OK when the
 * thread's last call succeeded or it made none.  Valid until the thread's
 * next libdrukbox call. */
const drukbox_error *drukbox_error_last(void);

/* Copy of the last error into caller storage (cannot fail). */
void drukbox_error_copy(drukbox_error *dst);

/* Short stable name of a class: "auth", "not_found", "timeout", ... */
const char *drukbox_err_name(drukbox_err code);

drukbox_sdk_class drukbox_err_sdk_class(drukbox_err code);

/* The one errno table (see README "Errors"):
 *   auth EACCES, not found ENOENT, conflict EBUSY, validation EINVAL,
 *   400 EINVAL, provisioning failed EIO, 503 EAGAIN, timeout ETIMEDOUT,
 *   transport EHOSTUNREACH, other >= 400 EIO, malformed EPROTO,
 *   ENOMEM ENOMEM, invalid argument EINVAL.
 * Accepts a drukbox_err or its negation; returns a positive errno; 0 for
 * DRUKBOX_OK; EIO for a value it does not know. */
int drukbox_err_errno(int code);

/* ---- global ------------------------------------------------------------ */

/* curl_global_init(); call once before starting threads.  Returns 0 or
 * -DRUKBOX_ENOMEM. */
int drukbox_global_init(void);
void drukbox_global_cleanup(void);

/* ---- client ------------------------------------------------------------- */

typedef struct drukbox_client drukbox_client;

typedef void (*drukbox_debug_fn)(void *ctx, const char *line);

typedef struct drukbox_options {
	const char *url;      /* base URL; a path prefix is kept, one trailing
				 '/' is stripped.  Required. */
	const char *token;    /* bearer token; may be NULL (only healthz works) */
	double timeout;       /* seconds for a whole request; <= 0 means 300 */
	double connect_timeout; /* seconds to connect; <= 0 means min(timeout,
				   30) */
	const char *cafile;   /* PEM bundle to verify the server with, or NULL
				 for the system store */
	bool insecure;        /* skip TLS verification (never the default) */
	drukbox_debug_fn debug; /* one line per request and response, with
				   method, path, status and time; never the
				   token or a private key.  May be NULL. */
	void *debug_ctx;
} drukbox_options;

/* Makes a client.  Copies everything it keeps from opts.  Returns 0, or
 * -DRUKBOX_EINVAL for a missing or malformed URL or a token with characters
 * that cannot go in a header, or -DRUKBOX_ENOMEM. */
int drukbox_client_new(drukbox_client **out, const drukbox_options *opts);

/* Like drukbox_client_new() with url, token and timeout taken from
 * <prefix>SERVICE_URL, <prefix>SERVICE_TOKEN and <prefix>SERVICE_TIMEOUT
 * (prefix NULL means "SANDBOX_").  Fields set in `base` (may be NULL) win
 * over the environment.  -DRUKBOX_EINVAL when no URL is configured or the
 * timeout is not a positive number. */
int drukbox_client_from_env(drukbox_client **out, const char *prefix,
			    const drukbox_options *base);

void drukbox_client_free(drukbox_client *client);

/* The normalised base URL (no trailing '/'); owned by the client. */
const char *drukbox_client_url(const drukbox_client *client);

/* Reads a token from a file: at most 4 KiB, surrounding white space
 * stripped, must be non-empty printable ASCII.  -DRUKBOX_EINVAL (detail
 * says why, never the content) or -DRUKBOX_ENOMEM.  Free with free(). */
int drukbox_token_from_file(const char *path, char **out);

/* ---- records ------------------------------------------------------------ */

/* The keys of a host record the library knows, in the contract's order
 * (the order host.json shows them in).  Bit DRUKBOX_HOST_BIT(key) of
 * drukbox_host.present says the record had the key. */
typedef enum drukbox_host_key {
	DRUKBOX_HOST_ID,
	DRUKBOX_HOST_NAME,
	DRUKBOX_HOST_STATUS,
	DRUKBOX_HOST_PROVIDER,
	DRUKBOX_HOST_IMAGE,
	DRUKBOX_HOST_INSTANCE_TYPE,
	DRUKBOX_HOST_DISK_GB,
	DRUKBOX_HOST_EXTERNAL_SSH_HOST,
	DRUKBOX_HOST_EXTERNAL_SSH_PORT,
	DRUKBOX_HOST_SSH_USERNAME,
	DRUKBOX_HOST_INTERNAL_SSH_HOST,
	DRUKBOX_HOST_KNOWN_HOSTS,
	DRUKBOX_HOST_TAILSCALE_DEVICE_ID,
	DRUKBOX_HOST_PRIVATE_KEY,
	DRUKBOX_HOST_LAST_ERROR,
	DRUKBOX_HOST_CREATED_AT,
	DRUKBOX_HOST_UPDATED_AT,
	DRUKBOX_HOST_ACTIVATED_AT,
	DRUKBOX_HOST_EXPIRES_AT,
	DRUKBOX_HOST_KEY_COUNT
} drukbox_host_key;

#define DRUKBOX_HOST_BIT(key) ((uint32_t)1 << (key))

/* A host record.  Strings are NULL when the field was missing or null.
 *
 * A record made by the library keeps all its strings in its own single
 * allocation: they are read-only, and a field is never freed or replaced
 * on its own (drukbox_host_dup() for a copy, drukbox_host_free() for all
 * of it).  Unknown fields are not interpreted but kept, as received, in
 * `extra`, so that drukbox_host_json() can show the whole record. */
typedef struct drukbox_host {
	const char *id;
	const char *name;
	const char *status;
	const char *provider;
	const char *image;
	const char *instance_type;
	const char *external_ssh_host;
	const char *ssh_username;
	const char *internal_ssh_host;
	const char *known_hosts;
	const char *tailscale_device_id;
	const char *private_key;
	const char *last_error;
	const char *created_at;
	const char *updated_at;
	const char *activated_at;
	const char *expires_at;
	int64_t disk_gb;        /* valid when has_disk_gb */
	int external_ssh_port;  /* 22 when missing or null */
	bool has_disk_gb;       /* disk_gb was a number (not missing/null) */
	bool has_external_ssh_port; /* external_ssh_port was a number */
	uint32_t present;       /* DRUKBOX_HOST_BIT(k) for every known key the
				   record had, with a value or null */
	const char *extra;      /* the unknown fields as one JSON object, in
				   the order received, each value as sent;
				   NULL when there were none */
} drukbox_host;

void drukbox_host_free(drukbox_host *host);

/* Deep copy.  0 or -DRUKBOX_ENOMEM. */
int drukbox_host_dup(drukbox_host **out, const drukbox_host *host);

/* What host.json shows: the record pretty-printed (two-space indent, no
 * escaped '/'), ending in '\n'.  The known keys come in the contract's
 * order (drukbox_host_key), each one shown when the record had it or has
 * a value for it (null when it has none), then the unknown fields in the
 * order received.  The private key is always shown as null: host.json can
 * be read by anyone.  *out is the caller's (free()), *len its length (len
 * may be NULL).  0, -DRUKBOX_ENOMEM, or -DRUKBOX_EPROTOCOL when `extra`
 * is not a JSON object (never for records the library made). */
int drukbox_host_json(char **out, size_t *len, const drukbox_host *host);

/* Whether a and b hold the same record: every string, number, presence
 * bit (as host.json would show it) and the unknown fields.  Two NULLs are
 * equal.  Pure. */
bool drukbox_host_equal(const drukbox_host *a, const drukbox_host *b);

typedef struct drukbox_host_list {
	size_t count;
	drukbox_host **hosts;   /* newest first, as the service sent them */
	size_t skipped;         /* records left out because they were not
				   objects or had no string id / wrong types */
	char *skipped_detail;   /* why: one line per skipped record (the
				   first 8), "<id or #index>: <detail>\n";
				   NULL when none was skipped */
} drukbox_host_list;

void drukbox_host_list_free(drukbox_host_list *list);

typedef struct drukbox_doctor_check {
	char *name;
	char *status;           /* "ok" or "fail" */
	char *detail;           /* may be NULL */
	int64_t latency_ms;     /* valid when has_latency */
	bool has_latency;
	char *hint;             /* may be NULL */
} drukbox_doctor_check;

typedef struct drukbox_doctor {
	bool ok;
	char *active_provider;
	bool tailscale_enabled;
	size_t check_count;
	drukbox_doctor_check *checks;
	char *json;             /* pretty-printed, ending in '\n' */
} drukbox_doctor;

void drukbox_doctor_free(drukbox_doctor *doctor);

/* Pure parsers (no I/O), used by the calls below and by tests/fuzzers.
 * -DRUKBOX_EPROTOCOL with a detail naming the offending field, or
 * -DRUKBOX_ENOMEM.
 *
 * The text must be one strict RFC 8259 JSON document (UTF-8 without
 * overlong forms or surrogates, no lone \u surrogate escapes, no raw
 * control characters in strings, nesting at most 64 deep) with only white
 * space after it.  In a host record a known field of the wrong type, a
 * string field holding a NUL (\u0000), a missing or empty id and a port
 * outside 1..65535 make the record malformed; disk_gb and
 * external_ssh_port must be integers: a number without fraction or
 * exponent that fits int64_t.  When a key comes twice the last one
 * counts.  The list parser skips malformed records (skipped, and
 * skipped_detail) rather than failing. */
int drukbox_host_parse(drukbox_host **out, const char *json, size_t len);
int drukbox_host_list_parse(drukbox_host_list **out, const char *json,
			    size_t len);
int drukbox_doctor_parse(drukbox_doctor **out, const char *json, size_t len);

/* Takes one record of a host list as soon as it has been read: the host
 * is the sink's from then on, whatever it returns.  0 to go on, or a
 * negative DRUKBOX error (such as -DRUKBOX_ENOMEM) that stops the parse
 * and becomes its result. */
typedef int (*drukbox_host_sink)(void *ctx, drukbox_host *host);

/* The list parser, fed the text in pieces of any size: each record goes
 * to `sink` once the piece that completes it has been fed, so that
 * neither the text nor the list is ever held whole (only the record
 * being read; a text that is not an array is kept whole and judged at
 * the end).  The result is byte for byte that of drukbox_host_list_parse
 * on the whole text, and does not depend on where the pieces are cut.
 *
 *   new:  0 with *out, or -DRUKBOX_ENOMEM.
 *   feed: 0, or the parse's error (-DRUKBOX_EPROTOCOL, -DRUKBOX_ENOMEM,
 *         the sink's); after an error every call returns it again.
 *   end:  the text is complete.  0 with *out (free with
 *         drukbox_host_list_free): hosts NULL, count the records handed
 *         to the sink, skipped and skipped_detail as for a parsed list;
 *         or the error, *out NULL.
 * On an error, records already handed to the sink stay the sink's: a
 * caller building something from them throws it away. */
typedef struct drukbox_list_reader drukbox_list_reader;

int drukbox_list_reader_new(drukbox_list_reader **out, drukbox_host_sink sink,
			    void *ctx);
int drukbox_list_reader_feed(drukbox_list_reader *r, const char *data,
			     size_t len);
int drukbox_list_reader_end(drukbox_list_reader *r, drukbox_host_list **out);
void drukbox_list_reader_free(drukbox_list_reader *r);

/* ---- operations --------------------------------------------------------- */

typedef enum drukbox_expiry {
	DRUKBOX_EXPIRY_DEFAULT = 0, /* omit expires_at: the service's lease */
	DRUKBOX_EXPIRY_NEVER,       /* "expires_at": null — permanent host */
	DRUKBOX_EXPIRY_AT,          /* "expires_at": expires_at */
} drukbox_expiry;

typedef struct drukbox_env_var {
	const char *key;
	const char *value;
} drukbox_env_var;

typedef struct drukbox_create_opts {
	const char *image;          /* NULL: omitted */
	const char *provider;       /* NULL: omitted */
	const char *instance_type;  /* NULL: omitted */
	int64_t disk_gb;            /* 0: omitted */
	const drukbox_env_var *env; /* env_count pairs; 0: omitted */
	size_t env_count;
	drukbox_expiry expiry;
	const char *expires_at;     /* with DRUKBOX_EXPIRY_AT */
	const char *idempotency_key; /* NULL: no header */
} drukbox_create_opts;

/* The exact JSON body POST /hosts sends for opts ("{}" when everything is
 * omitted).  Pure.  -DRUKBOX_EINVAL when an argument cannot be sent (an
 * env key outside [A-Za-z_][A-Za-z0-9_]*, an idempotency key outside
 * 1-255 chars of [A-Za-z0-9_:.-], DRUKBOX_EXPIRY_AT without a time,
 * disk_gb < 0). */
int drukbox_create_body(char **out, const drukbox_create_opts *opts);

/* True when s is well-formed UTF-8 (shortest forms, no surrogates):
 * every string a request body carries must be, or it is not JSON. */
bool drukbox_utf8_valid(const char *s);

/* True when key fits the Idempotency-Key charset and length. */
bool drukbox_idempotency_key_valid(const char *key);

/* A record for a host the service has not described yet (a create still
 * in flight, or one that failed without an answer naming the host): only
 * `status` and `last_error` (may be NULL) are set, and host.json shows
 * just those two fields.  0 or -DRUKBOX_ENOMEM. */
int drukbox_host_placeholder(drukbox_host **out, const char *status,
			     const char *last_error);

/* Wipes the private key of a record and drops it from `private_key`
 * (host.json never shows it anyway).  Returns 0; -DRUKBOX_EINVAL for a
 * NULL host. */
int drukbox_host_strip_private_key(drukbox_host *host);

/* POST /hosts with a body made earlier by drukbox_create_body() — how a
 * create interrupted by a crash is resumed with exactly the same request.
 * The body must be a JSON object (else -DRUKBOX_EINVAL, nothing sent). */
int drukbox_host_create_json(drukbox_client *client, const char *body,
			     const char *idempotency_key, drukbox_host **out);

/* POST /hosts.  Blocks until the host is active (the service provisions
 * inline) or the timeout runs out.  opts may be NULL (all defaults). */
int drukbox_host_create(drukbox_client *client,
			const drukbox_create_opts *opts, drukbox_host **out);

int drukbox_host_get(drukbox_client *client, const char *id,
		     drukbox_host **out);

/* GET /hosts: every host, newest first.  (`drukbox_host_list` names the
 * result type, hence the _get.) */
int drukbox_host_list_get(drukbox_client *client, drukbox_host_list **out);

/* GET /hosts, each record handed to `sink` as it comes off the wire
 * (drukbox_list_reader): what a caller that keeps records its own way
 * uses, so that the body and a second copy of the list never exist at
 * once.  *out as from drukbox_list_reader_end.  On any error (the
 * transfer's too), records already handed over stay the sink's. */
int drukbox_host_list_each(drukbox_client *client, drukbox_host_sink sink,
			   void *ctx, drukbox_host_list **out);

/* POST /hosts/{id}/renew; expires_at NULL extends by the default lease. */
int drukbox_host_renew(drukbox_client *client, const char *id,
		       const char *expires_at, drukbox_host **out);

int drukbox_host_delete(drukbox_client *client, const char *id);

int drukbox_doctor_get(drukbox_client *client, drukbox_doctor **out);

/* GET /healthz (no auth): 0 when the service answers 200 {"status":"ok"}. */
int drukbox_healthz(drukbox_client *client);

/* HTTP proxies. headers: header_count name/value pairs (at least one). */
int drukbox_proxy_create(drukbox_client *client, const char *name,
			 const char *target, const drukbox_env_var *headers,
			 size_t header_count);
int drukbox_proxy_delete(drukbox_client *client, const char *name);
int drukbox_proxy_attach(drukbox_client *client, const char *name,
			 const char *host_id);
int drukbox_proxy_detach(drukbox_client *client, const char *name,
			 const char *host_id);

#ifdef __cplusplus
}
#endif

#endif
