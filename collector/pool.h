/*
 * pool.h - a pool of connections a store's threads share: a thread takes
 * one (waiting while all are in use) and gives it back.  The SQLite store
 * pools its reader connections, the PostgreSQL store its libpq
 * connections.  A pooled object starts with a struct pool_item.
 */
#ifndef RMMHUNT_COLLECTOR_POOL_H
#define RMMHUNT_COLLECTOR_POOL_H

#include <pthread.h>

struct pool_item {
	struct pool_item *next_free;
};

struct pool {
	pthread_mutex_t lock;
	pthread_cond_t wait;
	struct pool_item *free_items;
};

void pool_init(struct pool *pool);
void pool_destroy(struct pool *pool);
/* Waits for a free item and takes it. */
struct pool_item *pool_take(struct pool *pool);
/* Gives item (taken, or new to the pool) back; wakes one waiting thread. */
void pool_give(struct pool *pool, struct pool_item *item);

#endif
