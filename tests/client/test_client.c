/*
 * test_client.c — libdrukbox against a real drukbox-local.
 *
 * One server per program, started in the first suite's setup with a path
 * prefix (so every request also proves that a base URL's path is kept) and
 * fast provisioning; every test begins with local_reset().  Assertions
 * look at both sides: what the library returned and what the server says
 * it received (/_local/requests, /_local/stats), so a wrong request can't
 * pass just because the local server is lenient.
 */
#define _GNU_SOURCE
#include <drukbox/drukbox.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cunit_main.h"
#include "server.h"

#define PREFIX "/svc/drukbox"
#define UNKNOWN_ID "0190a0b0-0000-7000-8000-00000000dead"
#define WRONG_TOKEN "wrong-token-0xC0FFEE"

static local_server srv;

/* ---- fixtures ------------------------------------------------------------ */

static int suite_setup(void)
{
	static const char *const args[] = { "--prefix", PREFIX,
					    "--provision-seconds", "0.1",
					    NULL };

	if (drukbox_global_init() != 0)
		return 1;
	return local_start(&srv, args) == 0 ? 0 : 1;
}

static int suite_teardown(void)
{
	local_stop(&srv);
	drukbox_global_cleanup();
	return 0;
}

/* Every test starts from an empty server with zero counters. */
static void begin(void)
{
	CU_ASSERT_EQUAL_FATAL(local_reset(&srv), 0);
}

/* Debug lines collected from every thread. */
typedef struct capture {
	pthread_mutex_t lock;
	char text[1 << 16];
	size_t len;
	int lines;
} capture;

static void capture_line(void *ctx, const char *line)
{
	capture *cap = ctx;

	pthread_mutex_lock(&cap->lock);
	cap->len += (size_t)snprintf(cap->text + cap->len,
				     sizeof(cap->text) - cap->len, "%s\n", line);
	if (cap->len >= sizeof(cap->text))
		cap->len = sizeof(cap->text) - 1;
	cap->lines++;
	pthread_mutex_unlock(&cap->lock);
}

static capture *capture_new(void)
{
	capture *cap = calloc(1, sizeof(*cap));

	pthread_mutex_init(&cap->lock, NULL);
	return cap;
}

static void capture_free(capture *cap)
{
	pthread_mutex_destroy(&cap->lock);
	free(cap);
}

/* A client for the server (or url when not NULL). */
static drukbox_client *client_for(const char *url, const char *token,
				  double timeout, capture *cap)
{
	drukbox_options o = { .url = url ? url : srv.url, .token = token,
			      .timeout = timeout };
	drukbox_client *c = NULL;

	if (cap) {
		o.debug = capture_line;
		o.debug_ctx = cap;
	}
	CU_ASSERT_EQUAL(drukbox_client_new(&c, &o), 0);
	return c;
}

static drukbox_client *client_ok(void)
{
	return client_for(NULL, LOCAL_TOKEN, 10, NULL);
}

/* Asserts the last error: class, status and (when not NULL) that the
 * detail contains `detail`. */
static void expect_error(int rc, drukbox_err code, int status,
			 const char *detail)
{
	const drukbox_error *e = drukbox_error_last();

	if (rc != -(int)code || e->code != code || e->http_status != status ||
	    (detail && !strstr(e->detail, detail)))
		fprintf(stderr, "got rc %d class %s status %d detail \"%s\"; "
			"want %s %d \"%s\"\n", rc, drukbox_err_name(e->code),
			e->http_status, e->detail, drukbox_err_name(code),
			status, detail ? detail : "");
	CU_ASSERT_EQUAL(rc, -(int)code);
	CU_ASSERT_EQUAL(e->code, code);
	CU_ASSERT_EQUAL(e->http_status, status);
	if (detail)
		CU_ASSERT_PTR_NOT_NULL(strstr(e->detail, detail));
}

/* Seeds one host in `status` and returns its id (caller frees). */
static char *seed_one(const char *status)
{
	char *id = NULL;

	CU_ASSERT_EQUAL_FATAL(local_seed(&srv, 1, status, &id, 1), 1);
	return id;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Asserts the last recorded request for route had exactly this body. */
static void expect_body(const char *route, const char *want)
{
	char *body = local_last_request_body(&srv, route);

	CU_ASSERT_PTR_NOT_NULL_FATAL(body);
	if (strcmp(body, want) != 0)
		fprintf(stderr, "%s body: got \"%s\" want \"%s\"\n", route,
			body, want);
	CU_ASSERT_STRING_EQUAL(body, want);
	free(body);
}

/* Asserts a header of the last request for route (want NULL: absent). */
static void expect_header(const char *route, const char *name,
			  const char *want)
{
	char *value = local_last_request_header(&srv, route, name);

	if (want) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(value);
		CU_ASSERT_STRING_EQUAL(value, want);
	} else {
		CU_ASSERT_PTR_NULL(value);
	}
	free(value);
}

/* ---- operations ------------------------------------------------------------ */

static void test_healthz_without_token(void)
{
	drukbox_client *c = client_for(NULL, NULL, 10, NULL);

	begin();
	CU_ASSERT_EQUAL(drukbox_healthz(c), 0);
	CU_ASSERT_EQUAL(local_route_count(&srv, "GET /healthz"), 1);
	expect_header("GET /healthz", "authorization", NULL);
	drukbox_client_free(c);
	/* and a client with a token does not send it to healthz either */
	c = client_ok();
	CU_ASSERT_EQUAL(drukbox_healthz(c), 0);
	expect_header("GET /healthz", "authorization", NULL);
	drukbox_client_free(c);
}

