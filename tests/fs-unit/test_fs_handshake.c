/*
 * Unit tests for the pure half of src/fs/handshake.c: adding
 * FUSE_PARALLEL_DIROPS to libfuse's INIT reply.  The requests and replies
 * are built field by field from the kernel's <linux/fuse.h> layouts; the
 * checks read the flags back at their offset and also compare every other
 * byte of the reply with the original, so a patch that wrote anywhere else
 * fails.
 */
#include <errno.h>
#include <linux/fuse.h>
#include <stdint.h>
#include <string.h>

#include "handshake.h"

#include "../support/cunit_main.h"

typedef struct {
	struct fuse_in_header h;
	struct fuse_init_in in;
} init_req;

typedef struct {
	struct fuse_out_header h;
	struct fuse_init_out out;
} init_reply;

static init_req req(uint32_t offered)
{
	init_req r;

	memset(&r, 0, sizeof(r));
	r.h.len = sizeof(r);
	r.h.opcode = FUSE_INIT;
	r.h.unique = 2;
	r.in.major = 7;
	r.in.minor = 38;
	r.in.flags = offered;
	return r;
}

static init_reply reply(uint32_t flags)
{
	init_reply r;

	memset(&r, 0xa5, sizeof(r)); /* fields the patch must not touch */
	r.h.len = sizeof(r);
	r.h.error = 0;
	r.h.unique = 2;
	r.out.major = 7;
	r.out.minor = 38;
	r.out.flags = flags;
	return r;
}

/* Only out.flags may differ between a and b. */
static int same_but_flags(init_reply a, init_reply b)
{
	a.out.flags = b.out.flags = 0;
	return memcmp(&a, &b, sizeof(a)) == 0;
}

static void test_adds_offered_flag(void)
{
	init_req q = req(FUSE_PARALLEL_DIROPS | FUSE_DO_READDIRPLUS);
	init_reply r = reply(FUSE_DO_READDIRPLUS), orig = r;

	CU_ASSERT_EQUAL(drukfs_init_reply_add_flags(&q, sizeof(q), &r, sizeof(r),
						    FUSE_PARALLEL_DIROPS), 1);
	CU_ASSERT_EQUAL(r.out.flags, FUSE_DO_READDIRPLUS | FUSE_PARALLEL_DIROPS);
	CU_ASSERT(same_but_flags(r, orig));
}

static void test_not_offered_not_added(void)
{
	init_req q = req(FUSE_DO_READDIRPLUS);
	init_reply r = reply(FUSE_DO_READDIRPLUS), orig = r;

	CU_ASSERT_EQUAL(drukfs_init_reply_add_flags(&q, sizeof(q), &r, sizeof(r),
						    FUSE_PARALLEL_DIROPS), 0);
	CU_ASSERT(memcmp(&r, &orig, sizeof(r)) == 0);
}

static void test_already_set_is_unchanged(void)
{
	init_req q = req(FUSE_PARALLEL_DIROPS);
	init_reply r = reply(FUSE_PARALLEL_DIROPS), orig = r;

	CU_ASSERT_EQUAL(drukfs_init_reply_add_flags(&q, sizeof(q), &r, sizeof(r),
						    FUSE_PARALLEL_DIROPS), 0);
	CU_ASSERT(memcmp(&r, &orig, sizeof(r)) == 0);
}

/* Anything that is not exactly an INIT and its successful answer. */
static void test_leaves_other_pairs_alone(void)
{
	init_req q;
	init_reply r, orig;
	struct {
		const char *what;
		int field;
	} cases[] = {
		{ "other opcode", 0 }, { "error reply", 1 },
		{ "unique differs", 2 }, { "request len lies", 3 },
		{ "reply len lies", 4 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		q = req(FUSE_PARALLEL_DIROPS);
		r = reply(0);
		switch (cases[i].field) {
		case 0: q.h.opcode = FUSE_LOOKUP; break;
		case 1: r.h.error = -EPROTO; break;
		case 2: r.h.unique = 3; break;
		case 3: q.h.len = sizeof(q) + 8; break;
		case 4: r.h.len = 16; break;
		}
		orig = r;
		CU_ASSERT_EQUAL(drukfs_init_reply_add_flags(
					&q, sizeof(q), &r, sizeof(r),
					FUSE_PARALLEL_DIROPS), 0);
		if (memcmp(&r, &orig, sizeof(r)) != 0)
			CU_FAIL(cases[i].what);
	}
}

/* An old kernel's shorter init_out (protocol 7.22: 24 bytes) still has
 * flags; anything shorter than the flags word is left alone. */
static void test_short_buffers(void)
{
	init_req q = req(FUSE_PARALLEL_DIROPS);
	init_reply r = reply(0);
	size_t compat = sizeof(r.h) + FUSE_COMPAT_22_INIT_OUT_SIZE;

	r.h.len = (uint32_t)compat;
	CU_ASSERT_EQUAL(drukfs_init_reply_add_flags(&q, sizeof(q), &r, compat,
						    FUSE_PARALLEL_DIROPS), 1);
	CU_ASSERT_EQUAL(r.out.flags, FUSE_PARALLEL_DIROPS);

	r = reply(0);
	r.h.len = sizeof(r.h) + FUSE_COMPAT_INIT_OUT_SIZE;
	CU_ASSERT_EQUAL(drukfs_init_reply_add_flags(&q, sizeof(q), &r, r.h.len,
						    FUSE_PARALLEL_DIROPS), 0);
	CU_ASSERT_EQUAL(r.out.flags, 0);
	q.h.len = sizeof(q.h) + 8;
	r = reply(0);
	CU_ASSERT_EQUAL(drukfs_init_reply_add_flags(&q, q.h.len, &r, sizeof(r),
						    FUSE_PARALLEL_DIROPS), 0);
	CU_ASSERT_EQUAL(drukfs_init_reply_add_flags(&q, 0, &r, sizeof(r),
						    FUSE_PARALLEL_DIROPS), 0);
}

static const drukbox_test tests[] = {
	{ "adds a flag the kernel offered", test_adds_offered_flag },
	{ "does not add what the kernel did not offer",
	  test_not_offered_not_added },
	{ "reply that has it already is unchanged",
	  test_already_set_is_unchanged },
	{ "other opcodes, errors, mismatched unique or len",
	  test_leaves_other_pairs_alone },
	{ "short (old protocol) and truncated buffers", test_short_buffers },
	{ NULL, NULL },
};

static const drukbox_test_suite suites[] = {
	{ "handshake", NULL, NULL, tests },
};

DRUKBOX_TEST_MAIN(suites)
