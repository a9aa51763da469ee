/*
 * Unit tests for src/fs/isotime.c: the service's ISO 8601 timestamps.
 *
 * The expected epoch seconds were computed independently (Python's
 * datetime.fromisoformat(...).timestamp()), not with the code under test.
 * Every rejection also checks that *out is left alone, so a caller that
 * ignores the return value at least does not read a half-parsed time.
 */
#include <errno.h>
#include <stdint.h>

#include "isotime.h"

#include "../support/cunit_main.h"

#define UNTOUCHED INT64_C(0x5eed5eed5eed)

/* Parses s, expecting success; returns the seconds (or a marker). */
static int64_t ok(const char *s)
{
	int64_t t = UNTOUCHED;
	int rc = drukfs_isotime_parse(s, &t);

	CU_ASSERT_EQUAL(rc, 0);
	return rc == 0 ? t : UNTOUCHED;
}

/* Parses s, expecting -EINVAL and *out unchanged; returns whether so. */
static int rejected(const char *s)
{
	int64_t t = UNTOUCHED;
	int rc = drukfs_isotime_parse(s, &t);

	return rc == -EINVAL && t == UNTOUCHED;
}

/* ---- accepted forms ------------------------------------------------------- */

static void test_service_format_with_fraction(void)
{
	CU_ASSERT_EQUAL(ok("2026-11-30T22:57:44.123456+00:00"),
			INT64_C(1796079464));
	/* Fractions are dropped, never rounded. */
	CU_ASSERT_EQUAL(ok("2026-11-30T22:57:44.999999+00:00"),
			INT64_C(1796079464));
	CU_ASSERT_EQUAL(ok("2026-11-30T22:57:44.5+00:00"),
			INT64_C(1796079464));
}

static void test_without_fraction(void)
{
	CU_ASSERT_EQUAL(ok("2026-11-30T22:57:44+00:00"), INT64_C(1796079464));
}

static void test_zulu(void)
{
	CU_ASSERT_EQUAL(ok("2026-11-30T22:57:44Z"), INT64_C(1796079464));
	CU_ASSERT_EQUAL(ok("2026-11-30T22:57:44.123456Z"), INT64_C(1796079464));
}

/* Local time minus the offset: +05:30 is 19800 s earlier in UTC. */
static void test_positive_offset(void)
{
	CU_ASSERT_EQUAL(ok("2026-11-30T22:57:44+05:30"),
			INT64_C(1796079464) - 19800);
	CU_ASSERT_EQUAL(ok("2026-11-30T22:57:44+23:59"),
			INT64_C(1796079464) - (23 * 3600 + 59 * 60));
}

static void test_negative_offset(void)
{
	CU_ASSERT_EQUAL(ok("2026-11-30T22:57:44-08:00"),
			INT64_C(1796079464) + 28800);
	CU_ASSERT_EQUAL(ok("2026-11-30T22:57:44.1-00:30"),
			INT64_C(1796079464) + 1800);
	/* -00:00 is UTC too. */
	CU_ASSERT_EQUAL(ok("2026-11-30T22:57:44-00:00"), INT64_C(1796079464));
}

/* An offset can move the date across midnight, month and year ends. */
static void test_offset_crosses_year(void)
{
	CU_ASSERT_EQUAL(ok("1999-12-31T20:00:00-04:00"), INT64_C(946684800));
	CU_ASSERT_EQUAL(ok("2000-01-01T05:30:00+05:30"), INT64_C(946684800));
}

static void test_space_separator(void)
{
	CU_ASSERT_EQUAL(ok("2026-11-30 22:57:44.123456+00:00"),
			INT64_C(1796079464));
}

static void test_epoch(void)
{
	CU_ASSERT_EQUAL(ok("1970-01-01T00:00:00Z"), 0);
	CU_ASSERT_EQUAL(ok("1970-01-01T00:00:00+00:00"), 0);
	CU_ASSERT_EQUAL(ok("1969-12-31T23:59:59Z"), -1);
}

static void test_leap_day(void)
{
	CU_ASSERT_EQUAL(ok("2024-02-29T00:00:00+00:00"), INT64_C(1709164800));
	CU_ASSERT_EQUAL(ok("2024-03-01T00:00:00Z"),
			INT64_C(1709164800) + 86400);
	CU_ASSERT_EQUAL(ok("2000-02-29T00:00:00Z"),
			INT64_C(946684800) + 59 * 86400);
}

/* 2100 is not a leap year: Feb 28 is followed by Mar 1.  Also past 2038. */
static void test_year_2100(void)
{
	CU_ASSERT_EQUAL(ok("2100-02-28T23:59:59Z"), INT64_C(4107542399));
	CU_ASSERT_EQUAL(ok("2100-03-01T00:00:00Z"), INT64_C(4107542400));
}

/* ---- rejected forms ------------------------------------------------------- */

static void test_rejects_missing_offset(void)
{
	CU_ASSERT_TRUE(rejected("2026-11-30T22:57:44"));
	CU_ASSERT_TRUE(rejected("2026-11-30T22:57:44.123456"));
}

static void test_rejects_bad_offsets(void)
{
	CU_ASSERT_TRUE(rejected("2026-11-30T22:57:44+0000"));
	CU_ASSERT_TRUE(rejected("2026-11-30T22:57:44+00"));
	CU_ASSERT_TRUE(rejected("2026-11-30T22:57:44+24:00"));
	CU_ASSERT_TRUE(rejected("2026-11-30T22:57:44+00:60"));
	CU_ASSERT_TRUE(rejected("2026-11-30T22:57:44+0a:00"));
	CU_ASSERT_TRUE(rejected("2026-11-30T22:57:44+00-00"));
	CU_ASSERT_TRUE(rejected("2026-11-30T22:57:44 00:00"));
	CU_ASSERT_TRUE(rejected("2026-11-30T22:57:44z"));
	CU_ASSERT_TRUE(rejected("2026-11-30T22:57:44+"));
}

