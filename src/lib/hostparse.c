/*
 * hostparse.c — host records read straight from the text of GET /hosts,
 * GET /hosts/{id} and create or renew answers.
 *
 * A list of ten thousand hosts is several megabytes, and building a JSON
 * tree of it first (what json-c does) costs five times the body in heap
 * and most of the parse time.  Here the jscan reader walks the text once:
 * each record object is read member by member into per-key slots, its
 * strings decoded into one scratch buffer that is reused from record to
 * record, and when the object ends the record is checked and packed into
 * a single allocation (record.c).  Peak heap is the body, the records and
 * one record's scratch.
 *
 * Semantics are the contract's, and those of the json-c parser this
 * replaces (kept in tests/support/oracle.c, which the differential tests
 * compare against):
 *  - unknown keys are not interpreted but kept verbatim in `extra`;
 *  - a known key that is missing or null gives NULL or the default;
 *  - a known key of the wrong type, a NUL in a string field, a missing or
 *    empty id, or a port outside 1..65535 makes the record malformed; the
 *    detail names the first problem in the order the old parser checked
 *    (string fields, then the id, then disk_gb, then the port), so that
 *    logs read the same;
 *  - when a key comes twice the last one counts;
 *  - a key is compared as json-c saw it, up to its first NUL, so that the
 *    record means what host.json (rendered by json-c) shows.
 * Where the reader is stricter than json-c (see jscan.h and drukbox.h:
 * lone surrogates, which json-c replaced with U+FFFD; overlong or
 * surrogate UTF-8 and raw control characters, which it let through;
 * numbers such as 01, 1. or NaN) the document is refused instead of being
 * read loosely.  An integer beyond int64_t, which json-c clamped to the
 * nearest end, makes disk_gb "not an integer" (the record is malformed
 * where json-c kept it with a clamped size) and external_ssh_port "out of
 * range" (as the clamped value was).
 *
 * Record errors are only reported once the whole document has proved to
 * be JSON, so a broken body always fails as a broken body.
 */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "jscan.h"
#include "record.h"

/* Skipped records whose reason the list keeps (drukbox.h). */
#define SKIPPED_NOTED 8

/* Longest id that names a skipped record in skipped_detail. */
#define SKIPPED_ID_MAX 80

/* What the last value of one known key was. */
typedef enum slot_kind {
	SLOT_ABSENT = 0,
	SLOT_NULL,
	SLOT_STRING,
	SLOT_INT,
	SLOT_BIG,       /* an integer beyond int64_t */
	SLOT_WRONG,     /* a value of the wrong type */
} slot_kind;

typedef struct slot {
	slot_kind kind;
	bool has_nul;   /* SLOT_STRING holding a NUL */
	size_t off;     /* SLOT_STRING: its bytes in the scratch, NUL-ended */
	int64_t value;  /* SLOT_INT */
} slot;

/* One parse: the reader and the buffers reused from record to record. */
typedef struct parser {
	jscan js;
	const char *what;     /* "host list" or "host record", for errors */
	drukbox_buf text;     /* decoded strings of the current record */
	drukbox_buf extra;    /* its unknown members: {"key": value, ...} */
	slot slots[DRUKBOX_HOST_KEY_COUNT];
	size_t next_key;      /* the key expected next: servers keep order */
} parser;

static void parser_init(parser *p, const char *text, size_t len,
			const char *what)
{
	memset(p, 0, sizeof(*p));
	jscan_init(&p->js, text, len);
	p->what = what;
	drukbox_buf_init(&p->text, (size_t)-1 / 2, "host record");
	drukbox_buf_init(&p->extra, (size_t)-1 / 2, "host record");
}

/* The scratch held a private key when the text was a create answer. */
static void parser_free(parser *p)
{
	if (p->text.data)
		explicit_bzero(p->text.data, p->text.cap);
	drukbox_buf_free(&p->text);
	drukbox_buf_free(&p->extra);
}

/* The document's error, if any, as the last error: -DRUKBOX_EPROTOCOL.
 * 0 when the text was one JSON value with only white space after it. */
