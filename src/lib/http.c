/*
 * http.c — one HTTP request at a time per curl handle, many at once.
 *
 * Threads share a client, so each request borrows a curl easy handle from a
 * mutex-protected free list and gives it back afterwards.  The list only
 * grows when every handle is busy, so it ends up as large as the highest
 * number of concurrent callers, and because a handle keeps its connection
 * cache across curl_easy_reset() a returned handle's next request reuses
 * its keep-alive connection.  Options are set afresh on every request:
 * nothing from one caller's request can leak into the next one's.
 *
 * Requests are locked down: http and https only, no redirects followed
 * (a redirect would carry the bearer token to whoever it names), TLS
 * verification on unless the caller asked for `insecure`, no signals
 * (timeouts must work in threads), never CURLOPT_VERBOSE (it would print
 * the Authorization header).  The token exists in exactly one string, the
 * prepared header line, which is never formatted into an error, a debug
 * line or anything else; failures name the base host instead.
 *
 * Classification follows the contract's table: curl's timeout becomes
 * ETIMEOUT, any other curl failure ETRANSPORT, and a status >= 400 its
 * class with the server's detail (or the class's fixed fallback text).
 */
#include "common.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "http.h"
#include "json.h"

typedef struct pooled_handle {
	CURL *curl;
	struct pooled_handle *next;
} pooled_handle;

struct drukbox_http {
	pthread_mutex_t lock;
	pooled_handle *idle;   /* free list, guarded by lock */
	char *base_url;
	char *host_label;      /* scheme://host[:port], for error texts */
	char *auth_header;     /* "Authorization: Bearer ..." or NULL */
	char *cafile;
	long timeout_ms;
	long connect_timeout_ms;
	bool insecure;
	drukbox_debug_fn debug;
	void *debug_ctx;
};

/* What one transfer needs in curl's callbacks. */
typedef struct transfer {
	drukbox_http_response *resp;
	const drukbox_http_request *req;
	CURL *curl;
	bool started;          /* the first bytes of the body have come */
	bool streamed;         /* ... and go to req->body_fn */
	size_t received;       /* body bytes, kept or streamed */
	int write_rc;          /* the buffer's or body_fn's error */
} transfer;

/* ---- global ------------------------------------------------------------- */

/* 0 or -DRUKBOX_ENOMEM (curl reports no finer reason). */
int drukbox_global_init(void)
{
	drukbox_error_clear();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return drukbox_error_set(DRUKBOX_ENOMEM, 0,
					 "curl_global_init failed");
	return 0;
}

/* After every client is freed and every thread is done.  Cannot fail. */
void drukbox_global_cleanup(void)
{
	curl_global_cleanup();
}

/* ---- the pool ----------------------------------------------------------- */

/* Borrows an idle handle or makes a new one.  NULL with -ENOMEM set. */
static pooled_handle *pool_take(drukbox_http *http)
{
	pooled_handle *h;

	pthread_mutex_lock(&http->lock);
	h = http->idle;
	if (h)
		http->idle = h->next;
	pthread_mutex_unlock(&http->lock);
	if (h)
		return h;
	h = calloc(1, sizeof(*h));
	if (h)
		h->curl = curl_easy_init();
	if (!h || !h->curl) {
		free(h);
		drukbox_error_nomem();
		return NULL;
	}
	return h;
}

/* Returns a handle to the free list.  Cannot fail. */
static void pool_give(drukbox_http *http, pooled_handle *h)
{
	pthread_mutex_lock(&http->lock);
	h->next = http->idle;
	http->idle = h;
	pthread_mutex_unlock(&http->lock);
}

/* ---- construction ------------------------------------------------------- */

/* "scheme://host[:port]" of url without any user:password@ part.  NULL
 * on ENOMEM (set). */
