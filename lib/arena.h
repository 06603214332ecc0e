/*
 * arena.h - a bump allocator with a byte budget, for parse results.
 *
 * A reader of an untrusted file allocates everything it returns (strings,
 * tables) from one arena: the result is freed in one call, and the budget
 * bounds the memory any file can make the reader use, whatever its
 * structure claims.  Allocations are 8-byte aligned and never freed one by
 * one.
 */
#ifndef RMMHUNT_ARENA_H
#define RMMHUNT_ARENA_H

#include <stddef.h>

struct arena_block;

struct arena {
	struct arena_block *blocks;  /* newest first */
	size_t used;                 /* bytes handed out, padding included */
	size_t budget;               /* most bytes it may hand out */
};

/* An empty arena that will hand out at most budget bytes (SIZE_MAX: no
 * limit but memory). */
void arena_init(struct arena *arena, size_t budget);

/*
 * size zeroed bytes, or NULL when the budget would be exceeded or malloc
 * fails.  Callers treat NULL as "limit reached" (-ENOMEM).
 */
void *arena_alloc(struct arena *arena, size_t size);

/* A NUL-terminated copy of length bytes at text, or NULL. */
char *arena_strndup(struct arena *arena, const char *text, size_t length);

/* Forget every allocation but keep the oldest block for reuse (the record
 * builder resets one arena per record). */
void arena_reset(struct arena *arena);

/* Free every block; the arena is empty and reusable afterwards. */
void arena_release(struct arena *arena);

#endif
