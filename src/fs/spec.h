/*
 * Create specs: the KEY=VALUE files under specs/ that give one mkdir its
 * own image, env, lease, provider, instance type and disk size, merged
 * over the mount's -o defaults.  Pure: parsing and merging only; the
 * state directory keeps the text.
 *
 *   image=debian-12
 *   provider=docker
 *   instance_type=small
 *   disk_gb=20
 *   lease=3600            (or: permanent)
 *   env.FOO=bar
 *
 * Blank lines and lines starting with '#' are skipped.  A key given twice,
 * an unknown key, an empty value, a control character, an env name
 * outside [A-Za-z_][A-Za-z0-9_]* or the reserved TAILSCALE_AUTHKEY make
 * the whole spec invalid.
 */
#ifndef DRUKFS_SPEC_H
#define DRUKFS_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include <drukbox/drukbox.h>

typedef struct drukfs_spec {
	const char *image;          /* NULL: not set */
	const char *provider;
	const char *instance_type;
	int64_t disk_gb;            /* 0: not set */
	long lease;                 /* 0 not set, -1 permanent, > 0 seconds */
	drukbox_env_var *env;
	size_t env_count;
	char *buf;                  /* what the pointers point into */
} drukfs_spec;

/* Parses `text`.  0 with *out filled (free with drukfs_spec_clear), or
 * -EINVAL with *line (1-based) and *why (static text) saying what is
 * wrong, or -ENOMEM. */
int drukfs_spec_parse(const char *text, drukfs_spec *out, size_t *line,
		      const char **why);
void drukfs_spec_clear(drukfs_spec *s);

/* The create options of a mkdir: `defaults` with every field the spec
 * sets replaced, env merged by name (the spec wins).  *lease is the
 * lease to use (the spec's, else default_lease).  *env_out is an array
 * the caller frees (the strings stay owned by spec and defaults).
 * 0 or -ENOMEM. */
int drukfs_spec_merge(const drukfs_spec *spec,
		      const drukbox_create_opts *defaults, long default_lease,
		      drukbox_create_opts *out, long *lease,
		      drukbox_env_var **env_out);

#endif
