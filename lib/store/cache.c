/*
 * cache.c - the cache writer: batched inserts, retention, checkpoints.
 *
 * One connection writes (the agent's main thread).  A second connection,
 * owned by a small thread, runs PASSIVE checkpoints every second so that
 * copying the WAL into the database never stalls the inserts; when nobody
 * reads, it also truncates the WAL (journal_size_limit keeps it small).
 * Readers (rmmhunt query) read in short transactions, so they never pin an
 * old snapshot for long and the WAL cannot grow without bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/cache.h"
#include "store/cache_schema.h"
#include "store/cache_sqlite.h"
#include "base/strbuf.h"

#define DEFAULT_MAX_AGE_DAYS 7
#define DEFAULT_HITS_MAX_AGE_DAYS 90
#define CHECKPOINT_PERIOD_MS 1000
#define CHECKPOINT_IDLE_SECONDS 10
#define CHECKPOINT_WAL_BYTES (16LL << 20)
#define WAL_TRUNCATE_BYTES (64LL << 20)
#define SIZE_STEP_BYTES 4096
#define CACHE_PAGE_SIZE "65536"

enum statement {
	STATEMENT_BEGIN,
	STATEMENT_COMMIT,
	STATEMENT_INSERT_RECORD,
	STATEMENT_INSERT_HIT,
	STATEMENT_PUT_SUMMARY,
	STATEMENT_DELETE_OLD_RECORDS,
	STATEMENT_DELETE_OLDEST_RECORDS,
	STATEMENT_DELETE_OLD_HITS,
	STATEMENT_DELETE_OLD_SUMMARIES,
	STATEMENT_ADD_META,
	STATEMENT_COUNT
};

struct cache {
	sqlite3 *db;
	sqlite3_stmt *statements[STATEMENT_COUNT];
	struct cache_options options;
	char *path;
	bool in_transaction;
	int pending_records, pending_hits;
	int64_t transaction_started_ms;
	uint64_t committed_sequence;
	struct cache_stats stats;
	/* checkpointer */
	pthread_t checkpointer;
	bool checkpointer_started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
	uint64_t checkpoints; /* under lock */
};

void cache_default_options(struct cache_options *options)
{
	options->max_age_ticks = DEFAULT_MAX_AGE_DAYS * TICKS_PER_DAY;
	options->max_bytes = 512LL << 20;
	options->hits_max_age_ticks = DEFAULT_HITS_MAX_AGE_DAYS * TICKS_PER_DAY;
	options->commit_interval_ms = 250;
	options->commit_max_records = 4096;
	options->retention_chunk = 2000;
}

