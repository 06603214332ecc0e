/*
 * cache.c - the cache writer: batched inserts, retention, checkpoints.
 *
 * One connection writes (the agent's main thread).  A second connection,
 * owned by a small thread, runs PASSIVE checkpoints every second so that
 * copying the WAL into the database never stalls the inserts; when nobody
 * reads, it also truncates the WAL (journal_size_limit keeps it small).
 * Readers (rmmhunt query) read in short transactions, so they never pin an
 * old snapshot for long and the WAL cannot grow without bound.
 *
 * Sequences: the writer numbers records (rowid), hits (HitId) and summary
 * versions itself, from counters that start past the largest number ever
 * committed (CacheMeta keeps that high-water mark, written in the same
 * transaction as the rows).  SQLite's own rowid would hand out the number
 * of a deleted last row again; the shipper's cursors (cache_outbox.h) must
 * never see a number twice.  Record and hit numbers are dense: a number is
 * used only by a row that committed, so a missing number in the committed
 * range is a row that retention removed.
 *
 * Records are kept in the compact layout (cache_layout.h, written through
 * cache_compact.c): retention deletes Events rows and gives their
 * dictionary references back in the same transaction.  A cache of the
 * flat first layout is converted when the writer opens it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/cache.h"
#include "store/cache_compact.h"
#include "store/cache_layout.h"
#include "store/cache_schema.h"
#include "store/cache_sqlite.h"
#include "base/strbuf.h"

#define DEFAULT_MAX_AGE_DAYS 7
#define DEFAULT_HITS_MAX_AGE_DAYS 90
#define CHECKPOINT_PERIOD_MS 1000
#define CHECKPOINT_IDLE_SECONDS 10
#define CHECKPOINT_WAL_BYTES (16LL << 20)
#define WAL_TRUNCATE_BYTES (64LL << 20)
#define CACHE_PAGE_SIZE "16384"

enum statement {
	STATEMENT_BEGIN,
	STATEMENT_COMMIT,
	STATEMENT_INSERT_HIT,
	STATEMENT_PUT_SUMMARY,
	STATEMENT_DELETE_OLD_RECORDS,
	STATEMENT_DELETE_OLDEST_RECORDS,
	STATEMENT_DELETE_OLD_HITS,
	STATEMENT_DELETE_OLD_SUMMARIES,
	STATEMENT_DELETE_OLDEST_UNHIT_RECORDS,
	STATEMENT_DELETE_OLDEST_HITS,
	STATEMENT_ADD_META,
	STATEMENT_RAISE_META,
	STATEMENT_DATA_BYTES,
	STATEMENT_COUNT
};

/* The numbered kinds of rows, and their high-water marks in CacheMeta. */
enum sequence_kind { SEQUENCE_RECORDS, SEQUENCE_HITS, SEQUENCE_SUMMARIES, SEQUENCE_KINDS };

static const char *const sequence_meta_keys[SEQUENCE_KINDS] = {
	CACHE_META_RECORD_SEQUENCE, CACHE_META_HIT_SEQUENCE, CACHE_META_SUMMARY_SEQUENCE};

struct cache {
	sqlite3 *db;
	sqlite3_stmt *statements[STATEMENT_COUNT];
	struct cache_compact *compact;
	struct cache_options options;
	char *path;
	bool in_transaction;
	int pending_records, pending_hits, pending_summaries;
	int64_t transaction_started_ms;
	int64_t next_sequence[SEQUENCE_KINDS]; /* the number the next row gets */
	int64_t committed_sequence[SEQUENCE_KINDS]; /* the largest committed */
	struct cache_stats stats;
	int64_t record_count; /* records committed and not removed */
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
	return cache_sqlite_execute(db, sql);
}

