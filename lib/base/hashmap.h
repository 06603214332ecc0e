/*
 * hashmap.h - an open-addressing hash table of pointers.
 *
 * The table stores pointers to the caller's entries; each entry carries its
 * own key.  The caller supplies how to hash a key, how to hash an entry, and
 * how to compare an entry with a key.  Linear probing with backward-shift
 * deletion: no tombstones, so lookups stay short however many entries come
 * and go (the process table churns constantly).
 */
#ifndef RMMHUNT_HASHMAP_H
#define RMMHUNT_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hashmap_type {
	uint64_t (*hash_key)(const void *key);
	uint64_t (*hash_entry)(const void *entry);
	bool (*entry_has_key)(const void *entry, const void *key);
};

struct hashmap {
	const struct hashmap_type *type;
	void **slots;
	size_t capacity; /* power of two, or 0 */
	size_t count;
};

void hashmap_init(struct hashmap *map, const struct hashmap_type *type);
/* Frees the table, not the entries. */
void hashmap_free(struct hashmap *map);

void *hashmap_get(const struct hashmap *map, const void *key);
/* Insert entry (its key must not be present).  0 or -ENOMEM. */
int hashmap_insert(struct hashmap *map, void *entry);
/* Remove and return the entry with this key, or NULL. */
void *hashmap_remove(struct hashmap *map, const void *key);

/* Iteration: for (size_t i = 0; hashmap_next(map, &i, &entry);) */
bool hashmap_next(const struct hashmap *map, size_t *position, void **entry);

/* A good 64-bit mix for integer keys. */
uint64_t hashmap_mix64(uint64_t value);

#endif
