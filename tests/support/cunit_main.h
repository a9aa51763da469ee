/*
 * Shared main() for the CUnit test programs.
 *
 * Each program defines `static const drukbox_test_suite suites[]` and calls
 * DRUKBOX_TEST_MAIN(suites).  Runs every suite in CUnit's basic mode, then
 * prints the line the whole suite's summary is built from:
 *     N passed, N failed
 * and exits 1 when anything failed (an assertion, a suite setup, or a
 * cleanup), so meson reports the program as failed too.
 */
#ifndef DRUKBOX_TESTS_CUNIT_MAIN_H
#define DRUKBOX_TESTS_CUNIT_MAIN_H

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct drukbox_test {
	const char *name;
	void (*fn)(void);
} drukbox_test;

typedef struct drukbox_test_suite {
	const char *name;
	int (*setup)(void);
	int (*teardown)(void);
	const drukbox_test *tests; /* ends with {NULL, NULL} */
} drukbox_test_suite;

static inline int drukbox_test_run(const drukbox_test_suite *suites,
				   size_t n)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	for (size_t i = 0; i < n; i++) {
		CU_pSuite s = CU_add_suite(suites[i].name, suites[i].setup,
					   suites[i].teardown);
		if (!s)
			return 2;
		for (const drukbox_test *t = suites[i].tests; t->name; t++)
			if (!CU_add_test(s, t->name, t->fn))
				return 2;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned run = CU_get_number_of_tests_run();
	unsigned failed = CU_get_number_of_tests_failed();
	unsigned suite_failed = CU_get_number_of_suites_failed();
	/* A suite whose setup failed ran none of its tests: count them. */
	unsigned not_run = 0;
	if (suite_failed)
		for (size_t i = 0; i < n; i++)
			for (const drukbox_test *t = suites[i].tests; t->name; t++)
				not_run++;
	if (suite_failed)
		not_run = not_run > run ? not_run - run : 0;
	failed += not_run;
	printf("\n%u passed, %u failed\n", run - CU_get_number_of_tests_failed(),
	       failed);
	fflush(stdout);
	CU_cleanup_registry();
	return failed ? 1 : 0;
}

#define DRUKBOX_TEST_MAIN(suites)                                          \
	int main(void)                                                     \
	{                                                                  \
		return drukbox_test_run(suites,                            \
					sizeof(suites) / sizeof((suites)[0])); \
	}

#endif
