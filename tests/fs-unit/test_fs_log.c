/*
 * Unit tests for src/fs/log.c: the ring bound, the line format, cleaning,
 * the 1 KiB cap and the ENOMEM drop counter.
 *
 * This program builds log.c with -DDRUKFS_LOG_ALLOC=fs_log_test_alloc, an
 * allocator the tests can make fail, to reach the drop path.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#include "../support/cunit_main.h"

/* 2026-11-30T22:57:44Z */
#define T0 ((time_t)1796079464)

void *fs_log_test_alloc(size_t size);

static int fail_allocs; /* the next this-many line copies fail */

void *fs_log_test_alloc(size_t size)
{
	if (fail_allocs > 0) {
		fail_allocs--;
		return NULL;
	}
	return malloc(size);
}

/* Renders `log` and checks it is exactly `want`. */
static void expect_log(drukfs_log *log, const char *want)
{
	char *out = NULL;
	size_t len = 0;

	CU_ASSERT_EQUAL_FATAL(drukfs_log_render(log, &out, &len), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL(len, strlen(want));
	CU_ASSERT_STRING_EQUAL(out, want);
	free(out);
}

static void test_log_empty(void)
{
	drukfs_log *log = drukfs_log_new(8, 0);

	CU_ASSERT_PTR_NOT_NULL_FATAL(log);
	expect_log(log, "");
	drukfs_log_free(log);
}

static void test_log_timestamp_format(void)
{
	drukfs_log *log = drukfs_log_new(8, 0);

	CU_ASSERT_PTR_NOT_NULL_FATAL(log);
	drukfs_log_add(log, T0, "mkdir %s: %s", "web", "created");
	drukfs_log_add(log, 0, "epoch");
	drukfs_log_add(log, T0 + 86400 * 366 + 1, "a year and a second later");
	expect_log(log, "2026-11-30T22:57:44Z mkdir web: created\n"
			"1970-01-01T00:00:00Z epoch\n"
			"2027-12-01T22:57:45Z a year and a second later\n");
	drukfs_log_free(log);
}

/* max + 5 lines in: exactly the newest max remain, oldest first. */
static void test_log_ring_bound(void)
{
	enum { MAX = 4 };
	drukfs_log *log = drukfs_log_new(MAX, 0);

	CU_ASSERT_PTR_NOT_NULL_FATAL(log);
	for (int i = 0; i < MAX + 5; i++)
		drukfs_log_add(log, T0 + i, "line %d", i);
	expect_log(log, "2026-11-30T22:57:49Z line 5\n"
			"2026-11-30T22:57:50Z line 6\n"
			"2026-11-30T22:57:51Z line 7\n"
			"2026-11-30T22:57:52Z line 8\n");
	drukfs_log_add(log, T0, "line 9");
	expect_log(log, "2026-11-30T22:57:50Z line 6\n"
			"2026-11-30T22:57:51Z line 7\n"
			"2026-11-30T22:57:52Z line 8\n"
			"2026-11-30T22:57:44Z line 9\n");
	drukfs_log_free(log);
}

/* A ring of 0 keeps one line rather than none. */
static void test_log_zero_max(void)
{
	drukfs_log *log = drukfs_log_new(0, 0);

	CU_ASSERT_PTR_NOT_NULL_FATAL(log);
	drukfs_log_add(log, T0, "a");
	drukfs_log_add(log, T0, "b");
	expect_log(log, "2026-11-30T22:57:44Z b\n");
	drukfs_log_free(log);
}

static void test_log_control_chars(void)
{
	drukfs_log *log = drukfs_log_new(8, 0);

	CU_ASSERT_PTR_NOT_NULL_FATAL(log);
	drukfs_log_add(log, T0, "create failed: %s",
		       "quota\nexceeded\r\x1b[2J\x7f\tend");
	drukfs_log_add(log, T0, "c1 \xc2\x9b" "31m \xc2\x85 kept: \xc3\xa9 \xc2\xa0");
	drukfs_log_add(log, T0, "%s", "\x01\x1f ");
	expect_log(log, "2026-11-30T22:57:44Z create failed: "
			"quota?exceeded??[2J?\tend\n"
			"2026-11-30T22:57:44Z c1 ??31m ?? kept: \xc3\xa9 \xc2\xa0\n"
			"2026-11-30T22:57:44Z ?? \n");
	drukfs_log_free(log);
}

/* Lines are cut to 1024 bytes, stamp included, never inside a UTF-8
 * character. */
static void test_log_line_cap(void)
{
	char big[3000], want[1100];
	drukfs_log *log = drukfs_log_new(8, 0);
	char *out = NULL;
	size_t len = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(log);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	drukfs_log_add(log, T0, "%s", big);
	memcpy(want, "2026-11-30T22:57:44Z ", 21);
	memset(want + 21, 'x', 1024 - 21);
	memcpy(want + 1024, "\n", 2);
	expect_log(log, want);

	/* 1002 bytes of 'y' then "é": the cut falls between the two bytes of
	 * "é", so the whole character goes and the line is 1023 bytes. */
	memset(big, 'y', 1002);
	memcpy(big + 1002, "\xc3\xa9\xc3\xa9", 5);
	drukfs_log_add(log, T0, "%s", big);
	CU_ASSERT_EQUAL_FATAL(drukfs_log_render(log, &out, &len), 0);
	CU_ASSERT_EQUAL(len, 1025 + 1024);
	CU_ASSERT_EQUAL(memcmp(out + 1025 + 21, big, 1002), 0);
	CU_ASSERT_EQUAL(out[1025 + 1023], '\n');
	free(out);
	drukfs_log_free(log);
}

/* A line whose copy cannot be allocated is dropped and counted, and the
 * render says so first. */
static void test_log_dropped_on_enomem(void)
{
	drukfs_log *log = drukfs_log_new(8, 0);

	CU_ASSERT_PTR_NOT_NULL_FATAL(log);
	drukfs_log_add(log, T0, "kept 1");
	fail_allocs = 1;
	drukfs_log_add(log, T0, "lost 1");
	drukfs_log_add(log, T0, "kept 2");
	expect_log(log, "(1 line dropped: out of memory)\n"
			"2026-11-30T22:57:44Z kept 1\n"
			"2026-11-30T22:57:44Z kept 2\n");
	fail_allocs = 2;
	drukfs_log_add(log, T0, "lost 2");
	drukfs_log_add(log, T0, "lost 3");
	expect_log(log, "(3 lines dropped: out of memory)\n"
			"2026-11-30T22:57:44Z kept 1\n"
			"2026-11-30T22:57:44Z kept 2\n");
	drukfs_log_free(log);
}

static void test_log_null_safe(void)
{
	char *out = (char *)"sentinel";
	size_t len = 5;

	drukfs_log_add(NULL, T0, "nothing");
	drukfs_log_free(NULL);
	CU_ASSERT_EQUAL(drukfs_log_render(NULL, &out, &len), -EINVAL);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_EQUAL(len, 0);
}

/* Echo mode writes each line to stderr as well. */
static void test_log_echo(void)
{
	char buf[128] = {0};
	drukfs_log *log = drukfs_log_new(8, 1);
	FILE *tmp = tmpfile();
	int saved;

	CU_ASSERT_PTR_NOT_NULL_FATAL(log);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
	fflush(stderr);
	saved = dup(fileno(stderr));
	CU_ASSERT_FATAL(saved >= 0);
	dup2(fileno(tmp), fileno(stderr));
	drukfs_log_add(log, T0, "echoed %d", 1);
	fflush(stderr);
	dup2(saved, fileno(stderr));
	close(saved);
	rewind(tmp);
	CU_ASSERT_PTR_NOT_NULL(fgets(buf, sizeof(buf), tmp));
	CU_ASSERT_STRING_EQUAL(buf, "2026-11-30T22:57:44Z echoed 1\n");
	fclose(tmp);
	drukfs_log_free(log);
}

/* ---- threads ------------------------------------------------------------ */

enum { THREADS = 8, PER_THREAD = 500, RING = 100 };

static void *add_lines(void *arg)
{
	drukfs_log *log = arg;

	for (int i = 0; i < PER_THREAD; i++)
		drukfs_log_add(log, T0, "t %d", i);
	return NULL;
}

/* Many writers and a reader at once: the ring ends full, every line
 * whole. */
static void test_log_threads(void)
{
	drukfs_log *log = drukfs_log_new(RING, 0);
	pthread_t t[THREADS];
	char *out = NULL;
	size_t len = 0, lines = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(log);
	for (int i = 0; i < THREADS; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, add_lines, log),
				      0);
	for (int i = 0; i < 20; i++) {
		CU_ASSERT_EQUAL(drukfs_log_render(log, &out, &len), 0);
		free(out);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	CU_ASSERT_EQUAL_FATAL(drukfs_log_render(log, &out, &len), 0);
	for (char *p = out; *p; p = strchr(p, '\n') + 1) {
		CU_ASSERT_EQUAL(strncmp(p, "2026-11-30T22:57:44Z t ", 23), 0);
		lines++;
	}
	CU_ASSERT_EQUAL(lines, RING);
	free(out);
	drukfs_log_free(log);
}

static const drukbox_test log_tests[] = {
	{"empty log renders empty", test_log_empty},
	{"ISO-8601 UTC timestamps from now", test_log_timestamp_format},
	{"ring keeps exactly the newest max, in order", test_log_ring_bound},
	{"max 0 keeps one line", test_log_zero_max},
	{"control characters become '?'", test_log_control_chars},
	{"lines capped at 1 KiB on a character boundary", test_log_line_cap},
	{"ENOMEM drops are counted and shown", test_log_dropped_on_enomem},
	{"NULL log is harmless", test_log_null_safe},
	{"echo writes to stderr", test_log_echo},
	{"concurrent writers and readers", test_log_threads},
	{NULL, NULL},
};

static const drukbox_test_suite suites[] = {
	{"fs-log", NULL, NULL, log_tests},
};

DRUKBOX_TEST_MAIN(suites)
