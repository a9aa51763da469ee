/*
 * Renderers: the bytes of every file drukfs shows, made from a record.
 *
 * Value files are the record's field and a newline, nothing else, so that
 * `ssh -p "$(cat external_ssh_port)"` and friends work without trimming;
 * they are passed through byte for byte because known_hosts and
 * private_key are data that other programs parse.  host.json is the
 * record as the client library prints it (drukbox_host_json).
 *
 * The doctor report is the one file meant for people, and every string in
 * it comes from the service (or from an error the service wrote).  Each
 * one is cleaned before it is printed: control characters, C1 controls,
 * invalid UTF-8 and the Unicode line separators and bidi overrides become
 * '?', and the text is cut after CLEAN_MAX bytes, so a hostile or broken
 * server can neither add lines nor send escape sequences to the terminal
 * that runs `cat`.  Columns are measured in code points of the cleaned
 * text, which is right for everything but wide (CJK) characters.
 *
 * The report is built in a growable buffer whose first failed append frees
 * it and makes every later append a no-op, so the builder reads as straight
 * line-by-line code and checks for ENOMEM once at the end.
 */
#include "render.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest server string the doctor report prints, in bytes. */
#define CLEAN_MAX 256
/* Checks beyond this many are counted, not listed. */
#define DOCTOR_MAX_CHECKS 64
/* Hard cap on the report; unreachable with the caps above. */
#define REPORT_MAX (1024 * 1024)
/* Width of the "label:" column of the key/value lines. */
#define LABEL_WIDTH 12
/* Spaces between table columns. */
#define COLUMN_GAP 2

static const char *const field_names[FIELD_COUNT] = {
	[FIELD_DIR] = NULL,
	[FIELD_STATE] = "state",
	[FIELD_WAIT] = "wait",
	[FIELD_ID] = "id",
	[FIELD_NAME] = "name",
	[FIELD_PROVIDER] = "provider",
	[FIELD_IMAGE] = "image",
	[FIELD_INSTANCE_TYPE] = "instance_type",
	[FIELD_DISK_GB] = "disk_gb",
	[FIELD_EXTERNAL_SSH_HOST] = "external_ssh_host",
	[FIELD_EXTERNAL_SSH_PORT] = "external_ssh_port",
	[FIELD_SSH_USERNAME] = "ssh_username",
	[FIELD_INTERNAL_SSH_HOST] = "internal_ssh_host",
	[FIELD_KNOWN_HOSTS] = "known_hosts",
	[FIELD_PRIVATE_KEY] = "private_key",
	[FIELD_LAST_ERROR] = "last_error",
	[FIELD_CREATED_AT] = "created_at",
	[FIELD_UPDATED_AT] = "updated_at",
	[FIELD_ACTIVATED_AT] = "activated_at",
	[FIELD_EXPIRES_AT] = "expires_at",
	[FIELD_HOST_JSON] = "host.json",
	[FIELD_SSH_CONFIG] = "ssh_config",
};

/* ---- fields ------------------------------------------------------------ */

/* Name of a field; NULL for FIELD_DIR and out-of-range values.  Cannot
 * fail; the string is static. */
const char *drukfs_field_name(drukfs_field f)
{
	if ((int)f <= FIELD_DIR || (int)f >= FIELD_COUNT)
		return NULL;
	return field_names[f];
}

/* The field whose file is called `name`, or -1 (also for NULL). */
int drukfs_field_lookup(const char *name)
{
	if (!name)
		return -1;
	for (int f = FIELD_DIR + 1; f < FIELD_COUNT; f++)
		if (strcmp(field_names[f], name) == 0)
			return f;
	return -1;
}

/* 1 for every renderable field readdir shows, 0 for FIELD_DIR, FIELD_WAIT
 * and out-of-range values.  FIELD_PRIVATE_KEY is 1: whether this mount
 * holds the key is the caller's check on top. */
