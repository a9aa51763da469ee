/*
 * fuzz_doctor: the input is a GET /doctor body.
 *
 * drukbox_doctor_parse() either fails cleanly or gives a report whose
 * json parses back to the same report.  The report is then rendered as
 * the doctor file, with a fixed view of drukfs's own state whose strings
 * are hostile too.  Every string in that file comes from the service, so
 * the file must stay what a terminal can show safely: well-formed UTF-8,
 * no control character but '\n', no C1 control, line separator or bidi
 * override, and exactly the lines the layout has (no string may add one).
 */
#include "fuzz.h"
#include "records.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"

/* Checks beyond this many are counted, not listed (render.c). */
#define SHOWN_MAX 64

static void check_same_doctor(const drukbox_doctor *a,
			      const drukbox_doctor *b)
{
	FUZZ_CHECK(a->ok == b->ok);
	FUZZ_CHECK(fuzz_streq(a->active_provider, b->active_provider));
	FUZZ_CHECK(a->tailscale_enabled == b->tailscale_enabled);
	FUZZ_CHECK(a->check_count == b->check_count);
	for (size_t i = 0; i < a->check_count; i++) {
		const drukbox_doctor_check *x = &a->checks[i];
		const drukbox_doctor_check *y = &b->checks[i];

		FUZZ_CHECK(fuzz_streq(x->name, y->name));
		FUZZ_CHECK(fuzz_streq(x->status, y->status));
		FUZZ_CHECK(fuzz_streq(x->detail, y->detail));
		FUZZ_CHECK(fuzz_streq(x->hint, y->hint));
		FUZZ_CHECK(x->has_latency == y->has_latency);
		FUZZ_CHECK(x->latency_ms == y->latency_ms);
	}
	FUZZ_CHECK(fuzz_streq(a->json, b->json));
}

/* Code point at s (well-formed UTF-8 required), its length in *n. */
static unsigned long decode(const unsigned char *s, size_t avail, size_t *n)
{
	unsigned long cp;
	size_t len;

	if (s[0] < 0x80) {
		*n = 1;
		return s[0];
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		fuzz_fail(__FILE__, __LINE__, "not a UTF-8 lead byte");
	FUZZ_CHECK(len <= avail);
	for (size_t i = 1; i < len; i++) {
		FUZZ_CHECK((s[i] & 0xc0) == 0x80);
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	FUZZ_CHECK(cp >= (len == 2 ? 0x80ul : len == 3 ? 0x800ul : 0x10000ul));
	FUZZ_CHECK(cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff));
	*n = len;
	return cp;
}

/* Safe for a terminal: see the file comment. */
static void check_terminal_safe(const char *out, size_t len)
{
	const unsigned char *s = (const unsigned char *)out;

	for (size_t i = 0, n; i < len; i += n) {
		unsigned long cp = decode(s + i, len - i, &n);

		FUZZ_CHECK(cp == '\n' || (cp >= 0x20 && cp != 0x7f));
		FUZZ_CHECK(!(cp >= 0x80 && cp <= 0x9f));
		FUZZ_CHECK(cp != 0x2028 && cp != 0x2029);
		FUZZ_CHECK(!(cp >= 0x202a && cp <= 0x202e));
		FUZZ_CHECK(!(cp >= 0x2066 && cp <= 0x2069));
	}
}

/* Code points in the first n bytes of s (already checked well-formed). */
static size_t width(const char *s, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++)
		w += ((unsigned char)s[i] & 0xc0) != 0x80;
	return w;
}

/* Byte offset of the code point at column `col` of a line, or the line
 * length when it is shorter. */