static char *host_label_of(const char *url)
{
	const char *host = strstr(url, "://");
	const char *end, *at;
	size_t scheme_len;
	char *label;

	host = host ? host + 3 : url;
	scheme_len = (size_t)(host - url);
	end = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t)(end - host));
	if (at)
		host = at + 1;
	label = malloc(scheme_len + (size_t)(end - host) + 1);
	if (!label) {
		drukbox_error_nomem();
		return NULL;
	}
	memcpy(label, url, scheme_len);
	memcpy(label + scheme_len, host, (size_t)(end - host));
	label[scheme_len + (size_t)(end - host)] = '\0';
	return label;
}

/* Builds "Authorization: Bearer <token>" into *out.  0 or ENOMEM. */
static int auth_header_of(char **out, const char *token)
{
	static const char prefix[] = "Authorization: Bearer ";
	size_t n;

	*out = NULL;
	if (!token)
		return 0;
	n = sizeof(prefix) + strlen(token);
	*out = malloc(n);
	if (!*out)
		return drukbox_error_nomem();
	snprintf(*out, n, "%s%s", prefix, token);
	return 0;
}

/* 0 or -DRUKBOX_ENOMEM; *out owned by the caller (drukbox_http_free). */
int drukbox_http_new(drukbox_http **out, const drukbox_http_config *cfg)
{
	drukbox_http *http;
	int rc = 0;

	*out = NULL;
	http = calloc(1, sizeof(*http));
	if (!http)
		return drukbox_error_nomem();
	pthread_mutex_init(&http->lock, NULL);
	http->timeout_ms = cfg->timeout_ms;
	http->connect_timeout_ms = cfg->connect_timeout_ms;
	http->insecure = cfg->insecure;
	http->debug = cfg->debug;
	http->debug_ctx = cfg->debug_ctx;
	http->base_url = strdup(cfg->base_url);
	http->cafile = cfg->cafile ? strdup(cfg->cafile) : NULL;
	if (!http->base_url || (cfg->cafile && !http->cafile)) {
		rc = drukbox_error_nomem();
		goto out;
	}
	http->host_label = host_label_of(http->base_url);
	if (!http->host_label) {
		rc = -DRUKBOX_ENOMEM;
		goto out;
	}
	rc = auth_header_of(&http->auth_header, cfg->token);
out:
	if (rc)
		drukbox_http_free(http);
	else
		*out = http;
	return rc;
}

/* Accepts NULL.  Cleans up every pooled handle (closing its connection)
 * and wipes the prepared Authorization header. */
void drukbox_http_free(drukbox_http *http)
{
	pooled_handle *h, *next;

	if (!http)
		return;
	for (h = http->idle; h; h = next) {
		next = h->next;
		curl_easy_cleanup(h->curl);
		free(h);
	}
	if (http->auth_header)
		explicit_bzero(http->auth_header, strlen(http->auth_header));
	free(http->auth_header);
	free(http->base_url);
	free(http->host_label);
	free(http->cafile);
	pthread_mutex_destroy(&http->lock);
	free(http);
}

/* Owned by http.  Cannot fail. */
const char *drukbox_http_base_url(const drukbox_http *http)
{
	return http->base_url;
}

/* Wipes the body first: a create response carries a private key. */
void drukbox_http_response_free(drukbox_http_response *resp)
{
	if (resp->body.data)
		explicit_bzero(resp->body.data, resp->body.len);
	drukbox_buf_free(&resp->body);
}

/* ---- one request -------------------------------------------------------- */

/* Appends "/" + segment, percent-escaped.  curl_easy_escape() leaves
 * '.' alone, so an id of "." or ".." would read as a dot segment: those
 * are written as %2E by hand.  Same contract as drukbox_buf_append. */
static int put_segment(drukbox_buf *path, CURL *curl, const char *segment)
{
	char *esc;
	int rc = drukbox_buf_puts(path, "/");

	if (rc)
		return rc;
	if (strcmp(segment, ".") == 0 || strcmp(segment, "..") == 0)
		return drukbox_buf_puts(path, segment[1] ? "%2E%2E" : "%2E");
	esc = curl_easy_escape(curl, segment, 0);
	if (!esc) {
		drukbox_buf_free(path);
		return drukbox_error_nomem();
	}
	rc = drukbox_buf_puts(path, esc);
	curl_free(esc);
	return rc;
}

