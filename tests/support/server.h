/*
 * server.h — run scripts/drukbox-local for a test program and drive its
 * test-control API (/_local/...).
 *
 * One server per test program: start it in the suite setup, stop it in the
 * suite teardown, and call local_reset() between tests so that every test
 * starts from no hosts, no faults, zero counters and the start-up config.
 * The script's path comes from $DRUKBOX_LOCAL (tests/meson.build sets it).
 * Control calls use libcurl directly, never libdrukbox, so a bug in the
 * library cannot hide itself from the tests.
 */
#ifndef DRUKBOX_TESTS_SERVER_H
#define DRUKBOX_TESTS_SERVER_H

#include <stddef.h>
#include <sys/types.h>

#define LOCAL_TOKEN "local-dev-token"

typedef struct local_server {
	pid_t pid;          /* 0 when not running */
	int out_fd;         /* the child's stdout (kept open until stop) */
	int port;
	char url[512];      /* as printed: http://127.0.0.1:PORT[/prefix] */
} local_server;

/* Starts drukbox-local with --port 0 --quiet plus the NULL-terminated
 * extra_args (may be NULL) and waits (20 s at most) for its ready line.
 * 0, or -1 with the reason on stderr. */
int local_start(local_server *srv, const char *const *extra_args);

/* SIGTERM, then waitpid (SIGKILL after 5 s).  Safe on a stopped server. */
void local_stop(local_server *srv);

/* One control call: method + path under the URL (e.g. "/_local/stats"),
 * optional JSON body.  0 and the HTTP status / body (malloc'd, may be
 * NULL), or -1 when no response arrived. */
int local_call(const local_server *srv, const char *method, const char *path,
	       const char *json, long *status, char **body);

/* POST /_local/reset: no hosts, proxies, faults, stats or requests; the
 * start-up config.  0 or -1. */
int local_reset(const local_server *srv);

/* Requests counted for route ("GET /hosts", "POST /hosts", ...) since the
 * last reset; -1 on error. */
long local_route_count(const local_server *srv, const char *route);

/* Number of recorded API requests for route (all routes when NULL). */
long local_request_count(const local_server *srv, const char *route);

/* The raw body of the last recorded request for route, malloc'd; NULL
 * when there is none. */
char *local_last_request_body(const local_server *srv, const char *route);

/* The request target (path as sent) of the last recorded request for
 * route, malloc'd; NULL when there is none. */
char *local_last_request_path(const local_server *srv, const char *route);

/* A header (lowercase name) of the last recorded request for route,
 * malloc'd; NULL when absent. */
char *local_last_request_header(const local_server *srv, const char *route,
				const char *name);

/* POST /_local/faults with a raw JSON rule.  0 or -1. */
int local_fault(const local_server *srv, const char *json);

/* POST /_local/config with raw JSON changes.  0 or -1. */
int local_config(const local_server *srv, const char *json);

/* POST /_local/seed {"count": count, "status": status}; writes up to max
 * ids (malloc'd strings) into ids.  Number of ids, or -1. */
int local_seed(const local_server *srv, int count, const char *status,
	       char **ids, size_t max);

/* GET /_local/hosts/{id}: the raw record's `field` as a string (malloc'd;
 * "null" for null, JSON text for non-strings); NULL on error. */
char *local_host_field(const local_server *srv, const char *id,
		       const char *field);

#endif
