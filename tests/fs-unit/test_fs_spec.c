/*
 * Unit tests for src/fs/spec.c: parsing the KEY=VALUE create specs kept
 * under specs/, and merging one over the mount's -o defaults.
 *
 * Parsing is checked field by field with exact values; every refusal is
 * checked for -EINVAL, the 1-based line that is wrong, a reason, and a
 * spec left empty (safe to clear again).  Merging is checked field by
 * field, and then end to end: the merged options go through
 * drukbox_create_body() and the exact JSON bytes a mkdir would send are
 * compared.  The defaults' env comes from drukfs_parse_env(), as -o
 * env_file makes it, which is why options.c is compiled in (spec.c also
 * takes its lease parser from there).
 *
 * Table-driven checks print the offending input next to the CUnit failure,
 * so a failure names its case.
 */
#define _GNU_SOURCE
#define FUSE_USE_VERSION 312
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "spec.h"

#include "../support/cunit_main.h"

/* ---- helpers -------------------------------------------------------------- */

/* The value of env var `key` in (env, n), NULL when absent. */
static const char *env_get(const drukbox_env_var *env, size_t n,
			   const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(env[i].key, key) == 0)
			return env[i].value;
	return NULL;
}

/* Parses text that must be valid; fails the test otherwise. */
static void parse_ok(const char *text, drukfs_spec *s)
{
	size_t line = 99;
	const char *why = "untouched";
	int rc = drukfs_spec_parse(text, s, &line, &why);

	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(line, 0);
	CU_ASSERT_PTR_NULL(why);
}

/* The spec must be refused: -EINVAL at `want_line`, a reason containing
 * `want_why`, and *out left empty. */
static void expect_bad(const char *text, size_t want_line, const char *want_why)
{
	drukfs_spec s;
	size_t line = 0;
	const char *why = NULL;
	int rc;

	memset(&s, 0x5a, sizeof(s));
	rc = drukfs_spec_parse(text, &s, &line, &why);
	CU_ASSERT_EQUAL(rc, -EINVAL);
	CU_ASSERT_EQUAL(line, want_line);
	CU_ASSERT_PTR_NOT_NULL(why);
	if (why)
		CU_ASSERT_PTR_NOT_NULL(strstr(why, want_why));
	if (rc != -EINVAL || line != want_line || !why || !strstr(why, want_why))
		fprintf(stdout, "\n      spec \"%s\": rc %d line %zu why \"%s\" "
			"(want line %zu, \"%s\")", text, rc, line,
			why ? why : "(null)", want_line, want_why);
	/* Nothing kept: the pointers are NULL, a second clear is harmless. */
	CU_ASSERT_PTR_NULL(s.buf);
	CU_ASSERT_PTR_NULL(s.env);
	CU_ASSERT_PTR_NULL(s.image);
	CU_ASSERT_EQUAL(s.env_count, 0);
	drukfs_spec_clear(&s);
}

/* ---- parse: valid specs --------------------------------------------------- */

static void test_parse_every_key(void)
{
	drukfs_spec s;

	parse_ok("image=debian-12\n"
		 "provider=docker\n"
		 "instance_type=small\n"
		 "disk_gb=20\n"
		 "lease=3600\n"
		 "env.FOO=bar\n"
		 "env._under_1=x\n", &s);
	CU_ASSERT_STRING_EQUAL(s.image, "debian-12");
	CU_ASSERT_STRING_EQUAL(s.provider, "docker");
	CU_ASSERT_STRING_EQUAL(s.instance_type, "small");
	CU_ASSERT_EQUAL(s.disk_gb, 20);
	CU_ASSERT_EQUAL(s.lease, 3600);
	CU_ASSERT_EQUAL_FATAL(s.env_count, 2);
	CU_ASSERT_STRING_EQUAL(s.env[0].key, "FOO");
	CU_ASSERT_STRING_EQUAL(s.env[0].value, "bar");
	CU_ASSERT_STRING_EQUAL(s.env[1].key, "_under_1");
	CU_ASSERT_STRING_EQUAL(s.env[1].value, "x");
	drukfs_spec_clear(&s);
	CU_ASSERT_PTR_NULL(s.buf);
	CU_ASSERT_PTR_NULL(s.env);
}

