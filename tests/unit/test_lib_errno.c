/*
 * test_lib_errno.c — the one errno table, class names and SDK classes.
 *
 * The table is checked row by row against the mapping written in the
 * public header, so a change to either shows up here.
 */
#include <drukbox/drukbox.h>

#include <errno.h>
#include <string.h>

#include "cunit_main.h"

typedef struct row {
	drukbox_err code;
	int errnum;
	const char *name;
	drukbox_sdk_class sdk;
} row;

/* The header's table: auth EACCES, not found ENOENT, conflict EBUSY,
 * validation EINVAL, 400 EINVAL, provisioning failed EIO, 503 EAGAIN,
 * timeout ETIMEDOUT, transport EHOSTUNREACH, other >= 400 EIO, malformed
 * EPROTO, ENOMEM ENOMEM, invalid argument EINVAL. */
static const row rows[] = {
	{ DRUKBOX_OK, 0, "ok", DRUKBOX_SDK_NONE },
	{ DRUKBOX_EAUTH, EACCES, "auth", DRUKBOX_SDK_AUTH },
	{ DRUKBOX_ENOTFOUND, ENOENT, "not_found", DRUKBOX_SDK_NOT_FOUND },
	{ DRUKBOX_ECONFLICT, EBUSY, "conflict", DRUKBOX_SDK_CONFLICT },
	{ DRUKBOX_EVALIDATION, EINVAL, "validation", DRUKBOX_SDK_VALIDATION },
	{ DRUKBOX_EPROVISION, EIO, "provisioning_failed",
	  DRUKBOX_SDK_PROVISIONING_FAILED },
	{ DRUKBOX_EUNAVAILABLE, EAGAIN, "unavailable",
	  DRUKBOX_SDK_UNAVAILABLE },
	{ DRUKBOX_ETRANSPORT, EHOSTUNREACH, "transport",
	  DRUKBOX_SDK_UNAVAILABLE },
	{ DRUKBOX_ETIMEOUT, ETIMEDOUT, "timeout", DRUKBOX_SDK_UNAVAILABLE },
	{ DRUKBOX_EBADREQUEST, EINVAL, "bad_request", DRUKBOX_SDK_RESPONSE },
	{ DRUKBOX_ERESPONSE, EIO, "response", DRUKBOX_SDK_RESPONSE },
	{ DRUKBOX_EPROTOCOL, EPROTO, "protocol", DRUKBOX_SDK_RESPONSE },
	{ DRUKBOX_ENOMEM, ENOMEM, "nomem", DRUKBOX_SDK_CLIENT },
	{ DRUKBOX_EINVAL, EINVAL, "invalid_argument", DRUKBOX_SDK_CLIENT },
};

#define ROW_COUNT (sizeof(rows) / sizeof(rows[0]))

/* The enum numbers never change (they are part of the ABI). */
static void test_class_numbers_are_stable(void)
{
	CU_ASSERT_EQUAL(DRUKBOX_EAUTH, 1);
	CU_ASSERT_EQUAL(DRUKBOX_ETRANSPORT, 7);
	CU_ASSERT_EQUAL(DRUKBOX_EINVAL, 13);
	CU_ASSERT_EQUAL(ROW_COUNT, (size_t)DRUKBOX_EINVAL + 1);
}

static void test_errno_table_row_by_row(void)
{
	for (size_t i = 0; i < ROW_COUNT; i++) {
		int got = drukbox_err_errno((int)rows[i].code);

		if (got != rows[i].errnum)
			fprintf(stderr, "errno for %s: got %d want %d\n",
				rows[i].name, got, rows[i].errnum);
		CU_ASSERT_EQUAL(got, rows[i].errnum);
	}
}

/* Calls return -code; the table must take that as it comes. */
static void test_errno_accepts_negated_codes(void)
{
	for (size_t i = 0; i < ROW_COUNT; i++)
		CU_ASSERT_EQUAL(drukbox_err_errno(-(int)rows[i].code),
				rows[i].errnum);
}

static void test_errno_unknown_is_eio(void)
{
	CU_ASSERT_EQUAL(drukbox_err_errno(99), EIO);
	CU_ASSERT_EQUAL(drukbox_err_errno(-99), EIO);
	CU_ASSERT_EQUAL(drukbox_err_errno((int)ROW_COUNT), EIO);
}

static void test_names(void)
{
	for (size_t i = 0; i < ROW_COUNT; i++)
		CU_ASSERT_STRING_EQUAL(drukbox_err_name(rows[i].code),
				       rows[i].name);
	CU_ASSERT_STRING_EQUAL(drukbox_err_name((drukbox_err)42), "unknown");
}

/* Names are stable identifiers: distinct, lowercase, no spaces. */
static void test_names_distinct(void)
{
	for (size_t i = 0; i < ROW_COUNT; i++) {
		const char *a = drukbox_err_name(rows[i].code);

		CU_ASSERT_EQUAL(strspn(a, "abcdefghijklmnopqrstuvwxyz_"),
				strlen(a));
		for (size_t j = i + 1; j < ROW_COUNT; j++)
			CU_ASSERT_STRING_NOT_EQUAL(a,
					drukbox_err_name(rows[j].code));
	}
}

static void test_sdk_classes(void)
{
	for (size_t i = 0; i < ROW_COUNT; i++)
		CU_ASSERT_EQUAL(drukbox_err_sdk_class(rows[i].code),
				rows[i].sdk);
}

/* A fresh thread's last error is OK, and copy reproduces it. */
static void test_last_error_starts_ok(void)
{
	drukbox_error copy;

	CU_ASSERT_PTR_NOT_NULL_FATAL(drukbox_error_last());
	CU_ASSERT_EQUAL(drukbox_error_last()->code, DRUKBOX_OK);
	memset(&copy, 0x5a, sizeof(copy));
	drukbox_error_copy(&copy);
	CU_ASSERT_EQUAL(copy.code, DRUKBOX_OK);
	CU_ASSERT_EQUAL(copy.http_status, 0);
}

/* A failing pure call sets the class; the next successful one clears it. */
static void test_last_error_set_and_cleared(void)
{
	drukbox_create_opts bad = { .disk_gb = -1 };
	char *body = NULL;

	CU_ASSERT_EQUAL(drukbox_create_body(&body, &bad), -DRUKBOX_EINVAL);
	CU_ASSERT_EQUAL(drukbox_error_last()->code, DRUKBOX_EINVAL);
	CU_ASSERT(strlen(drukbox_error_last()->detail) > 0);
	CU_ASSERT_EQUAL(drukbox_create_body(&body, NULL), 0);
	CU_ASSERT_EQUAL(drukbox_error_last()->code, DRUKBOX_OK);
	free(body);
}

static const drukbox_test tests[] = {
	{ "class numbers are stable", test_class_numbers_are_stable },
	{ "errno table row by row", test_errno_table_row_by_row },
	{ "errno accepts negated codes", test_errno_accepts_negated_codes },
	{ "errno of an unknown code is EIO", test_errno_unknown_is_eio },
	{ "names", test_names },
	{ "names are distinct identifiers", test_names_distinct },
	{ "SDK classes", test_sdk_classes },
	{ "last error starts OK", test_last_error_starts_ok },
	{ "last error set and cleared", test_last_error_set_and_cleared },
	{ NULL, NULL },
};

static const drukbox_test_suite suites[] = {
	{ "errno", NULL, NULL, tests },
};

DRUKBOX_TEST_MAIN(suites)
