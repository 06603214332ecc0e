/*
 * pool.c - a pool of connections a store's threads share (pool.h): a free
 * list under a mutex, and a condition variable for the threads waiting.
 */
#include "pool.h"

void pool_init(struct pool *pool)
{
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->wait, NULL);
	pool->free_items = NULL;
}

void pool_destroy(struct pool *pool)
{
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->wait);
}

struct pool_item *pool_take(struct pool *pool)
{
	struct pool_item *item;

	pthread_mutex_lock(&pool->lock);
	while (!pool->free_items)
		pthread_cond_wait(&pool->wait, &pool->lock);
	item = pool->free_items;
	pool->free_items = item->next_free;
	pthread_mutex_unlock(&pool->lock);
	return item;
}

void pool_give(struct pool *pool, struct pool_item *item)
{
	pthread_mutex_lock(&pool->lock);
	item->next_free = pool->free_items;
	pool->free_items = item;
	pthread_cond_signal(&pool->wait);
	pthread_mutex_unlock(&pool->lock);
}