/* An empty spec (or comments only) sets nothing. */
static void test_parse_empty(void)
{
	const char *texts[] = { "", "\n", "# only a comment\n", "\r\n\r\n" };

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		drukfs_spec s;

		parse_ok(texts[i], &s);
		CU_ASSERT_PTR_NULL(s.image);
		CU_ASSERT_PTR_NULL(s.provider);
		CU_ASSERT_PTR_NULL(s.instance_type);
		CU_ASSERT_EQUAL(s.disk_gb, 0);
		CU_ASSERT_EQUAL(s.lease, 0);
		CU_ASSERT_EQUAL(s.env_count, 0);
		drukfs_spec_clear(&s);
	}
}

/* Comments, blank lines, CRLF line ends, a last line without '\n'. */
static void test_parse_comments_blank_crlf(void)
{
	drukfs_spec s;

	parse_ok("# a create spec\r\n"
		 "\r\n"
		 "image=ubuntu-24.04\r\n"
		 "\n"
		 "#image=ignored\n"
		 "env.A=1\r\n"
		 "provider=exe", &s);
	CU_ASSERT_STRING_EQUAL(s.image, "ubuntu-24.04");
	CU_ASSERT_STRING_EQUAL(s.provider, "exe");
	CU_ASSERT_PTR_NULL(s.instance_type);
	CU_ASSERT_EQUAL_FATAL(s.env_count, 1);
	CU_ASSERT_STRING_EQUAL(s.env[0].key, "A");
	CU_ASSERT_STRING_EQUAL(s.env[0].value, "1");
	drukfs_spec_clear(&s);
}

/* A value runs from the first '=' to the end of the line, as it is. */
static void test_parse_env_values(void)
{
	drukfs_spec s;

	parse_ok("env.URL=https://x.example/?a=1&b=2\n"
		 "env.MSG=hello  big world \n"
		 "env.Q=say \"hi\" \\ there\n"
		 "env.EQ==\n"
		 "env.U=d\xc3\xa9j\xc3\xa0\n", &s);
	CU_ASSERT_EQUAL_FATAL(s.env_count, 5);
	CU_ASSERT_STRING_EQUAL(env_get(s.env, 5, "URL"),
			       "https://x.example/?a=1&b=2");
	CU_ASSERT_STRING_EQUAL(env_get(s.env, 5, "MSG"), "hello  big world ");
	CU_ASSERT_STRING_EQUAL(env_get(s.env, 5, "Q"), "say \"hi\" \\ there");
	CU_ASSERT_STRING_EQUAL(env_get(s.env, 5, "EQ"), "=");
	CU_ASSERT_STRING_EQUAL(env_get(s.env, 5, "U"), "d\xc3\xa9j\xc3\xa0");
	drukfs_spec_clear(&s);
}

static void test_parse_lease(void)
{
	drukfs_spec s;

	parse_ok("lease=permanent\n", &s);
	CU_ASSERT_EQUAL(s.lease, -1);
	drukfs_spec_clear(&s);
	parse_ok("lease=3600\n", &s);
	CU_ASSERT_EQUAL(s.lease, 3600);
	drukfs_spec_clear(&s);
	parse_ok("lease=1\n", &s);
	CU_ASSERT_EQUAL(s.lease, 1);
	drukfs_spec_clear(&s);
}

static void test_parse_disk_gb(void)
{
	drukfs_spec s;

	parse_ok("disk_gb=1\n", &s);
	CU_ASSERT_EQUAL(s.disk_gb, 1);
	drukfs_spec_clear(&s);
	parse_ok("disk_gb=9223372036854775807\n", &s);
	CU_ASSERT_EQUAL(s.disk_gb, INT64_MAX);
	drukfs_spec_clear(&s);
}

