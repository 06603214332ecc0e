/*
 * array.c - growing arrays (see array.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/array.h"

size_t array_grown_capacity(size_t capacity, size_t needed, size_t first, size_t size)
{
	size_t limit = SIZE_MAX / (size ? size : 1);
	size_t grown = capacity ? capacity : first;

	if (grown == 0)
		grown = 1;
	while (grown < needed && grown <= limit / 2)
		grown *= 2;
	if (grown > limit)
		grown = limit;
	if (grown < needed) /* doubling stopped at the limit: the most there is */
		grown = limit;
	return grown >= needed ? grown : 0;
}

/* Both kinds: a malloc'd array when arena is NULL, else one in arena. */
static void *reserve(struct arena *arena, void *items, size_t count, size_t *capacity,
		     size_t needed, size_t first, size_t size)
{
	size_t grown;
	void *moved;

	if (needed <= *capacity && items)
		return items;
	grown = array_grown_capacity(*capacity, needed, first, size);
	if (grown == 0)
		return NULL;
	if (arena) {
		moved = arena_alloc(arena, grown * size);
		if (moved && count > 0 && items)
			memcpy(moved, items, count * size);
	} else {
		moved = realloc(items, grown * size);
	}
	if (!moved)
		return NULL;
	*capacity = grown;
	return moved;
}

void *array_reserve(void *items, size_t *capacity, size_t needed, size_t first,
		    size_t size)
{
	return reserve(NULL, items, 0, capacity, needed, first, size);
}

void *arena_array_reserve(struct arena *arena, void *items, size_t count, size_t *capacity,
			  size_t needed, size_t first, size_t size)
{
	return reserve(arena, items, count, capacity, needed, first, size);
}
