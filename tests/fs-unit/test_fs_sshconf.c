/*
 * Unit tests for src/fs/sshconf.c: the allowlists that keep a hostile
 * service from writing its own directives into ssh_config, the Host block
 * renderer, and the known_hosts filter.
 *
 * The service is the adversary here.  Every value it controls (address,
 * port, user, name) and every value derived from it (the handle) is tried
 * with the bytes that would change what OpenSSH reads: a newline starts a
 * new directive, '%' and ${} are expanded, '*', '?', '!' and ',' make a
 * Host pattern, a quote or a backslash ends or escapes a quoted path.
 * Expectations are exact byte strings; on top of that, every block the
 * renderer produces anywhere in this file is parsed line by line and must
 * consist of the Host line and the eleven keywords the module writes,
 * nothing else.
 *
 * Table-driven checks report the offending value (C-escaped) in the CUnit
 * failure text, so a failure names its input, not just a line number.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sshconf.h"

#include "../support/cunit_main.h"

/* ---- helpers -------------------------------------------------------------- */

/* `s` C-escaped into buf (truncated, always terminated); "NULL" for NULL. */
static const char *esc(const char *s, char *buf, size_t size)
{
	size_t o = 0;

	if (!s) {
		snprintf(buf, size, "NULL");
		return buf;
	}
	for (const unsigned char *p = (const unsigned char *)s;
	     *p && o + 5 < size; p++) {
		if (*p == '\\' || *p == '"') {
			buf[o++] = '\\';
			buf[o++] = (char)*p;
		} else if (*p < 0x20 || *p >= 0x7f) {
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", *p);
		} else {
			buf[o++] = (char)*p;
		}
	}
	buf[o] = '\0';
	return buf;
}

/* A CUnit assertion whose failure text is built with printf. */
static void check_msg(int ok, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void check_msg(int ok, unsigned line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, line, msg, __FILE__,
				"", CU_FALSE);
}

#define CHECK(ok, ...) check_msg((ok) != 0, __LINE__, __VA_ARGS__)

/* n copies of c, in a buffer the caller frees. */
static char *rep(char c, size_t n)
{
	char *s = malloc(n + 1);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* printf into a fresh buffer the caller frees. */
static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, f);
	n = vasprintf(&s, f, ap);
	va_end(ap);
	CU_ASSERT_TRUE_FATAL(n >= 0 && s != NULL);
	return s;
}

typedef int (*allowlist_fn)(const char *);

/* Checks that fn(v) is `want` for each of the n values. */
static void expect_all(allowlist_fn fn, const char *fn_name,
		       const char *const *v, size_t n, int want, unsigned line)
{
	char e[256];

	for (size_t i = 0; i < n; i++)
		check_msg(fn(v[i]) == want, line, "%s(\"%s\") should be %d",
			  fn_name, esc(v[i], e, sizeof(e)), want);
}

#define EXPECT_ALL(fn, arr, want)                                            \
	expect_all(fn, #fn, arr, sizeof(arr) / sizeof((arr)[0]), want, __LINE__)

/* ---- the block grammar ---------------------------------------------------- */

/* The keywords a block may hold, each at most once.  Anything else in a
 * rendered block is a directive the service smuggled in. */
static const char *const keywords[] = {
	"HostName", "Port", "User", "UserKnownHostsFile",
	"StrictHostKeyChecking", "UpdateHostKeys", "CheckHostIP",
	"PreferredAuthentications", "ForwardAgent", "IdentityFile",
	"IdentitiesOnly",
};
#define NKEYWORDS (sizeof(keywords) / sizeof(keywords[0]))

static int alias_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* A Host line's pattern list: single spaces between plain names, no glob,
 * negation or list character, none starting with '-'. */
static const char *host_line_bad(const char *p, size_t n)
{
	size_t i = 0;

	if (n == 0)
		return "Host without a pattern";
	while (i < n) {
		size_t b = i;

		while (i < n && p[i] != ' ')
			i++;
		if (i == b)
			return "empty pattern (double or trailing space)";
		if (p[b] == '-')
			return "pattern starting with '-'";
		for (size_t k = b; k < i; k++)
			if (!alias_char(p[k]))
				return "pattern character outside [A-Za-z0-9._-]";
		if (i < n)
			i++;
		if (i == n && p[n - 1] == ' ')
			return "trailing space";
	}
	return NULL;
}

/* A keyword's value: one unquoted token of plain characters, or one
 * double-quoted path with no quote, backslash or '$' inside and every
 * '%' doubled. */
static const char *value_bad(const char *v, size_t n)
{
	if (n == 0)
		return "empty value";
	if (v[0] == '"') {
		if (n < 3 || v[n - 1] != '"')
			return "unterminated quoted value";
		if (v[1] != '/')
			return "quoted path is not absolute";
		for (size_t i = 1; i + 1 < n; i++) {
			if (v[i] == '"' || v[i] == '\\' || v[i] == '$')
				return "quote, backslash or '$' inside a path";
			if (v[i] == '%') {
				if (i + 2 >= n || v[i + 1] != '%')
					return "single '%' in a path";
				i++;
			}
		}
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (!alias_char(v[i]) && v[i] != ':')
			return "unquoted value with a character outside "
			       "[A-Za-z0-9._:-]";
	return NULL;
}

/* Parses a rendered block as OpenSSH would read it, line by line.  NULL
 * when it is one Host line and then only "    Keyword value" lines with
 * the keywords above, each once; else what is wrong. */
static const char *block_bad(const char *s, size_t len)
{
	int seen[NKEYWORDS] = {0};
	size_t pos = 0;
	int line_no = 0;

	if (!s || len == 0)
		return "empty block";
	if (strlen(s) != len)
		return "len is not strlen (NUL inside?)";
	if (s[len - 1] != '\n')
		return "block does not end in a newline";
	while (pos < len) {
		const char *l = s + pos;
		const char *nl = memchr(l, '\n', len - pos);
		size_t n = (size_t)(nl - l);

		pos += n + 1;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)l[i] < 0x20 || l[i] == 0x7f)
				return "control character in a line";
		if (line_no++ == 0) {
			if (n < 5 || memcmp(l, "Host ", 5) != 0)
				return "first line is not \"Host \"";
			const char *why = host_line_bad(l + 5, n - 5);
			if (why)
				return why;
			continue;
		}
		if (n < 5 || memcmp(l, "    ", 4) != 0 || l[4] == ' ')
			return "line not indented by exactly 4 spaces";
		const char *kw = l + 4, *sp = memchr(kw, ' ', n - 4);
		if (!sp)
			return "keyword without a value";
		size_t kn = (size_t)(sp - kw), k;
		for (k = 0; k < NKEYWORDS; k++)
			if (strlen(keywords[k]) == kn &&
			    memcmp(keywords[k], kw, kn) == 0)
				break;
		if (k == NKEYWORDS)
			return "unexpected keyword";
		if (seen[k]++)
			return "keyword written twice";
		const char *why = value_bad(sp + 1, n - 4 - kn - 1);
		if (why)
			return why;
	}
	return NULL;
}

#define CHECK_BLOCK(out, len)                                                \
	do {                                                                 \
		const char *bad_ = block_bad((out), (len));                  \
		char e_[700];                                                \
		CHECK(bad_ == NULL, "block fails the grammar: %s in \"%s\"", \
		      bad_ ? bad_ : "", esc((out), e_, sizeof(e_)));          \
	} while (0)

/* ---- the block renderer --------------------------------------------------- */

/* An active host reachable at 203.0.113.7:2222 as ubuntu, named web-1,
 * with no internal address. */
static drukbox_host ssh_host(void)
{
	drukbox_host h;

	memset(&h, 0, sizeof(h));
	h.id = (char *)"0190c3e2-7a1b-7c00-8000-00000000abcd";
	h.name = (char *)"web-1";
	h.status = (char *)"active";
	h.external_ssh_host = (char *)"203.0.113.7";
	h.external_ssh_port = 2222;
	h.ssh_username = (char *)"ubuntu";
	return h;
}

static drukfs_ssh_opts ssh_opts(const char *suffix, drukfs_ssh_address a,
				const char *mnt)
{
	drukfs_ssh_opts o = {suffix, a, mnt};

	return o;
}

static const drukfs_ssh_opts default_opts = {".drukbox", SSH_ADDRESS_AUTO,
					     "/mnt/drukbox"};

typedef struct rendered {
	int rc;
	char *out;
	size_t len;
	const char *why;
} rendered;

static char out_sentinel[] = "stale";

/* Calls drukfs_ssh_block with out-parameters preset to garbage, so that
 * the tests see whether each one is set on every path.  A block it
 * returns is checked against the grammar here. */
