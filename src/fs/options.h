/*
 * The command line: `drukfs [URL] MOUNTPOINT [-o opt[,opt...]] [-f] [-d]
 * [-s]`, modelled on sshfs.  drukfs's own -o options are taken out here;
 * the rest (allow_other, default_permissions, ...) go on to libfuse.
 */
#ifndef DRUKFS_OPTIONS_H
#define DRUKFS_OPTIONS_H

#include <fuse_opt.h>
#include <stddef.h>

#include <drukbox/drukbox.h>

typedef struct drukfs_options {
	char *url;
	char *env_prefix;
	char *token_file;
	char *timeout;          /* text until validated */
	char *cacert;
	char *state_dir;
	char *cache_ttl;
	char *doctor_ttl;
	char *mkdir_wait;
	char *wait_poll;
	char *image;
	char *provider;
	char *instance_type;
	char *disk_gb;
	char *lease;
	char *env_file;
	char *ssh_suffix;
	char *ssh_address;
	int show_help;
	int show_version;
} drukfs_options;

/* Values after checking. */
typedef struct drukfs_settings {
	double timeout;         /* 0: from the environment, else 300 */
	double cache_ttl;
	double doctor_ttl;
	double mkdir_wait;
	double wait_poll;
	long lease;             /* 0 service default, -1 permanent, > 0 s */
	int64_t disk_gb;
	drukbox_env_var *env;
	size_t env_count;
	char *env_buf;          /* backing store of env */
	const char *ssh_suffix; /* points into the options or a literal */
	int ssh_address;        /* a drukfs_ssh_address */
} drukfs_settings;

/* Parses argv into opts and `args` (what libfuse gets).  0, or -1 after
 * printing what is wrong to stderr. */
int drukfs_options_parse(struct fuse_args *args, drukfs_options *opts);

/* Checks and converts the -o values.  0, or -1 after printing the
 * problem (naming the option) to stderr. */
int drukfs_settings_from(drukfs_settings *out, const drukfs_options *opts);

void drukfs_options_free(drukfs_options *opts);
void drukfs_settings_free(drukfs_settings *s);

/* A positive number of seconds (fractions allowed), at most one day... or
 * `max`.  Pure.  0 or -EINVAL. */
int drukfs_parse_seconds(const char *s, double max, double *out);

/* `SECONDS` or `permanent`.  Pure.  0 or -EINVAL. */
int drukfs_parse_lease(const char *s, long *out);

/* KEY=VALUE lines, KEY [A-Za-z_][A-Za-z0-9_]* (blank lines and #
 * comments skipped; no quoting).  The
 * pairs point into *buf, which the caller frees with the pairs array.
 * Pure.  0, -EINVAL with *bad_line set to the 1-based line, -ENOMEM. */
int drukfs_parse_env(const char *text, drukbox_env_var **out, size_t *count,
		     char **buf, size_t *bad_line);

void drukfs_usage(const char *prog);

#endif
