/*
 * Unit tests for src/fs/parts.c: a file of a header and parts rendered
 * on demand.  Every read at every offset and size is compared with the
 * same range of the file built whole; the callback counts its calls so
 * that a read is seen to render only the parts it covers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "parts.h"

#include "../support/cunit_main.h"

typedef struct table {
	const char *parts[8];
	size_t count;
	size_t calls;
	int fail_at;            /* 1 + the part that fails, or 0 */
} table;

static int part_fn(void *ctx, size_t i, char **out, size_t *len)
{
	table *t = ctx;

	t->calls++;
	if (t->fail_at && (size_t)t->fail_at == i + 1)
		return -EACCES;
	*len = strlen(t->parts[i]);
	*out = *len ? strdup(t->parts[i]) : NULL;
	return *len && !*out ? -ENOMEM : 0;
}

static char *whole(const char *header, const table *t)
{
	size_t n = strlen(header);
	char *s;

	for (size_t i = 0; i < t->count; i++)
		n += strlen(t->parts[i]);
	s = malloc(n + 1);
	strcpy(s, header);
	for (size_t i = 0; i < t->count; i++)
		strcat(s, t->parts[i]);
	return s;
}

/* Every (offset, size) over the file and a little past it. */
static void check_every_range(const char *header, table *t)
{
	drukfs_parts p = { header, strlen(header), t->count, NULL };
	char *full = whole(header, t);
	size_t total = strlen(full), bad = 0;

	CU_ASSERT_EQUAL_FATAL(drukfs_parts_size(&p, part_fn, t), 0);
	CU_ASSERT_EQUAL(drukfs_parts_total(&p), total);
	for (size_t off = 0; off <= total + 2; off++) {
		for (size_t size = 0; size <= total + 3; size++) {
			char *got = NULL;
			size_t len = 0, want;

			if (drukfs_parts_read(&p, part_fn, t, off, size, &got,
					      &len) != 0) {
				bad++;
				continue;
			}
			want = off >= total ? 0 : total - off < size
						      ? total - off : size;
			if (len != want || (len && memcmp(got, full + off, len)))
				bad++;
			free(got);
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	drukfs_parts_clear(&p);
	CU_ASSERT_PTR_NULL(p.off);
	free(full);
}

static void test_ranges(void)
{
	table t = { { "\nHost a\n  Port 1\n", "", "\nHost b\n", "x", "",
		      "\nHost ccc\n    User u\n" }, 6, 0, 0 };
	table none = { { NULL }, 0, 0, 0 };
	table empty = { { "", "", "" }, 3, 0, 0 };

	check_every_range("# header\n", &t);
	check_every_range("", &t);
	check_every_range("# only a header\n", &none);
	check_every_range("#\n", &empty);
	check_every_range("", &empty);
}

/* A read renders the parts it covers and no others. */
static void test_renders_only_what_is_read(void)
{
	table t = { { "aaaa", "bbbb", "cccc", "dddd", "eeee" }, 5, 0, 0 };
	drukfs_parts p = { "HH", 2, 5, NULL };
	char *got = NULL;
	size_t len = 0;

	CU_ASSERT_EQUAL_FATAL(drukfs_parts_size(&p, part_fn, &t), 0);
	CU_ASSERT_EQUAL(t.calls, 5);
	t.calls = 0;
	/* The header is bytes 0-1, part 0 bytes 2-5, part 1 6-9, part 2
	 * 10-13: [7, 13) covers parts 1 and 2 only. */
	CU_ASSERT_EQUAL(drukfs_parts_read(&p, part_fn, &t, 7, 6, &got, &len), 0);
	CU_ASSERT_EQUAL(len, 6);
	CU_ASSERT_NSTRING_EQUAL(got, "bbbccc", 6);
	CU_ASSERT_EQUAL(t.calls, 2);
	free(got);
	t.calls = 0;
	CU_ASSERT_EQUAL(drukfs_parts_read(&p, part_fn, &t, 0, 2, &got, &len), 0);
	CU_ASSERT_EQUAL(t.calls, 0); /* the header alone */
	CU_ASSERT_NSTRING_EQUAL(got, "HH", 2);
	free(got);
	drukfs_parts_clear(&p);
}

/* A part that renders to another length fails the read (never a torn
 * file); a callback's error is passed on, when sizing and when reading. */
static void test_errors(void)
{
	table t = { { "one", "two", "three" }, 3, 0, 0 };
	drukfs_parts p = { "", 0, 3, NULL };
	char *got = (char *)1;
	size_t len = 1;

	CU_ASSERT_EQUAL_FATAL(drukfs_parts_size(&p, part_fn, &t), 0);
	t.parts[1] = "TWO!";
	CU_ASSERT_EQUAL(drukfs_parts_read(&p, part_fn, &t, 0, 100, &got, &len),
			-EIO);
	CU_ASSERT_PTR_NULL(got);
	CU_ASSERT_EQUAL(len, 0);
	/* a read that does not cover the changed part still works */
	CU_ASSERT_EQUAL(drukfs_parts_read(&p, part_fn, &t, 6, 5, &got, &len), 0);
	CU_ASSERT_NSTRING_EQUAL(got, "three", 5);
	free(got);
	t.parts[1] = "two";
	t.fail_at = 3;
	CU_ASSERT_EQUAL(drukfs_parts_read(&p, part_fn, &t, 0, 100, &got, &len),
			-EACCES);
	drukfs_parts_clear(&p);
	CU_ASSERT_EQUAL(drukfs_parts_size(&p, part_fn, &t), -EACCES);
	CU_ASSERT_PTR_NULL(p.off);
	CU_ASSERT_EQUAL(drukfs_parts_total(&p), 0);
	/* unsized: reads nothing */
	CU_ASSERT_EQUAL(drukfs_parts_read(&p, part_fn, &t, 0, 10, &got, &len), 0);
	CU_ASSERT_EQUAL(len, 0);
}

static const drukbox_test tests[] = {
	{ "every range matches the whole file", test_ranges },
	{ "a read renders only the parts it covers",
	  test_renders_only_what_is_read },
	{ "changed part, callback errors", test_errors },
	{ NULL, NULL },
};

static const drukbox_test_suite suites[] = {
	{ "parts", NULL, NULL, tests },
};

DRUKBOX_TEST_MAIN(suites)