static int64_t monotonic_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static int execute(sqlite3 *db, const char *sql)
{
	return cache_sqlite_errno(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

static void build_insert(struct strbuf *sql, const char *table,
			 const char *extra_columns, int extra_count)
{
	strbuf_appendf(sql, "INSERT INTO %s (%s", table, extra_columns);
	for (int i = 0; i < DPE_COLUMN_COUNT; i++)
		strbuf_appendf(sql, "%s\"%s\"", (i || extra_count) ? "," : "",
			       dpe_columns[i].name);
	strbuf_append_string(sql, ") VALUES (");
	for (int i = 0; i < extra_count + DPE_COLUMN_COUNT; i++)
		strbuf_append_string(sql, i ? ",?" : "?");
	strbuf_append_char(sql, ')');
}

static int prepare_statements(struct cache *cache)
{
	struct strbuf record_insert, hit_insert;
	const char *sql[STATEMENT_COUNT] = {
		[STATEMENT_BEGIN] = "BEGIN IMMEDIATE",
		[STATEMENT_COMMIT] = "COMMIT",
		[STATEMENT_PUT_SUMMARY] =
			"INSERT INTO RuleSummaries (RuleId, RuleName, UpdatedTicks, SummaryJson)"
			" VALUES (?,?,?,?) ON CONFLICT(RuleId) DO UPDATE SET"
			" RuleName=excluded.RuleName, UpdatedTicks=excluded.UpdatedTicks,"
			" SummaryJson=excluded.SummaryJson",
		[STATEMENT_DELETE_OLD_RECORDS] =
			"DELETE FROM DeviceProcessEvents WHERE rowid IN (SELECT rowid FROM"
			" DeviceProcessEvents WHERE Timestamp < ? ORDER BY Timestamp LIMIT ?)",
		[STATEMENT_DELETE_OLDEST_RECORDS] =
			"DELETE FROM DeviceProcessEvents WHERE rowid IN (SELECT rowid FROM"
			" DeviceProcessEvents ORDER BY Timestamp LIMIT ?)",
		[STATEMENT_DELETE_OLD_HITS] =
			"DELETE FROM RuleHits WHERE HitId IN (SELECT HitId FROM RuleHits"
			" WHERE Timestamp < ? ORDER BY Timestamp LIMIT ?)",
		[STATEMENT_DELETE_OLD_SUMMARIES] =
			"DELETE FROM RuleSummaries WHERE UpdatedTicks < ?",
		[STATEMENT_ADD_META] =
			"INSERT INTO CacheMeta (Key, Value) VALUES (?, ?) ON CONFLICT(Key)"
			" DO UPDATE SET Value = Value + excluded.Value",
	};
	int result = 0;

	strbuf_init(&record_insert);
	strbuf_init(&hit_insert);
	build_insert(&record_insert, CACHE_EVENTS_TABLE, "", 0);
	build_insert(&hit_insert, CACHE_HITS_TABLE,
		     "RuleId,RuleName,Tactics,Techniques", CACHE_HIT_COLUMN_COUNT);
	sql[STATEMENT_INSERT_RECORD] = strbuf_text(&record_insert);
	sql[STATEMENT_INSERT_HIT] = strbuf_text(&hit_insert);
	for (int i = 0; i < STATEMENT_COUNT && result == 0; i++)
		result = cache_sqlite_errno(sqlite3_prepare_v3(cache->db, sql[i], -1,
							 SQLITE_PREPARE_PERSISTENT,
							 &cache->statements[i], NULL));
	strbuf_free(&record_insert);
	strbuf_free(&hit_insert);
	return result;
}

/* Create the file ourselves, 0600, before SQLite does with its default. */
static int create_private_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0600) != 0) {
		int error = errno;
		close(fd);
		return -error;
	}
	close(fd);
	return 0;
}

static int create_schema(sqlite3 *db)
{
	struct strbuf sql;
	int result;

	strbuf_init(&sql);
	cache_schema_sql(&sql);
	result = execute(db, "PRAGMA auto_vacuum = INCREMENTAL");
	if (result == 0)
		result = execute(db, strbuf_text(&sql));
	strbuf_free(&sql);
	if (result == 0)
		result = execute(db, "INSERT OR IGNORE INTO CacheMeta (Key, Value) VALUES"
				     " ('schema_version', 1)");
	return result;
}

static int configure(sqlite3 *db)
{
	/* A record is 2-3 KiB: big pages hold several and cut the per-page
	 * work (bench/bench_cache_insert.sh).  Only takes effect on a new file,
	 * so it comes before WAL mode. */
	int result = execute(db, "PRAGMA page_size = " CACHE_PAGE_SIZE);

	if (result == 0)
		result = execute(db, "PRAGMA journal_mode = WAL");

	if (result == 0)
		result = execute(db, "PRAGMA synchronous = NORMAL");
	if (result == 0)
		result = execute(db, "PRAGMA wal_autocheckpoint = 0");
	if (result == 0)
		result = execute(db, "PRAGMA journal_size_limit = 67108864");
	if (result == 0)
		sqlite3_busy_timeout(db, 5000);
	return result;
}

