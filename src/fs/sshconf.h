/*
 * ssh_config and known_hosts for OpenSSH: pure renderers and the
 * allowlists that keep a hostile service from injecting a directive.
 *
 * ssh reads its configuration line by line and runs ProxyCommand,
 * LocalCommand, Match exec and KnownHostsCommand through a shell, and it
 * expands % and ${} tokens in paths.  So nothing the service sends reaches
 * ssh_config unless it fits a narrow allowlist: a host is an IP address or
 * a DNS name, a user a plain user name, a port 1-65535, an alias plain
 * name characters with no glob.  One unknown keyword or parse error in an
 * included file breaks every ssh on the machine, so only long-standing
 * keywords are written.
 */
#ifndef DRUKFS_SSHCONF_H
#define DRUKFS_SSHCONF_H

#include <stddef.h>

#include <drukbox/drukbox.h>

typedef enum drukfs_ssh_address {
	SSH_ADDRESS_AUTO = 0,   /* internal when the host has one */
	SSH_ADDRESS_EXTERNAL,
	SSH_ADDRESS_INTERNAL,
} drukfs_ssh_address;

typedef struct drukfs_ssh_opts {
	const char *suffix;     /* alias suffix, e.g. ".drukbox" */
	drukfs_ssh_address address;
	const char *mountpoint; /* absolute, as the user sees it */
} drukfs_ssh_opts;

/* Allowlists.  Each returns 1 when the value may go into ssh_config. */
int drukfs_ssh_host_ok(const char *host);   /* IPv4, IPv6, DNS name */
int drukfs_ssh_user_ok(const char *user);   /* [A-Za-z0-9._][A-Za-z0-9._-]*, <= 32 */
int drukfs_ssh_alias_ok(const char *alias); /* [A-Za-z0-9._-], no leading '-' */
int drukfs_ssh_suffix_ok(const char *suffix); /* ".[A-Za-z0-9._-]+", <= 64 */
/* A path ssh may be given in quotes: absolute, no quote, no control
 * character, no '$' (ssh expands ${VAR}).  '%' is escaped when written. */
int drukfs_ssh_path_ok(const char *path);

/* The Host block for `host` shown as hosts/<handle>.  `has_key` adds
 * IdentityFile and IdentitiesOnly; `with_name` adds the service's name as
 * a second alias (the caller clears it when that name is another host's
 * handle or is shared, so that no host can capture another's alias).
 * 0 with *out; 1 when the host cannot
 * be reached yet (not active, or no address) and *out is NULL; -EINVAL
 * with *why (static text) when a value fails its allowlist; -ENOMEM. */
int drukfs_ssh_block(char **out, size_t *len, const drukbox_host *host,
		     const char *handle, int has_key, int with_name,
		     const drukfs_ssh_opts *o, const char **why);

/* The lines of raw known_hosts that are plain `host keytype base64`
 * entries ([host]:port allowed, comma-separated host lists allowed),
 * each ending in '\n'; markers (@cert-authority, @revoked), hashed names,
 * comments and junk are dropped.  0 with *out, -ENOMEM. */
int drukfs_known_hosts_filter(char **out, size_t *len, const char *raw);

#endif
