/*
 * test_lib_internal.c — libdrukbox's private modules, compiled straight in:
 * the capped buffer (buf.c) and the error-body reader (json.c).
 *
 * These are behind the public API, but their contracts carry weight of
 * their own: a failed append must free the buffer and report the cap, and
 * every shape of error body must turn into the right detail text.
 */
#include "common.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cunit_main.h"
#include "error.h"
#include "json.h"

/* ---- buf ----------------------------------------------------------------- */

static void test_buf_append_and_detach(void)
{
	drukbox_buf b;
	char *s;

	drukbox_buf_init(&b, 1 << 20, "response");
	CU_ASSERT_STRING_EQUAL(drukbox_buf_cstr(&b), "");
	for (int i = 0; i < 1000; i++)
		CU_ASSERT_EQUAL_FATAL(drukbox_buf_puts(&b, "abc"), 0);
	CU_ASSERT_EQUAL(b.len, 3000);
	CU_ASSERT_EQUAL(b.data[3000], '\0');
	CU_ASSERT(strncmp(b.data + 2997, "abc", 3) == 0);
	s = drukbox_buf_detach(&b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(strlen(s), 3000);
	CU_ASSERT_PTR_NULL(b.data);
	CU_ASSERT_EQUAL(b.len, 0);
	free(s);
	/* detaching an empty buffer still gives a string */
	s = drukbox_buf_detach(&b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "");
	free(s);
	drukbox_buf_free(&b);
	drukbox_buf_free(&b); /* idempotent */
}

/* Exactly the cap fits; one byte more fails, names the buffer, and frees
 * what was built. */
static void test_buf_cap(void)
{
	drukbox_buf b;
	char block[100];

	memset(block, 'x', sizeof(block));
	drukbox_buf_init(&b, 250, "response");
	CU_ASSERT_EQUAL(drukbox_buf_append(&b, block, 100), 0);
	CU_ASSERT_EQUAL(drukbox_buf_append(&b, block, 100), 0);
	CU_ASSERT_EQUAL(drukbox_buf_append(&b, block, 50), 0);
	CU_ASSERT_EQUAL(b.len, 250);
	CU_ASSERT_EQUAL(drukbox_buf_append(&b, block, 1), -DRUKBOX_EPROTOCOL);
	CU_ASSERT_EQUAL(drukbox_error_last()->code, DRUKBOX_EPROTOCOL);
	CU_ASSERT_PTR_NOT_NULL(strstr(drukbox_error_last()->detail,
				      "response too large"));
	CU_ASSERT_PTR_NULL(b.data);
	CU_ASSERT_EQUAL(b.len, 0);
	drukbox_buf_free(&b);
}

/* A length that would overflow size_t arithmetic is just "too large". */
static void test_buf_huge_length(void)
{
	drukbox_buf b;

	drukbox_buf_init(&b, DRUKBOX_RESPONSE_MAX, "response");
	CU_ASSERT_EQUAL(drukbox_buf_puts(&b, "a"), 0);
	CU_ASSERT_EQUAL(drukbox_buf_append(&b, "", SIZE_MAX),
			-DRUKBOX_EPROTOCOL);
	CU_ASSERT_PTR_NULL(b.data);
}

/* The 64 MiB response cap, for real. */
static void test_buf_response_cap(void)
{
	size_t chunk = 1 << 20;
	char *block = calloc(1, chunk);
	drukbox_buf b;
	int rc = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(block);
	drukbox_buf_init(&b, DRUKBOX_RESPONSE_MAX, "response");
	for (size_t i = 0; i < 64 && !rc; i++)
		rc = drukbox_buf_append(&b, block, chunk);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(b.len, (size_t)64 << 20);
	CU_ASSERT_EQUAL(drukbox_buf_append(&b, block, 1), -DRUKBOX_EPROTOCOL);
	CU_ASSERT_PTR_NULL(b.data);
	free(block);
}

/* ---- error bodies ---------------------------------------------------------- */

/* Runs the reader on body; returns whether it found a detail. */
static bool read_error(const char *body, char *detail, size_t size,
		       char code[64])
{
	return drukbox_json_error_info(body, strlen(body), detail, size, code,
				       64);
}

static void test_error_body_string(void)
{
	char detail[256], code[64];

	CU_ASSERT(read_error("{\"detail\": \"host not found\", \"error_code\":"
			     " \"NOT_FOUND\"}", detail, sizeof(detail), code));
	CU_ASSERT_STRING_EQUAL(detail, "host not found");
	CU_ASSERT_STRING_EQUAL(code, "NOT_FOUND");
}

static void test_error_body_list_joined(void)
{
	char detail[256], code[64];

	CU_ASSERT(read_error("{\"detail\": [{\"loc\": [\"body\", \"image\"], "
			     "\"msg\": \"must not be blank\", \"type\": \"v\"},"
			     " {\"loc\": [], \"msg\": \"too old\"}, {\"x\": 1},"
			     " \"bare text\"]}", detail, sizeof(detail), code));
	CU_ASSERT_STRING_EQUAL(detail, "must not be blank; too old; bare text");
	CU_ASSERT_STRING_EQUAL(code, "");
}

/* A long list is cut at the buffer, still NUL-terminated. */
static void test_error_body_truncated(void)
{
	char detail[16], code[64];

	CU_ASSERT(read_error("{\"detail\": [{\"msg\": \"aaaaaaaaaa\"}, "
			     "{\"msg\": \"bbbbbbbbbb\"}]}", detail,
			     sizeof(detail), code));
	CU_ASSERT_STRING_EQUAL(detail, "aaaaaaaaaa; bbb");
}

static void test_error_body_without_detail(void)
{
	static const char *const cases[] = {
		"{}", "{\"detail\": null}", "{\"detail\": 5}",
		"{\"detail\": []}", "[\"x\"]", "<html>oops</html>", "",
		"{\"detail\": \"\"}",
	};
	char detail[64], code[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_FALSE(read_error(cases[i], detail, sizeof(detail),
					   code));
		CU_ASSERT_STRING_EQUAL(detail, "");
	}
	/* error_code is still read when detail is missing */
	CU_ASSERT_FALSE(read_error("{\"error_code\": \"HOST_TEARDOWN\"}",
				   detail, sizeof(detail), code));
	CU_ASSERT_STRING_EQUAL(code, "HOST_TEARDOWN");
}

/* Reading an error body must not disturb the thread's last error. */
static void test_error_body_keeps_last_error(void)
{
	char detail[64], code[64];

	drukbox_error_set(DRUKBOX_ECONFLICT, 409, "before");
	drukbox_error_set_server_code("HOST_STATE");
	read_error("not json", detail, sizeof(detail), code);
	CU_ASSERT_EQUAL(drukbox_error_last()->code, DRUKBOX_ECONFLICT);
	CU_ASSERT_EQUAL(drukbox_error_last()->http_status, 409);
	CU_ASSERT_STRING_EQUAL(drukbox_error_last()->detail, "before");
	CU_ASSERT_STRING_EQUAL(drukbox_error_last()->error_code, "HOST_STATE");
}

/* Every class has a non-empty fallback text. */
static void test_fallback_texts(void)
{
	for (int c = DRUKBOX_EAUTH; c <= DRUKBOX_EINVAL; c++) {
		CU_ASSERT(strlen(drukbox_error_fallback((drukbox_err)c)) > 0);
		CU_ASSERT_EQUAL(drukbox_error_set_fallback((drukbox_err)c, 0),
				-c);
		CU_ASSERT_STRING_EQUAL(drukbox_error_last()->detail,
				       drukbox_error_fallback((drukbox_err)c));
	}
}

/* Error state is per thread. */
static void *other_thread(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)drukbox_error_last()->code;
}