static rendered render(const drukbox_host *h, const char *handle, int has_key,
		       const drukfs_ssh_opts *o)
{
	rendered r;

	r.out = out_sentinel;
	r.len = 12345;
	r.why = "stale reason";
	r.rc = drukfs_ssh_block(&r.out, &r.len, h, handle, has_key, 1, o,
				&r.why);
	if (r.rc == 0 && r.out != out_sentinel && r.out)
		CHECK_BLOCK(r.out, r.len);
	return r;
}

static void release(rendered *r)
{
	if (r->out != out_sentinel)
		free(r->out);
	r->out = NULL;
}

/* Renders and checks the result is exactly `want`. */
static void expect_block(const drukbox_host *h, const char *handle,
			 int has_key, const drukfs_ssh_opts *o,
			 const char *want, unsigned line)
{
	rendered r = render(h, handle, has_key, o);
	char e[2048];

	check_msg(r.rc == 0, line, "drukfs_ssh_block returned %d (%s)", r.rc,
		  r.rc != 0 && r.why ? r.why : "");
	check_msg(r.why == NULL, line, "*why not reset to NULL on success");
	if (r.rc == 0 && r.out && r.out != out_sentinel) {
		check_msg(r.len == strlen(r.out), line, "len %zu, strlen %zu",
			  r.len, strlen(r.out));
		check_msg(strcmp(r.out, want) == 0, line, "block is \"%s\"",
			  esc(r.out, e, sizeof(e)));
	} else {
		check_msg(0, line, "no block returned");
	}
	release(&r);
}

#define EXPECT_BLOCK(h, handle, key, o, want)                                \
	expect_block(h, handle, key, o, want, __LINE__)

/* Renders and checks the host is reported as not reachable yet. */
static void expect_unreachable(const drukbox_host *h, const char *handle,
			       const drukfs_ssh_opts *o, unsigned line)
{
	rendered r = render(h, handle, 1, o);

	check_msg(r.rc == 1, line, "drukfs_ssh_block returned %d, want 1",
		  r.rc);
	check_msg(r.out == NULL, line, "*out not NULL when unreachable");
	check_msg(r.len == 0, line, "*len %zu when unreachable", r.len);
	check_msg(r.why == NULL, line, "*why \"%s\" when unreachable",
		  r.why ? r.why : "");
	release(&r);
}

#define EXPECT_UNREACHABLE(h, handle, o)                                     \
	expect_unreachable(h, handle, o, __LINE__)

/* Renders and checks the block is refused with a reason.  `what` names
 * the value under test for the failure text. */
static void expect_refused(const drukbox_host *h, const char *handle,
			   const drukfs_ssh_opts *o, const char *what,
			   const char *value, unsigned line)
{
	char e[256], b[1024];

	for (int key = 0; key <= 1; key++) {
		rendered r = render(h, handle, key, o);

		esc(value, e, sizeof(e));
		check_msg(r.rc == -EINVAL, line,
			  "%s \"%s\": rc %d, want -EINVAL; block \"%s\"", what, e,
			  r.rc,
			  r.rc == 0 && r.out ? esc(r.out, b, sizeof(b)) : "");
		check_msg(r.why != NULL && r.why[0] != '\0', line,
			  "%s \"%s\": no reason given", what, e);
		check_msg(r.out == NULL, line, "%s \"%s\": *out not NULL", what,
			  e);
		check_msg(r.len == 0, line, "%s \"%s\": *len %zu", what, e,
			  r.len);
		release(&r);
	}
}

/* The block for the default host, handle run-42, mounted at /mnt/drukbox. */
#define WANT_HEAD(aliases, hostname, port)                                   \
	"Host " aliases "\n"                                                 \
	"    HostName " hostname "\n"                                        \
	"    Port " port "\n"                                                \
	"    User ubuntu\n"
#define WANT_TAIL_NOKEY(mnt, handle)                                         \
	"    UserKnownHostsFile \"" mnt "/hosts/" handle "/known_hosts\"\n"  \
	"    StrictHostKeyChecking yes\n"                                    \
	"    UpdateHostKeys no\n"                                            \
	"    CheckHostIP no\n"                                               \
	"    PreferredAuthentications publickey\n"                           \
	"    ForwardAgent no\n"
#define WANT_TAIL_KEY(mnt, handle)                                           \
	WANT_TAIL_NOKEY(mnt, handle)                                         \
	"    IdentityFile \"" mnt "/hosts/" handle "/private_key\"\n"        \
	"    IdentitiesOnly yes\n"

static void test_block_with_key(void)
{
	drukbox_host h = ssh_host();

	EXPECT_BLOCK(&h, "run-42", 1, &default_opts,
		     "Host run-42.drukbox web-1.drukbox\n"
		     "    HostName 203.0.113.7\n"
		     "    Port 2222\n"
		     "    User ubuntu\n"
		     "    UserKnownHostsFile "
		     "\"/mnt/drukbox/hosts/run-42/known_hosts\"\n"
		     "    StrictHostKeyChecking yes\n"
		     "    UpdateHostKeys no\n"
		     "    CheckHostIP no\n"
		     "    PreferredAuthentications publickey\n"
		     "    ForwardAgent no\n"
		     "    IdentityFile \"/mnt/drukbox/hosts/run-42/private_key\"\n"
		     "    IdentitiesOnly yes\n");
	/* Any non-zero has_key means a key. */
	EXPECT_BLOCK(&h, "run-42", 7, &default_opts,
		     WANT_HEAD("run-42.drukbox web-1.drukbox", "203.0.113.7",
			       "2222")
		     WANT_TAIL_KEY("/mnt/drukbox", "run-42"));
}

static void test_block_without_key(void)
{
	drukbox_host h = ssh_host();

	EXPECT_BLOCK(&h, "run-42", 0, &default_opts,
		     "Host run-42.drukbox web-1.drukbox\n"
		     "    HostName 203.0.113.7\n"
		     "    Port 2222\n"
		     "    User ubuntu\n"
		     "    UserKnownHostsFile "
		     "\"/mnt/drukbox/hosts/run-42/known_hosts\"\n"
		     "    StrictHostKeyChecking yes\n"
		     "    UpdateHostKeys no\n"
		     "    CheckHostIP no\n"
		     "    PreferredAuthentications publickey\n"
		     "    ForwardAgent no\n");
}

/* The server's name is a second alias only when it differs from the
 * handle. */
static void test_block_name_alias(void)
{
	drukbox_host h = ssh_host();

	h.name = (char *)"run-42";
	EXPECT_BLOCK(&h, "run-42", 1, &default_opts,
		     WANT_HEAD("run-42.drukbox", "203.0.113.7", "2222")
		     WANT_TAIL_KEY("/mnt/drukbox", "run-42"));
	h.name = NULL;
	EXPECT_BLOCK(&h, "run-42", 0, &default_opts,
		     WANT_HEAD("run-42.drukbox", "203.0.113.7", "2222")
		     WANT_TAIL_NOKEY("/mnt/drukbox", "run-42"));
	h.name = (char *)"sb-0123456789ab";
	EXPECT_BLOCK(&h, "run-42", 0, &default_opts,
		     WANT_HEAD("run-42.drukbox sb-0123456789ab.drukbox",
			       "203.0.113.7", "2222")
		     WANT_TAIL_NOKEY("/mnt/drukbox", "run-42"));
	/* A name that is a prefix of the handle is still a different name. */
	h.name = (char *)"run-4";
	EXPECT_BLOCK(&h, "run-42", 0, &default_opts,
		     WANT_HEAD("run-42.drukbox run-4.drukbox", "203.0.113.7",
			       "2222")
		     WANT_TAIL_NOKEY("/mnt/drukbox", "run-42"));
}

static void test_block_suffix(void)
{
	drukbox_host h = ssh_host();
	drukfs_ssh_opts o = ssh_opts(".x", SSH_ADDRESS_AUTO, "/mnt/drukbox");

	EXPECT_BLOCK(&h, "run-42", 1, &o,
		     WANT_HEAD("run-42.x web-1.x", "203.0.113.7", "2222")
		     WANT_TAIL_KEY("/mnt/drukbox", "run-42"));
	/* No suffix, no block: the aliases would be bare server-chosen names. */
	o.suffix = "";
	{
		rendered r = render(&h, "run-42", 1, &o);

		CU_ASSERT_EQUAL(r.rc, -EINVAL);
		CU_ASSERT_PTR_NULL(r.out);
		release(&r);
	}
	o.suffix = ".x";
	h.name = NULL;
	EXPECT_BLOCK(&h, "run-42", 0, &o,
		     WANT_HEAD("run-42.x", "203.0.113.7", "2222")
		     WANT_TAIL_NOKEY("/mnt/drukbox", "run-42"));
	/* An empty name is no name: no second alias. */
	h.name = (char *)"";
	EXPECT_BLOCK(&h, "run-42", 0, &o,
		     WANT_HEAD("run-42.x", "203.0.113.7", "2222")
		     WANT_TAIL_NOKEY("/mnt/drukbox", "run-42"));
}

