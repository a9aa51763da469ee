/*
 * jscan.c — the strict in-place JSON reader (see jscan.h).
 *
 * Speed comes from doing one pass over the bytes and allocating nothing:
 * a string is validated by a loop that clears eight plain bytes at a time
 * (no quote, backslash, control byte or non-ASCII among them) and looks
 * closer only at the rest, and it is decoded only on request, with
 * memcpy() for the runs between escapes.  Nesting is handled by the
 * caller's recursion (jscan_skip() recurses once per level), which the
 * depth limit bounds.
 *
 * Every reading function starts by checking js->error, so after the first
 * error the reader only says "no" and never reads further.
 */
#include "common.h"

#include <string.h>

#include "jscan.h"

/* Records the first error; returns false for `return fail(...)`. */
static bool fail(jscan *js, const char *why)
{
	if (!js->error) {
		js->error = why;
		js->error_at = jscan_offset(js);
		js->cut_short = js->p >= js->end;
	}
	return false;
}

/* Cannot fail. */
void jscan_init(jscan *js, const char *text, size_t len)
{
	memset(js, 0, sizeof(*js));
	js->start = (const unsigned char *)text;
	js->p = js->start;
	js->end = js->start + len;
}

void jscan_resume(jscan *js, const char *text, size_t len, size_t at)
{
	js->start = (const unsigned char *)text;
	js->p = js->start;
	js->end = js->start + len;
	js->base = at;
}

size_t jscan_offset(const jscan *js)
{
	return js->base + (size_t)(js->p - js->start);
}

static void skip_space(jscan *js)
{
	while (js->p < js->end && (*js->p == ' ' || *js->p == '\n' ||
				   *js->p == '\r' || *js->p == '\t'))
		js->p++;
}

/* At the start of a value: skips white space and checks that there is
 * one to read and that it is not nested too deep. */
static bool begin_value(jscan *js)
{
	if (js->error)
		return false;
	skip_space(js);
	if (js->p >= js->end)
		return fail(js, "a value is missing");
	if (js->depth >= JSCAN_DEPTH_MAX) {
		js->too_deep = true;
		return fail(js, "nested too deep");
	}
	return true;
}

/* JSCAN_INVALID with the error set when no value starts here. */
jscan_type jscan_peek(jscan *js)
{
	if (!begin_value(js))
		return JSCAN_INVALID;
	switch (*js->p) {
	case '{': return JSCAN_OBJECT;
	case '[': return JSCAN_ARRAY;
	case '"': return JSCAN_STRING;
	case 't': return JSCAN_TRUE;
	case 'f': return JSCAN_FALSE;
	case 'n': return JSCAN_NULL;
	case '-': return JSCAN_NUMBER;
	default:
		if (*js->p >= '0' && *js->p <= '9')
			return JSCAN_NUMBER;
		fail(js, "unexpected character");
		return JSCAN_INVALID;
	}
}

/* False with the error set when the next value does not open with it. */
bool jscan_enter(jscan *js, char open)
{
	if (!begin_value(js))
		return false;
	if (*js->p != (unsigned char)open)
		return fail(js, open == '{' ? "expected an object"
					    : "expected an array");
	js->p++;
	js->depth++;
	return true;
}

/* ---- strings ------------------------------------------------------------- */

