/*
 * arena.h - bump allocation: many small allocations, freed all at once.
 *
 * Used wherever a result is built from many pieces with one lifetime: a
 * record's strings (reset per record), a parse result of an untrusted file
 * (with a byte budget, so no file can make a reader use unbounded memory),
 * a compiled KQL query, a KQL row's scratch values (reset per row).
 *
 * A zeroed struct arena is a valid empty arena without a budget.
 * Allocations are zeroed and 16-byte aligned.  arena_reset() keeps every
 * block for reuse, so a steady state allocates nothing.
 */
#ifndef RMMHUNT_ARENA_H
#define RMMHUNT_ARENA_H

#include <stdbool.h>
#include <stddef.h>

struct arena_block;

struct arena {
	struct arena_block *first;
	struct arena_block *current;
	size_t used; /* bytes handed out since the last reset, padding included */
	size_t budget; /* most bytes it may hand out; 0: no limit but memory */
};

/* An empty arena that hands out at most budget bytes (0: no limit). */
void arena_init(struct arena *arena, size_t budget);

/*
 * size zeroed bytes, or NULL when the budget would be exceeded or malloc
 * fails.  Callers treat NULL as "limit reached" (-ENOMEM).
 */
void *arena_alloc(struct arena *arena, size_t size);

/* A NUL-terminated copy of length bytes at text, or NULL. */
char *arena_strndup(struct arena *arena, const char *text, size_t length);

/* Forget every allocation; keep the blocks for reuse. */
void arena_reset(struct arena *arena);

/* Nothing allocated since the last reset? */
bool arena_is_empty(const struct arena *arena);

/* Free every block; the arena is empty and reusable afterwards. */
void arena_release(struct arena *arena);

#endif
