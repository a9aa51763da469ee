/*
 * client.c — the public client: configuration and one function per
 * operation of the contract.
 *
 * This layer validates what the caller hands it before anything is sent
 * (a URL the HTTP layer can append paths to, a token that fits in a header,
 * non-empty ids), describes each operation as a drukbox_http_request, and
 * turns the 2xx body into a record with the pure parsers.  It knows nothing
 * of curl or json-c.  A client holds no per-request state, so one client
 * serves any number of threads; the HTTP layer's handle pool does the rest.
 *
 * Buffers that held a secret (a token file's contents, a create body with
 * env values, a response carrying a private key) are wiped before they are
 * freed.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "error.h"
#include "http.h"
#include "record.h"
#include "json.h"

#define DEFAULT_TIMEOUT_S 300.0
#define CONNECT_TIMEOUT_CAP_S 30.0
#define TIMEOUT_MAX_MS 1000000000L /* ~11.5 days: clamps absurd values */
#define TOKEN_FILE_MAX 4096

struct drukbox_client {
	drukbox_http *http;
};

/* ---- configuration ------------------------------------------------------ */

/* True for a token that can go in a header: non-empty, printable ASCII
 * without spaces. */
static bool token_valid(const char *token, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)token[i] <= 0x20 ||
		    (unsigned char)token[i] >= 0x7f)
			return false;
	return true;
}

/* Checks url and copies it with one trailing '/' removed into *out (caller
 * frees).  -DRUKBOX_EINVAL or -DRUKBOX_ENOMEM. */
static int url_normalise(char **out, const char *url)
{
	size_t len, skip;

	*out = NULL;
	if (!url || !url[0])
		return drukbox_error_set(DRUKBOX_EINVAL, 0,
					 "no service URL given");
	if (strncasecmp(url, "http://", 7) == 0)
		skip = 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		skip = 8;
	else
		return drukbox_error_set(DRUKBOX_EINVAL, 0,
					 "the service URL must start with "
					 "http:// or https://");
	if (url[skip] == '\0' || url[skip] == '/')
		return drukbox_error_set(DRUKBOX_EINVAL, 0,
					 "the service URL has no host");
	len = strlen(url);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)url[i] <= 0x20 ||
		    (unsigned char)url[i] >= 0x7f || url[i] == '?' ||
		    url[i] == '#')
			return drukbox_error_set(DRUKBOX_EINVAL, 0,
						 "the service URL may not "
						 "contain spaces, control "
						 "characters, '?' or '#'");
	if (url[len - 1] == '/')
		len--;
	*out = strndup(url, len);
	return *out ? 0 : drukbox_error_nomem();
}

/* Seconds (<= 0 or NaN: the default) to curl's milliseconds. */
static long seconds_to_ms(double seconds, double fallback)
{
	double ms;

	if (!(seconds > 0))
		seconds = fallback;
	ms = seconds * 1000.0 + 0.5;
	if (ms >= (double)TIMEOUT_MAX_MS)
		return TIMEOUT_MAX_MS;
	return ms < 1 ? 1 : (long)ms;
}

/* -DRUKBOX_EINVAL for a bad URL or token, -DRUKBOX_ENOMEM; *out owned by
 * the caller (drukbox_client_free). */
