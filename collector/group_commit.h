/*
 * group_commit.h - batches that wait for the store's one writer are stored
 * together, in one transaction.
 *
 * The first batch to come finds the writer free and writes; batches that
 * come meanwhile queue up, and when the writer is free again the first of
 * them writes all that queued (up to GROUP_COMMIT_MAX) in one transaction
 * (store_backend.h, put_batches): each batch all or nothing on its own, one
 * commit for them all.  Each caller returns only when its batch's
 * transaction committed (or failed): nothing is acknowledged before it is
 * stored.  With one agent there is never a queue: nothing changes.
 */
#ifndef RMMHUNT_COLLECTOR_GROUP_COMMIT_H
#define RMMHUNT_COLLECTOR_GROUP_COMMIT_H

#include <pthread.h>
#include <stdbool.h>

#include "store_backend.h"

#define GROUP_COMMIT_MAX 16

/* A batch waiting for the writer: the caller's, until group_commit_put returns. */
struct group_waiter {
	struct store_group_job job;
	bool done;
	struct group_waiter *next;
};

struct group_commit {
	pthread_mutex_t lock;
	pthread_cond_t written;
	struct group_waiter *head, *tail; /* waiting to be written */
	bool writing;
};

void group_commit_init(struct group_commit *group);
void group_commit_destroy(struct group_commit *group);

/*
 * Stores waiter->job.batch through backend->put_batches (which must be set)
 * with whatever else waits; fills waiter->job's result and status, returns
 * the status.
 */
int group_commit_put(struct group_commit *group, const struct store_backend *backend, void *state,
		     struct group_waiter *waiter, int64_t now);

#endif
