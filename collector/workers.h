/*
 * workers.h - a fixed pool of threads running queued jobs in order.
 *
 * The HTTP threads only move bytes; decoding, storing and querying run
 * here, so a slow query or a big batch never holds up another connection.
 * The collector keeps two pools: one for writes (events, heartbeats,
 * enrollments, health) and one for reads (queries, device lists), so a
 * long query never delays ingestion.
 */
#ifndef RMMHUNT_COLLECTOR_WORKERS_H
#define RMMHUNT_COLLECTOR_WORKERS_H

#include <stddef.h>

struct workers;

struct work {
	void (*run)(struct work *work);
	struct work *next; /* the pool's queue */
};

/* threads workers; at most max_queued jobs wait (then workers_submit refuses). */
int workers_start(struct workers **out, int threads, size_t max_queued);
/* -EBUSY when max_queued jobs already wait, -ESHUTDOWN when stopping. */
int workers_submit(struct workers *workers, struct work *work);
/* Runs what is queued, then joins the threads. */
void workers_stop(struct workers *workers);

#endif