static int prepare_statements(struct cache *cache)
{
	static const enum statement record_deletes[] = {STATEMENT_DELETE_OLD_RECORDS,
							STATEMENT_DELETE_OLDEST_RECORDS,
							STATEMENT_DELETE_OLDEST_UNHIT_RECORDS};
	struct strbuf deletes[3], hit_insert;
	const char *sql[STATEMENT_COUNT] = {
		[STATEMENT_BEGIN] = "BEGIN IMMEDIATE",
		[STATEMENT_COMMIT] = "COMMIT",
		/* a new Sequence only when what a collector would see changed */
		[STATEMENT_PUT_SUMMARY] =
			"INSERT INTO RuleSummaries (RuleId, RuleName, UpdatedTicks, SummaryJson,"
			" Columns, Sequence) VALUES (?,?,?,?,?,?) ON CONFLICT(RuleId) DO UPDATE SET"
			" Sequence=CASE WHEN SummaryJson IS NOT excluded.SummaryJson OR"
			" Columns IS NOT excluded.Columns OR RuleName IS NOT excluded.RuleName"
			" THEN excluded.Sequence ELSE Sequence END,"
			" RuleName=excluded.RuleName, UpdatedTicks=excluded.UpdatedTicks,"
			" SummaryJson=excluded.SummaryJson, Columns=excluded.Columns",
		[STATEMENT_DELETE_OLD_RECORDS] = CACHE_LAYOUT_EVENTS_DELETE_BEFORE,
		[STATEMENT_DELETE_OLDEST_RECORDS] =
			"DELETE FROM Events WHERE Id IN (SELECT Id FROM"
			" Events ORDER BY Id LIMIT ?)",
		[STATEMENT_DELETE_OLD_HITS] =
			"DELETE FROM RuleHits WHERE HitId IN (SELECT HitId FROM RuleHits"
			" WHERE Timestamp < ? ORDER BY Timestamp LIMIT ?)",
		[STATEMENT_DELETE_OLD_SUMMARIES] =
			"DELETE FROM RuleSummaries WHERE UpdatedTicks < ?",
		/* records no rule hit go first when the cache is too large */
		[STATEMENT_DELETE_OLDEST_UNHIT_RECORDS] =
			"DELETE FROM Events WHERE Id IN (SELECT Id FROM"
			" Events AS record WHERE NOT EXISTS (SELECT 1 FROM RuleHits"
			" WHERE RuleHits.ReportId = record.ReportId) ORDER BY Id LIMIT ?)",
		[STATEMENT_DELETE_OLDEST_HITS] =
			"DELETE FROM RuleHits WHERE HitId IN (SELECT HitId FROM RuleHits"
			" ORDER BY Timestamp LIMIT ?)",
		[STATEMENT_ADD_META] =
			"INSERT INTO CacheMeta (Key, Value) VALUES (?, ?) ON CONFLICT(Key)"
			" DO UPDATE SET Value = Value + excluded.Value",
		[STATEMENT_DATA_BYTES] = CACHE_SQLITE_DATA_BYTES_SQL,
		[STATEMENT_RAISE_META] =
			"INSERT INTO CacheMeta (Key, Value) VALUES (?, ?) ON CONFLICT(Key)"
			" DO UPDATE SET Value = max(Value, excluded.Value)",
	};
	int result = 0;

	strbuf_init(&hit_insert);
	cache_sqlite_build_insert(&hit_insert, CACHE_HITS_TABLE,
				  "HitId,RuleId,RuleName,Tactics,Techniques",
				  1 + CACHE_HIT_COLUMN_COUNT, "");
	sql[STATEMENT_INSERT_HIT] = strbuf_text(&hit_insert);
	/* deleted records give their dictionary references back */
	for (int i = 0; i < 3; i++) {
		strbuf_init(&deletes[i]);
		cache_layout_events_delete_sql(&deletes[i], sql[record_deletes[i]]);
		sql[record_deletes[i]] = strbuf_text(&deletes[i]);
	}
	for (int i = 0; i < STATEMENT_COUNT && result == 0; i++)
		result = cache_sqlite_errno(sqlite3_prepare_v3(cache->db, sql[i], -1,
							 SQLITE_PREPARE_PERSISTENT,
							 &cache->statements[i], NULL));
	for (int i = 0; i < 3; i++)
		strbuf_free(&deletes[i]);
	strbuf_free(&hit_insert);
	if (result == 0)
		result = cache_compact_open(&cache->compact, cache->db);
	return result;
}