/* "/seg/seg..." for the request, into path.  0, -DRUKBOX_ENOMEM, or
 * -DRUKBOX_EINVAL for a path over the buffer's cap. */
static int build_path(drukbox_buf *path, CURL *curl,
		      const drukbox_http_request *req)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < req->segment_count; i++)
		rc = put_segment(path, curl, req->segments[i]);
	if (rc == -DRUKBOX_EPROTOCOL)
		rc = drukbox_error_set(DRUKBOX_EINVAL, 0,
				       "request path is too long");
	return rc;
}

/* Appends one header line.  0 or -ENOMEM (the list is freed then). */
static int add_header(struct curl_slist **list, const char *line)
{
	struct curl_slist *next = curl_slist_append(*list, line);

	if (!next) {
		curl_slist_free_all(*list);
		*list = NULL;
		return drukbox_error_nomem();
	}
	*list = next;
	return 0;
}

/* The request's header lines.  0 or -DRUKBOX_ENOMEM. */
static int build_headers(struct curl_slist **out, const drukbox_http *http,
			 const drukbox_http_request *req)
{
	bool post = strcmp(req->method, "POST") == 0;
	int rc;

	*out = NULL;
	rc = add_header(out, "Accept: application/json");
	/* "Expect:" stops curl from waiting for a 100-continue. */
	if (!rc)
		rc = add_header(out, "Expect:");
	/* A POST without a body must not get curl's form Content-Type. */
	if (!rc && (req->body || post))
		rc = add_header(out, req->body ? "Content-Type: application/json"
					       : "Content-Type:");
	if (!rc && !req->no_auth && http->auth_header)
		rc = add_header(out, http->auth_header);
	for (size_t i = 0; !rc && i < req->header_count; i++)
		rc = add_header(out, req->headers[i]);
	return rc;
}

/* Before the first bytes of a body: allocates it whole when the server
 * said how long it is, instead of doubling towards it (a 6 MB host list
 * would otherwise be copied a dozen times and end in a buffer up to twice
 * its size).  The length is a hint, never trusted beyond the response cap:
 * a larger one is left to curl's own limit (CURLOPT_MAXFILESIZE), a short
 * one just means the buffer grows as usual, and a long one wastes at most
 * the cap until the transfer fails as cut short.  0, or the buffer's
 * error (ENOMEM) that fails the transfer: the body would not fit either. */
static int size_body(transfer *t)
{
	curl_off_t len = -1;

	if (curl_easy_getinfo(t->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
			      &len) != CURLE_OK ||
	    len <= 0 || (uint64_t)len > DRUKBOX_RESPONSE_MAX)
		return 0;
	return drukbox_buf_reserve(&t->resp->body, (size_t)len);
}

/* Before the first bytes of a body: whether they go to the request's
 * body_fn (a 2xx, when it has one) or into the response, sized. */
static int start_body(transfer *t)
{
	long status = 0;

	t->started = true;
	curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
	t->streamed = t->req->body_fn && status >= 200 && status <= 299;
	return t->streamed ? 0 : size_body(t);
}

/* curl's write callback: appends to the response body, refusing (and so
 * failing the transfer) past the cap, or hands the bytes to body_fn. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	transfer *t = ctx;
	size_t n = size * nmemb;

	t->write_rc = t->started ? 0 : start_body(t);
	if (!t->write_rc)
		t->write_rc = t->streamed
			? t->req->body_fn(t->req->body_ctx, data, n)
			: drukbox_buf_append(&t->resp->body, data, n);
	t->received += t->write_rc ? 0 : n;
	return t->write_rc ? 0 : n;
}

/* Connection and safety options, the same for every request. */
static CURLcode set_connection_options(CURL *curl, const drukbox_http *http)
{
	CURLcode cc = CURLE_OK;

#if LIBCURL_VERSION_NUM >= 0x075500
	cc = curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (!cc)
		cc = curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR,
				      "http,https");
