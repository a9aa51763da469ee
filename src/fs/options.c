/*
 * Command-line parsing (see options.h).  The values are kept as text by
 * fuse_opt and checked in one place, drukfs_settings_from(), so that every
 * bad value gets a message naming its option.
 */
#define FUSE_USE_VERSION 312
#include "options.h"
#include "sshconf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { KEY_HELP, KEY_VERSION, KEY_TOKEN };

#define OPT(t, p) { t, offsetof(drukfs_options, p), 0 }

static const struct fuse_opt opt_spec[] = {
	OPT("env_prefix=%s", env_prefix),
	OPT("token_file=%s", token_file),
	OPT("timeout=%s", timeout),
	OPT("cacert=%s", cacert),
	OPT("state_dir=%s", state_dir),
	OPT("cache_ttl=%s", cache_ttl),
	OPT("doctor_ttl=%s", doctor_ttl),
	OPT("mkdir_wait=%s", mkdir_wait),
	OPT("wait_poll=%s", wait_poll),
	OPT("image=%s", image),
	OPT("provider=%s", provider),
	OPT("instance_type=%s", instance_type),
	OPT("disk_gb=%s", disk_gb),
	OPT("lease=%s", lease),
	OPT("env_file=%s", env_file),
	OPT("ssh_suffix=%s", ssh_suffix),
	OPT("ssh_address=%s", ssh_address),
	FUSE_OPT_KEY("token=", KEY_TOKEN),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_END
};

void drukfs_usage(const char *prog)
{
	printf(
"usage: %s [URL] MOUNTPOINT [-o opt[,opt...]] [-f] [-d] [-s]\n"
"\n"
"Mounts a Drukbox service as a filesystem.  URL defaults to\n"
"$SANDBOX_SERVICE_URL, the token to $SANDBOX_SERVICE_TOKEN; the token is\n"
"never taken on the command line.\n"
"\n"
"drukfs options:\n"
"    -o env_prefix=P        read P{SERVICE_URL,SERVICE_TOKEN,SERVICE_TIMEOUT}\n"
"                           (default SANDBOX_)\n"
"    -o token_file=PATH     read the token from PATH instead\n"
"    -o timeout=SECONDS     request timeout (default $SANDBOX_SERVICE_TIMEOUT\n"
"                           or 300)\n"
"    -o cacert=PATH         PEM CA bundle to verify the service with\n"
"    -o state_dir=DIR       names, pending creates and keys (default\n"
"                           $XDG_STATE_HOME/drukfs/<service>)\n"
"    -o cache_ttl=SECONDS   host list and record cache (default 2)\n"
"    -o doctor_ttl=SECONDS  doctor report cache (default 10)\n"
"    -o mkdir_wait=SECONDS  how long mkdir/rmdir wait for a fast answer\n"
"                           (default 1)\n"
"    -o wait_poll=SECONDS   poll interval for `wait` on hosts this mount did\n"
"                           not create (default 2)\n"
"    -o image=NAME          create defaults for mkdir: image,\n"
"    -o provider=NAME         provider,\n"
"    -o instance_type=NAME    instance type,\n"
"    -o disk_gb=N             disk size,\n"
"    -o lease=SECONDS|permanent  lease (default: the service's),\n"
"    -o env_file=PATH         KEY=VALUE lines for the host's env\n"
"    -o ssh_suffix=SUFFIX   ssh_config aliases are <handle>SUFFIX and\n"
"                           <name>SUFFIX (default .drukbox)\n"
"    -o ssh_address=auto|external|internal  address ssh_config connects to\n"
"                           (default auto: internal when the host has one)\n"
"    -h, --help             this help, then libfuse's options\n"
"    -V, --version          versions\n"
"\n"
"examples:\n"
"    export SANDBOX_SERVICE_URL=https://svc.example/drukbox\n"
"    drukfs -o token_file=$HOME/.config/drukfs/token /mnt/drukbox\n"
"    mkdir /mnt/drukbox/hosts/run-42 && cat /mnt/drukbox/hosts/run-42/wait\n"
"    cat /mnt/drukbox/hosts/run-42/external_ssh_host\n"
"    rmdir /mnt/drukbox/hosts/run-42\n"
"    fusermount3 -u /mnt/drukbox\n"
"\n", prog);
}