/* The text is copied: the caller's buffer may go away. */
static void test_parse_copies_text(void)
{
	char text[] = "image=copied\nenv.K=v\n";
	drukfs_spec s;

	parse_ok(text, &s);
	memset(text, 'X', sizeof(text) - 1);
	CU_ASSERT_STRING_EQUAL(s.image, "copied");
	CU_ASSERT_STRING_EQUAL(s.env[0].value, "v");
	drukfs_spec_clear(&s);
}

/* ---- parse: refusals ------------------------------------------------------ */

static void test_bad_unknown_key(void)
{
	expect_bad("image=a\nflavour=b\n", 2, "unknown key");
	expect_bad("image=deb\xff\xfe\n", 1, "UTF-8");
	expect_bad("env.A=ok\nenv.B=\xc3\n", 2, "UTF-8");
	expect_bad("Image=a\n", 1, "unknown key");
	expect_bad("env=x\n", 1, "unknown key");
	expect_bad("\n\n# c\nimage=a\r\nexpires_at=2030-01-01\r\n", 5,
		   "unknown key");
}

static void test_bad_duplicate(void)
{
	expect_bad("image=a\nimage=b\n", 2, "twice");
	expect_bad("provider=docker\n\nprovider=docker\n", 3, "twice");
	expect_bad("instance_type=s\ninstance_type=m\n", 2, "twice");
	expect_bad("disk_gb=5\ndisk_gb=6\n", 2, "twice");
	expect_bad("lease=60\nlease=permanent\n", 2, "twice");
	expect_bad("lease=permanent\nlease=60\n", 2, "twice");
	expect_bad("env.X=1\nenv.Y=2\nenv.X=1\n", 3, "twice");
}

static void test_bad_empty_value(void)
{
	expect_bad("image=\n", 1, "empty value");
	expect_bad("image=a\nenv.FOO=\n", 2, "empty value");
	expect_bad("lease=\r\n", 1, "empty value");
	expect_bad("disk_gb=", 1, "empty value");
}

static void test_bad_control_char(void)
{
	expect_bad("image=a\tb\n", 1, "control");
	expect_bad("image=ok\nenv.A=x\x01y\n", 2, "control");
	expect_bad("provider=a\x7f\n", 1, "control");
	expect_bad("env.A=x\ry\n", 1, "control");
	expect_bad("image=a\r\r\n", 1, "control");
}

static void test_bad_env_name(void)
{
	expect_bad("env.1X=a\n", 1, "env names");
	expect_bad("env.A-B=a\n", 1, "env names");
	expect_bad("env.=a\n", 1, "env names");
	expect_bad("env.A B=a\n", 1, "env names");
	expect_bad("image=a\nenv.TAILSCALE_AUTHKEY=tskey-1\n", 2,
		   "TAILSCALE_AUTHKEY");
}

static void test_bad_disk_gb(void)
{
	const char *bad[] = { "0", "-1", "abc", "+5", "5x", " 5", "1.5",
			      "99999999999999999999",
			      "9223372036854775808" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[64];

		snprintf(text, sizeof(text), "image=a\ndisk_gb=%s\n", bad[i]);
		expect_bad(text, 2, "disk_gb");
	}
}

static void test_bad_lease(void)
{
	const char *bad[] = { "0", "-5", "abc", "+60", "60s", "Permanent",
			      "99999999999999999999" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[64];

		snprintf(text, sizeof(text), "lease=%s\n", bad[i]);
		expect_bad(text, 1, "lease");
	}
}

static void test_bad_no_equals(void)
{
	expect_bad("image\n", 1, "KEY=VALUE");
	expect_bad("image=a\n\nprovider docker\n", 3, "KEY=VALUE");
	expect_bad("=value\n", 1, "KEY=VALUE");
}

/* ---- merge ---------------------------------------------------------------- */

/* The defaults of a mount run with -o image=def-img,provider=docker,
 * instance_type=small,disk_gb=10,env_file=F with F = A=1 B=2 C=3. */