static int64_t meta_value(sqlite3 *db, const char *key)
{
	sqlite3_stmt *statement;
	int64_t value = 0;

	if (sqlite3_prepare_v2(db, "SELECT Value FROM CacheMeta WHERE Key = ?", -1,
			       &statement, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(statement, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(statement) == SQLITE_ROW)
		value = sqlite3_column_int64(statement, 0);
	sqlite3_finalize(statement);
	return value;
}

static int64_t wal_size(const char *database_path)
{
	char wal_path[4096];
	struct stat wal;

	snprintf(wal_path, sizeof(wal_path), "%s-wal", database_path);
	return stat(wal_path, &wal) == 0 ? wal.st_size : 0;
}

/*
 * Checkpoint when the WAL holds CHECKPOINT_WAL_BYTES, or every
 * CHECKPOINT_IDLE_SECONDS: each checkpoint ends in an fsync, so fewer and
 * larger ones cost the writer less.
 */
static void *checkpointer_main(void *argument)
{
	struct cache *cache = argument;
	int seconds_since = 0;
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(cache->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW,
			    NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 100);
	pthread_mutex_lock(&cache->lock);
	while (!cache->stopping) {
		struct timespec until;
		int wal_frames = 0, done_frames = 0;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += CHECKPOINT_PERIOD_MS / 1000;
		pthread_cond_timedwait(&cache->wake, &cache->lock, &until);
		if (cache->stopping)
			break;
		pthread_mutex_unlock(&cache->lock);
		if (++seconds_since < CHECKPOINT_IDLE_SECONDS &&
		    wal_size(cache->path) < CHECKPOINT_WAL_BYTES) {
			pthread_mutex_lock(&cache->lock);
			continue;
		}
		seconds_since = 0;
		sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE,
					  &wal_frames, &done_frames);
		if (wal_size(cache->path) > WAL_TRUNCATE_BYTES)
			sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
						  NULL, NULL);
		pthread_mutex_lock(&cache->lock);
		cache->checkpoints++;
	}
	pthread_mutex_unlock(&cache->lock);
	sqlite3_close(db);
	return NULL;
}

int cache_open_writer(struct cache **out, const char *path,
		      const struct cache_options *options, char *message,
		      size_t message_size)
{
	struct cache *cache = calloc(1, sizeof(*cache));
	int result;

	if (!cache)
		return -ENOMEM;
	cache->options = *options;
	cache->path = strdup(path);
	pthread_mutex_init(&cache->lock, NULL);
	pthread_cond_init(&cache->wake, NULL);
	result = cache->path ? create_private_file(path) : -ENOMEM;
	if (result == 0)
		result = cache_sqlite_errno(sqlite3_open_v2(path, &cache->db,
						      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW,
						      NULL));
	if (result == 0)
		result = configure(cache->db);
	if (result == 0)
		result = execute(cache->db, "PRAGMA quick_check");
	if (result == 0)
		result = create_schema(cache->db);
	if (result == 0)
		result = prepare_statements(cache);
	if (result) {
		snprintf(message, message_size, "cannot open the cache %s: %s", path,
			 cache->db ? sqlite3_errmsg(cache->db) : strerror(-result));
		cache_close(cache);
		return result;
	}
	cache->stats.retention_records = (uint64_t)meta_value(cache->db, "retention_records");
	cache->stats.retention_hits = (uint64_t)meta_value(cache->db, "retention_hits");
	if (pthread_create(&cache->checkpointer, NULL, checkpointer_main, cache) == 0)
		cache->checkpointer_started = true;
	*out = cache;
	return 0;
}

void cache_close(struct cache *cache)
{
	if (!cache)
		return;
	if (cache->db)
		cache_commit(cache);
	if (cache->checkpointer_started) {
		pthread_mutex_lock(&cache->lock);
		cache->stopping = true;
		pthread_cond_signal(&cache->wake);
		pthread_mutex_unlock(&cache->lock);
		pthread_join(cache->checkpointer, NULL);
	}
	for (int i = 0; i < STATEMENT_COUNT; i++)
		sqlite3_finalize(cache->statements[i]);
	if (cache->db) {
		sqlite3_wal_checkpoint_v2(cache->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
					  NULL, NULL);
		sqlite3_close(cache->db);
	}
	pthread_mutex_destroy(&cache->lock);
	pthread_cond_destroy(&cache->wake);
	free(cache->path);
	free(cache);
}

static int run(sqlite3_stmt *statement)
{
	int code = sqlite3_step(statement);

	sqlite3_reset(statement);
	return code == SQLITE_DONE || code == SQLITE_ROW ? 0 : cache_sqlite_errno(code);
}

