/*
 * Unit tests for the pure parts of src/fs/options.c: -o values in seconds,
 * the lease, env files, and drukfs_settings_from() with its defaults and
 * its refusals.
 *
 * drukfs_settings_from() reports a bad value on stderr naming the option;
 * the tests catch stderr in a temporary file and check that name, so the
 * message a user sees is covered too.  Env files are written to a private
 * temporary directory that the suite teardown removes.
 */
#define _GNU_SOURCE
#define FUSE_USE_VERSION 312
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"

#include "../support/cunit_main.h"

/* ---- helpers -------------------------------------------------------------- */

/* Runs drukfs_settings_from() with stderr caught; returns its result and
 * leaves what it printed in `err` (truncated to the buffer). */
static int settings_caught(drukfs_settings *s, const drukfs_options *o,
			   char *err, size_t errlen)
{
	FILE *cap = tmpfile();
	int saved, rc;
	size_t n = 0;

	err[0] = '\0';
	CU_ASSERT_PTR_NOT_NULL_FATAL(cap);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	CU_ASSERT_TRUE_FATAL(saved >= 0);
	CU_ASSERT_TRUE_FATAL(dup2(fileno(cap), STDERR_FILENO) >= 0);
	rc = drukfs_settings_from(s, o);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(cap);
	n = fread(err, 1, errlen - 1, cap);
	err[n] = '\0';
	fclose(cap);
	return rc;
}

/* drukfs_settings_from() on o must fail, naming `opt` on stderr. */
static void expect_refused(const drukfs_options *o, const char *opt)
{
	drukfs_settings s;
	char err[512], want[64];
	int rc = settings_caught(&s, o, err, sizeof(err));

	CU_ASSERT_EQUAL(rc, -1);
	snprintf(want, sizeof(want), "-o %s=", opt);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
	if (rc != -1 || !strstr(err, want))
		fprintf(stdout, "\n      %s: rc %d, stderr \"%s\"", opt, rc,
			err);
	drukfs_settings_free(&s);
}

static double secs(const char *s, double max, int *rc)
{
	double v = -12345.0;

	*rc = drukfs_parse_seconds(s, max, &v);
	return v;
}

/* ---- drukfs_parse_seconds ------------------------------------------------- */

static void test_seconds_valid(void)
{
	int rc;

	CU_ASSERT_DOUBLE_EQUAL(secs("2", 86400.0, &rc), 2.0, 0.0);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_DOUBLE_EQUAL(secs("0.5", 86400.0, &rc), 0.5, 0.0);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_DOUBLE_EQUAL(secs("0", 86400.0, &rc), 0.0, 0.0);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_DOUBLE_EQUAL(secs(".25", 86400.0, &rc), 0.25, 0.0);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_DOUBLE_EQUAL(secs("300", 86400.0, &rc), 300.0, 0.0);
	CU_ASSERT_EQUAL(rc, 0);
}

/* max itself is allowed, anything above it is not. */
static void test_seconds_max(void)
{
	int rc;

	CU_ASSERT_DOUBLE_EQUAL(secs("86400", 86400.0, &rc), 86400.0, 0.0);
	CU_ASSERT_EQUAL(rc, 0);
	secs("86400.5", 86400.0, &rc);
	CU_ASSERT_EQUAL(rc, -EINVAL);
	secs("86401", 86400.0, &rc);
	CU_ASSERT_EQUAL(rc, -EINVAL);
	CU_ASSERT_DOUBLE_EQUAL(secs("10", 10.0, &rc), 10.0, 0.0);
	CU_ASSERT_EQUAL(rc, 0);
	secs("10.001", 10.0, &rc);
	CU_ASSERT_EQUAL(rc, -EINVAL);
}

static void test_seconds_invalid(void)
{
	const char *bad[] = { "-1", "-0.5", "abc", "1e400", "", "2s", "2 ",
			      "nan", "inf", "-inf", "1,5", "0.5.5" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		double v = -12345.0;
		int rc = drukfs_parse_seconds(bad[i], 86400.0, &v);

		CU_ASSERT_EQUAL(rc, -EINVAL);
		CU_ASSERT_DOUBLE_EQUAL(v, -12345.0, 0.0); /* untouched */
		if (rc != -EINVAL)
			fprintf(stdout, "\n      accepted \"%s\"", bad[i]);
	}
	double v = -12345.0;
	CU_ASSERT_EQUAL(drukfs_parse_seconds(NULL, 86400.0, &v), -EINVAL);
	CU_ASSERT_DOUBLE_EQUAL(v, -12345.0, 0.0);
}

/* ---- drukfs_parse_lease --------------------------------------------------- */