/* Whether byte c may stand in a string as itself without a closer look. */
static bool plain_byte(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* Whether all eight bytes of v are plain (see plain_byte).  Each term is
 * the usual "has a byte that is zero / below n" test, which is exact for
 * the question whether any byte is. */
static bool plain_word(uint64_t v)
{
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t high = 0x8080808080808080ULL;
	uint64_t quote = v ^ (ones * '"'), slash = v ^ (ones * '\\');

	return ((((quote - ones) & ~quote) | ((slash - ones) & ~slash) |
		 ((v - ones * 0x20) & ~v) | v) & high) == 0;
}

/* The first byte at or after p that needs a closer look, or end. */
static const unsigned char *skip_plain(const unsigned char *p,
				       const unsigned char *end)
{
	uint64_t v;

	while (end - p >= 8) {
		memcpy(&v, p, sizeof(v));
		if (!plain_word(v))
			break;
		p += 8;
	}
	while (p < end && plain_byte(*p))
		p++;
	return p;
}

/* Pure; see jscan.h.  The ranges are RFC 3629's table of well-formed
 * sequences. */
size_t jscan_utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = *p, lo = 0x80, hi = 0xbf;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;      /* shorter forms are overlong */
	else if (c == 0xed)
		hi = 0x9f;      /* U+D800..U+DFFF are surrogates */
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;      /* nothing above U+10FFFF */
	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* The value of four hex digits at p, or -1. */
static long hex4(const unsigned char *p)
{
	long v = 0;

	for (int i = 0; i < 4; i++) {
		unsigned char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

static bool high_surrogate(long cp)
{
	return cp >= 0xd800 && cp <= 0xdbff;
}

static bool low_surrogate(long cp)
{
	return cp >= 0xdc00 && cp <= 0xdfff;
}

/* The length of the escape at p (a backslash), or 0 with *why set when it
 * is not a valid one; *why NULL then means the text ended inside it. */
static size_t escape_len(const unsigned char *p, const unsigned char *end,
			 const char **why)
{
	size_t left = (size_t)(end - p);
	long cp;

	*why = NULL;
	if (left < 2)
		return 0;
	if (strchr("\"\\/bfnrt", p[1]) && p[1] != '\0')
		return 2;
	*why = "invalid escape in a string";
	if (p[1] != 'u')
		return 0;
	if (left < 6) {
		*why = NULL;
		return 0;
	}
	cp = hex4(p + 2);
	if (cp < 0)
		return 0;
	if (!high_surrogate(cp) && !low_surrogate(cp))
		return 6;
	*why = "a lone surrogate escape in a string";
	if (low_surrogate(cp) || left < 12 || p[6] != '\\' || p[7] != 'u' ||
	    !low_surrogate(hex4(p + 8)))
		return 0;
	return 12;
}

/* Reads the string whose opening quote is at js->p (keys and values
 * alike).  False with the error set at the offending byte. */
static bool scan_string(jscan *js, jscan_str *out)
{
	const unsigned char *p = js->p + 1, *end = js->end;
	const char *why;
	bool escaped = false;
	size_t n;

	for (;;) {
		p = skip_plain(p, end);
		if (p >= end) {
			js->p = end;
			return fail(js, "a string is not closed");
		}
		if (*p == '"')
			break;
		if (*p == '\\') {
			n = escape_len(p, end, &why);
			escaped = true;
		} else if (*p < 0x20) {
			n = 0;
			why = "a control character in a string";
		} else {
			n = jscan_utf8_len(p, end);
			why = "invalid UTF-8 in a string";
		}
		if (n == 0) {
			js->p = why ? p : end;
			return fail(js, why ? why : "a string is not closed");
		}
		p += n;
	}
	out->raw = (const char *)js->p + 1;
	out->raw_len = (size_t)(p - js->p - 1);
	out->escaped = escaped;
	js->p = p + 1;
	return true;
}

/* False with the error set. */
bool jscan_string(jscan *js, jscan_str *out)
{
	if (!begin_value(js))
		return false;
	if (*js->p != '"')
		return fail(js, "expected a string");
	return scan_string(js, out);
}

/* Writes code point cp as UTF-8 to d; returns the byte count. */
static size_t put_utf8(char *d, long cp)
{
	unsigned char *u = (unsigned char *)d;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | (cp >> 6));
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | (cp >> 12));
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	u[0] = (unsigned char)(0xf0 | (cp >> 18));
	u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	u[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decodes the escape at p (already validated) into d.  Advances *p past
 * it and returns the bytes written. */
static size_t decode_escape(const unsigned char **p, char *d)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const unsigned char *s = *p;
	long cp;

	if (s[1] != 'u') {
		*d = to[strchr(from, s[1]) - from];
		*p = s + 2;
		return 1;
	}
	cp = hex4(s + 2);
	*p = s + 6;
	if (high_surrogate(cp)) {
		cp = 0x10000 + ((cp - 0xd800) << 10) + (hex4(s + 8) - 0xdc00);
		*p = s + 12;
	}
	return put_utf8(d, cp);
}

/* Cannot fail; see jscan.h. */
size_t jscan_decode(char *dst, const jscan_str *s)
{
	const unsigned char *p = (const unsigned char *)s->raw;
	const unsigned char *end = p + s->raw_len, *bs;
	char *d = dst;
	size_t run;

	if (!s->escaped) {
		memcpy(dst, s->raw, s->raw_len);
		return s->raw_len;
	}
	while (p < end) {
		bs = memchr(p, '\\', (size_t)(end - p));
		run = (size_t)((bs ? bs : end) - p);
		memcpy(d, p, run);
		d += run;
		p += run;
		if (bs)
			d += decode_escape(&p, d);
	}
	return (size_t)(d - dst);
}

/* ---- numbers and literals -------------------------------------------------- */

static bool is_digit(const unsigned char *p, const unsigned char *end)
{
	return p < end && *p >= '0' && *p <= '9';
}

/* Reads the digits of an integer part at *p into *mag; sets *overflow
 * when they do not fit 64 bits.  The caller has checked the first one. */
static void read_digits(const unsigned char **p, const unsigned char *end,
			uint64_t *mag, bool *overflow)
{
	for (; is_digit(*p, end); (*p)++) {
		unsigned d = (unsigned)(**p - '0');

		if (*mag > (UINT64_MAX - d) / 10)
			*overflow = true;
		else
			*mag = *mag * 10 + d;
	}
}

/* Skips a run of digits; false when there is none. */
static bool skip_digits(const unsigned char **p, const unsigned char *end)
{
	if (!is_digit(*p, end))
		return false;
	while (is_digit(*p, end))
		(*p)++;
	return true;
}

/* False with the error set. */
bool jscan_number(jscan *js, jscan_num *out)
{
	const unsigned char *p, *end = js->end;
	uint64_t mag = 0;
	bool neg, overflow = false;

	if (!begin_value(js))
		return false;
	p = js->p;
	neg = *p == '-';
	p += neg;
	if (!is_digit(p, end)) {
		js->p = p;
		return fail(js, "a number without digits");
	}
	if (*p == '0')
		p++;    /* a leading zero stands alone: "01" is two tokens */
	else
		read_digits(&p, end, &mag, &overflow);
	out->integer = true;
	if (p < end && *p == '.') {
		out->integer = false;
		p++;
		if (!skip_digits(&p, end)) {
			js->p = p;
			return fail(js, "a number without digits after '.'");
		}
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		out->integer = false;
		p++;
		p += p < end && (*p == '+' || *p == '-');
		if (!skip_digits(&p, end)) {
			js->p = p;
			return fail(js, "a number without digits in its exponent");
		}
	}
	js->p = p;
	out->fits = out->integer && !overflow &&
		    mag <= (uint64_t)INT64_MAX + (neg ? 1 : 0);
	out->value = !out->fits ? 0 : neg ? (int64_t)(0 - mag) : (int64_t)mag;
	return true;
}

/* Reads the literal `word` (len bytes).  False with the error set. */
static bool literal(jscan *js, const char *word, size_t len)
{
	if (!begin_value(js))
		return false;
	if ((size_t)(js->end - js->p) < len || memcmp(js->p, word, len) != 0)
		return fail(js, "unexpected character");
	js->p += len;
	return true;
}

/* False with the error set. */
bool jscan_null(jscan *js)
{
	return literal(js, "null", 4);
}

/* ---- containers ---------------------------------------------------------- */

/* Ends the container at `close`, or moves past the ',' before its next
 * entry.  1: another entry follows, 0: closed, -1: error. */
static int next_entry(jscan *js, size_t *count, char close)
{
	if (js->error)
		return -1;
	skip_space(js);
	if (js->p >= js->end) {
		fail(js, close == '}' ? "an object is not closed"
				      : "an array is not closed");
		return -1;
	}
	if (*js->p == (unsigned char)close) {
		js->p++;
		js->depth--;
		return 0;
	}
	if (*count > 0) {
		if (*js->p != ',') {
			fail(js, close == '}' ? "expected ',' or '}'"
					      : "expected ',' or ']'");
			return -1;
		}
		js->p++;
		skip_space(js);
	}
	(*count)++;
	return 1;
}

/* False at the closing brace or on an error (js->error tells which). */
bool jscan_member(jscan *js, size_t *count, jscan_str *key)
{
	if (next_entry(js, count, '}') <= 0)
		return false;
	if (js->p >= js->end || *js->p != '"')
		return fail(js, "expected a member name");
	if (!scan_string(js, key))
		return false;
	skip_space(js);
	if (js->p >= js->end || *js->p != ':')
		return fail(js, "expected ':' after a member name");
	js->p++;
	return true;
}

/* False at the closing bracket or on an error. */
bool jscan_element(jscan *js, size_t *count)
{
	return next_entry(js, count, ']') > 0;
}

/* False with the error set.  Recurses once per nesting level, which
 * begin_value() bounds. */
bool jscan_skip(jscan *js)
{
	jscan_str s;
	jscan_num n;
	size_t count = 0;

	switch (jscan_peek(js)) {
	case JSCAN_OBJECT:
		jscan_enter(js, '{');
		while (jscan_member(js, &count, &s))
			if (!jscan_skip(js))
				return false;
		return !js->error;
	case JSCAN_ARRAY:
		jscan_enter(js, '[');
		while (jscan_element(js, &count))
			if (!jscan_skip(js))
				return false;
		return !js->error;
	case JSCAN_STRING: return jscan_string(js, &s);
	case JSCAN_NUMBER: return jscan_number(js, &n);
	case JSCAN_TRUE: return literal(js, "true", 4);
	case JSCAN_FALSE: return literal(js, "false", 5);
	case JSCAN_NULL: return literal(js, "null", 4);
	default: return false;
	}
}

/* False with the error set when anything but white space follows. */
bool jscan_finish(jscan *js)
{
	if (js->error)
		return false;
	skip_space(js);
	if (js->p < js->end)
		return fail(js, "data after the value");
	return true;
}