int drukfs_field_listed(drukfs_field f)
{
	if ((int)f <= FIELD_DIR || (int)f >= FIELD_COUNT)
		return 0;
	return f != FIELD_WAIT;
}

/* The string member of `host` that field `f` shows, via *text (may be
 * NULL).  -EINVAL when `f` is not a string field. */
static int field_string(const drukbox_host *host, drukfs_field f,
			const char **text)
{
	switch (f) {
	case FIELD_STATE: *text = host->status; return 0;
	case FIELD_ID: *text = host->id; return 0;
	case FIELD_NAME: *text = host->name; return 0;
	case FIELD_PROVIDER: *text = host->provider; return 0;
	case FIELD_IMAGE: *text = host->image; return 0;
	case FIELD_INSTANCE_TYPE: *text = host->instance_type; return 0;
	case FIELD_EXTERNAL_SSH_HOST: *text = host->external_ssh_host; return 0;
	case FIELD_SSH_USERNAME: *text = host->ssh_username; return 0;
	case FIELD_INTERNAL_SSH_HOST: *text = host->internal_ssh_host; return 0;
	case FIELD_KNOWN_HOSTS: *text = host->known_hosts; return 0;
	case FIELD_PRIVATE_KEY: *text = host->private_key; return 0;
	case FIELD_LAST_ERROR: *text = host->last_error; return 0;
	case FIELD_CREATED_AT: *text = host->created_at; return 0;
	case FIELD_UPDATED_AT: *text = host->updated_at; return 0;
	case FIELD_ACTIVATED_AT: *text = host->activated_at; return 0;
	case FIELD_EXPIRES_AT: *text = host->expires_at; return 0;
	default: return -EINVAL;
	}
}

/* Copies `text` (NULL means "") into a new buffer, adding a newline when
 * `newline` is set and the text is non-empty and does not end in one.
 * 0 with *out and *len, or -ENOMEM. */
static int render_text(char **out, size_t *len, const char *text,
		       int newline)
{
	size_t n = text ? strlen(text) : 0;
	int add = newline && n > 0 && text[n - 1] != '\n';
	char *buf = malloc(n + (size_t)add + 1);

	if (!buf)
		return -ENOMEM;
	if (n)
		memcpy(buf, text, n);
	if (add)
		buf[n] = '\n';
	buf[n + (size_t)add] = '\0';
	*out = buf;
	*len = n + (size_t)add;
	return 0;
}

/* host.json, which the library renders (never with the private key).
 * 0 or -errno (-ENOMEM). */
static int render_host_json(char **out, size_t *len, const drukbox_host *host)
{
	int rc = drukbox_host_json(out, len, host);

	return rc < 0 ? -drukbox_err_errno(rc) : 0;
}

/* Renders one value file; see render.h.  -EINVAL for a NULL host or a
 * field that has no file content (FIELD_DIR, FIELD_WAIT, out of range),
 * -ENOMEM; *out is NULL and *len 0 on failure. */
int drukfs_render_field(char **out, size_t *len, const drukbox_host *host,
			drukfs_field f)
{
	char num[32];
	const char *text = NULL;

	*out = NULL;
	*len = 0;
	if (!host)
		return -EINVAL;
	switch (f) {
	case FIELD_HOST_JSON:
		return render_host_json(out, len, host);
	case FIELD_DISK_GB:
		if (host->has_disk_gb) {
			snprintf(num, sizeof(num), "%" PRId64, host->disk_gb);
			text = num;
		}
		break;
	case FIELD_EXTERNAL_SSH_PORT:
		snprintf(num, sizeof(num), "%d", host->external_ssh_port);
		text = num;
		break;
	default:
		if (field_string(host, f, &text) < 0)
			return -EINVAL;
		break;
	}
	return render_text(out, len, text, 1);
}

/* ---- cleaning server text ------------------------------------------------ */

/* Server text made safe to print, and its width in code points. */
typedef struct clean_text {
	char text[CLEAN_MAX + sizeof("...")];
	size_t width;
} clean_text;

