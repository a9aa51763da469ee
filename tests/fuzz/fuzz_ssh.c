/*
 * See ssh.h.  The shape checks below are deliberately simpler than the
 * allowlists in sshconf.c (character sets and lengths, no grammar): they
 * state what must never reach ssh, so a bug in the real grammar that
 * lets something else through shows up as a broken invariant.
 */
#include "fuzz.h"
#include "ssh.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- character classes ------------------------------------------------ */

static int in_set(char c, const char *extra)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr(extra, c));
}

/* n bytes of s all alphanumeric or in `extra`. */
static int span_ok(const char *s, size_t n, const char *extra)
{
	for (size_t i = 0; i < n; i++)
		if (!in_set(s[i], extra))
			return 0;
	return 1;
}

/* What an accepted host (IP address or DNS name) can look like. */
static int host_shape(const char *s, size_t n)
{
	return n >= 1 && n <= 253 && s[0] != '-' && span_ok(s, n, ".:-");
}

static int user_shape(const char *s, size_t n)
{
	return n >= 1 && n <= 32 && s[0] != '-' && span_ok(s, n, "._-");
}

static int alias_shape(const char *s, size_t n)
{
	return n >= 1 && n <= 255 && s[0] != '-' && s[0] != '.' &&
	       span_ok(s, n, "._-");
}

/* ---- the allowlists ----------------------------------------------------- */

static int path_shape(const char *s)
{
	if (s[0] != '/')
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '$' ||
		    *p == '\\')
			return 0;
	return 1;
}

/* A path of printable ASCII that the contract says must be accepted. */
static int path_plain(const char *s)
{
	if (s[0] != '/')
		return 0;
	for (const char *p = s; *p; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '$' ||
		    *p == '\\')
			return 0;
	return 1;
}

void fuzz_allowlists(const char *s)
{
	size_t n = strlen(s);
	int lower = n > 0 && strspn(s, "abcdefghijklmnopqrstuvwxyz") == n;

	if (drukfs_ssh_host_ok(s))
		FUZZ_CHECK(host_shape(s, n) && !strstr(s, ".."));
	if (drukfs_ssh_alias_ok(s))
		FUZZ_CHECK(alias_shape(s, n));
	if (drukfs_ssh_suffix_ok(s))
		FUZZ_CHECK(s[0] == '.' && n >= 2 && n <= 64 &&
			   span_ok(s, n, "._-"));
	/* the user name rule is exact: [A-Za-z0-9._][A-Za-z0-9._-]{0,31} */
	FUZZ_CHECK(!drukfs_ssh_user_ok(s) == !user_shape(s, n));
	if (drukfs_ssh_path_ok(s))
		FUZZ_CHECK(path_shape(s));
	if (path_plain(s))
		FUZZ_CHECK(drukfs_ssh_path_ok(s));
	/* plain lower-case names are hosts, aliases and suffixes */
	if (lower && n <= 63) {
		char dot[80];

		FUZZ_CHECK(drukfs_ssh_host_ok(s));
		FUZZ_CHECK(drukfs_ssh_alias_ok(s));
		snprintf(dot, sizeof(dot), ".%s", s);
		FUZZ_CHECK(drukfs_ssh_suffix_ok(dot));
	}
}

/* ---- known_hosts -------------------------------------------------------- */

/* One host of a known_hosts host list: name or [name]:port. */
static int kh_host_shape(const char *s, size_t n)
{
	const char *close;
	long port = 0;

	if (n == 0 || s[0] != '[')
		return host_shape(s, n);
	close = memchr(s, ']', n);
	if (!close || close + 2 >= s + n || close[1] != ':')
		return 0;
	for (const char *p = close + 2; p < s + n; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		port = port * 10 + (*p - '0');
		if (port > 65535)
			return 0;
	}
	return port >= 1 && host_shape(s + 1, (size_t)(close - s - 1));
}

static int kh_hosts_shape(const char *s, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == ',') {
			if (!kh_host_shape(s + start, i - start))
				return 0;
			start = i + 1;
		}
	}
	return 1;
}