static int is_url(const char *s)
{
	return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

static int opt_proc(void *data, const char *arg, int key,
		    struct fuse_args *outargs)
{
	drukfs_options *o = data;

	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		if (!o->url && is_url(arg)) {
			o->url = strdup(arg);
			return o->url ? 0 : -1;
		}
		return 1;
	case KEY_TOKEN:
		fprintf(stderr, "drukfs: the token is not taken on the command "
			"line (it would show in ps): use $SANDBOX_SERVICE_TOKEN "
			"or -o token_file=PATH\n");
		return -1;
	case KEY_HELP:
		o->show_help = 1;
		return fuse_opt_add_arg(outargs, "-h");
	case KEY_VERSION:
		o->show_version = 1;
		return 0;
	}
	return 1;
}

int drukfs_options_parse(struct fuse_args *args, drukfs_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	return fuse_opt_parse(args, opts, opt_spec, opt_proc) == 0 ? 0 : -1;
}

void drukfs_options_free(drukfs_options *o)
{
	char **fields[] = { &o->url, &o->env_prefix, &o->token_file, &o->timeout,
			    &o->cacert, &o->state_dir, &o->cache_ttl,
			    &o->doctor_ttl, &o->mkdir_wait, &o->wait_poll,
			    &o->image, &o->provider, &o->instance_type,
			    &o->disk_gb, &o->lease, &o->env_file,
			    &o->ssh_suffix, &o->ssh_address };

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		free(*fields[i]);
		*fields[i] = NULL;
	}
}

void drukfs_settings_free(drukfs_settings *s)
{
	free(s->env);
	free(s->env_buf);
	memset(s, 0, sizeof(*s));
}

int drukfs_parse_seconds(const char *s, double max, double *out)
{
	char *end;
	double v;

	/* Plain decimal only: strtod would also take " 2" and "0x10". */
	if (!s || !(isdigit((unsigned char)*s) || *s == '.'))
		return -EINVAL;
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p) && *p != '.')
			return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < 0 || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int drukfs_parse_lease(const char *s, long *out)
{
	char *end;
	long v;

	if (s && strcmp(s, "permanent") == 0) {
		*out = -1;
		return 0;
	}
	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v <= 0 || v > 10L * 366 * 86400)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Splits one line "KEY=VALUE" in place.  0, 1 to skip, -EINVAL. */