static long lease(const char *s, int *rc)
{
	long v = -12345;

	*rc = drukfs_parse_lease(s, &v);
	return v;
}

static void test_lease_valid(void)
{
	int rc;

	CU_ASSERT_EQUAL(lease("3600", &rc), 3600);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(lease("1", &rc), 1);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(lease("permanent", &rc), -1);
	CU_ASSERT_EQUAL(rc, 0);
	/* Ten years (of 366 days) is the longest lease. */
	CU_ASSERT_EQUAL(lease("316224000", &rc), 316224000L);
	CU_ASSERT_EQUAL(rc, 0);
}

static void test_lease_invalid(void)
{
	const char *bad[] = { "0", "-5", "+5", "12abc", "", "abc",
			      "316224001", "99999999999999999999999",
			      "Permanent", "permanent ", "3600 ", "1.5",
			      " -5" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long v = -12345;
		int rc = drukfs_parse_lease(bad[i], &v);

		CU_ASSERT_EQUAL(rc, -EINVAL);
		CU_ASSERT_EQUAL(v, -12345);
		if (rc != -EINVAL)
			fprintf(stdout, "\n      accepted \"%s\" as %ld", bad[i],
				v);
	}
	long v = -12345;
	CU_ASSERT_EQUAL(drukfs_parse_lease(NULL, &v), -EINVAL);
	CU_ASSERT_EQUAL(v, -12345);
}

/* The parser refuses a sign ("+5", "-5" above) on purpose; a sign behind
 * white space must not slip through to strtol, which skips the space and
 * then takes the sign. */
static void test_lease_sign_behind_space(void)
{
	const char *bad[] = { " +5", "\t+5", "\n+5" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long v = -12345;
		int rc = drukfs_parse_lease(bad[i], &v);

		CU_ASSERT_EQUAL(rc, -EINVAL);
		if (rc != -EINVAL)
			fprintf(stdout, "\n      accepted \"%s\" as %ld", bad[i],
				v);
	}
}

/* ---- drukfs_parse_env ----------------------------------------------------- */

typedef struct env_result {
	int rc;
	drukbox_env_var *vars;
	size_t count;
	char *buf;
	size_t bad_line;
} env_result;

static env_result env(const char *text)
{
	env_result r = { 0, NULL, 0, NULL, 0 };

	r.rc = drukfs_parse_env(text, &r.vars, &r.count, &r.buf, &r.bad_line);
	return r;
}

static void env_free(env_result *r)
{
	free(r->vars);
	free(r->buf);
}

static void test_env_basic(void)
{
	env_result r = env("A=1\nB=two words\n");

	CU_ASSERT_EQUAL_FATAL(r.rc, 0);
	CU_ASSERT_EQUAL_FATAL(r.count, 2);
	CU_ASSERT_STRING_EQUAL(r.vars[0].key, "A");
	CU_ASSERT_STRING_EQUAL(r.vars[0].value, "1");
	CU_ASSERT_STRING_EQUAL(r.vars[1].key, "B");
	CU_ASSERT_STRING_EQUAL(r.vars[1].value, "two words");
	env_free(&r);
}

static void test_env_comments_blank_lines(void)
{
	env_result r = env("# a comment\n\n   \n\t# indented comment\nK=v\n"
			   "\n#K2=not me\nL=w");

	CU_ASSERT_EQUAL_FATAL(r.rc, 0);
	CU_ASSERT_EQUAL_FATAL(r.count, 2);
	CU_ASSERT_STRING_EQUAL(r.vars[0].key, "K");
	CU_ASSERT_STRING_EQUAL(r.vars[0].value, "v");
	CU_ASSERT_STRING_EQUAL(r.vars[1].key, "L");
	CU_ASSERT_STRING_EQUAL(r.vars[1].value, "w");
	env_free(&r);
}

static void test_env_crlf(void)
{
	env_result r = env("A=1\r\nB=2\r\n\r\n# c\r\nC=\r\n");

	CU_ASSERT_EQUAL_FATAL(r.rc, 0);
	CU_ASSERT_EQUAL_FATAL(r.count, 3);
	CU_ASSERT_STRING_EQUAL(r.vars[0].value, "1");
	CU_ASSERT_STRING_EQUAL(r.vars[1].key, "B");
	CU_ASSERT_STRING_EQUAL(r.vars[1].value, "2");
	CU_ASSERT_STRING_EQUAL(r.vars[2].key, "C");
	CU_ASSERT_STRING_EQUAL(r.vars[2].value, "");
	env_free(&r);
}