static int parser_finish(parser *p)
{
	jscan *js = &p->js;

	if (!js->error && jscan_finish(js))
		return 0;
	if (js->too_deep)
		return drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
					 "%s: JSON nested deeper than %d levels",
					 p->what, JSCAN_DEPTH_MAX);
	if (js->cut_short)
		return drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
					 "%s: JSON ends too early", p->what);
	return drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
				 "%s: not valid JSON (%s at byte %zu)", p->what,
				 js->error, js->error_at);
}

/* ---- one record ---------------------------------------------------------- */

/* Decodes s to the end of the scratch, NUL-terminated, without keeping
 * it there; *out points at it until the scratch grows.  0 or ENOMEM. */
static int decode_temp(parser *p, const jscan_str *s, char **out,
		       size_t *len)
{
	int rc = drukbox_buf_reserve(&p->text, s->raw_len + 1);

	if (rc)
		return rc;
	*out = p->text.data + p->text.len;
	*len = jscan_decode(*out, s);
	(*out)[*len] = '\0';
	return 0;
}

/* The known key `key` names (compared up to a NUL, as json-c did), or -1
 * for an unknown one.  0 or -DRUKBOX_ENOMEM in *rc. */
static int key_index(parser *p, const jscan_str *key, int *rc)
{
	const char *name = key->raw;
	size_t len = key->raw_len, k = p->next_key;
	char *decoded;

	*rc = 0;
	if (key->escaped) {
		*rc = decode_temp(p, key, &decoded, &len);
		if (*rc)
			return -1;
		name = decoded;
		len = strnlen(decoded, len);
	}
	for (size_t tries = 0; tries < DRUKBOX_HOST_KEY_COUNT; tries++) {
		const record_key *rk = &drukbox_record_keys[k];

		if (rk->name_len == len && memcmp(rk->name, name, len) == 0) {
			p->next_key = (k + 1) % DRUKBOX_HOST_KEY_COUNT;
			return (int)k;
		}
		k = (k + 1) % DRUKBOX_HOST_KEY_COUNT;
	}
	return -1;
}

/* Reads a string value into the scratch for slot s.  0 or ENOMEM. */
static int read_string(parser *p, slot *s)
{
	jscan_str str;
	char *at;
	size_t len;
	int rc;

	if (!jscan_string(&p->js, &str))
		return 0;
	rc = decode_temp(p, &str, &at, &len);
	if (rc)
		return rc;
	s->kind = SLOT_STRING;
	s->off = p->text.len;
	s->has_nul = str.escaped && memchr(at, '\0', len) != NULL;
	p->text.len += len + 1;
	return 0;
}

/* Reads the value of known key k into its slot.  0 or -DRUKBOX_ENOMEM;
 * a document error is left in the reader. */
static int read_known(parser *p, drukbox_host_key k)
{
	slot *s = &p->slots[k];
	jscan_type t = jscan_peek(&p->js);
	jscan_num num;

	memset(s, 0, sizeof(*s));
	if (t == JSCAN_NULL) {
		s->kind = SLOT_NULL;
		jscan_null(&p->js);
		return 0;
	}
	if (t == JSCAN_STRING && drukbox_record_keys[k].type == RECORD_STRING)
		return read_string(p, s);
	if (t == JSCAN_NUMBER && drukbox_record_keys[k].type != RECORD_STRING) {
		if (jscan_number(&p->js, &num)) {
			s->kind = num.fits ? SLOT_INT : num.integer ? SLOT_BIG
								    : SLOT_WRONG;
			s->value = num.value;
		}
		return 0;
	}
	s->kind = SLOT_WRONG;
	jscan_skip(&p->js);
	return 0;
}

/* Keeps an unknown member as it was sent: `"key": value`, appended to
 * the record's extra object.  0 or -DRUKBOX_ENOMEM. */