/* with_name 0: the caller found the name shared or another host's
 * handle, so only the handle alias is written. */
static void test_block_without_name_alias(void)
{
	drukbox_host h = ssh_host();
	const char *why = NULL;
	char *out = NULL;
	size_t len = 0;

	CU_ASSERT_EQUAL(drukfs_ssh_block(&out, &len, &h, "run-42", 0, 0,
					 &default_opts, &why), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL(strncmp(out, "Host run-42.drukbox\n", 20), 0);
	free(out);
	/* a hostile name is not even looked at when it is not used */
	h.name = (char *)"a\nProxyCommand x";
	CU_ASSERT_EQUAL(drukfs_ssh_block(&out, &len, &h, "run-42", 0, 0,
					 &default_opts, &why), 0);
	CU_ASSERT_PTR_NOT_NULL(out);
	free(out);
}

/* auto: the internal address on port 22 when there is one, else the
 * external address and port. */
static void test_block_address_auto(void)
{
	drukbox_host h = ssh_host();

	h.internal_ssh_host = (char *)"web-1.tail1234.ts.net";
	EXPECT_BLOCK(&h, "run-42", 1, &default_opts,
		     WANT_HEAD("run-42.drukbox web-1.drukbox",
			       "web-1.tail1234.ts.net", "22")
		     WANT_TAIL_KEY("/mnt/drukbox", "run-42"));
	h.internal_ssh_host = (char *)"100.64.0.7";
	EXPECT_BLOCK(&h, "run-42", 0, &default_opts,
		     WANT_HEAD("run-42.drukbox web-1.drukbox", "100.64.0.7",
			       "22")
		     WANT_TAIL_NOKEY("/mnt/drukbox", "run-42"));
	/* An internal address needs no external one. */
	h.external_ssh_host = NULL;
	h.external_ssh_port = 0;
	EXPECT_BLOCK(&h, "run-42", 0, &default_opts,
		     WANT_HEAD("run-42.drukbox web-1.drukbox", "100.64.0.7",
			       "22")
		     WANT_TAIL_NOKEY("/mnt/drukbox", "run-42"));
	h = ssh_host();
	h.internal_ssh_host = (char *)"";
	EXPECT_BLOCK(&h, "run-42", 0, &default_opts,
		     WANT_HEAD("run-42.drukbox web-1.drukbox", "203.0.113.7",
			       "2222")
		     WANT_TAIL_NOKEY("/mnt/drukbox", "run-42"));
	h.internal_ssh_host = NULL;
	h.external_ssh_host = (char *)"2001:db8::7";
	h.external_ssh_port = 22;
	EXPECT_BLOCK(&h, "run-42", 0, &default_opts,
		     WANT_HEAD("run-42.drukbox web-1.drukbox", "2001:db8::7",
			       "22")
		     WANT_TAIL_NOKEY("/mnt/drukbox", "run-42"));
}

static void test_block_address_external(void)
{
	drukbox_host h = ssh_host();
	drukfs_ssh_opts o =
		ssh_opts(".drukbox", SSH_ADDRESS_EXTERNAL, "/mnt/drukbox");

	h.internal_ssh_host = (char *)"web-1.tail1234.ts.net";
	EXPECT_BLOCK(&h, "run-42", 1, &o,
		     WANT_HEAD("run-42.drukbox web-1.drukbox", "203.0.113.7",
			       "2222")
		     WANT_TAIL_KEY("/mnt/drukbox", "run-42"));
	h.external_ssh_host = (char *)"ssh.example.com";
	h.external_ssh_port = 65535;
	EXPECT_BLOCK(&h, "run-42", 0, &o,
		     WANT_HEAD("run-42.drukbox web-1.drukbox",
			       "ssh.example.com", "65535")
		     WANT_TAIL_NOKEY("/mnt/drukbox", "run-42"));
	h.external_ssh_port = 1;
	EXPECT_BLOCK(&h, "run-42", 0, &o,
		     WANT_HEAD("run-42.drukbox web-1.drukbox",
			       "ssh.example.com", "1")
		     WANT_TAIL_NOKEY("/mnt/drukbox", "run-42"));
	/* external with no external address: not reachable, even though an
	 * internal one exists. */
	h.external_ssh_host = (char *)"";
	EXPECT_UNREACHABLE(&h, "run-42", &o);
	h.external_ssh_host = NULL;
	EXPECT_UNREACHABLE(&h, "run-42", &o);
}

static void test_block_address_internal(void)
{
	drukbox_host h = ssh_host();
	drukfs_ssh_opts o =
		ssh_opts(".drukbox", SSH_ADDRESS_INTERNAL, "/mnt/drukbox");

	h.internal_ssh_host = (char *)"web-1.tail1234.ts.net";
	EXPECT_BLOCK(&h, "run-42", 1, &o,
		     WANT_HEAD("run-42.drukbox web-1.drukbox",
			       "web-1.tail1234.ts.net", "22")
		     WANT_TAIL_KEY("/mnt/drukbox", "run-42"));
	/* internal when the host has none: not reachable, never a fall back
	 * to the external address. */
	h.internal_ssh_host = NULL;
	EXPECT_UNREACHABLE(&h, "run-42", &o);
	h.internal_ssh_host = (char *)"";
	EXPECT_UNREACHABLE(&h, "run-42", &o);
}

static void test_block_not_active(void)
{
	static const char *const statuses[] = {
		NULL, "", "pending", "provisioning", "error", "deleting",
		"deleted", "Active", "ACTIVE", "active ", " active", "activ",
		"active\n", "inactive",
	};
	drukbox_host h = ssh_host();
	char e[64];

	h.internal_ssh_host = (char *)"web-1.tail1234.ts.net";
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		rendered r;

		h.status = (char *)statuses[i];
		r = render(&h, "run-42", 1, &default_opts);
		esc(statuses[i], e, sizeof(e));
		CHECK(r.rc == 1, "status \"%s\": rc %d, want 1", e, r.rc);
		CHECK(r.out == NULL, "status \"%s\": *out not NULL", e);
		CHECK(r.len == 0, "status \"%s\": *len %zu", e, r.len);
		CHECK(r.why == NULL, "status \"%s\": *why set", e);
		release(&r);
	}
	/* Not active wins over hostile values: nothing is rendered, nothing
	 * logged as refused. */
	h.status = (char *)"provisioning";
	h.ssh_username = (char *)"x\n    ProxyCommand sh";
	EXPECT_UNREACHABLE(&h, "run-42", &default_opts);
}

static void test_block_no_address(void)
{
	drukbox_host h = ssh_host();

	h.external_ssh_host = (char *)"";
	EXPECT_UNREACHABLE(&h, "run-42", &default_opts);
	h.external_ssh_host = NULL;
	EXPECT_UNREACHABLE(&h, "run-42", &default_opts);
	h.internal_ssh_host = (char *)"";
	EXPECT_UNREACHABLE(&h, "run-42", &default_opts);
}

/* Addresses that must never reach HostName. */
static const char *const bad_hosts[] = {
	"a b", "a\nProxyCommand x", "203.0.113.7\n    ProxyCommand sh -c id",
	"a\tb", "a\"b", "a'b", "%h", "${HOME}", "a#b", "-oProxyCommand=x",
	"a*", "a?", "!a", "a,b", "a..b", ".a", "a-", "[::1]", "[::1]:22",
	"a\rb", "a\x01", "a\x7f", "h\xc3\xa9.example", "a/b", "a\\b", "a=b",
	"a;b", "a|b", "`id`", "$(id)", "fe80::1%eth0", "a b c",
};

static void test_block_hostile_host(void)
{
	drukbox_host h = ssh_host();
	drukfs_ssh_opts o = default_opts;

	for (size_t i = 0; i < sizeof(bad_hosts) / sizeof(bad_hosts[0]); i++) {
		h = ssh_host();
		h.external_ssh_host = (char *)bad_hosts[i];
		o.address = SSH_ADDRESS_AUTO;
		expect_refused(&h, "run-42", &o, "external host", bad_hosts[i],
			       __LINE__);
		o.address = SSH_ADDRESS_EXTERNAL;
		h.internal_ssh_host = (char *)"web-1.tail1234.ts.net";
		expect_refused(&h, "run-42", &o, "external host", bad_hosts[i],
			       __LINE__);
		h = ssh_host();
		h.internal_ssh_host = (char *)bad_hosts[i];
		o.address = SSH_ADDRESS_AUTO;
		expect_refused(&h, "run-42", &o, "internal host", bad_hosts[i],
			       __LINE__);
		o.address = SSH_ADDRESS_INTERNAL;
		expect_refused(&h, "run-42", &o, "internal host", bad_hosts[i],
			       __LINE__);
	}
}