int drukbox_client_new(drukbox_client **out, const drukbox_options *opts)
{
	drukbox_http_config cfg = { 0 };
	drukbox_client *client = NULL;
	char *url = NULL;
	double timeout;
	int rc;

	drukbox_error_clear();
	if (!out || !opts)
		return drukbox_error_set(DRUKBOX_EINVAL, 0,
					 "out and opts are required");
	*out = NULL;
	rc = url_normalise(&url, opts->url);
	if (rc)
		goto out;
	if (opts->token && !token_valid(opts->token, strlen(opts->token))) {
		rc = drukbox_error_set(DRUKBOX_EINVAL, 0,
				       "the token is empty or has characters "
				       "that cannot go in an HTTP header");
		goto out;
	}
	client = calloc(1, sizeof(*client));
	if (!client) {
		rc = drukbox_error_nomem();
		goto out;
	}
	timeout = opts->timeout > 0 ? opts->timeout : DEFAULT_TIMEOUT_S;
	cfg.base_url = url;
	cfg.token = opts->token;
	cfg.timeout_ms = seconds_to_ms(timeout, DEFAULT_TIMEOUT_S);
	cfg.connect_timeout_ms = seconds_to_ms(
		opts->connect_timeout,
		timeout < CONNECT_TIMEOUT_CAP_S ? timeout : CONNECT_TIMEOUT_CAP_S);
	cfg.cafile = opts->cafile;
	cfg.insecure = opts->insecure;
	cfg.debug = opts->debug;
	cfg.debug_ctx = opts->debug_ctx;
	rc = drukbox_http_new(&client->http, &cfg);
out:
	free(url);
	if (rc)
		drukbox_client_free(client);
	else
		*out = client;
	return rc;
}

/* getenv(prefix + suffix), NULL when unset or empty.  The name must fit
 * name[size] (checked by the caller). */
static const char *env_get(char *name, size_t size, const char *prefix,
			   const char *suffix)
{
	const char *v;

	snprintf(name, size, "%s%s", prefix, suffix);
	v = getenv(name);
	return v && v[0] ? v : NULL;
}

/* Parses a positive, finite number of seconds.  -DRUKBOX_EINVAL naming the
 * variable otherwise. */
static int parse_timeout(double *out, const char *name, const char *text)
{
	char *end = NULL;
	double v;

	errno = 0;
	v = strtod(text, &end);
	while (end && (*end == ' ' || *end == '\t' || *end == '\n'))
		end++;
	if (errno || end == text || !end || *end || !(v > 0) || !isfinite(v))
		return drukbox_error_set(DRUKBOX_EINVAL, 0,
					 "%s is not a positive number of "
					 "seconds", name);
	*out = v;
	return 0;
}

/* Fields in base win over the environment.  -DRUKBOX_EINVAL when there is
 * no URL, the timeout is malformed or the prefix is absurdly long; then
 * whatever drukbox_client_new() returns. */
int drukbox_client_from_env(drukbox_client **out, const char *prefix,
			    const drukbox_options *base)
{
	drukbox_options opts = { 0 };
	char name[160];
	const char *v;
	int rc;

	drukbox_error_clear();
	if (!out)
		return drukbox_error_set(DRUKBOX_EINVAL, 0, "out is NULL");
	*out = NULL;
	if (base)
		opts = *base;
	if (!prefix)
		prefix = "SANDBOX_";
	if (strlen(prefix) > sizeof(name) - sizeof("SERVICE_TIMEOUT"))
		return drukbox_error_set(DRUKBOX_EINVAL, 0,
					 "environment prefix is too long");
	if (!opts.url)
		opts.url = env_get(name, sizeof(name), prefix, "SERVICE_URL");
	if (!opts.url)
		return drukbox_error_set(DRUKBOX_EINVAL, 0, "%sSERVICE_URL is "
					 "not set", prefix);
	if (!opts.token)
		opts.token = env_get(name, sizeof(name), prefix,
				     "SERVICE_TOKEN");
	v = env_get(name, sizeof(name), prefix, "SERVICE_TIMEOUT");
	if (!(opts.timeout > 0) && v) {
		rc = parse_timeout(&opts.timeout, name, v);
		if (rc)
			return rc;
	}
	return drukbox_client_new(out, &opts);
}

/* Accepts NULL.  No request may be in flight. */
void drukbox_client_free(drukbox_client *client)
{
	if (!client)
		return;
	drukbox_http_free(client->http);
	free(client);
}

/* The normalised base URL, owned by the client.  Cannot fail. */
const char *drukbox_client_url(const drukbox_client *client)
{
	return drukbox_http_base_url(client->http);
}