static int read_unknown(parser *p, const jscan_str *key)
{
	const char *value;
	int rc;

	if (jscan_peek(&p->js) == JSCAN_INVALID)
		return 0;
	value = (const char *)p->js.p;
	if (!jscan_skip(&p->js))
		return 0;
	rc = drukbox_buf_puts(&p->extra, p->extra.len ? ", \"" : "{\"");
	if (!rc)
		rc = drukbox_buf_append(&p->extra, key->raw, key->raw_len);
	if (!rc)
		rc = drukbox_buf_puts(&p->extra, "\": ");
	if (!rc)
		rc = drukbox_buf_append(&p->extra, value,
					(size_t)((const char *)p->js.p - value));
	return rc;
}

/* Reads the object at the reader into the slots and extra.  0 or
 * -DRUKBOX_ENOMEM; a document error is left in the reader. */
static int read_record(parser *p)
{
	jscan_str key;
	size_t count = 0;
	int k, rc = 0;

	memset(p->slots, 0, sizeof(p->slots));
	p->text.len = 0;
	p->extra.len = 0;
	p->next_key = 0;
	if (!jscan_enter(&p->js, '{'))
		return 0;
	while (!rc && jscan_member(&p->js, &count, &key)) {
		k = key_index(p, &key, &rc);
		if (rc)
			break;
		rc = k >= 0 ? read_known(p, (drukbox_host_key)k)
			    : read_unknown(p, &key);
	}
	if (!rc && p->extra.len)
		rc = drukbox_buf_puts(&p->extra, "}");
	return rc;
}

/* The decoded string in slot s, NUL-terminated. */
static const char *slot_text(const parser *p, const slot *s)
{
	return p->text.data + s->off;
}

/* Why the string slots cannot make a record, or NULL. */
static const char *strings_problem(const parser *p, const char **key)
{
	for (int k = 0; k < DRUKBOX_HOST_KEY_COUNT; k++) {
		const slot *s = &p->slots[k];

		if (drukbox_record_keys[k].type != RECORD_STRING)
			continue;
		*key = drukbox_record_keys[k].name;
		if (s->kind == SLOT_WRONG)
			return "is not a string";
		if (s->kind == SLOT_STRING && s->has_nul)
			return "contains a NUL byte";
	}
	return NULL;
}

/* Why the record read into the slots is malformed, into why (size
 * bytes); "" when it is a good one. */
static void record_problem(const parser *p, char *why, size_t size)
{
	const slot *id = &p->slots[DRUKBOX_HOST_ID];
	const slot *port = &p->slots[DRUKBOX_HOST_EXTERNAL_SSH_PORT];
	const char *key = NULL, *problem = strings_problem(p, &key);

	if (!problem && (id->kind != SLOT_STRING || !slot_text(p, id)[0])) {
		key = "id";
		problem = "is missing or empty";
	}
	if (!problem && (p->slots[DRUKBOX_HOST_DISK_GB].kind == SLOT_WRONG ||
			 p->slots[DRUKBOX_HOST_DISK_GB].kind == SLOT_BIG)) {
		key = "disk_gb";
		problem = "is not an integer";
	}
	if (!problem && port->kind == SLOT_WRONG) {
		key = "external_ssh_port";
		problem = "is not an integer";
	}
	if (!problem && (port->kind == SLOT_BIG ||
			 (port->kind == SLOT_INT &&
			  (port->value < 1 || port->value > 65535)))) {
		key = "external_ssh_port";
		problem = "is out of range";
	}
	why[0] = '\0';
	if (problem)
		snprintf(why, size, "host record: field \"%s\" %s", key,
			 problem);
}