static void test_list_newest_first(void)
{
	drukbox_client *c = client_ok();
	drukbox_host_list *list = NULL;
	char *ids[3] = { NULL };

	begin();
	CU_ASSERT_EQUAL(drukbox_host_list_get(c, &list), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(list);
	CU_ASSERT_EQUAL(list->count, 0);
	drukbox_host_list_free(list);
	CU_ASSERT_EQUAL_FATAL(local_seed(&srv, 3, "active", ids, 3), 3);
	CU_ASSERT_EQUAL(drukbox_host_list_get(c, &list), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(list);
	CU_ASSERT_EQUAL_FATAL(list->count, 3);
	CU_ASSERT_EQUAL(list->skipped, 0);
	CU_ASSERT_STRING_EQUAL(list->hosts[0]->id, ids[2]);
	CU_ASSERT_STRING_EQUAL(list->hosts[2]->id, ids[0]);
	CU_ASSERT_STRING_EQUAL(list->hosts[0]->status, "active");
	CU_ASSERT_EQUAL(local_route_count(&srv, "GET /hosts"), 2);
	expect_header("GET /hosts", "accept", "application/json");
	expect_header("GET /hosts", "content-type", NULL);
	expect_header("GET /hosts", "authorization", "Bearer " LOCAL_TOKEN);
	expect_header("GET /hosts", "user-agent",
		      "libdrukbox/" DRUKBOX_VERSION);
	drukbox_host_list_free(list);
	for (int i = 0; i < 3; i++)
		free(ids[i]);
	drukbox_client_free(c);
}

static void test_get(void)
{
	drukbox_client *c = client_ok();
	drukbox_host *h = NULL;
	char *id;

	begin();
	id = seed_one("active");
	CU_ASSERT_EQUAL(drukbox_host_get(c, id, &h), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_STRING_EQUAL(h->id, id);
	CU_ASSERT_STRING_EQUAL(h->status, "active");
	CU_ASSERT_PTR_NULL(h->private_key);
	CU_ASSERT_PTR_NOT_NULL(h->known_hosts);
	{
		char *json = NULL;

		CU_ASSERT_EQUAL(drukbox_host_json(&json, NULL, h), 0);
		CU_ASSERT_PTR_NOT_NULL(json ? strstr(json, id) : NULL);
		free(json);
	}
	CU_ASSERT_EQUAL(local_route_count(&srv, "GET /hosts/{id}"), 1);
	drukbox_host_free(h);
	free(id);
	drukbox_client_free(c);
}

/* A fresh create returns the private key exactly once. */
static void test_create_and_private_key_once(void)
{
	drukbox_client *c = client_ok();
	drukbox_host *h = NULL, *again = NULL;

	begin();
	CU_ASSERT_EQUAL_FATAL(drukbox_host_create(c, NULL, &h), 0);
	CU_ASSERT_STRING_EQUAL(h->status, "active");
	CU_ASSERT_PTR_NOT_NULL_FATAL(h->private_key);
	CU_ASSERT(strncmp(h->private_key, "-----BEGIN OPENSSH PRIVATE KEY",
			  30) == 0);
	CU_ASSERT_PTR_NOT_NULL(h->expires_at); /* the default lease */
	CU_ASSERT_EQUAL(drukbox_host_get(c, h->id, &again), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(again);
	CU_ASSERT_PTR_NULL(again->private_key);
	drukbox_host_free(again);
	drukbox_host_free(h);
	drukbox_client_free(c);
}

static void test_renew(void)
{
	drukbox_client *c = client_ok();
	drukbox_host *h = NULL;
	char *id;

	begin();
	id = seed_one("active");
	CU_ASSERT_EQUAL(drukbox_host_renew(c, id, NULL, &h), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_PTR_NOT_NULL(h->expires_at);
	expect_body("POST /hosts/{id}/renew", "");
	expect_header("POST /hosts/{id}/renew", "content-type", NULL);
	drukbox_host_free(h);
	CU_ASSERT_EQUAL(drukbox_host_renew(c, id, "2099-01-02T03:04:05+00:00",
					   &h), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT(strncmp(h->expires_at, "2099-01-02T03:04:05", 19) == 0);
	expect_body("POST /hosts/{id}/renew",
		    "{\"expires_at\": \"2099-01-02T03:04:05+00:00\"}");
	expect_header("POST /hosts/{id}/renew", "content-type",
		      "application/json");
	drukbox_host_free(h);
	free(id);
	drukbox_client_free(c);
}

static void test_delete(void)
{
	drukbox_client *c = client_ok();
	drukbox_host *h = NULL;
	char *id;

	begin();
	id = seed_one("active");
	CU_ASSERT_EQUAL(drukbox_host_delete(c, id), 0);
	CU_ASSERT_EQUAL(drukbox_error_last()->code, DRUKBOX_OK);
	CU_ASSERT_EQUAL(local_route_count(&srv, "DELETE /hosts/{id}"), 1);
	expect_error(drukbox_host_get(c, id, &h), DRUKBOX_ENOTFOUND, 404,
		     "host not found");
	CU_ASSERT_PTR_NULL(h);
	free(id);
	drukbox_client_free(c);
}

static void test_doctor(void)
{
	drukbox_client *c = client_ok();
	drukbox_doctor *d = NULL;

	begin();
	CU_ASSERT_EQUAL_FATAL(drukbox_doctor_get(c, &d), 0);
	CU_ASSERT(d->ok);
	CU_ASSERT_STRING_EQUAL(d->active_provider, "docker");
	CU_ASSERT_EQUAL(d->check_count, 3);
	drukbox_doctor_free(d);
	d = NULL;
	CU_ASSERT_EQUAL(local_config(&srv, "{\"doctor_fail\": [\"db\"]}"), 0);
	CU_ASSERT_EQUAL_FATAL(drukbox_doctor_get(c, &d), 0);
	CU_ASSERT_FALSE(d->ok);
	CU_ASSERT_EQUAL_FATAL(d->check_count, 3);
	CU_ASSERT_STRING_EQUAL(d->checks[0].name, "db");
	CU_ASSERT_STRING_EQUAL(d->checks[0].status, "fail");
	CU_ASSERT_STRING_EQUAL(d->checks[0].hint,
			       "check_database_url_and_engine");
	drukbox_doctor_free(d);
	drukbox_client_free(c);
}

static void test_proxies(void)
{
	static const drukbox_env_var headers[] = {
		{ "Authorization", "Bearer upstream" },
	};
	drukbox_client *c = client_ok();
	char *id;

	begin();
	id = seed_one("active");
	CU_ASSERT_EQUAL(drukbox_proxy_create(c, "api.v1", "https://api.example",
					     headers, 1), 0);
	expect_body("POST /http-proxies",
		    "{\"name\": \"api.v1\", \"target\": \"https://api.example\","
		    " \"headers\": {\"Authorization\": \"Bearer upstream\"}}");
	expect_error(drukbox_proxy_create(c, "api.v1", "https://api.example",
					  headers, 1),
		     DRUKBOX_ECONFLICT, 409, "already exists");
	CU_ASSERT_EQUAL(drukbox_proxy_attach(c, "api.v1", id), 0);
	CU_ASSERT_EQUAL(drukbox_proxy_detach(c, "api.v1", id), 0);
	CU_ASSERT_EQUAL(drukbox_proxy_delete(c, "api.v1"), 0);
	expect_error(drukbox_proxy_delete(c, "api.v1"), DRUKBOX_ENOTFOUND, 404,
		     NULL);
	expect_error(drukbox_proxy_create(c, "p", "https://x", headers, 0),
		     DRUKBOX_EINVAL, 0, NULL);
	expect_error(drukbox_proxy_create(c, "bad name", "https://x", headers,
					  1), DRUKBOX_EVALIDATION, 422, NULL);
	free(id);
	drukbox_client_free(c);
}

/* A stored body goes out byte for byte; a body that is not an object is
 * refused before anything is sent. */
static void test_create_json(void)
{
	drukbox_client *c = client_ok();
	drukbox_host *h = NULL;
	const char *body = "{\"image\": \"debian-12\", \"expires_at\": null}";

	begin();
	CU_ASSERT_EQUAL_FATAL(drukbox_host_create_json(c, body, "resume-1", &h),
			      0);
	CU_ASSERT_PTR_NULL(h->expires_at);
	expect_body("POST /hosts", body);
	expect_header("POST /hosts", "idempotency-key", "resume-1");
	drukbox_host_free(h);
	h = NULL;
	CU_ASSERT_EQUAL(local_reset(&srv), 0);
	expect_error(drukbox_host_create_json(c, "[]", NULL, &h),
		     DRUKBOX_EINVAL, 0, NULL);
	expect_error(drukbox_host_create_json(c, "{", NULL, &h),
		     DRUKBOX_EINVAL, 0, NULL);
	expect_error(drukbox_host_create_json(c, "{}", "bad key", &h),
		     DRUKBOX_EINVAL, 0, NULL);
	CU_ASSERT_PTR_NULL(h);
	CU_ASSERT_EQUAL(local_request_count(&srv, NULL), 0);
	drukbox_client_free(c);
}

/* ---- the contract's error table, through real responses ------------------ */

static void test_401_without_token(void)
{
	drukbox_client *c = client_for(NULL, NULL, 10, NULL);
	drukbox_host_list *list = NULL;

	begin();
	expect_error(drukbox_host_list_get(c, &list), DRUKBOX_EAUTH, 401,
		     "service token required");
	CU_ASSERT_PTR_NULL(list);
	expect_header("GET /hosts", "authorization", NULL);
	CU_ASSERT_EQUAL(drukbox_err_errno(drukbox_error_last()->code), EACCES);
	drukbox_client_free(c);
}

static void test_403_wrong_token(void)
{
	drukbox_client *c = client_for(NULL, WRONG_TOKEN, 10, NULL);
	drukbox_host_list *list = NULL;

	begin();
	expect_error(drukbox_host_list_get(c, &list), DRUKBOX_EAUTH, 403,
		     "service token rejected");
	CU_ASSERT_PTR_NULL(strstr(drukbox_error_last()->detail, WRONG_TOKEN));
	drukbox_client_free(c);
}

static void test_404(void)
{
	drukbox_client *c = client_ok();
	drukbox_host *h = NULL;

	begin();
	expect_error(drukbox_host_get(c, UNKNOWN_ID, &h), DRUKBOX_ENOTFOUND,
		     404, "host not found");
	CU_ASSERT_STRING_EQUAL(drukbox_error_last()->error_code, "NOT_FOUND");
	expect_error(drukbox_host_delete(c, UNKNOWN_ID), DRUKBOX_ENOTFOUND, 404,
		     NULL);
	CU_ASSERT_PTR_NULL(h);
	drukbox_client_free(c);
}

static void test_409_delete_while_provisioning(void)
{
	drukbox_client *c = client_ok();
	char *id;

	begin();
	id = seed_one("provisioning");
	expect_error(drukbox_host_delete(c, id), DRUKBOX_ECONFLICT, 409,
		     "host is still provisioning");
	CU_ASSERT_STRING_EQUAL(drukbox_error_last()->error_code, "HOST_STATE");
	free(id);
	drukbox_client_free(c);
}

static void test_409_renew_error_host(void)
{
	drukbox_client *c = client_ok();
	drukbox_host *h = NULL;
	char *id;

	begin();
	id = seed_one("error");
	expect_error(drukbox_host_renew(c, id, NULL, &h), DRUKBOX_ECONFLICT,
		     409, "cannot renew a host in status error");
	CU_ASSERT_PTR_NULL(h);
	free(id);
	drukbox_client_free(c);
}

/* Two validation failures: both messages, joined with "; ". */
static void test_422_detail_list_joined(void)
{
	drukbox_client *c = client_ok();
	drukbox_create_opts o = { .image = " ", .expiry = DRUKBOX_EXPIRY_AT,
				  .expires_at = "2001-01-01T00:00:00+00:00" };
	drukbox_host *h = NULL;

	begin();
	expect_error(drukbox_host_create(c, &o, &h), DRUKBOX_EVALIDATION, 422,
		     "must not be blank; timestamp must be in the future");
	CU_ASSERT_PTR_NULL(h);
	/* an id that is not a UUID is a 422 too */
	expect_error(drukbox_host_get(c, "not-a-uuid", &h),
		     DRUKBOX_EVALIDATION, 422, "valid UUID");
	drukbox_client_free(c);
}

static void test_502_provisioning_failed(void)
{
	drukbox_client *c = client_ok();
	drukbox_host *h = NULL;
	drukbox_host_list *list = NULL;

	begin();
	CU_ASSERT_EQUAL(local_config(&srv, "{\"fail_next\": 1, "
					   "\"fail_message\": \"out of ducks\"}"),
			0);
	expect_error(drukbox_host_create(c, NULL, &h), DRUKBOX_EPROVISION, 502,
		     "out of ducks");
	CU_ASSERT_STRING_EQUAL(drukbox_error_last()->error_code,
			       "PROVISIONING_FAILED");
	CU_ASSERT_PTR_NULL(h);
	/* the row stays, in error */
	CU_ASSERT_EQUAL_FATAL(drukbox_host_list_get(c, &list), 0);
	CU_ASSERT_EQUAL_FATAL(list->count, 1);
	CU_ASSERT_STRING_EQUAL(list->hosts[0]->status, "error");
	CU_ASSERT_STRING_EQUAL(list->hosts[0]->last_error, "out of ducks");
	drukbox_host_list_free(list);
	drukbox_client_free(c);
}

static void test_503(void)
{
	drukbox_client *c = client_ok();
	drukbox_host_list *list = NULL;
	char *id;

	begin();
	CU_ASSERT_EQUAL(local_fault(&srv, "{\"route\": \"GET /hosts\", "
					  "\"kind\": \"status\", \"status\": 503,"
					  " \"body\": \"{\\\"detail\\\": "
					  "\\\"database unavailable\\\"}\"}"), 0);
	expect_error(drukbox_host_list_get(c, &list), DRUKBOX_EUNAVAILABLE, 503,
		     "database unavailable");
	CU_ASSERT_EQUAL(drukbox_err_errno(drukbox_error_last()->code), EAGAIN);
	/* and the real one: a failed teardown */
	id = seed_one("active");
	CU_ASSERT_EQUAL(local_config(&srv, "{\"teardown_fail_next\": 1}"), 0);
	expect_error(drukbox_host_delete(c, id), DRUKBOX_EUNAVAILABLE, 503,
		     "teardown failed");
	CU_ASSERT_STRING_EQUAL(drukbox_error_last()->error_code,
			       "HOST_TEARDOWN");
	free(id);
	drukbox_client_free(c);
}

static void test_400_unknown_provider(void)
{
	drukbox_client *c = client_ok();
	drukbox_create_opts o = { .provider = "nimbus" };
	drukbox_host *h = NULL;

	begin();
	expect_error(drukbox_host_create(c, &o, &h), DRUKBOX_EBADREQUEST, 400,
		     "unknown provider");
	CU_ASSERT_PTR_NOT_NULL(strstr(drukbox_error_last()->detail, "docker"));
	CU_ASSERT_PTR_NULL(h);
	drukbox_client_free(c);
}

static void test_500_other_status(void)
{
	drukbox_client *c = client_ok();
	drukbox_host_list *list = NULL;

	begin();
	CU_ASSERT_EQUAL(local_fault(&srv, "{\"route\": \"GET /hosts\", "
					  "\"kind\": \"status\", "
					  "\"status\": 500}"), 0);
	expect_error(drukbox_host_list_get(c, &list), DRUKBOX_ERESPONSE, 500,
		     "injected fault");
	CU_ASSERT_EQUAL(local_fault(&srv, "{\"route\": \"GET /hosts\", "
					  "\"kind\": \"status\", "
					  "\"status\": 418}"), 0);
	expect_error(drukbox_host_list_get(c, &list), DRUKBOX_ERESPONSE, 418, NULL);
	CU_ASSERT_PTR_NULL(list);
	/* a 3xx is not success (and redirects are never followed) */
	CU_ASSERT_EQUAL(local_fault(&srv, "{\"route\": \"GET /hosts\", "
					  "\"kind\": \"status\", "
					  "\"status\": 302}"), 0);
	expect_error(drukbox_host_list_get(c, &list), DRUKBOX_ERESPONSE, 302,
		     "unexpected HTTP status 302");
	CU_ASSERT_EQUAL(local_route_count(&srv, "GET /hosts"), 3);
	drukbox_client_free(c);
}

/* Error bodies without a usable detail get the class's fixed text. */
static void test_error_body_without_detail(void)
{
	drukbox_client *c = client_ok();
	drukbox_host *h = NULL;

	begin();
	CU_ASSERT_EQUAL(local_fault(&srv, "{\"route\": \"GET /hosts/{id}\", "
					  "\"kind\": \"status\", \"status\": 404,"
					  " \"body\": \"{}\"}"), 0);
	expect_error(drukbox_host_get(c, UNKNOWN_ID, &h), DRUKBOX_ENOTFOUND,
		     404, NULL);
	CU_ASSERT_STRING_EQUAL(drukbox_error_last()->detail, "not found");
	CU_ASSERT_EQUAL(local_fault(&srv, "{\"route\": \"GET /hosts/{id}\", "
					  "\"kind\": \"status\", \"status\": 409,"
					  " \"body\": \"<html>busy</html>\"}"),
			0);
	expect_error(drukbox_host_get(c, UNKNOWN_ID, &h), DRUKBOX_ECONFLICT,
		     409, NULL);
	CU_ASSERT_STRING_EQUAL(drukbox_error_last()->detail,
			       "the host's state does not allow this");
	CU_ASSERT_EQUAL(local_fault(&srv, "{\"route\": \"GET /hosts/{id}\", "
					  "\"kind\": \"status\", \"status\": 503,"
					  " \"body\": \"{\\\"detail\\\": 7}\"}"),
			0);
	expect_error(drukbox_host_get(c, UNKNOWN_ID, &h), DRUKBOX_EUNAVAILABLE,
		     503, NULL);
	CU_ASSERT_STRING_EQUAL(drukbox_error_last()->detail,
			       "service unavailable");
	drukbox_client_free(c);
}

/* ---- exact requests -------------------------------------------------------- */

/* expires_at is tri-state on the wire: absent, null, or a time. */
static void test_create_bodies_tri_state(void)
{
	drukbox_client *c = client_ok();
	drukbox_create_opts o = { 0 };
	drukbox_host *h = NULL;

	begin();
	CU_ASSERT_EQUAL_FATAL(drukbox_host_create(c, &o, &h), 0);
	expect_body("POST /hosts", "{}");
	expect_header("POST /hosts", "content-type", "application/json");
	expect_header("POST /hosts", "idempotency-key", NULL);
	CU_ASSERT_PTR_NOT_NULL(h->expires_at);
	drukbox_host_free(h);

	o.expiry = DRUKBOX_EXPIRY_NEVER;
	CU_ASSERT_EQUAL_FATAL(drukbox_host_create(c, &o, &h), 0);
	expect_body("POST /hosts", "{\"expires_at\": null}");
	CU_ASSERT_PTR_NULL(h->expires_at); /* permanent */
	drukbox_host_free(h);

	o.expiry = DRUKBOX_EXPIRY_AT;
	o.expires_at = "2098-05-06T07:08:09+00:00";
	CU_ASSERT_EQUAL_FATAL(drukbox_host_create(c, &o, &h), 0);
	expect_body("POST /hosts",
		    "{\"expires_at\": \"2098-05-06T07:08:09+00:00\"}");
	CU_ASSERT(strncmp(h->expires_at, "2098-05-06T07:08:09", 19) == 0);
	drukbox_host_free(h);
	drukbox_client_free(c);
}

static void test_create_body_all_fields(void)
{
	static const drukbox_env_var env[] = { { "GREETING", "hi \"there\"" },
					       { "_X1", "" } };
	drukbox_client *c = client_ok();
	drukbox_create_opts o = { .image = "ubuntu-24.04", .provider = "docker",
				  .instance_type = "small", .disk_gb = 8,
				  .env = env, .env_count = 2 };
	drukbox_host *h = NULL;

	begin();
	CU_ASSERT_EQUAL_FATAL(drukbox_host_create(c, &o, &h), 0);
	expect_body("POST /hosts", "{\"image\": \"ubuntu-24.04\", \"provider\":"
				   " \"docker\", \"instance_type\": \"small\","
				   " \"disk_gb\": 8, \"env\": {\"GREETING\": "
				   "\"hi \\\"there\\\"\", \"_X1\": \"\"}}");
	CU_ASSERT_STRING_EQUAL(h->image, "ubuntu-24.04");
	CU_ASSERT_STRING_EQUAL(h->instance_type, "small");
	CU_ASSERT(h->has_disk_gb && h->disk_gb == 8);
	drukbox_host_free(h);
	drukbox_client_free(c);
}

/* The same key returns the host it created, without the key material,
 * and the service creates only one host. */
static void test_idempotency_replay(void)
{
	drukbox_client *c = client_ok();
	drukbox_create_opts o = { .idempotency_key = "job-42:attempt.1" };
	drukbox_host *first = NULL, *second = NULL;
	drukbox_host_list *list = NULL;

	begin();
	CU_ASSERT_EQUAL_FATAL(drukbox_host_create(c, &o, &first), 0);
	CU_ASSERT_PTR_NOT_NULL(first->private_key);
	expect_header("POST /hosts", "idempotency-key", "job-42:attempt.1");
	CU_ASSERT_EQUAL_FATAL(drukbox_host_create(c, &o, &second), 0);
	CU_ASSERT_STRING_EQUAL(second->id, first->id);
	CU_ASSERT_PTR_NULL(second->private_key);
	CU_ASSERT_EQUAL(local_route_count(&srv, "POST /hosts"), 2);
	CU_ASSERT_EQUAL_FATAL(drukbox_host_list_get(c, &list), 0);
	CU_ASSERT_EQUAL(list->count, 1);
	drukbox_host_list_free(list);
	drukbox_host_free(first);
	drukbox_host_free(second);
	drukbox_client_free(c);
}

/* Ids are percent-escaped into one path segment, dots included. */
static void test_path_escaping(void)
{
	drukbox_client *c = client_ok();
	drukbox_host *h = NULL;
	char *path;

	begin();
	expect_error(drukbox_host_get(c, "a/b c?d", &h), DRUKBOX_EVALIDATION,
		     422, NULL);
	expect_error(drukbox_host_get(c, "..", &h), DRUKBOX_EVALIDATION, 422,
		     NULL);
	CU_ASSERT_EQUAL(local_route_count(&srv, "GET /hosts/{id}"), 2);
	path = local_last_request_path(&srv, "GET /hosts/{id}");
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	CU_ASSERT_STRING_EQUAL(path, PREFIX "/hosts/%2E%2E");
	free(path);
	CU_ASSERT_EQUAL(local_route_count(&srv, "GET /hosts"), 0);
	/* the first one, as sent */
	CU_ASSERT_EQUAL(local_reset(&srv), 0);
	expect_error(drukbox_host_get(c, "a/b c?d", &h), DRUKBOX_EVALIDATION,
		     422, NULL);
	path = local_last_request_path(&srv, "GET /hosts/{id}");
	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	CU_ASSERT_STRING_EQUAL(path, PREFIX "/hosts/a%2Fb%20c%3Fd");
	free(path);
	drukbox_client_free(c);
}

/* Empty ids and names are refused before anything is sent. */
static void test_invalid_arguments_send_nothing(void)
{
	drukbox_client *c = client_ok();
	drukbox_host *h = NULL;
	static const drukbox_env_var hdr[] = { { "A", "b" } };

	begin();
	expect_error(drukbox_host_get(c, "", &h), DRUKBOX_EINVAL, 0, NULL);
	expect_error(drukbox_host_get(c, NULL, &h), DRUKBOX_EINVAL, 0, NULL);
	expect_error(drukbox_host_delete(c, ""), DRUKBOX_EINVAL, 0, NULL);
	expect_error(drukbox_host_renew(c, "", NULL, &h), DRUKBOX_EINVAL, 0,
		     NULL);
	expect_error(drukbox_host_renew(c, UNKNOWN_ID, "", &h), DRUKBOX_EINVAL,
		     0, NULL);
	expect_error(drukbox_proxy_delete(c, ""), DRUKBOX_EINVAL, 0, NULL);
	expect_error(drukbox_proxy_attach(c, "p", ""), DRUKBOX_EINVAL, 0, NULL);
	expect_error(drukbox_proxy_detach(c, "", UNKNOWN_ID), DRUKBOX_EINVAL,
		     0, NULL);
	expect_error(drukbox_proxy_create(c, "", "https://x", hdr, 1),
		     DRUKBOX_EINVAL, 0, NULL);
	expect_error(drukbox_host_get(NULL, UNKNOWN_ID, &h), DRUKBOX_EINVAL, 0,
		     NULL);
	{
		static const drukbox_env_var env[] = { { "1BAD", "v" } };
		drukbox_create_opts o = { .env = env, .env_count = 1 };

		expect_error(drukbox_host_create(c, &o, &h), DRUKBOX_EINVAL, 0,
			     NULL);
		o.env_count = 0;
		o.idempotency_key = "no spaces allowed";
		expect_error(drukbox_host_create(c, &o, &h), DRUKBOX_EINVAL, 0,
			     NULL);
	}
	CU_ASSERT_EQUAL(drukbox_err_errno(drukbox_error_last()->code), EINVAL);
	CU_ASSERT_PTR_NULL(h);
	CU_ASSERT_EQUAL(local_request_count(&srv, NULL), 0);
	drukbox_client_free(c);
}

/* ---- broken responses and transports -------------------------------------- */

static void test_200_not_json(void)
{
	drukbox_client *c = client_ok();
	drukbox_host_list *list = NULL;
	drukbox_host *h = NULL;
	char *id;

	begin();
	CU_ASSERT_EQUAL(local_fault(&srv, "{\"route\": \"GET /hosts\", "
					  "\"kind\": \"garbage\"}"), 0);
	expect_error(drukbox_host_list_get(c, &list), DRUKBOX_EPROTOCOL, 200, NULL);
	CU_ASSERT_PTR_NULL(list);
	CU_ASSERT_EQUAL(drukbox_err_errno(drukbox_error_last()->code), EPROTO);
	/* JSON, but a host record with a wrong type */
	id = seed_one("active");
	CU_ASSERT_EQUAL(local_fault(&srv, "{\"route\": \"GET /hosts/{id}\", "
					  "\"kind\": \"body\", \"body\": "
					  "\"{\\\"id\\\": \\\"x\\\", "
					  "\\\"disk_gb\\\": \\\"big\\\"}\"}"), 0);
	expect_error(drukbox_host_get(c, id, &h), DRUKBOX_EPROTOCOL, 200,
		     "\"disk_gb\"");
	CU_ASSERT_PTR_NULL(h);
	/* healthz must really say ok */
	CU_ASSERT_EQUAL(local_fault(&srv, "{\"route\": \"GET /healthz\", "
					  "\"kind\": \"body\", \"body\": "
					  "\"{\\\"status\\\": \\\"down\\\"}\"}"),
			0);
	expect_error(drukbox_healthz(c), DRUKBOX_EPROTOCOL, 200, NULL);
	free(id);
	drukbox_client_free(c);
}

static void test_truncated_body(void)
{
	drukbox_client *c = client_ok();
	drukbox_host *h = NULL;
	char *id;

	begin();
	id = seed_one("active");
	CU_ASSERT_EQUAL(local_fault(&srv, "{\"route\": \"GET /hosts/{id}\", "
					  "\"kind\": \"truncate\"}"), 0);
	expect_error(drukbox_host_get(c, id, &h), DRUKBOX_EPROTOCOL, 200, NULL);
	CU_ASSERT_PTR_NULL(h);
	/* the connection is still good for the next call */
	CU_ASSERT_EQUAL(drukbox_host_get(c, id, &h), 0);
	drukbox_host_free(h);
	free(id);
	drukbox_client_free(c);
}

static void test_short_body(void)
{
	drukbox_client *c = client_ok();
	drukbox_host_list *list = NULL;

	begin();
	CU_ASSERT_EQUAL(local_fault(&srv, "{\"route\": \"GET /hosts\", "
					  "\"kind\": \"short\"}"), 0);
	expect_error(drukbox_host_list_get(c, &list), DRUKBOX_ETRANSPORT, 0, NULL);
	CU_ASSERT_PTR_NULL(list);
	CU_ASSERT_EQUAL(drukbox_err_errno(drukbox_error_last()->code),
			EHOSTUNREACH);
	CU_ASSERT_EQUAL(drukbox_host_list_get(c, &list), 0);
	drukbox_host_list_free(list);
	drukbox_client_free(c);
}

static void test_dropped_connection(void)
{
	drukbox_client *c = client_ok();
	drukbox_host_list *list = NULL;

	begin();
	/* every try: curl may retry a reused connection once by itself */
	CU_ASSERT_EQUAL(local_fault(&srv, "{\"route\": \"GET /hosts\", "
					  "\"kind\": \"drop\", \"count\": -1}"),
			0);
	expect_error(drukbox_host_list_get(c, &list), DRUKBOX_ETRANSPORT, 0, NULL);
	CU_ASSERT_PTR_NULL(list);
	drukbox_client_free(c);
}

/* ---- GET /hosts read as it arrives (drukbox_host_list_each) ---------------- */

typedef struct each_log {
	size_t got, fail_at;
	char *ids[64];
} each_log;

static int each_sink(void *ctx, drukbox_host *host)
{
	each_log *l = ctx;

	if (l->got < 64)
		l->ids[l->got] = strdup(host->id);
	l->got++;
	drukbox_host_free(host);
	return l->got == l->fail_at ? -DRUKBOX_ECONFLICT : 0;
}

static void each_log_free(each_log *l)
{
	for (size_t i = 0; i < 64; i++)
		free(l->ids[i]);
}

/* Seeds 40 active hosts (a body of about 25 kB). */
static void seed_forty(void)
{
	char *ids[40] = { NULL };

	CU_ASSERT_EQUAL_FATAL(local_seed(&srv, 40, "active", ids, 40), 40);
	for (size_t i = 0; i < 40; i++)
		free(ids[i]);
}

/* The sink gets every record, in the list's order; *out counts them and
 * holds no hosts. */
static void test_list_each(void)
{
	drukbox_client *c = client_ok();
	drukbox_host_list *list = NULL, *whole = NULL;
	each_log l = { 0 };

	begin();
	seed_forty();
	CU_ASSERT_EQUAL(drukbox_host_list_get(c, &whole), 0);
	CU_ASSERT_EQUAL(drukbox_host_list_each(c, each_sink, &l, &list), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(list);
	CU_ASSERT_PTR_NOT_NULL_FATAL(whole);
	CU_ASSERT_EQUAL(l.got, 40);
	CU_ASSERT_EQUAL(list->count, 40);
	CU_ASSERT_PTR_NULL(list->hosts);
	CU_ASSERT_EQUAL_FATAL(whole->count, 40);
	for (size_t i = 0; i < 40; i++)
		CU_ASSERT_STRING_EQUAL(l.ids[i], whole->hosts[i]->id);
	drukbox_host_list_free(list);
	CU_ASSERT_EQUAL(drukbox_host_list_each(c, NULL, &l, &list),
			-DRUKBOX_EINVAL);
	CU_ASSERT_EQUAL(drukbox_host_list_each(NULL, each_sink, &l, &list),
			-DRUKBOX_EINVAL);
	CU_ASSERT_PTR_NULL(list);
	drukbox_host_list_free(whole);
	each_log_free(&l);
	drukbox_client_free(c);
}

/* Records reach the sink while the body is still coming: a body cut
 * short fails the call, after the records before the cut were handed
 * over; and a sink's error ends the transfer with it. */
static void test_list_each_streams(void)
{
	drukbox_client *c = client_ok();
	drukbox_host_list *list = NULL;
	each_log l = { 0 }, stop = { .fail_at = 3 };

	begin();
	seed_forty();
	CU_ASSERT_EQUAL(local_fault(&srv, "{\"route\": \"GET /hosts\", "
					  "\"kind\": \"short\"}"), 0);
	expect_error(drukbox_host_list_each(c, each_sink, &l, &list),
		     DRUKBOX_ETRANSPORT, 0, NULL);
	CU_ASSERT_PTR_NULL(list);
	CU_ASSERT(l.got > 0);
	CU_ASSERT(l.got < 40);
	CU_ASSERT_EQUAL(drukbox_host_list_each(c, each_sink, &stop, &list),
			-DRUKBOX_ECONFLICT);
	CU_ASSERT_EQUAL(stop.got, 3);
	CU_ASSERT_PTR_NULL(list);
	each_log_free(&l);
	each_log_free(&stop);
	drukbox_client_free(c);
}

/* ---- a server that lies about Content-Length ------------------------------ */

/* Answers one connection with a canned response, byte for byte, then
 * closes it: drukbox-local always sends a true Content-Length. */
typedef struct canned {
	int fd;
	const char *response;
	pthread_t thread;
	char url[64];
} canned;

static void *canned_serve(void *arg)
{
	canned *c = arg;
	char head[4096];
	size_t got = 0;
	ssize_t n;
	int conn = accept(c->fd, NULL, NULL);

	if (conn < 0)
		return NULL;
	while (got < sizeof(head) - 1 &&
	       (n = recv(conn, head + got, sizeof(head) - 1 - got, 0)) > 0) {
		got += (size_t)n;
		head[got] = '\0';
		if (strstr(head, "\r\n\r\n"))
			break;
	}
	n = send(conn, c->response, strlen(c->response), MSG_NOSIGNAL);
	(void)n;
	close(conn);
	return NULL;
}

/* Starts serving `response` once; c->url is where. */
static void canned_start(canned *c, const char *response)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);

	c->response = response;
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_FATAL(c->fd >= 0 &&
			bind(c->fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
			listen(c->fd, 1) == 0 &&
			getsockname(c->fd, (struct sockaddr *)&a, &len) == 0);
	snprintf(c->url, sizeof(c->url), "http://127.0.0.1:%d",
		 ntohs(a.sin_port));
	CU_ASSERT_FATAL(pthread_create(&c->thread, NULL, canned_serve, c) == 0);
}

static void canned_stop(canned *c)
{
	pthread_join(c->thread, NULL);
	close(c->fd);
}

/* GET /hosts from a server sending `response`; the rc, the list freed. */
static int list_from(const char *response, size_t *count)
{
	canned srv1;
	drukbox_client *c;
	drukbox_host_list *list = NULL;
	int rc;

	canned_start(&srv1, response);
	c = client_for(srv1.url, LOCAL_TOKEN, 10, NULL);
	rc = drukbox_host_list_get(c, &list);
	*count = list ? list->count : 0;
	drukbox_host_list_free(list);
	drukbox_client_free(c);
	canned_stop(&srv1);
	return rc;
}

#define HEAD "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"

/* The body buffer is sized from Content-Length, which is only a hint:
 * a short one means only that many bytes are the body, a long one a body
 * cut short, and one past the response cap is refused before anything is
 * allocated for it. */
static void test_content_length_lies(void)
{
	size_t count = 99;

	CU_ASSERT_EQUAL(list_from(HEAD "Content-Length: 2\r\n\r\n"
					"[]{\"id\": \"x\"}", &count), 0);
	CU_ASSERT_EQUAL(count, 0);
	expect_error(list_from(HEAD "Content-Length: 5\r\n\r\n"
				    "[{\"id\": \"x\"}]", &count),
		     DRUKBOX_EPROTOCOL, 200, "ends too early");
	expect_error(list_from(HEAD "Content-Length: 1000000\r\n\r\n"
				    "[{\"id\": \"x\"}]", &count),
		     DRUKBOX_ETRANSPORT, 0, NULL);
	expect_error(list_from(HEAD "Content-Length: 100000000000\r\n\r\n"
				    "[]", &count),
		     DRUKBOX_EPROTOCOL, 0, "too large");
	CU_ASSERT_EQUAL(list_from(HEAD "Content-Length: 13\r\n\r\n"
				       "[{\"id\": \"x\"}]", &count), 0);
	CU_ASSERT_EQUAL(count, 1);
	/* no Content-Length at all: read to the end */
	CU_ASSERT_EQUAL(list_from("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
				  "[{\"id\": \"x\"}, {\"id\": \"y\"}]", &count),
			0);
	CU_ASSERT_EQUAL(count, 2);
}

/* A port nobody listens on. */
static int closed_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &len);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void test_connection_refused(void)
{
	char url[64];
	drukbox_client *c;
	drukbox_host_list *list = NULL;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", closed_port());
	c = client_for(url, LOCAL_TOKEN, 5, NULL);
	expect_error(drukbox_host_list_get(c, &list), DRUKBOX_ETRANSPORT, 0,
		     "127.0.0.1");
	CU_ASSERT_PTR_NULL(list);
	CU_ASSERT_EQUAL(drukbox_err_sdk_class(drukbox_error_last()->code),
			DRUKBOX_SDK_UNAVAILABLE);
	drukbox_client_free(c);
}

/* The client's timeout beats a slow server, and promptly. */
static void test_timeout(void)
{
	drukbox_client *c = client_for(NULL, LOCAL_TOKEN, 0.5, NULL);
	drukbox_host_list *list = NULL;
	drukbox_host *h = NULL;
	double start;

	begin();
	CU_ASSERT_EQUAL(local_fault(&srv, "{\"route\": \"GET /hosts\", "
					  "\"kind\": \"latency\", "
					  "\"latency_ms\": 4000}"), 0);
	start = now_s();
	expect_error(drukbox_host_list_get(c, &list), DRUKBOX_ETIMEOUT, 0, NULL);
	CU_ASSERT(now_s() - start < 1.5);
	CU_ASSERT(now_s() - start >= 0.45);
	CU_ASSERT_EQUAL(drukbox_err_errno(drukbox_error_last()->code),
			ETIMEDOUT);
	CU_ASSERT_EQUAL(local_fault(&srv, "{\"route\": \"GET /hosts/{id}\", "
					  "\"kind\": \"hang\", "
					  "\"latency_ms\": 4000}"), 0);
	start = now_s();
	expect_error(drukbox_host_get(c, UNKNOWN_ID, &h), DRUKBOX_ETIMEOUT, 0,
		     NULL);
	CU_ASSERT(now_s() - start < 1.5);
	drukbox_client_free(c);
}

/* ---- threads ---------------------------------------------------------------- */

#define THREADS 16

typedef struct worker {
	drukbox_client *client;
	const char *seeded_id;
	int index;
	int failures;
	size_t listed;
	char created_id[64];
	char *got_id;
} worker;

static void *work(void *arg)
{
	worker *w = arg;
	drukbox_host_list *list = NULL;
	drukbox_host *h = NULL;
	char key[32];
	drukbox_create_opts o = { .idempotency_key = key };

	snprintf(key, sizeof(key), "thread-%d", w->index);
	if (drukbox_host_list_get(w->client, &list) != 0)
		w->failures++;
	else
		w->listed = list->count;
	drukbox_host_list_free(list);
	if (drukbox_host_get(w->client, w->seeded_id, &h) != 0)
		w->failures++;
	else
		w->got_id = strdup(h->id);
	drukbox_host_free(h);
	h = NULL;
	if (drukbox_host_create(w->client, &o, &h) != 0 || !h->private_key)
		w->failures++;
	else
		snprintf(w->created_id, sizeof(w->created_id), "%s", h->id);
	if (drukbox_error_last()->code != DRUKBOX_OK)
		w->failures++;
	drukbox_host_free(h);
	return NULL;
}

static void test_sixteen_threads(void)
{
	drukbox_client *c = client_ok();
	pthread_t t[THREADS];
	worker w[THREADS];
	char *ids[4] = { NULL };
	drukbox_host_list *list = NULL;

	begin();
	CU_ASSERT_EQUAL_FATAL(local_seed(&srv, 4, "active", ids, 4), 4);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (worker){ .client = c, .seeded_id = ids[i % 4],
				 .index = i };
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, work, &w[i]),
				      0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < THREADS; i++) {
		CU_ASSERT_EQUAL(w[i].failures, 0);
		CU_ASSERT(w[i].listed >= 4);
		CU_ASSERT_PTR_NOT_NULL(w[i].got_id);
		if (w[i].got_id)
			CU_ASSERT_STRING_EQUAL(w[i].got_id, ids[i % 4]);
		for (int j = 0; j < i; j++)
			CU_ASSERT_STRING_NOT_EQUAL(w[i].created_id,
						   w[j].created_id);
		free(w[i].got_id);
	}
	CU_ASSERT_EQUAL(local_route_count(&srv, "POST /hosts"), THREADS);
	CU_ASSERT_EQUAL_FATAL(drukbox_host_list_get(c, &list), 0);
	CU_ASSERT_EQUAL(list->count, 4 + THREADS);
	drukbox_host_list_free(list);
	for (int i = 0; i < 4; i++)
		free(ids[i]);
	drukbox_client_free(c);
}

/* ---- configuration ----------------------------------------------------------- */

static void test_client_new_validation(void)
{
	static const char *const bad_urls[] = {
		"", "ftp://h", "127.0.0.1:80", "http://", "http:///x",
		"http://h/a b", "http://h/?q=1", "http://h/#f", "http://h\n",
	};
	static const char *const bad_tokens[] = {
		"", "has space", "line\nbreak", "cr\r", "tab\t", "ü",
	};
	drukbox_options o = { .url = NULL };
	drukbox_client *c = (drukbox_client *)1;

	expect_error(drukbox_client_new(&c, &o), DRUKBOX_EINVAL, 0, NULL);
	CU_ASSERT_PTR_NULL(c);
	for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
		o.url = bad_urls[i];
		expect_error(drukbox_client_new(&c, &o), DRUKBOX_EINVAL, 0,
			     NULL);
	}
	o.url = "http://127.0.0.1:1";
	for (size_t i = 0; i < sizeof(bad_tokens) / sizeof(bad_tokens[0]);
	     i++) {
		o.token = bad_tokens[i];
		expect_error(drukbox_client_new(&c, &o), DRUKBOX_EINVAL, 0,
			     NULL);
		/* the detail never quotes the rejected token */
		CU_ASSERT_PTR_NULL(strstr(drukbox_error_last()->detail,
					  "space"));
	}
	o.token = "ok-token";
	o.url = "HTTPS://svc.example/drukbox//";
	CU_ASSERT_EQUAL_FATAL(drukbox_client_new(&c, &o), 0);
	CU_ASSERT_STRING_EQUAL(drukbox_client_url(c),
			       "HTTPS://svc.example/drukbox/");
	drukbox_client_free(c);
}

/* One trailing '/' is stripped and the path prefix is kept: requests
 * still reach the prefixed server. */
static void test_trailing_slash_and_prefix(void)
{
	char url[sizeof(srv.url) + 2];
	drukbox_client *c;
	drukbox_host_list *list = NULL;

	begin();
	CU_ASSERT_PTR_NOT_NULL(strstr(srv.url, PREFIX));
	snprintf(url, sizeof(url), "%s/", srv.url);
	c = client_for(url, LOCAL_TOKEN, 10, NULL);
	CU_ASSERT_STRING_EQUAL(drukbox_client_url(c), srv.url);
	CU_ASSERT_EQUAL(drukbox_host_list_get(c, &list), 0);
	CU_ASSERT_EQUAL(local_route_count(&srv, "GET /hosts"), 1);
	drukbox_host_list_free(list);
	drukbox_client_free(c);
}

static void test_from_env_custom_prefix(void)
{
	drukbox_options base = { .token = WRONG_TOKEN };
	drukbox_client *c = NULL;
	drukbox_host_list *list = NULL;

	begin();
	setenv("DKT_SERVICE_URL", srv.url, 1);
	setenv("DKT_SERVICE_TOKEN", LOCAL_TOKEN, 1);
	setenv("DKT_SERVICE_TIMEOUT", "7.5", 1);
	CU_ASSERT_EQUAL_FATAL(drukbox_client_from_env(&c, "DKT_", NULL), 0);
	CU_ASSERT_STRING_EQUAL(drukbox_client_url(c), srv.url);
	CU_ASSERT_EQUAL(drukbox_host_list_get(c, &list), 0);
	drukbox_host_list_free(list);
	drukbox_client_free(c);
	/* fields in base win over the environment */
	CU_ASSERT_EQUAL_FATAL(drukbox_client_from_env(&c, "DKT_", &base), 0);
	expect_error(drukbox_host_list_get(c, &list), DRUKBOX_EAUTH, 403, NULL);
	drukbox_client_free(c);
	/* a malformed timeout */
	setenv("DKT_SERVICE_TIMEOUT", "soon", 1);
	expect_error(drukbox_client_from_env(&c, "DKT_", NULL), DRUKBOX_EINVAL,
		     0, "DKT_SERVICE_TIMEOUT");
	setenv("DKT_SERVICE_TIMEOUT", "-3", 1);
	expect_error(drukbox_client_from_env(&c, "DKT_", NULL), DRUKBOX_EINVAL,
		     0, "DKT_SERVICE_TIMEOUT");
	CU_ASSERT_PTR_NULL(c);
	/* no URL at all */
	unsetenv("DKT_SERVICE_URL");
	expect_error(drukbox_client_from_env(&c, "DKT_", NULL), DRUKBOX_EINVAL,
		     0, "DKT_SERVICE_URL");
	unsetenv("SANDBOX_SERVICE_URL");
	expect_error(drukbox_client_from_env(&c, NULL, NULL), DRUKBOX_EINVAL,
		     0, "SANDBOX_SERVICE_URL");
	unsetenv("DKT_SERVICE_TOKEN");
	unsetenv("DKT_SERVICE_TIMEOUT");
}

/* Writes content to a fresh temp file; returns its path (caller frees and
 * unlinks). */
static char *temp_file(const char *content, size_t len)
{
	char *path = strdup("/tmp/drukbox-token-XXXXXX");
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, content, len) == (ssize_t)len);
	close(fd);
	return path;
}

