/*
 * The errno a filesystem call fails with, for each libdrukbox error class.
 *
 * drukfs has no table of its own: every handler returns
 * -drukbox_err_errno(rc).  This program pins that table from the
 * filesystem's side, row by row, as README "Errors" and drukbox.h state
 * it, including the forms drukfs actually passes (the negative return
 * codes) and values outside the enum.  Linked against libdrukbox.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <drukbox/drukbox.h>

#include "../support/cunit_main.h"

typedef struct row {
	drukbox_err code;
	int errnum;
	const char *what;
} row;

static const row rows[] = {
	{ DRUKBOX_OK, 0, "success" },
	{ DRUKBOX_EAUTH, EACCES, "auth" },
	{ DRUKBOX_ENOTFOUND, ENOENT, "not found" },
	{ DRUKBOX_ECONFLICT, EBUSY, "conflict" },
	{ DRUKBOX_EVALIDATION, EINVAL, "validation" },
	{ DRUKBOX_EBADREQUEST, EINVAL, "400" },
	{ DRUKBOX_EPROVISION, EIO, "provisioning failed" },
	{ DRUKBOX_EUNAVAILABLE, EAGAIN, "503" },
	{ DRUKBOX_ETIMEOUT, ETIMEDOUT, "timeout" },
	{ DRUKBOX_ETRANSPORT, EHOSTUNREACH, "transport" },
	{ DRUKBOX_ERESPONSE, EIO, "other >= 400" },
	{ DRUKBOX_EPROTOCOL, EPROTO, "malformed" },
	{ DRUKBOX_ENOMEM, ENOMEM, "ENOMEM" },
	{ DRUKBOX_EINVAL, EINVAL, "EINVAL" },
};

#define ROWS (sizeof(rows) / sizeof(rows[0]))

static void check(int code, int want, const char *what)
{
	int got = drukbox_err_errno(code);

	CU_ASSERT_EQUAL(got, want);
	if (got != want)
		printf("\n      %s (%d): got %d, want %d", what, code, got,
		       want);
}

static void test_table_covers_every_class(void)
{
	unsigned seen[DRUKBOX_EINVAL + 1] = { 0 };

	for (size_t i = 0; i < ROWS; i++)
		if ((int)rows[i].code >= 0 && rows[i].code <= DRUKBOX_EINVAL)
			seen[rows[i].code]++;
	for (int c = 0; c <= DRUKBOX_EINVAL; c++)
		CU_ASSERT_EQUAL(seen[c], 1);
}

static void test_positive_codes(void)
{
	for (size_t i = 0; i < ROWS; i++)
		check((int)rows[i].code, rows[i].errnum, rows[i].what);
}

/* What drukfs passes: a call's negative return value. */
static void test_negated_codes(void)
{
	for (size_t i = 0; i < ROWS; i++)
		check(-(int)rows[i].code, rows[i].errnum, rows[i].what);
}

/* One row per assertion too, so a failure names its row in the log. */
static void test_rows_one_by_one(void)
{
	CU_ASSERT_EQUAL(drukbox_err_errno(-DRUKBOX_EAUTH), EACCES);
	CU_ASSERT_EQUAL(drukbox_err_errno(-DRUKBOX_ENOTFOUND), ENOENT);
	CU_ASSERT_EQUAL(drukbox_err_errno(-DRUKBOX_ECONFLICT), EBUSY);
	CU_ASSERT_EQUAL(drukbox_err_errno(-DRUKBOX_EVALIDATION), EINVAL);
	CU_ASSERT_EQUAL(drukbox_err_errno(-DRUKBOX_EBADREQUEST), EINVAL);
	CU_ASSERT_EQUAL(drukbox_err_errno(-DRUKBOX_EPROVISION), EIO);
	CU_ASSERT_EQUAL(drukbox_err_errno(-DRUKBOX_EUNAVAILABLE), EAGAIN);
	CU_ASSERT_EQUAL(drukbox_err_errno(-DRUKBOX_ETIMEOUT), ETIMEDOUT);
	CU_ASSERT_EQUAL(drukbox_err_errno(-DRUKBOX_ETRANSPORT), EHOSTUNREACH);
	CU_ASSERT_EQUAL(drukbox_err_errno(-DRUKBOX_ERESPONSE), EIO);
	CU_ASSERT_EQUAL(drukbox_err_errno(-DRUKBOX_EPROTOCOL), EPROTO);
	CU_ASSERT_EQUAL(drukbox_err_errno(-DRUKBOX_ENOMEM), ENOMEM);
	CU_ASSERT_EQUAL(drukbox_err_errno(-DRUKBOX_EINVAL), EINVAL);
	CU_ASSERT_EQUAL(drukbox_err_errno(DRUKBOX_OK), 0);
	CU_ASSERT_EQUAL(drukbox_err_errno(-0), 0);
}

/* Every answer is a positive errno a FUSE reply can carry, except 0 for
 * success; a handler negates it. */
static void test_results_are_positive(void)
{
	for (int c = -DRUKBOX_EINVAL; c <= DRUKBOX_EINVAL; c++) {
		int e = drukbox_err_errno(c);

		if (c == 0) {
			CU_ASSERT_EQUAL(e, 0);
		} else {
			CU_ASSERT_TRUE(e > 0);
		}
	}
}

/* Anything the table does not know is EIO, never 0 (which would turn a
 * failure into success). */
static void test_unknown_is_eio(void)
{
	check(DRUKBOX_EINVAL + 1, EIO, "one past the last class");
	check(-(DRUKBOX_EINVAL + 1), EIO, "one past the last, negated");
	check(100, EIO, "100");
	check(-100, EIO, "-100");
	check(404, EIO, "an HTTP status");
	check(-ENOENT - 1000, EIO, "far negative");
	check(INT_MAX, EIO, "INT_MAX");
	check(-INT_MAX, EIO, "-INT_MAX");
	check(INT_MIN + 1, EIO, "INT_MIN + 1");
}

/* INT_MIN is an int like any other, but -INT_MIN does not exist: a table
 * that negates first and range-checks second reads far outside itself.
 * The call is made in a child process so that a crash fails this test
 * instead of ending the program. */
static void test_int_min_is_eio(void)
{
	int status = 0;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	CU_ASSERT_TRUE_FATAL(pid >= 0);
	if (pid == 0)
		_exit(drukbox_err_errno(INT_MIN) & 0xff);
	CU_ASSERT_EQUAL_FATAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(status));
	if (WIFEXITED(status)) {
		CU_ASSERT_EQUAL(WEXITSTATUS(status), EIO);
	} else if (WIFSIGNALED(status)) {
		printf("\n      drukbox_err_errno(INT_MIN) died of signal %d",
		       WTERMSIG(status));
	}
}

static const drukbox_test tests[] = {
	{ "the table lists every class once", test_table_covers_every_class },
	{ "classes map row by row", test_positive_codes },
	{ "negated codes map the same", test_negated_codes },
	{ "rows one by one (auth EACCES ... EINVAL EINVAL)",
	  test_rows_one_by_one },
	{ "results are positive errnos, 0 only for OK",
	  test_results_are_positive },
	{ "unknown values: EIO", test_unknown_is_eio },
	{ "INT_MIN: EIO, no crash", test_int_min_is_eio },
	{ NULL, NULL },
};

static const drukbox_test_suite suites[] = {
	{ "fs_errno", NULL, NULL, tests },
};

DRUKBOX_TEST_MAIN(suites)
