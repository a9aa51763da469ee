/*
 * test_lib_jscan.c — the strict JSON reader (src/lib/jscan.c), alone.
 *
 * What it must accept and refuse (RFC 8259 with RFC 3629 UTF-8, json-c's
 * nesting count), what strings decode to, and what numbers read as.  The
 * host parsers built on it are tested in test_lib_parse.c and, against
 * the old json-c parser, in test_lib_diff.c.
 */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jscan.h"

#include "cunit_main.h"

/* Whether text[0..len) is one JSON document (skip, then nothing left). */
static bool valid_len(const char *text, size_t len)
{
	jscan js;

	jscan_init(&js, text, len);
	return jscan_skip(&js) && jscan_finish(&js);
}

static bool valid(const char *text)
{
	return valid_len(text, strlen(text));
}

static void expect_valid(const char *text)
{
	if (!valid(text))
		fprintf(stderr, "refused: %s\n", text);
	CU_ASSERT(valid(text));
}

static void expect_invalid(const char *text)
{
	if (valid(text))
		fprintf(stderr, "accepted: %s\n", text);
	CU_ASSERT_FALSE(valid(text));
}

/* Decodes the string literal `literal` and compares with want (want_len
 * bytes).  The literal must be valid. */
static void expect_decoded(const char *literal, const char *want,
			   size_t want_len)
{
	jscan js;
	jscan_str s;
	char out[256];
	size_t n;

	jscan_init(&js, literal, strlen(literal));
	CU_ASSERT_FATAL(jscan_string(&js, &s));
	CU_ASSERT(jscan_finish(&js));
	CU_ASSERT_FATAL(s.raw_len <= sizeof(out));
	n = jscan_decode(out, &s);
	CU_ASSERT_EQUAL(n, want_len);
	CU_ASSERT(n <= s.raw_len);
	CU_ASSERT(n == want_len && memcmp(out, want, n) == 0);
}

/* ---- grammar ----------------------------------------------------------- */