/* Asserts the token file is refused, without its content in the detail. */
static void expect_token_file_refused(const char *content, size_t len)
{
	char *path = temp_file(content, len), *token = (char *)1;

	expect_error(drukbox_token_from_file(path, &token), DRUKBOX_EINVAL, 0,
		     NULL);
	CU_ASSERT_PTR_NULL(token);
	CU_ASSERT_PTR_NULL(strstr(drukbox_error_last()->detail, "s3cr3t"));
	unlink(path);
	free(path);
}

static void test_token_from_file(void)
{
	const char *content = "  \n" LOCAL_TOKEN "\r\n\n";
	char *path = temp_file(content, strlen(content));
	char *token = NULL, *big;
	drukbox_client *c;
	drukbox_host_list *list = NULL;

	begin();
	CU_ASSERT_EQUAL_FATAL(drukbox_token_from_file(path, &token), 0);
	CU_ASSERT_STRING_EQUAL(token, LOCAL_TOKEN);
	c = client_for(NULL, token, 10, NULL);
	CU_ASSERT_EQUAL(drukbox_host_list_get(c, &list), 0);
	drukbox_host_list_free(list);
	drukbox_client_free(c);
	free(token);
	unlink(path);
	free(path);

	expect_token_file_refused("", 0);
	expect_token_file_refused(" \n\t ", 4);
	expect_token_file_refused("s3cr3t value", 12);
	expect_token_file_refused("s3cr3t\x01", 7);
	big = malloc(5000);
	memset(big, 'a', 5000);
	memcpy(big, "s3cr3t", 6);
	expect_token_file_refused(big, 5000);
	free(big);
	expect_error(drukbox_token_from_file("/nonexistent/token", &token),
		     DRUKBOX_EINVAL, 0, "/nonexistent/token");
}

