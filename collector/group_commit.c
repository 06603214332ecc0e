/*
 * group_commit.c - one transaction for the batches that wait for the
 * writer (group_commit.h).
 */
#include "group_commit.h"

void group_commit_init(struct group_commit *group)
{
	pthread_mutex_init(&group->lock, NULL);
	pthread_cond_init(&group->written, NULL);
	group->head = group->tail = NULL;
	group->writing = false;
}

void group_commit_destroy(struct group_commit *group)
{
	pthread_mutex_destroy(&group->lock);
	pthread_cond_destroy(&group->written);
}

/* Under the lock: writes what waits (the caller's batch among it). */
static void write_group(struct group_commit *group, const struct store_backend *backend,
			void *state, int64_t now)
{
	struct store_group_job jobs[GROUP_COMMIT_MAX];
	struct group_waiter *taken[GROUP_COMMIT_MAX];
	size_t count = 0;

	while (group->head && count < GROUP_COMMIT_MAX) {
		taken[count] = group->head;
		jobs[count] = group->head->job;
		count++;
		group->head = group->head->next;
	}
	if (!group->head)
		group->tail = NULL;
	group->writing = true;
	pthread_mutex_unlock(&group->lock);
	backend->put_batches(state, jobs, count, now);
	pthread_mutex_lock(&group->lock);
	for (size_t i = 0; i < count; i++) {
		taken[i]->job = jobs[i];
		taken[i]->done = true;
	}
	group->writing = false;
	pthread_cond_broadcast(&group->written);
}

int group_commit_put(struct group_commit *group, const struct store_backend *backend, void *state,
		     struct group_waiter *waiter, int64_t now)
{
	waiter->done = false;
	waiter->next = NULL;
	pthread_mutex_lock(&group->lock);
	if (group->tail)
		group->tail->next = waiter;
	else
		group->head = waiter;
	group->tail = waiter;
	while (!waiter->done) {
		if (!group->writing)
			write_group(group, backend, state, now);
		else
			pthread_cond_wait(&group->written, &group->lock);
	}
	pthread_mutex_unlock(&group->lock);
	return waiter->job.status;
}