/* Whether code point `cp` must not reach a terminal: C1 controls, the
 * line/paragraph separators and the bidi embedding/override/isolate
 * controls, which can reorder what the reader sees. */
static int codepoint_unsafe(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
	       (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

/* Length (1-4) of the well-formed UTF-8 character at `s`, with
 * *printable saying whether it may be shown; 1 with *printable 0 for a
 * byte that starts no well-formed character.  Stops at a NUL (a NUL is
 * never a continuation byte). */
static size_t utf8_char(const unsigned char *s, int *printable)
{
	uint32_t cp, min;
	size_t n;

	*printable = 0;
	if (s[0] < 0x80) {
		*printable = s[0] >= 0x20 && s[0] != 0x7f;
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	else
		return 1;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 1;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 1;
	*printable = !codepoint_unsafe(cp);
	return n;
}

/* Fills `c` from `src` (NULL gives ""): an unsafe character becomes one
 * '?', a malformed byte one '?' each, and text past CLEAN_MAX bytes
 * becomes "...".  Cannot fail. */
static void clean_set(clean_text *c, const char *src)
{
	const unsigned char *s = (const unsigned char *)(src ? src : "");
	size_t o = 0;

	c->width = 0;
	while (*s) {
		int printable;
		size_t n = utf8_char(s, &printable);
		size_t put = printable ? n : 1;

		if (o + put > CLEAN_MAX) {
			memcpy(c->text + o, "...", 3);
			o += 3;
			c->width += 3;
			break;
		}
		if (printable)
			memcpy(c->text + o, s, n);
		else
			c->text[o] = '?';
		o += put;
		s += n;
		c->width++;
	}
	c->text[o] = '\0';
}

/* Width `src` has once cleaned.  Cannot fail. */
static size_t clean_width(const char *src)
{
	clean_text c;

	clean_set(&c, src);
	return c.width;
}

/* ---- report buffer -------------------------------------------------------- */

typedef struct report {
	char *data;
	size_t len;
	size_t cap;
	int failed; /* an append failed; data is freed */
} report;

/* Makes room for `n` more bytes plus a NUL.  0, or -1 after freeing the
 * buffer and marking the report failed. */
static int report_reserve(report *r, size_t n)
{
	size_t cap = r->cap ? r->cap : 256;
	char *grown;

	if (r->failed)
		return -1;
	if (n > REPORT_MAX - r->len)
		goto fail;
	while (cap - r->len <= n)
		cap *= 2;
	if (cap == r->cap)
		return 0;
	grown = realloc(r->data, cap);
	if (!grown)
		goto fail;
	r->data = grown;
	r->cap = cap;
	return 0;
fail:
	free(r->data);
	r->data = NULL;
	r->len = r->cap = 0;
	r->failed = 1;
	return -1;
}

/* Appends `n` bytes of `s`.  Cannot fail visibly: see report.failed. */
static void report_add(report *r, const char *s, size_t n)
{
	if (report_reserve(r, n) < 0)
		return;
	memcpy(r->data + r->len, s, n);
	r->len += n;
	r->data[r->len] = '\0';
}

static void report_str(report *r, const char *s)
{
	report_add(r, s, strlen(s));
}

/* Appends `n` spaces. */
static void report_pad(report *r, size_t n)
{
	if (report_reserve(r, n) < 0)
		return;
	memset(r->data + r->len, ' ', n);
	r->len += n;
	r->data[r->len] = '\0';
}

__attribute__((format(printf, 2, 3)))
static void report_printf(report *r, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	report_add(r, line, (size_t)n < sizeof(line) ? (size_t)n
						      : sizeof(line) - 1);
}

/* Ends the current line: trailing spaces left by column padding go. */
static void report_endline(report *r)
{
	while (!r->failed && r->len > 0 && r->data[r->len - 1] == ' ')
		r->data[--r->len] = '\0';
	report_add(r, "\n", 1);
}

/* Appends cleaned `src`, then pads it to `width` columns plus the gap. */
static void report_cell(report *r, const char *src, size_t width)
{
	clean_text c;

	clean_set(&c, src);
	report_str(r, c.text);
	report_pad(r, (c.width < width ? width - c.width : 0) + COLUMN_GAP);
}

/* "label:" padded to LABEL_WIDTH, then cleaned `value` ("-" if NULL),
 * without ending the line. */
static void report_label(report *r, const char *label, const char *value)
{
	clean_text c;

	clean_set(&c, value ? value : "-");
	report_printf(r, "%-*s%s", LABEL_WIDTH, label, c.text);
}

/* ---- the doctor report ------------------------------------------------------ */

/* How a check's status reads: "ok", "FAIL" for the service's "fail",
 * anything else as sent. */
static const char *check_status(const drukbox_doctor_check *c)
{
	if (!c->status)
		return "?";
	if (strcmp(c->status, "fail") == 0)
		return "FAIL";
	return c->status;
}

static int check_failing(const drukbox_doctor_check *c)
{
	return !c->status || strcmp(c->status, "ok") != 0;
}

static void check_latency(char *buf, size_t size,
			  const drukbox_doctor_check *c)
{
	if (c->has_latency)
		snprintf(buf, size, "%" PRId64 " ms", c->latency_ms);
	else
		snprintf(buf, size, "-");
}

typedef struct check_widths {
	size_t name, status, latency, detail;
	int any_hint;
} check_widths;

/* Column widths over the first `n` checks; the headings are the minimum. */
static void check_widths_get(check_widths *w, const drukbox_doctor *d,
			     size_t n)
{
	char lat[32];

	w->name = strlen("check");
	w->status = strlen("status");
	w->latency = strlen("latency");
	w->detail = strlen("detail");
	w->any_hint = 0;
	for (size_t i = 0; i < n; i++) {
		const drukbox_doctor_check *c = &d->checks[i];
		size_t cw;

		check_latency(lat, sizeof(lat), c);
		if ((cw = clean_width(c->name)) > w->name)
			w->name = cw;
		if ((cw = clean_width(check_status(c))) > w->status)
			w->status = cw;
		if ((cw = strlen(lat)) > w->latency)
			w->latency = cw;
		if ((cw = clean_width(c->detail)) > w->detail)
			w->detail = cw;
		if (c->hint && *c->hint)
			w->any_hint = 1;
	}
}

static void report_check(report *r, const drukbox_doctor_check *c,
			 const check_widths *w)
{
	char lat[32];

	check_latency(lat, sizeof(lat), c);
	report_cell(r, c->name, w->name);
	report_cell(r, check_status(c), w->status);
	report_cell(r, lat, w->latency);
	report_cell(r, c->detail, w->any_hint ? w->detail : 0);
	if (c->hint && *c->hint) {
		report_str(r, "hint: ");
		report_cell(r, c->hint, 0);
	}
	report_endline(r);
}

/* The check table, or a line saying there is none. */
static void report_checks(report *r, const drukbox_doctor *d)
{
	size_t n = d->check_count < DOCTOR_MAX_CHECKS ? d->check_count
						      : DOCTOR_MAX_CHECKS;
	check_widths w;

	if (!d->checks || n == 0) {
		report_str(r, "(the service reported no checks)\n");
		return;
	}
	check_widths_get(&w, d, n);
	report_cell(r, "check", w.name);
	report_cell(r, "status", w.status);
	report_cell(r, "latency", w.latency);
	report_cell(r, "detail", 0);
	report_endline(r);
	for (size_t i = 0; i < n; i++)
		report_check(r, &d->checks[i], &w);
	if (d->check_count > n)
		report_printf(r, "(%zu more checks not shown)\n",
			      d->check_count - n);
}

/* The first line and the service's own settings. */
static void report_service_summary(report *r, const drukbox_doctor *d)
{
	size_t n = d->checks ? d->check_count : 0, failing = 0;

	for (size_t i = 0; i < n; i++)
		failing += (size_t)check_failing(&d->checks[i]);
	report_str(r, d->ok ? "drukbox: ok" : "drukbox: FAIL");
	if (failing)
		report_printf(r, " (%zu of %zu check%s failing)", failing, n,
			      n == 1 ? "" : "s");
	else if (n)
		report_printf(r, " (%s%zu check%s ok)", n == 1 ? "" : "all ",
			      n, n == 1 ? "" : "s");
	report_str(r, "\n");
	report_label(r, "provider:", d->active_provider);
	report_endline(r);
	report_label(r, "tailscale:", d->tailscale_enabled ? "enabled"
							   : "disabled");
	report_endline(r);
}

/* Why there is no doctor report, as far as drukfs knows. */
static const char *missing_reason(const drukfs_service_view *view)
{
	if (view && view->doctor_error)
		return view->doctor_error;
	if (!view || view->reachable == 0)
		return "service not reachable";
	if (view->token_accepted == 0)
		return "token rejected";
	return "not fetched yet";
}

/* "1.4 s", "250 ms", "3 min 5 s", "2 h 0 min".  Cannot fail. */
static void format_age(char *buf, size_t size, int64_t ms)
{
	if (ms < 1000)
		snprintf(buf, size, "%" PRId64 " ms", ms);
	else if (ms < 60 * 1000)
		snprintf(buf, size, "%" PRId64 ".%" PRId64 " s", ms / 1000,
			 ms % 1000 / 100);
	else if (ms < 3600 * 1000)
		snprintf(buf, size, "%" PRId64 " min %" PRId64 " s",
			 ms / 60000, ms % 60000 / 1000);
	else
		snprintf(buf, size, "%" PRId64 " h %" PRId64 " min",
			 ms / 3600000, ms % 3600000 / 60000);
}

/* drukfs's own view: service URL and state, the host cache, last error. */
static void report_view(report *r, const drukfs_service_view *v)
{
	static const char *const reach[] = {"not checked yet", "not reachable",
					    "reachable"};
	static const char *const token[] = {"token not checked yet",
					    "token rejected", "token accepted"};
	char age[48];

	report_str(r, "\ndrukfs:\n");
	report_label(r, "service:", v->url);
	report_printf(r, " (%s, %s)",
		      reach[v->reachable < 0 ? 0 : v->reachable ? 2 : 1],
		      token[v->token_accepted < 0 ? 0 : v->token_accepted ? 2
									   : 1]);
	report_endline(r);
	if (v->list_age_ms < 0) {
		report_label(r, "hosts:", "no list fetched yet");
	} else {
		format_age(age, sizeof(age), v->list_age_ms);
		report_printf(r, "%-*s%zu cached, list %s old", LABEL_WIDTH,
			      "hosts:", v->host_count, age);
	}
	report_endline(r);
	report_label(r, "last error:", v->last_error);
	report_endline(r);
}

/* The doctor file; see render.h.  `doctor` NULL gives a first line
 * "drukbox: unknown (<why>)"; `view` NULL leaves out the drukfs part.
 * 0 with *out and *len, or -ENOMEM with *out NULL. */
int drukfs_render_doctor(char **out, size_t *len, const drukbox_doctor *doctor,
			 const drukfs_service_view *view)
{
	report r = {0};

	*out = NULL;
	*len = 0;
	if (doctor) {
		report_service_summary(&r, doctor);
		report_str(&r, "\n");
		report_checks(&r, doctor);
	} else {
		report_printf(&r, "drukbox: unknown (no doctor report: %s)\n",
			      missing_reason(view));
	}
	if (view)
		report_view(&r, view);
	if (r.failed)
		return -ENOMEM;
	*out = r.data;
	*len = r.len;
	return 0;
}