static void test_env_value_with_equals(void)
{
	env_result r = env("URL=https://x/?a=b&c=d\nEMPTY=\nEQ==\n");

	CU_ASSERT_EQUAL_FATAL(r.rc, 0);
	CU_ASSERT_EQUAL_FATAL(r.count, 3);
	CU_ASSERT_STRING_EQUAL(r.vars[0].key, "URL");
	CU_ASSERT_STRING_EQUAL(r.vars[0].value, "https://x/?a=b&c=d");
	CU_ASSERT_STRING_EQUAL(r.vars[1].key, "EMPTY");
	CU_ASSERT_STRING_EQUAL(r.vars[1].value, "");
	CU_ASSERT_STRING_EQUAL(r.vars[2].key, "EQ");
	CU_ASSERT_STRING_EQUAL(r.vars[2].value, "=");
	env_free(&r);
}

/* Leading blanks before the key are skipped; the value is kept as is
 * (no quoting, no trimming). */
static void test_env_leading_spaces(void)
{
	env_result r = env("   A=1\n\tB= spaced \n");

	CU_ASSERT_EQUAL_FATAL(r.rc, 0);
	CU_ASSERT_EQUAL_FATAL(r.count, 2);
	CU_ASSERT_STRING_EQUAL(r.vars[0].key, "A");
	CU_ASSERT_STRING_EQUAL(r.vars[0].value, "1");
	CU_ASSERT_STRING_EQUAL(r.vars[1].key, "B");
	CU_ASSERT_STRING_EQUAL(r.vars[1].value, " spaced ");
	env_free(&r);
}

static void test_env_empty_text(void)
{
	env_result r = env("");

	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_EQUAL(r.count, 0);
	env_free(&r);

	r = env("# only a comment\n\n");
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_EQUAL(r.count, 0);
	env_free(&r);
}

/* A line without a key: -EINVAL, the 1-based line number (comments and
 * blank lines count), and nothing handed back. */
static void test_env_missing_key(void)
{
	env_result r = env("A=1\n# comment\n\n=value\nB=2\n");

	CU_ASSERT_EQUAL(r.rc, -EINVAL);
	CU_ASSERT_EQUAL(r.bad_line, 4);
	CU_ASSERT_PTR_NULL(r.vars);
	CU_ASSERT_PTR_NULL(r.buf);
	CU_ASSERT_EQUAL(r.count, 0);
	env_free(&r);

	r = env("=x");
	CU_ASSERT_EQUAL(r.rc, -EINVAL);
	CU_ASSERT_EQUAL(r.bad_line, 1);
	env_free(&r);

	r = env("A=1\r\n  =x\r\n");
	CU_ASSERT_EQUAL(r.rc, -EINVAL);
	CU_ASSERT_EQUAL(r.bad_line, 2);
	env_free(&r);
}

static void test_env_missing_equals(void)
{
	env_result r = env("A=1\nB=2\nJUSTAKEY\n");

	CU_ASSERT_EQUAL(r.rc, -EINVAL);
	CU_ASSERT_EQUAL(r.bad_line, 3);
	CU_ASSERT_PTR_NULL(r.vars);
	CU_ASSERT_PTR_NULL(r.buf);
	env_free(&r);
}

/* ---- drukfs_settings_from ------------------------------------------------- */

