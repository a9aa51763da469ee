/*
 * fuzz_list_diff: the input is a GET /hosts body, or one host record.
 *
 * libdrukbox's streaming parsers against the json-c parser they replaced
 * (tests/support/oracle.c), with an independent RFC 8259 recogniser as
 * the referee where the two may rightly differ: diffcheck.h has the
 * rules.  The input goes through both drukbox_host_list_parse() and
 * drukbox_host_parse(), so that every corpus, whatever its target, can be
 * replayed here.
 */
#include "fuzz.h"

#include <stdio.h>

#include "diffcheck.h"

static void check(const char *what, const char *why)
{
	if (!why)
		return;
	fprintf(stderr, "fuzz_list_diff: %s: %s\n", what, why);
	fuzz_fail(__FILE__, __LINE__, "the parsers disagree");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check("list", diff_list((const char *)data, size));
	check("host", diff_host((const char *)data, size));
	return 0;
}