typedef struct defaults_fx {
	drukbox_env_var *env;
	size_t env_count;
	char *env_buf;
	drukbox_create_opts opts;
} defaults_fx;

static void defaults_make(defaults_fx *d, const char *env_text)
{
	size_t bad_line = 0;

	memset(d, 0, sizeof(*d));
	CU_ASSERT_EQUAL_FATAL(drukfs_parse_env(env_text, &d->env, &d->env_count,
					       &d->env_buf, &bad_line), 0);
	d->opts.image = "def-img";
	d->opts.provider = "docker";
	d->opts.instance_type = "small";
	d->opts.disk_gb = 10;
	d->opts.env = d->env;
	d->opts.env_count = d->env_count;
}

static void defaults_free(defaults_fx *d)
{
	free(d->env);
	free(d->env_buf);
}

/* An empty spec: the defaults unchanged, the default lease. */
static void test_merge_empty_spec(void)
{
	defaults_fx d;
	drukfs_spec s;
	drukbox_create_opts o;
	drukbox_env_var *env = NULL;
	long lease = 0;

	defaults_make(&d, "A=1\nB=2\nC=3\n");
	parse_ok("", &s);
	CU_ASSERT_EQUAL_FATAL(drukfs_spec_merge(&s, &d.opts, 7200, &o, &lease,
						&env), 0);
	CU_ASSERT_PTR_NOT_NULL(env);
	CU_ASSERT_PTR_EQUAL(o.env, env);
	CU_ASSERT_STRING_EQUAL(o.image, "def-img");
	CU_ASSERT_STRING_EQUAL(o.provider, "docker");
	CU_ASSERT_STRING_EQUAL(o.instance_type, "small");
	CU_ASSERT_EQUAL(o.disk_gb, 10);
	CU_ASSERT_EQUAL(lease, 7200);
	CU_ASSERT_EQUAL_FATAL(o.env_count, 3);
	CU_ASSERT_STRING_EQUAL(o.env[0].key, "A");
	CU_ASSERT_STRING_EQUAL(o.env[0].value, "1");
	CU_ASSERT_STRING_EQUAL(o.env[1].key, "B");
	CU_ASSERT_STRING_EQUAL(o.env[1].value, "2");
	CU_ASSERT_STRING_EQUAL(o.env[2].key, "C");
	CU_ASSERT_STRING_EQUAL(o.env[2].value, "3");
	free(env);
	drukfs_spec_clear(&s);
	defaults_free(&d);
}

/* Each field is replaced only when the spec sets it. */
static void test_merge_each_field_alone(void)
{
	struct {
		const char *text;
		const char *image, *provider, *instance_type;
		int64_t disk_gb;
	} cases[] = {
		{ "image=spec-img\n", "spec-img", "docker", "small", 10 },
		{ "provider=exe\n", "def-img", "exe", "small", 10 },
		{ "instance_type=large\n", "def-img", "docker", "large", 10 },
		{ "disk_gb=77\n", "def-img", "docker", "small", 77 },
		{ "image=i\nprovider=p\ninstance_type=t\ndisk_gb=1\n", "i",
		  "p", "t", 1 },
	};
	defaults_fx d;

	defaults_make(&d, "A=1\n");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		drukfs_spec s;
		drukbox_create_opts o;
		drukbox_env_var *env = NULL;
		long lease = 0;

		parse_ok(cases[i].text, &s);
		CU_ASSERT_EQUAL_FATAL(drukfs_spec_merge(&s, &d.opts, 0, &o,
							&lease, &env), 0);
		CU_ASSERT_STRING_EQUAL(o.image, cases[i].image);
		CU_ASSERT_STRING_EQUAL(o.provider, cases[i].provider);
		CU_ASSERT_STRING_EQUAL(o.instance_type, cases[i].instance_type);
		CU_ASSERT_EQUAL(o.disk_gb, cases[i].disk_gb);
		CU_ASSERT_EQUAL(o.env_count, 1);
		CU_ASSERT_EQUAL(lease, 0);
		free(env);
		drukfs_spec_clear(&s);
	}
	/* The defaults themselves are not touched. */
	CU_ASSERT_STRING_EQUAL(d.opts.image, "def-img");
	CU_ASSERT_EQUAL(d.opts.disk_gb, 10);
	defaults_free(&d);
}

