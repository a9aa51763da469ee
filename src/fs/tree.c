/*
 * See tree.h.  Two maps, handle -> node and node number -> node, under
 * one mutex; the node number is keyed as its decimal text so that one map
 * type serves both.  Nodes carrying an item are only in the second.
 */
#include "tree.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

typedef struct tree_node {
	uint64_t k;
	uint64_t nlookup;
	char *handle;                   /* host nodes */
	drukfs_tree_item *item;         /* item nodes */
	uint64_t owner;                 /* item nodes: their host node, or 0 */
	drukfs_tree_item *cur;          /* host nodes: the current version */
	uint64_t cur_node;
} tree_node;

struct drukfs_tree {
	pthread_mutex_t lock;
	strmap by_handle;
	strmap by_k;
	uint64_t next;
};

static void k_key(char buf[24], uint64_t k)
{
	snprintf(buf, 24, "%" PRIu64, k);
}

drukfs_tree *drukfs_tree_new(void)
{
	drukfs_tree *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	t->next = 1;
	return t;
}

void drukfs_tree_free(drukfs_tree *t)
{
	const char *k;
	void *v;

	if (!t)
		return;
	for (size_t i = 0; strmap_next(&t->by_k, &i, &k, &v);) {
		tree_node *n = v;

		free(n->handle);
		drukfs_tree_item_unref(n->item);
		drukfs_tree_item_unref(n->cur);
		free(n);
	}
	strmap_clear(&t->by_k);
	strmap_clear(&t->by_handle);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* A new node: a host node when `handle` is set, else an item node. */
static tree_node *node_new(drukfs_tree *t, const char *handle)
{
	tree_node *n = calloc(1, sizeof(*n));
	char key[24];

	if (!n || (handle && !(n->handle = strdup(handle))))
		goto fail;
	n->k = t->next;
	k_key(key, n->k);
	if (strmap_put(&t->by_k, key, n, NULL) < 0)
		goto fail;
	if (handle && strmap_put(&t->by_handle, handle, n, NULL) < 0) {
		strmap_del(&t->by_k, key);
		goto fail;
	}
	t->next++;
	return n;
fail:
	if (n)
		free(n->handle);
	free(n);
	return NULL;
}

static tree_node *node_get(drukfs_tree *t, uint64_t k)
{
	char key[24];

	k_key(key, k);
	return strmap_get(&t->by_k, key);
}

/* Drops node n (lock held): an item node stops being its owner's
 * current version. */
static void node_drop(drukfs_tree *t, tree_node *n)
{
	char key[24];

	k_key(key, n->k);
	strmap_del(&t->by_k, key);
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
	free(n->handle);
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