static void test_settings_defaults(void)
{
	drukfs_options o;
	drukfs_settings s;
	char err[512];

	memset(&o, 0, sizeof(o));
	CU_ASSERT_EQUAL_FATAL(settings_caught(&s, &o, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_DOUBLE_EQUAL(s.timeout, 0.0, 0.0);
	CU_ASSERT_DOUBLE_EQUAL(s.cache_ttl, 2.0, 0.0);
	CU_ASSERT_DOUBLE_EQUAL(s.doctor_ttl, 10.0, 0.0);
	CU_ASSERT_DOUBLE_EQUAL(s.mkdir_wait, 1.0, 0.0);
	CU_ASSERT_DOUBLE_EQUAL(s.wait_poll, 2.0, 0.0);
	CU_ASSERT_EQUAL(s.lease, 0);
	CU_ASSERT_EQUAL(s.disk_gb, 0);
	CU_ASSERT_PTR_NULL(s.env);
	CU_ASSERT_EQUAL(s.env_count, 0);
	CU_ASSERT_PTR_NULL(s.env_buf);
	drukfs_settings_free(&s);
}

static void test_settings_values(void)
{
	drukfs_options o;
	drukfs_settings s;
	char err[512];

	memset(&o, 0, sizeof(o));
	o.timeout = (char *)"30";
	o.cache_ttl = (char *)"0";
	o.doctor_ttl = (char *)"0.5";
	o.mkdir_wait = (char *)"0";
	o.wait_poll = (char *)"0.05";
	o.lease = (char *)"permanent";
	o.disk_gb = (char *)"40";
	CU_ASSERT_EQUAL_FATAL(settings_caught(&s, &o, err, sizeof(err)), 0);
	CU_ASSERT_DOUBLE_EQUAL(s.timeout, 30.0, 0.0);
	CU_ASSERT_DOUBLE_EQUAL(s.cache_ttl, 0.0, 0.0);
	CU_ASSERT_DOUBLE_EQUAL(s.doctor_ttl, 0.5, 0.0);
	CU_ASSERT_DOUBLE_EQUAL(s.mkdir_wait, 0.0, 0.0);
	CU_ASSERT_DOUBLE_EQUAL(s.wait_poll, 0.05, 0.0);
	CU_ASSERT_EQUAL(s.lease, -1);
	CU_ASSERT_EQUAL(s.disk_gb, 40);
	drukfs_settings_free(&s);

	o.lease = (char *)"7200";
	CU_ASSERT_EQUAL_FATAL(settings_caught(&s, &o, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(s.lease, 7200);
	drukfs_settings_free(&s);
}

typedef struct bad_value {
	const char *opt;
	const char *value;
} bad_value;

static void set_opt(drukfs_options *o, const char *opt, const char *value)
{
	char *v = (char *)value;

	if (strcmp(opt, "timeout") == 0)
		o->timeout = v;
	else if (strcmp(opt, "cache_ttl") == 0)
		o->cache_ttl = v;
	else if (strcmp(opt, "doctor_ttl") == 0)
		o->doctor_ttl = v;
	else if (strcmp(opt, "mkdir_wait") == 0)
		o->mkdir_wait = v;
	else if (strcmp(opt, "wait_poll") == 0)
		o->wait_poll = v;
	else if (strcmp(opt, "lease") == 0)
		o->lease = v;
	else if (strcmp(opt, "disk_gb") == 0)
		o->disk_gb = v;
	else if (strcmp(opt, "env_file") == 0)
		o->env_file = v;
	else
		CU_FAIL("unknown option in test table");
}

/* Each bad value on its own, every other option at its default. */
static void test_settings_each_bad_value(void)
{
	static const bad_value bad[] = {
		{ "timeout", "0" },        { "timeout", "-1" },
		{ "timeout", "abc" },      { "timeout", "" },
		{ "timeout", "86401" },    { "cache_ttl", "-1" },
		{ "cache_ttl", "x" },      { "cache_ttl", "2s" },
		{ "cache_ttl", "86401" },  { "doctor_ttl", "-0.5" },
		{ "doctor_ttl", "" },      { "mkdir_wait", "1e400" },
		{ "mkdir_wait", "nan" },   { "wait_poll", "0" },
		{ "wait_poll", "0.01" },   { "wait_poll", "abc" },
		{ "lease", "0" },          { "lease", "-5" },
		{ "lease", "forever" },    { "disk_gb", "0" },
		{ "disk_gb", "-1" },       { "disk_gb", "" },
		{ "disk_gb", "10G" },      { "disk_gb", "1.5" },
		{ "env_file", "/nonexistent/drukfs-test/env" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		drukfs_options o;

		memset(&o, 0, sizeof(o));
		set_opt(&o, bad[i].opt, bad[i].value);
		expect_refused(&o, bad[i].opt);
	}
}

/* A disk size that does not fit in 64 bits is refused, not clamped to
 * LLONG_MAX by strtoll. */
static void test_settings_disk_gb_overflow(void)
{
	drukfs_options o;

	memset(&o, 0, sizeof(o));
	o.disk_gb = (char *)"99999999999999999999999";
	expect_refused(&o, "disk_gb");
}

/* ---- env_file through drukfs_settings_from -------------------------------- */

static char tmpdir[64];

static int env_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/drukfs-options-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int env_teardown(void)
{
	char path[128];

	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/env%d", tmpdir, i);
		unlink(path);
	}
	return rmdir(tmpdir) == 0 ? 0 : -1;
}

/* Writes text to tmpdir/env<n>; returns the path in a static buffer. */
static const char *write_env(int n, const char *text)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/env%d", tmpdir, n);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	CU_ASSERT_EQUAL(fclose(f), 0);
	return path;
}

static void test_settings_env_file(void)
{
	drukfs_options o;
	drukfs_settings s;
	char err[512];

	memset(&o, 0, sizeof(o));
	o.env_file = (char *)write_env(0, "# env\nA=1\r\nB=x=y\n");
	CU_ASSERT_EQUAL_FATAL(settings_caught(&s, &o, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(s.env_count, 2);
	CU_ASSERT_PTR_NOT_NULL(s.env_buf);
	CU_ASSERT_STRING_EQUAL(s.env[0].key, "A");
	CU_ASSERT_STRING_EQUAL(s.env[0].value, "1");
	CU_ASSERT_STRING_EQUAL(s.env[1].key, "B");
	CU_ASSERT_STRING_EQUAL(s.env[1].value, "x=y");
	drukfs_settings_free(&s);
	CU_ASSERT_PTR_NULL(s.env);
	CU_ASSERT_PTR_NULL(s.env_buf);
}

static void test_settings_env_file_bad_line(void)
{
	drukfs_options o;
	drukfs_settings s;
	char err[512];

	memset(&o, 0, sizeof(o));
	o.env_file = (char *)write_env(1, "A=1\n\nnot a pair\n");
	CU_ASSERT_EQUAL(settings_caught(&s, &o, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "env_file="));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 3 "));
	CU_ASSERT_PTR_NULL(s.env);
	CU_ASSERT_PTR_NULL(s.env_buf);
	drukfs_settings_free(&s);
}

/* A bigger env file than the reader's first 4 KiB buffer. */
static void test_settings_env_file_large(void)
{
	enum { LINES = 2000 };
	char *text = malloc(LINES * 32 + 1), *p = text;
	drukfs_options o;
	drukfs_settings s;
	char err[512];

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	for (int i = 0; i < LINES; i++)
		p += sprintf(p, "K%d=value-%d\n", i, i);
	memset(&o, 0, sizeof(o));
	o.env_file = (char *)write_env(2, text);
	free(text);
	CU_ASSERT_EQUAL_FATAL(settings_caught(&s, &o, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(s.env_count, LINES);
	if (s.env_count == LINES) {
		CU_ASSERT_STRING_EQUAL(s.env[0].key, "K0");
		CU_ASSERT_STRING_EQUAL(s.env[LINES - 1].key, "K1999");
		CU_ASSERT_STRING_EQUAL(s.env[LINES - 1].value, "value-1999");
	}
	drukfs_settings_free(&s);
}

static const drukbox_test seconds_tests[] = {
	{ "valid: 2, 0.5, 0, .25, 300", test_seconds_valid },
	{ "max is inclusive", test_seconds_max },
	{ "invalid: -1, abc, 1e400, empty, 2s, nan, NULL, ...",
	  test_seconds_invalid },
	{ NULL, NULL },
};

static const drukbox_test lease_tests[] = {
	{ "valid: 3600, permanent, ten years", test_lease_valid },
	{ "invalid: 0, -5, +5, 12abc, huge, ...", test_lease_invalid },
	{ "invalid: sign behind white space (\" +5\")",
	  test_lease_sign_behind_space },
	{ NULL, NULL },
};

static const drukbox_test env_tests[] = {
	{ "KEY=VALUE lines", test_env_basic },
	{ "comments and blank lines skipped", test_env_comments_blank_lines },
	{ "CRLF line ends", test_env_crlf },
	{ "value containing '='", test_env_value_with_equals },
	{ "leading spaces before the key", test_env_leading_spaces },
	{ "empty text, comments only", test_env_empty_text },
	{ "=value: -EINVAL with its line number", test_env_missing_key },
	{ "line without '=': -EINVAL with its line number",
	  test_env_missing_equals },
	{ NULL, NULL },
};

static const drukbox_test settings_tests[] = {
	{ "defaults: cache_ttl 2, doctor_ttl 10, mkdir_wait 1, wait_poll 2",
	  test_settings_defaults },
	{ "values are converted", test_settings_values },
	{ "each bad value: -1, naming the option",
	  test_settings_each_bad_value },
	{ "disk_gb beyond 64 bits: -1", test_settings_disk_gb_overflow },
	{ NULL, NULL },
};

static const drukbox_test env_file_tests[] = {
	{ "env_file is read and parsed", test_settings_env_file },
	{ "env_file bad line: -1, names the line",
	  test_settings_env_file_bad_line },
	{ "env_file larger than 4 KiB", test_settings_env_file_large },
	{ NULL, NULL },
};

static const drukbox_test_suite suites[] = {
	{ "parse_seconds", NULL, NULL, seconds_tests },
	{ "parse_lease", NULL, NULL, lease_tests },
	{ "parse_env", NULL, NULL, env_tests },
	{ "settings_from", NULL, NULL, settings_tests },
	{ "settings_env_file", env_setup, env_teardown, env_file_tests },
};

DRUKBOX_TEST_MAIN(suites)
