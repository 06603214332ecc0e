/*
 * metrics.h - the collector's counters, and /metrics in the Prometheus text
 * format 0.0.4.  Counts and latencies only: never a command line, a device
 * name or a key (labels come from fixed lists: endpoints and status codes).
 * Counters are atomics, bumped from any thread.
 */
#ifndef RMMHUNT_COLLECTOR_METRICS_H
#define RMMHUNT_COLLECTOR_METRICS_H

#include <stdint.h>

#include "base/strbuf.h"
#include "store.h"

enum metrics_endpoint {
	ENDPOINT_ENROLL,
	ENDPOINT_EVENTS,
	ENDPOINT_HEARTBEAT,
	ENDPOINT_QUERY,
	ENDPOINT_DEVICES,
	ENDPOINT_HEALTH,
	ENDPOINT_METRICS,
	ENDPOINT_OTHER,
	ENDPOINT_COUNT
};

enum metrics_counter {
	COUNTER_RECORDS,
	COUNTER_HITS,
	COUNTER_SUMMARIES,
	COUNTER_DUPLICATES,
	COUNTER_BATCHES,
	COUNTER_BYTES_IN,
	COUNTER_BYTES_DECOMPRESSED,
	COUNTER_HEARTBEATS,
	COUNTER_ENROLLMENTS,
	COUNTER_CONNECTIONS_REFUSED, /* over --max-connections: 503 */
	COUNTER_CONNECTIONS_CUT,     /* past --request-timeout */
	COUNTER_STORE_ERRORS,
	COUNTER_COUNT
};

const char *metrics_endpoint_name(enum metrics_endpoint endpoint);

void metrics_count_request(enum metrics_endpoint endpoint, int status);
void metrics_add(enum metrics_counter counter, uint64_t amount);
/* A stored batch took seconds (from its last byte to its answer). */
void metrics_observe_batch(double seconds);
void metrics_set_connections(int64_t open);

/* devices, stats: what the store says now (may be NULL when unknown). */
struct metrics_devices {
	int64_t total, silent, revoked, losses;
};
void metrics_render(struct strbuf *out, const struct metrics_devices *devices,
		    const struct store_stats *stats);

#endif
