/*
 * See tree.h.  Two maps under one mutex: handle -> host node (keyed by
 * the node's own copy of the handle) and node number -> node.  Nodes
 * carrying an item are only in the second.  At 10 000 hosts a node is
 * one allocation; the maps add no copy of any key.
 */
#include "tree.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "u64map.h"

typedef struct tree_node {
	uint64_t k;
	uint64_t nlookup;
	char *handle;                   /* host nodes: points at name[] */
	drukfs_tree_item *item;         /* item nodes */
	uint64_t owner;                 /* item nodes: their host node, or 0 */
	drukfs_tree_item *cur;          /* host nodes: the current version */
	uint64_t cur_node;
	char name[];                    /* host nodes: the handle */
} tree_node;

struct drukfs_tree {
	pthread_mutex_t lock;
	strmap by_handle;               /* borrowed keys: node->handle */
	u64map by_k;
	uint64_t next;
};

drukfs_tree *drukfs_tree_new(void)
{
	drukfs_tree *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	t->by_handle = (strmap)STRMAP_INIT_BORROWED;
	t->next = 1;
	return t;
}

void drukfs_tree_free(drukfs_tree *t)
{
	uint64_t k;
	void *v;

	if (!t)
		return;
	for (size_t i = 0; u64map_next(&t->by_k, &i, &k, &v);) {
		tree_node *n = v;

		drukfs_tree_item_unref(n->item);
		drukfs_tree_item_unref(n->cur);
		free(n);
	}
	u64map_clear(&t->by_k);
	strmap_clear(&t->by_handle);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* A new node: a host node when `handle` is set, else an item node. */
static tree_node *node_new(drukfs_tree *t, const char *handle)
{
	size_t hlen = handle ? strlen(handle) + 1 : 0;
	tree_node *n = calloc(1, sizeof(*n) + hlen);

	if (!n)
		return NULL;
	n->k = t->next;
	if (handle)
		n->handle = memcpy(n->name, handle, hlen);
	if (u64map_put(&t->by_k, n->k, n) < 0)
		goto fail;
	if (handle && strmap_put(&t->by_handle, n->handle, n, NULL) < 0) {
		u64map_del(&t->by_k, n->k);
		goto fail;
	}
	t->next++;
	return n;
fail:
	free(n);
	return NULL;
}

static tree_node *node_get(drukfs_tree *t, uint64_t k)
{
	return u64map_get(&t->by_k, k);
}

/* Drops node n (lock held): an item node stops being its owner's
 * current version. */
static void node_drop(drukfs_tree *t, tree_node *n)
{
	u64map_del(&t->by_k, n->k);
	if (n->handle)
		strmap_del(&t->by_handle, n->handle);
	if (n->owner) {
		tree_node *o = node_get(t, n->owner);

		if (o && o->cur_node == n->k) {
			drukfs_tree_item_unref(o->cur);
			o->cur = NULL;
			o->cur_node = 0;
		}
	}
	drukfs_tree_item_unref(n->item);
	drukfs_tree_item_unref(n->cur);
	free(n);
}

int drukfs_tree_ref(drukfs_tree *t, const char *handle, uint64_t *node)
{
	tree_node *n;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	n = strmap_get(&t->by_handle, handle);
	if (!n)
		n = node_new(t, handle);
	if (n) {
		n->nlookup++;
		*node = n->k;
	} else {
		rc = -ENOMEM;
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void drukfs_tree_forget(drukfs_tree *t, uint64_t node, uint64_t count)
{
	tree_node *n;

	pthread_mutex_lock(&t->lock);
	n = node_get(t, node);
	if (n) {
		n->nlookup = n->nlookup > count ? n->nlookup - count : 0;
		if (n->nlookup == 0)
			node_drop(t, n);
	}
	pthread_mutex_unlock(&t->lock);
}

int drukfs_tree_handle(drukfs_tree *t, uint64_t node, char **out)
{
	tree_node *n;
	int rc = 0;

	*out = NULL;
	pthread_mutex_lock(&t->lock);
	n = node_get(t, node);
	if (!n || !n->handle)
		rc = -ENOENT;
	else if (!(*out = strdup(n->handle)))
		rc = -ENOMEM;
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int drukfs_tree_find(drukfs_tree *t, const char *handle, uint64_t *node)
{
	tree_node *n;

	pthread_mutex_lock(&t->lock);
	n = strmap_get(&t->by_handle, handle);
	if (n)
		*node = n->k;
	pthread_mutex_unlock(&t->lock);
	return n ? 0 : -ENOENT;
}

int drukfs_tree_add(drukfs_tree *t, drukfs_tree_item *item, uint64_t owner,
		    uint64_t *node)
{
	tree_node *n, *o = NULL;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	if (owner && (!(o = node_get(t, owner)) || !o->handle)) {
		rc = -ENOENT;
		goto out;
	}
	n = node_new(t, NULL);
	if (!n) {
		rc = -ENOMEM;
		goto out;
	}
	n->item = drukfs_tree_item_ref(item);
	n->owner = owner;
	n->nlookup = 1;
	*node = n->k;
	if (o) {
		drukfs_tree_item_unref(o->cur);
		o->cur = drukfs_tree_item_ref(item);
		o->cur_node = n->k;
	}
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int drukfs_tree_reuse(drukfs_tree *t, uint64_t owner, drukfs_tree_match_fn match,
		      const void *ctx, uint64_t *node, drukfs_tree_item **item)
{
	tree_node *o, *n = NULL;

	pthread_mutex_lock(&t->lock);
	o = node_get(t, owner);
	if (o && o->cur && match(o->cur, ctx))
		n = node_get(t, o->cur_node);
	if (n) {
		n->nlookup++;
		*node = n->k;
		*item = drukfs_tree_item_ref(n->item);
	}
	pthread_mutex_unlock(&t->lock);
	return n ? 0 : -ENOENT;
}

int drukfs_tree_item_get(drukfs_tree *t, uint64_t node,
			 drukfs_tree_item **item)
{
	tree_node *n;

	pthread_mutex_lock(&t->lock);
	n = node_get(t, node);
	*item = n ? drukfs_tree_item_ref(n->item) : NULL;
	pthread_mutex_unlock(&t->lock);
	return n ? 0 : -ENOENT;
}

int drukfs_tree_relookup(drukfs_tree *t, uint64_t node)
{
	tree_node *n;

	pthread_mutex_lock(&t->lock);
	n = node_get(t, node);
	if (n)
		n->nlookup++;
	pthread_mutex_unlock(&t->lock);
	return n ? 0 : -ENOENT;
}

int drukfs_tree_handles(drukfs_tree *t, char ***out, size_t *count)
{
	const char *k;
	void *v;
	char **list;
	size_t n = 0;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	list = calloc(t->by_handle.used + 1, sizeof(*list));
	for (size_t i = 0; list && strmap_next(&t->by_handle, &i, &k, &v);) {
		if (!(list[n] = strdup(k))) {
			rc = -ENOMEM;
			break;
		}
		n++;
	}
	pthread_mutex_unlock(&t->lock);
	if (!list || rc < 0) {
		for (size_t i = 0; i < n; i++)
			free(list[i]);
		free(list);
		return -ENOMEM;
	}
	*out = list;
	*count = n;
	return 0;
}
