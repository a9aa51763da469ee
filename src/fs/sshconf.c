/*
 * See sshconf.h.  Every check is an allowlist over bytes: nothing is
 * escaped into ssh_config except '%' in the mount's own path, because
 * ssh's quoting rules differ between keywords and releases and a value
 * that needs quoting is not one a sandbox host needs.
 */
#include "sshconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* A DNS name: labels of [A-Za-z0-9-], not starting or ending with '-',
 * 1-63 long, 253 in all, an optional final dot. */
static int dns_name_ok(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!is_alnum(c) && c != '-')
			return 0;
		if (c == '-' && label == 0)
			return 0;
		if (++label > 63)
			return 0;
	}
	return s[n - 1] != '-';
}

int drukfs_ssh_host_ok(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	if (!host || !*host)
		return 0;
	if (inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1)
		return 1;
	return dns_name_ok(host);
}

int drukfs_ssh_user_ok(const char *user)
{
	size_t n = user ? strlen(user) : 0;

	if (n == 0 || n > 32 || user[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(user[i]) && user[i] != '.' && user[i] != '_' &&
		    user[i] != '-')
			return 0;
	return 1;
}

int drukfs_ssh_alias_ok(const char *alias)
{
	size_t n = alias ? strlen(alias) : 0;

	if (n == 0 || n > 255 || alias[0] == '-' || alias[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(alias[i]) && alias[i] != '.' && alias[i] != '_' &&
		    alias[i] != '-')
			return 0;
	return 1;
}

/* Never empty: without a suffix a host could be named github.com and
 * capture connections meant for it. */
int drukfs_ssh_suffix_ok(const char *suffix)
{
	return suffix && suffix[0] == '.' && suffix[1] &&
	       strlen(suffix) <= 64 && drukfs_ssh_alias_ok(suffix + 1);
}

int drukfs_ssh_path_ok(const char *path)
{
	if (!path || path[0] != '/')
		return 0;
	for (const char *p = path; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '"' ||
		    *p == '$' || *p == '\\')
			return 0;
	return 1;
}

/* The address to connect to, per the -o ssh_address choice. */
static void pick_address(const drukbox_host *h, drukfs_ssh_address a,
			 const char **host, int *port)
{
	int internal = h->internal_ssh_host && *h->internal_ssh_host;

	if (a == SSH_ADDRESS_INTERNAL ||
	    (a == SSH_ADDRESS_AUTO && internal)) {
		*host = internal ? h->internal_ssh_host : NULL;
		*port = 22;
	} else {
		*host = h->external_ssh_host && *h->external_ssh_host ?
				h->external_ssh_host : NULL;
		*port = h->external_ssh_port;
	}
}

/* Writes s with '%' doubled (ssh expands %-tokens in these keywords). */
static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '%')
			fputc('%', f);
		fputc(*s, f);
	}
}

/* Writes "<mnt>/hosts/<handle>/<file>", quoted, '%' doubled. */
static void put_path(FILE *f, const char *mnt, const char *handle,
		     const char *file)
{
	fputc('"', f);
	put_escaped(f, mnt);
	fputs("/hosts/", f);
	put_escaped(f, handle);
	fputc('/', f);
	fputs(file, f);
	fputc('"', f);
}

/* Whether the service's name becomes a second alias. */
static int name_alias(const drukbox_host *h, const char *handle,
		      int with_name)
{
	return with_name && h->name && *h->name && strcmp(h->name, handle) != 0;
}

/* Checks everything that goes into the block.  NULL or the reason. */
static const char *check_block(const drukbox_host *h, const char *handle,
			       const char *host, int port, int with_name,
			       const drukfs_ssh_opts *o)
{
	if (!drukfs_ssh_suffix_ok(o->suffix))
		return "the alias suffix is not valid";
	if (!drukfs_ssh_host_ok(host))
		return "the host address is not an IP address or DNS name";
	if (port < 1 || port > 65535)
		return "the port is not 1-65535";
	if (!drukfs_ssh_user_ok(h->ssh_username))
		return "the user name is not a plain user name";
	if (!drukfs_ssh_alias_ok(handle))
		return "the handle cannot be an ssh alias";
	if (!drukfs_ssh_path_ok(o->mountpoint))
		return "the mount point cannot be written into ssh_config";
	if (name_alias(h, handle, with_name) && !drukfs_ssh_alias_ok(h->name))
		return "the server's name cannot be an ssh alias";
	return NULL;
}

