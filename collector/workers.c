/*
 * workers.c - a thread pool with a FIFO queue (workers.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "workers.h"

struct workers {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct work *head, *tail;
	size_t queued, max_queued;
	bool stopping;
	pthread_t *threads;
	int thread_count;
};

static void *worker_main(void *argument)
{
	struct workers *workers = argument;

	pthread_mutex_lock(&workers->lock);
	for (;;) {
		while (!workers->head && !workers->stopping)
			pthread_cond_wait(&workers->wake, &workers->lock);
		if (!workers->head)
			break;
		struct work *work = workers->head;

		workers->head = work->next;
		if (!workers->head)
			workers->tail = NULL;
		workers->queued--;
		pthread_mutex_unlock(&workers->lock);
		work->run(work);
		pthread_mutex_lock(&workers->lock);
	}
	pthread_mutex_unlock(&workers->lock);
	return NULL;
}

int workers_start(struct workers **out, int threads, size_t max_queued)
{
	struct workers *workers = calloc(1, sizeof(*workers));

	if (!workers)
		return -ENOMEM;
	pthread_mutex_init(&workers->lock, NULL);
	pthread_cond_init(&workers->wake, NULL);
	workers->max_queued = max_queued;
	workers->threads = calloc((size_t)threads, sizeof(*workers->threads));
	if (!workers->threads) {
		workers_stop(workers);
		return -ENOMEM;
	}
	for (int i = 0; i < threads; i++) {
		if (pthread_create(&workers->threads[i], NULL, worker_main, workers) != 0) {
			workers_stop(workers);
			return -EAGAIN;
		}
		workers->thread_count++;
	}
	*out = workers;
	return 0;
}

int workers_submit(struct workers *workers, struct work *work)
{
	int result = 0;

	work->next = NULL;
	pthread_mutex_lock(&workers->lock);
	if (workers->stopping)
		result = -ESHUTDOWN;
	else if (workers->queued >= workers->max_queued)
		result = -EBUSY;
	if (result == 0) {
		if (workers->tail)
			workers->tail->next = work;
		else
			workers->head = work;
		workers->tail = work;
		workers->queued++;
		pthread_cond_signal(&workers->wake);
	}
	pthread_mutex_unlock(&workers->lock);
	return result;
}

void workers_stop(struct workers *workers)
{
	if (!workers)
		return;
	pthread_mutex_lock(&workers->lock);
	workers->stopping = true;
	pthread_cond_broadcast(&workers->wake);
	pthread_mutex_unlock(&workers->lock);
	for (int i = 0; i < workers->thread_count; i++)
		pthread_join(workers->threads[i], NULL);
	pthread_mutex_destroy(&workers->lock);
	pthread_cond_destroy(&workers->wake);
	free(workers->threads);
	free(workers);
}