/* Env merged by name: the spec wins, the defaults' others are kept. */
static void test_merge_env(void)
{
	defaults_fx d;
	drukfs_spec s;
	drukbox_create_opts o;
	drukbox_env_var *env = NULL;
	long lease = 0;

	defaults_make(&d, "A=1\nB=2\nC=3\n");
	parse_ok("env.B=spec-b\nenv.D=4\n", &s);
	CU_ASSERT_EQUAL_FATAL(drukfs_spec_merge(&s, &d.opts, 0, &o, &lease,
						&env), 0);
	CU_ASSERT_EQUAL_FATAL(o.env_count, 4);
	/* The defaults not overridden, in their order, then the spec's. */
	CU_ASSERT_STRING_EQUAL(o.env[0].key, "A");
	CU_ASSERT_STRING_EQUAL(o.env[0].value, "1");
	CU_ASSERT_STRING_EQUAL(o.env[1].key, "C");
	CU_ASSERT_STRING_EQUAL(o.env[1].value, "3");
	CU_ASSERT_STRING_EQUAL(o.env[2].key, "B");
	CU_ASSERT_STRING_EQUAL(o.env[2].value, "spec-b");
	CU_ASSERT_STRING_EQUAL(o.env[3].key, "D");
	CU_ASSERT_STRING_EQUAL(o.env[3].value, "4");
	/* Fields the spec does not set stay the defaults'. */
	CU_ASSERT_STRING_EQUAL(o.image, "def-img");
	/* The defaults' own env is unchanged. */
	CU_ASSERT_EQUAL(d.opts.env_count, 3);
	CU_ASSERT_STRING_EQUAL(d.opts.env[1].value, "2");
	free(env);
	drukfs_spec_clear(&s);

	/* Every default overridden: only the spec's remain. */
	parse_ok("env.C=c\nenv.A=a\nenv.B=b\n", &s);
	CU_ASSERT_EQUAL_FATAL(drukfs_spec_merge(&s, &d.opts, 0, &o, &lease,
						&env), 0);
	CU_ASSERT_EQUAL_FATAL(o.env_count, 3);
	CU_ASSERT_STRING_EQUAL(o.env[0].key, "C");
	CU_ASSERT_STRING_EQUAL(o.env[0].value, "c");
	CU_ASSERT_STRING_EQUAL(o.env[1].key, "A");
	CU_ASSERT_STRING_EQUAL(o.env[1].value, "a");
	CU_ASSERT_STRING_EQUAL(o.env[2].key, "B");
	CU_ASSERT_STRING_EQUAL(o.env[2].value, "b");
	free(env);
	drukfs_spec_clear(&s);
	defaults_free(&d);
}

/* Env names are case-sensitive: foo does not override FOO. */
static void test_merge_env_case(void)
{
	defaults_fx d;
	drukfs_spec s;
	drukbox_create_opts o;
	drukbox_env_var *env = NULL;
	long lease = 0;

	defaults_make(&d, "FOO=1\n");
	parse_ok("env.foo=2\n", &s);
	CU_ASSERT_EQUAL_FATAL(drukfs_spec_merge(&s, &d.opts, 0, &o, &lease,
						&env), 0);
	CU_ASSERT_EQUAL_FATAL(o.env_count, 2);
	CU_ASSERT_STRING_EQUAL(env_get(o.env, o.env_count, "FOO"), "1");
	CU_ASSERT_STRING_EQUAL(env_get(o.env, o.env_count, "foo"), "2");
	free(env);
	drukfs_spec_clear(&s);
	defaults_free(&d);
}

