/*
 * server.c — drukbox-local as a child process, and its control API.
 *
 * The child is started with a pipe on stdout; its one ready line carries
 * the URL (the port is picked by the kernel, so parallel test programs
 * never collide).  PR_SET_PDEATHSIG ends it if the test program dies
 * without reaching its teardown.  Control responses are parsed with json-c;
 * every helper returns -1 / NULL on any failure and says why on stderr,
 * which is what a test wants to see when its fixture breaks.
 */
#define _GNU_SOURCE
#include "server.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READY_TIMEOUT_MS 20000
#define READY_PREFIX "drukbox-local listening on "

/* ---- process ------------------------------------------------------------ */

/* Child side of fork: stdout to the pipe, then exec.  Never returns. */
static void exec_child(int out_fd, const char *script,
		       const char *const *extra_args)
{
	const char *argv[64];
	size_t n = 0;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	dup2(out_fd, STDOUT_FILENO);
	close(out_fd);
	argv[n++] = "python3";
	argv[n++] = script;
	argv[n++] = "--port";
	argv[n++] = "0";
	argv[n++] = "--quiet";
	for (size_t i = 0; extra_args && extra_args[i] && n < 62; i++)
		argv[n++] = extra_args[i];
	argv[n] = NULL;
	execvp("python3", (char *const *)argv);
	fprintf(stderr, "server: cannot exec python3 %s: %s\n", script,
		strerror(errno));
	_exit(127);
}

/* Reads the ready line (20 s at most) into line.  0 or -1. */
static int read_ready_line(int fd, char *line, size_t size)
{
	size_t used = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (used + 1 < size) {
		ssize_t r;

		if (poll(&p, 1, READY_TIMEOUT_MS) <= 0) {
			fprintf(stderr, "server: no ready line within 20 s\n");
			return -1;
		}
		r = read(fd, line + used, 1);
		if (r <= 0) {
			fprintf(stderr, "server: exited before it was ready\n");
			return -1;
		}
		if (line[used] == '\n') {
			line[used] = '\0';
			return 0;
		}
		used++;
	}
	fprintf(stderr, "server: ready line too long\n");
	return -1;
}

/* Fills url and port from the ready line.  0 or -1. */
static int parse_ready_line(local_server *srv, const char *line)
{
	const char *url, *colon;

	if (strncmp(line, READY_PREFIX, strlen(READY_PREFIX)) != 0) {
		fprintf(stderr, "server: unexpected first line: %s\n", line);
		return -1;
	}
	url = line + strlen(READY_PREFIX);
	snprintf(srv->url, sizeof(srv->url), "%s", url);
	colon = strrchr(url, ':');
	srv->port = colon ? atoi(colon + 1) : 0;
	return srv->port > 0 ? 0 : -1;
}

int local_start(local_server *srv, const char *const *extra_args)
{
	const char *script = getenv("DRUKBOX_LOCAL");
	char line[512];
	int fds[2];

	memset(srv, 0, sizeof(*srv));
	srv->out_fd = -1;
	if (!script || !script[0]) {
		fprintf(stderr, "server: DRUKBOX_LOCAL is not set\n");
		return -1;
	}
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	srv->pid = fork();
	if (srv->pid < 0) {
		close(fds[0]);
		close(fds[1]);
		srv->pid = 0;
		return -1;
	}
	if (srv->pid == 0)
		exec_child(fds[1], script, extra_args);
	close(fds[1]);
	srv->out_fd = fds[0];
	if (read_ready_line(srv->out_fd, line, sizeof(line)) != 0 ||
	    parse_ready_line(srv, line) != 0) {
		local_stop(srv);
		return -1;
	}
	return 0;
}

void local_stop(local_server *srv)
{
	int status;

	if (srv->pid > 0) {
		kill(srv->pid, SIGTERM);
		for (int i = 0; i < 500; i++) {
			if (waitpid(srv->pid, &status, WNOHANG) == srv->pid)
				goto reaped;
			usleep(10000);
		}
		kill(srv->pid, SIGKILL);
		waitpid(srv->pid, &status, 0);
	}
reaped:
	if (srv->out_fd >= 0)
		close(srv->out_fd);
	srv->out_fd = -1;
	srv->pid = 0;
}

/* ---- control calls ------------------------------------------------------ */

typedef struct sink {
	char *data;
	size_t len;
} sink;

static size_t on_data(char *data, size_t size, size_t nmemb, void *ctx)
{
	sink *s = ctx;
	size_t n = size * nmemb;
	char *grown = realloc(s->data, s->len + n + 1);

	if (!grown)
		return 0;
	memcpy(grown + s->len, data, n);
	s->len += n;
	grown[s->len] = '\0';
	s->data = grown;
	return n;
}

int local_call(const local_server *srv, const char *method, const char *path,
	       const char *json, long *status, char **body)
{
	char url[1024];
	sink s = { NULL, 0 };
	struct curl_slist *headers = NULL;
	CURL *curl = curl_easy_init();
	CURLcode cc;

	*status = 0;
	if (body)
		*body = NULL;
	if (!curl)
		return -1;
	snprintf(url, sizeof(url), "%s%s", srv->url, path);
	headers = curl_slist_append(headers, "Content-Type: application/json");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
	/* the control API of a --tls-cert server: a test's own certificate */
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (json)
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &s);
	cc = curl_easy_perform(curl);
	if (cc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
	else
		fprintf(stderr, "server: %s %s: %s\n", method, path,
			curl_easy_strerror(cc));
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	if (body)
		*body = s.data;
	else
		free(s.data);
	return cc == CURLE_OK ? 0 : -1;
}

