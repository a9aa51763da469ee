/*
 * test_lib_diff.c — the host parsers against the json-c parser they
 * replaced, on generated bodies.
 *
 * A seeded generator writes host lists the way a server might and the
 * way a broken or hostile one might: every known key with a value of the
 * right type, null, the wrong type or missing; strings with every escape,
 * surrogate pairs, raw UTF-8 and \u0000; integers at and beyond int64_t's
 * ends, fractions and exponents; unknown keys with nested values; keys
 * written with escapes, repeated keys, odd white space, elements that are
 * not objects.  A share of the texts is then damaged (a byte changed,
 * dropped or inserted, or the text cut), so that broken documents are
 * compared too.  Every text goes through diff_list() and every record
 * alone through diff_host() (tests/support/diffcheck.h).  The corpora of
 * the fuzzers are compared the same way by fuzz-replay-fuzz_list_diff.
 */
#include <drukbox/drukbox.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "diffcheck.h"
#include "pieces.h"

#define LISTS 4000

/* ---- a small deterministic generator --------------------------------------- */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

static const char *pick(const char *const *list, size_t n)
{
	return list[rnd((uint32_t)n)];
}
#define PICK(list) pick(list, sizeof(list) / sizeof(list[0]))

typedef struct text {
	char *s;
	size_t len, cap;
} text;

