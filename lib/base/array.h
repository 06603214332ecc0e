/*
 * array.h - growing arrays, in one place.
 *
 * An array is kept by its owner as a pointer, a count and a capacity; before
 * adding items the owner asks here for room.  The capacity doubles (from a
 * first capacity the owner picks), so n additions copy O(n) items in all,
 * and the size in bytes is checked: capacity * size never wraps around to a
 * small allocation, whatever count an input drives.
 *
 * Two kinds of arrays: malloc'd ones (grown with realloc, freed by their
 * owner) and arrays in an arena (grown by taking a bigger block and copying
 * the items in use; the old block goes with the arena).
 *
 * Both return the array to use from now on: the same pointer when it has
 * room already, else the grown one (and *capacity is updated).  NULL when
 * memory (or the arena's budget) runs out or the size would not fit in a
 * size_t: the array and *capacity are then unchanged and still the owner's.
 */
#ifndef RMMHUNT_BASE_ARRAY_H
#define RMMHUNT_BASE_ARRAY_H

#include <stddef.h>

#include "base/arena.h"

/*
 * The capacity to grow to for at least `needed` items of `size` bytes:
 * capacity doubled (first, when capacity is 0) until needed fits, at most
 * what a size_t of bytes can hold.  0 when needed items cannot fit.
 */
size_t array_grown_capacity(size_t capacity, size_t needed, size_t first, size_t size);

/* Room for `needed` items in items, a malloc'd array (NULL: none yet). */
void *array_reserve(void *items, size_t *capacity, size_t needed, size_t first,
		    size_t size);

/* Room for `needed` items in items, an array in arena of which the first
 * `count` items are in use (copied when it grows). */
void *arena_array_reserve(struct arena *arena, void *items, size_t count, size_t *capacity,
			  size_t needed, size_t first, size_t size);

#endif