/* ---- secrets and debug ------------------------------------------------------- */

/* Asserts neither token occurs in the text. */
static void expect_no_token(const char *text)
{
	CU_ASSERT_PTR_NULL(strstr(text, LOCAL_TOKEN));
	CU_ASSERT_PTR_NULL(strstr(text, WRONG_TOKEN));
	CU_ASSERT_PTR_NULL(strstr(text, "Bearer"));
}

static void test_token_never_in_errors_or_debug(void)
{
	capture *cap = capture_new();
	drukbox_client *good = client_for(NULL, LOCAL_TOKEN, 0.5, cap);
	drukbox_client *bad = client_for(NULL, WRONG_TOKEN, 10, cap);
	drukbox_host_list *list = NULL;
	drukbox_host *h = NULL;
	char url[64];
	drukbox_client *refused;

	begin();
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", closed_port());
	refused = client_for(url, LOCAL_TOKEN, 5, cap);
	CU_ASSERT_EQUAL(drukbox_host_list_get(good, &list), 0);
	drukbox_host_list_free(list);
	expect_no_token(drukbox_error_last()->detail);
	CU_ASSERT(drukbox_host_get(good, UNKNOWN_ID, &h) < 0);
	expect_no_token(drukbox_error_last()->detail);
	CU_ASSERT(drukbox_host_list_get(bad, &list) < 0);
	expect_no_token(drukbox_error_last()->detail);
	CU_ASSERT(drukbox_host_list_get(refused, &list) < 0);
	expect_no_token(drukbox_error_last()->detail);
	CU_ASSERT_EQUAL(local_fault(&srv, "{\"route\": \"GET /doctor\", "
					  "\"kind\": \"latency\", "
					  "\"latency_ms\": 2000}"), 0);
	{
		drukbox_doctor *d = NULL;

		CU_ASSERT(drukbox_doctor_get(good, &d) < 0);
		expect_no_token(drukbox_error_last()->detail);
	}
	CU_ASSERT_EQUAL(cap->lines, 5);
	expect_no_token(cap->text);
	drukbox_client_free(good);
	drukbox_client_free(bad);
	drukbox_client_free(refused);
	capture_free(cap);
}