int drukfs_ssh_block(char **out, size_t *len, const drukbox_host *h,
		     const char *handle, int has_key, int with_name,
		     const drukfs_ssh_opts *o, const char **why)
{
	const char *host;
	char *buf = NULL;
	size_t size = 0;
	FILE *f;
	int port;

	*out = NULL;
	*len = 0;
	*why = NULL;
	if (!h->status || strcmp(h->status, "active") != 0)
		return 1;
	pick_address(h, o->address, &host, &port);
	if (!host)
		return 1;
	*why = check_block(h, handle, host, port, with_name, o);
	if (*why)
		return -EINVAL;
	f = open_memstream(&buf, &size);
	if (!f)
		return -ENOMEM;
	fprintf(f, "Host %s%s", handle, o->suffix);
	if (name_alias(h, handle, with_name))
		fprintf(f, " %s%s", h->name, o->suffix);
	fputc('\n', f);
	fprintf(f, "    HostName %s\n    Port %d\n    User %s\n", host, port,
		h->ssh_username);
	fputs("    UserKnownHostsFile ", f);
	put_path(f, o->mountpoint, handle, "known_hosts");
	fputs("\n    StrictHostKeyChecking yes\n"
	      "    UpdateHostKeys no\n"
	      "    CheckHostIP no\n"
	      "    PreferredAuthentications publickey\n"
	      "    ForwardAgent no\n", f);
	if (has_key) {
		fputs("    IdentityFile ", f);
		put_path(f, o->mountpoint, handle, "private_key");
		fputs("\n    IdentitiesOnly yes\n", f);
	}
	if (fclose(f) != 0 || !buf) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	*len = size;
	return 0;
}

/* ---- known_hosts ------------------------------------------------------- */

static const char *const key_types[] = {
	"ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
	"ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
	"sk-ecdsa-sha2-nistp256@openssh.com", "ssh-dss", NULL
};

/* One host of a known_hosts host list: name or [name]:port. */
static int kh_host_ok(const char *s, size_t n)
{
	char buf[300];

	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');
		char *end;
		long port;

		if (!close || close[1] != ':')
			return 0;
		port = strtol(close + 2, &end, 10);
		if (*end || port < 1 || port > 65535 || close[2] < '0' ||
		    close[2] > '9')
			return 0;
		*close = '\0';
		return drukfs_ssh_host_ok(buf + 1);
	}
	return drukfs_ssh_host_ok(buf);
}

static int kh_hosts_ok(const char *s, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == ',') {
			if (!kh_host_ok(s + start, i - start))
				return 0;
			start = i + 1;
		}
	}
	return 1;
}

static int kh_type_ok(const char *s, size_t n)
{
	for (int i = 0; key_types[i]; i++)
		if (strlen(key_types[i]) == n && memcmp(key_types[i], s, n) == 0)
			return 1;
	return 0;
}

static int kh_base64_ok(const char *s, size_t n)
{
	if (n < 16)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '+' && s[i] != '/' && s[i] != '=')
			return 0;
	return 1;
}

/* Whether one line (without its '\n') is `hosts keytype base64`, with
 * single spaces or tabs between and nothing after. */
static int kh_line_ok(const char *s, size_t n)
{
	size_t f[3][2], nf = 0, i = 0;

	while (i < n && nf < 4) {
		size_t b = i;

		while (i < n && s[i] != ' ' && s[i] != '\t')
			i++;
		if (i == b)
			return 0;
		if (nf == 3)
			return 0;
		f[nf][0] = b;
		f[nf][1] = i - b;
		nf++;
		if (i < n)
			i++;
	}
	return nf == 3 && s[n - 1] != ' ' && s[n - 1] != '\t' &&
	       kh_hosts_ok(s + f[0][0], f[0][1]) &&
	       kh_type_ok(s + f[1][0], f[1][1]) &&
	       kh_base64_ok(s + f[2][0], f[2][1]);
}

int drukfs_known_hosts_filter(char **out, size_t *len, const char *raw)
{
	size_t cap = raw ? strlen(raw) + 1 : 1, used = 0;
	char *buf = malloc(cap + 1);
	const char *p = raw ? raw : "";

	*out = NULL;
	*len = 0;
	if (!buf)
		return -ENOMEM;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		size_t m = n && p[n - 1] == '\r' ? n - 1 : n;

		if (m && kh_line_ok(p, m)) {
			memcpy(buf + used, p, m);
			used += m;
			buf[used++] = '\n';
		}
		p += n + (nl ? 1 : 0);
	}
	buf[used] = '\0';
	*out = buf;
	*len = used;
	return 0;
}
