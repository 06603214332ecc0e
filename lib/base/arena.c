/*
 * arena.c - bump allocation from a chain of malloc'd blocks (see arena.h).
 *
 * Blocks are 16 KiB, or exactly the size asked for when that is larger.  A
 * request is served from the current block; when it does not fit, the next
 * block of the chain (kept from before a reset) is tried, then a new one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"

#define ARENA_BLOCK_SIZE ((size_t)16 * 1024)
#define ARENA_ALIGN 16

struct arena_block {
	struct arena_block *next;
	size_t size; /* bytes in data */
	size_t used; /* bytes of data handed out */
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

void arena_init(struct arena *arena, size_t budget)
{
	memset(arena, 0, sizeof(*arena));
	arena->budget = budget;
}

static struct arena_block *block_new(size_t size)
{
	size_t block_size = size > ARENA_BLOCK_SIZE ? size : ARENA_BLOCK_SIZE;
	struct arena_block *block = malloc(sizeof(*block) + block_size);

	if (!block)
		return NULL;
	block->next = NULL;
	block->size = block_size;
	block->used = 0;
	return block;
}

/* A block with room for rounded bytes: the current one, a kept one, or new. */
static struct arena_block *block_with_room(struct arena *arena, size_t rounded)
{
	struct arena_block *block;

	while (arena->current) {
		block = arena->current;
		if (block->size - block->used >= rounded)
			return block;
		if (!block->next)
			break;
		arena->current = block->next;
		arena->current->used = 0;
	}
	block = block_new(rounded);
	if (!block)
		return NULL;
	if (arena->current) {
		/* a kept block too small for this request: insert before it */
		block->next = arena->current->next;
		arena->current->next = block;
	} else {
		arena->first = block;
	}
	arena->current = block;
	return block;
}

void *arena_alloc(struct arena *arena, size_t size)
{
	size_t rounded = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	struct arena_block *block;
	unsigned char *memory;

	if (rounded < size)
		return NULL;
	if (rounded == 0)
		rounded = ARENA_ALIGN;
	if (arena->budget && rounded > arena->budget - arena->used)
		return NULL;
	block = block_with_room(arena, rounded);
	if (!block)
		return NULL;
	memory = block->data + block->used;
	block->used += rounded;
	arena->used += rounded;
	memset(memory, 0, rounded);
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
	if (length)
		memcpy(copy, text, length);
	copy[length] = '\0';
	return copy;
}

void arena_reset(struct arena *arena)
{
	arena->current = arena->first;
	if (arena->current)
		arena->current->used = 0;
	arena->used = 0;
}

bool arena_is_empty(const struct arena *arena)
{
	return arena->used == 0;
}

void arena_release(struct arena *arena)
{
	struct arena_block *block = arena->first;

	while (block) {
		struct arena_block *next = block->next;

		free(block);
		block = next;
	}
	arena->first = NULL;
	arena->current = NULL;
	arena->used = 0;
}
