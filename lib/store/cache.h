/*
 * cache.h - the host's local event cache (SQLite, WAL).
 *
 * Every DeviceProcessEvents record the agent produces, every rule hit and
 * every rule summary is kept here, so a responder on a suspected host can ask
 * "what ran here" in KQL without the collector (rmmhunt query).  One writer
 * (the agent) and any number of readers (the CLI) share the file.
 *
 * Writes are batched: records go into an open transaction that is committed
 * at least every commit_interval_ms and every commit_max_records records.  A
 * record counts as stored (and may be shipped) only once its transaction
 * committed: cache_committed_sequences() tells how far that is.  Records,
 * hits and summary versions carry numbers that only grow and are never
 * reused (see cache.c), so a shipper can follow them with cursors
 * (cache_outbox.h).
 *
 * Retention removes records by age and by size (whichever bites first),
 * oldest first, in small chunks so capture never stalls; hits and summaries
 * have their own, longer age limit.  Over the size limit, records no rule
 * hit go before records a rule hit, and hits go only when no record is
 * left.  What retention removed is counted and the counts persist in the
 * file.
 *
 * Files are 0600: command lines can hold secrets.
 */
#ifndef RMMHUNT_CACHE_H
#define RMMHUNT_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "model/record.h"

#define CACHE_FILE_NAME "cache.db"

struct cache_options {
	int64_t max_age_ticks; /* records older than this go (default 7 days) */
	int64_t max_bytes; /* records beyond this size go, oldest first (512 MiB) */
	int64_t hits_max_age_ticks; /* hits and summaries (default 90 days) */
	int commit_interval_ms; /* default 250 */
	int commit_max_records; /* default 4096 */
	int retention_chunk; /* rows per retention step (default 2000) */
};

struct cache_stats {
	uint64_t records_written; /* committed */
	uint64_t hits_written;
	uint64_t commits;
	uint64_t write_errors; /* records that could not be stored */
	uint64_t retention_records; /* removed by retention, ever (persisted) */
	uint64_t retention_hits;
	int64_t data_bytes; /* pages in use */
	int64_t wal_bytes;
	uint64_t checkpoints;
};

struct cache;

void cache_default_options(struct cache_options *options);

/*
 * Open (create) the cache for writing at path.  Returns 0 or a negative
 * errno; message gets a sentence naming the file and the cause.
 */
int cache_open_writer(struct cache **out, const char *path,
		      const struct cache_options *options, char *message,
		      size_t message_size);
/* Commits what is pending and closes. */
void cache_close(struct cache *cache);

/* Add to the open transaction (opened on demand). */
int cache_add_record(struct cache *cache, const struct record *record);
int cache_add_hit(struct cache *cache, const char *rule_id,
		  const char *rule_name, const char *tactics,
		  const char *techniques, const struct record *record);
/* summary_json: the result rows as JSON objects; columns_json: its columns,
 * [{"name": ..., "type": Kusto type}, ...]. */
int cache_put_summary(struct cache *cache, const char *rule_id,
		      const char *rule_name, const char *summary_json,
		      const char *columns_json, int64_t updated_ticks);

/* Commit when the interval or the count says so; now_ms is monotonic. */
int cache_commit_if_due(struct cache *cache, int64_t now_ms);
int cache_commit(struct cache *cache);
/* When (monotonic ms) the open transaction is due for its commit; -1: none
 * is open. */
int64_t cache_commit_deadline_ms(const struct cache *cache);

/* Is a transaction open (records added but not yet committed)? */
bool cache_in_transaction(const struct cache *cache);

/* The largest record number (rowid), HitId and summary Sequence committed. */
struct cache_sequences {
	int64_t records, hits, summaries;
};
void cache_committed_sequences(const struct cache *cache, struct cache_sequences *out);

/*
 * One retention step: removes at most one chunk of what the limits say must
 * go (age first, then size), and returns how many rows were removed (0 when
 * nothing is due), or a negative errno.  Call it repeatedly from a timer.
 */
int cache_retention_step(struct cache *cache, int64_t now_ticks);

void cache_read_stats(struct cache *cache, struct cache_stats *stats);

#endif