/* A control call that must answer 200; its body parsed (caller puts it),
 * or NULL. */
static json_object *control_json(const local_server *srv, const char *method,
				 const char *path, const char *json)
{
	long status = 0;
	char *body = NULL;
	json_object *obj = NULL;

	if (local_call(srv, method, path, json, &status, &body) == 0 &&
	    status == 200)
		obj = json_tokener_parse(body ? body : "");
	else
		fprintf(stderr, "server: %s %s -> %ld %s\n", method, path,
			status, body ? body : "");
	free(body);
	return obj;
}

/* A control POST whose answer is only checked for 200.  0 or -1. */
static int control_post(const local_server *srv, const char *path,
			const char *json)
{
	json_object *obj = control_json(srv, "POST", path, json);
	int rc = obj ? 0 : -1;

	json_object_put(obj);
	return rc;
}

int local_reset(const local_server *srv)
{
	return control_post(srv, "/_local/reset", "{}");
}

int local_fault(const local_server *srv, const char *json)
{
	return control_post(srv, "/_local/faults", json);
}

int local_config(const local_server *srv, const char *json)
{
	return control_post(srv, "/_local/config", json);
}

long local_route_count(const local_server *srv, const char *route)
{
	json_object *obj = control_json(srv, "GET", "/_local/stats", NULL);
	json_object *routes = NULL, *n = NULL;
	long count = -1;

	if (obj && json_object_object_get_ex(obj, "routes", &routes)) {
		count = 0;
		if (json_object_object_get_ex(routes, route, &n))
			count = (long)json_object_get_int64(n);
	}
	json_object_put(obj);
	return count;
}

/* The recorded requests for route (all when NULL), in a new array the
 * caller puts, holding references into the parsed log. */
static json_object *requests_for(const local_server *srv, const char *route)
{
	json_object *obj = control_json(srv, "GET", "/_local/requests", NULL);
	json_object *all = NULL, *out = NULL, *r = NULL;

	if (!obj || !json_object_object_get_ex(obj, "requests", &all))
		goto out;
	out = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(all); i++) {
		json_object *item = json_object_array_get_idx(all, i);

		if (route && (!json_object_object_get_ex(item, "route", &r) ||
			      strcmp(json_object_get_string(r), route) != 0))
			continue;
		json_object_array_add(out, json_object_get(item));
	}
out:
	json_object_put(obj);
	return out;
}

long local_request_count(const local_server *srv, const char *route)
{
	json_object *list = requests_for(srv, route);
	long n = list ? (long)json_object_array_length(list) : -1;

	json_object_put(list);
	return n;
}

/* strdup of last_request[key] (or of its headers[name]); NULL if absent. */
static char *last_request_string(const local_server *srv, const char *route,
				 const char *key, const char *name)
{
	json_object *list = requests_for(srv, route);
	json_object *last, *v = NULL;
	size_t n = list ? json_object_array_length(list) : 0;
	char *out = NULL;

	if (n == 0)
		goto out;
	last = json_object_array_get_idx(list, n - 1);
	if (!json_object_object_get_ex(last, key, &v))
		goto out;
	if (name && !json_object_object_get_ex(v, name, &v))
		goto out;
	out = strdup(json_object_get_string(v));
out:
	json_object_put(list);
	return out;
}

char *local_last_request_body(const local_server *srv, const char *route)
{
	return last_request_string(srv, route, "body", NULL);
}

char *local_last_request_path(const local_server *srv, const char *route)
{
	return last_request_string(srv, route, "path", NULL);
}

char *local_last_request_header(const local_server *srv, const char *route,
				const char *name)
{
	return last_request_string(srv, route, "headers", name);
}

int local_seed(const local_server *srv, int count, const char *status,
	       char **ids, size_t max)
{
	char json[128];
	json_object *obj, *list = NULL;
	int n = -1;

	snprintf(json, sizeof(json), "{\"count\": %d, \"status\": \"%s\"}",
		 count, status ? status : "active");
	obj = control_json(srv, "POST", "/_local/seed", json);
	if (!obj || !json_object_object_get_ex(obj, "ids", &list))
		goto out;
	n = 0;
	for (size_t i = 0; i < json_object_array_length(list) && (size_t)n < max;
	     i++)
		ids[n++] = strdup(json_object_get_string(
			json_object_array_get_idx(list, i)));
out:
	json_object_put(obj);
	return n;
}

char *local_host_field(const local_server *srv, const char *id,
		       const char *field)
{
	char path[512];
	json_object *obj, *v = NULL;
	char *out = NULL;

	snprintf(path, sizeof(path), "/_local/hosts/%s", id);
	obj = control_json(srv, "GET", path, NULL);
	if (obj && json_object_object_get_ex(obj, field, &v))
		out = strdup(v ? json_object_get_string(v) : "null");
	json_object_put(obj);
	return out;
}