/* One kept line (no '\n'): `hosts keytype base64`, single separators. */
static void check_kh_line(const char *s, size_t n)
{
	size_t f[3][2], nf = 0, i = 0;

	FUZZ_CHECK(n > 0);
	/* markers, comments and hashed names are dropped, not passed on */
	FUZZ_CHECK(s[0] != '@' && s[0] != '#' && s[0] != '|');
	while (i < n) {
		size_t b = i;

		while (i < n && s[i] != ' ' && s[i] != '\t') {
			FUZZ_CHECK(s[i] > 0x20 && s[i] < 0x7f);
			i++;
		}
		FUZZ_CHECK(i > b);        /* no empty field */
		FUZZ_CHECK(nf < 3);       /* nothing after the key */
		f[nf][0] = b;
		f[nf][1] = i - b;
		nf++;
		if (i < n) {
			i++;
			FUZZ_CHECK(i < n); /* no trailing separator */
		}
	}
	FUZZ_CHECK(nf == 3);
	FUZZ_CHECK(kh_hosts_shape(s + f[0][0], f[0][1]));
	FUZZ_CHECK(span_ok(s + f[1][0], f[1][1], "@.-"));
	FUZZ_CHECK(f[2][1] >= 16 && span_ok(s + f[2][0], f[2][1], "+/="));
}

/* The next line of *p (without '\n' and one trailing '\r') in *line and
 * *n; 0 when the text is used up. */
static int next_line(const char **p, const char **line, size_t *n)
{
	const char *nl;

	if (!**p)
		return 0;
	nl = strchr(*p, '\n');
	*line = *p;
	*n = nl ? (size_t)(nl - *p) : strlen(*p);
	*p += *n + (nl ? 1 : 0);
	if (*n && (*line)[*n - 1] == '\r')
		(*n)--;
	return 1;
}

void fuzz_known_hosts(const char *raw)
{
	const char *in = raw, *out_p, *line, *kept;
	char *out = NULL, *again = NULL;
	size_t len = 0, len2 = 0, n, kn;
	int rc = drukfs_known_hosts_filter(&out, &len, raw);

	if (rc == -ENOMEM)
		return;
	FUZZ_CHECK(rc == 0 && out != NULL);
	FUZZ_CHECK(strlen(out) == len);
	FUZZ_CHECK(len == 0 || out[len - 1] == '\n');
	/* every kept line is an input line, in the input's order */
	out_p = out;
	while (next_line(&out_p, &kept, &kn)) {
		FUZZ_CHECK(kept[kn] == '\n'); /* no '\r' kept, '\n' ends it */
		check_kh_line(kept, kn);
		for (;;) {
			FUZZ_CHECK(next_line(&in, &line, &n));
			if (n == kn && memcmp(line, kept, n) == 0)
				break;
		}
	}
	/* filtering is idempotent */
	rc = drukfs_known_hosts_filter(&again, &len2, out);
	if (rc == 0) {
		FUZZ_CHECK(len2 == len && memcmp(again, out, len) == 0);
		free(again);
	}
	free(out);
}

/* ---- ssh_config ----------------------------------------------------------- */

static const char *const keywords[] = {
	"HostName", "Port", "User", "UserKnownHostsFile",
	"StrictHostKeyChecking", "UpdateHostKeys", "CheckHostIP",
	"PreferredAuthentications", "ForwardAgent", "IdentityFile",
	"IdentitiesOnly", NULL
};

enum { KW_HOSTNAME, KW_PORT, KW_USER, KW_KNOWN_HOSTS, KW_STRICT,
       KW_UPDATE_KEYS, KW_CHECK_IP, KW_AUTH, KW_AGENT, KW_IDENTITY,
       KW_ID_ONLY, KW_COUNT };

/* What the block must say, worked out from the record and the header's
 * rules alone. */
typedef struct expect {
	const drukbox_host *h;
	const char *handle;
	const drukfs_ssh_opts *o;
	int has_key;
	int with_name;
	const char *host;
	int port;
} expect;

static void expect_address(expect *e, drukfs_ssh_address a)
{
	const drukbox_host *h = e->h;
	int internal = h->internal_ssh_host && *h->internal_ssh_host;
	int external = h->external_ssh_host && *h->external_ssh_host;

	e->host = NULL;
	e->port = 22; /* the tailnet address is always port 22 */
	if (a == SSH_ADDRESS_INTERNAL || (a == SSH_ADDRESS_AUTO && internal)) {
		e->host = internal ? h->internal_ssh_host : NULL;
	} else if (external) {
		e->host = h->external_ssh_host;
		e->port = h->external_ssh_port;
	}
}