static void test_error_per_thread(void)
{
	pthread_t t;
	void *code = NULL;

	drukbox_error_set(DRUKBOX_ETIMEOUT, 0, "here only");
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, other_thread, NULL), 0);
	pthread_join(t, &code);
	CU_ASSERT_EQUAL((intptr_t)code, DRUKBOX_OK);
	CU_ASSERT_EQUAL(drukbox_error_last()->code, DRUKBOX_ETIMEOUT);
}

static const drukbox_test buf_tests[] = {
	{ "append and detach", test_buf_append_and_detach },
	{ "cap: fails, names it, frees", test_buf_cap },
	{ "huge length", test_buf_huge_length },
	{ "64 MiB response cap", test_buf_response_cap },
	{ NULL, NULL },
};

static const drukbox_test error_tests[] = {
	{ "string detail and error_code", test_error_body_string },
	{ "422 list joined with '; '", test_error_body_list_joined },
	{ "long detail truncated", test_error_body_truncated },
	{ "no usable detail", test_error_body_without_detail },
	{ "reader keeps the last error", test_error_body_keeps_last_error },
	{ "fallback texts", test_fallback_texts },
	{ "error state is per thread", test_error_per_thread },
	{ NULL, NULL },
};

static const drukbox_test_suite suites[] = {
	{ "buf", NULL, NULL, buf_tests },
	{ "error bodies", NULL, NULL, error_tests },
};

DRUKBOX_TEST_MAIN(suites)
