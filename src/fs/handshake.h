/*
 * The FUSE INIT handshake, done by drukfs rather than inside libfuse's
 * loop, so that the kernel can be told that lookups and readdirs of one
 * directory may run in parallel.
 *
 * Why: without FUSE_PARALLEL_DIROPS in the INIT reply the kernel takes a
 * per-directory mutex around every lookup and readdir, so one lookup that
 * waits on the service (GET /hosts/{id} of an id the list lacks, up to the
 * timeout) stalls every `ls hosts` and every other lookup in hosts/.
 * libfuse documents FUSE_CAP_PARALLEL_DIROPS as on by default, but before
 * 3.16 it never put the flag in its reply (libfuse PR #861; #880 then made
 * it opt-in).  With such a libfuse drukfs lets it build the reply into a
 * pipe and adds the flag, when the kernel offered it, on the way out.
 */
#ifndef DRUKFS_HANDSHAKE_H
#define DRUKFS_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

struct fuse_session;

/* Pure.  `req` is a request from /dev/fuse and `reply` the answer to it.
 * When they are a FUSE_INIT and its successful reply (matching unique,
 * lengths that agree), ORs into the reply's flags those of `flags` that the
 * kernel offered in the request.  Returns 1 if the reply changed, 0 if it
 * was left alone (not an INIT pair, an error reply, nothing to add). */
int drukfs_init_reply_add_flags(const void *req, size_t reqlen, void *reply,
				size_t replylen, uint32_t flags);

/* Reads the INIT request from the freshly mounted session and answers it,
 * with FUSE_PARALLEL_DIROPS added where libfuse would leave it out.  Call
 * after fuse_session_mount() and before any other thread writes to the
 * session's descriptor.  0 on success (also when the flag could not be
 * added: lookups then stay serialised, `*parallel` says which), or a
 * negative errno when the session ended before INIT. */
int drukfs_handshake(struct fuse_session *se, int *parallel);

#endif