/* Whether value (n bytes) is `"<mnt>/hosts/<handle>/<file>"` with every
 * '%' of mnt and handle doubled. */
static int path_is(const char *value, size_t n, const expect *e,
		   const char *file)
{
	const char *parts[] = { e->o->mountpoint, "/hosts/", e->handle, "/",
				file };
	size_t w = 0, cap = 2 * (strlen(parts[0]) + strlen(parts[2])) + 64;
	char *want = malloc(cap);
	int same;

	FUZZ_CHECK(want != NULL);
	want[w++] = '"';
	for (size_t i = 0; i < 5; i++) {
		for (const char *p = parts[i]; *p; p++) {
			if (*p == '%' && (i == 0 || i == 2))
				want[w++] = '%';
			want[w++] = *p;
		}
	}
	want[w++] = '"';
	same = n == w && memcmp(value, want, w) == 0;
	free(want);
	return same;
}

/* The "Host" line: handle + suffix, then name + suffix when the name is
 * another alias; plain alias characters only, single spaces. */
static void check_host_line(const char *s, size_t n, const expect *e)
{
	const drukbox_host *h = e->h;
	int name_alias = e->with_name && h->name && *h->name &&
			 strcmp(h->name, e->handle) != 0;
	char want[1024];
	int w;

	FUZZ_CHECK(n > 5 && memcmp(s, "Host ", 5) == 0);
	if (name_alias)
		w = snprintf(want, sizeof(want), "Host %s%s %s%s", e->handle,
			     e->o->suffix, h->name, e->o->suffix);
	else
		w = snprintf(want, sizeof(want), "Host %s%s", e->handle,
			     e->o->suffix);
	FUZZ_CHECK(w > 0 && (size_t)w < sizeof(want));
	FUZZ_CHECK((size_t)w == n && memcmp(s, want, n) == 0);
	/* and every alias is a plain name (an alias and the suffix): no
	 * glob, no '!', no quote */
	for (size_t i = 5, b = 5; i <= n; i++) {
		if (i < n && s[i] != ' ')
			continue;
		FUZZ_CHECK(i - b <= 255 + 64 && alias_shape(s + b, 1) &&
			   span_ok(s + b, i - b, "._-"));
		b = i + 1;
	}
}

/* One indented line: a known keyword, used once, and its value. */
static void check_option_line(const char *s, size_t n, const expect *e,
			      int seen[KW_COUNT])
{
	const char *value = NULL;
	size_t vn = 0;
	int kw = -1;
	char port[16];

	FUZZ_CHECK(n > 4 && memcmp(s, "    ", 4) == 0);
	for (int k = 0; keywords[k]; k++) {
		size_t kl = strlen(keywords[k]);

		if (n > 4 + kl + 1 && memcmp(s + 4, keywords[k], kl) == 0 &&
		    s[4 + kl] == ' ') {
			kw = k;
			value = s + 4 + kl + 1;
			vn = n - 4 - kl - 1;
		}
	}
	FUZZ_CHECK(kw >= 0);
	FUZZ_CHECK(!seen[kw]);
	seen[kw] = 1;
	FUZZ_CHECK(vn > 0 && value[0] != ' ' && value[vn - 1] != ' ');
	switch (kw) {
	case KW_HOSTNAME:
		FUZZ_CHECK(host_shape(value, vn));
		FUZZ_CHECK(strlen(e->host) == vn &&
			   memcmp(value, e->host, vn) == 0);
		break;
	case KW_PORT:
		snprintf(port, sizeof(port), "%d", e->port);
		FUZZ_CHECK(e->port >= 1 && e->port <= 65535);
		FUZZ_CHECK(strlen(port) == vn && memcmp(value, port, vn) == 0);
		break;
	case KW_USER:
		FUZZ_CHECK(user_shape(value, vn));
		FUZZ_CHECK(strlen(e->h->ssh_username) == vn &&
			   memcmp(value, e->h->ssh_username, vn) == 0);
		break;
	case KW_KNOWN_HOSTS:
		FUZZ_CHECK(path_is(value, vn, e, "known_hosts"));
		break;
	case KW_IDENTITY:
		FUZZ_CHECK(path_is(value, vn, e, "private_key"));
		break;
	case KW_STRICT:
	case KW_ID_ONLY:
		FUZZ_CHECK(vn == 3 && memcmp(value, "yes", 3) == 0);
		break;
	case KW_AUTH:
		FUZZ_CHECK(vn == 9 && memcmp(value, "publickey", 9) == 0);
		break;
	default:
		FUZZ_CHECK(vn == 2 && memcmp(value, "no", 2) == 0);
		break;
	}
}