static void test_block_hostile_port(void)
{
	static const int ports[] = {0, -1, 65536, 65537, 100000, -22,
				    INT_MAX, INT_MIN};
	drukbox_host h = ssh_host();
	char v[32];

	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		h.external_ssh_port = ports[i];
		snprintf(v, sizeof(v), "%d", ports[i]);
		expect_refused(&h, "run-42", &default_opts, "port", v, __LINE__);
	}
	/* The internal address is always port 22: a bad external port does
	 * not matter there. */
	h.external_ssh_port = 0;
	h.internal_ssh_host = (char *)"web-1.tail1234.ts.net";
	EXPECT_BLOCK(&h, "run-42", 0, &default_opts,
		     WANT_HEAD("run-42.drukbox web-1.drukbox",
			       "web-1.tail1234.ts.net", "22")
		     WANT_TAIL_NOKEY("/mnt/drukbox", "run-42"));
}

static void test_block_hostile_user(void)
{
	static const char *const users[] = {
		NULL, "", "-x", "-oProxyCommand=x", "a b", "ubuntu\n",
		"ubuntu\n    ProxyCommand sh -c id", "ubuntu\r", "%u", "%r",
		"${USER}", "a\"b", "a'b", "root@evil", "a/b", "a\\b", "a\tb",
		"\xc3\xa9", "a*", "a,b", "a#b", "a\x7f", "a\x01",
		"abcdefghijklmnopqrstuvwxyz0123456",
	};
	drukbox_host h = ssh_host();

	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		h.ssh_username = (char *)users[i];
		expect_refused(&h, "run-42", &default_opts, "user", users[i],
			       __LINE__);
	}
}

/* Handles and server names that would change the Host line or, through
 * the handle, the paths. */
static const char *const bad_aliases[] = {
	"", "-x", ".x", "a b", "a*", "*", "a?", "!a", "a,b", "a\nb",
	"web\n    ProxyCommand sh -c id", "a\tb", "a\rb", "a%b", "%h",
	"${HOME}", "a$b", "a/b", "..", "../etc", "a\"b", "a'b", "a\\b", "a#b",
	"a=b", "\xc3\xa9", "a\x7f", "a\x01",
};

static void test_block_hostile_handle(void)
{
	drukbox_host h = ssh_host();
	char *long_alias = rep('a', 256);

	for (size_t i = 0; i < sizeof(bad_aliases) / sizeof(bad_aliases[0]);
	     i++) {
		h.name = (char *)"web-1";
		expect_refused(&h, bad_aliases[i], &default_opts, "handle",
			       bad_aliases[i], __LINE__);
		/* name == handle: the handle check alone must catch it. */
		h.name = (char *)bad_aliases[i];
		expect_refused(&h, bad_aliases[i], &default_opts,
			       "handle == name", bad_aliases[i], __LINE__);
		h.name = NULL;
		expect_refused(&h, bad_aliases[i], &default_opts,
			       "handle, no name", bad_aliases[i], __LINE__);
	}
	h.name = NULL;
	expect_refused(&h, long_alias, &default_opts, "handle", "a x 256",
		       __LINE__);
	free(long_alias);
}

static void test_block_hostile_name(void)
{
	drukbox_host h = ssh_host();
	char *long_alias = rep('n', 256);

	/* The empty name is left out: whether "" means "no name" is not
	 * something these tests decide. */
	for (size_t i = 1; i < sizeof(bad_aliases) / sizeof(bad_aliases[0]);
	     i++) {
		h.name = (char *)bad_aliases[i];
		expect_refused(&h, "run-42", &default_opts, "name",
			       bad_aliases[i], __LINE__);
	}
	h.name = long_alias;
	expect_refused(&h, "run-42", &default_opts, "name", "n x 256",
		       __LINE__);
	free(long_alias);
}

static void test_block_hostile_mountpoint(void)
{
	static const char *const mounts[] = {
		NULL, "", "mnt", "./mnt", "~/mnt", "mnt/drukbox", "/mnt/a\"b",
		"/mnt/a\nb", "/mnt\n    ProxyCommand sh", "/mnt/a\rb",
		"/mnt/a\tb", "/mnt/$HOME", "/mnt/${HOME}", "/mnt/a\\b",
		"/mnt/\x01", "/mnt/\x1f", "/mnt/\x7f",
	};
	drukbox_host h = ssh_host();

	for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++) {
		drukfs_ssh_opts o =
			ssh_opts(".drukbox", SSH_ADDRESS_AUTO, mounts[i]);

		expect_refused(&h, "run-42", &o, "mountpoint", mounts[i],
			       __LINE__);
	}
}

/* ssh expands %-tokens in UserKnownHostsFile and IdentityFile: a '%' in
 * the mount's path is written "%%". */
static void test_block_percent_in_mountpoint(void)
{
	drukbox_host h = ssh_host();
	drukfs_ssh_opts o = ssh_opts(".drukbox", SSH_ADDRESS_AUTO, "/mnt/a%b");

	EXPECT_BLOCK(&h, "run-42", 1, &o,
		     WANT_HEAD("run-42.drukbox web-1.drukbox", "203.0.113.7",
			       "2222")
		     WANT_TAIL_KEY("/mnt/a%%b", "run-42"));
	o.mountpoint = "/mnt/%h/%%/100%";
	EXPECT_BLOCK(&h, "run-42", 1, &o,
		     WANT_HEAD("run-42.drukbox web-1.drukbox", "203.0.113.7",
			       "2222")
		     WANT_TAIL_KEY("/mnt/%%h/%%%%/100%%", "run-42"));
	/* Spaces and single quotes are safe inside the double quotes. */
	o.mountpoint = "/home/o'neil/my mnt";
	EXPECT_BLOCK(&h, "run-42", 0, &o,
		     WANT_HEAD("run-42.drukbox web-1.drukbox", "203.0.113.7",
			       "2222")
		     WANT_TAIL_NOKEY("/home/o'neil/my mnt", "run-42"));
}

/* The longest names the allowlists accept are written whole, or the block
 * is refused: never a truncated alias. */
static void test_block_long_aliases(void)
{
	drukbox_host h = ssh_host();
	char *handle = rep('h', 255), *name = rep('n', 255);
	char *suffix_body = rep('s', 63);
	char *suffix = fmt(".%s", suffix_body);
	drukfs_ssh_opts o = ssh_opts(suffix, SSH_ADDRESS_AUTO, "/mnt/drukbox");
	char *want_host = fmt("Host %s%s %s%s\n", handle, suffix, name, suffix);
	rendered r;

	CU_ASSERT_EQUAL(drukfs_ssh_alias_ok(handle), 1);
	CU_ASSERT_EQUAL(drukfs_ssh_alias_ok(name), 1);
	CU_ASSERT_EQUAL(drukfs_ssh_suffix_ok(suffix), 1);
	h.name = name;
	r = render(&h, handle, 0, &o);
	CHECK(r.rc == 0 || r.rc == -EINVAL, "rc %d", r.rc);
	if (r.rc == 0) {
		size_t n = strlen(want_host);

		CHECK(r.out && strncmp(r.out, want_host, n) == 0,
		      "Host line is not the whole handle and name with the "
		      "suffix: got %zu bytes before the first newline, want %zu",
		      r.out && strchr(r.out, '\n') ?
			      (size_t)(strchr(r.out, '\n') - r.out + 1) : 0,
		      n);
	} else {
		CU_ASSERT_PTR_NOT_NULL(r.why);
		CU_ASSERT_PTR_NULL(r.out);
	}
	release(&r);
	/* A realistic pair: the longest name with the default suffix. */
	o.suffix = ".drukbox";
	free(want_host);
	want_host = fmt("Host %s.drukbox %s.drukbox\n", handle, name);
	r = render(&h, handle, 0, &o);
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_TRUE(r.rc == 0 && r.out &&
		       strncmp(r.out, want_host, strlen(want_host)) == 0);
	release(&r);
	free(want_host);
	free(suffix);
	free(suffix_body);
	free(name);
	free(handle);
}

/* A mount point as long as a path can be, with a long handle: the paths
 * are written whole, or the block is refused, never cut short. */