/* One line per request: "GET /hosts -> 200 (N ms, N bytes)"; no private
 * key either. */
static void test_debug_lines(void)
{
	capture *cap = capture_new();
	drukbox_client *c = client_for(NULL, LOCAL_TOKEN, 10, cap);
	drukbox_host_list *list = NULL;
	drukbox_host *h = NULL;
	long ms = -1, bytes = -1;
	char status[8] = "";

	begin();
	CU_ASSERT_EQUAL(drukbox_host_list_get(c, &list), 0);
	CU_ASSERT_EQUAL(cap->lines, 1);
	CU_ASSERT_EQUAL(sscanf(cap->text, "GET /hosts -> %7s (%ld ms, %ld "
					  "bytes)", status, &ms, &bytes), 3);
	CU_ASSERT_STRING_EQUAL(status, "200");
	CU_ASSERT(ms >= 0);
	CU_ASSERT_EQUAL(bytes, 2); /* "[]" */
	CU_ASSERT_EQUAL_FATAL(drukbox_host_create(c, NULL, &h), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(cap->text, "POST /hosts -> 201 ("));
	CU_ASSERT_PTR_NULL(strstr(cap->text, "PRIVATE KEY"));
	CU_ASSERT_EQUAL(drukbox_host_delete(c, h->id), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(cap->text, "DELETE /hosts/"));
	CU_ASSERT_PTR_NOT_NULL(strstr(cap->text, "-> 204 ("));
	CU_ASSERT_EQUAL(cap->lines, 3);
	drukbox_host_free(h);
	drukbox_host_list_free(list);
	drukbox_client_free(c);
	capture_free(cap);
}

