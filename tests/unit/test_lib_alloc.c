/*
 * test_lib_alloc.c — allocation-failure injection, SQLite style.
 *
 * The library sources are compiled for this program with malloc, calloc,
 * realloc, strdup and strndup renamed to the counting versions below
 * (tests/meson.build), so the test can make the Nth allocation fail, for
 * every N, until the operation gets through without failing.  Every run
 * must end in either success or -DRUKBOX_ENOMEM with *out NULL, and the
 * sanitizer / valgrind runs check that no failure path leaks.  (json-c's
 * own allocations are not counted: it is a separate library.)
 */
#include <drukbox/drukbox.h>

#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"

static long alloc_count;
static long fail_at; /* 0: never */

/* True when this allocation is the one to fail. */
static int should_fail(void)
{
	return fail_at > 0 && ++alloc_count == fail_at;
}

void *drukbox_test_malloc(size_t n);
void *drukbox_test_calloc(size_t n, size_t size);
void *drukbox_test_realloc(void *p, size_t n);
char *drukbox_test_strdup(const char *s);
char *drukbox_test_strndup(const char *s, size_t n);

void *drukbox_test_malloc(size_t n)
{
	return should_fail() ? NULL : malloc(n);
}

void *drukbox_test_calloc(size_t n, size_t size)
{
	return should_fail() ? NULL : calloc(n, size);
}

void *drukbox_test_realloc(void *p, size_t n)
{
	return should_fail() ? NULL : realloc(p, n);
}

char *drukbox_test_strdup(const char *s)
{
	return should_fail() ? NULL : strdup(s);
}

char *drukbox_test_strndup(const char *s, size_t n)
{
	return should_fail() ? NULL : strndup(s, n);
}

/* Runs op with the Nth allocation failing, for N = 1, 2, ... until op
 * succeeds.  op returns its rc and must free anything it got. */
static void for_every_failure(int (*op)(void))
{
	long n;
	int rc;

	for (n = 1; n < 10000; n++) {
		alloc_count = 0;
		fail_at = n;
		rc = op();
		if (rc == 0)
			break;
		if (rc != -DRUKBOX_ENOMEM)
			fprintf(stderr, "allocation %ld: rc %d (%s)\n", n, rc,
				drukbox_error_last()->detail);
		CU_ASSERT_EQUAL(rc, -DRUKBOX_ENOMEM);
		CU_ASSERT_EQUAL(drukbox_error_last()->code, DRUKBOX_ENOMEM);
	}
	fail_at = 0;
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(n > 1); /* it did allocate, so failures were tried */
}

#define RECORD                                                             \
	"{\"id\": \"h1\", \"name\": \"sb-1\", \"status\": \"active\","      \
	" \"private_key\": \"KEY\", \"known_hosts\": \"h ssh-ed25519 A\\n\"," \
	" \"disk_gb\": 3, \"expires_at\": null}"

static int op_host_parse(void)
{
	drukbox_host *h = (drukbox_host *)1;
	int rc = drukbox_host_parse(&h, RECORD, strlen(RECORD));

	CU_ASSERT(rc == 0 || h == NULL);
	drukbox_host_free(h);
	return rc;
}

static int op_list_parse(void)
{
	const char *text = "[" RECORD ", " RECORD ", 1, " RECORD "]";
	drukbox_host_list *list = (drukbox_host_list *)1;
	int rc = drukbox_host_list_parse(&list, text, strlen(text));

	CU_ASSERT(rc == 0 || list == NULL);
	if (rc == 0)
		CU_ASSERT(list->count == 3 && list->skipped == 1);
	drukbox_host_list_free(list);
	return rc;
}

static int op_doctor_parse(void)
{
	const char *text = "{\"ok\": true, \"active_provider\": \"docker\", "
			   "\"checks\": [{\"name\": \"db\", \"status\": "
			   "\"ok\", \"detail\": \"fine\", \"hint\": \"h\"}, "
			   "{\"name\": \"provider\", \"status\": \"ok\"}]}";
	drukbox_doctor *d = (drukbox_doctor *)1;
	int rc = drukbox_doctor_parse(&d, text, strlen(text));

	CU_ASSERT(rc == 0 || d == NULL);
	drukbox_doctor_free(d);
	return rc;
}