static void test_merge_lease(void)
{
	struct {
		const char *text;
		long def, want;
	} cases[] = {
		{ "", 0, 0 },
		{ "", 7200, 7200 },
		{ "", -1, -1 },
		{ "lease=permanent\n", 0, -1 },
		{ "lease=permanent\n", 7200, -1 },
		{ "lease=3600\n", 0, 3600 },
		{ "lease=3600\n", -1, 3600 },
		{ "lease=3600\n", 7200, 3600 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		drukfs_spec s;
		drukbox_create_opts o;
		drukbox_env_var *env = NULL;
		long lease = 12345;

		parse_ok(cases[i].text, &s);
		CU_ASSERT_EQUAL_FATAL(drukfs_spec_merge(&s, NULL, cases[i].def,
							&o, &lease, &env), 0);
		CU_ASSERT_EQUAL(lease, cases[i].want);
		if (lease != cases[i].want)
			fprintf(stdout, "\n      \"%s\" over %ld: %ld, want %ld",
				cases[i].text, cases[i].def, lease,
				cases[i].want);
		free(env);
		drukfs_spec_clear(&s);
	}
}

/* No defaults at all: only what the spec sets. */
static void test_merge_no_defaults(void)
{
	drukfs_spec s;
	drukbox_create_opts o;
	drukbox_env_var *env = NULL;
	long lease = 0;

	parse_ok("image=x\nenv.K=v\n", &s);
	memset(&o, 0x5a, sizeof(o));
	CU_ASSERT_EQUAL_FATAL(drukfs_spec_merge(&s, NULL, 0, &o, &lease, &env),
			      0);
	CU_ASSERT_STRING_EQUAL(o.image, "x");
	CU_ASSERT_PTR_NULL(o.provider);
	CU_ASSERT_PTR_NULL(o.instance_type);
	CU_ASSERT_EQUAL(o.disk_gb, 0);
	CU_ASSERT_EQUAL(o.expiry, DRUKBOX_EXPIRY_DEFAULT);
	CU_ASSERT_PTR_NULL(o.idempotency_key);
	CU_ASSERT_EQUAL_FATAL(o.env_count, 1);
	CU_ASSERT_STRING_EQUAL(o.env[0].key, "K");
	CU_ASSERT_STRING_EQUAL(o.env[0].value, "v");
	free(env);
	drukfs_spec_clear(&s);
}

/* ---- merge → create body -------------------------------------------------- */

/* The body a mkdir sends: merge `spec` over d, set expiry from the lease
 * the way handles.c does for permanent, and compare the exact bytes. */
static void expect_body(const char *spec, const drukbox_create_opts *d,
			long default_lease, const char *want)
{
	drukfs_spec s;
	drukbox_create_opts o;
	drukbox_env_var *env = NULL;
	char *body = NULL;
	long lease = 0;

	parse_ok(spec, &s);
	CU_ASSERT_EQUAL_FATAL(drukfs_spec_merge(&s, d, default_lease, &o,
						&lease, &env), 0);
	if (lease < 0)
		o.expiry = DRUKBOX_EXPIRY_NEVER;
	o.idempotency_key = "NAME"; /* a header, not part of the body */
	CU_ASSERT_EQUAL(drukbox_create_body(&body, &o), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(body);
	CU_ASSERT_STRING_EQUAL(body, want);
	if (strcmp(body, want) != 0)
		fprintf(stdout, "\n      got  %s\n      want %s", body, want);
	free(body);
	free(env);
	drukfs_spec_clear(&s);
}

/* -o image=a,env_file=F (F: FOO=from-file, KEEP=yes) and a full spec. */
static void test_body_spec_over_defaults(void)
{
	drukbox_create_opts d = { 0 };
	drukbox_env_var *env = NULL;
	char *buf = NULL;
	size_t n = 0, bad_line = 0;

	CU_ASSERT_EQUAL_FATAL(drukfs_parse_env("FOO=from-file\nKEEP=yes\n",
					       &env, &n, &buf, &bad_line), 0);
	d.image = "a";
	d.env = env;
	d.env_count = n;
	expect_body("image=debian-12\nprovider=docker\ninstance_type=small\n"
		    "disk_gb=20\nlease=permanent\nenv.FOO=bar\n", &d, 0,
		    "{\"image\": \"debian-12\", \"provider\": \"docker\", "
		    "\"instance_type\": \"small\", \"disk_gb\": 20, "
		    "\"env\": {\"KEEP\": \"yes\", \"FOO\": \"bar\"}, "
		    "\"expires_at\": null}");
	/* Only env in the spec: the default image stays. */
	expect_body("env.NEW=1\n", &d, 0,
		    "{\"image\": \"a\", \"env\": {\"FOO\": \"from-file\", "
		    "\"KEEP\": \"yes\", \"NEW\": \"1\"}}");
	/* An empty spec: exactly the defaults. */
	expect_body("", &d, 0,
		    "{\"image\": \"a\", \"env\": {\"FOO\": \"from-file\", "
		    "\"KEEP\": \"yes\"}}");
	free(env);
	free(buf);
}

static void test_body_no_defaults(void)
{
	expect_body("", NULL, 0, "{}");
	expect_body("lease=permanent\n", NULL, 0, "{\"expires_at\": null}");
	expect_body("", NULL, -1, "{\"expires_at\": null}");
	expect_body("disk_gb=5\n", NULL, 0, "{\"disk_gb\": 5}");
}

/* Values reach the JSON escaped, with '=' and spaces intact. */
static void test_body_escaping(void)
{
	expect_body("env.Q=say \"hi\" \\ a=b c\nimage=img/with:tag\n", NULL, 0,
		    "{\"image\": \"img/with:tag\", "
		    "\"env\": {\"Q\": \"say \\\"hi\\\" \\\\ a=b c\"}}");
}

/* ---- the table -------------------------------------------------------------- */

static const drukbox_test parse_tests[] = {
	{ "every key, exact values", test_parse_every_key },
	{ "empty and comment-only specs set nothing", test_parse_empty },
	{ "comments, blank lines, CRLF, no final newline",
	  test_parse_comments_blank_crlf },
	{ "env values with '=', spaces, quotes, UTF-8", test_parse_env_values },
	{ "lease: permanent -1, seconds", test_parse_lease },
	{ "disk_gb: 1 and INT64_MAX", test_parse_disk_gb },
	{ "the text is copied", test_parse_copies_text },
	{ NULL, NULL },
};

static const drukbox_test bad_tests[] = {
	{ "unknown key", test_bad_unknown_key },
	{ "a key given twice (env.X too)", test_bad_duplicate },
	{ "empty value", test_bad_empty_value },
	{ "control character in a value", test_bad_control_char },
	{ "bad env names and TAILSCALE_AUTHKEY", test_bad_env_name },
	{ "disk_gb 0, -1, abc, +5, huge", test_bad_disk_gb },
	{ "lease 0, -5, abc", test_bad_lease },
	{ "a line without '=' or without a key", test_bad_no_equals },
	{ NULL, NULL },
};

static const drukbox_test merge_tests[] = {
	{ "empty spec: the defaults", test_merge_empty_spec },
	{ "each field replaced only when set", test_merge_each_field_alone },
	{ "env merged by name, spec wins", test_merge_env },
	{ "env names are case-sensitive", test_merge_env_case },
	{ "lease: the spec's, else the default", test_merge_lease },
	{ "no defaults", test_merge_no_defaults },
	{ NULL, NULL },
};

static const drukbox_test body_tests[] = {
	{ "spec over -o image=a,env_file=F: exact JSON",
	  test_body_spec_over_defaults },
	{ "no defaults: exact JSON", test_body_no_defaults },
	{ "escaping in the JSON", test_body_escaping },
	{ NULL, NULL },
};

static const drukbox_test_suite suites[] = {
	{ "spec_parse", NULL, NULL, parse_tests },
	{ "spec_parse_refused", NULL, NULL, bad_tests },
	{ "spec_merge", NULL, NULL, merge_tests },
	{ "spec_create_body", NULL, NULL, body_tests },
};

DRUKBOX_TEST_MAIN(suites)