__attribute__((format(printf, 2, 3)))
static void put(text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (t->len + (size_t)n + 1 > t->cap) {
		t->cap = (t->len + (size_t)n + 1) * 2;
		t->s = realloc(t->s, t->cap);
		CU_ASSERT_FATAL(t->s != NULL);
	}
	va_start(ap, fmt);
	vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

static void space(text *t)
{
	static const char *const ws[] = { "", "", "", " ", "\n  ", "\t", "\r\n" };

	put(t, "%s", PICK(ws));
}

/* ---- values ------------------------------------------------------------------ */

static void string_value(text *t)
{
	static const char *const strings[] = {
		"", "active", "sb-0123456789ab", "198.51.100.7",
		"h ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL1Laa2\\n",
		"2026-11-30T22:57:44+00:00", "line\\nbreak", "q\\\"uote",
		"back\\\\slash", "sl\\/ash", "\\b\\f\\n\\r\\t", "\\u0041\\u00e9",
		"\\u20AC", "\\ud83d\\ude00", "caf\xc3\xa9", "\xe2\x82\xac",
		"\xf0\x9f\x98\x80", "\\u001b[2J", "\x7f",
		"a/b/c", "0190a0b0-0000-7000-8000-000000000001",
	};

	if (!rnd(60))
		put(t, "\"nul\\u0000byte\"");
	else
		put(t, "\"%s\"", PICK(strings));
}

static void number_value(text *t)
{
	static const char *const numbers[] = {
		"0", "-0", "1", "22", "2222", "65535", "65536", "-1", "20",
		"9223372036854775807", "-9223372036854775808",
		"9223372036854775808", "-9223372036854775809",
		"18446744073709551616", "99999999999999999999", "1.5", "20.0",
		"1e3", "2E+1", "-0.0", "1e400",
	};

	put(t, "%s", PICK(numbers));
}

static void value(text *t, int depth);

static void nested_value(text *t, int depth)
{
	int n = (int)rnd(4);

	if (rnd(2)) {
		put(t, "[");
		for (int i = 0; i < n; i++) {
			if (i)
				put(t, ",");
			space(t);
			value(t, depth + 1);
		}
		put(t, "]");
		return;
	}
	put(t, "{");
	for (int i = 0; i < n; i++) {
		if (i)
			put(t, ",");
		put(t, "\"k%d\":", (int)rnd(3));
		value(t, depth + 1);
	}
	put(t, "}");
}

static void value(text *t, int depth)
{
	switch (rnd(depth > 3 ? 5 : 7)) {
	case 0: string_value(t); break;
	case 1: number_value(t); break;
	case 2: put(t, "null"); break;
	case 3: put(t, "true"); break;
	case 4: put(t, "false"); break;
	default: nested_value(t, depth); break;
	}
}

/* ---- records ----------------------------------------------------------------- */

static const char *const string_keys[] = {
	"id", "name", "status", "provider", "image", "instance_type",
	"external_ssh_host", "ssh_username", "internal_ssh_host",
	"known_hosts", "tailscale_device_id", "private_key", "last_error",
	"created_at", "updated_at", "activated_at", "expires_at",
};

/* A key, sometimes spelt with escapes or a NUL, sometimes unknown. */
static void key(text *t, const char *name)
{
	static const char *const unknown[] = {
		"zone", "tags", "future", "x\\u0041", "\\u00e9t\\u00e9", "",
		"id\\u0000x", "na\\u006de", "\\u0069d", "disk\\u005fgb",
	};

	if (!rnd(30))
		name = PICK(unknown);
	put(t, "\"%s\":", name);
	space(t);
}

/* The value of a string key: mostly right, sometimes null or wrong. */
static void string_field(text *t, const char *name)
{
	uint32_t r = rnd(40);

	if (r < 36 && strcmp(name, "id") == 0)
		put(t, "\"%08x-%04x\"", (unsigned)rnd(1u << 31),
		    (unsigned)rnd(65536));
	else if (r < 36)
		string_value(t);
	else if (r < 39)
		put(t, "null");
	else
		value(t, 2);
}

/* The value of disk_gb or the port: mostly a plain one. */
static void int_field(text *t)
{
	uint32_t r = rnd(20);

	if (r < 14)
		put(t, "%u", 1 + (unsigned)rnd(65535));
	else if (r < 17)
		number_value(t);
	else if (r < 19)
		put(t, "null");
	else
		value(t, 2);
}

static void record(text *t)
{
	bool first = true;

	put(t, "{");
	for (size_t i = 0; i < sizeof(string_keys) / sizeof(string_keys[0]);
	     i++) {
		if (rnd(10) < 2 && strcmp(string_keys[i], "id") != 0)
			continue;
		if (!first)
			put(t, ",");
		first = false;
		space(t);
		key(t, string_keys[i]);
		string_field(t, string_keys[i]);
		if (i == 5 || i == 6) { /* the integers, in contract order */
			put(t, ",");
			key(t, i == 5 ? "disk_gb" : "external_ssh_port");
			int_field(t);
		}
		if (!rnd(15)) { /* a repeated or unknown key */
			put(t, ",");
			key(t, rnd(2) ? string_keys[rnd(17)] : "extra");
			value(t, 2);
		}
	}
	space(t);
	put(t, "}");
}

static void list(text *t)
{
	int n = (int)rnd(6);

	t->len = 0;
	put(t, "[");
	for (int i = 0; i < n; i++) {
		if (i)
			put(t, ",");
		space(t);
		if (!rnd(12))
			value(t, 1);
		else
			record(t);
	}
	space(t);
	put(t, "]");
}

/* Changes, drops or inserts one byte, or cuts the text short. */
static void damage(text *t)
{
	static const char bytes[] = "\"\\,:{}[]0-.exu \t\x01\x80\xc3\xed\xff";
	size_t at = t->len ? rnd((uint32_t)t->len) : 0;
	char b = bytes[rnd(sizeof(bytes) - 1)];

	switch (rnd(4)) {
	case 0:
		t->s[at] = b;
		break;
	case 1:
		memmove(t->s + at, t->s + at + 1, t->len - at);
		t->len--;
		break;
	case 2:
		put(t, " ");
		memmove(t->s + at + 1, t->s + at, t->len - at - 1);
		t->s[at] = b;
		break;
	default:
		t->len = at;
		break;
	}
}

/* ---- the tests ------------------------------------------------------------------- */

static void expect_agree(const char *what, const char *why, const text *t)
{
	if (why)
		fprintf(stderr, "%s differs on %.*s\n%s\n", what, (int)t->len,
			t->s, why);
	CU_ASSERT_PTR_NULL(why);
}

/* Counts what the library made of t, so that the test can tell that the
 * generator reached both kept and skipped records. */
static void tally(const text *t, size_t *kept, size_t *skipped)
{
	drukbox_host_list *l = NULL;

	if (drukbox_host_list_parse(&l, t->s, t->len) == 0) {
		*kept += l->count;
		*skipped += l->skipped;
	}
	drukbox_host_list_free(l);
}

/* The list reader, fed t in pieces of 1-40 bytes (from a generator of
 * its own, so the lists stay the same), agrees with the whole parse. */
static void expect_pieces(const text *t, uint32_t seed)
{
	size_t sizes[8];
	const char *why = NULL;

	for (int k = 0; k < 8; k++) {
		seed = seed * 1103515245u + 12345u;
		sizes[k] = 1 + (seed >> 16) % 40;
	}
	CU_ASSERT_EQUAL(pieces_check(t->s, t->len, sizes, 8, &why), 1);
	expect_agree("the reader in pieces", why, t);
}

static void test_generated_lists(void)
{
	text t = { 0 };
	size_t damaged = 0, kept = 0, skipped = 0;

	rng_state = 0x9e3779b97f4a7c15ULL;
	for (int i = 0; i < LISTS; i++) {
		list(&t);
		if (rnd(3) == 0) {
			damage(&t);
			damaged++;
		}
		expect_agree("list", diff_list(t.s, t.len), &t);
		expect_agree("host", diff_host(t.s, t.len), &t);
		expect_pieces(&t, (uint32_t)i);
		tally(&t, &kept, &skipped);
	}
	printf("%zu damaged, %zu records kept, %zu skipped\n", damaged, kept,
	       skipped);
	CU_ASSERT(damaged > LISTS / 4);
	CU_ASSERT(kept > LISTS / 2);
	CU_ASSERT(skipped > LISTS / 2);
	free(t.s);
}

static void test_generated_records(void)
{
	text t = { 0 };

	rng_state = 0x2545f4914f6cdd1dULL;
	for (int i = 0; i < LISTS; i++) {
		t.len = 0;
		record(&t);
		if (rnd(4) == 0)
			damage(&t);
		expect_agree("host", diff_host(t.s, t.len), &t);
	}
	free(t.s);
}

/* The documented differences, one by one: the library refuses what is not
 * RFC 8259 JSON, and a disk_gb beyond int64_t. */
static void test_documented_differences(void)
{
	static const char *const texts[] = {
		"[{\"id\": \"a\", \"name\": \"\\ud800\"}]",
		"[{\"id\": \"a\", \"name\": \"\xc0\x80\"}]",
		"[{\"id\": \"a\", \"name\": \"\xed\xa0\x80\"}]",
		"[{\"id\": \"a\", \"name\": \"tab\there\"}]",
		"[{\"id\": \"a\", \"x\": 01}]",
		"[{\"id\": \"a\", \"x\": 1.}]",
		"[{\"id\": \"a\", \"x\": NaN}]",
		"[{\"id\": \"a\", \"disk_gb\": 99999999999999999999}]",
		"[{\"id\": \"a\", \"disk_gb\": -99999999999999999999}]",
		"[{\"id\": \"a\", \"external_ssh_port\": 99999999999999999999}]",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		text t = { (char *)texts[i], strlen(texts[i]), 0 };

		expect_agree("list", diff_list(t.s, t.len), &t);
		expect_agree("host", diff_host(t.s + 1, t.len - 2), &t);
	}
}

static const drukbox_test tests[] = {
	{ "generated lists", test_generated_lists },
	{ "generated records", test_generated_records },
	{ "documented differences", test_documented_differences },
	{ NULL, NULL },
};

static const drukbox_test_suite suites[] = {
	{ "library vs json-c oracle", NULL, NULL, tests },
};

DRUKBOX_TEST_MAIN(suites)