/* The local ports of client sockets (remote port = the server's) that
 * are ESTABLISHED, from /proc/net/tcp, into ports[] (at most max); the
 * count, or -1 if unreadable. */
static int established_ports(int port, unsigned *ports, int max)
{
	FILE *f = fopen("/proc/net/tcp", "r");
	char line[512], loc[64], rem[64], state[8];
	int n = 0;
	unsigned rport, lport;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %63s %63s %7s", loc, rem, state) == 3 &&
		    sscanf(strchr(rem, ':') ? strchr(rem, ':') + 1 : "", "%x",
			   &rport) == 1 &&
		    sscanf(strchr(loc, ':') ? strchr(loc, ':') + 1 : "", "%x",
			   &lport) == 1 &&
		    (int)rport == port && strcmp(state, "01") == 0 && n < max)
			ports[n++] = lport;
	fclose(f);
	return n;
}

static int has_port(const unsigned *ports, int n, unsigned p)
{
	for (int i = 0; i < n; i++)
		if (ports[i] == p)
			return 1;
	return 0;
}

/* Sequential calls on one client ride one keep-alive connection: the
 * connections open after the first call are the very same ones (same
 * local ports) after ten more, and no other was opened.  Other sockets
 * on the machine (TIME_WAIT from earlier tests) do not matter. */
