/*
 * arena.c - bump allocation from a list of malloc'd blocks (see arena.h).
 *
 * Blocks are 16 KiB, or exactly the size asked for when that is larger; a
 * request is served from the newest block when it fits there.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define ARENA_BLOCK_SIZE ((size_t)16 * 1024)

struct arena_block {
	struct arena_block *next;
	size_t size;   /* bytes in data */
	size_t used;   /* bytes of data handed out */
	max_align_t data[];
};

void arena_init(struct arena *arena, size_t budget)
{
	arena->blocks = NULL;
	arena->used = 0;
	arena->budget = budget;
}

static struct arena_block *arena_new_block(struct arena *arena, size_t size)
{
	size_t block_size = size > ARENA_BLOCK_SIZE ? size : ARENA_BLOCK_SIZE;
	struct arena_block *block = malloc(sizeof(*block) + block_size);

	if (!block)
		return NULL;
	block->next = arena->blocks;
	block->size = block_size;
	block->used = 0;
	arena->blocks = block;
	return block;
}

void *arena_alloc(struct arena *arena, size_t size)
{
	size_t rounded = (size + 7) & ~(size_t)7;
	struct arena_block *block = arena->blocks;

	if (rounded < size || rounded > arena->budget - arena->used)
		return NULL;
	if (!block || block->size - block->used < rounded) {
		block = arena_new_block(arena, rounded);
		if (!block)
			return NULL;
	}
	unsigned char *memory = (unsigned char *)block->data + block->used;
	block->used += rounded;
	arena->used += rounded;
	memset(memory, 0, size);
	return memory;
}

char *arena_strndup(struct arena *arena, const char *text, size_t length)
{
	char *copy;

	if (length == SIZE_MAX)
		return NULL;
	copy = arena_alloc(arena, length + 1);
	if (!copy)
		return NULL;
	memcpy(copy, text, length);
	copy[length] = '\0';
	return copy;
}

void arena_release(struct arena *arena)
{
	struct arena_block *block = arena->blocks;

	while (block) {
		struct arena_block *next = block->next;

		free(block);
		block = next;
	}
	arena->blocks = NULL;
	arena->used = 0;
}

void arena_reset(struct arena *arena)
{
	struct arena_block *oldest = arena->blocks;

	if (!oldest)
		return;
	while (oldest->next) {
		struct arena_block *newer = oldest;

		oldest = oldest->next;
		free(newer);
	}
	oldest->used = 0;
	arena->blocks = oldest;
	arena->used = 0;
}
