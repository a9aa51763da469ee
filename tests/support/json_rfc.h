/*
 * json_rfc.h — an independent judge of RFC 8259 JSON text, for tests.
 *
 * The differential tests need a third opinion where the library and the
 * json-c oracle may rightly disagree (json-c lets through what RFC 8259
 * and RFC 3629 refuse).  This is a plain recursive-descent recogniser,
 * written apart from src/lib/jscan.c and in another way (code points are
 * decoded and judged by value, not by byte ranges), with the same rules:
 * the four white space characters, no leading zeros, well-formed UTF-8,
 * \u surrogates only in pairs, no raw control characters in strings, and
 * json-c's nesting count with a limit of 64.
 */
#ifndef DRUKBOX_TESTS_JSON_RFC_H
#define DRUKBOX_TESTS_JSON_RFC_H

#include <stdbool.h>
#include <stddef.h>

/* Whether text[0..len) is one JSON value with only white space around
 * it. */
bool rfc_json_valid(const char *text, size_t len);

/* For a valid text whose value is an array: calls fn with the exact bytes
 * of each element, in order, and returns true.  False (and no calls
 * after the error) for anything else. */
typedef void (*rfc_element_fn)(void *ctx, const char *element, size_t len);
bool rfc_json_elements(const char *text, size_t len, rfc_element_fn fn,
		       void *ctx);

#endif
