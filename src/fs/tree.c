/*
 * See tree.h.  Two maps, handle -> node and node number -> node, under
 * one mutex; the node number is keyed as its decimal text so that one map
 * type serves both.
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
	char *handle;
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
		free(n);
	}
	strmap_clear(&t->by_k);
	strmap_clear(&t->by_handle);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static tree_node *node_new(drukfs_tree *t, const char *handle)
{
	tree_node *n = calloc(1, sizeof(*n));
	char key[24];

	if (!n || !(n->handle = strdup(handle)))
		goto fail;
	n->k = t->next;
	k_key(key, n->k);
	if (strmap_put(&t->by_k, key, n, NULL) < 0)
		goto fail;
	if (strmap_put(&t->by_handle, handle, n, NULL) < 0) {
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
	char key[24];
	tree_node *n;

	k_key(key, node);
	pthread_mutex_lock(&t->lock);
	n = strmap_get(&t->by_k, key);
	if (n) {
		n->nlookup = n->nlookup > count ? n->nlookup - count : 0;
		if (n->nlookup == 0) {
			strmap_del(&t->by_k, key);
			strmap_del(&t->by_handle, n->handle);
			free(n->handle);
			free(n);
		}
	}
	pthread_mutex_unlock(&t->lock);
}

int drukfs_tree_handle(drukfs_tree *t, uint64_t node, char **out)
{
	char key[24];
	tree_node *n;
	int rc = 0;

	k_key(key, node);
	*out = NULL;
	pthread_mutex_lock(&t->lock);
	n = strmap_get(&t->by_k, key);
	if (!n)
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