static void test_connection_reuse(void)
{
	drukbox_client *c = client_ok();
	drukbox_host_list *list = NULL;
	unsigned before[64], after[64];
	int n0, n1;

	begin();
	CU_ASSERT_EQUAL(drukbox_healthz(c), 0);
	n0 = established_ports(srv.port, before, 64);
	CU_ASSERT_FATAL(n0 >= 1);
	for (int i = 0; i < 10; i++) {
		CU_ASSERT_EQUAL(drukbox_host_list_get(c, &list), 0);
		drukbox_host_list_free(list);
		list = NULL;
	}
	n1 = established_ports(srv.port, after, 64);
	CU_ASSERT_EQUAL(n1, n0);
	for (int i = 0; i < n1; i++)
		CU_ASSERT(has_port(before, n0, after[i]));
	drukbox_client_free(c);
}

static const drukbox_test operation_tests[] = {
	{ "healthz without token", test_healthz_without_token },
	{ "list, newest first, headers", test_list_newest_first },
	{ "get", test_get },
	{ "create returns the private key once",
	  test_create_and_private_key_once },
	{ "renew without and with a time", test_renew },
	{ "delete", test_delete },
	{ "doctor", test_doctor },
	{ "http proxies", test_proxies },
	{ "create from a stored body", test_create_json },
	{ NULL, NULL },
};

