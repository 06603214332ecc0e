/*
 * arena.h - a bump allocator for the strings of one record.
 *
 * A record's string columns point into its arena; freeing (or resetting) the
 * arena frees them all at once.  Blocks grow geometrically; an allocation
 * larger than a block gets a block of its own.
 */
#ifndef RMMHUNT_ARENA_H
#define RMMHUNT_ARENA_H

#include <stddef.h>

struct arena_block;

struct arena {
	struct arena_block *blocks;
	size_t next_block_size;
};

void arena_init(struct arena *arena);
/* Release every block but the first, keep it for reuse. */
void arena_reset(struct arena *arena);
void arena_free(struct arena *arena);

/* size bytes, 8-aligned; NULL when out of memory. */
void *arena_alloc(struct arena *arena, size_t size);
/* A NUL-terminated copy of data[0..length). */
char *arena_strndup(struct arena *arena, const char *data, size_t length);

#endif
