/*
 * arena.c - bump allocation in a chain of blocks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define ARENA_FIRST_BLOCK 4096
#define ARENA_MAX_BLOCK (1 << 20)

struct arena_block {
	struct arena_block *next;
	size_t size;
	size_t used;
	max_align_t data[];
};

void arena_init(struct arena *arena)
{
	arena->blocks = NULL;
	arena->next_block_size = ARENA_FIRST_BLOCK;
}

void arena_free(struct arena *arena)
{
	struct arena_block *block = arena->blocks;

	while (block) {
		struct arena_block *next = block->next;

		free(block);
		block = next;
	}
	arena_init(arena);
}

void arena_reset(struct arena *arena)
{
	struct arena_block *last = arena->blocks;

	if (!last)
		return;
	/* The oldest block is at the tail; keep it. */
	while (last->next) {
		struct arena_block *next = last->next;

		free(last);
		last = next;
	}
	last->used = 0;
	arena->blocks = last;
}

static struct arena_block *arena_grow(struct arena *arena, size_t need)
{
	size_t size = arena->next_block_size;
	struct arena_block *block;

	if (size < need)
		size = need;
	block = malloc(sizeof(*block) + size);
	if (!block)
		return NULL;
	block->size = size;
	block->used = 0;
	block->next = arena->blocks;
	arena->blocks = block;
	if (arena->next_block_size < ARENA_MAX_BLOCK)
		arena->next_block_size *= 2;
	return block;
}

void *arena_alloc(struct arena *arena, size_t size)
{
	struct arena_block *block = arena->blocks;
	size_t aligned = (size + 7) & ~(size_t)7;

	if (aligned < size)
		return NULL;
	if (!block || block->size - block->used < aligned) {
		block = arena_grow(arena, aligned);
		if (!block)
			return NULL;
	}
	void *result = (char *)block->data + block->used;
	block->used += aligned;
	return result;
}

char *arena_strndup(struct arena *arena, const char *data, size_t length)
{
	char *copy = arena_alloc(arena, length + 1);

	if (!copy)
		return NULL;
	if (length)
		memcpy(copy, data, length);
	copy[length] = '\0';
	return copy;
}
