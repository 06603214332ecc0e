/*
 * list.h - the doubly linked list, in one place.
 *
 * Intrusive: a struct that goes on a list has a struct list_node member
 * (one per list it can be on) and the list links those nodes, so adding,
 * moving and removing never allocate and removing is O(1) from the entry
 * alone.  The node also points back at its entry, set when it is added, so
 * walking a list gives entries without pointer arithmetic.
 *
 * Order is the order of adding: list_append() puts an entry last, so the
 * first entry is the one added (or moved, list_move_to_end()) longest ago.
 * The agent uses that for eviction (least recently active process, least
 * recently used file) and for deadlines.
 *
 * A zeroed struct list is a valid empty list; a node is on at most one list
 * at a time, and only the list it is on may be passed with it.
 */
#ifndef RMMHUNT_BASE_LIST_H
#define RMMHUNT_BASE_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list_node {
	struct list_node *previous, *next;
	void *entry; /* the struct this node is a member of */
};

struct list {
	struct list_node *first, *last;
	size_t count;
};

static inline bool list_is_empty(const struct list *list)
{
	return list->first == NULL;
}

static inline size_t list_count(const struct list *list)
{
	return list->count;
}

/* Add node (a member of entry) at the end of list. */
static inline void list_append(struct list *list, struct list_node *node, void *entry)
{
	node->entry = entry;
	node->next = NULL;
	node->previous = list->last;
	if (list->last)
		list->last->next = node;
	else
		list->first = node;
	list->last = node;
	list->count++;
}

/* Take node off list (which it must be on). */
static inline void list_remove(struct list *list, struct list_node *node)
{
	if (node->previous)
		node->previous->next = node->next;
	else
		list->first = node->next;
	if (node->next)
		node->next->previous = node->previous;
	else
		list->last = node->previous;
	node->previous = node->next = NULL;
	list->count--;
}

/* Take the first (oldest) entry off the list; NULL when it is empty. */
static inline void *list_take_first(struct list *list)
{
	struct list_node *node = list->first;

	if (!node)
		return NULL;
	list->first = node->next;
	if (list->first)
		list->first->previous = NULL;
	else
		list->last = NULL;
	node->previous = node->next = NULL;
	list->count--;
	return node->entry;
}

/* Move node (on list) to the end: it becomes the most recent. */
static inline void list_move_to_end(struct list *list, struct list_node *node)
{
	if (list->last == node)
		return;
	list_remove(list, node);
	list_append(list, node, node->entry);
}

/* The first (oldest) entry, or NULL when the list is empty. */
static inline void *list_first(const struct list *list)
{
	return list->first ? list->first->entry : NULL;
}

/* The last (newest) entry, or NULL when the list is empty. */
static inline void *list_last(const struct list *list)
{
	return list->last ? list->last->entry : NULL;
}

/*
 * The entry after node's, or NULL at the end.  To remove entries while
 * walking, take the next one before removing the current one.
 */
static inline void *list_next(const struct list_node *node)
{
	return node->next ? node->next->entry : NULL;
}

#endif