static void test_block_long_paths(void)
{
	drukbox_host h = ssh_host();
	char *dir = rep('m', 3899);
	char *mnt = fmt("/%s", dir);            /* 3900 bytes, < PATH_MAX */
	char *handle = rep('h', 200);           /* < NAME_MAX */
	drukfs_ssh_opts o = ssh_opts(".drukbox", SSH_ADDRESS_AUTO, mnt);
	char *kh = fmt("    UserKnownHostsFile \"%s/hosts/%s/known_hosts\"\n",
		       mnt, handle);
	char *id = fmt("    IdentityFile \"%s/hosts/%s/private_key\"\n", mnt,
		       handle);
	rendered r;

	h.name = NULL;
	r = render(&h, handle, 1, &o);
	CHECK(r.rc == 0 || r.rc == -EINVAL, "rc %d", r.rc);
	if (r.rc == 0) {
		CHECK(r.out && strstr(r.out, kh) != NULL,
		      "UserKnownHostsFile is not the whole path "
		      "(%zu bytes of mount, handle and file name)",
		      strlen(mnt) + strlen("/hosts/") + strlen(handle) +
			      strlen("/known_hosts"));
		CHECK(r.out && strstr(r.out, id) != NULL,
		      "IdentityFile is not the whole path");
	} else {
		CU_ASSERT_PTR_NOT_NULL(r.why);
		CU_ASSERT_PTR_NULL(r.out);
	}
	release(&r);
	free(id);
	free(kh);
	free(handle);
	free(mnt);
	free(dir);
}

/* Every combination of good and hostile values: the block is rendered
 * exactly when all of them are good, and whatever is rendered passes the
 * grammar (checked inside render()). */
typedef struct tagged {
	const char *v;
	int good;
} tagged;

static void test_block_grammar_everywhere(void)
{
	static const tagged hosts[] = {
		{"203.0.113.7", 1}, {"2001:db8::7", 1}, {"::1", 1},
		{"web-1.example.com.", 1}, {"a\nProxyCommand x", 0},
		{"%h", 0}, {"a*", 0}, {"[::1]", 0},
	};
	static const int ports[] = {22, 65535, 0, 65536};
	static const tagged users[] = {
		{"ubuntu", 1}, {"a.b_c-d", 1}, {"x\n    LocalCommand id", 0},
		{"${USER}", 0}, {"-x", 0},
	};
	static const tagged handles[] = {
		{"run-42", 1}, {"a.b_c", 1}, {"a b", 0}, {"!a", 0},
		{"a\nHost *", 0},
	};
	static const tagged names[] = {
		{NULL, 1}, {"web-1", 1}, {"run-42", 1}, {"*", 0},
		{"a,b", 0}, {"w\n    Match exec id", 0},
	};
	static const tagged mounts[] = {
		{"/mnt/drukbox", 1}, {"/mnt/a%b c", 1}, {"/mnt/$x", 0},
		{"/mnt/\"\n    KnownHostsCommand id", 0},
	};
	static const char *const suffixes[] = {".drukbox", ""};
	size_t rendered_count = 0, n = 0;
	char e1[128], e2[128], e3[128], e4[128];

#define N(a) (sizeof(a) / sizeof((a)[0]))
	for (size_t a = 0; a < N(hosts); a++)
	for (size_t b = 0; b < N(ports); b++)
	for (size_t c = 0; c < N(users); c++)
	for (size_t d = 0; d < N(handles); d++)
	for (size_t f = 0; f < N(names); f++)
	for (size_t g = 0; g < N(mounts); g++)
	for (size_t s = 0; s < N(suffixes); s++)
	for (int key = 0; key <= 1; key++) {
		drukbox_host h = ssh_host();
		drukfs_ssh_opts o = ssh_opts(suffixes[s], SSH_ADDRESS_EXTERNAL,
					     mounts[g].v);
		int name_good = names[f].good ||
				strcmp(names[f].v, handles[d].v) == 0;
		int good = s == 0 && hosts[a].good && ports[b] >= 1 &&
			   ports[b] <= 65535 && users[c].good &&
			   handles[d].good && name_good && mounts[g].good;
		rendered r;

		h.external_ssh_host = (char *)hosts[a].v;
		h.external_ssh_port = ports[b];
		h.ssh_username = (char *)users[c].v;
		h.name = (char *)names[f].v;
		r = render(&h, handles[d].v, key, &o);
		n++;
		if (r.rc == 0)
			rendered_count++;
		if (r.rc != (good ? 0 : -EINVAL))
			CHECK(0, "host %s port %d user %s handle %s name %s "
			      "mount %zu: rc %d, want %d",
			      esc(hosts[a].v, e1, sizeof(e1)), ports[b],
			      esc(users[c].v, e2, sizeof(e2)),
			      esc(handles[d].v, e3, sizeof(e3)),
			      esc(names[f].v, e4, sizeof(e4)), g, r.rc,
			      good ? 0 : -EINVAL);
		release(&r);
	}
#undef N
	CU_ASSERT_TRUE(n > 10000);
	CU_ASSERT_TRUE(rendered_count > 0);
}