static int op_create_body(void)
{
	static const drukbox_env_var env[] = { { "A", "1" }, { "B", "\"2\"" } };
	drukbox_create_opts o = { .image = "img", .provider = "p",
				  .instance_type = "t", .disk_gb = 2,
				  .env = env, .env_count = 2,
				  .expiry = DRUKBOX_EXPIRY_NEVER };
	char *body = (char *)1;
	int rc = drukbox_create_body(&body, &o);

	CU_ASSERT(rc == 0 || body == NULL);
	free(body);
	return rc;
}

/* host_dup with the failure counted only inside the copy. */
static void test_host_dup(void)
{
	drukbox_host *h = NULL, *copy = NULL;
	long n;
	int rc = -1;

	CU_ASSERT_FATAL(drukbox_host_parse(&h, RECORD, strlen(RECORD)) == 0);
	for (n = 1; n < 1000 && rc != 0; n++) {
		alloc_count = 0;
		fail_at = n;
		copy = (drukbox_host *)1;
		rc = drukbox_host_dup(&copy, h);
		fail_at = 0;
		if (rc)
			CU_ASSERT(rc == -DRUKBOX_ENOMEM && copy == NULL);
	}
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(n > 2);
	drukbox_host_free(copy);
	drukbox_host_free(h);
}

static int op_placeholder(void)
{
	drukbox_host *h = (drukbox_host *)1;
	int rc = drukbox_host_placeholder(&h, "creating", "not yet");

	CU_ASSERT(rc == 0 || h == NULL);
	drukbox_host_free(h);
	return rc;
}

/* strip allocates nothing and cannot fail: the key is wiped in place. */
static void test_strip_private_key(void)
{
	drukbox_host *h = NULL;

	CU_ASSERT_FATAL(drukbox_host_parse(&h, RECORD, strlen(RECORD)) == 0);
	alloc_count = 0;
	fail_at = 1;
	CU_ASSERT_EQUAL(drukbox_host_strip_private_key(h), 0);
	fail_at = 0;
	CU_ASSERT_EQUAL(alloc_count, 0);
	CU_ASSERT_PTR_NULL(h->private_key);
	drukbox_host_free(h);
}

/* host.json of a record with an unknown field (json-c's own allocations
 * are not counted; the library's are). */
static int op_host_json(void)
{
	static const char text[] = "{\"id\": \"h1\", \"zone\": [1, {}], "
				   "\"private_key\": \"KEY\"}";
	drukbox_host *h = NULL;
	char *json = (char *)1;
	size_t len = 7;
	long n = fail_at;
	int rc;

	fail_at = 0;
	CU_ASSERT_FATAL(drukbox_host_parse(&h, text, strlen(text)) == 0);
	alloc_count = 0;
	fail_at = n;
	rc = drukbox_host_json(&json, &len, h);
	CU_ASSERT(rc == 0 || (json == NULL && len == 0));
	if (rc == 0)
		CU_ASSERT_PTR_NULL(strstr(json, "KEY"));
	free(json);
	drukbox_host_free(h);
	return rc;
}

static int op_client_new(void)
{
	drukbox_options o = { .url = "http://127.0.0.1:9/prefix/",
			      .token = "t0ken", .cafile = "/etc/ca.pem" };
	drukbox_client *c = (drukbox_client *)1;
	int rc = drukbox_client_new(&c, &o);

	CU_ASSERT(rc == 0 || c == NULL);
	drukbox_client_free(c);
	return rc;
}

static void test_host_parse(void) { for_every_failure(op_host_parse); }
static void test_list_parse(void) { for_every_failure(op_list_parse); }
static void test_doctor_parse(void) { for_every_failure(op_doctor_parse); }
static void test_create_body(void) { for_every_failure(op_create_body); }
static void test_placeholder(void) { for_every_failure(op_placeholder); }
static void test_host_json(void) { for_every_failure(op_host_json); }
static void test_client_new(void) { for_every_failure(op_client_new); }

static const drukbox_test tests[] = {
	{ "host parse", test_host_parse },
	{ "list parse", test_list_parse },
	{ "doctor parse", test_doctor_parse },
	{ "create body", test_create_body },
	{ "host dup", test_host_dup },
	{ "placeholder", test_placeholder },
	{ "strip private key cannot fail", test_strip_private_key },
	{ "host.json", test_host_json },
	{ "client new", test_client_new },
	{ NULL, NULL },
};

static const drukbox_test_suite suites[] = {
	{ "every allocation fails once", NULL, NULL, tests },
};

DRUKBOX_TEST_MAIN(suites)
