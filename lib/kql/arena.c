/*
 * arena.c - bump allocation for the KQL engine.
 *
 * Compiled queries keep their syntax tree and expressions in one arena that
 * is freed with the query; row evaluation keeps temporary strings in a
 * scratch arena that is reset (not freed) after every row, so matching a
 * record allocates nothing once the arena has grown to its working size.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "internal.h"

#define ARENA_BLOCK_SIZE 8192
#define ARENA_ALIGN 16

struct arena_block {
	struct arena_block *next;
	size_t size;
	size_t used;
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

static struct arena_block *block_new(size_t size)
{
	struct arena_block *block = malloc(sizeof(*block) + size);

	if (!block)
		return NULL;
	block->next = NULL;
	block->size = size;
	block->used = 0;
	return block;
}

void *arena_alloc(struct arena *arena, size_t size)
{
	size_t rounded = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);

	if (rounded < size)
		return NULL;
	if (rounded == 0)
		rounded = ARENA_ALIGN;
	while (arena->current) {
		struct arena_block *block = arena->current;

		if (block->size - block->used >= rounded) {
			void *memory = block->data + block->used;

			block->used += rounded;
			memset(memory, 0, rounded);
			return memory;
		}
		if (!block->next)
			break;
		arena->current = block->next;
		arena->current->used = 0;
	}
	size_t block_size = rounded > ARENA_BLOCK_SIZE ? rounded : ARENA_BLOCK_SIZE;
	struct arena_block *block = block_new(block_size);

	if (!block)
		return NULL;
	if (arena->current)
		arena->current->next = block;
	else
		arena->first = block;
	arena->current = block;
	block->used = rounded;
	memset(block->data, 0, rounded);
	return block->data;
}

char *arena_strndup(struct arena *arena, const char *text, size_t length)
{
	if (length == SIZE_MAX)
		return NULL;
	char *copy = arena_alloc(arena, length + 1);

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
}

bool arena_is_empty(const struct arena *arena)
{
	return !arena->current || (arena->current == arena->first && arena->first->used == 0);
}

bool scratch_is_empty(const struct scratch *scratch)
{
	return scratch->dynamic_count == 0 && arena_is_empty(&scratch->arena);
}

void arena_free(struct arena *arena)
{
	struct arena_block *block = arena->first;

	while (block) {
		struct arena_block *next = block->next;

		free(block);
		block = next;
	}
	arena->first = NULL;
	arena->current = NULL;
}

void scratch_reset(struct scratch *scratch)
{
	for (size_t i = 0; i < scratch->dynamic_count; i++)
		json_decref(scratch->dynamics[i]);
	scratch->dynamic_count = 0;
	arena_reset(&scratch->arena);
}

void scratch_free(struct scratch *scratch)
{
	scratch_reset(scratch);
	free(scratch->dynamics);
	scratch->dynamics = NULL;
	scratch->dynamic_capacity = 0;
	arena_free(&scratch->arena);
}

int scratch_keep(struct scratch *scratch, json_t *json)
{
	if (scratch->dynamic_count == scratch->dynamic_capacity) {
		size_t capacity = scratch->dynamic_capacity ? 2 * scratch->dynamic_capacity : 16;
		json_t **grown = realloc(scratch->dynamics, capacity * sizeof(*grown));

		if (!grown) {
			json_decref(json);
			return -ENOMEM;
		}
		scratch->dynamics = grown;
		scratch->dynamic_capacity = capacity;
	}
	scratch->dynamics[scratch->dynamic_count++] = json;
	return 0;
}