static size_t column_offset(const char *s, size_t n, size_t col)
{
	size_t i = 0, w = 0;

	while (i < n && w < col) {
		i++;
		while (i < n && ((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
		w++;
	}
	return i;
}

static size_t failing_checks(const drukbox_doctor *d)
{
	size_t failing = 0;

	for (size_t i = 0; i < d->check_count; i++)
		failing += !d->checks[i].status ||
			   strcmp(d->checks[i].status, "ok") != 0;
	return failing;
}

/* The first line says ok/FAIL as the service did, and counts checks. */
static void check_first_line(const char *line, size_t n,
			     const drukbox_doctor *d)
{
	size_t failing = failing_checks(d), total = d->check_count;
	char want[128];

	if (failing)
		snprintf(want, sizeof(want), "drukbox: %s (%zu of %zu check%s "
			 "failing)", d->ok ? "ok" : "FAIL", failing, total,
			 total == 1 ? "" : "s");
	else if (total)
		snprintf(want, sizeof(want), "drukbox: %s (%s%zu check%s ok)",
			 d->ok ? "ok" : "FAIL", total == 1 ? "" : "all ", total,
			 total == 1 ? "" : "s");
	else
		snprintf(want, sizeof(want), "drukbox: %s",
			 d->ok ? "ok" : "FAIL");
	FUZZ_CHECK(strlen(want) == n && memcmp(line, want, n) == 0);
}

/* Lines of the report: counted, none with trailing blanks, the first one
 * exact, and the check rows aligned under the table's "status" column. */
static void check_lines(const char *out, size_t len, const drukbox_doctor *d,
			const drukfs_service_view *view)
{
	size_t shown = d ? (d->check_count < SHOWN_MAX ? d->check_count
							: SHOWN_MAX) : 0;
	size_t want = 0, lines = 0, status_col = 0;
	const char *p = out;

	if (d)
		want = 4 + (shown ? 1 + shown + (d->check_count > shown) : 1);
	else
		want = 1;
	want += view ? 5 : 0;
	while (p < out + len) {
		const char *nl = memchr(p, '\n', (size_t)(out + len - p));
		size_t n;

		FUZZ_CHECK(nl != NULL);
		n = (size_t)(nl - p);
		FUZZ_CHECK(n == 0 || p[n - 1] != ' ');
		if (lines == 0 && d)
			check_first_line(p, n, d);
		if (lines == 0 && !d)
			FUZZ_CHECK(strncmp(p, "drukbox: unknown (", 18) == 0);
		if (d && shown && lines == 4) {
			const char *st = strstr(p, "  status");

			FUZZ_CHECK(strncmp(p, "check ", 6) == 0 && st && st < nl);
			status_col = width(p, (size_t)(st - p)) + 2;
		}
		if (d && shown && lines > 4 && lines <= 4 + shown) {
			size_t at = column_offset(p, n, status_col);

			FUZZ_CHECK(at >= 2 && at < n);
			FUZZ_CHECK(p[at - 1] == ' ' && p[at - 2] == ' ');
		}
		lines++;
		p = nl + 1;
	}
	FUZZ_CHECK(lines == want);
}

static void check_render(const drukbox_doctor *d,
			 const drukfs_service_view *view)
{
	char *out = (char *)"unset";
	size_t len = 1;
	int rc = drukfs_render_doctor(&out, &len, d, view);

	if (rc == -ENOMEM) {
		FUZZ_CHECK(out == NULL);
		return;
	}
	FUZZ_CHECK(rc == 0 && out != NULL);
	FUZZ_CHECK(strlen(out) == len && len > 0 && out[len - 1] == '\n');
	check_terminal_safe(out, len);
	check_lines(out, len, d, view);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static drukbox_doctor sentinel; /* a failed parse must reset *out */
	drukbox_doctor *d = &sentinel, *again = NULL;
	drukfs_service_view view = {
		.url = "https://drukbox.example/\x1b]0;pwned\x07\xe2\x80\xae",
		.reachable = 1,
		.token_accepted = 0,
		.list_age_ms = 3723000,
		.host_count = 3,
		.last_error = "GET /hosts: timed out\r\n\tagain",
	};
	int rc = drukbox_doctor_parse(&d, (const char *)data, size);

	if (rc) {
		fuzz_check_failure(rc, d);
		view.doctor_error = size & 2 ? "GET /doctor failed: Timer expired"
					     : NULL;
		check_render(NULL, size & 1 ? &view : NULL);
		return 0;
	}
	FUZZ_CHECK(drukbox_error_last()->code == DRUKBOX_OK);
	FUZZ_CHECK(!d->check_count == !d->checks);
	FUZZ_CHECK(fuzz_ends_in_newline(d->json) && d->json[0] == '{');
	rc = drukbox_doctor_parse(&again, d->json, strlen(d->json));
	FUZZ_CHECK(rc == 0 || rc == -DRUKBOX_ENOMEM);
	if (again)
		check_same_doctor(d, again);
	drukbox_doctor_free(again);
	/* drukfs's last error is often the service's own words */
	if (d->check_count && d->checks[0].detail)
		view.last_error = d->checks[0].detail;
	view.list_age_ms = size % 7 == 0 ? -1 : (int64_t)size * 997;
	check_render(d, &view);
	check_render(d, NULL);
	drukbox_doctor_free(d);
	return 0;
}
