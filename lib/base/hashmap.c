/*
 * hashmap.c - linear probing, backward-shift deletion, load factor <= 1/2.
 */
#include <errno.h>
#include <stdlib.h>

#include "base/hashmap.h"

#define HASHMAP_MIN_CAPACITY 16

uint64_t hashmap_mix64(uint64_t value)
{
	value ^= value >> 33;
	value *= 0xff51afd7ed558ccdULL;
	value ^= value >> 33;
	value *= 0xc4ceb9fe1a85ec53ULL;
	value ^= value >> 33;
	return value;
}

void hashmap_init(struct hashmap *map, const struct hashmap_type *type)
{
	map->type = type;
	map->slots = NULL;
	map->capacity = 0;
	map->count = 0;
}

void hashmap_free(struct hashmap *map)
{
	free(map->slots);
	hashmap_init(map, map->type);
}

static size_t find_slot(const struct hashmap *map, const void *key)
{
	size_t mask = map->capacity - 1;
	size_t slot = (size_t)map->type->hash_key(key) & mask;

	while (map->slots[slot] &&
	       !map->type->entry_has_key(map->slots[slot], key))
		slot = (slot + 1) & mask;
	return slot;
}

void *hashmap_get(const struct hashmap *map, const void *key)
{
	if (map->count == 0)
		return NULL;
	return map->slots[find_slot(map, key)];
}

static void place(void **slots, size_t capacity, void *entry, uint64_t hash)
{
	size_t mask = capacity - 1;
	size_t slot = (size_t)hash & mask;

	while (slots[slot])
		slot = (slot + 1) & mask;
	slots[slot] = entry;
}

static int grow(struct hashmap *map)
{
	size_t capacity = map->capacity ? map->capacity * 2 : HASHMAP_MIN_CAPACITY;
	void **slots = calloc(capacity, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < map->capacity; i++) {
		if (map->slots[i])
			place(slots, capacity, map->slots[i],
			      map->type->hash_entry(map->slots[i]));
	}
	free(map->slots);
	map->slots = slots;
	map->capacity = capacity;
	return 0;
}

int hashmap_insert(struct hashmap *map, void *entry)
{
	if ((map->count + 1) * 2 > map->capacity) {
		int result = grow(map);

		if (result)
			return result;
	}
	place(map->slots, map->capacity, entry, map->type->hash_entry(entry));
	map->count++;
	return 0;
}

void *hashmap_remove(struct hashmap *map, const void *key)
{
	size_t mask, hole, slot;
	void *removed;

	if (map->count == 0)
		return NULL;
	mask = map->capacity - 1;
	hole = find_slot(map, key);
	removed = map->slots[hole];
	if (!removed)
		return NULL;
	map->slots[hole] = NULL;
	map->count--;
	/* Pull back every later entry of the run that may sit at the hole. */
	for (slot = (hole + 1) & mask; map->slots[slot]; slot = (slot + 1) & mask) {
		size_t home = (size_t)map->type->hash_entry(map->slots[slot]) & mask;
		bool movable = hole <= slot ? (home <= hole || home > slot)
					    : (home <= hole && home > slot);
		if (!movable)
			continue;
		map->slots[hole] = map->slots[slot];
		map->slots[slot] = NULL;
		hole = slot;
	}
	return removed;
}

bool hashmap_next(const struct hashmap *map, size_t *position, void **entry)
{
	while (*position < map->capacity) {
		void *candidate = map->slots[(*position)++];

		if (candidate) {
			*entry = candidate;
			return true;
		}
	}
	return false;
}