static void test_rejects_trailing_junk(void)
{
	CU_ASSERT_TRUE(rejected("2026-11-30T22:57:44+00:00x"));
	CU_ASSERT_TRUE(rejected("2026-11-30T22:57:44+00:00 "));
	CU_ASSERT_TRUE(rejected("2026-11-30T22:57:44ZZ"));
	CU_ASSERT_TRUE(rejected("2026-11-30T22:57:44Z\n"));
}

static void test_rejects_bad_fraction(void)
{
	CU_ASSERT_TRUE(rejected("2026-11-30T22:57:44.+00:00"));
	CU_ASSERT_TRUE(rejected("2026-11-30T22:57:44.Z"));
	CU_ASSERT_TRUE(rejected("2026-11-30T22:57:44.12a+00:00"));
	CU_ASSERT_TRUE(rejected("2026-11-30T22:57:44,5+00:00"));
}

static void test_rejects_out_of_range_fields(void)
{
	CU_ASSERT_TRUE(rejected("2026-13-01T00:00:00Z"));
	CU_ASSERT_TRUE(rejected("2026-00-01T00:00:00Z"));
	CU_ASSERT_TRUE(rejected("2026-11-00T00:00:00Z"));
	CU_ASSERT_TRUE(rejected("2026-11-32T00:00:00Z"));
	CU_ASSERT_TRUE(rejected("2026-11-30T24:00:00Z"));
	CU_ASSERT_TRUE(rejected("2026-11-30T23:60:00Z"));
	CU_ASSERT_TRUE(rejected("2026-11-30T23:59:61Z"));
}

/* A day that the month does not have is not a timestamp either: the
 * header promises -EINVAL "for anything that is not such a timestamp". */
static void test_rejects_day_past_month_end(void)
{
	CU_ASSERT_TRUE(rejected("2026-02-29T00:00:00Z")); /* not a leap year */
	CU_ASSERT_TRUE(rejected("2100-02-29T00:00:00Z")); /* nor is 2100 */
	CU_ASSERT_TRUE(rejected("2024-02-30T00:00:00Z"));
	CU_ASSERT_TRUE(rejected("2026-02-31T00:00:00Z"));
	CU_ASSERT_TRUE(rejected("2026-04-31T00:00:00Z"));
	CU_ASSERT_TRUE(rejected("2026-11-31T00:00:00Z"));
}

static void test_rejects_bad_shape(void)
{
	CU_ASSERT_TRUE(rejected(""));
	CU_ASSERT_TRUE(rejected(NULL));
	CU_ASSERT_TRUE(rejected("Z"));
	CU_ASSERT_TRUE(rejected("2026-11-30"));
	CU_ASSERT_TRUE(rejected("2026-11-30T22:57Z"));
	CU_ASSERT_TRUE(rejected("2026/11/30T22:57:44Z"));
	CU_ASSERT_TRUE(rejected("2026-11-30T22.57.44Z"));
	CU_ASSERT_TRUE(rejected("26-11-30T22:57:44+00:00"));
	CU_ASSERT_TRUE(rejected("+2026-11-30T22:57:44Z"));
	CU_ASSERT_TRUE(rejected("2026-1-30T22:57:44+00:00"));
	CU_ASSERT_TRUE(rejected("2026-11-30T2:57:44+00:00"));
	CU_ASSERT_TRUE(rejected("2026-11-30T22:57:4a+00:00"));
	CU_ASSERT_TRUE(rejected(" 2026-11-30T22:57:44Z"));
}

/* Only 'T' and ' ' separate date and time; lowercase 't' is refused. */
static void test_separator_is_T_or_space(void)
{
	CU_ASSERT_TRUE(rejected("2026-11-30t22:57:44Z"));
	CU_ASSERT_TRUE(rejected("2026-11-30_22:57:44Z"));
	CU_ASSERT_TRUE(rejected("2026-11-3022:57:44+00:00"));
}

static const drukbox_test accept_tests[] = {
	{ "service format with microseconds", test_service_format_with_fraction },
	{ "no fraction", test_without_fraction },
	{ "Z suffix", test_zulu },
	{ "positive offset subtracts", test_positive_offset },
	{ "negative offset adds", test_negative_offset },
	{ "offset crosses the year", test_offset_crosses_year },
	{ "space separator", test_space_separator },
	{ "epoch and one second before", test_epoch },
	{ "leap day 2024-02-29", test_leap_day },
	{ "year 2100 (not leap, past 2038)", test_year_2100 },
	{ NULL, NULL },
};

static const drukbox_test reject_tests[] = {
	{ "no offset", test_rejects_missing_offset },
	{ "bad offset forms (+0000, +24:00, ...)", test_rejects_bad_offsets },
	{ "trailing junk", test_rejects_trailing_junk },
	{ "bad fraction", test_rejects_bad_fraction },
	{ "month 13 and other fields out of range",
	  test_rejects_out_of_range_fields },
	{ "day past the end of its month (Feb 30, Apr 31)",
	  test_rejects_day_past_month_end },
	{ "empty, NULL, wrong shape", test_rejects_bad_shape },
	{ "separator: 'T' or ' ' only, not 't'",
	  test_separator_is_T_or_space },
	{ NULL, NULL },
};

static const drukbox_test_suite suites[] = {
	{ "isotime_accept", NULL, NULL, accept_tests },
	{ "isotime_reject", NULL, NULL, reject_tests },
};

DRUKBOX_TEST_MAIN(suites)
