/*
 * What every fuzz target shares.
 *
 * A target is one function, LLVMFuzzerTestOneInput(), built two ways:
 * with libFuzzer (clang -fsanitize=fuzzer, only with -Dfuzz=true) to
 * search for new inputs, and with replay.c's main() in every build, which
 * runs it over the seed corpus and every crash kept so far, as a
 * regression test.  Either way an invariant that does not hold ends the
 * process through abort(), which libFuzzer and the replay both report as
 * a failure of that input.
 *
 * Targets must be deterministic and must free everything they allocate:
 * the sanitizers' leak check is part of the verdict.
 */
#ifndef DRUKFS_FUZZ_H
#define DRUKFS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* The entry point libFuzzer (or replay.c) calls once per input.  Always
 * returns 0; a broken invariant aborts instead. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints "fuzz: invariant broken at FILE:LINE: WHAT" and aborts. */
__attribute__((noreturn)) void fuzz_fail(const char *file, int line,
					 const char *what);

/* Aborts with the failing expression when `cond` is false. */
#define FUZZ_CHECK(cond)                                                  \
	do {                                                              \
		if (!(cond))                                              \
			fuzz_fail(__FILE__, __LINE__, #cond);             \
	} while (0)

/* The input as a C string: a malloc'd copy with a NUL after `size` bytes
 * (an embedded NUL simply ends the string early, as it would for the
 * filesystem).  Aborts when out of memory: a fuzzer cannot go on then. */
char *fuzz_cstr(const uint8_t *data, size_t size);

/* Whether two C strings are equal, NULL equal only to NULL. */
int fuzz_streq(const char *a, const char *b);

#endif