/* An older file's RuleSummaries lacks Columns and Sequence: add them. */
static int add_summary_columns(sqlite3 *db)
{
	static const char *const added[] = {"Columns TEXT NOT NULL DEFAULT ''",
					    "Sequence INTEGER NOT NULL DEFAULT 0"};
	sqlite3_stmt *probe = NULL;
	char sql[160];
	int result = 0;

	if (sqlite3_prepare_v2(db, "SELECT Columns, Sequence FROM " CACHE_SUMMARIES_TABLE
			       " LIMIT 0", -1, &probe, NULL) == SQLITE_OK) {
		sqlite3_finalize(probe);
		return 0;
	}
	sqlite3_finalize(probe);
	for (size_t i = 0; i < sizeof(added) / sizeof(added[0]) && result == 0; i++) {
		snprintf(sql, sizeof(sql), "ALTER TABLE " CACHE_SUMMARIES_TABLE " ADD COLUMN %s",
			 added[i]);
		result = execute(db, sql);
	}
	return result;
}

/* A random id for this file: a shipper's cursors belong to one file. */
static int add_cache_id(sqlite3 *db)
{
	sqlite3_stmt *statement = NULL;
	uint64_t random_id = 0;
	int result;

	if (getrandom(&random_id, sizeof(random_id), 0) != sizeof(random_id))
		return -errno;
	random_id >>= 1; /* a positive int64 */
	if (random_id == 0)
		random_id = 1;
	result = cache_sqlite_errno(sqlite3_prepare_v2(
		db, "INSERT OR IGNORE INTO CacheMeta (Key, Value) VALUES ('" CACHE_META_CACHE_ID
		    "', ?)", -1, &statement, NULL));
	if (result == 0) {
		sqlite3_bind_int64(statement, 1, (sqlite3_int64)random_id);
		result = cache_sqlite_errno(sqlite3_step(statement));
	}
	sqlite3_finalize(statement);
	return result;
}

static int create_schema(sqlite3 *db)
{
	struct strbuf sql;
	char version[96];
	int result;

	strbuf_init(&sql);
	cache_schema_sql(&sql);
	result = execute(db, "PRAGMA auto_vacuum = INCREMENTAL");
	if (result == 0)
		result = execute(db, "BEGIN IMMEDIATE");
	if (result == 0)
		result = cache_compact_set_aside(db);
	if (result == 0)
		result = execute(db, strbuf_text(&sql));
	strbuf_free(&sql);
	if (result == 0)
		result = add_summary_columns(db);
	snprintf(version, sizeof(version), "INSERT OR IGNORE INTO CacheMeta (Key, Value) VALUES"
		 " ('schema_version', %d)", CACHE_SCHEMA_VERSION);
	if (result == 0)
		result = execute(db, version);
	if (result == 0)
		result = add_cache_id(db);
	if (result == 0)
		result = execute(db, "COMMIT");
	else
		execute(db, "ROLLBACK");
	return result;
}