/* Packs the good record read into the slots.  0 or -DRUKBOX_ENOMEM. */
static int record_build(parser *p, drukbox_host **out)
{
	drukbox_host tmpl = { .external_ssh_port = 22 };

	for (int k = 0; k < DRUKBOX_HOST_KEY_COUNT; k++) {
		const slot *s = &p->slots[k];

		if (s->kind == SLOT_ABSENT)
			continue;
		tmpl.present |= DRUKBOX_HOST_BIT(k);
		if (s->kind == SLOT_STRING)
			*drukbox_record_string(&tmpl, (drukbox_host_key)k) =
				slot_text(p, s);
	}
	if (p->slots[DRUKBOX_HOST_DISK_GB].kind == SLOT_INT) {
		tmpl.disk_gb = p->slots[DRUKBOX_HOST_DISK_GB].value;
		tmpl.has_disk_gb = true;
	}
	if (p->slots[DRUKBOX_HOST_EXTERNAL_SSH_PORT].kind == SLOT_INT) {
		tmpl.external_ssh_port =
			(int)p->slots[DRUKBOX_HOST_EXTERNAL_SSH_PORT].value;
		tmpl.has_external_ssh_port = true;
	}
	tmpl.extra = p->extra.len ? p->extra.data : NULL;
	return drukbox_record_pack(out, &tmpl);
}

/* ---- the document ------------------------------------------------------------ */

typedef int (*reader)(parser *p, void *ctx);

/* Parses the whole text: its value must be a `want` (an object or an
 * array), read by `read`; `done` (may be NULL) then runs once the text is
 * known to be JSON.  Any other value is still read through, so that a
 * broken text fails as broken, and then refused.  0, -DRUKBOX_EPROTOCOL
 * naming `what`, or the readers' errors. */
static int parse_text(const char *json, size_t len, const char *what,
		      jscan_type want, reader read, reader done, void *ctx)
{
	parser p;
	bool wanted;
	int rc = 0;

	if (!json)
		return drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
					 "%s: no usable JSON body", what);
	parser_init(&p, json, len, what);
	wanted = jscan_peek(&p.js) == want;
	if (wanted)
		rc = read(&p, ctx);
	else
		jscan_skip(&p.js);
	if (!rc)
		rc = parser_finish(&p);
	if (!rc && !wanted)
		rc = drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
				       "%s is not a JSON %s", what,
				       want == JSCAN_OBJECT ? "object"
							    : "array");
	if (!rc && done)
		rc = done(&p, ctx);
	parser_free(&p);
	return rc;
}

/* ---- one record alone ------------------------------------------------------ */

static int read_top_record(parser *p, void *ctx)
{
	(void)ctx;
	return read_record(p);
}

/* The record read is the answer, if it is a good one: into *(drukbox_host
 * **)ctx.  0, -DRUKBOX_EPROTOCOL naming the field, or -DRUKBOX_ENOMEM. */
static int take_record(parser *p, void *ctx)
{
	char why[128];

	record_problem(p, why, sizeof(why));
	if (why[0])
		return drukbox_error_set(DRUKBOX_EPROTOCOL, 0, "%s", why);
	return record_build(p, ctx);
}

/* -DRUKBOX_EPROTOCOL or -DRUKBOX_ENOMEM; *out NULL on failure. */
int drukbox_host_parse(drukbox_host **out, const char *json, size_t len)
{
	drukbox_error_clear();
	if (!out)
		return drukbox_error_set(DRUKBOX_EINVAL, 0, "out is NULL");
	*out = NULL;
	return parse_text(json, len, "host record", JSCAN_OBJECT,
			  read_top_record, take_record, out);
}

/* ---- the list -------------------------------------------------------------- */

/* Whether s is 1..max bytes of printable ASCII (no space). */
static bool printable_ascii(const char *s, size_t max)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (n >= max || (unsigned char)s[n] <= 0x20 ||
		    (unsigned char)s[n] >= 0x7f)
			return false;
	return n > 0;
}

/* Counts a left-out record and notes why (the first SKIPPED_NOTED only):
 * "<id or #index>: <why>\n".  The id names the record only when it is
 * short printable ASCII (up to a NUL, as json-c showed it): the text goes
 * into a log, one line per record.  Cannot fail: on ENOMEM the line is
 * dropped. */
