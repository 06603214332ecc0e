/*
 * shipper.h - the agent's shipping side: enrollment, outbox, batches,
 * heartbeats, on a thread of its own.
 *
 * The main thread (capture) never waits for the network, the collector or
 * the sender: after each cache commit it publishes the committed numbers
 * (three atomic stores and an eventfd write), and with each status.json it
 * hands over the text for the heartbeats (a pointer swap under a lock the
 * sender holds only for such swaps).  Everything else happens on the
 * sender thread: it reads the committed rows after its cursors from the
 * cache through its own read-only connection (lib/store/cache_outbox.h),
 * writes batches (lib/wire/batch_writer.h), posts them with libcurl, and
 * moves its cursors (outbox.json) only when the collector said 200.
 *
 * Failures: full-jitter backoff that honours Retry-After, failover to the
 * next --collector, a heartbeat as the probe that the collector is back,
 * then a random wait (the reconnect spread) before the backlog goes; 413
 * halves the batch size, 400 the line count, until the one line a
 * collector refuses for good is isolated (rejected, counted); 401 enrolls
 * again when the secret can still be read.  What never reaches the
 * collector is counted (outbox.json, status.json, heartbeats).
 */
#ifndef RMMHUNT_AGENT_SHIP_SHIPPER_H
#define RMMHUNT_AGENT_SHIP_SHIPPER_H

#include <stdbool.h>
#include <stdint.h>

#include "model/device.h"
#include "ship_options.h"
#include "store/cache.h"

struct shipper_context {
	const struct ship_options *options;
	const struct device_identity *identity;
	const char *state_dir;
	const char *cache_path; /* the cache the agent writes */
	struct cache_sequences committed; /* what the cache holds at start */
};

/* What the shipper has done, for status.json's "outbox" section. */
struct shipper_stats {
	char collector[256]; /* the one in use */
	const char *state; /* "starting", "enrolling", "ok", "retrying", "spreading" */
	bool enrolled;
	bool hits_only;
	int64_t pending[3]; /* records, hits, summaries not acknowledged */
	int64_t oldest_pending_ticks; /* 0: none */
	int64_t acknowledged[3];
	uint64_t dropped[3], rejected[3];
	uint64_t batches, records_sent, hits_sent, summaries_sent, duplicates, bytes_sent;
	uint64_t heartbeats, failures, splits, enrollments;
	int64_t retry_after_seconds; /* the last one a collector sent; -1 none */
	int64_t next_attempt_ms; /* from now; 0: none pending */
	int64_t last_success_ticks, last_error_ticks;
	char last_error[256];
};

struct shipper;

/*
 * Start the sender thread.  Returns 0, or a negative errno with a sentence
 * in message.  The options, identity and paths must outlive the shipper.
 */
int shipper_start(struct shipper **out, const struct shipper_context *context, char *message,
		  size_t message_size);

/* Main thread, after a commit: the largest committed numbers. */
void shipper_publish(struct shipper *shipper, const struct cache_sequences *committed);

/* Main thread: the status.json text heartbeats report (copied). */
void shipper_publish_status(struct shipper *shipper, const char *status_json);

void shipper_read_stats(struct shipper *shipper, struct shipper_stats *stats);

/*
 * Stop: the sender may go on for up to drain_ms to send what is committed
 * (a transfer still running then is aborted), then the thread ends and
 * everything is freed.  NULL is fine.
 */
void shipper_stop(struct shipper *shipper, unsigned drain_ms);

#endif