static int configure(sqlite3 *db)
{
	/* Pages of 16 KiB: every table and index costs at least one page, so
	 * 64 KiB pages made an empty cache 1.1 MB (more than the smallest size
	 * limit) and a small one several hundred bytes a record; at 200,000
	 * records 16 and 64 KiB give the same bytes per record, 16 KiB 1.4%
	 * fewer instructions per insert (docs/cache.md).  Only takes effect on
	 * a new file, so it comes before WAL mode. */
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

/* The largest number a row of this kind ever had: the counters go on
 * from there (also after a rollback, which gives back what it took). */
static int load_sequences(struct cache *cache)
{
	static const char *const largest[SEQUENCE_KINDS] = {
		"SELECT max(Id) FROM " CACHE_LAYOUT_EVENTS_TABLE,
		"SELECT max(HitId) FROM " CACHE_HITS_TABLE,
		"SELECT max(Sequence) FROM " CACHE_SUMMARIES_TABLE,
	};

	for (int kind = 0; kind < SEQUENCE_KINDS; kind++) {
		sqlite3_stmt *statement = NULL;
		int64_t high = meta_value(cache->db, sequence_meta_keys[kind]);
		int code = sqlite3_prepare_v2(cache->db, largest[kind], -1, &statement, NULL);

		if (code == SQLITE_OK)
			code = sqlite3_step(statement);
		if (code == SQLITE_ROW && sqlite3_column_int64(statement, 0) > high)
			high = sqlite3_column_int64(statement, 0);
		sqlite3_finalize(statement);
		if (code != SQLITE_ROW)
			return cache_sqlite_errno(code);
		cache->committed_sequence[kind] = high;
		cache->next_sequence[kind] = high + 1;
	}
	return 0;
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

	if (sqlite3_open_v2(cache->path, &db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX,
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
		    cache_sqlite_wal_bytes(cache->path) < CHECKPOINT_WAL_BYTES) {
			pthread_mutex_lock(&cache->lock);
			continue;
		}
		seconds_since = 0;
		sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE,
					  &wal_frames, &done_frames);
		if (cache_sqlite_wal_bytes(cache->path) > WAL_TRUNCATE_BYTES)
			sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
						  NULL, NULL);
		pthread_mutex_lock(&cache->lock);
		cache->checkpoints++;
	}
	pthread_mutex_unlock(&cache->lock);
	sqlite3_close(db);
	return NULL;
}