static void note_skipped(drukbox_host_list *list, const char *id,
			 size_t index, const char *why)
{
	char head[SKIPPED_ID_MAX + 16], *n;
	size_t old = list->skipped_detail ? strlen(list->skipped_detail) : 0;
	int len;

	if (++list->skipped > SKIPPED_NOTED)
		return;
	if (id && printable_ascii(id, SKIPPED_ID_MAX))
		snprintf(head, sizeof(head), "%s", id);
	else
		snprintf(head, sizeof(head), "#%zu", index);
	len = snprintf(NULL, 0, "%s: %s\n", head, why);
	n = realloc(list->skipped_detail, old + (size_t)len + 1);
	if (!n)
		return;
	snprintf(n + old, (size_t)len + 1, "%s: %s\n", head, why);
	list->skipped_detail = n;
}

/* Where the records of a list go: the sink, with the list counting
 * them and keeping what was skipped. */
typedef struct list_out {
	drukbox_host_list *list;
	drukbox_host_sink sink;
	void *ctx;
} list_out;

/* Reads record number `index` at the reader: handed to the sink, or
 * counted as skipped.  0, -DRUKBOX_ENOMEM or the sink's error; a
 * document error is left in the reader. */
static int list_read_one(parser *p, list_out *o, size_t index)
{
	const slot *id = &p->slots[DRUKBOX_HOST_ID];
	drukbox_host *host = NULL;
	char why[128];
	int rc;

	if (jscan_peek(&p->js) != JSCAN_OBJECT) {
		if (jscan_skip(&p->js))
			note_skipped(o->list, NULL, index,
				     "host record is not a JSON object");
		return 0;
	}
	rc = read_record(p);
	if (rc || p->js.error)
		return rc;
	record_problem(p, why, sizeof(why));
	if (why[0]) {
		note_skipped(o->list, id->kind == SLOT_STRING ? slot_text(p, id)
							      : NULL,
			     index, why);
		return 0;
	}
	rc = record_build(p, &host);
	if (!rc) {
		rc = o->sink(o->ctx, host);
		o->list->count++;
	}
	return rc;
}

/* ---- the list, read as it arrives ------------------------------------------ */

/*
 * The reader keeps one jscan over a window of the text: the bytes not
 * read yet, in `buf`, or while `buf` is empty the piece being fed itself
 * (so a text fed whole is never copied).  Either way the window starts
 * at jscan's position.  jscan needs a whole value in
 * front of it, so a light lexical pass over every byte (strings and
 * escapes, bracket depth) marks the boundaries between elements of the
 * top-level array: a ',' at depth 1 and the ']' that closes it.  An
 * element is read only once a boundary follows it; jscan then sees
 * exactly the bytes it would see in the whole text, so results and error
 * offsets are the same.  On malformed text the lexical depth can be
 * wrong, but only after the point where jscan stops at the error, and
 * the end of the text always reads whatever is left.
 */
enum reader_mode { MODE_START, MODE_ARRAY, MODE_OTHER };

struct drukbox_list_reader {
	parser p;               /* set up once the text is known an array */
	list_out out;
	enum reader_mode mode;
	drukbox_buf buf;        /* the text from byte buf_base on */
	size_t buf_base;
	size_t scanned;         /* bytes the lexical pass has seen: all
				   those fed so far */
	int lex_depth;
	bool in_string, escaped;
	size_t bound;           /* 1 + offset of the last boundary, or 0 */
	bool entered, closed;
	size_t count;           /* elements begun (jscan_element) */
	int rc;                 /* sticky */
};

/* Decides the mode from the first byte that is not white space; the
 * index of that byte, or len when there is none yet. */
static size_t lex_start(drukbox_list_reader *r, const char *text, size_t i,
			size_t len)
{
	for (; i < len; i++) {
		char c = text[i];

		if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
			r->mode = c == '[' ? MODE_ARRAY : MODE_OTHER;
			break;
		}
	}
	return i;
}

/* The lexical pass over the bytes of the window (text[0..len), byte
 * `base` of the whole text on) that it has not seen.  The state lives in
 * locals: this loop sees every byte of a 6 MB list. */