/* The grammar checker itself rejects what it is there to catch. */
static void test_block_grammar_checker(void)
{
	static const char *const bad[] = {
		"",
		"Host a\n    HostName b",
		"Host a*\n    HostName b\n",
		"Host a,b\n    HostName b\n",
		"Host !a\n    HostName b\n",
		"Host a  b\n    HostName b\n",
		"Host a\n    HostName b\n    ProxyCommand sh\n",
		"Host a\nProxyCommand sh\n",
		"Host a\n     HostName b\n",
		"Host a\n    HostName b\n    HostName c\n",
		"Host a\n    HostName %h\n",
		"Host a\n    UserKnownHostsFile \"/a%b\"\n",
		"Host a\n    UserKnownHostsFile \"/a\"b\"\n",
		"Host a\n    UserKnownHostsFile \"/$HOME\"\n",
		"Host a\n    HostName b\r\n",
		"Host a\nHost b\n",
		"Match all\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_PTR_NOT_NULL(block_bad(bad[i], strlen(bad[i])));
	CU_ASSERT_PTR_NULL(block_bad(WANT_HEAD("a.x b.x", "::1", "22")
				     WANT_TAIL_KEY("/m%%n", "a"),
				     strlen(WANT_HEAD("a.x b.x", "::1", "22")
					    WANT_TAIL_KEY("/m%%n", "a"))));
}

/* ---- allowlists ----------------------------------------------------------- */

static void test_host_ok(void)
{
	static const char *const good[] = {
		"192.0.2.1", "203.0.113.7", "0.0.0.0", "255.255.255.255",
		"10.0.0.1", "127.0.0.1", "::1", "::", "2001:db8::1",
		"2001:0db8:0000:0000:0000:0000:0000:0001", "fe80::1",
		"2001:db8:0:0:1::1", "::ffff:192.0.2.1", "FE80::ABCD",
		"localhost", "example.com", "example.com.", "a", "a.b.c",
		"web-1.tail1234.ts.net", "A-Z.Example.COM", "xn--bcher-kva.ch",
		"123.example.com", "1", "42.43", "a1-b2-c3", "a--b",
	};
	static const char *const bad[] = {
		NULL, "", "a b", "a\nProxyCommand x", "a\n", "\n", "a\tb",
		"a\"b", "a'b", "%h", "a%h", "${HOME}", "$HOME", "a#b", "#",
		"-oProxyCommand=x", "-a", "a*", "*", "a?", "!a", "a,b", "a..b",
		".a", ".", "..", "a-", "a-.b", "a.-b", "-a.b", "a.b-", "[::1]",
		"[192.0.2.1]", "a\rb", "a\x01", "\x01", "a\x1b", "a\x7f",
		"h\xc3\xa9.example", "\xc3\xa9", "\xff", "a_b", "a/b", "a\\b",
		"a:b", "a@b", "a=b", "a;b", "a|b", "`id`", "$(id)",
		"fe80::1%eth0", "::1 ", " ::1", "192.0.2.1 ", "2001:db8::g",
		"a.b..", "a. b",
	};
	char *l63 = rep('a', 63), *l64 = rep('a', 64);
	char *s63 = fmt("%s.com", l63), *s64 = fmt("%s.com", l64);
	char *s64b = fmt("x.%s", l64), *s64c = fmt("x.%s.", l64);
	char *b63 = rep('b', 63), *c63 = rep('c', 63), *d61 = rep('d', 61);
	char *d62 = rep('d', 62);
	char *n253 = fmt("%s.%s.%s.%s", l63, b63, c63, d61);
	char *n254 = fmt("%s.%s.%s.%s", l63, b63, c63, d62);
	char *digits63 = rep('7', 63);
	char *digit_labels = fmt("%s.%s.example", digits63, digits63);

	EXPECT_ALL(drukfs_ssh_host_ok, good, 1);
	EXPECT_ALL(drukfs_ssh_host_ok, bad, 0);
	CU_ASSERT_EQUAL(strlen(n253), 253);
	CU_ASSERT_EQUAL(strlen(n254), 254);
	CU_ASSERT_EQUAL(drukfs_ssh_host_ok(l63), 1);
	CU_ASSERT_EQUAL(drukfs_ssh_host_ok(s63), 1);
	CU_ASSERT_EQUAL(drukfs_ssh_host_ok(l64), 0);
	CU_ASSERT_EQUAL(drukfs_ssh_host_ok(s64), 0);
	CU_ASSERT_EQUAL(drukfs_ssh_host_ok(s64b), 0);
	CU_ASSERT_EQUAL(drukfs_ssh_host_ok(s64c), 0);
	CU_ASSERT_EQUAL(drukfs_ssh_host_ok(n253), 1);
	CU_ASSERT_EQUAL(drukfs_ssh_host_ok(n254), 0);
	/* Digits-only labels are DNS labels too. */
	CU_ASSERT_EQUAL(drukfs_ssh_host_ok(digits63), 1);
	CU_ASSERT_EQUAL(drukfs_ssh_host_ok(digit_labels), 1);
	CU_ASSERT_EQUAL(drukfs_ssh_host_ok("1.2.3.4.5"), 1);
	CU_ASSERT_EQUAL(drukfs_ssh_host_ok("0.example"), 1);
	free(digit_labels);
	free(digits63);
	free(n254);
	free(n253);
	free(d62);
	free(d61);
	free(c63);
	free(b63);
	free(s64c);
	free(s64b);
	free(s64);
	free(s63);
	free(l64);
	free(l63);
}

/* Every single control character, DEL and every byte >= 0x80 is refused
 * in every position of a name. */
static void test_host_ok_each_byte(void)
{
	char s[8];

	for (int c = 1; c < 256; c++) {
		int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9');

		for (int pos = 0; pos < 3; pos++) {
			memcpy(s, "abc", 4);
			s[pos] = (char)c;
			if (plain || (c == '-' && pos == 1) ||
			    (c == '.' && pos == 1))
				CHECK(drukfs_ssh_host_ok(s) == 1,
				      "byte 0x%02x at %d refused", c, pos);
			else if (!(c == '.' && pos == 2))
				CHECK(drukfs_ssh_host_ok(s) == 0,
				      "byte 0x%02x at %d accepted", c, pos);
		}
	}
	/* A trailing dot is the one separator allowed at the end. */
	CU_ASSERT_EQUAL(drukfs_ssh_host_ok("ab."), 1);
}

static void test_user_ok(void)
{
	static const char *const good[] = {
		"root", "ubuntu", "a.b", "a_b", "a-b", "_a", ".a", "a", "A9",
		"drukbox", "ec2-user", "abcdefghijklmnopqrstuvwxyz012345",
	};
	static const char *const bad[] = {
		NULL, "", "abcdefghijklmnopqrstuvwxyz0123456", "-x", "-", "a b",
		" a", "a ", "a\n", "a\nProxyCommand x", "a\tb", "a\rb", "%u",
		"a%u", "${USER}", "$USER", "a\"b", "\"", "a'b", "@", "a@b",
		"a/b", "a\\b", "\xc3\xa9", "a\xc3\xa9", "a*", "a?", "a,b", "!a",
		"a#b", "a:b", "a=b", "a\x01", "a\x7f",
	};

	CU_ASSERT_EQUAL(strlen(good[sizeof(good) / sizeof(good[0]) - 1]), 32);
	CU_ASSERT_EQUAL(strlen(bad[2]), 33);
	EXPECT_ALL(drukfs_ssh_user_ok, good, 1);
	EXPECT_ALL(drukfs_ssh_user_ok, bad, 0);
}

static void test_alias_ok(void)
{
	static const char *const good[] = {
		"run-42", "web_1", "a.b", "A9", "a", "a-", "a.", "sb-0123456789ab",
		"0190c3e2-7a1b-7c00-8000-00000000abcd",
	};
	static const char *const bad[] = {
		NULL, "", "-a", "-", ".a", ".", "..", "a*", "*", "a?", "?", "!a",
		"!", "a,b", ",", "a b", " a", "a ", "a\tb", "a\nb", "a\n",
		"a\rb", "a%b", "%h", "a$b", "${HOME}", "a/b", "/", "a\\b",
		"a\"b", "a'b", "a#b", "a=b", "a:b", "a@b", "a[b]", "\xc3\xa9",
		"a\x01", "a\x7f",
	};
	char *a255 = rep('a', 255), *a256 = rep('a', 256);

	EXPECT_ALL(drukfs_ssh_alias_ok, good, 1);
	EXPECT_ALL(drukfs_ssh_alias_ok, bad, 0);
	CU_ASSERT_EQUAL(drukfs_ssh_alias_ok(a255), 1);
	CU_ASSERT_EQUAL(drukfs_ssh_alias_ok(a256), 0);
	free(a256);
	free(a255);
}

static void test_suffix_ok(void)
{
	static const char *const good[] = {
		".drukbox", ".x", ".a.b", ".a-b_c", ".sb-1",
		/* 64 in all, the longest allowed */
		".aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	static const char *const bad[] = {
		/* empty: a host named github.com would capture github.com */
		NULL, "", "drukbox", "x", "x.y", ".", "..", "..x", ".-x", ".a b",
		".aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		". a", ".a*", ".*", ".a?", ".!a", ".a,b", ".a\nb",
		".a\nProxyCommand x", ".a\tb", ".%h", ".${HOME}", ".a/b",
		".a\"b", ".\xc3\xa9", " .a", ".a ",
	};

	EXPECT_ALL(drukfs_ssh_suffix_ok, good, 1);
	EXPECT_ALL(drukfs_ssh_suffix_ok, bad, 0);
}

static void test_path_ok(void)
{
	static const char *const good[] = {
		"/", "/mnt", "/mnt/drukbox", "/mnt/a%b", "/mnt/%h", "/mnt/a b",
		"/mnt/a'b", "/home/\xc3\xa9/mnt", "/mnt/a#b", "/mnt/a*b",
		"//mnt", "/mnt/",
	};
	static const char *const bad[] = {
		NULL, "", "mnt", "./mnt", "../mnt", "~/mnt", "~", " /mnt",
		"/mnt/a\"b", "/mnt\"", "/mnt/a\nb", "/mnt\n",
		"/mnt\"\n    ProxyCommand sh", "/mnt/a\rb", "/mnt/a\tb",
		"/mnt/$HOME", "/mnt/${HOME}", "/mnt/$", "/mnt/a\\b", "/mnt\\",
		"/mnt/\x01", "/mnt/\x1b", "/mnt/\x1f", "/mnt/\x7f",
	};

	EXPECT_ALL(drukfs_ssh_path_ok, good, 1);
	EXPECT_ALL(drukfs_ssh_path_ok, bad, 0);
	for (int c = 1; c < 0x20; c++) {
		char p[8] = "/a";

		p[2] = (char)c;
		CHECK(drukfs_ssh_path_ok(p) == 0, "control 0x%02x accepted", c);
	}
}

/* ---- known_hosts ---------------------------------------------------------- */

#define ED25519 "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
#define RSA "AAAAB3NzaC1yc2EAAAADAQABAAABgQCj7ndNxQowgcQnjshcLrqPEiiphnt+VTTvDP6mHBL9j1aNUkY4Ue1gvwnGLVlOhGeYrnZaMgRK6+PKCUXaDbC7qtbW8gIkhL7aGCsOr/C56SJMy/BCZfxd1nWzAOxSDPgVsmerOBYfNqltV9/hWCqBywINIR+5dIg6JTJ72pcEpEjcYgXkE2YEFXV1JHnsKgbLWNlhScqb2UmyRkQyytRLtL+38TGxkxCflmO+5Z8CSSNY7GidjMIZ7Q4zMjA2n1nGrlTDkzwDCsw+wqFPGQA179cnfGWOWRVruj16z6XyvxvjJwbz0wQZ75XK5tKSb7FNyeIEs4TT4jk+S4dhPeAUC5y+bDYirYgM4GC7uEnztnZyaVWQ7B381AK4Qdrwt51ZqExKbQpTUNn+EjqoTwvqNj4kqx5QUCI0ThS/YkOxJCXmPUWZbhjpCg56i+2aB6CmK2JGhn57K5mj0MNdBXA4/WnwH6XoPWJzK5Nyu2zB3nAZp+S5hpQs+p1vN1/wsjk="
#define ECDSA "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg="

/* Filters raw and checks the output is exactly `want`. */
static void expect_filter(const char *raw, const char *want, unsigned line)
{
	char *out = (char *)"stale";
	size_t len = 99;
	char e[1024], w[512];
	int rc = drukfs_known_hosts_filter(&out, &len, raw);

	check_msg(rc == 0, line, "rc %d", rc);
	if (rc != 0 || !out) {
		check_msg(0, line, "no output");
		return;
	}
	check_msg(len == strlen(out), line, "len %zu, strlen %zu", len,
		  strlen(out));
	check_msg(len == 0 || out[len - 1] == '\n', line,
		  "output does not end in a newline");
	check_msg(strcmp(out, want) == 0, line,
		  "filter(\"%s\") is \"%s\", want \"%s\"",
		  esc(raw, e, sizeof(e) / 2), esc(out, e + sizeof(e) / 2,
						  sizeof(e) / 2),
		  esc(want, w, sizeof(w)));
	free(out);
}

#define EXPECT_FILTER(raw, want) expect_filter(raw, want, __LINE__)

static const char *const good_kh[] = {
	"sb-0123456789ab ssh-ed25519 " ED25519,
	"203.0.113.7 ssh-ed25519 " ED25519,
	"[203.0.113.7]:2222 ssh-ed25519 " ED25519,
	"[::1]:2222 ecdsa-sha2-nistp256 " ECDSA,
	"2001:db8::7 ssh-rsa " RSA,
	"web-1.tail1234.ts.net,100.64.0.7 ssh-rsa " RSA,
	"a.example.com,[a.example.com]:2222,203.0.113.7,[2001:db8::7]:22 "
	"ssh-ed25519 " ED25519,
	"example.com. ecdsa-sha2-nistp384 " ECDSA,
	"h ecdsa-sha2-nistp521 " ECDSA,
	"h sk-ssh-ed25519@openssh.com " ED25519,
	"h sk-ecdsa-sha2-nistp256@openssh.com " ECDSA,
	"[h]:1 ssh-ed25519 " ED25519,
	"[h]:65535 ssh-ed25519 " ED25519,
	"h\tssh-ed25519\t" ED25519,
	"h ssh-ed25519 AAAAAAAAAAAAAAAA",
};

static void test_known_hosts_keeps_plain_lines(void)
{
	size_t n = sizeof(good_kh) / sizeof(good_kh[0]);
	char *all = NULL, *tmp;

	for (size_t i = 0; i < n; i++) {
		char *one = fmt("%s\n", good_kh[i]);

		EXPECT_FILTER(one, one);
		tmp = fmt("%s%s", all ? all : "", one);
		free(all);
		all = tmp;
		free(one);
	}
	EXPECT_FILTER(all, all);
	free(all);
}

static void test_known_hosts_line_endings(void)
{
	EXPECT_FILTER("h ssh-ed25519 " ED25519 "\r\n",
		      "h ssh-ed25519 " ED25519 "\n");
	EXPECT_FILTER("a ssh-ed25519 " ED25519 "\r\nb ssh-rsa " RSA "\r\n",
		      "a ssh-ed25519 " ED25519 "\nb ssh-rsa " RSA "\n");
	EXPECT_FILTER("a ssh-ed25519 " ED25519 "\r\nb ssh-rsa " RSA "\n",
		      "a ssh-ed25519 " ED25519 "\nb ssh-rsa " RSA "\n");
	/* No final newline: one is added. */
	EXPECT_FILTER("h ssh-ed25519 " ED25519,
		      "h ssh-ed25519 " ED25519 "\n");
	EXPECT_FILTER("a ssh-ed25519 " ED25519 "\nb ssh-rsa " RSA,
		      "a ssh-ed25519 " ED25519 "\nb ssh-rsa " RSA "\n");
	EXPECT_FILTER("a ssh-ed25519 " ED25519 "\r",
		      "a ssh-ed25519 " ED25519 "\n");
	/* A CR anywhere but before the newline is junk. */
	EXPECT_FILTER("a ssh-ed25519 " ED25519 "\r\r\n", "");
	EXPECT_FILTER("a\rb ssh-ed25519 " ED25519 "\n", "");
	EXPECT_FILTER("a ssh-ed25519\r" ED25519 "\n", "");
	/* Old Mac line ends are not line ends. */
	EXPECT_FILTER("a ssh-ed25519 " ED25519 "\rb ssh-ed25519 " ED25519 "\n",
		      "");
}

static void test_known_hosts_drops(void)
{
	static const char *const bad[] = {
		/* markers */
		"@cert-authority *.example.com ssh-ed25519 " ED25519,
		"@cert-authority h ssh-ed25519 " ED25519,
		"@revoked h ssh-ed25519 " ED25519,
		"@revoked * ssh-rsa " RSA,
		"@cert-authority ssh-ed25519 " ED25519,
		/* hashed names */
		"|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg= "
		"ssh-ed25519 " ED25519,
		"h,|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg= "
		"ssh-ed25519 " ED25519,
		/* comments and blank lines */
		"# h ssh-ed25519 " ED25519,
		"#h ssh-ed25519 " ED25519,
		"#", "# comment", "", " ", "\t", "  ",
		/* field counts */
		"h", "h ssh-ed25519", "ssh-ed25519 " ED25519,
		"h ssh-ed25519 " ED25519 " comment",
		"h ssh-ed25519 " ED25519 " user@laptop",
		"h ssh-ed25519 " ED25519 " a b",
		"h h2 ssh-ed25519 " ED25519,
		/* key types */
		"h ssh-foo " ED25519, "h SSH-ED25519 " ED25519,
		"h ssh-ed25519-cert-v01@openssh.com " ED25519,
		"h ssh-rsa-cert-v01@openssh.com " RSA, "h ed25519 " ED25519,
		"h ssh-ed25519x " ED25519, "h ssh-ed2551 " ED25519,
		"h " ED25519 " ssh-ed25519",
		/* key data */
		"h ssh-ed25519 AAAA", "h ssh-ed25519 AAAAAAAAAAAAAAA",
		"h ssh-ed25519 AAAAC3NzaC1lZDI1NTE5$(reboot)AAAA",
		"h ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA;id",
		"h ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA-_",
		"h ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA\"x",
		"h ssh-ed25519 AAAAC3Nza\xc3\xa9" "C1lZDI1NTE5AAAA",
		/* hosts */
		"*.example.com ssh-ed25519 " ED25519, "* ssh-ed25519 " ED25519,
		"h? ssh-ed25519 " ED25519, "!h ssh-ed25519 " ED25519,
		"h,!g ssh-ed25519 " ED25519, "h,*.g ssh-ed25519 " ED25519,
		"h, ssh-ed25519 " ED25519, ",h ssh-ed25519 " ED25519,
		"h,,g ssh-ed25519 " ED25519, "a..b ssh-ed25519 " ED25519,
		"-h ssh-ed25519 " ED25519, "h%h ssh-ed25519 " ED25519,
		"h\xc3\xa9 ssh-ed25519 " ED25519,
		"[h] ssh-ed25519 " ED25519, "[h]: ssh-ed25519 " ED25519,
		"[h]:0 ssh-ed25519 " ED25519, "[h]:70000 ssh-ed25519 " ED25519,
		"[h]:65536 ssh-ed25519 " ED25519,
		"[h]:22x ssh-ed25519 " ED25519, "[h]:x ssh-ed25519 " ED25519,
		"[h]:-22 ssh-ed25519 " ED25519, "[h]:+22 ssh-ed25519 " ED25519,
		"[h]:0x16 ssh-ed25519 " ED25519,
		"[h]:99999999999999999999 ssh-ed25519 " ED25519,
		"[h]22 ssh-ed25519 " ED25519, "[h:22 ssh-ed25519 " ED25519,
		"h]:22 ssh-ed25519 " ED25519, "[]:22 ssh-ed25519 " ED25519,
		"[*]:22 ssh-ed25519 " ED25519, "[h]]:22 ssh-ed25519 " ED25519,
		"[[h]:22 ssh-ed25519 " ED25519, "[::1] ssh-ed25519 " ED25519,
		/* separators */
		"h  ssh-ed25519 " ED25519, "h ssh-ed25519  " ED25519,
		"h \tssh-ed25519 " ED25519, " h ssh-ed25519 " ED25519,
		"\th ssh-ed25519 " ED25519, "h ssh-ed25519 " ED25519 " ",
		"h ssh-ed25519 " ED25519 "\t", "h ssh-ed25519 " ED25519 "  ",
		/* control characters */
		"h\x01 ssh-ed25519 " ED25519, "h ssh-ed25519\x0b" ED25519,
		"h ssh-ed25519 " ED25519 "\x7f", "h\x1b[2J ssh-ed25519 " ED25519,
		"h ssh-ed25519 " ED25519 "\x0c",
	};
	const char *good = "g ssh-ed25519 " ED25519 "\n";
	const char *good2 = "[g]:2222 ssh-rsa " RSA "\n";
	char e[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *alone = fmt("%s\n", bad[i]);
		char *mid = fmt("%s%s\n%s", good, bad[i], good2);
		char *last = fmt("%s%s", good, bad[i]);
		char *crlf = fmt("%s\r\n%s", bad[i], good2);
		char *want = fmt("%s%s", good, good2);
		char *out = NULL;
		size_t len = 0;

		esc(bad[i], e, sizeof(e));
		CHECK(drukfs_known_hosts_filter(&out, &len, bad[i]) == 0 &&
			      out && len == 0 && strcmp(out, "") == 0,
		      "kept \"%s\"", e);
		free(out);
		out = NULL;
		CHECK(drukfs_known_hosts_filter(&out, &len, alone) == 0 && out &&
			      len == 0 && strcmp(out, "") == 0,
		      "kept \"%s\\n\"", e);
		free(out);
		out = NULL;
		CHECK(drukfs_known_hosts_filter(&out, &len, mid) == 0 && out &&
			      strcmp(out, want) == 0 && len == strlen(want),
		      "kept \"%s\" between good lines", e);
		free(out);
		out = NULL;
		CHECK(drukfs_known_hosts_filter(&out, &len, last) == 0 && out &&
			      strcmp(out, good) == 0 && len == strlen(good),
		      "kept \"%s\" as an unterminated last line", e);
		free(out);
		out = NULL;
		CHECK(drukfs_known_hosts_filter(&out, &len, crlf) == 0 && out &&
			      strcmp(out, good2) == 0 && len == strlen(good2),
		      "kept \"%s\\r\\n\"", e);
		free(out);
		free(want);
		free(crlf);
		free(last);
		free(mid);
		free(alone);
	}
}

/* Every byte but NUL and '\n' inside the host and inside the key data:
 * kept only where the host or base64 alphabet has it. */
static void test_known_hosts_each_byte(void)
{
	for (int c = 1; c < 256; c++) {
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9');
		int host_keep = alnum || c == '-' || c == '.' || c == ',';
		int key_keep = alnum || c == '+' || c == '/' || c == '=';
		char *host_line, *key_line, *out = NULL;
		size_t len = 0;

		if (c == '\n')
			continue;
		host_line = fmt("h%cg ssh-ed25519 %s\n", c, ED25519);
		key_line = fmt("h ssh-ed25519 AAAA%cAAAAAAAAAAAAAAAA\n", c);
		CHECK(drukfs_known_hosts_filter(&out, &len, host_line) == 0 &&
			      out &&
			      strcmp(out, host_keep ? host_line : "") == 0,
		      "byte 0x%02x in the host: %s", c,
		      host_keep ? "dropped" : "kept");
		free(out);
		out = NULL;
		CHECK(drukfs_known_hosts_filter(&out, &len, key_line) == 0 &&
			      out && strcmp(out, key_keep ? key_line : "") == 0,
		      "byte 0x%02x in the key: %s", c,
		      key_keep ? "dropped" : "kept");
		free(out);
		free(key_line);
		free(host_line);
	}
}

static void test_known_hosts_empty(void)
{
	char *out = (char *)"stale";
	size_t len = 99;

	CU_ASSERT_EQUAL_FATAL(drukfs_known_hosts_filter(&out, &len, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT_EQUAL(len, 0);
	free(out);
	EXPECT_FILTER("", "");
	EXPECT_FILTER("\n", "");
	EXPECT_FILTER("\n\n\r\n\n", "");
	EXPECT_FILTER("# only a comment\n", "");
}

/* A deterministic generator for the junk test. */
static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

/* 1 MiB of junk lines (every byte but NUL, near misses of a good line,
 * one very long line) with one good line in the middle: only the good line
 * comes out. */
static void test_known_hosts_junk(void)
{
	static const char *const near[] = {
		"g ssh-ed25519 " ED25519 " x\n",
		"g  ssh-ed25519 " ED25519 "\n",
		"g* ssh-ed25519 " ED25519 "\n",
		"@revoked g ssh-ed25519 " ED25519 "\n",
		"[g]:0 ssh-ed25519 " ED25519 "\n",
		"g ssh-ed25519 " ED25519 "!\n",
		"g ssh-ed2551 " ED25519 "\n",
		"|1|abc=|def= ssh-ed25519 " ED25519 "\n",
	};
	const char *good = "[203.0.113.7]:2222 ssh-ed25519 " ED25519 "\n";
	const size_t total = 1u << 20;
	char *raw = malloc(total + 1), *out = NULL;
	size_t pos = 0, len = 0;
	uint32_t seed = 12345;
	int placed = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
	while (pos < total - 200) {
		uint32_t kind = lcg(&seed) % 4;

		if (!placed && pos > total / 2) {
			memcpy(raw + pos, good, strlen(good));
			pos += strlen(good);
			placed = 1;
		} else if (kind == 0) {
			const char *l = near[lcg(&seed) % 8];

			memcpy(raw + pos, l, strlen(l));
			pos += strlen(l);
		} else {
			/* Random bytes 1-255; the line ends where a '\n'
			 * falls, or at the end of the run. */
			size_t n = 1 + lcg(&seed) % 150;

			if (lcg(&seed) % 500 == 0)
				n = 60000; /* the occasional huge line */
			if (n > total - 200 - pos)
				n = total - 200 - pos;
			for (size_t i = 0; i < n; i++)
				raw[pos++] = (char)(1 + lcg(&seed) % 255);
			raw[pos++] = '\n';
		}
	}
	/* The end: junk without a final newline. */
	while (pos < total)
		raw[pos++] = 'x';
	raw[pos] = '\0';
	CU_ASSERT_TRUE(placed);
	CU_ASSERT_EQUAL_FATAL(drukfs_known_hosts_filter(&out, &len, raw), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_STRING_EQUAL(out, good);
	CU_ASSERT_EQUAL(len, strlen(good));
	free(out);
	/* One 1 MiB line with no newline at all. */
	memset(raw, 'A', total);
	raw[total] = '\0';
	out = NULL;
	CU_ASSERT_EQUAL_FATAL(drukfs_known_hosts_filter(&out, &len, raw), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT_EQUAL(len, 0);
	free(out);
	free(raw);
}

/* ---- suites --------------------------------------------------------------- */

static const drukbox_test allowlist_tests[] = {
	{"host_ok: IP addresses and DNS names only", test_host_ok},
	{"host_ok: every byte in every position", test_host_ok_each_byte},
	{"user_ok: plain user names, 1-32", test_user_ok},
	{"alias_ok: no glob, separator or leading '-'/'.'", test_alias_ok},
	{"suffix_ok: a dot and an alias, never empty", test_suffix_ok},
	{"path_ok: absolute, no quote, '$', '\\' or control", test_path_ok},
	{NULL, NULL},
};

static const drukbox_test block_tests[] = {
	{"with a key: IdentityFile and IdentitiesOnly", test_block_with_key},
	{"without a key", test_block_without_key},
	{"the server's name as a second alias", test_block_name_alias},
	{"suffix \".x\" and \"\"", test_block_suffix},
	{"without the name alias", test_block_without_name_alias},
	{"address auto", test_block_address_auto},
	{"address external", test_block_address_external},
	{"address internal", test_block_address_internal},
	{"not active: 1, no block", test_block_not_active},
	{"no address: 1, no block", test_block_no_address},
	{"hostile host refused", test_block_hostile_host},
	{"hostile port refused", test_block_hostile_port},
	{"hostile user refused", test_block_hostile_user},
	{"hostile handle refused", test_block_hostile_handle},
	{"hostile server name refused", test_block_hostile_name},
	{"hostile mount point refused", test_block_hostile_mountpoint},
	{"'%' in the mount point written as %%",
	 test_block_percent_in_mountpoint},
	{"longest aliases written whole", test_block_long_aliases},
	{"long paths written whole", test_block_long_paths},
	{"the grammar checker catches injections", test_block_grammar_checker},
	{"every combination: rendered iff all good, grammar holds",
	 test_block_grammar_everywhere},
	{NULL, NULL},
};

static const drukbox_test known_hosts_tests[] = {
	{"plain lines kept verbatim", test_known_hosts_keeps_plain_lines},
	{"CRLF and a missing final newline", test_known_hosts_line_endings},
	{"markers, hashes, comments and junk dropped", test_known_hosts_drops},
	{"every byte in the host and the key", test_known_hosts_each_byte},
	{"NULL and empty input", test_known_hosts_empty},
	{"1 MiB of junk and one good line", test_known_hosts_junk},
	{NULL, NULL},
};

static const drukbox_test_suite suites[] = {
	{"fs-sshconf allowlists", NULL, NULL, allowlist_tests},
	{"fs-sshconf block", NULL, NULL, block_tests},
	{"fs-sshconf known_hosts", NULL, NULL, known_hosts_tests},
};

DRUKBOX_TEST_MAIN(suites)