/* Bytes any block may hold: printable ASCII and '\n', '%' only doubled,
 * never '$' or a backslash (ssh expands ${VAR} and %-tokens).  Inside
 * the quoted paths, bytes >= 0x80 from the user's own mount point are
 * fine (a home directory may be called /home/jürgen). */
static void check_block_bytes(const char *out, size_t len)
{
	int quoted = 0;

	FUZZ_CHECK(len > 0 && strlen(out) == len && out[len - 1] == '\n');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];

		quoted ^= c == '"';
		FUZZ_CHECK(c == '\n' || (c >= 0x20 && c != 0x7f));
		FUZZ_CHECK(c < 0x80 || quoted);
		FUZZ_CHECK(c != '$' && c != '\\');
		FUZZ_CHECK(c != '\n' || !quoted);
		if (c == '%') {
			size_t run = 0;

			while (i < len && out[i] == '%')
				i++, run++;
			FUZZ_CHECK(run % 2 == 0);
			i--;
		}
	}
}

static void check_block(const char *out, size_t len, const expect *e)
{
	int seen[KW_COUNT] = { 0 };
	const char *p = out, *line;
	size_t n, lines = 0;

	check_block_bytes(out, len);
	while (next_line(&p, &line, &n)) {
		FUZZ_CHECK(line[n] == '\n');
		if (lines++ == 0)
			check_host_line(line, n, e);
		else
			check_option_line(line, n, e, seen);
	}
	for (int k = 0; k < KW_COUNT; k++)
		FUZZ_CHECK(seen[k] ==
			   ((k == KW_IDENTITY || k == KW_ID_ONLY) ? e->has_key
								 : 1));
}

/* Whether every value that goes into the block passes its allowlist. */
static int values_allowed(const expect *e, const drukfs_ssh_opts *o)
{
	const drukbox_host *h = e->h;
	int name_alias = e->with_name && h->name && *h->name &&
			 strcmp(h->name, e->handle) != 0;

	return drukfs_ssh_suffix_ok(o->suffix) &&
	       drukfs_ssh_host_ok(e->host) && e->port >= 1 &&
	       e->port <= 65535 && drukfs_ssh_user_ok(h->ssh_username) &&
	       drukfs_ssh_alias_ok(e->handle) &&
	       drukfs_ssh_path_ok(o->mountpoint) &&
	       (!name_alias || drukfs_ssh_alias_ok(h->name));
}

static void one_block(expect *e, drukfs_ssh_address a)
{
	drukfs_ssh_opts o = *e->o;
	const char *why = "unset";
	char *out = (char *)"unset";
	size_t len = 1;
	int active = e->h->status && strcmp(e->h->status, "active") == 0;
	int rc;

	o.address = a;
	expect_address(e, a);
	rc = drukfs_ssh_block(&out, &len, e->h, e->handle, e->has_key,
			      e->with_name, &o, &why);
	if (rc == -ENOMEM)
		return;
	if (!active || !e->host) {
		FUZZ_CHECK(rc == 1 && out == NULL && len == 0);
		return;
	}
	/* refused exactly when a value fails its allowlist (sshconf.h) */
	FUZZ_CHECK((rc == -EINVAL) == !values_allowed(e, &o));
	if (rc == -EINVAL) {
		FUZZ_CHECK(out == NULL && len == 0 && why && why[0]);
		return;
	}
	FUZZ_CHECK(rc == 0 && out != NULL && why == NULL);
	check_block(out, len, e);
	free(out);
}

void fuzz_ssh_blocks(const drukbox_host *h, const char *handle,
		     const drukfs_ssh_opts *o)
{
	static const drukfs_ssh_address addresses[] = {
		SSH_ADDRESS_AUTO, SSH_ADDRESS_EXTERNAL, SSH_ADDRESS_INTERNAL
	};
	expect e = { h, handle, o, 0, 0, NULL, 0 };

	if (!handle)
		return;
	for (int i = 0; i < 4; i++) {
		e.has_key = i & 1;
		e.with_name = i >> 1;
		for (size_t a = 0; a < 3; a++)
			one_block(&e, addresses[a]);
	}
}
