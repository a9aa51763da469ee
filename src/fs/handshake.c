/*
 * See handshake.h.  The reply is redirected by pointing the session's
 * descriptor number at a pipe for the one call that answers INIT: libfuse
 * (before 3.15) has no hook for its own writes, and no other thread runs
 * yet, so nothing else can write to that descriptor meanwhile.
 */
#define _GNU_SOURCE
#define FUSE_USE_VERSION 312
#include "handshake.h"

#include <fuse_lowlevel.h>
#include <linux/fuse.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The prefix of struct fuse_init_in / fuse_init_out that every protocol
 * minor has (the structs grew at the end). */
#define INIT_FLAGS_END (4 * sizeof(uint32_t))

/* Whether req holds a FUSE_INIT request up to its flags; if so, fills
 * *ih and *offered (the kernel's flags). */
static int init_request(const void *req, size_t reqlen,
			struct fuse_in_header *ih, uint32_t *offered)
{
	const size_t at = sizeof(*ih) + offsetof(struct fuse_init_in, flags);

	if (reqlen < sizeof(*ih) + INIT_FLAGS_END)
		return 0;
	memcpy(ih, req, sizeof(*ih));
	if (ih->opcode != FUSE_INIT)
		return 0;
	memcpy(offered, (const char *)req + at, sizeof(*offered));
	return 1;
}

int drukfs_init_reply_add_flags(const void *req, size_t reqlen, void *reply,
				size_t replylen, uint32_t flags)
{
	struct fuse_in_header ih;
	struct fuse_out_header oh;
	uint32_t offered, have;
	const size_t oflags = sizeof(oh) + offsetof(struct fuse_init_out, flags);

	if (!init_request(req, reqlen, &ih, &offered) ||
	    replylen < sizeof(oh) + INIT_FLAGS_END)
		return 0;
	memcpy(&oh, reply, sizeof(oh));
	if (ih.len != reqlen || oh.len != replylen || oh.error != 0 ||
	    oh.unique != ih.unique)
		return 0;
	memcpy(&have, (char *)reply + oflags, sizeof(have));
	if ((have | (flags & offered)) == have)
		return 0;
	have |= flags & offered;
	memcpy((char *)reply + oflags, &have, sizeof(have));
	return 1;
}

/* The flags the kernel offered in the INIT request in buf, or 0. */
static uint32_t offered_flags(const struct fuse_buf *buf)
{
	struct fuse_in_header ih;
	uint32_t f;

	return init_request(buf->mem, buf->size, &ih, &f) ? f : 0;
}

/* Lets libfuse answer the INIT in `buf` into a pipe instead of /dev/fuse,
 * adds the flag, and sends the reply on.  Returns 1 if the flag went out,
 * 0 if libfuse's reply went out unchanged, -1 if redirecting failed before
 * anything was answered (the caller then answers normally). */
static int answer_through_pipe(struct fuse_session *se,
			       const struct fuse_buf *buf)
{
	int fd = fuse_session_fd(se);
	int p[2], real, added = 0;
	char reply[4096];
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	/* dup() and dup3(), not fcntl(F_DUPFD): ThreadSanitizer follows
	 * those, and the happens-before it sees between a reply written to
	 * /dev/fuse and the next request read from it. */
	real = dup(fd);
	if (real >= 0)
		fcntl(real, F_SETFD, FD_CLOEXEC);
	if (real < 0 || dup3(p[1], fd, O_CLOEXEC) < 0) {
		if (real >= 0)
			close(real);
		close(p[0]);
		close(p[1]);
		return -1;
	}
	fuse_session_process_buf(se, buf);
	/* Put /dev/fuse back under its number before anything else. */
	dup3(real, fd, O_CLOEXEC);
	close(real);
	close(p[1]);
	n = read(p[0], reply, sizeof(reply));
	close(p[0]);
	if (n <= 0)
		return 0; /* libfuse sent nothing (it failed INIT itself) */
	added = drukfs_init_reply_add_flags(buf->mem, buf->size, reply,
					    (size_t)n, FUSE_PARALLEL_DIROPS);
	if (write(fd, reply, (size_t)n) != n)
		return 0; /* the kernel refused it: the loop will see why */
	return added;
}

int drukfs_handshake(struct fuse_session *se, int *parallel)
{
	struct fuse_buf buf = { 0 };
	int rc, done = -1;

	*parallel = 0;
	do
		rc = fuse_session_receive_buf(se, &buf);
	while (rc == -EINTR && !fuse_session_exited(se));
	if (rc <= 0) {
		free(buf.mem);
		return rc < 0 ? rc : -ENODEV;
	}
	if (fuse_version() < 316 && offered_flags(&buf) & FUSE_PARALLEL_DIROPS)
		done = answer_through_pipe(se, &buf);
	if (done < 0) {
		/* A newer libfuse sends the flag itself: op_init asks for it. */
		fuse_session_process_buf(se, &buf);
		done = fuse_version() >= 316 &&
		       (offered_flags(&buf) & FUSE_PARALLEL_DIROPS);
	}
	*parallel = done;
	free(buf.mem);
	return 0;
}
