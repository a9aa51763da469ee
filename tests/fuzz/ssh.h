/*
 * Checks on what reaches OpenSSH: the ssh_config Host block, the filtered
 * known_hosts and the allowlists behind both (src/fs/sshconf.h).  Shared
 * by fuzz_host (values from a parsed record) and fuzz_known_hosts (values
 * cut straight from the input).  Each aborts when an invariant breaks.
 *
 * The checks are written from what ssh needs, not from sshconf.c: a block
 * is a "Host" line of plain aliases and indented lines of known keywords
 * with printable ASCII values, '%' only doubled, no '$', no control
 * character; a filtered known_hosts is a subsequence of the input's lines,
 * each `hosts keytype base64`.
 */
#ifndef DRUKFS_FUZZ_SSH_H
#define DRUKFS_FUZZ_SSH_H

#include <stddef.h>

#include <drukbox/drukbox.h>

#include "sshconf.h"

/* Runs drukfs_ssh_block() for `h` under every address choice, with and
 * without a key and the name alias, and checks each answer against the
 * record. */
void fuzz_ssh_blocks(const drukbox_host *h, const char *handle,
		     const drukfs_ssh_opts *o);

/* Runs drukfs_known_hosts_filter() on `raw` and checks the output (and
 * that filtering it again changes nothing). */
void fuzz_known_hosts(const char *raw);

/* Runs every allowlist on `s` and checks that what one accepts has the
 * shape its contract promises, and that plain names are not refused. */
void fuzz_allowlists(const char *s);

#endif