static int begin_if_needed(struct cache *cache)
{
	int result;

	if (cache->in_transaction)
		return 0;
	result = run(cache->statements[STATEMENT_BEGIN]);
	if (result == 0) {
		cache->in_transaction = true;
		cache->transaction_started_ms = monotonic_ms();
	}
	return result;
}

static void bind_value(sqlite3_stmt *statement, int index, const struct value *value)
{
	if (value->type == VALUE_STRING) {
		sqlite3_bind_text(statement, index, value->str, (int)value->len,
				  SQLITE_STATIC);
		return;
	}
	if (value->is_null) {
		sqlite3_bind_null(statement, index);
		return;
	}
	switch (value->type) {
	case VALUE_BOOL:
		sqlite3_bind_int64(statement, index, value->b ? 1 : 0);
		break;
	case VALUE_REAL:
		sqlite3_bind_double(statement, index, value->r);
		break;
	default:
		sqlite3_bind_int64(statement, index, value->l);
		break;
	}
}

static void bind_record(sqlite3_stmt *statement, int first, const struct record *record)
{
	for (int i = 0; i < DPE_COLUMN_COUNT; i++)
		bind_value(statement, first + i, &record->values[i]);
}

int cache_add_record(struct cache *cache, const struct record *record)
{
	sqlite3_stmt *statement = cache->statements[STATEMENT_INSERT_RECORD];
	int result = begin_if_needed(cache);

	if (result == 0) {
		bind_record(statement, 1, record);
		result = run(statement);
	}
	if (result) {
		cache->stats.write_errors++;
		return result;
	}
	cache->pending_records++;
	return 0;
}

