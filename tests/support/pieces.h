/*
 * pieces.h — the list reader fed in pieces, checked against the whole.
 *
 * drukbox_list_reader promises the result of drukbox_host_list_parse()
 * whatever the pieces: same error (code and detail, offsets included) or
 * the same records in the same order, the same skipped count and detail.
 * Each piece is copied into its own allocation and freed once fed, so a
 * reader that kept a pointer into a piece is caught by ASan.
 */
#ifndef DRUKFS_TESTS_PIECES_H
#define DRUKFS_TESTS_PIECES_H

#include <stddef.h>

/* Feeds text[0..len) in pieces of sizes[0], sizes[1], ... (cycled; a 0
 * size counts as 1) and compares with the whole parse.  1 when they
 * agree; 0 with `why` (static text) when not; -1 when either ran out of
 * memory (no verdict). */
int pieces_check(const char *text, size_t len, const size_t *sizes,
		 size_t nsizes, const char **why);

#endif