static const drukbox_test error_tests[] = {
	{ "401 without token", test_401_without_token },
	{ "403 wrong token", test_403_wrong_token },
	{ "404", test_404 },
	{ "409 delete while provisioning", test_409_delete_while_provisioning },
	{ "409 renew of an error host", test_409_renew_error_host },
	{ "422 detail list joined", test_422_detail_list_joined },
	{ "502 provisioning failed", test_502_provisioning_failed },
	{ "503 injected and teardown", test_503 },
	{ "400 unknown provider", test_400_unknown_provider },
	{ "500, 418 and 302 are ERESPONSE", test_500_other_status },
	{ "error body without detail: fallback text",
	  test_error_body_without_detail },
	{ NULL, NULL },
};

static const drukbox_test wire_tests[] = {
	{ "create bodies: expires_at tri-state", test_create_bodies_tri_state },
	{ "create body with every field", test_create_body_all_fields },
	{ "idempotency replay", test_idempotency_replay },
	{ "path escaping", test_path_escaping },
	{ "invalid arguments send nothing",
	  test_invalid_arguments_send_nothing },
	{ NULL, NULL },
};

static const drukbox_test transport_tests[] = {
	{ "200 that is not JSON", test_200_not_json },
	{ "truncated body", test_truncated_body },
	{ "list read as it arrives", test_list_each },
	{ "list: records before a cut, sink errors", test_list_each_streams },
	{ "short body", test_short_body },
	{ "Content-Length that lies", test_content_length_lies },
	{ "dropped connection", test_dropped_connection },
	{ "connection refused", test_connection_refused },
	{ "timeout", test_timeout },
	{ "16 threads", test_sixteen_threads },
	{ "connection reuse", test_connection_reuse },
	{ NULL, NULL },
};

static const drukbox_test config_tests[] = {
	{ "client_new validation", test_client_new_validation },
	{ "trailing slash and path prefix", test_trailing_slash_and_prefix },
	{ "from_env with a custom prefix", test_from_env_custom_prefix },
	{ "token from file", test_token_from_file },
	{ "token never in errors or debug",
	  test_token_never_in_errors_or_debug },
	{ "debug lines", test_debug_lines },
	{ NULL, NULL },
};

/* The server lives from the first suite's setup to the last's teardown. */
static int no_setup(void)
{
	return srv.pid > 0 ? 0 : 1;
}

static const drukbox_test_suite suites[] = {
	{ "operations", suite_setup, NULL, operation_tests },
	{ "error table", no_setup, NULL, error_tests },
	{ "wire", no_setup, NULL, wire_tests },
	{ "transport", no_setup, NULL, transport_tests },
	{ "configuration", no_setup, suite_teardown, config_tests },
};

DRUKBOX_TEST_MAIN(suites)