static void test_values(void)
{
	static const char *const good[] = {
		"{}", "[]", "\"\"", "0", "-0", "true", "false", "null",
		" \t\r\n[ 1 , 2 ]\n", "{\"a\":{\"b\":[true,false,null,{}]}}",
		"{\"\":0}", "[[],[[]],{}]", "\"\x7f\"",
	};
	static const char *const bad[] = {
		"", " ", "[", "]", "{", "}", "[1,]", "[,1]", "{,}", "{\"a\"}",
		"{\"a\":}", "{\"a\" 1}", "{\"a\":1,}", "{1:2}", "{'a':1}",
		"['a']", "[1 2]", "[\"a\"\"b\"]", "tru", "TRUE", "nul", "nulll",
		"[truex]", "NaN", "Infinity", "-Infinity", "[nan]", "\v[]",
		"\f[]", "\xef\xbb\xbf{}", "/*c*/[]", "[]//c", "{\"a\":1:2}",
		"[]]", "{}}", "[[]",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		expect_valid(good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_invalid(bad[i]);
}

/* Only white space may follow the value; a NUL is not white space. */
static void test_trailing(void)
{
	CU_ASSERT(valid_len("[] \n", 4));
	CU_ASSERT_FALSE(valid_len("[]\0", 3));
	CU_ASSERT_FALSE(valid("[] x"));
	CU_ASSERT_FALSE(valid("{}{}"));
	CU_ASSERT_FALSE(valid("1 2"));
	/* a length that cuts the text short */
	CU_ASSERT_FALSE(valid_len("[1, 2]", 5));
}

static void test_numbers(void)
{
	static const char *const good[] = {
		"0", "-0", "1", "-1", "10", "0.5", "-0.5", "1e5", "1E5",
		"1e+5", "1e-5", "1.5e300", "1E400", "0e0", "-0.0e-0",
		"123456789012345678901234567890.5", "[0,-0,1]",
	};
	static const char *const bad[] = {
		"01", "-01", "00", "000", "1.", "0.", "-.5", ".5", "+1", "-",
		"1e", "1e+", "1E-", "1.e1", "0x10", "1..2", "1.2.3", "1e5e5",
		"--1", "[1-2]", "[-]", "[01]", "[1.]", "- 1",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		expect_valid(good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_invalid(bad[i]);
}

/* Reads the single number in text. */
static jscan_num number_of(const char *text)
{
	jscan js;
	jscan_num n = { true, true, 42 };

	jscan_init(&js, text, strlen(text));
	CU_ASSERT(jscan_number(&js, &n));
	CU_ASSERT(jscan_finish(&js));
	return n;
}

/* An integer is a number without fraction or exponent; it "fits" when
 * int64_t holds it. */
static void test_integers(void)
{
	static const struct {
		const char *text;
		bool integer, fits;
		int64_t value;
	} cases[] = {
		{ "0", true, true, 0 },
		{ "-0", true, true, 0 },
		{ "22", true, true, 22 },
		{ "-17", true, true, -17 },
		{ "9223372036854775807", true, true, INT64_MAX },
		{ "-9223372036854775808", true, true, INT64_MIN },
		{ "9223372036854775808", true, false, 0 },
		{ "-9223372036854775809", true, false, 0 },
		{ "18446744073709551615", true, false, 0 },
		{ "18446744073709551616", true, false, 0 },
		{ "99999999999999999999999", true, false, 0 },
		{ "1.0", false, false, 0 },
		{ "1e2", false, false, 0 },
		{ "-0.0", false, false, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		jscan_num n = number_of(cases[i].text);

		if (n.integer != cases[i].integer || n.fits != cases[i].fits ||
		    (n.fits && n.value != cases[i].value))
			fprintf(stderr, "%s: integer %d fits %d value %lld\n",
				cases[i].text, n.integer, n.fits,
				(long long)n.value);
		CU_ASSERT_EQUAL(n.integer, cases[i].integer);
		CU_ASSERT_EQUAL(n.fits, cases[i].fits);
		if (cases[i].fits)
			CU_ASSERT_EQUAL(n.value, cases[i].value);
	}
}

/* ---- strings ------------------------------------------------------------- */

static void test_every_escape(void)
{
	expect_decoded("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8);
	expect_decoded("\"a\\u0041b\"", "aAb", 3);
	expect_decoded("\"\\u00e9\\u00E9\"", "\xc3\xa9\xc3\xa9", 4);
	expect_decoded("\"\\u20ac\"", "\xe2\x82\xac", 3);
	expect_decoded("\"\\u07ff\\u0800\\uffff\"",
		       "\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf", 8);
	expect_decoded("\"\\u001f\\u007f\"", "\x1f\x7f", 2);
	expect_decoded("\"x\\u0000y\"", "x\0y", 3);
	expect_decoded("\"plain text, no escapes\"", "plain text, no escapes",
		       22);
	expect_decoded("\"\"", "", 0);
	/* runs of plain bytes between escapes, longer than a word */
	expect_decoded("\"0123456789\\n0123456789\\t\"",
		       "0123456789\n0123456789\t", 22);
	expect_invalid("\"\\x\"");
	expect_invalid("\"\\'\"");
	expect_invalid("\"\\U0041\"");
	expect_invalid("\"\\u12\"");
	expect_invalid("\"\\u00g1\"");
	expect_invalid("\"\\\"");
	expect_invalid("\"\\");
	expect_invalid("\"abc");
}

/* A surrogate pair decodes to one 4-byte character; a lone surrogate (or
 * a pair in the wrong order) cannot be UTF-8 and is refused. */
static void test_surrogates(void)
{
	expect_decoded("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4);
	expect_decoded("\"\\uD800\\uDC00\"", "\xf0\x90\x80\x80", 4);
	expect_decoded("\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf", 4);
	expect_decoded("\"a\\ud83d\\ude00b\"", "a\xf0\x9f\x98\x80" "b", 6);
	expect_invalid("\"\\ud800\"");
	expect_invalid("\"\\udc00\"");
	expect_invalid("\"\\ude00\\ud83d\"");
	expect_invalid("\"\\ud800\\u0041\"");
	expect_invalid("\"\\ud800\\n\"");
	expect_invalid("\"\\ud800x\"");
	expect_invalid("\"\\ud800\\ud800\\udc00\"");
	expect_invalid("\"\\ud800\\udc0\"");
	expect_invalid("\"\\ud800\\");
}

/* Raw bytes: well-formed UTF-8 passes through as is, anything else
 * (RFC 3629's table) is refused. */
static void test_utf8(void)
{
	static const char *const good[] = {
		"\"\xc3\xa9\"", "\"\xe2\x82\xac\"", "\"\xf0\x9f\x98\x80\"",
		"\"\xc2\x80\"", "\"\xdf\xbf\"", "\"\xe0\xa0\x80\"",
		"\"\xed\x9f\xbf\"", "\"\xee\x80\x80\"", "\"\xef\xbf\xbf\"",
		"\"\xf0\x90\x80\x80\"", "\"\xf4\x8f\xbf\xbf\"",
		"\"0123456\xc3\xa9" "0123456789\"",
	};
	static const char *const bad[] = {
		"\"\x80\"",             /* a continuation byte alone */
		"\"\xbf\"",
		"\"\xc0\x80\"",         /* overlong NUL */
		"\"\xc1\xbf\"",         /* overlong */
		"\"\xe0\x80\x80\"",     /* overlong 3-byte */
		"\"\xe0\x9f\xbf\"",
		"\"\xf0\x80\x80\x80\"", /* overlong 4-byte */
		"\"\xf0\x8f\xbf\xbf\"",
		"\"\xed\xa0\x80\"",     /* U+D800 encoded */
		"\"\xed\xbf\xbf\"",     /* U+DFFF encoded */
		"\"\xf4\x90\x80\x80\"", /* above U+10FFFF */
		"\"\xf5\x80\x80\x80\"",
		"\"\xf8\x80\x80\x80\x80\"",
		"\"\xfe\"", "\"\xff\"",
		"\"\xc3\"",             /* cut short */
		"\"\xe2\x82\"",
		"\"\xf0\x9f\x98\"",
		"\"\xc3\x28\"",         /* not a continuation */
		"\"\xe2\x28\xa1\"",
		"[\xc3\xa9]",           /* outside a string */
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		expect_valid(good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_invalid(bad[i]);
}

/* Control bytes may only be written as escapes; DEL may stand raw. */
static void test_control_characters(void)
{
	char text[] = "\"a?b\"";

	for (int c = 0; c < 0x20; c++) {
		text[2] = (char)c;
		CU_ASSERT_FALSE(valid_len(text, 5));
	}
	CU_ASSERT_FALSE(valid("{\"a\tb\": 1}"));
	expect_valid("\"\\u0001\\t\"");
	expect_valid("\"\x7f\"");
}

/* ---- nesting --------------------------------------------------------------- */

/* n arrays, innermost holding `inner` (may be ""). */
static bool nested_arrays(int n, const char *inner)
{
	char text[512];
	int len = 0;
	bool ok;

	for (int i = 0; i < n; i++)
		text[len++] = '[';
	len += snprintf(text + len, sizeof(text) - (size_t)len, "%s", inner);
	for (int i = 0; i < n; i++)
		text[len++] = ']';
	ok = valid_len(text, (size_t)len);
	return ok;
}

/* json-c's count: every value, scalar or container, is at most 64 deep,
 * the top one being at depth 1. */
static void test_depth_limit(void)
{
	jscan js;

	CU_ASSERT(nested_arrays(64, ""));
	CU_ASSERT_FALSE(nested_arrays(65, ""));
	CU_ASSERT(nested_arrays(63, "1"));
	CU_ASSERT_FALSE(nested_arrays(64, "1"));
	CU_ASSERT(nested_arrays(63, "{}"));
	CU_ASSERT_FALSE(nested_arrays(64, "{}"));
	CU_ASSERT(nested_arrays(63, "{\"a\":[]}") == false);
	CU_ASSERT(nested_arrays(62, "{\"a\":[]}"));
	CU_ASSERT(nested_arrays(62, "{\"a\":1}"));
	CU_ASSERT_FALSE(nested_arrays(63, "{\"a\":1}"));
	/* the error says so */
	jscan_init(&js, "[[[[1]]]]", 9);
	js.depth = JSCAN_DEPTH_MAX - 3;
	CU_ASSERT_FALSE(jscan_skip(&js));
	CU_ASSERT(js.too_deep);
	CU_ASSERT_EQUAL(js.error_at, 3);
}

/* 100 000 levels are refused at the limit, not recursed into. */
static void test_depth_bomb(void)
{
	enum { DEPTH = 100000 };
	char *text = malloc(2 * DEPTH);
	jscan js;

	CU_ASSERT_FATAL(text != NULL);
	memset(text, '[', DEPTH);
	memset(text + DEPTH, ']', DEPTH);
	jscan_init(&js, text, 2 * DEPTH);
	CU_ASSERT_FALSE(jscan_skip(&js));
	CU_ASSERT(js.too_deep);
	free(text);
}

/* ---- reading objects -------------------------------------------------------- */

/* Members come with their raw names; duplicates are the caller's to
 * resolve (the record parser keeps the last). */
static void test_members(void)
{
	static const char text[] = " { \"a\" : 1 , \"b\\u0041\":\"x\",\"a\":null} ";
	jscan js;
	jscan_str key;
	size_t count = 0;

	jscan_init(&js, text, strlen(text));
	CU_ASSERT_EQUAL(jscan_peek(&js), JSCAN_OBJECT);
	CU_ASSERT_FATAL(jscan_enter(&js, '{'));
	CU_ASSERT_FATAL(jscan_member(&js, &count, &key));
	CU_ASSERT(key.raw_len == 1 && key.raw[0] == 'a' && !key.escaped);
	CU_ASSERT_EQUAL(jscan_peek(&js), JSCAN_NUMBER);
	CU_ASSERT(jscan_skip(&js));
	CU_ASSERT_FATAL(jscan_member(&js, &count, &key));
	CU_ASSERT(key.raw_len == 7 && key.escaped);
	CU_ASSERT_EQUAL(jscan_peek(&js), JSCAN_STRING);
	CU_ASSERT(jscan_skip(&js));
	CU_ASSERT_FATAL(jscan_member(&js, &count, &key));
	CU_ASSERT_EQUAL(jscan_peek(&js), JSCAN_NULL);
	CU_ASSERT(jscan_null(&js));
	CU_ASSERT_FALSE(jscan_member(&js, &count, &key));
	CU_ASSERT_PTR_NULL(js.error);
	CU_ASSERT_EQUAL(count, 3);
	CU_ASSERT_EQUAL(js.depth, 0);
	CU_ASSERT(jscan_finish(&js));
}

/* After an error every call says no, and the first error stays. */
static void test_error_sticks(void)
{
	jscan js;
	size_t count = 0;

	jscan_init(&js, "[1,,2] ", 7);
	CU_ASSERT(jscan_enter(&js, '['));
	CU_ASSERT(jscan_element(&js, &count));
	CU_ASSERT(jscan_skip(&js));
	CU_ASSERT(jscan_element(&js, &count));
	CU_ASSERT_FALSE(jscan_skip(&js));
	CU_ASSERT_PTR_NOT_NULL_FATAL(js.error);
	CU_ASSERT_EQUAL(js.error_at, 3);
	CU_ASSERT_FALSE(js.cut_short);
	CU_ASSERT_EQUAL(jscan_peek(&js), JSCAN_INVALID);
	CU_ASSERT_FALSE(jscan_element(&js, &count));
	CU_ASSERT_FALSE(jscan_finish(&js));
	CU_ASSERT_EQUAL(js.error_at, 3);
	/* the end of the text inside a value is "cut short" */
	jscan_init(&js, "{\"a\": \"b", 8);
	CU_ASSERT_FALSE(jscan_skip(&js));
	CU_ASSERT(js.cut_short);
}

/* The UTF-8 check that drukbox_utf8_valid() shares. */
static void test_utf8_len(void)
{
	static const unsigned char s[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80x";

	CU_ASSERT_EQUAL(jscan_utf8_len(s, s + 10), 2);
	CU_ASSERT_EQUAL(jscan_utf8_len(s + 2, s + 10), 3);
	CU_ASSERT_EQUAL(jscan_utf8_len(s + 5, s + 10), 4);
	CU_ASSERT_EQUAL(jscan_utf8_len(s + 5, s + 8), 0); /* cut by end */
	CU_ASSERT_EQUAL(jscan_utf8_len(s + 9, s + 10), 1);
	CU_ASSERT_EQUAL(jscan_utf8_len(s + 1, s + 10), 0);
}

static const drukbox_test tests[] = {
	{ "values and grammar", test_values },
	{ "only white space after the value", test_trailing },
	{ "numbers", test_numbers },
	{ "integers", test_integers },
	{ "every escape", test_every_escape },
	{ "surrogates", test_surrogates },
	{ "UTF-8", test_utf8 },
	{ "control characters", test_control_characters },
	{ "depth 64 vs 65", test_depth_limit },
	{ "depth bomb", test_depth_bomb },
	{ "members", test_members },
	{ "errors stick", test_error_sticks },
	{ "UTF-8 length", test_utf8_len },
	{ NULL, NULL },
};

static const drukbox_test_suite suites[] = {
	{ "jscan", NULL, NULL, tests },
};

DRUKBOX_TEST_MAIN(suites)
