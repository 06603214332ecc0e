/*
 * metrics.c - counters and the Prometheus text (metrics.h).
 *
 * The only state of the collector beyond its configuration: process-wide
 * counters, as a Prometheus client library keeps them.
 */
#include <stdatomic.h>
#include <stdio.h>

#include "metrics.h"

static const int status_codes[] = {200, 400, 401, 403, 404, 405, 408, 413, 415, 500, 503};
#define STATUS_COUNT (sizeof(status_codes) / sizeof(status_codes[0]))

static const double batch_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define BUCKET_COUNT (sizeof(batch_buckets) / sizeof(batch_buckets[0]))

static atomic_uint_fast64_t requests[ENDPOINT_COUNT][STATUS_COUNT + 1];
static atomic_uint_fast64_t counters[COUNTER_COUNT];
static atomic_uint_fast64_t batch_bucket_counts[BUCKET_COUNT + 1];
static atomic_uint_fast64_t batch_microseconds;
static atomic_int_fast64_t open_connections;

static const struct {
	const char *name, *help;
} counter_info[COUNTER_COUNT] = {
	[COUNTER_RECORDS] = {"records_stored_total", "DeviceProcessEvents records stored"},
	[COUNTER_HITS] = {"hits_stored_total", "rule hits stored"},
	[COUNTER_SUMMARIES] = {"summaries_stored_total", "rule summaries replaced by newer ones"},
	[COUNTER_DUPLICATES] = {"duplicates_total",
				"records, hits and summaries received again (not stored twice)"},
	[COUNTER_BATCHES] = {"batches_stored_total", "batches stored"},
	[COUNTER_BYTES_IN] = {"received_bytes_total", "request body bytes received"},
	[COUNTER_BYTES_DECOMPRESSED] = {"decompressed_bytes_total",
					"batch bytes after decompression"},
	[COUNTER_HEARTBEATS] = {"heartbeats_total", "heartbeats stored"},
	[COUNTER_ENROLLMENTS] = {"enrollments_total", "devices enrolled"},
	[COUNTER_CONNECTIONS_REFUSED] = {"connections_refused_total",
					 "requests answered 503 over --max-connections"},
	[COUNTER_CONNECTIONS_CUT] = {"connections_cut_total",
				     "connections closed past --request-timeout"},
	[COUNTER_STORE_ERRORS] = {"store_errors_total", "store operations that failed"},
};

const char *metrics_endpoint_name(enum metrics_endpoint endpoint)
{
	static const char *const names[ENDPOINT_COUNT] = {
		"enroll", "events", "heartbeat", "query", "devices", "healthz", "metrics", "other"};

	return endpoint < ENDPOINT_COUNT ? names[endpoint] : "other";
}

void metrics_count_request(enum metrics_endpoint endpoint, int status)
{
	size_t index = STATUS_COUNT; /* any other status */

	for (size_t i = 0; i < STATUS_COUNT; i++) {
		if (status_codes[i] == status)
			index = i;
	}
	if (endpoint >= ENDPOINT_COUNT)
		endpoint = ENDPOINT_OTHER;
	atomic_fetch_add(&requests[endpoint][index], 1);
}

void metrics_add(enum metrics_counter counter, uint64_t amount)
{
	atomic_fetch_add(&counters[counter], amount);
}

void metrics_observe_batch(double seconds)
{
	size_t bucket = BUCKET_COUNT;

	for (size_t i = 0; i < BUCKET_COUNT; i++) {
		if (seconds <= batch_buckets[i]) {
			bucket = i;
			break;
		}
	}
	atomic_fetch_add(&batch_bucket_counts[bucket], 1);
	atomic_fetch_add(&batch_microseconds, (uint64_t)(seconds * 1e6));
}

void metrics_set_connections(int64_t open)
{
	atomic_store(&open_connections, open);
}