static void lex(drukbox_list_reader *r, const char *text, size_t len,
		size_t base)
{
	size_t i = r->scanned - base;
	int depth = r->lex_depth;
	bool in_string = r->in_string, escaped = r->escaped;

	if (r->mode == MODE_START)
		i = lex_start(r, text, i, len);
	for (; r->mode == MODE_ARRAY && i < len; i++) {
		char c = text[i];

		if (in_string) {
			/* Most bytes are inside strings: run to the next
			 * quote or backslash. */
			while (!escaped && c != '"' && c != '\\' && ++i < len)
				c = text[i];
			if (i == len)
				break;
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '[' || c == '{') {
			depth++;
		} else if (((c == ']' || c == '}') && --depth == 0) ||
			   (c == ',' && depth == 1)) {
			r->bound = base + i + 1;
		}
	}
	r->lex_depth = depth;
	r->in_string = in_string;
	r->escaped = escaped;
	r->scanned = base + len;
}

/* Whether the reader may take its next step without running off the
 * end of what has arrived: the next byte is there, and when an element
 * starts (the first, or after a ','), a boundary follows it. */
static bool element_ready(const drukbox_list_reader *r)
{
	const jscan *js = &r->p.js;
	const unsigned char *q = js->p;

	while (q < js->end && (*q == ' ' || *q == '\n' || *q == '\r' ||
			       *q == '\t'))
		q++;
	if (q >= js->end)
		return false;
	if (*q == ']' || (r->count > 0 && *q != ','))
		return true; /* the end, or an error jscan finds right here */
	return r->bound > js->base + (size_t)(q - js->start) + 1;
}

/* Reads every element that is complete (all: every one there is, the
 * text being complete).  Errors go to r->rc or stay in the reader. */
static void read_elements(drukbox_list_reader *r, bool all)
{
	parser *p = &r->p;

	if (!r->entered) {
		if (!jscan_enter(&p->js, '['))
			return;
		r->entered = true;
	}
	while (!r->rc && !r->closed && !p->js.error &&
	       (all || element_ready(r))) {
		if (!jscan_element(&p->js, &r->count))
			r->closed = true;
		else
			r->rc = list_read_one(p, &r->out, r->count - 1);
	}
}

/* Keeps text[keep..len) of the window (at `base`) in buf for the next
 * piece.  0, or the buffer's error (-DRUKBOX_ENOMEM, or -DRUKBOX_EPROTOCOL
 * for one element larger than a response may be). */
static int keep_rest(drukbox_list_reader *r, const char *text, size_t len,
		     size_t base, size_t keep)
{
	size_t n = len - keep;

	if (text == r->buf.data) {
		memmove(r->buf.data, text + keep, n);
		r->buf.len = n;
		r->buf.data[n] = '\0';
	} else if (n) {
		int rc = drukbox_buf_append(&r->buf, text + keep, n);

		if (rc < 0)
			return rc;
	}
	r->buf_base = base + keep;
	return 0;
}

int drukbox_list_reader_new(drukbox_list_reader **out, drukbox_host_sink sink,
			    void *ctx)
{
	drukbox_list_reader *r;

	drukbox_error_clear();
	if (!out || !sink)
		return drukbox_error_set(DRUKBOX_EINVAL, 0,
					 "out and sink are required");
	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r || !(r->out.list = calloc(1, sizeof(*r->out.list)))) {
		free(r);
		return drukbox_error_nomem();
	}
	r->out.sink = sink;
	r->out.ctx = ctx;
	drukbox_buf_init(&r->buf, DRUKBOX_RESPONSE_MAX, "host list");
	*out = r;
	return 0;
}

int drukbox_list_reader_feed(drukbox_list_reader *r, const char *data,
			     size_t len)
{
	const char *text;
	size_t n, base, keep;

	if (r->rc || !len)
		return r->rc;
	if (r->buf.len) {
		if ((r->rc = drukbox_buf_append(&r->buf, data, len)) < 0)
			return r->rc;
		text = r->buf.data;
		n = r->buf.len;
		base = r->buf_base;
	} else {
		text = data;
		n = len;
		base = r->scanned;
	}
	lex(r, text, n, base);
	keep = 0; /* before the text is known an array, all of it is kept */
	if (r->mode == MODE_ARRAY) {
		if (!r->p.what) /* the first '[': the window starts at byte 0 */
			parser_init(&r->p, text, n, "host list");
		else
			jscan_resume(&r->p.js, text, n, base);
		read_elements(r, false);
		/* jscan stops at the first error, so it is the whole text's. */
		if (!r->rc && r->p.js.error)
			r->rc = parser_finish(&r->p);
		if (r->rc)
			return r->rc;
		keep = jscan_offset(&r->p.js) - base;
	}
	r->rc = keep_rest(r, text, n, base, keep);
	if (!r->rc && r->mode == MODE_ARRAY)
		jscan_resume(&r->p.js, drukbox_buf_cstr(&r->buf), r->buf.len,
			     r->buf_base);
	return r->rc;
}