/* Reads fd into buf until EOF or `size` bytes (a caller that passes one
 * byte more than it accepts can tell "too large" from "exactly full").
 * Returns the count, or -1 with errno set. */
static ssize_t read_bounded(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n < size) {
		ssize_t r = read(fd, buf + n, size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	return (ssize_t)n;
}

/* Trims white space from both ends of buf[0..*len) in place, returning
 * the new start. */
static char *trim(char *buf, size_t *len)
{
	while (*len && strchr(" \t\r\n\v\f", buf[*len - 1]))
		(*len)--;
	while (*len && strchr(" \t\r\n\v\f", buf[0])) {
		buf++;
		(*len)--;
	}
	return buf;
}

/* Sets -DRUKBOX_EINVAL "<what> <path>: <strerror(err)>".  Thread-safe
 * (strerror_r). */
static int errno_error(int err, const char *what, const char *path)
{
	char why[128];

	if (strerror_r(err, why, sizeof(why)) != 0)
		snprintf(why, sizeof(why), "error %d", err);
	return drukbox_error_set(DRUKBOX_EINVAL, 0, "%s %s: %s", what, path,
				 why);
}

/* -DRUKBOX_EINVAL (the detail names the file and the reason, never its
 * contents) or -DRUKBOX_ENOMEM.  The caller frees *out with free(). */
int drukbox_token_from_file(const char *path, char **out)
{
	char buf[TOKEN_FILE_MAX + 1];
	char *token;
	ssize_t got = 0;
	size_t len;
	int fd = -1, rc = 0;

	drukbox_error_clear();
	if (!path || !out)
		return drukbox_error_set(DRUKBOX_EINVAL, 0,
					 "path and out are required");
	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		got = read_bounded(fd, buf, sizeof(buf));
	if (fd < 0 || got < 0) {
		rc = errno_error(errno, "cannot read token file", path);
		goto out;
	}
	len = (size_t)got;
	if (len > TOKEN_FILE_MAX) {
		rc = drukbox_error_set(DRUKBOX_EINVAL, 0,
				       "token file %s is larger than 4 KiB",
				       path);
		goto out;
	}
	token = trim(buf, &len);
	if (!token_valid(token, len)) {
		rc = drukbox_error_set(DRUKBOX_EINVAL, 0,
				       "token file %s is empty or has "
				       "characters that cannot go in an HTTP "
				       "header", path);
		goto out;
	}
	*out = strndup(token, len);
	if (!*out)
		rc = drukbox_error_nomem();
out:
	explicit_bzero(buf, sizeof(buf));
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ---- operations --------------------------------------------------------- */

/* Wipes and frees a string that may hold a secret.  Accepts NULL. */
static void free_secret(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

/* Entry checks shared by every operation: a client and, when `what` is
 * not NULL, a non-empty path argument.  0 or -DRUKBOX_EINVAL. */
static int check_args(const drukbox_client *client, const char *what,
		      const char *value)
{
	if (!client)
		return drukbox_error_set(DRUKBOX_EINVAL, 0, "client is NULL");
	if (what && (!value || !value[0]))
		return drukbox_error_set(DRUKBOX_EINVAL, 0,
					 "%s must be a non-empty string", what);
	return 0;
}

/* Reads a 2xx body into `out` (a drukbox_host **, drukbox_host_list **
 * or drukbox_doctor **, per parser). */
typedef int (*body_parser)(void *out, const char *json, size_t len);

static int parse_host(void *out, const char *json, size_t len)
{
	return drukbox_host_parse(out, json, len);
}

static int parse_doctor(void *out, const char *json, size_t len)
{
	return drukbox_doctor_parse(out, json, len);
}

/* Sends req; on a 2xx, reads the body with `parse` into out.  A parse
 * failure is -DRUKBOX_EPROTOCOL carrying the HTTP status. */
static int call_parsed(drukbox_client *client, const drukbox_http_request *req,
		       body_parser parse, void *out)
{
	drukbox_http_response resp = { 0 };
	int rc = drukbox_http_send(client->http, req, &resp);

	if (!rc) {
		rc = parse(out, drukbox_buf_cstr(&resp.body), resp.body.len);
		if (rc)
			drukbox_error_set_http_status((int)resp.status);
	}
	drukbox_http_response_free(&resp);
	return rc;
}

static int call_host(drukbox_client *client, const drukbox_http_request *req,
		     drukbox_host **out)
{
	return call_parsed(client, req, parse_host, out);
}

/* Sends req; on a 2xx, when `what` is not NULL the body must be a JSON
 * object (and have field == expect when field is not NULL). */
static int call_plain(drukbox_client *client, const drukbox_http_request *req,
		      const char *what, const char *field, const char *expect)
{
	drukbox_http_response resp = { 0 };
	int rc = drukbox_http_send(client->http, req, &resp);

	if (!rc && what) {
		rc = drukbox_json_expect_object(drukbox_buf_cstr(&resp.body),
						resp.body.len, what, field,
						expect);
		if (rc)
			drukbox_error_set_http_status((int)resp.status);
	}
	drukbox_http_response_free(&resp);
	return rc;
}

/* POST /hosts with a ready body and an optional (already validated)
 * idempotency key.  The HTTP layer's classes, or EPROTOCOL for a bad
 * record; *out (caller frees) holds the private key only for a fresh host. */
static int create_send(drukbox_client *client, const char *body,
		       const char *idempotency_key, drukbox_host **out)
{
	static const char *const segments[] = { "hosts" };
	char key_header[300];
	const char *headers[1] = { key_header };
	drukbox_http_request req = {
		.method = "POST",
		.segments = segments,
		.segment_count = 1,
		.body = body,
	};

	if (idempotency_key) {
		snprintf(key_header, sizeof(key_header), "Idempotency-Key: %s",
			 idempotency_key);
		req.headers = headers;
		req.header_count = 1;
	}
	return call_host(client, &req, out);
}

/* -DRUKBOX_EINVAL from drukbox_create_body() before anything is sent;
 * otherwise as create_send(). */
int drukbox_host_create(drukbox_client *client,
			const drukbox_create_opts *opts, drukbox_host **out)
{
	char *body = NULL;
	int rc;

	drukbox_error_clear();
	if (!out)
		return drukbox_error_set(DRUKBOX_EINVAL, 0, "out is NULL");
	*out = NULL;
	rc = check_args(client, NULL, NULL);
	if (!rc)
		rc = drukbox_create_body(&body, opts);
	if (!rc)
		rc = create_send(client, body,
				 opts ? opts->idempotency_key : NULL, out);
	free_secret(body);
	return rc;
}

/* -DRUKBOX_EINVAL, nothing sent, when body is not a JSON object or the key
 * is malformed; otherwise as create_send(). */
int drukbox_host_create_json(drukbox_client *client, const char *body,
			     const char *idempotency_key, drukbox_host **out)
{
	int rc;

	drukbox_error_clear();
	if (!out)
		return drukbox_error_set(DRUKBOX_EINVAL, 0, "out is NULL");
	*out = NULL;
	rc = check_args(client, "create body", body);
	if (rc)
		return rc;
	if (idempotency_key && !drukbox_idempotency_key_valid(idempotency_key))
		return drukbox_error_set(DRUKBOX_EINVAL, 0,
					 "idempotency key must be 1-255 "
					 "characters of A-Z a-z 0-9 _ - : .");
	rc = drukbox_json_expect_object(body, strlen(body), "create body",
					NULL, NULL);
	if (rc == -DRUKBOX_EPROTOCOL)
		return drukbox_error_set(DRUKBOX_EINVAL, 0,
					 "create body is not a JSON object");
	return rc ? rc : create_send(client, body, idempotency_key, out);
}

/* GET /hosts/{id}.  -DRUKBOX_EINVAL for an empty id. */
int drukbox_host_get(drukbox_client *client, const char *id,
		     drukbox_host **out)
{
	const char *segments[] = { "hosts", id };
	drukbox_http_request req = {
		.method = "GET",
		.segments = segments,
		.segment_count = 2,
	};
	int rc;

	drukbox_error_clear();
	if (!out)
		return drukbox_error_set(DRUKBOX_EINVAL, 0, "out is NULL");
	*out = NULL;
	rc = check_args(client, "host id", id);
	return rc ? rc : call_host(client, &req, out);
}

/* body_fn of GET /hosts: the list reader takes the bytes. */
static int feed_list(void *ctx, const char *data, size_t len)
{
	return drukbox_list_reader_feed(ctx, data, len);
}

/* GET /hosts, read as it arrives.  Records that do not parse are skipped
 * and counted; a body that is not a JSON array is -DRUKBOX_EPROTOCOL
 * carrying the HTTP status. */
int drukbox_host_list_each(drukbox_client *client, drukbox_host_sink sink,
			   void *ctx, drukbox_host_list **out)
{
	static const char *const segments[] = { "hosts" };
	drukbox_http_request req = {
		.method = "GET",
		.segments = segments,
		.segment_count = 1,
		.body_fn = feed_list,
	};
	drukbox_http_response resp = { 0 };
	drukbox_list_reader *r = NULL;
	int rc;

	drukbox_error_clear();
	if (!out || !sink)
		return drukbox_error_set(DRUKBOX_EINVAL, 0,
					 "out and sink are required");
	*out = NULL;
	rc = check_args(client, NULL, NULL);
	if (!rc)
		rc = drukbox_list_reader_new(&r, sink, ctx);
	if (rc)
		return rc;
	req.body_ctx = r;
	rc = drukbox_http_send(client->http, &req, &resp);
	if (!rc) {
		rc = drukbox_list_reader_end(r, out);
		if (rc)
			drukbox_error_set_http_status((int)resp.status);
	}
	drukbox_http_response_free(&resp);
	drukbox_list_reader_free(r);
	return rc;
}

/* GET /hosts into a list: the records collected as they are read. */
int drukbox_host_list_get(drukbox_client *client, drukbox_host_list **out)
{
	drukbox_host_array a = { NULL, 0, 0 };
	int rc;

	if (!out) {
		drukbox_error_clear();
		return drukbox_error_set(DRUKBOX_EINVAL, 0, "out is NULL");
	}
	rc = drukbox_host_list_each(client, drukbox_host_array_push, &a, out);
	return drukbox_host_array_end(&a, rc, *out);
}

/* POST /hosts/{id}/renew with {"expires_at": ts}, or no body to extend by
 * the default lease. */
int drukbox_host_renew(drukbox_client *client, const char *id,
		       const char *expires_at, drukbox_host **out)
{
	const char *segments[] = { "hosts", id, "renew" };
	drukbox_http_request req = {
		.method = "POST",
		.segments = segments,
		.segment_count = 3,
	};
	char *body = NULL;
	int rc;

	drukbox_error_clear();
	if (!out)
		return drukbox_error_set(DRUKBOX_EINVAL, 0, "out is NULL");
	*out = NULL;
	rc = check_args(client, "host id", id);
	if (!rc && expires_at && !expires_at[0])
		rc = drukbox_error_set(DRUKBOX_EINVAL, 0,
				       "expires_at must be a timestamp or "
				       "NULL");
	if (!rc && expires_at)
		rc = drukbox_json_renew_body(&body, expires_at);
	if (rc)
		goto out;
	req.body = body;
	rc = call_host(client, &req, out);
out:
	free(body);
	return rc;
}

/* DELETE /hosts/{id}: 0 on 204. */
int drukbox_host_delete(drukbox_client *client, const char *id)
{
	const char *segments[] = { "hosts", id };
	drukbox_http_request req = {
		.method = "DELETE",
		.segments = segments,
		.segment_count = 2,
	};
	int rc;

	drukbox_error_clear();
	rc = check_args(client, "host id", id);
	return rc ? rc : call_plain(client, &req, NULL, NULL, NULL);
}

/* GET /doctor (always 200; the caller branches on ok). */
int drukbox_doctor_get(drukbox_client *client, drukbox_doctor **out)
{
	static const char *const segments[] = { "doctor" };
	drukbox_http_request req = {
		.method = "GET",
		.segments = segments,
		.segment_count = 1,
	};
	int rc;

	drukbox_error_clear();
	if (!out)
		return drukbox_error_set(DRUKBOX_EINVAL, 0, "out is NULL");
	*out = NULL;
	rc = check_args(client, NULL, NULL);
	return rc ? rc : call_parsed(client, &req, parse_doctor, out);
}

/* GET /healthz without the token; a 200 must say {"status": "ok"}. */
int drukbox_healthz(drukbox_client *client)
{
	static const char *const segments[] = { "healthz" };
	drukbox_http_request req = {
		.method = "GET",
		.segments = segments,
		.segment_count = 1,
		.no_auth = true,
	};
	int rc;

	drukbox_error_clear();
	rc = check_args(client, NULL, NULL);
	return rc ? rc : call_plain(client, &req, "healthz", "status", "ok");
}

/* POST /http-proxies.  -DRUKBOX_EINVAL without a name, a target or at
 * least one complete header. */
int drukbox_proxy_create(drukbox_client *client, const char *name,
			 const char *target, const drukbox_env_var *headers,
			 size_t header_count)
{
	static const char *const segments[] = { "http-proxies" };
	drukbox_http_request req = {
		.method = "POST",
		.segments = segments,
		.segment_count = 1,
	};
	char *body = NULL;
	int rc;

	drukbox_error_clear();
	rc = check_args(client, "proxy name", name);
	if (!rc)
		rc = drukbox_json_proxy_body(&body, name, target, headers,
					     header_count);
	if (rc)
		goto out;
	req.body = body;
	rc = call_plain(client, &req, "proxy response", NULL, NULL);
out:
	free_secret(body); /* proxy headers are usually credentials */
	return rc;
}

/* DELETE /http-proxies/{name}. */
int drukbox_proxy_delete(drukbox_client *client, const char *name)
{
	const char *segments[] = { "http-proxies", name };
	drukbox_http_request req = {
		.method = "DELETE",
		.segments = segments,
		.segment_count = 2,
	};
	int rc;

	drukbox_error_clear();
	rc = check_args(client, "proxy name", name);
	return rc ? rc : call_plain(client, &req, NULL, NULL, NULL);
}

/* POST or DELETE /http-proxies/{name}/hosts/{host_id}. */
static int proxy_link(drukbox_client *client, const char *method,
		      const char *name, const char *host_id)
{
	const char *segments[] = { "http-proxies", name, "hosts", host_id };
	drukbox_http_request req = {
		.method = method,
		.segments = segments,
		.segment_count = 4,
	};
	bool attach = strcmp(method, "POST") == 0;
	int rc;

	drukbox_error_clear();
	rc = check_args(client, "proxy name", name);
	if (!rc)
		rc = check_args(client, "host id", host_id);
	if (rc)
		return rc;
	return call_plain(client, &req, attach ? "proxy response" : NULL,
			  NULL, NULL);
}

/* POST /http-proxies/{name}/hosts/{host_id}: 0 on 200; 404 unknown proxy
 * or host, 409 when the host has no VM. */
int drukbox_proxy_attach(drukbox_client *client, const char *name,
			 const char *host_id)
{
	return proxy_link(client, "POST", name, host_id);
}

/* DELETE /http-proxies/{name}/hosts/{host_id}: 0 on 204. */
int drukbox_proxy_detach(drukbox_client *client, const char *name,
			 const char *host_id)
{
	return proxy_link(client, "DELETE", name, host_id);
}