#else
	cc = curl_easy_setopt(curl, CURLOPT_PROTOCOLS,
			      (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (!cc)
		cc = curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	if (!cc)
		cc = curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
	if (!cc)
		cc = curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	if (!cc)
		cc = curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, http->timeout_ms);
	if (!cc)
		cc = curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
				      http->connect_timeout_ms);
	if (!cc)
		cc = curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
	if (!cc)
		cc = curl_easy_setopt(curl, CURLOPT_USERAGENT,
				      "libdrukbox/" DRUKBOX_VERSION);
	if (!cc)
		cc = curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER,
				      http->insecure ? 0L : 1L);
	if (!cc)
		cc = curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST,
				      http->insecure ? 0L : 2L);
	if (!cc && http->cafile)
		cc = curl_easy_setopt(curl, CURLOPT_CAINFO, http->cafile);
	return cc;
}

/* Method, URL, headers, body and the response sink of this request. */
static CURLcode set_request_options(CURL *curl, const drukbox_http_request *req,
				    const char *url, struct curl_slist *headers,
				    transfer *t)
{
	CURLcode cc = curl_easy_setopt(curl, CURLOPT_URL, url);

	if (!cc)
		cc = curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	if (!cc)
		cc = curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
				      (curl_off_t)DRUKBOX_RESPONSE_MAX);
	if (!cc)
		cc = curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	if (!cc)
		cc = curl_easy_setopt(curl, CURLOPT_WRITEDATA, t);
	if (!cc && strcmp(req->method, "POST") == 0) {
		cc = curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
				      (curl_off_t)(req->body ? strlen(req->body)
							     : 0));
		if (!cc)
			cc = curl_easy_setopt(curl, CURLOPT_POSTFIELDS,
					      req->body ? req->body : "");
	} else if (!cc && strcmp(req->method, "GET") != 0) {
		cc = curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
	}
	return cc;
}

/* The class of an HTTP status >= 300 (see the contract's table). */
static drukbox_err class_of_status(long status)
{
	switch (status) {
	case 400: return DRUKBOX_EBADREQUEST;
	case 401:
	case 403: return DRUKBOX_EAUTH;
	case 404: return DRUKBOX_ENOTFOUND;
	case 409: return DRUKBOX_ECONFLICT;
	case 422: return DRUKBOX_EVALIDATION;
	case 502: return DRUKBOX_EPROVISION;
	case 503: return DRUKBOX_EUNAVAILABLE;
	default: return DRUKBOX_ERESPONSE;
	}
}

/* Sets the error for a completed exchange whose status is not 2xx and
 * returns it.  The detail is the server's, else the class's fallback. */
static int status_error(const drukbox_http_response *resp)
{
	drukbox_err code = class_of_status(resp->status);
	char detail[DRUKBOX_DETAIL_MAX], server_code[64];
	int rc;

	if (resp->status < 400) {
		return drukbox_error_set(code, (int)resp->status,
					 "unexpected HTTP status %ld",
					 resp->status);
	}
	if (drukbox_json_error_info(drukbox_buf_cstr(&resp->body),
				    resp->body.len, detail, sizeof(detail),
				    server_code, sizeof(server_code)))
		rc = drukbox_error_set(code, (int)resp->status, "%s", detail);
	else
		rc = drukbox_error_set_fallback(code, (int)resp->status);
	drukbox_error_set_server_code(server_code);
	return rc;
}

/* Turns a curl failure into ETIMEOUT / ETRANSPORT / ENOMEM.  The detail
 * names the base host, never the URL's credentials or the token. */
static int transport_error(const drukbox_http *http, CURLcode cc)
{
	if (cc == CURLE_OUT_OF_MEMORY)
		return drukbox_error_nomem();
	if (cc == CURLE_FILESIZE_EXCEEDED)
		return drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
					 "response too large (more than %zu "
					 "bytes) from %s",
					 DRUKBOX_RESPONSE_MAX, http->host_label);
	if (cc == CURLE_OPERATION_TIMEDOUT)
		return drukbox_error_set(DRUKBOX_ETIMEOUT, 0,
					 "no complete response from %s within "
					 "%ld ms", http->host_label,
					 http->timeout_ms);
	return drukbox_error_set(DRUKBOX_ETRANSPORT, 0, "%s (%s)",
				 curl_easy_strerror(cc), http->host_label);
}