static void render_requests(struct strbuf *out)
{
	strbuf_append_string(out, "# HELP rmmhunt_collector_requests_total HTTP requests answered,"
				  " by endpoint and status code\n"
				  "# TYPE rmmhunt_collector_requests_total counter\n");
	for (int endpoint = 0; endpoint < ENDPOINT_COUNT; endpoint++) {
		for (size_t i = 0; i <= STATUS_COUNT; i++) {
			uint64_t count = atomic_load(&requests[endpoint][i]);

			if (count == 0)
				continue;
			if (i < STATUS_COUNT)
				strbuf_appendf(out, "rmmhunt_collector_requests_total{endpoint=\"%s\","
						    "code=\"%d\"} %llu\n",
					       metrics_endpoint_name(endpoint), status_codes[i],
					       (unsigned long long)count);
			else
				strbuf_appendf(out, "rmmhunt_collector_requests_total{endpoint=\"%s\","
						    "code=\"other\"} %llu\n",
					       metrics_endpoint_name(endpoint), (unsigned long long)count);
		}
	}
}

static void render_histogram(struct strbuf *out)
{
	uint64_t cumulative = 0;

	strbuf_append_string(out, "# HELP rmmhunt_collector_batch_seconds time from a batch's last"
				  " byte to its answer\n"
				  "# TYPE rmmhunt_collector_batch_seconds histogram\n");
	for (size_t i = 0; i < BUCKET_COUNT; i++) {
		cumulative += atomic_load(&batch_bucket_counts[i]);
		strbuf_appendf(out, "rmmhunt_collector_batch_seconds_bucket{le=\"%g\"} %llu\n",
			       batch_buckets[i], (unsigned long long)cumulative);
	}
	cumulative += atomic_load(&batch_bucket_counts[BUCKET_COUNT]);
	strbuf_appendf(out,
		       "rmmhunt_collector_batch_seconds_bucket{le=\"+Inf\"} %llu\n"
		       "rmmhunt_collector_batch_seconds_sum %.6f\n"
		       "rmmhunt_collector_batch_seconds_count %llu\n",
		       (unsigned long long)cumulative,
		       (double)atomic_load(&batch_microseconds) / 1e6,
		       (unsigned long long)cumulative);
}

static void gauge(struct strbuf *out, const char *name, const char *help, int64_t value)
{
	strbuf_appendf(out, "# HELP rmmhunt_collector_%s %s\n# TYPE rmmhunt_collector_%s gauge\n"
			    "rmmhunt_collector_%s %lld\n",
		       name, help, name, name, (long long)value);
}

void metrics_render(struct strbuf *out, const struct metrics_devices *devices,
		    const struct store_stats *stats)
{
	render_requests(out);
	for (int i = 0; i < COUNTER_COUNT; i++)
		strbuf_appendf(out, "# HELP rmmhunt_collector_%s %s\n"
				    "# TYPE rmmhunt_collector_%s counter\nrmmhunt_collector_%s %llu\n",
			       counter_info[i].name, counter_info[i].help, counter_info[i].name,
			       counter_info[i].name, (unsigned long long)atomic_load(&counters[i]));
	render_histogram(out);
	gauge(out, "connections", "connections open now", atomic_load(&open_connections));
	if (devices) {
		strbuf_append_string(out, "# HELP rmmhunt_collector_devices devices by state\n"
					  "# TYPE rmmhunt_collector_devices gauge\n");
		strbuf_appendf(out,
			       "rmmhunt_collector_devices{state=\"known\"} %lld\n"
			       "rmmhunt_collector_devices{state=\"silent\"} %lld\n"
			       "rmmhunt_collector_devices{state=\"revoked\"} %lld\n"
			       "rmmhunt_collector_devices{state=\"losses\"} %lld\n",
			       (long long)devices->total, (long long)devices->silent,
			       (long long)devices->revoked, (long long)devices->losses);
	}
	if (stats) {
		gauge(out, "store_bytes", "bytes of the store in use", stats->data_bytes);
		gauge(out, "store_wal_bytes", "bytes of the store's write-ahead log", stats->wal_bytes);
		strbuf_appendf(out,
			       "# HELP rmmhunt_collector_retention_removed_total rows removed by"
			       " retention\n# TYPE rmmhunt_collector_retention_removed_total counter\n"
			       "rmmhunt_collector_retention_removed_total{table=\"DeviceProcessEvents\"}"
			       " %llu\n"
			       "rmmhunt_collector_retention_removed_total{table=\"RuleHits\"} %llu\n",
			       (unsigned long long)stats->retention_records,
			       (unsigned long long)stats->retention_hits);
	}
}