int drukbox_list_reader_end(drukbox_list_reader *r, drukbox_host_list **out)
{
	int rc = r->rc;

	*out = NULL;
	if (!rc && r->mode != MODE_ARRAY) {
		/* Not an array (or nothing): judged whole, as it came. */
		rc = parse_text(drukbox_buf_cstr(&r->buf), r->buf.len,
				"host list", JSCAN_ARRAY, NULL, NULL, NULL);
	} else if (!rc) {
		jscan_resume(&r->p.js, drukbox_buf_cstr(&r->buf), r->buf.len,
			     r->buf_base);
		read_elements(r, true);
		rc = r->rc ? r->rc : parser_finish(&r->p);
	}
	if (rc) {
		r->rc = rc;
		return rc;
	}
	*out = r->out.list;
	r->out.list = NULL;
	return 0;
}

void drukbox_list_reader_free(drukbox_list_reader *r)
{
	if (!r)
		return;
	if (r->p.what)
		parser_free(&r->p);
	drukbox_buf_free(&r->buf);
	drukbox_host_list_free(r->out.list);
	free(r);
}

/* ---- the list, whole --------------------------------------------------------- */

int drukbox_host_array_push(void *ctx, drukbox_host *host)
{
	drukbox_host_array *a = ctx;

	if (a->count == a->cap) {
		size_t n = a->cap < 16 ? 16 : a->cap + a->cap / 2;
		drukbox_host **hosts = realloc(a->hosts, n * sizeof(*hosts));

		if (!hosts) {
			drukbox_host_free(host);
			return drukbox_error_nomem();
		}
		a->hosts = hosts;
		a->cap = n;
	}
	a->hosts[a->count++] = host;
	return 0;
}

int drukbox_host_array_end(drukbox_host_array *a, int rc,
			   drukbox_host_list *list)
{
	drukbox_host **hosts;

	if (rc) {
		for (size_t i = 0; i < a->count; i++)
			drukbox_host_free(a->hosts[i]);
		free(a->hosts);
	} else if (!a->count) {
		free(a->hosts);
		list->hosts = NULL;
	} else {
		hosts = realloc(a->hosts, a->count * sizeof(*hosts));
		list->hosts = hosts ? hosts : a->hosts;
	}
	*a = (drukbox_host_array){ NULL, 0, 0 };
	return rc;
}

/* -DRUKBOX_EPROTOCOL when the document is not an array, -DRUKBOX_ENOMEM.
 * Records that do not parse are counted in skipped, not errors.  The
 * reader is fed the whole text at once, so it reads it in place. */
int drukbox_host_list_parse(drukbox_host_list **out, const char *json,
			    size_t len)
{
	drukbox_host_array a = { NULL, 0, 0 };
	drukbox_list_reader *r = NULL;
	int rc;

	drukbox_error_clear();
	if (!out)
		return drukbox_error_set(DRUKBOX_EINVAL, 0, "out is NULL");
	*out = NULL;
	if (!json)
		return drukbox_error_set(DRUKBOX_EPROTOCOL, 0,
					 "host list: no usable JSON body");
	rc = drukbox_list_reader_new(&r, drukbox_host_array_push, &a);
	if (!rc)
		rc = drukbox_list_reader_feed(r, json, len);
	if (!rc)
		rc = drukbox_list_reader_end(r, out);
	drukbox_list_reader_free(r);
	return drukbox_host_array_end(&a, rc, *out);
}
