/* See pieces.h. */
#include "pieces.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <drukbox/drukbox.h>

typedef struct collected {
	drukbox_host **hosts;
	size_t count;
	int nomem;
} collected;

static int collect(void *ctx, drukbox_host *host)
{
	collected *c = ctx;
	drukbox_host **n = realloc(c->hosts, (c->count + 1) * sizeof(*n));

	if (!n) {
		drukbox_host_free(host);
		c->nomem = 1;
		return -DRUKBOX_ENOMEM;
	}
	c->hosts = n;
	c->hosts[c->count++] = host;
	return 0;
}

static void collected_free(collected *c)
{
	for (size_t i = 0; i < c->count; i++)
		drukbox_host_free(c->hosts[i]);
	free(c->hosts);
}

/* Feeds in pieces; 0 with *out, or the error (its detail in `detail`). */
static int feed_pieces(const char *text, size_t len, const size_t *sizes,
		       size_t nsizes, collected *c, drukbox_host_list **out,
		       char *detail, size_t dlen)
{
	drukbox_list_reader *r = NULL;
	size_t at = 0, k = 0;
	int rc = drukbox_list_reader_new(&r, collect, c);

	while (!rc && at < len) {
		size_t n = nsizes ? sizes[k++ % nsizes] : 1;
		char *piece;

		n = n ? n : 1;
		if (n > len - at)
			n = len - at;
		piece = malloc(n);
		if (!piece) {
			rc = -DRUKBOX_ENOMEM;
			break;
		}
		memcpy(piece, text + at, n);
		rc = drukbox_list_reader_feed(r, piece, n);
		free(piece);
		at += n;
	}
	if (!rc)
		rc = drukbox_list_reader_end(r, out);
	if (rc)
		snprintf(detail, dlen, "%s", drukbox_error_last()->detail);
	drukbox_list_reader_free(r);
	return rc;
}

int pieces_check(const char *text, size_t len, const size_t *sizes,
		 size_t nsizes, const char **why)
{
	drukbox_host_list *whole = NULL, *part = NULL;
	collected c = { NULL, 0, 0 };
	char wdetail[DRUKBOX_DETAIL_MAX] = "", pdetail[DRUKBOX_DETAIL_MAX] = "";
	int wrc, prc, verdict = 1;

	*why = NULL;
	wrc = drukbox_host_list_parse(&whole, text, len);
	if (wrc)
		snprintf(wdetail, sizeof(wdetail), "%s",
			 drukbox_error_last()->detail);
	prc = feed_pieces(text, len, sizes, nsizes, &c, &part, pdetail,
			  sizeof(pdetail));
	if (wrc == -DRUKBOX_ENOMEM || prc == -DRUKBOX_ENOMEM || c.nomem) {
		verdict = -1;
	} else if (wrc != prc) {
		*why = "one failed, the other did not (or another error)";
		verdict = 0;
	} else if (wrc) {
		if (strcmp(wdetail, pdetail) != 0) {
			*why = "a different error detail";
			verdict = 0;
		}
	} else if (part->hosts != NULL || part->count != c.count) {
		*why = "the reader's list does not count what the sink got";
		verdict = 0;
	} else if (whole->count != c.count || whole->skipped != part->skipped) {
		*why = "different counts of records or of skipped ones";
		verdict = 0;
	} else if ((whole->skipped_detail == NULL) !=
			   (part->skipped_detail == NULL) ||
		   (whole->skipped_detail &&
		    strcmp(whole->skipped_detail, part->skipped_detail) != 0)) {
		*why = "a different skipped_detail";
		verdict = 0;
	} else {
		for (size_t i = 0; i < c.count; i++) {
			if (!drukbox_host_equal(whole->hosts[i], c.hosts[i])) {
				*why = "a different record, or another order";
				verdict = 0;
				break;
			}
		}
	}
	drukbox_host_list_free(whole);
	drukbox_host_list_free(part);
	collected_free(&c);
	return verdict;
}
