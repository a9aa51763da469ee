/*
 * jscan.h — a strict JSON reader that walks a document in place.
 *
 * There is no document tree: the caller pulls values one at a time
 * (enter an object, take its next member, read a string or a number, skip
 * a value it does not care about) and builds its own result as it goes.
 * Strings are only decoded when the caller asks, into the caller's
 * buffer, so skipping costs one validating pass and nothing else.
 *
 * The grammar is RFC 8259's, with no extensions: white space is the four
 * JSON characters, numbers are `-? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?
 * [0-9]+)?` (no NaN, no leading zeros, no bare `1.`), strings hold no raw
 * byte below 0x20, every escape is one of the nine, and the text is
 * well-formed UTF-8 (RFC 3629: shortest forms, no surrogates, nothing
 * above U+10FFFF).  A \u escape of a surrogate must be a high one directly
 * followed by a low one; a lone surrogate cannot be written as UTF-8, so
 * it is refused rather than replaced.
 *
 * Nesting is counted the way json-c counts it, so that the old limit keeps
 * its meaning: the top-level value is at depth 1, a value inside a
 * container one deeper than the container, and every value, scalar or
 * container, must be at depth JSCAN_DEPTH_MAX or less.
 *
 * Errors: the first thing that is not JSON stops the reader.  Every call
 * then returns false (or JSCAN_INVALID) at once, and js->error says why
 * (static text) and js->error_at where.  The caller checks js->error
 * whenever a call returns false, because false also means "no more
 * members / elements".
 */
#ifndef DRUKBOX_LIB_JSCAN_H
#define DRUKBOX_LIB_JSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting accepted (see above); records need 3 levels. */
#define JSCAN_DEPTH_MAX 64

typedef struct jscan {
	const unsigned char *p;     /* next byte to read */
	const unsigned char *start; /* the document */
	const unsigned char *end;
	size_t base;                /* offset of start in the whole text */
	int depth;                  /* containers open around p */
	const char *error;          /* why the text is not JSON; NULL while it is */
	size_t error_at;            /* byte offset of the error in the
				       whole text */
	bool too_deep;              /* the error is the nesting limit */
	bool cut_short;             /* the error is the end of the text */
} jscan;

/* What the next value is, judged by its first byte. */
typedef enum jscan_type {
	JSCAN_INVALID = 0, /* not a value (js->error is set), or the end */
	JSCAN_OBJECT,
	JSCAN_ARRAY,
	JSCAN_STRING,
	JSCAN_NUMBER,
	JSCAN_TRUE,
	JSCAN_FALSE,
	JSCAN_NULL,
} jscan_type;

/* A string as it stands in the text, between its quotes. */
typedef struct jscan_str {
	const char *raw;  /* first byte after the opening quote */
	size_t raw_len;   /* bytes up to the closing quote */
	bool escaped;     /* holds a backslash: decoding changes it */
} jscan_str;

/* A number: whether it is an integer (no fraction, no exponent) and, if it
 * is one that fits, its value. */
typedef struct jscan_num {
	bool integer;     /* no '.', no exponent */
	bool fits;        /* an integer within int64_t */
	int64_t value;    /* valid when fits */
} jscan_num;

/* Starts reading text[0..len).  Cannot fail. */
void jscan_init(jscan *js, const char *text, size_t len);

/* Moves the reader onto another copy of its text, for a caller that
 * receives the text in pieces and drops what was read: text[0..len) is
 * the whole text from the reader's position on, that position being byte
 * `at` of the whole text.  Depth and error state are kept.  Cannot
 * fail. */
void jscan_resume(jscan *js, const char *text, size_t len, size_t at);

/* The reader's position in the whole text. */
size_t jscan_offset(const jscan *js);

/* Skips white space and tells what the next value is; JSCAN_INVALID (and
 * the error set) when the next byte cannot start one. */
jscan_type jscan_peek(jscan *js);

/* Reads the `{` or `[` of the next value, one level deeper.  False with
 * the error set when it is not there or the nesting limit is passed. */
bool jscan_enter(jscan *js, char open);

/* The next member of the object being read: true with *key set and the
 * reader at the member's value; false after the closing `}` or on an
 * error.  *count (0 before the first call) counts the members, so that
 * commas are checked. */
bool jscan_member(jscan *js, size_t *count, jscan_str *key);

/* The next element of the array being read, like jscan_member: true at an
 * element, false after the closing `]` or on an error. */
bool jscan_element(jscan *js, size_t *count);

/* Reads (validates) the string at the next value.  False on an error. */
bool jscan_string(jscan *js, jscan_str *out);

/* Decodes a string that jscan_string() accepted into dst, which must
 * have room for s->raw_len bytes (decoding never lengthens a string), and
 * returns the decoded length.  No terminator is written.  Cannot fail. */
size_t jscan_decode(char *dst, const jscan_str *s);

/* Reads (validates) the number at the next value.  False on an error. */
bool jscan_number(jscan *js, jscan_num *out);

/* Reads `null`.  False on an error. */
bool jscan_null(jscan *js);

/* Reads and validates the next value, whatever it is, nested values
 * included.  False on an error. */
bool jscan_skip(jscan *js);

/* True when only white space is left; otherwise false with the error
 * set ("data after the value"). */
bool jscan_finish(jscan *js);

/* The length (1-4) of the well-formed UTF-8 character at p, reading no
 * further than end; 0 when the bytes there are not one.  Pure. */
size_t jscan_utf8_len(const unsigned char *p, const unsigned char *end);

#endif