static int env_line(char *line, drukbox_env_var *var)
{
	char *eq;

	while (*line == ' ' || *line == '\t')
		line++;
	if (*line == '\0' || *line == '#')
		return 1;
	eq = strchr(line, '=');
	if (!eq || eq == line)
		return -EINVAL;
	/* The service's rule for env names ([A-Za-z_][A-Za-z0-9_]*). */
	if (!isalpha((unsigned char)*line) && *line != '_')
		return -EINVAL;
	for (const char *p = line; p < eq; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return -EINVAL;
	*eq = '\0';
	var->key = line;
	var->value = eq + 1;
	return 0;
}

int drukfs_parse_env(const char *text, drukbox_env_var **out, size_t *count,
		     char **buf, size_t *bad_line)
{
	size_t lines = 1, n = 0, lineno = 0;
	char *copy = strdup(text), *p, *next;
	drukbox_env_var *vars;

	*out = NULL;
	*count = 0;
	*buf = NULL;
	if (!copy)
		return -ENOMEM;
	for (p = copy; *p; p++)
		lines += *p == '\n';
	vars = calloc(lines, sizeof(*vars));
	if (!vars) {
		free(copy);
		return -ENOMEM;
	}
	for (p = copy; p; p = next) {
		next = strchr(p, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		size_t l = strlen(p);
		if (l && p[l - 1] == '\r')
			p[l - 1] = '\0';
		int rc = env_line(p, &vars[n]);
		if (rc < 0) {
			*bad_line = lineno;
			free(vars);
			free(copy);
			return rc;
		}
		n += rc == 0;
	}
	*out = vars;
	*count = n;
	*buf = copy;
	return 0;
}

/* Reads a small text file (at most 1 MiB).  0 or -errno. */
static int read_small_file(const char *path, char **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0, cap = 4096;
	char *buf = NULL;
	int rc = 0;

	if (fd < 0)
		return -errno;
	buf = malloc(cap + 1);
	while (buf) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : 0;
			break;
		}
		len += (size_t)n;
		if (len == cap) {
			if (cap >= 1 << 20) {
				rc = -EFBIG;
				break;
			}
			char *nb = realloc(buf, cap * 2 + 1);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	close(fd);
	if (!buf)
		return -ENOMEM;
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

static int bad(const char *opt, const char *value, const char *why)
{
	fprintf(stderr, "drukfs: -o %s=%s: %s\n", opt, value, why);
	return -1;
}

static int seconds_opt(const char *name, const char *value, double def,
		       double min, double *out)
{
	*out = def;
	if (!value)
		return 0;
	if (drukfs_parse_seconds(value, 86400.0, out) < 0 || *out < min)
		return bad(name, value, "expected a number of seconds");
	return 0;
}

static int env_file_opt(drukfs_settings *s, const char *path)
{
	char *text = NULL;
	size_t line = 0;
	int rc = read_small_file(path, &text);

	if (rc < 0)
		return bad("env_file", path, strerror(-rc));
	rc = drukfs_parse_env(text, &s->env, &s->env_count, &s->env_buf, &line);
	free(text);
	if (rc == -EINVAL) {
		fprintf(stderr, "drukfs: -o env_file=%s: line %zu is not "
			"KEY=VALUE with KEY [A-Za-z_][A-Za-z0-9_]*\n", path, line);
		return -1;
	}
	return rc < 0 ? bad("env_file", path, strerror(-rc)) : 0;
}

static int ssh_opts(drukfs_settings *s, const drukfs_options *o)
{
	static const char *const names[] = { "auto", "external", "internal" };

	s->ssh_suffix = o->ssh_suffix ? o->ssh_suffix : ".drukbox";
	if (!drukfs_ssh_suffix_ok(s->ssh_suffix))
		return bad("ssh_suffix", s->ssh_suffix,
			   "expected a dot and [A-Za-z0-9._-], at most 64");
	s->ssh_address = SSH_ADDRESS_AUTO;
	if (!o->ssh_address)
		return 0;
	for (int i = 0; i < 3; i++)
		if (strcmp(o->ssh_address, names[i]) == 0) {
			s->ssh_address = i;
			return 0;
		}
	return bad("ssh_address", o->ssh_address,
		   "expected auto, external or internal");
}

int drukfs_settings_from(drukfs_settings *s, const drukfs_options *o)
{
	memset(s, 0, sizeof(*s));
	if (o->timeout &&
	    (drukfs_parse_seconds(o->timeout, 86400.0, &s->timeout) < 0 ||
	     s->timeout <= 0))
		return bad("timeout", o->timeout, "expected seconds > 0");
	if (seconds_opt("cache_ttl", o->cache_ttl, 2.0, 0.0, &s->cache_ttl) ||
	    seconds_opt("doctor_ttl", o->doctor_ttl, 10.0, 0.0, &s->doctor_ttl) ||
	    seconds_opt("mkdir_wait", o->mkdir_wait, 1.0, 0.0, &s->mkdir_wait) ||
	    seconds_opt("wait_poll", o->wait_poll, 2.0, 0.05, &s->wait_poll))
		return -1;
	if (o->lease && drukfs_parse_lease(o->lease, &s->lease) < 0)
		return bad("lease", o->lease, "expected SECONDS or permanent");
	if (o->disk_gb) {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(o->disk_gb, &end, 10);
		if (!isdigit((unsigned char)*o->disk_gb) || *end || errno || v < 1)
			return bad("disk_gb", o->disk_gb,
				   "expected a whole number >= 1");
		s->disk_gb = v;
	}
	if (o->env_file && env_file_opt(s, o->env_file) < 0)
		return -1;
	return ssh_opts(s, o);
}