/* An older file: its records move to the current layout, all at once. */
static int convert_records(void *context)
{
	return cache_compact_convert(context);
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
	result = cache->path ? cache_sqlite_create_private(path) : -ENOMEM;
	if (result == 0)
		/* one thread at a time (the writer's): no mutex on every call */
		result = cache_sqlite_errno(sqlite3_open_v2(path, &cache->db,
						      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW |
							      SQLITE_OPEN_NOMUTEX,
						      NULL));
	if (result == 0)
		result = configure(cache->db);
	if (result == 0)
		result = execute(cache->db, "PRAGMA quick_check");
	if (result == 0)
		result = create_schema(cache->db);
	if (result == 0)
		result = prepare_statements(cache);
	if (result == 0)
		result = cache_compact_transaction(cache->compact, convert_records, cache->compact);
	if (result == 0)
		result = load_sequences(cache);
	if (result == 0)
		cache->record_count = cache_sqlite_number(cache->db, "SELECT count(*) FROM "
								 CACHE_LAYOUT_EVENTS_TABLE);
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
	cache_compact_close(cache->compact);
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
	return cache_sqlite_run(statement);
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

/*
 * Some failures (disk full, I/O errors) make SQLite roll the whole
 * transaction back, not just the statement: what it held is lost to the
 * cache (counted), and the counters go back to the committed numbers.
 */
static void check_transaction(struct cache *cache)
{
	if (!cache->in_transaction || !sqlite3_get_autocommit(cache->db))
		return;
	cache->stats.write_errors += (uint64_t)cache->pending_records;
	cache->in_transaction = false;
	cache->pending_records = 0;
	cache->pending_hits = 0;
	cache->pending_summaries = 0;
	cache_compact_forget(cache->compact);
	load_sequences(cache);
}

/* After an insert of kind: its number is used if it went in. */
static int count_insert(struct cache *cache, enum sequence_kind kind, int *pending, int result)
{
	if (result) {
		check_transaction(cache);
		return result;
	}
	cache->next_sequence[kind]++;
	(*pending)++;
	return 0;
}

int cache_add_record(struct cache *cache, const struct record *record)
{
	int result = begin_if_needed(cache);

	if (result == 0)
		result = cache_compact_add(cache->compact, cache->next_sequence[SEQUENCE_RECORDS],
					   record);
	if (result)
		cache->stats.write_errors++;
	return count_insert(cache, SEQUENCE_RECORDS, &cache->pending_records, result);
}

int cache_add_hit(struct cache *cache, const char *rule_id,
		  const char *rule_name, const char *tactics,
		  const char *techniques, const struct record *record)
{
	sqlite3_stmt *statement = cache->statements[STATEMENT_INSERT_HIT];
	int result = begin_if_needed(cache);

	if (result)
		return result;
	sqlite3_bind_int64(statement, 1, cache->next_sequence[SEQUENCE_HITS]);
	sqlite3_bind_text(statement, 2, rule_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(statement, 3, rule_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(statement, 4, tactics, -1, SQLITE_STATIC);
	sqlite3_bind_text(statement, 5, techniques, -1, SQLITE_STATIC);
	cache_sqlite_bind_row(statement, 2 + CACHE_HIT_COLUMN_COUNT, record->values);
	return count_insert(cache, SEQUENCE_HITS, &cache->pending_hits, run(statement));
}

int cache_put_summary(struct cache *cache, const char *rule_id,
		      const char *rule_name, const char *summary_json,
		      const char *columns_json, int64_t updated_ticks)
{
	sqlite3_stmt *statement = cache->statements[STATEMENT_PUT_SUMMARY];
	int result = begin_if_needed(cache);

	if (result)
		return result;
	sqlite3_bind_text(statement, 1, rule_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(statement, 2, rule_name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(statement, 3, updated_ticks);
	sqlite3_bind_text(statement, 4, summary_json, -1, SQLITE_STATIC);
	sqlite3_bind_text(statement, 5, columns_json, -1, SQLITE_STATIC);
	/* numbers an unchanged summary does not take are skipped: summaries
	 * are states, only their order matters */
	sqlite3_bind_int64(statement, 6, cache->next_sequence[SEQUENCE_SUMMARIES]);
	return count_insert(cache, SEQUENCE_SUMMARIES, &cache->pending_summaries, run(statement));
}

/* In the transaction: CacheMeta keeps the largest number each kind used. */
static int raise_high_water(struct cache *cache)
{
	sqlite3_stmt *statement = cache->statements[STATEMENT_RAISE_META];
	const int pending[SEQUENCE_KINDS] = {cache->pending_records, cache->pending_hits,
					     cache->pending_summaries};
	int result = 0;

	for (int kind = 0; kind < SEQUENCE_KINDS && result == 0; kind++) {
		if (pending[kind] == 0)
			continue;
		sqlite3_bind_text(statement, 1, sequence_meta_keys[kind], -1, SQLITE_STATIC);
		sqlite3_bind_int64(statement, 2, cache->next_sequence[kind] - 1);
		result = run(statement);
	}
	return result;
}

int cache_commit(struct cache *cache)
{
	int result;

	if (!cache->in_transaction)
		return 0;
	result = cache_compact_flush(cache->compact);
	if (result == 0)
		result = raise_high_water(cache);
	if (result == 0)
		result = run(cache->statements[STATEMENT_COMMIT]);
	if (result) {
		/* the batch is lost to the cache: count it, start over */
		cache->stats.write_errors += (uint64_t)cache->pending_records;
		execute(cache->db, "ROLLBACK");
		cache_compact_forget(cache->compact);
		cache->in_transaction = false;
		load_sequences(cache);
	} else {
		cache->stats.records_written += (uint64_t)cache->pending_records;
		cache->record_count += cache->pending_records;
		cache->stats.hits_written += (uint64_t)cache->pending_hits;
		for (int kind = 0; kind < SEQUENCE_KINDS; kind++)
			cache->committed_sequence[kind] = cache->next_sequence[kind] - 1;
		cache->stats.commits++;
	}
	cache->in_transaction = false;
	cache->pending_records = 0;
	cache->pending_hits = 0;
	cache->pending_summaries = 0;
	return result;
}

int64_t cache_commit_deadline_ms(const struct cache *cache)
{
	if (!cache->in_transaction)
		return -1;
	return cache->transaction_started_ms + cache->options.commit_interval_ms;
}

int cache_commit_if_due(struct cache *cache, int64_t now_ms)
{
	if (!cache->in_transaction)
		return 0;
	if (cache->pending_records < cache->options.commit_max_records &&
	    now_ms < cache_commit_deadline_ms(cache))
		return 0;
	return cache_commit(cache);
}

bool cache_in_transaction(const struct cache *cache)
{
	return cache->in_transaction;
}

void cache_committed_sequences(const struct cache *cache, struct cache_sequences *out)
{
	out->records = cache->committed_sequence[SEQUENCE_RECORDS];
	out->hits = cache->committed_sequence[SEQUENCE_HITS];
	out->summaries = cache->committed_sequence[SEQUENCE_SUMMARIES];
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
	bool records = which == STATEMENT_DELETE_OLD_RECORDS ||
		       which == STATEMENT_DELETE_OLDEST_RECORDS ||
		       which == STATEMENT_DELETE_OLDEST_UNHIT_RECORDS;
	int result;

	if (which == STATEMENT_DELETE_OLDEST_RECORDS ||
	    which == STATEMENT_DELETE_OLDEST_UNHIT_RECORDS ||
	    which == STATEMENT_DELETE_OLDEST_HITS) {
		sqlite3_bind_int(statement, 1, limit);
	} else {
		sqlite3_bind_int64(statement, 1, before_ticks);
		if (which != STATEMENT_DELETE_OLD_SUMMARIES)
			sqlite3_bind_int(statement, 2, limit);
	}
	if (records) {
		int removed = cache_compact_delete_events(cache->compact, statement);

		result = removed > 0 ? cache_compact_release(cache->compact) : 0;
		return result ? result : removed;
	}
	result = run(statement);
	return result ? result : sqlite3_changes(cache->db);
}

/* Bytes of the file's pages in use (the statement kept for it). */
static int64_t data_bytes(struct cache *cache)
{
	return cache_sqlite_data_bytes_of(cache->statements[STATEMENT_DATA_BYTES]);
}

/*
 * Over the size limit: the oldest records no rule hit go first, then the
 * oldest hit records, and only when no record is left, the oldest hits.
 * Returns rows removed; *hits_removed says which table they came from.
 */
static int size_removals(struct cache *cache, bool *hits_removed)
{
	static const enum statement order[] = {STATEMENT_DELETE_OLDEST_UNHIT_RECORDS,
					       STATEMENT_DELETE_OLDEST_RECORDS,
					       STATEMENT_DELETE_OLDEST_HITS};
	const int chunk = cache->options.retention_chunk;
	int64_t bytes = data_bytes(cache);
	int64_t excess = bytes - cache->options.max_bytes;
	int removed = 0;

	if (excess <= 0)
		return 0;
	/* Half the records the excess holds at the file's mean size per record
	 * (dictionaries included): never overshoots much, and repeated steps
	 * converge. */
	int64_t share = bytes > 0 ? (int64_t)((double)excess * (double)cache->record_count /
					     (double)bytes / 2) : 0;
	int limit = (int)(share < chunk ? share + 1 : chunk);

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]) && removed == 0; i++) {
		removed = delete_chunk(cache, order[i], 0, limit);
		*hits_removed = order[i] == STATEMENT_DELETE_OLDEST_HITS;
	}
	return removed;
}

static int count_removed(struct cache *cache, int removed, bool hits)
{
	if (removed <= 0)
		return removed;
	if (hits) {
		cache->stats.retention_hits += (uint64_t)removed;
		add_meta(cache, "retention_hits", removed);
	} else {
		cache->stats.retention_records += (uint64_t)removed;
		cache->record_count -= removed;
		add_meta(cache, "retention_records", removed);
	}
	return removed;
}

static int retention_removals(struct cache *cache, int64_t now_ticks)
{
	const int chunk = cache->options.retention_chunk;
	bool hits = false;
	int removed;

	removed = delete_chunk(cache, STATEMENT_DELETE_OLD_RECORDS,
			       now_ticks - cache->options.max_age_ticks, chunk);
	if (removed == 0)
		removed = size_removals(cache, &hits);
	if (removed != 0)
		return count_removed(cache, removed, hits);
	removed = delete_chunk(cache, STATEMENT_DELETE_OLD_HITS,
			       now_ticks - cache->options.hits_max_age_ticks, chunk);
	if (removed != 0)
		return count_removed(cache, removed, true);
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
	stats->data_bytes = data_bytes(cache);
	stats->wal_bytes = cache_sqlite_wal_bytes(cache->path);
	pthread_mutex_lock(&cache->lock);
	stats->checkpoints = cache->checkpoints;
	pthread_mutex_unlock(&cache->lock);
}