int cache_add_hit(struct cache *cache, const char *rule_id,
		  const char *rule_name, const char *tactics,
		  const char *techniques, const struct record *record)
{
	sqlite3_stmt *statement = cache->statements[STATEMENT_INSERT_HIT];
	int result = begin_if_needed(cache);

	if (result)
		return result;
	sqlite3_bind_text(statement, 1, rule_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(statement, 2, rule_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(statement, 3, tactics, -1, SQLITE_STATIC);
	sqlite3_bind_text(statement, 4, techniques, -1, SQLITE_STATIC);
	bind_record(statement, 1 + CACHE_HIT_COLUMN_COUNT, record);
	result = run(statement);
	if (result == 0)
		cache->pending_hits++;
	return result;
}

int cache_put_summary(struct cache *cache, const char *rule_id,
		      const char *rule_name, const char *summary_json,
		      int64_t updated_ticks)
{
	sqlite3_stmt *statement = cache->statements[STATEMENT_PUT_SUMMARY];
	int result = begin_if_needed(cache);

	if (result)
		return result;
	sqlite3_bind_text(statement, 1, rule_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(statement, 2, rule_name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(statement, 3, updated_ticks);
	sqlite3_bind_text(statement, 4, summary_json, -1, SQLITE_STATIC);
	return run(statement);
}

int cache_commit(struct cache *cache)
{
	int result;

	if (!cache->in_transaction)
		return 0;
	result = run(cache->statements[STATEMENT_COMMIT]);
	if (result) {
		/* the batch is lost to the cache: count it, start over */
		cache->stats.write_errors += (uint64_t)cache->pending_records;
		execute(cache->db, "ROLLBACK");
	} else {
		cache->stats.records_written += (uint64_t)cache->pending_records;
		cache->stats.hits_written += (uint64_t)cache->pending_hits;
		cache->committed_sequence += (uint64_t)cache->pending_records;
		cache->stats.commits++;
	}
	cache->in_transaction = false;
	cache->pending_records = 0;
	cache->pending_hits = 0;
	return result;
}

int cache_commit_if_due(struct cache *cache, int64_t now_ms)
{
	if (!cache->in_transaction)
		return 0;
	if (cache->pending_records < cache->options.commit_max_records &&
	    now_ms - cache->transaction_started_ms < cache->options.commit_interval_ms)
		return 0;
	return cache_commit(cache);
}

bool cache_in_transaction(const struct cache *cache)
{
	return cache->in_transaction;
}

uint64_t cache_committed_sequence(const struct cache *cache)
{
	return cache->committed_sequence;
}

static int64_t pragma_value(sqlite3 *db, const char *pragma)
{
	sqlite3_stmt *statement;
	int64_t value = 0;

	if (sqlite3_prepare_v2(db, pragma, -1, &statement, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(statement) == SQLITE_ROW)
		value = sqlite3_column_int64(statement, 0);
	sqlite3_finalize(statement);
	return value;
}

static int64_t data_bytes(sqlite3 *db)
{
	return (pragma_value(db, "PRAGMA page_count") -
		pragma_value(db, "PRAGMA freelist_count")) *
	       pragma_value(db, "PRAGMA page_size");
}

static int add_meta(struct cache *cache, const char *key, int64_t amount)
{
	sqlite3_stmt *statement = cache->statements[STATEMENT_ADD_META];

	sqlite3_bind_text(statement, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(statement, 2, amount);
	return run(statement);
}

/* Run one DELETE statement with its binds; returns rows removed. */
static int delete_chunk(struct cache *cache, enum statement which,
			int64_t before_ticks, int limit)
{
	sqlite3_stmt *statement = cache->statements[which];
	int result;

	if (which == STATEMENT_DELETE_OLDEST_RECORDS) {
		sqlite3_bind_int(statement, 1, limit);
	} else {
		sqlite3_bind_int64(statement, 1, before_ticks);
		if (which != STATEMENT_DELETE_OLD_SUMMARIES)
			sqlite3_bind_int(statement, 2, limit);
	}
	result = run(statement);
	return result ? result : sqlite3_changes(cache->db);
}

static int retention_removals(struct cache *cache, int64_t now_ticks)
{
	const int chunk = cache->options.retention_chunk;
	int removed;

	removed = delete_chunk(cache, STATEMENT_DELETE_OLD_RECORDS,
			       now_ticks - cache->options.max_age_ticks, chunk);
	if (removed == 0) {
		int64_t excess = data_bytes(cache->db) - cache->options.max_bytes;

		/* A record takes more than SIZE_STEP_BYTES: removing this many
		 * never overshoots much, and repeated steps converge. */
		if (excess > 0)
			removed = delete_chunk(cache, STATEMENT_DELETE_OLDEST_RECORDS, 0,
					       (int)(excess / SIZE_STEP_BYTES < chunk
							     ? excess / SIZE_STEP_BYTES + 1
							     : chunk));
	}
	if (removed > 0) {
		cache->stats.retention_records += (uint64_t)removed;
		add_meta(cache, "retention_records", removed);
		return removed;
	}
	if (removed < 0)
		return removed;
	removed = delete_chunk(cache, STATEMENT_DELETE_OLD_HITS,
			       now_ticks - cache->options.hits_max_age_ticks, chunk);
	if (removed > 0) {
		cache->stats.retention_hits += (uint64_t)removed;
		add_meta(cache, "retention_hits", removed);
		return removed;
	}
	if (removed < 0)
		return removed;
	return delete_chunk(cache, STATEMENT_DELETE_OLD_SUMMARIES,
			    now_ticks - cache->options.hits_max_age_ticks, 0);
}

int cache_retention_step(struct cache *cache, int64_t now_ticks)
{
	int removed, result;

	/* its own transaction: retention never holds up a batch of records */
	result = cache_commit(cache);
	if (result == 0)
		result = begin_if_needed(cache);
	if (result)
		return result;
	removed = retention_removals(cache, now_ticks);
	result = cache_commit(cache);
	if (removed > 0 && result == 0)
		execute(cache->db, "PRAGMA incremental_vacuum(2000)");
	return result ? result : removed;
}

void cache_read_stats(struct cache *cache, struct cache_stats *stats)
{
	*stats = cache->stats;
	stats->data_bytes = data_bytes(cache->db);
	stats->wal_bytes = wal_size(cache->path);
	pthread_mutex_lock(&cache->lock);
	stats->checkpoints = cache->checkpoints;
	pthread_mutex_unlock(&cache->lock);
}