/* Milliseconds on the monotonic clock. */
static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One debug line: "GET /hosts -> 200 (12 ms, 3456 bytes)", or the error
 * class and curl's reason when there was no response.  Never the token,
 * never a body. */
static void debug_line(const drukbox_http *http, const drukbox_http_request *req,
		       const char *path, const drukbox_http_response *resp,
		       size_t received, CURLcode cc, long long ms)
{
	char line[512];

	if (!http->debug)
		return;
	if (cc == CURLE_OK || cc == CURLE_WRITE_ERROR)
		snprintf(line, sizeof(line), "%s %s -> %ld (%lld ms, %zu bytes)",
			 req->method, path, resp->status, ms, received);
	else
		snprintf(line, sizeof(line), "%s %s -> %s: %s (%lld ms)",
			 req->method, path,
			 cc == CURLE_OPERATION_TIMEDOUT ? "timeout" : "transport",
			 curl_easy_strerror(cc), ms);
	http->debug(http->debug_ctx, line);
}

/* Runs the transfer on a borrowed handle and classifies the outcome. */
static int perform(drukbox_http *http, CURL *curl,
		   const drukbox_http_request *req, const char *path,
		   drukbox_http_response *resp, transfer *t)
{
	long long start = now_ms();
	CURLcode cc = curl_easy_perform(curl);

	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
	debug_line(http, req, path, resp, t->received, cc, now_ms() - start);
	if (cc == CURLE_WRITE_ERROR && t->write_rc) {
		drukbox_error_set_http_status((int)resp->status);
		return t->write_rc;
	}
	if (cc != CURLE_OK)
		return transport_error(http, cc);
	if (resp->status < 200 || resp->status > 299)
		return status_error(resp);
	return 0;
}

/* Sets up the request on curl (URL = base + path) and performs it. */
static int send_on(drukbox_http *http, CURL *curl,
		   const drukbox_http_request *req, drukbox_http_response *resp)
{
	struct curl_slist *headers = NULL;
	drukbox_buf path, url;
	transfer t = { .resp = resp, .req = req, .curl = curl };
	CURLcode cc;
	int rc;

	drukbox_buf_init(&path, 8192, "request path");
	drukbox_buf_init(&url, 16384, "request URL");
	curl_easy_reset(curl);
	rc = build_path(&path, curl, req);
	if (!rc)
		rc = drukbox_buf_puts(&url, http->base_url);
	if (!rc)
		rc = drukbox_buf_puts(&url, drukbox_buf_cstr(&path));
	if (!rc)
		rc = build_headers(&headers, http, req);
	if (rc)
		goto out;
	cc = set_connection_options(curl, http);
	if (!cc)
		cc = set_request_options(curl, req, drukbox_buf_cstr(&url),
					 headers, &t);
	if (cc) {
		rc = cc == CURLE_OUT_OF_MEMORY ? drukbox_error_nomem()
		     : drukbox_error_set(DRUKBOX_EINVAL, 0,
					 "curl rejected an option: %s",
					 curl_easy_strerror(cc));
		goto out;
	}
	rc = perform(http, curl, req, drukbox_buf_cstr(&path), resp, &t);
out:
	/* curl keeps pointers to these; drop them before they are freed. */
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	drukbox_buf_free(&path);
	drukbox_buf_free(&url);
	return rc;
}

/* Borrows a handle for the request and always gives it back, so that a
 * failed request never shrinks the pool.  Contract in http.h. */
int drukbox_http_send(drukbox_http *http, const drukbox_http_request *req,
		      drukbox_http_response *resp)
{
	pooled_handle *h;
	int rc;

	resp->status = 0;
	drukbox_buf_init(&resp->body, DRUKBOX_RESPONSE_MAX, "response");
	h = pool_take(http);
	if (!h)
		return -DRUKBOX_ENOMEM;
	rc = send_on(http, h->curl, req, resp);
	pool_give(http, h);
	return rc;
}
