/*
 * store_backend.h - what a store backend implements (store.h dispatches).
 *
 * A backend keeps devices, events, hits and summaries; store.c adds what is
 * the same for every backend (the DeviceInfo table, the query run).  Each
 * operation has the meaning of its store_* counterpart in store.h.
 */
#ifndef RMMHUNT_COLLECTOR_STORE_BACKEND_H
#define RMMHUNT_COLLECTOR_STORE_BACKEND_H

#include <jansson.h>

#include "store.h"
#include "store/store_query.h"

/* One batch of a group stored in one transaction (put_batches). */
struct store_group_job {
	const struct batch *batch;
	const char *peer_address;
	struct store_batch_result result; /* when status is 0 */
	int status;			  /* 0 stored, or a negative errno: none of it stored */
	const void *prepared;		  /* prepare_batch's work on batch, or NULL */
};

struct store_backend {
	const char *name;
	int (*open)(const char *location, const struct store_options *options, void **state,
		    char *message, size_t message_size);
	void (*close)(void *state);
	int (*enroll)(void *state, const char *device_id, const char *device_name,
		      const char *agent_version, const unsigned char key_hash[STORE_KEY_HASH_BYTES],
		      int64_t now);
	int (*lookup_key)(void *state, const unsigned char key_hash[STORE_KEY_HASH_BYTES],
			  char device_id[BATCH_ID_MAX + 1], bool *revoked);
	int (*check_certificate_device)(void *state, const char *device_id, int64_t now);
	int (*set_revoked)(void *state, const char *device_id, bool revoked, int64_t now);
	int (*put_batch)(void *state, const struct batch *batch, const char *peer_address,
			 int64_t now, struct store_batch_result *result);
	int (*put_heartbeat)(void *state, const struct store_heartbeat *heartbeat, int64_t now);
	/*
	 * Runs query over the backend's event tables (DeviceProcessEvents,
	 * RuleHits, RuleSummaries) plus the extra tables given (DeviceInfo).
	 */
	int (*run_query)(void *state, struct kql_query *query, const struct store_table *extra,
			 size_t extra_count, int64_t now, struct kql_table **result,
			 struct kql_error *error);
	/*
	 * The same, also appending to plan (a JSON array) one object per table
	 * read: what ran in the backend, how many rows came to the collector.
	 * Optional: store.c falls back on run_query.
	 */
	int (*run_query_planned)(void *state, struct kql_query *query,
				 const struct store_table *extra, size_t extra_count, int64_t now,
				 struct kql_table **result, struct kql_error *error, json_t *plan);
	int (*list_devices)(void *state, struct store_device **devices, size_t *count);
	int (*retention_step)(void *state, int64_t now);
	int (*read_stats)(void *state, struct store_stats *stats);
	int (*check_writable)(void *state);
	/*
	 * Optional (NULL: store.c calls put_batch for each batch): stores the
	 * batches in one transaction, each all or nothing on its own (a batch
	 * that fails is undone and gets its status; the others are kept), and
	 * returns after the commit.  When the transaction itself fails every
	 * job gets the failure: nothing was stored.
	 */
	void (*put_batches)(void *state, struct store_group_job *jobs, size_t count, int64_t now);
	/*
	 * Optional: the per-record work on a batch that needs no writer, done
	 * on the thread that decoded it before it waits for the writer (the
	 * writer is one thread; the decoders are many).  put_batches finds it
	 * in job->prepared; free_prepared frees it after.  Returns 0 or a
	 * negative errno (then nothing is stored).
	 */
	int (*prepare_batch)(void *state, const struct batch *batch, void **prepared);
	void (*free_prepared)(void *prepared);
};

extern const struct store_backend store_sqlite_backend;
extern const struct store_backend store_postgres_backend;

/* The schemas of the event tables every backend keeps. */
const struct table_schema *store_summaries_schema(void);
/* The event table (DeviceProcessEvents, RuleHits, RuleSummaries) named so, or NULL. */
const struct table_schema *store_event_table(const char *name);
/*
 * The tables a backend's query reads: the event tables, each opened as
 * opener says (its open, close and context; its schema is not used), then
 * extra.  Returns the count.
 */
size_t store_backend_tables(struct store_table tables[STORE_MAX_TABLES], struct store_table opener,
			    const struct store_table *extra, size_t extra_count);

#endif
