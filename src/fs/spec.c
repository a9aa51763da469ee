/*
 * See spec.h.  The text is copied once and cut in place; the spec's
 * pointers point into that copy.
 */
#include "spec.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

void drukfs_spec_clear(drukfs_spec *s)
{
	free(s->env);
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

static int env_name_ok(const char *k)
{
	if (!isalpha((unsigned char)*k) && *k != '_')
		return 0;
	for (const char *p = k; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return 0;
	return strcmp(k, "TAILSCALE_AUTHKEY") != 0;
}

static int has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* Sets a single-valued field once. */
static const char *set_once(const char **field, const char *v)
{
	if (*field)
		return "key given twice";
	*field = v;
	return NULL;
}

static const char *set_number(drukfs_spec *s, const char *k, const char *v)
{
	if (strcmp(k, "disk_gb") == 0) {
		char *end;
		long long n;

		if (s->disk_gb)
			return "key given twice";
		errno = 0;
		n = strtoll(v, &end, 10);
		if (!isdigit((unsigned char)*v) || *end || errno || n < 1)
			return "disk_gb must be a whole number >= 1";
		s->disk_gb = n;
		return NULL;
	}
	if (s->lease)
		return "key given twice";
	if (drukfs_parse_lease(v, &s->lease) < 0)
		return "lease must be SECONDS or permanent";
	return NULL;
}

static const char *add_env(drukfs_spec *s, const char *name, const char *v)
{
	if (!env_name_ok(name))
		return "env names are [A-Za-z_][A-Za-z0-9_]*, not TAILSCALE_AUTHKEY";
	for (size_t i = 0; i < s->env_count; i++)
		if (strcmp(s->env[i].key, name) == 0)
			return "key given twice";
	s->env[s->env_count].key = name;
	s->env[s->env_count].value = v;
	s->env_count++;
	return NULL;
}

/* One KEY=VALUE line, cut in place.  NULL, or why it is wrong. */
static const char *spec_line(drukfs_spec *s, char *line)
{
	char *eq = strchr(line, '=');
	const char *v;

	if (!eq || eq == line)
		return "expected KEY=VALUE";
	*eq = '\0';
	v = eq + 1;
	if (!*v)
		return "empty value";
	if (has_control(v))
		return "control character in the value";
	if (!drukbox_utf8_valid(v)) /* it goes into a JSON body */
		return "the value is not UTF-8";
	if (strcmp(line, "image") == 0)
		return set_once(&s->image, v);
	if (strcmp(line, "provider") == 0)
		return set_once(&s->provider, v);
	if (strcmp(line, "instance_type") == 0)
		return set_once(&s->instance_type, v);
	if (strcmp(line, "disk_gb") == 0 || strcmp(line, "lease") == 0)
		return set_number(s, line, v);
	if (strncmp(line, "env.", 4) == 0)
		return add_env(s, line + 4, v);
	return "unknown key (image, provider, instance_type, disk_gb, lease, "
	       "env.NAME)";
}

int drukfs_spec_parse(const char *text, drukfs_spec *out, size_t *line,
		      const char **why)
{
	size_t lines = 1, n = 0;
	char *p, *next;

	memset(out, 0, sizeof(*out));
	*line = 0;
	*why = NULL;
	if (!(out->buf = strdup(text)))
		return -ENOMEM;
	for (p = out->buf; *p; p++)
		lines += *p == '\n';
	if (!(out->env = calloc(lines, sizeof(*out->env)))) {
		drukfs_spec_clear(out);
		return -ENOMEM;
	}
	for (p = out->buf; p; p = next) {
		size_t l;

		next = strchr(p, '\n');
		if (next)
			*next++ = '\0';
		n++;
		l = strlen(p);
		if (l && p[l - 1] == '\r')
			p[--l] = '\0';
		if (l == 0 || p[0] == '#')
			continue;
		*why = spec_line(out, p);
		if (*why) {
			*line = n;
			drukfs_spec_clear(out);
			return -EINVAL;
		}
	}
	return 0;
}

int drukfs_spec_merge(const drukfs_spec *spec,
		      const drukbox_create_opts *defaults, long default_lease,
		      drukbox_create_opts *out, long *lease,
		      drukbox_env_var **env_out)
{
	size_t nd = defaults ? defaults->env_count : 0, n = 0;
	drukbox_env_var *env = calloc(nd + spec->env_count + 1, sizeof(*env));

	*env_out = NULL;
	if (!env)
		return -ENOMEM;
	*out = defaults ? *defaults : (drukbox_create_opts){ 0 };
	for (size_t i = 0; i < nd; i++) {
		size_t j;

		for (j = 0; j < spec->env_count; j++)
			if (strcmp(spec->env[j].key, defaults->env[i].key) == 0)
				break;
		if (j == spec->env_count)
			env[n++] = defaults->env[i];
	}
	for (size_t j = 0; j < spec->env_count; j++)
		env[n++] = spec->env[j];
	out->env = env;
	out->env_count = n;
	if (spec->image)
		out->image = spec->image;
	if (spec->provider)
		out->provider = spec->provider;
	if (spec->instance_type)
		out->instance_type = spec->instance_type;
	if (spec->disk_gb)
		out->disk_gb = spec->disk_gb;
	*lease = spec->lease ? spec->lease : default_lease;
	*env_out = env;
	return 0;
}
