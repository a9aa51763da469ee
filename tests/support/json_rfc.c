/*
 * json_rfc.c — see json_rfc.h.  Clarity over speed: inputs are small.
 */
#include "json_rfc.h"

#include <stdint.h>
#include <string.h>

#define NEST_MAX 64

typedef struct text {
	const unsigned char *s;
	size_t n, i;
} text;

static int at(const text *t)
{
	return t->i < t->n ? t->s[t->i] : -1;
}

static void spaces(text *t)
{
	while (at(t) == ' ' || at(t) == '\t' || at(t) == '\n' || at(t) == '\r')
		t->i++;
}

static bool eat(text *t, int c)
{
	if (at(t) != c)
		return false;
	t->i++;
	return true;
}

static bool digits(text *t)
{
	size_t from = t->i;

	while (at(t) >= '0' && at(t) <= '9')
		t->i++;
	return t->i > from;
}

/* -? int frac? exp? */
static bool number(text *t)
{
	eat(t, '-');
	if (!eat(t, '0') && !(at(t) >= '1' && at(t) <= '9' && digits(t)))
		return false;
	if (eat(t, '.') && !digits(t))
		return false;
	if (eat(t, 'e') || eat(t, 'E')) {
		if (!eat(t, '+'))
			eat(t, '-');
		if (!digits(t))
			return false;
	}
	return true;
}

/* The code point of the UTF-8 sequence at t, judged by its value; -1
 * when it is not a well-formed one. */
static long utf8_point(text *t)
{
	int c = at(t), more;
	long cp, min;

	if (c < 0x80)
		return -1;
	if ((c & 0xe0) == 0xc0) {
		more = 1, cp = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		more = 2, cp = c & 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		more = 3, cp = c & 0x07, min = 0x10000;
	} else {
		return -1;
	}
	t->i++;
	while (more--) {
		c = at(t);
		if (c < 0 || (c & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (c & 0x3f);
		t->i++;
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	return cp;
}

static long hex_unit(text *t)
{
	long v = 0;

	for (int k = 0; k < 4; k++) {
		int c = at(t);

		if (c >= '0' && c <= '9')
			v = v * 16 + (c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + (c - 'A' + 10);
		else
			return -1;
		t->i++;
	}
	return v;
}

/* After "\u": one code unit, or a high surrogate with its low one. */
static bool unicode_escape(text *t)
{
	long u = hex_unit(t);

	if (u < 0 || (u >= 0xdc00 && u <= 0xdfff))
		return false;
	if (u < 0xd800 || u > 0xdbff)
		return true;
	if (!eat(t, '\\') || !eat(t, 'u'))
		return false;
	u = hex_unit(t);
	return u >= 0xdc00 && u <= 0xdfff;
}

static bool string(text *t)
{
	if (!eat(t, '"'))
		return false;
	for (;;) {
		int c = at(t);

		if (c < 0)
			return false;
		if (c == '"') {
			t->i++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c >= 0x80) {
			if (utf8_point(t) < 0)
				return false;
			continue;
		}
		t->i++;
		if (c != '\\')
			continue;
		c = at(t);
		t->i++;
		if (c == 'u') {
			if (!unicode_escape(t))
				return false;
		} else if (c < 0 || !memchr("\"\\/bfnrt", c, 8)) {
			return false;
		}
	}
}

static bool value(text *t, int depth);

/* The entries of an object or array up to `close`. */
static bool entries(text *t, int depth, int close, bool keys)
{
	spaces(t);
	if (eat(t, close))
		return true;
	for (;;) {
		spaces(t);
		if (keys) {
			if (!string(t))
				return false;
			spaces(t);
			if (!eat(t, ':'))
				return false;
		}
		if (!value(t, depth + 1))
			return false;
		spaces(t);
		if (eat(t, close))
			return true;
		if (!eat(t, ','))
			return false;
	}
}

static bool word(text *t, const char *w)
{
	size_t n = strlen(w);

	if (t->n - t->i < n || memcmp(t->s + t->i, w, n) != 0)
		return false;
	t->i += n;
	return true;
}

/* A value at nesting depth `depth` (the top one is 1). */
static bool value(text *t, int depth)
{
	if (depth > NEST_MAX)
		return false;
	spaces(t);
	switch (at(t)) {
	case '{': t->i++; return entries(t, depth, '}', true);
	case '[': t->i++; return entries(t, depth, ']', false);
	case '"': return string(t);
	case 't': return word(t, "true");
	case 'f': return word(t, "false");
	case 'n': return word(t, "null");
	default: return number(t);
	}
}

bool rfc_json_valid(const char *s, size_t len)
{
	text t = { (const unsigned char *)s, len, 0 };

	if (!value(&t, 1))
		return false;
	spaces(&t);
	return t.i == t.n;
}

bool rfc_json_elements(const char *s, size_t len, rfc_element_fn fn,
		       void *ctx)
{
	text t = { (const unsigned char *)s, len, 0 };

	if (!rfc_json_valid(s, len))
		return false;
	spaces(&t);
	if (!eat(&t, '['))
		return false;
	spaces(&t);
	if (eat(&t, ']'))
		return true;
	for (;;) {
		size_t from;

		spaces(&t);
		from = t.i;
		value(&t, 2);
		fn(ctx, s + from, t.i - from);
		spaces(&t);
		if (!eat(&t, ','))
			return true;
	}
}
